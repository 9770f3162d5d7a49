//! System Utilities: the bulk insurance import and process, open only while the current
//! operator's role has Manage Settings. Step 1 stages one file (exact headers of the user or
//! device insurance template; one staged file at a time, surviving a reload) and shows what
//! Process will do — per row and in totals — before anything is written. Step 2, Process,
//! applies exactly that in one transaction recorded in the import history (undoable), then
//! shows the counts, the skipped and invalid rows, a verification sample and the status report.

use leptos::prelude::*;

use crate::core::date::DayMonthOrder;
use crate::core::insurance::workflow::ID as INSURANCE;
use crate::core::model::Role;
use crate::protocol::{
    ChooseTemplate, CloseFile, DoneView, FileView, ImportOptions, InsuranceStatusCounts,
    InsuranceStatusReport, PlanImport, ResultsReport, SessionView,
};
use crate::ui::browser::{confirm, first_file_of_input, load_setting, local_time_text, save_setting};
use crate::ui::history::UndoButton;
use crate::ui::import::PlanStep;
use crate::ui::state::use_app;
use crate::ui::templates::TemplateDownload;
use crate::ui::workflow::use_workflow;

const ORDER_KEY: &str = "roundtrip.insurance.day-month-order";
const USER_HEADERS: &str = "User ID, Insurance Status, Policy Number, Coverage Start Date, Coverage End Date";
const DEVICE_HEADERS: &str =
    "Device Serial, Insurance Status, Policy Number, Coverage Amount, Coverage Type, Coverage Start Date";

fn order_value(o: DayMonthOrder) -> &'static str {
    match o {
        DayMonthOrder::IsoOnly => "iso",
        DayMonthOrder::DayFirst => "day-first",
        DayMonthOrder::MonthFirst => "month-first",
    }
}

fn order_from(v: &str) -> DayMonthOrder {
    match v {
        "day-first" => DayMonthOrder::DayFirst,
        "month-first" => DayMonthOrder::MonthFirst,
        _ => DayMonthOrder::IsoOnly,
    }
}

#[component]
pub fn UtilitiesPage() -> impl IntoView {
    let app = use_app();
    let allowed =
        move || app.current_operator().map(|o| o.roles.contains(&Role::ManageSettings)).unwrap_or(false);
    view! {
        <section class="utilities">
            <h2>"System Utilities"</h2>
            <Show when=allowed fallback=move || view! { <Locked/> }>
                <BulkInsurance/>
            </Show>
        </section>
    }
}

#[component]
fn Locked() -> impl IntoView {
    let app = use_app();
    let holders = move || {
        app.summary.with(|s| {
            s.operators
                .iter()
                .filter(|o| o.roles.contains(&Role::ManageSettings))
                .map(|o| format!("{} ({})", o.name, o.login))
                .collect::<Vec<_>>()
        })
    };
    let who = move || {
        app.current_operator()
            .map(|o| format!("{} ({})", o.name, o.login))
            .unwrap_or_else(|| "No operator".into())
    };
    view! {
        <div class="panel warning" data-testid="utilities-locked">
            <p>
                <strong>"Bulk Insurance Import and Process needs the Manage Settings permission. "</strong>
                {move || format!("{} does not have it.", who())}
            </p>
            <p>
                {move || {
                    let h = holders();
                    if h.is_empty() {
                        "No operator in this CRM has Manage Settings.".to_string()
                    } else {
                        format!("Operators with Manage Settings: {}. Choose one of them in the Operator list at the top right.", h.join(", "))
                    }
                }}
            </p>
            <p class="muted">
                "The operator is chosen locally: this gates the workflow and attributes the import history; it is not authentication."
            </p>
        </div>
    }
}

#[component]
fn StagedCard(file: FileView) -> impl IntoView {
    let state = use_workflow(INSURANCE);
    let busy = state.busy();
    view! {
        <div class="staged-card" data-testid="insurance-staged">
            <strong>"Staged: "</strong>
            <span data-testid="insurance-staged-name">{file.file_name.clone()}</span>
            {format!(
                " · {} · {:.1} KB · {} rows · staged {} · SHA-256 {}…",
                file.template.name,
                file.size as f64 / 1024.0,
                file.rows,
                local_time_text(file.staged_at_ms),
                &file.sha256[..12.min(file.sha256.len())]
            )}
            <div class="actions">
                <button
                    class="danger"
                    data-testid="insurance-delete"
                    disabled=move || busy.get()
                    on:click=move |_| state.discard()
                >
                    "Delete"
                </button>
            </div>
        </div>
    }
}

#[component]
fn BulkInsurance() -> impl IntoView {
    let state = use_workflow(INSURANCE);
    state.load();
    let busy = state.busy();
    let chosen = RwSignal::new(String::new());
    let order = RwSignal::new(load_setting::<String>(ORDER_KEY).map(|v| order_from(&v)).unwrap_or_default());
    let clear_empty = RwSignal::new(false);
    let options = Signal::derive(move || ImportOptions {
        day_month_order: Some(order.get()),
        valid_rows_only: true,
        clear_empty_cells: clear_empty.get(),
        take_file_values: false,
    });
    let staged_name = move || {
        state.view.with(|v| match v {
            Some(SessionView::Upload { staged: Some(s), .. }) => Some(s.file_name.clone()),
            Some(SessionView::Plan(p)) => Some(p.file.file_name.clone()),
            _ => None,
        })
    };
    let on_file = move |ev: web_sys::Event| {
        let Some(f) = first_file_of_input(&ev) else { return };
        if let Some(old) = staged_name() {
            if !confirm(&format!(
                "A file is already staged: {old}. Only one file can be staged at a time. Replace it with {}?",
                f.name()
            )) {
                return;
            }
        }
        state.stage(f, options.get_untracked());
    };
    let on_order = move |ev| {
        let v = event_target_value(&ev);
        save_setting(ORDER_KEY, &v);
        order.set(order_from(&v));
    };
    view! {
        <div class="panel">
            <h3>"Bulk Insurance Import and Process"</h3>
            <p class="muted">
                "Step 1 stages a user or device insurance file: its headers must be exactly a template's, and the page shows what Process will do, row by row, before anything is written. Step 2 processes it: every row whose User ID / Device Serial exists gets the file's insurance values (an empty cell keeps the stored value unless you choose otherwise below); unknown IDs are skipped and listed; records not in the file are untouched. Processing is one transaction, recorded in the import history and undoable."
            </p>
            <div class="actions">
                <TemplateDownload template_id="user-insurance" csv=true test_id="insurance-template-user" label="User insurance template (CSV)"/>
                <TemplateDownload template_id="user-insurance" test_id="insurance-template-user-xlsx" label="XLSX"/>
                <TemplateDownload template_id="device-insurance" csv=true test_id="insurance-template-device" label="Device insurance template (CSV)"/>
                <TemplateDownload template_id="device-insurance" test_id="insurance-template-device-xlsx" label="XLSX"/>
            </div>
            <p class="muted">
                {format!("User insurance: {USER_HEADERS}. Device insurance: {DEVICE_HEADERS}. ")}
                "Insurance Status accepts Yes, No, Enrolled or Not Enrolled (any case); Coverage Amount a decimal with at most two places."
            </p>
            <div class="actions">
                <label class="field">
                    "File is a "
                    <select
                        data-testid="insurance-template-select"
                        on:change=move |ev| {
                            let id = event_target_value(&ev);
                            chosen.set(id.clone());
                            state.go(ChooseTemplate { workflow: INSURANCE, template_id: id });
                        }
                    >
                        <option value="" selected=true>"template recognised from its headers"</option>
                        <option value="user-insurance">"User insurance file"</option>
                        <option value="device-insurance">"Device insurance file"</option>
                    </select>
                </label>
                <label class="field">
                    "Dates that are not YYYY-MM-DD are "
                    <select data-testid="insurance-date-order" on:change=on_order prop:value=move || order_value(order.get())>
                        <option value="iso">"refused (ISO and Excel dates only)"</option>
                        <option value="day-first">"day/month/year"</option>
                        <option value="month-first">"month/day/year"</option>
                    </select>
                </label>
                <label>
                    <input
                        type="checkbox"
                        data-testid="insurance-clear-empty"
                        prop:checked=move || clear_empty.get()
                        on:change=move |ev| {
                            clear_empty.set(event_target_checked(&ev));
                            if state.view.with_untracked(|v| matches!(v, Some(SessionView::Plan(_)))) {
                                state.go(PlanImport { workflow: INSURANCE, options: Some(options.get_untracked()) });
                            }
                        }
                    />
                    " Empty cells clear stored values"
                </label>
            </div>
            <label class="field">
                "Step 1 — upload (XLSX or CSV) "
                <input
                    type="file"
                    accept=".xlsx,.csv,.txt"
                    data-testid="insurance-file-input"
                    disabled=move || busy.get()
                    on:change=on_file
                />
            </label>
            <InsuranceSession options/>
        </div>
        <InsuranceStatusPanel/>
    }
}

/// The staged file and what Process will do, or what it did.
#[component]
fn InsuranceSession(options: Signal<ImportOptions>) -> impl IntoView {
    let state = use_workflow(INSURANCE);
    let busy = state.busy();
    move || match state.view.get() {
        Some(SessionView::Upload { staged: Some(s), .. }) => {
            let file = FileView {
                template: crate::protocol::TemplateView {
                    id: String::new(),
                    name: "Insurance".into(),
                    description: String::new(),
                },
                file_name: s.file_name.clone(),
                size: s.size,
                sha256: s.sha256.clone(),
                staged_at_ms: s.staged_at_ms,
                rows: s.row_count,
                warnings: Vec::new(),
            };
            view! {
                <StagedCard file/>
                <button
                    class="primary"
                    data-testid="insurance-review"
                    disabled=move || busy.get()
                    on:click=move |_| state.resume(options.get_untracked())
                >
                    "Review what Process will do"
                </button>
            }
            .into_any()
        }
        Some(SessionView::Plan(p)) => view! {
            <StagedCard file=p.file.clone()/>
            <PlanStep workflow=INSURANCE view=p options=options apply_test_id="insurance-process"/>
        }
        .into_any(),
        Some(SessionView::Done(d)) => view! {
            <p class="muted" data-testid="insurance-none-staged">"No file is staged."</p>
            <ResultPanel view=d/>
        }
        .into_any(),
        _ => {
            view! { <p class="muted" data-testid="insurance-none-staged">"No file is staged."</p> }.into_any()
        }
    }
}

/// School users and devices by insurance status, and the status report.
#[component]
fn InsuranceStatusPanel() -> impl IntoView {
    let app = use_app();
    let status = LocalResource::new(move || {
        let _ = app.summary.with(|s| s.sequence);
        async move {
            app.call(InsuranceStatusCounts).await.ok().map(|f| {
                let counts =
                    |c: crate::core::insurance::report::StatusCounts| (c.enrolled, c.not_enrolled, c.none);
                (counts(f.users), counts(f.devices))
            })
        }
    });
    let status_report = Action::new_local(move |_: &()| async move {
        if let Err(e) = app.download(InsuranceStatusReport).await {
            app.error(e);
        }
    });
    view! {
        <div class="panel">
            <h3>"Insurance status"</h3>
            {move || {
                status
                    .get()
                    .flatten()
                    .map(|(u, d)| {
                        view! {
                            <table class="grid compact" style="width:auto" data-testid="insurance-status-summary">
                                <thead>
                                    <tr>
                                        <th>"Record type"</th>
                                        <th class="num">"Enrolled"</th>
                                        <th class="num">"Not enrolled"</th>
                                        <th class="num">"None"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <tr><td>"School users"</td><td class="num">{u.0}</td><td class="num">{u.1}</td><td class="num">{u.2}</td></tr>
                                    <tr><td>"Devices"</td><td class="num">{d.0}</td><td class="num">{d.1}</td><td class="num">{d.2}</td></tr>
                                </tbody>
                            </table>
                        }
                    })
            }}
            <div class="actions">
                <button
                    data-testid="insurance-status-report"
                    disabled=move || status_report.pending().get()
                    on:click=move |_| {
                        status_report.dispatch(());
                    }
                >
                    "Download the insurance status report (XLSX)"
                </button>
            </div>
        </div>
    }
}

#[component]
fn ResultPanel(view: DoneView) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(INSURANCE);
    let c = view.counts;
    let results_report = Action::new_local(move |_: &()| async move {
        if let Err(e) = app.download(ResultsReport { workflow: INSURANCE }).await {
            app.error(e);
        }
    });
    let status_report = Action::new_local(move |_: &()| async move {
        if let Err(e) = app.download(InsuranceStatusReport).await {
            app.error(e);
        }
    });
    let listed = |shown: usize, total: usize, what: &str| {
        if total > shown {
            format!("{what} (the first {shown} of {total}; the XLSX below lists them all): ")
        } else {
            format!("{what}: ")
        }
    };
    let skipped_label = listed(view.skipped.len(), c.skipped, "Skipped");
    let invalid_label = listed(view.invalid.len(), c.errors, "Invalid");
    let headers = view.columns.clone();
    let seconds = view.seconds;
    view! {
        <div class="panel" data-testid="insurance-result">
            <h3>{format!("Processed {} as import #{} ({seconds:.2} s)", view.file.file_name, view.import_id)}</h3>
            <div class="counters">
                <div class="counter ok"><span class="big" data-testid="ins-updated">{c.updated}</span>"updated"</div>
                <div class="counter"><span class="big" data-testid="ins-unchanged">{c.unchanged}</span>"unchanged"</div>
                <div class="counter warning"><span class="big" data-testid="ins-skipped">{c.skipped}</span>"skipped (ID not found)"</div>
                <div class="counter error"><span class="big" data-testid="ins-invalid">{c.errors}</span>"errors"</div>
            </div>
            {(!view.skipped.is_empty())
                .then(|| view! { <p data-testid="insurance-skipped-list"><strong>{skipped_label}</strong>{view.skipped.join(", ")}</p> })}
            {(!view.invalid.is_empty())
                .then(|| {
                    view! {
                        <div data-testid="insurance-invalid-list">
                            <strong>{invalid_label}</strong>
                            <ul class="plain">{view.invalid.iter().map(|t| view! { <li>{t.clone()}</li> }).collect_view()}</ul>
                        </div>
                    }
                })}
            <div class="actions">
                <button data-testid="insurance-skipped-download" on:click=move |_| { results_report.dispatch(()); }>
                    "Download skipped IDs and invalid rows (XLSX)"
                </button>
                <button data-testid="insurance-status-report-after" on:click=move |_| { status_report.dispatch(()); }>
                    "Download the insurance status report (XLSX)"
                </button>
                <UndoButton import_id=view.import_id label="Undo this import"/>
                <button data-testid="insurance-another" on:click=move |_| state.go(CloseFile { workflow: INSURANCE })>"Process another file"</button>
            </div>
            {(!view.sample.is_empty())
                .then(|| {
                    view! {
                        <h4>{format!("Check these {} updated records against the file", view.sample.len())}</h4>
                        <table class="grid compact" data-testid="insurance-sample">
                            <thead>
                                <tr>
                                    <th>"Row"</th>
                                    <th>"Source"</th>
                                    {headers.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}
                                    <th>"Agrees"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {view
                                    .sample
                                    .iter()
                                    .map(|s| {
                                        let file: Vec<String> = s.file_values.iter().map(|(_, v)| v.clone()).collect();
                                        let stored: Vec<String> = s.stored_values.iter().map(|(_, v)| v.clone()).collect();
                                        let mark = if s.agrees { "✓" } else { "✗" };
                                        view! {
                                            <tr>
                                                <td rowspan="2">{s.sheet_row}</td>
                                                <td>"File"</td>
                                                {file.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                                                <td rowspan="2" class:error-text=!s.agrees>{mark}</td>
                                            </tr>
                                            <tr>
                                                <td class="muted">"Stored"</td>
                                                {stored.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                })}
        </div>
    }
}
