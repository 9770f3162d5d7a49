//! The stored form of the IndexedDB store: the schema and its upgrades, and the rows it
//! reads and writes (buckets of records with their revisions, log segments, the sequence row,
//! staged files), each read back with a refusal naming the store and key when it is damaged.

use super::*;

/// Brings the schema from `old` to `new`, one version step at a time.
pub(super) fn upgrade(db: &Database, old: u32, new: u32) -> indexed_db_futures::Result<()> {
    for from in old..new {
        let step: fn(&Database) -> indexed_db_futures::Result<()> = match from {
            0 => create_schema_v1,
            1 => create_schema_v2,
            2 => create_schema_v3,
            3 => create_schema_v4,
            // 4 => the step to version 5 goes here.
            _ => continue,
        };
        step(db)?;
    }
    Ok(())
}

/// Version 1, as it was: the entity stores with their unique multi-entry indexes, and
/// `staged`.
pub(super) fn create_schema_v1(db: &Database) -> indexed_db_futures::Result<()> {
    let existing: HashSet<String> = db.object_store_names().collect();
    for kind in EntityKind::ALL {
        let name = kind.store_name();
        if existing.contains(name) {
            continue;
        }
        let store = db.create_object_store(name).with_key_path(KeyPath::One("id")).build()?;
        for (_, index) in V1_UNIQUE_INDEXES.iter().filter(|(k, _)| *k == kind) {
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

/// Version 2: the commit log and the `meta` row. Records stored by version 1 keep their
/// rows and read as revision 0.
pub(super) fn create_schema_v2(db: &Database) -> indexed_db_futures::Result<()> {
    let existing: HashSet<String> = db.object_store_names().collect();
    if !existing.contains(META_STORE) {
        db.create_object_store(META_STORE).with_key_path(KeyPath::One("id")).build()?;
    }
    if !existing.contains(SEGMENTS_STORE) {
        db.create_object_store(SEGMENTS_STORE).with_key_path(KeyPath::One("id")).build()?;
    }
    Ok(())
}

/// Version 3: no new object store. The `meta` store may hold the `vault` row and every row
/// may be sealed (encryption at rest). Raising the version closes the connections of tabs
/// still running a build that knows nothing of encryption (they are told to reload), so no
/// such tab writes an unencrypted row beside encrypted ones.
pub(super) fn create_schema_v3(_db: &Database) -> indexed_db_futures::Result<()> {
    Ok(())
}

/// Version 4: the object store of the PII ledger (`EntityKind::Ledger`), empty in a copy
/// stored before it. Its rows are buckets like every other kind's (sealed with a passphrase).
pub(super) fn create_schema_v4(db: &Database) -> indexed_db_futures::Result<()> {
    let name = EntityKind::Ledger.store_name();
    if !db.object_store_names().any(|n| n == name) {
        db.create_object_store(name).with_key_path(KeyPath::One("id")).build()?;
    }
    Ok(())
}

/// 32-bit FNV-1a: stable across builds and platforms (unlike std's hasher), cheap on short ids.
pub(super) fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// The bucket a record id belongs to.
pub fn bucket_number(id: &str) -> u32 {
    fnv1a(id) % BUCKETS
}

pub(super) fn bucket_key(number: u32) -> String {
    format!("b{number:04}")
}

pub(super) fn bucket_number_of_key(key: &str) -> Option<u32> {
    key.strip_prefix('b').and_then(|n| n.parse().ok()).filter(|n| *n < BUCKETS)
}

/// Property names of stored rows, made once per operation.
pub(super) struct RowKeys {
    pub(super) id: JsValue,
    pub(super) json: JsValue,
    pub(super) revs: JsValue,
    pub(super) n: JsValue,
    pub(super) replaced_at: JsValue,
    pub(super) compacted_through: JsValue,
}

impl RowKeys {
    pub(super) fn new() -> RowKeys {
        RowKeys {
            id: JsValue::from_str("id"),
            json: JsValue::from_str("json"),
            revs: JsValue::from_str("revs"),
            n: JsValue::from_str("n"),
            replaced_at: JsValue::from_str("replaced_at"),
            compacted_through: JsValue::from_str("compacted_through"),
        }
    }
}

pub(super) fn corrupt(store: &str, key: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt { store: store.to_string(), key: key.to_string(), message: message.into() }
}

pub(super) fn set(
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

/// A record as stored: the record and the revision of the commit that last wrote it.
pub(super) type Stamped = (Record, Revision);

/// The JSON of a bucket's records, serialized once (outside any transaction).
pub(super) struct BucketJson {
    pub(super) json: String,
    pub(super) n: u32,
}

pub(super) fn bucket_json<'a>(
    kind: EntityKind,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<BucketJson, StoreError> {
    let store = kind.store_name();
    let mut json = Vec::with_capacity(4096);
    json.push(b'[');
    let mut n = 0_u32;
    for record in records {
        if n > 0 {
            json.push(b',');
        }
        serde_json::to_writer(&mut json, record).map_err(|e| corrupt(store, &record.id(), e.to_string()))?;
        n += 1;
    }
    json.push(b']');
    let json = String::from_utf8(json).map_err(|e| corrupt(store, store, e.to_string()))?;
    Ok(BucketJson { json, n })
}

/// The stored form of one bucket: `{ id: "b0042", json: "[record, …]", revs: "[revision, …]" }`.
pub(super) fn bucket_row(
    kind: EntityKind,
    number: u32,
    content: &BucketJson,
    revisions: &[Revision],
    keys: &RowKeys,
) -> Result<JsValue, StoreError> {
    let store = kind.store_name();
    let key = bucket_key(number);
    let revs = serde_json::to_string(revisions).map_err(|e| corrupt(store, &key, e.to_string()))?;
    let row = js_sys::Object::new();
    set(&row, &keys.id, &JsValue::from_str(&key), store, &key)?;
    set(&row, &keys.json, &JsValue::from_str(&content.json), store, &key)?;
    set(&row, &keys.revs, &JsValue::from_str(&revs), store, &key)?;
    Ok(row.into())
}

/// Reads one stored bucket back: its number and its records with their revisions, each
/// checked to belong to `kind` and to this bucket. A row written before revisions existed
/// has no `revs`: its records read as revision 0.
pub(super) fn parse_bucket(
    kind: EntityKind,
    row: &JsValue,
    keys: &RowKeys,
) -> Result<(u32, Vec<Stamped>), StoreError> {
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
    let revisions: Vec<Revision> =
        match js_sys::Reflect::get(row, &keys.revs).ok().and_then(|v| v.as_string()) {
            Some(revs) => serde_json::from_str(&revs).map_err(|e| corrupt(store, &key, e.to_string()))?,
            None => vec![0; records.len()],
        };
    if revisions.len() != records.len() {
        return Err(corrupt(store, &key, "the bucket's revisions do not match its records"));
    }
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
    Ok((number, records.into_iter().zip(revisions).collect()))
}

/// The stored form of one commit: `{ id: <sequence>, json: "<ChangeSet JSON>" }`.
pub(super) fn segment_row(
    sequence: Revision,
    changes: &ChangeSet,
    keys: &RowKeys,
) -> Result<JsValue, StoreError> {
    let id = sequence.to_string();
    let json = serde_json::to_string(changes).map_err(|e| corrupt(SEGMENTS_STORE, &id, e.to_string()))?;
    let row = js_sys::Object::new();
    set(&row, &keys.id, &JsValue::from_f64(sequence as f64), SEGMENTS_STORE, &id)?;
    set(&row, &keys.json, &JsValue::from_str(&json), SEGMENTS_STORE, &id)?;
    Ok(row.into())
}

pub(super) fn parse_segment(row: &JsValue, keys: &RowKeys) -> Result<(Revision, ChangeSet), StoreError> {
    let Some(n) = whole_number(row, &keys.id) else {
        return Err(corrupt(SEGMENTS_STORE, "?", "a logged commit has no sequence number"));
    };
    let Some(json) = js_sys::Reflect::get(row, &keys.json).ok().and_then(|v| v.as_string()) else {
        return Err(corrupt(SEGMENTS_STORE, &n.to_string(), "a logged commit has no JSON"));
    };
    let changes: ChangeSet =
        serde_json::from_str(&json).map_err(|e| corrupt(SEGMENTS_STORE, &n.to_string(), e.to_string()))?;
    Ok((n, changes))
}

pub(super) fn sequence_row(sequence: Sequence, keys: &RowKeys) -> Result<JsValue, StoreError> {
    let row = js_sys::Object::new();
    let number = |n: Revision| JsValue::from_f64(n as f64);
    set(&row, &keys.id, &JsValue::from_str(SEQUENCE_ROW), META_STORE, SEQUENCE_ROW)?;
    set(&row, &keys.n, &number(sequence.n), META_STORE, SEQUENCE_ROW)?;
    set(&row, &keys.replaced_at, &number(sequence.replaced_at), META_STORE, SEQUENCE_ROW)?;
    set(&row, &keys.compacted_through, &number(sequence.compacted_through), META_STORE, SEQUENCE_ROW)?;
    Ok(row.into())
}

pub(super) fn whole_number(row: &JsValue, key: &JsValue) -> Option<u64> {
    let n = js_sys::Reflect::get(row, key).ok()?.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n < 9.0e15).then_some(n as u64)
}

pub(super) fn read_sequence(row: Option<&JsValue>, keys: &RowKeys) -> Result<Sequence, StoreError> {
    let Some(row) = row else { return Ok(Sequence::default()) };
    let n = whole_number(row, &keys.n);
    let replaced_at = whole_number(row, &keys.replaced_at);
    let compacted_through = whole_number(row, &keys.compacted_through);
    match (n, replaced_at, compacted_through) {
        (Some(n), Some(replaced_at), Some(compacted_through))
            if replaced_at <= n && compacted_through <= n =>
        {
            Ok(Sequence { n, replaced_at, compacted_through })
        }
        _ => Err(corrupt(META_STORE, SEQUENCE_ROW, "the sequence numbers are not numbers")),
    }
}

pub(super) fn closing_listener(
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
pub(super) fn version_number(v: f64) -> u32 {
    if v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX) {
        v as u32
    } else {
        0
    }
}
pub(super) fn open_error(error: OpenDbError) -> StoreError {
    match error {
        OpenDbError::Base(IdbError::DomException(e)) => {
            let e: web_sys::DomException = e.into();
            match e.name().as_str() {
                "QuotaExceededError" => StoreError::QuotaExceeded { usage: None },
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
pub(super) fn dom_name(error: &IdbError) -> Option<String> {
    match error {
        IdbError::DomException(e) => Some(web_sys::DomException::from(e.clone()).name()),
        _ => None,
    }
}
pub(super) async fn await_request(request: &web_sys::IdbRequest) -> Result<JsValue, JsValue> {
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

/// Staged-file metadata as written (the bytes travel separately, as a `Uint8Array`).
#[derive(Serialize)]
pub(super) struct StagedMetaRef<'a> {
    pub(super) file_name: &'a str,
    pub(super) size: u64,
    pub(super) sha256: &'a str,
    pub(super) staged_at_ms: i64,
    pub(super) row_count: usize,
}

#[derive(Deserialize)]
pub(super) struct StagedMeta {
    pub(super) file_name: String,
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) staged_at_ms: i64,
    pub(super) row_count: usize,
}

/// A staged file's metadata as JSON.
pub(super) fn staged_meta_json(file: &StagedFile) -> Result<String, StoreError> {
    let meta = StagedMetaRef {
        file_name: &file.file_name,
        size: file.size,
        sha256: &file.sha256,
        staged_at_ms: file.staged_at_ms,
        row_count: file.row_count,
    };
    serde_json::to_string(&meta).map_err(|e| corrupt(STAGED_STORE, &file.template_id, e.to_string()))
}

/// The staged file of its metadata and bytes.
pub(super) fn staged_file(template_id: &str, meta: StagedMeta, bytes: Vec<u8>) -> StagedFile {
    StagedFile {
        template_id: template_id.to_string(),
        file_name: meta.file_name,
        size: meta.size,
        sha256: meta.sha256,
        staged_at_ms: meta.staged_at_ms,
        row_count: meta.row_count,
        bytes,
    }
}

/// The stored form of a staged file in a copy with no passphrase: `{ template_id, meta:
/// "<JSON>", bytes: Uint8Array }`.
pub(super) fn staged_to_row(file: &StagedFile) -> Result<JsValue, StoreError> {
    let id = file.template_id.as_str();
    let meta = staged_meta_json(file)?;
    let row = js_sys::Object::new();
    set(&row, &JsValue::from_str("template_id"), &JsValue::from_str(id), STAGED_STORE, id)?;
    set(&row, &JsValue::from_str("meta"), &JsValue::from_str(&meta), STAGED_STORE, id)?;
    let bytes = js_sys::Uint8Array::from(file.bytes.as_slice());
    set(&row, &JsValue::from_str("bytes"), &bytes, STAGED_STORE, id)?;
    Ok(row.into())
}

pub(super) fn staged_from_row(template_id: &str, row: &JsValue) -> Result<StagedFile, StoreError> {
    let get = |name: &str| js_sys::Reflect::get(row, &JsValue::from_str(name)).ok();
    let Some(meta) = get("meta").and_then(|v| v.as_string()) else {
        return Err(corrupt(STAGED_STORE, template_id, "the staged file has no metadata"));
    };
    let meta: StagedMeta =
        serde_json::from_str(&meta).map_err(|e| corrupt(STAGED_STORE, template_id, e.to_string()))?;
    let Some(bytes) = get("bytes").and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok()) else {
        return Err(corrupt(STAGED_STORE, template_id, "the staged file has no bytes"));
    };
    Ok(staged_file(template_id, meta, bytes.to_vec()))
}

/// The stored vault row: `{ id: "vault", key_id, json: "<VaultRecord JSON>" }` (the key id
/// kept apart so that every operation can read it cheaply).
pub(super) fn vault_row(record: &VaultRecord) -> Result<JsValue, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| corrupt(META_STORE, VAULT_ROW, e.to_string()))?;
    let row = js_sys::Object::new();
    set(&row, &JsValue::from_str("id"), &JsValue::from_str(VAULT_ROW), META_STORE, VAULT_ROW)?;
    set(&row, &JsValue::from_str("key_id"), &JsValue::from_str(&record.key_id), META_STORE, VAULT_ROW)?;
    set(&row, &JsValue::from_str("json"), &JsValue::from_str(&json), META_STORE, VAULT_ROW)?;
    Ok(row.into())
}

/// The data key's id of a stored vault row (`None`: no vault, the copy is unencrypted).
pub(super) fn read_vault_key_id(row: Option<&JsValue>) -> Result<Option<String>, StoreError> {
    let Some(row) = row else { return Ok(None) };
    match js_sys::Reflect::get(row, &JsValue::from_str("key_id")).ok().and_then(|v| v.as_string()) {
        Some(id) if !id.is_empty() => Ok(Some(id)),
        _ => Err(corrupt(META_STORE, VAULT_ROW, "the vault names no key")),
    }
}

/// A stored vault row read whole: its JSON as stored and the record.
pub(super) fn read_vault(row: Option<&JsValue>) -> Result<Option<(String, VaultRecord)>, StoreError> {
    let Some(row) = row else { return Ok(None) };
    let Some(json) = js_sys::Reflect::get(row, &JsValue::from_str("json")).ok().and_then(|v| v.as_string())
    else {
        return Err(corrupt(META_STORE, VAULT_ROW, "the vault has no JSON"));
    };
    let record: VaultRecord =
        serde_json::from_str(&json).map_err(|e| corrupt(META_STORE, VAULT_ROW, e.to_string()))?;
    Ok(Some((json, record)))
}
