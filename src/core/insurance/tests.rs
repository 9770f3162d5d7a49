//! The bulk insurance import end to end: statuses, amounts, dates, template recognition, skipped and
//! repeated keys, overwrite semantics, idempotence, apply and undo, reports, 20,000 rows.

use std::collections::BTreeMap;

use super::plan::plan;
use super::report::{
    status_counts, write_insurance_results_report, write_insurance_status_report, StatusCounts,
};
use super::*;
use crate::core::date::{Date, DayMonthOrder};
use crate::core::headers::{recognise, HeaderProblem};
use crate::core::index::CrmIndex;
use crate::core::insurance::workflow::WORKFLOW;
use crate::core::model::{Crm, Device, ImportCounts, Insurance, InsuranceStatus, SchoolRole, SchoolUser};
use crate::core::plan::history::{apply, undo, ApplyContext};
use crate::core::plan::verify::verification_sample;
use crate::core::plan::{FieldChange, ImportPlan, RowAction};
use crate::core::read::read_sheet;
use crate::core::sheet::Sheet;
use crate::core::validate::{
    parse_amount_cents, parse_insurance_status, IssueCode, Validated, ValidationOptions, Validator,
};

fn crm() -> Crm {
    let mut crm = Crm::default();
    for (id, name) in [("0001", "Ana Souza"), ("0002", "Ben Ito"), ("0003", "Cy Park")] {
        crm.school_users.insert(
            id.into(),
            SchoolUser {
                user_id: id.into(),
                name: name.into(),
                role: SchoolRole::Student,
                insurance: Insurance::default(),
            },
        );
    }
    crm.school_users.get_mut("0003").unwrap().insurance = Insurance {
        status: Some(InsuranceStatus::Enrolled),
        policy_number: Some("OLD-3".into()),
        coverage_amount_cents: Some(99),
        coverage_type: Some("Kept".into()),
        start: Date::new(2023, 1, 1),
        end: Date::new(2023, 12, 31),
    };
    for serial in ["SN-1", "SN-2", "SN-3"] {
        crm.devices.insert(
            serial.into(),
            Device {
                serial: serial.into(),
                model: "Laptop".into(),
                insurance: Insurance {
                    status: Some(InsuranceStatus::NotEnrolled),
                    policy_number: Some(format!("P-{serial}")),
                    coverage_amount_cents: Some(10_000),
                    coverage_type: Some("Basic".into()),
                    start: Date::new(2024, 1, 1),
                    end: Date::new(2024, 12, 31),
                },
            },
        );
    }
    crm
}

fn sheet(csv: &str) -> Sheet {
    read_sheet("file.csv", csv.as_bytes()).expect("readable")
}

/// The file's template (or, with `None`, the one its headers are) and its mapping.
fn recognise_header(
    chosen: Option<&'static Template>,
    header: &[String],
) -> Result<&'static Template, HeaderProblem> {
    recognise(&templates(), chosen, header, &BTreeMap::new()).map(|r| r.template)
}

fn plan_csv(
    crm: &Crm,
    template: &'static Template,
    csv: &str,
    order: DayMonthOrder,
) -> (Validated, ImportPlan) {
    plan_csv_with(crm, template, csv, order, InsuranceOptions::default())
}

fn plan_csv_with(
    crm: &Crm,
    template: &'static Template,
    csv: &str,
    order: DayMonthOrder,
    options: InsuranceOptions,
) -> (Validated, ImportPlan) {
    let s = sheet(csv);
    let recognised =
        recognise(&templates(), Some(template), &s.header, &BTreeMap::new()).expect("headers match");
    let index = CrmIndex::new(crm);
    let reading = ValidationOptions { day_month_order: order };
    let validated = Validator::new(template, &recognised.mapping, &index, reading).all(&s.rows);
    let plan = plan(crm, template, &validated, options);
    (validated, plan)
}

/// Counts of a plan as the page shows them: updated, unchanged, skipped, invalid.
fn counts(updated: usize, unchanged: usize, skipped: usize, invalid: usize) -> ImportCounts {
    ImportCounts { updated, unchanged, skipped, errors: invalid, ..ImportCounts::default() }
}

const USER_HEADER: &str = "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\n";
const DEVICE_HEADER: &str =
    "Device Serial,Insurance Status,Policy Number,Coverage Amount,Coverage Type,Coverage Start Date\n";

fn ctx(sha: &str) -> ApplyContext {
    ApplyContext {
        template_id: "device-insurance".into(),
        operator_login: "admin".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: "devices.csv".into(),
        sha256: sha.into(),
    }
}

#[test]
fn status_values_accepted_and_refused() {
    for (text, want) in [
        ("Yes", "Enrolled"),
        ("yes", "Enrolled"),
        (" ENROLLED ", "Enrolled"),
        ("No", "Not Enrolled"),
        ("not enrolled", "Not Enrolled"),
        ("NOT ENROLLED", "Not Enrolled"),
    ] {
        assert_eq!(parse_insurance_status(text), Some(want), "{text}");
    }
    for text in ["Y", "N", "true", "1", "Enroled", "Not-Enrolled", "Pending", ""] {
        assert_eq!(parse_insurance_status(text), None, "{text}");
    }
    let c = crm();
    let csv = format!("{USER_HEADER}0001,Yes,,,\n0002,Maybe,,,\n0003,TRUE,,,\n");
    let (validated, plan) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert!(!validated.rows[0].blocked());
    assert!(validated.rows[1].blocked() && validated.rows[2].blocked());
    assert!(validated
        .issues
        .iter()
        .any(|i| i.code == IssueCode::InsuranceStatus && i.cell.as_deref() == Some("B3")));
    assert_eq!(plan.counts, counts(1, 0, 0, 2));
}

#[test]
fn amount_parsing() {
    assert_eq!(parse_amount_cents("12"), Some(1200));
    assert_eq!(parse_amount_cents("12.5"), Some(1250));
    assert_eq!(parse_amount_cents("12.50"), Some(1250));
    assert_eq!(parse_amount_cents(" 0.07 "), Some(7));
    for bad in ["12.505", "1,2", "1,200", "abc", "-5", "$12", "12.", ".5", "1e3", ""] {
        assert_eq!(parse_amount_cents(bad), None, "{bad}");
    }
    let c = crm();
    let csv = format!(
        "{DEVICE_HEADER}SN-1,Yes,P1,12,,\nSN-2,Yes,P2,12.5,,\nSN-3,Yes,P3,12.50,,\nSN-1,Yes,P4,12.505,,\nSN-2,Yes,P5,\"1,2\",,\nSN-3,Yes,P6,abc,,\n"
    );
    let (validated, _) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    let cents: Vec<Option<i64>> = validated.rows.iter().map(|r| r.cents(3)).collect();
    assert_eq!(&cents[..3], &[Some(1200), Some(1250), Some(1250)]);
    assert!(validated.rows[..3].iter().all(|r| !r.blocked()));
    assert!(validated.rows[3..].iter().all(|r| r.blocked()));
    assert_eq!(validated.issues.iter().filter(|i| i.code == IssueCode::Amount).count(), 3);
}

#[test]
fn dates_iso_and_day_month_order_never_guessed() {
    let c = crm();
    let csv = format!("{USER_HEADER}0001,Yes,P,2024-03-04,05/06/2024\n");
    let (iso_only, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert_eq!(iso_only.rows[0].date(3), Date::new(2024, 3, 4));
    assert!(iso_only.rows[0].blocked(), "05/06/2024 is not guessed without an order");
    assert!(iso_only
        .issues
        .iter()
        .any(|i| i.code == IssueCode::Date && i.column.as_deref() == Some("Coverage End Date")));
    let (day_first, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::DayFirst);
    assert_eq!(day_first.rows[0].date(4), Date::new(2024, 6, 5));
    let (month_first, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::MonthFirst);
    assert_eq!(month_first.rows[0].date(4), Date::new(2024, 5, 6));
    let csv = format!("{USER_HEADER}0001,Yes,P,31/02/2024,\n");
    let (impossible, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::DayFirst);
    assert!(impossible.rows[0].blocked());
}

#[test]
fn wrong_template_detection() {
    let user = sheet(USER_HEADER);
    let device = sheet(DEVICE_HEADER);
    assert_eq!(recognise_header(None, &user.header).ok().map(|t| t.id), Some("user-insurance"));
    assert_eq!(recognise_header(None, &device.header).ok().map(|t| t.id), Some("device-insurance"));
    let shuffled = sheet("insurance status , USER ID,Coverage End Date,Policy Number,Coverage Start Date\n");
    assert_eq!(recognise_header(None, &shuffled.header).ok().map(|t| t.id), Some("user-insurance"));
    assert!(recognise_header(Some(&USER_INSURANCE), &shuffled.header).is_ok());

    let err = recognise_header(Some(&DEVICE_INSURANCE), &user.header).unwrap_err();
    assert!(matches!(err, HeaderProblem::OtherTemplate { .. }));
    let msg = err.to_string();
    assert!(msg.starts_with("This is a user insurance file (User ID, Insurance Status"), "{msg}");
    assert!(msg.contains("not a device insurance file"), "{msg}");
    let msg = recognise_header(Some(&USER_INSURANCE), &device.header).unwrap_err().to_string();
    assert!(msg.starts_with("This is a device insurance file (Device Serial"), "{msg}");

    let extra = sheet("User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date,Notes\n");
    let HeaderProblem::Mismatch { extra: e, missing, .. } =
        recognise_header(Some(&USER_INSURANCE), &extra.header).unwrap_err()
    else {
        panic!("expected a mismatch")
    };
    assert_eq!(e, vec!["Notes".to_string()]);
    assert!(missing.is_empty());
    let short = sheet("User ID,Insurance Status\n");
    let HeaderProblem::Mismatch { missing, .. } =
        recognise_header(Some(&USER_INSURANCE), &short.header).unwrap_err()
    else {
        panic!("expected a mismatch")
    };
    assert_eq!(missing.len(), 3);
    assert!(recognise_header(None, &short.header).is_err());
    assert!(matches!(recognise_header(None, &short.header), Err(HeaderProblem::Unrecognised { .. })));
    assert_eq!(recognise_header(None, &device.header).unwrap().id, "device-insurance");
}

#[test]
fn unknown_ids_are_skipped_and_listed() {
    let c = crm();
    let csv = format!("{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-404,Yes,X,1,,\nSN-405,No,,,,\n");
    let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert_eq!(plan.counts, counts(1, 0, 2, 0));
    let skipped: Vec<(&str, usize)> = plan
        .rows
        .iter()
        .filter(|r| matches!(&r.action, RowAction::Skip(reason) if reason == "no device with this serial"))
        .map(|r| (r.record_label(), r.sheet_row))
        .collect();
    assert_eq!(skipped, vec![("SN-404", 3), ("SN-405", 4)]);
    assert_eq!(plan.changes.puts.len(), 1);
    let report = write_insurance_results_report(&DEVICE_INSURANCE, &plan).unwrap();
    assert_eq!(&report[..2], b"PK");
}

#[test]
fn empty_cells_keep_stored_values_by_default() {
    let c = crm();
    // User 0003 has every field set; the row gives only its status.
    let csv = format!("{USER_HEADER}0003,No,,,\n0001,Enrolled,POL-1,2025-01-01,2025-12-31\n");
    let (_, plan) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert_eq!(plan.counts.updated, 2);
    assert_eq!(
        plan.rows[0].changes,
        vec![FieldChange {
            field: "Insurance Status".into(),
            before: "Enrolled".into(),
            after: "Not Enrolled".into(),
        }]
    );
    let mut after = c.clone();
    after.apply_changes(&plan.changes).unwrap();
    let u3 = &after.school_users["0003"].insurance;
    assert_eq!(u3.status, Some(InsuranceStatus::NotEnrolled));
    assert_eq!(
        (u3.policy_number.as_deref(), u3.start, u3.end),
        (Some("OLD-3"), Date::new(2023, 1, 1), Date::new(2023, 12, 31))
    );
    assert_eq!(after.school_users["0001"].insurance.policy_number.as_deref(), Some("POL-1"));
    // A row that gives only what is stored changes nothing.
    let csv = format!("{USER_HEADER}0003,Enrolled,,,\n");
    let (_, plan) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert_eq!(plan.counts, counts(0, 1, 0, 0));
    assert!(plan.changes.is_empty());
}

#[test]
fn with_the_clear_option_an_empty_cell_clears_named_fields_only() {
    let c = crm();
    // User 0003 has every field set; the row clears the optional ones the template names.
    let csv = format!("{USER_HEADER}0003,No,,,\n0001,Enrolled,POL-1,2025-01-01,2025-12-31\n");
    let clear = InsuranceOptions { clear_empty_cells: true };
    let (_, plan) = plan_csv_with(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly, clear);
    assert_eq!(plan.counts.updated, 2);
    assert_eq!(plan.rows[0].action, RowAction::Update);
    let changes = &plan.rows[0].changes;
    let fields: Vec<&str> = changes.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["Insurance Status", "Policy Number", "Coverage Start Date", "Coverage End Date"]);
    assert_eq!(changes[1].before, "OLD-3");
    assert_eq!(changes[1].after, "");
    let mut after = c.clone();
    after.apply_changes(&plan.changes).unwrap();
    let u3 = &after.school_users["0003"].insurance;
    assert_eq!(u3.status, Some(InsuranceStatus::NotEnrolled));
    assert_eq!((u3.policy_number.as_deref(), u3.start, u3.end), (None, None, None));
    // Not named by the user template: kept.
    assert_eq!((u3.coverage_amount_cents, u3.coverage_type.as_deref()), (Some(99), Some("Kept")));
    let u1 = &after.school_users["0001"].insurance;
    assert_eq!(u1.policy_number.as_deref(), Some("POL-1"));
    assert_eq!(u1.end, Date::new(2025, 12, 31));
    assert_eq!(after.school_users["0001"].name, "Ana Souza");
}

#[test]
fn records_not_in_the_file_are_untouched() {
    let c = crm();
    let csv = format!("{DEVICE_HEADER}SN-2,Yes,NEW-2,750.25,Full,2025-02-01\n");
    let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    let mut after = c.clone();
    after.apply_changes(&plan.changes).unwrap();
    assert_eq!(after.devices["SN-1"], c.devices["SN-1"]);
    assert_eq!(after.devices["SN-3"], c.devices["SN-3"]);
    assert_eq!(after.school_users, c.school_users);
    let d2 = &after.devices["SN-2"].insurance;
    assert_eq!(d2.coverage_amount_cents, Some(75_025));
    assert_eq!(d2.policy_number.as_deref(), Some("NEW-2"));
    // Coverage End Date is not a device template column: kept.
    assert_eq!(d2.end, Date::new(2024, 12, 31));
}

#[test]
fn repeated_id_in_the_file_is_invalid() {
    let c = crm();
    let csv = format!("{DEVICE_HEADER}SN-1,Yes,A,,,\nSN-1,No,B,,,\n");
    let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert_eq!(plan.counts, counts(1, 0, 0, 1));
    assert_eq!(plan.rows[1].action, RowAction::Error);
    let issues = &plan.rows[1].errors;
    assert!(issues[0].contains("already on row 2"), "{issues:?}");
}

#[test]
fn processing_the_same_file_again_changes_nothing() {
    let c = crm();
    let csv =
        format!("{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-2,not enrolled,,,,\nSN-9,Yes,X,,,\n");
    // SN-2's row gives its stored status only: unchanged when empty cells keep values,
    // updated (its policy and coverage cleared) when they clear them. Either way, the second
    // run changes nothing.
    for (clear, updated) in [(false, 1), (true, 2)] {
        let options = InsuranceOptions { clear_empty_cells: clear };
        let (_, first) = plan_csv_with(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly, options);
        assert_eq!(first.counts.updated, updated, "clear {clear}");
        let (changes, record) = apply(&c, &first, &ctx("abc")).unwrap();
        let mut after = c.clone();
        after.apply_changes(&changes).unwrap();
        assert_eq!(after.imports[&record.id].sha256, "abc");
        let (_, second) = plan_csv_with(&after, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly, options);
        assert_eq!(second.counts, counts(0, 2, 1, 0), "clear {clear}");
        assert!(second.changes.is_empty());
    }
}

#[test]
fn apply_then_undo_restores_the_crm() {
    let c = crm();
    let csv = format!("{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-3,No,,,,\n");
    // With the clear option SN-3's row clears its policy and coverage: two records change.
    let clear = InsuranceOptions { clear_empty_cells: true };
    let (validated, plan) = plan_csv_with(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly, clear);
    let (changes, record) = apply(&c, &plan, &ctx("def")).unwrap();
    assert_eq!(record.before_images.len(), 2);
    assert_eq!(record.counts.updated, 2);
    let mut after = c.clone();
    after.apply_changes(&changes).unwrap();
    assert_ne!(after.devices, c.devices);
    let sample = verification_sample(&WORKFLOW, &after, &DEVICE_INSURANCE, &validated, &plan, "def");
    assert_eq!(sample.len(), 2);
    assert!(sample.iter().all(|s| s.agrees), "{sample:?}");
    let undo_changes = undo(&after).unwrap();
    after.apply_changes(&undo_changes).unwrap();
    assert_eq!(after.devices, c.devices);
    assert_eq!(after.school_users, c.school_users);
    assert!(after.imports[&record.id].undone);
}

#[test]
fn templates_download_with_exact_headers_and_status_report() {
    assert_eq!(
        template_csv(&USER_INSURANCE),
        "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\r\n"
    );
    assert_eq!(template_csv(&DEVICE_INSURANCE).trim_end(), DEVICE_HEADER.trim_end());
    for t in templates() {
        let bytes = crate::core::template::write_template_workbook(t).unwrap();
        let read = read_sheet("t.xlsx", &bytes).unwrap();
        assert_eq!(read.header, t.headers(), "{}", t.id);
        assert_eq!(recognise_header(None, &read.header).ok().map(|d| d.id), Some(t.id));
    }
    let c = crm();
    let (users, devices) = status_counts(&c);
    assert_eq!(users, StatusCounts { enrolled: 1, not_enrolled: 0, none: 2 });
    assert_eq!(devices, StatusCounts { enrolled: 0, not_enrolled: 3, none: 0 });
    let bytes = write_insurance_status_report(&c).unwrap();
    assert_eq!(&bytes[..2], b"PK");
}

#[test]
fn twenty_thousand_rows_plan_and_apply() {
    let mut c = crm();
    for n in 0..20_000 {
        let serial = format!("BULK-{n:05}");
        c.devices.insert(
            serial.clone(),
            Device { serial, model: "Tablet".into(), insurance: Insurance::default() },
        );
    }
    let mut csv = DEVICE_HEADER.to_string();
    for n in 0..20_000 {
        csv.push_str(&format!("BULK-{n:05},Yes,POL-{n},1250.50,Full,2025-01-01\n"));
    }
    let started = std::time::Instant::now();
    let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    let (changes, record) = apply(&c, &plan, &ctx("big")).unwrap();
    c.apply_changes(&changes).unwrap();
    eprintln!("20,000 rows read, validated, planned and applied in {:?}", started.elapsed());
    assert_eq!(plan.counts.updated, 20_000);
    assert_eq!(record.before_images.len(), 20_000);
    assert_eq!(c.devices["BULK-19999"].insurance.policy_number.as_deref(), Some("POL-19999"));
}

#[test]
fn the_plan_reads_every_record_its_keys_found_and_nothing_it_skipped() {
    use crate::core::model::{EntityKind, RecordKey};
    let c = crm();
    let csv = format!("{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-2,No,P-SN-2,100,Basic,2024-01-01\nSN-404,Yes,X,1,,\nSN-3,Maybe,,,,\n");
    let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    assert_eq!(plan.counts, counts(1, 1, 1, 1));
    let device = |id: &str| RecordKey { kind: EntityKind::Device, id: id.into() };
    // SN-1 is updated (read and put), SN-2 unchanged (read); SN-404 exists nowhere and SN-3's
    // row is invalid: neither decided anything from a stored record.
    assert_eq!(plan.reads, [device("SN-1"), device("SN-2")].into_iter().collect());
}

#[test]
fn the_sample_names_a_key_found_and_compares_every_column_exactly() {
    let c = crm();
    let csv = format!("{USER_HEADER}0001,Enrolled,POL-1,2025-01-01,\n");
    let (validated, plan) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
    let (changes, _) = apply(&c, &plan, &ctx("ghi")).unwrap();
    let mut after = c.clone();
    after.apply_changes(&changes).unwrap();
    let sample = verification_sample(&WORKFLOW, &after, &USER_INSURANCE, &validated, &plan, "ghi");
    assert_eq!(sample.len(), 1);
    let headers: Vec<&str> = sample[0].file_values.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(headers, USER_INSURANCE.headers(), "every column, empty ones included, in order");
    assert_eq!(sample[0].stored_values[0], ("User ID".to_string(), "0001".to_string()));
    assert_eq!(sample[0].action, "Updated");
    assert!(sample[0].agrees);
    // The CRM changed behind the import: the sample says so.
    after.school_users.get_mut("0001").unwrap().insurance.policy_number = Some("OTHER".into());
    assert!(!verification_sample(&WORKFLOW, &after, &USER_INSURANCE, &validated, &plan, "ghi")[0].agrees);
    after.school_users.remove("0001");
    let gone = verification_sample(&WORKFLOW, &after, &USER_INSURANCE, &validated, &plan, "ghi");
    assert_eq!(gone[0].stored_values[0].1, "(not found)");
    assert!(!gone[0].agrees);
}

#[test]
fn header_problems_read_as_before() {
    let short = sheet("User ID,Insurance Status\n");
    assert_eq!(
        recognise_header(None, &short.header).unwrap_err().to_string(),
        "These headers (User ID, Insurance Status) are neither a user insurance file (User ID, Insurance Status, Policy Number, Coverage Start Date, Coverage End Date) nor a device insurance file (Device Serial, Insurance Status, Policy Number, Coverage Amount, Coverage Type, Coverage Start Date). Download a template and keep its headers exactly."
    );
    let repeated =
        sheet("User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date,user id,Notes\n");
    assert_eq!(
        recognise_header(Some(&USER_INSURANCE), &repeated.header).unwrap_err().to_string(),
        "The headers do not match the User insurance exactly. Not in the template: Notes. Repeated: User ID. Expected exactly: User ID, Insurance Status, Policy Number, Coverage Start Date, Coverage End Date."
    );
    let user = sheet(USER_HEADER);
    assert_eq!(
        recognise_header(Some(&DEVICE_INSURANCE), &user.header).unwrap_err().to_string(),
        "This is a user insurance file (User ID, Insurance Status, Policy Number, Coverage Start Date, Coverage End Date), not a device insurance file. Choose User insurance or upload the device insurance file (Device Serial, Insurance Status, Policy Number, Coverage Amount, Coverage Type, Coverage Start Date)."
    );
}

/// The stored insurance of a key.
fn stored(crm: &Crm, template: &Template, id: &str) -> Option<Insurance> {
    match template.target {
        EntityKind::Device => crm.devices.get(id).map(|d| d.insurance.clone()),
        _ => crm.school_users.get(id).map(|u| u.insurance.clone()),
    }
}

#[test]
fn the_preview_is_exactly_what_process_writes_with_and_without_the_clear_option() {
    let c = crm();
    let csv = format!(
        "{DEVICE_HEADER}SN-1,Yes,NEW-1,,Full,\nSN-2,No,P-SN-2,100,Basic,2024-01-01\nSN-3,Enrolled,,250.5,,\nSN-404,Yes,X,1,,\nSN-1,Maybe,,,,\n"
    );
    for clear in [false, true] {
        let options = InsuranceOptions { clear_empty_cells: clear };
        let (_, preview) = plan_csv_with(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly, options);
        assert_eq!(preview.counts, preview.tally(), "totals agree with the rows");
        assert_eq!((preview.counts.skipped, preview.counts.errors), (1, 1));
        let (changes, _) = crate::core::plan::history::record_import(&c, &preview, &ctx("pre"));
        let mut after = c.clone();
        after.apply_changes(&changes).unwrap();
        for row in
            preview.rows.iter().filter(|r| matches!(r.action, RowAction::Update | RowAction::Unchanged))
        {
            let id = row.record_label();
            let (Some(was), Some(now)) =
                (stored(&c, &DEVICE_INSURANCE, id), stored(&after, &DEVICE_INSURANCE, id))
            else {
                panic!("{id} is stored before and after");
            };
            for spec in DEVICE_INSURANCE.columns.iter().filter(|s| is_insurance_field(s.field)) {
                let (before, written) =
                    (insurance_field_text(&was, spec.field), insurance_field_text(&now, spec.field));
                match row.changes.iter().find(|ch| ch.field == spec.header) {
                    // Every change shown is written, from the value shown.
                    Some(ch) => assert_eq!(
                        (ch.before.as_str(), ch.after.as_str()),
                        (before.as_str(), written.as_str()),
                        "{id} {}",
                        spec.header
                    ),
                    // Every field not shown as changing is what it was.
                    None => assert_eq!(written, before, "{id} {} (clear {clear})", spec.header),
                }
            }
            if row.action != RowAction::Update {
                assert!(row.changes.is_empty());
            }
        }
        // The records the preview does not touch are untouched.
        assert_eq!(after.school_users, c.school_users);
    }
}

#[test]
fn the_preview_report_lists_each_row_with_before_and_after_and_the_totals() {
    use calamine::{Data, Reader, Xlsx};
    let c = crm();
    let csv =
        format!("{USER_HEADER}0003,No,,,\n0001,Enrolled,POL-1,2025-01-01,\n0404,Yes,,,\n0002,Perhaps,,,\n");
    let rows = |options: InsuranceOptions| {
        let (_, plan) = plan_csv_with(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly, options);
        let bytes = report::write_insurance_plan_report(&USER_INSURANCE, &plan, options).unwrap();
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), ["Preview", "Summary"]);
        let text = |r: &[Data]| r.iter().map(|d| d.to_string()).collect::<Vec<_>>();
        let preview: Vec<Vec<String>> = wb.worksheet_range("Preview").unwrap().rows().map(text).collect();
        let summary: Vec<Vec<String>> = wb.worksheet_range("Summary").unwrap().rows().map(text).collect();
        (preview, summary)
    };
    let (preview, summary) = rows(InsuranceOptions::default());
    assert_eq!(preview[0], ["Row", "User ID", "Outcome", "Changes", "Reason or errors"]);
    assert_eq!(preview[1], ["2", "0003", "Updated", "Insurance Status: Enrolled → Not Enrolled", ""]);
    assert_eq!(preview[2][2], "Updated");
    assert!(preview[2][3].contains("Policy Number: (empty) → POL-1"), "{:?}", preview[2]);
    assert_eq!(preview[3][..3], ["4", "0404", "Skipped"]);
    assert_eq!(preview[3][4], "no user with this ID");
    assert_eq!(preview[4][2], "Error");
    assert!(preview[4][4].contains("Insurance Status"), "{:?}", preview[4]);
    assert_eq!(summary[1..5], [["Updated", "2"], ["Unchanged", "0"], ["Skipped", "1"], ["Errors", "1"]]);
    assert!(summary.iter().any(|r| r == &["Empty cells", "keep stored values"]), "{summary:?}");

    // With the clear option the preview shows what empty cells clear.
    let (preview, summary) = rows(InsuranceOptions { clear_empty_cells: true });
    assert_eq!(
        preview[1][3],
        "Insurance Status: Enrolled → Not Enrolled\nPolicy Number: OLD-3 → (empty)\nCoverage Start Date: 2023-01-01 → (empty)\nCoverage End Date: 2023-12-31 → (empty)"
    );
    assert!(summary.iter().any(|r| r == &["Empty cells", "clear stored values"]), "{summary:?}");
}
