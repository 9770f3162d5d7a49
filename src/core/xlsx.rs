//! Shared XLSX writing for every workbook the app produces (exports, snapshots, templates,
//! reports): a bold frozen header with an autofilter, text cells that Excel can never
//! evaluate, identifiers as text, dates as real Excel dates.

use rust_xlsxwriter::{Color, ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::core::date::Date;
use crate::core::text::looks_like_formula;

/// Why a workbook could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The XLSX writer refused the content (e.g. a sheet name or a cell past Excel's limits).
    #[error("could not write the workbook: {0}")]
    Xlsx(#[from] XlsxError),
    /// The export has more rows than one Excel sheet holds (1,048,576).
    #[error("{sheet}: {rows} rows do not fit in one Excel sheet (at most 1,048,575 data rows)")]
    TooManyRows { sheet: String, rows: usize },
}

/// Excel's maximum number of data rows below one header row.
pub const MAX_DATA_ROWS: usize = 1_048_575;

/// The formats every sheet shares.
#[derive(Debug)]
pub struct Formats {
    pub header: Format,
    pub required_header: Format,
    pub text: Format,
    pub quoted_text: Format,
    pub date: Format,
    pub error_cell: Format,
    pub wrap: Format,
}

impl Default for Formats {
    fn default() -> Self {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xE8EEF7))
                .set_border_bottom(FormatBorder::Thin),
            required_header: Format::new()
                .set_bold()
                .set_font_color(Color::White)
                .set_background_color(Color::RGB(0xC0392B))
                .set_border_bottom(FormatBorder::Thin),
            text: Format::new().set_num_format("@"),
            quoted_text: Format::new().set_num_format("@").set_quote_prefix(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            error_cell: Format::new()
                .set_background_color(Color::RGB(0xF8D7DA))
                .set_font_color(Color::RGB(0x842029)),
            wrap: Format::new().set_text_wrap(),
        }
    }
}

/// Writes a header row (row 0) in bold, freezes it, sets widths and an autofilter over
/// `data_rows` rows. `required[i]` marks headers to highlight red.
pub fn write_header(
    sheet: &mut Worksheet,
    formats: &Formats,
    headers: &[&str],
    required: &[bool],
    widths: &[f64],
    data_rows: usize,
) -> Result<(), ExportError> {
    for (col, h) in headers.iter().enumerate() {
        let fmt = if required.get(col).copied().unwrap_or(false) {
            &formats.required_header
        } else {
            &formats.header
        };
        sheet.write_string_with_format(0, col as u16, *h, fmt)?;
        let width = widths.get(col).copied().unwrap_or_else(|| (h.len() as f64 + 4.0).max(10.0));
        sheet.set_column_width(col as u16, width)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    if !headers.is_empty() {
        sheet.autofilter(0, 0, data_rows as u32, (headers.len() - 1) as u16)?;
    }
    Ok(())
}

/// Writes text so that it is stored as text and shown as written: formula-like text gets
/// Excel's quote prefix, everything is in the text number format so identifiers keep
/// leading zeros when edited.
pub fn write_text(
    sheet: &mut Worksheet,
    formats: &Formats,
    row: u32,
    col: u16,
    text: &str,
) -> Result<(), ExportError> {
    if text.is_empty() {
        return Ok(());
    }
    let fmt = if looks_like_formula(text) { &formats.quoted_text } else { &formats.text };
    sheet.write_string_with_format(row, col, text, fmt)?;
    Ok(())
}

/// Gives whole columns Excel's text format (`@`), so that their cells are written without a
/// format of their own ([`write_in_text_column`]) and take the column's when the workbook is
/// saved: looking a cell format up for every cell is the writer's largest cost after
/// compression. A person typing into an empty cell of the column types text too.
pub fn set_text_columns(
    sheet: &mut Worksheet,
    formats: &Formats,
    cols: impl IntoIterator<Item = u16>,
) -> Result<(), ExportError> {
    for col in cols {
        sheet.set_column_format(col, &formats.text)?;
    }
    Ok(())
}

/// Gives a column Excel's date format, for [`write_in_date_column`].
pub fn set_date_column(sheet: &mut Worksheet, formats: &Formats, col: u16) -> Result<(), ExportError> {
    sheet.set_column_format(col, &formats.date)?;
    Ok(())
}

/// [`write_text`] into a column set with [`set_text_columns`]: the cell takes the column's text
/// format; formula-like text still gets the quote prefix.
pub fn write_in_text_column(
    sheet: &mut Worksheet,
    formats: &Formats,
    row: u32,
    col: u16,
    text: &str,
) -> Result<(), ExportError> {
    if text.is_empty() {
        return Ok(());
    }
    if looks_like_formula(text) {
        sheet.write_string_with_format(row, col, text, &formats.quoted_text)?;
    } else {
        sheet.write_string(row, col, text)?;
    }
    Ok(())
}

/// [`write_date`] into a column set with [`set_date_column`].
pub fn write_in_date_column(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    date: Date,
) -> Result<(), ExportError> {
    let dt = ExcelDateTime::from_ymd(date.year as u16, date.month, date.day)?;
    sheet.write_datetime(row, col, &dt)?;
    Ok(())
}

/// Like [`write_text`] but with a caller's format for cells flagged as errors.
pub fn write_text_flagged(
    sheet: &mut Worksheet,
    formats: &Formats,
    row: u32,
    col: u16,
    text: &str,
) -> Result<(), ExportError> {
    let fmt = if looks_like_formula(text) {
        formats.error_cell.clone().set_quote_prefix().set_num_format("@")
    } else {
        formats.error_cell.clone().set_num_format("@")
    };
    sheet.write_string_with_format(row, col, text, &fmt)?;
    Ok(())
}

/// Writes a real Excel date.
pub fn write_date(
    sheet: &mut Worksheet,
    formats: &Formats,
    row: u32,
    col: u16,
    date: Date,
) -> Result<(), ExportError> {
    let dt = ExcelDateTime::from_ymd(date.year as u16, date.month, date.day)?;
    sheet.write_datetime_with_format(row, col, &dt, &formats.date)?;
    Ok(())
}

/// Checks that `rows` fit under a header in one sheet.
pub fn check_rows_fit(sheet: &str, rows: usize) -> Result<(), ExportError> {
    if rows > MAX_DATA_ROWS {
        return Err(ExportError::TooManyRows { sheet: sheet.to_string(), rows });
    }
    Ok(())
}

/// Saves a workbook to bytes.
pub fn save(mut workbook: Workbook) -> Result<Vec<u8>, ExportError> {
    Ok(workbook.save_to_buffer()?)
}
