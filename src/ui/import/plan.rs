//! The plan (a dry run) of any workflow: totals in one vocabulary (created, updated, added,
//! unchanged, skipped, errors), the rows with their action and changes before → after, the
//! report to download, and Apply — or, when the CRM changed since the plan was made, why it
//! cannot be applied and a Re-plan button that keeps every choice that still applies.

use leptos::prelude::*;

use crate::core::plan::history::ApplyRefusal;
use crate::protocol::{GoBack, ImportOptions, PlanImport, PlanReport, PlanRows, PlanView, WorkflowId};
use crate::ui::state::use_app;
use crate::ui::table::PagedTable;
use crate::ui::workflow::use_workflow;

/// The plan table's column widths: a workflow with its own three columns (tier, entry, detail)
/// or with the record alone.
fn grid(columns: usize) -> &'static str {
    if columns >= 7 {
        "56px 200px 190px 220px 100px 1fr 160px"
    } else {
        "56px 150px 170px 1fr 220px"
    }
}

#[component]
pub fn PlanStep(
    workflow: WorkflowId,
    view: PlanView,
    #[prop(optional, into)] options: Option<Signal<ImportOptions>>,
    /// The apply button's testing hook (`apply-button` by default).
    #[prop(optional, into)]
    apply_test_id: Option<String>,
) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(workflow);
    let busy = state.busy();
    let only_changes = RwSignal::new(false);
    let options = options.unwrap_or_else(|| Signal::stored(ImportOptions::default()));
    let report = Action::new_local(move |_: &()| async move {
        if let Err(e) = app.download(PlanReport { workflow }).await {
            app.error(e);
        }
    });
    let fetch = move |start: usize, count: usize| {
        let only = only_changes.get_untracked();
        async move { app.call(PlanRows { workflow, start, count, only_changes: only }).await.ok() }
    };
    let version = Signal::derive(move || format!("{}-{}", state.version.get(), only_changes.get()));
    let wording = view.wording.clone();
    let t = view.counts;
    let changes = t.created + t.updated + t.added;
    // A workflow may process a file that changes nothing (insurance: its result lists the
    // skipped IDs and invalid rows, and the history records that the file was processed).
    let nothing = changes == 0 && !wording.applies_without_changes;
    let blocked = view.pending_conflicts > 0 || nothing || view.stale.is_some();
    let apply_label = if nothing {
        "Nothing to apply".to_string()
    } else if wording.apply_counts_changes {
        format!("{} {changes} {}", wording.apply_button, if changes == 1 { "change" } else { "changes" })
    } else {
        wording.apply_button.to_string()
    };
    let [created, updated, added] = wording.counts.clone();
    let title = wording.plan_title.clone();
    let grid = grid(view.columns.len());
    let headers = Signal::stored(view.columns.clone());
    view! {
        <div class="panel">
            <h2>{title}</h2>
            {view.stale.clone().map(|why| view! { <StaleBanner workflow why=why.to_string() options/> })}
            <div class="counters" data-testid="plan-summary">
                <div class="counter"><span class="big" data-testid="plan-create">{t.created}</span>{created}</div>
                <div class="counter"><span class="big" data-testid="plan-update">{t.updated}</span>{updated}</div>
                <div class="counter"><span class="big" data-testid="plan-add">{t.added}</span>{added}</div>
                <div class="counter"><span class="big" data-testid="plan-unchanged">{t.unchanged}</span>" unchanged"</div>
                <div class="counter"><span class="big" data-testid="plan-skip">{t.skipped}</span>" skipped"</div>
                <div class="counter error"><span class="big" data-testid="plan-error">{t.errors}</span>" rows with errors"</div>
            </div>
            {wording.shows_contacts
                .then(|| {
                    let (cc, cu) = view.contacts;
                    view! { <p data-testid="plan-contacts">{format!("Contacts: {cc} to create, {cu} to update.")}</p> }
                })}
            {(view.pending_conflicts > 0)
                .then(|| {
                    view! {
                        <p class="error-text">
                            {ApplyRefusal::PendingConflicts(view.pending_conflicts).to_string()}
                        </p>
                    }
                })}
            {view.notices.iter().map(|n| view! { <p class="muted" data-testid="plan-notice">{n.clone()}</p> }).collect_view()}
            {(view.stale_conflict_rows > 0)
                .then(|| {
                    view! { <StaleConflicts workflow rows=view.stale_conflict_rows take=view.take_file_values options/> }
                })}
            {(!view.relinks.is_empty())
                .then(|| {
                    view! {
                        <details class="relinks" data-testid="plan-relinks">
                            <summary>{format!("{} insured link(s) change", view.relinks.len())}</summary>
                            <ul class="plain">{view.relinks.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul>
                        </details>
                    }
                })}
            <div class="actions">
                <label>
                    <input type="checkbox" data-testid="plan-only-changes" on:change=move |_| only_changes.update(|b| *b = !*b)/>
                    " Show only rows that change something, are skipped or have errors"
                </label>
            </div>
            <PagedTable headers=headers columns=grid fetch=fetch version=version test_id="plan-table"/>
            <div class="actions">
                <button disabled=move || busy.get() on:click=move |_| state.go(GoBack { workflow })>"Back"</button>
                <button
                    data-testid="plan-report-download"
                    disabled=move || report.pending().get()
                    on:click=move |_| {
                        report.dispatch(());
                    }
                >
                    "Download the plan report (XLSX)"
                </button>
                <button
                    class="primary"
                    data-testid=apply_test_id.unwrap_or_else(|| "apply-button".to_string())
                    disabled=move || blocked || busy.get() || !app.writable()
                    on:click=move |_| {
                        let operator_login = app.operator.get_untracked();
                        state.apply(operator_login, true);
                    }
                >
                    {apply_label}
                </button>
            </div>
        </div>
    }
}

/// Why the plan cannot be applied as it is, and the button that plans again on the current
/// CRM (keeping every choice that still applies).
#[component]
fn StaleBanner(workflow: WorkflowId, why: String, options: Signal<ImportOptions>) -> impl IntoView {
    let state = use_workflow(workflow);
    let busy = state.busy();
    view! {
        <div class="panel warning" data-testid="plan-stale">
            <p>{why}</p>
            <button
                class="primary"
                data-testid="replan-button"
                disabled=move || busy.get()
                on:click=move |_| state.go(PlanImport { workflow, options: Some(options.get_untracked()) })
            >
                "Re-plan on the current CRM"
            </button>
        </div>
    }
}

/// Rows whose fields both the CRM and the file changed since the export, and the choice to
/// take the file's value for all of them.
#[component]
fn StaleConflicts(
    workflow: WorkflowId,
    rows: usize,
    take: bool,
    options: Signal<ImportOptions>,
) -> impl IntoView {
    let state = use_workflow(workflow);
    let busy = state.busy();
    view! {
        <div class="panel warning" data-testid="plan-stale-conflicts">
            <p>
                {format!(
                    "{rows} row(s) change a field that was also changed in the CRM since this file was exported. Each row shows the value in the CRM now and in the file (the export keeps only a keyed digest of what it held); the CRM's value is kept unless you choose the file's."
                )}
            </p>
            <label>
                <input
                    type="checkbox"
                    data-testid="plan-take-file"
                    prop:checked=take
                    disabled=move || busy.get()
                    on:change=move |ev| {
                        let take_file_values = event_target_checked(&ev);
                        let options = ImportOptions { take_file_values, ..options.get_untracked() };
                        state.go(PlanImport { workflow, options: Some(options) });
                    }
                />
                " Take the file's value for every such field"
            </label>
        </div>
    }
}
