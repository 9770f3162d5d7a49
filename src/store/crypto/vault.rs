//! The vault: the wrapped data key and what unlocking needs, stored as one row of the `meta`
//! object store, and [`Keys`], the unlocked keys a store handle holds in memory.
//!
//! The vault holds: a random key id (names the data key, so two tabs can tell whether they
//! hold the same one); the key derivation and its salt; the data key wrapped with AES-GCM by
//! the key derived from the passphrase; and the **index key** (128 random bits, sealed with
//! the data key) that keys the digest stored rows are placed by (SipHash-2-4, a keyed
//! pseudorandom function made for exactly this: without the key, which bucket an id falls in
//! is unpredictable), so no row key is derived from a value without a secret. Changing the passphrase rewraps the data key and leaves
//! everything else, and all the data, as it is.

use std::hash::Hasher;

use js_sys::{ArrayBuffer, Uint8Array};
use serde::{Deserialize, Serialize};
use siphasher::sip::SipHasher24;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::CryptoKey;

use super::kdf::Kdf;
use super::{
    algorithm, failed, gcm, is_operation_error, random_bytes, settle, subtle, usages, DataKey, IV_BYTES,
};
use crate::store::StoreError;

/// The stored vault. Byte fields are lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultRecord {
    /// The format of this record (1).
    pub format: u32,
    /// Names the data key: 128 random bits.
    pub key_id: String,
    /// How the wrapping key is derived from the passphrase.
    pub kdf: Kdf,
    /// The derivation's salt: 128 random bits, new at every passphrase change.
    pub salt: String,
    /// The IV of the wrapped data key.
    pub wrap_iv: String,
    /// The data key, wrapped (AES-256-GCM) by the derived key.
    pub wrapped_key: String,
    /// The IV of the sealed index key.
    pub index_iv: String,
    /// The index key, sealed with the data key.
    pub sealed_index_key: String,
}

/// The keys of an unlocked CRM copy. Cloning shares the data key's handle and copies the
/// index key; locking drops every handle, and each copy of the index key is overwritten when
/// dropped.
#[derive(Clone)]
pub struct Keys {
    key_id: String,
    data: DataKey,
    index: IndexKey,
}

/// The index key's 128 bits.
#[derive(Clone)]
struct IndexKey([u8; 16]);

impl Drop for IndexKey {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

impl Keys {
    /// The id of the data key these keys hold.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The data key.
    pub fn data(&self) -> &DataKey {
        &self.data
    }

    /// A keyed digest of `text`: SipHash-2-4 under the index key.
    pub fn keyed_digest(&self, text: &str) -> u64 {
        let mut hasher = SipHasher24::new_with_key(&self.index.0);
        hasher.write(text.as_bytes());
        hasher.finish()
    }
}

/// The additional data the data key is wrapped under: binds it to its id.
fn wrap_place(key_id: &str) -> Vec<u8> {
    format!("roundtrip vault/data key/{key_id}").into_bytes()
}

fn index_place(key_id: &str) -> Vec<u8> {
    format!("roundtrip vault/index key/{key_id}").into_bytes()
}

fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0_u8; N];
    random_bytes(&mut bytes)?;
    Ok(bytes)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of a hex text; `None` when it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn damaged(what: &str) -> StoreError {
    StoreError::Corrupt {
        store: "meta".into(),
        key: "vault".into(),
        message: format!("the vault's {what} is not readable"),
    }
}

fn bytes_of(text: &str, what: &str) -> Result<Vec<u8>, StoreError> {
    unhex(text).ok_or_else(|| damaged(what))
}

fn aes_gcm_256() -> js_sys::Object {
    algorithm("AES-GCM", &[("length", &JsValue::from(256))])
}

/// Unwraps the data key of `record` with the key derived from `passphrase`. A passphrase
/// that does not open it is [`StoreError::WrongPassphrase`].
async fn unwrap(record: &VaultRecord, passphrase: &str, extractable: bool) -> Result<CryptoKey, StoreError> {
    let salt = bytes_of(&record.salt, "salt")?;
    let iv = bytes_of(&record.wrap_iv, "IV")?;
    let wrapped = bytes_of(&record.wrapped_key, "wrapped key")?;
    if iv.len() != IV_BYTES {
        return Err(damaged("IV"));
    }
    let wrapping = record.kdf.wrapping_key(passphrase, &salt).await?;
    unwrap_with(&wrapping, record, &iv, &wrapped, extractable).await
}

async fn unwrap_with(
    wrapping: &CryptoKey,
    record: &VaultRecord,
    iv: &[u8],
    wrapped: &[u8],
    extractable: bool,
) -> Result<CryptoKey, StoreError> {
    let promise = subtle()?.unwrap_key_with_u8_array_and_object_and_object(
        "raw",
        wrapped,
        wrapping,
        &gcm(&Uint8Array::from(iv), &wrap_place(&record.key_id)),
        &algorithm("AES-GCM", &[]),
        extractable,
        &usages(&["encrypt", "decrypt"]),
    );
    match settle(promise).await {
        Ok(key) => Ok(key.unchecked_into()),
        Err(e) if is_operation_error(&e) => Err(StoreError::WrongPassphrase),
        Err(e) => Err(failed("unwrapping the data key", &e)),
    }
}

/// Wraps `key` (extractable) for `passphrase` under `kdf` with a fresh salt and IV: the
/// record's derivation and wrapping fields.
async fn wrap(
    key: &CryptoKey,
    key_id: &str,
    passphrase: &str,
    kdf: &Kdf,
) -> Result<(CryptoKey, String, String, String), StoreError> {
    let salt: [u8; 16] = random()?;
    let iv: [u8; IV_BYTES] = random()?;
    let wrapping = kdf.wrapping_key(passphrase, &salt).await?;
    let promise = subtle()?.wrap_key_with_object(
        "raw",
        key,
        &wrapping,
        &gcm(&Uint8Array::from(&iv[..]), &wrap_place(key_id)),
    );
    let wrapped = settle(promise).await.map_err(|e| failed("wrapping the data key", &e))?;
    let wrapped = wrapped.dyn_into::<ArrayBuffer>().map_err(|e| failed("wrapping the data key", &e))?;
    let wrapped = Uint8Array::new(&wrapped).to_vec();
    Ok((wrapping, hex(&salt), hex(&iv), hex(&wrapped)))
}

fn keys(key_id: &str, data: CryptoKey, index_key: &mut [u8]) -> Result<Keys, StoreError> {
    let index = <[u8; 16]>::try_from(&*index_key).map_err(|_| damaged("index key"));
    index_key.fill(0);
    std::hint::black_box(&index_key);
    Ok(Keys { key_id: key_id.to_string(), data: DataKey::new(data), index: IndexKey(index?) })
}

/// A new vault for `passphrase`: a new random data key and index key, and the keys unlocked.
pub async fn create(passphrase: &str, kdf: &Kdf) -> Result<(VaultRecord, Keys), StoreError> {
    let subtle = subtle()?;
    let key_id = hex(&random::<16>()?);
    let generate = subtle.generate_key_with_object(&aes_gcm_256(), true, &usages(&["encrypt", "decrypt"]));
    let generated: CryptoKey =
        settle(generate).await.map_err(|e| failed("making the data key", &e))?.unchecked_into();
    let (wrapping, salt, wrap_iv, wrapped_key) = wrap(&generated, &key_id, passphrase, kdf).await?;
    drop(generated);
    // The key this handle works with is unwrapped again, non-extractable.
    let iv = bytes_of(&wrap_iv, "IV")?;
    let wrapped = bytes_of(&wrapped_key, "wrapped key")?;
    let mut record = VaultRecord {
        format: 1,
        key_id: key_id.clone(),
        kdf: kdf.clone(),
        salt,
        wrap_iv,
        wrapped_key,
        index_iv: String::new(),
        sealed_index_key: String::new(),
    };
    let data = unwrap_with(&wrapping, &record, &iv, &wrapped, false).await?;
    let mut index_key: [u8; 16] = random()?;
    let sealed = DataKey::new(data.clone()).seal(&index_place(&key_id), &index_key).await?;
    record.index_iv = hex(&sealed.iv.to_vec());
    record.sealed_index_key = hex(&Uint8Array::new(&sealed.data).to_vec());
    let keys = keys(&key_id, data, &mut index_key)?;
    Ok((record, keys))
}

/// The keys of `record`, unlocked with `passphrase`, or [`StoreError::WrongPassphrase`].
pub async fn unlock(record: &VaultRecord, passphrase: &str) -> Result<Keys, StoreError> {
    let data = unwrap(record, passphrase, false).await?;
    match unlock_with(record, DataKey::new(data)).await {
        // The passphrase opened the data key, so the sealed index key must open too.
        Err(StoreError::WrongPassphrase) => Err(damaged("sealed index key")),
        other => other,
    }
}

/// The keys of `record` with its data key already in hand (handed over by another tab): the
/// key is accepted only if it opens the sealed index key, else [`StoreError::WrongPassphrase`].
pub async fn unlock_with(record: &VaultRecord, data: DataKey) -> Result<Keys, StoreError> {
    let iv = Uint8Array::from(&bytes_of(&record.index_iv, "index IV")?[..]);
    let sealed = Uint8Array::from(&bytes_of(&record.sealed_index_key, "sealed index key")?[..]);
    let mut index_key = match data.open(&index_place(&record.key_id), &iv, &sealed).await {
        Ok(bytes) => bytes,
        Err(None) => return Err(StoreError::WrongPassphrase),
        Err(Some(e)) => return Err(e),
    };
    keys(&record.key_id, data.crypto_key().clone(), &mut index_key)
}

/// `record` with its data key rewrapped for `new` (derived with `kdf`, a fresh salt and IV),
/// after `old` opened it; everything else unchanged.
pub async fn rewrap(
    record: &VaultRecord,
    old: &str,
    new: &str,
    kdf: &Kdf,
) -> Result<VaultRecord, StoreError> {
    let key = unwrap(record, old, true).await?;
    let (_, salt, wrap_iv, wrapped_key) = wrap(&key, &record.key_id, new, kdf).await?;
    Ok(VaultRecord { kdf: kdf.clone(), salt, wrap_iv, wrapped_key, ..record.clone() })
}
