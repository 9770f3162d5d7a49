//! Validation: `Sheet` rows (raw cells) become [`ValidatedRow`]s (typed values) plus a flat
//! list of [`Issue`]s, each naming its row, column, Excel cell, code, severity and what was
//! expected. Validation never fails as a whole; errors block their own row, warnings do not.
//! Work is per row ([`Validator::row`]) so a caller can validate in chunks and show progress;
//! [`Validator::finish`] runs the checks that span rows.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

mod codes;
pub use codes::IssueCode;

use crate::core::date::{Date, DayMonthOrder};
use crate::core::headers::HeaderMapping;
use crate::core::index::CrmIndex;
use crate::core::model::DetailKind;
use crate::core::sheet::{RawCell, SheetRow};
use crate::core::template::{expected_text, insured_columns as c, RowRule, Template, ValueKind};
use crate::core::text::{cell_name, ssn_canonical, ssn_digits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// 1-based sheet row (0 for the file as a whole).
    pub row: usize,
    /// Template column header, when the issue is about one column.
    pub column: Option<String>,
    /// Excel-style cell name (`B12`) in the uploaded file, when known.
    pub cell: Option<String>,
    pub code: IssueCode,
    pub severity: Severity,
    pub message: String,
}

/// A typed cell value.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum FieldValue {
    #[default]
    Empty,
    Text(String),
    Date(Date),
    Bool(bool),
    /// An amount in cents (`ValueKind::Amount`).
    Cents(i64),
}

impl FieldValue {
    pub fn text(&self) -> &str {
        match self {
            FieldValue::Text(t) => t,
            _ => "",
        }
    }
    pub fn is_empty(&self) -> bool {
        matches!(self, FieldValue::Empty)
    }
    pub fn display(&self) -> String {
        match self {
            FieldValue::Empty => String::new(),
            FieldValue::Text(t) => t.clone(),
            FieldValue::Date(d) => d.to_string(),
            FieldValue::Bool(b) => if *b { "Yes" } else { "No" }.to_string(),
            FieldValue::Cents(c) => cents_text(*c),
        }
    }
}

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

/// One row after validation: typed values in template column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatedRow {
    pub sheet_row: usize,
    pub values: Vec<FieldValue>,
    /// The cells as the file showed them, in template column order (for reports).
    pub raw: Vec<String>,
    pub errors: usize,
    pub warnings: usize,
}

impl ValidatedRow {
    pub fn blocked(&self) -> bool {
        self.errors > 0
    }
    pub fn text(&self, col: usize) -> &str {
        self.values.get(col).map(FieldValue::text).unwrap_or("")
    }
    pub fn date(&self, col: usize) -> Option<Date> {
        match self.values.get(col) {
            Some(FieldValue::Date(d)) => Some(*d),
            _ => None,
        }
    }
    pub fn bool(&self, col: usize) -> Option<bool> {
        match self.values.get(col) {
            Some(FieldValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    pub fn cents(&self, col: usize) -> Option<i64> {
        match self.values.get(col) {
            Some(FieldValue::Cents(c)) => Some(*c),
            _ => None,
        }
    }
}

/// Options the operator sets for reading values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationOptions {
    pub day_month_order: DayMonthOrder,
}

/// Validates rows of one file against one template.
pub struct Validator<'a> {
    pub template: &'a Template,
    pub mapping: &'a HeaderMapping,
    pub index: &'a CrmIndex<'a>,
    pub options: ValidationOptions,
}

/// Checks an SSN's digits: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub fn ssn_problem(digits: &str) -> Option<&'static str> {
    let area = &digits[0..3];
    if area == "000" || area == "666" || area.starts_with('9') {
        return Some("its area (first three digits) cannot be 000, 666 or 900–999");
    }
    if &digits[3..5] == "00" {
        return Some("its group (middle two digits) cannot be 00");
    }
    if &digits[5..9] == "0000" {
        return Some("its serial (last four digits) cannot be 0000");
    }
    None
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

impl<'a> Validator<'a> {
    fn cell_of(&self, template_col: usize, sheet_row: usize) -> Option<String> {
        self.mapping.columns.get(template_col).copied().flatten().map(|f| cell_name(f, sheet_row))
    }

    fn issue(
        &self,
        row: usize,
        col: Option<usize>,
        code: IssueCode,
        severity: Severity,
        message: String,
    ) -> Issue {
        Issue {
            row,
            column: col.map(|c| self.template.columns[c].header.to_string()),
            cell: col.and_then(|c| self.cell_of(c, row)),
            code,
            severity,
            message,
        }
    }

    /// Validates one row: every cell by its column's kind, then the row rules.
    pub fn row(&self, row: &SheetRow) -> (ValidatedRow, Vec<Issue>) {
        let mut issues = Vec::new();
        let n = self.template.columns.len();
        let mut values = Vec::with_capacity(n);
        let mut raw = Vec::with_capacity(n);
        for (t, spec) in self.template.columns.iter().enumerate() {
            let cell = match self.mapping.columns.get(t).copied().flatten() {
                Some(f) => row.cell(f).clone(),
                None => RawCell::Empty,
            };
            raw.push(match &cell {
                RawCell::DateSerial(s) => {
                    Date::from_excel_serial(*s).map(|d| d.to_string()).unwrap_or_else(|| cell.as_text())
                }
                other => other.as_text(),
            });
            let (value, problem) = self.typed(spec.kind, &cell);
            if let Some((code, message)) = problem {
                let found = cell.as_text();
                issues.push(self.issue(
                    row.sheet_row,
                    Some(t),
                    code,
                    Severity::Error,
                    format!(
                        "{}: {message} — expected {}, found \"{}\"",
                        spec.header,
                        expected_text(spec.kind),
                        found.trim()
                    ),
                ));
            }
            if spec.required && value.is_empty() && cell.is_empty() {
                issues.push(self.issue(
                    row.sheet_row,
                    Some(t),
                    IssueCode::Required,
                    Severity::Error,
                    format!("{} is required — expected {}", spec.header, expected_text(spec.kind)),
                ));
            }
            values.push(value);
        }
        let mut validated = ValidatedRow { sheet_row: row.sheet_row, values, raw, errors: 0, warnings: 0 };
        for rule in self.template.row_rules {
            self.row_rule(*rule, &validated, &mut issues);
        }
        validated.errors = issues.iter().filter(|i| i.severity == Severity::Error).count();
        validated.warnings = issues.len() - validated.errors;
        (validated, issues)
    }

    /// Types one cell; `Some((code, message))` when it is not what the column expects.
    fn typed(&self, kind: ValueKind, cell: &RawCell) -> (FieldValue, Option<(IssueCode, String)>) {
        if cell.is_empty() {
            return (FieldValue::Empty, None);
        }
        let text = cell.as_text();
        let trimmed = text.trim();
        match kind {
            ValueKind::Text | ValueKind::Identifier => match cell {
                RawCell::DateSerial(_) if kind == ValueKind::Identifier => (
                    FieldValue::Text(trimmed.to_string()),
                    Some((
                        IssueCode::IdentifierAsDate,
                        "Excel turned this identifier into a date".to_string(),
                    )),
                ),
                RawCell::Error(e) => (
                    FieldValue::Empty,
                    Some((IssueCode::CellError, format!("the cell holds the Excel error {e}"))),
                ),
                _ => (FieldValue::Text(trimmed.to_string()), None),
            },
            ValueKind::Ssn => match ssn_digits(trimmed) {
                None => (
                    FieldValue::Text(trimmed.to_string()),
                    Some((IssueCode::SsnFormat, "not nine digits".to_string())),
                ),
                Some(d) => match ssn_problem(&d) {
                    Some(p) => (
                        FieldValue::Text(ssn_canonical(&d)),
                        Some((IssueCode::SsnInvalid, format!("not a valid SSN: {p}"))),
                    ),
                    None => (FieldValue::Text(ssn_canonical(&d)), None),
                },
            },
            ValueKind::Email => {
                if email_is_valid(trimmed) {
                    (FieldValue::Text(trimmed.to_string()), None)
                } else {
                    (
                        FieldValue::Text(trimmed.to_string()),
                        Some((IssueCode::EmailSyntax, "not an email address".to_string())),
                    )
                }
            }
            ValueKind::Phone => {
                if phone_is_valid(trimmed) {
                    (FieldValue::Text(trimmed.to_string()), None)
                } else {
                    (
                        FieldValue::Text(trimmed.to_string()),
                        Some((IssueCode::PhoneSyntax, "not a phone number".to_string())),
                    )
                }
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
                (RawCell::Text(_), Some(v)) => (FieldValue::Text(v.to_string()), None),
                _ => (
                    FieldValue::Text(trimmed.to_string()),
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
                Some(v) => (FieldValue::Text(v.to_string()), None),
                None => (
                    FieldValue::Text(trimmed.to_string()),
                    Some((IssueCode::NotAllowed, "not an allowed value".to_string())),
                ),
            },
        }
    }

    fn row_rule(&self, rule: RowRule, row: &ValidatedRow, issues: &mut Vec<Issue>) {
        let r = row.sheet_row;
        match rule {
            RowRule::DetailValuesMatchType => {
                let kind = DetailKind::parse(row.text(c::DETAIL_TYPE));
                let has_address =
                    [c::ADDRESS_LINE1, c::ADDRESS_LINE2, c::CITY, c::REGION, c::POSTCODE, c::COUNTRY]
                        .iter()
                        .any(|&k| !row.text(k).is_empty());
                let has_phone = !row.text(c::PHONE).is_empty();
                let has_email = !row.text(c::EMAIL).is_empty();
                let type_cell_bad = issues.iter().any(|i| i.column.as_deref() == Some("Detail Type"));
                match kind {
                    None if row.text(c::DETAIL_TYPE).is_empty() => {
                        if has_address || has_phone || has_email || !row.text(c::PUBLIC_ID).is_empty() {
                            issues.push(self.issue(
                                r,
                                Some(c::DETAIL_TYPE),
                                IssueCode::DetailTypeMissing,
                                Severity::Error,
                                "Detail Type is empty but the row has detail values — expected Address, Phone or Email".into(),
                            ));
                        }
                    }
                    None => debug_assert!(type_cell_bad),
                    Some(DetailKind::Address) => {
                        if row.text(c::ADDRESS_LINE1).is_empty() {
                            issues.push(
                                self.issue(
                                    r,
                                    Some(c::ADDRESS_LINE1),
                                    IssueCode::AddressMissing,
                                    Severity::Error,
                                    "Address Line 1 is empty — an Address row needs at least its first line"
                                        .into(),
                                ),
                            );
                        }
                        self.ignored_values(
                            r,
                            "Address",
                            &[(c::PHONE, has_phone), (c::EMAIL, has_email)],
                            issues,
                        );
                    }
                    Some(DetailKind::Phone) => {
                        if !has_phone {
                            issues.push(self.issue(
                                r,
                                Some(c::PHONE),
                                IssueCode::PhoneMissing,
                                Severity::Error,
                                "Phone is empty — a Phone row needs a number".into(),
                            ));
                        }
                        self.ignored_values(
                            r,
                            "Phone",
                            &[(c::ADDRESS_LINE1, has_address), (c::EMAIL, has_email)],
                            issues,
                        );
                    }
                    Some(DetailKind::Email) => {
                        if !has_email {
                            issues.push(self.issue(
                                r,
                                Some(c::EMAIL),
                                IssueCode::EmailMissing,
                                Severity::Error,
                                "Email is empty — an Email row needs an address".into(),
                            ));
                        }
                        self.ignored_values(
                            r,
                            "Email",
                            &[(c::ADDRESS_LINE1, has_address), (c::PHONE, has_phone)],
                            issues,
                        );
                    }
                }
            }
            RowRule::PublicIdUniqueInFile => {}
            RowRule::CaseAndInsuredExist => {
                let case_ref = row.text(c::CASE_REFERENCE);
                let insured_ref = row.text(c::INSURED_REFERENCE);
                if case_ref.is_empty() {
                    if !insured_ref.is_empty() {
                        issues.push(self.issue(
                            r,
                            Some(c::CASE_REFERENCE),
                            IssueCode::CaseMissing,
                            Severity::Error,
                            format!("Insured Reference {insured_ref} is given without a Case Reference — expected the case it is on"),
                        ));
                    }
                    return;
                }
                match self.index.case_id(case_ref) {
                    None => issues.push(self.issue(
                        r,
                        Some(c::CASE_REFERENCE),
                        IssueCode::CaseUnknown,
                        Severity::Error,
                        format!(
                            "Case Reference {case_ref} does not exist in the CRM — expected an existing case"
                        ),
                    )),
                    Some(case_id) => {
                        if !insured_ref.is_empty()
                            && self.index.insured_on_case(case_id, insured_ref).is_none()
                        {
                            issues.push(self.issue(
                                r,
                                Some(c::INSURED_REFERENCE),
                                IssueCode::InsuredUnknown,
                                Severity::Error,
                                format!(
                                    "Insured Reference {insured_ref} is not an insured on case {case_ref} — expected an insured of that case"
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }

    fn ignored_values(&self, r: usize, kind: &str, others: &[(usize, bool)], issues: &mut Vec<Issue>) {
        for (col, present) in others {
            if *present {
                let header = self.template.columns[*col].header;
                issues.push(self.issue(
                    r,
                    Some(*col),
                    IssueCode::ValueIgnored,
                    Severity::Warning,
                    format!("{header} is filled on an {kind} row; it is ignored"),
                ));
            }
        }
    }

    /// Checks that span rows (a Public ID repeated in the file). Updates row counts.
    ///
    /// A repeated Public ID is an error, unless the later row says exactly what the first one
    /// says apart from its case and insured: the Insured CRM Export writes the details of an
    /// entry shared by two insureds once per insured, and such a file must re-import cleanly.
    /// That repetition is a warning; both rows agree, so applying them is applying one.
    pub fn finish(&self, rows: &mut [ValidatedRow], issues: &mut Vec<Issue>) {
        if !self.template.row_rules.contains(&RowRule::PublicIdUniqueInFile) {
            return;
        }
        let same_detail = |a: &ValidatedRow, b: &ValidatedRow| {
            (0..self.template.columns.len())
                .filter(|&k| k != c::CASE_REFERENCE && k != c::INSURED_REFERENCE)
                .all(|k| a.values.get(k) == b.values.get(k))
        };
        // Public ID → (sheet row, index) of its first row.
        let mut first_seen: HashMap<String, (usize, usize)> = HashMap::new();
        for i in 0..rows.len() {
            let row = &rows[i];
            let id = row.text(c::PUBLIC_ID).trim().to_uppercase();
            if id.is_empty() {
                continue;
            }
            match first_seen.get(&id).copied() {
                Some((first, k)) if same_detail(&rows[k], row) => {
                    issues.push(self.issue(
                        row.sheet_row,
                        Some(c::PUBLIC_ID),
                        IssueCode::PublicIdRepeatedSame,
                        Severity::Warning,
                        format!(
                            "Public ID {} is also on row {first} of this file with the same values (an entry shared by two insureds); it is applied once",
                            row.text(c::PUBLIC_ID)
                        ),
                    ));
                    rows[i].warnings += 1;
                }
                Some((first, _)) => {
                    let row = &mut rows[i];
                    issues.push(self.issue(
                        row.sheet_row,
                        Some(c::PUBLIC_ID),
                        IssueCode::PublicIdRepeated,
                        Severity::Error,
                        format!(
                            "Public ID {} is already used on row {first} of this file — expected each Public ID once",
                            row.text(c::PUBLIC_ID)
                        ),
                    ));
                    row.errors += 1;
                }
                None => {
                    first_seen.insert(id, (row.sheet_row, i));
                }
            }
        }
    }

    /// Validates a whole sheet at once (the chunked path calls `row` and `finish`).
    pub fn all(&self, rows: &[SheetRow]) -> Validated {
        let mut out_rows = Vec::with_capacity(rows.len());
        let mut issues = Vec::new();
        for r in rows {
            let (v, mut i) = self.row(r);
            out_rows.push(v);
            issues.append(&mut i);
        }
        self.finish(&mut out_rows, &mut issues);
        Validated { rows: out_rows, issues }
    }
}

/// All rows and issues of a file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Validated {
    pub rows: Vec<ValidatedRow>,
    pub issues: Vec<Issue>,
}

impl Validated {
    pub fn error_count(&self) -> usize {
        self.issues.iter().filter(|i| i.severity == Severity::Error).count()
    }
    pub fn warning_count(&self) -> usize {
        self.issues.iter().filter(|i| i.severity == Severity::Warning).count()
    }
    /// Issues grouped by sheet row.
    pub fn issues_by_row(&self) -> HashMap<usize, Vec<&Issue>> {
        let mut m: HashMap<usize, Vec<&Issue>> = HashMap::new();
        for i in &self.issues {
            m.entry(i.row).or_default().push(i);
        }
        m
    }
}
