//! Parsing of what clients put in URLs: the order uid path segment and the `/orders` query.
//! Parse once, here, into values the handlers can trust; every refusal is an [`ApiError`] whose
//! message tells the client what to fix.

use crate::error::ApiError;
use order_model::{OrderUid, UidError, MAX_UID_LEN};
use percent_encoding::percent_decode_str;

/// `GET /orders` limits (contract §5).
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The raw (still percent-encoded) path segment after `/order/` as a valid order uid.
pub fn order_uid(raw: &str) -> Result<OrderUid, ApiError> {
    // Each uid character is at most 3 encoded bytes; anything longer is junk, refuse it unread.
    if raw.len() > MAX_UID_LEN * 3 {
        return Err(ApiError::InvalidUid(UidError::TooLong.reason()));
    }
    // A stray `%` (or a bad escape) is left as is by the decoder, and the uid grammar refuses it.
    let decoded: Vec<u8> = percent_decode_str(raw).collect();
    OrderUid::parse_bytes(&decoded).map_err(|err| ApiError::InvalidUid(err.reason()))
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
        let value = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| out_of_range())?;
        limit = value.parse::<i64>().map_err(|_| out_of_range())?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(out_of_range());
        }
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_contract_uids() {
        let parsed = |raw: &str| order_uid(raw).ok().map(OrderUid::into_string);
        assert_eq!(
            parsed("b563feb7b2b84b6test").as_deref(),
            Some("b563feb7b2b84b6test")
        );
        assert_eq!(parsed("A_b-9").as_deref(), Some("A_b-9"));
        assert_eq!(parsed("%41bc").as_deref(), Some("Abc"));
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
