//! Thin wrappers over browser APIs the page needs: downloads, reading picked files (size checked
//! first), the clock, confirmations, local storage. No business logic lives here.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn js_error_text(e: &JsValue) -> String {
    Reflect::get(e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown browser error".to_string())
}

/// Offers a buffer the worker sent to the operator as a downloaded file.
pub fn download_buffer(bytes: &js_sys::ArrayBuffer, file_name: &str, mime: &str) -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let parts = Array::new();
    parts.push(bytes);
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

/// The largest file the app reads (256 MiB): checked against `File.size` before any byte is
/// read, so a larger file never reaches WebAssembly memory.
pub const MAX_FILE_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

/// The bytes of a file the operator picked or dropped, as a buffer to transfer to the
/// worker (never copied into the page's memory). A file over [`MAX_FILE_BYTES`] is refused
/// before it is read.
pub async fn read_file_buffer(file: &web_sys::File) -> Result<js_sys::ArrayBuffer, String> {
    let size = file.size();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{}: the file is {:.0} MiB; at most 256 MiB can be read — split it into smaller files.",
            file.name(),
            size / 1024.0 / 1024.0
        ));
    }
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| js_error_text(&e))?;
    buffer.dyn_into().map_err(|_| format!("{} could not be read.", file.name()))
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
