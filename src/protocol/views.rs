//! What the worker shows the page: the CRM summary every page reads, rows of the browsing
//! tables, a workflow session's stage ([`SessionView`], one enum, so impossible combinations
//! cannot be shown) with the step views it carries, pages of review and plan rows and of
//! detected persons, and the small answers of single operations. Serde, no behaviour; core
//! types (counts, the verification sample, staleness, wording, bulk previews) are reused as
//! they are.

use serde::{Deserialize, Serialize};

use crate::core::insurance::report::StatusCounts;
use crate::core::insured::matching::GroupChoice;
use crate::core::model::{ImportCounts, Role};
use crate::core::plan::verify::VerificationSample;
use crate::core::revision::Staleness;
use crate::core::workflow::Wording;

use super::XLSX_MIME;

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
    /// The template has an SSN column: the error report may be asked for with full SSNs.
    #[serde(default)]
    pub ssn_column: bool,
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
    /// The operator's choice (`None`: the default).
    pub choice: Option<GroupChoice>,
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

/// A file for the page to offer as a download. Its bytes travel beside the reply, transferred
/// rather than copied: they are not part of the serialized value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    pub name: String,
    pub mime: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn xlsx(name: String, bytes: Vec<u8>) -> Download {
        Download { name, mime: XLSX_MIME.to_string(), bytes }
    }
}

/// A snapshot read and waiting for the operator's confirmation: what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRead {
    pub file_name: String,
    pub entries: usize,
    pub cases: usize,
    pub accounts: usize,
}

/// The first entries matching a search, and how many match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EntriesPage {
    pub total: usize,
    pub rows: Vec<EntryRow>,
}

/// The first accounts a filter takes, and how many it takes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountsPage {
    pub total: usize,
    pub rows: Vec<AccountRow>,
}

/// How many cases, insureds and rows a portfolio's Insured CRM Export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFigures {
    pub cases: usize,
    pub insureds: usize,
    pub rows: usize,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    pub import_id: u32,
    pub message: String,
    /// Portfolios whose cases the undone import touched (their synced export is rewritten).
    pub portfolios: Vec<u32>,
}

/// The mapping was confirmed: the session moved on, and these pairs (folded file header →
/// template header) are for the page to remember.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmed {
    pub view: SessionView,
    pub remember: Vec<(String, String)>,
}

/// What applying did: applied (the Done view), or a question first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// One value per apply, moved once: boxing the view would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum ApplyOutcome {
    Applied(SessionView),
    AskFirst(AppliedBefore),
}

/// School users and devices by insurance status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuranceFigures {
    pub users: StatusCounts,
    pub devices: StatusCounts,
}

/// One line of the PII ledger as the CRM data page lists it (no SSN: a Reveal names the
/// entry, a file its name, digest and count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub id: String,
    /// `2026-12-02 15:39:14 UTC`.
    pub time: String,
    pub operator_login: String,
    /// `Reveal of an SSN`, `Insured CRM Export`, `CRM snapshot`, `Error report with full SSNs`.
    pub what: String,
    /// The entry revealed, as `Ana Souza (entry 12)`; empty for a file.
    pub entry: String,
    pub file_name: String,
    /// The first 12 hexadecimal characters of the file's SHA-256 (the download has it whole).
    pub sha256_prefix: String,
    /// Full SSNs the file holds; `None` for a Reveal.
    pub ssns: Option<usize>,
}
