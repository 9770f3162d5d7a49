//! Hostile files, one test each, named after the bug it pins (issue 11). Each file is built
//! by code here and is small; each is read by `read_sheet` within one second, under an
//! address-space limit (see `common::limit_address_space`), and refused with a message that
//! names the file and the limit — or, where nothing is allocated from what it declares,
//! read for what it holds.
//!
//! `ROUNDTRIP_HOSTILE_DIR=/tmp/hostile cargo test --test read_hostile` also writes each file
//! there, to measure the reader on it natively (`cargo run --release --example read_file`).

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use roundtrip::core::read::{read_sheet, ReadError};
use roundtrip::core::sheet::RawCell;

/// The budget every hostile file is read within.
const BUDGET: Duration = Duration::from_secs(1);

/// Reads a file under the address-space limit and the time budget.
fn read(name: &str, bytes: &[u8]) -> Result<roundtrip::core::sheet::Sheet, ReadError> {
    limit_address_space();
    if let Some(dir) = std::env::var_os("ROUNDTRIP_HOSTILE_DIR") {
        std::fs::create_dir_all(&dir).expect("the directory");
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).expect("the file");
    }
    let (result, took) = timed(|| read_sheet(name, bytes));
    assert!(took < BUDGET, "{name} took {took:?}");
    result
}

/// Reads a file that must be refused, and checks that the message names it.
fn refused(name: &str, bytes: &[u8]) -> ReadError {
    let err = read(name, bytes).expect_err("the file is refused");
    assert!(err.to_string().starts_with(name), "the message names the file: {err}");
    err
}

#[test]
fn a_19_mib_shared_string_used_by_2000_cells_is_shared_not_copied_per_cell() {
    // Before: every cell copied the string, 38 GB in all, and the process aborted.
    let big = "a".repeat(19 << 20);
    let rows: String = std::iter::once(r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#.to_string())
        .chain((2..=2001).map(|r| format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>1</v></c></row>"#)))
        .collect();
    let bytes = workbook(&sheet_xml("A1:A2001", &rows), &shared_strings_xml("2", &["Label", &big]));
    assert!(bytes.len() < 100 * 1024, "{} bytes", bytes.len());
    let sheet = read("huge-string.xlsx", &bytes).expect("read");
    assert_eq!(sheet.rows.len(), 2000);
    let RawCell::Text(first) = &sheet.rows[0].cells[0] else { panic!("text") };
    assert_eq!(first.len(), 19 << 20);
    for row in &sheet.rows {
        let RawCell::Text(text) = &row.cells[0] else { panic!("text") };
        assert!(Arc::ptr_eq(first, text), "row {} holds a copy", row.sheet_row);
    }
}

#[test]
fn a_shared_string_table_declaring_4_billion_strings_after_a_comment_is_refused() {
    // Before: the pre-check read only the first 4 KB and the reader tried to allocate 96 GB.
    let comment = format!("<!-- {} -->", "x".repeat(5 * 1024));
    let sst = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>{comment}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="4000000000"><si><t>Name</t></si></sst>"#
    );
    let rows = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
    let err = refused("sst.xlsx", &workbook(&sheet_xml("A1", rows), &sst));
    assert!(matches!(err, ReadError::TooManySharedStrings { declared: 4_000_000_000, .. }), "{err:?}");
    assert!(err.to_string().contains("uniqueCount=\"4,000,000,000\""), "{err}");
}

#[test]
fn a_relationship_target_of_a_million_ampersands_is_refused_at_once() {
    // Before: the entity scan was quadratic and took 21 s.
    let target = "&".repeat(1_000_000);
    let rows = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
    let bytes = workbook_with(&sheet_xml("A1", rows), &shared_strings_xml("1", &["Name"]), &target);
    assert!(bytes.len() < 10 * 1024, "{} bytes", bytes.len());
    let err = refused("amp.xlsx", &bytes);
    assert!(matches!(err, ReadError::NotAWorkbook { .. }), "{err:?}");
}

#[test]
fn a_csv_quote_opening_on_row_3_and_never_closing_is_refused_naming_row_3() {
    // Before: read as 2 rows, silently; the 1,000 rows after the quote vanished.
    let mut csv = String::from("Name,City\nAnn,Paris\nBob,\"Lyon\n");
    for i in 0..1000 {
        csv.push_str(&format!("Person {i},Town {i}\n"));
    }
    let err = refused("quote.csv", csv.as_bytes());
    assert!(matches!(err, ReadError::UnclosedQuote { row: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("row 3"), "{err}");
    // A quote closed a thousand lines later swallowed the rows between: refused too.
    let closed_later = format!("{csv}Last,\"x\"\n");
    let err = refused("late.csv", closed_later.as_bytes());
    assert!(matches!(err, ReadError::RunawayQuotedField { row: 3, .. }), "{err:?}");
}

#[test]
fn overlapping_zip_entries_are_refused() {
    let mut bytes = workbook(&sheet_xml("A1", ""), &shared_strings_xml("0", &[]));
    // Stretch the first entry's data over the second entry's local header, in both headers.
    let (local, central) = (records(&bytes, LOCAL), records(&bytes, CENTRAL));
    let stretched = get_u32(&bytes, local[0] + 18) + 40;
    put_u32(&mut bytes, local[0] + 18, stretched);
    put_u32(&mut bytes, central[0] + 20, stretched);
    let err = refused("overlap.xlsx", &bytes);
    assert!(matches!(err, ReadError::OverlappingEntries { .. }), "{err:?}");
    assert!(
        err.to_string().contains("[Content_Types].xml") && err.to_string().contains("_rels/.rels"),
        "{err}"
    );
}

#[test]
fn duplicate_zip_entry_names_are_refused() {
    let sheet = sheet_xml("A1", r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#);
    let mut bytes = zip_of(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes().to_vec()),
        ("_rels/.rels", package_rels("xl/workbook.xml").into_bytes()),
        ("xl/workbook.xml", WORKBOOK.as_bytes().to_vec()),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes().to_vec()),
        ("xl/worksheets/sheet1.xml", sheet.into_bytes()),
        ("xl/worksheets/sheet1.xmX", b"<worksheet/>".to_vec()),
        ("xl/sharedStrings.xml", shared_strings_xml("1", &["Name"]).into_bytes()),
    ]);
    // Rename the second sheet part to the first one's name, in its local and central headers.
    for at in records(&bytes, LOCAL)
        .into_iter()
        .map(|a| a + 30)
        .chain(records(&bytes, CENTRAL).into_iter().map(|a| a + 46))
    {
        if bytes[at..].starts_with(b"xl/worksheets/sheet1.xmX") {
            bytes[at + 23] = b'l';
        }
    }
    let err = refused("twice.xlsx", &bytes);
    assert!(matches!(err, ReadError::DuplicateEntry { .. }), "{err:?}");
    assert!(err.to_string().contains("xl/worksheets/sheet1.xml"), "{err}");
    // Names differing only in case are one part to Excel: refused as well.
    let bytes = zip_of(&[("xl/workbook.xml", Vec::new()), ("XL/Workbook.xml", Vec::new())]);
    assert!(matches!(refused("case.xlsx", &bytes), ReadError::DuplicateEntry { .. }));
}

#[test]
fn a_zip_whose_local_header_lies_about_sizes_is_refused() {
    let rows = r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#;
    let honest = workbook(&sheet_xml("A1", rows), &shared_strings_xml("1", &["Name"]));
    let sheet_entry = |bytes: &[u8]| {
        let local = records(bytes, LOCAL);
        local
            .into_iter()
            .find(|&at| bytes[at + 30..].starts_with(b"xl/worksheets/sheet1.xml"))
            .expect("the sheet")
    };
    // The local header says 10 bytes, the directory something else.
    let mut bytes = honest.clone();
    let at = sheet_entry(&bytes);
    put_u32(&mut bytes, at + 22, 10);
    let err = refused("local.xlsx", &bytes);
    assert!(matches!(err, ReadError::InconsistentEntry { .. }), "{err:?}");
    assert!(err.to_string().contains("sheet1.xml"), "{err}");
    // Both headers say 10 bytes: the part gives more than it declares, and is refused as
    // soon as it does, whatever the headers say.
    let mut bytes = honest;
    let at = sheet_entry(&bytes);
    put_u32(&mut bytes, at + 22, 10);
    let central = records(&bytes, CENTRAL)
        .into_iter()
        .find(|&c| bytes[c + 46..].starts_with(b"xl/worksheets/sheet1.xml"))
        .expect("its directory record");
    put_u32(&mut bytes, central + 24, 10);
    let err = refused("both.xlsx", &bytes);
    assert!(matches!(err, ReadError::DamagedPart { .. }), "{err:?}");
    assert!(err.to_string().contains("more than the 10 bytes it declares"), "{err}");
}

#[test]
fn a_dimension_declaring_the_whole_grid_with_few_cells_reads_what_is_there() {
    // Before: refused (or, before the pre-check, a 17-billion-cell grid was allocated).
    let rows = r#"<row r="1" spans="1:16384"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="1048576" spans="1:16384"><c r="XFD1048576"><v>7</v></c></row>"#;
    let bytes = workbook(&sheet_xml("A1:XFD1048576", rows), &shared_strings_xml("2", &["ID", "Name"]));
    let sheet = read("grid.xlsx", &bytes).expect("read");
    assert_eq!(sheet.header, vec!["ID", "Name"]);
    assert_eq!(sheet.rows.len(), 1);
    assert_eq!(sheet.rows[0].sheet_row, 1_048_576);
    assert_eq!(sheet.rows[0].cells.len(), 16_384);
    assert_eq!(sheet.rows[0].cells[16_383], RawCell::Number(7.0));
}

#[test]
fn nul_bytes_in_a_csv_are_named_as_such() {
    let err = refused("nul.csv", b"Name,City\nAnn,Paris\nBob\0,Lyon\n");
    assert!(matches!(err, ReadError::BinaryFile { line: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[test]
fn a_utf16_csv_without_a_byte_order_mark_is_named_as_such() {
    let text = "Name,City\r\nZoë,Zürich\r\n";
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let err = refused("utf16le.csv", &le);
    assert!(matches!(err, ReadError::Utf16WithoutBom { endianness: "little-endian", .. }), "{err:?}");
    assert!(err.to_string().contains("UTF-16"), "{err}");
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let err = refused("utf16be.csv", &be);
    assert!(matches!(err, ReadError::Utf16WithoutBom { endianness: "big-endian", .. }), "{err:?}");
}
