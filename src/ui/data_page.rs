//! CRM data: load the demo CRM, write the whole local CRM to a snapshot workbook, and load a
//! snapshot back in place of the copy (after a confirmation; a bad workbook is refused and
//! the copy stays exactly as it was).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::date::Date;
use crate::core::model::EntityKind;
use crate::core::snapshot::{read_snapshot, write_snapshot};
use crate::ui::browser::{
    confirm, download, first_file_of_input, monotonic_ms, now_ms, read_file, yield_to_browser, XLSX_MIME,
};
use crate::ui::shell::load_demo;
use crate::ui::state::use_app;

/// A message as a sentence: ends with a full stop, so another sentence can follow it.
fn sentence(message: &str) -> String {
    let m = message.trim_end();
    if m.ends_with(['.', '!', '?']) {
        m.to_string()
    } else {
        format!("{m}.")
    }
}

#[component]
pub fn DataPage() -> impl IntoView {
    let app = use_app();
    let counts = Memo::new(move |_| {
        app.crm.with(|crm| {
            EntityKind::ALL
                .into_iter()
                .filter(|k| *k != EntityKind::Counters)
                .map(|k| (entity_label(k), crm.count(k)))
                .collect::<Vec<_>>()
        })
    });
    let on_demo = move |_| {
        let empty = app.crm.with_untracked(|c| c.is_empty());
        if !empty
            && !confirm("Replace the whole local CRM with the demo CRM? Everything stored now is replaced.")
        {
            return;
        }
        spawn_local(load_demo(app));
    };
    let on_snapshot_download = move |_| {
        let result = app.crm.with_untracked(|crm| write_snapshot(crm));
        match result {
            Ok(bytes) => {
                let name = format!("roundtrip-crm-snapshot-{}.xlsx", Date::from_unix_ms(now_ms()));
                match download(&bytes, &name, XLSX_MIME) {
                    Ok(()) => app.success(format!("Snapshot written: {name}")),
                    Err(e) => app.error(e),
                }
            }
            Err(e) => app.error(format!("The snapshot could not be written: {e}")),
        }
    };
    let on_snapshot_file = move |ev: web_sys::Event| {
        let Some(file) = first_file_of_input(&ev) else { return };
        spawn_local(async move {
            let name = file.name();
            app.set_progress(&format!("Reading {name}"), 0, 3);
            yield_to_browser().await;
            let started = monotonic_ms();
            let bytes = match read_file(&file).await {
                Ok(b) => b,
                Err(e) => {
                    app.clear_progress();
                    app.error(format!("{name} could not be read: {e}"));
                    return;
                }
            };
            let crm = match read_snapshot(&name, &bytes) {
                Ok(c) => c,
                Err(e) => {
                    app.clear_progress();
                    app.error(format!("{} The local CRM was not changed.", sentence(&e.to_string())));
                    return;
                }
            };
            app.clear_progress();
            if !confirm(&format!(
                "Replace the whole local CRM with {name}? It holds {} CRM entries, {} cases and {} accounts.",
                crm.entries.len(),
                crm.cases.len(),
                crm.accounts.len()
            )) {
                app.info("Snapshot not loaded; the local CRM was not changed.");
                return;
            }
            app.set_progress("Writing the snapshot to the browser's database", 2, 3);
            yield_to_browser().await;
            let entries = crm.entries.len();
            match app.replace_all(crm).await {
                Ok(()) => app.success(format!(
                    "Snapshot {name} loaded: {entries} CRM entries, in {:.1} s.",
                    (monotonic_ms() - started) / 1000.0
                )),
                Err(e) => app.error(format!("{} The local CRM was not changed.", sentence(&e))),
            }
            app.clear_progress();
        });
    };
    view! {
        <section class="split">
            <div class="panel">
                <h2>"The local CRM"</h2>
                <p class="muted">"Stored in this browser only. Nothing is sent anywhere."</p>
                <table class="grid compact" data-testid="crm-counts">
                    <tbody>
                        {move || {
                            counts
                                .get()
                                .into_iter()
                                .map(|(k, n)| view! { <tr><td>{k}</td><td class="num">{n}</td></tr> })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <div class="panel">
                <h2>"Demo CRM"</h2>
                <p class="muted">
                    "A generated CRM (always the same): 3 operators, 4 portfolios, 400 cases, 1,000 insureds, 900 CRM entries with contact details, 200 accounts, 300 school users and 300 devices."
                </p>
                <button class="primary" data-testid="load-demo" on:click=on_demo>
                    "Load the demo CRM"
                </button>
                <h2>"Snapshot"</h2>
                <p class="muted">
                    "A snapshot is the whole local CRM as one workbook, one sheet per entity. Keep it as a backup or move the CRM to another browser."
                </p>
                <button data-testid="snapshot-download" on:click=on_snapshot_download>
                    "Download snapshot (XLSX)"
                </button>
                <label class="file-button">
                    "Load a snapshot…"
                    <input type="file" accept=".xlsx" data-testid="snapshot-input" on:change=on_snapshot_file/>
                </label>
            </div>
        </section>
    }
}

/// How an entity kind is named on the page.
fn entity_label(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Operator => "Operators",
        EntityKind::Portfolio => "Portfolios",
        EntityKind::Case => "Cases",
        EntityKind::Insured => "Insureds",
        EntityKind::Entry => "CRM entries",
        EntityKind::Detail => "Contact details",
        EntityKind::Account => "Accounts",
        EntityKind::AccountContact => "Account contacts",
        EntityKind::Specialty => "Specialties",
        EntityKind::SchoolUser => "School users",
        EntityKind::Device => "Devices",
        EntityKind::Import => "Imports in history",
        EntityKind::Counters => "Counters",
    }
}
