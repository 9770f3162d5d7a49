//! Step 4: one dropdown per person detected in the file — leave it on "Create new CRM entry",
//! pick a ranked candidate (with why it is suggested), or skip the rows; conflicts must be
//! settled.

use leptos::prelude::*;

use crate::protocol::{
    Choice, GroupView, Reply, Request, ResolveView, SessionAction, SessionOptions, Workflow,
};
use crate::ui::state::use_app;
use crate::ui::workflow::use_workflow;

/// Detected persons shown per page of the list.
const GROUPS_PAGE: usize = 100;

fn choice_value(c: Choice) -> String {
    match c {
        Choice::Default => String::new(),
        Choice::CreateNew => "new".into(),
        Choice::Skip => "skip".into(),
        Choice::Existing(e) => format!("entry:{e}"),
    }
}

fn parse_choice(v: &str) -> Choice {
    match v {
        "new" => Choice::CreateNew,
        "skip" => Choice::Skip,
        other => other
            .strip_prefix("entry:")
            .and_then(|e| e.parse().ok())
            .map(Choice::Existing)
            .unwrap_or(Choice::Default),
    }
}

#[component]
pub fn ResolveStep(view: ResolveView) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(Workflow::Insured);
    let busy = state.busy();
    let shown = RwSignal::new(GROUPS_PAGE);
    let groups = LocalResource::new(move || {
        let count = shown.get();
        let _ = state.version.get();
        async move {
            let action = SessionAction::Groups { start: 0, count };
            match app.call(Request::Session { workflow: Workflow::Insured, action }).await {
                Ok(Reply::Groups(page)) => Some(page),
                _ => None,
            }
        }
    });
    let tier_line = view.tiers.iter().map(|(t, n)| format!("{n} by tier {t}")).collect::<Vec<_>>().join(", ");
    let open = view.groups - view.conflicts;
    let conflicts = view.conflicts;
    view! {
        <div class="panel">
            <h2>"Resolve detected persons"</h2>
            <p class="muted">{format!("Rows matched so far: {tier_line}.")}</p>
            <p>
                {format!(
                    "{open} detected persons were not matched{}. Each has one dropdown: leave it on \"Create new CRM entry\" or pick the existing entry. Suggestions are ranked, with the reason.",
                    if conflicts > 0 { format!(", and {conflicts} conflict(s) must be settled") } else { String::new() }
                )}
            </p>
            <div class="groups">
                {move || {
                    groups
                        .get()
                        .flatten()
                        .map(|page| {
                            let more = page.total > page.groups.len();
                            let total = page.total;
                            view! {
                                {page.groups.into_iter().map(|g| view! { <GroupCard group=g/> }).collect_view()}
                                {more
                                    .then(|| {
                                        view! {
                                            <button on:click=move |_| shown.update(|n| *n += GROUPS_PAGE)>
                                                {format!("Show more ({total} detected persons)")}
                                            </button>
                                        }
                                    })}
                            }
                        })
                }}
            </div>
            <div class="actions">
                <button disabled=move || busy.get() on:click=move |_| state.go(SessionAction::Back)>"Back"</button>
                <button
                    class="primary"
                    data-testid="plan-button"
                    disabled=move || busy.get()
                    on:click=move |_| state.go(SessionAction::Plan { options: SessionOptions::default() })
                >
                    "Review the plan"
                </button>
            </div>
        </div>
    }
}

#[component]
fn GroupCard(group: GroupView) -> impl IntoView {
    let state = use_workflow(Workflow::Insured);
    let index = group.index;
    let current = choice_value(group.choice);
    let sheet_rows: Vec<String> = group.sheet_rows.iter().map(|r| r.to_string()).collect();
    let options = group
        .candidates
        .iter()
        .map(|c| {
            let value = choice_value(Choice::Existing(c.entry));
            let selected = value == current;
            view! { <option value=value selected=selected>{c.label.clone()}</option> }
        })
        .collect_view();
    let is_default = group.choice == Choice::Default;
    view! {
        <div class="group-card" class:conflict=group.conflict data-testid="resolve-group">
            <div class="group-head">
                <span class="badge">{group.kind.clone()}</span>
                <strong data-testid="resolve-group-name">{group.name.clone()}</strong>
                {group.facts.iter().map(|f| view! { <span class="mono">{format!(" · {f}")}</span> }).collect_view()}
                <span class="muted">{format!(" · rows {}", sheet_rows.join(", "))}</span>
            </div>
            {group.reason.clone().map(|r| view! { <p class="error-text">{r}</p> })}
            <select
                data-testid="resolve-select"
                on:change=move |ev| state.go(SessionAction::Choose { group: index, choice: parse_choice(&event_target_value(&ev)) })
            >
                {group.conflict.then(|| view! { <option value="" selected=is_default>"— choose the right entry —"</option> })}
                {group
                    .can_create
                    .then(|| {
                        let selected = current == "new" || (is_default && !group.conflict);
                        view! { <option value="new" selected=selected>"Create new CRM entry"</option> }
                    })}
                {options}
                <option value="skip" selected=current == "skip">"Skip these rows"</option>
            </select>
        </div>
    }
}
