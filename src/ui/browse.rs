//! Browse: search CRM entries by name, Client Reference or last four of SSN, and open one to
//! see its contact details, its insureds and their cases. SSNs stay masked unless the
//! operator reveals one. Accounts by kind and portfolio; school users and devices.

use leptos::prelude::*;

use crate::core::accounts::profiles::AccountFilters;
use crate::core::model::AccountKind;
use crate::protocol::{
    AccountRow, EnrolleeRow, Enrollees, EntryCard, EntryRow, ListAccounts, RevealSsn, SearchEntries,
    ShowEntry,
};
use crate::ui::state::{use_app, Page};

const RESULT_LIMIT: usize = 100;

#[component]
pub fn BrowsePage() -> impl IntoView {
    let app = use_app();
    let query = RwSignal::new(String::new());
    let selected = RwSignal::new(None::<u32>);
    let results = LocalResource::new(move || {
        let q = query.get();
        let _ = app.summary.with(|s| s.sequence);
        async move {
            match app.call(SearchEntries { query: q, limit: RESULT_LIMIT }).await {
                Ok(page) => (page.total, page.rows),
                _ => (0, Vec::new()),
            }
        }
    });
    let total = move || results.get().map(|r| r.0).unwrap_or(0);
    let rows = move || results.get().map(|r| r.1).unwrap_or_default();
    let empty = move || app.summary.with(|s| s.empty);
    view! {
        <section class="browse">
            <Show when=empty>
                <div class="panel empty-state">
                    <h2>"The local CRM is empty"</h2>
                    <p>"Load the demo CRM or a snapshot workbook to start."</p>
                    <button class="primary" on:click=move |_| app.page.set(Page::Data)>
                        "Go to CRM data"
                    </button>
                </div>
            </Show>
            <div class="split">
                <div class="panel list-panel">
                    <h2>"CRM entries"</h2>
                    <input
                        type="search"
                        class="search"
                        placeholder="Search by name, Client Reference or last 4 of SSN"
                        data-testid="crm-search"
                        on:input=move |ev| query.set(event_target_value(&ev))
                        prop:value=move || query.get()
                    />
                    <p class="muted">
                        <span data-testid="crm-result-count">{total}</span>
                        {move || {
                            if total() > RESULT_LIMIT {
                                format!(" entries match; the first {RESULT_LIMIT} are shown")
                            } else {
                                " entries match".to_string()
                            }
                        }}
                    </p>
                    <table class="grid">
                        <thead>
                            <tr>
                                <th>"Name"</th>
                                <th>"Client Reference"</th>
                                <th>"SSN"</th>
                                <th>"Date of birth"</th>
                                <th class="num">"Details"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=rows
                                key=|r: &EntryRow| (r.id, r.details, r.name.clone())
                                children=move |r: EntryRow| {
                                    let id = r.id;
                                    view! {
                                        <tr
                                            class="clickable"
                                            class:selected=move || selected.get() == Some(id)
                                            data-testid="crm-result"
                                            on:click=move |_| selected.set(Some(id))
                                        >
                                            <td>{r.name}</td>
                                            <td class="mono">{r.client_reference}</td>
                                            <td class="mono">{r.ssn_masked}</td>
                                            <td>{r.date_of_birth}</td>
                                            <td class="num">{r.details}</td>
                                        </tr>
                                    }
                                }
                            />
                        </tbody>
                    </table>
                </div>
                <div class="panel detail-panel">
                    {move || match selected.get() {
                        None => view! { <p class="muted">"Choose an entry to see its details, insureds and cases."</p> }.into_any(),
                        Some(id) => view! { <EntryPanel id=id/> }.into_any(),
                    }}
                </div>
            </div>
            <AccountsAndEnrollees/>
        </section>
    }
}

#[component]
fn EntryPanel(id: u32) -> impl IntoView {
    let app = use_app();
    let card = LocalResource::new(move || {
        let _ = app.summary.with(|s| s.sequence);
        async move { app.call(ShowEntry { id }).await.unwrap_or_default() }
    });
    move || match card.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(None) => view! { <p class="muted">"This entry no longer exists."</p> }.into_any(),
        Some(Some(c)) => view! { <EntryCardView card=c/> }.into_any(),
    }
}

#[component]
fn EntryCardView(card: EntryCard) -> impl IntoView {
    let app = use_app();
    let revealed = RwSignal::new(None::<String>);
    let id = card.id;
    let reveal = Action::new_local(move |_: &()| async move {
        match app.call(RevealSsn { id, operator_login: app.operator.get_untracked() }).await {
            Ok(ssn) => revealed.set(Some(ssn)),
            Err(e) => app.error(e),
        }
    });
    let details_count = card.details.len();
    let insureds_count = card.insureds.len();
    view! {
        <div data-testid="entry-card">
            <h2>{card.name.clone()}</h2>
            <dl class="facts">
                <dt>"Client Reference"</dt>
                <dd class="mono">{if card.client_reference.is_empty() { "—".to_string() } else { card.client_reference.clone() }}</dd>
                <dt>"SSN"</dt>
                <dd class="mono">
                    {match card.ssn_masked.clone() {
                        None => view! { <span>"—"</span> }.into_any(),
                        Some(masked) => view! {
                            <span data-testid="entry-ssn">{move || revealed.get().unwrap_or_else(|| masked.clone())}</span>
                            " "
                            <button
                                class="link"
                                on:click=move |_| {
                                    if revealed.get_untracked().is_some() {
                                        revealed.set(None);
                                    } else {
                                        reveal.dispatch(());
                                    }
                                }
                            >
                                {move || if revealed.get().is_some() { "Hide" } else { "Reveal" }}
                            </button>
                        }
                            .into_any(),
                    }}
                </dd>
                <dt>"Date of birth"</dt>
                <dd>{if card.date_of_birth.is_empty() { "—".to_string() } else { card.date_of_birth.clone() }}</dd>
            </dl>
            <h3>{format!("Contact details ({details_count})")}</h3>
            <table class="grid compact">
                <thead>
                    <tr>
                        <th>"Public ID"</th>
                        <th>"Type"</th>
                        <th>"Label"</th>
                        <th>"Value"</th>
                        <th>"Primary"</th>
                    </tr>
                </thead>
                <tbody>
                    {card
                        .details
                        .into_iter()
                        .map(|d| {
                            view! {
                                <tr>
                                    <td class="mono">{d.public_id}</td>
                                    <td>{d.kind}</td>
                                    <td>{d.label}</td>
                                    <td>{d.value}</td>
                                    <td>{if d.primary { "Yes" } else { "" }}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <h3>{format!("Insureds ({insureds_count})")}</h3>
            <ul class="plain">
                {card
                    .insureds
                    .into_iter()
                    .map(|(r, n, c)| view! { <li><span class="mono">{r}</span>" · "{n}" · "{c}</li> })
                    .collect_view()}
            </ul>
        </div>
    }
}

/// Accounts by portfolio and kind, and school users and devices with their insurance.
#[component]
fn AccountsAndEnrollees() -> impl IntoView {
    let app = use_app();
    let kind_filter = RwSignal::new(String::new());
    let portfolio_filter = RwSignal::new(String::new());
    let device_query = RwSignal::new(String::new());
    let accounts = LocalResource::new(move || {
        let kind = Some(kind_filter.get()).filter(|k| !k.is_empty());
        let portfolio = Some(portfolio_filter.get()).filter(|p| !p.is_empty());
        let _ = app.summary.with(|s| s.sequence);
        async move {
            let filters = AccountFilters { portfolio, kind: kind.as_deref().and_then(AccountKind::parse) };
            match app.call(ListAccounts { filters, limit: 50 }).await {
                Ok(page) => (page.total, page.rows),
                _ => (0, Vec::new()),
            }
        }
    });
    let enrollees = LocalResource::new(move || {
        let query = device_query.get();
        let _ = app.summary.with(|s| s.sequence);
        async move { app.call(Enrollees { query, limit: 30 }).await.unwrap_or_default() }
    });
    let logins =
        move || app.summary.with(|s| s.operators.iter().map(|o| o.login.clone()).collect::<Vec<_>>());
    view! {
        <div class="split">
            <div class="panel">
                <h2>"Accounts"</h2>
                <div class="filters">
                    <select data-testid="accounts-kind-filter" on:change=move |ev| kind_filter.set(event_target_value(&ev))>
                        <option value="">"All kinds"</option>
                        <option value="Medical">"Medical"</option>
                        <option value="Company">"Company"</option>
                        <option value="Insurance">"Insurance"</option>
                    </select>
                    <select
                        data-testid="accounts-portfolio-filter"
                        on:change=move |ev| portfolio_filter.set(event_target_value(&ev))
                    >
                        <option value="">"All portfolios"</option>
                        <option value="Without Portfolio">"Without Portfolio"</option>
                        {move || logins().into_iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view()}
                    </select>
                    <span class="muted">{move || format!("{} accounts", accounts.get().map(|a| a.0).unwrap_or(0))}</span>
                </div>
                <table class="grid compact">
                    <thead>
                        <tr>
                            <th>"Account Number"</th>
                            <th>"Name"</th>
                            <th>"Kind"</th>
                            <th>"Portfolio"</th>
                            <th>"Contacts"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            accounts
                                .get()
                                .map(|a| a.1)
                                .unwrap_or_default()
                                .into_iter()
                                .map(|a: AccountRow| {
                                    view! {
                                        <tr>
                                            <td class="mono">{a.number}</td>
                                            <td>{a.name}</td>
                                            <td>{a.kind}</td>
                                            <td>{a.portfolio}</td>
                                            <td>{a.contacts}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </div>
            <div class="panel">
                <h2>"School users and devices"</h2>
                <input
                    type="search"
                    class="search"
                    placeholder="Search User ID, name, Device Serial or model"
                    data-testid="enrollee-search"
                    on:input=move |ev| device_query.set(event_target_value(&ev))
                />
                <table class="grid compact" data-testid="enrollee-table">
                    <thead>
                        <tr>
                            <th>"ID / Serial"</th>
                            <th>"Name / Model"</th>
                            <th>"Insurance"</th>
                            <th>"Policy Number"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {move || {
                            enrollees
                                .get()
                                .unwrap_or_default()
                                .into_iter()
                                .map(|e: EnrolleeRow| {
                                    view! {
                                        <tr>
                                            <td class="mono">{e.id}</td>
                                            <td>{e.name}</td>
                                            <td>{e.status}</td>
                                            <td class="mono">{e.policy}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                        }}
                    </tbody>
                </table>
            </div>
        </div>
    }
}
