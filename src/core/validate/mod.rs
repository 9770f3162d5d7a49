//! Validation: `Sheet` rows (raw cells) become [`ValidatedRow`]s (typed values) plus a flat
//! list of [`Issue`]s, each naming its row, column, Excel cell, code, severity and what was
//! expected. Validation never fails as a whole; errors block their own row, warnings do not.
//! Work is per row ([`Validator::row`]) so a caller can validate in chunks and show progress;
//! [`Validator::finish`] runs the checks that span rows. Cell values are typed in `values`,
//! the row and file rules a template declares live in `rules`, and every issue carries an
//! [`IssueCode`].
//!
//! Validated text is shared, not copied: a value that is the cell's text (trimmed, it is the
//! same) holds the sheet's own `Arc<str>`, so a workbook whose million rows use one shared
//! string holds that string once after validation as before it. What a validation makes of its
//! own — values, trimmed or canonical text, issues — is bounded ([`budget`]): a file that would
//! need more is refused with a message before it starts, or as soon as it reaches the bound.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub mod budget;
mod codes;
mod rules;
mod values;

pub use budget::{ValidationRefused, ValidationRun, MAX_VALIDATION_BYTES};
pub use codes::IssueCode;
pub use values::{
    cents_text, email_is_valid, parse_amount_cents, parse_insurance_status, phone_is_valid, ssn_problem,
    MAX_CELL_CHARS,
};

use crate::core::date::{Date, DayMonthOrder};
use crate::core::headers::HeaderMapping;
use crate::core::index::CrmIndex;
use crate::core::privacy::shown::excerpt;
use crate::core::privacy::ssn::describe_cell;
use crate::core::sheet::{RawCell, SheetRow};
use crate::core::template::{expected_text, Field, Requirement, Template, ValueKind};
use crate::core::text::cell_name;

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
    /// Text: the cell's own shared text when typing did not change it.
    Text(Arc<str>),
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
            FieldValue::Text(t) => t.to_string(),
            FieldValue::Date(d) => d.to_string(),
            FieldValue::Bool(b) => if *b { "Yes" } else { "No" }.to_string(),
            FieldValue::Cents(c) => cents_text(*c),
        }
    }
}

/// One row after validation: typed values in template column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatedRow {
    pub sheet_row: usize,
    pub values: Vec<FieldValue>,
    /// The cells whose text as the file showed it is not their value's text (a space trimmed,
    /// a date or a flag written another way, a refused value), by template column, sharing the
    /// sheet's cell; every other cell reads as its value ([`ValidatedRow::raw`]). Usually
    /// empty.
    pub raw_differs: Vec<(usize, RawCell)>,
    pub errors: usize,
    pub warnings: usize,
}

/// A cell's text as a person reads it in the file: a date cell as its date, a whole number
/// without a decimal point, text as written.
pub fn cell_text(cell: &RawCell) -> Cow<'_, str> {
    match cell {
        RawCell::Text(t) => Cow::Borrowed(t),
        RawCell::Empty => Cow::Borrowed(""),
        RawCell::DateSerial(s) => {
            Cow::Owned(Date::from_excel_serial(*s).map(|d| d.to_string()).unwrap_or_else(|| cell.as_text()))
        }
        other => Cow::Owned(other.as_text()),
    }
}

impl ValidatedRow {
    /// Template column `col`'s cell as the file showed it (for reports and the review table).
    pub fn raw(&self, col: usize) -> Cow<'_, str> {
        if let Some((_, cell)) = self.raw_differs.iter().find(|(c, _)| *c == col) {
            return cell_text(cell);
        }
        match self.values.get(col) {
            Some(FieldValue::Text(t)) => Cow::Borrowed(t),
            Some(value) => Cow::Owned(value.display()),
            None => Cow::Borrowed(""),
        }
    }
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
    /// The row's values addressed by [`Field`] through its template's columns.
    pub fn fields<'a>(&'a self, template: &'a Template) -> RowFields<'a> {
        RowFields { template, row: self }
    }
}

/// A validated row read by [`Field`]: a field the template has no column for reads as empty.
#[derive(Debug, Clone, Copy)]
pub struct RowFields<'a> {
    pub template: &'a Template,
    pub row: &'a ValidatedRow,
}

impl<'a> RowFields<'a> {
    /// The typed value of a field (`Empty` when the template has no column for it).
    pub fn value(&self, field: Field) -> &'a FieldValue {
        static EMPTY: FieldValue = FieldValue::Empty;
        self.template.col(field).and_then(|c| self.row.values.get(c)).unwrap_or(&EMPTY)
    }
    pub fn text(&self, field: Field) -> &'a str {
        self.value(field).text()
    }
    pub fn date(&self, field: Field) -> Option<Date> {
        match self.value(field) {
            FieldValue::Date(d) => Some(*d),
            _ => None,
        }
    }
    pub fn bool(&self, field: Field) -> Option<bool> {
        match self.value(field) {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn cents(&self, field: Field) -> Option<i64> {
        match self.value(field) {
            FieldValue::Cents(c) => Some(*c),
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
#[derive(Debug, Clone, Copy)]
pub struct Validator<'a> {
    pub template: &'a Template,
    pub mapping: &'a HeaderMapping,
    pub index: &'a CrmIndex<'a>,
    pub options: ValidationOptions,
}

impl<'a> Validator<'a> {
    pub fn new(
        template: &'a Template,
        mapping: &'a HeaderMapping,
        index: &'a CrmIndex<'a>,
        options: ValidationOptions,
    ) -> Self {
        Validator { template, mapping, index, options }
    }

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
        self.row_sharing(row, &mut SharedTexts::default())
    }

    /// [`Validator::row`] with the trimmed copies of shared strings made once per string.
    pub(super) fn row_sharing(&self, row: &SheetRow, texts: &mut SharedTexts) -> (ValidatedRow, Vec<Issue>) {
        static EMPTY: RawCell = RawCell::Empty;
        let mut issues = Vec::new();
        let n = self.template.columns.len();
        let mut values = Vec::with_capacity(n);
        let mut raw_differs = Vec::new();
        // Empty cells of columns needed to create: judged once the row's keys are known.
        let mut needed = Vec::new();
        for (t, spec) in self.template.columns.iter().enumerate() {
            let cell = match self.mapping.columns.get(t).copied().flatten() {
                Some(f) => row.cell(f),
                None => &EMPTY,
            };
            let (value, problem) = self.typed(spec.kind, cell, texts);
            if let Some((code, message)) = problem {
                // Never the cell itself for an SSN: what it holds, masked. Any other value is
                // quoted up to 80 characters, SSN-shaped text in it masked.
                let found = cell_text(cell);
                let found = match spec.kind {
                    ValueKind::Ssn => describe_cell(&found),
                    _ => format!("\"{}\"", excerpt(found.trim())),
                };
                let (severity, text) = match code {
                    IssueCode::SsnMasked => (Severity::Warning, format!("{}: {message}", spec.header)),
                    _ => (
                        Severity::Error,
                        format!(
                            "{}: {message} — expected {}, found {found}",
                            spec.header,
                            expected_text(spec.kind)
                        ),
                    ),
                };
                issues.push(self.issue(row.sheet_row, Some(t), code, severity, text));
            }
            if value.is_empty() && cell.is_empty() {
                match spec.requirement {
                    Requirement::Required => issues.push(self.issue(
                        row.sheet_row,
                        Some(t),
                        IssueCode::Required,
                        Severity::Error,
                        format!("{} is required — expected {}", spec.header, expected_text(spec.kind)),
                    )),
                    Requirement::NeededToCreate => needed.push(t),
                    Requirement::Optional => {}
                }
            }
            if !shows_as(&value, cell) {
                raw_differs.push((t, cell.clone()));
            }
            values.push(value);
        }
        let mut validated =
            ValidatedRow { sheet_row: row.sheet_row, values, raw_differs, errors: 0, warnings: 0 };
        for t in needed {
            issues.push(self.needed_to_create(&validated, t));
        }
        for rule in self.template.row_rules {
            self.row_rule(*rule, &validated, &mut issues);
        }
        validated.errors = issues.iter().filter(|i| i.severity == Severity::Error).count();
        validated.warnings = issues.len() - validated.errors;
        (validated, issues)
    }

    /// The issue of an empty cell of a [`Requirement::NeededToCreate`] column: a warning when
    /// the row gives a key of a tier that does not key on the column's field (the row is
    /// matched without it and the CRM keeps its value), an error otherwise (nothing else can
    /// find or create the record).
    fn needed_to_create(&self, row: &ValidatedRow, t: usize) -> Issue {
        let spec = &self.template.columns[t];
        let keys: Vec<Field> = self
            .template
            .cascade
            .iter()
            .filter(|tier| !tier.keys().contains(&spec.field))
            .flat_map(|tier| tier.keys().iter().copied())
            .filter(|k| self.template.col(*k).is_some())
            .collect();
        let f = row.fields(self.template);
        if keys.iter().any(|k| !f.value(*k).is_empty()) {
            return self.issue(
                row.sheet_row,
                Some(t),
                IssueCode::EmptyKept,
                Severity::Warning,
                format!("{} is empty — the CRM's value is kept", spec.header),
            );
        }
        let mut names: Vec<&str> =
            keys.iter().filter_map(|k| self.template.spec(*k)).map(|c| c.header).collect();
        names.dedup();
        let alternatives = match names.as_slice() {
            [] => String::new(),
            [one] => format!(" without {one}"),
            [init @ .., last] => format!(" without {} or {last}", init.join(", ")),
        };
        self.issue(
            row.sheet_row,
            Some(t),
            IssueCode::NeededToIdentify,
            Severity::Error,
            format!(
                "{} is empty — a row{alternatives} needs it to find or create the CRM entry; expected {}",
                spec.header,
                expected_text(spec.kind)
            ),
        )
    }

    /// Validates a whole sheet at once, without the bound of a [`ValidationRun`] (for files a
    /// caller made itself; an uploaded file goes through a run, in slices).
    pub fn all(&self, rows: &[SheetRow]) -> Validated {
        let mut texts = SharedTexts::default();
        let mut out_rows = Vec::with_capacity(rows.len());
        let mut issues = Vec::new();
        for r in rows {
            let (v, mut i) = self.row_sharing(r, &mut texts);
            out_rows.push(v);
            issues.append(&mut i);
        }
        self.finish(&mut out_rows, &mut issues);
        self.validated(out_rows, issues)
    }

    /// The rows and issues of a file, with which template columns the file has.
    pub fn validated(&self, rows: Vec<ValidatedRow>, issues: Vec<Issue>) -> Validated {
        let present = self.mapping.columns.iter().map(Option::is_some).collect();
        Validated { rows, issues, present, file_columns: self.mapping.columns.clone() }
    }
}

/// Whether a cell reads, as the file shows it, exactly as its typed value does (then the row
/// need not keep the cell: [`ValidatedRow::raw`] gives the value's text).
fn shows_as(value: &FieldValue, cell: &RawCell) -> bool {
    match (value, cell) {
        (FieldValue::Empty, RawCell::Empty) => true,
        (FieldValue::Text(v), RawCell::Text(c)) => Arc::ptr_eq(v, c) || **v == **c,
        (FieldValue::Empty, _) | (FieldValue::Text(_), _) => false,
        (value, cell) => value.display() == cell_text(cell),
    }
}

/// The trimmed copies of the sheet's shared strings that typing made, one per string: a
/// string a million cells share is trimmed once, not a million times. Holds the original too,
/// so that its address (the key) cannot be reused while the copy is kept.
#[derive(Debug, Default)]
pub(crate) struct SharedTexts {
    trimmed: HashMap<usize, (Arc<str>, Arc<str>)>,
    /// The one copy of each of a template's fixed values ("Address", "Enrolled").
    fixed: HashMap<&'static str, Arc<str>>,
    /// Bytes of text typing made (trimmed or canonical copies), with their allocation.
    pub(crate) made: usize,
}

/// What one allocated text costs besides its characters (the `Arc`'s counts and the
/// allocator's rounding).
pub(crate) const TEXT_OVERHEAD: usize = 32;

impl SharedTexts {
    /// `text` (the cell's text, typed: trimmed or canonical) as a shared value: the cell's own
    /// `Arc` when it is the same text, the one copy of a shared string's trimmed text, or a
    /// new text.
    pub(crate) fn value(&mut self, cell: &RawCell, text: &str) -> Arc<str> {
        match cell {
            RawCell::Text(t) if **t == *text => t.clone(),
            RawCell::Text(t) if Arc::strong_count(t) > 1 && t.trim() == text => {
                let key = Arc::as_ptr(t) as *const u8 as usize;
                if let Some((_, copy)) = self.trimmed.get(&key) {
                    return copy.clone();
                }
                let copy: Arc<str> = Arc::from(text);
                self.made += text.len() + TEXT_OVERHEAD;
                self.trimmed.insert(key, (t.clone(), copy.clone()));
                copy
            }
            _ => {
                self.made += text.len() + TEXT_OVERHEAD;
                Arc::from(text)
            }
        }
    }

    /// One of a template's fixed values: the cell's own text when it is written that way, else
    /// the one shared copy of the value.
    pub(crate) fn fixed(&mut self, cell: &RawCell, value: &'static str) -> Arc<str> {
        match cell {
            RawCell::Text(t) if **t == *value => t.clone(),
            _ => self.fixed.entry(value).or_insert_with(|| Arc::from(value)).clone(),
        }
    }
}

/// All rows and issues of a file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Validated {
    pub rows: Vec<ValidatedRow>,
    pub issues: Vec<Issue>,
    /// For each template column, whether the file has it (empty: every column). A column the
    /// file lacks reads as empty cells; a planner that overwrites fields leaves its field alone.
    #[serde(default)]
    pub present: Vec<bool>,
    /// For each template column, its position in the file (`None`: the file lacks it), so
    /// the stages after validation can name a cell the way validation does.
    #[serde(default)]
    pub file_columns: Vec<Option<usize>>,
}

impl Validated {
    /// The Excel cell name (`B12`) of template column `col` on a sheet row, when the file has
    /// the column.
    pub fn cell_name(&self, col: usize, sheet_row: usize) -> Option<String> {
        self.file_columns.get(col).copied().flatten().map(|f| cell_name(f, sheet_row))
    }

    /// Whether the file has template column `col`.
    pub fn has_column(&self, col: usize) -> bool {
        self.present.get(col).copied().unwrap_or(true)
    }
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
