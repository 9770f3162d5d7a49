//! Sync: the operator picks a file once (File System Access API) for a portfolio's Insured CRM
//! Export, and every apply or undo that touches that portfolio rewrites exactly that file.
//! The file handle is kept in this browser's IndexedDB (database `roundtrip-sync`, handles are
//! structured-cloneable) with the portfolio it belongs to, so it survives a reload; after a
//! reload the browser asks again for permission to write, with one click. The page says
//! "Synced to <file> at <time>" or why not. Where the API is missing, the export downloads.
//!
//! Testing hook: when `window.__roundtripPickSyncFile` is a function returning a promise of a
//! `FileSystemFileHandle`, it is used instead of the save-file picker (the end-to-end tests
//! pass a handle of the origin-private file system).

use js_sys::{Function, Object, Promise, Reflect};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::InsuredExport;
use crate::ui::browser::{local_time_text, now_ms};
use crate::ui::state::AppState;

const DATABASE: &str = "roundtrip-sync";
const STORE: &str = "targets";

/// Where a portfolio's export is synced, and how the last write went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncTarget {
    pub portfolio_id: u32,
    pub file_name: String,
    pub status: SyncStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// Written at this time (ms since the epoch).
    Synced(i64),
    /// The browser forgot the permission (after a reload): one click asks again.
    NeedsPermission,
    /// The last write failed (the file moved, the disk is full…).
    Failed(String),
    /// Chosen, not written yet.
    Chosen,
}

impl SyncTarget {
    /// "Synced to export.xlsx at 2026-12-01 10:42", or why not.
    pub fn status_text(&self) -> String {
        match &self.status {
            SyncStatus::Synced(at) => format!("Synced to {} at {}", self.file_name, local_time_text(*at)),
            SyncStatus::NeedsPermission => {
                format!("Not synced: the browser needs your permission again to write {}.", self.file_name)
            }
            SyncStatus::Failed(why) => format!("Not synced to {}: {why}", self.file_name),
            SyncStatus::Chosen => format!("Will sync to {}", self.file_name),
        }
    }
}

thread_local! {
    static SYNC: std::cell::Cell<Option<SyncState>> = const { std::cell::Cell::new(None) };
}

/// The sync targets, made once at the app root.
#[derive(Clone, Copy)]
pub struct SyncState {
    pub targets: RwSignal<Vec<SyncTarget>>,
}

impl SyncState {
    pub fn new() -> SyncState {
        let state = SyncState { targets: RwSignal::new(Vec::new()) };
        leptos::task::spawn_local(async move {
            let targets = load_targets().await;
            let mut shown = Vec::new();
            for (portfolio_id, file_name, handle) in targets {
                let status = match permission(&handle, false).await.as_deref() {
                    Some("granted") => SyncStatus::Chosen,
                    _ => SyncStatus::NeedsPermission,
                };
                shown.push(SyncTarget { portfolio_id, file_name, status });
            }
            state.targets.set(shown);
        });
        SYNC.with(|s| s.set(Some(state)));
        state
    }

    pub fn of(&self, portfolio_id: u32) -> Option<SyncTarget> {
        self.targets.with(|t| t.iter().find(|t| t.portfolio_id == portfolio_id).cloned())
    }

    fn set(&self, target: SyncTarget) {
        self.targets.update(|t| {
            t.retain(|x| x.portfolio_id != target.portfolio_id);
            t.push(target);
        });
    }
}

impl Default for SyncState {
    fn default() -> Self {
        Self::new()
    }
}

/// The sync state made at the app root (usable after an await, where context is not).
pub fn use_sync() -> Option<SyncState> {
    SYNC.with(|s| s.get())
}

fn text(e: &JsValue) -> String {
    Reflect::get(e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| format!("{e:?}"))
}

/// True where a file can be picked to sync to (or the testing hook is set).
pub fn can_sync() -> bool {
    let Some(w) = web_sys::window() else { return false };
    Reflect::has(&w, &"showSaveFilePicker".into()).unwrap_or(false) || test_picker().is_some()
}

fn test_picker() -> Option<Function> {
    let w = web_sys::window()?;
    Reflect::get(&w, &"__roundtripPickSyncFile".into()).ok()?.dyn_into().ok()
}

async fn await_promise(value: JsValue) -> Result<JsValue, String> {
    let promise: Promise = value.dyn_into().map_err(|_| "the browser returned no promise".to_string())?;
    JsFuture::from(promise).await.map_err(|e| text(&e))
}

async fn pick_handle(suggested_name: &str) -> Result<JsValue, String> {
    let w = web_sys::window().ok_or("no window")?;
    if let Some(picker) = test_picker() {
        return await_promise(picker.call1(&w, &JsValue::from_str(suggested_name)).map_err(|e| text(&e))?)
            .await;
    }
    let picker: Function =
        Reflect::get(&w, &"showSaveFilePicker".into()).map_err(|e| text(&e))?.dyn_into().map_err(|_| {
            "This browser cannot save to a chosen file; the export is downloaded instead.".to_string()
        })?;
    let options = Object::new();
    let _ = Reflect::set(&options, &"suggestedName".into(), &JsValue::from_str(suggested_name));
    await_promise(picker.call1(&w, &options).map_err(|e| text(&e))?).await
}

/// The handle's permission to write ("granted", "prompt", "denied"); with `ask`, asks for it
/// (this needs a click of the operator's).
async fn permission(handle: &JsValue, ask: bool) -> Option<String> {
    let method = if ask { "requestPermission" } else { "queryPermission" };
    let f: Function = Reflect::get(handle, &method.into()).ok()?.dyn_into().ok()?;
    let options = Object::new();
    let _ = Reflect::set(&options, &"mode".into(), &"readwrite".into());
    await_promise(f.call1(handle, &options).ok()?).await.ok()?.as_string()
}

async fn write(handle: &JsValue, bytes: &js_sys::ArrayBuffer) -> Result<(), String> {
    let create: Function = Reflect::get(handle, &"createWritable".into())
        .map_err(|e| text(&e))?
        .dyn_into()
        .map_err(|_| "the chosen file cannot be written".to_string())?;
    let writable = await_promise(create.call0(handle).map_err(|e| text(&e))?).await?;
    let write: Function =
        Reflect::get(&writable, &"write".into()).map_err(|e| text(&e))?.dyn_into().map_err(|_| "no write")?;
    await_promise(write.call1(&writable, bytes).map_err(|e| text(&e))?).await?;
    let close: Function =
        Reflect::get(&writable, &"close".into()).map_err(|e| text(&e))?.dyn_into().map_err(|_| "no close")?;
    await_promise(close.call0(&writable).map_err(|e| text(&e))?).await?;
    Ok(())
}

/// Waits for an IndexedDB request.
async fn request_done(request: &web_sys::IdbRequest) -> Result<JsValue, String> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await.map_err(|e| text(&e))?;
    request.result().map_err(|e| text(&e))
}

async fn database() -> Result<web_sys::IdbDatabase, String> {
    let factory = web_sys::window()
        .ok_or("no window")?
        .indexed_db()
        .map_err(|e| text(&e))?
        .ok_or("this browser offers no IndexedDB")?;
    let open = factory.open_with_u32(DATABASE, 1).map_err(|e| text(&e))?;
    let on_upgrade = Closure::once_into_js(move |event: web_sys::Event| {
        let db = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::IdbOpenDbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|r| r.dyn_into::<web_sys::IdbDatabase>().ok());
        if let Some(db) = db {
            let params = web_sys::IdbObjectStoreParameters::new();
            params.set_key_path(&"portfolio_id".into());
            let _ = db.create_object_store_with_optional_parameters(STORE, &params);
        }
    });
    open.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db = request_done(&open).await?;
    db.dyn_into().map_err(|_| "the sync database could not be opened".to_string())
}

async fn load_targets() -> Vec<(u32, String, JsValue)> {
    let Ok(db) = database().await else { return Vec::new() };
    let Ok(tx) = db.transaction_with_str(STORE) else { return Vec::new() };
    let Ok(store) = tx.object_store(STORE) else { return Vec::new() };
    let Ok(request) = store.get_all() else { return Vec::new() };
    let Ok(rows) = request_done(&request).await else { return Vec::new() };
    let rows: js_sys::Array = rows.unchecked_into();
    rows.iter()
        .filter_map(|row| {
            let id = Reflect::get(&row, &"portfolio_id".into()).ok()?.as_f64()? as u32;
            let name = Reflect::get(&row, &"file_name".into()).ok()?.as_string()?;
            let handle = Reflect::get(&row, &"handle".into()).ok()?;
            Some((id, name, handle))
        })
        .collect()
}

async fn handle_of(portfolio_id: u32) -> Option<JsValue> {
    let db = database().await.ok()?;
    let tx = db.transaction_with_str(STORE).ok()?;
    let request = tx.object_store(STORE).ok()?.get(&JsValue::from(portfolio_id)).ok()?;
    let row = request_done(&request).await.ok()?;
    Reflect::get(&row, &"handle".into()).ok().filter(|h| !h.is_undefined())
}

async fn save_target(portfolio_id: u32, file_name: &str, handle: &JsValue) -> Result<(), String> {
    let db = database().await?;
    let tx = db
        .transaction_with_str_and_mode(STORE, web_sys::IdbTransactionMode::Readwrite)
        .map_err(|e| text(&e))?;
    let row = Object::new();
    let _ = Reflect::set(&row, &"portfolio_id".into(), &JsValue::from(portfolio_id));
    let _ = Reflect::set(&row, &"file_name".into(), &JsValue::from_str(file_name));
    let _ = Reflect::set(&row, &"handle".into(), handle);
    let request = tx.object_store(STORE).map_err(|e| text(&e))?.put(&row).map_err(|e| text(&e))?;
    request_done(&request).await.map(|_| ())
}

/// Asks the worker for a portfolio's export and writes it to the portfolio's file.
async fn write_export(app: AppState, sync: SyncState, portfolio_id: u32, handle: &JsValue, file_name: &str) {
    let status = match app
        .call_with(InsuredExport { portfolio_id, operator_login: app.operator.get_untracked() }, None)
        .await
    {
        Ok((_, Some(bytes))) => match write(handle, &bytes).await {
            Ok(()) => SyncStatus::Synced(now_ms()),
            Err(e) => SyncStatus::Failed(e),
        },
        Ok((_, None)) => SyncStatus::Failed("the export did not arrive".into()),
        Err(e) => SyncStatus::Failed(e),
    };
    sync.set(SyncTarget { portfolio_id, file_name: file_name.to_string(), status });
}

/// Picks the file a portfolio's export syncs to, and writes it now.
pub async fn choose(app: AppState, portfolio_id: u32, suggested_name: &str) {
    let Some(sync) = use_sync() else { return };
    let handle = match pick_handle(suggested_name).await {
        Ok(h) => h,
        Err(e) => return app.error(format!("No file was chosen: {e}")),
    };
    let file_name =
        Reflect::get(&handle, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
    if let Err(e) = save_target(portfolio_id, &file_name, &handle).await {
        app.error(format!("The chosen file could not be remembered: {e}"));
    }
    write_export(app, sync, portfolio_id, &handle, &file_name).await;
    if let Some(t) = sync.of(portfolio_id) {
        match t.status {
            SyncStatus::Synced(_) => {
                app.success(format!("{}. Each later apply or undo rewrites it.", t.status_text()))
            }
            _ => app.error(t.status_text()),
        }
    }
}

/// Asks again for permission to write a portfolio's file (after a reload) and writes it.
pub async fn allow(app: AppState, portfolio_id: u32) {
    let Some(sync) = use_sync() else { return };
    let Some(target) = sync.of(portfolio_id) else { return };
    let Some(handle) = handle_of(portfolio_id).await else {
        return sync
            .set(SyncTarget { status: SyncStatus::Failed("the chosen file is forgotten".into()), ..target });
    };
    match permission(&handle, true).await.as_deref() {
        Some("granted") => write_export(app, sync, portfolio_id, &handle, &target.file_name).await,
        _ => sync.set(SyncTarget { status: SyncStatus::NeedsPermission, ..target }),
    }
}

/// After an apply or undo: rewrites the synced file of every portfolio it touched.
pub async fn after_change(app: AppState, portfolios: &[u32]) {
    let Some(sync) = use_sync() else { return };
    for portfolio_id in portfolios {
        let Some(target) = sync.of(*portfolio_id) else { continue };
        let Some(handle) = handle_of(*portfolio_id).await else { continue };
        match permission(&handle, false).await.as_deref() {
            Some("granted") => write_export(app, sync, *portfolio_id, &handle, &target.file_name).await,
            _ => sync.set(SyncTarget { status: SyncStatus::NeedsPermission, ..target }),
        }
    }
}

/// The export file name suggested for a portfolio: `insured-crm-export-<slug>-<date>.xlsx`.
pub fn export_name(portfolio: &str) -> String {
    let slug: String = portfolio
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!(
        "insured-crm-export-{}-{}.xlsx",
        slug.trim_matches('-'),
        crate::core::date::Date::from_unix_ms(now_ms())
    )
}

/// "Sync to a file…" for one portfolio's export, the sync status ("Synced to … at …" or why
/// not) and, after a reload, the one click that allows writing the file again. Where the
/// browser cannot write a chosen file, the export downloads instead (the Download button
/// next to it) and this says so.
#[component]
pub fn SyncControls(
    app: AppState,
    portfolio_id: Signal<Option<u32>>,
    portfolio_name: Signal<String>,
) -> impl IntoView {
    let status = move || {
        let pid = portfolio_id.get()?;
        use_sync().and_then(|s| s.of(pid)).map(|t| t.status_text())
    };
    let needs = move || {
        portfolio_id
            .get()
            .and_then(|pid| use_sync().and_then(|s| s.of(pid)))
            .map(|t| t.status == SyncStatus::NeedsPermission)
            .unwrap_or(false)
    };
    if !can_sync() {
        return view! {
            <span class="muted" data-testid="sync-status">
                "This browser cannot save to a chosen file; download the export instead."
            </span>
        }
        .into_any();
    }
    view! {
        <button
            data-testid="export-sync"
            on:click=move |_| {
                let Some(pid) = portfolio_id.get_untracked() else { return };
                let suggested = export_name(&portfolio_name.get_untracked());
                leptos::task::spawn_local(async move { choose(app, pid, &suggested).await });
            }
        >
            "Sync to a file…"
        </button>
        <Show when=needs>
            <button
                data-testid="sync-allow"
                on:click=move |_| {
                    let Some(pid) = portfolio_id.get_untracked() else { return };
                    leptos::task::spawn_local(async move { allow(app, pid).await });
                }
            >
                "Allow writing the synced file"
            </button>
        </Show>
        <span class="muted" data-testid="sync-status">{status}</span>
    }
    .into_any()
}
