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
            in_letter = if c.is_alphabetic() || (in_letter && is_mark(c)) {
                true
            } else if matches!(c, ' ' | '-' | '\'' | '.') {
                false
            } else {
                return fail("name", "may contain only letters, spaces, - ' and .");
            };
        }
        Ok(())
    }

    /// A combining mark (Unicode general category M), from unicode-properties' tables.
    fn is_mark(c: char) -> bool {
        use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
        c.general_category_group() == GeneralCategoryGroup::Mark
    }

    pub fn currency(value: &str) -> Result<(), ValidationError> {
        if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            return fail("currency", "must be three upper-case letters");
        }
        Ok(())
    }
}
