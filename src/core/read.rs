//! Reading: `bytes → Sheet`, the first stage of the import pipeline. The format is decided
//! by content, not by the file name: a zip (`PK\x03\x04`) is an XLSX workbook, an old binary
//! Excel file is refused with a plain instruction, anything else is CSV text. A workbook's own
//! declarations (entry sizes and compression ratios, the first worksheet's `<dimension>`, the
//! shared-string counts) are checked before calamine sees the bytes, and cells are then
//! streamed one by one — never through calamine's dense `Range`, which allocates the bounding
//! box of whatever positions a file names — so a hostile workbook is refused fast, before
//! anything large is allocated. CSV is decoded (UTF-8 with or without BOM, UTF-16 with BOM,
//! Windows-1252 fallback with a warning), its delimiter detected (comma, semicolon, tab) and
//! every field kept as text exactly as written. Typing cells is the template's job: this
//! stage never guesses numbers or dates, and `Err` means only "this file cannot be read".

use std::collections::HashMap;
use std::io::{Cursor, Read, Seek};

use calamine::{DataRef, Reader, SheetType, Xlsx, XlsxError};

use crate::core::sheet::{FileWarning, RawCell, Sheet, SheetRow, SourceFormat};

/// Largest file accepted, in bytes (64 MiB).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Largest total uncompressed size the entries of a workbook may declare (400 MiB).
pub const MAX_UNCOMPRESSED_BYTES: u64 = 400 * 1024 * 1024;
/// An entry is a zip bomb when it expands more than this many times…
pub const MAX_COMPRESSION_RATIO: u64 = 100;
/// …and to more than this many bytes (20 MiB).
pub const MAX_HIGHLY_COMPRESSED_ENTRY: u64 = 20 * 1024 * 1024;
/// Excel's number of rows in a sheet.
pub const MAX_ROWS: u64 = 1_048_576;
/// Excel's number of columns in a sheet.
pub const MAX_COLUMNS: u64 = 16_384;
/// Most cells a worksheet may declare, hold, or spread its rows over.
pub const MAX_CELLS: u64 = 20_000_000;
/// Most distinct shared strings a workbook may declare.
pub const MAX_SHARED_STRINGS: u64 = 5_000_000;

/// How much of a worksheet entry is unpacked to find its `<dimension>`.
const DIMENSION_PROBE_BYTES: u64 = 64 * 1024;
/// How much of a shared-string table is unpacked to find its counts.
const SST_PROBE_BYTES: u64 = 4 * 1024;
/// How much of a workbook's relationship and workbook parts is read to find the first sheet.
const WORKBOOK_PROBE_BYTES: u64 = 1024 * 1024;
/// How many non-blank records decide the CSV delimiter.
const DELIMITER_PROBE_RECORDS: usize = 20;

/// Why a file cannot be read at all. Every message names the file and reads as a sentence;
/// problems inside rows are not errors here but issues found later by validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file has no bytes.
    #[error("{file}: the file is empty.")]
    Empty { file: String },

    /// Files over [`MAX_FILE_BYTES`] (64 MiB) are refused before anything is decoded.
    #[error("{file}: the file is {} bytes ({}); at most 67,108,864 bytes (64 MiB) can be read — split it into smaller files.", thousands(*.size as u64), mib(*.size as u64))]
    TooLarge { file: String, size: usize },

    /// Compound-document files (`D0 CF 11 E0`): old binary Excel `.xls`, or a
    /// password-protected workbook. Neither can be read.
    #[error("{file}: this is an old Excel .xls file (or a password-protected workbook) — save it as .xlsx (without a password) or .csv and upload that.")]
    LegacyXls { file: String },

    /// The file starts like a zip but is not a readable zip, or is a zip without an Excel
    /// workbook inside (a .docx, an .ods, an archive of other files).
    #[error("{file}: this is not a readable Excel workbook ({detail}).")]
    NotAWorkbook { file: String, detail: String },

    /// An entry declaring more than [`MAX_COMPRESSION_RATIO`] times its compressed size and
    /// more than [`MAX_HIGHLY_COMPRESSED_ENTRY`] (20 MiB), or entries declaring more than
    /// [`MAX_UNCOMPRESSED_BYTES`] (400 MiB) in total. Checked on the zip's central directory,
    /// before anything is unpacked.
    #[error("{file}: refused as a possible zip bomb: {detail}.")]
    ZipBomb { file: String, detail: String },

    /// The first worksheet's `<dimension>` declares rows past 1,048,576, columns past 16,384,
    /// or more than [`MAX_CELLS`] (20,000,000) cells; or it is not a cell range at all.
    #[error("{file}: sheet \"{sheet}\" declares the range {range} ({} rows × {} columns); at most 1,048,576 rows, 16,384 columns and 20,000,000 cells are allowed.", thousands(*.rows), thousands(*.columns))]
    DeclaredDimensionsTooLarge { file: String, sheet: String, range: String, rows: u64, columns: u64 },

    /// The shared-string table declares more distinct strings (`uniqueCount`) than
    /// [`MAX_SHARED_STRINGS`] (5,000,000) or than its unpacked size could hold (one string
    /// needs more than 4 bytes of XML), or more string uses (`count`) than a sheet has cells
    /// ([`MAX_CELLS`]).
    #[error("{file}: the shared-string table declares {attribute}=\"{}\", more than it can hold (at most {}); refused.", thousands(*.declared), thousands(*.limit))]
    TooManySharedStrings { file: String, attribute: String, declared: u64, limit: u64 },

    /// calamine could not parse the workbook or its first worksheet (malformed XML, a bad
    /// cell reference, a missing part). `detail` is calamine's own message.
    #[error("{file}{}: the workbook could not be read: {detail}.", in_sheet(.sheet))]
    MalformedWorkbook { file: String, sheet: Option<String>, detail: String },

    /// A workbook without any worksheet (only chart sheets, say).
    #[error("{file}: the workbook has no worksheet.")]
    NoSheet { file: String },

    /// No non-blank row to take as the header.
    #[error("{file}: no header row was found — the first non-empty row must hold the column headers.")]
    NoHeader { file: String },

    /// More than [`MAX_ROWS`] (1,048,576) data rows, or a cell placed below Excel's last row.
    #[error("{file}: the data reaches row {}; at most 1,048,576 rows can be read — split it into smaller files.", thousands(*.rows))]
    TooManyRows { file: String, rows: u64 },

    /// A row with more than [`MAX_COLUMNS`] (16,384) columns.
    #[error("{file}: row {} has {} columns; at most 16,384 are allowed.", thousands(*.row), thousands(*.columns))]
    TooManyColumns { file: String, row: u64, columns: u64 },

    /// Rows that together hold or span more than [`MAX_CELLS`] (20,000,000) cells.
    #[error("{file}: the data spreads over more than 20,000,000 cells (reached {}); split it into smaller files.", thousands(*.cells))]
    TooManyCells { file: String, cells: u64 },

    /// Text marked UTF-16 (by its byte-order mark) that cannot be decoded: an odd number of
    /// bytes, or unpaired surrogates.
    #[error(
        "{file}: the text is marked as UTF-16 but cannot be decoded ({detail}); save it again as CSV UTF-8."
    )]
    BadEncoding { file: String, detail: String },

    /// Decoded text containing NUL characters: a binary file, not CSV.
    #[error(
        "{file}: this is not a text (CSV) file — it contains binary data. Upload an .xlsx or .csv file."
    )]
    BinaryFile { file: String },

    /// The CSV parser gave up on a record (it should not on decoded text; kept so that a
    /// parser error is reported rather than swallowed).
    #[error("{file}: the CSV could not be read at record {record}: {detail}.")]
    MalformedCsv { file: String, record: u64, detail: String },
}

/// `1234567` → `"1,234,567"`, for messages.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count in MiB with one decimal, for messages.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn in_sheet(sheet: &Option<String>) -> String {
    sheet.as_ref().map(|s| format!(" (sheet \"{s}\")")).unwrap_or_default()
}

/// Reads the first worksheet (XLSX) or the whole file (CSV) into a [`Sheet`].
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
        read_csv(file_name, bytes)
    }
}

// ---------------------------------------------------------------------------------------
// XLSX: declarations first
// ---------------------------------------------------------------------------------------

type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// Sizes of one zip entry as its central-directory record declares them.
struct EntrySize {
    name: String,
    size: u64,
    compressed: u64,
}

/// Refuses entries that expand like a zip bomb, judged on declared sizes only. (The zip
/// crate stops reading an entry past its declared size, so these bound what is unpacked.)
fn check_entry_sizes(file: &str, entries: &[EntrySize]) -> Result<(), ReadError> {
    let mut total = 0u64;
    for e in entries {
        if e.size > MAX_HIGHLY_COMPRESSED_ENTRY && e.size > e.compressed.saturating_mul(MAX_COMPRESSION_RATIO)
        {
            let ratio = e.size / e.compressed.max(1);
            return Err(ReadError::ZipBomb {
                file: file.to_string(),
                detail: format!(
                    "the part {} unpacks to {} from {} bytes ({}×; at most {}× above 20 MiB)",
                    e.name,
                    mib(e.size),
                    thousands(e.compressed),
                    thousands(ratio),
                    MAX_COMPRESSION_RATIO
                ),
            });
        }
        total = total.saturating_add(e.size);
    }
    if total > MAX_UNCOMPRESSED_BYTES {
        return Err(ReadError::ZipBomb {
            file: file.to_string(),
            detail: format!("its parts unpack to {} in total; at most 400 MiB are allowed", mib(total)),
        });
    }
    Ok(())
}

/// At most `limit` unpacked bytes of one entry, as text (lossy), or `None` when the entry is
/// missing or unreadable (calamine then reports it properly).
fn entry_head(zip: &mut Zip<'_>, name: &str, limit: u64) -> Option<String> {
    let entry = zip.by_name(name).ok()?;
    let mut buf = Vec::new();
    // A read error after some bytes (a corrupt stream) still leaves a usable prefix.
    let _ = entry.take(limit).read_to_end(&mut buf);
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// One start tag of an XML prefix: its local name and its attributes (local names, values
/// unescaped).
struct Tag<'a> {
    name: &'a str,
    attributes: Vec<(&'a str, String)>,
}

impl Tag<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// The start tags of an XML text, in order — a scanner for the few declarations read before
/// calamine, tolerant of a prefix cut anywhere (an unfinished tag is dropped).
fn start_tags(xml: &str) -> Vec<Tag<'_>> {
    let mut tags = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            let Some(end) = comment.find("-->") else { break };
            rest = &comment[end + 3..];
            continue;
        }
        if rest.starts_with(['?', '!', '/']) {
            continue;
        }
        let name_end = rest.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(rest.len());
        let name = local_name(&rest[..name_end]);
        let mut body = &rest[name_end..];
        let mut attributes = Vec::new();
        let complete = loop {
            body = body.trim_start();
            if body.starts_with(['>', '/']) {
                break true;
            }
            let Some(eq) = body.find('=') else { break false };
            let attr = body[..eq].trim();
            if attr.is_empty() || attr.contains(['<', '>']) {
                break false;
            }
            let after = body[eq + 1..].trim_start();
            let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else { break false };
            let Some(len) = after[1..].find(quote) else { break false };
            attributes.push((local_name(attr), unescape(&after[1..1 + len])));
            body = &after[1 + len + 1..];
        };
        if !complete {
            break;
        }
        tags.push(Tag { name, attributes });
        rest = body;
    }
    tags
}

/// Replaces XML's predefined and numeric character references.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|s| *s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16).ok())
                .unwrap_or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A cell reference such as `XFD1048576` as 1-based (row, column), saturating on absurd
/// numbers so that a hostile reference reads as "too large", never as an overflow.
fn parse_cell_ref(r: &str) -> Option<(u64, u64)> {
    let r = r.trim();
    let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
    let digits = &r[letters..];
    if letters == 0 || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let column = r.as_bytes()[..letters].iter().fold(0u64, |acc, b| {
        acc.saturating_mul(26).saturating_add(u64::from(b.to_ascii_uppercase() - b'A' + 1))
    });
    let row = digits.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')));
    (row >= 1).then_some((row, column))
}

/// Checks a worksheet's declared `<dimension ref="…">`, read from the first
/// [`DIMENSION_PROBE_BYTES`] of its XML (the element comes before `<sheetData>`).
fn check_dimension(file: &str, sheet: &str, head: &str) -> Result<(), ReadError> {
    let head = head.find("sheetData").map_or(head, |at| &head[..at]);
    let Some(tag) = start_tags(head).into_iter().find(|t| t.name == "dimension") else { return Ok(()) };
    let Some(range) = tag.get("ref") else { return Ok(()) };
    let shown: String = range.chars().take(40).collect();
    let mut corners = range.split(':');
    let first = corners.next().and_then(parse_cell_ref);
    let last = match corners.next() {
        Some(r) => parse_cell_ref(r),
        None => first,
    };
    let (Some((row1, col1)), Some((row2, col2)), None) = (first, last, corners.next()) else {
        return Err(ReadError::MalformedWorkbook {
            file: file.to_string(),
            sheet: Some(sheet.to_string()),
            detail: format!("its dimension \"{shown}\" is not a cell range"),
        });
    };
    if row2 < row1 || col2 < col1 {
        return Err(ReadError::MalformedWorkbook {
            file: file.to_string(),
            sheet: Some(sheet.to_string()),
            detail: format!("its dimension \"{shown}\" ends before it starts"),
        });
    }
    let rows = row2 - row1 + 1;
    let columns = col2 - col1 + 1;
    if row2 > MAX_ROWS || col2 > MAX_COLUMNS || rows.saturating_mul(columns) > MAX_CELLS {
        return Err(ReadError::DeclaredDimensionsTooLarge {
            file: file.to_string(),
            sheet: sheet.to_string(),
            range: shown,
            rows,
            columns,
        });
    }
    Ok(())
}

/// Checks a shared-string table's `uniqueCount` and `count` against what it can hold.
fn check_shared_strings(file: &str, head: &str, unpacked_size: u64) -> Result<(), ReadError> {
    let Some(sst) = start_tags(head).into_iter().find(|t| t.name == "sst") else { return Ok(()) };
    let parse = |v: &str| -> Option<u64> {
        let v = v.trim();
        (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| {
            v.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')))
        })
    };
    let limits = [("uniqueCount", MAX_SHARED_STRINGS.min(unpacked_size / 4 + 1000)), ("count", MAX_CELLS)];
    for (attribute, limit) in limits {
        if let Some(declared) = sst.get(attribute).and_then(parse) {
            if declared > limit {
                return Err(ReadError::TooManySharedStrings {
                    file: file.to_string(),
                    attribute: attribute.to_string(),
                    declared,
                    limit,
                });
            }
        }
    }
    Ok(())
}

/// The zip entry named `path`, compared as calamine does (case-insensitively, `\` as `/`).
fn find_entry<'a>(names: &'a HashMap<String, String>, path: &str) -> Option<&'a str> {
    names.get(&path.replace('\\', "/").to_lowercase()).map(String::as_str)
}

/// Joins a relationship target to the folder of the part that declares it.
fn resolve_target(folder: &str, target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => format!("{folder}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The name and zip path of the first worksheet in workbook order, following the package
/// relationships the way calamine does. `None` when the parts cannot be followed (calamine
/// will then report the workbook as unreadable, or the caller checks every worksheet).
fn first_worksheet(zip: &mut Zip<'_>, names: &HashMap<String, String>) -> Option<(String, String)> {
    let package_rels = entry_head(zip, find_entry(names, "_rels/.rels")?, WORKBOOK_PROBE_BYTES)?;
    let workbook_path = start_tags(&package_rels)
        .into_iter()
        .filter(|t| t.name == "Relationship")
        .find(|t| t.get("Type").is_some_and(|ty| ty.ends_with("/relationships/officeDocument")))
        .and_then(|t| t.get("Target").map(|target| resolve_target("", target)))?;
    let (folder, workbook_file) = match workbook_path.rfind('/') {
        Some(i) => (workbook_path[..=i].to_string(), &workbook_path[i + 1..]),
        None => (String::new(), workbook_path.as_str()),
    };
    let rels = entry_head(
        zip,
        find_entry(names, &format!("{folder}_rels/{workbook_file}.rels"))?,
        WORKBOOK_PROBE_BYTES,
    )?;
    let targets: HashMap<String, (String, String)> = start_tags(&rels)
        .into_iter()
        .filter(|t| t.name == "Relationship")
        .filter_map(|t| {
            let id = t.get("Id")?.to_string();
            Some((id, (t.get("Target")?.to_string(), t.get("Type").unwrap_or_default().to_string())))
        })
        .collect();
    let workbook = entry_head(zip, find_entry(names, &workbook_path)?, WORKBOOK_PROBE_BYTES)?;
    start_tags(&workbook).into_iter().filter(|t| t.name == "sheet").find_map(|t| {
        let (target, kind) = targets.get(t.get("id")?)?;
        kind.ends_with("/worksheet")
            .then(|| (t.get("name").unwrap_or_default().to_string(), resolve_target(&folder, target)))
    })
}

/// Everything checked before calamine is given the bytes: the zip is readable, no entry is a
/// zip bomb, the shared-string counts are believable, and the first worksheet's declared
/// dimension fits Excel. Only small prefixes of entries are unpacked.
pub(crate) fn check_workbook_declarations(file: &str, bytes: &[u8]) -> Result<(), ReadError> {
    let not_a_workbook =
        |e: zip::result::ZipError| ReadError::NotAWorkbook { file: file.to_string(), detail: e.to_string() };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let mut entries = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(not_a_workbook)?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_else(|_| format!("#{i}"));
        entries.push(EntrySize { name, size: entry.size(), compressed: entry.compressed_size() });
    }
    check_entry_sizes(file, &entries)?;

    let names: HashMap<String, String> =
        entries.iter().map(|e| (e.name.replace('\\', "/").to_lowercase(), e.name.clone())).collect();

    for e in entries.iter().filter(|e| e.name.to_lowercase().ends_with("sharedstrings.xml")) {
        if let Some(head) = entry_head(&mut zip, &e.name, SST_PROBE_BYTES) {
            check_shared_strings(file, &head, e.size)?;
        }
    }

    match first_worksheet(&mut zip, &names) {
        Some((sheet, path)) => {
            if let Some(entry) = find_entry(&names, &path).map(str::to_string) {
                if let Some(head) = entry_head(&mut zip, &entry, DIMENSION_PROBE_BYTES) {
                    check_dimension(file, &sheet, &head)?;
                }
            }
        }
        None => {
            // The first sheet could not be pinned down: hold every worksheet to the limits.
            let worksheets = entries.iter().filter(|e| {
                let lower = e.name.to_lowercase();
                lower.contains("worksheets/") && lower.ends_with(".xml")
            });
            for e in worksheets {
                if let Some(head) = entry_head(&mut zip, &e.name, DIMENSION_PROBE_BYTES) {
                    let stem = e.name.rsplit('/').next().unwrap_or(&e.name).trim_end_matches(".xml");
                    check_dimension(file, stem, &head)?;
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// XLSX: cells
// ---------------------------------------------------------------------------------------

/// Days between Excel's 1900 and 1904 date systems.
const EPOCH_1904_OFFSET: f64 = 1462.0;

/// One calamine cell as a [`RawCell`]. Dates become 1900-system serials whatever the
/// workbook's date system; durations (`[h]:mm`) are plain numbers of days.
fn raw_cell(value: &DataRef<'_>, is_1904: bool) -> RawCell {
    match value {
        DataRef::Empty => RawCell::Empty,
        DataRef::String(s) => RawCell::Text(s.clone()),
        DataRef::SharedString(s) => RawCell::Text((*s).to_string()),
        DataRef::Float(f) => RawCell::Number(*f),
        DataRef::Int(i) => RawCell::Number(*i as f64),
        DataRef::Bool(b) => RawCell::Bool(*b),
        DataRef::DateTime(dt) if dt.is_duration() => RawCell::Number(dt.as_f64()),
        DataRef::DateTime(dt) => {
            RawCell::DateSerial(if is_1904 { dt.as_f64() + EPOCH_1904_OFFSET } else { dt.as_f64() })
        }
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => RawCell::Text(s.clone()),
        DataRef::Error(e) => RawCell::Error(e.to_string()),
    }
}

/// Maps an error of calamine's opening a workbook: a missing part means "not a workbook",
/// anything else is a malformed one.
fn open_error(file: &str, e: XlsxError) -> ReadError {
    match e {
        XlsxError::Zip(_) | XlsxError::FileNotFound(_) | XlsxError::RelationshipNotFound => {
            ReadError::NotAWorkbook { file: file.to_string(), detail: e.to_string() }
        }
        XlsxError::Password => ReadError::LegacyXls { file: file.to_string() },
        e => ReadError::MalformedWorkbook { file: file.to_string(), sheet: None, detail: e.to_string() },
    }
}

fn read_xlsx(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    check_workbook_declarations(file_name, bytes)?;
    let file = file_name.to_string();
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| open_error(file_name, e))?;
    let sheet_name = workbook
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .ok_or_else(|| ReadError::NoSheet { file: file.clone() })?;
    let is_1904 = workbook.has_1904_epoch();
    let cells = stream_cells(file_name, &sheet_name, &mut workbook, is_1904)?;
    let rows = rows_of_cells(file_name, cells)?;
    let (header, rows) = split_header(file_name, rows)?;
    Ok(Sheet { file_name: file, sheet_name, format: SourceFormat::Xlsx, header, rows, warnings: Vec::new() })
}

/// The non-empty cells of a worksheet as (row, column, value), 0-based, sorted by position;
/// refused past Excel's grid or past [`MAX_CELLS`] cells.
fn stream_cells<RS: Read + Seek>(
    file: &str,
    sheet: &str,
    workbook: &mut Xlsx<RS>,
    is_1904: bool,
) -> Result<Vec<(u32, u32, RawCell)>, ReadError> {
    let malformed = |e: XlsxError| ReadError::MalformedWorkbook {
        file: file.to_string(),
        sheet: Some(sheet.to_string()),
        detail: e.to_string(),
    };
    let mut reader = workbook.worksheet_cells_reader(sheet).map_err(malformed)?;
    let mut cells: Vec<(u32, u32, RawCell)> = Vec::new();
    let mut sorted = true;
    while let Some(cell) = reader.next_cell().map_err(malformed)? {
        let value = raw_cell(cell.get_value(), is_1904);
        if value == RawCell::Empty {
            continue;
        }
        let (row, col) = cell.get_position();
        if u64::from(row) >= MAX_ROWS {
            return Err(ReadError::TooManyRows { file: file.to_string(), rows: u64::from(row) + 1 });
        }
        if u64::from(col) >= MAX_COLUMNS {
            return Err(ReadError::TooManyColumns {
                file: file.to_string(),
                row: u64::from(row) + 1,
                columns: u64::from(col) + 1,
            });
        }
        if cells.len() as u64 >= MAX_CELLS {
            return Err(ReadError::TooManyCells { file: file.to_string(), cells: cells.len() as u64 + 1 });
        }
        if let Some((r, c, _)) = cells.last() {
            sorted &= (*r, *c) < (row, col);
        }
        cells.push((row, col, value));
    }
    if !sorted {
        // Stable: of two cells at one position, the later in the file comes last and wins.
        cells.sort_by_key(|(r, c, _)| (*r, *c));
    }
    Ok(cells)
}

/// Sorted cells as rows, each as wide as its last cell, columns kept absolute (index 0 is
/// column A) so that cell names computed later match Excel. Refused when the rows together
/// span more than [`MAX_CELLS`] cells.
fn rows_of_cells(file: &str, cells: Vec<(u32, u32, RawCell)>) -> Result<Vec<SheetRow>, ReadError> {
    // The span is summed before anything is allocated: the last cell of each row (cells are
    // sorted) sets that row's width.
    let spanned: u64 = cells
        .iter()
        .enumerate()
        .filter(|(i, (row, _, _))| cells.get(i + 1).is_none_or(|(next, _, _)| next != row))
        .map(|(_, (_, col, _))| u64::from(*col) + 1)
        .sum();
    if spanned > MAX_CELLS {
        return Err(ReadError::TooManyCells { file: file.to_string(), cells: spanned });
    }
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut cells = cells.into_iter().peekable();
    while let Some((row, col, value)) = cells.next() {
        let mut group = vec![(col, value)];
        while let Some((_, c, v)) = cells.next_if(|(r, _, _)| *r == row) {
            group.push((c, v));
        }
        let width = group.last().map_or(0, |(c, _)| *c as usize + 1);
        let mut dense = vec![RawCell::Empty; width];
        for (c, v) in group {
            dense[c as usize] = v;
        }
        rows.push(SheetRow { sheet_row: row as usize + 1, cells: dense });
    }
    Ok(rows)
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

// ---------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------

/// Decodes text bytes; the warning, if any, is for a fallback or a lossy decoding.
fn decode(file: &str, bytes: &[u8]) -> Result<(String, Option<FileWarning>), ReadError> {
    let utf16 = |encoding: &'static encoding_rs::Encoding, body: &[u8]| {
        if !body.len().is_multiple_of(2) {
            return Err(ReadError::BadEncoding {
                file: file.to_string(),
                detail: "an odd number of bytes".to_string(),
            });
        }
        match encoding.decode_without_bom_handling_and_without_replacement(body) {
            Some(text) => Ok((text.into_owned(), None)),
            None => Err(ReadError::BadEncoding {
                file: file.to_string(),
                detail: "unpaired UTF-16 surrogates".to_string(),
            }),
        }
    };
    if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(encoding_rs::UTF_16LE, body);
    }
    if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(encoding_rs::UTF_16BE, body);
    }
    if let Some(body) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok(match std::str::from_utf8(body) {
            Ok(text) => (text.to_string(), None),
            Err(_) => (
                String::from_utf8_lossy(body).into_owned(),
                Some(FileWarning {
                    code: "encoding-invalid-utf8".to_string(),
                    message: format!(
                        "{file} is marked as UTF-8 but holds bytes that are not; they were replaced with \u{FFFD} — check accented letters"
                    ),
                }),
            ),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_string(), None)),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            let warning = FileWarning {
                code: "encoding-fallback".to_string(),
                message: format!(
                    "{file} was not valid UTF-8; it was read as Windows-1252 — check accented letters"
                ),
            };
            Ok((text.into_owned(), Some(warning)))
        }
    }
}

fn csv_reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
}

fn is_blank_record(record: &csv::StringRecord) -> bool {
    record.iter().all(|f| f.trim().is_empty())
}

/// The delimiter among comma, semicolon and tab that splits the first non-blank records
/// (quotes respected) into a consistent number of fields, more than one. A consistent split
/// beats an inconsistent one, then more fields beat fewer, then the order comma, semicolon,
/// tab breaks ties. Comma when nothing splits.
fn detect_delimiter(text: &str) -> u8 {
    let mut best: Option<(bool, usize, u8)> = None;
    for delimiter in [b',', b';', b'\t'] {
        let counts: Vec<usize> = csv_reader(text, delimiter)
            .into_records()
            .map_while(Result::ok)
            .filter(|r| !is_blank_record(r))
            .take(DELIMITER_PROBE_RECORDS)
            .map(|r| r.len())
            .collect();
        let Some(&first) = counts.first() else { continue };
        if first < 2 {
            continue;
        }
        let consistent = counts.iter().all(|n| *n == first);
        let better = match best {
            None => true,
            Some((b_consistent, b_fields, _)) => (consistent, first) > (b_consistent, b_fields),
        };
        if better {
            best = Some((consistent, first, delimiter));
        }
    }
    best.map_or(b',', |(_, _, d)| d)
}

fn read_csv(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    let file = file_name.to_string();
    let (text, warning) = decode(file_name, bytes)?;
    if text.contains('\0') {
        return Err(ReadError::BinaryFile { file });
    }
    let delimiter = detect_delimiter(&text);
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut cells_held = 0u64;
    // Rows are numbered as Excel shows the file: one per line, blank lines included (the CSV
    // parser skips them), but one per record however many line breaks its quoted fields hold.
    let mut lines = LineCounter { bytes: text.as_bytes(), at: 0, line: 1 };
    let mut quoted_breaks = 0u64;
    let mut sheet_row = 0u64;
    for (i, record) in csv_reader(&text, delimiter).into_records().enumerate() {
        let record = record.map_err(|e| ReadError::MalformedCsv {
            file: file.clone(),
            record: i as u64 + 1,
            detail: e.to_string(),
        })?;
        sheet_row = match record.position() {
            Some(p) => lines.record_line(p.byte()).saturating_sub(quoted_breaks).max(sheet_row + 1),
            None => sheet_row + 1,
        };
        quoted_breaks += record.iter().map(|f| line_breaks(f.as_bytes())).sum::<u64>();

        if record.len() as u64 > MAX_COLUMNS {
            return Err(ReadError::TooManyColumns { file, row: sheet_row, columns: record.len() as u64 });
        }
        if is_blank_record(&record) {
            continue;
        }
        let mut cells: Vec<RawCell> = record
            .iter()
            .map(|f| if f.is_empty() { RawCell::Empty } else { RawCell::Text(f.to_string()) })
            .collect();
        while cells.last() == Some(&RawCell::Empty) {
            cells.pop();
        }
        if header.is_none() {
            let (h, _) = split_header(file_name, vec![SheetRow { sheet_row: sheet_row as usize, cells }])?;
            header = Some(h);
            continue;
        }
        if rows.len() as u64 >= MAX_ROWS {
            return Err(ReadError::TooManyRows { file, rows: sheet_row });
        }
        cells_held += cells.len() as u64;
        if cells_held > MAX_CELLS {
            return Err(ReadError::TooManyCells { file, cells: cells_held });
        }
        rows.push(SheetRow { sheet_row: sheet_row as usize, cells });
    }
    let header = header.ok_or_else(|| ReadError::NoHeader { file: file.clone() })?;
    Ok(Sheet {
        sheet_name: file_stem(file_name),
        file_name: file,
        format: SourceFormat::Csv { delimiter },
        header,
        rows,
        warnings: warning.into_iter().collect(),
    })
}

/// Whether the byte at `i` ends a line as Excel counts lines in a CSV: a `\n`, or a `\r` not
/// followed by `\n` (so that `\r\n` is one break).
fn is_line_break(bytes: &[u8], i: usize) -> bool {
    match bytes.get(i) {
        Some(b'\n') => true,
        Some(b'\r') => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

fn line_breaks(bytes: &[u8]) -> u64 {
    (0..bytes.len()).filter(|&i| is_line_break(bytes, i)).count() as u64
}

/// The 1-based line of positions in a text, advanced monotonically.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl LineCounter<'_> {
    /// The line on which a record starts, given the byte where the parser began reading it
    /// (which may be on blank lines before it, or on the `\n` of a previous `\r\n`).
    fn record_line(&mut self, began: u64) -> u64 {
        let mut start = usize::try_from(began).unwrap_or(usize::MAX).clamp(self.at, self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.line += (self.at..start).filter(|&i| is_line_break(self.bytes, i)).count() as u64;
        self.at = start;
        self.line
    }
}

/// A file name without its folder and extension (`exports/contacts.csv` → `contacts`).
fn file_stem(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::date::Date;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    use std::io::Write;

    fn serial(y: i32, m: u8, d: u8) -> f64 {
        Date::new(y, m, d).unwrap().to_excel_serial()
    }

    /// Row 1 blank, header on row 2, data on rows 3 and 5, row 4 blank.
    fn xlsx_fixture() -> Vec<u8> {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.set_name("Contacts").unwrap();
        for (col, h) in [" Client Reference ", "Amount", "Date of Birth", "Primary"].iter().enumerate() {
            s.write_string(1, col as u16, *h).unwrap();
        }
        s.write_string(2, 0, "00123").unwrap();
        s.write_number(2, 1, 42.5).unwrap();
        let d = ExcelDateTime::from_ymd(1980, 5, 17).unwrap();
        s.write_datetime_with_format(2, 2, &d, &Format::new().set_num_format("yyyy-mm-dd")).unwrap();
        s.write_boolean(2, 3, true).unwrap();
        s.write_string(4, 0, "00456").unwrap();
        s.write_number(4, 1, 7.0).unwrap();
        wb.save_to_buffer().unwrap()
    }

    /// Rewrites every entry of a zip through `edit(name, bytes)`.
    fn rebuild_zip(original: &[u8], edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
        let mut zip = zip::ZipArchive::new(Cursor::new(original)).unwrap();
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut e = zip.by_index(i).unwrap();
            let name = e.name().unwrap().to_string();
            let mut buf = Vec::new();
            e.read_to_end(&mut buf).unwrap();
            out.start_file(name.clone(), zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(&edit(&name, buf)).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    /// Rewrites one XML part of a workbook as text.
    fn edit_part(original: &[u8], part: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
        rebuild_zip(original, |name, buf| {
            if name == part {
                edit(String::from_utf8(buf).unwrap()).into_bytes()
            } else {
                buf
            }
        })
    }

    /// Sets the value of the first `attribute="…"` in a text.
    fn set_attribute(xml: &str, attribute: &str, value: &str) -> String {
        let key = format!("{attribute}=\"");
        let start = xml.find(&key).unwrap() + key.len();
        let end = xml[start..].find('"').unwrap() + start;
        format!("{}{value}{}", &xml[..start], &xml[end..])
    }

    const SHEET1: &str = "xl/worksheets/sheet1.xml";

    #[test]
    fn xlsx_keeps_leading_zero_text_numbers_dates_bools_and_excel_row_numbers() {
        let sheet = read_sheet("f.xlsx", &xlsx_fixture()).unwrap();
        assert_eq!(sheet.format, SourceFormat::Xlsx);
        assert_eq!(sheet.sheet_name, "Contacts");
        assert_eq!(sheet.header, vec!["Client Reference", "Amount", "Date of Birth", "Primary"]);
        assert_eq!(sheet.rows.len(), 2, "the blank row 4 is skipped");
        let r = &sheet.rows[0];
        assert_eq!(r.sheet_row, 3);
        assert_eq!(
            r.cells,
            vec![
                RawCell::Text("00123".into()),
                RawCell::Number(42.5),
                RawCell::DateSerial(serial(1980, 5, 17)),
                RawCell::Bool(true),
            ]
        );
        assert_eq!(sheet.rows[1].sheet_row, 5);
        assert_eq!(sheet.rows[1].cells, vec![RawCell::Text("00456".into()), RawCell::Number(7.0)]);
        assert!(sheet.warnings.is_empty());
    }

    #[test]
    fn xlsx_text_is_kept_exactly_untrimmed_and_formula_like() {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.write_string(0, 0, "Name").unwrap();
        s.write_string(0, 1, "Note").unwrap();
        s.write_string(1, 0, "  padded  ").unwrap();
        s.write_string(1, 1, "=1+1").unwrap();
        let sheet = read_sheet("t.xlsx", &wb.save_to_buffer().unwrap()).unwrap();
        assert_eq!(
            sheet.rows[0].cells,
            vec![RawCell::Text("  padded  ".into()), RawCell::Text("=1+1".into())]
        );
    }

    #[test]
    fn xlsx_columns_stay_absolute_when_column_a_is_empty() {
        // A range starting at C3 must not shift cells left: cell names are computed from
        // column indexes later, and C4 must stay C4.
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.write_string(2, 2, "ID").unwrap();
        s.write_string(2, 3, "Name").unwrap();
        s.write_string(3, 2, "007").unwrap();
        s.write_string(3, 3, "Bond").unwrap();
        let sheet = read_sheet("c.xlsx", &wb.save_to_buffer().unwrap()).unwrap();
        assert_eq!(sheet.header, vec!["", "", "ID", "Name"]);
        assert_eq!(sheet.rows[0].sheet_row, 4);
        assert_eq!(sheet.rows[0].cell(2), &RawCell::Text("007".into()));
        assert_eq!(sheet.rows[0].cell(0), &RawCell::Empty);
    }

    #[test]
    fn xlsx_dates_of_a_1904_workbook_become_1900_serials() {
        let bytes = edit_part(&xlsx_fixture(), "xl/workbook.xml", |xml| {
            if xml.contains("<workbookPr") {
                xml.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1)
            } else {
                xml.replacen("<bookViews>", "<workbookPr date1904=\"1\"/><bookViews>", 1)
            }
        });
        let sheet = read_sheet("mac.xlsx", &bytes).unwrap();
        // The stored number is the same; in the 1904 system it means a date 1,462 days later.
        assert_eq!(sheet.rows[0].cells[2], RawCell::DateSerial(serial(1980, 5, 17) + 1462.0));
        assert_eq!(Date::from_excel_serial(serial(1980, 5, 17) + 1462.0), Date::new(1984, 5, 18));
    }

    #[test]
    fn xlsx_reads_the_first_worksheet_in_workbook_order() {
        let mut wb = Workbook::new();
        wb.add_worksheet().set_name("Data").unwrap().write_string(0, 0, "First").unwrap();
        wb.add_worksheet().set_name("Instructions").unwrap().write_string(0, 0, "Second").unwrap();
        let sheet = read_sheet("two.xlsx", &wb.save_to_buffer().unwrap()).unwrap();
        assert_eq!(sheet.sheet_name, "Data");
        assert_eq!(sheet.header, vec!["First"]);
        assert!(sheet.rows.is_empty());
    }

    #[test]
    fn xlsx_error_and_duration_cells_map_to_raw_cells() {
        use calamine::{CellErrorType, ExcelDateTime as CalDate, ExcelDateTimeType};
        assert_eq!(raw_cell(&DataRef::Error(CellErrorType::NA), false), RawCell::Error("#N/A".into()));
        assert_eq!(raw_cell(&DataRef::Int(12), false), RawCell::Number(12.0));
        assert_eq!(raw_cell(&DataRef::SharedString("00123"), false), RawCell::Text("00123".into()));
        assert_eq!(
            raw_cell(&DataRef::DateTimeIso("2024-01-02".into()), false),
            RawCell::Text("2024-01-02".into())
        );
        let duration = CalDate::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(raw_cell(&DataRef::DateTime(duration), true), RawCell::Number(1.5));
    }

    #[test]
    fn xlsx_with_only_blank_cells_has_no_header() {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.write_string(3, 1, "   ").unwrap();
        let err = read_sheet("blank.xlsx", &wb.save_to_buffer().unwrap()).unwrap_err();
        assert!(matches!(err, ReadError::NoHeader { .. }), "{err:?}");
    }

    #[test]
    fn csv_utf8_with_and_without_bom_keeps_text_exactly() {
        for prefix in [&b""[..], &[0xEF, 0xBB, 0xBF][..]] {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice("SSN,Name\n012-34-5678,José\n007, padded \n".as_bytes());
            let s = read_sheet("a.csv", &bytes).unwrap();
            assert_eq!(s.header, vec!["SSN", "Name"], "a BOM must not stick to the first header");
            assert_eq!(
                s.rows[0].cells,
                vec![RawCell::Text("012-34-5678".into()), RawCell::Text("José".into())]
            );
            assert_eq!(s.rows[1].cells, vec![RawCell::Text("007".into()), RawCell::Text(" padded ".into())]);
            assert!(s.warnings.is_empty());
            assert_eq!((s.rows[0].sheet_row, s.rows[1].sheet_row), (2, 3));
            assert_eq!(s.sheet_name, "a");
        }
    }

    #[test]
    fn csv_leading_zeros_dates_and_numbers_stay_text() {
        let s = read_sheet("z.csv", b"Zip,Born,Amount,Empty,Last\n01234,1980-05-17,1e3,,x\n").unwrap();
        assert_eq!(
            s.rows[0].cells,
            vec![
                RawCell::Text("01234".into()),
                RawCell::Text("1980-05-17".into()),
                RawCell::Text("1e3".into()),
                RawCell::Empty,
                RawCell::Text("x".into()),
            ]
        );
    }

    #[test]
    fn csv_utf16_le_and_be_with_bom_decode() {
        let text = "Name;City\nZoë;Zürich\n";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
            be.extend_from_slice(&u.to_be_bytes());
        }
        for bytes in [le, be] {
            let s = read_sheet("u.csv", &bytes).unwrap();
            assert_eq!(s.header, vec!["Name", "City"]);
            assert_eq!(s.rows[0].cells, vec![RawCell::Text("Zoë".into()), RawCell::Text("Zürich".into())]);
            assert_eq!(s.format, SourceFormat::Csv { delimiter: b';' });
            assert!(s.warnings.is_empty());
        }
    }

    #[test]
    fn csv_utf16_with_an_odd_byte_or_a_lone_surrogate_is_refused() {
        let odd = read_sheet("odd.csv", &[0xFF, 0xFE, 0x41, 0x00, 0x42]).unwrap_err();
        assert!(matches!(odd, ReadError::BadEncoding { .. }), "{odd:?}");
        // "A" then a high surrogate followed by "B" instead of a low surrogate.
        let lone = read_sheet("lone.csv", &[0xFF, 0xFE, 0x41, 0x00, 0x00, 0xD8, 0x42, 0x00]).unwrap_err();
        assert!(matches!(lone, ReadError::BadEncoding { .. }), "{lone:?}");
        assert!(lone.to_string().contains("lone.csv"));
    }

    #[test]
    fn csv_windows_1252_falls_back_with_a_warning() {
        let bytes = b"Name,City\nJos\xE9,S\xE3o Paulo\n";
        let s = read_sheet("w.csv", bytes).unwrap();
        assert_eq!(s.rows[0].cells[0], RawCell::Text("José".into()));
        assert_eq!(s.rows[0].cells[1], RawCell::Text("São Paulo".into()));
        assert_eq!(s.warnings.len(), 1);
        assert_eq!(s.warnings[0].code, "encoding-fallback");
        assert!(s.warnings[0].message.contains("w.csv"));
        assert!(s.warnings[0].message.contains("Windows-1252"));
    }

    #[test]
    fn csv_delimiters_are_detected_with_quoted_fields_holding_the_others() {
        let cases: [(&str, u8, &str); 4] = [
            ("A,B,C\n\"x;y\",2,\"3\t4\"\n", b',', "x;y"),
            ("A;B;C\n\"x,y\";2;\"3,4\"\n", b';', "x,y"),
            ("A\tB\tC\n\"x,y\"\t2\t\"3;4\"\n", b'\t', "x,y"),
            // Decimal commas in a semicolon file do not make it comma-separated.
            ("A;B;C\n1,5;2,25;x\n3;4;y\n", b';', "1,5"),
        ];
        for (text, d, first) in cases {
            let s = read_sheet("d.csv", text.as_bytes()).unwrap();
            assert_eq!(s.format, SourceFormat::Csv { delimiter: d }, "{text:?}");
            assert_eq!(s.header, vec!["A", "B", "C"]);
            assert_eq!(s.rows[0].cells.len(), 3);
            assert_eq!(s.rows[0].cells[0], RawCell::Text(first.into()));
        }
        let single = read_sheet("one.csv", b"Email\na@b.c\n").unwrap();
        assert_eq!(single.format, SourceFormat::Csv { delimiter: b',' });
    }

    #[test]
    fn csv_rows_are_numbered_like_excel_across_blank_lines_and_quoted_line_breaks() {
        let text = "\nName,Address\n\nAnn,\"1 Main St\r\nFlat 2\"\nBob,x\r\n,\n  ,  \nCy,y";
        let s = read_sheet("rows.csv", text.as_bytes()).unwrap();
        assert_eq!(s.header, vec!["Name", "Address"]);
        let numbers: Vec<usize> = s.rows.iter().map(|r| r.sheet_row).collect();
        // Excel: 1 blank, 2 header, 3 blank, 4 Ann (two lines, one row), 5 Bob, 6 and 7 blank, 8 Cy.
        assert_eq!(numbers, vec![4, 5, 8]);
        assert_eq!(s.rows[0].cells[1], RawCell::Text("1 Main St\r\nFlat 2".into()));
        for (text, expected) in [
            ("A,B\r\n1,2\r\n\r\n3,4\r\n", vec![2, 4]),
            ("A,B\r1,2\r\r3,4", vec![2, 4]),
            ("A,B\n\"x\ny\nz\",1\n\n2,2\n", vec![2, 4]),
        ] {
            let s = read_sheet("rows.csv", text.as_bytes()).unwrap();
            let numbers: Vec<usize> = s.rows.iter().map(|r| r.sheet_row).collect();
            assert_eq!(numbers, expected, "{text:?}");
        }
    }

    #[test]
    fn csv_sheet_name_is_the_file_stem() {
        assert_eq!(file_stem("contacts.2024.csv"), "contacts.2024");
        assert_eq!(file_stem("C:\\exports\\list.txt"), "list");
        assert_eq!(file_stem("noext"), "noext");
        assert_eq!(file_stem(".csv"), ".csv");
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_unpacked() {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        out.start_file("xl/worksheets/sheet1.xml", zip::write::SimpleFileOptions::default()).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..50 {
            out.write_all(&zeros).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        assert!(bytes.len() < 1024 * 1024);
        #[cfg(not(target_arch = "wasm32"))]
        let started = std::time::Instant::now();
        let err = read_sheet("bomb.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::ZipBomb { .. }), "{err:?}");
        assert!(err.to_string().contains("bomb.xlsx") && err.to_string().contains("sheet1.xml"), "{err}");
        // Refused from the central directory: no 50 MiB inflate.
        #[cfg(not(target_arch = "wasm32"))]
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn entries_declaring_more_than_400_mib_in_total_are_refused() {
        let entry = |i: u64| EntrySize {
            name: format!("xl/media/image{i}.png"),
            size: 15 << 20,
            compressed: 14 << 20,
        };
        let entries: Vec<EntrySize> = (0..27).map(entry).collect();
        let err = check_entry_sizes("many.xlsx", &entries).unwrap_err();
        assert!(matches!(err, ReadError::ZipBomb { .. }), "{err:?}");
        assert!(check_entry_sizes("ok.xlsx", &entries[..26]).is_ok());
        // A 30 MiB part compressed 50× is fine; compressed 200× it is not.
        let part = |compressed| [EntrySize { name: "x".into(), size: 30 << 20, compressed }];
        assert!(check_entry_sizes("a.xlsx", &part((30 << 20) / 50)).is_ok());
        assert!(check_entry_sizes("b.xlsx", &part((30 << 20) / 200)).is_err());
    }

    #[test]
    fn a_worksheet_declaring_the_whole_grid_is_refused() {
        let bytes =
            edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", "A1:XFD1048576"));
        let err = read_sheet("big.xlsx", &bytes).unwrap_err();
        assert!(
            matches!(err, ReadError::DeclaredDimensionsTooLarge { rows: 1_048_576, columns: 16_384, .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("big.xlsx") && message.contains("\"Contacts\"") && message.contains("1,048,576"),
            "{message}"
        );
    }

    #[test]
    fn declared_dimensions_past_the_grid_or_the_cell_budget_are_refused() {
        for range in ["A1:A1048577", "A1:XFE1", "A1:T1000001", "A1:ZZZZZZZZZZZZZZ99999999999999999999999"] {
            let bytes =
                edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", range));
            let err = read_sheet("dim.xlsx", &bytes).unwrap_err();
            assert!(matches!(err, ReadError::DeclaredDimensionsTooLarge { .. }), "{range}: {err:?}");
        }
        // Twenty columns over a million rows is within the budget.
        let bytes =
            edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", "A1:T1000000"));
        assert!(read_sheet("ok.xlsx", &bytes).is_ok());
    }

    #[test]
    fn a_backwards_or_garbage_dimension_is_refused_instead_of_reaching_calamine() {
        // calamine subtracts the corners unchecked: "B5:A1" would underflow.
        for range in ["B5:A1", "A1:B2:C3", "!!", ""] {
            let bytes =
                edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", range));
            let err = read_sheet("dim.xlsx", &bytes).unwrap_err();
            assert!(
                matches!(&err, ReadError::MalformedWorkbook { sheet: Some(s), .. } if s == "Contacts"),
                "{range}: {err:?}"
            );
        }
    }

    #[test]
    fn a_shared_string_table_declaring_a_billion_strings_is_refused() {
        let sst = "xl/sharedStrings.xml";
        let bytes = edit_part(&xlsx_fixture(), sst, |xml| set_attribute(&xml, "uniqueCount", "999999999"));
        let err = read_sheet("sst.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::TooManySharedStrings { declared: 999_999_999, .. }), "{err:?}");
        assert!(err.to_string().contains("sst.xlsx"));
        // A count the table's size cannot hold, though under five million.
        let bytes = edit_part(&xlsx_fixture(), sst, |xml| set_attribute(&xml, "uniqueCount", "4000000"));
        assert!(matches!(read_sheet("sst.xlsx", &bytes), Err(ReadError::TooManySharedStrings { .. })));
        let bytes =
            edit_part(&xlsx_fixture(), sst, |xml| set_attribute(&xml, "count", "99999999999999999999999"));
        assert!(matches!(read_sheet("sst.xlsx", &bytes), Err(ReadError::TooManySharedStrings { .. })));
    }

    #[test]
    fn cells_at_opposite_corners_do_not_allocate_the_grid_between_them() {
        // calamine's Range would allocate 1,048,576 × 16,384 cells for this two-cell sheet.
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.write_string(0, 0, "Header").unwrap();
        s.write_string(1_048_575, 16_383, "corner").unwrap();
        let bytes = edit_part(&wb.save_to_buffer().unwrap(), SHEET1, |xml| {
            set_attribute(&xml, "<dimension ref", "A1")
        });
        let sheet = read_sheet("corners.xlsx", &bytes).unwrap();
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].sheet_row, 1_048_576);
        assert_eq!(sheet.rows[0].cells.len(), 16_384);
        assert_eq!(sheet.rows[0].cells[16_383], RawCell::Text("corner".into()));
    }

    #[test]
    fn rows_spanning_more_than_twenty_million_cells_are_refused() {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.write_string(0, 0, "Header").unwrap();
        for row in 1..1300 {
            s.write_number(row, 16_383, 1.0).unwrap();
        }
        let bytes = edit_part(&wb.save_to_buffer().unwrap(), SHEET1, |xml| {
            set_attribute(&xml, "<dimension ref", "A1")
        });
        let err = read_sheet("wide.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::TooManyCells { .. }), "{err:?}");
    }

    #[test]
    fn cells_placed_past_excels_last_row_or_column_are_refused() {
        let add_cell = |cell: &'static str| {
            edit_part(&xlsx_fixture(), SHEET1, move |xml| {
                xml.replace("</sheetData>", &format!("<row><c r=\"{cell}\"><v>1</v></c></row></sheetData>"))
            })
        };
        let err = read_sheet("col.xlsx", &add_cell("XFE9")).unwrap_err();
        assert!(matches!(err, ReadError::TooManyColumns { columns: 16_385, .. }), "{err:?}");
        let err = read_sheet("row.xlsx", &add_cell("A1048577")).unwrap_err();
        assert!(matches!(err, ReadError::TooManyRows { rows: 1_048_577, .. }), "{err:?}");
    }

    #[test]
    fn malformed_sheet_xml_is_refused_with_the_sheet_named() {
        // Cut the worksheet's XML in the middle of its data.
        let bytes = edit_part(&xlsx_fixture(), SHEET1, |xml| {
            let at = xml.find("<row r=\"3\"").unwrap();
            format!("{}<row r=\"3\"><c r=\"A3\" t=\"s\"><v>1", &xml[..at])
        });
        let err = read_sheet("bad.xlsx", &bytes).unwrap_err();
        assert!(
            matches!(&err, ReadError::MalformedWorkbook { sheet: Some(s), .. } if s == "Contacts"),
            "{err:?}"
        );
        assert!(err.to_string().contains("bad.xlsx") && err.to_string().contains("Contacts"), "{err}");
        // Malformed shared strings fail while opening, before any sheet.
        let bytes =
            edit_part(&xlsx_fixture(), "xl/sharedStrings.xml", |xml| xml[..xml.len() / 2].to_string());
        let err = read_sheet("sst.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::MalformedWorkbook { sheet: None, .. }), "{err:?}");
    }

    #[test]
    fn garbage_and_foreign_files_are_refused_with_plain_messages() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("e.csv", Vec::new()),
            ("p.xlsx", b"PK\x03\x04garbage garbage garbage".to_vec()),
            ("o.xls", vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0]),
            ("b.csv", b"a,b\n\0\0\0".to_vec()),
            ("n.csv", b"\n,,\n  ,\t\n".to_vec()),
            ("huge.csv", vec![b'a'; MAX_FILE_BYTES + 1]),
        ];
        let mut random = 0x2545_F491_4F6C_DD1Du64;
        let mut noise = b"PK\x03\x04".to_vec();
        noise.extend((0..4096).map(|_| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            random as u8
        }));
        let mut other_zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        other_zip.start_file("hello.txt", zip::write::SimpleFileOptions::default()).unwrap();
        other_zip.write_all(b"hello").unwrap();
        let other_zip = other_zip.finish().unwrap().into_inner();
        let mut cases = cases;
        cases.push(("noise.xlsx", noise));
        cases.push(("other.zip", other_zip));

        let errors: Vec<ReadError> =
            cases.iter().map(|(name, bytes)| read_sheet(name, bytes).unwrap_err()).collect();
        assert!(matches!(errors[0], ReadError::Empty { .. }), "{:?}", errors[0]);
        assert!(matches!(errors[1], ReadError::NotAWorkbook { .. }), "{:?}", errors[1]);
        assert!(matches!(errors[2], ReadError::LegacyXls { .. }), "{:?}", errors[2]);
        assert!(errors[2].to_string().contains("save it as .xlsx"));
        assert!(matches!(errors[3], ReadError::BinaryFile { .. }), "{:?}", errors[3]);
        assert!(matches!(errors[4], ReadError::NoHeader { .. }), "{:?}", errors[4]);
        assert!(matches!(errors[5], ReadError::TooLarge { .. }), "{:?}", errors[5]);
        assert!(matches!(errors[6], ReadError::NotAWorkbook { .. }), "{:?}", errors[6]);
        assert!(matches!(errors[7], ReadError::NotAWorkbook { .. }), "{:?}", errors[7]);
        for ((name, _), err) in cases.iter().zip(&errors) {
            let message = err.to_string();
            assert!(message.starts_with(name) && message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn too_many_csv_rows_or_columns_are_refused() {
        let wide = format!("{}\n", vec!["h"; 16_385].join(","));
        let err = read_sheet("wide.csv", wide.as_bytes()).unwrap_err();
        assert!(matches!(err, ReadError::TooManyColumns { row: 1, columns: 16_385, .. }), "{err:?}");
        let mut long = String::from("H\n");
        long.push_str(&"1\n".repeat(1_048_577));
        let err = read_sheet("long.csv", long.as_bytes()).unwrap_err();
        assert!(matches!(err, ReadError::TooManyRows { .. }), "{err:?}");
        assert!(err.to_string().contains("1,048,576"));
    }

    #[test]
    fn xml_scanner_reads_attributes_with_either_quote_prefixes_and_entities() {
        let tags = start_tags("<?xml version='1.0'?><!-- <sheet name=\"no\"/> --><x:sheet name='A &amp; B' r:id = \"rId1\"/><dimen");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].name, "sheet");
        assert_eq!(tags[0].get("name"), Some("A & B"));
        assert_eq!(tags[0].get("id"), Some("rId1"));
        assert_eq!(parse_cell_ref("xfd1048576"), Some((1_048_576, 16_384)));
        assert_eq!(parse_cell_ref("A0"), None);
        assert_eq!(resolve_target("xl/", "../xl/worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
        assert_eq!(resolve_target("xl/", "/xl/worksheets/s.xml"), "xl/worksheets/s.xml");
        assert_eq!(thousands(1_048_576), "1,048,576");
        assert_eq!(thousands(999), "999");
    }
}
