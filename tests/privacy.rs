//! Privacy end to end, natively: files that carry SSNs — invalid ones (`912-34-5678`,
//! `666-12-3456`, `000-12-3456`), one duplicated across two new rows with different Client
//! References, and a file whose first row is data (no header row) — run through the service
//! the way the pipeline worker runs them (stage, headers, review, match, resolve, plan, apply,
//! the reports) and through the command line as a process (text and `--json`). Every view,
//! page of rows, message, refusal, report and output is collected as text and searched for
//! the files' SSNs in every spelling (`123-45-6789`, `123456789`, `123 45 6789`) and for any
//! unkeyed SHA-256 of them; only the error report with "Include full SSNs" may hold them, and
//! does.

#![cfg(not(target_arch = "wasm32"))]

mod common;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use futures::executor::block_on;
use sha2::{Digest, Sha256};

use roundtrip::core::headers::looks_like_a_value;
use roundtrip::core::insured::workflow::ID as INSURED;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS as T;
use roundtrip::core::model::Crm;
use roundtrip::core::privacy::Ssn;
use roundtrip::core::template::Field;
use roundtrip::core::workflow::ImportOptions;
use roundtrip::protocol::{
    ApplyImport, ApplyOutcome, ConfirmHeaders, ErrorReport, History, InsuredExport, ListGroups, LoadDemo,
    MatchRows, Open, PlanImport, PlanReport, PlanRows, ReadSnapshot, ReplaceWithSnapshot, ReviewRows,
    SessionView, SetColumn, SnapshotDownload, StageFile,
};
use roundtrip::service::{Call, Failure, Handle, Service, Silent};
use roundtrip::store::memory::MemoryStore;

type Svc = Service<MemoryStore>;

const NOW: i64 = 1_700_000_000_000;

/// Runs one operation as the worker runs it for the page.
fn run<O: Handle<MemoryStore>>(svc: &Svc, op: O) -> Result<O::Reply, Failure> {
    block_on(svc.run(op, &Call::new(&Silent, NOW)))
}

/// Runs one operation that carries a file's bytes.
fn run_bytes<O: Handle<MemoryStore>>(svc: &Svc, op: O, bytes: Vec<u8>) -> Result<O::Reply, Failure> {
    block_on(svc.run(op, &Call::new(&Silent, NOW).with_bytes(Some(bytes))))
}

/// Stages an insured contact details file (its headers not confirmed).
fn stage(svc: &Svc, name: &str, bytes: Vec<u8>) -> Result<SessionView, Failure> {
    let op = StageFile {
        workflow: INSURED,
        file_name: name.into(),
        options: ImportOptions::default(),
        remembered: Default::default(),
    };
    run_bytes(svc, op, bytes)
}

/// Applies the planned insured file.
fn apply(svc: &Svc, valid_rows_only: bool) -> Result<ApplyOutcome, Failure> {
    run(
        svc,
        ApplyImport { workflow: INSURED, operator_login: "amartin".into(), again: false, valid_rows_only },
    )
}

/// Distinct SSNs in a report's SSN column.
fn distinct_ssns(report: &[u8]) -> usize {
    let (_, rows) = common::read_cells(report);
    rows.iter()
        .filter_map(|r| Ssn::parse(&r[col(Field::Ssn)]))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// SSNs that can never have been issued.
const INVALID: [&str; 3] = ["912-34-5678", "666-12-3456", "000-12-3456"];
/// One valid SSN given to two new persons with different Client References.
const DUPLICATED: &str = "078-05-1120";
/// The SSN in the first (data) row of the file without a header row, and in its other row.
const IN_FIRST_ROW: &str = "219-09-9999";
const IN_SECOND_ROW: &str = "457-55-5462";

/// Every spelling of an SSN a leak could take.
fn spellings(ssn: &str) -> Vec<String> {
    let digits: String = ssn.chars().filter(char::is_ascii_digit).collect();
    vec![ssn.to_string(), digits.clone(), format!("{} {} {}", &digits[..3], &digits[3..5], &digits[5..])]
}

/// Unkeyed SHA-256 digests of an SSN (of each spelling, and of the prefixed form person keys
/// used to be made of), as lower-case hex.
fn unkeyed_digests(ssn: &str) -> Vec<String> {
    let digits: String = ssn.chars().filter(char::is_ascii_digit).collect();
    let mut texts = spellings(ssn);
    texts.push(format!("roundtrip-ssn:{digits}"));
    texts.iter().map(|t| Sha256::digest(t.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()).collect()
}

/// Panics when `text` (from `what`) holds any of `ssns` in any spelling, or 16 or more hex
/// characters of an unkeyed SHA-256 of one.
fn assert_no_ssn(what: &str, text: &str, ssns: &[&str]) {
    let lower = text.to_lowercase();
    for ssn in ssns {
        for s in spellings(ssn) {
            assert!(!text.contains(&s), "{what} shows the SSN {s}:\n{text}");
        }
        for digest in unkeyed_digests(ssn) {
            for window in digest.as_bytes().windows(16) {
                let piece = std::str::from_utf8(window).unwrap();
                assert!(
                    !lower.contains(piece),
                    "{what} holds an unkeyed SHA-256 of an SSN ({piece}):\n{text}"
                );
            }
        }
    }
}

fn col(field: Field) -> usize {
    T.col(field).expect("an insured contact details column")
}

fn headers() -> Vec<String> {
    T.headers().iter().map(|h| h.to_string()).collect()
}

/// A new person's row: names, a Client Reference, an SSN and an email.
fn person(first: &str, last: &str, cref: &str, ssn: &str, email: &str) -> Vec<String> {
    let mut r = vec![String::new(); T.columns.len()];
    r[col(Field::FirstName)] = first.into();
    r[col(Field::LastName)] = last.into();
    r[col(Field::ClientReference)] = cref.into();
    r[col(Field::Ssn)] = ssn.into();
    r[col(Field::DetailType)] = "Email".into();
    r[col(Field::Label)] = "Work".into();
    r[col(Field::Primary)] = "No".into();
    r[col(Field::Email)] = email.into();
    r
}

/// A workbook of text cells: `rows` under `header` (no header row when `header` is `None`).
fn workbook(header: Option<&[String]>, rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let sheet = wb.add_worksheet();
    let all: Vec<&Vec<String>> = rows.iter().collect();
    let mut r = 0u32;
    if let Some(h) = header {
        for (c, v) in h.iter().enumerate() {
            sheet.write_string(r, c as u16, v).expect("a header cell");
        }
        r += 1;
    }
    for row in all {
        for (c, v) in row.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            sheet.write_string(r, c as u16, v).expect("a cell");
        }
        r += 1;
    }
    wb.save_to_buffer().expect("a workbook")
}

/// The three files of the sweep, with the SSNs each carries.
fn files() -> Vec<(&'static str, Vec<u8>, Vec<&'static str>)> {
    let invalid: Vec<Vec<String>> = INVALID
        .iter()
        .enumerate()
        .map(|(i, ssn)| {
            person(
                "Ines",
                &format!("Invalid{i}"),
                &format!("CR-PRIV-INV-{i}"),
                ssn,
                &format!("inv{i}@example.org"),
            )
        })
        .collect();
    let duplicated = vec![
        person("Dora", "Twin", "CR-PRIV-DUP-1", DUPLICATED, "dora@example.org"),
        person("Dina", "Twin", "CR-PRIV-DUP-2", DUPLICATED, "dina@example.org"),
    ];
    let no_header = vec![
        person("Hana", "Headless", "CR-PRIV-NH-1", IN_FIRST_ROW, "hana@example.org"),
        person("Hugo", "Headless", "CR-PRIV-NH-2", IN_SECOND_ROW, "hugo@example.org"),
    ];
    vec![
        ("invalid-ssns.xlsx", workbook(Some(&headers()), &invalid), INVALID.to_vec()),
        ("duplicated-ssn.xlsx", workbook(Some(&headers()), &duplicated), vec![DUPLICATED]),
        ("no-header-row.xlsx", workbook(None, &no_header), vec![IN_FIRST_ROW, IN_SECOND_ROW]),
    ]
}

/// Every SSN the sweep's files carry.
fn all_ssns() -> Vec<&'static str> {
    let mut v = INVALID.to_vec();
    v.extend([DUPLICATED, IN_FIRST_ROW, IN_SECOND_ROW]);
    v
}

fn demo() -> Svc {
    let svc = Service::new(MemoryStore::new(), common::seeded_secrets(17));
    run(&svc, Open { autoload_demo: true }).expect("the demo CRM opens");
    let crm = block_on(svc.current()).expect("the CRM").crm.clone();
    for ssn in all_ssns() {
        let ssn = Ssn::parse(ssn).unwrap();
        assert!(crm.entries.values().all(|e| e.ssn != Some(ssn)), "the demo CRM does not hold {ssn}");
    }
    svc
}

/// Every cell of every sheet of a workbook, as one text.
fn workbook_text(bytes: &[u8]) -> String {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let mut out = String::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).expect("a sheet");
        for row in range.rows() {
            for cell in row {
                out.push_str(&cell.to_string());
                out.push('\t');
            }
            out.push('\n');
        }
    }
    out
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("JSON")
}

/// Runs one file through every step the service offers, collecting every text the page or a
/// download would show; returns them with the file's error report written with full SSNs.
fn sweep(svc: &Svc, name: &str, bytes: Vec<u8>) -> (Vec<(String, String)>, Vec<u8>, usize) {
    let w = INSURED;
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut see = |what: &str, text: String| seen.push((format!("{name}: {what}"), text));
    let mut view = stage(svc, name, bytes).expect("the file is staged");
    see("staged view", json(&view));
    if let SessionView::Headers(h) = &view {
        // The operator maps every column by position (the file is in template order).
        for t in 0..T.columns.len() {
            if h.rows[t].file_column != Some(t) {
                let v = run(svc, SetColumn { workflow: w, template_column: t, file_column: Some(t) })
                    .expect("a column mapped");
                see("headers view", json(&v));
            }
        }
        let confirmed = run(svc, ConfirmHeaders { workflow: w }).expect("headers confirmed");
        let (next, remember) = (confirmed.view, confirmed.remember);
        see("headers remembered", json(&remember));
        assert!(
            remember.iter().all(|(file_header, _)| !looks_like_a_value(file_header)),
            "{name}: a value taught to the header memory: {remember:?}"
        );
        view = next;
    }
    see("review view", json(&view));
    let review = run(svc, ReviewRows { workflow: w, start: 0, count: 500, only_problems: false })
        .expect("review rows");
    see("review rows", json(&review));
    let masked =
        run(svc, ErrorReport { workflow: w, include_full_ssns: false, operator_login: "ana".into() })
            .expect("the error report");
    see("error report", workbook_text(&masked.bytes));
    let view = run(svc, MatchRows { workflow: w }).expect("matched");
    see("match view", json(&view));
    for matched in [false, true] {
        let groups = run(svc, ListGroups { workflow: w, start: 0, count: 200, matched }).expect("groups");
        see("groups", json(&groups));
    }
    let view = run(svc, PlanImport { workflow: w, options: None }).expect("planned");
    see("plan view", json(&view));
    let rows =
        run(svc, PlanRows { workflow: w, start: 0, count: 500, only_changes: false }).expect("plan rows");
    see("plan rows", json(&rows));
    let report = run(svc, PlanReport { workflow: w }).expect("the plan report");
    see("plan report", workbook_text(&report.bytes));
    let masked =
        run(svc, ErrorReport { workflow: w, include_full_ssns: false, operator_login: "ana".into() })
            .expect("the error report after the plan");
    see("error report after the plan", workbook_text(&masked.bytes));
    let full = run(svc, ErrorReport { workflow: w, include_full_ssns: true, operator_login: "ana".into() })
        .expect("the full error report");
    let ssns = distinct_ssns(&full.bytes);
    match apply(svc, true) {
        Ok(ApplyOutcome::Applied(done)) => see("done view", json(&done)),
        Ok(ApplyOutcome::AskFirst(question)) => see("apply question", json(&question)),
        Err(refusal) => see("apply refusal", refusal.to_string()),
    }
    for event in svc.take_events() {
        see("event", json(&event));
    }
    let history = run(svc, History).expect("the history");
    see("history", json(&history));
    (seen, full.bytes, ssns)
}

#[test]
fn no_view_message_or_report_shows_an_ssn_of_the_files_and_only_the_full_ssn_report_holds_them() {
    let svc = demo();
    for (name, bytes, ssns) in files() {
        let (seen, full_report, counted) = sweep(&svc, name, bytes);
        assert!(seen.len() > 12, "{name}: every step was seen: {seen:?}");
        for (what, text) in &seen {
            assert_no_ssn(what, text, &all_ssns());
        }
        // "Include full SSNs" writes them as the file had them, and says how many.
        let full = workbook_text(&full_report);
        for ssn in &ssns {
            if *ssn == IN_FIRST_ROW {
                continue; // the header row, which the report does not repeat
            }
            assert!(full.contains(ssn), "{name}: the full-SSN error report holds {ssn}:\n{full}");
        }
        let expected =
            ssns.iter().filter(|s| **s != IN_FIRST_ROW).collect::<std::collections::BTreeSet<_>>().len();
        assert_eq!(counted, expected, "{name}: distinct full SSNs counted");
    }
}

#[test]
fn invalid_ssns_are_said_what_is_wrong_with_them() {
    let svc = demo();
    let (name, bytes, _) = files().remove(0);
    let (seen, _, _) = sweep(&svc, name, bytes);
    let review = &seen.iter().find(|(what, _)| what.ends_with("review rows")).expect("review rows").1;
    for expected in [
        "areas 900–999 are never issued",
        "area 666 is never issued",
        "area 000 is never issued",
        "XXX-XX-5678",
        "XXX-XX-3456",
    ] {
        assert!(review.contains(expected), "the review says {expected:?}: {review}");
    }
}

#[test]
fn an_ssn_given_to_two_new_persons_goes_to_the_first_and_is_named_masked_on_the_second() {
    let svc = demo();
    let (name, bytes, _) = files().remove(1);
    let (seen, _, _) = sweep(&svc, name, bytes);
    let text = |step: &str| &seen.iter().find(|(what, _)| what.ends_with(step)).expect(step).1;
    let rows = text("plan rows");
    assert!(
        rows.contains("SSN XXX-XX-1120 already belongs to another entry (CR-PRIV-DUP-1 · Dora Twin)"),
        "the second person's row says why its SSN is not copied: {rows}"
    );
    assert!(text("done view").contains("2 created"), "both persons are created: {}", text("done view"));
    let crm = block_on(svc.current()).expect("the CRM").crm.clone();
    let holders: Vec<&str> = crm
        .entries
        .values()
        .filter(|e| e.ssn == Ssn::parse(DUPLICATED))
        .filter_map(|e| e.client_reference.as_deref())
        .collect();
    assert_eq!(holders, ["CR-PRIV-DUP-1"], "the SSN is on one entry");
}

#[test]
fn a_batch_breaking_uniqueness_is_refused_naming_the_ssn_masked() {
    use roundtrip::core::model::{ChangeSet, Record};
    use roundtrip::store::{CrmStore, StoreError};
    let svc = demo();
    let crm = block_on(svc.current()).expect("the CRM").crm.clone();
    let holder = crm.entries.values().find(|e| e.ssn.is_some()).expect("an entry with an SSN");
    let full = holder.ssn.unwrap().expose_full().to_string();
    let mut twin = crm.entries.values().find(|e| e.ssn.is_none()).expect("an entry without").clone();
    twin.ssn = holder.ssn;
    let batch = roundtrip::core::revision::CheckedBatch::unchecked(ChangeSet {
        puts: vec![Record::Entry(twin)],
        deletes: vec![],
    });
    let Err(StoreError::Constraint(message)) = block_on(svc.store().commit(&batch)) else {
        panic!("the batch is refused")
    };
    assert!(message.contains(&format!("the SSN XXX-XX-{}", &full[7..])), "{message}");
    assert_no_ssn("the refusal", &message, &[full.as_str()]);
}

#[test]
fn a_file_whose_first_row_is_data_shows_it_masked_and_teaches_the_memory_nothing() {
    let svc = demo();
    let (name, bytes, _) = files().remove(2);
    let w = INSURED;
    let view = stage(&svc, name, bytes).expect("staged");
    let SessionView::Headers(h) = view else { panic!("the headers step: {view:#?}") };
    let masked = format!("XXX-XX-{}", &IN_FIRST_ROW[7..]);
    assert!(h.file_headers.contains(&masked), "{:?}", h.file_headers);
    assert!(
        h.file_headers.iter().any(|x| x.starts_with("Column ") && x.ends_with("(no header)")),
        "{:?}",
        h.file_headers
    );
    for t in 0..T.columns.len() {
        run(&svc, SetColumn { workflow: w, template_column: t, file_column: Some(t) }).expect("mapped");
    }
    let remember = run(&svc, ConfirmHeaders { workflow: w }).expect("confirmed").remember;
    assert_eq!(remember, vec![], "nothing of a data row is remembered");
}

// ---- The command line ----------------------------------------------------------------------

fn dir(test: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("privacy").join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a test directory");
    d
}

fn cli(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roundtrip-cli"));
    c.current_dir(dir).args(["--now-ms", &NOW.to_string()]);
    c
}

/// Runs the command line: its stdout and stderr together.
fn output(dir: &Path, args: &[&str]) -> String {
    let out = cli(dir).args(args).output().expect("the command line runs");
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_command_line_shows_no_ssn_in_text_or_json_and_writes_full_ones_only_when_asked() {
    let d = dir("sweep");
    cli(&d).args(["demo", "-o", "crm.xlsx"]).assert().success();
    for (name, bytes, ssns) in files() {
        std::fs::write(d.join(name), bytes).expect("written");
        for json in [false, true] {
            let mut args = vec!["plan", "--crm", "crm.xlsx", "--template", "insured-contact-details", name];
            args.extend([
                "--accept-headers",
                "--create-new",
                "--report",
                "plan.xlsx",
                "--errors",
                "errors.xlsx",
            ]);
            if json {
                args.insert(0, "--json");
            }
            for written in ["plan.xlsx", "errors.xlsx"] {
                let _ = std::fs::remove_file(d.join(written));
            }
            let text = output(&d, &args);
            assert_no_ssn(&format!("{name}: plan output (json {json})"), &text, &all_ssns());
            for written in ["plan.xlsx", "errors.xlsx"] {
                // A file the command line cannot plan (no header row: required columns
                // missing) writes no report.
                match std::fs::read(d.join(written)) {
                    Ok(bytes) => {
                        assert_no_ssn(&format!("{name}: {written}"), &workbook_text(&bytes), &all_ssns())
                    }
                    Err(_) => {
                        assert_eq!(name, "no-header-row.xlsx", "{name}: {written} was not written:\n{text}")
                    }
                }
            }
            let applied = output(
                &d,
                &[
                    "--json",
                    "apply",
                    "--crm",
                    "crm.xlsx",
                    "--template",
                    "insured-contact-details",
                    name,
                    "--accept-headers",
                    "--create-new",
                    "--valid-rows-only",
                    "--out",
                    "after.xlsx",
                ],
            );
            assert_no_ssn(&format!("{name}: apply output"), &applied, &all_ssns());
        }
        let args = [
            "plan",
            "--crm",
            "crm.xlsx",
            "--template",
            "insured-contact-details",
            name,
            "--accept-headers",
            "--errors",
            "full.xlsx",
            "--include-full-ssns",
        ];
        let text = output(&d, &args);
        assert_no_ssn(&format!("{name}: plan output"), &text, &all_ssns());
        if name == "no-header-row.xlsx" {
            assert!(text.contains("required column(s) missing"), "{text}");
            continue;
        }
        let full = workbook_text(&std::fs::read(d.join("full.xlsx")).unwrap());
        for ssn in ssns.iter().filter(|s| **s != IN_FIRST_ROW) {
            assert!(full.contains(ssn), "{name}: --include-full-ssns writes {ssn}");
        }
    }
    // --include-full-ssns without an error report to write is a usage error.
    let out = cli(&d)
        .args([
            "plan",
            "--crm",
            "crm.xlsx",
            "--template",
            "insured-contact-details",
            "invalid-ssns.xlsx",
            "--include-full-ssns",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn person_keys_are_keyed_by_the_snapshot_s_secret_stable_across_runs_and_differ_between_crms() {
    let d = dir("keys");
    cli(&d).args(["demo", "-o", "a.xlsx"]).assert().success();
    cli(&d).args(["demo", "-o", "b.xlsx"]).assert().success();
    // Two persons known only by SSN: their keys are `ssn:` and a keyed digest.
    let rows = vec![
        person("Sam", "Keyed", "", "457-55-5462", "sam@example.org"),
        person("Sue", "Keyed", "", "078-05-1120", "sue@example.org"),
    ];
    std::fs::write(d.join("keys.xlsx"), workbook(Some(&headers()), &rows)).unwrap();
    let keys = |crm: &str| -> Vec<String> {
        let out = cli(&d)
            .args(["--json", "plan", "--crm", crm, "--template", "insured-contact-details", "keys.xlsx"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut keys: Vec<String> = json["undecided"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["key"].as_str().unwrap().to_string())
            .collect();
        keys.sort();
        keys
    };
    let (a1, a2, b) = (keys("a.xlsx"), keys("a.xlsx"), keys("b.xlsx"));
    assert_eq!(a1.len(), 2, "{a1:?}");
    assert!(
        a1.iter().all(|k| k.starts_with("unmatched/ssn:") && k.len() == "unmatched/ssn:".len() + 16),
        "{a1:?}"
    );
    assert_eq!(a1, a2, "stable from run to run on the same snapshot");
    assert!(a1.iter().all(|k| !b.contains(k)), "another CRM, other keys: {a1:?} {b:?}");
    assert_no_ssn("person keys", &a1.join(" "), &["457-55-5462", "078-05-1120"]);
}

// ---- The digest secret ------------------------------------------------------------------------

#[test]
fn every_crm_gets_a_digest_secret_once_and_snapshots_carry_it() {
    use roundtrip::core::demo::{demo_crm, DEMO_SEED};
    use roundtrip::core::snapshot::{read_snapshot, write_snapshot};

    // A copy stored before digest secrets gets one when it is opened, in one commit.
    let old = demo_crm(DEMO_SEED, 1);
    assert!(old.secret().is_none());
    let svc = Service::new(MemoryStore::with_crm(old.clone()), common::seeded_secrets(5));
    let before = block_on(svc.current()).expect("the CRM").sequence;
    run(&svc, Open { autoload_demo: false }).expect("opened");
    let stored = block_on(svc.current()).expect("the CRM");
    let secret = *stored.crm.secret().expect("a secret was made");
    assert_eq!(stored.sequence, before + 1, "one commit wrote it");
    assert_eq!(Crm { counters: old.counters, ..stored.crm.clone() }, old, "nothing else changed");
    drop(stored);
    assert!(!block_on(svc.ensure_secret()).unwrap(), "a secret is made once");
    assert_eq!(block_on(svc.current()).unwrap().crm.secret(), Some(&secret));

    // The snapshot carries it; reading the snapshot gives it back.
    let snapshot = run(&svc, SnapshotDownload { operator_login: "ana".into() }).expect("a snapshot");
    assert_eq!(read_snapshot("s.xlsx", &snapshot.bytes).unwrap().secret(), Some(&secret));
    run_bytes(&svc, ReadSnapshot { file_name: "s.xlsx".into() }, snapshot.bytes.clone()).unwrap();
    run(&svc, ReplaceWithSnapshot).unwrap();
    assert_eq!(block_on(svc.current()).unwrap().crm.secret(), Some(&secret));

    // A snapshot without one (written before digest secrets) loads with a new one; so does
    // the demo, each time another.
    let without = write_snapshot(&old).unwrap();
    run_bytes(&svc, ReadSnapshot { file_name: "old.xlsx".into() }, without).unwrap();
    run(&svc, ReplaceWithSnapshot).unwrap();
    let from_old = *block_on(svc.current()).unwrap().crm.secret().expect("a new secret");
    assert_ne!(from_old, secret);
    run(&svc, LoadDemo).unwrap();
    let demo_secret = *block_on(svc.current()).unwrap().crm.secret().expect("the demo's secret");
    assert!(demo_secret != from_old && demo_secret != secret);
    assert!(
        !format!("{:?}", block_on(svc.current()).unwrap().crm.counters).contains(&demo_secret.expose_hex())
    );
}

#[test]
fn an_export_re_imported_into_another_crm_copy_plans_without_its_base_and_says_why() {
    let a = demo();
    let b = Service::new(MemoryStore::new(), common::seeded_secrets(99));
    run(&b, Open { autoload_demo: true }).expect("the same demo, another secret");
    let export =
        run(&a, InsuredExport { portfolio_id: 1, operator_login: "ana".into() }).expect("an export of A");
    let w = INSURED;
    for (svc, other) in [(&a, false), (&b, true)] {
        stage(svc, "export.xlsx", export.bytes.clone()).expect("staged");
        run(svc, MatchRows { workflow: w }).expect("matched");
        let SessionView::Plan(plan) = run(svc, PlanImport { workflow: w, options: None }).expect("planned")
        else {
            panic!("a plan")
        };
        let says = plan.notices.iter().any(|n| n == roundtrip::core::insured::base::OTHER_SECRET);
        assert_eq!(says, other, "{:?}", plan.notices);
        if !other {
            assert!(plan.notices.is_empty(), "{:?}", plan.notices);
            assert_eq!(plan.changing_rows, 0, "the export re-imported into its own CRM changes nothing");
        }
    }
}

#[test]
fn an_error_report_with_masked_ssns_fixed_and_uploaded_again_keeps_the_crm_s_ssns() {
    let svc = demo();
    let w = INSURED;
    let export =
        run(&svc, InsuredExport { portfolio_id: 1, operator_login: "ana".into() }).expect("an export");
    let (header, mut rows) = common::read_cells(&export.bytes);
    let with_ssn = rows.iter().position(|r| !r[col(Field::Ssn)].is_empty()).expect("a row with an SSN");
    let email = rows.iter().position(|r| r[col(Field::DetailType)] == "Email").expect("an Email row");
    rows[email][col(Field::Email)] = "not-an-email".into();
    let bad = workbook(Some(&header), &rows);
    let view = stage(&svc, "bad.xlsx", bad).expect("staged");
    let SessionView::Review(review) = view else { panic!("the review: {view:#?}") };
    assert_eq!(review.errors, 1);
    let report =
        run(&svc, ErrorReport { workflow: w, include_full_ssns: false, operator_login: "ana".into() })
            .expect("the error report");
    let (report_header, mut report_rows) = common::read_cells(&report.bytes);
    assert!(report_rows[with_ssn][col(Field::Ssn)].starts_with("XXX-XX-"), "the SSN column is masked");
    // The operator fixes the email in the report and uploads it again.
    report_rows[email][col(Field::Email)] = "fixed@example.com".into();
    let fixed = workbook(Some(&report_header), &report_rows);
    let before = block_on(svc.current()).unwrap().crm.clone();
    let view = stage(&svc, "bad-errors.xlsx", fixed).expect("staged");
    let SessionView::Review(review) = view else { panic!("the review: {view:#?}") };
    assert_eq!(review.errors, 0, "a masked SSN is no error");
    assert!(review.warnings > 0, "each masked SSN is a warning");
    let page =
        run(&svc, ReviewRows { workflow: w, start: 0, count: 5_000, only_problems: true }).expect("rows");
    assert!(json(&page).contains("SSN: masked, so not read from this file; the CRM keeps its own SSN"));
    run(&svc, MatchRows { workflow: w }).expect("matched");
    let SessionView::Plan(plan) = run(&svc, PlanImport { workflow: w, options: None }).expect("planned")
    else {
        panic!("a plan")
    };
    assert_eq!(plan.changing_rows, 1, "only the fixed email changes");
    apply(&svc, false).expect("applied");
    let after = block_on(svc.current()).unwrap().crm.clone();
    assert!(before.entries.values().all(|e| after.entries[&e.id].ssn == e.ssn), "every SSN is as it was");
}
