//! Opening a file: choose the template, stage a new file or open the staged one again (one
//! path for both), map its columns, validate it, and the Review step's rows and error report.
//! Discarding and closing the file.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::core::digest::sha256_hex;
use crate::core::headers::{recognise, HeaderMapping, HeaderSource, MappedColumn};
use crate::core::index::CrmIndex;
use crate::core::ledger::LedgerFile;
use crate::core::model::Crm;
use crate::core::read::read_sheet;
use crate::core::report::{write_error_report_with_options, ErrorReportOptions};
use crate::core::template::HeaderPolicy;
use crate::core::text::file_stem;
use crate::core::validate::{Validated, ValidationOptions, ValidationRun, Validator};
use crate::core::workflow::{ImportOptions, WorkflowId};
use crate::protocol::messages::NotStaged;
use crate::protocol::{
    ChooseTemplate, CloseFile, ConfirmHeaders, Confirmed, DiscardFile, Download, ErrorReport, ResumeFile,
    ReviewRows, RowsPage, SessionView, SetColumn, ShowSession, StageFile,
};
use crate::service::failure::{FileProblem, SessionRefusal};
use crate::service::handle::{Call, Handle};
use crate::service::Ticker;
use crate::store::{CrmStore, StagedFile};

use super::{views, Failure, FileInfo, Reviewed, Service, Stage, Staged, CHUNK};

impl<S: CrmStore> Handle<S> for ShowSession {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.session_view(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for ChooseTemplate {
    /// Chooses the template the next file is read as: one of the workflow's, or none (an empty
    /// id: recognised from its headers) for a workflow that does not name its template.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.change_session(self.workflow, |s| {
            let template = s.workflow.templates().iter().copied().find(|t| t.id == self.template_id);
            let recognise_it = self.template_id.is_empty() && !s.workflow.names_template();
            if template.is_none() && !recognise_it {
                return Err(SessionRefusal::NoSuchTemplate(self.template_id.clone()).into());
            }
            s.chosen = template;
            if let (Some(t), Stage::Closed) = (template, &s.stage) {
                s.template = t;
            }
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

/// Where a file to open comes from.
enum Source {
    /// A new file: it is staged (replacing the file staged before in the same place).
    New { file_name: String, bytes: Vec<u8>, now_ms: i64 },
    /// The file staged for the session's template.
    Staged,
}

impl<S: CrmStore> Handle<S> for StageFile {
    /// Stages a file: reads it (refusing what cannot be read), recognises its template, keeps
    /// it in the store, and opens it.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        let bytes = call.take_bytes().ok_or(Failure::NotStaged(NotStaged(FileProblem::BytesMissing)))?;
        let source = Source::New { file_name: self.file_name, bytes, now_ms: call.now_ms };
        svc.open_file(self.workflow, source, self.options, &self.remembered, call.ticker).await
    }
}

impl<S: CrmStore> Handle<S> for ResumeFile {
    /// Opens the file staged for the session's template (after a reload, or to start over).
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.open_file(self.workflow, Source::Staged, self.options, &self.remembered, call.ticker).await
    }
}

impl<S: CrmStore> Service<S> {
    /// Reads a file — new or staged before — as the template the session names (or the one
    /// its headers are), keeps a new one staged, and opens it: validated at once unless its
    /// mapping holds suggestions to confirm.
    async fn open_file(
        &self,
        id: WorkflowId,
        source: Source,
        options: ImportOptions,
        remembered: &BTreeMap<String, String>,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let (flow, chosen, template) = self.read_session(id, |s| Ok((s.workflow, s.chosen, s.template)))?;
        let is_new = matches!(source, Source::New { .. });
        let refused = move |problem: FileProblem| {
            if is_new {
                Failure::NotStaged(NotStaged(problem))
            } else {
                Failure::NotOpened(problem)
            }
        };
        // What is known of a file staged before: its size, fingerprint and when it was staged.
        let (name, bytes, kept) = match source {
            Source::New { file_name, bytes, now_ms } => (file_name, bytes, Err(now_ms)),
            Source::Staged => {
                let slot = flow.staging_slot(template);
                let f = self.store().get_staged(&slot).await?.ok_or(SessionRefusal::NothingStaged)?;
                (f.file_name, f.bytes, Ok((f.size, f.sha256, f.staged_at_ms)))
            }
        };
        ticker.tick(&format!("Reading {name}"), 0, 1).await?;
        let sheet = read_sheet(&name, &bytes).map_err(|e| refused(e.into()))?;
        let recognised = recognise(flow.templates(), chosen, &sheet.header, remembered)
            .map_err(|problem| refused(FileProblem::Headers { file: name.clone(), problem }))?;
        let base = Rc::new(flow.export_base(&name, &bytes));
        let (size, sha256, staged_at_ms) = match kept {
            Ok(kept) => kept,
            Err(now_ms) => {
                let record = StagedFile {
                    template_id: flow.staging_slot(recognised.template),
                    file_name: name.clone(),
                    size: bytes.len() as u64,
                    sha256: sha256_hex(&bytes),
                    staged_at_ms: now_ms,
                    row_count: sheet.rows.len(),
                    bytes,
                };
                self.store().put_staged(&record).await.map_err(|e| refused(e.into()))?;
                (record.size, record.sha256, now_ms)
            }
        };
        let warnings = sheet.warnings.iter().map(|w| w.message.clone()).collect();
        let file = FileInfo { name, size, sha256, staged_at_ms, warnings, base };
        let mapping = recognised.mapping;
        let ready = mapping.is_usable() && !mapping.needs_confirmation();
        let template = recognised.template;
        let opened =
            Staged { template, file, sheet: Rc::new(sheet), mapping, options, choices: Default::default() };
        self.change_session(id, |s| {
            s.template = template;
            s.set(Stage::Staged(opened));
            Ok(())
        })?;
        if ready || template.header_policy != HeaderPolicy::SuggestAndConfirm {
            return self.validate(id, ticker).await;
        }
        self.session_view(id).await
    }

    /// Validates every row (in slices, with progress), then moves on: to Review for a file
    /// whose persons are resolved, straight to the plan otherwise.
    async fn validate(&self, id: WorkflowId, ticker: &impl Ticker) -> Result<SessionView, Failure> {
        let (epoch, staged, resolves) = self
            .read_session(id, |s| Ok((s.epoch, s.stage.staged()?.clone(), s.workflow.resolves_persons())))?;
        let stored = self.current().await?;
        let validated = validate_rows(&stored.crm, &staged, ticker).await?;
        let basis = stored.sequence;
        drop(stored);
        let reviewed = Reviewed { staged, validated: Rc::new(validated), basis };
        self.finish(id, epoch, "validated", |_| Stage::Reviewed(reviewed))?;
        if resolves {
            self.session_view(id).await
        } else {
            self.plan(id, None, ticker).await
        }
    }
}

impl<S: CrmStore> Handle<S> for DiscardFile {
    /// Discards the staged file (and closes it).
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        let slot = svc.read_session(self.workflow, |s| Ok(s.workflow.staging_slot(s.template)))?;
        svc.store().delete_staged(&slot).await?;
        svc.change_session(self.workflow, |s| {
            s.set(Stage::Closed);
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for CloseFile {
    /// Closes the file; a staged copy stays staged.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.change_session(self.workflow, |s| {
            s.set(Stage::Closed);
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

impl<S: CrmStore> Handle<S> for SetColumn {
    /// Maps one template column to a file column (a file column feeds one template column);
    /// the mapping is to be confirmed again.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<SessionView, Failure> {
        svc.change_session(self.workflow, |s| {
            let template = s.stage.staged()?.template;
            if self.template_column >= template.columns.len() {
                return Err(SessionRefusal::NoSuchColumn.into());
            }
            s.advance(|stage| stage.into_staged().map(Stage::Staged).unwrap_or_default());
            if let Stage::Staged(staged) = &mut s.stage {
                set_column(staged, self.template_column, self.file_column);
            }
            Ok(())
        })?;
        svc.session_view(self.workflow).await
    }
}

/// Maps `template_col` to `file_col` (taking it from any other template column) and says
/// again what is missing and what the file has that is not mapped.
fn set_column(staged: &mut Staged, template_col: usize, file_col: Option<usize>) {
    let template = staged.template;
    let header = &staged.sheet.header;
    let m: &mut HeaderMapping = &mut staged.mapping;
    if let Some(f) = file_col {
        for (t, c) in m.columns.iter_mut().enumerate() {
            if *c == Some(f) && t != template_col {
                *c = None;
            }
        }
    }
    m.columns[template_col] = file_col;
    m.mapped.retain(|x| x.template_column != template_col && Some(x.file_column) != file_col);
    if let Some(f) = file_col {
        m.mapped.push(MappedColumn {
            template_column: template_col,
            file_column: f,
            file_header: header.get(f).cloned().unwrap_or_default(),
            source: HeaderSource::Remembered,
            score: 1.0,
        });
    }
    m.missing_required = template
        .columns
        .iter()
        .zip(&m.columns)
        .filter(|(c, col)| c.header_required() && col.is_none())
        .map(|(c, _)| c.header.to_string())
        .collect();
    let used = m.columns.clone();
    m.ignored = header
        .iter()
        .enumerate()
        .filter(|(f, h)| !h.trim().is_empty() && !used.contains(&Some(*f)))
        .map(|(_, h)| h.clone())
        .collect();
}

impl<S: CrmStore> Handle<S> for ConfirmHeaders {
    /// Accepts the mapping and validates; the confirmed pairs (file header → template header)
    /// come back for the page to remember.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Confirmed, Failure> {
        let remember = svc.change_session(self.workflow, |s| {
            let staged = s.stage.staged()?;
            if !staged.mapping.is_usable() {
                return Err(SessionRefusal::MissingColumns(staged.mapping.missing_required.clone()).into());
            }
            s.advance(|stage| stage.into_staged().map(Stage::Staged).unwrap_or_default());
            let Stage::Staged(staged) = &mut s.stage else { return Ok(Vec::new()) };
            staged.mapping.confirm();
            Ok(staged.mapping.to_remember(staged.template))
        })?;
        let view = svc.validate(self.workflow, call.ticker).await?;
        Ok(Confirmed { view, remember })
    }
}

impl<S: CrmStore> Handle<S> for ReviewRows {
    /// A page of the review table.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<RowsPage, Failure> {
        svc.read_session(self.workflow, |s| {
            let reviewed = s.stage.reviewed()?;
            Ok(views::review_rows(s.workflow, reviewed, self.start, self.count.min(500), self.only_problems))
        })
    }
}

impl<S: CrmStore> Handle<S> for ErrorReport {
    /// The error report of the open file, SSNs masked unless the operator asked for full SSNs;
    /// once planned, it adds the plan's own issues (rules that need the CRM).
    /// A report with full SSNs in it is recorded in the PII ledger before it is given.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Download, Failure> {
        let (name, written) = svc.read_session(self.workflow, |s| {
            let reviewed = s.stage.reviewed()?;
            let (template, validated) = (reviewed.staged.template, &reviewed.validated);
            let name = format!("{}-errors.xlsx", file_stem(&reviewed.staged.file.name));
            let extra = s.stage.planned().map(|p| p.plan.issues.as_slice()).unwrap_or_default();
            let options = ErrorReportOptions { include_full_ssns: self.include_full_ssns };
            let written = write_error_report_with_options(template, validated, extra, options)
                .map_err(Failure::not_written(name.clone()))?;
            Ok((name, written))
        })?;
        svc.give_recorded(LedgerFile::ErrorReport, name, &self.operator_login, call.now_ms, written).await
    }
}

/// Validates every row of an open file against the CRM, in slices.
pub(super) async fn validate_rows(
    crm: &Crm,
    staged: &Staged,
    ticker: &impl Ticker,
) -> Result<Validated, Failure> {
    let index = CrmIndex::new(crm);
    let options = ValidationOptions { day_month_order: staged.options.day_month_order.unwrap_or_default() };
    let validator = Validator::new(staged.template, &staged.mapping, &index, options);
    let total = staged.sheet.rows.len();
    let mut run = ValidationRun::new(validator, &staged.file.name, total)?;
    for (n, chunk) in staged.sheet.rows.chunks(CHUNK).enumerate() {
        ticker.tick("Validating rows", n * CHUNK, total).await?;
        run.rows(chunk)?;
    }
    Ok(run.finish())
}
