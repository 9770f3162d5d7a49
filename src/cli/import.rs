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

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use futures::executor::block_on;

use crate::core::workflow::{ImportOptions, WorkflowId};
use crate::core::workflows;
use crate::protocol::{BulkChoice, Choice, GroupView, SessionView};
use crate::service::failure::SessionRefusal;
use crate::service::session::{ApplyOutcome, ApplyRequest};
use crate::service::{Failure, Service};
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
    match drive(args, apply, now_ms, progress, &mut summary) {
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
    Stop::unreadable(failure.to_string())
}

fn drive(
    args: &ImportArgs,
    apply: Option<ApplyArgs<'_>>,
    now_ms: i64,
    progress: &Progress,
    summary: &mut Summary,
) -> Result<i32, Stop> {
    let svc = open_crm(&args.crm)?;
    let (flow, _) = workflows::of_template(svc.workflows(), &args.template)
        .ok_or_else(|| failed(SessionRefusal::NoSuchTemplate(args.template.clone()).into()))?;
    let workflow = flow.id();
    let bytes = read_file(&args.file)?;
    let keyed = match &args.choices {
        Some(path) => Some(parse_choices(path, &read_file(path)?)?),
        None => None,
    };
    // The file's name, as the app records it (the history, the "applied before" check).
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    block_on(svc.choose_template(workflow, &args.template)).map_err(failed)?;
    let options = ImportOptions {
        day_month_order: None,
        valid_rows_only: args.valid_rows_only,
        clear_empty_cells: args.clear_empty_cells,
        take_file_values: args.take_file_values,
    };
    let staged = block_on(svc.stage(workflow, &name, bytes, options, &BTreeMap::new(), now_ms, progress));
    let mut view = staged.map_err(failed)?;

    if let SessionView::Headers(h) = &view {
        let suggested: Vec<String> = h
            .rows
            .iter()
            .filter_map(|r| {
                let file_header = r.file_column.and_then(|c| h.file_headers.get(c))?;
                Some(format!("\"{file_header}\" → \"{}\" ({})", r.header, r.note))
            })
            .collect();
        if !h.missing_required.is_empty() {
            return Err(Stop::unreadable(format!(
                "{name}: required column(s) missing: {}.",
                h.missing_required.join(", ")
            )));
        }
        if !args.accept_headers {
            return Err(Stop {
                code: EXIT_DECISIONS,
                message: format!(
                    "{name}: its headers are not the template's exactly; accept the suggested mapping with \
                     --accept-headers:\n  {}",
                    suggested.join("\n  ")
                ),
            });
        }
        view = block_on(svc.confirm_headers(workflow, progress)).map_err(failed)?.0;
    }

    if let SessionView::Review(r) = &view {
        summary.review = Some(ReviewSummary { errors: r.errors, warnings: r.warnings });
        view = block_on(svc.match_rows(workflow, progress)).map_err(failed)?;
    }

    let mut replan = false;
    if let SessionView::Resolve(_) | SessionView::Plan(_) = &view {
        if flow.resolves_persons() {
            if let Some(keyed) = &keyed {
                summary.unknown_choice_keys =
                    block_on(svc.choose_by_keys(workflow, keyed)).map_err(failed)?;
                replan = true;
            }
            if let Some(min_score) = args.accept_top {
                block_on(svc.bulk_apply(workflow, BulkChoice::AcceptTopCandidates { min_score }))
                    .map_err(failed)?;
                replan = true;
            }
            if args.create_new {
                block_on(svc.bulk_apply(workflow, BulkChoice::CreateNewForRemaining)).map_err(failed)?;
                replan = true;
            }
        }
    }
    if replan || matches!(view, SessionView::Resolve(_)) {
        view = block_on(svc.plan(workflow, None, progress)).map_err(failed)?;
    }
    let SessionView::Plan(plan) = view else {
        return Err(Stop::unreadable(format!("{name}: the file could not be planned.")));
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

    // Open persons, and those still waiting for a decision.
    if flow.resolves_persons() {
        let open = open_persons(&svc, workflow)?;
        summary.open_persons = open.len();
        let bulk = args.accept_top.is_some() || args.create_new;
        summary.undecided = open
            .into_iter()
            .filter(|g| g.choice == Choice::Default && (g.conflict || !bulk))
            .map(person_summary)
            .collect();
    }

    // The reports the app offers, written whatever comes next.
    if let Some(path) = &args.report {
        let report = block_on(svc.plan_report(workflow)).map_err(failed)?;
        summary.written.push(write_file(path, &report.bytes)?);
    }
    if let Some(path) = &args.errors {
        let report = svc.error_report(workflow).map_err(failed)?;
        summary.written.push(write_file(path, &report.bytes)?);
    }

    let errors = plan.counts.errors;
    if errors > 0 {
        summary.error_rows = error_rows(&svc, workflow)?;
    }
    if errors > 0 && !args.valid_rows_only {
        return Err(Stop {
            code: EXIT_FILE_ERRORS,
            message: format!(
                "{errors} row(s) have errors; {}. Fix the file (the error report lists every issue by cell), or \
                 apply only the valid rows with --valid-rows-only.",
                if apply.is_some() { "nothing was applied" } else { "the file cannot be applied as it is" }
            ),
        });
    }
    if !summary.undecided.is_empty() {
        return Err(Stop {
            code: EXIT_DECISIONS,
            message: format!(
                "{} detected person(s) need a decision; {}. Decide them in a choices file (--choices: person key \
                 → \"new\", \"skip\" or an entry id), or use --create-new or --accept-top N.",
                summary.undecided.len(),
                if apply.is_some() { "nothing was applied" } else { "the file cannot be applied as it is" }
            ),
        });
    }
    let Some(apply) = apply else {
        summary.message = "Planned; nothing was written to the CRM.".into();
        return Ok(super::EXIT_DONE);
    };

    let started = Instant::now();
    let request = ApplyRequest {
        operator_login: apply.operator,
        again: apply.again,
        valid_rows_only: args.valid_rows_only,
        now_ms,
    };
    let clock = || started.elapsed().as_secs_f64() * 1000.0;
    let outcome = block_on(svc.apply(workflow, request, 0.0, clock, progress)).map_err(failed)?;
    let done = match outcome {
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
    let snapshot = block_on(svc.snapshot_download(now_ms, progress)).map_err(failed)?;
    summary.written.push(write_file(apply.out, &snapshot.bytes)?);
    Ok(super::EXIT_DONE)
}

/// Every open detected person of the session, with its choice.
fn open_persons(svc: &Service<MemoryStore>, workflow: WorkflowId) -> Result<Vec<GroupView>, Stop> {
    let mut all = Vec::new();
    loop {
        let page = block_on(svc.groups(workflow, all.len(), 200, false)).map_err(failed)?;
        let got = page.groups.len();
        all.extend(page.groups);
        if got == 0 || all.len() >= page.total {
            return Ok(all);
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

/// The first rows of the plan with errors, as "row 12: why".
fn error_rows(svc: &Service<MemoryStore>, workflow: WorkflowId) -> Result<Vec<String>, Stop> {
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let page = svc.plan_rows(workflow, start, 500, true).map_err(failed)?;
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
