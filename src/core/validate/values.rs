//! Cell values: how a raw cell becomes a typed [`FieldValue`] for its column's [`ValueKind`],
//! and the value checks behind each kind (SSN digits, email and phone syntax, amounts with at
//! most two decimals, insurance statuses). A value that is not what the column expects is
//! reported with its [`IssueCode`] and a message saying what was expected.

use std::borrow::Cow;

use crate::core::date::Date;
use crate::core::privacy::Ssn;
use crate::core::sheet::RawCell;
use crate::core::template::ValueKind;

use super::{FieldValue, IssueCode, SharedTexts, Validator};

/// An amount in cents as text with two decimals: `1250` → `12.50`.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// Parses an amount with at most two decimal places into cents: `12`, `12.5`, `12.50`.
/// Refuses a decimal comma, thousands separators, signs, currency symbols and a third decimal.
pub fn parse_amount_cents(text: &str) -> Option<i64> {
    let t = text.trim();
    let (whole, frac) = match t.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (t, None),
    };
    if whole.is_empty() || whole.len() > 13 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_cents = match frac {
        None => 0,
        Some(f) if (1..=2).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()) => {
            let n: i64 = f.parse().ok()?;
            if f.len() == 1 {
                n * 10
            } else {
                n
            }
        }
        Some(_) => return None,
    };
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac_cents)
}

/// An insurance status cell: `Yes`/`Enrolled` → `Enrolled`, `No`/`Not Enrolled` →
/// `Not Enrolled` (case-insensitive, surrounding space ignored); anything else is refused.
pub fn parse_insurance_status(text: &str) -> Option<&'static str> {
    match text.trim().to_lowercase().as_str() {
        "yes" | "enrolled" => Some("Enrolled"),
        "no" | "not enrolled" => Some("Not Enrolled"),
        _ => None,
    }
}

/// Checks an SSN's digits: area not 000, 666 or 900–999; group not 00; serial not 0000. The
/// text names the rule, never the SSN's digits (`"area 666 is never issued"`).
pub fn ssn_problem(digits: &str) -> Option<&'static str> {
    Ssn::parse(digits).and_then(|s| s.problem()).map(|p| p.text())
}

/// True for an SSN as the app masks it: `XXX-XX-` and four digits (or `XXXX`), any case.
pub fn is_masked_ssn(text: &str) -> bool {
    let t = text.trim().to_ascii_uppercase();
    t.strip_prefix("XXX-XX-")
        .is_some_and(|tail| tail == "XXXX" || (tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_digit())))
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn email_is_valid(text: &str) -> bool {
    let t = text.trim();
    let Some((local, domain)) = t.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && !t.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// A plausible phone number: 7–15 digits; only digits, spaces and `+ ( ) - .`; `+` only
/// first; an optional extension `x123` / `ext 123`.
pub fn phone_is_valid(text: &str) -> bool {
    let t = text.trim();
    let lower = t.to_lowercase();
    let main = lower.split(" ext").next().unwrap_or("").split('x').next().unwrap_or("").trim();
    let digits = main.chars().filter(char::is_ascii_digit).count();
    let chars_ok = main.chars().all(|ch| ch.is_ascii_digit() || " ()-.+".contains(ch));
    let plus_ok = main.chars().skip(1).all(|ch| ch != '+');
    chars_ok && plus_ok && (7..=15).contains(&digits)
}

/// Excel's limit on the characters of one cell: a longer value could never be exported.
pub const MAX_CELL_CHARS: usize = 32_767;

impl Validator<'_> {
    /// Types one cell; `Some((code, message))` when it is not what the column expects. Text
    /// values share the cell's text where typing leaves it as it is (see [`SharedTexts`]).
    pub(super) fn typed(
        &self,
        kind: ValueKind,
        cell: &RawCell,
        texts: &mut SharedTexts,
    ) -> (FieldValue, Option<(IssueCode, String)>) {
        if cell.is_empty() {
            return (FieldValue::Empty, None);
        }
        // Checked before anything is made of the text: a huge shared string is refused, not
        // duplicated.
        if let Some(problem) = too_long(cell) {
            return (FieldValue::Empty, Some(problem));
        }
        let text = cell_text_plain(cell);
        let trimmed = text.trim();
        let mut shared = |t: &str| FieldValue::Text(texts.value(cell, t));
        match kind {
            ValueKind::Text | ValueKind::Identifier => match cell {
                RawCell::DateSerial(_) if kind == ValueKind::Identifier => (
                    shared(trimmed),
                    Some((
                        IssueCode::IdentifierAsDate,
                        "Excel turned this identifier into a date".to_string(),
                    )),
                ),
                RawCell::Error(e) => (
                    FieldValue::Empty,
                    Some((IssueCode::CellError, format!("the cell holds the Excel error {e}"))),
                ),
                _ => (shared(trimmed), None),
            },
            // The row keeps the SSN in its canonical form as its value (data for matching and
            // creating entries); the issue says what is wrong without the digits.
            // A masked SSN (an error report written without full SSNs, fixed and uploaded
            // again) is no SSN: not read, and the CRM keeps its own.
            ValueKind::Ssn if is_masked_ssn(trimmed) => (
                FieldValue::Empty,
                Some((
                    IssueCode::SsnMasked,
                    "masked, so not read from this file; the CRM keeps its own SSN".to_string(),
                )),
            ),
            ValueKind::Ssn => match Ssn::parse(trimmed) {
                None => (shared(trimmed), Some((IssueCode::SsnFormat, "not nine digits".to_string()))),
                Some(ssn) => (
                    shared(ssn.expose_full()),
                    ssn.problem().map(|p| (IssueCode::SsnInvalid, p.text().to_string())),
                ),
            },
            ValueKind::Email => {
                let problem = (!email_is_valid(trimmed))
                    .then(|| (IssueCode::EmailSyntax, "not an email address".to_string()));
                (shared(trimmed), problem)
            }
            ValueKind::Phone => {
                let problem = (!phone_is_valid(trimmed))
                    .then(|| (IssueCode::PhoneSyntax, "not a phone number".to_string()));
                (shared(trimmed), problem)
            }
            ValueKind::Date => {
                let parsed = match cell {
                    RawCell::DateSerial(s) | RawCell::Number(s) => Date::from_excel_serial(*s),
                    _ => Date::parse_with_order(trimmed, self.options.day_month_order),
                };
                match parsed {
                    Some(d) => (FieldValue::Date(d), None),
                    None => (FieldValue::Empty, Some((IssueCode::Date, "not a date".to_string()))),
                }
            }
            ValueKind::YesNo => match (cell, trimmed.to_ascii_lowercase().as_str()) {
                (RawCell::Bool(b), _) => (FieldValue::Bool(*b), None),
                (_, "yes" | "y" | "true") => (FieldValue::Bool(true), None),
                (_, "no" | "n" | "false") => (FieldValue::Bool(false), None),
                _ => (FieldValue::Empty, Some((IssueCode::YesNo, "not Yes or No".to_string()))),
            },
            ValueKind::InsuranceStatus => match (cell, parse_insurance_status(trimmed)) {
                (RawCell::Text(_), Some(v)) => (FieldValue::Text(texts.fixed(cell, v)), None),
                _ => (
                    shared(trimmed),
                    Some((IssueCode::InsuranceStatus, "not an insurance status".to_string())),
                ),
            },
            ValueKind::Amount => {
                let cents = match cell {
                    RawCell::Number(n) => {
                        let scaled = n * 100.0;
                        (n.is_finite()
                            && *n >= 0.0
                            && (scaled - scaled.round()).abs() < 1e-6
                            && scaled < 9e15)
                            .then(|| scaled.round() as i64)
                    }
                    RawCell::Text(_) => parse_amount_cents(trimmed),
                    _ => None,
                };
                match cents {
                    Some(c) => (FieldValue::Cents(c), None),
                    None => (
                        FieldValue::Empty,
                        Some((IssueCode::Amount, "not an amount with at most two decimals".to_string())),
                    ),
                }
            }
            ValueKind::OneOf(values) => match values.iter().find(|v| v.eq_ignore_ascii_case(trimmed)) {
                Some(v) => (FieldValue::Text(texts.fixed(cell, v)), None),
                None => (shared(trimmed), Some((IssueCode::NotAllowed, "not an allowed value".to_string()))),
            },
        }
    }
}

/// The issue of a text cell over Excel's cell limit (its characters counted only when its
/// bytes could exceed it).
fn too_long(cell: &RawCell) -> Option<(IssueCode, String)> {
    let RawCell::Text(t) = cell else { return None };
    if t.len() <= MAX_CELL_CHARS {
        return None;
    }
    let chars = t.chars().count();
    (chars > MAX_CELL_CHARS).then(|| {
        (
            IssueCode::CellTooLong,
            format!("holds {chars} characters; a cell holds at most 32,767 (Excel's limit)"),
        )
    })
}

/// A cell's text as typing reads it: text as written, a number (or a date serial) as a
/// number without float noise, a flag as TRUE or FALSE.
fn cell_text_plain(cell: &RawCell) -> Cow<'_, str> {
    match cell {
        RawCell::Text(t) => Cow::Borrowed(t),
        other => Cow::Owned(other.as_text()),
    }
}
