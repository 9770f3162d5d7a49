//! The page frame: header with the current operator and CRM figures, navigation, the notice
//! and progress bars, and the page shown. Opens the store and loads the CRM at start.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::demo::{demo_crm, DEMO_SEED};
use crate::store::indexeddb::IndexedDbStore;
use crate::store::CrmStore;
use crate::ui::browser::meta_content;
use crate::ui::state::{set_store, use_app, AppState, NoticeKind, Page, DATABASE_NAME};
use crate::ui::update;
use crate::ui::{accounts, browse, data_page, export_page, history, import, portfolios, utilities};

async fn open_and_load(app: AppState) {
    let closed = app.database_closed;
    let opened = IndexedDbStore::open(DATABASE_NAME, move || closed.set(true)).await;
    let store = match opened {
        Ok(s) => s,
        Err(e) => {
            app.error(e.to_string());
            return;
        }
    };
    match store.load_all().await {
        Ok(stored) => {
            set_store(store);
            let empty = stored.crm.is_empty();
            if !stored.crm.operators.contains_key(&app.operator.get_untracked()) {
                if let Some(first) = stored.crm.operators.keys().next() {
                    app.set_operator(first);
                }
            }
            app.take_stored(stored);
            app.ready.set(true);
            if empty && meta_content("roundtrip-autoload-demo").as_deref() == Some("true") {
                load_demo(app).await;
            }
        }
        Err(e) => {
            set_store(store);
            app.ready.set(true);
            app.error(e.to_string());
        }
    }
}

/// Generates the demo CRM and stores it in place of the current copy.
pub async fn load_demo(app: AppState) {
    app.set_progress("Generating the demo CRM", 0, 2);
    crate::ui::browser::yield_to_browser().await;
    let crm = demo_crm(DEMO_SEED, 1);
    app.set_progress("Writing the demo CRM to the browser's database", 1, 2);
    crate::ui::browser::yield_to_browser().await;
    let summary = format!(
        "Demo CRM loaded: {} CRM entries, {} insureds on {} cases, {} accounts, {} school users, {} devices.",
        crm.entries.len(),
        crm.insureds.len(),
        crm.cases.len(),
        crm.accounts.len(),
        crm.school_users.len(),
        crm.devices.len()
    );
    match app.replace_all(crm).await {
        Ok(()) => app.success(summary),
        Err(e) => app.error(e),
    }
    app.clear_progress();
}

#[component]
pub fn App() -> impl IntoView {
    let app = AppState::new();
    provide_context(app);
    provide_context(import::ImportState::new());
    spawn_local(open_and_load(app));
    update::provide_update_state();
    view! {
        <div class="app">
            <Header/>
            <Nav/>
            <update::UpdateBanner/>
            <NoticeBar/>
            <ProgressBar/>
            <main class="page">
                {move || {
                    if app.database_closed.get() {
                        return view! {
                            <div class="panel blocking" data-testid="database-closed">
                                <h2>"Reload this page"</h2>
                                <p>
                                    "Another Roundtrip tab upgraded the local database, so this tab closed its connection to keep your data safe. Reload to continue."
                                </p>
                            </div>
                        }
                            .into_any();
                    }
                    if !app.ready.get() {
                        return view! { <p class="muted">"Opening the local CRM…"</p> }.into_any();
                    }
                    match app.page.get() {
                        Page::Browse => view! { <browse::BrowsePage/> }.into_any(),
                        Page::Portfolios => view! { <portfolios::PortfoliosPage/> }.into_any(),
                        Page::Export => view! { <export_page::ExportPage/> }.into_any(),
                        Page::Import => view! { <import::ImportPage/> }.into_any(),
                        Page::History => view! { <history::HistoryPage/> }.into_any(),
                        Page::Data => view! { <data_page::DataPage/> }.into_any(),
                        Page::Utilities => view! { <utilities::UtilitiesPage/> }.into_any(),
                        Page::Accounts => view! { <accounts::AccountsPage/> }.into_any(),
                    }
                }}
            </main>
        </div>
    }
}

#[component]
fn Header() -> impl IntoView {
    let app = use_app();
    let figures = move || {
        app.crm.with(|crm| {
            if crm.is_empty() {
                "Local CRM is empty".to_string()
            } else {
                format!(
                    "{} CRM entries · {} cases · {} accounts",
                    crm.entries.len(),
                    crm.cases.len(),
                    crm.accounts.len()
                )
            }
        })
    };
    let operators = move || app.crm.with(|crm| crm.operators.values().cloned().collect::<Vec<_>>());
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo">"⇄"</span>
                <span class="name">"Roundtrip"</span>
                <span class="tag">"private CRM import & export · data stays on this machine"</span>
            </div>
            <div class="figures" data-testid="crm-figures">{figures}</div>
            <label class="operator">
                "Operator "
                <select
                    data-testid="operator-select"
                    on:change=move |ev| app.set_operator(&event_target_value(&ev))
                    prop:value=move || app.operator.get()
                >
                    {move || {
                        operators()
                            .into_iter()
                            .map(|o| {
                                let roles = o.roles.iter().map(|r| r.display_name()).collect::<Vec<_>>().join(", ");
                                let login = o.login.clone();
                                let selected = app.operator.get_untracked() == login;
                                view! {
                                    <option value=login selected=selected>
                                        {format!("{} ({}) — {}", o.name, o.login, roles)}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
        </header>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let app = use_app();
    view! {
        <nav class="nav">
            {Page::ALL
                .into_iter()
                .map(|p| {
                    view! {
                        <button
                            class="nav-item"
                            class:active=move || app.page.get() == p
                            data-testid=p.test_id()
                            on:click=move |_| {
                                app.notice.set(None);
                                app.page.set(p)
                            }
                        >
                            {p.label()}
                        </button>
                    }
                })
                .collect_view()}
        </nav>
    }
}

#[component]
fn NoticeBar() -> impl IntoView {
    let app = use_app();
    move || {
        app.notice.get().map(|n| {
            let class = match n.kind {
                NoticeKind::Info => "notice info",
                NoticeKind::Success => "notice success",
                NoticeKind::Error => "notice error",
            };
            view! {
                <div class=class data-testid="notice" role="status">
                    <span>{n.text}</span>
                    <button class="link" on:click=move |_| app.notice.set(None)>
                        "Dismiss"
                    </button>
                </div>
            }
        })
    }
}

#[component]
fn ProgressBar() -> impl IntoView {
    let app = use_app();
    move || {
        app.progress.get().map(|p| {
            let pct = if p.total == 0 { 0.0 } else { p.done as f64 * 100.0 / p.total as f64 };
            view! {
                <div class="progress" data-testid="progress" role="progressbar">
                    <div class="progress-label">
                        {format!("{} — {} of {}", p.label, p.done, p.total)}
                    </div>
                    <div class="progress-track">
                        <div class="progress-fill" style=format!("width:{pct:.1}%")></div>
                    </div>
                </div>
            }
        })
    }
}
