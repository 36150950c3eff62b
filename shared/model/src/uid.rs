//! The order uid (contract §1: 1–64 characters of `A-Z a-z 0-9 _ -`), the one place its grammar
//! is written. Validation of an order's `order_uid` and query-api's path parsing both go through
//! [`OrderUid::parse`], so a uid the API accepts is exactly a uid an order may carry.

use std::fmt;

/// Most characters an order uid may have.
pub const MAX_UID_LEN: usize = 64;

/// A string known to satisfy the uid grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderUid(String);

/// Why a string is not an order uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UidError {
    Empty,
    TooLong,
    Character,
}

impl UidError {
    /// What is wrong, written for the client who sent it (never quoting the value).
    pub const fn reason(self) -> &'static str {
        match self {
            UidError::Empty => "must not be empty",
            UidError::TooLong => "longer than 64 characters",
            UidError::Character => "only A-Z, a-z, 0-9, '_' and '-' are allowed",
        }
    }
}

impl fmt::Display for UidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for UidError {}

impl OrderUid {
    /// Checks `value` against the grammar.
    pub fn parse(value: &str) -> Result<Self, UidError> {
        Self::check(value.as_bytes())?;
        Ok(Self(value.to_owned()))
    }

    /// [`OrderUid::parse`] for bytes (e.g. a percent-decoded path segment), which need not be
    /// UTF-8: anything that is not is refused as a bad character.
    pub fn parse_bytes(value: &[u8]) -> Result<Self, UidError> {
        Self::check(value)?;
        // Only ASCII passed the check.
        String::from_utf8(value.to_vec())
            .map(Self)
            .map_err(|_| UidError::Character)
    }

    fn check(value: &[u8]) -> Result<(), UidError> {
        if value.is_empty() {
            return Err(UidError::Empty);
        }
        if !value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(UidError::Character);
        }
        if value.len() > MAX_UID_LEN {
            return Err(UidError::TooLong);
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for OrderUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OrderUid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for OrderUid {
    type Err = UidError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        assert!(OrderUid::parse("b563feb7b2b84b6test").is_ok());
        assert!(OrderUid::parse("A-z_0").is_ok());
        assert!(OrderUid::parse(&"a".repeat(64)).is_ok());
        assert_eq!(OrderUid::parse(""), Err(UidError::Empty));
        assert_eq!(OrderUid::parse(&"a".repeat(65)), Err(UidError::TooLong));
        assert_eq!(OrderUid::parse("a b"), Err(UidError::Character));
        assert_eq!(OrderUid::parse("é"), Err(UidError::Character));
        assert_eq!(OrderUid::parse_bytes(b"\xff"), Err(UidError::Character));
        // A bad character is the more useful message even when the value is also too long.
        assert_eq!(OrderUid::parse(&"%".repeat(70)), Err(UidError::Character));
    }
}
