//! `date_created`: RFC 3339 with an offset, at most 24 hours ahead of now, served in UTC with
//! its fraction kept.

use crate::{assert_fails_at, assert_malformed, assert_valid, date_of, now, set, with};
use chrono::Duration;
use serde_json::{json, Value};

fn with_date(date: &str) -> Value {
    with(|value| set(value, "/date_created", json!(date)))
}

#[test]
fn date_created_at_most_24_hours_ahead() {
    let limit = now() + Duration::hours(24);
    assert_eq!(limit.to_rfc3339(), "2021-11-28T00:00:00+00:00");
    for date in [
        "2021-11-28T00:00:00Z",
        "2021-11-28T03:00:00+03:00", // the same instant as the limit
        "2021-11-27T19:00:00-05:00",
        "2021-11-27T00:00:00Z",
        "2021-11-26T06:22:19Z",
        "1970-01-01T00:00:00Z",
        "2000-02-29T12:00:00Z",
    ] {
        assert_valid(&with_date(date));
    }
    for date in [
        "2021-11-28T00:00:00.001Z",
        "2021-11-28T00:00:01Z",
        "2021-11-28T03:00:01+03:00",
        "2021-11-28T00:00:00-00:01",
        "2022-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ] {
        assert_fails_at(&with_date(date), &["date_created"]);
    }
}

#[test]
fn dates_with_offsets_are_the_same_instant_in_utc() {
    for (date, utc) in [
        ("2021-11-26T09:22:19+03:00", "2021-11-26T06:22:19Z"),
        ("2021-11-26T01:22:19-05:00", "2021-11-26T06:22:19Z"),
        ("2021-11-26T06:22:19+00:00", "2021-11-26T06:22:19Z"),
        ("2021-11-26T06:22:19-00:00", "2021-11-26T06:22:19Z"),
        ("2021-11-26T11:52:19+05:30", "2021-11-26T06:22:19Z"),
        // Across midnight.
        ("2021-11-26T01:30:00+03:00", "2021-11-25T22:30:00Z"),
    ] {
        assert_eq!(date_of(&with_date(date)), utc, "{date}");
    }
    // Offsets re-rendered to UTC are equal orders (same fingerprint): a redelivery in another
    // zone is a duplicate, not a conflict.
    let utc = assert_valid(&with_date("2021-11-26T06:22:19Z"));
    let moscow = assert_valid(&with_date("2021-11-26T09:22:19+03:00"));
    assert_eq!(utc, moscow);
    assert_eq!(utc.fingerprint(), moscow.fingerprint());
}

#[test]
fn fractional_seconds_are_kept() {
    for (date, kept) in [
        ("2021-11-26T06:22:19.123Z", "2021-11-26T06:22:19.123Z"),
        (
            "2021-11-26T09:22:19.123456+03:00",
            "2021-11-26T06:22:19.123456Z",
        ),
        (
            "2021-11-26T06:22:19.123456789Z",
            "2021-11-26T06:22:19.123456789Z",
        ),
        // Fewer digits come back padded to milli/micro/nano precision: the same instant.
        ("2021-11-26T06:22:19.5Z", "2021-11-26T06:22:19.500Z"),
        // Zero fractions are the same instant as none.
        ("2021-11-26T06:22:19.000Z", "2021-11-26T06:22:19Z"),
    ] {
        assert_eq!(date_of(&with_date(date)), kept, "{date}");
    }
    let order = assert_valid(&with_date("2021-11-26T06:22:19.5Z"));
    assert_eq!(order.order().date_created.timestamp_subsec_millis(), 500);
}

#[test]
fn dates_that_are_not_rfc3339_are_malformed() {
    for date in [
        "",
        "2021-11-26",
        "2021-11-26T06:22:19", // no offset
        "2021-11-26T06:22Z",   // no seconds
        "26.11.2021 06:22:19",
        "2021-11-26T06:22:19+0300",
        "2021-02-30T00:00:00Z", // no such day
        "2021-11-26T25:00:00Z",
        "2021-11-26T06:22:19Z junk",
        "1637907727",
        "0000-01-01T00:00:00+01:00", // the year -1 in UTC: cannot be written back as RFC 3339
        "9999-12-31T23:59:59-01:00", // the year 10000 in UTC, likewise
    ] {
        assert_malformed(with_date(date).to_string().as_bytes());
    }
}
