//! The digest secret of a CRM made in the browser: 256 bits from the worker's
//! `crypto.getRandomValues`, handed to the service as its [`SecretSource`] (the service makes
//! a secret when a CRM is created or loaded without one: the demo, an empty copy, a snapshot
//! or a stored copy from before digest secrets).

use wasm_bindgen::JsCast;

use crate::core::privacy::CrmSecret;
use crate::service::SecretSource;

/// Secrets from `crypto.getRandomValues` of the worker's global scope.
pub fn browser_secrets() -> SecretSource {
    SecretSource::new(|| {
        let scope: web_sys::WorkerGlobalScope =
            js_sys::global().dyn_into().map_err(|_| "not running in a worker".to_string())?;
        let crypto = scope.crypto().map_err(|_| "the worker has no crypto object".to_string())?;
        let mut bytes = [0u8; 32];
        crypto
            .get_random_values_with_u8_array(&mut bytes)
            .map_err(|e| format!("crypto.getRandomValues failed: {e:?}"))?;
        Ok(CrmSecret::from_bytes(bytes))
    })
}
