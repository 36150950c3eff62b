//! Contract §11, additive evolution: fields this version does not know, at every level, are
//! accepted, validated around (every rule of the known fields still applies), and kept in the
//! canonical JSON after the known keys of their object, in the order they came, with their
//! values exactly as sent. A known field missing, repeated or of the wrong type stays
//! `malformed`, and so does a repeated unknown key.

use chrono::{DateTime, TimeZone, Utc};
use order_model::{decode_at, DecodeError, Extra, ValidOrder, SAMPLE_JSON};
use order_synthetic::OrderGenerator;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 11, 27, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// The fixture without indentation.
fn compact_fixture() -> String {
    let order = decode_at(SAMPLE_JSON.as_bytes(), now()).expect("fixture");
    order.canonical_json().to_owned()
}

/// `text` with `insert` placed right after the first occurrence of `after`.
fn insert_after(text: &str, after: &str, insert: &str) -> String {
    let at = text
        .find(after)
        .unwrap_or_else(|| panic!("{after} not in {text}"))
        + after.len();
    format!("{}{insert}{}", &text[..at], &text[at..])
}

/// The fixture with unknown fields at every level, some before the known keys of their object.
fn evolved_text() -> String {
    let text = compact_fixture();
    let text = insert_after(&text, "{", r#""zeta":{"b":1,"a":[true,null]},"#);
    let text = insert_after(&text, r#""delivery":{"#, r#""floor":-3,"#);
    let text = insert_after(
        &text,
        r#""custom_fee":0"#,
        r#","installments":12,"fx":1.50"#,
    );
    let text = insert_after(&text, r#""status":202"#, r#","color":"зелёный \"x\"""#);
    insert_after(
        &text,
        r#""oof_shard":"1""#,
        r#","alpha":123456789012345678901234567890,"empty":{}"#,
    )
}

fn decode(text: &str) -> Result<ValidOrder, DecodeError> {
    decode_at(text.as_bytes(), now())
}

#[test]
fn unknown_fields_at_every_level_are_kept_after_the_known_keys_in_arrival_order() {
    let order = decode(&evolved_text()).expect("accepted");
    let fixture = compact_fixture();
    // Each object: its known keys as in the fixture, then its unknown ones as they came.
    let expected = insert_after(&fixture, r#""email":"test@gmail.com""#, r#","floor":-3"#);
    let expected = insert_after(
        &expected,
        r#""custom_fee":0"#,
        r#","installments":12,"fx":1.50"#,
    );
    let expected = insert_after(&expected, r#""status":202"#, r#","color":"зелёный \"x\"""#);
    let expected = format!(
        "{},\"zeta\":{{\"b\":1,\"a\":[true,null]}},\"alpha\":123456789012345678901234567890,\"empty\":{{}}}}",
        expected.strip_suffix('}').expect("an object")
    );
    assert_eq!(order.canonical_json(), expected);
    assert_eq!(
        order.unknown_field_paths(),
        [
            "zeta",
            "alpha",
            "empty",
            "delivery.floor",
            "payment.installments",
            "payment.fx",
            "items[0].color"
        ]
    );
    assert!(order.order().has_unknown_fields());
    // What we serve decodes to the same order and the same bytes.
    let again = decode(order.canonical_json()).expect("canonical is valid");
    assert_eq!(again, order);
    assert_eq!(again.canonical_json(), order.canonical_json());
}

#[test]
fn values_keep_their_text_but_not_their_whitespace() {
    let spaced = insert_after(
        &compact_fixture(),
        "{",
        "\"note\" : { \"k\" : [ 1 , \"a  b\" , 1.0e3 ] } ,\n",
    );
    let order = decode(&spaced).expect("accepted");
    assert!(order
        .canonical_json()
        .ends_with(r#","note":{"k":[1,"a  b",1.0e3]}}"#));
    // The same order written compactly is the same content: a redelivery, not a conflict.
    let compact = insert_after(&compact_fixture(), "{", r#""note":{"k":[1,"a  b",1.0e3]},"#);
    assert_eq!(
        decode(&compact).expect("accepted").fingerprint(),
        order.fingerprint()
    );
}

#[test]
fn unknown_fields_are_part_of_the_content() {
    let plain = decode(&compact_fixture()).expect("fixture");
    let with = |extra: &str| decode(&insert_after(&compact_fixture(), "{", extra)).expect("valid");
    let a = with(r#""gift":true,"#);
    assert_ne!(a.fingerprint(), plain.fingerprint());
    assert_ne!(a.fingerprint(), with(r#""gift":false,"#).fingerprint());
    assert_eq!(a.fingerprint(), with(r#""gift":true,"#).fingerprint());
    // Order matters: it is what we serve back.
    let ab = with(r#""a":1,"b":2,"#);
    assert_ne!(ab.fingerprint(), with(r#""b":2,"a":1,"#).fingerprint());
}

#[test]
fn known_fields_keep_every_rule_around_unknown_ones() {
    let text = evolved_text()
        .replace("test@gmail.com", "not-an-email")
        .replace(r#""sale":30"#, r#""sale":130"#);
    match decode(&text) {
        Err(DecodeError::Invalid(errors)) => {
            let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
            assert_eq!(paths, ["delivery.email", "items[0].sale"]);
        }
        other => panic!("expected invalid, got {other:?}"),
    }
}

fn assert_malformed(text: &str, says: &str) {
    match decode(text) {
        Err(err @ DecodeError::Malformed(_)) => {
            assert!(err.message().contains(says), "{says:?} not in {err}")
        }
        other => panic!("expected malformed ({says}), got {other:?}"),
    }
}

#[test]
fn a_missing_known_field_or_one_of_the_wrong_type_stays_malformed() {
    let evolved = evolved_text();
    assert_malformed(
        &evolved.replace(r#""zip":"2639809","#, ""),
        "delivery.zip: missing",
    );
    assert_malformed(
        &evolved.replace(r#""amount":1817"#, r#""amount":"1817""#),
        "payment.amount: expected an integer, found a string",
    );
    assert_malformed(
        &evolved.replace(r#""price":453"#, r#""price":[453]"#),
        "items[0].price: expected an integer, found an array",
    );
}

#[test]
fn repeated_keys_stay_malformed_known_or_not() {
    let fixture = compact_fixture();
    let twice = insert_after(&fixture, "{", r#""x":1,"x":2,"#);
    assert_malformed(&twice, "x: the key appears more than once");
    let twice = insert_after(&fixture, r#""delivery":{"#, r#""zip":"1","#);
    assert_malformed(&twice, "delivery.zip: the key appears more than once");
    let nested = insert_after(&fixture, "{", r#""x":[{"a":1,"b":2,"a":3}],"#);
    assert_malformed(&nested, "x: an object inside repeats a key");
    // An escaped spelling of a known key is that key.
    let escaped = insert_after(&fixture, "{", r#""order\u005fuid":"b563feb7b2b84b6test","#);
    assert_malformed(&escaped, "order_uid: the key appears more than once");
}

#[test]
fn unknown_values_serde_json_cannot_read_are_malformed() {
    let fixture = compact_fixture();
    for (value, says) in [
        (r#""\ud800""#, "x: not readable JSON"),
        ("1e400", "x: not readable JSON"),
        (
            &format!("{}1{}", "[".repeat(127), "]".repeat(127)),
            "x: nests more than",
        ),
    ] {
        assert_malformed(
            &insert_after(&fixture, "{", &format!(r#""x":{value},"#)),
            says,
        );
    }
    // One level less is fine: with the order's own object, 127 levels, serde_json's limit.
    let deep = format!("{}1{}", "[".repeat(126), "]".repeat(126));
    assert!(decode(&insert_after(&fixture, "{", &format!(r#""x":{deep},"#))).is_ok());
}

#[test]
fn odd_keys_are_fields_like_any_other() {
    for key in ["", "Order_uid", "order_uid ", "a.b", "items[0]", "😀"] {
        let text = insert_after(
            &compact_fixture(),
            "{",
            &format!("{}:1,", serde_json::json!(key)),
        );
        let order = decode(&text).unwrap_or_else(|err| panic!("{key:?}: {err}"));
        let extra: Vec<(&str, &str)> = order.order().extra.iter().collect();
        assert_eq!(extra, [(key, "1")]);
    }
}

#[test]
fn generated_evolved_orders_are_valid_and_round_trip() {
    let base = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("date");
    let generator = OrderGenerator::new(11, base);
    for seq in 0..200 {
        let order = generator.evolved_order_with_seq(seq);
        let text = serde_json::to_string(&order).expect("serializes");
        let decoded = decode_at(text.as_bytes(), base).expect("valid");
        assert_eq!(decoded.canonical_json(), text);
        assert_eq!(decoded.order(), &order);
        assert!(decoded
            .unknown_field_paths()
            .contains(&"payment.installments".to_owned()));
        assert!(
            text.contains(r#""loyalty":{"tier":"#),
            "unsorted keys kept: {text}"
        );
    }
}

#[test]
fn extra_can_be_built_by_hand() {
    let mut extra = Extra::default();
    extra.push("b", &serde_json::json!([1, 2]));
    assert!(extra.push_json("a", r#"{ "z": 1, "y": 2 }"#).is_ok());
    assert!(extra.push_json("c", "{\"z\":1,\"z\":2}").is_err());
    assert!(extra.push_json("c", "1 2").is_err());
    let pairs: Vec<(&str, &str)> = extra.iter().collect();
    assert_eq!(pairs, [("b", "[1,2]"), ("a", r#"{"z":1,"y":2}"#)]);
}

/// `check` (what `producer-sim validate` runs) gives `decode`'s verdict on every kind of record.
#[test]
fn check_agrees_with_decode() {
    use order_synthetic::PoisonKind;
    let generator = OrderGenerator::new(8, Utc::now());
    for seq in 0..50 {
        let evolved = serde_json::to_vec(&generator.evolved_order_with_seq(seq)).expect("json");
        let mut records = vec![evolved];
        records.extend(PoisonKind::ALL.map(|kind| generator.poison_with_seq(seq, kind).value));
        for record in records {
            let decoded = order_model::decode(&record).map(drop);
            assert_eq!(order_model::check(&record), decoded);
        }
    }
}
