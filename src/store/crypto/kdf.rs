//! The key derivation: from the operator's passphrase and a random salt to the key that wraps
//! the data key. Two functions are offered and measured in this browser (the
//! `store_indexeddb` browser tests print the figures): Argon2id, memory-hard, computed here in
//! WebAssembly, and PBKDF2-HMAC-SHA-256, computed by WebCrypto. The parameters are stored
//! with the wrapped key, so a later build can raise them on the next passphrase change
//! without locking anyone out.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::CryptoKey;

use super::{algorithm, failed, settle, subtle, usages};
use crate::store::StoreError;

/// A key-derivation function and its cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub enum Kdf {
    /// Argon2id (RFC 9106), version 0x13, 32-byte output.
    Argon2id {
        /// Memory in KiB.
        memory_kib: u32,
        /// Passes over the memory.
        iterations: u32,
        /// Lanes (WebAssembly here runs one thread, so more lanes cost time, not security).
        parallelism: u32,
    },
    /// PBKDF2 with HMAC-SHA-256, 32-byte output.
    Pbkdf2Sha256 { iterations: u32 },
}

impl Kdf {
    /// OWASP's minimum for Argon2id: 19 MiB, 2 iterations, 1 lane.
    pub const ARGON2ID_OWASP_MINIMUM: Kdf =
        Kdf::Argon2id { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };
    /// Bitwarden's default for Argon2id: 64 MiB, 3 iterations (one lane here).
    pub const ARGON2ID_64_MIB: Kdf = Kdf::Argon2id { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 };
    /// OWASP's minimum for PBKDF2-HMAC-SHA-256: 600,000 iterations.
    pub const PBKDF2_OWASP_MINIMUM: Kdf = Kdf::Pbkdf2Sha256 { iterations: 600_000 };

    /// What new passphrases are derived with.
    pub const DEFAULT: Kdf = Kdf::ARGON2ID_64_MIB;

    /// A short description for figures and logs ("Argon2id 64 MiB × 3").
    pub fn describe(&self) -> String {
        match self {
            Kdf::Argon2id { memory_kib, iterations, parallelism } => {
                format!("Argon2id {} MiB × {iterations}, {parallelism} lane(s)", memory_kib / 1024)
            }
            Kdf::Pbkdf2Sha256 { iterations } => format!("PBKDF2-HMAC-SHA-256 × {iterations}"),
        }
    }

    /// Derives the wrapping key: a non-extractable AES-256-GCM key that can only wrap and
    /// unwrap keys. The derived bytes of Argon2id are overwritten once imported.
    pub async fn wrapping_key(&self, passphrase: &str, salt: &[u8]) -> Result<CryptoKey, StoreError> {
        let subtle = subtle()?;
        let wrap = usages(&["wrapKey", "unwrapKey"]);
        let promise = match self {
            Kdf::Argon2id { memory_kib, iterations, parallelism } => {
                let params = Params::new(*memory_kib, *iterations, *parallelism, Some(32)).map_err(|e| {
                    StoreError::Unavailable(format!("the key derivation is misconfigured ({e})"))
                })?;
                let mut derived = [0_u8; 32];
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                    .hash_password_into(passphrase.as_bytes(), salt, &mut derived)
                    .map_err(|e| StoreError::Unavailable(format!("the key derivation failed ({e})")))?;
                let raw = js_sys::Uint8Array::from(&derived[..]);
                derived.fill(0);
                std::hint::black_box(&derived);
                let promise =
                    subtle.import_key_with_object("raw", &raw, &algorithm("AES-GCM", &[]), false, &wrap);
                raw.fill(0, 0, 32);
                promise
            }
            Kdf::Pbkdf2Sha256 { iterations } => {
                let secret = js_sys::Uint8Array::from(passphrase.as_bytes());
                let base = settle(subtle.import_key_with_str(
                    "raw",
                    &secret,
                    "PBKDF2",
                    false,
                    &usages(&["deriveKey"]),
                ))
                .await
                .map_err(|e| failed("deriving the key", &e))?;
                secret.fill(0, 0, secret.length());
                let params = algorithm(
                    "PBKDF2",
                    &[
                        ("salt", &js_sys::Uint8Array::from(salt)),
                        ("iterations", &JsValue::from(*iterations)),
                        ("hash", &JsValue::from_str("SHA-256")),
                    ],
                );
                let target = algorithm("AES-GCM", &[("length", &JsValue::from(256))]);
                let base: CryptoKey = base.unchecked_into();
                subtle.derive_key_with_object_and_object(&params, &base, &target, false, &wrap)
            }
        };
        let key = settle(promise).await.map_err(|e| failed("deriving the key", &e))?;
        Ok(key.unchecked_into())
    }
}
