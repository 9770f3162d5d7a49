//! Stale exports: an Insured CRM Export carries its export base on a very hidden sheet, and a
//! re-import merges three ways — the file against the base against the CRM now. Files are
//! written by the real export writer and read by the app's reader; edits are made on the
//! `Sheet` (cells changed, rows reordered or deleted) or, where the workbook itself matters
//! (the base sheet removed, damaged or carried through another program's rewrite), by reading
//! the workbook with calamine and writing it again with rust_xlsxwriter.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use super::*;
use calamine::{Data, Reader, Xlsx};
use roundtrip::core::insured::base::{read_export_base, ExportBase, ExportBaseRead, BASE_SHEET};
use roundtrip::core::insured::export::{
    insured_export_rows, portfolio_case_ids, write_insured_export, write_insured_export_with_base,
};
use roundtrip::core::insured::plan::{plan_with_base, TakeFile};
use roundtrip::core::plan::StaleConflict;
use roundtrip::core::read::read_sheet;

const EXPORTED_AT: i64 = 1_700_000_000_000;
const NO_BASE: &str =
    "This file carries no export base: changes made in the CRM since it was exported cannot be detected.";

/// The Insured CRM Export of portfolio 1, with its base.
fn export(crm: &Crm) -> Vec<u8> {
    let index = CrmIndex::new(crm);
    let rows = insured_export_rows(&index, &portfolio_case_ids(crm, 1));
    let base =
        ExportBase::of_export(&index, &rows, 1, EXPORTED_AT, None).expect("the CRM has a digest secret");
    write_insured_export_with_base(&rows, Some(&base)).unwrap()
}

fn read(bytes: &[u8]) -> Sheet {
    read_sheet("export.xlsx", bytes).unwrap()
}

/// Validation, matching (with the base) and the plan with the base.
fn plan_sheet(crm: &Crm, sheet: &Sheet, base: &ExportBaseRead, take: &TakeFile) -> Run {
    let validated = validate(crm, sheet);
    let index = CrmIndex::new(crm);
    let matches = Matcher::new(&T, &index).with_base(base.base()).all(&validated.rows);
    let plan = plan_with_base(crm, &T, &validated, &matches, &[], base, take);
    Run { validated, matches, plan }
}

/// The data row whose `field` cell is `value`.
fn row_where<'s>(sheet: &'s mut Sheet, field: Field, value: &str) -> &'s mut SheetRow {
    sheet.rows.iter_mut().find(|r| r.cell(ix(field)).as_text() == value).expect("a row with that value")
}

fn set(row: &mut SheetRow, field: Field, value: &str) {
    if row.cells.len() < T.columns.len() {
        row.cells.resize(T.columns.len(), RawCell::Empty);
    }
    row.cells[ix(field)] = text_cell(value);
}

/// The planned row of the sheet row whose `field` cell was `value`.
fn planned<'p>(run: &'p Run, sheet: &Sheet, field: Field, value: &str) -> &'p PlannedRow {
    let sheet_row = sheet
        .rows
        .iter()
        .find(|r| r.cell(ix(field)).as_text() == value)
        .expect("a row with that value")
        .sheet_row;
    run.plan.rows.iter().find(|p| p.sheet_row == sheet_row).unwrap()
}

fn conflicts(p: &PlannedRow) -> &[StaleConflict] {
    &p.insured().unwrap().stale_conflicts
}

fn put_phone(crm: &mut Crm, n: u32, phone: &str) {
    let mut d = detail(crm, n).clone();
    d.fields.phone = phone.into();
    crm.put(Record::Detail(d));
}

fn put_last_name(crm: &mut Crm, id: EntryId, last: &str) {
    let mut e = crm.entries[&id].clone();
    e.last_name = last.into();
    crm.put(Record::Entry(e));
}

/// What the plan should do with one field in one combination.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Nothing changes and nothing is reported.
    Nothing,
    /// The file's value applies.
    File,
    /// A conflict keeps the CRM's value.
    Conflict,
}

/// (file's value or None for unchanged, CRM's value or None for unchanged, expected).
const COMBINATIONS: [(Option<&str>, Option<&str>, Expect); 5] = [
    (None, None, Expect::Nothing),
    (Some("FILE"), None, Expect::File),
    (None, Some("CRM"), Expect::Nothing),
    (Some("SAME"), Some("SAME"), Expect::Nothing),
    (Some("FILE"), Some("CRM"), Expect::Conflict),
];

#[test]
fn a_detail_field_merges_three_ways_in_every_combination() {
    for (file, crm_now, expect) in COMBINATIONS {
        let mut crm = crm();
        let bytes = export(&crm);
        let base = read_export_base("export.xlsx", &bytes);
        assert!(base.base().is_some());
        let exported = detail(&crm, 2).fields.phone.clone();
        let value = |v: &str| {
            format!(
                "+1 617 555 {}",
                match v {
                    "FILE" => "0199",
                    "CRM" => "0111",
                    _ => "0150",
                }
            )
        };
        if let Some(v) = crm_now {
            put_phone(&mut crm, 2, &value(v));
        }
        let mut sheet = read(&bytes);
        if let Some(v) = file {
            set(row_where(&mut sheet, Field::PublicId, "CD-0000002"), Field::Phone, &value(v));
        }
        let crm_before = detail(&crm, 2).fields.phone.clone();
        for take in [TakeFile::None, TakeFile::All] {
            let run = plan_sheet(&crm, &sheet, &base, &take);
            let p = planned(&run, &sheet, Field::PublicId, "CD-0000002");
            let case = format!("file {file:?}, CRM {crm_now:?}, {take:?}");
            let puts = put_details(&run.plan);
            let phone_after = puts
                .iter()
                .find(|d| d.public_id == "CD-0000002")
                .map(|d| d.fields.phone.clone())
                .unwrap_or(crm_before.clone());
            match expect {
                Expect::Nothing => {
                    assert_eq!(p.action, RowAction::Unchanged, "{case}");
                    assert!(conflicts(p).is_empty(), "{case}");
                    assert_eq!(phone_after, crm_before, "{case}: the CRM's value stays");
                }
                Expect::File => {
                    assert_eq!(p.action, RowAction::Update, "{case}");
                    assert_eq!(p.changes, vec![change("Phone", &exported, &value("FILE"))], "{case}");
                    assert!(conflicts(p).is_empty(), "{case}");
                }
                Expect::Conflict => {
                    let c = &conflicts(p)[0];
                    assert_eq!(conflicts(p).len(), 1, "{case}");
                    // The conflict shows the CRM's and the file's values: the base holds the
                    // exported one only as a keyed digest.
                    assert_eq!(
                        (c.field.as_str(), c.crm_now.as_str(), c.file.as_str()),
                        ("Phone", value("CRM").as_str(), value("FILE").as_str()),
                        "{case}"
                    );
                    assert!(!c.text().contains(exported.as_str()), "{case}: {}", c.text());
                    if take == TakeFile::None {
                        assert!(!c.file_applies);
                        assert_eq!(p.action, RowAction::Unchanged, "{case}: the CRM's value by default");
                        assert_eq!(phone_after, value("CRM"));
                        assert_eq!(run.plan.stale_conflict_rows().count(), 1);
                    } else {
                        assert!(c.file_applies);
                        assert_eq!(p.action, RowAction::Update, "{case}: the operator took the file's");
                        assert_eq!(phone_after, value("FILE"));
                    }
                }
            }
            assert!(run.plan.notices.is_empty(), "a file with its base has no notice");
        }
    }
}

#[test]
fn an_entry_field_merges_three_ways_in_every_combination() {
    // Peter Brown (entry 4, CR-004) has one row and no detail.
    for (file, crm_now, expect) in COMBINATIONS {
        let mut crm = crm();
        let bytes = export(&crm);
        let base = read_export_base("export.xlsx", &bytes);
        let value = |v: &str| match v {
            "FILE" => "Browning",
            "CRM" => "Braun",
            _ => "Brown-Smith",
        };
        if let Some(v) = crm_now {
            put_last_name(&mut crm, 4, value(v));
        }
        let mut sheet = read(&bytes);
        if let Some(v) = file {
            set(row_where(&mut sheet, Field::ClientReference, "CR-004"), Field::LastName, value(v));
        }
        let crm_before = crm.entries[&4].last_name.clone();
        for take in [TakeFile::None, TakeFile::Rows(BTreeSet::from([0, 1, 2, 3, 4, 5, 6, 7, 8]))] {
            let run = plan_sheet(&crm, &sheet, &base, &take);
            let p = planned(&run, &sheet, Field::ClientReference, "CR-004");
            let case = format!("file {file:?}, CRM {crm_now:?}, {take:?}");
            assert_eq!(p.entry(), Some(4), "{case}");
            let last_after = put_entries(&run.plan)
                .iter()
                .find(|e| e.id == 4)
                .map(|e| e.last_name.clone())
                .unwrap_or(crm_before.clone());
            assert!(
                !p.notes.iter().any(|n| n.contains("differs from the CRM entry")),
                "{case}: the merge decides, no name note: {:?}",
                p.notes
            );
            match expect {
                Expect::Nothing => {
                    assert_eq!(p.action, RowAction::Unchanged, "{case}");
                    assert!(conflicts(p).is_empty(), "{case}");
                    assert_eq!(last_after, crm_before, "{case}");
                }
                Expect::File => {
                    assert_eq!(p.action, RowAction::Update, "{case}");
                    assert_eq!(p.changes, vec![change("Last Name", "Brown", "Browning")], "{case}");
                    assert_eq!(last_after, "Browning");
                }
                Expect::Conflict => {
                    let c = &conflicts(p)[0];
                    assert_eq!(
                        (c.field.as_str(), c.crm_now.as_str(), c.file.as_str()),
                        ("Last Name", "Braun", "Browning"),
                        "{case}"
                    );
                    if take == TakeFile::None {
                        assert_eq!(p.action, RowAction::Unchanged, "{case}");
                        assert_eq!(last_after, "Braun");
                    } else {
                        assert!(c.file_applies);
                        assert_eq!(p.changes, vec![change("Last Name", "Braun", "Browning")], "{case}");
                        assert_eq!(last_after, "Browning");
                    }
                }
            }
        }
    }
}

#[test]
fn a_client_reference_the_file_holds_as_exported_is_no_conflict_when_the_crm_changed_it() {
    let mut crm = crm();
    let bytes = export(&crm);
    let mut e = crm.entries[&1].clone();
    e.client_reference = Some("CR-001-NEW".into());
    crm.put(Record::Entry(e));
    let sheet = read(&bytes);
    // Without the base the stale Client Reference contradicts the entry: a conflict.
    let third_party = plan_sheet(&crm, &sheet, &ExportBaseRead::Absent, &TakeFile::None);
    assert!(third_party.plan.pending_conflicts > 0);
    let run = plan_sheet(&crm, &sheet, &read_export_base("x.xlsx", &bytes), &TakeFile::None);
    assert_eq!(run.plan.pending_conflicts, 0);
    let p = planned(&run, &sheet, Field::PublicId, "CD-0000001");
    assert_eq!((p.entry(), &p.action), (Some(1), &RowAction::Unchanged));
    assert_eq!(run.plan.change_count(), 0, "the entry keeps its new Client Reference");
}

#[test]
fn the_base_sheet_is_very_hidden_holds_no_ssn_and_leaves_the_visible_sheet_as_it_was() {
    let crm = crm();
    let bytes = export(&crm);
    let index = CrmIndex::new(&crm);
    let plain = write_insured_export(&insured_export_rows(&index, &portfolio_case_ids(&crm, 1))).unwrap();
    let (with, without) = (read(&bytes), read(&plain));
    assert_eq!(with.sheet_name, "Insured CRM Export");
    assert_eq!(with.header, T.headers());
    assert_eq!(with.rows, without.rows, "the visible sheet is the same with or without the base");
    let workbook = unzip(&bytes, "xl/workbook.xml");
    assert!(workbook.contains(&format!("name=\"{BASE_SHEET}\"")), "{workbook}");
    assert!(workbook.contains("state=\"veryHidden\""), "{workbook}");
    let base_cells = base_sheet_cells(&bytes).expect("the base sheet");
    let all = base_cells.iter().flatten().cloned().collect::<Vec<_>>().join("|");
    for ssn in ["123-45-6789", "123456789", "234-56-7890", "345-67-8901", "6789"] {
        assert!(!all.contains(ssn), "no SSN in the base: {ssn}");
    }
    let ExportBaseRead::Present(base) = read_export_base("export.xlsx", &bytes) else { panic!("a base") };
    assert_eq!(base.exported_at_ms, EXPORTED_AT);
    assert_eq!(base.export_id.len(), 16);
    assert_eq!(base.entries.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
    assert_eq!(base.details.len(), 5);
    // The detail's type, label and primary flag in plain; its value only as a digest that the
    // CRM's secret can check.
    let d = &base.details["CD-0000002"];
    let exported = &detail(&crm, 2).fields;
    assert_eq!(
        (d.kind, d.label.as_str(), d.primary),
        (detail(&crm, 2).kind, exported.label.as_str(), exported.primary)
    );
    assert!(!d.digests.contains(&exported.phone));
    let opened = base.under(&crm).expect("the CRM's secret wrote the base");
    assert!(opened.detail("CD-0000002").unwrap().holds("Phone", &exported.phone));
    assert!(!opened.detail("CD-0000002").unwrap().holds("Phone", "+1 617 555 0199"));
    assert!(opened.entry(1).unwrap().holds("SSN", "123456789"), "any spelling of the exported SSN");
    assert!(opened.entry(1).unwrap().holds("Client Reference", " cr-001 "));
    assert_eq!(base.entries[&1].digests[3].len(), 8);
    // A CSV, or the same rows without a base, have none.
    assert_eq!(read_export_base("x.csv", b"a,b\n1,2\n"), ExportBaseRead::Absent);
    assert_eq!(read_export_base("x.xlsx", &plain), ExportBaseRead::Absent);
}

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn base_sheet_cells(bytes: &[u8]) -> Option<Vec<Vec<String>>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range(BASE_SHEET).ok()?;
    Some(range.rows().map(|r| r.iter().map(|d| d.to_string()).collect()).collect())
}

/// An edit of the base sheet's cells (`None`: the sheet is dropped).
type BaseEdit<'a> = Option<&'a dyn Fn(&mut Vec<Vec<String>>)>;

/// The workbook as another program would save it: the visible sheet read with calamine and
/// written again (text as text, dates as dates), `edit` applied to its rows; the base sheet
/// copied (very hidden, `edit_base` applied) or dropped when `edit_base` is `None`.
fn rewrite(bytes: &[u8], edit: impl Fn(&mut Vec<Vec<Data>>), edit_base: BaseEdit<'_>) -> Vec<u8> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut rows: Vec<Vec<Data>> =
        wb.worksheet_range("Insured CRM Export").unwrap().rows().map(|r| r.to_vec()).collect();
    edit(&mut rows);
    let mut out = rust_xlsxwriter::Workbook::new();
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let sheet = out.add_worksheet();
    sheet.set_name("Insured CRM Export").unwrap();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match cell {
                Data::Empty => {}
                Data::DateTime(dt) => {
                    let d = Date::from_excel_serial(dt.as_f64()).unwrap();
                    let x = rust_xlsxwriter::ExcelDateTime::from_ymd(d.year as u16, d.month, d.day).unwrap();
                    sheet.write_datetime_with_format(r, c, &x, &date).unwrap();
                }
                other => {
                    sheet.write_string(r, c, other.to_string()).unwrap();
                }
            }
        }
    }
    if let Some(edit_base) = edit_base {
        let mut cells = base_sheet_cells(bytes).unwrap();
        edit_base(&mut cells);
        let base = out.add_worksheet();
        base.set_name(BASE_SHEET).unwrap();
        base.set_very_hidden(true);
        for (r, row) in cells.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    base.write_string(r as u32, c as u16, v).unwrap();
                }
            }
        }
    }
    out.save_to_buffer().unwrap()
}

/// The column of a header in calamine rows.
fn col(rows: &[Vec<Data>], header: &str) -> usize {
    rows[0].iter().position(|d| *d == Data::String(header.into())).unwrap()
}

/// The export with José's phone changed in the CRM after the export and the file's
/// Address Line 2 of CD-0000001 edited: the CRM, the file's bytes.
fn stale_case(edit_base: BaseEdit<'_>) -> (Crm, Vec<u8>) {
    let mut crm = crm();
    let bytes = export(&crm);
    put_phone(&mut crm, 2, "+1 617 555 0111");
    let edited = rewrite(
        &bytes,
        |rows| {
            let (pid, line2) = (col(rows, "Public ID"), col(rows, "Address Line 2"));
            let row = rows.iter_mut().find(|r| r[pid] == Data::String("CD-0000001".into())).unwrap();
            row[line2] = Data::String("Apt 4B".into());
        },
        edit_base,
    );
    (crm, edited)
}

#[test]
fn the_base_survives_a_rewrite_that_keeps_its_sheet_and_the_merge_holds() {
    let keep: &dyn Fn(&mut Vec<Vec<String>>) = &|_| {};
    let (crm, bytes) = stale_case(Some(keep));
    assert!(unzip(&bytes, "xl/workbook.xml").contains("state=\"veryHidden\""));
    let base = read_export_base("edited.xlsx", &bytes);
    let ExportBaseRead::Present(b) = &base else { panic!("{base:?}") };
    assert_eq!(b.exported_at_ms, EXPORTED_AT);
    let sheet = read(&bytes);
    let run = plan_sheet(&crm, &sheet, &base, &TakeFile::None);
    assert!(run.plan.notices.is_empty());
    let phone = planned(&run, &sheet, Field::PublicId, "CD-0000002");
    assert_eq!(phone.action, RowAction::Unchanged, "the CRM's newer phone stays");
    let address = planned(&run, &sheet, Field::PublicId, "CD-0000001");
    assert_eq!(address.changes, vec![change("Address Line 2", "", "Apt 4B")]);
    assert_eq!(run.plan.change_count(), 1);
}

#[test]
fn a_file_whose_base_sheet_was_removed_plans_as_a_third_party_file_with_the_notice() {
    let (crm, bytes) = stale_case(None);
    let base = read_export_base("edited.xlsx", &bytes);
    assert_eq!(base, ExportBaseRead::Absent);
    let sheet = read(&bytes);
    let run = plan_sheet(&crm, &sheet, &base, &TakeFile::None);
    assert_eq!(run.plan.notices, vec![NO_BASE.to_string()]);
    let today = super::run(&crm, &sheet, &[]);
    assert_eq!(run.plan.rows, today.plan.rows, "exactly as a file without a base plans today");
    assert_eq!(run.plan.changes, today.plan.changes);
    // Which is: the file's old phone comes back.
    let phone = planned(&run, &sheet, Field::PublicId, "CD-0000002");
    assert_eq!(phone.changes, vec![change("Phone", "+1 617 555 0111", "+1 617 555 0100")]);
}

#[test]
fn a_damaged_base_plans_as_a_third_party_file_with_the_notice_naming_why() {
    let tamper: &dyn Fn(&mut Vec<Vec<String>>) = &|cells| {
        // The phone's digest of CD-0000002 replaced by another (the 7th of its digests).
        let row = cells.iter_mut().find(|r| r[0].starts_with("Detail|CD-0000002|")).unwrap();
        let mut parts: Vec<String> = row[0].splitn(8, '|').map(str::to_string).collect();
        parts[6].replace_range(6 * 8..7 * 8, "AAAAAAAA");
        let tampered = parts.join("|");
        assert_ne!(tampered, row[0]);
        row[0] = tampered;
    };
    let (crm, bytes) = stale_case(Some(tamper));
    let base = read_export_base("edited.xlsx", &bytes);
    let ExportBaseRead::Damaged(why) = &base else { panic!("{base:?}") };
    assert!(why.contains("checksum"), "{why}");
    let sheet = read(&bytes);
    let run = plan_sheet(&crm, &sheet, &base, &TakeFile::None);
    assert_eq!(run.plan.notices.len(), 1);
    assert!(
        run.plan.notices[0].contains(why.as_str())
            && run.plan.notices[0]
                .contains("changes made in the CRM since it was exported cannot be detected"),
        "{:?}",
        run.plan.notices
    );
    let today = super::run(&crm, &sheet, &[]);
    assert_eq!(run.plan.rows, today.plan.rows);

    // A base sheet that is not a base at all, or cut short, is damaged too.
    let garbage: &dyn Fn(&mut Vec<Vec<String>>) = &|cells| cells[0][0] = "hello".into();
    let (_, bytes) = stale_case(Some(garbage));
    assert!(matches!(read_export_base("x.xlsx", &bytes), ExportBaseRead::Damaged(_)));
    let cut: &dyn Fn(&mut Vec<Vec<String>>) = &|cells| cells.truncate(3);
    let (_, bytes) = stale_case(Some(cut));
    assert!(matches!(read_export_base("x.xlsx", &bytes), ExportBaseRead::Damaged(_)));
}

#[test]
fn rows_reordered_and_a_row_deleted_keep_the_merge_right() {
    let mut crm = crm();
    let bytes = export(&crm);
    let base = read_export_base("export.xlsx", &bytes);
    put_phone(&mut crm, 2, "+1 617 555 0111");
    put_last_name(&mut crm, 4, "Braun");
    let mut sheet = read(&bytes);
    set(row_where(&mut sheet, Field::PublicId, "CD-0000001"), Field::City, "Salem");
    // Sorted by Last Name descending in Excel (rows keep their new positions), the email of
    // John Smith deleted.
    sheet.rows.retain(|r| r.cell(ix(Field::PublicId)).as_text() != "CD-0000004");
    sheet.rows.reverse();
    for (i, r) in sheet.rows.iter_mut().enumerate() {
        r.sheet_row = i + 2;
    }
    let run = plan_sheet(&crm, &sheet, &base, &TakeFile::None);
    assert_eq!(run.plan.change_count(), 1, "{:#?}", run.plan.rows);
    let address = planned(&run, &sheet, Field::PublicId, "CD-0000001");
    assert_eq!(address.changes, vec![change("City", "Springfield", "Salem")]);
    assert_eq!(planned(&run, &sheet, Field::PublicId, "CD-0000002").action, RowAction::Unchanged);
    assert_eq!(planned(&run, &sheet, Field::ClientReference, "CR-004").action, RowAction::Unchanged);
    assert!(run.plan.stale_conflict_rows().next().is_none());
    // The deleted row's detail stays as it is: imports never delete.
    assert!(!put_details(&run.plan).iter().any(|d| d.public_id == "CD-0000004"));
}

#[test]
fn round_trip_a_later_import_survives_an_old_export_edited_elsewhere_and_reimported() {
    let mut crm = crm();
    // Two exports of the same CRM: the old one sits in someone's mailbox.
    let old = export(&crm);
    let later = export(&crm);

    // The later export is edited (a new city for José's address, a new phone) and imported.
    let later_base = read_export_base("later.xlsx", &later);
    let mut sheet = read(&later);
    set(row_where(&mut sheet, Field::PublicId, "CD-0000001"), Field::City, "Salem");
    set(row_where(&mut sheet, Field::PublicId, "CD-0000002"), Field::Phone, "+1 617 555 0111");
    let run = plan_sheet(&crm, &sheet, &later_base, &TakeFile::None);
    assert_eq!(run.plan.change_count(), 2);
    apply_plan(&mut crm, &run.plan);
    assert_eq!(detail(&crm, 1).fields.city, "Salem");

    // The old export is edited elsewhere — one other field, and the phone differently — and
    // re-imported through another program's rewrite.
    let edited = rewrite(
        &old,
        |rows| {
            let (pid, line2, phone) =
                (col(rows, "Public ID"), col(rows, "Address Line 2"), col(rows, "Phone"));
            for row in rows.iter_mut() {
                match row[pid].to_string().as_str() {
                    "CD-0000001" => row[line2] = Data::String("Apt 4B".into()),
                    "CD-0000002" => row[phone] = Data::String("+1 617 555 0199".into()),
                    _ => {}
                }
            }
        },
        Some(&|_| {}),
    );
    let base = read_export_base("old.xlsx", &edited);
    assert!(base.base().is_some());
    let sheet = read(&edited);
    let run = plan_sheet(&crm, &sheet, &base, &TakeFile::None);
    let address = planned(&run, &sheet, Field::PublicId, "CD-0000001");
    assert_eq!(address.changes, vec![change("Address Line 2", "", "Apt 4B")], "the city stays Salem");
    let phone = planned(&run, &sheet, Field::PublicId, "CD-0000002");
    assert_eq!(phone.action, RowAction::Unchanged);
    assert_eq!(
        conflicts(phone),
        [StaleConflict {
            field: "Phone".into(),
            crm_now: "+1 617 555 0111".into(),
            file: "+1 617 555 0199".into(),
            file_applies: false,
        }]
    );
    // The plan report shows it.
    let extras = roundtrip::core::insured::workflow::report_extras(&crm, &run.plan, Some(&run.matches));
    let report = roundtrip::core::report::write_plan_report(&run.validated, &run.plan, &extras).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(report)).unwrap();
    let cells: Vec<String> = wb
        .worksheet_range("Import Plan")
        .unwrap()
        .rows()
        .flat_map(|r| r.iter().map(|d| d.to_string()))
        .collect();
    assert!(cells.iter().any(|c| c == "Changed in the CRM since export"));
    assert!(cells
        .iter()
        .any(|c| c == "Phone: CRM now +1 617 555 0111 / file +1 617 555 0199 (the CRM's kept)"));

    apply_plan(&mut crm, &run.plan);
    assert_eq!(detail(&crm, 1).fields.city, "Salem", "the later change survives");
    assert_eq!(detail(&crm, 1).fields.address_line2, "Apt 4B", "the edited field applies");
    assert_eq!(detail(&crm, 2).fields.phone, "+1 617 555 0111", "the conflict keeps the CRM's value");

    // The operator takes the file's value for that row.
    let mut crm2 = crm.clone();
    put_phone(&mut crm2, 2, "+1 617 555 0111");
    let run = plan_sheet(&crm2, &sheet, &base, &TakeFile::Rows(BTreeSet::from([phone.index])));
    let phone = planned(&run, &sheet, Field::PublicId, "CD-0000002");
    assert_eq!(phone.changes, vec![change("Phone", "+1 617 555 0111", "+1 617 555 0199")]);
}

/// Lower-case hex SHA-256 of a text.
fn sha256(text: &str) -> String {
    roundtrip::core::digest::sha256_hex(text.as_bytes())
}

#[test]
fn an_export_whose_ssn_column_was_deleted_reveals_nothing_the_visible_sheet_does_not() {
    let crm = crm();
    let bytes = export(&crm);
    // The operator deletes the SSN column before sending the file on; the very hidden base
    // travels with it.
    let sent = rewrite(
        &bytes,
        |rows| {
            let ssn = col(rows, "SSN");
            for row in rows.iter_mut() {
                row.remove(ssn);
            }
        },
        Some(&|_| {}),
    );
    // Every personal value of the exported entries and details, in every spelling.
    let base = read_export_base("sent.xlsx", &sent);
    let ExportBaseRead::Present(b) = &base else { panic!("{base:?}") };
    let mut personal: Vec<String> = Vec::new();
    for id in b.entries.keys() {
        let e = &crm.entries[id];
        personal.extend([e.first_name.clone(), e.last_name.clone()]);
        personal.extend(e.client_reference.clone());
        personal.extend(e.date_of_birth.map(|d| d.to_string()));
        if let Some(ssn) = e.ssn {
            let full = ssn.expose_full().to_string();
            let digits = full.replace('-', "");
            personal.extend([full.replace('-', " "), format!("roundtrip-ssn:{digits}"), full, digits]);
        }
    }
    for pid in b.details.keys() {
        let f = &crm.details[pid].fields;
        for v in [
            &f.address_line1,
            &f.address_line2,
            &f.city,
            &f.region,
            &f.postcode,
            &f.country,
            &f.phone,
            &f.email,
        ] {
            personal.push(v.clone());
        }
    }
    personal.retain(|v| !v.is_empty());
    assert!(personal.len() > 30, "{personal:?}");
    let hidden: Vec<String> = base_sheet_cells(&sent)
        .expect("the base sheet")
        .into_iter()
        .flatten()
        .filter(|c| !c.is_empty())
        .collect();
    for cell in &hidden {
        for value in &personal {
            assert_ne!(cell, value, "the hidden sheet holds a personal value");
            let digest = sha256(value);
            let long = cell.len() >= 16 && cell.bytes().all(|b| b.is_ascii_hexdigit());
            assert!(
                !(long && (digest.contains(cell.as_str()) || cell.contains(&digest[..16]))),
                "the hidden cell {cell} is an unkeyed SHA-256 of {value:?}"
            );
        }
    }
    // Nor is any SSN anywhere in the file's parts.
    let mut zip = zip::ZipArchive::new(Cursor::new(sent.clone())).unwrap();
    for i in 0..zip.len() {
        let mut part = String::new();
        let _ = zip.by_index(i).unwrap().read_to_string(&mut part);
        for ssn in [
            "123-45-6789",
            "123456789",
            "123 45 6789",
            "234-56-7890",
            "234567890",
            "345-67-8901",
            "345678901",
        ] {
            assert!(!part.contains(ssn), "{ssn} in a part of the sent file");
        }
    }
    // And the base still does its work for the CRM that wrote it.
    let run = plan_sheet(&crm, &read(&sent), &base, &TakeFile::None);
    assert!(run.plan.notices.is_empty(), "{:?}", run.plan.notices);
    assert_eq!(run.plan.change_count(), 0);
}

#[test]
fn a_base_another_crm_s_secret_wrote_is_no_base_here() {
    let crm = crm();
    let bytes = export(&crm);
    let mut other = crm.clone();
    other.counters.secret = Some(CrmSecret::from_bytes([9; 32]));
    let base = read_export_base("export.xlsx", &bytes);
    assert!(base.base().unwrap().under(&other).is_none());
    put_phone(&mut other, 2, "+1 617 555 0111");
    let sheet = read(&bytes);
    let run = plan_sheet(&other, &sheet, &base, &TakeFile::None);
    assert_eq!(run.plan.notices, vec![roundtrip::core::insured::base::OTHER_SECRET.to_string()]);
    let today = super::run(&other, &sheet, &[]);
    assert_eq!(run.plan.rows, today.plan.rows, "plans as a file without a base");
    // Without any secret the CRM cannot write a base at all.
    let mut none = crm.clone();
    none.counters.secret = None;
    let index = CrmIndex::new(&none);
    let rows = insured_export_rows(&index, &portfolio_case_ids(&none, 1));
    assert_eq!(ExportBase::of_export(&index, &rows, 1, EXPORTED_AT, None), None);
}
