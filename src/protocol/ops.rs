//! Every operation the page can ask of the worker, each declared once: the struct is the
//! request, and its [`Operation`] implementation names the reply. Operations on a workflow's
//! session name the workflow; the service answers them in the session's current stage or
//! refuses them with one typed refusal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::accounts::profiles::{AccountFilters, ExportProfile};
use crate::core::insured::matching::{BulkAction, BulkPreview, GroupChoice, KeyedChoices};
use crate::core::workflow::{ImportOptions, WorkflowId};

use super::views::*;
use super::Operation;

/// Declares an operation's reply: `reply!(Op => Reply)`.
macro_rules! reply {
    ($($op:ident => $reply:ty;)*) => {
        $(impl Operation for $op {
            type Reply = $reply;
        })*
    };
}

// --- The CRM as a whole -----------------------------------------------------------------------

/// Open the store and read the CRM; with `autoload_demo`, an empty CRM gets the demo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub autoload_demo: bool,
}

/// What every page shows of the CRM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary;

/// Replace the CRM with the generated demo; the reply says what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadDemo;

/// Read a snapshot workbook (+ bytes) and hold it until confirmed; nothing is replaced yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadSnapshot {
    pub file_name: String,
}

/// Replace the CRM with the snapshot read last; the reply says what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceWithSnapshot;

/// Forget the snapshot read last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropSnapshot;

/// The whole CRM as a snapshot workbook (it holds every SSN in full: recorded in the PII
/// ledger under `operator_login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotDownload {
    pub operator_login: String,
}

/// Entries matching a query (all of them for an empty one), the first `limit` shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchEntries {
    pub query: String,
    pub limit: usize,
}

/// One entry with its details, insureds and cases (`None` when it no longer exists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowEntry {
    pub id: u32,
}

/// The full SSN of an entry the operator chose to reveal (recorded in the PII ledger under
/// `operator_login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealSsn {
    pub id: u32,
    pub operator_login: String,
}

/// Accounts a filter takes, the first `limit` shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAccounts {
    pub filters: AccountFilters,
    pub limit: usize,
}

/// School users then devices whose id, name, serial or model contains the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollees {
    pub query: String,
    pub limit: usize,
}

/// The cases of a portfolio, by reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioCases {
    pub id: u32,
}

/// Cases whose reference or title contains the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCases {
    pub query: String,
    pub limit: usize,
}

/// A temporary portfolio of existing cases; the reply says it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTemporaryPortfolio {
    pub name: String,
    pub owner_login: Option<String>,
    pub case_ids: Vec<u32>,
}

/// Delete a temporary portfolio (its cases stay); the reply says it was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletePortfolio {
    pub id: u32,
}

/// How many cases, insureds and rows a portfolio's export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPreview {
    pub portfolio_id: u32,
}

/// The Insured CRM Export of a portfolio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuredExport {
    pub portfolio_id: u32,
    /// Who asks (the export holds full SSNs: recorded in the PII ledger).
    pub operator_login: String,
}

/// A template's model spreadsheet (XLSX: required headers red, dropdowns, an Instructions
/// sheet) or, with `csv`, its header row as CSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateFile {
    pub template_id: String,
    pub csv: bool,
}

/// School users and devices by insurance status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuranceStatusCounts;

/// The insurance status report workbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuranceStatusReport;

/// Accounts or contacts of a profile's columns, filtered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsExport {
    pub profile: ExportProfile,
    pub filters: AccountFilters,
}

/// Every import, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct History;

/// Undo an import (the most recent one not undone: `import_id` says which the operator saw).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undo {
    pub import_id: u32,
}

reply! {
    Open => CrmSummary;
    Summary => CrmSummary;
    LoadDemo => String;
    ReadSnapshot => SnapshotRead;
    ReplaceWithSnapshot => String;
    DropSnapshot => ();
    SnapshotDownload => Download;
    SearchEntries => EntriesPage;
    ShowEntry => Option<EntryCard>;
    RevealSsn => String;
    ListAccounts => AccountsPage;
    Enrollees => Vec<EnrolleeRow>;
    PortfolioCases => Vec<CaseRow>;
    SearchCases => Vec<CaseRow>;
    CreateTemporaryPortfolio => String;
    DeletePortfolio => String;
    ExportPreview => ExportFigures;
    InsuredExport => Download;
    TemplateFile => Download;
    InsuranceStatusCounts => InsuranceFigures;
    InsuranceStatusReport => Download;
    AccountsExport => Download;
    History => Vec<ImportView>;
    Undo => Undone;
}

// --- A workflow's session ----------------------------------------------------------------------

/// The session as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowSession {
    pub workflow: WorkflowId,
}

/// Choose the template a file is read as (an empty id: recognise it from its headers, for a
/// workflow that does not name its template).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChooseTemplate {
    pub workflow: WorkflowId,
    pub template_id: String,
}

/// Stage a file (+ bytes) and open it. `remembered` holds the header pairs the operator
/// confirmed before (folded file header → template header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageFile {
    pub workflow: WorkflowId,
    pub file_name: String,
    pub options: ImportOptions,
    pub remembered: BTreeMap<String, String>,
}

/// Open the file staged for the chosen template again (after a reload, or to start over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeFile {
    pub workflow: WorkflowId,
    pub options: ImportOptions,
    pub remembered: BTreeMap<String, String>,
}

/// Discard the staged file (and close it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscardFile {
    pub workflow: WorkflowId,
}

/// Close the file; the staged copy stays staged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseFile {
    pub workflow: WorkflowId,
}

/// Map a template column to a file column (or to none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetColumn {
    pub workflow: WorkflowId,
    pub template_column: usize,
    pub file_column: Option<usize>,
}

/// Accept the header mapping and validate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmHeaders {
    pub workflow: WorkflowId,
}

/// Rows of the review table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRows {
    pub workflow: WorkflowId,
    pub start: usize,
    pub count: usize,
    pub only_problems: bool,
}

/// The error report workbook (validation's issues, and the plan's once planned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    pub workflow: WorkflowId,
    /// "Include full SSNs": the SSN column as the file had it (off: each SSN masked
    /// `XXX-XX-6789`, the report carries none).
    #[serde(default)]
    pub include_full_ssns: bool,
    /// Who asks (a report with full SSNs is recorded in the PII ledger).
    pub operator_login: String,
}

/// Match the rows to the CRM: to the Resolve step, or straight to the plan when no person
/// needs the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchRows {
    pub workflow: WorkflowId,
}

/// Detected persons of the Resolve step: the open ones (not matched, conflicts) or, with
/// `matched`, the ones tiers 1–3 decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListGroups {
    pub workflow: WorkflowId,
    pub start: usize,
    pub count: usize,
    pub matched: bool,
}

/// What a bulk choice would set: persons, persons whose outcome changes, their rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewBulk {
    pub workflow: WorkflowId,
    pub action: BulkAction,
}

/// Set a bulk choice on every person it applies to (persons the operator decided keep their
/// choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyBulk {
    pub workflow: WorkflowId,
    pub action: BulkAction,
}

/// The operator's choice for a detected person (`None`: back to the default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoosePerson {
    pub workflow: WorkflowId,
    pub group: usize,
    pub choice: Option<GroupChoice>,
}

/// The operator's choices from a choices file (detected person key → choice); the reply lists
/// the keys no person of this file has (not applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChooseByKeys {
    pub workflow: WorkflowId,
    pub choices: KeyedChoices,
}

/// Plan the import (a dry run), with new options or the ones the file was opened with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanImport {
    pub workflow: WorkflowId,
    pub options: Option<ImportOptions>,
}

/// Rows of the plan table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRows {
    pub workflow: WorkflowId,
    pub start: usize,
    pub count: usize,
    pub only_changes: bool,
}

/// The plan report workbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReport {
    pub workflow: WorkflowId,
}

/// Apply the plan in one checked commit. Without `again`, a file applied before asks first;
/// a plan with errors applies its valid rows only with `valid_rows_only` where the workflow
/// asks for consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyImport {
    pub workflow: WorkflowId,
    pub operator_login: String,
    pub again: bool,
    pub valid_rows_only: bool,
}

/// After an apply: the rows skipped (ID found nowhere) and the invalid rows, as a workbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultsReport {
    pub workflow: WorkflowId,
}

/// Go back one stage without losing what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoBack {
    pub workflow: WorkflowId,
}

reply! {
    ShowSession => SessionView;
    ChooseTemplate => SessionView;
    StageFile => SessionView;
    ResumeFile => SessionView;
    DiscardFile => SessionView;
    CloseFile => SessionView;
    SetColumn => SessionView;
    ConfirmHeaders => Confirmed;
    ReviewRows => RowsPage;
    ErrorReport => Download;
    MatchRows => SessionView;
    ListGroups => GroupsPage;
    PreviewBulk => BulkPreview;
    ApplyBulk => SessionView;
    ChoosePerson => SessionView;
    ChooseByKeys => Vec<String>;
    PlanImport => SessionView;
    PlanRows => RowsPage;
    PlanReport => Download;
    ApplyImport => ApplyOutcome;
    ResultsReport => Download;
    GoBack => SessionView;
}

// --- The passphrase: encryption at rest, the lock -----------------------------------------------

/// Whether the stored copy is encrypted, and whether this tab holds its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultState;

/// Set the first passphrase: the whole stored copy is encrypted (all or nothing) and this tab
/// stays unlocked; the reply says so.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPassphrase {
    pub passphrase: String,
}

/// Change the passphrase: the data key is wrapped again, no data is encrypted again; the reply
/// says so.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePassphrase {
    pub old: String,
    pub new: String,
}

/// Unlock the encrypted copy with its passphrase; the reply is what every page shows of the
/// CRM (the app opens as usual). A wrong passphrase is refused and changes nothing.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    pub passphrase: String,
}

/// Lock this tab (and the others): the keys, the decrypted copy and every open session are
/// dropped — only when no other operation runs (a work in progress is not cut); the reply says
/// whether it locked. `when_idle`: asked by the idle lock (a copy without a passphrase is then
/// no refusal, just nothing to lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub when_idle: bool,
}

/// A passphrase is never printed: debug output names the operation only.
macro_rules! debug_without_passphrases {
    ($($op:ident),*) => {
        $(impl std::fmt::Debug for $op {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($op)).finish_non_exhaustive()
            }
        })*
    };
}
debug_without_passphrases!(SetPassphrase, ChangePassphrase, Unlock);

reply! {
    VaultState => crate::store::EncryptionState;
    SetPassphrase => String;
    ChangePassphrase => String;
    Unlock => CrmSummary;
    Lock => bool;
}

// --- The PII ledger ---------------------------------------------------------------------------

/// The PII ledger, newest first: every Reveal and every file written with full SSNs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiLedger;

/// The PII ledger as a workbook (no SSN in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiLedgerDownload;

reply! {
    PiiLedger => Vec<LedgerRow>;
    PiiLedgerDownload => Download;
}
