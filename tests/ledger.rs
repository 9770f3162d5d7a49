//! The PII ledger through the service, natively over the memory store: each Reveal and each
//! file written with full SSNs (Insured CRM Export, snapshot, error report with "Include full
//! SSNs") is recorded by the call that reveals or gives it — operator, time, the entry or the
//! file's name, the SHA-256 of the bytes given and the number of full SSNs they hold — and
//! nothing else is; no entry holds an SSN; the ledger travels in snapshots, a version-1
//! snapshot loads with an empty one; without a record nothing is revealed; and a ledger entry
//! leaves an open plan current and tells the page only that the ledger grew.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeSet;

use futures::executor::block_on;

use roundtrip::core::digest::sha256_hex;
use roundtrip::core::insured::workflow::ID as INSURED;
use roundtrip::core::ledger::{LedgerEntry, LedgerEvent, LedgerFile};
use roundtrip::core::privacy::Ssn;
use roundtrip::core::template::Field;
use roundtrip::core::workflow::ImportOptions;
use roundtrip::protocol::{
    ApplyImport, ApplyOutcome, ErrorReport, Event, InsuredExport, MatchRows, Open, PiiLedger,
    PiiLedgerDownload, PlanImport, ReadSnapshot, ReplaceWithSnapshot, RevealSsn, SessionView,
    SnapshotDownload, StageFile,
};
use roundtrip::service::{Call, Failure, Handle, Service, Silent};
use roundtrip::store::memory::MemoryStore;

type Svc = Service<MemoryStore>;

const NOW: i64 = 1_764_689_954_000;

fn run_at<O: Handle<MemoryStore>>(svc: &Svc, op: O, now_ms: i64) -> Result<O::Reply, Failure> {
    block_on(svc.run(op, &Call::new(&Silent, now_ms)))
}

fn run<O: Handle<MemoryStore>>(svc: &Svc, op: O) -> Result<O::Reply, Failure> {
    run_at(svc, op, NOW)
}

fn demo() -> Svc {
    let svc = Service::new(MemoryStore::new(), common::seeded_secrets(23));
    run(&svc, Open { autoload_demo: true }).expect("the demo CRM opens");
    svc
}

/// The stored ledger, oldest first.
fn ledger(svc: &Svc) -> Vec<LedgerEntry> {
    let mut entries: Vec<LedgerEntry> =
        block_on(svc.current()).expect("the CRM").crm.ledger.values().cloned().collect();
    entries.sort_by_key(|e| e.at_ms);
    entries
}

/// Distinct full SSNs in the SSN column of a file's first sheet.
fn distinct_ssns(bytes: &[u8]) -> usize {
    let (_, rows) = common::read_cells(bytes);
    rows.iter().filter_map(|r| Ssn::parse(&r[common::col(Field::Ssn)])).collect::<BTreeSet<_>>().len()
}

/// Asserts that `entry` records the file `bytes` as given under `name`.
fn assert_file_entry(entry: &LedgerEntry, kind: LedgerFile, name: &str, bytes: &[u8], ssns: usize) {
    assert_eq!(entry.operator_login, "bsilva");
    assert_eq!(
        entry.event,
        LedgerEvent::File { kind, file_name: name.to_string(), sha256: sha256_hex(bytes), ssns },
        "{entry:?}"
    );
}

/// Every SSN of the CRM, in every spelling.
fn ssn_spellings(svc: &Svc) -> Vec<String> {
    let crm = &block_on(svc.current()).unwrap().crm;
    crm.entries
        .values()
        .filter_map(|e| e.ssn)
        .flat_map(|s| {
            let full = s.expose_full().to_string();
            [full.clone(), full.replace('-', ""), full.replace('-', " ")]
        })
        .collect()
}

/// An Insured CRM Export with one email broken, staged and reviewed: the Review step.
fn stage_export_with_an_error(svc: &Svc) {
    let export =
        run(svc, InsuredExport { portfolio_id: 1, operator_login: "bsilva".into() }).expect("an export");
    let (header, mut rows) = common::read_cells(&export.bytes);
    let email = rows.iter().position(|r| r[common::col(Field::DetailType)] == "Email").expect("an Email row");
    rows[email][common::col(Field::Email)] = "not-an-email".into();
    let op = StageFile {
        workflow: INSURED,
        file_name: "fix-me.xlsx".into(),
        options: ImportOptions::default(),
        remembered: Default::default(),
    };
    let view =
        block_on(svc.run(op, &Call::new(&Silent, NOW).with_bytes(Some(common::write_cells(&header, &rows)))))
            .expect("staged");
    assert!(matches!(view, SessionView::Review(_)), "the Review step: {view:#?}");
}

#[test]
fn a_reveal_records_the_operator_entry_and_time_and_never_the_ssn() {
    let svc = demo();
    let entry =
        block_on(svc.current()).unwrap().crm.entries.values().find(|e| e.ssn.is_some()).unwrap().clone();
    let shown = run(&svc, RevealSsn { id: entry.id, operator_login: "bsilva".into() }).expect("revealed");
    assert_eq!(shown, entry.ssn.unwrap().expose_full());
    let recorded = ledger(&svc);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].operator_login, "bsilva");
    assert_eq!(recorded[0].at_ms, NOW);
    assert_eq!(
        recorded[0].event,
        LedgerEvent::Reveal { entry_id: entry.id, entry_label: entry.display_name() }
    );
    let text = format!("{recorded:?}{:?}", run(&svc, PiiLedger).unwrap());
    for spelling in ssn_spellings(&svc) {
        assert!(!text.contains(&spelling), "the ledger holds an SSN");
    }
    // An entry without an SSN reveals nothing and records nothing.
    let without =
        block_on(svc.current()).unwrap().crm.entries.values().find(|e| e.ssn.is_none()).map(|e| e.id);
    if let Some(id) = without {
        assert!(run(&svc, RevealSsn { id, operator_login: "bsilva".into() }).is_err());
        assert_eq!(ledger(&svc).len(), 1);
    }
}

#[test]
fn an_insured_export_and_a_snapshot_are_recorded_with_their_digest_and_count() {
    let svc = demo();
    let export =
        run(&svc, InsuredExport { portfolio_id: 1, operator_login: "bsilva".into() }).expect("an export");
    let export_ssns = distinct_ssns(&export.bytes);
    assert!(export_ssns > 0, "the demo's portfolio 1 has SSNs");
    let snapshot =
        run_at(&svc, SnapshotDownload { operator_login: "bsilva".into() }, NOW + 1000).expect("a snapshot");
    let crm_ssns = block_on(svc.current()).unwrap().crm.entries.values().filter(|e| e.ssn.is_some()).count();
    let recorded = ledger(&svc);
    assert_eq!(recorded.len(), 2, "{recorded:#?}");
    assert_file_entry(&recorded[0], LedgerFile::InsuredExport, &export.name, &export.bytes, export_ssns);
    assert_file_entry(&recorded[1], LedgerFile::Snapshot, &snapshot.name, &snapshot.bytes, crm_ssns);
    assert_eq!(recorded[1].at_ms, NOW + 1000);

    // The page's list: newest first, the digest's start, the count.
    let rows = run(&svc, PiiLedger).expect("the ledger");
    assert_eq!(
        rows.iter().map(|r| r.what.as_str()).collect::<Vec<_>>(),
        ["CRM snapshot", "Insured CRM Export"]
    );
    assert_eq!(rows[1].sha256_prefix, sha256_hex(&export.bytes)[..12]);
    assert_eq!(rows[1].ssns, Some(export_ssns));
    assert_eq!(rows[1].file_name, export.name);
}

#[test]
fn an_error_report_is_recorded_only_with_full_ssns() {
    let svc = demo();
    stage_export_with_an_error(&svc);
    let before = ledger(&svc).len();
    let masked = run(
        &svc,
        ErrorReport { workflow: INSURED, include_full_ssns: false, operator_login: "bsilva".into() },
    )
    .expect("the masked report");
    assert_eq!(distinct_ssns(&masked.bytes), 0);
    assert_eq!(ledger(&svc).len(), before, "a report without full SSNs is not recorded");
    let full = run_at(
        &svc,
        ErrorReport { workflow: INSURED, include_full_ssns: true, operator_login: "bsilva".into() },
        NOW + 5,
    )
    .expect("the full report");
    let ssns = distinct_ssns(&full.bytes);
    assert!(ssns > 0);
    let recorded = ledger(&svc);
    assert_eq!(recorded.len(), before + 1);
    assert_file_entry(
        recorded.last().unwrap(),
        LedgerFile::ErrorReport,
        "fix-me-errors.xlsx",
        &full.bytes,
        ssns,
    );
}

#[test]
fn without_a_record_nothing_is_revealed_or_given() {
    let svc = demo();
    let id = block_on(svc.current()).unwrap().crm.entries.values().find(|e| e.ssn.is_some()).unwrap().id;
    svc.set_read_only("the copy could not be read".into());
    let refused = run(&svc, RevealSsn { id, operator_login: "bsilva".into() }).expect_err("refused");
    assert!(refused
        .to_string()
        .starts_with("Nothing was shown or given: the PII ledger could not record it"));
    assert!(matches!(refused, Failure::NotRecorded(_)));
    assert!(run(&svc, InsuredExport { portfolio_id: 1, operator_login: "bsilva".into() }).is_err());
    assert!(ledger(&svc).is_empty());
}

#[test]
fn the_ledger_survives_a_snapshot_round_trip_and_downloads_without_ssns() {
    let svc = demo();
    let id = block_on(svc.current()).unwrap().crm.entries.values().find(|e| e.ssn.is_some()).unwrap().id;
    run(&svc, RevealSsn { id, operator_login: "bsilva".into() }).unwrap();
    run_at(&svc, InsuredExport { portfolio_id: 2, operator_login: "amartin".into() }, NOW + 1).unwrap();
    let snapshot = run_at(&svc, SnapshotDownload { operator_login: "bsilva".into() }, NOW + 2).unwrap();
    // The snapshot holds the ledger as it was before its own entry (made after its bytes).
    let written = ledger(&svc);
    assert_eq!(written.len(), 3);

    let other = Service::new(MemoryStore::new(), common::seeded_secrets(5));
    run(&other, Open { autoload_demo: false }).unwrap();
    block_on(other.run(
        ReadSnapshot { file_name: "s.xlsx".into() },
        &Call::new(&Silent, NOW).with_bytes(Some(snapshot.bytes)),
    ))
    .expect("read");
    run(&other, ReplaceWithSnapshot).expect("loaded");
    assert_eq!(ledger(&other), written[..2].to_vec());

    let download = run(&svc, PiiLedgerDownload).expect("the ledger workbook");
    let (header, rows) = common::read_cells(&download.bytes);
    assert_eq!(header[0], "Time (UTC)");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][2], "CRM snapshot", "newest first");
    assert_eq!(rows[2][2], "Reveal of an SSN");
    let text = format!("{rows:?}");
    for spelling in ssn_spellings(&svc) {
        assert!(!text.contains(&spelling), "the ledger workbook holds an SSN");
    }
}

#[test]
fn a_version_1_snapshot_loads_with_an_empty_ledger() {
    use calamine::{Data, Reader, Xlsx};
    let svc = demo();
    let id = block_on(svc.current()).unwrap().crm.entries.values().find(|e| e.ssn.is_some()).unwrap().id;
    run(&svc, RevealSsn { id, operator_login: "bsilva".into() }).unwrap();
    let snapshot = run(&svc, SnapshotDownload { operator_login: "bsilva".into() }).unwrap();
    // The same workbook as layout version 1 wrote it: no "PII Ledger" sheet, no row count
    // for it, version 1.
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(snapshot.bytes)).unwrap();
    let mut out = rust_xlsxwriter::Workbook::new();
    for name in book.sheet_names().into_iter().filter(|n| n != "PII Ledger") {
        let range = book.worksheet_range(&name).unwrap();
        let sheet = out.add_worksheet();
        sheet.set_name(&name).unwrap();
        let mut r = 0u32;
        for row in range.rows() {
            if row.first() == Some(&Data::String("Rows in PII Ledger".into())) {
                continue;
            }
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Data::String(s) if name == "About" && s == "Format Version" => {
                        sheet.write_string(r, 0, s).unwrap();
                        sheet.write_number(r, 1, 1.0).unwrap();
                        break;
                    }
                    Data::String(s) => {
                        sheet.write_string(r, c, s).unwrap();
                    }
                    Data::Float(f) => {
                        sheet.write_number(r, c, *f).unwrap();
                    }
                    Data::Int(i) => {
                        sheet.write_number(r, c, *i as f64).unwrap();
                    }
                    Data::Bool(b) => {
                        sheet.write_boolean(r, c, *b).unwrap();
                    }
                    Data::DateTime(d) => {
                        let f = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
                        sheet.write_number_with_format(r, c, d.as_f64(), &f).unwrap();
                    }
                    _ => {}
                }
            }
            r += 1;
        }
    }
    let old = out.save_to_buffer().unwrap();
    let other = Service::new(MemoryStore::new(), common::seeded_secrets(6));
    run(&other, Open { autoload_demo: false }).unwrap();
    let read =
        block_on(other.run(
            ReadSnapshot { file_name: "old.xlsx".into() },
            &Call::new(&Silent, NOW).with_bytes(Some(old)),
        ))
        .expect("a version-1 snapshot is read");
    assert_eq!(read.entries, block_on(svc.current()).unwrap().crm.entries.len());
    run(&other, ReplaceWithSnapshot).expect("loaded");
    assert!(ledger(&other).is_empty());
    assert!(run(&other, PiiLedger).unwrap().is_empty());
}

#[test]
fn a_ledger_entry_leaves_an_open_plan_current() {
    let svc = demo();
    stage_export_with_an_error(&svc);
    run(&svc, MatchRows { workflow: INSURED }).expect("matched");
    let view = run(&svc, PlanImport { workflow: INSURED, options: None }).expect("planned");
    assert!(matches!(view, SessionView::Plan(_)), "{view:#?}");
    let id = block_on(svc.current()).unwrap().crm.entries.values().find(|e| e.ssn.is_some()).unwrap().id;
    svc.take_events();
    run(&svc, RevealSsn { id, operator_login: "bsilva".into() }).expect("revealed");
    // The page hears that the ledger grew, not that the CRM changed (it reads nothing again).
    assert_eq!(svc.take_events(), vec![Event::LedgerRecorded]);
    let op = ApplyImport {
        workflow: INSURED,
        operator_login: "bsilva".into(),
        again: false,
        valid_rows_only: true,
    };
    let outcome = run(&svc, op).expect("applied without planning again");
    assert!(matches!(outcome, ApplyOutcome::Applied(_)));
}
