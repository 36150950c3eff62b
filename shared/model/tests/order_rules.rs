//! Contract §1, rule by rule: for every validation rule a passing and a failing order, with the
//! exact field paths the rejection must name; the reference fixture's byte-for-byte round trip;
//! and the inputs that must be `malformed` (never `invalid`).
//!
//! Every case starts from the fixture (`tests/fixtures/model.json`) and changes only what the
//! case is about, so the expected list of failing paths is exact, not merely "contains".

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_model::{
    decode, decode_at, sample_json, DeadLetterKind, DecodeError, Order, ValidOrder,
    MAX_MESSAGE_BYTES, SAMPLE_JSON,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The fixed "now" the date rule is judged against: the day after the fixture's `date_created`.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 11, 27, 0, 0, 0)
        .single()
        .expect("a valid date")
}

fn decode_value(value: &Value) -> Result<ValidOrder, DecodeError> {
    decode_at(value.to_string().as_bytes(), now())
}

/// The fixture with `edit` applied.
fn with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = sample_json();
    edit(&mut value);
    value
}

/// Sets the value at a JSON pointer (`/items/2/price`), which must exist.
fn set(value: &mut Value, pointer: &str, new: Value) {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is not in the order")) = new;
}

/// Makes `goods_total` the sum of the items and `amount` the contract's sum again, so a case
/// that changes money breaks only the rule it is about.
fn rebalance(value: &mut Value) {
    let field = |value: &Value, pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{pointer} is not an integer"))
    };
    let items = value["items"].as_array().expect("items is an array");
    let goods_total: i64 = items.iter().map(|item| field(item, "/total_price")).sum();
    let amount =
        goods_total + field(value, "/payment/delivery_cost") + field(value, "/payment/custom_fee");
    set(value, "/payment/goods_total", json!(goods_total));
    set(value, "/payment/amount", json!(amount));
}

/// The fixture with `count` copies of its item (totals fixed up): a valid order.
fn with_items(count: usize) -> Value {
    with(|value| {
        let item = value["items"][0].clone();
        value["items"] = Value::Array(vec![item; count]);
        rebalance(value);
    })
}

#[track_caller]
fn assert_valid(value: &Value) -> ValidOrder {
    match decode_value(value) {
        Ok(order) => order,
        Err(err) => panic!("expected a valid order, got {err}"),
    }
}

/// The distinct failing paths, in the order the error lists them; checks that the error is
/// `invalid` and that its message names every path.
#[track_caller]
fn failing_paths(value: &Value) -> Vec<String> {
    match decode_value(value) {
        Ok(_) => panic!("expected an invalid order, it was accepted"),
        Err(err @ DecodeError::Malformed(_)) => panic!("expected invalid, got {err}"),
        Err(err @ DecodeError::Invalid(_)) => {
            assert_eq!(err.kind(), DeadLetterKind::Invalid);
            let DecodeError::Invalid(errors) = &err else {
                unreachable!()
            };
            let message = err.message();
            let mut paths: Vec<String> = errors.iter().map(|error| error.path.clone()).collect();
            paths.dedup();
            for path in &paths {
                assert!(
                    message.contains(path.as_str()),
                    "{message:?} does not name {path}"
                );
            }
            paths
        }
    }
}

/// Asserts the order is rejected as `invalid` naming exactly `expected` (in the error's sorted
/// order).
#[track_caller]
fn assert_fails_at(value: &Value, expected: &[&str]) {
    assert_eq!(
        failing_paths(value),
        expected,
        "for order {}",
        clip(&value.to_string())
    );
}

/// Long inputs (a thousand items, a megabyte) shortened for failure messages.
fn clip(text: &str) -> String {
    match text.char_indices().nth(400) {
        Some((at, _)) => format!("{}… ({} bytes)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

#[track_caller]
fn assert_malformed(bytes: &[u8]) {
    match decode_at(bytes, now()) {
        Err(err @ DecodeError::Malformed(_)) => {
            assert_eq!(err.kind(), DeadLetterKind::Malformed);
            assert!(!err.message().is_empty());
        }
        Err(err) => panic!(
            "expected malformed, got {err} for {}",
            String::from_utf8_lossy(bytes)
        ),
        Ok(_) => panic!(
            "expected malformed, accepted {}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Removes the whitespace between JSON tokens, keeping key order and every token's spelling:
/// the fixture "re-serialized compactly in the same key order".
fn compact(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in pretty.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

fn date_of(value: &Value) -> String {
    let order = assert_valid(value);
    let canonical: Value = serde_json::from_str(order.canonical_json()).expect("canonical is JSON");
    canonical["date_created"]
        .as_str()
        .expect("a string")
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// The fixture
// ---------------------------------------------------------------------------------------------

#[test]
fn fixture_is_valid_and_round_trips_byte_for_byte() {
    let order = decode_at(SAMPLE_JSON.as_bytes(), now()).expect("the fixture is valid");
    // Same keys in the same order with the same spelling: only the indentation is gone.
    assert_eq!(order.canonical_json(), compact(SAMPLE_JSON));
    // And the same JSON value.
    let served: Value = serde_json::from_str(order.canonical_json()).expect("canonical is JSON");
    assert_eq!(served, sample_json());
    assert_eq!(order.uid(), "b563feb7b2b84b6test");
    // Stable: decoding what we serve gives the same order and the same bytes.
    let again = decode_at(order.canonical_json().as_bytes(), now()).expect("canonical is valid");
    assert_eq!(again, order);
    assert_eq!(again.canonical_json(), order.canonical_json());
    assert_eq!(again.fingerprint(), order.fingerprint());
}

#[test]
fn fixture_is_valid_against_the_real_clock() {
    assert!(decode(SAMPLE_JSON.as_bytes()).is_ok());
    let order: Order = serde_json::from_str(SAMPLE_JSON).expect("fixture deserializes");
    assert!(ValidOrder::try_from(order).is_ok());
}

/// The keys of the nested objects, in contract order.
const DELIVERY_KEYS: &[&str] = &["name", "phone", "zip", "city", "address", "region", "email"];
const PAYMENT_KEYS: &[&str] = &[
    "transaction",
    "request_id",
    "currency",
    "provider",
    "amount",
    "payment_dt",
    "bank",
    "delivery_cost",
    "goods_total",
    "custom_fee",
];
const ITEM_KEYS: &[&str] = &[
    "chrt_id",
    "track_number",
    "price",
    "rid",
    "name",
    "sale",
    "size",
    "total_price",
    "nm_id",
    "brand",
    "status",
];

#[test]
fn canonical_json_keeps_the_contract_key_order() {
    let order = assert_valid(&with_items(2));
    let text = order.canonical_json();
    let keys = [
        &["order_uid", "track_number", "entry", "delivery"][..],
        DELIVERY_KEYS,
        &["payment"],
        PAYMENT_KEYS,
        &["items"],
        ITEM_KEYS,
        // The second item comes after the first.
        &["chrt_id"],
        &[
            "locale",
            "internal_signature",
            "customer_id",
            "delivery_service",
            "shardkey",
            "sm_id",
            "date_created",
            "oof_shard",
        ],
    ]
    .concat();
    let mut from = 0;
    for key in keys {
        let needle = format!("\"{key}\":");
        let found = text[from..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{key} out of order"));
        from += found + needle.len();
    }
}

// ---------------------------------------------------------------------------------------------
// order_uid and payment.transaction
// ---------------------------------------------------------------------------------------------

fn with_uid(uid: &str) -> Value {
    with(|value| {
        set(value, "/order_uid", json!(uid));
        set(value, "/payment/transaction", json!(uid));
    })
}

#[test]
fn order_uid_of_1_to_64_allowed_characters_is_accepted() {
    for uid in [
        "a",
        "Z",
        "0",
        "_",
        "-",
        "aZ09_-",
        &"x".repeat(64),
        &"-_".repeat(32),
    ] {
        assert_eq!(assert_valid(&with_uid(uid)).uid(), uid);
    }
}

#[test]
fn order_uid_of_0_or_65_characters_is_invalid() {
    for uid in [String::new(), "x".repeat(65), "a".repeat(1000)] {
        assert_fails_at(&with_uid(&uid), &["order_uid"]);
    }
}

#[test]
fn order_uid_with_other_characters_is_invalid() {
    let bad = [
        "abc def",
        "abc.def",
        "abc/def",
        "abc\\def",
        "abc+def",
        "abc:def",
        "abc%20",
        "abc!",
        "é",
        "ü1",
        "абв",
        "订单",
        "a\u{0}b",
        "a\nb",
        "a\tb",
        " abc",
        "abc ",
        "ａｂｃ",
        "١٢٣",
        // 32 two-byte characters: 64 bytes but not the allowed alphabet.
        &"é".repeat(32),
    ];
    for uid in bad {
        assert_fails_at(&with_uid(uid), &["order_uid"]);
    }
}

#[test]
fn payment_transaction_must_equal_order_uid() {
    for transaction in ["other", "B563FEB7B2B84B6TEST", "b563feb7b2b84b6test ", ""] {
        let value = with(|value| set(value, "/payment/transaction", json!(transaction)));
        assert_fails_at(&value, &["payment.transaction"]);
    }
    // A bad uid copied into transaction is reported once, at order_uid.
    assert_fails_at(&with_uid("bad uid"), &["order_uid"]);
}

// ---------------------------------------------------------------------------------------------
// Required non-empty strings
// ---------------------------------------------------------------------------------------------

/// Required strings: JSON pointer, and the paths a blank value there must produce. Item fields
/// are tested on the third of three items to check the index in the path.
const REQUIRED: &[(&str, &[&str])] = &[
    // The items' track_number must equal the order's, so a blank order track breaks those too.
    (
        "/track_number",
        &[
            "items[0].track_number",
            "items[1].track_number",
            "items[2].track_number",
            "track_number",
        ],
    ),
    ("/entry", &["entry"]),
    ("/delivery/name", &["delivery.name"]),
    ("/delivery/city", &["delivery.city"]),
    ("/delivery/address", &["delivery.address"]),
    ("/delivery/region", &["delivery.region"]),
    ("/payment/currency", &["payment.currency"]),
    ("/payment/provider", &["payment.provider"]),
    ("/payment/bank", &["payment.bank"]),
    ("/items/2/track_number", &["items[2].track_number"]),
    ("/items/2/rid", &["items[2].rid"]),
    ("/items/2/name", &["items[2].name"]),
    ("/items/2/size", &["items[2].size"]),
    ("/items/2/brand", &["items[2].brand"]),
    ("/locale", &["locale"]),
    ("/customer_id", &["customer_id"]),
    ("/delivery_service", &["delivery_service"]),
    ("/shardkey", &["shardkey"]),
    ("/oof_shard", &["oof_shard"]),
];

#[test]
fn every_required_string_rejects_an_empty_value() {
    for (pointer, expected) in REQUIRED {
        let mut value = with_items(3);
        set(&mut value, pointer, json!(""));
        assert_fails_at(&value, expected);
    }
}

/// Team choice: whitespace only counts as empty (a producer sending `" "` lost the value).
#[test]
fn every_required_string_rejects_whitespace_only() {
    for (pointer, expected) in REQUIRED {
        for blank in [" ", "\t", " \n "] {
            let mut value = with_items(3);
            set(&mut value, pointer, json!(blank));
            assert_fails_at(&value, expected);
        }
    }
}

#[test]
fn required_strings_accept_any_non_empty_value() {
    let free_text = [
        "/entry",
        "/delivery/city",
        "/delivery/address",
        "/delivery/region",
        "/payment/provider",
        "/payment/bank",
        "/items/2/rid",
        "/items/2/name",
        "/items/2/size",
        "/items/2/brand",
        "/locale",
        "/customer_id",
        "/delivery_service",
        "/shardkey",
        "/oof_shard",
    ];
    for pointer in free_text {
        for text in [
            "x",
            "0",
            "Кирьят-Моцкин, ул. Мира 15 / кв. 3 ✓",
            "\"quoted\" \\ <b>",
        ] {
            let mut value = with_items(3);
            set(&mut value, pointer, json!(text));
            assert_valid(&value);
        }
    }
    // The track number is free text too, as long as the items carry the same one.
    let mut value = with_items(3);
    for pointer in [
        "/track_number",
        "/items/0/track_number",
        "/items/1/track_number",
        "/items/2/track_number",
    ] {
        set(&mut value, pointer, json!("x"));
    }
    assert_valid(&value);
}

#[test]
fn request_id_and_internal_signature_may_be_empty_or_anything() {
    let fixture = sample_json();
    assert_eq!(fixture["payment"]["request_id"], "");
    assert_eq!(fixture["internal_signature"], "");
    assert_valid(&fixture);
    for text in ["", " ", "req-42", "∑ any text"] {
        assert_valid(&with(|value| {
            set(value, "/payment/request_id", json!(text));
            set(value, "/internal_signature", json!(text));
        }));
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery: phone, zip, email, name
// ---------------------------------------------------------------------------------------------

fn with_delivery(field: &str, text: &str) -> Value {
    with(|value| set(value, &format!("/delivery/{field}"), json!(text)))
}

#[test]
fn phone_is_plus_and_7_to_15_digits() {
    for phone in ["+1234567", "+123456789012345", "+9720000000", "+0000000"] {
        assert_valid(&with_delivery("phone", phone));
    }
    let bad = [
        "+123456",           // 6 digits
        "+1234567890123456", // 16 digits
        "1234567",           // no +
        "9720000000",
        "++1234567",
        "+",
        "",
        "+123 4567",
        "+123-4567",
        "+(972)0000000",
        "+1234567 ",
        " +1234567",
        "+1234567\n",
        "00972000000",
        "+１２３４５６７", // full-width digits
        "+١٢٣٤٥٦٧",        // Arabic-Indic digits
        "+12345e7",
    ];
    for phone in bad {
        assert_fails_at(&with_delivery("phone", phone), &["delivery.phone"]);
    }
}

#[test]
fn zip_is_3_to_10_digits() {
    for zip in ["123", "007", "2639809", "1234567890"] {
        assert_valid(&with_delivery("zip", zip));
    }
    let bad = [
        "12",
        "12345678901",
        "",
        "12a",
        "SW1A 1AA",
        "123 45",
        "123-45",
        " 123",
        "-123",
        "١٢٣",
        "１２３",
    ];
    for zip in bad {
        assert_fails_at(&with_delivery("zip", zip), &["delivery.zip"]);
    }
}

#[test]
fn email_must_be_a_syntactically_valid_address() {
    let good = [
        "test@gmail.com",
        "first.last+tag@mail.example.co.uk",
        "o'brien@example.ie",
        "x@example.org",
        "user_name-1@sub-domain.example.com",
        "user@[192.168.0.1]",
        "user@пример.рф", // internationalized domain
    ];
    for email in good {
        assert_valid(&with_delivery("email", email));
    }
    let bad = [
        "",
        "plain",
        "test.gmail.com",
        "@gmail.com",
        "test@",
        "test@@gmail.com",
        "test at gmail.com",
        "te st@gmail.com",
        "test@gm ail.com",
        "test@.gmail.com",
        "test@gmail..com",
        "test@gmail.com.",
        "test@-gmail.com",
        "test@gmail.com\n",
        "<test@gmail.com>",
        &format!("{}@gmail.com", "a".repeat(65)), // local part over 64 characters
    ];
    for email in bad {
        assert_fails_at(&with_delivery("email", email), &["delivery.email"]);
    }
}

#[test]
fn name_is_letters_of_any_script_spaces_hyphens_apostrophes_and_dots() {
    let good = [
        "Test Testov",
        "Jean-Luc O'Brien",
        "J. R. R. Tolkien",
        "Иван Петров",
        "Ζωή Παπαδοπούλου",
        "Jürgen Weiß",
        "Nguyễn Văn An",
        "张伟",
        "山田 太郎",
        "김민준",
        "محمد علي",
        "דוד לוי",
        "ნინო ბერიძე",
        // Scripts whose letters combine with marks that are not letters themselves: the virama
        // in शर्मा, the Thai tone mark in สมศักดิ์, a decomposed (NFD) é.
        "राहुल शर्मा",
        "কৃষ্ণ দাস",
        "สมศักดิ์ ใจดี",
        "Jose\u{301} Garci\u{301}a",
        "X",
    ];
    for name in good {
        assert_valid(&with_delivery("name", name));
    }
    let bad = [
        "",
        " ",
        "R2D2",
        "Agent 47",
        "Test Testov 3rd",
        "Иван٣",
        "John_Smith",
        "john@home",
        "John (VIP)",
        "John, Jr",
        "John #42",
        "😀",
        "Test 😀",
        "Anna\tMaria",
        "Anna\nMaria",
        "Anna\u{200B}Maria", // zero-width space
        "\u{301}Jose",       // a combining mark with no letter to combine with
        "- \u{301}",
    ];
    for name in bad {
        assert_fails_at(&with_delivery("name", name), &["delivery.name"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Payment: currency; non-negative numbers; sale
// ---------------------------------------------------------------------------------------------

#[test]
fn currency_is_three_upper_case_letters() {
    for currency in ["USD", "EUR", "RUB", "JPY", "XXX"] {
        assert_valid(&with(|value| {
            set(value, "/payment/currency", json!(currency))
        }));
    }
    for currency in [
        "usd", "Usd", "US", "USDT", "U5D", "US ", " USD", "", "U-D", "ÄÖÜ", "ДОЛ",
    ] {
        let value = with(|value| set(value, "/payment/currency", json!(currency)));
        assert_fails_at(&value, &["payment.currency"]);
    }
}

/// Non-negative numbers: pointer, and the paths `-1` there produces once the money is
/// rebalanced (a negative `goods_total` or `amount` also breaks its sum, at the same path).
const NON_NEGATIVE: &[(&str, &str)] = &[
    ("/payment/amount", "payment.amount"),
    ("/payment/delivery_cost", "payment.delivery_cost"),
    ("/payment/goods_total", "payment.goods_total"),
    ("/payment/custom_fee", "payment.custom_fee"),
    ("/items/2/chrt_id", "items[2].chrt_id"),
    ("/items/2/price", "items[2].price"),
    ("/items/2/sale", "items[2].sale"),
    ("/items/2/total_price", "items[2].total_price"),
    ("/items/2/nm_id", "items[2].nm_id"),
    ("/items/2/status", "items[2].status"),
    ("/sm_id", "sm_id"),
];

#[test]
fn every_non_negative_field_rejects_minus_one_at_its_own_path() {
    for (pointer, path) in NON_NEGATIVE {
        let mut value = with_items(3);
        set(&mut value, pointer, json!(-1));
        match *pointer {
            // Negative and not the sum: both reasons, one path.
            "/payment/amount" => {}
            // Keep amount consistent with the broken goods_total so only this path fails.
            "/payment/goods_total" => set(&mut value, "/payment/amount", json!(-1 + 1500)),
            _ => rebalance(&mut value),
        }
        assert_fails_at(&value, &[path]);
    }
}

#[test]
fn the_most_negative_number_is_reported_not_overflowed() {
    for field in ["chrt_id", "price", "sale", "nm_id", "status"] {
        let value = with(|value| set(value, &format!("/items/0/{field}"), json!(i64::MIN)));
        assert_fails_at(&value, &[format!("items[0].{field}").as_str()]);
    }
    assert_fails_at(
        &with(|value| set(value, "/sm_id", json!(i64::MIN))),
        &["sm_id"],
    );
    // Money: the sums are computed without overflow and fail too.
    let value = with(|value| set(value, "/items/0/total_price", json!(i64::MIN)));
    assert_fails_at(&value, &["items[0].total_price", "payment.goods_total"]);
    for field in ["amount", "goods_total", "delivery_cost", "custom_fee"] {
        let value = with(|value| set(value, &format!("/payment/{field}"), json!(i64::MIN)));
        let mut expected = vec!["payment.amount".to_owned(), format!("payment.{field}")];
        expected.dedup();
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        assert_fails_at(&value, &expected);
    }
}

#[test]
fn every_non_negative_field_accepts_zero() {
    // One order with every such field at zero.
    let mut value = with_items(3);
    for item in 0..3 {
        for field in ["chrt_id", "price", "sale", "total_price", "nm_id", "status"] {
            set(&mut value, &format!("/items/{item}/{field}"), json!(0));
        }
    }
    set(&mut value, "/sm_id", json!(0));
    set(&mut value, "/payment/delivery_cost", json!(0));
    set(&mut value, "/payment/custom_fee", json!(0));
    rebalance(&mut value);
    assert_eq!(value["payment"]["amount"], 0);
    assert_eq!(value["payment"]["goods_total"], 0);
    assert_valid(&value);
}

#[test]
fn huge_money_is_fine_and_sums_cannot_overflow() {
    let mut value = with_items(1);
    set(&mut value, "/items/0/price", json!(i64::MAX));
    set(&mut value, "/items/0/total_price", json!(i64::MAX));
    set(&mut value, "/payment/delivery_cost", json!(0));
    rebalance(&mut value);
    assert_valid(&value);

    // Two items of i64::MAX: no i64 goods_total can equal the sum; reported, not a panic.
    let mut value = with_items(2);
    for item in 0..2 {
        set(
            &mut value,
            &format!("/items/{item}/total_price"),
            json!(i64::MAX),
        );
    }
    set(&mut value, "/payment/goods_total", json!(i64::MAX));
    set(&mut value, "/payment/delivery_cost", json!(0));
    set(&mut value, "/payment/amount", json!(i64::MAX));
    assert_fails_at(&value, &["payment.goods_total"]);

    // amount's sum overflowing i64 is a mismatch too.
    let value = with(|value| {
        set(value, "/payment/delivery_cost", json!(i64::MAX));
        set(value, "/payment/amount", json!(i64::MAX));
    });
    assert_fails_at(&value, &["payment.amount"]);
}

/// The contract lists which numbers are non-negative; `payment_dt` is not among them.
#[test]
fn payment_dt_has_no_sign_rule() {
    for payment_dt in [0, -1, i64::MAX] {
        assert_valid(&with(|value| {
            set(value, "/payment/payment_dt", json!(payment_dt))
        }));
    }
}

#[test]
fn sale_is_at_most_100() {
    for sale in [0, 1, 30, 99, 100] {
        assert_valid(&with(|value| set(value, "/items/0/sale", json!(sale))));
    }
    for sale in [101, 1000, i64::MAX, -1] {
        let value = with(|value| set(value, "/items/0/sale", json!(sale)));
        assert_fails_at(&value, &["items[0].sale"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Items: count and track numbers
// ---------------------------------------------------------------------------------------------

#[test]
fn items_has_1_to_1000_entries() {
    for count in [1, 2, 1000] {
        assert_eq!(assert_valid(&with_items(count)).order().items.len(), count);
    }
    for count in [0, 1001] {
        assert_fails_at(&with_items(count), &["items"]);
    }
}

/// Too many items *and* a bad item: both are reported (this combination used to panic inside
/// the validator, which cannot hold a list-level and a per-item error for the same field).
#[test]
fn too_many_items_and_a_bad_item_are_both_reported() {
    let mut value = with_items(1001);
    set(&mut value, "/items/500/price", json!(-1));
    set(&mut value, "/items/1000/brand", json!(""));
    assert_fails_at(&value, &["items", "items[500].price", "items[1000].brand"]);

    let mut value = with_items(1001);
    set(&mut value, "/items/7/track_number", json!("OTHER"));
    assert_fails_at(&value, &["items", "items[7].track_number"]);
}

#[test]
fn every_item_track_number_equals_the_orders() {
    let mut value = with_items(3);
    set(
        &mut value,
        "/items/1/track_number",
        json!("WBILMOTHERTRACK"),
    );
    assert_fails_at(&value, &["items[1].track_number"]);

    // Case matters.
    let mut value = with_items(3);
    set(&mut value, "/items/2/track_number", json!("wbilmtesttrack"));
    assert_fails_at(&value, &["items[2].track_number"]);

    // The order's own track number changed: every item is now off.
    let mut value = with_items(3);
    set(&mut value, "/track_number", json!("WBILMNEWTRACK"));
    assert_fails_at(
        &value,
        &[
            "items[0].track_number",
            "items[1].track_number",
            "items[2].track_number",
        ],
    );
}

#[test]
fn paths_sort_items_numerically() {
    let mut value = with_items(12);
    for item in [11, 2, 10, 9] {
        set(&mut value, &format!("/items/{item}/nm_id"), json!(-5));
    }
    assert_fails_at(
        &value,
        &[
            "items[2].nm_id",
            "items[9].nm_id",
            "items[10].nm_id",
            "items[11].nm_id",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

#[test]
fn goods_total_is_the_sum_of_item_totals() {
    assert_valid(&with_items(5));
    for goods_total in [316, 318, 0] {
        let value = with(|value| {
            set(value, "/payment/goods_total", json!(goods_total));
            set(value, "/payment/amount", json!(goods_total + 1500));
        });
        assert_fails_at(&value, &["payment.goods_total"]);
    }
    // An item's total changed without the order's total following.
    let mut value = with_items(3);
    set(&mut value, "/items/1/total_price", json!(318));
    assert_fails_at(&value, &["payment.goods_total"]);
}

#[test]
fn amount_is_goods_total_plus_delivery_cost_plus_custom_fee() {
    let value = with(|value| {
        set(value, "/payment/custom_fee", json!(100));
        set(value, "/payment/amount", json!(317 + 1500 + 100));
    });
    assert_valid(&value);
    for amount in [1816, 1818, 0, 317] {
        let value = with(|value| set(value, "/payment/amount", json!(amount)));
        assert_fails_at(&value, &["payment.amount"]);
    }
    // A fee added without the amount following.
    let value = with(|value| set(value, "/payment/custom_fee", json!(1)));
    assert_fails_at(&value, &["payment.amount"]);
}

// ---------------------------------------------------------------------------------------------
// date_created
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Several failures at once
// ---------------------------------------------------------------------------------------------

#[test]
fn five_broken_rules_are_all_named() {
    let value = with(|value| {
        set(value, "/delivery/email", json!("not-an-email"));
        set(value, "/delivery/phone", json!("123"));
        set(value, "/items/0/sale", json!(101));
        set(value, "/payment/currency", json!("usd"));
        set(value, "/sm_id", json!(-1));
    });
    let expected = [
        "delivery.email",
        "delivery.phone",
        "items[0].sale",
        "payment.currency",
        "sm_id",
    ];
    assert_fails_at(&value, &expected);
    // The message lists them in that order, each once.
    let message = decode_value(&value).expect_err("invalid").message();
    let positions: Vec<usize> = expected
        .iter()
        .map(|path| message.find(&format!("{path}: ")).expect("named"))
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{message}"
    );
    for path in expected {
        assert_eq!(
            message.matches(&format!("{path}: ")).count(),
            1,
            "{message}"
        );
    }
}

#[test]
fn every_rule_broken_at_once_names_every_path() {
    let mut value = with_items(3);
    let broken: &[(&str, Value)] = &[
        ("/order_uid", json!("bad uid!")),
        ("/entry", json!("")),
        ("/delivery/name", json!("R2D2")),
        ("/delivery/phone", json!("+1")),
        ("/delivery/zip", json!("1")),
        ("/delivery/city", json!("")),
        ("/delivery/address", json!(" ")),
        ("/delivery/region", json!("")),
        ("/delivery/email", json!("@")),
        ("/payment/transaction", json!("other")),
        ("/payment/currency", json!("usd")),
        ("/payment/provider", json!("")),
        ("/payment/bank", json!("")),
        ("/payment/delivery_cost", json!(-1)),
        ("/payment/custom_fee", json!(-1)),
        ("/payment/goods_total", json!(-7)),
        ("/payment/amount", json!(-3)),
        ("/items/0/chrt_id", json!(-1)),
        ("/items/0/price", json!(-1)),
        ("/items/0/nm_id", json!(-1)),
        ("/items/1/sale", json!(101)),
        ("/items/1/status", json!(-1)),
        ("/items/1/total_price", json!(-1)),
        ("/items/1/rid", json!("")),
        ("/items/2/name", json!("")),
        ("/items/2/size", json!("")),
        ("/items/2/brand", json!("")),
        ("/items/2/track_number", json!("OTHER")),
        ("/locale", json!("")),
        ("/customer_id", json!("")),
        ("/delivery_service", json!("")),
        ("/shardkey", json!("")),
        ("/sm_id", json!(-1)),
        ("/date_created", json!("2030-01-01T00:00:00Z")),
        ("/oof_shard", json!("")),
    ];
    for (pointer, bad) in broken {
        set(&mut value, pointer, bad.clone());
    }
    let expected = [
        "customer_id",
        "date_created",
        "delivery.address",
        "delivery.city",
        "delivery.email",
        "delivery.name",
        "delivery.phone",
        "delivery.region",
        "delivery.zip",
        "delivery_service",
        "entry",
        "items[0].chrt_id",
        "items[0].nm_id",
        "items[0].price",
        "items[1].rid",
        "items[1].sale",
        "items[1].status",
        "items[1].total_price",
        "items[2].brand",
        "items[2].name",
        "items[2].size",
        "items[2].track_number",
        "locale",
        "oof_shard",
        "order_uid",
        "payment.amount",
        "payment.bank",
        "payment.currency",
        "payment.custom_fee",
        "payment.delivery_cost",
        "payment.goods_total",
        "payment.provider",
        "payment.transaction",
        "shardkey",
        "sm_id",
    ];
    assert_fails_at(&value, &expected);
}

#[test]
fn errors_display_with_their_kind_and_message_without() {
    let err = decode_value(&with_delivery("email", "x")).expect_err("invalid");
    assert_eq!(err.kind(), DeadLetterKind::Invalid);
    assert!(
        err.message().starts_with("delivery.email: "),
        "{}",
        err.message()
    );
    assert_eq!(err.to_string(), format!("invalid: {}", err.message()));

    let err = decode_at(b"nope", now()).expect_err("malformed");
    assert_eq!(err.kind(), DeadLetterKind::Malformed);
    assert_eq!(err.to_string(), format!("malformed: {}", err.message()));
}

// ---------------------------------------------------------------------------------------------
// Malformed: never `invalid`
// ---------------------------------------------------------------------------------------------

#[test]
fn more_than_1_mib_is_malformed_even_if_the_order_is_valid() {
    // Exactly at the limit (padding after the document) is still read.
    let mut at_limit = SAMPLE_JSON.as_bytes().to_vec();
    at_limit.resize(MAX_MESSAGE_BYTES, b' ');
    assert!(decode_at(&at_limit, now()).is_ok());
    at_limit.push(b' ');
    assert_malformed(&at_limit);

    let big = with(|value| {
        set(
            value,
            "/internal_signature",
            json!("a".repeat(MAX_MESSAGE_BYTES)),
        )
    });
    assert_malformed(big.to_string().as_bytes());
    // Oversized garbage is refused by size, before anything else.
    let err = decode_at(&vec![0xFF; MAX_MESSAGE_BYTES + 1], now()).expect_err("too big");
    assert!(err.message().contains("limit"), "{}", err.message());
}

#[test]
fn non_utf8_is_malformed() {
    let text = sample_json().to_string();
    let at = text.find("Test Testov").expect("name in fixture");
    let mut latin1 = text.clone().into_bytes();
    latin1.insert(at, 0xE9); // Latin-1 'é'
    assert_malformed(&latin1);

    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_malformed(&utf16);

    for bytes in [
        &b"\xFF"[..],
        b"\xC0\xAF",
        b"\xED\xA0\x80",
        b"{\"order_uid\":\"\x80\"}",
    ] {
        assert_malformed(bytes);
    }
}

#[test]
fn not_json_is_malformed() {
    let inputs: [&[u8]; 12] = [
        b"",
        b" ",
        b"hello",
        b"{",
        b"}",
        b"<order/>",
        b"order_uid=b563feb7b2b84b6test",
        b"{'order_uid': 'x'}",
        b"NaN",
        b"\0",
        b"{\"order_uid\" \"x\"}",
        b"{\"order_uid\":\"x\",}",
    ];
    for input in inputs {
        assert_malformed(input);
    }
    // Trailing data after a complete document.
    assert_malformed(format!("{SAMPLE_JSON}x").as_bytes());
    assert_malformed(format!("{SAMPLE_JSON}{SAMPLE_JSON}").as_bytes());
    // Deep nesting is refused, without exhausting the stack.
    assert_malformed("[".repeat(100_000).as_bytes());
    assert_malformed(format!("{}1{}", "[".repeat(200), "]".repeat(200)).as_bytes());
}

#[test]
fn every_truncation_is_malformed() {
    for text in [SAMPLE_JSON.trim_end().to_owned(), compact(SAMPLE_JSON)] {
        for cut in 0..text.len() {
            assert_malformed(&text.as_bytes()[..cut]);
        }
    }
}

#[test]
fn json_that_is_not_an_object_is_malformed() {
    let array = format!("[{SAMPLE_JSON}]");
    for input in [
        "[]",
        &array,
        "null",
        "0",
        "1817",
        "-1",
        "1.5",
        "\"order\"",
        "true",
        "false",
        "{}",
    ] {
        assert_malformed(input.as_bytes());
    }
}

#[test]
fn wrong_types_are_malformed() {
    let cases: &[(&str, Value)] = &[
        ("/payment/amount", json!("1817")),
        ("/payment/amount", json!(1.5)),
        ("/payment/amount", json!(1817.0)),
        ("/payment/amount", json!(true)),
        ("/payment/amount", json!(null)),
        ("/payment/amount", json!([1817])),
        ("/items/0/sale", json!(12.5)),
        ("/items/0/price", json!("453")),
        ("/sm_id", json!("99")),
        ("/payment/payment_dt", json!("1637907727")),
        ("/order_uid", json!(123)),
        ("/order_uid", json!(null)),
        ("/payment/request_id", json!(null)),
        ("/internal_signature", json!(null)),
        ("/delivery/phone", json!(9720000000_i64)),
        ("/delivery/zip", json!(2639809)),
        ("/shardkey", json!(9)),
        ("/delivery", json!("Test Testov")),
        ("/delivery", json!(null)),
        ("/delivery", json!([])),
        ("/payment", json!({})),
        ("/items", json!({})),
        ("/items", json!(null)),
        ("/items", json!([[]])),
        ("/items", json!(["item"])),
        ("/date_created", json!(1637907727)),
        ("/date_created", json!(null)),
    ];
    for (pointer, wrong) in cases {
        let value = with(|value| set(value, pointer, wrong.clone()));
        assert_malformed(value.to_string().as_bytes());
    }
    // Integers JSON can write but an i64 cannot hold, and exponent notation.
    let text = compact(SAMPLE_JSON);
    for number in [
        "9223372036854775808",
        "-9223372036854775809",
        "1e3",
        "1817E0",
        "18.17e2",
        "1817.",
        "+1817",
        "0x719",
    ] {
        let replaced = text.replace("\"amount\":1817", &format!("\"amount\":{number}"));
        assert_ne!(replaced, text);
        assert_malformed(replaced.as_bytes());
    }
}

/// Contract §11: a field this version does not know is kept, at every level, whatever its name
/// (the details are in `evolution.rs`).
#[test]
fn unknown_fields_are_accepted_at_every_level() {
    for pointer in ["", "/delivery", "/payment", "/items/0"] {
        for key in ["extra", "Order_uid", "order_uid ", ""] {
            let value = with(|value| {
                let object = value
                    .pointer_mut(pointer)
                    .and_then(Value::as_object_mut)
                    .expect("object");
                assert!(!object.contains_key(key));
                object.insert(key.to_owned(), json!("x"));
            });
            let order = assert_valid(&value);
            let served: Value = serde_json::from_str(order.canonical_json()).expect("JSON");
            assert_eq!(served, value, "{pointer} {key:?}");
        }
    }
}

#[test]
fn every_missing_field_is_malformed() {
    let fixture = sample_json();
    let mut removed = 0;
    for pointer in ["", "/delivery", "/payment", "/items/0"] {
        let keys: Vec<String> = fixture
            .pointer(pointer)
            .and_then(Value::as_object)
            .expect("object")
            .keys()
            .cloned()
            .collect();
        for key in keys {
            let value = with(|value| {
                value
                    .pointer_mut(pointer)
                    .and_then(Value::as_object_mut)
                    .expect("object")
                    .remove(&key);
            });
            assert_malformed(value.to_string().as_bytes());
            removed += 1;
        }
    }
    assert_eq!(
        removed,
        14 + 7 + 10 + 11,
        "every contract field was removed once"
    );
}

#[test]
fn duplicate_keys_are_malformed() {
    let text = compact(SAMPLE_JSON);
    let twice = text.replacen('{', "{\"order_uid\":\"b563feb7b2b84b6test\",", 1);
    assert_malformed(twice.as_bytes());
    let twice = text.replace("\"sale\":30", "\"sale\":30,\"sale\":30");
    assert_malformed(twice.as_bytes());
}

#[test]
fn bad_json_strings_are_malformed() {
    let text = compact(SAMPLE_JSON);
    for bad in ["\\ud800", "\\x41", "\\u12", "\u{1}", "\n"] {
        let replaced = text.replace("Kiryat Mozkin", &format!("Kiryat{bad}Mozkin"));
        assert_malformed(replaced.as_bytes());
    }
    // Escapes that are valid JSON decode to the same text.
    let escaped = text.replace("Kiryat Mozkin", "Kiryat\\u0020Mozkin");
    let order = decode_at(escaped.as_bytes(), now()).expect("valid");
    assert_eq!(order.canonical_json(), text);
}

/// serde's derived structs also read a JSON array of the field values in order; the contract
/// says an order is an object, at every level.
#[test]
fn objects_written_as_arrays_of_their_values_are_malformed() {
    let fixture = sample_json();
    // serde_json's map keeps keys sorted, not in contract order: build the arrays by hand.
    let order: Order = serde_json::from_str(SAMPLE_JSON).expect("fixture");
    let delivery = serde_json::to_value(&order.delivery).expect("serializes");
    let payment = serde_json::to_value(&order.payment).expect("serializes");
    let item = serde_json::to_value(&order.items[0]).expect("serializes");
    let in_contract_order = |value: &Value, keys: &[&str]| {
        Value::Array(keys.iter().map(|key| value[*key].clone()).collect())
    };
    let delivery_array = in_contract_order(&delivery, DELIVERY_KEYS);
    let payment_array = in_contract_order(&payment, PAYMENT_KEYS);
    let item_array = in_contract_order(&item, ITEM_KEYS);
    for (pointer, array) in [
        ("/delivery", &delivery_array),
        ("/payment", &payment_array),
        ("/items/0", &item_array),
    ] {
        let value = with(|value| set(value, pointer, array.clone()));
        assert_malformed(value.to_string().as_bytes());
    }
    let whole = json!([
        fixture["order_uid"],
        fixture["track_number"],
        fixture["entry"],
        delivery_array,
        payment_array,
        [item_array],
        fixture["locale"],
        fixture["internal_signature"],
        fixture["customer_id"],
        fixture["delivery_service"],
        fixture["shardkey"],
        fixture["sm_id"],
        fixture["date_created"],
        fixture["oof_shard"],
    ]);
    assert_malformed(whole.to_string().as_bytes());
}

/// A field that breaks two rules is one entry naming both reasons, so each path appears once.
#[test]
fn a_field_breaking_two_rules_is_listed_once_with_both_reasons() {
    let value = with(|value| set(value, "/payment/amount", json!(-1)));
    let DecodeError::Invalid(errors) = decode_value(&value).expect_err("invalid") else {
        panic!("expected invalid");
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "payment.amount");
    for reason in ["must not be negative", "must equal goods_total"] {
        assert!(
            errors[0].reason.contains(reason),
            "{reason:?} not in {}",
            errors[0].reason
        );
    }

    // A blank item track number is both empty and not the order's.
    let value = with(|value| set(value, "/items/0/track_number", json!("")));
    let message = decode_value(&value).expect_err("invalid").message();
    assert_eq!(
        message.matches("items[0].track_number").count(),
        1,
        "{message}"
    );
}
