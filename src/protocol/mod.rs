//! The messages between the page and the pipeline worker. The worker owns the CRM copy, the
//! store and every workflow's session; the page holds views and asks. Both binaries are built
//! from this crate, so both sides compile against these exact types.
//!
//! Every operation is declared once, in [`ops`]: a struct that is the request and names its
//! reply type ([`Operation::Reply`]). The one list of operations ([`for_each_operation`])
//! makes the wire's [`Request`] enum and the worker's dispatch; the service handles each
//! operation (`service::Handle`), and the page calls any of them with the same function.
//!
//! A call is `ToWorker::Call { id, request }`; the worker answers `FromWorker::Reply { id,
//! reply }` — the reply serialized, or the failure's text — sending `FromWorker::Progress`
//! while it works. File bytes (an upload, a snapshot) and downloads travel beside the JSON as
//! a transferred `ArrayBuffer`: an operation whose doc says "+ bytes" carries them, and a
//! [`Download`] reply is followed by them.

pub mod messages;
pub mod ops;
pub mod views;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use crate::core::workflow::{ImportOptions, Wording, WorkflowId};
pub use ops::*;
pub use views::*;

/// Identifies one call; the page numbers them.
pub type CallId = u64;

/// An operation the page asks of the worker: the request itself, naming the type of its
/// reply.
pub trait Operation: Serialize + DeserializeOwned + Into<Request> + std::fmt::Debug + 'static {
    type Reply: Serialize + DeserializeOwned + 'static;
}

/// Calls `$callback!` with every operation's name: the one list of operations.
macro_rules! for_each_operation {
    ($callback:ident) => {
        $callback! {
            Open, Summary, LoadDemo, ReadSnapshot, ReplaceWithSnapshot, DropSnapshot, SnapshotDownload,
            SearchEntries, ShowEntry, RevealSsn, ListAccounts, Enrollees, PortfolioCases, SearchCases,
            CreateTemporaryPortfolio, DeletePortfolio, ExportPreview, InsuredExport, TemplateFile,
            InsuranceStatusCounts, InsuranceStatusReport, AccountsExport, History, Undo,
            ShowSession, ChooseTemplate, StageFile, ResumeFile, DiscardFile, CloseFile, SetColumn,
            ConfirmHeaders, ReviewRows, ErrorReport, MatchRows, ListGroups, PreviewBulk, ApplyBulk,
            ChoosePerson, ChooseByKeys, PlanImport, PlanRows, PlanReport, ApplyImport, ResultsReport, GoBack,
            VaultState, SetPassphrase, ChangePassphrase, Unlock, Lock,
            PiiLedger, PiiLedgerDownload,
        }
    };
}
// The worker (browser only) dispatches requests by the same list.
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub(crate) use for_each_operation;

macro_rules! declare_requests {
    ($($op:ident),* $(,)?) => {
        /// A call to the worker: one operation.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub enum Request {
            $($op($op),)*
        }

        $(
            impl From<$op> for Request {
                fn from(op: $op) -> Request {
                    Request::$op(op)
                }
            }
        )*
    };
}
for_each_operation!(declare_requests);

/// A message from the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// One message per call, serialized as soon as it is made: boxing the request would buy nothing.
#[allow(clippy::large_enum_variant)]
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
// One message at a time, serialized as soon as it is made: boxing the event would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum FromWorker {
    /// The worker listens; calls sent before are queued by the page.
    Ready,
    /// The answer to a call: its reply (the operation's reply type, serialized), or the text
    /// of why it failed.
    Reply { id: CallId, reply: Result<serde_json::Value, String> },
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
    /// This tab holds no key to the encrypted copy any more (another tab locked it or set a
    /// passphrase): the page shows the unlock screen and nothing of the CRM.
    Locked,
    /// Another tab unlocked the copy and this one followed; the summary is the CRM's.
    Unlocked { summary: CrmSummary },
    /// A PII ledger entry was recorded (here or in another tab) and nothing else changed:
    /// plans stay current and the pages showing the CRM need not read it again; the ledger's
    /// list does.
    LedgerRecorded,
}

/// The MIME type of XLSX downloads.
pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// The MIME type of CSV downloads.
pub const CSV_MIME: &str = "text/csv";
