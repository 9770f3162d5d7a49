//! Application state shared by every page: the in-memory copy of the CRM (loaded from
//! IndexedDB at start), the current operator, the page shown, the notice bar and the progress
//! of long work. Writes go through [`AppState::commit`] / [`AppState::replace_all`], which
//! write to the store first — as a checked batch that the store refuses if a record it
//! touches moved since this copy was loaded — and only then update the in-memory copy, so
//! what the page shows is always what is stored. If the copy cannot follow a commit, or a
//! batch is refused as stale, the copy is read again from the store.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;

use crate::core::model::{ChangeSet, Crm, Operator, RecordKey};
use crate::core::revision::{CheckedBatch, Revision, Revisions};
use crate::store::indexeddb::IndexedDbStore;
use crate::store::{Committed, CrmStore, StoreError, StoredCrm};
use crate::ui::browser::{load_setting, save_setting};

/// The IndexedDB database holding the local CRM.
pub const DATABASE_NAME: &str = "roundtrip-crm";
const OPERATOR_KEY: &str = "roundtrip.operator";

thread_local! {
    static STORE: RefCell<Option<Rc<IndexedDbStore>>> = const { RefCell::new(None) };
}

/// The open store, or a message saying why there is none.
pub fn store() -> Result<Rc<IndexedDbStore>, String> {
    STORE.with(|s| s.borrow().clone()).ok_or_else(|| "The local database is not open.".to_string())
}

pub fn set_store(store: IndexedDbStore) {
    STORE.with(|s| *s.borrow_mut() = Some(Rc::new(store)));
}

/// The pages of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Browse,
    Portfolios,
    Export,
    Import,
    History,
    Data,
    Utilities,
    Accounts,
}

impl Page {
    pub const ALL: [Page; 8] = [
        Page::Browse,
        Page::Portfolios,
        Page::Export,
        Page::Import,
        Page::History,
        Page::Data,
        Page::Utilities,
        Page::Accounts,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Page::Browse => "Browse",
            Page::Portfolios => "Portfolios",
            Page::Export => "Export",
            Page::Import => "Import",
            Page::History => "History",
            Page::Data => "CRM data",
            Page::Utilities => "System Utilities",
            Page::Accounts => "Accounts",
        }
    }
    pub fn test_id(self) -> &'static str {
        match self {
            Page::Browse => "nav-browse",
            Page::Portfolios => "nav-portfolios",
            Page::Export => "nav-export",
            Page::Import => "nav-import",
            Page::History => "nav-history",
            Page::Data => "nav-data",
            Page::Utilities => "nav-utilities",
            Page::Accounts => "nav-accounts",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Success,
    Error,
}

/// The message bar under the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

/// Long work in progress.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub label: String,
    pub done: usize,
    pub total: usize,
}

/// Signals every page reads.
#[derive(Clone, Copy)]
pub struct AppState {
    pub crm: RwSignal<Arc<Crm>>,
    /// True once the CRM has been loaded from the store.
    pub ready: RwSignal<bool>,
    pub page: RwSignal<Page>,
    pub notice: RwSignal<Option<Notice>>,
    pub progress: RwSignal<Option<Progress>>,
    /// Login of the operator working now.
    pub operator: RwSignal<String>,
    /// Set when another tab upgraded the database and this tab closed its connection.
    pub database_closed: RwSignal<bool>,
    /// The revision of every record of `crm` and the store's sequence number it was read at.
    pub revisions: StoredValue<(Revisions, Revision), LocalStorage>,
}

impl AppState {
    pub fn new() -> Self {
        AppState {
            crm: RwSignal::new(Arc::new(Crm::default())),
            ready: RwSignal::new(false),
            page: RwSignal::new(Page::Browse),
            notice: RwSignal::new(None),
            progress: RwSignal::new(None),
            operator: RwSignal::new(load_setting::<String>(OPERATOR_KEY).unwrap_or_default()),
            database_closed: RwSignal::new(false),
            revisions: StoredValue::new_local((Revisions::new(), 0)),
        }
    }

    /// Takes a copy read from the store as the one the pages show.
    pub fn take_stored(&self, stored: StoredCrm) {
        self.revisions.set_value((stored.revisions, stored.sequence));
        self.crm.set(Arc::new(stored.crm));
    }

    /// Reads the whole copy again from the store (after a refused stale batch, or when the
    /// copy could not follow a commit).
    pub async fn reload(&self) -> Result<(), String> {
        let store = store()?;
        let stored = store.load_all().await.map_err(|e| e.to_string())?;
        self.take_stored(stored);
        Ok(())
    }

    /// A batch of `changes` planned on the copy shown now, expecting `reads` and every record
    /// it writes to be as this copy has them.
    pub fn checked(&self, changes: ChangeSet, reads: impl IntoIterator<Item = RecordKey>) -> CheckedBatch {
        let counters = self.crm.with_untracked(|crm| crm.counters);
        self.revisions.with_value(|(revisions, sequence)| {
            CheckedBatch::new(*sequence, revisions, counters, reads, changes)
        })
    }

    pub fn info(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice { kind: NoticeKind::Info, text: text.into() }));
    }
    pub fn success(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice { kind: NoticeKind::Success, text: text.into() }));
    }
    pub fn error(&self, text: impl Into<String>) {
        self.notice.set(Some(Notice { kind: NoticeKind::Error, text: text.into() }));
    }

    pub fn set_progress(&self, label: &str, done: usize, total: usize) {
        self.progress.set(Some(Progress { label: label.to_string(), done, total }));
    }
    pub fn clear_progress(&self) {
        self.progress.set(None);
    }

    /// Reads a file the operator picked and parses it with the core reader. On failure the
    /// operator is told why (and that nothing was staged) and `None` is returned.
    pub async fn read_upload(
        &self,
        file: &web_sys::File,
    ) -> Option<(String, Vec<u8>, crate::core::sheet::Sheet)> {
        let file_name = file.name();
        let bytes = match crate::ui::browser::read_file(file).await {
            Ok(b) => b,
            Err(e) => {
                self.error(format!("{file_name} could not be read: {e}"));
                return None;
            }
        };
        match crate::core::read::read_sheet(&file_name, &bytes) {
            Ok(sheet) => Some((file_name, bytes, sheet)),
            Err(e) => {
                self.error(format!("{e} Nothing was staged."));
                None
            }
        }
    }

    /// Offers a written workbook as a download, or tells the operator why it could not be.
    pub fn offer_workbook(&self, written: Result<Vec<u8>, crate::core::xlsx::ExportError>, file_name: &str) {
        let result = written
            .map_err(|e| format!("{file_name} could not be written: {e}"))
            .and_then(|bytes| crate::ui::browser::download(&bytes, file_name, crate::ui::browser::XLSX_MIME));
        if let Err(e) = result {
            self.error(e);
        }
    }

    /// Chooses the current operator (remembered locally).
    pub fn set_operator(&self, login: &str) {
        save_setting(OPERATOR_KEY, &login.to_string());
        self.operator.set(login.to_string());
    }

    /// The current operator's record, if the login exists.
    pub fn current_operator(&self) -> Option<Operator> {
        let login = self.operator.get();
        self.crm.with(|crm| crm.operators.get(&login).cloned())
    }

    /// Writes a batch to the store, then to the in-memory copy. All or nothing. The batch
    /// expects every record it writes to be as this copy has them.
    pub async fn commit(&self, changes: ChangeSet) -> Result<Committed, String> {
        let batch = self.checked(changes, std::iter::empty());
        self.commit_checked(&batch).await
    }

    /// Writes a checked batch to the store, then follows it in the in-memory copy. A stale
    /// batch (the CRM changed under it, e.g. in another tab) is refused by the store; the copy
    /// is then read again so that planning again works on the current CRM.
    pub async fn commit_checked(&self, batch: &CheckedBatch) -> Result<Committed, String> {
        let store = store()?;
        let committed = match store.commit(batch).await {
            Ok(c) => c,
            Err(e @ StoreError::Stale(_)) => {
                let _ = self.reload().await;
                return Err(format!("{e} Plan the import again on the current CRM."));
            }
            Err(e) => return Err(e.to_string()),
        };
        let mut next = (*self.crm.get_untracked()).clone();
        let (_, known) = self.revisions.get_value();
        if next.apply_changes(&committed.changes).is_err() || known + 1 != committed.sequence {
            // The copy missed another writer's commit: read it whole rather than diverge.
            self.reload().await?;
            return Ok(committed);
        }
        self.revisions.update_value(|(revisions, sequence)| {
            revisions.apply(&committed.changes, committed.sequence);
            *sequence = committed.sequence;
        });
        self.crm.set(Arc::new(next));
        Ok(committed)
    }

    /// Replaces the whole CRM copy.
    pub async fn replace_all(&self, crm: Crm) -> Result<(), String> {
        let store = store()?;
        let sequence = store.replace_all(&crm).await.map_err(|e| e.to_string())?;
        self.revisions.set_value((Revisions::all_at(&crm.records(), sequence), sequence));
        if !crm.operators.contains_key(&self.operator.get_untracked()) {
            if let Some(first) = crm.operators.keys().next() {
                self.set_operator(first);
            }
        }
        self.crm.set(Arc::new(crm));
        Ok(())
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}
