//! After an apply: the counts, a sample of applied rows to check by eye against what the CRM
//! now stores, the updated export to download or sync, and undo while it is the most recent
//! import.

use leptos::prelude::*;

use crate::protocol::{CloseFile, DoneView, InsuredExport, WorkflowId};
use crate::ui::history::UndoButton;
use crate::ui::state::use_app;
use crate::ui::sync::SyncControls;
use crate::ui::workflow::use_workflow;

#[component]
pub fn VerifyStep(workflow: WorkflowId, view: DoneView) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(workflow);
    let import_id = view.import_id;
    let undone =
        move || app.summary.with(|s| s.last_undoable.as_ref().map(|l| l.id < import_id).unwrap_or(true));
    let c = view.counts;
    let export = Action::new_local(move |pid: &u32| {
        let pid = *pid;
        async move {
            match app
                .download(InsuredExport { portfolio_id: pid, operator_login: app.operator.get_untracked() })
                .await
            {
                Ok(name) => app.success(format!("Updated Insured CRM Export downloaded: {name}.")),
                Err(e) => app.error(e),
            }
        }
    });
    let sample = view.sample.clone();
    let seconds = view.seconds;
    view! {
        <div class="panel">
            <h2>
                {move || {
                    if undone() {
                        format!("Import #{import_id} was undone: the CRM is back to how it was before it")
                    } else {
                        format!("Import #{import_id} applied in {seconds:.1} s")
                    }
                }}
            </h2>
            <div class="counters" data-testid="verify-summary">
                <div class="counter"><span class="big" data-testid="verify-created">{c.created}</span>" created"</div>
                <div class="counter"><span class="big" data-testid="verify-updated">{c.updated}</span>" updated"</div>
                <div class="counter"><span class="big" data-testid="verify-added">{c.added}</span>" added"</div>
                <div class="counter"><span class="big" data-testid="verify-unchanged">{c.unchanged}</span>" unchanged"</div>
                <div class="counter"><span class="big" data-testid="verify-skipped">{c.skipped}</span>" skipped"</div>
                <div class="counter error"><span class="big" data-testid="verify-errors">{c.errors}</span>" errors"</div>
            </div>
            <h3>{format!("Check these {} applied rows by eye", sample.len())}</h3>
            <table class="grid compact" data-testid="verify-sample">
                <thead>
                    <tr>
                        <th>"Row"</th>
                        <th>"Action"</th>
                        <th>"In the file"</th>
                        <th>"In the CRM now"</th>
                        <th>"Agrees"</th>
                    </tr>
                </thead>
                <tbody>
                    {sample
                        .into_iter()
                        .map(|s| {
                            let show = |values: &[(String, String)]| {
                                values
                                    .iter()
                                    .map(|(k, v)| format!("{k}: {}", if v.is_empty() { "—" } else { v }))
                                    .collect::<Vec<_>>()
                                    .join(" · ")
                            };
                            let (file, stored) = (show(&s.file_values), show(&s.stored_values));
                            view! {
                                <tr>
                                    <td>{s.sheet_row}</td>
                                    <td>{s.action}</td>
                                    <td>{file}</td>
                                    <td>{stored}</td>
                                    <td class=if s.agrees { "ok" } else { "error-text" }>{if s.agrees { "✓" } else { "✗" }}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            {(!view.portfolios.is_empty())
                .then(|| {
                    view! {
                        <h3>"Updated export"</h3>
                        <div class="actions">
                            {view
                                .portfolios
                                .clone()
                                .into_iter()
                                .map(|(pid, name)| {
                                    let label = format!("Download the export of {name}");
                                    view! {
                                        <span class="export-pair">
                                            <button
                                                class="primary"
                                                data-testid="export-download"
                                                disabled=move || export.pending().get()
                                                on:click=move |_| {
                                                    export.dispatch(pid);
                                                }
                                            >
                                                {label}
                                            </button>
                                            <SyncControls app=app portfolio_id=Signal::stored(Some(pid)) portfolio_name=Signal::stored(name)/>
                                        </span>
                                    }
                                })
                                .collect_view()}
                        </div>
                    }
                })}
            <div class="actions">
                <UndoButton import_id=import_id label="Undo this import"/>
                <button data-testid="import-another" on:click=move |_| state.go(CloseFile { workflow })>
                    "Import another file"
                </button>
            </div>
        </div>
    }
}
