//! Step 2: confirm which file column feeds which template column. Exact headers are mapped
//! already; suggestions wait for the operator, whose choice is remembered for the next file.

use leptos::prelude::*;

use crate::protocol::{ConfirmHeaders, GoBack, HeadersView, SetColumn, WorkflowId};
use crate::ui::workflow::use_workflow;

#[component]
pub fn HeadersStep(workflow: WorkflowId, view: HeadersView) -> impl IntoView {
    let state = use_workflow(workflow);
    let busy = state.busy();
    let file_headers = view.file_headers.clone();
    let rows = view
        .rows
        .iter()
        .enumerate()
        .map(|(t, row)| {
            let current = row.file_column;
            let missing = current.is_none() && row.required;
            let options = file_headers
                .iter()
                .enumerate()
                .map(|(f, h)| view! { <option value=f.to_string() selected=current == Some(f)>{h.clone()}</option> })
                .collect_view();
            view! {
                <tr class:missing=missing data-testid="header-row">
                    <td>{row.header.clone()}{row.required.then_some(" *")}</td>
                    <td>
                        <select
                            data-testid="header-select"
                            on:change=move |ev| {
                                let file_column = event_target_value(&ev).parse().ok();
                                state.go(SetColumn { workflow, template_column: t, file_column });
                            }
                        >
                            <option value="" selected=current.is_none()>"(not mapped)"</option>
                            {options}
                        </select>
                    </td>
                    <td class="muted">{row.note.clone()}</td>
                </tr>
            }
        })
        .collect_view();
    let ignored = view.ignored.join(", ");
    view! {
        <div class="panel">
            <h2>"Confirm the columns of " {view.file.file_name.clone()}</h2>
            <p class="muted">
                "Columns whose header matches the template exactly are mapped already. Check the suggested ones; your choice is remembered for the next file with the same headers."
            </p>
            {(!view.missing_required.is_empty())
                .then(|| {
                    view! {
                        <p class="error-text" data-testid="missing-columns">
                            {format!("Missing required column(s): {}", view.missing_required.join(", "))}
                        </p>
                    }
                })}
            <table class="grid compact">
                <thead>
                    <tr>
                        <th>"Template column"</th>
                        <th>"Column in the file"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {(!ignored.is_empty()).then(|| view! { <p class="muted" data-testid="ignored-columns">{format!("Ignored columns: {ignored}")}</p> })}
            <div class="actions">
                <button disabled=move || busy.get() on:click=move |_| state.go(GoBack { workflow })>"Back"</button>
                <button
                    class="primary"
                    data-testid="headers-confirm"
                    disabled=move || busy.get()
                    on:click=move |_| state.go(ConfirmHeaders { workflow })
                >
                    "Confirm and validate"
                </button>
            </div>
        </div>
    }
}
