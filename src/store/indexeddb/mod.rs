//! The IndexedDB [`CrmStore`] (browser only): the local CRM copy survives reloads and never
//! leaves the machine.
//!
//! Schema ([`SCHEMA_VERSION`] 2):
//! - one object store per [`EntityKind::store_name`] (key path `id`) holding the **base**: the
//!   records in buckets, a record living in bucket `fnv1a(id) % BUCKETS`, the bucket row
//!   `{ id: "b0042", json: "[<Record JSON>, …]", revs: "[<revision>, …]" }` (`revs` parallel to
//!   `json`; rows written by version 1 have none, their records read as revision 0, and may
//!   carry `n` and unique-index arrays that are no longer read);
//! - `segments` (key path `id`, the commit's sequence number): the **log**, one row per commit
//!   since the last compaction, `{ id, json: "<ChangeSet JSON>" }`;
//! - `meta` (key path `id`): the row `sequence` with the last commit's sequence number `n`,
//!   `replaced_at` (the sequence of the last `replace_all`) and `compacted_through` (segments
//!   up to it are folded into the base and deleted);
//! - `staged` (key path `template_id`): one staged file per template, bytes as a `Uint8Array`.
//!
//! Why a log: in Chromium every stored row costs about 0.2 ms whatever its size, and a
//! bucket holds hundreds of records, so rewriting the buckets an import touches costs seconds
//! at 100,000 entries. A commit writes one segment row and the `meta` row instead. Loading
//! reads the base and replays the segments; [`IndexedDbStore::compact`] folds the segments
//! into the buckets they touch when the log grows long (at load, or when the caller is idle).
//!
//! The store keeps a **mirror**: the whole CRM with its revisions, read once and kept up to
//! date. A commit opens one readwrite transaction on `meta` and `segments`, reads `meta`,
//! replays the segments other tabs wrote since the mirror's sequence (so the mirror is current
//! inside the transaction), moves the batch's new identities onto the stored counters, checks
//! its expectations and the uniqueness rules (Client Reference, SSN, case reference) against
//! the mirror, and writes the segment and `meta`. IndexedDB serializes readwrite transactions
//! on the same stores, so two tabs' commits can never interleave; the check happens inside the
//! transaction that writes. Nothing but IndexedDB requests is awaited while a transaction is
//! open, so the browser cannot auto-commit half a batch.
//!
//! Most of the work goes through `indexed_db_futures` 0.6. Key-range reads, the
//! `versionchange`/`close` listeners and index creation of the version-1 schema use `web_sys`
//! directly (the crate is built without those features).

use std::cell::Cell;
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

use super::{Committed, CrmStore, Refreshed, StagedFile, StoreError, StoredCrm};
use crate::core::model::{ChangeSet, Crm, CrmEntry, EntityKind, Record, RecordKey};
use crate::core::revision::{check, rebase_identities, CheckedBatch, Revision, Revisions, Staleness};

mod rows;
pub use rows::bucket_number;
use rows::*;

/// The schema version this build writes. Raise it and add a step to `upgrade` to change
/// the schema; another tab still on the old version is told to reload.
pub const SCHEMA_VERSION: u32 = 2;

/// The object store of staged files.
pub const STAGED_STORE: &str = "staged";

/// The object store of the store's bookkeeping (version 2 on).
pub const META_STORE: &str = "meta";

/// The object store of the commit log (version 2 on).
pub const SEGMENTS_STORE: &str = "segments";

/// The key of the `meta` row holding the sequence numbers.
const SEQUENCE_ROW: &str = "sequence";

/// The unique indexes of the version-1 schema. Version 2 checks uniqueness against the
/// mirror; the indexes stay (dropping them would need the upgrade transaction) but are fed
/// nothing.
const V1_UNIQUE_INDEXES: [(EntityKind, &str); 3] =
    [(EntityKind::Entry, "client_reference"), (EntityKind::Entry, "ssn"), (EntityKind::Case, "reference")];

/// The number of buckets per entity kind. A record lives in bucket `fnv1a(id) % BUCKETS`.
pub const BUCKETS: u32 = 1024;

/// The key of the row in which version 1 kept a store's record count (skipped when read).
const V1_COUNT_ROW: &str = "~count";

/// The log is folded into the base at load once it holds this many segments…
pub const COMPACT_SEGMENTS: usize = 64;
/// …or this many records.
pub const COMPACT_RECORDS: usize = 60_000;

/// The sequence numbers kept in the `meta` row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sequence {
    /// The last commit's sequence number (0 before any).
    n: Revision,
    /// The sequence number of the last `replace_all`.
    replaced_at: Revision,
    /// Segments up to this sequence are folded into the base.
    compacted_through: Revision,
}

/// The whole CRM as stored, kept in memory and up to date, with what compaction needs.
#[derive(Debug)]
struct Mirror {
    stored: Rc<StoredCrm>,
    sequence: Sequence,
    /// Segments in the log and the records they hold.
    segments: usize,
    segment_records: usize,
    /// Buckets whose base row is older than the log (what compaction rewrites).
    dirty: BTreeSet<(EntityKind, u32)>,
}

impl Mirror {
    /// Follows one committed segment.
    fn replay(&mut self, sequence: Revision, changes: &ChangeSet) -> Result<(), StoreError> {
        let stored = Rc::make_mut(&mut self.stored);
        stored.crm.apply_changes(changes).map_err(|v| {
            corrupt(SEGMENTS_STORE, &sequence.to_string(), format!("the logged commit breaks a rule: {v}"))
        })?;
        stored.revisions.apply(changes, sequence);
        stored.sequence = sequence;
        self.sequence.n = sequence;
        self.segments += 1;
        self.segment_records += changes.puts.len() + changes.deletes.len();
        self.dirty.extend(changes.deletes.iter().map(|k| (k.kind, bucket_number(&k.id))));
        self.dirty.extend(changes.puts.iter().map(|r| (r.kind(), bucket_number(&r.id()))));
        Ok(())
    }

    fn wants_compaction(&self) -> bool {
        self.segments >= COMPACT_SEGMENTS || self.segment_records >= COMPACT_RECORDS
    }
}

/// The CRM copy in one IndexedDB database.
pub struct IndexedDbStore {
    db: Database,
    /// Set once the connection is closed under us (versionchange, or the browser closed it).
    closed: Rc<Cell<bool>>,
    /// The mirror, loaded on first use; the lock serializes this store's operations.
    mirror: Mutex<Option<Mirror>>,
    /// The `versionchange` and `close` handlers, kept alive while they are installed.
    _on_version_change: Closure<dyn FnMut(web_sys::Event)>,
    _on_close: Closure<dyn FnMut(web_sys::Event)>,
}

impl std::fmt::Debug for IndexedDbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedDbStore")
            .field("name", &self.db.name())
            .field("closed", &self.closed.get())
            .finish()
    }
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

    /// Reads the whole database in one transaction: the base, replayed with every segment.
    async fn read_everything(&self) -> Result<Mirror, StoreError> {
        let mut names: Vec<&str> = EntityKind::ALL.iter().map(|k| k.store_name()).collect();
        names.push(META_STORE);
        names.push(SEGMENTS_STORE);
        let tx = self.transaction(&names, TransactionMode::Readonly)?;
        let meta = self.object_store(&tx, META_STORE)?;
        let sequence_request =
            meta.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        let segment_request = segments.get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
        let mut requests = Vec::with_capacity(EntityKind::ALL.len());
        for kind in EntityKind::ALL {
            let store = self.object_store(&tx, kind.store_name())?;
            let request = store.get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
            requests.push((kind, request));
        }
        let keys = RowKeys::new();
        let sequence = read_sequence(sequence_request.await.map_err(|e| self.error(e))?.as_ref(), &keys)?;
        let mut stored = StoredCrm { sequence: sequence.compacted_through, ..StoredCrm::default() };
        for (kind, request) in requests {
            let rows = request.await.map_err(|e| self.error(e))?;
            for row in rows {
                let row = row.map_err(|e| self.error(e))?;
                if js_sys::Reflect::get(&row, &keys.id).ok().and_then(|v| v.as_string()).as_deref()
                    == Some(V1_COUNT_ROW)
                {
                    continue;
                }
                let (_, records) = parse_bucket(kind, &row, &keys)?;
                for (record, revision) in records {
                    stored.revisions.set(record.key(), revision);
                    stored.crm.put(record);
                }
            }
        }
        let mut mirror = Mirror {
            stored: Rc::new(stored),
            sequence: Sequence { n: sequence.compacted_through, ..sequence },
            segments: 0,
            segment_records: 0,
            dirty: BTreeSet::new(),
        };
        let mut logged = Vec::new();
        for row in segment_request.await.map_err(|e| self.error(e))? {
            let row = row.map_err(|e| self.error(e))?;
            logged.push(parse_segment(&row, &keys)?);
        }
        logged.sort_by_key(|(n, _)| *n);
        for (n, changes) in logged {
            if n > sequence.compacted_through && n <= sequence.n {
                mirror.replay(n, &changes)?;
            }
        }
        if mirror.sequence.n != sequence.n {
            // A segment is missing from the log: the copy cannot be trusted.
            return Err(corrupt(
                SEGMENTS_STORE,
                &sequence.n.to_string(),
                format!("the log ends at commit {} but the database says {}", mirror.sequence.n, sequence.n),
            ));
        }
        Rc::make_mut(&mut mirror.stored).sequence = sequence.n;
        Ok(mirror)
    }

    /// Brings `mirror` up to the database: replays the segments written since (by another
    /// tab), or reads everything again if a replacement or a compaction passed it by.
    async fn catch_up(&self, mirror: &mut Option<Mirror>) -> Result<Refreshed, StoreError> {
        let tx = self.transaction(&[META_STORE, SEGMENTS_STORE], TransactionMode::Readonly)?;
        let meta = self.object_store(&tx, META_STORE)?;
        let request = meta.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let keys = RowKeys::new();
        let sequence = read_sequence(request.await.map_err(|e| self.error(e))?.as_ref(), &keys)?;
        let Some(current) = mirror.as_mut() else {
            drop(meta);
            drop(tx);
            let fresh = self.read_everything().await?;
            let to = fresh.sequence.n;
            *mirror = Some(fresh);
            return Ok(Refreshed { from: 0, to, changed: Vec::new(), replaced: true });
        };
        let from = current.sequence.n;
        if sequence.n == from {
            return Ok(Refreshed { from, to: from, changed: Vec::new(), replaced: false });
        }
        if sequence.replaced_at > from || sequence.compacted_through > from || sequence.n < from {
            drop(meta);
            drop(tx);
            let fresh = self.read_everything().await?;
            let to = fresh.sequence.n;
            *mirror = Some(fresh);
            return Ok(Refreshed { from, to, changed: Vec::new(), replaced: true });
        }
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        let logged = self.read_segments_after(&segments, from).await?;
        let mut changed = BTreeSet::new();
        for (n, changes) in logged {
            if n > from && n <= sequence.n {
                changed.extend(changes.deletes.iter().cloned());
                changed.extend(changes.puts.iter().map(Record::key));
                current.replay(n, &changes)?;
            }
        }
        Ok(Refreshed {
            from,
            to: current.sequence.n,
            changed: changed.into_iter().collect(),
            replaced: false,
        })
    }

    /// The segments with a sequence number above `after`, in order.
    async fn read_segments_after(
        &self,
        segments: &ObjectStore<'_>,
        after: Revision,
    ) -> Result<Vec<(Revision, ChangeSet)>, StoreError> {
        let range = web_sys::IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(after as f64), true)
            .map_err(|e| self.js_error(e))?;
        let request = segments.as_sys().get_all_with_key(&range).map_err(|e| self.js_error(e))?;
        let rows = await_request(&request).await.map_err(|e| self.js_error(e))?;
        let rows: js_sys::Array =
            rows.dyn_into().map_err(|_| corrupt(SEGMENTS_STORE, "?", "the log could not be read"))?;
        let keys = RowKeys::new();
        let mut logged = Vec::with_capacity(rows.length() as usize);
        for row in rows.iter() {
            logged.push(parse_segment(&row, &keys)?);
        }
        logged.sort_by_key(|(n, _)| *n);
        Ok(logged)
    }

    /// The mirror, loaded if need be and caught up with the database.
    async fn current_mirror<'m>(
        &self,
        mirror: &'m mut Option<Mirror>,
    ) -> Result<(&'m mut Mirror, Refreshed), StoreError> {
        let refreshed = self.catch_up(mirror).await?;
        match mirror.as_mut() {
            Some(m) => Ok((m, refreshed)),
            None => Err(StoreError::Unavailable("the CRM copy could not be read".into())),
        }
    }

    /// Folds the log into the base: rewrites every bucket a segment touched from the mirror
    /// and deletes the segments, in one transaction; does nothing if another tab committed
    /// in between (it will be done later). Returns whether it compacted.
    pub async fn compact(&self) -> Result<bool, StoreError> {
        let mut guard = self.mirror.lock().await;
        let (mirror, _) = self.current_mirror(&mut guard).await?;
        if mirror.segments == 0 {
            return Ok(false);
        }
        // Serialize before the transaction opens, so it stays short.
        let mut contents = Vec::with_capacity(mirror.dirty.len());
        for ((kind, number), records) in records_in_buckets(&mirror.stored.crm, &mirror.dirty) {
            let revisions: Vec<Revision> =
                records.iter().map(|r| mirror.stored.revisions.get(&r.key()).unwrap_or(0)).collect();
            contents.push((kind, number, bucket_json(kind, &records)?, revisions));
        }
        let kinds: BTreeSet<EntityKind> = mirror.dirty.iter().map(|(k, _)| *k).collect();
        let mut names: Vec<&str> = kinds.iter().map(|k| k.store_name()).collect();
        names.push(META_STORE);
        names.push(SEGMENTS_STORE);
        let tx = self.transaction(&names, TransactionMode::Readwrite)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        let mut stores = BTreeMap::new();
        for kind in &kinds {
            stores.insert(*kind, self.object_store(&tx, kind.store_name())?);
        }
        let keys = RowKeys::new();
        let request = meta.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let sequence = read_sequence(request.await.map_err(|e| self.failure(&raw, e))?.as_ref(), &keys)?;
        if sequence != mirror.sequence {
            return Ok(false);
        }
        let mut rows = Vec::with_capacity(contents.len());
        for (kind, number, content, revisions) in &contents {
            rows.push((
                *kind,
                *number,
                (content.n > 0).then(|| bucket_row(*kind, *number, content, revisions, &keys)).transpose()?,
            ));
        }
        let through = Sequence { compacted_through: sequence.n, ..sequence };
        let meta_row = sequence_row(through, &keys)?;
        let upper = web_sys::IdbKeyRange::upper_bound(&JsValue::from_f64(sequence.n as f64))
            .map_err(|e| self.js_error(e))?;
        let issue = || -> Result<(), JsValue> {
            for (kind, number, row) in &rows {
                let Some(store) = stores.get(kind) else { continue };
                match row {
                    Some(row) => drop(store.as_sys().put(row)?),
                    None => drop(store.as_sys().delete(&JsValue::from_str(&bucket_key(*number)))?),
                }
            }
            drop(segments.as_sys().delete(&upper)?);
            drop(meta.as_sys().put(&meta_row)?);
            Ok(())
        };
        issue().map_err(|e| self.js_error(e))?;
        drop(stores);
        drop(segments);
        drop(meta);
        self.finish(tx).await?;
        mirror.sequence = through;
        mirror.segments = 0;
        mirror.segment_records = 0;
        mirror.dirty.clear();
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

/// Deletes a whole database (tests; a "forget this browser's copy" action). Open stores on it
/// close themselves when asked.
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
        let tx = self.transaction(&[META_STORE], TransactionMode::Readonly)?;
        let store = self.object_store(&tx, META_STORE)?;
        let request = store.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let row = request.await.map_err(|e| self.error(e))?;
        Ok(read_sequence(row.as_ref(), &RowKeys::new())?.n)
    }

    async fn replace_all(&self, crm: &Crm) -> Result<Revision, StoreError> {
        let mut guard = self.mirror.lock().await;
        // Everything is checked and serialized before the transaction opens, so it stays short.
        Crm::default()
            .check_unique(&ChangeSet { puts: crm.records(), deletes: Vec::new() })
            .map_err(|v| StoreError::Constraint(v.to_string()))?;
        let mut buckets: BTreeMap<(EntityKind, u32), Vec<Record>> = BTreeMap::new();
        for record in crm.records() {
            buckets.entry((record.kind(), bucket_number(&record.id()))).or_default().push(record);
        }
        let mut contents = Vec::with_capacity(buckets.len());
        for ((kind, number), bucket) in &buckets {
            contents.push((*kind, *number, bucket_json(*kind, bucket)?));
        }
        drop(buckets);

        let mut names: Vec<&str> = EntityKind::ALL.iter().map(|k| k.store_name()).collect();
        names.push(META_STORE);
        names.push(SEGMENTS_STORE);
        let tx = self.transaction(&names, TransactionMode::Readwrite)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        let mut stores = BTreeMap::new();
        for kind in EntityKind::ALL {
            stores.insert(kind, self.object_store(&tx, kind.store_name())?);
        }
        let keys = RowKeys::new();
        let request = meta.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let old = read_sequence(request.await.map_err(|e| self.failure(&raw, e))?.as_ref(), &keys)?;
        let sequence = old.n + 1;
        let mut rows = Vec::with_capacity(contents.len());
        for (kind, number, content) in &contents {
            rows.push((
                *kind,
                bucket_row(*kind, *number, content, &vec![sequence; content.n as usize], &keys)?,
            ));
        }
        let now = Sequence { n: sequence, replaced_at: sequence, compacted_through: sequence };
        let meta_row = sequence_row(now, &keys)?;
        let issue = || -> Result<(), IdbError> {
            for store in stores.values() {
                drop(store.clear()?);
            }
            drop(segments.clear()?);
            for (kind, row) in &rows {
                if let Some(store) = stores.get(kind) {
                    drop(store.put(row).primitive()?);
                }
            }
            drop(meta.put(&meta_row).primitive()?);
            Ok(())
        };
        issue().map_err(|e| self.failure(&raw, e))?;
        drop(stores);
        drop(segments);
        drop(meta);
        if let Err(e) = self.finish(tx).await {
            *guard = None;
            return Err(e);
        }
        let records = crm.records();
        let stored =
            StoredCrm { crm: crm.clone(), revisions: Revisions::all_at(&records, sequence), sequence };
        *guard = Some(Mirror {
            stored: Rc::new(stored),
            sequence: now,
            segments: 0,
            segment_records: 0,
            dirty: BTreeSet::new(),
        });
        Ok(sequence)
    }

    async fn commit(&self, batch: &CheckedBatch) -> Result<Committed, StoreError> {
        let mut guard = self.mirror.lock().await;
        // Load the mirror first (outside the writing transaction) if this store has none yet.
        if guard.is_none() {
            *guard = Some(self.read_everything().await?);
        }
        let Some(mirror) = guard.as_mut() else {
            return Err(StoreError::Unavailable("the CRM copy could not be read".into()));
        };
        let tx = self.transaction(&[META_STORE, SEGMENTS_STORE], TransactionMode::Readwrite)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        let keys = RowKeys::new();
        // Only IndexedDB requests are awaited from here on, so the transaction stays alive.

        // 1. Catch up with what other tabs committed, inside this transaction.
        let request = meta.get::<JsValue, _, _>(SEQUENCE_ROW).primitive().map_err(|e| self.error(e))?;
        let stored_sequence =
            read_sequence(request.await.map_err(|e| self.failure(&raw, e))?.as_ref(), &keys)?;
        if stored_sequence.replaced_at > mirror.sequence.n
            || stored_sequence.compacted_through > mirror.sequence.n
            || stored_sequence.n < mirror.sequence.n
        {
            // The mirror cannot be caught up from the log; a batch planned on it cannot hold.
            drop(segments);
            drop(meta);
            drop(tx);
            *guard = None;
            return Err(StoreError::Stale(Staleness::replaced()));
        }
        if stored_sequence.n > mirror.sequence.n {
            for (n, changes) in self.read_segments_after(&segments, mirror.sequence.n).await? {
                if n <= stored_sequence.n {
                    mirror.replay(n, &changes)?;
                }
            }
            if mirror.sequence.n != stored_sequence.n {
                *guard = None;
                return Err(corrupt(
                    SEGMENTS_STORE,
                    &stored_sequence.n.to_string(),
                    "a logged commit is missing",
                ));
            }
        }

        // 2. The batch's identities, its expectations and the uniqueness rules.
        if stored_sequence.replaced_at > batch.base {
            return Err(StoreError::Stale(Staleness::replaced()));
        }
        let mut batch = batch.clone();
        rebase_identities(&mut batch, mirror.stored.crm.counters)
            .map_err(|_| StoreError::Stale(Staleness::replaced()))?;
        let revisions = &mirror.stored.revisions;
        let stale = check(&batch, stored_sequence.replaced_at, |key| match revisions.get(key) {
            None if key.kind == EntityKind::Counters => Some(0),
            found => found,
        });
        if !stale.is_clear() {
            return Err(StoreError::Stale(stale));
        }
        mirror.stored.crm.check_unique(&batch.changes).map_err(|v| StoreError::Constraint(v.to_string()))?;

        // 3. Write the segment and the new sequence number.
        let sequence = stored_sequence.n + 1;
        let segment = segment_row(sequence, &batch.changes, &keys)?;
        let meta_row = sequence_row(Sequence { n: sequence, ..stored_sequence }, &keys)?;
        let issue = || -> Result<(), IdbError> {
            drop(segments.put(&segment).primitive()?);
            drop(meta.put(&meta_row).primitive()?);
            Ok(())
        };
        issue().map_err(|e| self.failure(&raw, e))?;
        drop(segments);
        drop(meta);
        self.finish(tx).await?;

        // 4. Follow the commit in the mirror; if it cannot follow, it is read again next time.
        if mirror.replay(sequence, &batch.changes).is_err() {
            *guard = None;
        }
        Ok(Committed { sequence, changes: batch.changes })
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
        let row = staged_to_row(file)?;
        let tx = self.transaction(&[STAGED_STORE], TransactionMode::Readwrite)?;
        let store = self.object_store(&tx, STAGED_STORE)?;
        drop(store.put(row).primitive().map_err(|e| self.error(e))?);
        drop(store);
        self.finish(tx).await
    }

    async fn get_staged(&self, template_id: &str) -> Result<Option<StagedFile>, StoreError> {
        let tx = self.transaction(&[STAGED_STORE], TransactionMode::Readonly)?;
        let store = self.object_store(&tx, STAGED_STORE)?;
        let request = store.get::<JsValue, _, _>(template_id).primitive().map_err(|e| self.error(e))?;
        match request.await.map_err(|e| self.error(e))? {
            Some(row) => staged_from_row(template_id, &row).map(Some),
            None => Ok(None),
        }
    }

    async fn delete_staged(&self, template_id: &str) -> Result<(), StoreError> {
        let tx = self.transaction(&[STAGED_STORE], TransactionMode::Readwrite)?;
        let store = self.object_store(&tx, STAGED_STORE)?;
        drop(store.delete(template_id).primitive().map_err(|e| self.error(e))?);
        drop(store);
        self.finish(tx).await
    }
}
