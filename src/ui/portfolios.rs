//! Portfolios: the named sets of cases that scope an export. Lists every portfolio with its
//! cases; creates a temporary portfolio from cases chosen by reference, and deletes a
//! temporary portfolio without touching its cases.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::model::{ChangeSet, Portfolio, Record, RecordKey};
use crate::core::text::fold;
use crate::ui::browser::confirm;
use crate::ui::state::use_app;

#[component]
pub fn PortfoliosPage() -> impl IntoView {
    let app = use_app();
    let open = RwSignal::new(None::<u32>);
    let list = Memo::new(move |_| {
        app.crm.with(|crm| {
            crm.portfolios
                .values()
                .map(|p| {
                    let owner = p
                        .owner_login
                        .as_ref()
                        .and_then(|l| crm.operators.get(l))
                        .map(|o| o.name.clone())
                        .unwrap_or_else(|| "—".into());
                    (p.id, p.name.clone(), owner, p.temporary, p.case_ids.len())
                })
                .collect::<Vec<_>>()
        })
    });
    let delete = move |id: u32, name: String| {
        if !confirm(&format!("Delete the temporary portfolio \"{name}\"? Its cases are not touched.")) {
            return;
        }
        spawn_local(async move {
            let changes = ChangeSet {
                puts: vec![],
                deletes: vec![RecordKey {
                    kind: crate::core::model::EntityKind::Portfolio,
                    id: id.to_string(),
                }],
            };
            match app.commit(changes).await {
                Ok(_) => {
                    app.success(format!("Temporary portfolio \"{name}\" deleted; its cases are unchanged."))
                }
                Err(e) => app.error(e),
            }
        });
    };
    view! {
        <section class="split">
            <div class="panel">
                <h2>"Portfolios"</h2>
                <table class="grid" data-testid="portfolio-list">
                    <thead>
                        <tr>
                            <th>"Name"</th>
                            <th>"Owner"</th>
                            <th class="num">"Cases"</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || list.get()
                            key=|p| (p.0, p.4)
                            children=move |(id, name, owner, temporary, cases)| {
                                let name_for_delete = name.clone();
                                view! {
                                    <tr
                                        class="clickable"
                                        class:selected=move || open.get() == Some(id)
                                        data-testid="portfolio-row"
                                        on:click=move |_| open.set(Some(id))
                                    >
                                        <td>
                                            {name.clone()}
                                            {temporary.then(|| view! { <span class="badge">"temporary"</span> })}
                                        </td>
                                        <td>{owner}</td>
                                        <td class="num">{cases}</td>
                                        <td>
                                            {temporary
                                                .then(|| {
                                                    let n = name_for_delete.clone();
                                                    view! {
                                                        <button
                                                            class="link danger"
                                                            data-testid="portfolio-delete"
                                                            on:click=move |ev| {
                                                                ev.stop_propagation();
                                                                delete(id, n.clone())
                                                            }
                                                        >
                                                            "Delete"
                                                        </button>
                                                    }
                                                })}
                                        </td>
                                    </tr>
                                }
                            }
                        />
                    </tbody>
                </table>
                {move || open.get().map(|id| view! { <PortfolioCases id=id/> })}
            </div>
            <NewTemporaryPortfolio/>
        </section>
    }
}

#[component]
fn PortfolioCases(id: u32) -> impl IntoView {
    let app = use_app();
    move || {
        app.crm.with(|crm| {
            let Some(p) = crm.portfolios.get(&id) else { return ().into_any() };
            let mut cases: Vec<_> = p.case_ids.iter().filter_map(|c| crm.cases.get(c)).collect();
            cases.sort_by(|a, b| a.reference.cmp(&b.reference));
            let insureds_per_case =
                |case_id: u32| crm.insureds.values().filter(|i| i.case_id == case_id).count();
            view! {
                <h3>{format!("Cases in {} ({})", p.name, cases.len())}</h3>
                <div class="scroll-box">
                    <table class="grid compact" data-testid="portfolio-cases">
                        <thead>
                            <tr>
                                <th>"Case Reference"</th>
                                <th>"Title"</th>
                                <th class="num">"Insureds"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {cases
                                .into_iter()
                                .map(|c| {
                                    view! {
                                        <tr>
                                            <td class="mono">{c.reference.clone()}</td>
                                            <td>{c.title.clone()}</td>
                                            <td class="num">{insureds_per_case(c.id)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any()
        })
    }
}

#[component]
fn NewTemporaryPortfolio() -> impl IntoView {
    let app = use_app();
    let name = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let chosen = RwSignal::new(BTreeSet::<u32>::new());
    let matches = Memo::new(move |_| {
        let q = fold(&query.get());
        app.crm.with(|crm| {
            crm.cases
                .values()
                .filter(|c| !q.is_empty() && (fold(&c.reference).contains(&q) || fold(&c.title).contains(&q)))
                .take(50)
                .map(|c| (c.id, c.reference.clone(), c.title.clone()))
                .collect::<Vec<_>>()
        })
    });
    let create = move |_| {
        let title = name.get().trim().to_string();
        let cases: Vec<u32> = chosen.get().into_iter().collect();
        if title.is_empty() {
            app.error("Give the temporary portfolio a name.");
            return;
        }
        if cases.is_empty() {
            app.error("Choose at least one case for the temporary portfolio.");
            return;
        }
        spawn_local(async move {
            let mut counters = app.crm.with_untracked(|c| c.counters);
            let id = counters.next_portfolio_id;
            counters.next_portfolio_id += 1;
            let portfolio = Portfolio {
                id,
                name: title.clone(),
                owner_login: Some(app.operator.get_untracked()).filter(|l| !l.is_empty()),
                temporary: true,
                case_ids: cases.clone(),
            };
            let changes = ChangeSet {
                puts: vec![Record::Portfolio(portfolio), Record::Counters(counters)],
                deletes: vec![],
            };
            match app.commit(changes).await {
                Ok(_) => {
                    app.success(format!(
                        "Temporary portfolio \"{title}\" created with {} cases.",
                        cases.len()
                    ));
                    name.set(String::new());
                    chosen.set(BTreeSet::new());
                    query.set(String::new());
                }
                Err(e) => app.error(e),
            }
        });
    };
    view! {
        <div class="panel">
            <h2>"New temporary portfolio"</h2>
            <p class="muted">
                "A temporary portfolio only scopes a report. It changes no case ownership and can be deleted afterwards."
            </p>
            <label class="field">
                "Name"
                <input
                    type="text"
                    data-testid="temp-portfolio-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </label>
            <label class="field">
                "Find cases by reference or title"
                <input
                    type="search"
                    data-testid="temp-portfolio-case-search"
                    placeholder="e.g. CASE-000123"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
            </label>
            <ul class="plain checklist">
                <For
                    each=move || matches.get()
                    key=|c| c.0
                    children=move |(id, reference, title)| {
                        view! {
                            <li>
                                <label>
                                    <input
                                        type="checkbox"
                                        data-testid="temp-portfolio-case"
                                        prop:checked=move || chosen.with(|s| s.contains(&id))
                                        on:change=move |_| {
                                            chosen
                                                .update(|s| {
                                                    if !s.remove(&id) {
                                                        s.insert(id);
                                                    }
                                                })
                                        }
                                    />
                                    <span class="mono">{reference}</span>
                                    " "
                                    <span class="muted">{title}</span>
                                </label>
                            </li>
                        }
                    }
                />
            </ul>
            <p>{move || format!("{} cases chosen", chosen.with(|s| s.len()))}</p>
            <button class="primary" data-testid="temp-portfolio-create" on:click=create>
                "Create temporary portfolio"
            </button>
        </div>
    }
}
