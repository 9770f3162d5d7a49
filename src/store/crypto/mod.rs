//! Encryption at rest, the browser side (wasm only): the WebCrypto calls the IndexedDB store
//! seals its rows with. Envelope encryption: a random 256-bit **data key** (AES-256-GCM, a
//! fresh random 96-bit IV for every value sealed, the value's place in the database as
//! additional data so a sealed row cannot be moved to another place) encrypts every stored
//! row; the data key is kept only **wrapped** by a key derived from the operator's passphrase
//! ([`kdf`]), in the [`vault`] row. In memory the data key is a non-extractable `CryptoKey`:
//! its bytes never enter this program's memory, and dropping the last handle (locking)
//! leaves nothing to read it back with.

use js_sys::{Array, ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

use super::StoreError;

pub mod kdf;
pub mod vault;

/// The length of an AES-GCM IV, in bytes (96 bits, the size GCM is defined for).
pub const IV_BYTES: usize = 12;

/// The browser's `crypto`, in a page or a worker.
fn crypto() -> Result<Crypto, StoreError> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .and_then(|c| c.dyn_into::<Crypto>().ok())
        .ok_or_else(no_webcrypto)
}

/// `crypto.subtle`, which browsers offer only to secure contexts (https or localhost).
pub(crate) fn subtle() -> Result<SubtleCrypto, StoreError> {
    let subtle = crypto()?.subtle();
    if JsValue::from(subtle.clone()).is_undefined() {
        return Err(no_webcrypto());
    }
    Ok(subtle)
}

fn no_webcrypto() -> StoreError {
    StoreError::Unavailable(
        "this browser offers no WebCrypto here (the app must be opened over https or from localhost to encrypt \
         the CRM copy)"
            .into(),
    )
}

/// Fills `out` from the browser's cryptographic random source.
pub fn random_bytes(out: &mut [u8]) -> Result<(), StoreError> {
    let crypto = crypto()?;
    // getRandomValues takes at most 65,536 bytes per call.
    for chunk in out.chunks_mut(65_536) {
        crypto.get_random_values_with_u8_array(chunk).map_err(|e| failed("drawing random bytes", &e))?;
    }
    Ok(())
}

/// A failed WebCrypto call, named for the operator.
pub(crate) fn failed(what: &str, error: &JsValue) -> StoreError {
    let name = error
        .dyn_ref::<web_sys::DomException>()
        .map(|e| format!("{}: {}", e.name(), e.message()))
        .unwrap_or_else(|| format!("{error:?}"));
    StoreError::Unavailable(format!("the browser's WebCrypto failed while {what} ({name})"))
}

/// True when a WebCrypto promise was rejected because the data did not authenticate (a wrong
/// key, or altered bytes).
pub(crate) fn is_operation_error(error: &JsValue) -> bool {
    error.dyn_ref::<web_sys::DomException>().is_some_and(|e| e.name() == "OperationError")
}

/// Awaits a WebCrypto promise.
pub(crate) async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

/// `{ name, …fields }`, an algorithm dictionary.
pub(crate) fn algorithm(name: &str, fields: &[(&str, &JsValue)]) -> Object {
    let object = Object::new();
    let _ = Reflect::set(&object, &JsValue::from_str("name"), &JsValue::from_str(name));
    for (key, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object
}

/// The AES-GCM parameters for one value: its IV and its additional data (where it is stored).
pub(crate) fn gcm(iv: &Uint8Array, additional_data: &[u8]) -> Object {
    algorithm("AES-GCM", &[("iv", iv), ("additionalData", &Uint8Array::from(additional_data))])
}

/// A list of key usages, as WebCrypto takes them.
pub(crate) fn usages(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

/// A value sealed with the data key: its IV and the ciphertext with its 128-bit tag. Both are
/// stored as they are (a `Uint8Array` and an `ArrayBuffer`), never copied through this
/// program's memory.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub iv: Uint8Array,
    pub data: ArrayBuffer,
}

/// The data key, unlocked: a non-extractable AES-256-GCM `CryptoKey`. Cloning shares the
/// handle; when the last one is dropped the key is gone from this program.
#[derive(Clone)]
pub struct DataKey(CryptoKey);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    pub(crate) fn new(key: CryptoKey) -> DataKey {
        DataKey(key)
    }

    pub(crate) fn crypto_key(&self) -> &CryptoKey {
        &self.0
    }

    /// Seals `plaintext` under a fresh random IV, bound to `place` (where it will be stored).
    pub async fn seal(&self, place: &[u8], plaintext: &[u8]) -> Result<Sealed, StoreError> {
        let mut iv = [0_u8; IV_BYTES];
        random_bytes(&mut iv)?;
        let iv = Uint8Array::from(&iv[..]);
        // WebCrypto copies `plaintext` when called, so the promise does not borrow it.
        let promise = subtle()?.encrypt_with_object_and_u8_array(&gcm(&iv, place), &self.0, plaintext);
        let data = settle(promise).await.map_err(|e| failed("encrypting", &e))?;
        let data = data.dyn_into::<ArrayBuffer>().map_err(|e| failed("encrypting", &e))?;
        Ok(Sealed { iv, data })
    }

    /// Opens a value sealed at `place`. `Err(None)`: it does not authenticate (altered, moved,
    /// or sealed under another key); `Err(Some(_))`: WebCrypto failed otherwise.
    pub async fn open(
        &self,
        place: &[u8],
        iv: &Uint8Array,
        data: &Object,
    ) -> Result<Vec<u8>, Option<StoreError>> {
        if iv.length() as usize != IV_BYTES {
            return Err(None);
        }
        let subtle = subtle().map_err(Some)?;
        let promise = subtle.decrypt_with_object_and_buffer_source(&gcm(iv, place), &self.0, data);
        match settle(promise).await {
            Ok(plain) => Ok(Uint8Array::new(&plain).to_vec()),
            Err(e) if is_operation_error(&e) => Err(None),
            Err(e) => Err(Some(failed("decrypting", &e))),
        }
    }
}
