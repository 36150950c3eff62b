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
        Self { path: path.into(), reason: reason.into() }
    }

    /// `path: reason; path: reason`, the form used in DLQ headers and logs.
    pub fn join(errors: &[FieldError]) -> String {
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
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
    errors.sort_by(|a, b| path_key(&a.path).cmp(&path_key(&b.path)));
    errors.dedup();
    Err(errors)
}

fn cross_field(order: &Order, now: DateTime<Utc>, errors: &mut Vec<FieldError>) {
    let payment = &order.payment;
    if payment.transaction != order.order_uid {
        errors.push(FieldError::new("payment.transaction", "must equal order_uid"));
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
    let items_total: i128 = order.items.iter().map(|item| i128::from(item.total_price)).sum();
    if items_total != i128::from(payment.goods_total) {
        errors.push(FieldError::new(
            "payment.goods_total",
            format!("must equal the sum of items[].total_price ({items_total})"),
        ));
    }
    let expected_amount = i128::from(payment.goods_total)
        + i128::from(payment.delivery_cost)
        + i128::from(payment.custom_fee);
    if expected_amount != i128::from(payment.amount) {
        errors.push(FieldError::new(
            "payment.amount",
            format!("must equal goods_total + delivery_cost + custom_fee ({expected_amount})"),
        ));
    }
    if order.date_created > now + MAX_FUTURE_SKEW {
        errors.push(FieldError::new("date_created", "must not be more than 24 hours in the future"));
    }
}

/// Turns validator's nested error tree into flat `a.b[3].c` paths.
fn flatten(found: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in found.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
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
            Some((name, rest)) => {
                (name.to_owned(), rest.trim_end_matches(']').parse().unwrap_or(usize::MAX))
            }
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
        let ok = (1..=64).contains(&value.len())
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
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

    pub fn person_name(value: &str) -> Result<(), ValidationError> {
        non_blank(value)?;
        let allowed = |c: char| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.');
        if !value.chars().all(allowed) {
            return fail("name", "may contain only letters, spaces, - ' and .");
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
