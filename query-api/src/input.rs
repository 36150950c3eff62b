//! Parsing of what clients put in URLs: the order uid path segment and the `/orders` query.
//! Parse once, here, into values the handlers can trust; every refusal is an [`ApiError`] whose
//! message tells the client what to fix.

use crate::error::ApiError;

/// Contract §1: 1–64 characters.
pub const MAX_UID_LEN: usize = 64;
/// `GET /orders` limits (contract §5).
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The raw (still percent-encoded) path segment after `/order/` as a valid order uid.
pub fn order_uid(raw: &str) -> Result<String, ApiError> {
    // Each uid character is at most 3 encoded bytes; anything longer is junk, refuse it unread.
    if raw.len() > MAX_UID_LEN * 3 {
        return Err(ApiError::InvalidUid("longer than 64 characters"));
    }
    let decoded = percent_decode(raw).ok_or(ApiError::InvalidUid("malformed percent-encoding"))?;
    if decoded.is_empty() {
        return Err(ApiError::InvalidUid("must not be empty"));
    }
    if !decoded
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ApiError::InvalidUid(
            "only A-Z, a-z, 0-9, '_' and '-' are allowed",
        ));
    }
    if decoded.len() > MAX_UID_LEN {
        return Err(ApiError::InvalidUid("longer than 64 characters"));
    }
    // Only ASCII passed the check above.
    String::from_utf8(decoded).map_err(|_| ApiError::InvalidUid("not UTF-8"))
}

/// The `limit` of `GET /orders?limit=N` (default 20, 1–100); other parameters are ignored.
pub fn orders_limit(query: Option<&str>) -> Result<i64, ApiError> {
    let mut limit = DEFAULT_LIMIT;
    for pair in query.unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "limit" {
            continue;
        }
        let out_of_range =
            || ApiError::BadRequest(format!("limit must be an integer from 1 to {MAX_LIMIT}"));
        let value = percent_decode(value)
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(out_of_range)?;
        limit = value.parse::<i64>().map_err(|_| out_of_range())?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(out_of_range());
        }
    }
    Ok(limit)
}

/// `%XX` → byte; `None` on a truncated or non-hex escape.
fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_contract_uids() {
        assert_eq!(
            order_uid("b563feb7b2b84b6test").ok().as_deref(),
            Some("b563feb7b2b84b6test")
        );
        assert_eq!(order_uid("A_b-9").ok().as_deref(), Some("A_b-9"));
        assert_eq!(order_uid("%41bc").ok().as_deref(), Some("Abc"));
        assert!(order_uid(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        for raw in [
            "",
            "%00",
            "a%2Fb",
            "a/b",
            "%zz",
            "%4",
            "%C3%A9t%C3%A9",
            "ab c",
            "a.b",
            "%",
        ] {
            assert!(
                matches!(order_uid(raw), Err(ApiError::InvalidUid(_))),
                "{raw:?}"
            );
        }
        assert!(order_uid(&"x".repeat(65)).is_err());
        assert!(order_uid(&"%41".repeat(65)).is_err());
        assert!(order_uid(&"x".repeat(10_000)).is_err());
    }

    #[test]
    fn parses_limits() {
        assert_eq!(orders_limit(None).ok(), Some(20));
        assert_eq!(orders_limit(Some("limit=1")).ok(), Some(1));
        assert_eq!(orders_limit(Some("x=y&limit=100")).ok(), Some(100));
        for bad in [
            "limit=0",
            "limit=101",
            "limit=-1",
            "limit=abc",
            "limit=",
            "limit=1e2",
            "limit=99999999999999999999",
        ] {
            assert!(
                matches!(orders_limit(Some(bad)), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
