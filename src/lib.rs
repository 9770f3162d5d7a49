//! Roundtrip: a private, in-browser workbench for bulk CRM imports and exports.
//!
//! `core` is pure Rust (model, templates, pipeline stages); `store` is the storage boundary
//! (in-memory and IndexedDB); `service` is the application's operations over a store (the
//! workflows' sessions, browsing, exports, undo), pure and async; `protocol` is the messages
//! between the page and the pipeline worker; `worker` serves the protocol in a dedicated Web
//! Worker; `ui` is the Leptos page. The page's binary holds `ui` and `protocol`; the worker's
//! holds `worker`, `service`, `store` and `core`. `cli` (native only) is the command line's
//! arguments and output over the same service, on a CRM snapshot file.

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod core;
pub mod protocol;
pub mod service;
pub mod store;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;
