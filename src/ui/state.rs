//! State every page shares, provided once at the app root so every page's state has the same
//! lifetime: the connection to the pipeline worker, the CRM summary the worker last sent, the
//! current operator, the page shown, the notice bar and the progress of the call that runs.
//! Pages hold views only; the CRM copy lives in the worker.

use std::rc::Rc;

use js_sys::ArrayBuffer;
use leptos::prelude::*;

use crate::protocol::{CallId, ChangeCause, CrmSummary, Download, Event, Operation, OperatorView, Progress};
use crate::store::EncryptionState;
use crate::ui::browser::{download_buffer, load_setting, monotonic_ms, save_setting};
use crate::ui::client::WorkerClient;

const OPERATOR_KEY: &str = "roundtrip.operator";

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

/// The progress of the call running now, with when it started (for the estimate).
#[derive(Clone, Debug, PartialEq)]
pub struct Running {
    pub id: CallId,
    pub progress: Progress,
    pub started_ms: f64,
    /// When the current stage began, and its first figure (the estimate is per stage).
    pub stage_started_ms: f64,
}

impl Running {
    /// Seconds left in this stage, from the pace so far; `None` before there is a pace.
    pub fn estimate_seconds(&self, now_ms: f64) -> Option<f64> {
        let p = &self.progress;
        if p.done == 0 || p.total <= p.done {
            return None;
        }
        let elapsed = (now_ms - self.stage_started_ms).max(0.0) / 1000.0;
        Some(elapsed * (p.total - p.done) as f64 / p.done as f64)
    }
}

/// Signals every page reads.
#[derive(Clone, Copy)]
pub struct AppState {
    /// What the worker last said of the CRM.
    pub summary: RwSignal<CrmSummary>,
    /// True once the worker has opened the CRM.
    pub ready: RwSignal<bool>,
    pub page: RwSignal<Page>,
    pub notice: RwSignal<Option<Notice>>,
    pub running: RwSignal<Option<Running>>,
    /// Login of the operator working now.
    pub operator: RwSignal<String>,
    /// Set when another tab upgraded the database and this tab closed its connection.
    pub database_closed: RwSignal<bool>,
    /// Whether the stored copy is encrypted and this tab holds its key; while
    /// [`EncryptionState::Locked`], the unlock screen replaces the pages.
    pub vault: RwSignal<EncryptionState>,
    /// Moves each time a PII ledger entry is recorded (the ledger's list reads it again).
    pub ledger_version: RwSignal<u64>,
    client: StoredValue<Option<Rc<WorkerClient>>, LocalStorage>,
}

impl AppState {
    /// The state, with the worker started and its events wired to the signals.
    pub fn start() -> AppState {
        let app = AppState {
            summary: RwSignal::new(CrmSummary::default()),
            ready: RwSignal::new(false),
            page: RwSignal::new(Page::Browse),
            notice: RwSignal::new(None),
            running: RwSignal::new(None),
            operator: RwSignal::new(load_setting::<String>(OPERATOR_KEY).unwrap_or_default()),
            database_closed: RwSignal::new(false),
            vault: RwSignal::new(EncryptionState::Plain),
            ledger_version: RwSignal::new(0),
            client: StoredValue::new_local(None),
        };
        let on_event = move |event: Event| app.on_event(event);
        let on_progress = move |id: CallId, progress: Progress| app.on_progress(id, progress);
        match WorkerClient::start(on_event, on_progress) {
            Ok(client) => app.client.set_value(Some(client)),
            Err(e) => app.error(format!("The pipeline worker could not be started: {e}. Reload the page.")),
        }
        app
    }

    fn on_event(&self, event: Event) {
        match event {
            Event::CrmChanged { summary, cause } => {
                self.take_summary(summary);
                match cause {
                    ChangeCause::AnotherTab => {
                        self.info("The CRM was changed in another tab; what you see is up to date.")
                    }
                    ChangeCause::ThisTab => crate::ui::storage::ensure_persisted(),
                }
            }
            Event::DatabaseClosed => self.database_closed.set(true),
            Event::Locked => {
                self.show_locked();
                self.info("The CRM copy was locked (in another tab, or its passphrase was set there).");
            }
            Event::Unlocked { summary } => {
                self.show_unlocked(summary);
                self.info("Unlocked in another tab.");
            }
            Event::LedgerRecorded => self.ledger_version.update(|v| *v += 1),
        }
    }

    /// The copy is locked: the unlock screen replaces the pages, and the page forgets what it
    /// showed of the CRM (the summary, the notice; the workflows' views follow this signal).
    pub fn show_locked(&self) {
        self.vault.set(EncryptionState::Locked);
        self.summary.set(CrmSummary::default());
        self.notice.set(None);
    }

    /// The copy is unlocked: the pages come back with the CRM's summary.
    pub fn show_unlocked(&self, summary: CrmSummary) {
        self.take_summary(summary);
        self.vault.set(EncryptionState::Unlocked);
    }

    fn on_progress(&self, id: CallId, progress: Progress) {
        let now = monotonic_ms();
        self.running.update(|r| match r {
            Some(run) if run.id == id => {
                if run.progress.stage != progress.stage {
                    run.stage_started_ms = now;
                }
                run.progress = progress;
            }
            _ => *r = Some(Running { id, progress, started_ms: now, stage_started_ms: now }),
        });
    }

    /// Takes a new summary; the current operator stays if it still exists.
    pub fn take_summary(&self, summary: CrmSummary) {
        let login = self.operator.get_untracked();
        if !summary.operators.iter().any(|o| o.login == login) {
            if let Some(first) = summary.operators.first() {
                self.set_operator(&first.login);
            }
        }
        self.summary.set(summary);
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

    /// Sends an operation with optional bytes (transferred) and waits for its reply and the
    /// bytes that came with it. While it runs, its progress is shown with a Cancel button.
    pub async fn call_with<O: Operation>(
        &self,
        op: O,
        bytes: Option<ArrayBuffer>,
    ) -> Result<(O::Reply, Option<ArrayBuffer>), String> {
        let Some(client) = self.client.get_value() else {
            return Err("The pipeline worker is not running. Reload the page.".into());
        };
        let pending = client.call(op.into(), bytes);
        let id = pending.id;
        let answer = pending.answer().await;
        self.running.update(|r| {
            if r.as_ref().map(|run| run.id) == Some(id) {
                *r = None;
            }
        });
        let (value, bytes) = answer?;
        let reply = serde_json::from_value(value)
            .map_err(|e| format!("The worker's answer could not be read ({e}). Reload the page."))?;
        Ok((reply, bytes))
    }

    /// Sends an operation and waits for its reply.
    pub async fn call<O: Operation>(&self, op: O) -> Result<O::Reply, String> {
        self.call_with(op, None).await.map(|(reply, _)| reply)
    }

    /// Sends an operation whose reply is a file, and offers it as a download; returns its
    /// name.
    pub async fn download<O: Operation<Reply = Download>>(&self, op: O) -> Result<String, String> {
        match self.call_with(op, None).await? {
            (Download { name, mime, .. }, Some(bytes)) => {
                download_buffer(&bytes, &name, &mime)
                    .map_err(|e| format!("{name} could not be offered as a download: {e}"))?;
                Ok(name)
            }
            (Download { name, .. }, None) => Err(format!("{name} arrived without its bytes.")),
        }
    }

    /// Cancels the call that runs now.
    pub fn cancel_running(&self) {
        let Some(run) = self.running.get_untracked() else { return };
        if let Some(client) = self.client.get_value() {
            client.cancel(run.id);
        }
    }

    /// Chooses the current operator (remembered locally).
    pub fn set_operator(&self, login: &str) {
        save_setting(OPERATOR_KEY, &login.to_string());
        self.operator.set(login.to_string());
    }

    /// The current operator, if the login exists.
    pub fn current_operator(&self) -> Option<OperatorView> {
        let login = self.operator.get();
        self.summary.with(|s| s.operators.iter().find(|o| o.login == login).cloned())
    }

    /// True when the CRM may be written.
    pub fn writable(&self) -> bool {
        self.summary.with(|s| s.read_only.is_none())
    }
}

pub fn use_app() -> AppState {
    expect_context::<AppState>()
}
