//! The Leptos page, built only for the browser. It holds views and sends requests: the CRM copy,
//! the store and every workflow's session live in the pipeline worker, reached through
//! [`client`]; components render what the worker answers and compute nothing the core can.
//! State every page shares is in [`state`] and [`workflow`], provided at the root; browser APIs
//! are wrapped in [`browser`], [`storage`] and [`sync`].

mod accounts;
mod browse;
mod browser;
pub mod client;
mod data_page;
mod export_page;
mod history;
mod import;
mod ledger;
mod portfolios;
mod shell;
mod state;
mod storage;
mod sync;
mod table;
mod templates;
mod update;
mod utilities;
mod vault;
mod workflow;

/// Installs the panic hook and mounts the app on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(shell::App);
}
