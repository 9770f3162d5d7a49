//! The service layer end to end, natively: `Service<MemoryStore>` driven the way the pipeline
//! worker drives it — open with the demo CRM, export a portfolio, edit the workbook (read with
//! calamine, written again with rust_xlsxwriter), stage, confirm, match, resolve, plan, apply,
//! undo — its futures run by `futures::executor::block_on`. It pins what the service adds
//! over the core: the CRM and its history after an apply, a file applied before asking first,
//! stale plans refused and planned again with the operator's choices kept, cancellation that
//! writes nothing, undo newest first back to the original CRM, rows without names that an
//! identifier finds, bulk choices whose preview is what they set, the insurance option
//! "empty cells clear stored values", and a staged file opened again read as the template the
//! operator chose, as staging reads it.

mod common;
use common::{blank_row, col, read_cells, write_cells};
use std::cell::Cell;

use futures::executor::block_on;

use roundtrip::core::insurance::workflow::ID as INSURANCE;
use roundtrip::core::insured::export::portfolio_case_ids;
use roundtrip::core::insured::matching::{BulkAction, GroupChoice};
use roundtrip::core::insured::workflow::ID as INSURED;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS as T;
use roundtrip::core::model::{Crm, DetailKind, InsuranceStatus};
use roundtrip::core::template::Field;
use roundtrip::core::workflow::WorkflowId;
use roundtrip::protocol::{
    ApplyBulk, ApplyImport, ApplyOutcome, ChoosePerson, ChooseTemplate, ConfirmHeaders,
    CreateTemporaryPortfolio, DoneView, GoBack, GroupView, History, ImportOptions, InsuredExport, ListGroups,
    MatchRows, Open, PlanImport, PlanView, PreviewBulk, ResolveView, ResumeFile, ReviewView, SessionView,
    ShowSession, StageFile, Summary, Undo,
};
use roundtrip::service::{Call, Cancelled, Failure, Handle, Service, Silent, Ticker};
use roundtrip::store::memory::MemoryStore;

type Svc = Service<MemoryStore>;

/// The clock every call is given.
const NOW: i64 = 1_700_000_000_000;

/// A ticker that lets `allowed` ticks pass, then cancels; it counts every tick it is asked.
struct CancelAfter {
    allowed: usize,
    ticks: Cell<usize>,
}

impl CancelAfter {
    fn new(allowed: usize) -> CancelAfter {
        CancelAfter { allowed, ticks: Cell::new(0) }
    }

    /// A ticker that never cancels, to count a call's ticks.
    fn counting() -> CancelAfter {
        CancelAfter::new(usize::MAX)
    }
}

impl Ticker for CancelAfter {
    async fn tick(&self, _stage: &str, _done: usize, _total: usize) -> Result<(), Cancelled> {
        let n = self.ticks.get();
        self.ticks.set(n + 1);
        if n >= self.allowed {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

/// A service over a memory store opened with the demo CRM.
fn demo() -> Svc {
    let svc = Service::new(MemoryStore::new(), common::seeded_secrets(1));
    let summary = run(&svc, Open { autoload_demo: true }).expect("the store opens");
    assert!(!summary.empty && summary.entries > 0, "the demo CRM was loaded");
    svc
}

/// Runs one operation as the worker runs it for the page, reporting to `ticker`.
fn run_with<O: Handle<MemoryStore>>(svc: &Svc, op: O, ticker: &impl Ticker) -> Result<O::Reply, Failure> {
    block_on(svc.run(op, &Call::new(ticker, NOW)))
}

/// Runs one operation as the worker runs it for the page.
fn run<O: Handle<MemoryStore>>(svc: &Svc, op: O) -> Result<O::Reply, Failure> {
    run_with(svc, op, &Silent)
}

fn crm(svc: &Svc) -> Crm {
    block_on(svc.current()).expect("the CRM").crm.clone()
}

fn sequence(svc: &Svc) -> u64 {
    block_on(svc.current()).expect("the CRM").sequence
}

fn headers() -> Vec<String> {
    T.headers().iter().map(|h| h.to_string()).collect()
}

/// The Insured CRM Export of the demo's first portfolio, as cells.
fn export_of_first_portfolio(svc: &Svc) -> (u32, Vec<String>, Vec<Vec<String>>) {
    let summary = run(svc, Summary).expect("a summary");
    let portfolio = summary.portfolios.iter().find(|p| !p.temporary).expect("a portfolio").id;
    let export = run(svc, InsuredExport { portfolio_id: portfolio, operator_login: "ana".into() })
        .expect("the export");
    let (header, rows) = read_cells(&export.bytes);
    assert_eq!(header, headers());
    assert!(rows.len() > 20, "a portfolio with some work in it");
    (portfolio, header, rows)
}

/// The first row holding a detail of `kind` with a Public ID (and a Client Reference when
/// `with_cref`).
fn detail_row(rows: &[Vec<String>], kind: DetailKind, with_cref: bool) -> usize {
    rows.iter()
        .position(|r| {
            r[col(Field::DetailType)] == kind.label()
                && !r[col(Field::PublicId)].is_empty()
                && (!with_cref || !r[col(Field::ClientReference)].is_empty())
        })
        .expect("an export row with such a detail")
}

/// Stages a file, confirming its headers when the view asks.
fn stage(svc: &Svc, workflow: WorkflowId, name: &str, bytes: Vec<u8>, options: ImportOptions) -> SessionView {
    let stage = StageFile { workflow, file_name: name.into(), options, remembered: Default::default() };
    let view = block_on(svc.run(stage, &Call::new(&Silent, NOW).with_bytes(Some(bytes))))
        .expect("the file is staged");
    match view {
        SessionView::Headers(_) => run(svc, ConfirmHeaders { workflow }).expect("headers confirmed").view,
        view => view,
    }
}

/// Stages an insured contact details file: its review, without errors.
fn stage_insured(svc: &Svc, name: &str, bytes: Vec<u8>) -> ReviewView {
    match stage(svc, INSURED, name, bytes, ImportOptions::default()) {
        SessionView::Review(r) => {
            assert_eq!(r.errors, 0, "{r:#?}");
            r
        }
        other => panic!("expected the review, got {other:#?}"),
    }
}

fn match_rows(svc: &Svc) -> SessionView {
    run(svc, MatchRows { workflow: INSURED }).expect("matched")
}

fn resolve_view(view: SessionView) -> ResolveView {
    match view {
        SessionView::Resolve(r) => r,
        other => panic!("expected the Resolve step, got {other:#?}"),
    }
}

fn plan_view(view: SessionView) -> PlanView {
    match view {
        SessionView::Plan(p) => p,
        other => panic!("expected the plan, got {other:#?}"),
    }
}

fn plan(svc: &Svc, workflow: WorkflowId) -> PlanView {
    plan_view(run(svc, PlanImport { workflow, options: None }).expect("planned"))
}

/// Matches the staged insured file and plans it when matching leaves persons to resolve.
fn match_and_plan(svc: &Svc) -> PlanView {
    match match_rows(svc) {
        SessionView::Plan(p) => p,
        SessionView::Resolve(_) => plan(svc, INSURED),
        other => panic!("expected Resolve or the plan, got {other:#?}"),
    }
}

/// The open detected persons of the Resolve step.
fn open_groups(svc: &Svc) -> Vec<GroupView> {
    let page =
        run(svc, ListGroups { workflow: INSURED, start: 0, count: 200, matched: false }).expect("the groups");
    assert_eq!(page.groups.len(), page.total);
    page.groups
}

fn group_named(svc: &Svc, name: &str) -> GroupView {
    open_groups(svc).into_iter().find(|g| g.name == name).unwrap_or_else(|| panic!("no open person {name}"))
}

fn apply(
    svc: &Svc,
    workflow: WorkflowId,
    again: bool,
    ticker: &impl Ticker,
) -> Result<ApplyOutcome, Failure> {
    let op = ApplyImport { workflow, operator_login: "ops".into(), again, valid_rows_only: false };
    run_with(svc, op, ticker)
}

fn applied(outcome: Result<ApplyOutcome, Failure>) -> DoneView {
    match outcome {
        Ok(ApplyOutcome::Applied(SessionView::Done(done))) => done,
        other => panic!("expected an applied import, got {other:#?}"),
    }
}

/// Stages, matches, plans and applies a file whose persons tiers decide.
fn import(svc: &Svc, name: &str, bytes: Vec<u8>) -> DoneView {
    stage_insured(svc, name, bytes);
    let p = match_and_plan(svc);
    assert_eq!((p.counts.errors, p.pending_conflicts), (0, 0), "{p:#?}");
    applied(apply(svc, INSURED, false, &Silent))
}

#[test]
fn an_edited_export_is_planned_applied_recorded_and_asks_first_when_applied_again() {
    let svc = demo();
    let (portfolio, header, mut rows) = export_of_first_portfolio(&svc);
    // The CRM as exported (the export wrote its PII ledger entry).
    let before = crm(&svc);

    // An email changed in place.
    let e = detail_row(&rows, DetailKind::Email, false);
    let email_pid = rows[e][col(Field::PublicId)].clone();
    rows[e][col(Field::Email)] = "changed.by.roundtrip@example.org".into();
    // A phone's Public ID blanked, with a new number and label: a detail added to the entry
    // its Client Reference finds.
    let p = detail_row(&rows, DetailKind::Phone, true);
    let phone_pid = rows[p][col(Field::PublicId)].clone();
    let phone_entry = before.details[&phone_pid].entry_id;
    rows[p][col(Field::PublicId)].clear();
    rows[p][col(Field::Label)] = "Work".into();
    rows[p][col(Field::Primary)] = "No".into();
    rows[p][col(Field::Phone)] = "+1 617 555 0199".into();
    // A new person on an insured of the portfolio linked to no entry yet.
    let cases = portfolio_case_ids(&before, portfolio);
    let host = before
        .insureds
        .values()
        .find(|i| i.entry_id.is_none() && cases.contains(&i.case_id))
        .expect("the demo portfolio has an insured without entry")
        .clone();
    let mut new_row = blank_row();
    new_row[col(Field::CaseReference)] = before.cases[&host.case_id].reference.clone();
    new_row[col(Field::InsuredReference)] = host.reference.clone();
    new_row[col(Field::FirstName)] = "Zélie".into();
    new_row[col(Field::LastName)] = "Brandvold".into();
    new_row[col(Field::ClientReference)] = "CR-NEW-0001".into();
    new_row[col(Field::DetailType)] = "Email".into();
    new_row[col(Field::Label)] = "Home".into();
    new_row[col(Field::Primary)] = "Yes".into();
    new_row[col(Field::Email)] = "zelie@example.org".into();
    rows.push(new_row);
    let edited = write_cells(&header, &rows);

    let review = stage_insured(&svc, "north-edited.xlsx", edited.clone());
    assert_eq!(review.rows, rows.len());
    let resolve = resolve_view(match_rows(&svc));
    assert_eq!((resolve.groups, resolve.pending_conflicts), (1, 0), "{resolve:#?}");
    let zelie = group_named(&svc, "Zélie Brandvold");
    assert!(zelie.can_create && !zelie.conflict);
    let resolve = resolve_view(
        run(
            &svc,
            ChoosePerson { workflow: INSURED, group: zelie.index, choice: Some(GroupChoice::CreateNew) },
        )
        .expect("chosen"),
    );
    assert_eq!(resolve.decided, 1);
    let planned = plan(&svc, INSURED);
    let c = planned.counts;
    // Added: the phone, and the new person's email (details of created entries count as added).
    assert_eq!((c.created, c.updated, c.added, c.errors), (1, 1, 2, 0), "{planned:#?}");
    assert!(planned.stale.is_none());
    assert_eq!(planned.relinks.len(), 1, "{:?}", planned.relinks);
    assert!(planned.relinks[0].ends_with(": (not linked) → a new CRM entry"), "{}", planned.relinks[0]);
    // The edited copy was rewritten without the export's base sheet: staleness cannot be checked.
    assert_eq!(planned.notices.len(), 1, "{:?}", planned.notices);
    assert!(planned.notices[0].starts_with("This file carries no export base"), "{}", planned.notices[0]);
    assert_eq!(crm(&svc), before, "planning writes nothing");

    let at = sequence(&svc);
    let done = applied(apply(&svc, INSURED, false, &Silent));
    assert_eq!(done.counts, c);
    assert_eq!(sequence(&svc), at + 1, "one commit");
    let after = crm(&svc);
    assert_eq!(after.details[&email_pid].fields.email, "changed.by.roundtrip@example.org");
    assert_eq!(
        after.details[&phone_pid], before.details[&phone_pid],
        "imports never delete or move a detail"
    );
    let added =
        after.details.values().find(|d| d.fields.phone == "+1 617 555 0199").expect("the phone was added");
    assert_eq!(
        (added.entry_id, added.kind, added.fields.label.as_str()),
        (phone_entry, DetailKind::Phone, "Work")
    );
    assert!(!before.details.contains_key(&added.public_id), "a new Public ID");
    let zelie = after
        .entries
        .values()
        .find(|e| e.client_reference.as_deref() == Some("CR-NEW-0001"))
        .expect("the new person's entry");
    assert_eq!((zelie.first_name.as_str(), zelie.last_name.as_str()), ("Zélie", "Brandvold"));
    assert_eq!(after.insureds[&host.id].entry_id, Some(zelie.id), "linked to the insured");
    assert!(after.details.values().any(|d| d.entry_id == zelie.id && d.fields.email == "zelie@example.org"));

    let history = run(&svc, History).expect("the history");
    assert_eq!(history.len(), before.imports.len() + 1);
    let last = &history[0];
    assert_eq!(
        (last.id, last.file_name.as_str(), last.counts, last.undone),
        (done.import_id, "north-edited.xlsx", c, false)
    );
    let summary = run(&svc, Summary).expect("a summary");
    assert_eq!(summary.last_undoable.map(|i| i.id), Some(done.import_id));

    // The same bytes again: planned on the new CRM, then the operator is asked first.
    stage_insured(&svc, "north-edited.xlsx", edited);
    let again = match_and_plan(&svc);
    assert_eq!((again.counts.created, again.counts.updated, again.counts.added), (0, 0, 0), "{again:#?}");
    let at = sequence(&svc);
    match apply(&svc, INSURED, false, &Silent) {
        Ok(ApplyOutcome::AskFirst(question)) => {
            assert!(question.to_string().contains(&format!("import #{}", done.import_id)), "{question}")
        }
        other => panic!("expected a question, got {other:#?}"),
    }
    assert_eq!(sequence(&svc), at, "asking writes nothing");
    assert_eq!(crm(&svc), after);
}

#[test]
fn a_plan_made_before_another_commit_is_refused_and_planned_again_keeps_the_choices() {
    let svc = demo();
    let before = crm(&svc);
    let (portfolio, header, mut rows) = export_of_first_portfolio(&svc);
    let e = detail_row(&rows, DetailKind::Email, false);
    let email_pid = rows[e][col(Field::PublicId)].clone();
    rows[e][col(Field::Email)] = "stale.then.fresh@example.org".into();
    // A stranger the operator gives an existing entry.
    let mut stranger = blank_row();
    stranger[col(Field::FirstName)] = "Zbigniew".into();
    stranger[col(Field::LastName)] = "Quarrington".into();
    stranger[col(Field::DetailType)] = "Email".into();
    stranger[col(Field::Label)] = "Work".into();
    stranger[col(Field::Primary)] = "No".into();
    stranger[col(Field::Email)] = "zq@example.org".into();
    rows.push(stranger);
    let target = *before.entries.keys().next().expect("an entry");

    stage_insured(&svc, "stale.xlsx", write_cells(&header, &rows));
    resolve_view(match_rows(&svc));
    let zq = group_named(&svc, "Zbigniew Quarrington");
    run(
        &svc,
        ChoosePerson { workflow: INSURED, group: zq.index, choice: Some(GroupChoice::Existing(target)) },
    )
    .expect("chosen");
    let first = plan(&svc, INSURED);
    assert!(first.stale.is_none());
    assert_eq!((first.counts.updated, first.counts.added, first.counts.created), (1, 1, 0), "{first:#?}");

    // Another commit: a temporary portfolio of one case.
    let case = portfolio_case_ids(&before, portfolio)[0];
    run(&svc, CreateTemporaryPortfolio { name: "Meanwhile".into(), owner_login: None, case_ids: vec![case] })
        .expect("created");
    let moved = crm(&svc);
    let at = sequence(&svc);
    let stale = plan_view(run(&svc, ShowSession { workflow: INSURED }).expect("the view"));
    assert!(stale.stale.as_ref().is_some_and(|s| s.to_string().contains("CRM changed")), "{stale:#?}");

    let refused = apply(&svc, INSURED, false, &Silent).expect_err("a stale plan is refused");
    assert!(matches!(refused, Failure::Stale(_)), "{refused:?}");
    assert!(refused.to_string().contains("CRM changed"), "{refused}");
    assert_eq!(sequence(&svc), at, "nothing written");
    assert_eq!(crm(&svc), moved);

    // Planned again on the current CRM: the choice is kept, and the plan applies.
    let second = plan(&svc, INSURED);
    assert!(second.stale.is_none());
    assert_eq!(second.counts, first.counts);
    let zq = group_named(&svc, "Zbigniew Quarrington");
    assert_eq!(zq.choice, Some(GroupChoice::Existing(target)));
    applied(apply(&svc, INSURED, false, &Silent));
    let after = crm(&svc);
    assert_eq!(sequence(&svc), at + 1);
    assert_eq!(after.details[&email_pid].fields.email, "stale.then.fresh@example.org");
    let added = after.details.values().find(|d| d.fields.email == "zq@example.org").expect("added");
    assert_eq!(added.entry_id, target, "the row went to the entry chosen before the re-plan");
}

#[test]
fn a_cancelled_apply_or_plan_writes_nothing_and_the_session_can_go_on() {
    let svc = demo();
    let (portfolio, header, mut rows) = export_of_first_portfolio(&svc);
    let e = detail_row(&rows, DetailKind::Email, false);
    let email_pid = rows[e][col(Field::PublicId)].clone();
    rows[e][col(Field::Email)] = "cancel.then.apply@example.org".into();
    stage_insured(&svc, "cancel.xlsx", write_cells(&header, &rows));
    let planned = plan_view(match_rows(&svc));
    assert_eq!(planned.counts.updated, 1);

    // Cancelled at the apply's first tick, just before the commit.
    let (at, before) = (sequence(&svc), crm(&svc));
    let cancel = CancelAfter::new(0);
    let refused = apply(&svc, INSURED, false, &cancel).expect_err("cancelled");
    assert!(matches!(refused, Failure::Cancelled), "{refused:?}");
    assert_eq!(refused.to_string(), "Cancelled. Nothing was written.");
    assert_eq!(cancel.ticks.get(), 1);
    assert_eq!((sequence(&svc), crm(&svc)), (at, before.clone()), "nothing written");
    assert!(run(&svc, History).expect("history").iter().all(|i| i.file_name != "cancel.xlsx"));
    let still = plan_view(run(&svc, ShowSession { workflow: INSURED }).expect("the view"));
    assert_eq!((still.counts, still.stale.clone()), (planned.counts, None));

    // Another commit makes the plan stale; planning again validates, matches and ranks anew.
    // Cancelled mid-way (at its fourth tick), nothing is written and the stale plan stays.
    let case = portfolio_case_ids(&before, portfolio)[0];
    run(&svc, CreateTemporaryPortfolio { name: "Meanwhile".into(), owner_login: None, case_ids: vec![case] })
        .expect("created");
    let (at, moved) = (sequence(&svc), crm(&svc));
    let cancel = CancelAfter::new(3);
    let refused =
        run_with(&svc, PlanImport { workflow: INSURED, options: None }, &cancel).expect_err("cancelled");
    assert!(matches!(refused, Failure::Cancelled), "{refused:?}");
    assert_eq!(refused.to_string(), "Cancelled. Nothing was written.");
    assert_eq!(cancel.ticks.get(), 4);
    assert_eq!((sequence(&svc), crm(&svc)), (at, moved), "nothing written");
    let still = plan_view(run(&svc, ShowSession { workflow: INSURED }).expect("the view"));
    assert!(still.stale.is_some(), "the cancelled re-plan left the stale plan");
    assert!(apply(&svc, INSURED, false, &Silent).is_err());

    // Planned again to the end: more ticks than where it was cancelled; then it applies.
    let count = CancelAfter::counting();
    let again =
        plan_view(run_with(&svc, PlanImport { workflow: INSURED, options: None }, &count).expect("planned"));
    assert!(count.ticks.get() > 4, "the cancel came mid-way: {} ticks in all", count.ticks.get());
    assert_eq!(again.counts, planned.counts);
    applied(apply(&svc, INSURED, false, &Silent));
    assert_eq!(sequence(&svc), at + 1);
    assert_eq!(crm(&svc).details[&email_pid].fields.email, "cancel.then.apply@example.org");
}

#[test]
fn an_import_is_undone_only_after_the_later_one_that_changed_its_records_and_both_restore_the_crm() {
    let svc = demo();
    let original = crm(&svc);
    let (_, header, rows) = export_of_first_portfolio(&svc);
    let e = detail_row(&rows, DetailKind::Email, false);
    let pid = rows[e][col(Field::PublicId)].clone();
    let email_file = |email: &str| {
        let mut row = rows[e].clone();
        row[col(Field::Email)] = email.into();
        write_cells(&header, &[row])
    };
    let a = import(&svc, "a.xlsx", email_file("first@example.org"));
    assert_eq!(crm(&svc).details[&pid].fields.email, "first@example.org");
    let b = import(&svc, "b.xlsx", email_file("second@example.org"));
    assert_eq!(crm(&svc).details[&pid].fields.email, "second@example.org");
    assert!(b.import_id > a.import_id);

    let (at, both) = (sequence(&svc), crm(&svc));
    let refused =
        run(&svc, Undo { import_id: a.import_id }).expect_err("A is not the most recent import").to_string();
    assert!(
        refused.contains(&format!("#{}", a.import_id)) && refused.contains("no longer the most recent"),
        "{refused}"
    );
    assert_eq!((sequence(&svc), crm(&svc)), (at, both), "nothing written");

    let undone = run(&svc, Undo { import_id: b.import_id }).expect("B is undone");
    assert_eq!(undone.import_id, b.import_id);
    assert_eq!(crm(&svc).details[&pid].fields.email, "first@example.org");
    run(&svc, Undo { import_id: a.import_id }).expect("then A is undone");
    let restored = crm(&svc);
    assert_eq!(restored.details[&pid], original.details[&pid]);
    assert_eq!(restored.entries, original.entries);
    assert_eq!(restored.details, original.details);
    assert_eq!(restored.insureds, original.insureds);
    let history = run(&svc, History).expect("history");
    assert!(history.iter().filter(|i| i.id == a.import_id || i.id == b.import_id).all(|i| i.undone));
    assert!(run(&svc, Undo { import_id: a.import_id }).is_err(), "nothing left to undo twice");
}

#[test]
fn rows_without_names_found_by_an_identifier_apply_with_a_warning_and_a_bulk_choice_sets_what_it_previews() {
    let svc = demo();
    let before = crm(&svc);
    let mut entries = before.entries.values();
    let by_ssn = entries.find(|e| e.ssn.is_some()).expect("an entry with an SSN").clone();
    let by_cref = entries.find(|e| e.client_reference.is_some()).expect("an entry with a CR").clone();
    let cref_of = entries.find(|e| e.client_reference.is_some() && e.ssn.is_none()).expect("one").clone();
    let ssn_of = entries.find(|e| e.ssn.is_some()).expect("another").clone();
    assert!(!before.entries.values().any(|e| e.client_reference.as_deref() == Some("CR-NEW-9")));

    let row = |first: &str, last: &str, cref: &str, ssn: &str, kind: &str, value: &str| {
        let mut r = blank_row();
        r[col(Field::FirstName)] = first.into();
        r[col(Field::LastName)] = last.into();
        r[col(Field::ClientReference)] = cref.into();
        r[col(Field::Ssn)] = ssn.into();
        r[col(Field::DetailType)] = kind.into();
        r[col(Field::Label)] = "Other".into();
        r[col(Field::Primary)] = "No".into();
        r[col(if kind == "Email" { Field::Email } else { Field::Phone })] = value.into();
        r
    };
    let rows = vec![
        // Found by the SSN alone, no names.
        row("", "", "", by_ssn.ssn.as_ref().map(|s| s.expose_full()).unwrap(), "Email", "by.ssn@example.org"),
        // Found by the Client Reference alone, no names.
        row("", "", by_cref.client_reference.as_deref().unwrap(), "", "Phone", "+1 617 555 0181"),
        // A conflict: one entry's Client Reference, another's SSN.
        row(
            "Quentin",
            "Marlowe",
            cref_of.client_reference.as_deref().unwrap(),
            ssn_of.ssn.as_ref().map(|s| s.expose_full()).unwrap(),
            "Phone",
            "+1 617 555 0182",
        ),
        // A stranger with names.
        row("Zbigniew", "Quarrington", "", "", "Email", "zq@example.org"),
        // An unknown Client Reference without names: cannot be created.
        row("", "", "CR-NEW-9", "", "Phone", "+1 617 555 0183"),
    ];
    let review = stage_insured(&svc, "bulk.xlsx", write_cells(&headers(), &rows));
    assert!(review.warnings >= 4, "the names left empty are warnings: {review:#?}");
    let resolve = resolve_view(match_rows(&svc));
    assert_eq!((resolve.groups, resolve.conflicts, resolve.pending_conflicts), (3, 1, 1), "{resolve:#?}");

    let bulk = BulkAction::CreateNewForRemaining;
    let preview = run(&svc, PreviewBulk { workflow: INSURED, action: bulk }).expect("a preview");
    let preview = (preview.groups, preview.changes, preview.rows);
    assert_eq!(preview, (2, 1, 1), "the stranger and the conflict; only the conflict changes");
    let resolve = resolve_view(run(&svc, ApplyBulk { workflow: INSURED, action: bulk }).expect("bulk"));
    let groups = open_groups(&svc);
    let set: Vec<&GroupView> = groups.iter().filter(|g| g.choice == Some(GroupChoice::CreateNew)).collect();
    assert_eq!(set.len(), preview.0, "{groups:#?}");
    assert_eq!(resolve.decided, preview.0);
    assert_eq!(resolve.pending_conflicts, 1 - preview.1);
    let changed_rows: usize = set.iter().filter(|g| g.conflict).map(|g| g.sheet_rows.len()).sum();
    assert_eq!(changed_rows, preview.2);
    let nameless = groups.iter().find(|g| !g.can_create).expect("the person without names");
    assert_eq!((nameless.choice, nameless.skip_by_default), (None, true));

    let planned = plan(&svc, INSURED);
    let c = planned.counts;
    // Two details added to the entries found without names, two entries created with a detail
    // each (counted as added too), the nameless stranger skipped, no error.
    assert_eq!((c.added, c.created, c.skipped, c.errors), (4, 2, 1, 0), "{planned:#?}");
    applied(apply(&svc, INSURED, false, &Silent));
    let after = crm(&svc);
    for entry in [&by_ssn, &by_cref] {
        assert_eq!(after.entries[&entry.id], *entry, "names are kept");
    }
    let on =
        |value: &str| after.details.values().find(|d| d.fields.email == value || d.fields.phone == value);
    assert_eq!(on("by.ssn@example.org").expect("added").entry_id, by_ssn.id);
    assert_eq!(on("+1 617 555 0181").expect("added").entry_id, by_cref.id);
    assert!(on("+1 617 555 0183").is_none(), "the nameless stranger was skipped");
    let quentin = on("+1 617 555 0182").expect("the conflict's new person").entry_id;
    assert!(!before.entries.contains_key(&quentin));
}

#[test]
fn an_empty_insurance_cell_keeps_the_stored_value_unless_the_operator_chooses_to_clear() {
    let svc = demo();
    let before = crm(&svc);
    let user = before
        .school_users
        .values()
        .find(|u| {
            let i = &u.insurance;
            i.status.is_some() && i.policy_number.is_some() && i.start.is_some() && i.end.is_some()
        })
        .expect("an insured school user")
        .clone();
    let flipped = match user.insurance.status {
        Some(InsuranceStatus::Enrolled) => InsuranceStatus::NotEnrolled,
        _ => InsuranceStatus::Enrolled,
    };
    let csv = format!(
        "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\r\n{},{},,,\r\n",
        user.user_id,
        flipped.label()
    );
    let options = |clear_empty_cells| ImportOptions { clear_empty_cells, ..ImportOptions::default() };

    let kept = plan_view(stage(&svc, INSURANCE, "users.csv", csv.clone().into_bytes(), options(false)));
    assert_eq!(kept.file.template.id, "user-insurance");
    assert_eq!((kept.counts.updated, kept.counts.errors), (1, 0), "{kept:#?}");
    applied(apply(&svc, INSURANCE, false, &Silent));
    let ins = crm(&svc).school_users[&user.user_id].insurance.clone();
    assert_eq!(ins.status, Some(flipped));
    assert_eq!(
        (&ins.policy_number, ins.start, ins.end),
        (&user.insurance.policy_number, user.insurance.start, user.insurance.end),
        "empty cells keep the stored values"
    );

    let cleared = plan_view(stage(&svc, INSURANCE, "users.csv", csv.into_bytes(), options(true)));
    assert_eq!((cleared.counts.updated, cleared.counts.errors), (1, 0), "{cleared:#?}");
    assert!(matches!(apply(&svc, INSURANCE, false, &Silent), Ok(ApplyOutcome::AskFirst(_))));
    applied(apply(&svc, INSURANCE, true, &Silent));
    let ins = crm(&svc).school_users[&user.user_id].insurance.clone();
    assert_eq!(ins.status, Some(flipped));
    assert_eq!((ins.policy_number, ins.start, ins.end), (None, None, None), "empty cells cleared");
}

#[test]
fn a_lock_drops_every_open_session_and_waiting_snapshot_and_keeps_the_staged_file() {
    let svc = demo();
    let (_, header, rows) = export_of_first_portfolio(&svc);
    let plan = {
        stage_insured(&svc, "export.xlsx", write_cells(&header, &rows));
        match_and_plan(&svc)
    };
    assert!(plan.rows > 0, "a plan with rows");
    let snapshot = run(&svc, roundtrip::protocol::SnapshotDownload { operator_login: "ops".into() })
        .expect("a snapshot");
    let read = roundtrip::protocol::ReadSnapshot { file_name: snapshot.name.clone() };
    block_on(svc.run(read, &Call::new(&Silent, NOW).with_bytes(Some(snapshot.bytes))))
        .expect("snapshot read");

    svc.forget_held_data();

    // The session is back at Upload (nothing of the file read is held); the file stays staged.
    let SessionView::Upload { staged: Some(card), .. } =
        run(&svc, ShowSession { workflow: INSURED }).expect("view")
    else {
        panic!("the session was not dropped, or the staged file is gone");
    };
    assert_eq!(card.file_name, "export.xlsx");
    // The snapshot read before is gone: nothing waits to replace the CRM.
    let refused = run(&svc, roundtrip::protocol::ReplaceWithSnapshot).expect_err("no snapshot waits");
    assert!(refused.to_string().contains("snapshot"), "{refused}");
    // Reopened, the staged file plans again.
    run(
        &svc,
        ResumeFile { workflow: INSURED, options: ImportOptions::default(), remembered: Default::default() },
    )
    .expect("the staged file opens again");
}

#[test]
fn opening_a_staged_file_again_reads_it_as_the_template_chosen_now_as_staging_does() {
    let svc = demo();
    let user = crm(&svc).school_users.values().next().expect("a school user").clone();
    let csv = format!(
        "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\r\n{},Yes,,,\r\n",
        user.user_id
    );
    // Staged with its template recognised from its headers: a user insurance file.
    let staged = plan_view(stage(&svc, INSURANCE, "users.csv", csv.into_bytes(), ImportOptions::default()));
    assert_eq!(staged.file.template.id, "user-insurance");
    run(&svc, GoBack { workflow: INSURANCE }).expect("back to the staged file");

    // The operator now says files are device files: opening the staged file again reads it as
    // one, as staging it would, and refuses it; it stays staged.
    run(&svc, ChooseTemplate { workflow: INSURANCE, template_id: "device-insurance".into() })
        .expect("chosen");
    let resume =
        ResumeFile { workflow: INSURANCE, options: ImportOptions::default(), remembered: Default::default() };
    let refused = run(&svc, resume.clone()).expect_err("not a device insurance file");
    assert!(matches!(refused, Failure::NotOpened(_)), "{refused:?}");
    let text = refused.to_string();
    assert!(
        text.contains("This is a user insurance file") && text.contains("not a device insurance file"),
        "{text}"
    );
    assert!(!text.contains("Nothing was staged"), "the file stays staged: {text}");
    let SessionView::Upload { staged: Some(card), .. } =
        run(&svc, ShowSession { workflow: INSURANCE }).expect("view")
    else {
        panic!("the staged file is still offered");
    };
    assert_eq!(card.file_name, "users.csv");

    // Recognised from its headers again, it opens.
    run(&svc, ChooseTemplate { workflow: INSURANCE, template_id: String::new() }).expect("recognise");
    assert_eq!(plan_view(run(&svc, resume).expect("opened")).file.template.id, "user-insurance");
}
/// A ticker that records every tick (stage, done, total) and cancels at the `nth` tick (from
/// 0) whose stage starts with `stage`.
struct Recording {
    cancel: Option<(&'static str, usize)>,
    ticks: std::cell::RefCell<Vec<(String, usize, usize)>>,
}

impl Ticker for Recording {
    async fn tick(&self, stage: &str, done: usize, total: usize) -> Result<(), Cancelled> {
        let mut ticks = self.ticks.borrow_mut();
        let seen = ticks.iter().filter(|(s, ..)| self.cancel.is_some_and(|(c, _)| s.starts_with(c))).count();
        ticks.push((stage.to_string(), done, total));
        match self.cancel {
            Some((c, nth)) if stage.starts_with(c) && seen == nth => Err(Cancelled),
            _ => Ok(()),
        }
    }
}

#[test]
fn planning_ticks_rows_planned_of_total_and_a_cancel_between_slices_plans_nothing() {
    let svc = demo();
    let (_, header, rows) = export_of_first_portfolio(&svc);
    // The portfolio's rows again and again: a file of a few thousand rows, planned in slices.
    let copies = 2_600_usize.div_ceil(rows.len());
    let many: Vec<Vec<String>> = (0..copies).flat_map(|_| rows.iter().cloned()).collect();
    let total = many.len();
    stage_insured(&svc, "many.xlsx", write_cells(&header, &many));
    let before = match_rows(&svc);

    // Cancelled at the second slice: nothing written, the session as it was.
    let at = sequence(&svc);
    let cancel = Recording { cancel: Some(("Planning rows", 1)), ticks: Default::default() };
    let view_before = run(&svc, ShowSession { workflow: INSURED }).expect("the view");
    let refused =
        run_with(&svc, PlanImport { workflow: INSURED, options: None }, &cancel).expect_err("cancelled");
    assert!(matches!(refused, Failure::Cancelled), "{refused:?}");
    let slices: Vec<(usize, usize)> = cancel
        .ticks
        .borrow()
        .iter()
        .filter(|(s, ..)| s.starts_with("Planning rows"))
        .map(|(_, done, of)| (*done, *of))
        .collect();
    assert_eq!(slices, vec![(0, total), (1_000, total)], "cancelled after the first slice");
    assert_eq!(sequence(&svc), at, "nothing written");
    assert_eq!(run(&svc, ShowSession { workflow: INSURED }).expect("the view"), view_before);
    assert!(matches!(before, SessionView::Resolve(_) | SessionView::Plan(_)), "matched: {before:?}");

    // Planned to the end: one tick per slice, rows planned of total, in order.
    let count = Recording { cancel: None, ticks: Default::default() };
    let planned =
        plan_view(run_with(&svc, PlanImport { workflow: INSURED, options: None }, &count).expect("planned"));
    let ticks = count.ticks.borrow();
    let slices: Vec<(usize, usize)> = ticks
        .iter()
        .filter(|(s, ..)| s.starts_with("Planning rows"))
        .map(|(_, done, of)| (*done, *of))
        .collect();
    let expected: Vec<(usize, usize)> =
        (0..total).step_by(1_000).chain([total]).map(|done| (done, total)).collect();
    assert_eq!(slices, expected, "one tick before the first slice and after each");
    assert_eq!(planned.counts.errors, 0);
    assert!(planned.counts.unchanged >= rows.len(), "{:?}", planned.counts);
}

#[test]
fn an_import_that_would_hand_out_the_last_entry_id_is_refused_and_the_crm_is_unchanged() {
    use roundtrip::core::demo::{demo_crm, DEMO_SEED};
    // The entry counter two ids from its end: three new persons need three ids.
    let mut start = demo_crm(DEMO_SEED, 1);
    start.counters.next_entry_id = u32::MAX - 1;
    let svc = Service::new(MemoryStore::with_crm(start.clone()), common::seeded_secrets(8));
    run(&svc, Open { autoload_demo: false }).expect("opened");
    let before = crm(&svc);
    let (_, header, rows) = export_of_first_portfolio(&svc);
    let new_persons: Vec<Vec<String>> = ["Zora", "Yannick", "Xiomara"]
        .iter()
        .zip(rows.iter())
        .map(|(first, row)| {
            let mut r = row.clone();
            for field in [Field::PublicId, Field::ClientReference, Field::Ssn] {
                r[col(field)].clear();
            }
            r[col(Field::FirstName)] = first.to_string();
            r[col(Field::LastName)] = "Counterless".into();
            r
        })
        .collect();
    stage_insured(&svc, "three-new.xlsx", write_cells(&header, &new_persons));
    let plan = match_and_plan(&svc);
    assert_eq!(plan.counts.created, 3, "{:?}", plan.counts);
    let refused = apply(&svc, INSURED, false, &Silent).expect_err("refused");
    assert_eq!(
        refused.to_string(),
        "The import was not applied: The CRM has no CRM entry ids left: the counter reached 4,294,967,295; \
         nothing was written."
    );
    let after = crm(&svc);
    assert_eq!(after.entries, before.entries, "no entry was written or overwritten");
    assert_eq!(after.counters, before.counters);
    assert_eq!(after.imports, before.imports);
}
