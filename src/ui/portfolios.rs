//! Portfolios: the named sets of cases that scope an export. Lists every portfolio with its
//! cases; creates a temporary portfolio from cases chosen by reference, and deletes a
//! temporary portfolio without touching its cases.

use std::collections::BTreeSet;

use leptos::prelude::*;

use crate::protocol::{
    CaseRow, CreateTemporaryPortfolio, DeletePortfolio, PortfolioCases, PortfolioView, SearchCases,
};
use crate::ui::browser::confirm;
use crate::ui::state::use_app;

#[component]
pub fn PortfoliosPage() -> impl IntoView {
    let app = use_app();
    let open = RwSignal::new(None::<u32>);
    let delete = Action::new_local(move |(id, name): &(u32, String)| {
        let (id, name) = (*id, name.clone());
        async move {
            if !confirm(&format!("Delete the temporary portfolio \"{name}\"? Its cases are not touched.")) {
                return;
            }
            match app.call(DeletePortfolio { id }).await {
                Ok(text) => app.success(text),
                Err(e) => app.error(e),
            }
        }
    });
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
                            each=move || app.summary.with(|s| s.portfolios.clone())
                            key=|p: &PortfolioView| (p.id, p.cases, p.name.clone())
                            children=move |p: PortfolioView| {
                                let id = p.id;
                                let name = p.name.clone();
                                view! {
                                    <tr
                                        class="clickable"
                                        class:selected=move || open.get() == Some(id)
                                        data-testid="portfolio-row"
                                        on:click=move |_| open.set(Some(id))
                                    >
                                        <td>
                                            {p.name.clone()}
                                            {p.temporary.then(|| view! { <span class="badge">"temporary"</span> })}
                                        </td>
                                        <td>{p.owner.clone()}</td>
                                        <td class="num">{p.cases}</td>
                                        <td>
                                            {p
                                                .temporary
                                                .then(|| {
                                                    let name = name.clone();
                                                    view! {
                                                        <button
                                                            class="link danger"
                                                            data-testid="portfolio-delete"
                                                            disabled=move || delete.pending().get()
                                                            on:click=move |ev| {
                                                                ev.stop_propagation();
                                                                delete.dispatch((id, name.clone()));
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
    let cases = LocalResource::new(move || {
        let _ = app.summary.with(|s| s.sequence);
        async move { app.call(PortfolioCases { id }).await.unwrap_or_default() }
    });
    let name = move || app.summary.with(|s| s.portfolios.iter().find(|p| p.id == id).map(|p| p.name.clone()));
    move || {
        let Some(name) = name() else { return ().into_any() };
        let cases = cases.get().unwrap_or_default();
        view! {
            <h3>{format!("Cases in {name} ({})", cases.len())}</h3>
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
                            .map(|c: CaseRow| {
                                view! {
                                    <tr>
                                        <td class="mono">{c.reference}</td>
                                        <td>{c.title}</td>
                                        <td class="num">{c.insureds}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

#[component]
fn NewTemporaryPortfolio() -> impl IntoView {
    let app = use_app();
    let name = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let chosen = RwSignal::new(BTreeSet::<u32>::new());
    let matches = LocalResource::new(move || {
        let query = query.get();
        async move { app.call(SearchCases { query, limit: 50 }).await.unwrap_or_default() }
    });
    let create = Action::new_local(move |_: &()| async move {
        let title = name.get_untracked().trim().to_string();
        let case_ids: Vec<u32> = chosen.get_untracked().into_iter().collect();
        let owner_login = Some(app.operator.get_untracked()).filter(|l| !l.is_empty());
        match app.call(CreateTemporaryPortfolio { name: title, owner_login, case_ids }).await {
            Ok(text) => {
                app.success(text);
                name.set(String::new());
                chosen.set(BTreeSet::new());
                query.set(String::new());
            }
            Err(e) => app.error(e),
        }
    });
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
                    each=move || matches.get().unwrap_or_default()
                    key=|c: &CaseRow| c.id
                    children=move |c: CaseRow| {
                        let id = c.id;
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
                                    <span class="mono">{c.reference}</span>
                                    " "
                                    <span class="muted">{c.title}</span>
                                </label>
                            </li>
                        }
                    }
                />
            </ul>
            <p>{move || format!("{} cases chosen", chosen.with(|s| s.len()))}</p>
            <button
                class="primary"
                data-testid="temp-portfolio-create"
                disabled=move || create.pending().get()
                on:click=move |_| {
                    create.dispatch(());
                }
            >
                "Create temporary portfolio"
            </button>
        </div>
    }
}
