//! Reading a database as an intruder would: every row of every object store, keys and
//! values, flattened to bytes, with nothing but IndexedDB itself (no key, no store code).

use indexed_db_futures::database::Database;
use indexed_db_futures::internals::SystemRepr;
use wasm_bindgen::{JsCast, JsValue};

/// Everything stored: one entry per row, `(where, bytes)`: `where` names the object store
/// and the row's key; `bytes` holds every string (UTF-8), number and binary value of the
/// row's key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDatabase {
    pub rows: Vec<(String, Vec<u8>)>,
    /// Entries in the version-1 unique indexes (`client_reference`, `ssn`, `reference`).
    pub index_entries: u32,
}

/// Awaits an IndexedDB request.
pub async fn settled(request: web_sys::IdbRequest) -> JsValue {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.expect("the request succeeds");
    request.result().expect("the request has a result")
}

/// Appends every string, number and byte of `value` (objects and arrays walked) to `out`.
fn flatten(value: &JsValue, out: &mut Vec<u8>) {
    if let Some(text) = value.as_string() {
        out.extend_from_slice(text.as_bytes());
    } else if let Some(n) = value.as_f64() {
        out.extend_from_slice(n.to_string().as_bytes());
    } else if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        out.extend(js_sys::Uint8Array::new(buffer).to_vec());
    } else if let Some(view) = value.dyn_ref::<js_sys::Uint8Array>() {
        out.extend(view.to_vec());
    } else if let Some(array) = value.dyn_ref::<js_sys::Array>() {
        for item in array.iter() {
            flatten(&item, out);
            out.push(0);
        }
    } else if value.is_object() {
        for entry in js_sys::Object::entries(value.unchecked_ref()).iter() {
            flatten(&entry, out);
            out.push(0);
        }
    }
}

/// Reads the whole database `name`.
pub async fn read(name: &str) -> RawDatabase {
    let db = Database::open(name).await.unwrap();
    let names: Vec<String> = db.object_store_names().collect();
    let raw: &web_sys::IdbDatabase = db.as_sys();
    let scope: js_sys::Array = names.iter().map(|n| JsValue::from_str(n)).collect();
    let tx =
        raw.transaction_with_str_sequence_and_mode(&scope, web_sys::IdbTransactionMode::Readonly).unwrap();
    let mut rows = Vec::new();
    let mut index_entries = 0;
    for name in &names {
        let store = tx.object_store(name).unwrap();
        let keys: js_sys::Array = settled(store.get_all_keys().unwrap()).await.unchecked_into();
        let values: js_sys::Array = settled(store.get_all().unwrap()).await.unchecked_into();
        for (key, value) in keys.iter().zip(values.iter()) {
            let mut bytes = Vec::new();
            flatten(&key, &mut bytes);
            flatten(&value, &mut bytes);
            rows.push((format!("{name}/{key:?}"), bytes));
        }
        for index in ["client_reference", "ssn", "reference"] {
            if let Ok(index) = store.index(index) {
                index_entries += settled(index.count().unwrap()).await.as_f64().unwrap_or(0.0) as u32;
            }
        }
    }
    db.close();
    RawDatabase { rows, index_entries }
}

impl RawDatabase {
    /// The rows in which any of `needles` appears (as UTF-8, or as UTF-16 of either byte
    /// order), with the needle found.
    pub fn find(&self, needles: &[String]) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (place, bytes) in &self.rows {
            for needle in needles {
                let utf16: Vec<u16> = needle.encode_utf16().collect();
                let forms = [
                    needle.as_bytes().to_vec(),
                    utf16.iter().flat_map(|u| u.to_le_bytes()).collect(),
                    utf16.iter().flat_map(|u| u.to_be_bytes()).collect(),
                ];
                if forms.iter().any(|form| bytes.windows(form.len()).any(|w| w == form.as_slice())) {
                    found.push((place.clone(), needle.clone()));
                }
            }
        }
        found
    }

    /// The rows of one object store.
    pub fn of(&self, store: &str) -> Vec<&(String, Vec<u8>)> {
        self.rows.iter().filter(|(place, _)| place.starts_with(&format!("{store}/"))).collect()
    }
}
