//! Helpers shared by the integration tests: for the reader's, an address-space limit so that
//! an over-allocation fails the test instead of the machine, and small workbooks built part by
//! part so that a test can say exactly which bytes are hostile; for the service's and the
//! command line's, workbooks of insured contact details rows read and written cell by cell.

#![allow(dead_code)]

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

/// The address space a reader test may use: far more than any case needs (the largest holds
/// a 19 MiB string), far less than a reader allocating what a hostile file declares.
pub const ADDRESS_SPACE_LIMIT: u64 = 3 << 30;

/// Caps this test process's address space (`RLIMIT_AS`) once, on Unix: an allocation past it
/// fails, and the failed allocation aborts the test binary, so `cargo test` fails. Tests run
/// on the harness's threads; the limit is process-wide and set before any case runs.
pub fn limit_address_space() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let done = rlimit::Resource::AS.set(ADDRESS_SPACE_LIMIT, rlimit::INFINITY);
            assert!(done.is_ok(), "could not limit the address space: {done:?}");
        });
    }
}

/// Runs `read` and returns its result and how long it took.
pub fn timed<T>(read: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let result = read();
    (result, started.elapsed())
}

/// A zip of the given parts, deflated, in order.
pub fn zip_of(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in parts {
        out.start_file(*name, zip::write::SimpleFileOptions::default()).expect("a part");
        out.write_all(content).expect("written");
    }
    out.finish().expect("a zip").into_inner()
}

pub const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;

pub fn package_rels(target: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{target}"/></Relationships>"#
    )
}

pub const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#;

pub const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;

/// A one-sheet workbook ("Data") from its worksheet and shared-string XML, the package
/// relationship pointing at `workbook_target`.
pub fn workbook_with(sheet: &str, shared_strings: &str, workbook_target: &str) -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
        ("_rels/.rels", package_rels(workbook_target).into_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes().to_vec()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes().to_vec()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes().to_vec()),
        ("xl/sharedStrings.xml", shared_strings.as_bytes().to_vec()),
    ])
}

/// A one-sheet workbook from its worksheet and shared-string XML.
pub fn workbook(sheet: &str, shared_strings: &str) -> Vec<u8> {
    workbook_with(sheet, shared_strings, "xl/workbook.xml")
}

/// A worksheet's XML around the given `<row>` elements.
pub fn sheet_xml(dimension: &str, rows: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>"#
    )
}

/// A shared-string table's XML holding `strings` (already escaped), with the counts given.
pub fn shared_strings_xml(unique_count: &str, strings: &[&str]) -> String {
    let items: String = strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{}" uniqueCount="{unique_count}">{items}</sst>"#,
        strings.len()
    )
}

/// Offsets of every record with a 4-byte signature (`PK\x01\x02` central, `PK\x03\x04` local).
pub fn records(bytes: &[u8], signature: [u8; 4]) -> Vec<usize> {
    bytes.windows(4).enumerate().filter(|(_, w)| *w == signature).map(|(i, _)| i).collect()
}

pub const CENTRAL: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
pub const LOCAL: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];

pub fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub fn get_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

pub fn get_u16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().expect("two bytes"))
}

/// The first sheet of a workbook as text: its header and its rows (dates as ISO), each row
/// as wide as the header.
pub fn read_cells(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("a worksheet");
    let mut rows = range.rows().map(|r| r.iter().map(text).collect::<Vec<String>>());
    let header = rows.next().unwrap_or_default();
    let width = header.len();
    let rows = rows
        .map(|mut r| {
            r.resize(width, String::new());
            r
        })
        .collect();
    (header, rows)
}

fn text(d: &calamine::Data) -> String {
    match d {
        calamine::Data::Empty => String::new(),
        calamine::Data::String(s) => s.clone(),
        calamine::Data::DateTime(dt) => {
            roundtrip::core::date::Date::from_excel_serial(dt.as_f64()).expect("a date").to_string()
        }
        calamine::Data::Float(f) => f.to_string(),
        calamine::Data::Int(i) => i.to_string(),
        other => panic!("an export holds text and dates only: {other:?}"),
    }
}

/// Digest secrets for a test's services: the first from `seed`, each next one different, all
/// the same from run to run (a test's seed, never a real secret).
pub fn seeded_secrets(seed: u64) -> roundtrip::service::SecretSource {
    let next = std::cell::Cell::new(seed);
    roundtrip::service::SecretSource::new(move || {
        let mut random = roundtrip::core::random::SeededRandom::new(next.get());
        next.set(next.get().wrapping_add(1));
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&random.next_u64().to_le_bytes());
        }
        Ok(roundtrip::core::privacy::CrmSecret::from_bytes(bytes))
    })
}

/// The column of a field in the insured contact details template.
pub fn col(field: roundtrip::core::template::Field) -> usize {
    roundtrip::core::insured::INSURED_CONTACT_DETAILS.col(field).expect("an insured contact details column")
}

/// An empty insured contact details row.
pub fn blank_row() -> Vec<String> {
    vec![String::new(); roundtrip::core::insured::INSURED_CONTACT_DETAILS.columns.len()]
}

/// A workbook of insured contact details `rows` under `header`: text cells, the Date of Birth
/// as a real date.
pub fn write_cells(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    use roundtrip::core::date::Date;
    use roundtrip::core::template::Field;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, h).expect("a header cell");
    }
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let (r, c16) = ((i + 1) as u32, c as u16);
            match (c == col(Field::DateOfBirth), Date::parse_iso(v)) {
                (true, Some(d)) => {
                    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(d.year as u16, d.month, d.day)
                        .expect("a date");
                    sheet.write_datetime_with_format(r, c16, &dt, &date_format).expect("a date cell");
                }
                _ => {
                    sheet.write_string(r, c16, v).expect("a cell");
                }
            }
        }
    }
    wb.save_to_buffer().expect("a workbook")
}
