//! Roundtrip: a private, in-browser workbench for bulk CRM imports and exports.
//!
//! `core` is pure Rust (model, templates, pipeline stages); `store` is the storage boundary
//! (in-memory and IndexedDB); `ui` is the Leptos application, built only for the browser.

pub mod core;
pub mod store;
#[cfg(target_arch = "wasm32")]
pub mod ui;
