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

use crate::core::accounts;
use crate::core::headers::{recognise, HeaderMapping, HeaderSource, MappedColumn};
use crate::core::index::CrmIndex;
use crate::core::insurance;
use crate::core::insured::base::{read_export_base, ExportBaseRead};
use crate::core::insured::matching::{BulkAction, GroupChoice, GroupKind, KeyedChoices, Matcher, Matches};
use crate::core::insured::plan::{plan_with_base, TakeFile};
use crate::core::insured::{self, INSURED_CONTACT_DETAILS};
use crate::core::model::{Crm, EntryId, Record};
use crate::core::plan::history::{last_import_of_file, record_import, ApplyContext};
use crate::core::plan::verify::verification_sample;
use crate::core::plan::{plan_file, ImportPlan, RowAction};
use crate::core::read::read_sheet;
use crate::core::report::{sha256_hex, write_error_report, write_plan_error_report, write_plan_report};
use crate::core::revision::{CheckedBatch, Revision};
use crate::core::sheet::Sheet;
use crate::core::template::{ApplyRule, Field, HeaderPolicy, Template};
use crate::core::text::{file_stem, mask_ssn};
use crate::core::validate::{Severity, Validated, ValidationOptions, Validator};
use crate::protocol::{
    BulkChoice, CandidateView, ChangeCause, Choice, DoneView, FileView, GroupView, GroupsPage, HeaderRow,
    HeadersView, PlanView, ResolveView, ReviewView, RowsPage, SessionOptions, SessionView, StagedCard,
    TableRow, TemplateView, Workflow,
};
use crate::store::{CrmStore, StagedFile, StoredCrm};

use super::crm::Download;
use super::{store_failure, Failure, Service, Ticker};

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
    stale: Option<String>,
    /// The insured links the plan changes, as the operator reads them.
    relinks: Vec<String>,
}

/// The file being imported.
#[derive(Debug, Clone)]
struct OpenFile {
    template: &'static Template,
    file: FileInfo,
    sheet: Rc<Sheet>,
    mapping: HeaderMapping,
    options: SessionOptions,
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
    workflow: Workflow,
    /// The template the operator said a file is (insurance); `None` = recognise it.
    chosen: Option<&'static Template>,
    /// The template chosen on the page (insured contact details), or the one the last file
    /// was recognised as.
    template: &'static Template,
    open: Option<OpenFile>,
    /// Bumped by every change of stage, so a long task that finds it moved discards its result.
    epoch: u64,
}

/// The templates a workflow offers.
fn candidates(workflow: Workflow) -> Vec<&'static Template> {
    match workflow {
        Workflow::Insured => vec![&INSURED_CONTACT_DETAILS],
        Workflow::Insurance => insurance::templates().to_vec(),
        Workflow::Accounts => accounts::templates().to_vec(),
    }
}

/// Where a workflow's staged file is kept: one per template for insured contact details,
/// one for the whole workflow otherwise (one staged insurance file at a time).
fn slot(workflow: Workflow, template: &Template) -> String {
    match workflow {
        Workflow::Insured => template.id.to_string(),
        Workflow::Insurance => "insurance".to_string(),
        Workflow::Accounts => "accounts".to_string(),
    }
}

fn template_view(t: &Template) -> TemplateView {
    TemplateView { id: t.id.to_string(), name: t.name.to_string(), description: t.description.to_string() }
}

/// The key that keeps an operator's choice for a detected person across re-plans.
fn person_key(p: &insured::matching::DetectedPerson) -> String {
    p.key.clone()
}

/// True when a template's rows are matched to people and resolved by the operator.
fn matches_people(t: &Template) -> bool {
    t.apply == ApplyRule::UpsertContactDetail
}

impl Session {
    /// A session with nothing open.
    pub fn new(workflow: Workflow) -> Session {
        Session { workflow, chosen: None, template: candidates(workflow)[0], open: None, epoch: 0 }
    }

    /// The CRM moved to `sequence`: an open plan made before is stale.
    pub fn crm_moved(&mut self, sequence: Revision, cause: ChangeCause) {
        let Some(open) = self.open.as_mut() else { return };
        if open.stage == Stage::Done {
            return;
        }
        if let Some(p) = open.planned.as_mut() {
            if p.base < sequence && p.stale.is_none() {
                let text = match cause {
                    ChangeCause::AnotherTab => {
                        "The CRM was changed in another tab since this plan was made. Plan again to apply it to \
                         the current CRM; your choices are kept."
                    }
                    ChangeCause::ThisTab => {
                        "The CRM changed since this plan was made. Plan again to apply it to the current CRM; \
                         your choices are kept."
                    }
                };
                p.stale = Some(text.to_string());
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
                templates: candidates(self.workflow).into_iter().map(template_view).collect(),
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

fn headers_view(open: &OpenFile, file: FileView) -> HeadersView {
    let rows = open
        .template
        .columns
        .iter()
        .enumerate()
        .map(|(t, spec)| {
            let current = open.mapping.columns.get(t).copied().flatten();
            let source =
                open.mapping.mapped.iter().find(|m| m.template_column == t).map(|m| (m.source, m.score));
            let note = match (current, source) {
                (None, _) if spec.header_required() => "missing — required".to_string(),
                (None, _) => "not in the file".to_string(),
                (Some(_), Some((HeaderSource::Exact, _))) => "exact".to_string(),
                (Some(_), Some((HeaderSource::Remembered, _))) => "confirmed earlier".to_string(),
                (Some(_), Some((HeaderSource::Suggested, score))) => {
                    format!("suggested ({:.0}% alike) — confirm", score * 100.0)
                }
                (Some(_), None) => String::new(),
            };
            HeaderRow {
                header: spec.header.to_string(),
                required: spec.header_required(),
                file_column: current,
                note,
            }
        })
        .collect();
    HeadersView {
        file,
        file_headers: open.sheet.header.clone(),
        rows,
        missing_required: open.mapping.missing_required.clone(),
        ignored: open.mapping.ignored.clone(),
    }
}

/// The review table's columns for a template: a few identifying fields for insured contact
/// details (the table stays readable), every column otherwise.
fn review_fields(t: &Template) -> Vec<Field> {
    if t.apply == ApplyRule::UpsertContactDetail {
        vec![
            Field::CaseReference,
            Field::InsuredReference,
            Field::FirstName,
            Field::ClientReference,
            Field::Ssn,
            Field::DetailType,
            Field::PublicId,
        ]
    } else {
        t.columns.iter().map(|c| c.field).collect()
    }
}

fn review_columns(t: &Template) -> Vec<String> {
    let mut columns = vec!["Row".to_string(), "Status".to_string()];
    for f in review_fields(t) {
        columns.push(match f {
            Field::FirstName => "Name".to_string(),
            f => t.spec(f).map(|s| s.header.to_string()).unwrap_or_default(),
        });
    }
    columns.push("Errors".to_string());
    columns
}

fn review_view(open: &OpenFile, v: &Validated, file: FileView) -> ReviewView {
    let blocked = v.rows.iter().filter(|r| r.blocked()).count();
    ReviewView {
        file,
        rows: v.rows.len(),
        importable: v.rows.len() - blocked,
        errors: v.issues.iter().filter(|i| i.severity == Severity::Error).count(),
        warnings: v.issues.iter().filter(|i| i.severity == Severity::Warning).count(),
        rows_with_problems: v.rows.iter().filter(|r| r.errors + r.warnings > 0).count(),
        ignored: open.mapping.ignored.clone(),
        columns: review_columns(open.template),
    }
}

fn resolve_view(m: &Matches, choices: &BTreeMap<String, GroupChoice>, file: FileView) -> ResolveView {
    let conflicts = m.groups.iter().filter(|g| g.is_conflict()).count();
    let pending =
        m.groups.iter().filter(|g| g.is_conflict() && !choices.contains_key(&person_key(g))).count();
    ResolveView {
        file,
        tiers: m.tier_counts().into_iter().map(|(t, n)| (t.label().to_string(), n)).collect(),
        groups: m.open_groups().count(),
        conflicts,
        pending_conflicts: pending,
        matched: m.groups.len() - m.open_groups().count(),
        decided: m.groups.iter().filter(|g| choices.contains_key(&person_key(g))).count(),
    }
}

fn plan_columns(t: &Template) -> Vec<String> {
    let mut c = vec!["Row".to_string(), "Action".to_string()];
    if t.apply == ApplyRule::UpsertContactDetail {
        c.extend(["Match tier".to_string(), "CRM entry".to_string(), "Public ID".to_string()]);
    } else {
        c.push(t.columns.first().map(|c| c.header.to_string()).unwrap_or_default());
    }
    c.push("Changes (before → after) and notes".to_string());
    c.push("Errors".to_string());
    c
}

fn plan_view(open: &OpenFile, p: &Planned, file: FileView) -> PlanView {
    let plan = &p.plan;
    let notices = plan.notices.clone();
    PlanView {
        file,
        counts: plan.counts,
        contacts: plan.contacts(),
        pending_conflicts: plan.pending_conflicts,
        rows: plan.rows.len(),
        changing_rows: plan.rows.iter().filter(|r| !matches!(r.action, RowAction::Unchanged)).count(),
        stale: p.stale.clone(),
        notices,
        relinks: p.relinks.clone(),
        stale_conflict_rows: plan.stale_conflict_rows().count(),
        take_file_values: open.options.take_file_values,
        columns: plan_columns(open.template),
    }
}

fn status_of(action: &RowAction) -> &'static str {
    match action {
        RowAction::Error => "error",
        RowAction::Skip(_) => "warning",
        RowAction::Unchanged => "muted",
        _ => "ok",
    }
}

/// One page of the plan table.
fn plan_rows(open: &OpenFile, plan: &ImportPlan, start: usize, count: usize, only_changes: bool) -> RowsPage {
    let shown: Vec<usize> = (0..plan.rows.len())
        .filter(|i| !only_changes || !matches!(plan.rows[*i].action, RowAction::Unchanged))
        .collect();
    let insured = open.template.apply == ApplyRule::UpsertContactDetail;
    let rows = shown
        .iter()
        .skip(start)
        .take(count)
        .map(|i| {
            let p = &plan.rows[*i];
            let mut detail: Vec<String> =
                p.changes.iter().map(|c| format!("{}: {} → {}", c.field, c.before, c.after)).collect();
            detail.extend(p.notes.iter().cloned());
            let mut cells = vec![p.sheet_row.to_string(), p.action_text()];
            if insured {
                let f = p.insured().cloned().unwrap_or_default();
                detail.extend(
                    f.stale_conflicts
                        .iter()
                        .map(|c| format!("Changed in the CRM since export — {}", c.text())),
                );
                cells.push(f.tier.map(|t| t.label().to_string()).unwrap_or_default());
                cells.push(f.entry_label);
                cells.push(f.public_id.unwrap_or_default());
            } else {
                cells.push(p.record_label().to_string());
            }
            cells.push(detail.join(" · "));
            cells.push(p.errors_text());
            TableRow { sheet_row: p.sheet_row, status: status_of(&p.action).to_string(), cells }
        })
        .collect();
    RowsPage { total: shown.len(), start, rows }
}

/// One page of the review table.
fn review_rows(open: &OpenFile, v: &Validated, start: usize, count: usize, only_problems: bool) -> RowsPage {
    let shown: Vec<usize> =
        (0..v.rows.len()).filter(|i| !only_problems || v.rows[*i].errors + v.rows[*i].warnings > 0).collect();
    let fields = review_fields(open.template);
    let page: Vec<usize> = shown.iter().skip(start).take(count).copied().collect();
    let wanted: std::collections::BTreeSet<usize> = page.iter().map(|i| v.rows[*i].sheet_row).collect();
    let mut problems: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for i in v.issues.iter().filter(|i| wanted.contains(&i.row)) {
        problems.entry(i.row).or_default().push(format!(
            "{}{}",
            i.cell.as_ref().map(|c| format!("{c}: ")).unwrap_or_default(),
            i.message
        ));
    }
    let rows = page
        .into_iter()
        .map(|i| {
            let r = &v.rows[i];
            let t = open.template;
            let cell = |f: Field| t.col(f).and_then(|c| r.raw.get(c)).cloned().unwrap_or_default();
            let status = if r.errors > 0 {
                "error"
            } else if r.warnings > 0 {
                "warning"
            } else {
                "ok"
            };
            let mut cells = vec![r.sheet_row.to_string(), status.to_string()];
            for f in &fields {
                cells.push(match f {
                    Field::FirstName if t.col(Field::LastName).is_some() => {
                        format!("{} {}", cell(Field::FirstName), cell(Field::LastName)).trim().to_string()
                    }
                    Field::Ssn => {
                        let s = cell(Field::Ssn);
                        if s.is_empty() {
                            s
                        } else {
                            mask_ssn(&s)
                        }
                    }
                    f => cell(*f),
                });
            }
            cells.push(problems.remove(&r.sheet_row).unwrap_or_default().join(" · "));
            TableRow { sheet_row: r.sheet_row, status: status.to_string(), cells }
        })
        .collect();
    RowsPage { total: shown.len(), start, rows }
}

fn choice_of(c: Option<GroupChoice>) -> Choice {
    match c {
        None => Choice::Default,
        Some(GroupChoice::CreateNew) => Choice::CreateNew,
        Some(GroupChoice::Existing(e)) => Choice::Existing(e),
        Some(GroupChoice::Skip) => Choice::Skip,
    }
}

/// One page of detected persons: the open ones, or with `matched` the ones a tier decided.
fn groups_page(
    crm: &Crm,
    m: &Matches,
    v: &Validated,
    choices: &BTreeMap<String, GroupChoice>,
    (start, count, matched): (usize, usize, bool),
) -> GroupsPage {
    let section: Vec<_> = m.groups.iter().filter(|g| g.is_open() != matched).collect();
    let groups = section
        .iter()
        .skip(start)
        .take(count)
        .map(|g| {
            let mut facts = Vec::new();
            if !g.client_reference.is_empty() {
                facts.push(g.client_reference.clone());
            }
            if !g.ssn.is_empty() {
                facts.push(format!("SSN {}", mask_ssn(&g.ssn)));
            }
            if !g.insured_reference.is_empty() {
                facts.push(format!("{} on {}", g.insured_reference, g.case_reference));
            }
            let candidates: Vec<CandidateView> = g
                .candidates
                .iter()
                .map(|c| {
                    let name = if c.label.is_empty() {
                        crm.entries.get(&c.entry).map(|e| e.label()).unwrap_or_default()
                    } else {
                        c.label.clone()
                    };
                    let label = if g.is_open() {
                        format!("{name} — {}% · {}", c.score, c.reasons.join(", "))
                    } else {
                        format!("{name} — matched")
                    };
                    CandidateView { entry: c.entry, label, score: c.score }
                })
                .collect();
            let choice = choices.get(&person_key(g)).copied();
            let chosen_label = match choice {
                Some(GroupChoice::Existing(e)) if !candidates.iter().any(|c| c.entry == e) => {
                    Some(crm.entries.get(&e).map(|e| e.label()).unwrap_or_else(|| format!("entry {e}")))
                }
                _ => None,
            };
            let (kind, reason) = match &g.kind {
                GroupKind::Matched { tier, .. } => (format!("Tier {}", tier.label()), None),
                GroupKind::Unresolved => ("Not matched".to_string(), None),
                GroupKind::Conflict { reason, .. } => ("Conflict".to_string(), Some(reason.clone())),
            };
            GroupView {
                index: g.id,
                key: person_key(g),
                name: g.display_name(),
                kind,
                conflict: g.is_conflict(),
                facts,
                reason,
                sheet_rows: g.rows.iter().map(|r| v.rows[*r].sheet_row).collect(),
                candidates,
                choice: choice_of(choice),
                chosen_label,
                can_create: g.can_create,
                matched: !g.is_open(),
                skip_by_default: g.default_choice() == Some(GroupChoice::Skip),
            }
        })
        .collect();
    GroupsPage { total: section.len(), start, groups }
}

fn bulk_action(action: BulkChoice) -> BulkAction {
    match action {
        BulkChoice::AcceptTopCandidates { min_score } => BulkAction::AcceptTopCandidates { min_score },
        BulkChoice::CreateNewForRemaining => BulkAction::CreateNewForRemaining,
    }
}

/// Who applies, and how.
#[derive(Debug, Clone, Copy)]
pub struct ApplyRequest<'a> {
    pub operator_login: &'a str,
    /// Apply a file applied before without asking again.
    pub again: bool,
    /// Apply only the valid rows of a plan with errors (accounts).
    pub valid_rows_only: bool,
    /// The time recorded in the history.
    pub now_ms: i64,
}

/// A duration for people: two decimals under a second (never "0.0 s"), one above.
fn seconds_text(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}

/// The choices by group index, from the choices by person key.
fn indexed_choices(m: &Matches, choices: &BTreeMap<String, GroupChoice>) -> Vec<Option<GroupChoice>> {
    m.groups.iter().map(|g| choices.get(&person_key(g)).copied()).collect()
}

impl<S: CrmStore> Service<S> {
    fn session_template(&self, workflow: Workflow) -> &'static Template {
        self.session(workflow).borrow().template
    }

    async fn staged_card(&self, workflow: Workflow) -> Result<Option<StagedCard>, Failure> {
        let template = self.session_template(workflow);
        let staged = self.store().get_staged(&slot(workflow, template)).await.map_err(store_failure)?;
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
    pub async fn session_view(&self, workflow: Workflow) -> Result<SessionView, Failure> {
        let staged = if self.session(workflow).borrow().open.is_none() {
            self.staged_card(workflow).await?
        } else {
            None
        };
        Ok(self.session(workflow).borrow().view(staged))
    }

    /// Chooses the template the next file is read as: the insured workflow's template, or the
    /// insurance template a file must be (an empty id: recognised from its headers).
    pub async fn choose_template(
        &self,
        workflow: Workflow,
        template_id: &str,
    ) -> Result<SessionView, Failure> {
        let template = candidates(workflow).into_iter().find(|t| t.id == template_id);
        if template.is_none() && !(template_id.is_empty() && workflow != Workflow::Insured) {
            return Err(format!("There is no template \"{template_id}\"."));
        }
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
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
        workflow: Workflow,
        file_name: &str,
        bytes: Vec<u8>,
        options: SessionOptions,
        remembered: &BTreeMap<String, String>,
        now_ms: i64,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        ticker.tick(&format!("Reading {file_name}"), 0, 1).await?;
        let sheet = read_sheet(file_name, &bytes).map_err(|e| format!("{e} Nothing was staged."))?;
        let chosen = match workflow {
            Workflow::Insured => Some(self.session_template(workflow)),
            _ => self.session(workflow).borrow().chosen,
        };
        let recognised = recognise(&candidates(workflow), chosen, &sheet.header, remembered)
            .map_err(|problem| format!("{file_name}: {problem} Nothing was staged."))?;
        let template = recognised.template;
        let base = Rc::new(export_base_of(template, file_name, &bytes));
        let staged = StagedFile {
            template_id: slot(workflow, template),
            file_name: file_name.to_string(),
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            staged_at_ms: now_ms,
            row_count: sheet.rows.len(),
            bytes,
        };
        self.store().put_staged(&staged).await.map_err(|e| format!("{e} The file was not staged."))?;
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
        workflow: Workflow,
        options: SessionOptions,
        remembered: &BTreeMap<String, String>,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let template = self.session_template(workflow);
        let staged = self
            .store()
            .get_staged(&slot(workflow, template))
            .await
            .map_err(store_failure)?
            .ok_or("No file is staged any more.")?;
        ticker.tick(&format!("Reading {}", staged.file_name), 0, 1).await?;
        let sheet = read_sheet(&staged.file_name, &staged.bytes).map_err(|e| e.to_string())?;
        let chosen = (workflow == Workflow::Insured).then_some(template);
        let recognised = recognise(&candidates(workflow), chosen, &sheet.header, remembered)
            .map_err(|problem| format!("{}: {problem}", staged.file_name))?;
        let base = Rc::new(export_base_of(recognised.template, &staged.file_name, &staged.bytes));
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
        workflow: Workflow,
        template: &'static Template,
        file: FileInfo,
        sheet: Sheet,
        mapping: HeaderMapping,
        options: SessionOptions,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let ready = mapping.is_usable() && !mapping.needs_confirmation();
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            s.bump();
            s.template = template;
            s.open = Some(OpenFile {
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
    pub async fn discard(&self, workflow: Workflow) -> Result<SessionView, Failure> {
        let template = self.session_template(workflow);
        self.store().delete_staged(&slot(workflow, template)).await.map_err(store_failure)?;
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            s.bump();
            s.open = None;
        }
        self.session_view(workflow).await
    }

    /// Closes the file; a staged copy stays staged.
    pub async fn close(&self, workflow: Workflow) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            s.bump();
            s.open = None;
        }
        self.session_view(workflow).await
    }

    /// Maps one template column to a file column (a file column feeds one template column).
    pub async fn set_column(
        &self,
        workflow: Workflow,
        template_col: usize,
        file_col: Option<usize>,
    ) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or("No file is open.")?;
            let template = open.template;
            if template_col >= template.columns.len() {
                return Err("That column is not in the template.".into());
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
        workflow: Workflow,
        ticker: &impl Ticker,
    ) -> Result<(SessionView, Vec<(String, String)>), Failure> {
        let remember = {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or("No file is open.")?;
            if !open.mapping.is_usable() {
                return Err(format!(
                    "Required column(s) missing: {}. Map them or fix the file.",
                    open.mapping.missing_required.join(", ")
                ));
            }
            open.mapping.confirm();
            open.mapping.to_remember(open.template)
        };
        let view = self.validate(workflow, ticker).await?;
        Ok((view, remember))
    }

    /// Validates every row (in slices, with progress), then moves on: to Review for a file
    /// whose people are matched, straight to the plan otherwise.
    async fn validate(&self, workflow: Workflow, ticker: &impl Ticker) -> Result<SessionView, Failure> {
        let (epoch, open) = {
            let session = self.session(workflow);
            let s = session.borrow();
            (s.epoch, s.open.clone().ok_or("No file is open.")?)
        };
        let stored = self.current().await?;
        let validated = validate_rows(&stored.crm, &open, ticker).await?;
        let basis = stored.sequence;
        drop(stored);
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            if s.epoch != epoch {
                return Err("The file was changed meanwhile; nothing was validated.".into());
            }
            let current = s.open.as_mut().ok_or("No file is open.")?;
            current.validated = Some(Rc::new(validated));
            current.basis = basis;
            current.matches = None;
            current.planned = None;
            current.stage = Stage::Review;
        }
        if matches_people(open.template) {
            self.session_view(workflow).await
        } else {
            self.plan(workflow, None, ticker).await
        }
    }

    /// A page of the review table.
    pub fn review_rows(
        &self,
        workflow: Workflow,
        start: usize,
        count: usize,
        only_problems: bool,
    ) -> Result<RowsPage, Failure> {
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let v = open.validated.as_ref().ok_or("The file is not validated yet.")?;
        Ok(review_rows(open, v, start, count.min(500), only_problems))
    }

    /// The error report of the open file.
    pub fn error_report(&self, workflow: Workflow) -> Result<Download, Failure> {
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let v = open.validated.as_ref().ok_or("The file is not validated yet.")?;
        let name = format!("{}-errors.xlsx", file_stem(&open.file.name));
        // Once planned, the report adds the plan's own issues (rules that need the CRM).
        let bytes = match &open.planned {
            Some(p) => write_plan_error_report(open.template, v, &p.plan),
            None => write_error_report(open.template, v),
        }
        .map_err(|e| format!("{name} could not be written: {e}"))?;
        Ok(Download::xlsx(name, bytes))
    }

    /// Matches the rows to the CRM (in slices, with progress): detected persons go to Resolve;
    /// a file without any goes straight to the plan.
    pub async fn match_rows(&self, workflow: Workflow, ticker: &impl Ticker) -> Result<SessionView, Failure> {
        let (epoch, open) = {
            let session = self.session(workflow);
            let s = session.borrow();
            (s.epoch, s.open.clone().ok_or("No file is open.")?)
        };
        let validated = open.validated.clone().ok_or("The file is not validated yet.")?;
        let stored = self.current().await?;
        let matches = match_rows(&stored.crm, open.template, &validated, &open.file.base, ticker).await?;
        drop(stored);
        let has_groups = matches.open_groups().next().is_some();
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            if s.epoch != epoch {
                return Err("The file was changed meanwhile; nothing was matched.".into());
            }
            let current = s.open.as_mut().ok_or("No file is open.")?;
            current.matches = Some(Rc::new(matches));
            current.planned = None;
            current.stage = Stage::Resolve;
        }
        if has_groups {
            self.session_view(workflow).await
        } else {
            self.plan(workflow, None, ticker).await
        }
    }

    /// A page of detected persons.
    pub async fn groups(
        &self,
        workflow: Workflow,
        start: usize,
        count: usize,
        matched: bool,
    ) -> Result<GroupsPage, Failure> {
        let stored = self.current().await?;
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let m = open.matches.as_ref().ok_or("The rows are not matched yet.")?;
        let v = open.validated.as_ref().ok_or("The file is not validated yet.")?;
        Ok(groups_page(&stored.crm, m, v, &open.choices, (start, count.min(200), matched)))
    }

    /// What a bulk choice would set: persons, persons whose outcome changes, their rows.
    pub fn bulk_preview(
        &self,
        workflow: Workflow,
        action: BulkChoice,
    ) -> Result<(usize, usize, usize), Failure> {
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let m = open.matches.as_ref().ok_or("The rows are not matched yet.")?;
        let p = m.bulk_preview(&indexed_choices(m, &open.choices), bulk_action(action));
        Ok((p.groups, p.changes, p.rows))
    }

    /// Sets a bulk choice on every person it applies to (persons the operator decided keep
    /// their choice).
    pub async fn bulk_apply(&self, workflow: Workflow, action: BulkChoice) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or("No file is open.")?;
            let m = open.matches.clone().ok_or("The rows are not matched yet.")?;
            let mut choices = indexed_choices(&m, &open.choices);
            m.apply_bulk(&mut choices, bulk_action(action));
            open.choices = m.choices_by_key(&choices);
            open.planned = None;
            open.stage = Stage::Resolve;
        }
        self.session_view(workflow).await
    }

    /// The operator's choice for one detected person.
    pub async fn choose(
        &self,
        workflow: Workflow,
        group: usize,
        choice: Choice,
    ) -> Result<SessionView, Failure> {
        let exists = match choice {
            Choice::Existing(e) => Some(e),
            _ => None,
        };
        if let Some(e) = exists {
            let stored = self.current().await?;
            if !stored.crm.entries.contains_key(&e) {
                return Err(format!("CRM entry {e} no longer exists; choose another."));
            }
        }
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            let open = s.open.as_mut().ok_or("No file is open.")?;
            let m = open.matches.clone().ok_or("The rows are not matched yet.")?;
            let g = m.groups.get(group).ok_or("That detected person is not in the file.")?;
            let key = person_key(g);
            match choice {
                Choice::Default => {
                    open.choices.remove(&key);
                }
                Choice::CreateNew => {
                    open.choices.insert(key, GroupChoice::CreateNew);
                }
                Choice::Existing(e) => {
                    open.choices.insert(key, GroupChoice::Existing(e));
                }
                Choice::Skip => {
                    open.choices.insert(key, GroupChoice::Skip);
                }
            }
            open.planned = None;
            open.stage = Stage::Resolve;
        }
        self.session_view(workflow).await
    }

    /// The operator's choices from a choices file (detected person key → choice), as
    /// [`Service::choose`] would set them one by one; returns the keys this file has no person
    /// for (the file or the CRM changed), which are not applied. A choice a person cannot take
    /// (an entry that does not exist, a new entry for a person without names) refuses the
    /// whole file and changes nothing.
    pub async fn choose_by_keys(
        &self,
        workflow: Workflow,
        keyed: &KeyedChoices,
    ) -> Result<Vec<String>, Failure> {
        let stored = self.current().await?;
        let session = self.session(workflow);
        let mut s = session.borrow_mut();
        let open = s.open.as_mut().ok_or("No file is open.")?;
        let m = open.matches.clone().ok_or("The rows are not matched yet.")?;
        let (choices, unknown) = m.choices_from_keys(keyed);
        for (g, choice) in m.groups.iter().zip(&choices) {
            match choice {
                Some(GroupChoice::Existing(e)) if !stored.crm.entries.contains_key(e) => {
                    return Err(format!("CRM entry {e} (chosen for {}) does not exist.", person_key(g)));
                }
                Some(c) if !g.allows(*c) => {
                    return Err(format!(
                        "{} has no names, so no new CRM entry can be created for it; choose an entry or skip.",
                        person_key(g)
                    ));
                }
                _ => {}
            }
        }
        for (key, choice) in m.choices_by_key(&choices) {
            open.choices.insert(key, choice);
        }
        open.planned = None;
        open.stage = Stage::Resolve;
        Ok(unknown)
    }

    /// Plans the import on the current CRM. After the CRM changed (a stale plan), the rows are
    /// validated and matched again first; the operator's choices are kept where they apply.
    pub async fn plan(
        &self,
        workflow: Workflow,
        options: Option<SessionOptions>,
        ticker: &impl Ticker,
    ) -> Result<SessionView, Failure> {
        let (epoch, mut open) = {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            let epoch = s.epoch;
            let open = s.open.as_mut().ok_or("No file is open.")?;
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
            if matches_people(open.template) {
                let v = open.validated.clone().ok_or("The file is not validated yet.")?;
                open.matches =
                    Some(Rc::new(match_rows(&stored.crm, open.template, &v, &open.file.base, ticker).await?));
            }
            open.basis = stored.sequence;
        }
        let validated = open.validated.clone().ok_or("The file is not validated yet.")?;
        ticker.tick("Planning the changes (nothing is written)", 0, 1).await?;
        let plan = match &open.matches {
            Some(m) if matches_people(open.template) => {
                let choices = indexed_choices(m, &open.choices);
                let take_file = if open.options.take_file_values { TakeFile::All } else { TakeFile::None };
                plan_with_base(
                    &stored.crm,
                    open.template,
                    &validated,
                    m,
                    &choices,
                    &open.file.base,
                    &take_file,
                )
            }
            _ if open.template.apply == ApplyRule::OverwriteInsurance => {
                let options =
                    insurance::InsuranceOptions { clear_empty_cells: open.options.clear_empty_cells };
                insurance::plan::plan(&stored.crm, open.template, &validated, options)
            }
            _ => plan_file(&stored.crm, open.template, &validated),
        };
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
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            if s.epoch != epoch {
                return Err("The file was changed meanwhile; nothing was planned.".into());
            }
            let current = s.open.as_mut().ok_or("No file is open.")?;
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
        workflow: Workflow,
        start: usize,
        count: usize,
        only_changes: bool,
    ) -> Result<RowsPage, Failure> {
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let p = open.planned.as_ref().ok_or("There is no plan yet.")?;
        Ok(plan_rows(open, &p.plan, start, count.min(500), only_changes))
    }

    /// The plan report of the open file.
    pub async fn plan_report(&self, workflow: Workflow) -> Result<Download, Failure> {
        let stored = self.current().await?;
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let p = open.planned.as_ref().ok_or("There is no plan yet.")?;
        let v = open.validated.as_ref().ok_or("The file is not validated yet.")?;
        let name = format!("{}-plan.xlsx", file_stem(&open.file.name));
        let bytes = write_plan_report(&stored.crm, v, open.matches.as_deref(), &p.plan)
            .map_err(|e| format!("{name} could not be written: {e}"))?;
        Ok(Download::xlsx(name, bytes))
    }

    /// Applies the plan in one checked commit. A file applied before asks first (unless
    /// `again`); a stale plan is refused (plan again).
    pub async fn apply(
        &self,
        workflow: Workflow,
        request: ApplyRequest<'_>,
        started_ms: f64,
        clock_ms: impl Fn() -> f64,
        ticker: &impl Ticker,
    ) -> Result<ApplyOutcome, Failure> {
        let ApplyRequest { operator_login, again, valid_rows_only, now_ms } = request;
        let (epoch, open) = {
            let session = self.session(workflow);
            let s = session.borrow();
            (s.epoch, s.open.clone().ok_or("No file is open.")?)
        };
        let planned = open.planned.clone().ok_or("There is no plan yet.")?;
        let plan = &planned.plan;
        if let Some(why) = &planned.stale {
            return Err(why.clone());
        }
        if plan.pending_conflicts > 0 {
            return Err(format!(
                "{} conflict(s) are not settled. Go back and choose an entry (or skip) for each.",
                plan.pending_conflicts
            ));
        }
        // The insured and insurance workflows leave rows with errors out and list them; an
        // accounts file with errors applies only when the operator chooses its valid rows.
        let valid_only = valid_rows_only || workflow != Workflow::Accounts;
        if plan.has_errors() && !valid_only {
            return Err(format!(
                "{} row(s) have errors. Fix the file, or choose to apply only the valid rows.",
                plan.counts.errors
            ));
        }
        let stored = self.current().await?;
        if stored.sequence != planned.base {
            drop(stored);
            self.crm_changed(ChangeCause::AnotherTab).await;
            return Err(
                "The CRM changed since this plan was made. Plan again to apply it to the current CRM; your \
                        choices are kept."
                    .into(),
            );
        }
        if !again {
            if let Some(r) = last_import_of_file(&stored.crm, &open.file.sha256) {
                let (done, again) = if workflow == Workflow::Insurance {
                    ("processed", "Process")
                } else {
                    ("applied", "Apply")
                };
                return Ok(ApplyOutcome::AskFirst(format!(
                    "This exact file (same SHA-256) was already {done} as import #{} ({}). {again} it again? Records \
                     that already hold its values stay unchanged.",
                    r.id, r.file_name
                )));
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
        let committed = self.commit(&batch).await.map_err(|e| format!("The import was not applied: {e}"))?;
        let import_id = committed.import_id().unwrap_or(record.id);
        let _ = self.store().delete_staged(&slot(workflow, open.template)).await;
        let after = self.current().await?;
        let validated = open.validated.clone().ok_or("The file is not validated yet.")?;
        let sample = verification_sample(&after.crm, open.template, &validated, plan, &open.file.sha256);
        let portfolios = affected_portfolios(&after, plan);
        drop(after);
        let counts = plan.counts;
        let seconds = (clock_ms() - started_ms) / 1000.0;
        let message = match workflow {
            Workflow::Insured => format!(
                "Import #{import_id} applied: {} created, {} updated, {} added, {} unchanged, {} skipped.",
                counts.created, counts.updated, counts.added, counts.unchanged, counts.skipped
            ),
            Workflow::Insurance => format!(
                "Import #{import_id} processed in {}: {} updated, {} unchanged, {} skipped, {} invalid.",
                seconds_text(seconds),
                counts.updated,
                counts.unchanged,
                counts.skipped,
                counts.errors
            ),
            Workflow::Accounts => {
                let (cc, cu) = plan.contacts();
                format!(
                    "Import #{import_id} of {}: {} created, {} updated, {} unchanged, {cc} contacts created, {cu} \
                     contacts updated{}.",
                    open.file.name,
                    counts.created,
                    counts.updated,
                    counts.unchanged,
                    if counts.errors > 0 { format!(", {} rows with errors not applied", counts.errors) } else { String::new() }
                )
            }
        };
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
            let session = self.session(workflow);
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
    pub fn results_report(&self, workflow: Workflow) -> Result<Download, Failure> {
        let session = self.session(workflow);
        let s = session.borrow();
        let open = s.open.as_ref().ok_or("No file is open.")?;
        let p = open.planned.as_ref().ok_or("There is no plan yet.")?;
        let name = format!("{}-skipped-and-invalid.xlsx", file_stem(&open.file.name));
        let bytes = insurance::report::write_insurance_results_report(open.template, &p.plan)
            .map_err(|e| format!("{name} could not be written: {e}"))?;
        Ok(Download::xlsx(name, bytes))
    }

    /// One stage back, keeping what was done.
    pub async fn back(&self, workflow: Workflow) -> Result<SessionView, Failure> {
        {
            let session = self.session(workflow);
            let mut s = session.borrow_mut();
            s.bump();
            let Some(open) = s.open.as_mut() else { return Err("No file is open.".into()) };
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
                    _ if matches_people(open.template) => {
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

/// What applying did.
#[derive(Debug, Clone, PartialEq)]
// One value per apply, moved once: boxing the view would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ApplyOutcome {
    Applied(SessionView),
    AskFirst(String),
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

/// The export base a file carries, for the templates whose rows merge three ways (the
/// insured contact details); `Absent` for the others.
fn export_base_of(template: &Template, file_name: &str, bytes: &[u8]) -> ExportBaseRead {
    if template.apply == ApplyRule::UpsertContactDetail {
        read_export_base(file_name, bytes)
    } else {
        ExportBaseRead::Absent
    }
}

/// Runs the cascade, groups what it leaves open and ranks candidates, in slices.
async fn match_rows(
    crm: &Crm,
    template: &'static Template,
    validated: &Validated,
    base: &ExportBaseRead,
    ticker: &impl Ticker,
) -> Result<Matches, Failure> {
    let index = CrmIndex::new(crm);
    ticker.tick("Preparing the matcher", 0, 1).await?;
    let matcher = Matcher::new(template, &index).with_base(base.base());
    let total = validated.rows.len();
    let mut outcomes = Vec::with_capacity(total);
    let mut notes = Vec::new();
    for (n, chunk) in validated.rows.chunks(CHUNK).enumerate() {
        ticker.tick("Matching rows", n * CHUNK, total).await?;
        for r in chunk {
            let (o, note) = matcher.row(r);
            outcomes.push(o);
            notes.extend(note);
        }
    }
    ticker.tick("Grouping unmatched rows into detected persons", total, total).await?;
    let mut matches = matcher.group(&validated.rows, outcomes, notes);
    let groups = matches.groups.len();
    for start in (0..groups).step_by(RANK_CHUNK) {
        ticker.tick("Ranking candidates for each detected person", start, groups).await?;
        for g in start..(start + RANK_CHUNK).min(groups) {
            matches.groups[g].candidates = matcher.candidates_for(&matches.groups[g], &validated.rows);
        }
    }
    Ok(matches)
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
