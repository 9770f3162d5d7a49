//! `plan` and `apply`: one import driven through the service as the app's pages drive it.
//! Stage the file (headers recognised as the chosen template; a suggested mapping is accepted
//! only with `--accept-headers`), review, match, then the operator's decisions — the choices
//! file first, then `--accept-top N`, then `--create-new` (a bulk choice never overrides a
//! choice made before it, as on the Resolve step) — plan, write the reports, and for `apply`
//! apply in one checked commit and write the snapshot of the CRM after it.
//!
//! Open persons: with no decision flag at all, every open person the choices file leaves
//! undecided stops the run (exit 3, listing them with their keys). With `--accept-top` or
//! `--create-new`, the persons they leave take the app's default — a new entry for a person
//! with names, skip for one without — except conflicts, which never have a default and still
//! stop the run until the choices file decides them.

use std::cell::RefCell;
use std::path::Path;
use std::time::Instant;

use futures::executor::block_on;

use crate::core::insured::matching::{BulkAction, KeyedChoices};
use crate::core::workflow::{ImportOptions, Workflow, WorkflowId};
use crate::core::workflows;
use crate::protocol::{
    ApplyBulk, ApplyImport, ApplyOutcome, ChooseByKeys, ChooseTemplate, ConfirmHeaders, ErrorReport,
    GroupView, HeadersView, ListGroups, MatchRows, PlanImport, PlanReport, PlanRows, PlanView, SessionView,
    SnapshotDownload, StageFile,
};
use crate::service::failure::SessionRefusal;
use crate::service::{Call, Failure, Handle, Service};
use crate::store::memory::MemoryStore;

use super::{
    open_crm, parse_choices, read_file, write_file, FileSummary, ImportArgs, PersonSummary, Progress,
    ReviewSummary, Stop, Summary, EXIT_DECISIONS, EXIT_FILE_ERRORS,
};

/// What `apply` adds to `plan`.
#[derive(Debug, Clone, Copy)]
pub struct ApplyArgs<'a> {
    pub out: &'a Path,
    pub again: bool,
    pub operator: &'a str,
}

/// How many rows with errors the output lists (the error report has all).
const LISTED_ERRORS: usize = 10;

/// Plans (and with `apply`, applies) one file; the summary says how far it went and why it
/// stopped.
pub fn run(args: &ImportArgs, apply: Option<ApplyArgs<'_>>, now_ms: i64, progress: &Progress) -> Summary {
    let mut summary = Summary::default();
    let outcome = Import::open(args, now_ms, progress).and_then(|import| import.drive(apply, &mut summary));
    match outcome {
        Ok(code) => summary.exit_code = code,
        Err(stop) => {
            summary.exit_code = stop.code;
            summary.message = stop.message;
        }
    }
    summary
}

/// A failure of the service stops the run, in the words the app shows.
fn failed(failure: Failure) -> Stop {
    Stop::failed(failure)
}

/// One import: the command's arguments, the service over the CRM snapshot, the file's
/// workflow.
struct Import<'a> {
    args: &'a ImportArgs,
    svc: Service<MemoryStore>,
    workflow: &'static dyn Workflow,
    /// The file's name, as the app records it (the history, the "applied before" check).
    name: String,
    /// The file's bytes, until staged.
    bytes: RefCell<Vec<u8>>,
    /// The choices file's decisions.
    choices: Option<KeyedChoices>,
    now_ms: i64,
    progress: &'a Progress,
    started: Instant,
}

impl<'a> Import<'a> {
    /// Loads the CRM snapshot and finds the workflow of the template the file is said to be.
    fn open(args: &'a ImportArgs, now_ms: i64, progress: &'a Progress) -> Result<Import<'a>, Stop> {
        let svc = open_crm(&args.crm)?;
        let (workflow, _) = workflows::of_template(svc.workflows(), &args.template)
            .ok_or_else(|| failed(SessionRefusal::NoSuchTemplate(args.template.clone()).into()))?;
        let bytes = RefCell::new(read_file(&args.file)?);
        let choices = match &args.choices {
            Some(path) => Some(parse_choices(path, &read_file(path)?)?),
            None => None,
        };
        let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Import { args, svc, workflow, name, bytes, choices, now_ms, progress, started: Instant::now() })
    }

    fn id(&self) -> WorkflowId {
        self.workflow.id()
    }

    /// Runs one operation of the service, as the worker runs it for the page.
    fn run<O: Handle<MemoryStore>>(&self, op: O, bytes: Option<Vec<u8>>) -> Result<O::Reply, Stop> {
        let clock = || self.started.elapsed().as_secs_f64() * 1000.0;
        let call = Call::new(self.progress, self.now_ms).with_clock(&clock).with_bytes(bytes);
        block_on(self.svc.run(op, &call)).map_err(failed)
    }

    /// Stages, reviews, matches, decides, plans, writes the reports and, for `apply`, applies.
    fn drive(&self, apply: Option<ApplyArgs<'_>>, summary: &mut Summary) -> Result<i32, Stop> {
        let view = self.stage()?;
        let view = self.review(view, summary)?;
        let plan = self.decide_and_plan(view, summary)?;
        // `plan` has no operator login: its error report is recorded under the command line's.
        self.report(&plan, apply.map_or(super::CLI_OPERATOR, |a| a.operator), summary)?;
        self.stop_unless_applicable(&plan, apply.is_some(), summary)?;
        match apply {
            Some(apply) => self.apply(apply, summary),
            None => {
                summary.message = "Planned; nothing was written to the CRM.".into();
                Ok(super::EXIT_DONE)
            }
        }
    }

    /// Stages the file as the chosen template; suggested headers are accepted only with
    /// `--accept-headers`.
    fn stage(&self) -> Result<SessionView, Stop> {
        let args = self.args;
        let bytes = std::mem::take(&mut *self.bytes.borrow_mut());
        self.run(ChooseTemplate { workflow: self.id(), template_id: args.template.clone() }, None)?;
        let options = ImportOptions {
            day_month_order: None,
            valid_rows_only: args.valid_rows_only,
            clear_empty_cells: args.clear_empty_cells,
            take_file_values: args.take_file_values,
        };
        let stage = StageFile {
            workflow: self.id(),
            file_name: self.name.clone(),
            options,
            remembered: Default::default(),
        };
        match self.run(stage, Some(bytes))? {
            SessionView::Headers(h) => {
                self.accept_headers(&h)?;
                Ok(self.run(ConfirmHeaders { workflow: self.id() }, None)?.view)
            }
            view => Ok(view),
        }
    }

    /// Refuses headers with required columns missing, and suggested ones without
    /// `--accept-headers`.
    fn accept_headers(&self, h: &HeadersView) -> Result<(), Stop> {
        let name = &self.name;
        if !h.missing_required.is_empty() {
            return Err(Stop::unreadable(format!(
                "{name}: required column(s) missing: {}.",
                h.missing_required.join(", ")
            )));
        }
        if self.args.accept_headers {
            return Ok(());
        }
        let suggested: Vec<String> = h
            .rows
            .iter()
            .filter_map(|r| {
                let file_header = r.file_column.and_then(|c| h.file_headers.get(c))?;
                Some(format!("\"{file_header}\" → \"{}\" ({})", r.header, r.note))
            })
            .collect();
        Err(Stop {
            code: EXIT_DECISIONS,
            message: format!(
                "{name}: its headers are not the template's exactly; accept the suggested mapping with \
                 --accept-headers:\n  {}",
                suggested.join("\n  ")
            ),
        })
    }

    /// The review's figures, then the rows matched to the CRM.
    fn review(&self, view: SessionView, summary: &mut Summary) -> Result<SessionView, Stop> {
        match view {
            SessionView::Review(r) => {
                summary.review = Some(ReviewSummary { errors: r.errors, warnings: r.warnings });
                self.run(MatchRows { workflow: self.id() }, None)
            }
            view => Ok(view),
        }
    }

    /// The operator's decisions — the choices file, then `--accept-top`, then `--create-new`
    /// — and the plan made with them.
    fn decide_and_plan(&self, mut view: SessionView, summary: &mut Summary) -> Result<PlanView, Stop> {
        let args = self.args;
        let mut replan = false;
        if self.workflow.resolves_persons() && matches!(view, SessionView::Resolve(_) | SessionView::Plan(_))
        {
            if let Some(choices) = self.choices.clone() {
                summary.unknown_choice_keys =
                    self.run(ChooseByKeys { workflow: self.id(), choices }, None)?;
                replan = true;
            }
            if let Some(min_score) = args.accept_top {
                let action = BulkAction::AcceptTopCandidates { min_score };
                self.run(ApplyBulk { workflow: self.id(), action }, None)?;
                replan = true;
            }
            if args.create_new {
                self.run(ApplyBulk { workflow: self.id(), action: BulkAction::CreateNewForRemaining }, None)?;
                replan = true;
            }
        }
        if replan || matches!(view, SessionView::Resolve(_)) {
            view = self.run(PlanImport { workflow: self.id(), options: None }, None)?;
        }
        let SessionView::Plan(plan) = view else {
            return Err(Stop::unreadable(format!("{}: the file could not be planned.", self.name)));
        };
        summary.file = Some(FileSummary {
            name: plan.file.file_name.clone(),
            template: plan.file.template.id.clone(),
            rows: plan.rows,
            sha256: plan.file.sha256.clone(),
        });
        summary.counts = Some(plan.counts);
        if plan.wording.shows_contacts {
            summary.contacts = Some(plan.contacts);
        }
        if self.workflow.resolves_persons() {
            let open = self.open_persons()?;
            summary.open_persons = open.len();
            let bulk = args.accept_top.is_some() || args.create_new;
            summary.undecided = open
                .into_iter()
                .filter(|g| g.choice.is_none() && (g.conflict || !bulk))
                .map(person_summary)
                .collect();
        }
        Ok(plan)
    }

    /// The reports the app offers, written whatever comes next, and the first rows with
    /// errors. An error report with full SSNs is recorded in the PII ledger of the CRM held
    /// here, so `apply` carries its entry in the snapshot it writes.
    fn report(&self, plan: &PlanView, operator: &str, summary: &mut Summary) -> Result<(), Stop> {
        if let Some(path) = &self.args.report {
            let report = self.run(PlanReport { workflow: self.id() }, None)?;
            summary.written.push(write_file(path, &report.bytes)?);
        }
        if let Some(path) = &self.args.errors {
            let report = self.run(
                ErrorReport {
                    workflow: self.id(),
                    include_full_ssns: self.args.include_full_ssns,
                    operator_login: operator.to_string(),
                },
                None,
            )?;
            summary.written.push(write_file(path, &report.bytes)?);
        }
        if plan.counts.errors > 0 {
            summary.error_rows = self.error_rows()?;
        }
        Ok(())
    }

    /// Stops a file with errors (unless `--valid-rows-only`) and one with persons waiting for
    /// a decision.
    fn stop_unless_applicable(&self, plan: &PlanView, applying: bool, summary: &Summary) -> Result<(), Stop> {
        let errors = plan.counts.errors;
        let not = if applying { "nothing was applied" } else { "the file cannot be applied as it is" };
        if errors > 0 && !self.args.valid_rows_only {
            return Err(Stop {
                code: EXIT_FILE_ERRORS,
                message: format!(
                    "{errors} row(s) have errors; {not}. Fix the file (the error report lists every issue by cell), \
                     or apply only the valid rows with --valid-rows-only."
                ),
            });
        }
        if !summary.undecided.is_empty() {
            return Err(Stop {
                code: EXIT_DECISIONS,
                message: format!(
                    "{} detected person(s) need a decision; {not}. Decide them in a choices file (--choices: \
                     person key → \"new\", \"skip\" or an entry id), or use --create-new or --accept-top N.",
                    summary.undecided.len()
                ),
            });
        }
        Ok(())
    }

    /// Applies the plan in one checked commit and writes the snapshot of the CRM after it.
    fn apply(&self, apply: ApplyArgs<'_>, summary: &mut Summary) -> Result<i32, Stop> {
        let op = ApplyImport {
            workflow: self.id(),
            operator_login: apply.operator.to_string(),
            again: apply.again,
            valid_rows_only: self.args.valid_rows_only,
        };
        let done = match self.run(op, None)? {
            ApplyOutcome::AskFirst(question) => {
                return Err(Stop {
                    code: EXIT_DECISIONS,
                    message: format!("{question} Nothing was applied; pass --again to apply it again."),
                })
            }
            ApplyOutcome::Applied(SessionView::Done(done)) => done,
            ApplyOutcome::Applied(_) => return Err(Stop::unreadable("The import was not applied.")),
        };
        summary.import_id = Some(done.import_id);
        summary.message = done.message;
        // The snapshot's own ledger entry is made after its bytes, so it is not in the file.
        let snapshot = self.run(SnapshotDownload { operator_login: apply.operator.to_string() }, None)?;
        summary.written.push(write_file(apply.out, &snapshot.bytes)?);
        Ok(super::EXIT_DONE)
    }

    /// Every open detected person of the session, with its choice.
    fn open_persons(&self) -> Result<Vec<GroupView>, Stop> {
        let mut all = Vec::new();
        loop {
            let page = self.run(
                ListGroups { workflow: self.id(), start: all.len(), count: 200, matched: false },
                None,
            )?;
            let got = page.groups.len();
            all.extend(page.groups);
            if got == 0 || all.len() >= page.total {
                return Ok(all);
            }
        }
    }

    /// The first rows of the plan with errors, as "row 12: why".
    fn error_rows(&self) -> Result<Vec<String>, Stop> {
        let mut out = Vec::new();
        let mut start = 0;
        loop {
            let op = PlanRows { workflow: self.id(), start, count: 500, only_changes: true };
            let page = self.run(op, None)?;
            if page.rows.is_empty() {
                return Ok(out);
            }
            start += page.rows.len();
            for row in page.rows.iter().filter(|r| r.status == "error") {
                let why = row.cells.last().cloned().unwrap_or_default();
                out.push(format!("row {}: {why}", row.sheet_row));
                if out.len() == LISTED_ERRORS {
                    return Ok(out);
                }
            }
            if start >= page.total {
                return Ok(out);
            }
        }
    }
}

fn person_summary(g: GroupView) -> PersonSummary {
    PersonSummary {
        key: g.key,
        name: g.name,
        kind: g.kind,
        reason: g.reason,
        sheet_rows: g.sheet_rows,
        can_create: g.can_create,
        candidates: g.candidates.into_iter().map(|c| (c.entry, c.label)).collect(),
    }
}
