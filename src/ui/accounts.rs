//! Accounts: export profiles (kept in local storage, shared as JSON files), the
//! account/contact export by portfolio and kind, the model spreadsheets, and the account and
//! contact import: read → summary with an Errors column per row → "Next" applies the valid
//! rows in one transaction recorded in the import history (undoable). Everything is computed by
//! `core::accounts`; this page only stages, shows and commits.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use std::collections::BTreeMap;

use crate::core::accounts::export::{write_account_model, write_accounts_export};
use crate::core::accounts::profiles::{AccountFilters, ExportProfile, ProfileKind};
use crate::core::accounts::{templates, ACCOUNTS, ACCOUNT_CONTACTS, WITHOUT_PORTFOLIO};
use crate::core::headers::recognise;
use crate::core::index::CrmIndex;
use crate::core::model::AccountKind;
use crate::core::plan::history::{apply, last_undoable, ApplyContext};
use crate::core::plan::{plan_file, ImportPlan};
use crate::core::read::read_sheet;
use crate::core::report::sha256_hex;
use crate::core::template::Template;
use crate::core::validate::{ValidationOptions, Validator};
use crate::ui::browser::{
    confirm, download, first_file_of_input, load_setting, now_ms, read_file, save_setting, yield_to_browser,
};
use crate::ui::history::undo_last_import;
use crate::ui::state::{use_app, AppState};

const PROFILES_KEY: &str = "roundtrip.accounts.profiles";

/// A read file waiting for "Next".
struct ReadFile {
    file_name: String,
    sha256: String,
    template: &'static Template,
    plan: ImportPlan,
}

#[derive(Clone, Copy)]
struct PageState {
    profiles: RwSignal<Vec<ExportProfile>>,
    selected: RwSignal<Option<usize>>,
    new_name: RwSignal<String>,
    new_kind: RwSignal<ProfileKind>,
    portfolio: RwSignal<String>,
    kind: RwSignal<String>,
    read: RwSignal<Option<Arc<ReadFile>>>,
    valid_only: RwSignal<bool>,
    applied: RwSignal<Option<(u32, String)>>,
    busy: RwSignal<bool>,
}

fn save_profiles(st: PageState) {
    save_setting(PROFILES_KEY, &st.profiles.get_untracked());
}

fn update_selected(st: PageState, f: impl FnOnce(&mut ExportProfile)) {
    let Some(i) = st.selected.get_untracked() else { return };
    st.profiles.update(|ps| {
        if let Some(p) = ps.get_mut(i) {
            f(p);
        }
    });
    save_profiles(st);
}

/// Sets the export filters from a profile's default filters.
fn take_filters(st: PageState, p: &ExportProfile) {
    st.portfolio.set(p.filters.portfolio.clone().unwrap_or_default());
    st.kind.set(p.filters.kind.map(|k| k.label().to_string()).unwrap_or_default());
}

fn filters_of(portfolio: &str, kind: &str) -> AccountFilters {
    AccountFilters {
        portfolio: Some(portfolio.to_string()).filter(|p| !p.is_empty()),
        kind: AccountKind::parse(kind),
    }
}

async fn read_import(app: AppState, st: PageState, file: web_sys::File) {
    st.busy.set(true);
    st.applied.set(None);
    st.read.set(None);
    st.valid_only.set(false);
    let file_name = file.name();
    let bytes = match read_file(&file).await {
        Ok(b) => b,
        Err(e) => {
            st.busy.set(false);
            app.error(format!("{file_name} could not be read: {e}"));
            return;
        }
    };
    app.set_progress("Reading the file", 0, 1);
    yield_to_browser().await;
    let result = read_sheet(&file_name, &bytes).map_err(|e| e.to_string()).and_then(|sheet| {
        let recognised =
            recognise(&templates(), None, &sheet.header, &BTreeMap::new()).map_err(|e| e.to_string())?;
        let template = recognised.template;
        let crm = app.crm.get_untracked();
        let index = CrmIndex::new(&crm);
        let validated = Validator::new(template, &recognised.mapping, &index, ValidationOptions::default())
            .all(&sheet.rows);
        let plan = plan_file(&crm, template, &validated);
        Ok(ReadFile { file_name: file_name.clone(), sha256: sha256_hex(&bytes), template, plan })
    });
    app.clear_progress();
    st.busy.set(false);
    match result {
        Ok(r) => {
            if r.plan.has_errors() {
                app.info(format!(
                    "Warning: {} of {} rows of {} have errors (see the Errors column).",
                    r.plan.counts.errors,
                    r.plan.rows.len(),
                    r.file_name
                ));
            } else {
                app.success(format!(
                    "{}: the data is correct ({} rows). Click Next to finish the import.",
                    r.file_name,
                    r.plan.rows.len()
                ));
            }
            st.read.set(Some(Arc::new(r)));
        }
        Err(e) => app.error(format!("{file_name}: {e}")),
    }
}

async fn apply_read(app: AppState, st: PageState) {
    let Some(r) = st.read.get_untracked() else { return };
    if r.plan.has_errors() && !st.valid_only.get_untracked() {
        app.error("The file has errors: tick \"Apply only the valid rows\" to go on, or fix the file and upload it again.");
        return;
    }
    if r.plan.changes.is_empty() {
        app.info("Nothing to change: every valid row already matches the CRM.");
        st.read.set(None);
        return;
    }
    st.busy.set(true);
    let crm = app.crm.get_untracked();
    let ctx = ApplyContext {
        template_id: r.template.id.to_string(),
        operator_login: app.operator.get_untracked(),
        applied_at_ms: now_ms(),
        file_name: r.file_name.clone(),
        sha256: r.sha256.clone(),
    };
    let (changes, record) = match apply(&crm, &r.plan, &ctx) {
        Ok(built) => built,
        Err(e) => {
            st.busy.set(false);
            app.error(e.to_string());
            return;
        }
    };
    let result = app.commit(changes).await;
    st.busy.set(false);
    match result {
        Ok(committed) => {
            let c = r.plan.tally();
            let (contacts_created, contacts_updated) = r.plan.contacts();
            let import_id = committed.import_id().unwrap_or(record.id);
            let text = format!(
                "Import #{} of {}: {} created, {} updated, {} unchanged, {} contacts created, {} contacts updated{}.",
                import_id,
                r.file_name,
                c.created,
                c.updated,
                c.unchanged,
                contacts_created,
                contacts_updated,
                if c.errors > 0 { format!(", {} rows with errors not applied", c.errors) } else { String::new() }
            );
            app.success(text.clone());
            st.applied.set(Some((import_id, text)));
            st.read.set(None);
        }
        Err(e) => app.error(format!("The import was not applied: {e}. Nothing was written.")),
    }
}

async fn import_profile(app: AppState, st: PageState, file: web_sys::File) {
    let bytes = match read_file(&file).await {
        Ok(b) => b,
        Err(e) => return app.error(e),
    };
    match ExportProfile::from_json(&String::from_utf8_lossy(&bytes)) {
        Ok(p) => {
            let name = p.name.clone();
            take_filters(st, &p);
            st.profiles.update(|ps| {
                ps.retain(|q| q.name != p.name);
                ps.push(p);
            });
            st.selected.set(Some(st.profiles.get_untracked().len() - 1));
            save_profiles(st);
            app.success(format!("Profile \"{name}\" imported."));
        }
        Err(e) => app.error(e.to_string()),
    }
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    let app = use_app();
    let profiles = load_setting::<Vec<ExportProfile>>(PROFILES_KEY).unwrap_or_default();
    let selected = if profiles.is_empty() { None } else { Some(0) };
    let st = PageState {
        profiles: RwSignal::new(profiles),
        selected: RwSignal::new(selected),
        new_name: RwSignal::new(String::new()),
        new_kind: RwSignal::new(ProfileKind::Accounts),
        portfolio: RwSignal::new(String::new()),
        kind: RwSignal::new(String::new()),
        read: RwSignal::new(None),
        valid_only: RwSignal::new(false),
        applied: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    if let Some(p) = st.profiles.get_untracked().first() {
        take_filters(st, p);
    }
    let current = move || st.selected.get().and_then(|i| st.profiles.with(|ps| ps.get(i).cloned()));
    let logins = move || app.crm.with(|crm| crm.operators.keys().cloned().collect::<Vec<_>>());

    let on_new = move |_| {
        let mut name = st.new_name.get_untracked().trim().to_string();
        if name.is_empty() {
            name = format!("Profile {}", st.profiles.with_untracked(|p| p.len()) + 1);
        }
        if st.profiles.with_untracked(|ps| ps.iter().any(|p| p.name == name)) {
            app.error(format!("A profile named \"{name}\" already exists."));
            return;
        }
        let p = ExportProfile::full(&name, st.new_kind.get_untracked());
        take_filters(st, &p);
        st.profiles.update(|ps| ps.push(p));
        st.selected.set(Some(st.profiles.with_untracked(|p| p.len()) - 1));
        st.new_name.set(String::new());
        save_profiles(st);
        app.success(format!("Profile \"{name}\" created."));
    };
    let on_select = move |ev| {
        let v = event_target_value(&ev);
        let i = v.parse::<usize>().ok();
        st.selected.set(i);
        if let Some(p) = i.and_then(|i| st.profiles.with_untracked(|ps| ps.get(i).cloned())) {
            take_filters(st, &p);
        }
    };
    let on_delete = move |_| {
        let Some(p) = current() else { return };
        if !confirm(&format!("Delete the export profile \"{}\"?", p.name)) {
            return;
        }
        let i = st.selected.get_untracked().unwrap_or(0);
        st.profiles.update(|ps| {
            ps.remove(i);
        });
        st.selected.set(if st.profiles.with_untracked(|p| p.is_empty()) { None } else { Some(0) });
        save_profiles(st);
    };
    let on_profile_json = move |_| {
        let Some(p) = current() else { return };
        if let Err(e) = download(
            p.to_json().as_bytes(),
            &format!("{}.profile.json", crate::core::text::slug(&p.name)),
            "application/json",
        ) {
            app.error(e);
        }
    };
    let on_profile_file = move |ev: web_sys::Event| {
        if let Some(f) = first_file_of_input(&ev) {
            spawn_local(import_profile(app, st, f));
        }
    };
    let on_export = move |_| {
        let profile = current().unwrap_or_else(|| ExportProfile::full("All columns", ProfileKind::Accounts));
        let filters = filters_of(&st.portfolio.get_untracked(), &st.kind.get_untracked());
        let written = app.crm.with_untracked(|crm| write_accounts_export(crm, &profile, &filters));
        let scope = filters.portfolio.clone().unwrap_or_else(|| "all".into());
        let name =
            format!("{}-{}.xlsx", profile.kind.label().to_lowercase(), crate::core::text::slug(&scope));
        app.offer_workbook(written, &name);
    };
    let on_model = move |t: &'static Template| {
        let written = app.crm.with_untracked(|crm| write_account_model(crm, t));
        app.offer_workbook(written, &format!("{}-model.xlsx", t.id));
    };
    let on_import_file = move |ev: web_sys::Event| {
        if let Some(f) = first_file_of_input(&ev) {
            spawn_local(read_import(app, st, f));
        }
    };

    let editor = move || {
        current().map(|p| {
            let template = p.kind.template();
            let chosen = p.valid_columns();
            let mut all: Vec<&'static str> = chosen.clone();
            all.extend(template.headers().into_iter().filter(|h| !chosen.contains(h)));
            let rows = all
                .into_iter()
                .map(|h| {
                    let on = chosen.contains(&h);
                    let pos = chosen.iter().position(|c| *c == h);
                    let slug = crate::core::text::slug(h);
                    let toggle = move |_| {
                        update_selected(st, |p| {
                            if p.columns.iter().any(|c| c == h) {
                                p.columns.retain(|c| c != h);
                            } else {
                                p.columns.push(h.to_string());
                            }
                        })
                    };
                    let up = move |_| {
                        update_selected(st, |p| {
                            if let Some(i) = p.columns.iter().position(|c| c == h).filter(|&i| i > 0) {
                                p.columns.swap(i, i - 1);
                            }
                        })
                    };
                    let down = move |_| {
                        update_selected(st, |p| {
                            if let Some(i) = p.columns.iter().position(|c| c == h).filter(|&i| i + 1 < p.columns.len()) {
                                p.columns.swap(i, i + 1);
                            }
                        })
                    };
                    view! {
                        <div class="actions" data-testid="profile-column">
                            <span>{pos.map(|i| (i + 1).to_string()).unwrap_or_default()}</span>
                            <span>
                                <label>
                                    <input type="checkbox" data-testid=format!("profile-col-{slug}") prop:checked=on on:change=toggle/>
                                    " " {h}
                                </label>
                            </span>
                            <span>
                                <button class="link" data-testid=format!("profile-up-{slug}") disabled=!on on:click=up>"↑"</button>
                                <button class="link" data-testid=format!("profile-down-{slug}") disabled=!on on:click=down>"↓"</button>
                            </span>
                        </div>
                    }
                })
                .collect_view();
            let name = p.name.clone();
            let fport = p.filters.portfolio.clone().unwrap_or_default();
            let fkind = p.filters.kind.map(|k| k.label().to_string()).unwrap_or_default();
            view! {
                <div class="staged-card" data-testid="profile-editor">
                    <div class="actions">
                        <label class="field">
                            "Name "
                            <input
                                type="text"
                                data-testid="profile-name-edit"
                                prop:value=name
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    if !v.trim().is_empty() {
                                        update_selected(st, |p| p.name = v.trim().to_string());
                                    }
                                }
                            />
                        </label>
                        <span class="muted">{p.kind.label()} " profile"</span>
                        <label class="field">
                            "Default portfolio "
                            <select
                                data-testid="profile-filter-portfolio"
                                prop:value=fport
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    st.portfolio.set(v.clone());
                                    update_selected(st, |p| p.filters.portfolio = Some(v).filter(|v| !v.is_empty()));
                                }
                            >
                                <option value="">"All portfolios"</option>
                                {logins().into_iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view()}
                                <option value=WITHOUT_PORTFOLIO>{WITHOUT_PORTFOLIO}</option>
                            </select>
                        </label>
                        <label class="field">
                            "Default kind "
                            <select
                                data-testid="profile-filter-kind"
                                prop:value=fkind
                                on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    st.kind.set(v.clone());
                                    update_selected(st, |p| p.filters.kind = AccountKind::parse(&v));
                                }
                            >
                                <option value="">"All kinds"</option>
                                {AccountKind::ALL.map(|k| view! { <option value=k.label()>{k.label()}</option> }).collect_view()}
                            </select>
                        </label>
                    </div>
                    <div data-testid="profile-columns">{rows}</div>
                    <div class="actions">
                        <button data-testid="profile-export-json" on:click=on_profile_json>"Export profile (JSON)"</button>
                        <button class="danger" data-testid="profile-delete" on:click=on_delete>"Delete profile"</button>
                    </div>
                </div>
            }
        })
    };

    let summary = move || {
        st.read.get().map(|r| {
            let c = r.plan.tally();
            let correct = c.created + c.updated + c.unchanged;
            let has_errors = r.plan.has_errors();
            let rows = r
                .plan
                .rows
                .iter()
                .take(2_000)
                .map(|o| {
                    let errors = o.errors_text();
                    let facts = o.account().cloned().unwrap_or_default();
                    let class = if errors.is_empty() { "" } else { "error-row" };
                    view! {
                        <tr class=class data-testid="accounts-import-row">
                            <td class="num">{o.sheet_row}</td>
                            <td>{facts.number}</td>
                            <td>{facts.name}</td>
                            <td>{o.label()}</td>
                            <td>{o.changes_text()}</td>
                            <td data-testid="accounts-import-errors">{if errors.is_empty() { "OK".to_string() } else { errors }}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <div class="staged-card" data-testid="accounts-import-summary">
                    <p>
                        <strong>{r.file_name.clone()}</strong> " — " {r.template.name} " file, "
                        {r.plan.rows.len()} " rows: "
                        <span data-testid="accounts-import-correct">{correct}</span> " correct, "
                        <span data-testid="accounts-import-error-count">{c.errors}</span> " with errors ("
                        {c.created} " to create, " {c.updated} " to update, " {c.unchanged} " unchanged)."
                    </p>
                    {has_errors.then(|| view! {
                        <div class="panel warning" data-testid="accounts-import-warning">
                            <p>"Warning: some rows have errors (see the Errors column). They will not be applied."</p>
                            <label>
                                <input
                                    type="checkbox"
                                    data-testid="accounts-import-valid-only"
                                    prop:checked=move || st.valid_only.get()
                                    on:change=move |ev| st.valid_only.set(event_target_checked(&ev))
                                />
                                " Apply only the " {correct} " valid rows"
                            </label>
                        </div>
                    })}
                    {(!has_errors).then(|| view! { <p class="muted" data-testid="accounts-import-ok">"The data is correct."</p> })}
                    <div class="actions">
                        <button
                            class="primary"
                            data-testid="accounts-import-next"
                            disabled=move || st.busy.get() || (has_errors && !st.valid_only.get())
                            on:click=move |_| spawn_local(apply_read(app, st))
                        >
                            "Next"
                        </button>
                        <button on:click=move |_| st.read.set(None) data-testid="accounts-import-cancel">"Cancel"</button>
                    </div>
                    <table class="grid compact" data-testid="accounts-import-table">
                        <thead>
                            <tr><th>"Row"</th><th>"Account Number"</th><th>"Name"</th><th>"Action"</th><th>"Changes"</th><th>"Errors"</th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            }
        })
    };

    let applied = move || {
        st.applied.get().map(|(id, text)| {
            let can_undo =
                move || app.crm.with(|crm| last_undoable(crm).map(|r| r.id) == Some(id));
            view! {
                <div class="staged-card" data-testid="accounts-import-result">
                    <p>{text}</p>
                    <button class="danger" data-testid="accounts-import-undo" disabled=move || !can_undo() on:click=move |_| undo_last_import(app)>
                        "Undo this import"
                    </button>
                </div>
            }
        })
    };

    view! {
        <section class="utilities" data-testid="accounts-page">
            <div class="panel">
                <h3>"Export profiles"</h3>
                <p class="muted">"A profile names the columns of an export, their order and the default filters. Profiles are kept in this browser; share one as a JSON file."</p>
                <div class="actions">
                    <label class="field">
                        "Profile "
                        <select data-testid="profile-select" on:change=on_select prop:value=move || st.selected.get().map(|i| i.to_string()).unwrap_or_default()>
                            <option value="">"(none — all columns)"</option>
                            {move || st.profiles.get().into_iter().enumerate().map(|(i, p)| {
                                view! { <option value=i.to_string() selected=move || st.selected.get() == Some(i)>{format!("{} ({})", p.name, p.kind.label())}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="field">
                        "New profile "
                        <input type="text" data-testid="profile-name" placeholder="Name" prop:value=move || st.new_name.get() on:input=move |ev| st.new_name.set(event_target_value(&ev))/>
                    </label>
                    <select data-testid="profile-kind" on:change=move |ev| st.new_kind.set(if event_target_value(&ev) == "contacts" { ProfileKind::Contacts } else { ProfileKind::Accounts })>
                        <option value="accounts">"Accounts"</option>
                        <option value="contacts">"Contacts"</option>
                    </select>
                    <button data-testid="profile-new" on:click=on_new>"Create export profile"</button>
                    <label class="field">
                        "Import a profile (JSON) "
                        <input type="file" accept=".json,application/json" data-testid="profile-import-file" on:change=on_profile_file/>
                    </label>
                </div>
                {editor}
            </div>
            <div class="panel">
                <h3>"Account export"</h3>
                <div class="actions">
                    <label class="field">
                        "Portfolio "
                        <select data-testid="accounts-export-portfolio" prop:value=move || st.portfolio.get() on:change=move |ev| st.portfolio.set(event_target_value(&ev))>
                            <option value="">"All portfolios"</option>
                            {move || logins().into_iter().map(|l| view! { <option value=l.clone() selected={let l = l.clone(); move || st.portfolio.get() == l}>{l.clone()}</option> }).collect_view()}
                            <option value=WITHOUT_PORTFOLIO selected=move || st.portfolio.get() == WITHOUT_PORTFOLIO>{WITHOUT_PORTFOLIO}</option>
                        </select>
                    </label>
                    <label class="field">
                        "Kind "
                        <select data-testid="accounts-export-kind" prop:value=move || st.kind.get() on:change=move |ev| st.kind.set(event_target_value(&ev))>
                            <option value="">"All kinds"</option>
                            {AccountKind::ALL.map(|k| view! { <option value=k.label() selected=move || st.kind.get() == k.label()>{k.label()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button class="primary" data-testid="accounts-export-download" on:click=on_export>"Download Excel"</button>
                </div>
                <p class="muted">"The export uses the chosen profile's columns (all columns without one). With every column it re-imports: change the Portfolio column to move accounts."</p>
            </div>
            <div class="panel">
                <h3>"Import accounts or contacts"</h3>
                <div class="actions">
                    <button data-testid="accounts-template-download" on:click=move |_| on_model(&ACCOUNTS)>"Account model spreadsheet"</button>
                    <button data-testid="contacts-template-download" on:click=move |_| on_model(&ACCOUNT_CONTACTS)>"Contact model spreadsheet"</button>
                </div>
                <p class="muted">
                    "Accounts: " {ACCOUNTS.headers().join(", ")} ". Contacts: " {ACCOUNT_CONTACTS.headers().join(", ")}
                    ". Headers in red are required. The file's headers decide which import it is."
                </p>
                <label class="field">
                    "Upload (XLSX or CSV) "
                    <input type="file" accept=".xlsx,.csv,.txt" data-testid="accounts-import-file" disabled=move || st.busy.get() on:change=on_import_file/>
                </label>
                {summary}
                {applied}
            </div>
        </section>
    }
}
