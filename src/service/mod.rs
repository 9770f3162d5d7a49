//! The application's operations, as the pipeline worker serves them: open the store, describe
//! the CRM, browse it, load the demo or a snapshot, export, undo, and run each workflow's
//! session (stage → headers → review → resolve → plan → apply). Generic over the
//! [`CrmStore`], so the very same code runs in the browser's worker over IndexedDB and natively
//! over the memory store (tests, the command line). It knows no browser: time is a parameter,
//! long work reports through a [`Ticker`] (the worker's yields to its event loop and can be
//! cancelled), and what the page must hear of unasked (the CRM changed) waits in an outbox.
//!
//! Every write goes through [`Service::commit`]: a [`CheckedBatch`] built when the change was
//! planned, checked by the store inside its transaction.
//!
//! Every CRM the service holds has a digest secret ([`CrmSecret`], the key of the keyed
//! digests): the demo and a snapshot without one get a new one before they are written, and
//! a stored copy without one gets one when it is opened ([`Service::ensure_secret`]). The
//! service makes no randomness itself: its [`SecretSource`] does (the worker's
//! `crypto.getRandomValues`, the command line's operating system, a test's seed).

pub mod browse;
pub mod crm;
pub mod exports;
pub mod failure;
pub mod handle;
pub mod ledger;
pub mod session;
pub mod views;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::core::model::{ChangeSet, Crm, Record};
use crate::core::privacy::CrmSecret;
use crate::core::revision::CheckedBatch;
use crate::core::workflow::{Workflow, WorkflowId};
use crate::core::workflows;
use crate::protocol::{ChangeCause, Event};
use crate::store::{Committed, CrmStore, StoreError, StoredCrm};

pub use failure::Failure;
pub use handle::{Call, Handle};
pub use session::Session;

use failure::SessionRefusal;

/// The page cancelled the work; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// Where long work reports progress and learns it was cancelled.
#[allow(async_fn_in_trait)]
pub trait Ticker {
    /// Reports `done` of `total` in `stage`; may pause to let other work run. Returns
    /// [`Cancelled`] once the caller cancelled.
    async fn tick(&self, stage: &str, done: usize, total: usize) -> Result<(), Cancelled>;
}

/// A ticker that reports nowhere and never cancels.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Ticker for Silent {
    async fn tick(&self, _stage: &str, _done: usize, _total: usize) -> Result<(), Cancelled> {
        Ok(())
    }
}

/// Where the 256 random bits of a new CRM's digest secret come from; `Err` says why there
/// are none (no random source: nothing is written then).
pub struct SecretSource(Box<dyn Fn() -> Result<CrmSecret, String>>);

impl SecretSource {
    pub fn new(make: impl Fn() -> Result<CrmSecret, String> + 'static) -> SecretSource {
        SecretSource(Box::new(make))
    }

    /// A new secret.
    pub fn fresh(&self) -> Result<CrmSecret, Failure> {
        (self.0)().map_err(Failure::NoRandomSource)
    }
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSource")
    }
}
/// The operations over one store.
#[derive(Debug)]
pub struct Service<S: CrmStore> {
    store: S,
    /// Makes the digest secret of a CRM that has none.
    secrets: SecretSource,
    /// The workflows whose sessions it runs.
    workflows: Vec<&'static dyn Workflow>,
    /// Set when the stored copy could not be read: nothing may be written until the operator
    /// loads a snapshot or the demo (which replace the copy whole).
    read_only: RefCell<Option<String>>,
    /// A snapshot read and waiting for the operator's confirmation.
    pending_snapshot: RefCell<Option<(String, Crm)>>,
    sessions: RefCell<BTreeMap<WorkflowId, Rc<RefCell<Session>>>>,
    outbox: RefCell<Vec<Event>>,
}

impl<S: CrmStore> Service<S> {
    /// A service over `store` running the app's workflows, whose new digest secrets come from
    /// `secrets`; nothing is read until first used.
    pub fn new(store: S, secrets: SecretSource) -> Service<S> {
        Service::with_workflows(store, secrets, workflows::ALL.to_vec())
    }

    /// A service over `store` running the sessions of `workflows` (the app's list, or a list
    /// with a workflow of one's own).
    pub fn with_workflows(
        store: S,
        secrets: SecretSource,
        workflows: Vec<&'static dyn Workflow>,
    ) -> Service<S> {
        Service {
            store,
            secrets,
            workflows,
            read_only: RefCell::new(None),
            pending_snapshot: RefCell::new(None),
            sessions: RefCell::new(BTreeMap::new()),
            outbox: RefCell::new(Vec::new()),
        }
    }

    /// The store (for the worker's own bookkeeping: refresh after another tab's commit).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The CRM copy, caught up with other writers. A copy that cannot be read puts the service
    /// in read-only mode (and says why).
    pub async fn current(&self) -> Result<Rc<StoredCrm>, Failure> {
        match self.store.current().await {
            Ok(c) => Ok(c),
            Err(e @ StoreError::Corrupt { .. }) => {
                *self.read_only.borrow_mut() = Some(e.to_string());
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Puts the service in read-only mode: the stored copy cannot be reached or read.
    pub fn set_read_only(&self, why: String) {
        *self.read_only.borrow_mut() = Some(why);
    }

    /// Why nothing may be written, if so.
    pub fn read_only(&self) -> Option<String> {
        self.read_only.borrow().clone()
    }

    fn refuse_if_read_only(&self) -> Result<(), Failure> {
        match self.read_only() {
            Some(why) => Err(Failure::ReadOnly(why)),
            None => Ok(()),
        }
    }

    /// Drops every copy of CRM data the service holds besides the store: each workflow's
    /// session (its file read, rows, matches and plan; a staged file stays staged) and a
    /// snapshot waiting for confirmation. The worker calls it when the copy is locked.
    pub fn forget_held_data(&self) {
        self.sessions.borrow_mut().clear();
        self.pending_snapshot.borrow_mut().take();
    }

    /// Events for the page, taken once.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.outbox.borrow_mut())
    }

    pub(crate) fn announce(&self, event: Event) {
        self.outbox.borrow_mut().push(event);
    }

    /// Writes a checked batch. On success the sessions' open plans become stale and the page
    /// hears of the change; a stale batch is refused (the copy has caught up meanwhile, so
    /// planning again works).
    pub async fn commit(&self, batch: &CheckedBatch) -> Result<Committed, Failure> {
        self.refuse_if_read_only()?;
        match self.store.commit(batch).await {
            Ok(committed) => {
                self.crm_changed(ChangeCause::ThisTab).await;
                Ok(committed)
            }
            Err(StoreError::Stale(staleness)) => {
                self.crm_changed(ChangeCause::AnotherTab).await;
                Err(Failure::Stale(staleness))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The CRM changed (here, or in another tab): plans made before are stale, and the page
    /// gets a fresh summary.
    pub async fn crm_changed(&self, cause: ChangeCause) {
        let Ok(stored) = self.store.current().await else { return };
        for session in self.sessions.borrow().values() {
            session.borrow_mut().crm_moved(stored.sequence, cause);
        }
        let summary = views::summary(&stored, self.read_only());
        self.announce(Event::CrmChanged { summary, cause });
    }

    /// Gives the stored CRM its digest secret when it has none (a copy stored before digest
    /// secrets, or an empty one), in a checked commit that only writes the counters record; a
    /// secret another tab stored meanwhile wins. Returns whether one was made. Nothing is
    /// written in read-only mode.
    pub async fn ensure_secret(&self) -> Result<bool, Failure> {
        if self.read_only().is_some() {
            return Ok(false);
        }
        let stored = self.current().await?;
        if stored.crm.secret().is_some() {
            return Ok(false);
        }
        let counters = stored.crm.counters;
        let with_secret = crate::core::model::Counters { secret: Some(self.secrets.fresh()?), ..counters };
        let changes = ChangeSet { puts: vec![Record::Counters(with_secret)], deletes: vec![] };
        let batch = CheckedBatch::new(stored.sequence, &stored.revisions, counters, [], changes);
        drop(stored);
        self.commit(&batch).await?;
        Ok(true)
    }

    /// `crm` with a digest secret: its own, or a new one.
    pub(crate) fn with_secret(&self, mut crm: Crm) -> Result<Crm, Failure> {
        if crm.counters.secret.is_none() {
            crm.counters.secret = Some(self.secrets.fresh()?);
        }
        Ok(crm)
    }

    /// Replaces the whole CRM (demo, snapshot): the one write allowed in read-only mode.
    async fn replace(&self, crm: &Crm) -> Result<(), Failure> {
        self.store.replace_all(crm).await?;
        *self.read_only.borrow_mut() = None;
        self.crm_changed(ChangeCause::ThisTab).await;
        Ok(())
    }

    /// The workflows the service runs.
    pub fn workflows(&self) -> &[&'static dyn Workflow] {
        &self.workflows
    }

    /// The workflow named `id`.
    pub fn workflow(&self, id: WorkflowId) -> Result<&'static dyn Workflow, Failure> {
        Ok(workflows::by_id(&self.workflows, id).ok_or(SessionRefusal::NoSuchWorkflow(id))?)
    }
}
