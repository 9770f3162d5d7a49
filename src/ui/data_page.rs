//! CRM data: load the demo CRM, write the whole local CRM to a snapshot workbook, and load a
//! snapshot back in place of the copy (after a confirmation; a bad workbook is refused and
//! the copy stays exactly as it was); the passphrase ([`passphrase`]); and the PII ledger
//! ([`crate::ui::ledger`]). The worker does the work; this page asks and shows.

mod passphrase;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::protocol::messages::CrmUnchanged;
use crate::protocol::{DropSnapshot, LoadDemo, ReadSnapshot, ReplaceWithSnapshot, SnapshotDownload};
use crate::ui::browser::{confirm, first_file_of_input, read_file_buffer};
use crate::ui::ledger::PiiLedgerSection;
use crate::ui::state::{use_app, AppState};
use crate::ui::storage::{bytes_text, estimate, persisted};

async fn load_snapshot(app: AppState, file: web_sys::File) {
    let name = file.name();
    let bytes = match read_file_buffer(&file).await {
        Ok(b) => b,
        Err(e) => return app.error(CrmUnchanged(e).to_string()),
    };
    let read = app.call_with(ReadSnapshot { file_name: name.clone() }, Some(bytes)).await;
    let (entries, cases, accounts) = match read {
        Ok((read, _)) => (read.entries, read.cases, read.accounts),
        Err(e) => return app.error(e),
    };
    if !confirm(&format!(
        "Replace the whole local CRM with {name}? It holds {entries} CRM entries, {cases} cases and {accounts} accounts."
    )) {
        let _ = app.call(DropSnapshot).await;
        app.info("Snapshot not loaded; the local CRM was not changed.");
        return;
    }
    match app.call(ReplaceWithSnapshot).await {
        Ok(text) => app.success(text),
        Err(e) => app.error(e),
    }
}

#[component]
pub fn DataPage() -> impl IntoView {
    let app = use_app();
    let demo = Action::new_local(move |_: &()| async move {
        match app.call(LoadDemo).await {
            Ok(text) => app.success(text),
            Err(e) => app.error(e),
        }
    });
    let snapshot_download = Action::new_local(move |_: &()| async move {
        match app.download(SnapshotDownload { operator_login: app.operator.get_untracked() }).await {
            Ok(name) => app.success(format!("Snapshot written: {name}")),
            Err(e) => app.error(e),
        }
    });
    let on_demo = move |_| {
        if !app.summary.with_untracked(|s| s.empty)
            && !confirm("Replace the whole local CRM with the demo CRM? Everything stored now is replaced.")
        {
            return;
        }
        demo.dispatch(());
    };
    let on_snapshot_file = move |ev: web_sys::Event| {
        if let Some(file) = first_file_of_input(&ev) {
            spawn_local(load_snapshot(app, file));
        }
    };
    view! {
        <section class="split">
            <div class="panel">
                <h2>"The local CRM"</h2>
                <p class="muted">"Stored in this browser only. Nothing is sent anywhere."</p>
                <table class="grid compact" data-testid="crm-counts">
                    <tbody>
                        {move || {
                            app.summary
                                .with(|s| s.counts.clone())
                                .into_iter()
                                .map(|(k, n)| view! { <tr><td>{k}</td><td class="num">{n}</td></tr> })
                                .collect_view()
                        }}
                    </tbody>
                </table>
                <StorageFigures/>
            </div>
            <div class="panel">
                <h2>"Demo CRM"</h2>
                <p class="muted">
                    "A generated CRM (always the same): 3 operators, 4 portfolios, 400 cases, 1,000 insureds, 900 CRM entries with contact details, 200 accounts, 300 school users and 300 devices."
                </p>
                <button class="primary" data-testid="load-demo" disabled=move || demo.pending().get() on:click=on_demo>
                    "Load the demo CRM"
                </button>
                <h2>"Snapshot"</h2>
                <p class="muted">
                    "A snapshot is the whole local CRM as one workbook, one sheet per entity. Keep it as a backup or move the CRM to another browser."
                </p>
                <button
                    data-testid="snapshot-download"
                    disabled=move || snapshot_download.pending().get()
                    on:click=move |_| {
                        snapshot_download.dispatch(());
                    }
                >
                    "Download snapshot (XLSX)"
                </button>
                <label class="file-button">
                    "Load a snapshot…"
                    <input type="file" accept=".xlsx" data-testid="snapshot-input" on:change=on_snapshot_file/>
                </label>
            </div>
        </section>
        <passphrase::PassphrasePanel/>
        <PiiLedgerSection/>
    }
}

/// Whether the copy is persisted, and the usage and quota.
#[component]
fn StorageFigures() -> impl IntoView {
    let app = use_app();
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
