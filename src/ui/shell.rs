//! The page frame: header with the current operator and CRM figures, navigation, the notice
//! and progress bars (with Cancel and an estimate), the read-only banner, and the page shown —
//! or, while the encrypted copy is locked, the unlock screen instead of the navigation and the
//! pages. Starts the pipeline worker and asks it to open the CRM.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::protocol::{Open, VaultState};
use crate::store::EncryptionState;
use crate::ui::browser::{meta_content, monotonic_ms};
use crate::ui::state::{use_app, AppState, NoticeKind, Page};
use crate::ui::update;
use crate::ui::workflow::WorkflowStates;
use crate::ui::{accounts, browse, data_page, export_page, history, import, portfolios, utilities, vault};

/// Opens the CRM; an encrypted copy that this tab holds no key for opens on the unlock screen
/// (until the passphrase is typed, or another tab that is unlocked hands its key over).
async fn open(app: AppState) {
    let autoload_demo = meta_content("roundtrip-autoload-demo").as_deref() == Some("true");
    let mut opened = app.call(Open { autoload_demo }).await;
    let mut state = app.call(VaultState).await.unwrap_or(EncryptionState::Plain);
    if opened.is_err() && state == EncryptionState::Unlocked {
        // Another tab handed its key over meanwhile: open again.
        opened = app.call(Open { autoload_demo }).await;
        state = app.call(VaultState).await.unwrap_or(EncryptionState::Plain);
    }
    match opened {
        Ok(summary) => {
            if let Some(notice) = summary.notice.clone() {
                app.info(notice);
            }
            app.take_summary(summary);
            app.vault.set(state);
        }
        Err(_) if state == EncryptionState::Locked => app.show_locked(),
        Err(e) => app.error(e),
    }
    app.ready.set(true);
}

#[component]
pub fn App() -> impl IntoView {
    let app = AppState::start();
    provide_context(app);
    provide_context(WorkflowStates::new());
    crate::ui::sync::SyncState::new();
    update::provide_update_state();
    spawn_local(open(app));
    vault::start_idle_lock(app);
    view! {
        <div class="app">
            <Header/>
            <Nav/>
            <update::UpdateBanner/>
            <NoticeBar/>
            <ProgressBar/>
            <ReadOnlyBanner/>
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
                    if app.vault.get() == EncryptionState::Locked {
                        return view! { <vault::UnlockScreen/> }.into_any();
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
        if app.vault.get() == EncryptionState::Locked {
            return "Local CRM locked".to_string();
        }
        app.summary.with(|s| {
            if s.empty {
                "Local CRM is empty".to_string()
            } else {
                format!("{} CRM entries · {} cases · {} accounts", s.entries, s.cases, s.accounts)
            }
        })
    };
    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo">"⇄"</span>
                <span class="name">"Roundtrip"</span>
                <span class="tag">"private CRM import & export · data stays on this machine"</span>
            </div>
            <div class="figures" data-testid="crm-figures">{figures}</div>
            {move || {
                // No operator is named while the copy is locked.
                (app.vault.get() != EncryptionState::Locked).then(|| {
                    view! {
                        <label class="operator">
                            "Operator "
                            <select
                                data-testid="operator-select"
                                on:change=move |ev| app.set_operator(&event_target_value(&ev))
                                prop:value=move || app.operator.get()
                            >
                                {move || {
                                    app.summary
                                        .with(|s| s.operators.clone())
                                        .into_iter()
                                        .map(|o| {
                                            let roles = o.roles.iter().map(|r| r.display_name()).collect::<Vec<_>>().join(", ");
                                            let selected = app.operator.get_untracked() == o.login;
                                            view! {
                                                <option value=o.login.clone() selected=selected>
                                                    {format!("{} ({}) — {}", o.name, o.login, roles)}
                                                </option>
                                            }
                                        })
                                        .collect_view()
                                }}
                            </select>
                        </label>
                    }
                })
            }}
        </header>
    }
}

/// The pages' buttons; none while the copy is locked.
#[component]
fn Nav() -> impl IntoView {
    let app = use_app();
    move || {
        (app.vault.get() != EncryptionState::Locked).then(|| {
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
        })
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

/// "about 12 s left"
fn estimate_text(seconds: f64) -> String {
    if seconds < 1.0 {
        "less than a second left".to_string()
    } else if seconds < 90.0 {
        format!("about {:.0} s left", seconds.ceil())
    } else {
        format!("about {:.0} min left", (seconds / 60.0).ceil())
    }
}

#[component]
fn ProgressBar() -> impl IntoView {
    let app = use_app();
    move || {
        app.running.get().map(|run| {
            let p = &run.progress;
            let pct = if p.total == 0 { 0.0 } else { p.done as f64 * 100.0 / p.total as f64 };
            let estimate = run.estimate_seconds(monotonic_ms()).map(estimate_text).unwrap_or_default();
            let figures = if p.total > 1 { format!(" — {} of {}", p.done, p.total) } else { String::new() };
            view! {
                <div class="progress" data-testid="progress" role="progressbar">
                    <div class="progress-label">
                        <span data-testid="progress-stage">{p.stage.clone()}</span>
                        {figures}
                        <span class="muted" data-testid="progress-estimate">{format!(" {estimate}")}</span>
                        <button class="link danger" data-testid="progress-cancel" on:click=move |_| app.cancel_running()>
                            "Cancel"
                        </button>
                    </div>
                    <div class="progress-track">
                        <div class="progress-fill" style=format!("width:{pct:.1}%")></div>
                    </div>
                </div>
            }
        })
    }
}

#[component]
fn ReadOnlyBanner() -> impl IntoView {
    let app = use_app();
    move || {
        app.summary.with(|s| s.read_only.clone()).map(|why| {
            view! {
                <div class="panel blocking" data-testid="read-only">
                    <h2>"The local CRM is open read-only"</h2>
                    <p>{why}</p>
                    <p>
                        "Nothing can be written until the copy is replaced: load a snapshot (a backup you downloaded) or the demo CRM on the CRM data page."
                    </p>
                    <button class="primary" on:click=move |_| app.page.set(Page::Data)>
                        "Go to CRM data"
                    </button>
                </div>
            }
        })
    }
}
