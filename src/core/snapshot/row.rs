//! One snapshot sheet, row by row: its cells streamed by the bounded workbook reader, the
//! header checked against the layout, values past the last column refused, blank rows
//! skipped, and every other row handed over as a [`Row`] whose typed accessors (text, IDs,
//! dates, amounts, yes/no) refuse a cell with the sheet, the cell and what was expected.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use super::layout::{SheetLayout, MAX_EXACT_CENTS, MAX_EXACT_INTEGER};
use super::{CellRef, SnapshotError};
use crate::core::date::Date;
use crate::core::model::{Insurance, InsuranceStatus};
use crate::core::privacy::ssn::{describe_cell, mask_ssn_like};
use crate::core::privacy::Ssn;
use crate::core::read::{Book, ReadError, RowsError};
use crate::core::sheet::{format_number, RawCell};

/// The row where each identity or unique value was first seen, to refuse a second one.
pub(super) struct FirstRows<K> {
    seen: HashMap<K, CellRef>,
}

impl<K> Default for FirstRows<K> {
    fn default() -> Self {
        FirstRows { seen: HashMap::new() }
    }
}

impl<K: Eq + Hash> FirstRows<K> {
    pub(super) fn claim(
        &mut self,
        row: &Row<'_>,
        col: usize,
        what: &'static str,
        shown: impl FnOnce() -> String,
        key: K,
    ) -> Result<(), SnapshotError> {
        match self.seen.get(&key) {
            Some(first_cell) => Err(SnapshotError::Duplicate {
                file: row.file.to_string(),
                sheet: row.sheet,
                cell: row.cell_ref(col),
                what,
                value: shown(),
                first_cell: *first_cell,
            }),
            None => {
                self.seen.insert(key, row.cell_ref(col));
                Ok(())
            }
        }
    }
}

/// One data row being read, with what its cells' errors need to say where they are.
pub(super) struct Row<'a> {
    pub(super) file: &'a str,
    pub(super) sheet: &'static str,
    /// 1-based row number as Excel shows it.
    pub(super) sheet_row: usize,
    pub(super) cells: &'a [RawCell],
}

impl Row<'_> {
    fn cell(&self, col: usize) -> &RawCell {
        static EMPTY: RawCell = RawCell::Empty;
        self.cells.get(col).unwrap_or(&EMPTY)
    }

    pub(super) fn cell_ref(&self, col: usize) -> CellRef {
        CellRef::new(col, self.sheet_row)
    }

    pub(super) fn bad(&self, col: usize, expected: &str) -> SnapshotError {
        SnapshotError::BadCell {
            file: self.file.to_string(),
            sheet: self.sheet,
            cell: self.cell_ref(col),
            expected: expected.to_string(),
            found: describe(self.cell(col)),
        }
    }

    pub(super) fn missing(
        &self,
        col: usize,
        what: &'static str,
        value: &str,
        target_sheet: &'static str,
    ) -> SnapshotError {
        SnapshotError::MissingReference {
            file: self.file.to_string(),
            sheet: self.sheet,
            cell: self.cell_ref(col),
            what,
            value: value.to_string(),
            target_sheet,
        }
    }

    /// The cell's SSN (nine digits, with or without dashes), `None` for an empty cell. A cell
    /// that is not an SSN is refused without quoting it: the refusal says what it holds
    /// ([`describe_cell`]).
    pub(super) fn ssn(&self, col: usize) -> Result<Option<Ssn>, SnapshotError> {
        let Some(text) = self.opt_text(col)? else { return Ok(None) };
        Ssn::parse(&text).map(Some).ok_or_else(|| SnapshotError::BadCell {
            file: self.file.to_string(),
            sheet: self.sheet,
            cell: self.cell_ref(col),
            expected: "an SSN of nine digits (AAA-GG-SSSS) or nothing".to_string(),
            found: describe_cell(&text),
        })
    }

    /// The cell's text exactly as written (a number typed into a text column reads as its
    /// digits); empty for an empty cell.
    pub(super) fn text(&self, col: usize) -> Result<String, SnapshotError> {
        match self.cell(col) {
            RawCell::Empty => Ok(String::new()),
            RawCell::Text(t) => Ok(String::from(&**t)),
            RawCell::Number(n) => Ok(format_number(*n)),
            _ => Err(self.bad(col, "text")),
        }
    }

    /// The cell's text as [`Row::text`] reads it, borrowed when the cell holds text.
    pub(super) fn str(&self, col: usize) -> Result<Cow<'_, str>, SnapshotError> {
        match self.cell(col) {
            RawCell::Empty => Ok(Cow::Borrowed("")),
            RawCell::Text(t) => Ok(Cow::Borrowed(t)),
            RawCell::Number(n) => Ok(Cow::Owned(format_number(*n))),
            _ => Err(self.bad(col, "text")),
        }
    }

    /// The cell's text as a key for [`FirstRows`]: the cell's own shared string when it holds
    /// text, so that claiming an identity copies nothing.
    pub(super) fn key(&self, col: usize) -> Arc<str> {
        match self.cell(col) {
            RawCell::Text(t) => Arc::clone(t),
            other => Arc::from(other.as_text()),
        }
    }

    pub(super) fn opt_text(&self, col: usize) -> Result<Option<String>, SnapshotError> {
        Ok(Some(self.text(col)?).filter(|t| !t.is_empty()))
    }

    pub(super) fn required_text(&self, col: usize, expected: &str) -> Result<String, SnapshotError> {
        self.opt_text(col)?.filter(|t| !t.trim().is_empty()).ok_or_else(|| self.bad(col, expected))
    }

    pub(super) fn integer(&self, col: usize) -> Result<i64, SnapshotError> {
        whole_number(self.cell(col)).ok_or_else(|| self.bad(col, "a whole number"))
    }

    pub(super) fn id(&self, col: usize) -> Result<u32, SnapshotError> {
        whole_number(self.cell(col))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.bad(col, "a whole-number ID"))
    }

    pub(super) fn opt_id(&self, col: usize) -> Result<Option<u32>, SnapshotError> {
        if self.cell(col).is_empty() {
            return Ok(None);
        }
        self.id(col).map(Some)
    }

    pub(super) fn yes_no(&self, col: usize) -> Result<bool, SnapshotError> {
        match self.cell(col) {
            RawCell::Bool(b) => Ok(*b),
            RawCell::Text(t) if t.trim().eq_ignore_ascii_case("yes") => Ok(true),
            RawCell::Text(t) if t.trim().eq_ignore_ascii_case("no") => Ok(false),
            _ => Err(self.bad(col, "Yes or No")),
        }
    }

    /// A real Excel date, a serial number, or ISO `YYYY-MM-DD` text; `None` when empty.
    pub(super) fn date(&self, col: usize) -> Result<Option<Date>, SnapshotError> {
        let date = match self.cell(col) {
            c if c.is_empty() => return Ok(None),
            RawCell::DateSerial(s) | RawCell::Number(s) => Date::from_excel_serial(*s),
            RawCell::Text(t) => Date::parse_iso(t),
            _ => None,
        };
        date.map(Some).ok_or_else(|| self.bad(col, "a date"))
    }

    /// An amount with at most two decimals, as cents; `None` when empty.
    pub(super) fn amount(&self, col: usize) -> Result<Option<i64>, SnapshotError> {
        let cents = match self.cell(col) {
            c if c.is_empty() => return Ok(None),
            RawCell::Number(n) => {
                let cents = (n * 100.0).round();
                ((n * 100.0 - cents).abs() < 1e-6 && cents.abs() < MAX_EXACT_CENTS as f64)
                    .then_some(cents as i64)
            }
            RawCell::Text(t) => parse_cents(t),
            _ => None,
        };
        cents.map(Some).ok_or_else(|| self.bad(col, "an amount with at most two decimals"))
    }

    pub(super) fn insurance(&self, col: usize) -> Result<Insurance, SnapshotError> {
        let status = match self.str(col)?.trim() {
            "" => None,
            s if s.eq_ignore_ascii_case(InsuranceStatus::Enrolled.label()) => Some(InsuranceStatus::Enrolled),
            s if s.eq_ignore_ascii_case(InsuranceStatus::NotEnrolled.label()) => {
                Some(InsuranceStatus::NotEnrolled)
            }
            _ => return Err(self.bad(col, "Enrolled, Not Enrolled or an empty cell")),
        };
        Ok(Insurance {
            status,
            policy_number: self.opt_text(col + 1)?,
            coverage_amount_cents: self.amount(col + 2)?,
            coverage_type: self.opt_text(col + 3)?,
            start: self.date(col + 4)?,
            end: self.date(col + 5)?,
        })
    }
}

/// `123`, `-4.5`, `1099.00` as cents; at most two decimals, no thousands separators.
pub(crate) fn parse_cents(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<2}").parse().ok()? };
    let cents = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -cents } else { cents })
}

/// A whole number from a numeric cell or from digits written as text.
pub(super) fn whole_number(cell: &RawCell) -> Option<i64> {
    match cell {
        RawCell::Number(n) if n.fract() == 0.0 && n.abs() <= MAX_EXACT_INTEGER as f64 => Some(*n as i64),
        RawCell::Text(t) => {
            let t = t.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        }
        _ => None,
    }
}

/// How a cell is shown in a message: quoted text, or what kind of cell it is.
pub(super) fn describe(cell: &RawCell) -> String {
    match cell {
        c if c.is_empty() => "an empty cell".to_string(),
        RawCell::Error(e) => format!("the error {e}"),
        RawCell::DateSerial(s) => match Date::from_excel_serial(*s) {
            Some(d) => format!("the date {d}"),
            None => format!("the date serial {}", format_number(*s)),
        },
        RawCell::Bool(b) => format!("the logical value {}", if *b { "TRUE" } else { "FALSE" }),
        other => quoted(&other.as_text()),
    }
}

/// Text in quotes for a message, cut after 60 characters, any SSN-shaped run in it masked (a
/// refusal never quotes an SSN, even one in the wrong column).
pub(super) fn quoted(text: &str) -> String {
    const LIMIT: usize = 60;
    let text = mask_ssn_like(text);
    match text.char_indices().nth(LIMIT) {
        Some((at, _)) => format!("\"{}…\"", &text[..at]),
        None => format!("\"{text}\""),
    }
}

/// A cell as the snapshot reads it: a date-formatted number becomes the serial of its day
/// (dates are whole days here; the workbook reader has already moved a 1904 workbook's dates
/// into the 1900 system), and a number no calendar date has stays a number.
fn snapshot_cell(cell: &mut RawCell) {
    if let RawCell::DateSerial(serial) = *cell {
        *cell = match Date::from_excel_serial(serial) {
            Some(date) if serial >= 0.0 => RawCell::DateSerial(date.to_excel_serial()),
            _ => RawCell::Number(serial),
        };
    }
}

/// Streams one sheet's rows: checks the header row against the layout, refuses a value
/// outside the layout's columns or a row out of order, skips blank rows, and hands every
/// other row to `on_row`. Returns the number of data rows handed over.
pub(super) fn read_rows(
    book: &Book<'_>,
    file: &str,
    layout: &'static SheetLayout,
    on_row: &mut dyn FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<usize, SnapshotError> {
    let sheet = book
        .sheet(layout.name)
        .ok_or_else(|| SnapshotError::MissingSheet { file: file.to_string(), sheet: layout.name })?;
    let width = layout.columns.len();
    let mut header_checked = false;
    let mut last_row = 0usize;
    let mut data_rows = 0usize;
    let streamed = book.rows(sheet, |sheet_row, cells| {
        if sheet_row <= last_row {
            return Err(SnapshotError::UnreadableSheet {
                file: file.to_string(),
                sheet: layout.name,
                reason: format!("row {sheet_row} comes after row {last_row}"),
            });
        }
        last_row = sheet_row;
        if let Some(col) = (width..cells.len()).find(|&c| cells[c] != RawCell::Empty) {
            let mut value = cells[col].clone();
            snapshot_cell(&mut value);
            return Err(SnapshotError::BadCell {
                file: file.to_string(),
                sheet: layout.name,
                cell: CellRef::new(col, sheet_row),
                expected: format!("nothing after the last column \"{}\"", layout.columns[width - 1]),
                found: describe(&value),
            });
        }
        cells.iter_mut().for_each(snapshot_cell);
        let row = Row { file, sheet: layout.name, sheet_row, cells: &cells[..cells.len().min(width)] };
        if !header_checked {
            header_checked = true;
            check_header(file, layout, if sheet_row == 1 { row.cells } else { &[] })?;
            if sheet_row == 1 {
                return Ok(());
            }
        }
        handle_data_row(&row, on_row, &mut data_rows)
    });
    match streamed {
        Ok(()) => {}
        Err(RowsError::Row(e)) => return Err(e),
        Err(RowsError::Read(ReadError::MalformedWorkbook { part, detail, .. })) => {
            return Err(SnapshotError::UnreadableSheet {
                file: file.to_string(),
                sheet: layout.name,
                reason: format!("{part}: {detail}"),
            })
        }
        Err(RowsError::Read(other)) => {
            // A limit met inside the sheet (rows past Excel's grid, a damaged part): the
            // reader's message, less the file and sheet this error names already.
            let message = other.to_string();
            let named = [format!("{file} (sheet \"{}\"): ", layout.name), format!("{file}: ")];
            let reason = named.iter().find_map(|n| message.strip_prefix(n.as_str())).unwrap_or(&message);
            return Err(SnapshotError::UnreadableSheet {
                file: file.to_string(),
                sheet: layout.name,
                reason: reason.trim_end_matches('.').to_string(),
            });
        }
    }
    if !header_checked {
        check_header(file, layout, &[])?;
    }
    Ok(data_rows)
}

fn handle_data_row(
    row: &Row<'_>,
    on_row: &mut dyn FnMut(&Row<'_>) -> Result<(), SnapshotError>,
    data_rows: &mut usize,
) -> Result<(), SnapshotError> {
    // Only truly empty cells make a blank row: a cell holding spaces is a value.
    if row.cells.iter().all(|c| matches!(c, RawCell::Empty) || matches!(c, RawCell::Text(t) if t.is_empty()))
    {
        return Ok(());
    }
    *data_rows += 1;
    on_row(row)
}

fn check_header(file: &str, layout: &SheetLayout, cells: &[RawCell]) -> Result<(), SnapshotError> {
    static EMPTY: RawCell = RawCell::Empty;
    for (col, expected) in layout.columns.iter().enumerate() {
        let cell = cells.get(col).unwrap_or(&EMPTY);
        if cell.as_text().trim() != *expected {
            return Err(SnapshotError::WrongHeader {
                file: file.to_string(),
                sheet: layout.name,
                cell: CellRef::new(col, 1),
                expected,
                found: describe(cell),
            });
        }
    }
    Ok(())
}
