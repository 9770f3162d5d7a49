//! Export profiles and the account export: named, saved column sets (order included) with
//! default filters, kept in this browser's local storage and shared as small JSON files; the
//! export of accounts or contacts by portfolio and kind with a profile's columns, written by
//! the worker.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::accounts::profiles::{AccountFilters, ExportProfile, ProfileKind};
use crate::core::accounts::WITHOUT_PORTFOLIO;
use crate::core::model::AccountKind;
use crate::protocol::AccountsExport;
use crate::ui::browser::{confirm, first_file_of_input, load_setting, save_setting};
use crate::ui::state::{use_app, AppState};

const PROFILES_KEY: &str = "roundtrip.accounts.profiles";

#[derive(Clone, Copy)]
struct ProfilesState {
    profiles: RwSignal<Vec<ExportProfile>>,
    selected: RwSignal<Option<usize>>,
    new_name: RwSignal<String>,
    new_kind: RwSignal<ProfileKind>,
    portfolio: RwSignal<String>,
    kind: RwSignal<String>,
}

fn save_profiles(st: ProfilesState) {
    save_setting(PROFILES_KEY, &st.profiles.get_untracked());
}

fn update_selected(st: ProfilesState, f: impl FnOnce(&mut ExportProfile)) {
    let Some(i) = st.selected.get_untracked() else { return };
    st.profiles.update(|ps| {
        if let Some(p) = ps.get_mut(i) {
            f(p);
        }
    });
    save_profiles(st);
}

/// Sets the export filters from a profile's default filters.
fn take_filters(st: ProfilesState, p: &ExportProfile) {
    st.portfolio.set(p.filters.portfolio.clone().unwrap_or_default());
    st.kind.set(p.filters.kind.map(|k| k.label().to_string()).unwrap_or_default());
}

fn filters_of(portfolio: &str, kind: &str) -> AccountFilters {
    AccountFilters {
        portfolio: Some(portfolio.to_string()).filter(|p| !p.is_empty()),
        kind: AccountKind::parse(kind),
    }
}

/// Downloads text made on the page (a profile's JSON).
fn download_text(app: AppState, text: &str, name: &str, mime: &str) {
    let bytes = js_sys::Uint8Array::from(text.as_bytes()).buffer();
    if let Err(e) = crate::ui::browser::download_buffer(&bytes, name, mime) {
        app.error(e);
    }
}

async fn import_profile(app: AppState, st: ProfilesState, file: web_sys::File) {
    let text = match wasm_bindgen_futures::JsFuture::from(file.text()).await {
        Ok(t) => t.as_string().unwrap_or_default(),
        Err(_) => return app.error(format!("{} could not be read.", file.name())),
    };
    match ExportProfile::from_json(&text) {
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

/// The export profiles and the account export.
#[component]
pub fn ProfilesAndExport() -> impl IntoView {
    let profiles = load_setting::<Vec<ExportProfile>>(PROFILES_KEY).unwrap_or_default();
    let selected = if profiles.is_empty() { None } else { Some(0) };
    let st = ProfilesState {
        profiles: RwSignal::new(profiles),
        selected: RwSignal::new(selected),
        new_name: RwSignal::new(String::new()),
        new_kind: RwSignal::new(ProfileKind::Accounts),
        portfolio: RwSignal::new(String::new()),
        kind: RwSignal::new(String::new()),
    };
    if let Some(p) = st.profiles.get_untracked().first() {
        take_filters(st, p);
    }
    view! {
        <ProfilesPanel st/>
        <AccountExport st/>
    }
}

/// The export profiles: choose, create, import; the chosen one's editor.
#[component]
fn ProfilesPanel(st: ProfilesState) -> impl IntoView {
    let app = use_app();
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
    let on_profile_file = move |ev: web_sys::Event| {
        if let Some(f) = first_file_of_input(&ev) {
            spawn_local(import_profile(app, st, f));
        }
    };
    view! {
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
                <ProfileEditor st/>
            </div>
    }
}

/// The chosen profile: its name, its default filters, its columns.
#[component]
fn ProfileEditor(st: ProfilesState) -> impl IntoView {
    let app = use_app();
    let current = move || st.selected.get().and_then(|i| st.profiles.with(|ps| ps.get(i).cloned()));
    let logins =
        move || app.summary.with(|s| s.operators.iter().map(|o| o.login.clone()).collect::<Vec<_>>());
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
        download_text(
            app,
            &p.to_json(),
            &format!("{}.profile.json", crate::core::text::slug(&p.name)),
            "application/json",
        );
    };
    move || {
        current().map(|p| {
            let rows = profile_columns(st, &p);
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
    }
}

/// The columns of a profile: the chosen ones in order, then the others; each can be chosen
/// and moved up or down.
fn profile_columns(st: ProfilesState, p: &ExportProfile) -> impl IntoView {
    let template = p.kind.template();
    let chosen = p.valid_columns();
    let mut all: Vec<&'static str> = chosen.clone();
    all.extend(template.headers().into_iter().filter(|h| !chosen.contains(h)));
    all
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
        .collect_view()
}

/// The account export, by portfolio and kind, with the chosen profile's columns.
#[component]
fn AccountExport(st: ProfilesState) -> impl IntoView {
    let app = use_app();
    let current_untracked =
        move || st.selected.get_untracked().and_then(|i| st.profiles.with_untracked(|ps| ps.get(i).cloned()));
    let logins =
        move || app.summary.with(|s| s.operators.iter().map(|o| o.login.clone()).collect::<Vec<_>>());
    let export = Action::new_local(move |_: &()| async move {
        let profile =
            current_untracked().unwrap_or_else(|| ExportProfile::full("All columns", ProfileKind::Accounts));
        let filters = filters_of(&st.portfolio.get_untracked(), &st.kind.get_untracked());
        if let Err(e) = app.download(AccountsExport { profile, filters }).await {
            app.error(e);
        }
    });
    view! {
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
                    <button class="primary" data-testid="accounts-export-download" disabled=move || export.pending().get() on:click=move |_| { export.dispatch(()); }>"Download Excel"</button>
                </div>
                <p class="muted">"The export uses the chosen profile's columns (all columns without one). With every column it re-imports: change the Portfolio column to move accounts."</p>
            </div>
    }
}
