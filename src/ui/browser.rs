//! Thin wrappers over browser APIs the UI needs: downloads, reading picked files, yielding to
//! the event loop during long work, the clock, confirmations, local storage, and the File
//! System Access API for "sync to a file". No business logic lives here.

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

pub const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn js_error_text(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown browser error".to_string())
}

/// A file name without its extension (`contacts.xlsx` → `contacts`).
pub fn file_stem(file_name: &str) -> &str {
    file_name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(file_name)
}

/// Offers `bytes` to the operator as a downloaded file.
pub fn download(bytes: &[u8], file_name: &str, mime: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = Array::new();
    parts.push(&Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_error_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_error_text(&e))?;
    let anchor: web_sys::HtmlAnchorElement =
        document.create_element("a").map_err(|e| js_error_text(&e))?.dyn_into().map_err(|_| "no anchor")?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.set_attribute("style", "display:none").ok();
    if let Some(body) = document.body() {
        body.append_child(&anchor).ok();
        anchor.click();
        body.remove_child(&anchor).ok();
    }
    // Revoke after the click has been handled.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    window.set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 10_000).ok();
    Ok(())
}

/// The bytes of a file the operator picked or dropped.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| js_error_text(&e))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Lets the browser paint and handle input before long work continues.
pub async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Milliseconds from a monotonic clock, for progress and timings.
pub fn monotonic_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or_else(js_sys::Date::now)
}

/// Local time text of a Unix time in ms (e.g. "2026-11-23 21:40").
pub fn local_time_text(ms: i64) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// Asks the operator a yes/no question.
pub fn confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(false)
}

/// Reads a JSON value from local storage.
pub fn load_setting<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
    use gloo_storage::Storage;
    gloo_storage::LocalStorage::get(key).ok()
}

/// Writes a JSON value to local storage (silently ignored when storage is unavailable).
pub fn save_setting<T: serde::Serialize>(key: &str, value: &T) {
    use gloo_storage::Storage;
    let _ = gloo_storage::LocalStorage::set(key, value);
}

/// The content of `<meta name=…>` in the page.
pub fn meta_content(name: &str) -> Option<String> {
    let document = web_sys::window()?.document()?;
    document.query_selector(&format!("meta[name=\"{name}\"]")).ok()??.get_attribute("content")
}

thread_local! {
    static SYNC_TARGET: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// True where the File System Access API can save to a picked file.
pub fn can_sync_to_file() -> bool {
    web_sys::window()
        .map(|w| Reflect::has(&w, &JsValue::from_str("showSaveFilePicker")).unwrap_or(false))
        .unwrap_or(false)
}

/// True once the operator has picked a file to sync to.
pub fn has_sync_target() -> bool {
    SYNC_TARGET.with(|t| t.borrow().is_some())
}

/// Asks the operator to pick the file that each apply rewrites.
pub async fn pick_sync_target(suggested_name: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let picker =
        Reflect::get(&window, &JsValue::from_str("showSaveFilePicker")).map_err(|e| js_error_text(&e))?;
    let picker: js_sys::Function =
        picker.dyn_into().map_err(|_| "This browser cannot save to a chosen file.")?;
    let options = Object::new();
    Reflect::set(&options, &"suggestedName".into(), &JsValue::from_str(suggested_name)).ok();
    let promise: js_sys::Promise = picker
        .call1(&window, &options)
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "no promise")?;
    let handle = JsFuture::from(promise).await.map_err(|e| js_error_text(&e))?;
    SYNC_TARGET.with(|t| *t.borrow_mut() = Some(handle));
    Ok(())
}

/// Rewrites the picked sync file with `bytes`.
pub async fn write_sync_target(bytes: &[u8]) -> Result<(), String> {
    let handle = SYNC_TARGET.with(|t| t.borrow().clone()).ok_or("No file has been chosen to sync to.")?;
    let create: js_sys::Function = Reflect::get(&handle, &"createWritable".into())
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "the chosen file cannot be written")?;
    let writable =
        JsFuture::from(js_sys::Promise::from(create.call0(&handle).map_err(|e| js_error_text(&e))?))
            .await
            .map_err(|e| js_error_text(&e))?;
    let write: js_sys::Function = Reflect::get(&writable, &"write".into())
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "no write")?;
    JsFuture::from(js_sys::Promise::from(
        write.call1(&writable, &Uint8Array::from(bytes)).map_err(|e| js_error_text(&e))?,
    ))
    .await
    .map_err(|e| js_error_text(&e))?;
    let close: js_sys::Function = Reflect::get(&writable, &"close".into())
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "no close")?;
    JsFuture::from(js_sys::Promise::from(close.call0(&writable).map_err(|e| js_error_text(&e))?))
        .await
        .map_err(|e| js_error_text(&e))?;
    Ok(())
}

/// The first file of a file input's selection.
pub fn first_file_of_input(ev: &web_sys::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    let file = input.files()?.get(0);
    input.set_value("");
    file
}

/// The first file of a drop.
pub fn first_file_of_drop(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
    ev.data_transfer()?.files()?.get(0)
}
