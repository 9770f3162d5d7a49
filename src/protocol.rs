//! The messages between the page and the pipeline worker: one enum each way, serde, no
//! browser types. The worker owns the CRM copy, the store and every workflow's session; the
//! page holds views — the rows it shows, counts, the current stage — and asks for pages of
//! results, search results and entry details. Both binaries are built from this crate, so
//! both sides compile against these exact types.
//!
//! A call is `ToWorker::Call { id, request }`; the worker answers `FromWorker::Reply { id,
//! reply }`, sending `FromWorker::Progress { id, .. }` while it works. File bytes (an upload, a
//! snapshot) and downloads travel beside the JSON as a transferred `ArrayBuffer`: a request
//! whose doc says "+ bytes" carries them, a reply `Reply::File` is followed by them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::accounts::profiles::{AccountFilters, ExportProfile};
use crate::core::model::{ImportCounts, Role};
use crate::core::plan::verify::VerificationSample;
use crate::core::revision::Staleness;
pub use crate::core::workflow::{ImportOptions, Wording, WorkflowId};

/// Identifies one call; the page numbers them.
pub type CallId = u64;

/// A message from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    Call {
        id: CallId,
        request: Request,
    },
    /// Stop the call: the worker answers it as cancelled, having written nothing.
    Cancel {
        id: CallId,
    },
}

/// A message from the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// One message per call, serialized as soon as it is made: boxing the reply would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum FromWorker {
    /// The worker listens; calls sent before are queued by the page.
    Ready,
    /// The answer to a call: its reply, or a message for the operator.
    Reply { id: CallId, reply: Result<Reply, String> },
    /// How far a call has got.
    Progress { id: CallId, progress: Progress },
    /// Something the page did not ask about.
    Event(Event),
}

/// How far long work has got: its stage, and items done of total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

/// Who changed the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeCause {
    /// A commit made from this page.
    ThisTab,
    /// A commit made in another tab (announced on the broadcast channel, or found at commit).
    AnotherTab,
}

/// What the worker announces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// A handful of events per session: boxing the summary would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// The CRM copy changed; every open plan made before `summary.sequence` is stale.
    CrmChanged { summary: CrmSummary, cause: ChangeCause },
    /// Another tab upgraded the database and this one closed its connection.
    DatabaseClosed,
}

/// A call to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Open the store and read the CRM; with `autoload_demo`, an empty CRM gets the demo.
    /// → [`Reply::Summary`]
    Open { autoload_demo: bool },
    /// → [`Reply::Summary`]
    Summary,
    /// Replace the CRM with the generated demo. → [`Reply::Done`]
    LoadDemo,
    /// Read a snapshot workbook (+ bytes) and hold it until confirmed; nothing is replaced yet.
    /// → [`Reply::SnapshotRead`]
    ReadSnapshot { file_name: String },
    /// Replace the CRM with the snapshot read last. → [`Reply::Done`]
    ReplaceWithSnapshot,
    /// Forget the snapshot read last.
    DropSnapshot,
    /// → [`Reply::File`]
    SnapshotDownload,
    /// Storage figures the page cannot read itself in a worker-free way. → [`Reply::Text`]
    Ping,

    /// → [`Reply::Entries`]
    SearchEntries { query: String, limit: usize },
    /// → [`Reply::Entry`]
    Entry { id: u32 },
    /// The full SSN of an entry the operator chose to reveal. → [`Reply::Text`]
    RevealSsn { id: u32 },
    /// → [`Reply::Accounts`]
    Accounts { kind: Option<String>, portfolio: Option<String>, limit: usize },
    /// → [`Reply::Enrollees`]
    Enrollees { query: String, limit: usize },

    /// → [`Reply::Cases`]
    PortfolioCases { id: u32 },
    /// → [`Reply::Cases`]
    SearchCases { query: String, limit: usize },
    /// → [`Reply::Done`]
    CreateTemporaryPortfolio { name: String, owner_login: Option<String>, case_ids: Vec<u32> },
    /// → [`Reply::Done`]
    DeletePortfolio { id: u32 },

    /// → [`Reply::ExportPreview`]
    ExportPreview { portfolio_id: u32 },
    /// The Insured CRM Export of a portfolio. → [`Reply::File`]
    InsuredExport { portfolio_id: u32 },

    /// A template's model spreadsheet (XLSX: required headers red, dropdowns, an
    /// Instructions sheet) or, with `csv`, its header row as CSV. → [`Reply::File`]
    TemplateFile { template_id: String, csv: bool },

    /// School users and devices by insurance status. → [`Reply::InsuranceStatus`]
    InsuranceStatus,
    /// → [`Reply::File`]
    InsuranceStatusReport,
    /// Accounts or contacts of a profile's columns, filtered. → [`Reply::File`]
    AccountsExport { profile: ExportProfile, filters: AccountFilters },

    /// → [`Reply::History`]
    History,
    /// Undo an import (the most recent one not undone). → [`Reply::Undone`]
    Undo { import_id: u32 },

    /// A step of a workflow's session.
    Session { workflow: WorkflowId, action: SessionAction },
}

/// A step of a workflow's session. Most answer with the session's new [`SessionView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionAction {
    /// The session as it stands. → [`Reply::Session`]
    View,
    /// Choose the template (and say which file is staged for it). → [`Reply::Session`]
    Template { template_id: String },
    /// Stage a file (+ bytes) for the chosen template and open it. `remembered` holds the
    /// header pairs the operator confirmed before (folded file header → template header).
    /// → [`Reply::Session`]
    Stage { file_name: String, options: ImportOptions, remembered: Option<BTreeMap<String, String>> },
    /// Open the file staged for the chosen template. → [`Reply::Session`]
    Resume { options: ImportOptions, remembered: Option<BTreeMap<String, String>> },
    /// Discard the staged file. → [`Reply::Session`]
    Discard,
    /// Map a template column to a file column (or to none). → [`Reply::Session`]
    SetColumn { template_column: usize, file_column: Option<usize> },
    /// Accept the header mapping and validate. → [`Reply::Confirmed`]
    ConfirmHeaders,
    /// Rows of the review table. → [`Reply::Rows`]
    ReviewRows { start: usize, count: usize, only_problems: bool },
    /// The error report workbook. → [`Reply::File`]
    ErrorReport,
    /// Match the rows to the CRM. → [`Reply::Session`]
    Match,
    /// Detected persons of the Resolve step: the open ones (not matched, conflicts) or, with
    /// `matched`, the ones tiers 1–3 decided. → [`Reply::Groups`]
    Groups { start: usize, count: usize, matched: bool },
    /// What a bulk choice would do (`apply` false → [`Reply::Bulk`]) or doing it (`apply`
    /// true → [`Reply::Session`]).
    Bulk { action: BulkChoice, apply: bool },
    /// The operator's choice for a detected person. → [`Reply::Session`]
    Choose { group: usize, choice: Choice },
    /// Plan the import (a dry run). → [`Reply::Session`]
    Plan { options: ImportOptions },
    /// Rows of the plan table. → [`Reply::Rows`]
    PlanRows { start: usize, count: usize, only_changes: bool },
    /// The plan report workbook. → [`Reply::File`]
    PlanReport,
    /// After an apply: the rows skipped (ID found nowhere) and the invalid rows, as a
    /// workbook. → [`Reply::File`]
    ResultsReport,
    /// Apply the plan. Without `again`, a file applied before asks first; a plan with errors
    /// applies its valid rows only with `valid_rows_only`. → [`Reply::Session`] or
    /// [`Reply::AskFirst`]
    Apply { operator_login: String, again: bool, valid_rows_only: bool },
    /// Go back one stage without losing what was done. → [`Reply::Session`]
    Back,
    /// Close the file (the staged copy stays staged). → [`Reply::Session`]
    Close,
}

/// The operator's choice for a detected person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Choice {
    /// Leave it to the default (create new; a conflict stays pending).
    Default,
    CreateNew,
    Existing(u32),
    Skip,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Summary(CrmSummary),
    /// Done; the message says what happened.
    Done(String),
    Text(String),
    /// A download follows as bytes.
    File {
        name: String,
        mime: String,
    },
    SnapshotRead {
        file_name: String,
        entries: usize,
        cases: usize,
        accounts: usize,
    },
    Entries {
        total: usize,
        rows: Vec<EntryRow>,
    },
    Entry(Option<EntryCard>),
    Accounts {
        total: usize,
        rows: Vec<AccountRow>,
    },
    Enrollees(Vec<EnrolleeRow>),
    Cases(Vec<CaseRow>),
    ExportPreview {
        cases: usize,
        insureds: usize,
        rows: usize,
    },
    History(Vec<ImportView>),
    Undone {
        import_id: u32,
        message: String,
        portfolios: Vec<u32>,
    },
    Session(SessionView),
    /// The mapping was confirmed: the session moved on, and these pairs (folded file header →
    /// template header) are for the page to remember.
    Confirmed {
        view: SessionView,
        remember: Vec<(String, String)>,
    },
    /// The operator must confirm first: the same file was applied before.
    AskFirst(AppliedBefore),
    Rows(RowsPage),
    Groups(GroupsPage),
    /// What a bulk choice sets: persons, persons whose outcome changes, their rows.
    Bulk {
        groups: usize,
        changes: usize,
        rows: usize,
    },
    InsuranceStatus {
        users: StatusFigures,
        devices: StatusFigures,
    },
}

/// What every page shows of the CRM without asking.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CrmSummary {
    /// The store's sequence number this summary was made at.
    pub sequence: u64,
    pub empty: bool,
    /// Records per kind, as named on the CRM data page, in its order.
    pub counts: Vec<(String, usize)>,
    pub entries: usize,
    pub cases: usize,
    pub accounts: usize,
    pub operators: Vec<OperatorView>,
    pub portfolios: Vec<PortfolioView>,
    /// The most recent import that can be undone.
    pub last_undoable: Option<ImportView>,
    /// Why the CRM cannot be written (the stored copy could not be read), if so.
    pub read_only: Option<String>,
    /// Something the operator should know about where the CRM is kept (memory only).
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    pub login: String,
    pub name: String,
    pub roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioView {
    pub id: u32,
    pub name: String,
    pub owner: String,
    pub temporary: bool,
    pub cases: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: u32,
    pub template_id: String,
    pub operator_login: String,
    pub applied_at_ms: i64,
    pub file_name: String,
    pub sha256: String,
    pub counts: ImportCounts,
    pub records: usize,
    pub undone: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRow {
    pub id: u32,
    pub name: String,
    pub client_reference: String,
    pub ssn_masked: String,
    pub date_of_birth: String,
    pub details: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailView {
    pub public_id: String,
    pub kind: String,
    pub label: String,
    pub value: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryCard {
    pub id: u32,
    pub name: String,
    pub client_reference: String,
    pub ssn_masked: Option<String>,
    pub date_of_birth: String,
    pub details: Vec<DetailView>,
    /// (insured reference, insured name, "case reference — title")
    pub insureds: Vec<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    pub number: String,
    pub name: String,
    pub kind: String,
    pub portfolio: String,
    pub contacts: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolleeRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub policy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRow {
    pub id: u32,
    pub reference: String,
    pub title: String,
    pub insureds: usize,
}

/// A file staged for a template (its bytes stay in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedCard {
    pub template_id: String,
    pub file_name: String,
    pub size: u64,
    pub row_count: usize,
    pub staged_at_ms: i64,
    pub sha256: String,
}

/// A template as a page offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
}

/// Where a workflow's session stands: the page renders the stage it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SessionView {
    /// No file open: the template chosen and the file staged for it, if any.
    Upload {
        template: TemplateView,
        templates: Vec<TemplateView>,
        staged: Option<StagedCard>,
    },
    Headers(HeadersView),
    Review(ReviewView),
    Resolve(ResolveView),
    Plan(PlanView),
    Done(DoneView),
}

impl SessionView {
    /// The stage's position, for the step list: 0 Upload … 5 Done.
    pub fn step(&self) -> usize {
        match self {
            SessionView::Upload { .. } => 0,
            SessionView::Headers(_) => 1,
            SessionView::Review(_) => 2,
            SessionView::Resolve(_) => 3,
            SessionView::Plan(_) => 4,
            SessionView::Done(_) => 5,
        }
    }
}

/// The file being imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileView {
    pub template: TemplateView,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    /// When the file was staged (ms since the epoch).
    pub staged_at_ms: i64,
    pub rows: usize,
    /// Warnings about the file as a whole (an encoding fallback, …).
    pub warnings: Vec<String>,
}

/// One template column in the header mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderRow {
    pub header: String,
    pub required: bool,
    pub file_column: Option<usize>,
    /// "exact", "confirmed earlier", "suggested (92% alike) — confirm", "missing — required"…
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersView {
    pub file: FileView,
    /// The file's header cells.
    pub file_headers: Vec<String>,
    pub rows: Vec<HeaderRow>,
    pub missing_required: Vec<String>,
    pub ignored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewView {
    pub file: FileView,
    pub rows: usize,
    pub importable: usize,
    pub errors: usize,
    pub warnings: usize,
    pub rows_with_problems: usize,
    pub ignored: Vec<String>,
    /// The review table's column headers (the row's cells come in this order).
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveView {
    pub file: FileView,
    /// "123 by tier 1 · Public ID, …"
    pub tiers: Vec<(String, usize)>,
    /// Open persons (not matched and conflicts).
    pub groups: usize,
    pub conflicts: usize,
    pub pending_conflicts: usize,
    /// Persons tiers 1–3 decided (the collapsed section, each one can be overridden).
    pub matched: usize,
    /// Persons whose choice the operator changed from the default.
    pub decided: usize,
}

/// A choice for many detected persons at once (only persons the operator left alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkChoice {
    /// Every unmatched person whose top candidate scores at least `min_score`: that entry.
    AcceptTopCandidates { min_score: u32 },
    /// Every open person with names: "Create new CRM entry".
    CreateNewForRemaining,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    pub file: FileView,
    pub counts: ImportCounts,
    /// Account contacts created and updated (accounts).
    pub contacts: (usize, usize),
    pub pending_conflicts: usize,
    pub rows: usize,
    pub changing_rows: usize,
    /// Set when the CRM changed since this plan was made: apply will be refused; plan again.
    pub stale: Option<Staleness>,
    /// Notices shown with the plan.
    pub notices: Vec<String>,
    /// The insured links the plan changes: "INS-1 on CASE-1: (not linked) → a new CRM entry".
    pub relinks: Vec<String>,
    /// Rows with a field changed both in the file and in the CRM since the file was exported.
    pub stale_conflict_rows: usize,
    /// Whether those fields take the file's value (else the CRM's is kept).
    pub take_file_values: bool,
    /// The plan table's column headers.
    pub columns: Vec<String>,
    /// How the workflow names the plan, its counts and its apply button.
    pub wording: Wording,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoneView {
    pub file: FileView,
    pub import_id: u32,
    pub counts: ImportCounts,
    pub contacts: (usize, usize),
    pub sample: Vec<VerificationSample>,
    /// The portfolios whose cases the import touched: (id, name).
    pub portfolios: Vec<(u32, String)>,
    pub seconds: f64,
    pub message: String,
    /// The first skipped rows ("ID (row 12)") and invalid rows ("row 12 (ID): why").
    pub skipped: Vec<String>,
    pub invalid: Vec<String>,
    /// The template's column headers (the sample's values come in this order).
    pub columns: Vec<String>,
}

/// Records by insurance status: (enrolled, not enrolled, none).
pub type StatusFigures = (usize, usize, usize);

/// A row of a table: its sheet row, its cells in the table's column order, and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRow {
    pub sheet_row: usize,
    /// "ok", "warning", "error" (review); the action's class (plan).
    pub status: String,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsPage {
    /// Rows in the table (after the filter).
    pub total: usize,
    pub start: usize,
    pub rows: Vec<TableRow>,
}

/// One candidate entry of a detected person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateView {
    pub entry: u32,
    /// "CR-00012345 · José Álvarez — 92% · same date of birth"
    pub label: String,
    pub score: u32,
}

/// One detected person of the Resolve step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupView {
    pub index: usize,
    /// The person's stable key ([`DetectedPerson::key`](crate::core::insured::matching::DetectedPerson::key)):
    /// what a choices file names it by.
    pub key: String,
    pub name: String,
    /// "Not matched", "Conflict", or the tier that decided it.
    pub kind: String,
    pub conflict: bool,
    pub facts: Vec<String>,
    pub reason: Option<String>,
    pub sheet_rows: Vec<usize>,
    pub candidates: Vec<CandidateView>,
    pub choice: Choice,
    /// The chosen entry's label when the operator picked one that is not a candidate (found
    /// by searching the CRM).
    pub chosen_label: Option<String>,
    /// "Create new CRM entry" is offered.
    pub can_create: bool,
    /// Decided by a tier (the matched section); the default keeps that entry.
    pub matched: bool,
    /// Not matched, no names: the default is "Skip these rows".
    pub skip_by_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsPage {
    pub total: usize,
    pub start: usize,
    pub groups: Vec<GroupView>,
}

/// The same file (same SHA-256) was applied before: the operator is asked before it is
/// applied again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedBefore {
    pub import_id: u32,
    pub file_name: String,
    /// How the workflow says it: "applied", "processed".
    pub applied: String,
    /// "Apply", "Process".
    pub verb: String,
}

impl std::fmt::Display for AppliedBefore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "This exact file (same SHA-256) was already {} as import #{} ({}). {} it again? Records that already \
             hold its values stay unchanged.",
            self.applied, self.import_id, self.file_name, self.verb
        )
    }
}

/// The MIME type of XLSX downloads.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The MIME type of CSV downloads.
pub const CSV_MIME: &str = "text/csv";
