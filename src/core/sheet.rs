//! A read file as a grid of raw cells: the output of `read` and the input of header mapping
//! and validation. A `Sheet` keeps what the file said, exactly; typing a cell (as a date,
//! an amount, an identifier) is the template's job, never the reader's.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// One cell as the file gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub enum RawCell {
    #[default]
    Empty,
    /// Text exactly as written (CSV fields are always text). Shared, not copied: every cell
    /// of a workbook that uses one shared string holds the same allocation, so cloning a
    /// cell costs a reference count.
    Text(Arc<str>),
    /// A numeric XLSX cell.
    Number(f64),
    /// An XLSX cell formatted as a date: its Excel serial.
    DateSerial(f64),
    Bool(bool),
    /// An XLSX error value such as `#N/A`.
    Error(String),
}

impl RawCell {
    pub fn is_empty(&self) -> bool {
        match self {
            RawCell::Empty => true,
            RawCell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell's text without copying it, when it is a text cell.
    pub fn text(&self) -> Option<&str> {
        match self {
            RawCell::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The cell as text, the way a person reads it in the file: whole numbers without a
    /// decimal point, so an identifier typed into a numeric cell keeps its digits.
    pub fn as_text(&self) -> String {
        match self {
            RawCell::Empty => String::new(),
            RawCell::Text(t) => t.to_string(),
            RawCell::Number(n) | RawCell::DateSerial(n) => format_number(*n),
            RawCell::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            RawCell::Error(e) => e.clone(),
        }
    }
}

/// Formats a number without float noise: `42`, `3.5`, `0.1`.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Where a file came from and how it was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFormat {
    Xlsx,
    Csv { delimiter: u8 },
}

/// A warning about the file as a whole (not about one row), e.g. an encoding fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileWarning {
    pub code: String,
    pub message: String,
}

/// The first sheet (XLSX) or the whole file (CSV), header row included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sheet {
    pub file_name: String,
    pub sheet_name: String,
    pub format: SourceFormat,
    /// The header row's cells as text, trimmed.
    pub header: Vec<String>,
    /// Data rows after the header, each with its 1-based row number in the sheet.
    pub rows: Vec<SheetRow>,
    pub warnings: Vec<FileWarning>,
}

/// One data row and where it stands in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SheetRow {
    /// 1-based row number as Excel shows it (the header is row 1 in a normal file).
    pub sheet_row: usize,
    pub cells: Vec<RawCell>,
}

impl SheetRow {
    pub fn cell(&self, col: usize) -> &RawCell {
        static EMPTY: RawCell = RawCell::Empty;
        self.cells.get(col).unwrap_or(&EMPTY)
    }
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(RawCell::is_empty)
    }
}
