//! Durable storage: the app asks the browser to keep the CRM copy (persistent storage, so the
//! browser does not evict it under pressure) at the first write, and reads whether it is
//! persisted and how much of the quota is used (the CRM data page shows both). Browser calls
//! only: no page state.

use leptos::task::spawn_local;
use std::cell::Cell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

thread_local! {
    static ASKED: Cell<bool> = const { Cell::new(false) };
}

fn storage_manager() -> Option<web_sys::StorageManager> {
    let navigator = web_sys::window()?.navigator();
    let storage = js_sys::Reflect::get(&navigator, &"storage".into()).ok()?;
    storage.dyn_into().ok()
}

/// Whether the browser keeps the CRM copy even under storage pressure.
pub async fn persisted() -> Option<bool> {
    let promise = storage_manager()?.persisted().ok()?;
    JsFuture::from(promise).await.ok()?.as_bool()
}

/// Asks once per page load to keep the CRM copy; the browser may grant or refuse silently.
pub fn ensure_persisted() {
    if ASKED.with(|a| a.replace(true)) {
        return;
    }
    spawn_local(async {
        let Some(manager) = storage_manager() else { return };
        if persisted().await == Some(true) {
            return;
        }
        if let Ok(promise) = manager.persist() {
            let _ = JsFuture::from(promise).await;
        }
    });
}

/// (bytes used, quota in bytes), as the browser estimates them.
pub async fn estimate() -> Option<(f64, f64)> {
    let promise = storage_manager()?.estimate().ok()?;
    let value = JsFuture::from(promise).await.ok()?;
    let get = |k: &str| js_sys::Reflect::get(&value, &k.into()).ok().and_then(|v| v.as_f64());
    Some((get("usage")?, get("quota")?))
}

/// "12.3 MB"
pub fn bytes_text(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.0} kB", bytes / 1e3)
    }
}
