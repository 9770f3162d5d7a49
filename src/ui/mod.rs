//! The Leptos application, built only for the browser. Components call the core and render
//! its results; they compute nothing themselves (ARCHITECTURE.md, invariant 3). The store is
//! reached through [`state`]; browser APIs through [`browser`].

mod accounts;
mod browse;
mod browser;
mod data_page;
mod export_page;
mod history;
mod import;
mod portfolios;
mod shell;
mod state;
mod table;
mod update;
mod utilities;

/// Installs the panic hook and mounts the app on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(shell::App);
}
