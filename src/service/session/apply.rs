//! Plan and apply: the dry run on the current CRM (validated and matched again when the CRM
//! moved), its rows and report, the checked commit, the results, and going back a step.

use std::rc::Rc;

use crate::core::index::CrmIndex;
use crate::core::model::EntryId;
use crate::core::plan::history::{last_import_of_file, record_import, ApplyContext, ApplyRefusal};
use crate::core::plan::verify::verification_sample;
use crate::core::plan::{ImportPlan, RowAction};
use crate::core::report::write_plan_report;
use crate::core::revision::{CheckedBatch, Staleness};
use crate::core::template::HeaderPolicy;
use crate::core::text::file_stem;
use crate::core::workflow::{Applied, ImportOptions, PlanInput, Resolution, Workflow, WorkflowId};
use crate::protocol::{
    AppliedBefore, ApplyImport, ApplyOutcome, ChangeCause, DoneView, Download, GoBack, PlanImport,
    PlanReport, PlanRows, ResultsReport, RowsPage, SessionView,
};
use crate::service::failure::SessionRefusal;
use crate::service::handle::{Call, Handle};
use crate::service::Ticker;
use crate::store::{CrmStore, StoredCrm};

use super::open::validate_rows;
use super::resolve::match_rows;
use super::{views, Basis, Done, Failure, Matched, Planned, Reviewed, Service, Session, Stage, Staged};

impl<S: CrmStore> Handle<S> for PlanImport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.plan(self.workflow, self.options, call.ticker).await
    }
}

/// What a plan is made from, taken from the session: the workflow, the open file's latest
/// validation and matching (if any), and how far the plan made before can still be trusted.
struct PlanFrom {
    epoch: u64,
    workflow: &'static dyn Workflow,
    staged: Staged,
    /// The file's latest validation (and matching); `None` before it is validated.
    basis: Option<Basis>,
    /// When the plan made before was made, and whether it was marked stale.
    planned: Option<(u64, bool)>,
}

impl<S: CrmStore> Service<S> {
    /// Plans the import on the current CRM (with new options, or the file's). After the CRM
    /// changed (a stale plan), the rows are validated and matched again first; the operator's
    /// choices are kept where they apply.
    pub(super) async fn plan(
        &self,
        id: WorkflowId,
        options: Option<ImportOptions>,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let from = self.change_session(id, |s| plan_from(s, options))?;
        let stored = self.current().await?;
        let stale = from.planned.is_some_and(|(at, stale)| at != stored.sequence || stale);
        let basis = match from.basis {
            Some(basis) if !stale && basis.reviewed().basis == stored.sequence => basis,
            _ => again(&stored, from.workflow, from.staged, ticker).await?,
        };
        let planned = plan_on(&stored, from.workflow, basis, ticker).await?;
        drop(stored);
        self.finish(id, from.epoch, "planned", |_| Stage::Planned(planned))?;
        self.session_view(id).await
    }
}

/// What the session plans from; new options are the file's from now on.
fn plan_from(s: &mut Session, options: Option<ImportOptions>) -> Result<PlanFrom, Failure> {
    if let (Some(o), Some(staged)) = (options, s.stage.staged_mut()) {
        staged.options = o;
    }
    let staged = s.stage.staged()?.clone();
    let basis = match &s.stage {
        Stage::Closed | Stage::Staged(_) => None,
        Stage::Reviewed(r) => Some(Basis::Reviewed(r.clone())),
        Stage::Matched(m) => Some(Basis::Matched(m.clone())),
        Stage::Planned(p) => Some(p.basis.clone()),
        Stage::Done(d) => Some(d.planned.basis.clone()),
    };
    let planned = s.stage.planned().ok().map(|p| (p.made_at, p.stale.is_some()));
    Ok(PlanFrom { epoch: s.epoch, workflow: s.workflow, staged, basis, planned })
}

/// The file validated (and, for a workflow that resolves persons, matched) again on the
/// current CRM; the operator's choices travel with it.
async fn again(
    stored: &StoredCrm,
    workflow: &'static dyn Workflow,
    staged: Staged,
    ticker: &impl Ticker,
) -> Result<Basis, Failure> {
    let validated = Rc::new(validate_rows(&stored.crm, &staged, ticker).await?);
    let reviewed = Reviewed { staged, validated, basis: stored.sequence };
    if !workflow.resolves_persons() {
        return Ok(Basis::Reviewed(reviewed));
    }
    let staged = &reviewed.staged;
    let matches =
        match_rows(&stored.crm, staged.template, &reviewed.validated, &staged.file.base, ticker).await?;
    Ok(Basis::Matched(Matched { reviewed, matches: Rc::new(matches) }))
}

/// The workflow's plan of the file on the stored CRM, with the insured links it changes;
/// planned in slices of rows, ticking "rows planned of total" (a cancel between slices
/// leaves the session as it was).
async fn plan_on(
    stored: &StoredCrm,
    workflow: &'static dyn Workflow,
    basis: Basis,
    ticker: &impl Ticker,
) -> Result<Planned, Failure> {
    let reviewed = basis.reviewed();
    let staged = &reviewed.staged;
    let choices = basis.matched().map(Matched::indexed_choices).unwrap_or_default();
    let resolution = basis
        .matched()
        .filter(|_| workflow.resolves_persons())
        .map(|m| Resolution { matches: &m.matches, choices: &choices });
    let mut slices = workflow.plan_in_slices(PlanInput {
        crm: &stored.crm,
        template: staged.template,
        validated: &reviewed.validated,
        resolution,
        base: &staged.file.base,
        options: staged.options,
    });
    ticker.tick("Planning rows (nothing is written)", slices.planned(), slices.total()).await?;
    while slices.planned() < slices.total() {
        slices.plan_rows(super::CHUNK);
        ticker.tick("Planning rows (nothing is written)", slices.planned(), slices.total()).await?;
    }
    let plan = slices.finish();
    let label = |e: EntryId| stored.crm.entries.get(&e).map(|e| e.label());
    let relinks = plan
        .relinks()
        .into_iter()
        .map(|r| {
            format!(
                "{} on {}: {} → {}",
                r.insured_reference,
                r.case_reference,
                r.old_entry.and_then(label).unwrap_or_else(|| "(not linked)".into()),
                label(r.new_entry).unwrap_or_else(|| "a new CRM entry".into())
            )
        })
        .collect();
    Ok(Planned { basis, plan: Rc::new(plan), made_at: stored.sequence, stale: None, relinks })
}

impl<S: CrmStore> Handle<S> for PlanRows {
    /// A page of the plan table.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<RowsPage, Failure> {
        svc.read_session(self.workflow, |s| {
            let planned = s.stage.planned()?;
            Ok(views::plan_rows(
                s.workflow,
                &planned.plan,
                self.start,
                self.count.min(500),
                self.only_changes,
            ))
        })
    }
}

impl<S: CrmStore> Handle<S> for PlanReport {
    /// The plan report of the open file, with what its workflow adds to the rows.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        let stored = svc.current().await?;
        svc.read_session(self.workflow, |s| {
            let planned = s.stage.planned()?;
            let reviewed = planned.basis.reviewed();
            let name = format!("{}-plan.xlsx", file_stem(&reviewed.staged.file.name));
            let matches = planned.basis.matched().map(|m| m.matches.as_ref());
            let extras = s.workflow.report_extras(&stored.crm, &planned.plan, matches);
            let bytes = write_plan_report(&reviewed.validated, &planned.plan, &extras)
                .map_err(Failure::not_written(name.clone()))?;
            Ok(Download::xlsx(name, bytes))
        })
    }
}

impl<S: CrmStore> Handle<S> for ApplyImport {
    /// Applies the plan in one checked commit. A file applied before asks first (unless
    /// `again`); a stale plan is refused (plan again).
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<ApplyOutcome, Failure> {
        let started = (call.clock)();
        let id = self.workflow;
        let (epoch, workflow, planned) =
            svc.read_session(id, |s| Ok((s.epoch, s.workflow, s.stage.planned()?.clone())))?;
        refuse_unless_applicable(workflow, &planned, self.valid_rows_only)?;
        let stored = svc.current().await?;
        if stored.sequence != planned.made_at {
            drop(stored);
            svc.crm_changed(ChangeCause::AnotherTab).await;
            return Err(Failure::Stale(Staleness::moved(false)));
        }
        let staged = &planned.basis.reviewed().staged;
        if !self.again {
            if let Some(r) = last_import_of_file(&stored.crm, &staged.file.sha256) {
                let wording = workflow.wording();
                return Ok(ApplyOutcome::AskFirst(AppliedBefore {
                    import_id: r.id,
                    file_name: r.file_name.clone(),
                    applied: wording.applied.to_string(),
                    verb: wording.apply_verb.to_string(),
                }));
            }
        }
        let ctx = ApplyContext {
            template_id: staged.template.id.to_string(),
            operator_login: self.operator_login.clone(),
            applied_at_ms: call.now_ms,
            file_name: staged.file.name.clone(),
            sha256: staged.file.sha256.clone(),
        };
        let plan = &planned.plan;
        let (changes, record) = record_import(&stored.crm, plan, &ctx);
        let reads = plan.reads.iter().cloned();
        let batch =
            CheckedBatch::new(stored.sequence, &stored.revisions, stored.crm.counters, reads, changes);
        drop(stored);
        let writing = format!("Writing {} records in one transaction", batch.changes.puts.len());
        call.ticker.tick(&writing, 0, 1).await?;
        let committed = svc.commit(&batch).await.map_err(|e| Failure::NotApplied(Box::new(e)))?;
        let import_id = committed.import_id().unwrap_or(record.id);
        let _ = svc.store().delete_staged(&workflow.staging_slot(staged.template)).await;
        let seconds = ((call.clock)() - started) / 1000.0;
        let view = svc.done_view(workflow, &planned, import_id, seconds).await?;
        svc.change_session(id, |s| {
            if s.epoch == epoch {
                s.set(Stage::Done(Box::new(Done { planned, view })));
            }
            Ok(())
        })?;
        Ok(ApplyOutcome::Applied(svc.session_view(id).await?))
    }
}

/// Refuses a plan that cannot be applied as it is: stale, with conflicts pending, or with
/// errors the operator has not consented to leave out.
fn refuse_unless_applicable(
    workflow: &dyn Workflow,
    planned: &Planned,
    valid_rows_only: bool,
) -> Result<(), Failure> {
    if let Some(why) = &planned.stale {
        return Err(Failure::Stale(why.clone()));
    }
    let plan = &planned.plan;
    if plan.pending_conflicts > 0 {
        return Err(ApplyRefusal::PendingConflicts(plan.pending_conflicts).into());
    }
    // Most workflows leave rows with errors out and list them; one that asks for consent
    // applies a file with errors only when the operator chooses its valid rows.
    let valid_only = valid_rows_only || !workflow.errors_need_consent();
    if plan.has_errors() && !valid_only {
        return Err(SessionRefusal::ErrorsNeedConsent(plan.counts.errors).into());
    }
    Ok(())
}

impl<S: CrmStore> Service<S> {
    /// The Verify step of an applied plan: its counts and message, the verification sample
    /// read from the CRM now, the portfolios it touched, its skipped and invalid rows.
    async fn done_view(
        &self,
        workflow: &'static dyn Workflow,
        planned: &Planned,
        import_id: u32,
        seconds: f64,
    ) -> Result<DoneView, Failure> {
        let after = self.current().await?;
        let reviewed = planned.basis.reviewed();
        let (staged, plan) = (&reviewed.staged, &planned.plan);
        let sample = verification_sample(
            workflow,
            &after.crm,
            staged.template,
            &reviewed.validated,
            plan,
            &staged.file.sha256,
        );
        let portfolios = affected_portfolios(&after, plan);
        drop(after);
        let counts = plan.counts;
        let message = workflow.applied_message(&Applied {
            import_id,
            file_name: &staged.file.name,
            counts,
            contacts: plan.contacts(),
            seconds,
        });
        let (skipped, invalid) = listed_rows(plan, LISTED);
        Ok(DoneView {
            file: views::file_view(staged),
            import_id,
            counts,
            contacts: plan.contacts(),
            sample,
            portfolios,
            seconds,
            message,
            skipped,
            invalid,
            columns: staged.template.headers().iter().map(|h| h.to_string()).collect(),
        })
    }
}

impl<S: CrmStore> Handle<S> for ResultsReport {
    /// After an apply: the skipped and invalid rows as a workbook, for a workflow that has
    /// one.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        svc.read_session(self.workflow, |s| {
            let planned = s.stage.planned()?;
            let staged = &planned.basis.reviewed().staged;
            let name = format!("{}-skipped-and-invalid.xlsx", file_stem(&staged.file.name));
            let written = s
                .workflow
                .results_report(staged.template, &planned.plan)
                .ok_or(SessionRefusal::NoResultsReport)?;
            let bytes = written.map_err(Failure::not_written(name.clone()))?;
            Ok(Download::xlsx(name, bytes))
        })
    }
}

impl<S: CrmStore> Handle<S> for GoBack {
    /// One stage back, keeping what was done. Back from the first stage of a file closes it
    /// (it stays staged: the upload step shows it).
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.change_session(self.workflow, |s| {
            s.stage.staged()?;
            let workflow = s.workflow;
            s.advance(|stage| back(workflow, stage));
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

/// The stage before `stage`.
fn back(workflow: &dyn Workflow, stage: Stage) -> Stage {
    match stage {
        Stage::Closed | Stage::Staged(_) => Stage::Closed,
        // The column step only when it had something to confirm.
        Stage::Reviewed(r) => {
            let mapping = &r.staged.mapping;
            if r.staged.template.header_policy == HeaderPolicy::SuggestAndConfirm
                && mapping.needs_confirmation()
            {
                Stage::Staged(r.staged)
            } else {
                Stage::Closed
            }
        }
        Stage::Matched(m) => Stage::Reviewed(m.reviewed),
        Stage::Planned(p) => match p.basis {
            Basis::Matched(m) if m.matches.open_groups().next().is_some() => Stage::Matched(m),
            basis if workflow.resolves_persons() => Stage::Reviewed(match basis {
                Basis::Reviewed(r) => r,
                Basis::Matched(m) => m.reviewed,
            }),
            _ => Stage::Closed,
        },
        done @ Stage::Done(_) => done,
    }
}

/// How many skipped and invalid rows the Done view lists (the results report has all).
const LISTED: usize = 20;

/// The first skipped rows ("ID (row 12)") and invalid rows ("row 12 (ID): why").
fn listed_rows(plan: &ImportPlan, n: usize) -> (Vec<String>, Vec<String>) {
    let skipped = plan
        .rows
        .iter()
        .filter(|r| matches!(r.action, RowAction::Skip(_)))
        .take(n)
        .map(|r| format!("{} (row {})", r.record_label(), r.sheet_row))
        .collect();
    let invalid = plan
        .rows
        .iter()
        .filter(|r| r.action == RowAction::Error)
        .take(n)
        .map(|r| format!("row {} ({}): {}", r.sheet_row, r.record_label(), r.errors.join("; ")))
        .collect();
    (skipped, invalid)
}

/// The portfolios whose cases an applied plan touched: (id, name).
fn affected_portfolios(stored: &StoredCrm, plan: &ImportPlan) -> Vec<(u32, String)> {
    let crm = &stored.crm;
    let index = CrmIndex::new(crm);
    let mut out: Vec<(u32, String)> = plan
        .affected_case_ids()
        .iter()
        .flat_map(|c| index.portfolios_by_case.get(c).cloned().unwrap_or_default())
        .filter_map(|p| crm.portfolios.get(&p).map(|p| (p.id, p.name.clone())))
        .collect();
    out.sort();
    out.dedup();
    out
}
