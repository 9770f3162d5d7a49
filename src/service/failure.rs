//! Why an operation failed, as typed values made where the fact is known: [`Failure`] for
//! every operation of the service, with the refusals of each domain ([`FileProblem`] for a
//! file that cannot be staged or opened, [`SessionRefusal`] for a step of an import,
//! [`CrmRefusal`] for the CRM as a whole) and the core's own ([`StoreError`], [`Staleness`],
//! [`ApplyRefusal`], [`ExportError`], [`SnapshotError`]). Each renders once, by its `Display`:
//! the worker sends that text to the page, the command line prints it, so both read the same
//! words.

use crate::core::headers::HeaderProblem;
use crate::core::plan::history::ApplyRefusal;
use crate::core::read::ReadError;
use crate::core::revision::Staleness;
use crate::core::snapshot::SnapshotError;
use crate::core::validate::ValidationRefused;
use crate::core::workflow::WorkflowId;
use crate::core::xlsx::ExportError;
use crate::protocol::messages::{CrmUnchanged, NotStaged};
use crate::store::StoreError;

/// Why an operation failed, as the operator reads it.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The page cancelled the work.
    #[error("Cancelled. Nothing was written.")]
    Cancelled,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A commit was refused: what it was planned on moved.
    #[error("{0}")]
    Stale(Staleness),
    /// The stored copy could not be read; only a whole new CRM may be written.
    #[error(
        "The local CRM is open read-only because it could not be read ({0}). Load a snapshot or the demo CRM \
         on the CRM data page to replace it; nothing else can be written."
    )]
    ReadOnly(String),
    /// A file could not be staged.
    #[error("{0}")]
    NotStaged(NotStaged<FileProblem>),
    /// A staged file could not be opened again (it stays staged).
    #[error(transparent)]
    NotOpened(FileProblem),
    /// A snapshot could not be read or loaded.
    #[error("{0}")]
    CrmUnchanged(CrmUnchanged<Box<Failure>>),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// A workbook could not be written: "The export", "plan.xlsx".
    #[error("{what} could not be written: {source}")]
    NotWritten { what: String, source: ExportError },
    /// An apply's commit failed.
    #[error("The import was not applied: {0}")]
    NotApplied(Box<Failure>),
    /// The PII ledger could not record a Reveal or a file with full SSNs, so neither was
    /// given.
    #[error("Nothing was shown or given: the PII ledger could not record it ({0}).")]
    NotRecorded(Box<Failure>),
    /// An undo's commit failed.
    #[error("The undo could not be written: {0}")]
    UndoNotWritten(Box<Failure>),
    #[error(transparent)]
    Apply(#[from] ApplyRefusal),
    #[error(transparent)]
    Session(#[from] SessionRefusal),
    #[error(transparent)]
    Crm(#[from] CrmRefusal),
    /// No random source could make the CRM's digest secret.
    #[error("No random source is available to make the CRM's digest secret ({0}); nothing was written.")]
    NoRandomSource(String),
    /// A file too large to validate within the memory a validation may hold.
    #[error(transparent)]
    TooLarge(#[from] ValidationRefused),
}

impl Failure {
    /// `source` could not be written as `what` ("The export", a file name).
    pub fn not_written(what: impl Into<String>) -> impl FnOnce(ExportError) -> Failure {
        let what = what.into();
        move |source| Failure::NotWritten { what, source }
    }
}

impl From<NotYet> for Failure {
    fn from(not_yet: NotYet) -> Failure {
        Failure::Session(SessionRefusal::NotYet(not_yet))
    }
}

impl From<super::Cancelled> for Failure {
    fn from(_: super::Cancelled) -> Failure {
        Failure::Cancelled
    }
}

/// Why a file cannot be staged or opened.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    #[error(transparent)]
    Unreadable(#[from] ReadError),
    /// Its headers are no template's, or another template's.
    #[error("{file}: {problem}")]
    Headers { file: String, problem: HeaderProblem },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("The file's bytes did not arrive.")]
    BytesMissing,
}

/// What an import's step needs that the session does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotYet {
    #[error("No file is open.")]
    Open,
    #[error("The file is not validated yet.")]
    Validated,
    #[error("The rows are not matched yet.")]
    Matched,
    #[error("There is no plan yet.")]
    Planned,
    #[error("The import is not applied yet.")]
    Applied,
}

/// Why a step of an import was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionRefusal {
    /// The session is not at a stage where the step makes sense.
    #[error(transparent)]
    NotYet(#[from] NotYet),
    #[error("There is no workflow \"{0}\".")]
    NoSuchWorkflow(WorkflowId),
    #[error("There is no template \"{0}\".")]
    NoSuchTemplate(String),
    #[error("That column is not in the template.")]
    NoSuchColumn,
    #[error("Required column(s) missing: {}. Map them or fix the file.", .0.join(", "))]
    MissingColumns(Vec<String>),
    /// A step that ran long found the session moved by another step meanwhile.
    #[error("The file was changed meanwhile; nothing was {0}.")]
    ChangedMeanwhile(&'static str),
    #[error("No file is staged any more.")]
    NothingStaged,
    #[error("That detected person is not in the file.")]
    NoSuchPerson,
    #[error("CRM entry {0} no longer exists; choose another.")]
    EntryGone(u32),
    #[error("CRM entry {entry} (chosen for {person}) does not exist.")]
    ChosenEntryMissing { entry: u32, person: String },
    #[error("{0} has no names, so no new CRM entry can be created for it; choose an entry or skip.")]
    CannotCreate(String),
    #[error("{0} row(s) have errors. Fix the file, or choose to apply only the valid rows.")]
    ErrorsNeedConsent(usize),
    #[error("This import has no results report.")]
    NoResultsReport,
}

/// Why an operation on the CRM as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmRefusal {
    #[error("The local CRM is not open yet.")]
    NotOpen,
    #[error("The CRM is already open.")]
    AlreadyOpen,
    #[error("The snapshot's bytes did not arrive.")]
    SnapshotBytesMissing,
    #[error("No snapshot is waiting to be loaded; choose the file again.")]
    NoSnapshotWaiting,
    #[error("That portfolio no longer exists.")]
    PortfolioGone,
    #[error("Give the temporary portfolio a name.")]
    PortfolioUnnamed,
    #[error("Choose at least one case for the temporary portfolio.")]
    NoCasesChosen,
    #[error("Case {0} no longer exists; choose the cases again.")]
    CaseGone(u32),
    #[error("\"{0}\" is not a temporary portfolio; only temporary ones can be deleted.")]
    NotTemporary(String),
    #[error(
        "Import #{asked} is no longer the most recent one (import #{last} is); look at the history again."
    )]
    NotMostRecent { asked: u32, last: u32 },
    #[error(
        "Import #{import_id} cannot be undone: records it wrote were changed after it ({changed}). Undo \
         restores all of an import or nothing, so nothing was changed."
    )]
    UndoBlocked { import_id: u32, changed: String },
    #[error("This entry has no SSN.")]
    NoSsn,
}
