//! The reader's limits and its one error enum. Every cap the reader enforces is a constant
//! here, and every way a file can be refused is a [`ReadError`] variant whose doc comment
//! names the limit it enforces and whose message names the file (and the sheet or part) and
//! says what was hit. Limits apply to what a file actually holds — bytes really unpacked,
//! strings really present, cells really placed — and declarations are only ever checked
//! against them, never used to size an allocation.

pub(crate) use crate::core::text::thousands;

/// Largest file accepted, in bytes (256 MiB: a 1,000,000-row export is 70–100 MB).
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;
/// Most entries a workbook's zip may hold (real workbooks hold tens, a few hundred at most).
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Largest unpacked size of one part, declared or actual (1 GiB: the worksheet of a
/// 1,000,000-row export is about 600 MB of XML). Worksheets and shared strings are streamed,
/// never held whole.
pub const MAX_PART_BYTES: u64 = 1024 * 1024 * 1024;
/// Largest unpacked size of the parts that describe the workbook (relationships, workbook,
/// styles), which are small in any real file (16 MiB).
pub const MAX_METADATA_PART_BYTES: u64 = 16 * 1024 * 1024;
/// Largest total unpacked size of all the entries of a workbook, declared or actually
/// unpacked (2 GiB).
pub const MAX_UNPACKED_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// An entry is a zip bomb when it expands more than this many times…
pub const MAX_COMPRESSION_RATIO: u64 = 100;
/// …and to more than this many bytes (20 MiB).
pub const MAX_HIGHLY_COMPRESSED_ENTRY: u64 = 20 * 1024 * 1024;
/// Longest single XML tag or run of text the XML reader buffers (32 MiB): a cell's text is at
/// most 32,767 characters in Excel, so this is generous, and it bounds the reader's buffer.
pub const MAX_XML_TOKEN_BYTES: u64 = 32 * 1024 * 1024;
/// Most strings a shared-string table may hold (no sheet has more cells than this).
pub const MAX_SHARED_STRINGS: u64 = 20_000_000;
/// Most bytes of text (UTF-8) a shared-string table may hold in total (256 MiB). Cells share
/// these strings; a cell never copies one.
pub const MAX_SHARED_STRING_BYTES: u64 = 256 * 1024 * 1024;
/// Excel's number of rows in a sheet.
pub const MAX_ROWS: u64 = 1_048_576;
/// Excel's number of columns in a sheet.
pub const MAX_COLUMNS: u64 = 16_384;
/// Most cells the rows of a sheet may hold or span between them (each row is as wide as its
/// last cell).
pub const MAX_CELLS: u64 = 20_000_000;
/// Most line breaks one quoted CSV field may hold before it is taken for a quote left open.
pub const MAX_FIELD_LINE_BREAKS: u64 = 100;
/// Longest quoted CSV field (in bytes) that may span lines before it is taken for a quote
/// left open (128 KiB; Excel's cell limit is 32,767 characters).
pub const MAX_MULTILINE_FIELD_BYTES: u64 = 128 * 1024;

/// Why a file cannot be read at all. Every message names the file and reads as a sentence;
/// problems inside rows are not errors here but issues found later by validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file has no bytes.
    #[error("{file}: the file is empty.")]
    Empty { file: String },

    /// Files over [`MAX_FILE_BYTES`] (256 MiB) are refused before anything is decoded.
    #[error("{file}: the file is {} bytes ({}); at most {} bytes (256 MiB) can be read — split it into smaller files.", thousands(*.size as u64), mib(*.size as u64), thousands(MAX_FILE_BYTES as u64))]
    TooLarge { file: String, size: usize },

    /// Compound-document files (`D0 CF 11 E0`): old binary Excel `.xls`, or a
    /// password-protected workbook. Neither can be read.
    #[error("{file}: this is an old Excel .xls file (or a password-protected workbook) — save it as .xlsx (without a password) or .csv and upload that.")]
    LegacyXls { file: String },

    /// The file starts like a zip but is not a readable zip (no central directory, records
    /// cut short or pointing outside the file, a multi-disk archive), or is a zip without an
    /// Excel workbook inside (a .docx, an .ods, an archive of other files).
    #[error("{file}: this is not a readable Excel workbook ({detail}).")]
    NotAWorkbook { file: String, detail: String },

    /// A zip whose central directory holds more than [`MAX_ZIP_ENTRIES`] (10,000) entries.
    #[error("{file}: the zip holds more than {} entries; a workbook has far fewer — refused.", thousands(MAX_ZIP_ENTRIES as u64))]
    TooManyEntries { file: String },

    /// Two entries of the zip whose bytes overlap: one stream of bytes read as two parts, the
    /// shape of a "zip bomb" that multiplies one compressed block.
    #[error(
        "{file}: the zip entries {first} and {second} share bytes; refused as a malformed or malicious zip."
    )]
    OverlappingEntries { file: String, first: String, second: String },

    /// Two entries with the same name (compared as Excel does: case-insensitively, `\` as
    /// `/`): which one a program reads would be a guess.
    #[error("{file}: the zip holds the entry {name} twice; refused as malformed.")]
    DuplicateEntry { file: String, name: String },

    /// An entry whose local header disagrees with the central directory (another name,
    /// method, checksum or size): programs would disagree on what the part holds.
    #[error("{file}: the part {part} is described two different ways in the zip ({detail}); refused as malformed.")]
    InconsistentEntry { file: String, part: String, detail: String },

    /// An entry that is encrypted, or compressed with a method other than stored or deflate.
    #[error(
        "{file}: the part {part} is {detail}, which cannot be read — save the workbook again from Excel."
    )]
    UnsupportedEntry { file: String, part: String, detail: String },

    /// An entry declaring more than [`MAX_COMPRESSION_RATIO`] (100) times its compressed size
    /// and more than [`MAX_HIGHLY_COMPRESSED_ENTRY`] (20 MiB), entries declaring more than
    /// [`MAX_UNPACKED_BYTES`] (2 GiB) in total, or one entry declaring more than
    /// [`MAX_PART_BYTES`] (1 GiB). Checked on the central directory before anything is
    /// unpacked; while unpacking, no part may give more bytes than it declares.
    #[error("{file}: refused as a possible zip bomb: {detail}.")]
    ZipBomb { file: String, detail: String },

    /// A part that unpacks to other bytes than its entry declares: a broken deflate stream,
    /// more or fewer bytes than its declared size, or a wrong CRC-32 checksum.
    #[error("{file}: the part {part} is damaged ({detail}); the file may be truncated or corrupted.")]
    DamagedPart { file: String, part: String, detail: String },

    /// A part describing the workbook (relationships, workbook, styles) larger than
    /// [`MAX_METADATA_PART_BYTES`] (16 MiB).
    #[error("{file}: the part {part} unpacks to {}; at most 16 MiB are allowed for it.", mib(*.size))]
    MetadataTooLarge { file: String, part: String, size: u64 },

    /// One XML tag or run of text longer than [`MAX_XML_TOKEN_BYTES`] (32 MiB).
    #[error("{file}: the part {part} holds a single XML tag or text longer than 32 MiB; refused.")]
    XmlTokenTooLarge { file: String, part: String },

    /// A worksheet's `<dimension>` that names a cell past Excel's grid (row 1,048,576,
    /// column XFD). The dimension is only checked, never used to size anything: a sheet
    /// declaring the whole grid is read for the cells it holds.
    #[error("{file}: sheet \"{sheet}\" declares the range {range} ({} rows × {} columns), past Excel's 1,048,576 rows and 16,384 columns.", thousands(*.rows), thousands(*.columns))]
    DeclaredDimensionsTooLarge { file: String, sheet: String, range: String, rows: u64, columns: u64 },

    /// The shared-string table declares more distinct strings (`uniqueCount`) than
    /// [`MAX_SHARED_STRINGS`] (20,000,000) or than its unpacked size could hold (one string
    /// needs more than 4 bytes of XML), or more string uses (`count`) than a sheet can have
    /// cells ([`MAX_CELLS`]). Checked wherever the `<sst>` tag stands; the counts never size
    /// an allocation.
    #[error("{file}: the shared-string table declares {attribute}=\"{}\", more than it can hold (at most {}); refused.", thousands(*.declared), thousands(*.limit))]
    TooManySharedStrings { file: String, attribute: String, declared: u64, limit: u64 },

    /// A shared-string table actually holding more than [`MAX_SHARED_STRINGS`] (20,000,000)
    /// strings or more than [`MAX_SHARED_STRING_BYTES`] (256 MiB) of text.
    #[error("{file}: the shared-string table {part} holds more than {what}; refused.")]
    SharedStringsTooLarge { file: String, part: String, what: String },

    /// Malformed XML in a part, or a value that cannot be what its cell says (a shared-string
    /// index past the table, a boolean that is neither 0 nor 1, a number that is not one).
    #[error("{file}{}: the workbook could not be read ({part}: {detail}).", in_sheet(.sheet))]
    MalformedWorkbook { file: String, sheet: Option<String>, part: String, detail: String },

    /// A workbook without any worksheet (only chart sheets, say).
    #[error("{file}: the workbook has no worksheet.")]
    NoSheet { file: String },

    /// No non-blank row to take as the header.
    #[error("{file}: no header row was found — the first non-empty row must hold the column headers.")]
    NoHeader { file: String },

    /// More than [`MAX_ROWS`] (1,048,576) data rows, or a cell placed below Excel's last row.
    #[error("{file}{}: the data reaches row {}; at most 1,048,576 rows can be read — split it into smaller files.", in_sheet(.sheet), thousands(*.rows))]
    TooManyRows { file: String, sheet: Option<String>, rows: u64 },

    /// A row with more than [`MAX_COLUMNS`] (16,384) columns.
    #[error("{file}{}: row {} has {} columns; at most 16,384 are allowed.", in_sheet(.sheet), thousands(*.row), thousands(*.columns))]
    TooManyColumns { file: String, sheet: Option<String>, row: u64, columns: u64 },

    /// Rows that together hold or span more than [`MAX_CELLS`] (20,000,000) cells.
    #[error("{file}{}: the data spreads over more than 20,000,000 cells (reached {}); split it into smaller files.", in_sheet(.sheet), thousands(*.cells))]
    TooManyCells { file: String, sheet: Option<String>, cells: u64 },

    /// Text marked UTF-16 (by its byte-order mark) that cannot be decoded: an odd number of
    /// bytes, or unpaired surrogates.
    #[error(
        "{file}: the text is marked as UTF-16 but cannot be decoded ({detail}); save it again as CSV UTF-8."
    )]
    BadEncoding { file: String, detail: String },

    /// Text that looks like UTF-16 (every other byte zero) without the byte-order mark that
    /// says so: it cannot be read as CSV text.
    #[error("{file}: the text looks like UTF-16 ({endianness}) without a byte-order mark; save it again as CSV UTF-8 (or as Unicode text with its byte-order mark).")]
    Utf16WithoutBom { file: String, endianness: &'static str },

    /// Decoded text containing NUL characters: a binary file, not CSV.
    #[error(
        "{file}: this is not a text (CSV) file — it contains NUL bytes (binary data), the first on line {}. Upload an .xlsx or .csv file.", thousands(*.line)
    )]
    BinaryFile { file: String, line: u64 },

    /// A quoted CSV field whose closing quote never comes: every row after it would vanish
    /// into one field.
    #[error("{file}: the quote that opens on row {} is never closed, so the rest of the file would be read as one value; add the missing quote (\") and upload again.", thousands(*.row))]
    UnclosedQuote { file: String, row: u64 },

    /// A quoted CSV field spanning more than [`MAX_FIELD_LINE_BREAKS`] (100) line breaks, or
    /// spanning lines over more than [`MAX_MULTILINE_FIELD_BYTES`] (128 KiB): a quote left
    /// open that swallowed the rows after it.
    #[error("{file}: the quoted value that starts on row {} spans {} lines ({} bytes); at most 100 line breaks and 128 KiB are allowed in one value — a quote (\") is probably missing on row {}.", thousands(*.row), thousands(*.line_breaks + 1), thousands(*.bytes), thousands(*.row))]
    RunawayQuotedField { file: String, row: u64, line_breaks: u64, bytes: u64 },
}

/// A byte count in MiB with one decimal, for messages.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn in_sheet(sheet: &Option<String>) -> String {
    sheet.as_ref().map(|s| format!(" (sheet \"{s}\")")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_messages_are_grouped_and_every_message_names_the_file() {
        assert_eq!(thousands(1_048_576), "1,048,576");
        assert_eq!(thousands(999), "999");
        assert_eq!(mib(3 * 1024 * 1024 / 2), "1.5 MiB");
        let err = ReadError::TooLarge { file: "big.csv".into(), size: MAX_FILE_BYTES + 1 };
        assert!(err.to_string().starts_with("big.csv: ") && err.to_string().contains("256 MiB"), "{err}");
        let err =
            ReadError::TooManyRows { file: "a.xlsx".into(), sheet: Some("Data".into()), rows: 1_048_577 };
        assert_eq!(
            err.to_string(),
            "a.xlsx (sheet \"Data\"): the data reaches row 1,048,577; at most 1,048,576 rows can be read — split it into smaller files."
        );
    }
}
