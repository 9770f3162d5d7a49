//! The snapshot's tests: round trips of awkward values, and every refusal with the exact
//! message (sheet, cell, expectation) it gives. The workbooks are read back with calamine
//! and edited as grids, so the reader is checked against another program's view of them.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};

use super::layout::JSON_PART_LENGTH;
use super::row::parse_cents;
use super::write::{format_cents, split_for_cells};
use super::*;
use crate::core::date::Date;
use crate::core::demo::{demo_crm, DEMO_SEED};
use crate::core::ledger::{LedgerEntry, LedgerFile};
use crate::core::model::{
    public_id_for, BeforeImage, Case, Crm, CrmEntry, DetailKind, ImportCounts, ImportRecord, Insurance,
    InsuranceStatus, Operator, Portfolio, Record, RecordKey,
};
use crate::core::privacy::{FullSsns, Ssn};

fn demo() -> Crm {
    demo_crm(DEMO_SEED, 1)
}

fn round_trip(crm: &Crm) -> Crm {
    let bytes = write_snapshot(crm).expect("the snapshot is written");
    read_snapshot("round-trip.xlsx", &bytes).expect("the snapshot is read back")
}

/// The demo CRM with the values most likely to be mangled on the way through Excel.
fn crm_with_awkward_values() -> Crm {
    let mut crm = demo();
    let entry = crm.entries.get_mut(&1).expect("entry 1");
    entry.first_name = "Zoë José".to_string();
    entry.last_name = "Müller-Åberg O'Brien Nguyễn".to_string();
    entry.client_reference = Some("CR-00000042".to_string());
    entry.ssn = Ssn::parse("012-34-5678");
    entry.date_of_birth = Date::new(1899, 12, 31);
    let detail = crm.details.get_mut(&public_id_for(1)).expect("detail 1");
    detail.kind = DetailKind::Address;
    detail.fields.label = "=1+1".to_string();
    detail.fields.postcode = "02134".to_string();
    detail.fields.address_line2 = "-5th floor".to_string();
    detail.fields.city = "@Boston\r\nMA\t ".to_string();
    detail.fields.phone = "+1 617 555 0142".to_string();
    crm.portfolios.insert(
        5,
        Portfolio {
            id: 5,
            name: "Temp — export".to_string(),
            owner_login: None,
            temporary: true,
            case_ids: vec![3, 1, 2],
        },
    );
    crm.counters.next_portfolio_id = 9;
    crm.operators.insert(
        "dnoroles".to_string(),
        Operator { login: "dnoroles".to_string(), name: "Dana No-Roles".to_string(), roles: Vec::new() },
    );
    let device = crm.devices.values_mut().next().expect("a device");
    device.insurance = Insurance {
        status: Some(InsuranceStatus::Enrolled),
        policy_number: Some("0007".to_string()),
        coverage_amount_cents: Some(123_456_789),
        coverage_type: Some("Theft".to_string()),
        start: Date::new(2024, 2, 29),
        end: Date::new(2025, 2, 28),
    };
    let user = crm.school_users.values_mut().next().expect("a user");
    user.insurance.coverage_amount_cents = Some(-5);
    // An import whose before-images do not fit one cell: a portfolio with many cases.
    let big_portfolio = Portfolio {
        id: 1,
        name: "North East Individual".to_string(),
        owner_login: Some("amartin".to_string()),
        temporary: false,
        case_ids: (1..=12_000).collect(),
    };
    let entry_before = crm.entries[&2].clone();
    crm.imports.insert(
        1,
        ImportRecord {
            id: 1,
            template_id: "insured-contact-details".to_string(),
            operator_login: "bsilva".to_string(),
            applied_at_ms: 1_726_567_890_123,
            file_name: "Insured CRM Export — José.xlsx".to_string(),
            sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string(),
            counts: ImportCounts { created: 1, updated: 2, added: 3, unchanged: 4, skipped: 5, errors: 6 },
            before_images: vec![
                BeforeImage {
                    key: RecordKey { kind: crate::core::model::EntityKind::Entry, id: "2".to_string() },
                    before: Some(Record::Entry(entry_before)),
                },
                BeforeImage {
                    key: RecordKey { kind: crate::core::model::EntityKind::Portfolio, id: "1".to_string() },
                    before: Some(Record::Portfolio(big_portfolio)),
                },
                BeforeImage {
                    key: RecordKey {
                        kind: crate::core::model::EntityKind::Detail,
                        id: public_id_for(99_999),
                    },
                    before: None,
                },
            ],
            undone: false,
        },
    );
    crm.imports.insert(
        2,
        ImportRecord {
            id: 2,
            template_id: "device-insurance".to_string(),
            operator_login: "amartin".to_string(),
            applied_at_ms: 1_726_600_000_000,
            file_name: "devices.csv".to_string(),
            sha256: "00".repeat(32),
            counts: ImportCounts::default(),
            before_images: Vec::new(),
            undone: true,
        },
    );
    crm.counters.next_import_id = 3;
    let export = FullSsns { bytes: b"an export".to_vec(), ssns: 12 };
    for entry in [
        LedgerEntry::reveal("bsilva", 1_726_600_000_001, 2, "=Ana \"Zé\" Souza"),
        LedgerEntry::file(
            "amartin",
            1_726_600_000_002,
            LedgerFile::InsuredExport,
            "=export — José.xlsx",
            &export,
        )
        .expect("a file with SSNs"),
        LedgerEntry::reveal("bsilva", 1_726_600_000_003, 99_999, ""),
    ] {
        crm.ledger.insert(entry.id.clone(), entry);
    }
    crm
}

type Grid = Vec<Vec<Data>>;

/// Every sheet of a workbook as a grid of calamine cells (tests only).
fn grids_of(bytes: &[u8]) -> Vec<(String, Grid)> {
    let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("a workbook");
    let names = xlsx.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = xlsx.worksheet_range(&name).expect("a sheet");
            let grid = range.rows().map(<[Data]>::to_vec).collect();
            (name, grid)
        })
        .collect()
}

/// Writes grids back as a workbook, plainly (tests only).
fn workbook_of(grids: &[(String, Grid)]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (name, grid) in grids {
        let sheet = workbook.add_worksheet();
        sheet.set_name(name).expect("a sheet name");
        for (r, row) in grid.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                let written = match cell {
                    Data::String(s) => sheet.write_string(r, c, s).map(|_| ()),
                    Data::Float(f) => sheet.write_number(r, c, *f).map(|_| ()),
                    Data::Int(i) => sheet.write_number(r, c, *i as f64).map(|_| ()),
                    Data::Bool(b) => sheet.write_boolean(r, c, *b).map(|_| ()),
                    Data::DateTime(d) => sheet.write_number_with_format(r, c, d.as_f64(), &date).map(|_| ()),
                    _ => Ok(()),
                };
                written.expect("a cell");
            }
        }
    }
    workbook.save_to_buffer().expect("a workbook")
}

fn grid<'a>(grids: &'a mut [(String, Grid)], sheet: &str) -> &'a mut Grid {
    &mut grids.iter_mut().find(|(n, _)| n == sheet).expect("the sheet").1
}

/// Sets one cell, named like `F12`, growing the grid as needed.
fn set(grids: &mut [(String, Grid)], sheet: &str, cell: &str, value: Data) {
    let col = (cell.as_bytes()[0] - b'A') as usize;
    let row: usize = cell[1..].parse::<usize>().expect("a row number") - 1;
    let g = grid(grids, sheet);
    while g.len() <= row {
        g.push(Vec::new());
    }
    while g[row].len() <= col {
        g[row].push(Data::Empty);
    }
    g[row][col] = value;
}

/// The demo snapshot's grids, written and read once for all the refusal tests.
fn demo_grids() -> Vec<(String, Grid)> {
    static GRIDS: std::sync::OnceLock<Vec<(String, Grid)>> = std::sync::OnceLock::new();
    GRIDS.get_or_init(|| grids_of(&write_snapshot(&demo()).expect("the snapshot is written"))).clone()
}

/// The message read_snapshot refuses the edited demo snapshot with.
fn refusal(edit: impl FnOnce(&mut Vec<(String, Grid)>)) -> String {
    let mut grids = demo_grids();
    edit(&mut grids);
    match read_snapshot("x.xlsx", &workbook_of(&grids)) {
        Ok(_) => panic!("the edited snapshot was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_demo_crm_survives_a_round_trip_exactly() {
    let crm = demo();
    assert_eq!(round_trip(&crm), crm);
    let crm = demo_crm(7, 2);
    assert_eq!(round_trip(&crm), crm);
}

#[test]
fn accents_formula_like_text_leading_zeros_and_before_images_survive_a_round_trip() {
    let crm = crm_with_awkward_values();
    assert_eq!(round_trip(&crm), crm);
}

#[test]
fn an_empty_crm_survives_a_round_trip() {
    let crm = Crm::default();
    assert_eq!(round_trip(&crm), crm);
}

#[test]
fn line_breaks_control_characters_and_excel_escapes_survive_a_round_trip() {
    let awkward = [
        "a\r\nb",
        "\tx",
        "x\ry",
        "line\nbreak",
        "_x0041_",
        "_x005F_x0041_",
        "  leading",
        "trailing  ",
        " ",
        "<&>\"'",
        "emoji 😀",
        "control\u{1}char",
        "\u{FEFF}bom",
        "a\u{2028}b",
        "=1+1",
        "+44",
        "-3",
        "@SUM(A1)",
    ];
    let mut crm = Crm::default();
    for (i, text) in awkward.iter().enumerate() {
        let id = i as u32 + 1;
        crm.cases.insert(id, Case { id, reference: format!("CASE-{id:06}"), title: text.to_string() });
    }
    crm.counters.next_case_id = 100;
    assert_eq!(round_trip(&crm), crm);
}

#[test]
fn identifiers_are_text_dates_are_real_dates_and_formula_like_text_stays_text() {
    let grids = grids_of(&write_snapshot(&crm_with_awkward_values()).expect("written"));
    let sheet = |name: &str| &grids.iter().find(|(n, _)| n == name).expect("the sheet").1;
    let names: Vec<&str> = grids.iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<&str> = SNAPSHOT_SHEETS.iter().map(|l| l.name).collect();
    assert_eq!(names, expected);
    let about = sheet("About");
    assert_eq!(about[1], vec![Data::String("Format".into()), Data::String(FORMAT_NAME.into())]);
    let entries = sheet("CRM Entries");
    assert_eq!(entries[1][1], Data::String("CR-00000042".into()));
    assert!(matches!(entries[2][5], Data::DateTime(_)), "{:?}", entries[2][5]);
    // A date Excel cannot show is ISO text.
    assert_eq!(entries[1][5], Data::String("1899-12-31".into()));
    let details = sheet("Contact Details");
    assert_eq!(details[1][3], Data::String("=1+1".into()));
    assert_eq!(details[1][9], Data::String("02134".into()));
    // The big before-image is cut into parts that each fit a cell.
    let parts = sheet("Import Before Images");
    assert!(parts.len() >= 3, "{} rows", parts.len());
    for row in &parts[1..] {
        let Data::String(json) = &row[2] else { panic!("JSON part is not text: {:?}", row[2]) };
        assert!(json.encode_utf16().count() <= JSON_PART_LENGTH);
    }
}

#[test]
fn json_parts_never_split_a_character() {
    let text = "aé😀".repeat(1000);
    for max in [1, 2, 3, 7, 100] {
        let parts = split_for_cells(&text, max.max(2));
        assert_eq!(parts.concat(), text);
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= max.max(2)));
    }
    assert!(split_for_cells("", 10).is_empty());
}

#[test]
fn amounts_parse_with_at_most_two_decimals() {
    assert_eq!(parse_cents("1099"), Some(109_900));
    assert_eq!(parse_cents("1099.5"), Some(109_950));
    assert_eq!(parse_cents("-0.05"), Some(-5));
    assert_eq!(parse_cents("1.234"), None);
    assert_eq!(parse_cents("1,099.00"), None);
    assert_eq!(parse_cents("."), None);
    assert_eq!(format_cents(-5), "-0.05");
    assert_eq!(format_cents(123_456), "1234.56");
}

#[test]
fn reading_is_pure_and_repeatable() {
    let bytes = write_snapshot(&demo()).expect("written");
    let copy = bytes.clone();
    let first = read_snapshot("a.xlsx", &bytes).expect("read");
    let second = read_snapshot("a.xlsx", &bytes).expect("read");
    assert_eq!(first, second);
    assert_eq!(bytes, copy);
}

#[test]
fn the_test_harness_round_trips_an_unedited_snapshot() {
    let grids = demo_grids();
    assert_eq!(read_snapshot("x.xlsx", &workbook_of(&grids)).expect("read"), demo());
}

#[test]
fn a_bad_date_is_refused_naming_the_sheet_and_cell() {
    let message = refusal(|g| set(g, "CRM Entries", "F12", Data::String("31/02/1990".into())));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx", sheet "CRM Entries", cell F12: expected a date, found "31/02/1990""#
    );
}

#[test]
fn a_wrong_header_is_refused_naming_the_header_cell_and_the_expected_header() {
    let message = refusal(|g| set(g, "Contact Details", "J1", Data::String("Zip".into())));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx", sheet "Contact Details", cell J1: expected the header "Postcode", found "Zip""#
    );
}

#[test]
fn a_missing_sheet_is_refused() {
    let message = refusal(|g| g.retain(|(name, _)| name != "Devices"));
    assert_eq!(message, r#"Snapshot "x.xlsx" has no sheet "Devices""#);
}

#[test]
fn a_duplicate_id_is_refused_naming_both_cells() {
    let message = refusal(|g| set(g, "Cases", "A3", Data::Float(1.0)));
    assert_eq!(message, r#"Snapshot "x.xlsx", sheet "Cases", cell A3: Case ID 1 is already used in cell A2"#);
}

#[test]
fn a_duplicate_ssn_or_client_reference_is_refused() {
    let crm = demo();
    let with_ssn: Vec<&CrmEntry> = crm.entries.values().filter(|e| e.ssn.is_some()).take(2).collect();
    let first_row = with_ssn[0].id + 1;
    let second_row = with_ssn[1].id + 1;
    let ssn = with_ssn[0].ssn.expect("an SSN");
    let full = ssn.expose_full().to_string();
    let message = refusal(|g| set(g, "CRM Entries", &format!("C{second_row}"), Data::String(full.clone())));
    // The refusal names the SSN masked, never in full.
    assert_eq!(
        message,
        format!(
            r#"Snapshot "x.xlsx", sheet "CRM Entries", cell C{second_row}: SSN XXX-XX-{} is already used in cell C{first_row}"#,
            ssn.last_four()
        )
    );
    for spelling in [full.clone(), full.replace('-', ""), full.replace('-', " ")] {
        assert!(!message.contains(&spelling), "{message}");
    }
    // A cell that is not an SSN is refused without being quoted.
    let message = refusal(|g| set(g, "CRM Entries", "C2", Data::String("912-34-567".into())));
    assert!(message.contains("cell C2") && message.contains("8 digits"), "{message}");
    assert!(!message.contains("912-34-567"), "{message}");
    let message = refusal(|g| {
        set(g, "CRM Entries", "B2", Data::String("CR-1".into()));
        set(g, "CRM Entries", "B900", Data::String("CR-1".into()));
    });
    assert!(
        message.contains(r#"cell B900: Client Reference "CR-1" is already used in cell B2"#),
        "{message}"
    );
}

#[test]
fn an_insureds_entry_that_no_entry_has_is_refused() {
    let message = refusal(|g| set(g, "Insureds", "F2", Data::Float(99_999.0)));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx", sheet "Insureds", cell F2: CRM Entry ID 99999 matches no row of sheet "CRM Entries""#
    );
}

#[test]
fn other_missing_references_are_refused() {
    let message = refusal(|g| set(g, "Contact Details", "B2", Data::Float(12_345.0)));
    assert!(
        message.contains(r#"cell B2: CRM Entry ID 12345 matches no row of sheet "CRM Entries""#),
        "{message}"
    );
    let message = refusal(|g| set(g, "Portfolio Cases", "B2", Data::Float(4_000.0)));
    assert!(message.contains(r#"cell B2: Case ID 4000 matches no row of sheet "Cases""#), "{message}");
    let message = refusal(|g| set(g, "Account Contacts", "B2", Data::String("00.000.000/0001-00".into())));
    assert!(
        message.contains(r#"Account Number "00.000.000/0001-00" matches no row of sheet "Accounts""#),
        "{message}"
    );
    let message = refusal(|g| set(g, "Accounts", "D2", Data::String("zz-nobody".into())));
    assert!(
        message.contains(r#"cell D2: Portfolio "zz-nobody" matches no row of sheet "Operators""#),
        "{message}"
    );
    let message = refusal(|g| set(g, "Portfolios", "C2", Data::String("zz-nobody".into())));
    assert!(
        message.contains(r#"cell C2: Owner Login "zz-nobody" matches no row of sheet "Operators""#),
        "{message}"
    );
}

#[test]
fn a_workbook_without_an_about_sheet_is_foreign() {
    let grids = vec![("Sheet1".to_string(), vec![vec![Data::String("Name".into())]])];
    let message = read_snapshot("book.xlsx", &workbook_of(&grids)).map(|_| ()).unwrap_err().to_string();
    assert_eq!(message, r#"Snapshot "book.xlsx" is not a Roundtrip CRM snapshot: it has no sheet "About""#);
}

#[test]
fn a_workbook_with_another_format_name_is_foreign() {
    let message = refusal(|g| set(g, "About", "B2", Data::String("Someone else's backup".into())));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx" is not a Roundtrip CRM snapshot: About!B2 is "Someone else's backup", not "Roundtrip CRM snapshot""#
    );
}

#[test]
fn another_programs_about_sheet_is_foreign() {
    let message = refusal(|g| set(g, "About", "A1", Data::String("Title".into())));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx" is not a Roundtrip CRM snapshot: About!A1 is "Title", not the header "Item""#
    );
}

#[test]
fn a_newer_format_version_is_refused() {
    let message = refusal(|g| set(g, "About", "B3", Data::Float(3.0)));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx", sheet "About", cell B3: format version "3" is not supported; this version of Roundtrip reads versions 1 and 2"#
    );
}

/// The grids of a snapshot as layout version 1 wrote it: no sheet "PII Ledger" and no row
/// count for it.
fn as_version_1(grids: &mut Vec<(String, Grid)>) {
    grids.retain(|(name, _)| name != "PII Ledger");
    set(grids, "About", "B3", Data::Float(1.0));
    grid(grids, "About").retain(|row| row.first() != Some(&Data::String("Rows in PII Ledger".into())));
}

#[test]
fn a_version_1_snapshot_loads_with_an_empty_ledger() {
    let crm = crm_with_awkward_values();
    assert_eq!(crm.ledger.len(), 3);
    let mut grids = grids_of(&write_snapshot(&crm).expect("written"));
    as_version_1(&mut grids);
    let read = read_snapshot("old.xlsx", &workbook_of(&grids)).expect("a version-1 snapshot is read");
    assert!(read.ledger.is_empty());
    assert_eq!(Crm { ledger: crm.ledger.clone(), ..read }, crm);
}

#[test]
fn a_version_2_snapshot_without_its_ledger_sheet_is_refused() {
    let message = refusal(|g| g.retain(|(name, _)| name != "PII Ledger"));
    assert_eq!(message, r#"Snapshot "x.xlsx" has no sheet "PII Ledger""#);
}

#[test]
fn the_ledger_sheet_holds_no_ssn_and_reads_back() {
    let crm = crm_with_awkward_values();
    let grids = grids_of(&write_snapshot(&crm).expect("written"));
    let ledger = &grids.iter().find(|(n, _)| n == "PII Ledger").expect("the ledger sheet").1;
    assert_eq!(ledger.len(), 4, "a header and three entries");
    let text = format!("{ledger:?}");
    for ssn in crm.entries.values().filter_map(|e| e.ssn) {
        assert!(!text.contains(ssn.expose_full()), "the ledger sheet holds an SSN");
    }
    assert_eq!(round_trip(&crm).ledger, crm.ledger);
}

#[test]
fn a_sheet_shorter_than_about_declares_is_refused() {
    let message = refusal(|g| {
        grid(g, "Contact Details").pop();
    });
    assert!(message.starts_with(r#"Snapshot "x.xlsx", sheet "About", cell B10: expected "#), "{message}");
    assert!(message.contains(r#"rows in sheet "Contact Details", found "#), "{message}");
}

#[test]
fn a_counter_behind_its_records_is_refused() {
    let message = refusal(|g| set(g, "About", "B20", Data::Float(5.0)));
    assert!(
        message.starts_with(
            r#"Snapshot "x.xlsx", sheet "About", cell B20: expected "Next Detail Number" to be at least "#
        ),
        "{message}"
    );
}

#[test]
fn a_value_beyond_the_last_column_is_refused() {
    let message = refusal(|g| set(g, "Cases", "D5", Data::String("note".into())));
    assert_eq!(
        message,
        r#"Snapshot "x.xlsx", sheet "Cases", cell D5: expected nothing after the last column "Title", found "note""#
    );
}

#[test]
fn unknown_kinds_flags_and_ids_are_refused() {
    let message = refusal(|g| set(g, "Contact Details", "C2", Data::String("Fax".into())));
    assert!(message.ends_with(r#"cell C2: expected Address, Phone or Email, found "Fax""#), "{message}");
    let message = refusal(|g| set(g, "Contact Details", "E2", Data::String("Maybe".into())));
    assert!(message.ends_with(r#"cell E2: expected Yes or No, found "Maybe""#), "{message}");
    let message = refusal(|g| set(g, "Cases", "A2", Data::Float(1.5)));
    assert!(message.ends_with(r#"cell A2: expected a whole-number ID, found "1.5""#), "{message}");
    let message = refusal(|g| set(g, "Operators", "C2", Data::String("Admin".into())));
    assert!(message.contains("cell C2: expected roles from ManageSettings, Import, Export"), "{message}");
}

#[test]
fn broken_before_image_json_is_refused() {
    let crm = crm_with_awkward_values();
    let mut grids = grids_of(&write_snapshot(&crm).expect("written"));
    set(&mut grids, "Import Before Images", "C3", Data::String("{not json".into()));
    let message = read_snapshot("x.xlsx", &workbook_of(&grids)).map(|_| ()).unwrap_err().to_string();
    assert!(
        message.starts_with(r#"Snapshot "x.xlsx", sheet "Import Before Images", cell C2: expected the before-images of import 1 as JSON"#),
        "{message}"
    );
}

#[test]
fn a_shared_string_table_declaring_billions_of_strings_is_refused() {
    use std::io::Read;
    const SHARED_STRINGS_PART: &str = "xl/sharedStrings.xml";
    let bytes = write_snapshot(&demo()).expect("written");
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).expect("a zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let entry = archive.by_index(i).expect("an entry");
        if !entry.name().is_ok_and(|n| n == SHARED_STRINGS_PART) {
            out.raw_copy_file(entry).expect("copied");
            continue;
        }
        let mut xml = String::new();
        let mut entry = entry;
        entry.read_to_string(&mut xml).expect("read");
        let at = xml.find("uniqueCount=\"").expect("a uniqueCount") + "uniqueCount=\"".len();
        let end = at + xml[at..].find('"').expect("a closing quote");
        xml.replace_range(at..end, "4000000000");
        out.start_file(SHARED_STRINGS_PART, zip::write::SimpleFileOptions::default()).expect("started");
        std::io::Write::write_all(&mut out, xml.as_bytes()).expect("written");
    }
    let bomb = out.finish().expect("finished").into_inner();
    let message = read_snapshot("strings.xlsx", &bomb).map(|_| ()).unwrap_err().to_string();
    assert!(message.starts_with(r#"Snapshot "strings.xlsx" was refused before reading: "#), "{message}");
    assert!(message.contains(r#"uniqueCount="4,000,000,000""#), "{message}");
}

#[test]
fn bytes_that_are_not_a_zip_are_refused() {
    let message = read_snapshot("notes.txt", b"just some text").map(|_| ()).unwrap_err().to_string();
    assert!(message.starts_with(r#"Snapshot "notes.txt" is not a readable XLSX workbook: "#), "{message}");
}

#[test]
fn a_zip_declaring_more_than_1_gib_in_a_part_is_refused_before_reading() {
    let mut bytes = write_snapshot(&demo()).expect("written");
    // Declare 4 GiB uncompressed in the first central-directory record.
    let at = bytes.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).expect("a central directory");
    bytes[at + 24..at + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let message = read_snapshot("bomb.xlsx", &bytes).map(|_| ()).unwrap_err().to_string();
    assert!(message.starts_with(r#"Snapshot "bomb.xlsx" was refused before reading: "#), "{message}");
    assert!(message.contains("zip bomb"), "{message}");
}

#[test]
fn a_cell_past_excels_last_row_is_refused_naming_the_sheet() {
    use std::io::{Read, Write};
    let bytes = write_snapshot(&demo()).expect("written");
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).expect("a zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    // Sheet 5 is "Cases" (About, Operators, Portfolios, Portfolio Cases, Cases).
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("an entry");
        let name = entry.name().expect("a name").to_string();
        let mut content = String::new();
        entry.read_to_string(&mut content).expect("read");
        if name == "xl/worksheets/sheet5.xml" {
            content = content.replace(
                "</sheetData>",
                "<row r=\"1048577\"><c r=\"A1048577\"><v>1</v></c></row></sheetData>",
            );
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).expect("started");
        out.write_all(content.as_bytes()).expect("written");
    }
    let edited = out.finish().expect("finished").into_inner();
    let message = read_snapshot("far.xlsx", &edited).map(|_| ()).unwrap_err().to_string();
    assert!(
        message.starts_with(
            r#"Snapshot "far.xlsx", sheet "Cases" could not be read: the data reaches row 1,048,577"#
        ),
        "{message}"
    );
}
