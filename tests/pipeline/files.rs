//! Reading bytes into a `Sheet` the way the app's reader does: the first sheet, the header
//! row as trimmed text, data rows with their 1-based sheet row, text kept as written and
//! Excel dates as date serials; blank rows are dropped.

use super::*;
use calamine::{Data, Reader, Xlsx};
use std::io::Cursor;

pub fn read_xlsx(bytes: &[u8], file_name: &str) -> Sheet {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let (top, _) = range.start().unwrap_or((0, 0));
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(|d| cell(d).as_text().trim().to_string()).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, r) in rows.enumerate() {
        let row = SheetRow { sheet_row: top as usize + i + 2, cells: r.iter().map(cell).collect() };
        if !row.is_blank() {
            out.push(row);
        }
    }
    Sheet {
        file_name: file_name.into(),
        sheet_name: name,
        format: SourceFormat::Xlsx,
        header,
        rows: out,
        warnings: Vec::new(),
    }
}

fn cell(d: &Data) -> RawCell {
    match d {
        Data::Empty => RawCell::Empty,
        Data::String(s) => RawCell::Text(s.as_str().into()),
        Data::Float(f) => RawCell::Number(*f),
        Data::Int(i) => RawCell::Number(*i as f64),
        Data::Bool(b) => RawCell::Bool(*b),
        Data::DateTime(dt) => RawCell::DateSerial(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s.as_str().into()),
        Data::Error(e) => RawCell::Error(format!("{e:?}")),
    }
}

/// Writes `rows` (header first) as an XLSX workbook: every cell text except the
/// Date of Birth column, written as a real date when it holds an ISO date.
pub fn write_xlsx(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for (col, h) in header.iter().enumerate() {
        sheet.write_string(0, col as u16, *h).unwrap();
    }
    for (i, r) in rows.iter().enumerate() {
        for (col, v) in r.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let (row, col16) = ((i + 1) as u32, col as u16);
            match (header[col], Date::parse_iso(v)) {
                ("Date of Birth", Some(d)) => {
                    let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(d.year as u16, d.month, d.day).unwrap();
                    sheet.write_datetime_with_format(row, col16, &dt, &date_format).unwrap();
                }
                _ => {
                    sheet.write_string(row, col16, v).unwrap();
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

#[test]
fn an_xlsx_file_runs_through_the_pipeline_like_the_sheet_it_holds() {
    let crm = crm();
    let rows: Vec<Vec<String>> = mixed_file().iter().map(|r| r.0.to_vec()).collect();
    let bytes = write_xlsx(&T.headers(), &rows);
    let s = read_xlsx(&bytes, "mixed.xlsx");
    assert_eq!(s.rows.len(), 6);
    let from_file = run(&crm, &s, &[]);
    let from_sheet = run(&crm, &sheet(&mixed_file()), &[]);
    assert!(from_file.validated.issues.is_empty(), "{:?}", from_file.validated.issues);
    assert_eq!(from_file.validated.rows[0].fields(&T).date(Field::DateOfBirth), Date::new(1980, 5, 17));
    assert_eq!(from_file.plan.counts, from_sheet.plan.counts);
    assert_eq!(from_file.plan.changes, from_sheet.plan.changes);
}

/// CSV bytes as a `Sheet` (comma-delimited UTF-8; every cell is text). Stands in for the
/// app's reader until `read::read_sheet` is available.
pub fn read_csv(bytes: &[u8], file_name: &str) -> Sheet {
    // One record per line (the fixtures have no line breaks inside quotes), so that each
    // row keeps its line number.
    let text = std::str::from_utf8(bytes).unwrap();
    let parse = |line: &str| -> Vec<String> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
        reader.records().next().map(|r| r.unwrap().iter().map(str::to_string).collect()).unwrap_or_default()
    };
    let mut lines = text.lines();
    let header = parse(lines.next().unwrap()).into_iter().map(|h| h.trim().to_string()).collect();
    let rows = lines
        .enumerate()
        .map(|(i, line)| SheetRow {
            sheet_row: i + 2,
            cells: parse(line).iter().map(|c| text_cell(c)).collect(),
        })
        .filter(|r| !r.is_blank())
        .collect();
    Sheet {
        file_name: file_name.into(),
        sheet_name: String::new(),
        format: SourceFormat::Csv { delimiter: b',' },
        header,
        rows,
        warnings: Vec::new(),
    }
}

#[test]
fn a_csv_file_with_its_own_column_order_quoted_commas_and_lower_case_values_plans_correctly() {
    let crm = crm();
    let csv = "Public ID,Last Name,First Name,Client Reference,Detail Type,Label,Address Line 1,City,Region,Postcode,Country,Primary,Extra\r\n\
               CD-0000001,Álvarez,José,CR-001,address,Home,\"1 Main St, Apt 2\",Springfield,MA,02134,US,yes,ignored\r\n\
               ,Johnson,Mary,CR-003,phone,,,,,,,no,\r\n\
               \r\n\
               ,Lee,Ann,,email,,,,,,,,\r\n";
    let s = read_csv(csv.as_bytes(), "edit.csv");
    let m = map_headers(&T, &s.header, &BTreeMap::new());
    assert_eq!(m.ignored, vec!["Extra".to_string()]);
    let r = run(&crm, &s, &[]);
    // Row 3 is a phone row without a phone (G3: the file's Phone column is absent, so no
    // cell); row 5 (after a blank line) an email row without email and no identifier.
    let codes: Vec<(usize, IssueCode)> = r.validated.issues.iter().map(|i| (i.row, i.code)).collect();
    assert_eq!(codes, vec![(3, IssueCode::PhoneMissing), (5, IssueCode::EmailMissing)]);
    assert!(r.validated.issues.iter().all(|i| i.cell.is_none()), "absent columns have no cell");
    assert_eq!(r.plan.rows[0].action, RowAction::Update);
    assert_eq!(r.plan.rows[0].changes, vec![change("Address Line 1", "1 Main St", "1 Main St, Apt 2")]);
    assert_eq!(r.plan.rows[1].action, RowAction::Error);
    assert_eq!(put_details(&r.plan)[0].fields.postcode, "02134");
}

#[test]
fn leading_zeros_of_text_identifiers_survive_the_file() {
    let crm = crm();
    let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "000123", "").address(
        "Home",
        "9 Pine Rd",
        "Salem",
        "01970",
    );
    let bytes = write_xlsx(&T.headers(), &[row.0.to_vec()]);
    let r = run(&crm, &read_xlsx(&bytes, "zeros.xlsx"), &[]);
    let e = put_entries(&r.plan)[0];
    assert_eq!(e.client_reference.as_deref(), Some("000123"));
    assert_eq!(put_details(&r.plan)[0].fields.postcode, "01970");
}
