//! Fuzz target: query-api's `GET /order/{uid}` path parser against a reference reading of the
//! contract: after percent-decoding, 1–64 characters of `A-Z a-z 0-9 _ -`, returned unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use query_api::input::order_uid;

/// `%XX` decoding, written independently of the parser under test.
fn reference_decode(raw: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = raw.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first == b'%' {
            let hex = tail.get(..2)?;
            let high = (hex[0] as char).to_digit(16)?;
            let low = (hex[1] as char).to_digit(16)?;
            out.push((high * 16 + low) as u8);
            rest = &tail[2..];
        } else {
            out.push(first);
            rest = tail;
        }
    }
    Some(out)
}

fn reference(raw: &str) -> Option<String> {
    let decoded = reference_decode(raw)?;
    let ok = (1..=64).contains(&decoded.len())
        && decoded
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| String::from_utf8(decoded).expect("ASCII"))
}

fuzz_target!(|raw: &str| {
    let got = order_uid(raw).ok();
    assert_eq!(got, reference(raw), "raw {raw:?}");
});
