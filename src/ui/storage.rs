//! Durable storage: the app asks the browser to keep the CRM copy (persistent storage, so the
//! browser does not evict it under pressure) at the first write, and the CRM data page shows
//! whether it is persisted and how much of the quota is used.

use leptos::prelude::*;
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

/// Whether the copy is persisted, and the usage and quota.
#[component]
pub fn StorageFigures() -> impl IntoView {
    let app = crate::ui::state::use_app();
    let figures = LocalResource::new(move || {
        let _ = app.summary.with(|s| s.sequence);
        async move { (persisted().await, estimate().await) }
    });
    move || {
        figures.get().map(|(persisted, estimate)| {
            let kept = match persisted {
                Some(true) => "Persistent: the browser keeps this copy even when disk space runs low.",
                Some(false) => {
                    "Not persistent yet: the browser may clear it under storage pressure. The app asks to keep it at the first write."
                }
                None => "This browser does not say whether it keeps the copy.",
            };
            let usage = estimate
                .map(|(used, quota)| format!("{} used of {} available to this site.", bytes_text(used), bytes_text(quota)))
                .unwrap_or_default();
            view! {
                <p class="muted" data-testid="storage-persisted">{kept}</p>
                <p class="muted" data-testid="storage-usage">{usage}</p>
            }
        })
    }
}
