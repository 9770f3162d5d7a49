//! The account and contact import: choose a file, see its name and size, Upload (it is staged
//! and survives a reload), read the summary, then Next.

use leptos::prelude::*;

use crate::core::accounts::workflow::ID as ACCOUNTS;
use crate::core::model::Role;
use crate::protocol::{CloseFile, ErrorReport, ImportOptions, PlanImport, PlanRows, PlanView, SessionView};
use crate::ui::browser::first_file_of_input;
use crate::ui::history::UndoButton;
use crate::ui::state::use_app;
use crate::ui::table::PagedTable;
use crate::ui::templates::TemplateDownload;
use crate::ui::workflow::use_workflow;

const ACCOUNT_HEADERS: &str = "Account Number, Account Name, Kind, Portfolio, Active, Contact Name, Contact Type, Contact Email, Contact Phone";
const CONTACT_HEADERS: &str = "Account Number, Contact Name, Identifier, Type, Qualifications, Phone, Email";

#[component]
pub fn AccountImport() -> impl IntoView {
    let app = use_app();
    let state = use_workflow(ACCOUNTS);
    state.load();
    let busy = state.busy();
    let chosen: RwSignal<Option<web_sys::File>, LocalStorage> = RwSignal::new_local(None);
    let may_import = move || app.current_operator().map(|o| o.roles.contains(&Role::Import)).unwrap_or(false);
    let on_file = move |ev: web_sys::Event| chosen.set(first_file_of_input(&ev));
    let upload = move |_| {
        if let Some(f) = chosen.get_untracked() {
            chosen.set(None);
            state.stage(f, ImportOptions::default());
        }
    };
    view! {
        <div class="panel">
            <h3>"Import accounts or contacts"</h3>
            <div class="actions">
                <TemplateDownload template_id="accounts" test_id="accounts-template-download" label="Account model spreadsheet"/>
                <TemplateDownload template_id="account-contacts" test_id="contacts-template-download" label="Contact model spreadsheet"/>
            </div>
            <p class="muted">
                {format!("Accounts: {ACCOUNT_HEADERS}. Contacts: {CONTACT_HEADERS}. ")}
                "Headers in red are required. The file's headers decide which import it is."
            </p>
            <Show
                when=may_import
                fallback=|| view! {
                    <p class="panel warning" data-testid="accounts-import-locked">
                        "The current operator's role does not include Import. Choose an operator with Import at the top right."
                    </p>
                }
            >
                <label class="field">
                    "Choose a file (XLSX or CSV) "
                    <input type="file" accept=".xlsx,.csv,.txt" data-testid="accounts-import-file" disabled=move || busy.get() on:change=on_file/>
                </label>
                {move || {
                    chosen
                        .get()
                        .map(|f| {
                            view! {
                                <p data-testid="accounts-import-chosen">
                                    <strong>{f.name()}</strong>
                                    {format!(" · {:.1} KB ", f.size() / 1024.0)}
                                    <button class="primary" data-testid="accounts-import-upload" disabled=move || busy.get() on:click=upload>
                                        "Upload"
                                    </button>
                                </p>
                            }
                        })
                }}
                {move || match state.view.get() {
                    Some(SessionView::Upload { staged: Some(s), .. }) => view! {
                        <div class="staged-card" data-testid="accounts-import-staged">
                            <strong>"Uploaded: "</strong>
                            {format!("{} · {:.1} KB · {} rows", s.file_name, s.size as f64 / 1024.0, s.row_count)}
                            <div class="actions">
                                <button
                                    class="primary"
                                    data-testid="accounts-import-resume"
                                    disabled=move || busy.get()
                                    on:click=move |_| state.resume(ImportOptions::default())
                                >
                                    "Read it"
                                </button>
                                <button data-testid="accounts-import-discard" disabled=move || busy.get() on:click=move |_| state.discard()>
                                    "Discard"
                                </button>
                            </div>
                        </div>
                    }
                        .into_any(),
                    Some(SessionView::Plan(p)) => view! { <ReadSummary view=p/> }.into_any(),
                    Some(SessionView::Done(d)) => {
                        view! {
                            <div class="staged-card" data-testid="accounts-import-result">
                                <p>{d.message.clone()}</p>
                                <UndoButton import_id=d.import_id label="Undo this import"/>
                                <button data-testid="accounts-import-another" on:click=move |_| state.go(CloseFile { workflow: ACCOUNTS })>"Import another file"</button>
                            </div>
                        }
                            .into_any()
                    }
                    _ => ().into_any(),
                }}
            </Show>
        </div>
    }
}

#[component]
fn ReadSummary(view: PlanView) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(ACCOUNTS);
    let busy = state.busy();
    let valid_only = RwSignal::new(false);
    let c = view.counts;
    let correct = c.created + c.updated + c.unchanged;
    let has_errors = c.errors > 0;
    let (cc, cu) = view.contacts;
    let fetch = move |start: usize, count: usize| async move {
        app.call(PlanRows { workflow: ACCOUNTS, start, count, only_changes: false }).await.ok()
    };
    let report = Action::new_local(move |_: &()| async move {
        // The accounts templates have no SSN column: the report never holds one.
        let op = ErrorReport {
            workflow: ACCOUNTS,
            include_full_ssns: false,
            operator_login: app.operator.get_untracked(),
        };
        if let Err(e) = app.download(op).await {
            app.error(e);
        }
    });
    let version = Signal::derive(move || state.version.get().to_string());
    let headers = Signal::stored(view.columns.clone());
    let nothing = c.created + c.updated + c.added + cc + cu == 0;
    let next = move |_| {
        if nothing {
            app.info("Nothing to change: every valid row already matches the CRM.");
            return;
        }
        state.apply(app.operator.get_untracked(), valid_only.get_untracked());
    };
    view! {
        <div class="staged-card" data-testid="accounts-import-summary">
            <p>
                <strong>{view.file.file_name.clone()}</strong> " — " {view.file.template.name.clone()} " file, "
                {view.rows} " rows: "
                <span data-testid="accounts-import-correct">{correct}</span> " correct, "
                <span data-testid="accounts-import-error-count">{c.errors}</span> " with errors ("
                {c.created} " to create, " {c.updated} " to update, " {c.unchanged} " unchanged; contacts: "
                {cc} " to create, " {cu} " to update)."
            </p>
            {has_errors.then(|| view! {
                <div class="panel warning" data-testid="accounts-import-warning">
                    <p>"Warning: some rows have errors (see the Errors column). They will not be applied."</p>
                    <label>
                        <input
                            type="checkbox"
                            data-testid="accounts-import-valid-only"
                            prop:checked=move || valid_only.get()
                            on:change=move |ev| valid_only.set(event_target_checked(&ev))
                        />
                        " Apply only the " {correct} " valid rows"
                    </label>
                    <button data-testid="accounts-import-error-report" disabled=move || report.pending().get() on:click=move |_| { report.dispatch(()); }>
                        "Download the error report (XLSX)"
                    </button>
                </div>
            })}
            {(!has_errors).then(|| view! { <p class="muted" data-testid="accounts-import-ok">"The data is correct."</p> })}
            {view.stale.clone().map(|why| view! {
                <div class="panel warning" data-testid="plan-stale">
                    <p>{why.to_string()}</p>
                    <button class="primary" data-testid="replan-button" disabled=move || busy.get() on:click=move |_| state.go(PlanImport { workflow: ACCOUNTS, options: Some(ImportOptions::default()) })>
                        "Read it again on the current CRM"
                    </button>
                </div>
            })}
            <div class="actions">
                <button
                    class="primary"
                    data-testid="accounts-import-next"
                    disabled=move || busy.get() || (has_errors && !valid_only.get()) || !app.writable()
                    on:click=next
                >
                    "Next"
                </button>
                <button on:click=move |_| state.go(CloseFile { workflow: ACCOUNTS }) data-testid="accounts-import-cancel">"Cancel"</button>
            </div>
            <PagedTable headers=headers columns="56px 150px 170px 1fr 220px" fetch=fetch version=version test_id="accounts-import-table"/>
        </div>
    }
}
