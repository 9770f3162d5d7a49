//! The XLSX reader's tests: what a workbook's cells become, which sheet is read, and every
//! declaration or placement that is refused — or, where nothing is allocated from it, read.

use std::io::{Cursor, Read, Write};

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::zip::check_declared_sizes;
use super::*;
use crate::core::date::Date;
use crate::core::sheet::RawCell;

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
    let mut zip = ::zip::ZipArchive::new(Cursor::new(original)).unwrap();
    let mut out = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.start_file(name.clone(), ::zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(&edit(&name, buf)).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// Rewrites one XML part of a workbook as text.
fn edit_part(original: &[u8], part: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    rebuild_zip(
        original,
        |name, buf| {
            if name == part {
                edit(String::from_utf8(buf).unwrap()).into_bytes()
            } else {
                buf
            }
        },
    )
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
    assert_eq!(sheet.rows[0].cells, vec![RawCell::Text("  padded  ".into()), RawCell::Text("=1+1".into())]);
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
    // Error values, integers, shared strings, ISO-dated cells (t="d") and durations ([h]:mm),
    // written into the sheet's XML as Excel writes them.
    let bytes = edit_part(&xlsx_fixture(), SHEET1, |xml| {
        xml.replace(
            "</sheetData>",
            "<row r=\"9\"><c r=\"A9\" t=\"e\"><v>#N/A</v></c><c r=\"B9\"><v>12</v></c>\
             <c r=\"C9\" t=\"d\"><v>2024-01-02</v></c><c r=\"D9\" s=\"9\"><v>1.5</v></c>\
             <c r=\"E9\" t=\"s\"><v>2</v></c><c r=\"F9\" t=\"str\"><f>A1</f><v>x_x000D_y</v></c>\
             <c r=\"G9\" t=\"inlineStr\"><is><r><t xml:space=\"preserve\"> in</t></r><r><t>line </t></r></is></c></row></sheetData>",
        )
    });
    let bytes = edit_part(&bytes, "xl/styles.xml", |xml| {
        let xml = if xml.contains("<numFmts") {
            xml.replacen("</numFmts>", "<numFmt numFmtId=\"200\" formatCode=\"[h]:mm\"/></numFmts>", 1)
        } else {
            xml.replacen(
                "<fonts",
                "<numFmts count=\"1\"><numFmt numFmtId=\"200\" formatCode=\"[h]:mm\"/></numFmts><fonts",
                1,
            )
        };
        // Cell format 9 is the duration, whatever formats come before it.
        let start = xml.find("<cellXfs").unwrap();
        let end = xml[start..].find("</cellXfs>").unwrap() + start;
        let count = xml[start..end].matches("<xf ").count();
        let padding: String = (count..9).map(|_| "<xf numFmtId=\"0\"/>").collect();
        format!("{}{padding}<xf numFmtId=\"200\"/>{}", &xml[..end], &xml[end..])
    });
    // In a 1904 workbook a duration is still a number of days, not a date to move.
    let in_1904 = edit_part(&bytes, "xl/workbook.xml", |xml| {
        if xml.contains("<workbookPr") {
            xml.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1)
        } else {
            xml.replacen("<bookViews>", "<workbookPr date1904=\"1\"/><bookViews>", 1)
        }
    });
    let row_1904 =
        read_sheet("mac.xlsx", &in_1904).unwrap().rows.into_iter().find(|r| r.sheet_row == 9).unwrap();
    assert_eq!(row_1904.cells[3], RawCell::Number(1.5));
    let sheet = read_sheet("kinds.xlsx", &bytes).unwrap();
    let row = sheet.rows.iter().find(|r| r.sheet_row == 9).unwrap();
    assert_eq!(
        row.cells,
        vec![
            RawCell::Error("#N/A".into()),
            RawCell::Number(12.0),
            RawCell::Text("2024-01-02".into()),
            RawCell::Number(1.5),
            RawCell::Text("Date of Birth".into()),
            RawCell::Text("x\ry".into()),
            RawCell::Text(" inline".into()),
        ]
    );
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
fn a_zip_bomb_is_refused_before_it_is_unpacked() {
    let mut out = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    out.start_file("xl/worksheets/sheet1.xml", ::zip::write::SimpleFileOptions::default()).unwrap();
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
fn entries_declaring_more_than_2_gib_in_total_or_1_gib_in_one_part_are_refused() {
    // Pictures compress about 1:1: 26 parts of 80 MiB exceed 2 GiB unpacked, 25 do not.
    let names: Vec<String> = (0..26).map(|i| format!("xl/media/image{i}.png")).collect();
    let entry = |i: usize| (names[i].as_str(), 80u64 << 20, 79u64 << 20);
    let err = check_declared_sizes("many.xlsx", (0..26).map(entry)).unwrap_err();
    assert!(matches!(err, ReadError::ZipBomb { .. }), "{err:?}");
    assert!(err.to_string().contains("many.xlsx") && err.to_string().contains("in total"), "{err}");
    assert!(check_declared_sizes("ok.xlsx", (0..25).map(entry)).is_ok());
    // A 30 MiB part compressed 50× is fine; compressed 200× it is not.
    let part = |compressed| [("x", 30u64 << 20, compressed)];
    assert!(check_declared_sizes("a.xlsx", part((30 << 20) / 50).into_iter()).is_ok());
    assert!(check_declared_sizes("b.xlsx", part((30 << 20) / 200).into_iter()).is_err());
    // One part over 1 GiB, however it is compressed.
    let err = check_declared_sizes(
        "c.xlsx",
        [("xl/worksheets/sheet1.xml", (1u64 << 30) + 1, 1u64 << 29)].into_iter(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("sheet1.xml") && err.to_string().contains("1024.0 MiB"), "{err}");
}

#[test]
fn a_worksheet_declaring_the_whole_grid_reads_the_cells_it_holds() {
    // The dimension is checked against Excel's grid, never used to size anything: a sheet
    // declaring all 17 billion cells is read for the few it holds, at once.
    let bytes =
        edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", "A1:XFD1048576"));
    let sheet = read_sheet("big.xlsx", &bytes).unwrap();
    assert_eq!(sheet.rows.len(), 2);
    assert_eq!(sheet.header, vec!["Client Reference", "Amount", "Date of Birth", "Primary"]);
}

#[test]
fn declared_dimensions_past_the_grid_are_refused() {
    for range in ["A1:A1048577", "A1:XFE1", "A1:ZZZZZZZZZZZZZZ99999999999999999999999"] {
        let bytes = edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", range));
        let err = read_sheet("dim.xlsx", &bytes).unwrap_err();
        assert!(matches!(err, ReadError::DeclaredDimensionsTooLarge { .. }), "{range}: {err:?}");
        let message = err.to_string();
        assert!(
            message.contains("dim.xlsx") && message.contains("\"Contacts\"") && message.contains("1,048,576"),
            "{message}"
        );
    }
    // Twenty columns over a million rows is within the grid.
    let bytes =
        edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", "A1:T1000001"));
    assert!(read_sheet("ok.xlsx", &bytes).is_ok());
}

#[test]
fn a_backwards_or_garbage_dimension_is_refused() {
    for range in ["B5:A1", "A1:B2:C3", "!!", ""] {
        let bytes = edit_part(&xlsx_fixture(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", range));
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
    let bytes =
        edit_part(&wb.save_to_buffer().unwrap(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", "A1"));
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
    let bytes =
        edit_part(&wb.save_to_buffer().unwrap(), SHEET1, |xml| set_attribute(&xml, "<dimension ref", "A1"));
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
    let bytes = edit_part(&xlsx_fixture(), "xl/sharedStrings.xml", |xml| xml[..xml.len() / 2].to_string());
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
    let mut other_zip = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    other_zip.start_file("hello.txt", ::zip::write::SimpleFileOptions::default()).unwrap();
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
fn sheet_names_prefixes_entities_and_relative_targets_are_followed() {
    // Prefixed tags (x:sheet), an entity in the sheet name, a relative target with "..".
    let bytes = edit_part(&xlsx_fixture(), "xl/workbook.xml", |xml| {
        xml.replace(
            "<sheet ",
            "<x:sheet xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" ",
        )
        .replace("name=\"Contacts\"", "name=\"A &amp; B\"")
    });
    let bytes = edit_part(&bytes, "xl/_rels/workbook.xml.rels", |xml| {
        xml.replace("Target=\"worksheets/sheet1.xml\"", "Target=\"../xl/./worksheets/sheet1.xml\"")
    });
    let sheet = read_sheet("names.xlsx", &bytes).unwrap();
    assert_eq!(sheet.sheet_name, "A & B");
    assert_eq!(sheet.rows.len(), 2);
    assert_eq!(xlsx::resolve_target("xl/", "../xl/worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
    assert_eq!(xlsx::resolve_target("xl/", "/xl/worksheets/s.xml"), "xl/worksheets/s.xml");
}

#[test]
fn zip64_records_data_descriptors_and_stored_parts_are_read() {
    let original = xlsx_fixture();
    let expected = read_sheet("f.xlsx", &original).unwrap();
    let mut zip = ::zip::ZipArchive::new(Cursor::new(&original[..])).unwrap();
    let parts: Vec<(String, Vec<u8>)> = (0..zip.len())
        .map(|i| {
            let mut e = zip.by_index(i).unwrap();
            let mut buf = Vec::new();
            e.read_to_end(&mut buf).unwrap();
            (e.name().unwrap().to_string(), buf)
        })
        .collect();
    let options = [
        ::zip::write::SimpleFileOptions::default().large_file(true),
        ::zip::write::SimpleFileOptions::default().compression_method(::zip::CompressionMethod::Stored),
    ];
    for options in options {
        let mut out = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in &parts {
            out.start_file(name.as_str(), options).unwrap();
            out.write_all(content).unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        assert_eq!(read_sheet("f.xlsx", &bytes).unwrap(), expected, "{options:?}");
    }
    // Written to a stream, the sizes follow the data (general-purpose flag bit 3).
    let mut out = ::zip::ZipWriter::new_stream(Vec::new());
    for (name, content) in &parts {
        out.start_file(name.as_str(), ::zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(content).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    assert_eq!(read_sheet("f.xlsx", &bytes).unwrap(), expected);
}

#[test]
fn an_inline_string_is_the_value_whatever_the_cell_type_says() {
    let bytes = edit_part(&xlsx_fixture(), SHEET1, |xml| {
        xml.replace(
            "</sheetData>",
            "<row r=\"9\"><c r=\"A9\"><is><t>loose</t></is></c><c r=\"B9\" t=\"inlineStr\"/><c r=\"C9\" t=\"inlineStr\"><v>7</v></c><c r=\"D9\">x</c></row></sheetData>",
        )
    });
    let sheet = read_sheet("inline.xlsx", &bytes).unwrap();
    let row = sheet.rows.iter().find(|r| r.sheet_row == 9).unwrap();
    assert_eq!(row.cells, vec![RawCell::Text("loose".into())]);
}

#[test]
fn xlsx_reads_the_first_visible_worksheet() {
    let mut wb = Workbook::new();
    wb.add_worksheet().set_name("Hidden").unwrap().set_hidden(true).write_string(0, 0, "No").unwrap();
    // Excel cannot hide the active sheet: the visible one is made active.
    wb.add_worksheet().set_name("Data").unwrap().set_active(true).write_string(0, 0, "Yes").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let mut zip = ::zip::ZipArchive::new(Cursor::new(&bytes[..])).unwrap();
    let mut workbook_xml = String::new();
    zip.by_name("xl/workbook.xml").unwrap().read_to_string(&mut workbook_xml).unwrap();
    assert!(workbook_xml.contains("state=\"hidden\""), "{workbook_xml}");
    let sheet = read_sheet("hidden.xlsx", &bytes).unwrap();
    assert_eq!(sheet.sheet_name, "Data");
    assert_eq!(sheet.header, vec!["Yes"]);
}
