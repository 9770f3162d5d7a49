//! A workflow's session: the file being imported and where it stands. Every workflow walks
//! the same stages — stage the file (it survives a reload), recognise its headers (confirm a
//! suggested mapping when the template's policy asks), validate, match and let the operator
//! resolve (when the template's apply rule matches people), plan, apply, verify — and the
//! template decides which of them it needs. The session holds the stage's data; the page gets
//! views of it ([`SessionView`]) and asks for pages of rows.
//!
//! A plan remembers the store's sequence number it was made at. When the CRM changes (a commit
//! here, in another workflow, or in another tab), the plan is marked stale and apply is
//! refused until the operator plans again on the current CRM, keeping every choice that still
//! applies.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::core::digest::sha256_hex;
use crate::core::headers::{recognise, HeaderMapping, HeaderSource, MappedColumn};
use crate::core::index::CrmIndex;
use crate::core::insured::base::ExportBaseRead;
use crate::core::insured::matching::{
    BulkAction, BulkPreview, GroupChoice, GroupKind, KeyedChoices, Matcher, Matches,
};
use crate::core::model::{Crm, EntryId, Record};
use crate::core::plan::history::ApplyRefusal;
use crate::core::plan::history::{last_import_of_file, record_import, ApplyContext};
use crate::core::plan::verify::verification_sample;
use crate::core::plan::{ImportPlan, RowAction};
use crate::core::read::read_sheet;
use crate::core::report::{write_error_report, write_plan_error_report, write_plan_report};
use crate::core::revision::{CheckedBatch, Revision, Staleness};
use crate::core::sheet::Sheet;
use crate::core::template::{Field, HeaderPolicy, Template};
use crate::core::text::{file_stem, mask_ssn};
use crate::core::validate::{Severity, Validated, ValidationOptions, Validator};
use crate::core::workflow::{Applied, ImportOptions, PlanInput, Resolution, Workflow, WorkflowId};
use crate::protocol::{
    AppliedBefore, ApplyOutcome, CandidateView, ChangeCause, DoneView, Download, FileView, GroupView,
    GroupsPage, HeaderRow, HeadersView, PlanView, ResolveView, ReviewView, RowsPage, SessionView, StagedCard,
    TableRow, TemplateView,
};
use crate::store::{CrmStore, StagedFile, StoredCrm};

use super::failure::{FileProblem, NotYet, SessionRefusal};
use super::{Failure, Service, Ticker};

/// Rows handled between two ticks.
const CHUNK: usize = 1_000;
/// Detected persons ranked between two ticks.
const RANK_CHUNK: usize = 50;

/// Where an open file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Headers,
    Review,
    Resolve,
    Plan,
    Done,
}

/// A file as staged.
#[derive(Debug, Clone)]
struct FileInfo {
    name: String,
    size: u64,
    sha256: String,
    staged_at_ms: i64,
    warnings: Vec<String>,
    /// What the file carries of the export it was made from (insured contact details).
    base: Rc<ExportBaseRead>,
}

/// A plan and the CRM state it was made on.
#[derive(Debug, Clone)]
struct Planned {
    plan: Rc<ImportPlan>,
    /// The store's sequence number the plan was made at.
    base: Revision,
    /// Why the plan can no longer be applied as it is.
    stale: Option<Staleness>,
    /// The insured links the plan changes, as the operator reads them.
    relinks: Vec<String>,
}

/// The file being imported.
#[derive(Debug, Clone)]
struct OpenFile {
    workflow: &'static dyn Workflow,
    template: &'static Template,
    file: FileInfo,
    sheet: Rc<Sheet>,
    mapping: HeaderMapping,
    options: ImportOptions,
    stage: Stage,
    validated: Option<Rc<Validated>>,
    matches: Option<Rc<Matches>>,
    /// The CRM sequence `validated` (and so `matches`) was made on: planning on a CRM that
    /// moved since validates and matches again first.
    basis: Revision,
    /// The operator's choice per detected person, by the person's key (kept across re-plans).
    choices: BTreeMap<String, GroupChoice>,
    planned: Option<Planned>,
    done: Option<DoneView>,
}

/// One workflow's session.
#[derive(Debug, Clone)]
pub struct Session {
    workflow: &'static dyn Workflow,
    /// The template a file is read as: always the chosen one for a workflow that names its
    /// template, the one the operator named otherwise; `None` = recognise it.
    chosen: Option<&'static Template>,
    /// The template chosen on the page (insured contact details), or the one the last file
    /// was recognised as.
    template: &'static Template,
    open: Option<OpenFile>,
    /// Bumped by every change of stage, so a long task that finds it moved discards its result.
    epoch: u64,
}

fn template_view(t: &Template) -> TemplateView {
    TemplateView { id: t.id.to_string(), name: t.name.to_string(), description: t.description.to_string() }
}

/// The key that keeps an operator's choice for a detected person across re-plans.
fn person_key(p: &crate::core::insured::matching::DetectedPerson) -> String {
    p.key.clone()
}

impl Session {
    /// A session with nothing open.
    pub fn new(workflow: &'static dyn Workflow) -> Session {
        let first = workflow.templates()[0];
        let chosen = workflow.names_template().then_some(first);
        Session { workflow, chosen, template: first, open: None, epoch: 0 }
    }

    /// The CRM moved to `sequence`: an open plan made before is stale.
    pub fn crm_moved(&mut self, sequence: Revision, cause: ChangeCause) {
        let Some(open) = self.open.as_mut() else { return };
        if open.stage == Stage::Done {
            return;
        }
        if let Some(p) = open.planned.as_mut() {
            if p.base < sequence && p.stale.is_none() {
                p.stale = Some(Staleness::moved(cause == ChangeCause::AnotherTab));
            }
        }
    }

    fn bump(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    fn file_view(open: &OpenFile) -> FileView {
        FileView {
            template: template_view(open.template),
            file_name: open.file.name.clone(),
            size: open.file.size,
            sha256: open.file.sha256.clone(),
            staged_at_ms: open.file.staged_at_ms,
            rows: open.sheet.rows.len(),
            warnings: open.file.warnings.clone(),
        }
    }

    /// The page's view of where the session stands.
    pub fn view(&self, staged: Option<StagedCard>) -> SessionView {
        let Some(open) = &self.open else {
            return SessionView::Upload {
                template: template_view(self.template),
                templates: self.workflow.templates().iter().map(|t| template_view(t)).collect(),
                staged,
            };
        };
        let file = Self::file_view(open);
        match open.stage {
            Stage::Headers => SessionView::Headers(headers_view(open, file)),
            Stage::Review => match &open.validated {
                Some(v) => SessionView::Review(review_view(open, v, file)),
                None => SessionView::Headers(headers_view(open, file)),
            },
            Stage::Resolve => match &open.matches {
                Some(m) => SessionView::Resolve(resolve_view(m, &open.choices, file)),
                None => SessionView::Headers(headers_view(open, file)),
            },
            Stage::Plan => match &open.planned {
                Some(p) => SessionView::Plan(plan_view(open, p, file)),
                None => SessionView::Headers(headers_view(open, file)),
            },
            Stage::Done => match &open.done {
                Some(d) => SessionView::Done(d.clone()),
                None => SessionView::Headers(headers_view(open, file)),
            },
        }
    }
}

mod apply;
mod handlers;
mod resolve;
mod show;

pub use apply::import_record_of;
use resolve::match_rows;
pub use show::ApplyRequest;
use show::*;

impl<S: CrmStore> Service<S> {
    /// The session's workflow and the template it reads files as.
    fn session_template(
        &self,
        workflow: WorkflowId,
    ) -> Result<(&'static dyn Workflow, &'static Template), Failure> {
        let session = self.session(workflow)?;
        let s = session.borrow();
        Ok((s.workflow, s.template))
    }

    async fn staged_card(&self, workflow: WorkflowId) -> Result<Option<StagedCard>, Failure> {
        let (flow, template) = self.session_template(workflow)?;
        let staged = self.store().get_staged(&flow.staging_slot(template)).await?;
        Ok(staged.map(|f| StagedCard {
            template_id: f.template_id,
            file_name: f.file_name,
            size: f.size,
            row_count: f.row_count,
            staged_at_ms: f.staged_at_ms,
            sha256: f.sha256,
        }))
    }

    /// The session's view as it stands.
    pub async fn session_view(&self, workflow: WorkflowId) -> Result<SessionView, Failure> {
        let staged = if self.session(workflow)?.borrow().open.is_none() {
            self.staged_card(workflow).await?
        } else {
            None
        };
        Ok(self.session(workflow)?.borrow().view(staged))
    }

    /// Chooses the template the next file is read as: the insured workflow's template, or the
    /// insurance template a file must be (an empty id: recognised from its headers).
    pub async fn choose_template(
        &self,
        workflow: WorkflowId,
        template_id: &str,
    ) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            let template = s.workflow.templates().iter().copied().find(|t| t.id == template_id);
            // An empty id means "recognise it", for a workflow that does not name its template.
            let recognise_it = template_id.is_empty() && !s.workflow.names_template();
            if template.is_none() && !recognise_it {
                return Err(SessionRefusal::NoSuchTemplate(template_id.to_string()).into());
            }
            s.chosen = template;
            if let (Some(t), None) = (template, &s.open) {
                s.template = t;
            }
        }
        self.session_view(workflow).await
    }

    /// Stages a file: reads it (refusing what cannot be read), recognises its template, keeps
    /// it in the store (replacing the file staged before in the same place), and opens it.
    #[allow(clippy::too_many_arguments)]
    pub async fn stage(
        &self,
        workflow: WorkflowId,
        file_name: &str,
        bytes: Vec<u8>,
        options: ImportOptions,
        remembered: &BTreeMap<String, String>,
        now_ms: i64,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        ticker.tick(&format!("Reading {file_name}"), 0, 1).await?;
        let sheet = read_sheet(file_name, &bytes).map_err(|e| Failure::NotStaged(e.into()))?;
        let (flow, chosen) = {
            let session = self.session(workflow)?;
            let s = session.borrow();
            (s.workflow, s.chosen)
        };
        let recognised =
            recognise(flow.templates(), chosen, &sheet.header, remembered).map_err(|problem| {
                Failure::NotStaged(FileProblem::Headers { file: file_name.to_string(), problem })
            })?;
        let template = recognised.template;
        let base = Rc::new(flow.export_base(file_name, &bytes));
        let staged = StagedFile {
            template_id: flow.staging_slot(template),
            file_name: file_name.to_string(),
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            staged_at_ms: now_ms,
            row_count: sheet.rows.len(),
            bytes,
        };
        self.store().put_staged(&staged).await.map_err(|e| Failure::NotStaged(e.into()))?;
        let info = FileInfo {
            name: staged.file_name,
            size: staged.size,
            sha256: staged.sha256,
            staged_at_ms: staged.staged_at_ms,
            base,
            warnings: sheet.warnings.iter().map(|w| w.message.clone()).collect(),
        };
        self.open_file(workflow, template, info, sheet, recognised.mapping, options, ticker).await
    }

    /// Opens the file staged for the session's template (after a reload, or to start over).
    pub async fn resume(
        &self,
        workflow: WorkflowId,
        options: ImportOptions,
        remembered: &BTreeMap<String, String>,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let (flow, template) = self.session_template(workflow)?;
        let chosen = self.session(workflow)?.borrow().chosen;
        let staged = self
            .store()
            .get_staged(&flow.staging_slot(template))
            .await?
            .ok_or(SessionRefusal::NothingStaged)?;
        ticker.tick(&format!("Reading {}", staged.file_name), 0, 1).await?;
        let sheet = read_sheet(&staged.file_name, &staged.bytes).map_err(|e| Failure::NotOpened(e.into()))?;
        let recognised =
            recognise(flow.templates(), chosen, &sheet.header, remembered).map_err(|problem| {
                Failure::NotOpened(FileProblem::Headers { file: staged.file_name.clone(), problem })
            })?;
        let base = Rc::new(flow.export_base(&staged.file_name, &staged.bytes));
        let info = FileInfo {
            name: staged.file_name,
            size: staged.size,
            sha256: staged.sha256,
            staged_at_ms: staged.staged_at_ms,
            base,
            warnings: sheet.warnings.iter().map(|w| w.message.clone()).collect(),
        };
        self.open_file(workflow, recognised.template, info, sheet, recognised.mapping, options, ticker).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn open_file(
        &self,
        workflow: WorkflowId,
        template: &'static Template,
        file: FileInfo,
        sheet: Sheet,
        mapping: HeaderMapping,
        options: ImportOptions,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let ready = mapping.is_usable() && !mapping.needs_confirmation();
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            s.bump();
            s.template = template;
            let flow = s.workflow;
            s.open = Some(OpenFile {
                workflow: flow,
                template,
                file,
                sheet: Rc::new(sheet),
                mapping,
                options,
                stage: Stage::Headers,
                validated: None,
                matches: None,
                basis: 0,
                choices: BTreeMap::new(),
                planned: None,
                done: None,
            });
        }
        if ready || template.header_policy != HeaderPolicy::SuggestAndConfirm {
            return self.validate(workflow, ticker).await;
        }
        self.session_view(workflow).await
    }

    /// Discards the staged file (and closes it).
    pub async fn discard(&self, workflow: WorkflowId) -> Result<SessionView, Failure> {
        let (flow, template) = self.session_template(workflow)?;
        self.store().delete_staged(&flow.staging_slot(template)).await?;
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            s.bump();
            s.open = None;
        }
        self.session_view(workflow).await
    }

    /// Closes the file; a staged copy stays staged.
    pub async fn close(&self, workflow: WorkflowId) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            s.bump();
            s.open = None;
        }
        self.session_view(workflow).await
    }

    /// Maps one template column to a file column (a file column feeds one template column).
    pub async fn set_column(
        &self,
        workflow: WorkflowId,
        template_col: usize,
        file_col: Option<usize>,
    ) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or(NotYet::Open)?;
            let template = open.template;
            if template_col >= template.columns.len() {
                return Err(SessionRefusal::NoSuchColumn.into());
            }
            let m = &mut open.mapping;
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
                    file_header: open.sheet.header.get(f).cloned().unwrap_or_default(),
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
            m.ignored = open
                .sheet
                .header
                .iter()
                .enumerate()
                .filter(|(f, h)| !h.trim().is_empty() && !used.contains(&Some(*f)))
                .map(|(_, h)| h.clone())
                .collect();
            open.stage = Stage::Headers;
        }
        self.session_view(workflow).await
    }

    /// Accepts the mapping; returns the confirmed pairs to remember (file header → template
    /// header) with the validated view.
    pub async fn confirm_headers(
        &self,
        workflow: WorkflowId,
        ticker: &impl Ticker,
    ) -> Result<(SessionView, Vec<(String, String)>), Failure> {
        let remember = {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or(NotYet::Open)?;
            if !open.mapping.is_usable() {
                return Err(SessionRefusal::MissingColumns(open.mapping.missing_required.clone()).into());
            }
            open.mapping.confirm();
            open.mapping.to_remember(open.template)
        };
        let view = self.validate(workflow, ticker).await?;
        Ok((view, remember))
    }

    /// Validates every row (in slices, with progress), then moves on: to Review for a file
    /// whose people are matched, straight to the plan otherwise.
    async fn validate(&self, workflow: WorkflowId, ticker: &impl Ticker) -> Result<SessionView, Failure> {
        let (epoch, open) = {
            let session = self.session(workflow)?;
            let s = session.borrow();
            (s.epoch, s.open.clone().ok_or(NotYet::Open)?)
        };
        let stored = self.current().await?;
        let validated = validate_rows(&stored.crm, &open, ticker).await?;
        let basis = stored.sequence;
        drop(stored);
        {
            let session = self.session(workflow)?;
            let mut s = session.borrow_mut();
            if s.epoch != epoch {
                return Err(SessionRefusal::ChangedMeanwhile("validated").into());
            }
            let current = s.open.as_mut().ok_or(NotYet::Open)?;
            current.validated = Some(Rc::new(validated));
            current.basis = basis;
            current.matches = None;
            current.planned = None;
            current.stage = Stage::Review;
        }
        if open.workflow.resolves_persons() {
            self.session_view(workflow).await
        } else {
            self.plan(workflow, None, ticker).await
        }
    }

    /// A page of the review table.
    pub fn review_rows(
        &self,
        workflow: WorkflowId,
        start: usize,
        count: usize,
        only_problems: bool,
    ) -> Result<RowsPage, Failure> {
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let v = open.validated.as_ref().ok_or(NotYet::Validated)?;
        Ok(review_rows(open, v, start, count.min(500), only_problems))
    }

    /// The error report of the open file.
    pub fn error_report(&self, workflow: WorkflowId) -> Result<Download, Failure> {
        let session = self.session(workflow)?;
        let s = session.borrow();
        let open = s.open.as_ref().ok_or(NotYet::Open)?;
        let v = open.validated.as_ref().ok_or(NotYet::Validated)?;
        let name = format!("{}-errors.xlsx", file_stem(&open.file.name));
        // Once planned, the report adds the plan's own issues (rules that need the CRM).
        let bytes = match &open.planned {
            Some(p) => write_plan_error_report(open.template, v, &p.plan),
            None => write_error_report(open.template, v),
        }
        .map_err(Failure::not_written(name.clone()))?;
        Ok(Download::xlsx(name, bytes))
    }
}

/// Validates every row of the open file against the CRM, in slices.
async fn validate_rows(crm: &Crm, open: &OpenFile, ticker: &impl Ticker) -> Result<Validated, Failure> {
    let index = CrmIndex::new(crm);
    let options = ValidationOptions { day_month_order: open.options.day_month_order.unwrap_or_default() };
    let validator = Validator::new(open.template, &open.mapping, &index, options);
    let total = open.sheet.rows.len();
    let mut rows = Vec::with_capacity(total);
    let mut issues = Vec::new();
    for (n, chunk) in open.sheet.rows.chunks(CHUNK).enumerate() {
        ticker.tick("Validating rows", n * CHUNK, total).await?;
        for r in chunk {
            let (v, mut i) = validator.row(r);
            rows.push(v);
            issues.append(&mut i);
        }
    }
    validator.finish(&mut rows, &mut issues);
    Ok(validator.validated(rows, issues))
}
