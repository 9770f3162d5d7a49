//! The IndexedDB [`CrmStore`] (browser only): the local CRM copy survives reloads and never
//! leaves the machine; with a passphrase set, every value it stores is encrypted.
//!
//! Schema ([`SCHEMA_VERSION`] 3):
//! - one object store per [`EntityKind::store_name`] (key path `id`) holding the **base**: the
//!   records in buckets, a record living in bucket `digest(id) % BUCKETS`, the bucket row
//!   `{ id: "b0042", json: "[<Record JSON>, …]", revs: "[<revision>, …]" }` (`revs` parallel to
//!   `json`; rows written by version 1 have none, their records read as revision 0, and may
//!   carry `n` and unique-index arrays that are no longer read);
//! - `segments` (key path `id`, the commit's sequence number): the **log**, one row per commit
//!   since the last compaction, `{ id, json: "<ChangeSet JSON>" }`;
//! - `meta` (key path `id`): the row `sequence` with the last commit's sequence number `n`,
//!   `replaced_at` (the sequence of the last `replace_all`) and `compacted_through` (segments
//!   up to it are folded into the base and deleted); and, once a passphrase is set, the row
//!   `vault` (the wrapped data key, [`crate::store::crypto::vault`]);
//! - `staged` (key path `template_id`): one staged file per template, bytes as a `Uint8Array`.
//!
//! With a passphrase every row but `meta`'s is **sealed** (`codec`): `{ id, iv, sealed }`,
//! the plain row's content encrypted with the data key, and the bucket digest is keyed, so
//! neither values nor row keys say anything about the CRM. The version-1 unique indexes
//! (`client_reference`, `ssn`, `reference`) still exist in the schema; no row written since
//! version 2 has the properties they index, and setting a passphrase rewrites every row.
//!
//! Why a log: in Chromium every stored row costs about 0.2 ms whatever its size, and a
//! bucket holds hundreds of records, so rewriting the buckets an import touches costs seconds
//! at 100,000 entries. A commit writes one segment row and the `meta` row instead. Loading
//! reads the base and replays the segments; [`IndexedDbStore::compact`] folds the segments
//! into the buckets they touch when the log grows long (at load, or when the caller is idle).
//!
//! The store keeps a **mirror** (`mirror`): the whole CRM with its revisions, read once and
//! kept up to date. Every write is **prepared, then written if nothing moved**: the mirror is
//! caught up with what other tabs committed (reading, then opening their segments), the batch
//! is checked against it (its expectations, its identities moved onto the stored counters,
//! the uniqueness rules) and its segment sealed — all outside any transaction, because a
//! readwrite transaction commits itself as soon as anything but an IndexedDB request is
//! awaited, and WebCrypto is promise-based. Then one readwrite transaction reads `meta` and
//! writes only if the sequence numbers and the data key are those the write was prepared on;
//! otherwise it writes nothing and the write is prepared again (the Web Lock the worker takes
//! makes that rare). IndexedDB serializes readwrite transactions on the same stores, so the
//! check that nothing moved happens inside the transaction that writes.
//!
//! Most of the work goes through `indexed_db_futures` 0.6. Key-range reads, the
//! `versionchange`/`close` listeners and index creation of the version-1 schema use `web_sys`
//! directly (the crate is built without those features).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use futures::lock::Mutex;
use indexed_db_futures::database::{Database, VersionChangeEvent};
use indexed_db_futures::error::{Error as IdbError, OpenDbError};
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use indexed_db_futures::KeyPath;
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::{rebase_refusal, Committed, CrmStore, Refreshed, StagedFile, StoreError, StoredCrm};
use crate::core::model::{ChangeSet, Crm, CrmEntry, EntityKind, Record, RecordKey};
use crate::core::revision::{
    check, check_counters, rebase_identities, CheckedBatch, Revision, Revisions, Staleness,
};
use crate::store::crypto::vault::{Keys, VaultRecord};

mod codec;
mod mirror;
mod rows;
mod vault;
mod write;
use codec::*;
use mirror::*;
pub use rows::bucket_number;
use rows::*;

/// The schema version this build writes. Raise it and add a step to `upgrade` to change
/// the schema; another tab still on the old version is told to reload.
pub const SCHEMA_VERSION: u32 = 4;

/// The object store of staged files.
pub const STAGED_STORE: &str = "staged";

/// The object store of the store's bookkeeping (version 2 on).
pub const META_STORE: &str = "meta";

/// The object store of the commit log (version 2 on).
pub const SEGMENTS_STORE: &str = "segments";

/// The key of the `meta` row holding the sequence numbers.
const SEQUENCE_ROW: &str = "sequence";

/// The key of the `meta` row holding the vault (version 3 on, once a passphrase is set).
const VAULT_ROW: &str = "vault";

/// The unique indexes of the version-1 schema. Version 2 checks uniqueness against the
/// mirror; the indexes stay (dropping them would need the upgrade transaction, which the
/// database crate does not expose) but are fed nothing.
const V1_UNIQUE_INDEXES: [(EntityKind, &str); 3] =
    [(EntityKind::Entry, "client_reference"), (EntityKind::Entry, "ssn"), (EntityKind::Case, "reference")];

/// The number of buckets per entity kind. A record lives in bucket `digest(id) % BUCKETS`:
/// FNV-1a without a passphrase, SipHash-2-4 under the index key with one.
pub const BUCKETS: u32 = 1024;

/// The key of the row in which version 1 kept a store's record count (skipped when read).
const V1_COUNT_ROW: &str = "~count";

/// The log is folded into the base at load once it holds this many segments…
pub const COMPACT_SEGMENTS: usize = 64;
/// …or this many records.
pub const COMPACT_RECORDS: usize = 60_000;

/// How many times a write is prepared again when other tabs keep writing between its
/// preparation and its transaction.
const ATTEMPTS: usize = 8;

/// The sequence numbers kept in the `meta` row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sequence {
    /// The sequence number of the last commit.
    n: Revision,
    /// The sequence number of the last `replace_all`.
    replaced_at: Revision,
    /// Segments up to this sequence are folded into the base.
    compacted_through: Revision,
}

/// What the `meta` store says: the sequence numbers, and the id of the data key (`None`: the
/// copy is unencrypted). A write prepared on one state is written only in that state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MetaState {
    sequence: Sequence,
    key_id: Option<String>,
}

/// The CRM copy in one IndexedDB database.
pub struct IndexedDbStore {
    db: Database,
    /// Set once the connection is closed under us (versionchange, or the browser closed it).
    closed: Rc<Cell<bool>>,
    /// The mirror, loaded on first use; the lock serializes this store's operations on the CRM.
    mirror: Mutex<Option<Mirror>>,
    /// The keys, while unlocked (`None`: never unlocked here, or locked).
    keys: RefCell<Option<Keys>>,
    /// The `versionchange` and `close` handlers, kept alive while they are installed.
    _on_version_change: Closure<dyn FnMut(web_sys::Event)>,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for IndexedDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedDbStore")
            .field("name", &self.db.name())
            .field("closed", &self.closed.get())
            .field("unlocked", &self.keys.borrow().is_some())
            .finish()
    }
}

/// Too many attempts: other tabs kept writing.
fn busy() -> StoreError {
    StoreError::Unavailable(
        "other tabs kept writing to the CRM copy while this one tried to; nothing was written. Try again"
            .into(),
    )
}
impl IndexedDbStore {
    /// Opens (creating or upgrading) the database `db_name`.
    ///
    /// `on_version_change` runs once if the connection is later closed under us: another tab
    /// upgrades or deletes the database (this store closes its connection at once so that the
    /// other tab is not blocked), or the browser closes it. Every later call then fails with
    /// [`StoreError::ConnectionClosed`]; the UI should ask the operator to reload.
    pub async fn open(db_name: &str, on_version_change: impl Fn() + 'static) -> Result<Self, StoreError> {
        Self::open_with_version(db_name, SCHEMA_VERSION, on_version_change).await
    }

    /// [`open`](Self::open) at an explicit version (tests use it to provoke a blocked upgrade).
    #[doc(hidden)]
    pub async fn open_with_version(
        db_name: &str,
        version: u32,
        on_version_change: impl Fn() + 'static,
    ) -> Result<Self, StoreError> {
        let (blocked_tx, blocked_rx) = oneshot::channel::<()>();
        let request = Database::open(db_name)
            .with_version(version)
            .with_on_blocked(move |_: VersionChangeEvent| {
                let _ = blocked_tx.send(());
                Ok(())
            })
            .with_on_upgrade_needed(move |event: VersionChangeEvent, db: Database| {
                let old = version_number(event.old_version());
                let new = event.new_version().map_or(version, version_number);
                upgrade(&db, old, new)
            })
            .build()
            .map_err(open_error)?;

        let db = match select(request, blocked_rx).await {
            Either::Left((opened, _)) => opened.map_err(open_error)?,
            Either::Right((_, pending)) => {
                // Another connection did not close on `versionchange`. Give up now, but keep
                // the request (and its upgrade handler) alive: when the other tab goes away,
                // the upgrade completes and this connection is closed at once.
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(db) = pending.await {
                        db.close();
                    }
                });
                return Err(StoreError::UpgradeBlocked);
            }
        };

        let closed = Rc::new(Cell::new(false));
        let notify: Rc<dyn Fn()> = Rc::new(on_version_change);
        let on_version_change = closing_listener(&closed, &notify, true);
        let on_close = closing_listener(&closed, &notify, false);
        let raw: &web_sys::IdbDatabase = db.as_sys();
        raw.set_onversionchange(Some(on_version_change.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(IndexedDbStore {
            db,
            closed,
            mirror: Mutex::new(None),
            keys: RefCell::new(None),
            _on_version_change: on_version_change,
            _on_close: on_close,
        })
    }

    /// The database name.
    pub fn name(&self) -> String {
        self.db.name()
    }

    fn transaction(&self, stores: &[&str], mode: TransactionMode) -> Result<Transaction<'_>, StoreError> {
        if self.closed.get() {
            return Err(StoreError::ConnectionClosed);
        }
        match self.db.transaction(stores).with_mode(mode).build() {
            Ok(tx) => Ok(tx),
            // `IDBDatabase.transaction` throws InvalidStateError once the connection is closing.
            Err(e) if dom_name(&e).as_deref() == Some("InvalidStateError") => {
                Err(StoreError::ConnectionClosed)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    fn object_store<'t>(&self, tx: &'t Transaction<'_>, name: &str) -> Result<ObjectStore<'t>, StoreError> {
        tx.object_store(name).map_err(|e| self.error(e))
    }

    /// Commits `tx`; on failure, names the cause the browser recorded on the transaction.
    async fn finish(&self, tx: Transaction<'_>) -> Result<(), StoreError> {
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        tx.commit().await.map_err(|e| self.failure(&raw, e))
    }

    /// Maps a failure inside a transaction, preferring the transaction's own error: a request
    /// that fails after another one reports only AbortError, and a full disk aborts the
    /// transaction without any request failing.
    fn failure(&self, raw: &web_sys::IdbTransaction, error: IdbError) -> StoreError {
        if let Some(cause) = raw.error() {
            if cause.name() != "AbortError" {
                return self.dom_error(&cause.name(), &cause.message());
            }
        }
        self.error(error)
    }

    fn error(&self, error: IdbError) -> StoreError {
        match &error {
            IdbError::DomException(e) => {
                let e: web_sys::DomException = e.clone().into();
                self.dom_error(&e.name(), &e.message())
            }
            _ if self.closed.get() => StoreError::ConnectionClosed,
            other => StoreError::Unavailable(other.to_string()),
        }
    }

    fn js_error(&self, error: JsValue) -> StoreError {
        match error.dyn_into::<web_sys::DomException>() {
            Ok(e) => self.dom_error(&e.name(), &e.message()),
            Err(other) if self.closed.get() => {
                let _ = other;
                StoreError::ConnectionClosed
            }
            Err(other) => StoreError::Unavailable(format!("{other:?}")),
        }
    }

    fn dom_error(&self, name: &str, message: &str) -> StoreError {
        match name {
            "QuotaExceededError" => StoreError::QuotaExceeded { usage: None },
            "ConstraintError" => {
                StoreError::Constraint(format!("the browser refused a duplicate value ({message})"))
            }
            _ if self.closed.get() => StoreError::ConnectionClosed,
            "InvalidStateError" | "TransactionInactiveError" => StoreError::ConnectionClosed,
            _ => StoreError::Unavailable(format!("{name}: {message}")),
        }
    }

    /// Reads `meta`'s two rows in `tx` (IndexedDB requests only, so a readwrite transaction
    /// stays open).
    async fn meta_state(
        &self,
        raw: &web_sys::IdbTransaction,
        meta: &ObjectStore<'_>,
    ) -> Result<MetaState, StoreError> {
        let sequence = meta.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let vault = meta.get::<JsValue, _, _>(VAULT_ROW).primitive().map_err(|e| self.error(e))?;
        let sequence =
            read_sequence(sequence.await.map_err(|e| self.failure(raw, e))?.as_ref(), &RowKeys::new())?;
        let key_id = read_vault_key_id(vault.await.map_err(|e| self.failure(raw, e))?.as_ref())?;
        Ok(MetaState { sequence, key_id })
    }

    /// What `meta` says now (a short read-only transaction).
    async fn meta_now(&self) -> Result<MetaState, StoreError> {
        let tx = self.transaction(&[META_STORE], TransactionMode::Readonly)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        self.meta_state(&raw, &meta).await
    }

    /// How rows are read and written for the data key `key_id` names: plain without one,
    /// sealed when this store holds that key, [`StoreError::Locked`] otherwise.
    fn codec_for(&self, key_id: Option<&str>) -> Result<Codec, StoreError> {
        let Some(key_id) = key_id else { return Ok(Codec::Plain) };
        match self.keys.borrow().as_ref() {
            Some(keys) if keys.key_id() == key_id => Ok(Codec::Sealed(keys.clone())),
            _ => Err(StoreError::Locked),
        }
    }

    /// Opens one readwrite transaction on `meta` and `stores`, reads `meta` and, only if
    /// `unmoved` holds for it, issues `write`'s requests (it gets `meta` first, then `stores`
    /// in order) and commits. `Ok(false)`: something moved, nothing was written.
    async fn write_if(
        &self,
        stores: &[&str],
        unmoved: impl FnOnce(&MetaState) -> bool,
        write: impl FnOnce(&[web_sys::IdbObjectStore]) -> Result<(), JsValue>,
    ) -> Result<bool, StoreError> {
        let mut names = vec![META_STORE];
        names.extend_from_slice(stores);
        let tx = self.transaction(&names, TransactionMode::Readwrite)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let mut handles = Vec::with_capacity(names.len());
        for name in &names {
            handles.push(self.object_store(&tx, name)?);
        }
        let state = self.meta_state(&raw, &handles[0]).await?;
        if !unmoved(&state) {
            // Dropped uncommitted: the transaction is aborted, and it wrote nothing anyway.
            return Ok(false);
        }
        let raw_stores: Vec<web_sys::IdbObjectStore> =
            handles.iter().map(|s| (*s.as_sys()).clone()).collect();
        write(&raw_stores).map_err(|e| self.js_error(e))?;
        drop(handles);
        self.finish(tx).await?;
        Ok(true)
    }
}

impl Drop for IndexedDbStore {
    fn drop(&mut self) {
        let raw: &web_sys::IdbDatabase = self.db.as_sys();
        raw.set_onversionchange(None);
        raw.set_onclose(None);
        raw.close();
        // The closures are dropped after this, once no handler refers to them.
    }
}

/// Deletes a whole database (tests; a "forget this browser's copy" action, the way back when
/// a passphrase is forgotten). Open stores on it close themselves when asked.
pub async fn delete_database(name: &str) -> Result<(), StoreError> {
    let request = Database::delete_by_name(name).map_err(open_error)?;
    request.await.map_err(|e| open_error(OpenDbError::Base(e)))
}

impl CrmStore for IndexedDbStore {
    async fn load_all(&self) -> Result<StoredCrm, StoreError> {
        // Read from the database, not the mirror: this is what a reload would see.
        let mirror = self.read_everything().await?;
        Ok(Rc::unwrap_or_clone(mirror.stored))
    }

    async fn current(&self) -> Result<Rc<StoredCrm>, StoreError> {
        let mut guard = self.mirror.lock().await;
        let loaded = guard.is_none();
        let (mirror, _) = self.current_mirror(&mut guard).await?;
        let stored = Rc::clone(&mirror.stored);
        let compact = loaded && mirror.wants_compaction();
        drop(guard);
        if compact {
            self.compact().await?;
        }
        Ok(stored)
    }

    async fn refresh(&self) -> Result<Refreshed, StoreError> {
        let mut guard = self.mirror.lock().await;
        let (_, refreshed) = self.current_mirror(&mut guard).await?;
        Ok(refreshed)
    }

    async fn sequence(&self) -> Result<Revision, StoreError> {
        let state = self.meta_now().await?;
        self.codec_for(state.key_id.as_deref())?;
        Ok(state.sequence.n)
    }

    async fn replace_all(&self, crm: &Crm) -> Result<Revision, StoreError> {
        self.write_everything(crm).await
    }

    async fn commit(&self, batch: &CheckedBatch) -> Result<Committed, StoreError> {
        self.write_batch(batch).await
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let stored = self.current().await?;
        Ok(stored.crm.get(key))
    }

    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<(Record, Revision)>>, StoreError> {
        let stored = self.current().await?;
        Ok(keys
            .iter()
            .map(|k| {
                let revision = match stored.revisions.get(k) {
                    None if k.kind == EntityKind::Counters => Some(0),
                    found => found,
                }?;
                stored.crm.get(k).map(|r| (r, revision))
            })
            .collect())
    }

    async fn count(&self, kind: EntityKind) -> Result<usize, StoreError> {
        Ok(self.current().await?.crm.count(kind))
    }

    async fn find_entry_by_client_reference(
        &self,
        client_reference: &str,
    ) -> Result<Option<CrmEntry>, StoreError> {
        let stored = self.current().await?;
        Ok(stored
            .crm
            .entries
            .values()
            .find(|e| e.client_reference.as_deref() == Some(client_reference))
            .cloned())
    }

    async fn put_staged(&self, file: &StagedFile) -> Result<(), StoreError> {
        for _ in 0..ATTEMPTS {
            let state = self.meta_now().await?;
            let row = self.codec_for(state.key_id.as_deref())?.staged_row(file).await?;
            let same_key = |now: &MetaState| now.key_id == state.key_id;
            if self.write_if(&[STAGED_STORE], same_key, |s| s[1].put(&row).map(drop)).await? {
                return Ok(());
            }
        }
        Err(busy())
    }

    async fn get_staged(&self, template_id: &str) -> Result<Option<StagedFile>, StoreError> {
        let tx = self.transaction(&[META_STORE, STAGED_STORE], TransactionMode::Readonly)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        let store = self.object_store(&tx, STAGED_STORE)?;
        let request = store.get::<JsValue, _, _>(template_id).primitive().map_err(|e| self.error(e))?;
        let state = self.meta_state(&raw, &meta).await?;
        let row = request.await.map_err(|e| self.error(e))?;
        drop(store);
        drop(meta);
        drop(tx);
        let codec = self.codec_for(state.key_id.as_deref())?;
        match row {
            Some(row) => codec.read_staged(template_id, &row).await.map(Some),
            None => Ok(None),
        }
    }

    async fn delete_staged(&self, template_id: &str) -> Result<(), StoreError> {
        let key = JsValue::from_str(template_id);
        for _ in 0..ATTEMPTS {
            let state = self.meta_now().await?;
            self.codec_for(state.key_id.as_deref())?;
            let same_key = |now: &MetaState| now.key_id == state.key_id;
            if self.write_if(&[STAGED_STORE], same_key, |s| s[1].delete(&key).map(drop)).await? {
                return Ok(());
            }
        }
        Err(busy())
    }
}
