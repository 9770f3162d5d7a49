//! A workflow's session: the file being imported and where it stands. Every workflow walks
//! the same stages — stage the file (it survives a reload), recognise its headers (confirm a
//! suggested mapping when the template's policy asks), validate, match and let the operator
//! resolve (when the workflow resolves persons), plan, apply, verify — and its [`Workflow`]
//! decides which of them it needs.
//!
//! The stages are types. [`Stage`] is one of [`Staged`] → [`Reviewed`] → [`Matched`] →
//! [`Planned`] → [`Done`], and each holds the one before it: a step reaches what it needs
//! through one accessor ([`Stage::staged`], [`Stage::reviewed`], [`Stage::matched`],
//! [`Stage::planned`]) that either hands it over or refuses with one typed refusal
//! ([`NotYet`]), and moves the session on by consuming its stage into the next. The page gets
//! views of the stage ([`SessionView`]) and asks for pages of rows.
//!
//! A plan remembers the store's sequence number it was made at. When the CRM changes (a commit
//! here, in another workflow, or in another tab), the plan is marked stale and apply is
//! refused until the operator plans again on the current CRM, keeping every choice that still
//! applies.

mod apply;
mod open;
mod resolve;
mod views;

use std::cell::RefCell;
use std::rc::Rc;

use crate::core::headers::HeaderMapping;
use crate::core::insured::base::ExportBaseRead;
use crate::core::insured::matching::{GroupChoice, KeyedChoices, Matches};
use crate::core::plan::ImportPlan;
use crate::core::revision::{Revision, Staleness};
use crate::core::sheet::Sheet;
use crate::core::template::Template;
use crate::core::validate::Validated;
use crate::core::workflow::{ImportOptions, Workflow, WorkflowId};
use crate::protocol::{ChangeCause, DoneView, SessionView, StagedCard};
use crate::store::CrmStore;

use super::failure::NotYet;
use super::{Failure, Service};

/// Rows handled between two ticks.
const CHUNK: usize = 1_000;
/// Detected persons ranked between two ticks.
const RANK_CHUNK: usize = 50;

/// A file as staged.
#[derive(Debug, Clone)]
struct FileInfo {
    name: String,
    size: u64,
    sha256: String,
    staged_at_ms: i64,
    warnings: Vec<String>,
    /// What the file carries of the export it was made from.
    base: Rc<ExportBaseRead>,
}

/// A staged file, read and recognised: its mapping waits for the operator when it holds
/// suggestions.
#[derive(Debug, Clone)]
struct Staged {
    template: &'static Template,
    file: FileInfo,
    sheet: Rc<Sheet>,
    mapping: HeaderMapping,
    options: ImportOptions,
    /// The operator's choice per detected person, by the person's key: kept while the file
    /// is open, across validating, matching and planning again.
    choices: KeyedChoices,
}

/// A validated file (the Review step).
#[derive(Debug, Clone)]
struct Reviewed {
    staged: Staged,
    validated: Rc<Validated>,
    /// The CRM sequence it was validated on: planning on a CRM that moved since validates
    /// (and matches) again first.
    basis: Revision,
}

/// A file whose rows are matched to persons (the Resolve step).
#[derive(Debug, Clone)]
struct Matched {
    reviewed: Reviewed,
    matches: Rc<Matches>,
}

impl Matched {
    /// The choices by group index, from the choices by person key.
    fn indexed_choices(&self) -> Vec<Option<GroupChoice>> {
        let choices = &self.reviewed.staged.choices;
        self.matches.groups.iter().map(|g| choices.get(&g.key).copied()).collect()
    }
}

/// What a plan was made from: the validated file, or its matched persons.
#[derive(Debug, Clone)]
enum Basis {
    Reviewed(Reviewed),
    Matched(Matched),
}

impl Basis {
    fn reviewed(&self) -> &Reviewed {
        match self {
            Basis::Reviewed(r) => r,
            Basis::Matched(m) => &m.reviewed,
        }
    }

    fn matched(&self) -> Option<&Matched> {
        match self {
            Basis::Reviewed(_) => None,
            Basis::Matched(m) => Some(m),
        }
    }
}

/// A plan (the dry run) and the CRM state it was made on.
#[derive(Debug, Clone)]
struct Planned {
    basis: Basis,
    plan: Rc<ImportPlan>,
    /// The store's sequence number the plan was made at.
    made_at: Revision,
    /// Why the plan can no longer be applied as it is.
    stale: Option<Staleness>,
    /// The insured links the plan changes, as the operator reads them.
    relinks: Vec<String>,
}

/// An applied import (the Verify step).
#[derive(Debug, Clone)]
struct Done {
    planned: Planned,
    view: DoneView,
}

/// Where a session stands.
#[derive(Debug, Clone, Default)]
enum Stage {
    /// No file open: the upload step.
    #[default]
    Closed,
    Staged(Staged),
    Reviewed(Reviewed),
    Matched(Matched),
    Planned(Planned),
    Done(Box<Done>),
}

impl Stage {
    /// The open file: every stage but [`Stage::Closed`].
    fn staged(&self) -> Result<&Staged, NotYet> {
        match self {
            Stage::Closed => Err(NotYet::Open),
            Stage::Staged(s) => Ok(s),
            _ => Ok(&self.reviewed()?.staged),
        }
    }

    /// The validated file: Review and every stage after it.
    fn reviewed(&self) -> Result<&Reviewed, NotYet> {
        match self {
            Stage::Closed => Err(NotYet::Open),
            Stage::Staged(_) => Err(NotYet::Validated),
            Stage::Reviewed(r) => Ok(r),
            Stage::Matched(m) => Ok(&m.reviewed),
            Stage::Planned(p) => Ok(p.basis.reviewed()),
            Stage::Done(d) => Ok(d.planned.basis.reviewed()),
        }
    }

    /// The matched persons: Resolve, and a plan made from them.
    fn matched(&self) -> Result<&Matched, NotYet> {
        let basis = match self {
            Stage::Matched(m) => return Ok(m),
            Stage::Planned(p) => &p.basis,
            Stage::Done(d) => &d.planned.basis,
            _ => return Err(self.reviewed().err().unwrap_or(NotYet::Matched)),
        };
        basis.matched().ok_or(NotYet::Matched)
    }

    /// The plan: Plan and Done.
    fn planned(&self) -> Result<&Planned, NotYet> {
        match self {
            Stage::Planned(p) => Ok(p),
            Stage::Done(d) => Ok(&d.planned),
            _ => Err(self.reviewed().err().unwrap_or(NotYet::Planned)),
        }
    }

    /// The open file with the operator's decisions, to change them (`None` when closed).
    fn staged_mut(&mut self) -> Option<&mut Staged> {
        match self {
            Stage::Closed => None,
            Stage::Staged(s) => Some(s),
            Stage::Reviewed(r) => Some(&mut r.staged),
            Stage::Matched(m) => Some(&mut m.reviewed.staged),
            Stage::Planned(p) => Some(match &mut p.basis {
                Basis::Reviewed(r) => &mut r.staged,
                Basis::Matched(m) => &mut m.reviewed.staged,
            }),
            Stage::Done(d) => Some(match &mut d.planned.basis {
                Basis::Reviewed(r) => &mut r.staged,
                Basis::Matched(m) => &mut m.reviewed.staged,
            }),
        }
    }

    /// The stage with only the open file left: its mapping to confirm again.
    fn into_staged(self) -> Option<Staged> {
        match self {
            Stage::Closed => None,
            Stage::Staged(s) => Some(s),
            Stage::Reviewed(r) => Some(r.staged),
            Stage::Matched(m) => Some(m.reviewed.staged),
            Stage::Planned(p) => Some(match p.basis {
                Basis::Reviewed(r) => r.staged,
                Basis::Matched(m) => m.reviewed.staged,
            }),
            Stage::Done(d) => Some(match d.planned.basis {
                Basis::Reviewed(r) => r.staged,
                Basis::Matched(m) => m.reviewed.staged,
            }),
        }
    }

    /// The stage back at the matched persons (Resolve) when it has them; otherwise the same.
    fn back_to_matched(self) -> Stage {
        match self {
            Stage::Planned(Planned { basis: Basis::Matched(m), .. }) => Stage::Matched(m),
            Stage::Done(done) => {
                let Done { planned, view } = *done;
                match planned.basis {
                    Basis::Matched(m) => Stage::Matched(m),
                    basis => Stage::Done(Box::new(Done { planned: Planned { basis, ..planned }, view })),
                }
            }
            other => other,
        }
    }
}

/// One workflow's session.
#[derive(Debug)]
pub struct Session {
    workflow: &'static dyn Workflow,
    /// The template a file is read as: always the chosen one for a workflow that names its
    /// template, the one the operator named otherwise; `None` = recognise it.
    chosen: Option<&'static Template>,
    /// The template the upload step shows: the chosen one, or the one the last file was
    /// recognised as.
    template: &'static Template,
    stage: Stage,
    /// Bumped by every change of stage, so a long task that finds it moved discards its result.
    epoch: u64,
}

impl Session {
    /// A session with nothing open.
    pub fn new(workflow: &'static dyn Workflow) -> Session {
        let first = workflow.templates()[0];
        let chosen = workflow.names_template().then_some(first);
        Session { workflow, chosen, template: first, stage: Stage::Closed, epoch: 0 }
    }

    /// The CRM moved to `sequence`: an open plan made before is stale.
    pub fn crm_moved(&mut self, sequence: Revision, cause: ChangeCause) {
        if let Stage::Planned(p) = &mut self.stage {
            if p.made_at < sequence && p.stale.is_none() {
                p.stale = Some(Staleness::moved(cause == ChangeCause::AnotherTab));
            }
        }
    }

    /// Commits from `from` to `to` wrote only PII ledger entries, which no plan reads: a plan
    /// made on `from` is as current on `to`.
    pub fn ledger_written(&mut self, from: Revision, to: Revision) {
        if let Stage::Planned(p) = &mut self.stage {
            if p.made_at == from && p.stale.is_none() {
                p.made_at = to;
            }
        }
    }

    /// Moves to `stage`; a long task begun before will find the session moved.
    fn set(&mut self, stage: Stage) {
        self.epoch += 1;
        self.stage = stage;
    }

    /// Moves on from the current stage with `next`, which consumes it.
    fn advance(&mut self, next: impl FnOnce(Stage) -> Stage) {
        let current = std::mem::take(&mut self.stage);
        self.set(next(current));
    }

    /// The page's view of where the session stands.
    fn view(&self, staged: Option<StagedCard>) -> SessionView {
        views::session_view(self, staged)
    }
}

impl<S: CrmStore> Service<S> {
    /// The session of a workflow, created on first use.
    pub(crate) fn session(&self, id: WorkflowId) -> Result<Rc<RefCell<Session>>, Failure> {
        let workflow = self.workflow(id)?;
        Ok(Rc::clone(
            self.sessions
                .borrow_mut()
                .entry(id)
                .or_insert_with(|| Rc::new(RefCell::new(Session::new(workflow)))),
        ))
    }

    /// Reads a workflow's session.
    fn read_session<R>(
        &self,
        id: WorkflowId,
        read: impl FnOnce(&Session) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        let session = self.session(id)?;
        let s = session.borrow();
        read(&s)
    }

    /// Changes a workflow's session.
    fn change_session<R>(
        &self,
        id: WorkflowId,
        change: impl FnOnce(&mut Session) -> Result<R, Failure>,
    ) -> Result<R, Failure> {
        let session = self.session(id)?;
        let mut s = session.borrow_mut();
        change(&mut s)
    }

    /// Moves a session on after long work begun at `epoch`; refused (nothing done) when
    /// another step moved it meanwhile.
    fn finish(
        &self,
        id: WorkflowId,
        epoch: u64,
        what: &'static str,
        next: impl FnOnce(Stage) -> Stage,
    ) -> Result<(), Failure> {
        self.change_session(id, |s| {
            if s.epoch != epoch {
                return Err(super::failure::SessionRefusal::ChangedMeanwhile(what).into());
            }
            s.advance(next);
            Ok(())
        })
    }

    /// The file staged for the session's template, as a card for the upload step.
    async fn staged_card(&self, id: WorkflowId) -> Result<Option<StagedCard>, Failure> {
        let slot = self.read_session(id, |s| Ok(s.workflow.staging_slot(s.template)))?;
        let staged = self.store().get_staged(&slot).await?;
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
    async fn session_view(&self, id: WorkflowId) -> Result<SessionView, Failure> {
        let closed = self.read_session(id, |s| Ok(matches!(s.stage, Stage::Closed)))?;
        let staged = if closed { self.staged_card(id).await? } else { None };
        self.read_session(id, |s| Ok(s.view(staged)))
    }
}
