//! Step 4: one dropdown per person detected in the file. The open persons (not matched,
//! conflicts) are listed expanded; the persons tiers 1–3 decided sit in a collapsed section
//! and can be changed too. Every dropdown offers the ranked candidates (with why), any entry
//! found by "Search the CRM…", "Create new CRM entry" and "Skip these rows"; bulk choices
//! show how many persons and rows they change before they are applied.

use leptos::prelude::*;

use crate::core::insured::matching::{BulkAction, GroupChoice};
use crate::protocol::{
    ApplyBulk, ChoosePerson, EntryRow, GoBack, GroupView, ImportOptions, ListGroups, PlanImport, PreviewBulk,
    ResolveView, SearchEntries, WorkflowId,
};
use crate::ui::state::use_app;
use crate::ui::workflow::use_workflow;

/// Detected persons shown per page of the list.
const GROUPS_PAGE: usize = 100;
/// Entries a search lists.
const SEARCH_LIMIT: usize = 20;
/// The "accept top candidates" threshold offered first.
const DEFAULT_MIN_SCORE: u32 = 90;

fn choice_value(c: Option<GroupChoice>) -> String {
    match c {
        None => String::new(),
        Some(GroupChoice::CreateNew) => "new".into(),
        Some(GroupChoice::Skip) => "skip".into(),
        Some(GroupChoice::Existing(e)) => format!("entry:{e}"),
    }
}

fn parse_choice(v: &str) -> Option<GroupChoice> {
    match v {
        "new" => Some(GroupChoice::CreateNew),
        "skip" => Some(GroupChoice::Skip),
        other => other.strip_prefix("entry:").and_then(|e| e.parse().ok()).map(GroupChoice::Existing),
    }
}

fn persons(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} persons")
    }
}

/// One page of detected persons of a section, refetched whenever the session moves.
fn group_list(
    workflow: WorkflowId,
    matched: bool,
    shown: RwSignal<usize>,
    enabled: Signal<bool>,
) -> LocalResource<Option<crate::protocol::GroupsPage>> {
    let app = use_app();
    let state = use_workflow(workflow);
    LocalResource::new(move || {
        let count = shown.get();
        let _ = state.version.get();
        let on = enabled.get();
        async move {
            if !on {
                return None;
            }
            app.call(ListGroups { workflow, start: 0, count, matched }).await.ok()
        }
    })
}

fn render_page(
    workflow: WorkflowId,
    page: crate::protocol::GroupsPage,
    shown: RwSignal<usize>,
) -> impl IntoView {
    let more = page.total > page.groups.len();
    let total = page.total;
    view! {
        {page.groups.into_iter().map(|g| view! { <GroupCard workflow group=g/> }).collect_view()}
        {more
            .then(|| {
                view! {
                    <button on:click=move |_| shown.update(|n| *n += GROUPS_PAGE)>
                        {format!("Show more ({total} detected persons)")}
                    </button>
                }
            })}
    }
}

#[component]
pub fn ResolveStep(workflow: WorkflowId, view: ResolveView) -> impl IntoView {
    let state = use_workflow(workflow);
    let busy = state.busy();
    // Kept in the workflow state: the step re-renders after each choice.
    let sections = state.open_sections;
    let kept = move |key: &'static str, default: usize| {
        sections.with_untracked(|m| m.get(key).copied()).unwrap_or(default)
    };
    let shown = RwSignal::new(kept("open-shown", GROUPS_PAGE));
    let matched_open = RwSignal::new(kept("matched-open", 0) > 0);
    let matched_shown = RwSignal::new(kept("matched-shown", GROUPS_PAGE));
    Effect::new(move |_| {
        let (a, b, c) = (shown.get(), matched_open.get(), matched_shown.get());
        sections.update(|m| {
            m.insert("open-shown", a);
            m.insert("matched-open", usize::from(b));
            m.insert("matched-shown", c);
        });
    });
    let open_groups = group_list(workflow, false, shown, Signal::derive(|| true));
    let matched_groups = group_list(workflow, true, matched_shown, matched_open.into());
    let tier_line = view.tiers.iter().map(|(t, n)| format!("{n} by tier {t}")).collect::<Vec<_>>().join(", ");
    let open = view.groups - view.conflicts;
    let conflicts = view.conflicts;
    let matched = view.matched;
    view! {
        <div class="panel">
            <h2>"Resolve detected persons"</h2>
            <p class="muted">
                {if tier_line.is_empty() { "No row was matched by a tier.".to_string() } else { format!("Rows matched: {tier_line}.") }}
            </p>
            <p>
                {format!(
                    "{} not matched{}. Each person has one dropdown: a ranked candidate (with why), any entry through \"Search the CRM…\", \"Create new CRM entry\", or \"Skip these rows\".",
                    persons(open),
                    if conflicts > 0 { format!(", and {conflicts} conflict(s) must be settled") } else { String::new() }
                )}
            </p>
            <BulkBar workflow/>
            <div class="groups" data-testid="open-groups">
                {move || open_groups.get().flatten().map(|page| render_page(workflow, page, shown))}
            </div>
            <details
                class="matched-section"
                data-testid="matched-section"
                prop:open=move || matched_open.get()
                on:toggle=move |ev| {
                    use wasm_bindgen::JsCast;
                    if let Some(d) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlDetailsElement>().ok()) {
                        matched_open.set(d.open());
                    }
                }
            >
                <summary>
                    {format!("{} matched by tiers 1–3 — open to check or change a match", persons(matched))}
                </summary>
                <div class="groups">
                    {move || matched_groups.get().flatten().map(|page| render_page(workflow, page, matched_shown))}
                </div>
            </details>
            <div class="actions">
                <button disabled=move || busy.get() on:click=move |_| state.go(GoBack { workflow })>"Back"</button>
                <button
                    class="primary"
                    data-testid="plan-button"
                    disabled=move || busy.get()
                    on:click=move |_| state.go(PlanImport { workflow, options: Some(ImportOptions::default()) })
                >
                    "Review the plan"
                </button>
            </div>
        </div>
    }
}

/// Bulk choices, each with what it would change (counted by the worker) on its button.
#[component]
fn BulkBar(workflow: WorkflowId) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(workflow);
    let busy = state.busy();
    let min_score = RwSignal::new(DEFAULT_MIN_SCORE);
    let preview = move |action: BulkAction| {
        LocalResource::new(move || {
            let _ = state.version.get();
            let action = match action {
                BulkAction::AcceptTopCandidates { .. } => {
                    BulkAction::AcceptTopCandidates { min_score: min_score.get() }
                }
                other => other,
            };
            async move { app.call(PreviewBulk { workflow, action }).await.ok().map(|p| (p.changes, p.rows)) }
        })
    };
    let accept = preview(BulkAction::AcceptTopCandidates { min_score: DEFAULT_MIN_SCORE });
    let create = preview(BulkAction::CreateNewForRemaining);
    let label = |r: Option<(usize, usize)>| match r {
        Some((changes, rows)) => format!(" — changes {} ({rows} rows)", persons(changes)),
        None => String::new(),
    };
    let none = |r: Option<(usize, usize)>| r.map(|(c, _)| c == 0).unwrap_or(true);
    view! {
        <div class="bulk-bar">
            <label>
                "Accept every top candidate scoring ≥ "
                <input
                    type="number"
                    min="0"
                    max="100"
                    data-testid="bulk-min-score"
                    prop:value=move || min_score.get().to_string()
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).trim().parse::<u32>() {
                            min_score.set(n.min(100));
                        }
                    }
                />
            </label>
            <button
                data-testid="bulk-accept"
                disabled=move || busy.get() || none(accept.get().flatten())
                on:click=move |_| {
                    state.go(ApplyBulk {
                        workflow,
                        action: BulkAction::AcceptTopCandidates { min_score: min_score.get_untracked() },
                    })
                }
            >
                {move || format!("Accept{}", label(accept.get().flatten()))}
            </button>
            <button
                data-testid="bulk-create"
                disabled=move || busy.get() || none(create.get().flatten())
                on:click=move |_| state.go(ApplyBulk { workflow, action: BulkAction::CreateNewForRemaining })
            >
                {move || format!("Create new for all remaining{}", label(create.get().flatten()))}
            </button>
            <p class="muted">"Bulk choices leave every person you already decided alone."</p>
        </div>
    }
}

#[component]
fn GroupCard(workflow: WorkflowId, group: GroupView) -> impl IntoView {
    let state = use_workflow(workflow);
    let index = group.index;
    let current = choice_value(group.choice);
    let searching = RwSignal::new(false);
    let sheet_rows: Vec<String> = group.sheet_rows.iter().map(|r| r.to_string()).collect();
    let is_default = group.choice.is_none();
    let default_value = if group.matched {
        group
            .candidates
            .first()
            .map(|c| choice_value(Some(GroupChoice::Existing(c.entry))))
            .unwrap_or_default()
    } else if group.conflict {
        String::new()
    } else if group.skip_by_default {
        "skip".into()
    } else {
        "new".into()
    };
    let selected_value = if is_default { default_value } else { current };
    let options = group
        .candidates
        .iter()
        .map(|c| {
            let value = choice_value(Some(GroupChoice::Existing(c.entry)));
            let selected = value == selected_value;
            view! { <option value=value selected=selected>{c.label.clone()}</option> }
        })
        .collect_view();
    let chosen = group.chosen_label.clone().map(|label| {
        let value = selected_value.clone();
        view! { <option value=value selected=true>{format!("{label} — found by search")}</option> }
    });
    let select_value = selected_value.clone();
    view! {
        <div class="group-card" class:conflict=group.conflict class:matched=group.matched data-testid="resolve-group">
            <div class="group-head">
                <span class="badge">{group.kind.clone()}</span>
                " "
                <strong data-testid="resolve-group-name">{group.name.clone()}</strong>
                {group.facts.iter().map(|f| view! { <span class="mono">{format!(" · {f}")}</span> }).collect_view()}
                <span class="muted">{format!(" · rows {}", sheet_rows.join(", "))}</span>
            </div>
            {group.reason.clone().map(|r| view! { <p class="error-text">{r}</p> })}
            {(!group.can_create)
                .then(|| view! { <p class="muted">"No row of this person gives both names, so a new entry cannot be created for it."</p> })}
            <select
                data-testid="resolve-select"
                aria-label=format!("Choice for {}", group.name)
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if v == "search" {
                        searching.set(true);
                    } else {
                        searching.set(false);
                        state.go(ChoosePerson { workflow, group: index, choice: parse_choice(&v) });
                    }
                }
            >
                {group.conflict.then(|| view! { <option value="" selected=select_value.is_empty()>"— choose the right entry —"</option> })}
                {options}
                {chosen}
                {group
                    .can_create
                    .then(|| view! { <option value="new" selected=select_value == "new">"Create new CRM entry"</option> })}
                <option value="search">"Search the CRM…"</option>
                <option value="skip" selected=select_value == "skip">"Skip these rows"</option>
            </select>
            <Show when=move || searching.get()>
                <EntrySearch on_pick=move |entry| {
                    searching.set(false);
                    state.go(ChoosePerson { workflow, group: index, choice: Some(GroupChoice::Existing(entry)) });
                } on_cancel=move || searching.set(false)/>
            </Show>
        </div>
    }
}

/// Type-ahead search over the CRM (name, Client Reference, last four of the SSN, date of
/// birth), SSNs masked; Enter picks the first hit, Escape closes.
#[component]
fn EntrySearch(
    on_pick: impl Fn(u32) + Copy + Send + Sync + 'static,
    on_cancel: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let app = use_app();
    let query = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let hits = LocalResource::new(move || {
        let q = query.get();
        async move {
            if q.trim().is_empty() {
                return (0, Vec::<EntryRow>::new());
            }
            match app.call(SearchEntries { query: q, limit: SEARCH_LIMIT }).await {
                Ok(page) => (page.total, page.rows),
                _ => (0, Vec::new()),
            }
        }
    });
    view! {
        <div class="entry-search">
            <input
                type="search"
                node_ref=input
                data-testid="resolve-search-input"
                placeholder="Name, Client Reference, last four of the SSN or date of birth"
                on:input=move |ev| query.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        on_cancel();
                    } else if ev.key() == "Enter" {
                        if let Some(first) = hits.get_untracked().and_then(|(_, rows)| rows.first().map(|r| r.id)) {
                            on_pick(first);
                        }
                    }
                }
            />
            <button on:click=move |_| on_cancel()>"Cancel"</button>
            <ul class="search-hits">
                {move || {
                    let (total, rows) = hits.get().unwrap_or_default();
                    let more = (total > rows.len()).then(|| {
                        view! { <li class="muted">{format!("{} more — type more to narrow", total - rows.len())}</li> }
                    });
                    let empty = (rows.is_empty() && !query.get().trim().is_empty())
                        .then(|| view! { <li class="muted">"No entry matches."</li> });
                    view! {
                        {rows
                            .into_iter()
                            .map(|r| {
                                let id = r.id;
                                let ident = if r.client_reference.is_empty() {
                                    if r.ssn_masked.is_empty() { format!("Entry {id}") } else { format!("SSN {}", r.ssn_masked) }
                                } else {
                                    r.client_reference.clone()
                                };
                                let born = if r.date_of_birth.is_empty() { String::new() } else { format!(" · born {}", r.date_of_birth) };
                                view! {
                                    <li>
                                        <button data-testid="resolve-search-hit" on:click=move |_| on_pick(id)>
                                            {format!("{ident} · {}{born}", r.name)}
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                        {more}
                        {empty}
                    }
                }}
            </ul>
        </div>
    }
}
