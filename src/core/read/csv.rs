//! CSV text: decoded (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 fallback with
//! a warning; NUL bytes and UTF-16 without a BOM refused as such), its delimiter detected
//! (comma, semicolon, tab) and parsed by a small RFC 4180 parser that knows where every
//! quote opens. Rows are numbered as Excel shows the file — one per line, blank lines
//! included, one per record however many line breaks its quoted fields hold — and no row is
//! ever lost silently: a quote that never closes is refused naming the row where it opened,
//! and a quoted field that swallows more lines or bytes than a real value would is refused
//! naming its row. Every field is kept as text exactly as written.

use std::sync::Arc;

use super::guard::{
    ReadError, MAX_CELLS, MAX_COLUMNS, MAX_FIELD_LINE_BREAKS, MAX_MULTILINE_FIELD_BYTES, MAX_ROWS,
};
use super::split_header;
use crate::core::sheet::{FileWarning, RawCell, Sheet, SheetRow, SourceFormat};

/// How many non-blank records decide the delimiter.
const DELIMITER_PROBE_RECORDS: usize = 20;
/// How many leading bytes are looked at to recognise UTF-16 without a byte-order mark.
const UTF16_PROBE_BYTES: usize = 4096;

pub(crate) fn read_csv(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    let file = file_name.to_string();
    let (text, warning) = decode(file_name, bytes)?;
    if let Some(at) = text.find('\0') {
        let line = 1 + (0..at).filter(|&i| is_line_break(text.as_bytes(), i)).count() as u64;
        return Err(ReadError::BinaryFile { file, line });
    }
    let delimiter = detect_delimiter(&text);
    let mut parser = Parser::new(&text, delimiter);
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut cells_held = 0u64;
    let mut fields: Vec<Field> = Vec::new();
    while let Some(row) = parser.record(&mut fields).map_err(|p| p.into_error(&file))? {
        if fields.iter().all(|f| f.text.trim().is_empty()) {
            continue;
        }
        let mut cells: Vec<RawCell> =
            fields
                .iter()
                .map(|f| {
                    if f.text.is_empty() {
                        RawCell::Empty
                    } else {
                        RawCell::Text(Arc::from(f.text.as_str()))
                    }
                })
                .collect();
        while cells.last() == Some(&RawCell::Empty) {
            cells.pop();
        }
        if header.is_none() {
            let (h, _) = split_header(file_name, vec![SheetRow { sheet_row: row as usize, cells }])?;
            header = Some(h);
            continue;
        }
        if rows.len() as u64 >= MAX_ROWS {
            return Err(ReadError::TooManyRows { file, sheet: None, rows: row });
        }
        cells_held += cells.len() as u64;
        if cells_held > MAX_CELLS {
            return Err(ReadError::TooManyCells { file, sheet: None, cells: cells_held });
        }
        rows.push(SheetRow { sheet_row: row as usize, cells });
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
    if let Some(endianness) = utf16_without_bom(bytes) {
        return Err(ReadError::Utf16WithoutBom { file: file.to_string(), endianness });
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

/// "little-endian" or "big-endian" when the first bytes look like UTF-16 text without a
/// byte-order mark: at least 70% of the bytes on one side of each pair are zero and at most
/// 10% on the other (ASCII letters in UTF-16 are a letter and a zero).
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static str> {
    let probe = &bytes[..bytes.len().min(UTF16_PROBE_BYTES) & !1];
    let pairs = probe.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zeros = |offset: usize| probe.iter().skip(offset).step_by(2).filter(|b| **b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    let mostly = |n: usize| n * 10 >= pairs * 7;
    let rarely = |n: usize| n * 10 <= pairs;
    if mostly(odd) && rarely(even) {
        Some("little-endian")
    } else if mostly(even) && rarely(odd) {
        Some("big-endian")
    } else {
        None
    }
}

/// The delimiter among comma, semicolon and tab that splits the first non-blank records
/// (quotes respected) into a consistent number of fields, more than one. A consistent split
/// beats an inconsistent one, then more fields beat fewer, then the order comma, semicolon,
/// tab breaks ties. Comma when nothing splits.
fn detect_delimiter(text: &str) -> u8 {
    let mut best: Option<(bool, usize, u8)> = None;
    let mut fields = Vec::new();
    for delimiter in [b',', b';', b'\t'] {
        let mut parser = Parser::new(text, delimiter);
        parser.checking = false;
        let mut counts = Vec::new();
        while counts.len() < DELIMITER_PROBE_RECORDS {
            match parser.record(&mut fields) {
                Ok(Some(_)) if fields.iter().all(|f| f.text.trim().is_empty()) => {}
                Ok(Some(_)) => counts.push(fields.len()),
                _ => break,
            }
        }
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

/// Whether the byte at `i` ends a line as Excel counts lines in a CSV: a `\n`, or a `\r` not
/// followed by `\n` (so that `\r\n` is one break).
fn is_line_break(bytes: &[u8], i: usize) -> bool {
    match bytes.get(i) {
        Some(b'\n') => true,
        Some(b'\r') => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// One field of a record, with its text as it will be kept.
#[derive(Debug, Default)]
struct Field {
    text: String,
}

/// Why the parser stopped: a quote left open, a quoted value swallowing lines, or a record
/// with more fields than Excel has columns.
#[derive(Debug)]
enum Problem {
    UnclosedQuote { row: u64 },
    Runaway { row: u64, line_breaks: u64, bytes: u64 },
    TooManyColumns { row: u64, columns: u64 },
}

impl Problem {
    fn into_error(self, file: &str) -> ReadError {
        let file = file.to_string();
        match self {
            Problem::UnclosedQuote { row } => ReadError::UnclosedQuote { file, row },
            Problem::Runaway { row, line_breaks, bytes } => {
                ReadError::RunawayQuotedField { file, row, line_breaks, bytes }
            }
            Problem::TooManyColumns { row, columns } => {
                ReadError::TooManyColumns { file, sheet: None, row, columns }
            }
        }
    }
}

/// An RFC 4180 parser that counts rows as Excel does. Quoting follows the common reading
/// (the `csv` crate's and Excel's): a field that starts with `"` is quoted, `""` inside it is
/// one quote, text after its closing quote is appended as written, and a `"` inside an
/// unquoted field is an ordinary character.
struct Parser<'t> {
    text: &'t str,
    at: usize,
    delimiter: u8,
    /// The Excel row of the next record (1-based): one per record or blank line.
    row: u64,
    /// Whether quoted fields are held to the runaway limits (off while probing delimiters).
    checking: bool,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str, delimiter: u8) -> Parser<'t> {
        Parser { text, at: 0, delimiter, row: 1, checking: true }
    }

    /// The next record's fields into `fields` and its row; `None` at the end. Blank lines are
    /// counted and skipped.
    fn record(&mut self, fields: &mut Vec<Field>) -> Result<Option<u64>, Problem> {
        let bytes = self.text.as_bytes();
        // Blank lines: each is a row of its own.
        loop {
            match bytes.get(self.at) {
                None => return Ok(None),
                Some(b'\r') => {
                    self.at += if bytes.get(self.at + 1) == Some(&b'\n') { 2 } else { 1 };
                    self.row += 1;
                }
                Some(b'\n') => {
                    self.at += 1;
                    self.row += 1;
                }
                Some(_) => break,
            }
        }
        let row = self.row;
        let mut count = 0usize;
        loop {
            if count as u64 >= MAX_COLUMNS {
                return Err(Problem::TooManyColumns { row, columns: count as u64 + 1 });
            }
            if fields.len() <= count {
                fields.push(Field::default());
            }
            let field = &mut fields[count];
            field.text.clear();
            count += 1;
            let ended_record = self.field(row, &mut field.text)?;
            if ended_record {
                break;
            }
        }
        fields.truncate(count);
        self.row += 1;
        Ok(Some(row))
    }

    /// Reads one field into `out`; `true` when it ended its record (a line break or the end
    /// of the text), `false` when a delimiter followed it.
    fn field(&mut self, row: u64, out: &mut String) -> Result<bool, Problem> {
        let bytes = self.text.as_bytes();
        let delimiter = self.delimiter;
        if bytes.get(self.at) == Some(&b'"') {
            self.at += 1;
            let (mut line_breaks, start) = (0u64, self.at);
            loop {
                let Some(offset) = self.text[self.at..].find('"') else {
                    return Err(Problem::UnclosedQuote { row });
                };
                let segment = &self.text[self.at..self.at + offset];
                let breaks = segment.bytes().enumerate().filter(|&(i, b)| {
                    b == b'\n' || (b == b'\r' && segment.as_bytes().get(i + 1).is_none_or(|n| *n != b'\n'))
                });
                line_breaks += breaks.count() as u64;
                out.push_str(segment);
                self.at += offset + 1;
                if bytes.get(self.at) == Some(&b'"') {
                    out.push('"');
                    self.at += 1;
                    continue;
                }
                break;
            }
            let size = (self.at - start) as u64;
            if self.checking
                && line_breaks > 0
                && (line_breaks > MAX_FIELD_LINE_BREAKS || size > MAX_MULTILINE_FIELD_BYTES)
            {
                return Err(Problem::Runaway { row, line_breaks, bytes: size });
            }
        }
        // Unquoted text (or what follows a closing quote) up to a delimiter or line break.
        let rest = &bytes[self.at..];
        let end =
            rest.iter().position(|b| *b == delimiter || *b == b'\n' || *b == b'\r').unwrap_or(rest.len());
        out.push_str(&self.text[self.at..self.at + end]);
        self.at += end;
        match bytes.get(self.at) {
            None => Ok(true),
            Some(b) if *b == delimiter => {
                self.at += 1;
                Ok(false)
            }
            Some(b'\r') => {
                self.at += if bytes.get(self.at + 1) == Some(&b'\n') { 2 } else { 1 };
                Ok(true)
            }
            Some(_) => {
                self.at += 1;
                Ok(true)
            }
        }
    }
}

/// A file name without its folder and extension (`exports/contacts.csv` → `contacts`).
pub(crate) fn file_stem(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => base.to_string(),
    }
}
