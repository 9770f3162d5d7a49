//! The CSV reader's tests: encodings, delimiters, Excel row numbers, exact text, and the
//! quotes that must never swallow rows silently.

use super::csv::file_stem;
use super::*;
use crate::core::sheet::RawCell;

fn txt(s: &str) -> RawCell {
    RawCell::Text(s.into())
}

#[test]
fn csv_utf8_with_and_without_bom_keeps_text_exactly() {
    for prefix in [&b""[..], &[0xEF, 0xBB, 0xBF][..]] {
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice("SSN,Name\n012-34-5678,José\n007, padded \n".as_bytes());
        let s = read_sheet("a.csv", &bytes).unwrap();
        assert_eq!(s.header, vec!["SSN", "Name"], "a BOM must not stick to the first header");
        assert_eq!(s.rows[0].cells, vec![txt("012-34-5678"), txt("José")]);
        assert_eq!(s.rows[1].cells, vec![txt("007"), txt(" padded ")]);
        assert!(s.warnings.is_empty());
        assert_eq!((s.rows[0].sheet_row, s.rows[1].sheet_row), (2, 3));
        assert_eq!(s.sheet_name, "a");
    }
}

#[test]
fn csv_leading_zeros_dates_and_numbers_stay_text() {
    let s = read_sheet("z.csv", b"Zip,Born,Amount,Empty,Last\n01234,1980-05-17,1e3,,x\n").unwrap();
    assert_eq!(s.rows[0].cells, vec![txt("01234"), txt("1980-05-17"), txt("1e3"), RawCell::Empty, txt("x"),]);
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
        assert_eq!(s.rows[0].cells, vec![txt("Zoë"), txt("Zürich")]);
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
    assert_eq!(s.rows[0].cells[0], txt("José"));
    assert_eq!(s.rows[0].cells[1], txt("São Paulo"));
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
        assert_eq!(s.rows[0].cells[0], txt(first));
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
    assert_eq!(s.rows[0].cells[1], txt("1 Main St\r\nFlat 2"));
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
fn no_row_is_lost_and_rows_are_numbered_like_excel_whatever_the_quoting() {
    // Records of awkward fields, quoted as a writer would, with blank lines between some:
    // every record comes back, exactly, on the row Excel shows it on.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let pieces = ["a", "Zoë", " ", ",", ";", "\"", "\n", "\r\n", "x y", "0", "=1"];
    for _ in 0..200 {
        let mut text = String::from("H1,H2,H3\n");
        let mut expected = Vec::new();
        let mut row = 2;
        for _ in 0..next(12) {
            for _ in 0..next(3) {
                text.push('\n');
                row += 1;
            }
            let fields: Vec<String> = (0..3)
                .map(|_| (0..1 + next(3)).map(|_| pieces[next(pieces.len() as u64) as usize]).collect())
                .collect();
            let written: Vec<String> = fields
                .iter()
                .map(|f| {
                    if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') {
                        format!("\"{}\"", f.replace('"', "\"\""))
                    } else {
                        f.clone()
                    }
                })
                .collect();
            text.push_str(&written.join(","));
            text.push('\n');
            if fields.iter().any(|f| !f.trim().is_empty()) {
                expected.push((row, fields));
            }
            row += 1;
        }
        let sheet = read_sheet("p.csv", text.as_bytes()).unwrap();
        let got: Vec<(usize, Vec<String>)> =
            sheet.rows.iter().map(|r| (r.sheet_row, (0..3).map(|c| r.cell(c).as_text()).collect())).collect();
        assert_eq!(got, expected, "{text:?}");
    }
}

#[test]
fn a_quoted_value_spanning_over_100_lines_or_128_kib_is_refused_naming_its_row() {
    let many_lines = format!("A,B\n1,\"{}\"\n2,x\n", "line\n".repeat(101));
    let err = read_sheet("lines.csv", many_lines.as_bytes()).unwrap_err();
    assert!(matches!(err, ReadError::RunawayQuotedField { row: 2, line_breaks: 101, .. }), "{err:?}");
    assert!(err.to_string().contains("lines.csv") && err.to_string().contains("row 2"), "{err}");
    let long = format!("A,B\n1,x\n2,\"{}\n{}\"\n", "a".repeat(70_000), "b".repeat(70_000));
    let err = read_sheet("long.csv", long.as_bytes()).unwrap_err();
    assert!(matches!(err, ReadError::RunawayQuotedField { row: 3, line_breaks: 1, .. }), "{err:?}");
    // A long value on one line, or a few lines of an address, are values, not runaways.
    let fine = format!("A,B\n1,\"{}\"\n2,\"1 Main St\nFlat 2\nBoston\"\n", "a".repeat(200_000));
    let sheet = read_sheet("fine.csv", fine.as_bytes()).unwrap();
    assert_eq!(sheet.rows.len(), 2);
    assert_eq!(sheet.rows[1].cell(1).as_text(), "1 Main St\nFlat 2\nBoston");
}

#[test]
fn an_unclosed_quote_names_the_row_where_it_opens_counting_rows_like_excel() {
    // Row 2 holds a quoted line break (one row, two lines); the stray quote is on row 4.
    let text = "A,B\n1,\"x\ny\"\n\n2,\"never closed\n3,z\n";
    let err = read_sheet("open.csv", text.as_bytes()).unwrap_err();
    assert!(matches!(err, ReadError::UnclosedQuote { row: 4, .. }), "{err:?}");
    assert!(err.to_string().starts_with("open.csv: the quote that opens on row 4"), "{err}");
}
