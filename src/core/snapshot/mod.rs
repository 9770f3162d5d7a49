//! The CRM snapshot workbook: the whole local CRM as one XLSX file, one sheet per entity, that
//! a person can open in Excel and that the app reads back exactly. It is how a CRM gets into
//! the browser besides the demo, and the backup the app writes. [`write_snapshot`] turns a
//! [`Crm`](crate::core::model::Crm) into bytes; [`read_snapshot`] turns bytes back into a new
//! `Crm` or refuses the file with a [`SnapshotError`] that names the sheet, the cell and what
//! was expected there.
//!
//! The layout (`layout.rs`) is [`SNAPSHOT_SHEETS`]: an `About` sheet (format name, format
//! version, the row count of every other sheet, the identity counters and the CRM's digest
//! secret, which keyed digests need and which a snapshot — like its SSNs — carries in full),
//! then one sheet per
//! entity with a bold frozen header. Identifiers are text (leading zeros kept), internal IDs
//! and counts are numbers, dates are real Excel dates, yes/no flags are `Yes`/`No`, and
//! formula-like text is quote-prefixed so Excel never evaluates it. Lists that could outgrow
//! one cell (a portfolio's cases, an import's before-images) get their own sheets, one row
//! per item or per part. Writing is `write.rs`; reading is `read.rs`, on the rows of each
//! sheet as `row.rs` hands them over.
//!
//! A snapshot is trusted as little as any upload: it is opened by the bounded workbook reader
//! of [`crate::core::read`] (every part unpacked through a counting reader held to the same
//! caps, shared strings interned once, cells streamed rather than loaded as a grid), and
//! every identity, uniqueness rule, reference and counter is checked before a `Crm` is
//! returned.

mod layout;
mod read;
mod row;
mod write;

pub use layout::{
    SheetLayout, FORMAT_NAME, FORMAT_VERSION, JSON_PART_LENGTH, SNAPSHOT_SHEETS, WITHOUT_PORTFOLIO,
};
pub use read::read_snapshot;
pub use write::{write_snapshot, write_snapshot_counted};

use crate::core::text::cell_name;

/// Where a cell is: Excel's `F12`, kept as numbers so the page can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRef {
    /// Zero-based column (0 is A).
    pub column: u32,
    /// One-based row, as Excel shows it.
    pub row: u32,
}

impl CellRef {
    pub(crate) fn new(column: usize, row: usize) -> CellRef {
        CellRef { column: column as u32, row: row as u32 }
    }
}

impl std::fmt::Display for CellRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&cell_name(self.column as usize, self.row as usize))
    }
}

/// Why a snapshot was refused. Every message starts with the file name and, where there is
/// one, names the sheet and the Excel cell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a zip, or not a zip holding a workbook.
    #[error("Snapshot \"{file}\" is not a readable XLSX workbook: {reason}")]
    NotAWorkbook { file: String, reason: String },
    /// The workbook failed the checks every upload gets (the caps on file size, parts and
    /// unpacked bytes, zip bombs, damaged or overlapping parts, unbelievable shared-string
    /// counts, cells past Excel's grid): `reason` is the
    /// [`ReadError`](crate::core::read::ReadError) message, which names the limit.
    #[error("Snapshot \"{file}\" was refused before reading: {reason}")]
    Refused { file: String, reason: String },
    /// The workbook is not a Roundtrip CRM snapshot (no About sheet, or another format name).
    #[error("Snapshot \"{file}\" is not a Roundtrip CRM snapshot: {reason}")]
    NotASnapshot { file: String, reason: String },
    /// The About sheet names a format version this code does not read.
    #[error(
        "Snapshot \"{file}\", sheet \"About\", cell {cell}: format version {found} is not supported; this version of Roundtrip reads versions 1 and 2"
    )]
    UnsupportedVersion { file: String, cell: CellRef, found: String },
    /// A sheet of the layout is absent.
    #[error("Snapshot \"{file}\" has no sheet \"{sheet}\"")]
    MissingSheet { file: String, sheet: &'static str },
    /// The About sheet lacks one of its items.
    #[error("Snapshot \"{file}\", sheet \"About\": expected a row \"{item}\" in column A")]
    MissingAboutItem { file: String, item: String },
    /// The sheet could not be read: malformed XML, a value its cell type cannot hold, rows
    /// out of order, or a limit of the reader met inside it (cells past Excel's grid, a
    /// damaged part — `reason` is the reader's message, which names the limit).
    #[error("Snapshot \"{file}\", sheet \"{sheet}\" could not be read: {reason}")]
    UnreadableSheet { file: String, sheet: &'static str, reason: String },
    /// A header cell differs from the layout.
    #[error("Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: expected the header \"{expected}\", found {found}")]
    WrongHeader { file: String, sheet: &'static str, cell: CellRef, expected: &'static str, found: String },
    /// A cell holds something other than what its column takes.
    #[error("Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: expected {expected}, found {found}")]
    BadCell { file: String, sheet: &'static str, cell: CellRef, expected: String, found: String },
    /// An identity or a unique value appears twice.
    #[error("Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: {what} {value} is already used in cell {first_cell}")]
    Duplicate {
        file: String,
        sheet: &'static str,
        cell: CellRef,
        what: &'static str,
        value: String,
        first_cell: CellRef,
    },
    /// A reference names a record that the snapshot does not hold.
    #[error(
        "Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: {what} {value} matches no row of sheet \"{target_sheet}\""
    )]
    MissingReference {
        file: String,
        sheet: &'static str,
        cell: CellRef,
        what: &'static str,
        value: String,
        target_sheet: &'static str,
    },
    /// A sheet holds another number of rows than About declares (a truncated or edited file).
    #[error(
        "Snapshot \"{file}\", sheet \"About\", cell {cell}: expected {declared} rows in sheet \"{sheet}\", found {found}"
    )]
    RowCountMismatch { file: String, cell: CellRef, sheet: &'static str, declared: usize, found: usize },
    /// A counter would hand out an identity that a record already has.
    #[error(
        "Snapshot \"{file}\", sheet \"About\", cell {cell}: expected \"{counter}\" to be at least {minimum} because {record} exists, found {found}"
    )]
    CounterBehind {
        file: String,
        cell: CellRef,
        counter: &'static str,
        found: u32,
        minimum: u32,
        record: String,
    },
}

#[cfg(test)]
mod tests;
