//! Import: the pipeline as steps an operator walks through — choose a template and stage a
//! file (picker or drag-and-drop; the staged file survives a reload), confirm the header
//! mapping, review validation (Errors column, counts, error report), resolve detected persons
//! with one dropdown each, read the plan (dry run), apply it atomically, and verify. The worker
//! does the work; each step is one file here and renders the stage the worker reports.

mod headers;
mod plan;
mod resolve;
mod review;
mod upload;
pub mod verify;

use leptos::prelude::*;

use crate::core::insured::workflow::ID as INSURED;
use crate::core::model::Role;
use crate::protocol::SessionView;
use crate::ui::state::use_app;
use crate::ui::workflow::use_workflow;

pub use plan::PlanStep;
pub use review::ReviewStep;
pub use verify::VerifyStep;

const STEPS: [&str; 6] = ["1 Stage file", "2 Headers", "3 Review", "4 Resolve", "5 Plan", "6 Verify"];

#[component]
pub fn ImportPage() -> impl IntoView {
    let app = use_app();
    let state = use_workflow(INSURED);
    state.load();
    let may_import = move || app.current_operator().map(|o| o.roles.contains(&Role::Import)).unwrap_or(false);
    let step = move || state.view.with(|v| v.as_ref().map(SessionView::step).unwrap_or(0));
    view! {
        <section class="import">
            <ol class="steps">
                {STEPS
                    .into_iter()
                    .enumerate()
                    .map(|(i, label)| {
                        view! { <li class:current=move || step() == i class:done=move || i < step()>{label}</li> }
                    })
                    .collect_view()}
            </ol>
            <Show
                when=may_import
                fallback=|| {
                    view! {
                        <div class="panel warning" data-testid="import-locked">
                            "The current operator's role does not include Import. Choose an operator with Import at the top right."
                        </div>
                    }
                }
            >
                {move || match state.view.get() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(SessionView::Upload { template, templates, staged }) => {
                        view! { <upload::UploadStep workflow=INSURED template templates staged/> }.into_any()
                    }
                    Some(SessionView::Headers(h)) => view! { <headers::HeadersStep workflow=INSURED view=h/> }.into_any(),
                    Some(SessionView::Review(r)) => view! { <ReviewStep workflow=INSURED view=r/> }.into_any(),
                    Some(SessionView::Resolve(r)) => view! { <resolve::ResolveStep workflow=INSURED view=r/> }.into_any(),
                    Some(SessionView::Plan(p)) => view! { <PlanStep workflow=INSURED view=p/> }.into_any(),
                    Some(SessionView::Done(d)) => view! { <VerifyStep workflow=INSURED view=d/> }.into_any(),
                }}
            </Show>
        </section>
    }
}
