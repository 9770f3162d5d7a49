//! How rows are written: plain (a copy with no passphrase, as versions 1 and 2 wrote it) or
//! sealed (every value encrypted with the data key, [`crate::store::crypto`]). The same
//! store code writes both; only the [`Codec`] differs. Sealing and opening are WebCrypto
//! promises, so they never run inside a readwrite transaction (the browser would commit it
//! at the first await): rows are sealed before the transaction opens and opened after the
//! reading transaction has delivered them.
//!
//! A sealed row keeps only what IndexedDB needs in the clear — its key (`b0042`, a segment's
//! sequence number, a staged file's template id) — and `iv` plus `sealed`, the ciphertext of
//! what the plain row holds. Its place (`crm_entries/b0042`) is the additional data, so a row
//! moved to another key does not open. Which bucket a record lives in is, when sealed, a
//! keyed digest of its id (SipHash-2-4 under the index key), so a row key reveals nothing
//! about the ids stored in it.

use futures::future::try_join_all;
use js_sys::{ArrayBuffer, Object, Uint8Array};
use serde::Deserialize;

use super::*;
use crate::store::crypto::vault::Keys;
use crate::store::crypto::Sealed;

/// How this store handle writes and reads rows.
#[derive(Debug, Clone)]
pub(super) enum Codec {
    /// No passphrase: rows as versions 1 and 2 wrote them.
    Plain,
    /// Encrypted with these keys.
    Sealed(Keys),
}

/// A bucket ready to be written: its kind and number, its records' JSON and their revisions.
pub(super) struct BucketContent {
    pub(super) kind: EntityKind,
    pub(super) number: u32,
    pub(super) json: BucketJson,
    pub(super) revisions: Vec<Revision>,
}

/// The body of a sealed bucket.
#[derive(Deserialize)]
struct SealedBucket {
    revs: Vec<Revision>,
    records: Vec<Record>,
}

fn place(store: &str, key: &str) -> Vec<u8> {
    format!("{store}/{key}").into_bytes()
}

fn sealed_row(
    key_name: &str,
    key: &JsValue,
    sealed: &Sealed,
    store: &str,
    id: &str,
) -> Result<JsValue, StoreError> {
    let row = Object::new();
    set(&row, &JsValue::from_str(key_name), key, store, id)?;
    set(&row, &JsValue::from_str("iv"), &sealed.iv, store, id)?;
    set(&row, &JsValue::from_str("sealed"), &sealed.data, store, id)?;
    Ok(row.into())
}

/// The `iv` and `sealed` of a stored row, if it is sealed.
fn sealed_parts(row: &JsValue) -> Option<(Uint8Array, Object)> {
    let iv = js_sys::Reflect::get(row, &JsValue::from_str("iv")).ok()?.dyn_into::<Uint8Array>().ok()?;
    let data =
        js_sys::Reflect::get(row, &JsValue::from_str("sealed")).ok()?.dyn_into::<ArrayBuffer>().ok()?;
    Some((iv, data.into()))
}

fn is_sealed(row: &JsValue) -> bool {
    js_sys::Reflect::has(row, &JsValue::from_str("sealed")).unwrap_or(false)
}

impl Codec {
    /// The id of the data key (None: plain).
    pub(super) fn key_id(&self) -> Option<&str> {
        match self {
            Codec::Plain => None,
            Codec::Sealed(keys) => Some(keys.key_id()),
        }
    }

    /// The bucket a record id lives in.
    pub(super) fn bucket(&self, id: &str) -> u32 {
        match self {
            Codec::Plain => bucket_number(id),
            Codec::Sealed(keys) => (keys.keyed_digest(id) % u64::from(BUCKETS)) as u32,
        }
    }

    /// Opens a sealed row stored at `store`/`key`.
    async fn open(&self, keys: &Keys, row: &JsValue, store: &str, key: &str) -> Result<Vec<u8>, StoreError> {
        let Some((iv, data)) = sealed_parts(row) else {
            return Err(corrupt(store, key, "an unencrypted row in an encrypted copy"));
        };
        match keys.data().open(&place(store, key), &iv, &data).await {
            Ok(plain) => Ok(plain),
            Err(None) => Err(corrupt(
                store,
                key,
                "the encrypted row does not open with this copy's key (it was altered)",
            )),
            Err(Some(e)) => Err(e),
        }
    }

    /// The rows of the given buckets, sealed concurrently when sealing.
    pub(super) async fn bucket_rows(&self, contents: &[BucketContent]) -> Result<Vec<JsValue>, StoreError> {
        let keys = RowKeys::new();
        match self {
            Codec::Plain => {
                contents.iter().map(|c| bucket_row(c.kind, c.number, &c.json, &c.revisions, &keys)).collect()
            }
            Codec::Sealed(k) => {
                try_join_all(contents.iter().map(|c| async move {
                    let store = c.kind.store_name();
                    let key = bucket_key(c.number);
                    let revs = serde_json::to_string(&c.revisions)
                        .map_err(|e| corrupt(store, &key, e.to_string()))?;
                    let body = format!("{{\"revs\":{revs},\"records\":{}}}", c.json.json);
                    drop(revs);
                    let sealed = k.data().seal(&place(store, &key), body.as_bytes()).await?;
                    sealed_row("id", &JsValue::from_str(&key), &sealed, store, &key)
                }))
                .await
            }
        }
    }

    /// Every record of the rows of one kind's object store, with its revision. Version 1's
    /// count row is skipped.
    pub(super) async fn read_buckets(
        &self,
        kind: EntityKind,
        rows: Vec<JsValue>,
    ) -> Result<Vec<Stamped>, StoreError> {
        let keys = RowKeys::new();
        let store = kind.store_name();
        let rows: Vec<JsValue> = rows
            .into_iter()
            .filter(|row| {
                js_sys::Reflect::get(row, &keys.id).ok().and_then(|v| v.as_string()).as_deref()
                    != Some(V1_COUNT_ROW)
            })
            .collect();
        let k = match self {
            Codec::Plain => {
                let mut out = Vec::new();
                for row in &rows {
                    if is_sealed(row) {
                        let key = js_sys::Reflect::get(row, &keys.id).ok().and_then(|v| v.as_string());
                        return Err(corrupt(
                            store,
                            &key.unwrap_or_default(),
                            "an encrypted row in an unencrypted copy",
                        ));
                    }
                    out.extend(parse_bucket(kind, row, &keys)?.1);
                }
                return Ok(out);
            }
            Codec::Sealed(k) => k,
        };
        let buckets = try_join_all(rows.iter().map(|row| {
            let keys = &keys;
            async move {
                let Some(key) = js_sys::Reflect::get(row, &keys.id).ok().and_then(|v| v.as_string()) else {
                    return Err(corrupt(store, "?", "the stored row has no text key"));
                };
                let body = self.open(k, row, store, &key).await?;
                let bucket: SealedBucket =
                    serde_json::from_slice(&body).map_err(|e| corrupt(store, &key, e.to_string()))?;
                if bucket.revs.len() != bucket.records.len() {
                    return Err(corrupt(store, &key, "the bucket's revisions do not match its records"));
                }
                if let Some(stranger) = bucket.records.iter().find(|r| r.kind() != kind) {
                    return Err(corrupt(
                        store,
                        &stranger.id(),
                        format!("a {:?} record is stored among {store}", stranger.kind()),
                    ));
                }
                Ok(bucket.records.into_iter().zip(bucket.revs).collect::<Vec<Stamped>>())
            }
        }))
        .await?;
        Ok(buckets.into_iter().flatten().collect())
    }

    /// The row of one commit.
    pub(super) async fn segment_row(
        &self,
        sequence: Revision,
        changes: &ChangeSet,
    ) -> Result<JsValue, StoreError> {
        let keys = RowKeys::new();
        match self {
            Codec::Plain => segment_row(sequence, changes, &keys),
            Codec::Sealed(k) => {
                let id = sequence.to_string();
                let json =
                    serde_json::to_vec(changes).map_err(|e| corrupt(SEGMENTS_STORE, &id, e.to_string()))?;
                let sealed = k.data().seal(&place(SEGMENTS_STORE, &id), &json).await?;
                drop(json);
                sealed_row("id", &JsValue::from_f64(sequence as f64), &sealed, SEGMENTS_STORE, &id)
            }
        }
    }

    /// The commits of logged rows, in order.
    pub(super) async fn read_segments(
        &self,
        rows: Vec<JsValue>,
    ) -> Result<Vec<(Revision, ChangeSet)>, StoreError> {
        let keys = RowKeys::new();
        let mut logged = match self {
            Codec::Plain => {
                if rows.iter().any(is_sealed) {
                    return Err(corrupt(SEGMENTS_STORE, "?", "an encrypted commit in an unencrypted copy"));
                }
                rows.iter().map(|row| parse_segment(row, &keys)).collect::<Result<Vec<_>, _>>()?
            }
            Codec::Sealed(k) => {
                try_join_all(rows.iter().map(|row| {
                    let keys = &keys;
                    async move {
                        let Some(n) = whole_number(row, &keys.id) else {
                            return Err(corrupt(
                                SEGMENTS_STORE,
                                "?",
                                "a logged commit has no sequence number",
                            ));
                        };
                        let id = n.to_string();
                        let body = self.open(k, row, SEGMENTS_STORE, &id).await?;
                        let changes: ChangeSet = serde_json::from_slice(&body)
                            .map_err(|e| corrupt(SEGMENTS_STORE, &id, e.to_string()))?;
                        Ok((n, changes))
                    }
                }))
                .await?
            }
        };
        logged.sort_by_key(|(n, _)| *n);
        Ok(logged)
    }

    /// The row of a staged file. Sealed, its body is the metadata's length (4 bytes, little
    /// endian), the metadata's JSON and the file's bytes.
    pub(super) async fn staged_row(&self, file: &StagedFile) -> Result<JsValue, StoreError> {
        let Codec::Sealed(k) = self else { return staged_to_row(file) };
        let id = file.template_id.as_str();
        let meta = staged_meta_json(file)?;
        let mut body = Vec::with_capacity(4 + meta.len() + file.bytes.len());
        body.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        body.extend_from_slice(meta.as_bytes());
        body.extend_from_slice(&file.bytes);
        let sealed = k.data().seal(&place(STAGED_STORE, id), &body).await;
        body.fill(0);
        sealed_row("template_id", &JsValue::from_str(id), &sealed?, STAGED_STORE, id)
    }

    /// The staged file of a stored row.
    pub(super) async fn read_staged(
        &self,
        template_id: &str,
        row: &JsValue,
    ) -> Result<StagedFile, StoreError> {
        let k = match self {
            Codec::Plain if is_sealed(row) => {
                return Err(corrupt(STAGED_STORE, template_id, "an encrypted file in an unencrypted copy"))
            }
            Codec::Plain => return staged_from_row(template_id, row),
            Codec::Sealed(k) => k,
        };
        let body = self.open(k, row, STAGED_STORE, template_id).await?;
        let damaged = || corrupt(STAGED_STORE, template_id, "the staged file's contents are cut short");
        let length = body.get(..4).ok_or_else(damaged)?;
        let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]) as usize;
        let meta = body.get(4..4 + length).ok_or_else(damaged)?;
        let meta: StagedMeta =
            serde_json::from_slice(meta).map_err(|e| corrupt(STAGED_STORE, template_id, e.to_string()))?;
        Ok(staged_file(template_id, meta, body[4 + length..].to_vec()))
    }
}
