//! The PII ledger on the CRM data page: every Reveal of an SSN and every file written with
//! full SSNs, newest first (time, operator, what, the entry or the file's name, the start of
//! its SHA-256, the full SSNs it holds), and the ledger as a workbook. It answers "which files
//! that left this machine hold SSNs, and whose?". The worker keeps and lists it; this section
//! asks and shows.

use leptos::prelude::*;

use crate::protocol::{LedgerRow, PiiLedger, PiiLedgerDownload};
use crate::ui::state::use_app;

#[component]
pub fn PiiLedgerSection() -> impl IntoView {
    let app = use_app();
    let rows = LocalResource::new(move || {
        let _ = (app.summary.with(|s| s.sequence), app.ledger_version.get());
        async move { app.call(PiiLedger).await }
    });
    let download = Action::new_local(move |_: &()| async move {
        match app.download(PiiLedgerDownload).await {
            Ok(name) => app.success(format!("PII ledger written: {name}")),
            Err(e) => app.error(e),
        }
    });
    view! {
        <section class="panel" data-testid="pii-ledger">
            <h2>"PII ledger"</h2>
            <p class="muted">
                "Every Reveal of an SSN and every file written with full SSNs in it (Insured CRM Export, snapshot, error report with \"Include full SSNs\"), newest first: who, when, which file and how many full SSNs it holds. The ledger itself holds no SSN, and travels in snapshots."
            </p>
            <button
                data-testid="pii-ledger-download"
                disabled=move || download.pending().get()
                on:click=move |_| {
                    download.dispatch(());
                }
            >
                "Download the ledger (XLSX)"
            </button>
            {move || match rows.get() {
                None => view! { <p class="muted">"Reading the ledger…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error-text" data-testid="pii-ledger-error">{e}</p> }.into_any(),
                Some(Ok(rows)) if rows.is_empty() => {
                    view! { <p class="muted" data-testid="pii-ledger-empty">"Nothing recorded yet: no SSN was revealed and no file with full SSNs was written."</p> }
                        .into_any()
                }
                Some(Ok(rows)) => view! { <LedgerTable rows=rows/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn LedgerTable(rows: Vec<LedgerRow>) -> impl IntoView {
    view! {
        <table class="grid" data-testid="pii-ledger-table">
            <thead>
                <tr>
                    <th>"Time"</th>
                    <th>"Operator"</th>
                    <th>"What"</th>
                    <th>"Entry or file"</th>
                    <th>"SHA-256"</th>
                    <th class="num">"Full SSNs"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|r| {
                        let subject = if r.file_name.is_empty() { r.entry.clone() } else { r.file_name.clone() };
                        let operator = if r.operator_login.is_empty() { "—".to_string() } else { r.operator_login.clone() };
                        view! {
                            <tr data-testid="pii-ledger-row">
                                <td>{r.time.clone()}</td>
                                <td>{operator}</td>
                                <td>{r.what.clone()}</td>
                                <td>{subject}</td>
                                <td class="mono">{r.sha256_prefix.clone()}</td>
                                <td class="num">{r.ssns.map(|n| n.to_string()).unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
