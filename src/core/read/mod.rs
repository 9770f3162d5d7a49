//! Reading: `bytes → Sheet`, the first stage of the import pipeline. The format is decided
//! by content, not by the file name: a zip (`PK\x03\x04`) is an XLSX workbook, an old binary
//! Excel file (`D0 CF 11 E0`) is refused with a plain instruction, anything else is CSV text.
//!
//! Reading is bounded by what a file actually holds, never by what it declares. The layers,
//! bottom up: `zip.rs` checks the archive's directory and unpacks each part through a
//! counting reader held to the caps in [`guard`]; `xml.rs` scans a part's XML through a
//! bounded window; `xlsx.rs` opens the workbook (relationships, sheets, date system, number
//! formats) and interns the shared strings once; `rows.rs` streams a worksheet straight into
//! rows whose cells share those strings; `csv.rs` decodes text (UTF-8 with or without BOM,
//! UTF-16 with BOM, Windows-1252 fallback with a warning), detects the delimiter (comma,
//! semicolon, tab) and keeps every field as text exactly as written, refusing a quote left
//! open rather than losing the rows after it. The snapshot reader
//! ([`crate::core::snapshot`]) reads its workbook through the same layers.
//!
//! Typing cells is the template's job: this stage never guesses numbers or dates, and `Err`
//! means only "this file cannot be read" — each [`ReadError`] names the file (and the sheet
//! or part) and the limit or fault that stopped it.

mod csv;
pub mod guard;
mod rows;
mod xlsx;
mod xml;
mod zip;

pub use guard::*;

use crate::core::sheet::{RawCell, Sheet, SheetRow, SourceFormat};

pub(crate) use xlsx::{Book, RowsError};

/// Reads the first visible worksheet (XLSX) or the whole file (CSV) into a [`Sheet`].
pub fn read_sheet(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    let file = file_name.to_string();
    if bytes.is_empty() {
        return Err(ReadError::Empty { file });
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge { file, size: bytes.len() });
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ReadError::LegacyXls { file });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(file_name, bytes)
    } else {
        csv::read_csv(file_name, bytes)
    }
}

/// The first visible worksheet of a workbook, its rows in sheet order.
fn read_xlsx(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    let book = Book::open(file_name, bytes)?;
    let sheet = book.first_worksheet().ok_or_else(|| ReadError::NoSheet { file: file_name.to_string() })?;
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut in_order = true;
    let streamed = book.rows(sheet, |sheet_row, cells| {
        in_order &= rows.last().is_none_or(|last| last.sheet_row < sheet_row);
        rows.push(SheetRow { sheet_row, cells: std::mem::take(cells) });
        Ok::<(), ReadError>(())
    });
    match streamed {
        Ok(()) => {}
        Err(RowsError::Read(e) | RowsError::Row(e)) => return Err(e),
    }
    if !in_order {
        rows = merge_rows(rows);
    }
    let (header, rows) = split_header(file_name, rows)?;
    Ok(Sheet {
        file_name: file_name.to_string(),
        sheet_name: sheet.name.clone(),
        format: SourceFormat::Xlsx,
        header,
        rows,
        warnings: Vec::new(),
    })
}

/// The rows of the worksheet named `sheet_name` (hidden or not) of a workbook, in sheet
/// order, read under the same caps as [`read_sheet`]. `Ok(None)` when the bytes are not a
/// workbook (a CSV file has one sheet) or hold no worksheet of that name; `Err` when the
/// workbook or that worksheet cannot be read.
pub fn read_named_sheet(
    file_name: &str,
    bytes: &[u8],
    sheet_name: &str,
) -> Result<Option<Vec<SheetRow>>, ReadError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(None);
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge { file: file_name.to_string(), size: bytes.len() });
    }
    let book = Book::open(file_name, bytes)?;
    let Some(sheet) = book.sheet(sheet_name).filter(|s| s.is_worksheet) else {
        return Ok(None);
    };
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut in_order = true;
    let streamed = book.rows(sheet, |sheet_row, cells| {
        in_order &= rows.last().is_none_or(|last| last.sheet_row < sheet_row);
        rows.push(SheetRow { sheet_row, cells: std::mem::take(cells) });
        Ok::<(), ReadError>(())
    });
    match streamed {
        Ok(()) => {}
        Err(RowsError::Read(e) | RowsError::Row(e)) => return Err(e),
    }
    Ok(Some(if in_order { rows } else { merge_rows(rows) }))
}

/// Rows that came out of order, sorted by number; rows with one number become one row, and
/// of two cells at one position the later in the file wins.
fn merge_rows(mut rows: Vec<SheetRow>) -> Vec<SheetRow> {
    rows.sort_by_key(|r| r.sheet_row);
    let mut merged: Vec<SheetRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match merged.last_mut() {
            Some(last) if last.sheet_row == row.sheet_row => {
                if last.cells.len() < row.cells.len() {
                    last.cells.resize(row.cells.len(), RawCell::Empty);
                }
                for (col, cell) in row.cells.into_iter().enumerate() {
                    if cell != RawCell::Empty {
                        last.cells[col] = cell;
                    }
                }
            }
            _ => merged.push(row),
        }
    }
    merged
}

/// The first non-blank row as the header (trimmed text, trailing blanks dropped) and the
/// non-blank rows after it as data.
fn split_header(file: &str, rows: Vec<SheetRow>) -> Result<(Vec<String>, Vec<SheetRow>), ReadError> {
    let mut rows = rows.into_iter().filter(|r| !r.is_blank());
    let header_row = rows.next().ok_or_else(|| ReadError::NoHeader { file: file.to_string() })?;
    let mut header: Vec<String> = header_row.cells.iter().map(|c| c.as_text().trim().to_string()).collect();
    while header.last().is_some_and(String::is_empty) {
        header.pop();
    }
    Ok((header, rows.collect()))
}

#[cfg(test)]
mod tests_csv;
#[cfg(test)]
mod tests_xlsx;
