//! The command line (`roundtrip-cli`) run as a process with `assert_cmd`, on files it makes
//! itself: the demo CRM snapshot (`demo`), a portfolio's Insured CRM Export (`export`), that
//! export edited cell by cell (read with calamine, written again with rust_xlsxwriter). It
//! pins each exit code (0 done, 1 rows with errors, 2 a file that cannot be read, 3 decisions
//! needed), the choices file and the bulk flags, the `--json` summary, no progress bar when
//! stderr is not a terminal, and that the snapshot `apply` writes, read back with the app's
//! snapshot reader, is the CRM the service layer's own apply makes of the same file and
//! choices at the same time.

#![cfg(not(target_arch = "wasm32"))]

mod common;
use common::{blank_row, col};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use futures::executor::block_on;
use serde_json::Value;

use roundtrip::core::insured::matching::GroupChoice;
use roundtrip::core::insured::workflow::ID as INSURED;
use roundtrip::core::model::{Crm, InsuranceStatus};
use roundtrip::core::snapshot::read_snapshot;
use roundtrip::core::template::Field;
use roundtrip::protocol::{
    ApplyImport, ApplyOutcome, ChoosePerson, ImportOptions, ListGroups, MatchRows, PlanImport, SessionView,
    StageFile,
};
use roundtrip::service::{Call, Service, Silent};
use roundtrip::store::memory::MemoryStore;

/// The clock every run is given.
const NOW: i64 = 1_700_000_000_000;
const PORTFOLIO: &str = "North East Individual";

/// A fresh directory for one test.
fn dir(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli").join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a test directory");
    d
}

fn cli(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roundtrip-cli"));
    c.current_dir(dir).args(["--now-ms", &NOW.to_string()]);
    c
}

/// Runs the command line with `--json`: its exit code and its summary object.
fn run_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = cli(dir).arg("--json").args(args).output().expect("the command line runs");
    let code = out.status.code().expect("an exit code");
    let json: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(json["exit_code"], code, "{json:#}");
    (code, json)
}

/// A demo snapshot (`crm.xlsx`) and the export of its first portfolio (`export.xlsx`).
fn demo_and_export(dir: &Path) {
    cli(dir).args(["demo", "-o", "crm.xlsx"]).assert().success();
    cli(dir)
        .args(["export", "--crm", "crm.xlsx", "--portfolio", PORTFOLIO, "-o", "export.xlsx"])
        .assert()
        .success();
}

/// The first sheet of a workbook file as text.
fn read_cells(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    common::read_cells(&std::fs::read(path).expect("the workbook"))
}

/// Writes `rows` under `header`: text cells, the Date of Birth as a real date.
fn write_cells(path: &Path, header: &[String], rows: &[Vec<String>]) {
    std::fs::write(path, common::write_cells(header, rows)).expect("written");
}

/// A row for a person the CRM does not know: names and one email.
fn stranger(first: &str, last: &str, email: &str) -> Vec<String> {
    let mut r = blank_row();
    r[col(Field::FirstName)] = first.into();
    r[col(Field::LastName)] = last.into();
    r[col(Field::DetailType)] = "Email".into();
    r[col(Field::Label)] = "Work".into();
    r[col(Field::Primary)] = "No".into();
    r[col(Field::Email)] = email.into();
    r
}

/// The export's first row holding an email with a Public ID.
fn email_row(rows: &[Vec<String>]) -> usize {
    rows.iter()
        .position(|r| r[col(Field::DetailType)] == "Email" && !r[col(Field::PublicId)].is_empty())
        .expect("an email row")
}

fn crm_of(path: &Path) -> Crm {
    let bytes = std::fs::read(path).expect("a snapshot");
    read_snapshot("snapshot.xlsx", &bytes).expect("the app reads the snapshot back")
}

fn counts(json: &Value) -> [u64; 6] {
    let c = &json["counts"];
    ["created", "updated", "added", "unchanged", "skipped", "errors"].map(|k| c[k].as_u64().expect("a count"))
}

#[test]
fn an_unchanged_export_plans_and_applies_with_exit_0_and_no_progress_bar_off_a_terminal() {
    let d = dir("unchanged");
    demo_and_export(&d);
    let out = cli(&d)
        .args(["plan", "--crm", "crm.xlsx", "--template", "insured-contact-details", "export.xlsx"])
        .args(["--report", "plan.xlsx", "--errors", "errors.xlsx"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "no progress bar, no message: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Plan: 0 created, 0 updated, 0 added,"), "{stdout}");
    assert!(stdout.contains("Wrote plan.xlsx") && stdout.contains("Wrote errors.xlsx"), "{stdout}");
    let (plan_header, plan_rows) = read_cells(&d.join("plan.xlsx"));
    assert!(!plan_header.is_empty() && !plan_rows.is_empty(), "the plan report has the plan's rows");

    let (code, json) = run_json(
        &d,
        &[
            "apply",
            "--crm",
            "crm.xlsx",
            "--template",
            "insured-contact-details",
            "export.xlsx",
            "--out",
            "new.xlsx",
        ],
    );
    assert_eq!(code, 0, "{json:#}");
    let rows = json["file"]["rows"].as_u64().expect("rows");
    assert_eq!(counts(&json), [0, 0, 0, rows, 0, 0]);
    assert_eq!((json["status"].as_str(), json["import_id"].as_u64()), (Some("done"), Some(1)));
    let (before, after) = (crm_of(&d.join("crm.xlsx")), crm_of(&d.join("new.xlsx")));
    assert_eq!((after.entries.len(), after.details.len()), (before.entries.len(), before.details.len()));
    let record = after.imports.values().last().expect("the import's history record");
    assert_eq!(
        (record.file_name.as_str(), record.operator_login.as_str(), record.applied_at_ms),
        ("export.xlsx", "roundtrip-cli", NOW)
    );

    // The same file on the new CRM: applied before, so a decision (3) unless --again.
    let again = ["apply", "--crm", "new.xlsx", "--template", "insured-contact-details", "export.xlsx"];
    let (code, json) = run_json(&d, &[&again[..], &["--out", "newer.xlsx"]].concat());
    assert_eq!(code, 3, "{json:#}");
    assert!(json["message"].as_str().is_some_and(|m| m.contains("import #1")), "{json:#}");
    assert!(!d.join("newer.xlsx").exists(), "nothing written");
    let (code, json) = run_json(&d, &[&again[..], &["--out", "newer.xlsx", "--again"]].concat());
    assert_eq!((code, json["import_id"].as_u64()), (0, Some(2)), "{json:#}");
}

#[test]
fn rows_with_errors_exit_1_and_nothing_is_applied_unless_valid_rows_only() {
    let d = dir("errors");
    demo_and_export(&d);
    let (header, mut rows) = read_cells(&d.join("export.xlsx"));
    let e = email_row(&rows);
    rows[e][col(Field::Email)] = "not an email".into();
    let changed = (e + 1) % rows.len();
    let c = email_row(&rows[changed..]) + changed;
    rows[c][col(Field::Email)] = "fixed.by.cli@example.org".into();
    write_cells(&d.join("edited.xlsx"), &header, &rows);
    let base = ["--crm", "crm.xlsx", "--template", "insured-contact-details", "edited.xlsx"];

    let (code, json) = run_json(&d, &[&["plan"][..], &base, &["--errors", "errors.xlsx"]].concat());
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(json["status"], "errors");
    assert_eq!(counts(&json)[5], 1, "{json:#}");
    let listed = json["error_rows"][0].as_str().expect("the row with errors is listed");
    assert!(listed.starts_with(&format!("row {}:", e + 2)), "{listed}");
    let (_, report) = read_cells(&d.join("errors.xlsx"));
    assert!(report.iter().flatten().any(|cell| cell.contains("not an email")), "{report:?}");

    let (code, _) = run_json(&d, &[&["apply"][..], &base, &["--out", "new.xlsx"]].concat());
    assert_eq!(code, 1);
    assert!(!d.join("new.xlsx").exists(), "nothing applied, nothing written");

    let (code, json) =
        run_json(&d, &[&["apply"][..], &base, &["--out", "new.xlsx", "--valid-rows-only"]].concat());
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(counts(&json)[1], 1, "the valid change applied: {json:#}");
    let after = crm_of(&d.join("new.xlsx"));
    let pid = &rows[c][col(Field::PublicId)];
    assert_eq!(after.details[pid].fields.email, "fixed.by.cli@example.org");
    let bad = &rows[e][col(Field::PublicId)];
    assert_eq!(
        after.details[bad],
        crm_of(&d.join("crm.xlsx")).details[bad],
        "the row with errors was left out"
    );
}

#[test]
fn files_that_cannot_be_read_exit_2_naming_the_file_and_where() {
    let d = dir("unreadable");
    demo_and_export(&d);
    std::fs::write(d.join("garbage.xlsx"), b"this is no workbook").expect("written");
    let plan = |crm: &str, file: &str| {
        run_json(&d, &["plan", "--crm", crm, "--template", "insured-contact-details", file])
    };

    let (code, json) = plan("missing.xlsx", "export.xlsx");
    assert_eq!((code, json["status"].as_str()), (2, Some("unreadable")));
    assert!(json["message"].as_str().is_some_and(|m| m.contains("missing.xlsx")), "{json:#}");

    let (code, json) = plan("garbage.xlsx", "export.xlsx");
    assert_eq!(code, 2);
    assert!(json["message"].as_str().is_some_and(|m| m.contains("garbage.xlsx")), "{json:#}");

    let (code, json) = plan("crm.xlsx", "garbage.xlsx");
    assert_eq!(code, 2);
    assert!(json["message"].as_str().is_some_and(|m| m.contains("garbage.xlsx")), "{json:#}");

    // A workbook that is no snapshot: the refusal names the file, the sheet and the cell.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let about = wb.add_worksheet().set_name("About").expect("a name");
    about.write_string(0, 0, "Format").expect("a cell");
    about.write_string(0, 1, "Something else").expect("a cell");
    std::fs::write(d.join("not-a-snapshot.xlsx"), wb.save_to_buffer().expect("a workbook")).expect("written");
    let out = cli(&d)
        .args([
            "plan",
            "--crm",
            "not-a-snapshot.xlsx",
            "--template",
            "insured-contact-details",
            "export.xlsx",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("not-a-snapshot.xlsx") && message.contains("About!A1"), "{message}");

    // A file of another template's headers.
    let csv = "User ID,Insurance Status\r\nU1,Enrolled\r\n";
    std::fs::write(d.join("users.csv"), csv).expect("written");
    let (code, json) = plan("crm.xlsx", "users.csv");
    assert_eq!(code, 2, "{json:#}");
}

/// The demo, its export with a known email changed and two strangers added.
struct Strangers {
    dir: PathBuf,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn strangers(test: &str) -> Strangers {
    let d = dir(test);
    demo_and_export(&d);
    let (header, mut rows) = read_cells(&d.join("export.xlsx"));
    let e = email_row(&rows);
    rows[e][col(Field::Email)] = "changed.by.cli@example.org".into();
    rows.push(stranger("Zélie", "Brandvold", "zelie@example.org"));
    rows.push(stranger("Zbigniew", "Quarrington", "zq@example.org"));
    write_cells(&d.join("edited.xlsx"), &header, &rows);
    Strangers { dir: d, header, rows }
}

fn keys_of(json: &Value) -> BTreeMap<String, String> {
    json["undecided"]
        .as_array()
        .expect("the undecided persons")
        .iter()
        .map(|p| {
            (p["name"].as_str().expect("a name").to_string(), p["key"].as_str().expect("a key").to_string())
        })
        .collect()
}

#[test]
fn open_persons_exit_3_until_a_choices_file_decides_them_and_the_snapshot_is_the_services_own_apply() {
    let s = strangers("choices");
    let d = &s.dir;
    let base = ["--crm", "crm.xlsx", "--template", "insured-contact-details", "edited.xlsx"];

    let (code, json) = run_json(d, &[&["plan"][..], &base].concat());
    assert_eq!((code, json["status"].as_str()), (3, Some("decisions needed")), "{json:#}");
    assert_eq!(json["open_persons"], 2);
    let keys = keys_of(&json);
    assert_eq!(keys.len(), 2, "{json:#}");
    let (code, _) = run_json(d, &[&["apply"][..], &base, &["--out", "new.xlsx"]].concat());
    assert_eq!(code, 3);
    assert!(!d.join("new.xlsx").exists());

    // Zélie gets a new entry, Zbigniew goes to an existing entry.
    let before = crm_of(&d.join("crm.xlsx"));
    let target = *before.entries.keys().nth(3).expect("an entry");
    let choices = serde_json::json!({
        keys["Zélie Brandvold"].clone(): "new",
        keys["Zbigniew Quarrington"].clone(): target,
    });
    std::fs::write(d.join("choices.json"), choices.to_string()).expect("written");
    let only_one = serde_json::json!({ keys["Zélie Brandvold"].clone(): "new" });
    std::fs::write(d.join("one.json"), only_one.to_string()).expect("written");
    let (code, json) = run_json(d, &[&["plan"][..], &base, &["--choices", "one.json"]].concat());
    assert_eq!(code, 3, "one person still open: {json:#}");
    assert_eq!(keys_of(&json).keys().collect::<Vec<_>>(), ["Zbigniew Quarrington"]);

    let (code, json) =
        run_json(d, &[&["apply"][..], &base, &["--choices", "choices.json", "--out", "new.xlsx"]].concat());
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(counts(&json)[..3], [1, 1, 2], "one created, one updated, two added: {json:#}");
    let from_cli = crm_of(&d.join("new.xlsx"));

    // The service layer's own apply of the same file, with the same choices made one by one on
    // the Resolve step, at the same time, by the same operator.
    let svc = Service::new(MemoryStore::with_crm(before.clone()), common::seeded_secrets(1));
    let bytes = std::fs::read(d.join("edited.xlsx")).expect("the file");
    let call = Call::new(&Silent, NOW);
    let stage = StageFile {
        workflow: INSURED,
        file_name: "edited.xlsx".into(),
        options: ImportOptions::default(),
        remembered: Default::default(),
    };
    let view = block_on(svc.run(stage, &Call::new(&Silent, NOW).with_bytes(Some(bytes)))).expect("staged");
    assert!(matches!(view, SessionView::Review(_)), "{view:#?}");
    block_on(svc.run(MatchRows { workflow: INSURED }, &call)).expect("matched");
    let list = ListGroups { workflow: INSURED, start: 0, count: 50, matched: false };
    let groups = block_on(svc.run(list, &call)).expect("the open persons").groups;
    for g in &groups {
        let choice =
            if g.name == "Zélie Brandvold" { GroupChoice::CreateNew } else { GroupChoice::Existing(target) };
        block_on(svc.run(ChoosePerson { workflow: INSURED, group: g.index, choice: Some(choice) }, &call))
            .expect("chosen");
    }
    block_on(svc.run(PlanImport { workflow: INSURED, options: None }, &call)).expect("planned");
    let apply = ApplyImport {
        workflow: INSURED,
        operator_login: "roundtrip-cli".into(),
        again: false,
        valid_rows_only: false,
    };
    let applied = block_on(svc.run(apply, &call)).expect("applied");
    assert!(matches!(applied, ApplyOutcome::Applied(SessionView::Done(_))), "{applied:#?}");
    let from_service = block_on(svc.current()).expect("the CRM").crm.clone();
    assert_eq!(from_cli, from_service, "the snapshot apply writes is the service's own apply");
    assert_ne!(from_cli, before);
    let import = from_cli.imports.values().last().expect("the history record");
    assert!(!import.before_images.is_empty(), "before-images are kept for undo");
    let zq = from_cli.details.values().find(|d| d.fields.email == "zq@example.org").expect("added");
    assert_eq!(zq.entry_id, target);
}

#[test]
fn create_new_and_accept_top_decide_open_persons_in_bulk() {
    let s = strangers("bulk");
    let d = &s.dir;
    let base = ["--crm", "crm.xlsx", "--template", "insured-contact-details", "edited.xlsx"];
    let (code, json) = run_json(d, &[&["apply"][..], &base, &["--create-new", "--out", "new.xlsx"]].concat());
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(counts(&json)[0], 2, "two entries created: {json:#}");
    let after = crm_of(&d.join("new.xlsx"));
    assert!(after.entries.values().any(|e| e.first_name == "Zélie" && e.last_name == "Brandvold"));

    // A person with an existing entry's names and nothing else: unmatched, with that entry as
    // a ranked candidate; --accept-top takes it, the strangers (no candidate that high) get
    // new entries by the app's default.
    let before = crm_of(&d.join("crm.xlsx"));
    let known = before.entries.values().find(|e| e.client_reference.is_some()).expect("an entry").clone();
    let mut rows = s.rows.clone();
    rows.push(stranger(&known.first_name, &known.last_name, "same.name@example.org"));
    write_cells(&d.join("edited.xlsx"), &s.header, &rows);
    let (code, json) = run_json(d, &[&["plan"][..], &base].concat());
    assert_eq!(code, 3, "{json:#}");
    let person = json["undecided"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"].as_str().is_some_and(|n| n.contains(&known.last_name))))
        .expect("the namesake is open")
        .clone();
    let top = &person["candidates"][0];
    let (top_entry, top_label) = (top[0].as_u64().expect("an entry id"), top[1].as_str().expect("a label"));
    let score: u32 = top_label
        .split(" — ")
        .nth(1)
        .and_then(|s| s.split('%').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("a score in {top_label}"));

    let (code, json) = run_json(
        d,
        &[&["apply"][..], &base, &["--accept-top", &score.to_string(), "--out", "top.xlsx"]].concat(),
    );
    assert_eq!(code, 0, "{json:#}");
    let after = crm_of(&d.join("top.xlsx"));
    let added = after.details.values().find(|d| d.fields.email == "same.name@example.org").expect("added");
    assert_eq!(u64::from(added.entry_id), top_entry, "the top candidate was accepted");
    assert!(after.entries.values().any(|e| e.first_name == "Zbigniew"), "the rest took the default");
}

#[test]
fn an_insurance_file_plans_and_applies_like_the_insured_one() {
    let d = dir("insurance");
    cli(&d).args(["demo", "-o", "crm.xlsx"]).assert().success();
    let before = crm_of(&d.join("crm.xlsx"));
    let user = before
        .school_users
        .values()
        .find(|u| u.insurance.status == Some(InsuranceStatus::Enrolled))
        .expect("an enrolled user")
        .clone();
    let csv = format!(
        "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\r\n{},{},,,\r\nNO-SUCH-USER,{},,,\r\n",
        user.user_id,
        InsuranceStatus::NotEnrolled.label(),
        InsuranceStatus::Enrolled.label()
    );
    std::fs::write(d.join("users.csv"), csv).expect("written");
    let base = ["--crm", "crm.xlsx", "--template", "user-insurance", "users.csv"];
    let (code, json) = run_json(&d, &[&["plan"][..], &base].concat());
    let c = counts(&json);
    assert_eq!(c[1], 1, "the user is updated: {json:#}");
    // The unknown user is an error or a skip, as the insurance planner decides.
    assert_eq!(code, if c[5] > 0 { 1 } else { 0 }, "{json:#}");
    let (code, json) =
        run_json(&d, &[&["apply"][..], &base, &["--valid-rows-only", "--out", "new.xlsx"]].concat());
    assert_eq!(code, 0, "{json:#}");
    let after = crm_of(&d.join("new.xlsx"));
    assert_eq!(after.school_users[&user.user_id].insurance.status, Some(InsuranceStatus::NotEnrolled));
    assert_eq!(after.imports.len(), before.imports.len() + 1);
}

#[test]
fn json_summaries_parse_for_every_command() {
    let d = dir("json");
    let (code, json) = run_json(&d, &["demo", "-o", "crm.xlsx"]);
    assert_eq!((code, json["command"].as_str()), (0, Some("demo")));
    assert_eq!(json["written"][0], "crm.xlsx");
    let (code, json) =
        run_json(&d, &["export", "--crm", "crm.xlsx", "--portfolio", PORTFOLIO, "-o", "e.xlsx"]);
    assert_eq!((code, json["command"].as_str()), (0, Some("export")), "{json:#}");
    let (code, json) =
        run_json(&d, &["export", "--crm", "crm.xlsx", "--portfolio", "No Such", "-o", "e.xlsx"]);
    assert_eq!(code, 2, "{json:#}");
    assert!(json["message"].as_str().is_some_and(|m| m.contains(PORTFOLIO)), "the portfolios are listed");
}

#[test]
fn apply_records_its_full_ssn_error_report_in_the_snapshot_it_writes() {
    use roundtrip::core::digest::sha256_hex;
    use roundtrip::core::ledger::{LedgerEvent, LedgerFile};
    use roundtrip::core::privacy::Ssn;
    let d = dir("ledger");
    demo_and_export(&d);
    let (header, mut rows) = read_cells(&d.join("export.xlsx"));
    let e = email_row(&rows);
    rows[e][col(Field::Email)] = "not an email".into();
    write_cells(&d.join("edited.xlsx"), &header, &rows);
    let base = ["--crm", "crm.xlsx", "--template", "insured-contact-details", "edited.xlsx"];
    let masked =
        [&["apply"][..], &base, &["--errors", "masked.xlsx", "--valid-rows-only", "--out", "a.xlsx"]]
            .concat();
    let (code, json) = run_json(&d, &masked);
    assert_eq!(code, 0, "{json:#}");
    assert!(crm_of(&d.join("a.xlsx")).ledger.is_empty(), "a masked error report is not recorded");

    let full = [
        &["apply"][..],
        &base,
        &["--errors", "full.xlsx", "--include-full-ssns", "--valid-rows-only", "--operator", "bsilva"],
        &["--out", "b.xlsx"],
    ]
    .concat();
    let (code, json) = run_json(&d, &full);
    assert_eq!(code, 0, "{json:#}");
    let report = std::fs::read(d.join("full.xlsx")).expect("the full error report");
    let (_, report_rows) = common::read_cells(&report);
    let ssns = report_rows
        .iter()
        .filter_map(|r| Ssn::parse(&r[col(Field::Ssn)]))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(ssns > 0);
    let ledger: Vec<_> = crm_of(&d.join("b.xlsx")).ledger.into_values().collect();
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert_eq!(ledger[0].operator_login, "bsilva");
    assert_eq!(ledger[0].at_ms, NOW);
    assert_eq!(
        ledger[0].event,
        LedgerEvent::File {
            kind: LedgerFile::ErrorReport,
            file_name: "edited-errors.xlsx".into(),
            sha256: sha256_hex(&report),
            ssns
        }
    );
}
