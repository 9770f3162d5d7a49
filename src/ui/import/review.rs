//! Step 3: the validation of every row — counts, an Errors column, rows with problems only on
//! request, and the error report to download, fix and upload again (SSNs masked, or in full
//! when the operator ticks "Include full SSNs" — a download the PII ledger records).

use leptos::prelude::*;

use crate::protocol::{ErrorReport, GoBack, MatchRows, ReviewRows, ReviewView, WorkflowId};
use crate::ui::state::use_app;
use crate::ui::table::PagedTable;
use crate::ui::workflow::use_workflow;

#[component]
pub fn ReviewStep(workflow: WorkflowId, view: ReviewView) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(workflow);
    let busy = state.busy();
    let only_problems = RwSignal::new(false);
    // "Include full SSNs": off by default, offered only where the template has an SSN column.
    let full_ssns = RwSignal::new(false);
    let ssn_column = view.ssn_column;
    let report = Action::new_local(move |_: &()| async move {
        let op = ErrorReport {
            workflow,
            include_full_ssns: ssn_column && full_ssns.get_untracked(),
            operator_login: app.operator.get_untracked(),
        };
        if let Err(e) = app.download(op).await {
            app.error(e);
        }
    });
    let fetch = move |start: usize, count: usize| {
        let only = only_problems.get_untracked();
        async move { app.call(ReviewRows { workflow, start, count, only_problems: only }).await.ok() }
    };
    let version = Signal::derive(move || format!("{}-{}", state.version.get(), only_problems.get()));
    let headers = Signal::stored(view.columns.clone());
    let ignored = if view.ignored.is_empty() { "none".to_string() } else { view.ignored.join(", ") };
    view! {
        <div class="panel">
            <h2>"Review " {view.file.file_name.clone()}</h2>
            {view.file.warnings.iter().map(|w| view! { <p class="warning-text">{w.clone()}</p> }).collect_view()}
            <div class="counters">
                <div class="counter"><span class="big">{view.rows}</span>" rows"</div>
                <div class="counter ok"><span class="big">{view.importable}</span>" rows can be imported"</div>
                <div class="counter error"><span class="big" data-testid="import-error-count">{view.errors}</span>" errors"</div>
                <div class="counter warning"><span class="big" data-testid="import-warning-count">{view.warnings}</span>" warnings"</div>
            </div>
            <p class="muted">
                {format!("Rows with errors are left out of the import; warnings do not block a row. Ignored columns: {ignored}.")}
            </p>
            <div class="actions">
                <label>
                    <input type="checkbox" on:change=move |_| only_problems.update(|b| *b = !*b)/>
                    " Show only rows with problems"
                </label>
                <button
                    data-testid="error-report-download"
                    disabled=move || report.pending().get()
                    on:click=move |_| {
                        report.dispatch(());
                    }
                >
                    "Download the error report (XLSX)"
                </button>
                {ssn_column.then(|| view! {
                    <label>
                        <input
                            type="checkbox"
                            data-testid="error-report-full-ssns"
                            prop:checked=move || full_ssns.get()
                            on:change=move |ev| full_ssns.set(event_target_checked(&ev))
                        />
                        " Include full SSNs"
                    </label>
                })}
            </div>
            {ssn_column.then(|| view! {
                <p class="muted" data-testid="error-report-ssn-note">
                    {move || if full_ssns.get() {
                        "The error report will hold the file's SSNs in full: keep it on this machine. Its download is recorded in the PII ledger (CRM data page)."
                    } else {
                        "The error report shows each SSN masked (XXX-XX-6789). Tick \"Include full SSNs\" to get them as the file had them; that file will hold full SSNs and its download is recorded in the PII ledger."
                    }}
                </p>
            })}
            <PagedTable
                headers=headers
                columns="56px 72px 110px 110px 170px 110px 110px 72px 100px 1fr"
                fetch=fetch
                version=version
                test_id="review-table"
            />
            <div class="actions">
                <button disabled=move || busy.get() on:click=move |_| state.go(GoBack { workflow })>"Back"</button>
                <button
                    class="primary"
                    data-testid="match-button"
                    disabled=move || busy.get()
                    on:click=move |_| state.go(MatchRows { workflow })
                >
                    "Match rows to the CRM"
                </button>
            </div>
        </div>
    }
}
