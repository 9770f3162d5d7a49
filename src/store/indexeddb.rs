//! The IndexedDB [`CrmStore`] (browser only): the local CRM copy survives reloads and never
//! leaves the machine.
//!
//! Schema ([`SCHEMA_VERSION`] 1): one object store per [`EntityKind::store_name`] with key
//! path `id`, plus `staged` (key path `template_id`, one row per template, the bytes as a
//! `Uint8Array`).
//!
//! Records are stored in buckets, not one row each. A record lives in bucket
//! `fnv1a(id) % BUCKETS` of its kind's store; the bucket row is
//! `{ id: "b0042", json: "[<Record JSON>, …]", n, client_reference: [..], ssn: [..] }`
//! (`reference: [..]` on `cases`), and a `~count` row keeps the store's record count. The
//! arrays feed **unique multi-entry indexes** (`client_reference` and `ssn` on
//! `crm_entries`, `reference` on `cases`), so the database itself still refuses a value held
//! by another bucket; a value repeated inside one bucket is checked in Rust before writing.
//! Absent values are not in the arrays, so they are not indexed ("unique when present").
//! Why buckets: in Chromium every stored row costs about 0.2 ms whatever its size, so one row
//! per record put a 500,000-record snapshot at well over a minute; a few thousand bucket rows
//! take seconds. A commit reads the buckets it touches, changes them in memory, and writes
//! them back.
//!
//! Writes follow the one rule of IndexedDB transactions (DESIGN §9): open one transaction,
//! issue every request, then `commit().await`. Nothing but IndexedDB requests is awaited
//! while a transaction is open, so the browser cannot auto-commit half a batch; a failing
//! request (a unique index refusing a value, a full disk) aborts the whole transaction.
//!
//! Most of the work goes through `indexed_db_futures` 0.6. Three pieces use `web_sys`
//! directly: index creation and index lookups (the crate is built without its `indices`
//! feature), the `versionchange`/`close` listeners (likewise without `version-change`), and
//! awaiting an index request (the crate cannot wrap a request it did not make).

use std::cell::Cell;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
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

use super::{CrmStore, StagedFile, StoreError};
use crate::core::model::{
    ChangeSet, Counters, Crm, CrmEntry, EntityKind, Record, RecordKey, UniquenessViolation,
};

/// The schema version this build writes. Raise it and add a step to `upgrade` to change
/// the schema; another tab still on the old version is told to reload.
pub const SCHEMA_VERSION: u32 = 1;

/// The object store of staged files.
pub const STAGED_STORE: &str = "staged";

/// The unique indexes, by entity kind. Index name = key path = the name used by
/// [`Record::unique_values`].
const UNIQUE_INDEXES: [(EntityKind, &str); 3] =
    [(EntityKind::Entry, "client_reference"), (EntityKind::Entry, "ssn"), (EntityKind::Case, "reference")];

/// The number of buckets per entity kind. A record lives in bucket `fnv1a(id) % BUCKETS`.
pub const BUCKETS: u32 = 1024;

/// The key of the row that holds a store's record count.
const COUNT_ROW: &str = "~count";

/// The CRM copy in one IndexedDB database.
pub struct IndexedDbStore {
    db: Database,
    /// Set once the connection is closed under us (versionchange, or the browser closed it).
    closed: Rc<Cell<bool>>,
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
        Ok(IndexedDbStore { db, closed, _on_version_change: on_version_change, _on_close: on_close })
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

    fn dom_error(&self, name: &str, message: &str) -> StoreError {
        match name {
            "QuotaExceededError" => StoreError::QuotaExceeded,
            "ConstraintError" => {
                StoreError::Constraint(format!("the browser refused a duplicate value ({message})"))
            }
            _ if self.closed.get() => StoreError::ConnectionClosed,
            "InvalidStateError" | "TransactionInactiveError" => StoreError::ConnectionClosed,
            _ => StoreError::Unavailable(format!("{name}: {message}")),
        }
    }

    /// After the database refused a batch with ConstraintError (a value already held in a
    /// bucket the batch did not touch), finds which record holds it, to tell the operator in
    /// the core's words.
    async fn explain_clash(&self, changes: &ChangeSet) -> Option<String> {
        let touched: HashSet<RecordKey> =
            changes.puts.iter().map(Record::key).chain(changes.deletes.iter().cloned()).collect();
        let names: BTreeSet<&str> = UNIQUE_INDEXES.iter().map(|(kind, _)| kind.store_name()).collect();
        let names: Vec<&str> = names.into_iter().collect();
        let tx = self.transaction(&names, TransactionMode::Readonly).ok()?;
        let mut lookups = Vec::new();
        for record in &changes.puts {
            for (index, value) in record.unique_values() {
                let store = self.object_store(&tx, record.kind().store_name()).ok()?;
                let request = store.as_sys().index(index).ok()?.get(&JsValue::from_str(&value)).ok()?;
                lookups.push((record, index, value, request));
            }
        }
        let keys = RowKeys::new();
        for (record, index, value, request) in lookups {
            let Some(row) = present(await_request(&request).await.ok()?) else { continue };
            let (_, stored) = parse_bucket(record.kind(), &row, &keys).ok()?;
            let holder = stored
                .into_iter()
                .find(|r| r.unique_values().iter().any(|(i, v)| *i == index && *v == value));
            let Some(holder) = holder else { continue };
            if holder.id() != record.id() && !touched.contains(&holder.key()) {
                let violation = UniquenessViolation {
                    kind: record.kind(),
                    index,
                    value,
                    first: holder.id(),
                    second: record.id(),
                };
                return Some(violation.to_string());
            }
        }
        None
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

/// A listener that marks the store closed, closes the connection (for `versionchange`) and
/// tells the UI once.
fn closing_listener(
    closed: &Rc<Cell<bool>>,
    notify: &Rc<dyn Fn()>,
    close_connection: bool,
) -> Closure<dyn FnMut(web_sys::Event)> {
    let closed = Rc::clone(closed);
    let notify = Rc::clone(notify);
    Closure::new(move |event: web_sys::Event| {
        if close_connection {
            if let Some(db) = event.target().and_then(|t| t.dyn_into::<web_sys::IdbDatabase>().ok()) {
                db.close();
            }
        }
        if !closed.replace(true) {
            notify();
        }
    })
}

fn version_number(v: f64) -> u32 {
    if v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX) {
        v as u32
    } else {
        0
    }
}

/// Brings the schema from `old` to `new`, one version step at a time.
fn upgrade(db: &Database, old: u32, new: u32) -> indexed_db_futures::Result<()> {
    for from in old..new {
        let step: fn(&Database) -> indexed_db_futures::Result<()> = match from {
            0 => create_schema_v1,
            // 1 => the step to version 2 goes here.
            _ => continue,
        };
        step(db)?;
    }
    Ok(())
}

fn create_schema_v1(db: &Database) -> indexed_db_futures::Result<()> {
    let existing: HashSet<String> = db.object_store_names().collect();
    for kind in EntityKind::ALL {
        let name = kind.store_name();
        if existing.contains(name) {
            continue;
        }
        let store = db.create_object_store(name).with_key_path(KeyPath::One("id")).build()?;
        for (_, index) in UNIQUE_INDEXES.iter().filter(|(k, _)| *k == kind) {
            let params = web_sys::IdbIndexParameters::new();
            params.set_unique(true);
            params.set_multi_entry(true);
            store.as_sys().create_index_with_str_and_optional_parameters(index, index, &params)?;
        }
    }
    if !existing.contains(STAGED_STORE) {
        db.create_object_store(STAGED_STORE).with_key_path(KeyPath::One("template_id")).build()?;
    }
    Ok(())
}

fn open_error(error: OpenDbError) -> StoreError {
    match error {
        OpenDbError::Base(IdbError::DomException(e)) => {
            let e: web_sys::DomException = e.into();
            match e.name().as_str() {
                "QuotaExceededError" => StoreError::QuotaExceeded,
                "VersionError" => StoreError::Unavailable(
                    "the CRM copy in this browser was written by a newer Roundtrip. Reload this page.".into(),
                ),
                name => StoreError::Unavailable(format!("IndexedDB could not be opened ({name}: {})", e.message())),
            }
        }
        OpenDbError::VersionZero | OpenDbError::UnsupportedEnvironment | OpenDbError::NullFactory => {
            StoreError::Unavailable(
                "this browser offers no IndexedDB here (a private window or a site-data setting may block it)"
                    .into(),
            )
        }
        other => StoreError::Unavailable(format!("IndexedDB could not be opened ({other})")),
    }
}

fn dom_name(error: &IdbError) -> Option<String> {
    match error {
        IdbError::DomException(e) => Some(web_sys::DomException::from(e.clone()).name()),
        _ => None,
    }
}

/// Awaits a raw request made through `web_sys`. Safe inside a transaction: the promise
/// settles in the request's own event, so the continuation runs while it is active.
async fn await_request(request: &web_sys::IdbRequest) -> Result<JsValue, JsValue> {
    if request.ready_state() != web_sys::IdbRequestReadyState::Done {
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            request.set_onsuccess(Some(&resolve));
            request.set_onerror(Some(&reject));
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        request.set_onsuccess(None);
        request.set_onerror(None);
    }
    match request.error() {
        Ok(None) => request.result(),
        Ok(Some(e)) => Err(e.into()),
        Err(e) => Err(e),
    }
}

/// 32-bit FNV-1a: stable across builds and platforms (unlike std's hasher), cheap on short ids.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// The bucket a record id belongs to.
pub fn bucket_number(id: &str) -> u32 {
    fnv1a(id) % BUCKETS
}

fn bucket_key(number: u32) -> String {
    format!("b{number:04}")
}

fn bucket_number_of_key(key: &str) -> Option<u32> {
    key.strip_prefix('b').and_then(|n| n.parse().ok()).filter(|n| *n < BUCKETS)
}

/// Property names of stored rows, made once per operation.
struct RowKeys {
    id: JsValue,
    json: JsValue,
    n: JsValue,
}

impl RowKeys {
    fn new() -> RowKeys {
        RowKeys { id: JsValue::from_str("id"), json: JsValue::from_str("json"), n: JsValue::from_str("n") }
    }
}

fn corrupt(store: &str, key: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt { store: store.to_string(), key: key.to_string(), message: message.into() }
}

fn set(
    object: &js_sys::Object,
    key: &JsValue,
    value: &JsValue,
    store: &str,
    id: &str,
) -> Result<(), StoreError> {
    match js_sys::Reflect::set(object, key, value) {
        Ok(true) => Ok(()),
        _ => Err(corrupt(store, id, "the row could not be prepared for storage")),
    }
}

/// The first value that two of `records` share under one unique index ("unique when
/// present": absent values never clash).
fn first_clash<'a>(records: impl IntoIterator<Item = &'a Record>) -> Option<UniquenessViolation> {
    let mut seen: HashMap<(EntityKind, &'static str, String), String> = HashMap::new();
    for record in records {
        for (index, value) in record.unique_values() {
            let id = record.id();
            match seen.entry((record.kind(), index, value)) {
                MapEntry::Occupied(holder) if *holder.get() != id => {
                    let (kind, index, value) = holder.key().clone();
                    return Some(UniquenessViolation {
                        kind,
                        index,
                        value,
                        first: holder.get().clone(),
                        second: id,
                    });
                }
                MapEntry::Occupied(_) => {}
                MapEntry::Vacant(slot) => {
                    slot.insert(id);
                }
            }
        }
    }
    None
}

/// The stored form of one bucket: `{ id: "b0042", json: "[record, …]", n, <index>: [values] }`.
/// Every unique index of the kind gets its array (perhaps empty), so the multi-entry index
/// sees exactly the values present. The caller has checked uniqueness inside the bucket
/// (a multi-entry index does not see a value repeated within one row).
fn bucket_row<'a>(
    kind: EntityKind,
    number: u32,
    records: impl IntoIterator<Item = &'a Record>,
    keys: &RowKeys,
) -> Result<JsValue, StoreError> {
    let store = kind.store_name();
    let key = bucket_key(number);
    let indexes: Vec<&str> =
        UNIQUE_INDEXES.iter().filter(|(k, _)| *k == kind).map(|(_, name)| *name).collect();
    let index_values: Vec<js_sys::Array> = indexes.iter().map(|_| js_sys::Array::new()).collect();
    let mut json = Vec::with_capacity(4096);
    json.push(b'[');
    let mut n = 0_u32;
    for record in records {
        if n > 0 {
            json.push(b',');
        }
        serde_json::to_writer(&mut json, record).map_err(|e| corrupt(store, &record.id(), e.to_string()))?;
        for (index, value) in record.unique_values() {
            if let Some(i) = indexes.iter().position(|name| *name == index) {
                index_values[i].push(&JsValue::from_str(&value));
            }
        }
        n += 1;
    }
    json.push(b']');
    let json = String::from_utf8(json).map_err(|e| corrupt(store, &key, e.to_string()))?;
    let row = js_sys::Object::new();
    set(&row, &keys.id, &JsValue::from_str(&key), store, &key)?;
    set(&row, &keys.json, &JsValue::from_str(&json), store, &key)?;
    set(&row, &keys.n, &JsValue::from(n), store, &key)?;
    for (name, values) in indexes.iter().zip(&index_values) {
        set(&row, &JsValue::from_str(name), values, store, &key)?;
    }
    Ok(row.into())
}

fn count_row(kind: EntityKind, n: usize, keys: &RowKeys) -> Result<JsValue, StoreError> {
    let store = kind.store_name();
    let row = js_sys::Object::new();
    set(&row, &keys.id, &JsValue::from_str(COUNT_ROW), store, COUNT_ROW)?;
    // Record counts stay far below 2^53, where f64 is exact.
    set(&row, &keys.n, &JsValue::from_f64(n as f64), store, COUNT_ROW)?;
    Ok(row.into())
}

fn read_count(kind: EntityKind, row: Option<&JsValue>, keys: &RowKeys) -> Result<usize, StoreError> {
    let Some(row) = row else { return Ok(0) };
    match js_sys::Reflect::get(row, &keys.n).ok().and_then(|n| n.as_f64()) {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 9.0e15 => Ok(n as usize),
        _ => Err(corrupt(kind.store_name(), COUNT_ROW, "the record count is not a number")),
    }
}

/// Reads one stored bucket back: its number and its records, each checked to belong to
/// `kind` and to this bucket.
fn parse_bucket(kind: EntityKind, row: &JsValue, keys: &RowKeys) -> Result<(u32, Vec<Record>), StoreError> {
    let store = kind.store_name();
    let Some(key) = js_sys::Reflect::get(row, &keys.id).ok().and_then(|v| v.as_string()) else {
        return Err(corrupt(store, "?", "the stored row has no text key"));
    };
    let Some(number) = bucket_number_of_key(&key) else {
        return Err(corrupt(store, &key, "the stored row is not a bucket of records"));
    };
    let Some(json) = js_sys::Reflect::get(row, &keys.json).ok().and_then(|v| v.as_string()) else {
        return Err(corrupt(store, &key, "the stored row has no JSON"));
    };
    let records: Vec<Record> =
        serde_json::from_str(&json).map_err(|e| corrupt(store, &key, e.to_string()))?;
    for record in &records {
        if record.kind() != kind {
            return Err(corrupt(
                store,
                &record.id(),
                format!("a {:?} record is stored among {store}", record.kind()),
            ));
        }
        if bucket_number(&record.id()) != number {
            return Err(corrupt(
                store,
                &record.id(),
                format!("the record is stored in the wrong bucket ({key})"),
            ));
        }
    }
    Ok((number, records))
}

/// Reads an optional row that a request returned (`undefined` when the key is absent).
fn present(value: JsValue) -> Option<JsValue> {
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

/// Staged-file metadata as written (the bytes travel separately, as a `Uint8Array`).
#[derive(Serialize)]
struct StagedMetaRef<'a> {
    file_name: &'a str,
    size: u64,
    sha256: &'a str,
    staged_at_ms: i64,
    row_count: usize,
}

#[derive(Deserialize)]
struct StagedMeta {
    file_name: String,
    size: u64,
    sha256: String,
    staged_at_ms: i64,
    row_count: usize,
}

fn staged_to_row(file: &StagedFile) -> Result<JsValue, StoreError> {
    let meta = StagedMetaRef {
        file_name: &file.file_name,
        size: file.size,
        sha256: &file.sha256,
        staged_at_ms: file.staged_at_ms,
        row_count: file.row_count,
    };
    let id = file.template_id.as_str();
    let meta = serde_json::to_string(&meta).map_err(|e| corrupt(STAGED_STORE, id, e.to_string()))?;
    let row = js_sys::Object::new();
    set(&row, &JsValue::from_str("template_id"), &JsValue::from_str(id), STAGED_STORE, id)?;
    set(&row, &JsValue::from_str("meta"), &JsValue::from_str(&meta), STAGED_STORE, id)?;
    let bytes = js_sys::Uint8Array::from(file.bytes.as_slice());
    set(&row, &JsValue::from_str("bytes"), &bytes, STAGED_STORE, id)?;
    Ok(row.into())
}

fn staged_from_row(template_id: &str, row: &JsValue) -> Result<StagedFile, StoreError> {
    let get = |name: &str| js_sys::Reflect::get(row, &JsValue::from_str(name)).ok();
    let Some(meta) = get("meta").and_then(|v| v.as_string()) else {
        return Err(corrupt(STAGED_STORE, template_id, "the staged file has no metadata"));
    };
    let meta: StagedMeta =
        serde_json::from_str(&meta).map_err(|e| corrupt(STAGED_STORE, template_id, e.to_string()))?;
    let Some(bytes) = get("bytes").and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok()) else {
        return Err(corrupt(STAGED_STORE, template_id, "the staged file has no bytes"));
    };
    Ok(StagedFile {
        template_id: template_id.to_string(),
        file_name: meta.file_name,
        size: meta.size,
        sha256: meta.sha256,
        staged_at_ms: meta.staged_at_ms,
        row_count: meta.row_count,
        bytes: bytes.to_vec(),
    })
}

impl CrmStore for IndexedDbStore {
    async fn load_all(&self) -> Result<Crm, StoreError> {
        let names = EntityKind::ALL.map(EntityKind::store_name);
        let tx = self.transaction(&names, TransactionMode::Readonly)?;
        let mut requests = Vec::with_capacity(names.len());
        for kind in EntityKind::ALL {
            let store = self.object_store(&tx, kind.store_name())?;
            let request = store.get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
            requests.push((kind, request));
        }
        let keys = RowKeys::new();
        let mut crm = Crm::default();
        for (kind, request) in requests {
            let rows = request.await.map_err(|e| self.error(e))?;
            for row in rows {
                let row = row.map_err(|e| self.error(e))?;
                if js_sys::Reflect::get(&row, &keys.id).ok().and_then(|v| v.as_string()).as_deref()
                    == Some(COUNT_ROW)
                {
                    continue;
                }
                let (_, records) = parse_bucket(kind, &row, &keys)?;
                for record in records {
                    crm.put(record);
                }
            }
        }
        Ok(crm)
    }

    async fn replace_all(&self, crm: &Crm) -> Result<(), StoreError> {
        // Everything is checked and serialized before the transaction opens, so it stays short.
        let records = crm.records();
        if let Some(violation) = first_clash(&records) {
            return Err(StoreError::Constraint(violation.to_string()));
        }
        let mut buckets: BTreeMap<(EntityKind, u32), Vec<&Record>> = BTreeMap::new();
        let mut counts: BTreeMap<EntityKind, usize> = EntityKind::ALL.iter().map(|k| (*k, 0)).collect();
        for record in &records {
            buckets.entry((record.kind(), bucket_number(&record.id()))).or_default().push(record);
            *counts.entry(record.kind()).or_default() += 1;
        }
        let keys = RowKeys::new();
        let mut rows = Vec::with_capacity(buckets.len() + counts.len());
        for ((kind, number), bucket) in buckets {
            rows.push((kind, bucket_row(kind, number, bucket, &keys)?));
        }
        for (kind, n) in counts {
            rows.push((kind, count_row(kind, n, &keys)?));
        }
        drop(records);

        let names = EntityKind::ALL.map(EntityKind::store_name);
        let tx = self.transaction(&names, TransactionMode::Readwrite)?;
        let mut stores = BTreeMap::new();
        for kind in EntityKind::ALL {
            stores.insert(kind, self.object_store(&tx, kind.store_name())?);
        }
        let issue = || -> Result<(), IdbError> {
            for store in stores.values() {
                drop(store.clear()?);
            }
            for (kind, row) in &rows {
                if let Some(store) = stores.get(kind) {
                    drop(store.put(row).primitive()?);
                }
            }
            Ok(())
        };
        issue().map_err(|e| self.error(e))?;
        drop(stores);
        self.finish(tx).await
    }

    async fn commit(&self, changes: &ChangeSet) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        // Clashes inside the batch are found without the database, in the core's words.
        Crm::default().check_unique(changes).map_err(|v| StoreError::Constraint(v.to_string()))?;
        let touched: BTreeSet<(EntityKind, u32)> = changes
            .deletes
            .iter()
            .map(|key| (key.kind, bucket_number(&key.id)))
            .chain(changes.puts.iter().map(|r| (r.kind(), bucket_number(&r.id()))))
            .collect();
        let kinds: BTreeSet<EntityKind> = touched.iter().map(|(kind, _)| *kind).collect();
        let names: Vec<&str> = kinds.iter().map(|k| k.store_name()).collect();
        let tx = self.transaction(&names, TransactionMode::Readwrite)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let mut stores = BTreeMap::new();
        for kind in &kinds {
            stores.insert(*kind, self.object_store(&tx, kind.store_name())?);
        }
        let keys = RowKeys::new();

        // 1. Read the touched buckets and the counts (only IndexedDB requests are awaited, so
        //    the transaction stays alive).
        let mut bucket_reads = Vec::with_capacity(touched.len());
        let mut count_reads = Vec::with_capacity(kinds.len());
        for (kind, store) in &stores {
            let request = store.get::<JsValue, _, _>(COUNT_ROW).primitive().map_err(|e| self.error(e))?;
            count_reads.push((*kind, request));
        }
        for (kind, number) in &touched {
            let Some(store) = stores.get(kind) else { continue };
            let request =
                store.get::<JsValue, _, _>(bucket_key(*number)).primitive().map_err(|e| self.error(e))?;
            bucket_reads.push(((*kind, *number), request));
        }
        let mut counts = BTreeMap::new();
        for (kind, request) in count_reads {
            let row = request.await.map_err(|e| self.failure(&raw, e))?;
            counts.insert(kind, read_count(kind, row.as_ref(), &keys)?);
        }
        let mut buckets: BTreeMap<(EntityKind, u32), BTreeMap<String, Record>> = BTreeMap::new();
        for ((kind, number), request) in bucket_reads {
            let mut records = BTreeMap::new();
            if let Some(row) = request.await.map_err(|e| self.failure(&raw, e))? {
                let (stored_number, stored) = parse_bucket(kind, &row, &keys)?;
                if stored_number != number {
                    return Err(corrupt(
                        kind.store_name(),
                        &bucket_key(number),
                        "the bucket holds another key",
                    ));
                }
                records.extend(stored.into_iter().map(|r| (r.id(), r)));
            }
            buckets.insert((kind, number), records);
        }

        // 2. Apply the batch in memory: deletes, then puts.
        for key in &changes.deletes {
            if let Some(bucket) = buckets.get_mut(&(key.kind, bucket_number(&key.id))) {
                if bucket.remove(&key.id).is_some() {
                    counts.entry(key.kind).and_modify(|n| *n = n.saturating_sub(1));
                }
            }
        }
        let mut put_keys = HashSet::new();
        for record in &changes.puts {
            let id = record.id();
            put_keys.insert(record.key());
            if let Some(bucket) = buckets.get_mut(&(record.kind(), bucket_number(&id))) {
                if bucket.insert(id, record.clone()).is_none() {
                    *counts.entry(record.kind()).or_default() += 1;
                }
            }
        }

        // 3. Uniqueness among the touched buckets' end state (a multi-entry index cannot see
        //    a value repeated inside one bucket); clashes with other buckets are the unique
        //    indexes' job.
        let untouched_records =
            buckets.values().flat_map(|b| b.values()).filter(|r| !put_keys.contains(&r.key()));
        let put_records = buckets.values().flat_map(|b| b.values()).filter(|r| put_keys.contains(&r.key()));
        if let Some(violation) = first_clash(untouched_records.chain(put_records)) {
            return Err(StoreError::Constraint(violation.to_string()));
        }

        // 4. Write: delete every touched bucket first, so the indexes judge the batch's end
        //    state, not the order of its rows; then put the non-empty ones and the counts.
        let mut rows = Vec::with_capacity(buckets.len());
        for ((kind, number), records) in &buckets {
            if !records.is_empty() {
                rows.push((*kind, bucket_row(*kind, *number, records.values(), &keys)?));
            }
        }
        for (kind, n) in &counts {
            rows.push((*kind, count_row(*kind, *n, &keys)?));
        }
        let issue = || -> Result<(), IdbError> {
            for (kind, number) in &touched {
                if let Some(store) = stores.get(kind) {
                    drop(store.delete(bucket_key(*number)).primitive()?);
                }
            }
            for (kind, row) in &rows {
                if let Some(store) = stores.get(kind) {
                    drop(store.put(row).primitive()?);
                }
            }
            Ok(())
        };
        issue().map_err(|e| self.failure(&raw, e))?;
        drop(stores);
        match self.finish(tx).await {
            Err(StoreError::Constraint(generic)) => {
                Err(StoreError::Constraint(self.explain_clash(changes).await.unwrap_or(generic)))
            }
            other => other,
        }
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        let name = key.kind.store_name();
        let tx = self.transaction(&[name], TransactionMode::Readonly)?;
        let store = self.object_store(&tx, name)?;
        let request = store
            .get::<JsValue, _, _>(bucket_key(bucket_number(&key.id)))
            .primitive()
            .map_err(|e| self.error(e))?;
        let found = match request.await.map_err(|e| self.error(e))? {
            Some(row) => {
                parse_bucket(key.kind, &row, &RowKeys::new())?.1.into_iter().find(|r| r.id() == key.id)
            }
            None => None,
        };
        match found {
            None if key.kind == EntityKind::Counters => Ok(Some(Record::Counters(Counters::default()))),
            found => Ok(found),
        }
    }

    async fn count(&self, kind: EntityKind) -> Result<usize, StoreError> {
        if kind == EntityKind::Counters {
            // Like `Crm::count`: the counters record always exists, if only as its default.
            return Ok(1);
        }
        let tx = self.transaction(&[kind.store_name()], TransactionMode::Readonly)?;
        let store = self.object_store(&tx, kind.store_name())?;
        let request = store.get::<JsValue, _, _>(COUNT_ROW).primitive().map_err(|e| self.error(e))?;
        let row = request.await.map_err(|e| self.error(e))?;
        read_count(kind, row.as_ref(), &RowKeys::new())
    }

    async fn find_entry_by_client_reference(
        &self,
        client_reference: &str,
    ) -> Result<Option<CrmEntry>, StoreError> {
        let name = EntityKind::Entry.store_name();
        let tx = self.transaction(&[name], TransactionMode::Readonly)?;
        let store = self.object_store(&tx, name)?;
        let index = store.as_sys().index("client_reference").map_err(|e| self.error(e.into()))?;
        let request = index.get(&JsValue::from_str(client_reference)).map_err(|e| self.error(e.into()))?;
        let Some(row) = present(await_request(&request).await.map_err(|e| self.error(e.into()))?) else {
            return Ok(None);
        };
        let (_, records) = parse_bucket(EntityKind::Entry, &row, &RowKeys::new())?;
        Ok(records.into_iter().find_map(|record| match record {
            Record::Entry(entry) if entry.client_reference.as_deref() == Some(client_reference) => {
                Some(entry)
            }
            _ => None,
        }))
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
