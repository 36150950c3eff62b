//! The business rules of contract §1. Per-field rules are declared on the model with the
//! `validator` derive (see [`rules`] for the custom ones); rules that compare fields are plain
//! code here. Every failing rule is reported, never just the first, each with its field path
//! (`delivery.email`, `items[2].price`) so a producer can fix all of them at once.

use super::Order;
use chrono::{DateTime, Duration, Utc};
use std::fmt;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

/// One broken rule: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub reason: String,
}

impl FieldError {
    fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// `path: reason; path: reason`, the form used in DLQ headers and logs.
    pub fn join(errors: &[FieldError]) -> String {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// How far in the future `date_created` may be (clock skew between producers and us).
const MAX_FUTURE_SKEW: Duration = Duration::hours(24);

/// Checks every rule; `now` is the reference for the "not in the future" rule.
pub fn validate(order: &Order, now: DateTime<Utc>) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Err(found) = order.validate() {
        flatten(&found, "", &mut errors);
    }
    cross_field(order, now, &mut errors);
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort_by_cached_key(|error| path_key(&error.path));
    errors.dedup();
    // One entry per path, so the message names each failing field once even when it breaks two
    // rules (a negative `payment.amount` that is also not the sum).
    errors.dedup_by(|later, kept| {
        if later.path != kept.path {
            return false;
        }
        kept.reason = format!("{} and {}", kept.reason, later.reason);
        true
    });
    Err(errors)
}

/// How many items an order may have.
const MAX_ITEMS: usize = 1000;

fn cross_field(order: &Order, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    // Checked here rather than with `#[validate(length)]` on the model: validator keeps only one
    // kind of error per field, so a count error there hid every per-item error (`items[3].price`).
    if !(1..=MAX_ITEMS).contains(&order.items.len()) {
        errors.push(FieldError::new("items", "must have 1 to 1000 items"));
    }
    let payment = &order.payment;
    if payment.transaction != order.order_uid {
        errors.push(FieldError::new(
            "payment.transaction",
            "must equal order_uid",
        ));
    }
    for (index, item) in order.items.iter().enumerate() {
        if item.track_number != order.track_number {
            errors.push(FieldError::new(
                format!("items[{index}].track_number"),
                "must equal the order's track_number",
            ));
        }
    }
    // i128 so that absurd values report a mismatch instead of overflowing.
    let items_total: i128 = order
        .items
        .iter()
        .map(|item| i128::from(item.total_price))
        .sum();
    if items_total != i128::from(payment.goods_total) {
        errors.push(FieldError::new(
            "payment.goods_total",
            "must equal the sum of items[].total_price",
        ));
    }
    let expected_amount = i128::from(payment.goods_total)
        + i128::from(payment.delivery_cost)
        + i128::from(payment.custom_fee);
    if expected_amount != i128::from(payment.amount) {
        errors.push(FieldError::new(
            "payment.amount",
            "must equal goods_total + delivery_cost + custom_fee",
        ));
    }
    if order.date_created > now + MAX_FUTURE_SKEW {
        errors.push(FieldError::new(
            "date_created",
            "must not be more than 24 hours in the future",
        ));
    }
}

/// Turns validator's nested error tree into flat `a.b[3].c` paths.
fn flatten(found: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in found.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let reason = error
                        .message
                        .as_deref()
                        .map(str::to_owned)
                        .unwrap_or_else(|| error.code.to_string());
                    out.push(FieldError::new(path.clone(), reason));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, &path, out),
            ValidationErrorsKind::List(entries) => {
                for (index, inner) in entries {
                    flatten(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

/// Sort key that orders `items[10]` after `items[9]` and keeps a stable, readable order.
fn path_key(path: &str) -> Vec<(String, usize)> {
    path.split('.')
        .map(|segment| match segment.split_once('[') {
            Some((name, rest)) => (
                name.to_owned(),
                rest.trim_end_matches(']').parse().unwrap_or(usize::MAX),
            ),
            None => (segment.to_owned(), 0),
        })
        .collect()
}

/// Custom per-field rules referenced from the model's `#[validate(custom(...))]` attributes.
pub(crate) mod rules {
    use validator::ValidationError;

    fn fail(code: &'static str, message: &'static str) -> Result<(), ValidationError> {
        Err(ValidationError::new(code).with_message(message.into()))
    }

    pub fn non_blank(value: &str) -> Result<(), ValidationError> {
        if value.trim().is_empty() {
            return fail("required", "must not be empty");
        }
        Ok(())
    }

    pub fn order_uid(value: &str) -> Result<(), ValidationError> {
        if crate::OrderUid::parse(value).is_err() {
            return fail("order_uid", "must be 1-64 characters of A-Z a-z 0-9 _ -");
        }
        Ok(())
    }

    pub fn phone(value: &str) -> Result<(), ValidationError> {
        let digits = value.strip_prefix('+').unwrap_or("");
        if !(7..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return fail("phone", "must be + followed by 7-15 digits");
        }
        Ok(())
    }

    pub fn zip(value: &str) -> Result<(), ValidationError> {
        if !(3..=10).contains(&value.len()) || !value.bytes().all(|b| b.is_ascii_digit()) {
            return fail("zip", "must be 3-10 digits");
        }
        Ok(())
    }

    /// Letters of any script may carry combining marks that are not letters themselves (the
    /// Devanagari virama in शर्मा, Thai tone marks, a decomposed `e\u{301}`): a mark is allowed
    /// right after a letter or another mark.
    pub fn person_name(value: &str) -> Result<(), ValidationError> {
        non_blank(value)?;
        let mut in_letter = false;
        for c in value.chars() {
            in_letter = if c.is_alphabetic() || (in_letter && super::marks::is_combining_mark(c)) {
                true
            } else if matches!(c, ' ' | '-' | '\'' | '.') {
                false
            } else {
                return fail("name", "may contain only letters, spaces, - ' and .");
            };
        }
        Ok(())
    }

    pub fn currency(value: &str) -> Result<(), ValidationError> {
        if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            return fail("currency", "must be three upper-case letters");
        }
        Ok(())
    }
}

/// Combining marks (Unicode general category M) that `char::is_alphabetic` does not already
/// cover. Generated from the Unicode 14 character database; ranges are merged across alphabetic
/// code points, which the name rule accepts anyway.
mod marks {
    use std::cmp::Ordering;

    pub(super) fn is_combining_mark(c: char) -> bool {
        RANGES
            .binary_search_by(|&(low, high)| {
                if high < c {
                    Ordering::Less
                } else if low > c {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            })
            .is_ok()
    }

    #[rustfmt::skip]
    static RANGES: &[(char, char)] = &[
    ('\u{0300}', '\u{0362}'), ('\u{0483}', '\u{0489}'), ('\u{0591}', '\u{05AF}'), ('\u{0658}', '\u{0658}'),
    ('\u{06DF}', '\u{06E0}'), ('\u{06EA}', '\u{06EC}'), ('\u{0740}', '\u{074A}'), ('\u{07EB}', '\u{07F3}'),
    ('\u{07FD}', '\u{07FD}'), ('\u{0818}', '\u{082D}'), ('\u{0859}', '\u{085B}'), ('\u{0898}', '\u{08E1}'),
    ('\u{08EA}', '\u{0954}'), ('\u{09BC}', '\u{09BC}'), ('\u{09CD}', '\u{09CD}'), ('\u{09FE}', '\u{09FE}'),
    ('\u{0A3C}', '\u{0A3C}'), ('\u{0A4D}', '\u{0A4D}'), ('\u{0ABC}', '\u{0ABC}'), ('\u{0ACD}', '\u{0ACD}'),
    ('\u{0AFD}', '\u{0AFF}'), ('\u{0B3C}', '\u{0B3C}'), ('\u{0B4D}', '\u{0B4D}'), ('\u{0B55}', '\u{0B55}'),
    ('\u{0BCD}', '\u{0BCD}'), ('\u{0C3C}', '\u{0C3C}'), ('\u{0C4D}', '\u{0C4D}'), ('\u{0CBC}', '\u{0CBC}'),
    ('\u{0CCD}', '\u{0CCD}'), ('\u{0D3B}', '\u{0D3C}'), ('\u{0D4D}', '\u{0D4D}'), ('\u{0DCA}', '\u{0DCA}'),
    ('\u{0E47}', '\u{0E4E}'), ('\u{0EBA}', '\u{0EBA}'), ('\u{0EC8}', '\u{0ECC}'), ('\u{0F18}', '\u{0F19}'),
    ('\u{0F35}', '\u{0F35}'), ('\u{0F37}', '\u{0F37}'), ('\u{0F39}', '\u{0F39}'), ('\u{0F3E}', '\u{0F3F}'),
    ('\u{0F84}', '\u{0F84}'), ('\u{0F86}', '\u{0F87}'), ('\u{0FC6}', '\u{0FC6}'), ('\u{1037}', '\u{103A}'),
    ('\u{135D}', '\u{135F}'), ('\u{1714}', '\u{1715}'), ('\u{1734}', '\u{1734}'), ('\u{17B4}', '\u{17D3}'),
    ('\u{17DD}', '\u{17DD}'), ('\u{180B}', '\u{180D}'), ('\u{180F}', '\u{180F}'), ('\u{1939}', '\u{193B}'),
    ('\u{1A60}', '\u{1A7C}'), ('\u{1A7F}', '\u{1A7F}'), ('\u{1AB0}', '\u{1ACB}'), ('\u{1B34}', '\u{1B44}'),
    ('\u{1B6B}', '\u{1B73}'), ('\u{1BAA}', '\u{1BAB}'), ('\u{1BE6}', '\u{1BF3}'), ('\u{1C37}', '\u{1C37}'),
    ('\u{1CD0}', '\u{1CD2}'), ('\u{1CD4}', '\u{1CF9}'), ('\u{1DC0}', '\u{1DFF}'), ('\u{20D0}', '\u{20F0}'),
    ('\u{2CEF}', '\u{2CF1}'), ('\u{2D7F}', '\u{2D7F}'), ('\u{302A}', '\u{302F}'), ('\u{3099}', '\u{309A}'),
    ('\u{A66F}', '\u{A672}'), ('\u{A67C}', '\u{A67D}'), ('\u{A6F0}', '\u{A6F1}'), ('\u{A806}', '\u{A806}'),
    ('\u{A82C}', '\u{A82C}'), ('\u{A8C4}', '\u{A8C4}'), ('\u{A8E0}', '\u{A8F1}'), ('\u{A92B}', '\u{A92D}'),
    ('\u{A953}', '\u{A953}'), ('\u{A9B3}', '\u{A9C0}'), ('\u{AABF}', '\u{AAC1}'), ('\u{AAF6}', '\u{AAF6}'),
    ('\u{ABEC}', '\u{ABED}'), ('\u{FE00}', '\u{FE0F}'), ('\u{FE20}', '\u{FE2F}'), ('\u{101FD}', '\u{101FD}'),
    ('\u{102E0}', '\u{102E0}'), ('\u{10A38}', '\u{10A3A}'), ('\u{10A3F}', '\u{10A3F}'), ('\u{10AE5}', '\u{10AE6}'),
    ('\u{10F46}', '\u{10F50}'), ('\u{10F82}', '\u{10F85}'), ('\u{11046}', '\u{11046}'), ('\u{11070}', '\u{11070}'),
    ('\u{1107F}', '\u{110BA}'), ('\u{11133}', '\u{11134}'), ('\u{11173}', '\u{11173}'), ('\u{111C0}', '\u{111C0}'),
    ('\u{111C9}', '\u{111CC}'), ('\u{11235}', '\u{11236}'), ('\u{112E9}', '\u{112EA}'), ('\u{1133B}', '\u{1133C}'),
    ('\u{1134D}', '\u{1134D}'), ('\u{11366}', '\u{1136C}'), ('\u{11370}', '\u{11374}'), ('\u{11442}', '\u{11446}'),
    ('\u{1145E}', '\u{1145E}'), ('\u{114C2}', '\u{114C3}'), ('\u{115BF}', '\u{115C0}'), ('\u{1163F}', '\u{1163F}'),
    ('\u{116B6}', '\u{116B7}'), ('\u{1172B}', '\u{1172B}'), ('\u{11839}', '\u{1183A}'), ('\u{1193D}', '\u{11943}'),
    ('\u{119E0}', '\u{119E0}'), ('\u{11A33}', '\u{11A34}'), ('\u{11A47}', '\u{11A47}'), ('\u{11A98}', '\u{11A99}'),
    ('\u{11C3F}', '\u{11C3F}'), ('\u{11D42}', '\u{11D45}'), ('\u{11D97}', '\u{11D97}'), ('\u{16AF0}', '\u{16AF4}'),
    ('\u{16B30}', '\u{16B36}'), ('\u{16FE4}', '\u{16FE4}'), ('\u{1BC9D}', '\u{1BC9D}'), ('\u{1CF00}', '\u{1CF2D}'),
    ('\u{1CF30}', '\u{1CF46}'), ('\u{1D165}', '\u{1D169}'), ('\u{1D16D}', '\u{1D172}'), ('\u{1D17B}', '\u{1D182}'),
    ('\u{1D185}', '\u{1D18B}'), ('\u{1D1AA}', '\u{1D1AD}'), ('\u{1D242}', '\u{1D244}'), ('\u{1DA00}', '\u{1DA36}'),
    ('\u{1DA3B}', '\u{1DA6C}'), ('\u{1DA75}', '\u{1DA75}'), ('\u{1DA84}', '\u{1DA84}'), ('\u{1DA9B}', '\u{1DA9F}'),
    ('\u{1DAA1}', '\u{1DAAF}'), ('\u{1E130}', '\u{1E136}'), ('\u{1E2AE}', '\u{1E2AE}'), ('\u{1E2EC}', '\u{1E2EF}'),
    ('\u{1E8D0}', '\u{1E8D6}'), ('\u{1E944}', '\u{1E94A}'), ('\u{E0100}', '\u{E01EF}'),
    ];
}
