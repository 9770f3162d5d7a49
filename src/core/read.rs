//! Reading: `bytes → Sheet`. XLSX goes through calamine after the zip's own declarations
//! (entry sizes, compression ratios, worksheet dimensions, shared-string counts) have been
//! checked, so a hostile workbook is refused before anything large is allocated. CSV is
//! decoded (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 fallback with a warning),
//! its delimiter detected (comma, semicolon, tab), and every field kept as text exactly as
//! written. Typing cells is the template's job; this stage never guesses numbers or dates.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, Xlsx};

use crate::core::sheet::{FileWarning, RawCell, Sheet, SheetRow, SourceFormat};

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;
/// Largest total uncompressed size a workbook may declare.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 400 * 1024 * 1024;
/// Excel's sheet limits.
pub const MAX_ROWS: u64 = 1_048_576;
pub const MAX_COLUMNS: u64 = 16_384;
/// Most cells a worksheet may declare.
pub const MAX_DECLARED_CELLS: u64 = 20_000_000;
/// Most shared strings a workbook may declare.
pub const MAX_SHARED_STRINGS: u64 = 5_000_000;

/// Why a file cannot be read at all. Each message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file has no bytes.
    #[error("{file}: the file is empty")]
    Empty { file: String },
    /// Files over [`MAX_FILE_BYTES`] are refused.
    #[error("{file}: the file is {size} bytes; at most 64 MiB can be imported — split it")]
    TooLarge { file: String, size: usize },
    /// Old binary Excel files (.xls) cannot be read.
    #[error("{file}: this is an old Excel .xls file — save it as .xlsx or .csv and upload that")]
    LegacyXls { file: String },
    /// The file starts like a zip (XLSX) but is not a readable one.
    #[error("{file}: not a readable XLSX workbook ({detail})")]
    NotAWorkbook { file: String, detail: String },
    /// An entry expanding more than 100× and past 20 MiB, or more than
    /// [`MAX_UNCOMPRESSED_BYTES`] declared in total: a zip bomb.
    #[error("{file}: the workbook declares {declared} bytes once unpacked (entry {entry}); refused as a possible zip bomb")]
    ZipBomb { file: String, entry: String, declared: u64 },
    /// A worksheet declaring more rows, columns or cells than Excel allows.
    #[error("{file}: sheet {sheet} declares the range {range} ({rows} rows × {columns} columns); at most 1,048,576 rows, 16,384 columns and 20,000,000 cells are allowed")]
    DeclaredDimensionsTooLarge { file: String, sheet: String, range: String, rows: u64, columns: u64 },
    /// A shared-string table declaring more strings than [`MAX_SHARED_STRINGS`] or than its
    /// size could hold.
    #[error("{file}: the workbook declares {declared} shared strings, more than it can hold (at most {limit}); refused")]
    TooManySharedStrings { file: String, declared: u64, limit: u64 },
    /// calamine could not parse the workbook (malformed XML and the like).
    #[error("{file}: sheet {sheet} could not be read: {detail}")]
    MalformedWorkbook { file: String, sheet: String, detail: String },
    /// A workbook with no worksheet.
    #[error("{file}: the workbook has no worksheet")]
    NoSheet { file: String },
    /// No non-blank row to take as the header.
    #[error("{file}: no header row was found — the first non-empty row must hold the column headers")]
    NoHeader { file: String },
    /// More data rows than one Excel sheet holds.
    #[error("{file}: {rows} rows; at most 1,048,576 can be imported")]
    TooManyRows { file: String, rows: usize },
    /// More columns than one Excel sheet holds.
    #[error("{file}: row {row} has {columns} columns; at most 16,384 are allowed")]
    TooManyColumns { file: String, row: usize, columns: usize },
    /// UTF-16 text that cannot be decoded.
    #[error("{file}: the text is marked UTF-16 but cannot be decoded ({detail})")]
    BadEncoding { file: String, detail: String },
    /// Decoded text that contains NUL bytes: not a text file.
    #[error("{file}: this is not a text (CSV) file — it contains binary data. Upload an .xlsx or .csv file")]
    BinaryFile { file: String },
    /// The CSV parser failed on a record.
    #[error("{file}: the CSV could not be read at record {record}: {detail}")]
    MalformedCsv { file: String, record: usize, detail: String },
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

fn attribute(xml: &str, element: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{element}"))?;
    let tag_end = xml[start..].find('>')? + start;
    let tag = &xml[start..tag_end];
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    let end = tag[at..].find('"')? + at;
    Some(tag[at..end].to_string())
}

/// Column number (1-based) and row of a cell reference such as `XFD1048576`.
fn parse_cell_ref(r: &str) -> Option<(u64, u64)> {
    let letters: String = r.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let digits = &r[letters.len()..];
    if letters.is_empty() || letters.len() > 4 {
        return None;
    }
    let col = letters.to_ascii_uppercase().bytes().fold(0u64, |acc, b| acc * 26 + u64::from(b - b'A' + 1));
    let row = digits.parse().ok()?;
    Some((col, row))
}

fn head_of_entry<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>, name: &str) -> Option<String> {
    let entry = zip.by_name(name).ok()?;
    let mut buf = Vec::new();
    entry.take(4096).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Checks what the zip declares before calamine allocates anything.
fn check_workbook_declarations(file_name: &str, bytes: &[u8]) -> Result<(), ReadError> {
    let file = file_name.to_string();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ReadError::NotAWorkbook { file: file.clone(), detail: e.to_string() })?;
    let mut total = 0u64;
    let mut worksheets = Vec::new();
    let mut shared_strings_size = None;
    for i in 0..zip.len() {
        let entry =
            zip.by_index_raw(i).map_err(|e| ReadError::NotAWorkbook { file: file.clone(), detail: e.to_string() })?;
        let size = entry.size();
        let compressed = entry.compressed_size().max(1);
        total = total.saturating_add(size);
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        if (size > 20 * 1024 * 1024 && size / compressed > 100) || total > MAX_UNCOMPRESSED_BYTES {
            return Err(ReadError::ZipBomb { file, entry: name, declared: total.max(size) });
        }
        if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            worksheets.push(name.clone());
        }
        if name == "xl/sharedStrings.xml" {
            shared_strings_size = Some(size);
        }
    }
    for sheet in worksheets {
        let Some(head) = head_of_entry(&mut zip, &sheet) else { continue };
        if let Some(range) = attribute(&head, "dimension", "ref") {
            let last = range.split(':').next_back().unwrap_or("");
            if let Some((columns, rows)) = parse_cell_ref(last) {
                if rows > MAX_ROWS || columns > MAX_COLUMNS || rows.saturating_mul(columns) > MAX_DECLARED_CELLS {
                    let sheet_name = sheet.trim_start_matches("xl/worksheets/").trim_end_matches(".xml").to_string();
                    return Err(ReadError::DeclaredDimensionsTooLarge { file, sheet: sheet_name, range, rows, columns });
                }
            }
        }
    }
    if let Some(size) = shared_strings_size {
        if let Some(head) = head_of_entry(&mut zip, "xl/sharedStrings.xml") {
            let limit = MAX_SHARED_STRINGS.min(size / 4 + 1000);
            for attr in ["uniqueCount", "count"] {
                if let Some(n) = attribute(&head, "sst", attr).and_then(|v| v.parse::<u64>().ok()) {
                    let bound = if attr == "count" { MAX_SHARED_STRINGS.max(limit) * 4 } else { limit };
                    if n > bound {
                        return Err(ReadError::TooManySharedStrings { file, declared: n, limit: bound });
                    }
                }
            }
        }
    }
    Ok(())
}

fn cell_of(data: &Data) -> RawCell {
    match data {
        Data::Empty => RawCell::Empty,
        Data::String(s) => RawCell::Text(s.clone()),
        Data::Float(f) => RawCell::Number(*f),
        Data::Int(i) => RawCell::Number(*i as f64),
        Data::Bool(b) => RawCell::Bool(*b),
        Data::DateTime(dt) => RawCell::DateSerial(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s.clone()),
        Data::Error(e) => RawCell::Error(e.to_string()),
    }
}

fn read_xlsx(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    check_workbook_declarations(file_name, bytes)?;
    let file = file_name.to_string();
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| ReadError::NotAWorkbook { file: file.clone(), detail: e.to_string() })?;
    let sheet_name = workbook.sheet_names().first().cloned().ok_or(ReadError::NoSheet { file: file.clone() })?;
    let range = workbook.worksheet_range(&sheet_name).map_err(|e| ReadError::MalformedWorkbook {
        file: file.clone(),
        sheet: sheet_name.clone(),
        detail: e.to_string(),
    })?;
    let (first_row, _) = range.start().unwrap_or((0, 0));
    let (height, width) = range.get_size();
    if width as u64 > MAX_COLUMNS {
        return Err(ReadError::TooManyColumns { file, row: first_row as usize + 1, columns: width });
    }
    if height as u64 > MAX_ROWS {
        return Err(ReadError::TooManyRows { file, rows: height });
    }
    let mut rows = range.rows().enumerate().map(|(i, cells)| {
        let mut cells: Vec<RawCell> = cells.iter().map(cell_of).collect();
        while cells.last().is_some_and(RawCell::is_empty) {
            cells.pop();
        }
        SheetRow { sheet_row: first_row as usize + i + 1, cells }
    });
    let header_row = rows.by_ref().find(|r| !r.is_blank()).ok_or(ReadError::NoHeader { file: file.clone() })?;
    let header = header_row.cells.iter().map(|c| c.as_text().trim().to_string()).collect();
    let rows: Vec<SheetRow> = rows.filter(|r| !r.is_blank()).collect();
    Ok(Sheet { file_name: file, sheet_name, format: SourceFormat::Xlsx, header, rows, warnings: Vec::new() })
}

/// Decodes text bytes; a second value is a warning when the fallback encoding was used.
fn decode(file_name: &str, bytes: &[u8]) -> Result<(String, Option<FileWarning>), ReadError> {
    let utf16 = |encoding: &'static encoding_rs::Encoding, body: &[u8]| {
        if body.len() % 2 != 0 {
            return Err(ReadError::BadEncoding { file: file_name.to_string(), detail: "odd number of bytes".into() });
        }
        let (text, had_errors) = encoding.decode_without_bom_handling(body);
        if had_errors {
            return Err(ReadError::BadEncoding { file: file_name.to_string(), detail: "invalid UTF-16 sequences".into() });
        }
        Ok((text.into_owned(), None))
    };
    if let Some(body) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return Ok((String::from_utf8_lossy(body).into_owned(), None));
    }
    if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(encoding_rs::UTF_16LE, body);
    }
    if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(encoding_rs::UTF_16BE, body);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok((text.to_string(), None)),
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            let warning = FileWarning {
                code: "encoding-fallback".into(),
                message: format!(
                    "{file_name} was not valid UTF-8; it was read as Windows-1252 — check accented letters"
                ),
            };
            Ok((text.into_owned(), Some(warning)))
        }
    }
}

fn records(text: &str, delimiter: u8) -> csv::StringRecordsIntoIter<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes())
        .into_records()
}

/// Picks the delimiter that gives a consistent field count (> 1) over the first records.
fn detect_delimiter(text: &str) -> u8 {
    let mut best = (b',', 0usize, false);
    for d in [b',', b';', b'\t'] {
        let counts: Vec<usize> = records(text, d)
            .filter_map(Result::ok)
            .filter(|r| r.iter().any(|f| !f.trim().is_empty()))
            .take(20)
            .map(|r| r.len())
            .collect();
        let Some(first) = counts.first().copied() else { continue };
        let consistent = counts.iter().all(|n| *n == first);
        if first > 1 && (consistent && !best.2 || consistent == best.2 && first > best.1) {
            best = (d, first, consistent);
        }
    }
    best.0
}

fn read_csv(file_name: &str, bytes: &[u8]) -> Result<Sheet, ReadError> {
    let file = file_name.to_string();
    let (text, warning) = decode(file_name, bytes)?;
    if text.contains('\0') {
        return Err(ReadError::BinaryFile { file });
    }
    let delimiter = detect_delimiter(&text);
    let mut all = Vec::new();
    for (i, record) in records(&text, delimiter).enumerate() {
        let record = record.map_err(|e| ReadError::MalformedCsv { file: file.clone(), record: i + 1, detail: e.to_string() })?;
        if record.len() as u64 > MAX_COLUMNS {
            return Err(ReadError::TooManyColumns { file, row: i + 1, columns: record.len() });
        }
        let mut cells: Vec<RawCell> =
            record.iter().map(|f| if f.is_empty() { RawCell::Empty } else { RawCell::Text(f.to_string()) }).collect();
        while cells.last().is_some_and(RawCell::is_empty) {
            cells.pop();
        }
        all.push(SheetRow { sheet_row: i + 1, cells });
        if all.len() as u64 > MAX_ROWS {
            return Err(ReadError::TooManyRows { file, rows: all.len() });
        }
    }
    let mut rows = all.into_iter();
    let header_row = rows.by_ref().find(|r| !r.is_blank()).ok_or(ReadError::NoHeader { file: file.clone() })?;
    let header = header_row.cells.iter().map(|c| c.as_text().trim().to_string()).collect();
    let rows = rows.filter(|r| !r.is_blank()).collect();
    let sheet_name = file_name.rsplit_once('.').map(|(s, _)| s).unwrap_or(file_name).to_string();
    Ok(Sheet {
        file_name: file,
        sheet_name,
        format: SourceFormat::Csv { delimiter },
        header,
        rows,
        warnings: warning.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    use std::io::Write;

    fn xlsx_fixture() -> Vec<u8> {
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        // Row 1 is blank; the header is on row 2.
        s.write_string(1, 0, "Client Reference").unwrap();
        s.write_string(1, 1, "Amount").unwrap();
        s.write_string(1, 2, "Date of Birth").unwrap();
        s.write_string(1, 3, "Primary").unwrap();
        s.write_string(2, 0, "00123").unwrap();
        s.write_number(2, 1, 42.0).unwrap();
        let d = ExcelDateTime::from_ymd(1980, 5, 17).unwrap();
        s.write_datetime_with_format(2, 2, &d, &Format::new().set_num_format("yyyy-mm-dd")).unwrap();
        s.write_boolean(2, 3, true).unwrap();
        s.write_string(4, 0, "00456").unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn xlsx_keeps_text_with_leading_zeros_types_and_sheet_rows() {
        let sheet = read_sheet("f.xlsx", &xlsx_fixture()).unwrap();
        assert_eq!(sheet.header, vec!["Client Reference", "Amount", "Date of Birth", "Primary"]);
        assert_eq!(sheet.rows.len(), 2, "blank row 4 is skipped");
        let r = &sheet.rows[0];
        assert_eq!(r.sheet_row, 3);
        assert_eq!(r.cells[0], RawCell::Text("00123".into()));
        assert_eq!(r.cells[1], RawCell::Number(42.0));
        assert_eq!(r.cells[2], RawCell::DateSerial(crate::core::date::Date::new(1980, 5, 17).unwrap().to_excel_serial()));
        assert_eq!(r.cells[3], RawCell::Bool(true));
        assert_eq!(sheet.rows[1].sheet_row, 5);
        assert_eq!(sheet.format, SourceFormat::Xlsx);
    }

    #[test]
    fn csv_utf8_with_and_without_bom_keeps_text_exactly() {
        for prefix in [&b""[..], &[0xEF, 0xBB, 0xBF][..]] {
            let mut bytes = prefix.to_vec();
            bytes.extend_from_slice("SSN,Name\n012-34-5678,José\n007, padded \n".as_bytes());
            let s = read_sheet("a.csv", &bytes).unwrap();
            assert_eq!(s.header, vec!["SSN", "Name"]);
            assert_eq!(s.rows[0].cells, vec![RawCell::Text("012-34-5678".into()), RawCell::Text("José".into())]);
            assert_eq!(s.rows[1].cells[0], RawCell::Text("007".into()));
            assert_eq!(s.rows[1].cells[1], RawCell::Text(" padded ".into()));
            assert!(s.warnings.is_empty());
            assert_eq!(s.rows[0].sheet_row, 2);
        }
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
            assert_eq!(s.rows[0].cells, vec![RawCell::Text("Zoë".into()), RawCell::Text("Zürich".into())]);
            assert_eq!(s.format, SourceFormat::Csv { delimiter: b';' });
        }
        assert!(matches!(read_sheet("u.csv", &[0xFF, 0xFE, 0x41]), Err(ReadError::BadEncoding { .. })));
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
    }

    #[test]
    fn csv_delimiters_are_detected_with_quoted_fields_holding_the_others() {
        let cases: [(&str, u8); 3] = [
            ("A,B,C\n\"x;y\",2,\"3\t4\"\n", b','),
            ("A;B;C\n\"x,y\";2;\"3,4\"\n", b';'),
            ("A\tB\tC\n\"x,y\"\t2\t\"3;4\"\n", b'\t'),
        ];
        for (text, d) in cases {
            let s = read_sheet("d.csv", text.as_bytes()).unwrap();
            assert_eq!(s.format, SourceFormat::Csv { delimiter: d }, "{text:?}");
            assert_eq!(s.header, vec!["A", "B", "C"]);
            assert_eq!(s.rows[0].cells.len(), 3);
        }
    }

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
        assert!(matches!(read_sheet("bomb.xlsx", &bytes), Err(ReadError::ZipBomb { .. })));
    }

    #[test]
    fn a_worksheet_declaring_the_whole_grid_is_refused() {
        let bytes = rebuild_zip(&xlsx_fixture(), |name, buf| {
            if name == "xl/worksheets/sheet1.xml" {
                let xml = String::from_utf8(buf).unwrap();
                let start = xml.find("<dimension ref=\"").unwrap() + 16;
                let end = xml[start..].find('"').unwrap() + start;
                format!("{}A1:XFD1048576{}", &xml[..start], &xml[end..]).into_bytes()
            } else {
                buf
            }
        });
        let err = read_sheet("big.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::DeclaredDimensionsTooLarge { .. }), "{err:?}");
        assert!(err.to_string().contains("big.xlsx"));
    }

    #[test]
    fn a_shared_string_table_declaring_a_billion_strings_is_refused() {
        let bytes = rebuild_zip(&xlsx_fixture(), |name, buf| {
            if name == "xl/sharedStrings.xml" {
                let xml = String::from_utf8(buf).unwrap();
                let start = xml.find("uniqueCount=\"").unwrap() + 13;
                let end = xml[start..].find('"').unwrap() + start;
                format!("{}999999999{}", &xml[..start], &xml[end..]).into_bytes()
            } else {
                buf
            }
        });
        assert!(matches!(read_sheet("sst.xlsx", &bytes), Err(ReadError::TooManySharedStrings { .. })));
    }

    #[test]
    fn malformed_sheet_xml_is_refused_with_the_sheet_named() {
        let bytes = rebuild_zip(&xlsx_fixture(), |name, buf| {
            if name == "xl/worksheets/sheet1.xml" {
                let xml = String::from_utf8(buf).unwrap();
                xml.replace("</sheetData>", "<row><c r=\"A9\"><v>1</c></sheetData>").into_bytes()
            } else {
                buf
            }
        });
        let err = read_sheet("bad.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::MalformedWorkbook { .. } | ReadError::NotAWorkbook { .. }), "{err:?}");
    }

    #[test]
    fn garbage_files_are_refused_with_plain_messages() {
        assert!(matches!(read_sheet("e.csv", b""), Err(ReadError::Empty { .. })));
        assert!(matches!(read_sheet("p.xlsx", b"PK\x03\x04garbage garbage"), Err(ReadError::NotAWorkbook { .. })));
        assert!(matches!(read_sheet("o.xls", &[0xD0, 0xCF, 0x11, 0xE0, 0, 0]), Err(ReadError::LegacyXls { .. })));
        assert!(matches!(read_sheet("b.csv", b"a,b\n\0\0\0"), Err(ReadError::BinaryFile { .. })));
        assert!(matches!(read_sheet("n.csv", b"\n,,\n"), Err(ReadError::NoHeader { .. })));
    }
}
