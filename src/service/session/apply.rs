//! Plan and apply: the dry run on the current CRM (re-validated and re-matched when the CRM
//! moved), its rows and report, the checked commit, the results, and going back a step.

use super::*;

impl<S: CrmStore> Service<S> {
    /// Plans the import on the current CRM. After the CRM changed (a stale plan), the rows are
    /// validated and matched again first; the operator's choices are kept where they apply.
    pub async fn plan(
        &self,
        workflow: WorkflowId,
        options: Option<ImportOptions>,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let (epoch, mut open) = {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            let epoch = s.epoch;
            let open = s.open.as_mut().ok_or(NotYet::Open)?;
            if let Some(o) = options {
                open.options = o;
            }
            (epoch, open.clone())
        };
        let stored = self.current().await?;
        let stale =
            open.planned.as_ref().map(|p| p.base != stored.sequence || p.stale.is_some()).unwrap_or(false)
                || open.validated.is_none()
                || open.basis != stored.sequence;
        if stale {
            open.validated = Some(Rc::new(validate_rows(&stored.crm, &open, ticker).await?));
            if open.workflow.resolves_persons() {
                let v = open.validated.clone().ok_or(NotYet::Validated)?;
                open.matches =
                    Some(Rc::new(match_rows(&stored.crm, open.template, &v, &open.file.base, ticker).await?));
            }
            open.basis = stored.sequence;
        }
        let validated = open.validated.clone().ok_or(NotYet::Validated)?;
        ticker.tick("Planning the changes (nothing is written)", 0, 1).await?;
        let choices = open.matches.as_ref().map(|m| indexed_choices(m, &open.choices)).unwrap_or_default();
        let resolution = match &open.matches {
            Some(m) if open.workflow.resolves_persons() => Some(Resolution { matches: m, choices: &choices }),
            _ => None,
        };
        let plan = open.workflow.plan(&PlanInput {
            crm: &stored.crm,
            template: open.template,
            validated: &validated,
            resolution,
            base: &open.file.base,
            options: open.options,
        });
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
        let planned = Planned { plan: Rc::new(plan), base: stored.sequence, stale: None, relinks };
        drop(stored);
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            if s.epoch != epoch {
                return Err(SessionRefusal::ChangedMeanwhile("planned").into());
            }
            let current = s.open.as_mut().ok_or(NotYet::Open)?;
            current.validated = open.validated;
            current.matches = open.matches;
            current.basis = open.basis;
            current.planned = Some(planned);
            current.stage = Stage::Plan;
        }
        self.session_view(workflow).await
    }

    /// A page of the plan table.
    pub fn plan_rows(
        &self,
        workflow: WorkflowId,
        start: usize,
        count: usize,
        only_changes: bool,
    ) -> Result<RowsPage, Failure> {
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let p = open.planned.as_ref().ok_or(NotYet::Planned)?;
        Ok(plan_rows(open, &p.plan, start, count.min(500), only_changes))
    }

    /// The plan report of the open file.
    pub async fn plan_report(&self, workflow: WorkflowId) -> Result<Download, Failure> {
        let stored = self.current().await?;
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let p = open.planned.as_ref().ok_or(NotYet::Planned)?;
        let v = open.validated.as_ref().ok_or(NotYet::Validated)?;
        let name = format!("{}-plan.xlsx", file_stem(&open.file.name));
        let extras = open.workflow.report_extras(&stored.crm, &p.plan, open.matches.as_deref());
        let bytes = write_plan_report(v, &p.plan, &extras).map_err(Failure::not_written(name.clone()))?;
        Ok(Download::xlsx(name, bytes))
    }

    /// Applies the plan in one checked commit. A file applied before asks first (unless
    /// `again`); a stale plan is refused (plan again).
    pub async fn apply(
        &self,
        workflow: WorkflowId,
        request: ApplyRequest<'_>,
        started_ms: f64,
        clock_ms: impl Fn() -> f64,
        ticker: &impl Ticker,
    ) -> Result<ApplyOutcome, Failure> {
        let ApplyRequest { operator_login, again, valid_rows_only, now_ms } = request;
        let (epoch, open) = {
            let session = self.session(workflow)?;
            let s = session.borrow();
            (s.epoch, s.open.clone().ok_or(NotYet::Open)?)
        };
        let planned = open.planned.clone().ok_or(NotYet::Planned)?;
        let plan = &planned.plan;
        if let Some(why) = &planned.stale {
            return Err(Failure::Stale(why.clone()));
        }
        if plan.pending_conflicts > 0 {
            return Err(ApplyRefusal::PendingConflicts(plan.pending_conflicts).into());
        }
        // The insured and insurance workflows leave rows with errors out and list them; an
        // accounts file with errors applies only when the operator chooses its valid rows.
        let valid_only = valid_rows_only || !open.workflow.errors_need_consent();
        if plan.has_errors() && !valid_only {
            return Err(SessionRefusal::ErrorsNeedConsent(plan.counts.errors).into());
        }
        let stored = self.current().await?;
        if stored.sequence != planned.base {
            drop(stored);
            self.crm_changed(ChangeCause::AnotherTab).await;
            return Err(Failure::Stale(Staleness::moved(false)));
        }
        if !again {
            if let Some(r) = last_import_of_file(&stored.crm, &open.file.sha256) {
                let wording = open.workflow.wording();
                return Ok(ApplyOutcome::AskFirst(AppliedBefore {
                    import_id: r.id,
                    file_name: r.file_name.clone(),
                    applied: wording.applied.to_string(),
                    verb: wording.apply_verb.to_string(),
                }));
            }
        }
        let ctx = ApplyContext {
            template_id: open.template.id.to_string(),
            operator_login: operator_login.to_string(),
            applied_at_ms: now_ms,
            file_name: open.file.name.clone(),
            sha256: open.file.sha256.clone(),
        };
        let (changes, record) = record_import(&stored.crm, plan, &ctx);
        let batch = CheckedBatch::new(
            stored.sequence,
            &stored.revisions,
            stored.crm.counters,
            plan.reads.iter().cloned(),
            changes,
        );
        drop(stored);
        ticker
            .tick(&format!("Writing {} records in one transaction", batch.changes.puts.len()), 0, 1)
            .await?;
        let committed = self.commit(&batch).await.map_err(|e| Failure::NotApplied(Box::new(e)))?;
        let import_id = committed.import_id().unwrap_or(record.id);
        let _ = self.store().delete_staged(&open.workflow.staging_slot(open.template)).await;
        let after = self.current().await?;
        let validated = open.validated.clone().ok_or(NotYet::Validated)?;
        let sample = verification_sample(
            open.workflow,
            &after.crm,
            open.template,
            &validated,
            plan,
            &open.file.sha256,
        );
        let portfolios = affected_portfolios(&after, plan);
        drop(after);
        let counts = plan.counts;
        let seconds = (clock_ms() - started_ms) / 1000.0;
        let message = open.workflow.applied_message(&Applied {
            import_id,
            file_name: &open.file.name,
            counts,
            contacts: plan.contacts(),
            seconds,
        });
        let (skipped, invalid) = listed_rows(plan, LISTED);
        let done = DoneView {
            file: Session::file_view(&open),
            import_id,
            counts,
            contacts: plan.contacts(),
            sample,
            portfolios,
            seconds,
            message,
            skipped,
            invalid,
            columns: open.template.headers().iter().map(|h| h.to_string()).collect(),
        };
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            if s.epoch == epoch {
                if let Some(current) = s.open.as_mut() {
                    current.done = Some(done.clone());
                    current.stage = Stage::Done;
                }
            }
        }
        Ok(ApplyOutcome::Applied(self.session_view(workflow).await?))
    }

    /// After an apply: the skipped and invalid rows as a workbook.
    pub fn results_report(&self, workflow: WorkflowId) -> Result<Download, Failure> {
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let p = open.planned.as_ref().ok_or(NotYet::Planned)?;
        let name = format!("{}-skipped-and-invalid.xlsx", file_stem(&open.file.name));
        let written =
            open.workflow.results_report(open.template, &p.plan).ok_or(SessionRefusal::NoResultsReport)?;
        let bytes = written.map_err(Failure::not_written(name.clone()))?;
        Ok(Download::xlsx(name, bytes))
    }

    /// One stage back, keeping what was done.
    pub async fn back(&self, workflow: WorkflowId) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            s.bump();
            let Some(open) = s.open.as_mut() else { return Err(NotYet::Open.into()) };
            // Back to the upload step closes the file; it stays staged (the card shows it).
            let to_upload = match open.stage {
                Stage::Headers => true,
                // The column step only when it had something to confirm.
                Stage::Review => {
                    if open.template.header_policy == HeaderPolicy::SuggestAndConfirm
                        && open.mapping.needs_confirmation()
                    {
                        open.stage = Stage::Headers;
                    }
                    open.stage != Stage::Headers
                }
                Stage::Resolve => {
                    open.stage = Stage::Review;
                    false
                }
                Stage::Plan => match &open.matches {
                    Some(m) if m.open_groups().next().is_some() => {
                        open.stage = Stage::Resolve;
                        false
                    }
                    _ if open.workflow.resolves_persons() => {
                        open.stage = Stage::Review;
                        false
                    }
                    _ => true,
                },
                Stage::Done => false,
            };
            if to_upload {
                s.open = None;
            }
        }
        self.session_view(workflow).await
    }
}

/// How many skipped and invalid rows the Done view lists (the results report has all).
pub(super) const LISTED: usize = 20;

/// The first skipped rows ("ID (row 12)") and invalid rows ("row 12 (ID): why").
pub(super) fn listed_rows(plan: &ImportPlan, n: usize) -> (Vec<String>, Vec<String>) {
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
pub(super) fn affected_portfolios(stored: &StoredCrm, plan: &ImportPlan) -> Vec<(u32, String)> {
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

/// The record of an apply (tests and the command line read it back).
pub fn import_record_of(
    changes: &crate::core::model::ChangeSet,
) -> Option<&crate::core::model::ImportRecord> {
    changes.puts.iter().find_map(|r| match r {
        Record::Import(i) => Some(i),
        _ => None,
    })
}
