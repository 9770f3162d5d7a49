//! Browse: search CRM entries by name, Client Reference or last four of SSN, and open one to
//! see its contact details, its insureds and their cases. SSNs stay masked unless the
//! operator reveals one.

use leptos::prelude::*;

use crate::core::index::{search_entries, CrmIndex};
use crate::core::model::EntryId;
use crate::core::text::mask_ssn;
use crate::ui::state::{use_app, Page};

const RESULT_LIMIT: usize = 100;

#[component]
pub fn BrowsePage() -> impl IntoView {
    let app = use_app();
    let query = RwSignal::new(String::new());
    let selected = RwSignal::new(None::<EntryId>);
    // Details per entry, counted once per CRM state rather than once per search result.
    let detail_counts = Memo::new(move |_| {
        app.crm.with(|crm| {
            let mut counts = std::collections::HashMap::<EntryId, usize>::new();
            for d in crm.details.values() {
                *counts.entry(d.entry_id).or_default() += 1;
            }
            std::sync::Arc::new(counts)
        })
    });
    let results = Memo::new(move |_| {
        let q = query.get();
        let counts = detail_counts.get();
        app.crm.with(|crm| {
            let found = search_entries(crm, &q, RESULT_LIMIT);
            let (total, hits) = (found.total, found.entries(crm));
            let rows: Vec<(EntryId, String, String, String, String, usize)> = hits
                .into_iter()
                .map(|e| {
                    let details = counts.get(&e.id).copied().unwrap_or(0);
                    (
                        e.id,
                        e.display_name(),
                        e.client_reference.clone().unwrap_or_default(),
                        e.ssn.as_deref().map(mask_ssn).unwrap_or_default(),
                        e.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
                        details,
                    )
                })
                .collect();
            (total, rows)
        })
    });
    let empty = move || app.crm.with(|c| c.is_empty());
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
                        <span data-testid="crm-result-count">{move || results.get().0}</span>
                        {move || {
                            let (total, _) = results.get();
                            if total > RESULT_LIMIT {
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
                                each=move || results.get().1
                                key=|r| r.0
                                children=move |(id, name, cref, ssn, dob, details)| {
                                    view! {
                                        <tr
                                            class="clickable"
                                            class:selected=move || selected.get() == Some(id)
                                            data-testid="crm-result"
                                            on:click=move |_| selected.set(Some(id))
                                        >
                                            <td>{name}</td>
                                            <td class="mono">{cref}</td>
                                            <td class="mono">{ssn}</td>
                                            <td>{dob}</td>
                                            <td class="num">{details}</td>
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
                        Some(id) => view! { <EntryCard id=id/> }.into_any(),
                    }}
                </div>
            </div>
            <AccountsAndEnrollees/>
        </section>
    }
}

#[component]
fn EntryCard(id: EntryId) -> impl IntoView {
    let app = use_app();
    let revealed = RwSignal::new(false);
    move || {
        app.crm.with(|crm| {
            let Some(entry) = crm.entries.get(&id).cloned() else {
                return view! { <p class="muted">"This entry no longer exists."</p> }.into_any();
            };
            let index = CrmIndex::new(crm);
            let details = index.details_of(id).into_iter().cloned().collect::<Vec<_>>();
            let insureds: Vec<(String, String, String)> = index
                .insureds_of_entry(id)
                .into_iter()
                .map(|i| {
                    let case = crm.cases.get(&i.case_id);
                    (
                        i.reference.clone(),
                        format!("{} {}", i.first_name, i.last_name),
                        case.map(|c| format!("{} — {}", c.reference, c.title)).unwrap_or_default(),
                    )
                })
                .collect();
            let ssn = entry.ssn.clone();
            view! {
                <div data-testid="entry-card">
                    <h2>{entry.display_name()}</h2>
                    <dl class="facts">
                        <dt>"Client Reference"</dt>
                        <dd class="mono">{entry.client_reference.clone().unwrap_or_else(|| "—".into())}</dd>
                        <dt>"SSN"</dt>
                        <dd class="mono">
                            {match ssn {
                                None => view! { <span>"—"</span> }.into_any(),
                                Some(s) => {
                                    let masked = mask_ssn(&s);
                                    view! {
                                        <span data-testid="entry-ssn">
                                            {move || if revealed.get() { s.clone() } else { masked.clone() }}
                                        </span>
                                        " "
                                        <button class="link" on:click=move |_| revealed.update(|r| *r = !*r)>
                                            {move || if revealed.get() { "Hide" } else { "Reveal" }}
                                        </button>
                                    }
                                        .into_any()
                                }
                            }}
                        </dd>
                        <dt>"Date of birth"</dt>
                        <dd>{entry.date_of_birth.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}</dd>
                    </dl>
                    <h3>{format!("Contact details ({})", details.len())}</h3>
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
                            {details
                                .into_iter()
                                .map(|d| {
                                    let value = match d.kind {
                                        crate::core::model::DetailKind::Address => {
                                            [
                                                &d.fields.address_line1,
                                                &d.fields.address_line2,
                                                &d.fields.city,
                                                &d.fields.region,
                                                &d.fields.postcode,
                                                &d.fields.country,
                                            ]
                                                .into_iter()
                                                .filter(|s| !s.is_empty())
                                                .cloned()
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        }
                                        crate::core::model::DetailKind::Phone => d.fields.phone.clone(),
                                        crate::core::model::DetailKind::Email => d.fields.email.clone(),
                                    };
                                    view! {
                                        <tr>
                                            <td class="mono">{d.public_id.clone()}</td>
                                            <td>{d.kind.label()}</td>
                                            <td>{d.fields.label.clone()}</td>
                                            <td>{value}</td>
                                            <td>{if d.fields.primary { "Yes" } else { "" }}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    <h3>{format!("Insureds ({})", insureds.len())}</h3>
                    <ul class="plain">
                        {insureds
                            .into_iter()
                            .map(|(r, n, c)| view! { <li><span class="mono">{r}</span>" · "{n}" · "{c}</li> })
                            .collect_view()}
                    </ul>
                </div>
            }
            .into_any()
        })
    }
}

/// Accounts by portfolio and kind, and school users and devices with their insurance.
#[component]
fn AccountsAndEnrollees() -> impl IntoView {
    let app = use_app();
    let kind_filter = RwSignal::new(String::new());
    let portfolio_filter = RwSignal::new(String::new());
    let device_query = RwSignal::new(String::new());
    let accounts = Memo::new(move |_| {
        let (k, p) = (kind_filter.get(), portfolio_filter.get());
        app.crm.with(|crm| {
            let mut rows = Vec::new();
            let mut total = 0;
            for a in crm.accounts.values() {
                if !k.is_empty() && a.kind.label() != k {
                    continue;
                }
                let login = a.portfolio_login.clone().unwrap_or_default();
                if !p.is_empty() && (p == "-" && !login.is_empty() || p != "-" && login != p) {
                    continue;
                }
                total += 1;
                if rows.len() < 50 {
                    let contacts = crm
                        .account_contacts
                        .values()
                        .filter(|c| c.account_number == a.number)
                        .map(|c| format!("{} ({})", c.name, c.contact_type.label()))
                        .collect::<Vec<_>>()
                        .join("; ");
                    rows.push((a.number.clone(), a.name.clone(), a.kind.label(), login, contacts));
                }
            }
            (total, rows)
        })
    });
    let enrollees = Memo::new(move |_| {
        let q = device_query.get().to_lowercase();
        app.crm.with(|crm| {
            let devices = crm
                .devices
                .values()
                .filter(|d| {
                    q.is_empty()
                        || d.serial.to_lowercase().contains(&q)
                        || d.model.to_lowercase().contains(&q)
                })
                .take(30)
                .map(|d| {
                    (
                        d.serial.clone(),
                        d.model.clone(),
                        d.insurance.status.map(|s| s.label()).unwrap_or("—"),
                        d.insurance.policy_number.clone().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>();
            let users = crm
                .school_users
                .values()
                .filter(|u| {
                    q.is_empty()
                        || u.user_id.to_lowercase().contains(&q)
                        || u.name.to_lowercase().contains(&q)
                })
                .take(30)
                .map(|u| {
                    (
                        u.user_id.clone(),
                        format!("{} ({})", u.name, u.role.label()),
                        u.insurance.status.map(|s| s.label()).unwrap_or("—"),
                        u.insurance.policy_number.clone().unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>();
            (users, devices)
        })
    });
    let logins = move || app.crm.with(|crm| crm.operators.keys().cloned().collect::<Vec<_>>());
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
                        <option value="-">"Without Portfolio"</option>
                        {move || logins().into_iter().map(|l| view! { <option value=l.clone()>{l.clone()}</option> }).collect_view()}
                    </select>
                    <span class="muted">{move || format!("{} accounts", accounts.get().0)}</span>
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
                                .1
                                .into_iter()
                                .map(|(n, name, k, login, contacts)| {
                                    view! {
                                        <tr>
                                            <td class="mono">{n}</td>
                                            <td>{name}</td>
                                            <td>{k}</td>
                                            <td>{if login.is_empty() { "Without Portfolio".to_string() } else { login }}</td>
                                            <td>{contacts}</td>
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
                            let (users, devices) = enrollees.get();
                            users
                                .into_iter()
                                .chain(devices)
                                .map(|(id, name, status, policy)| {
                                    view! {
                                        <tr>
                                            <td class="mono">{id}</td>
                                            <td>{name}</td>
                                            <td>{status}</td>
                                            <td class="mono">{policy}</td>
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
