//! A workflow's page state: the stage the worker says its session is at ([`SessionView`], one
//! enum, so impossible combinations cannot be shown) and the one [`Action`] that moves it —
//! whose `pending()` disables the buttons while it runs. Every workflow's state is made under
//! the app root's owner the first time a page asks for it, so leaving a page and coming back
//! loses nothing.

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::protocol::{ImportOptions, Reply, Request, SessionAction, SessionView, WorkflowId};
use crate::service::failure::{Failure, FileProblem};
use crate::ui::browser::{confirm, load_setting, read_file_buffer, save_setting};
use crate::ui::state::{use_app, AppState};

/// One step asked of the worker: the action, and bytes for a staged file.
#[derive(Clone)]
pub struct Step {
    pub action: SessionAction,
    pub file: Option<web_sys::File>,
}

/// A workflow's page state.
#[derive(Clone, Copy)]
pub struct WorkflowState {
    /// The session's stage; `None` until the worker has been asked.
    pub view: RwSignal<Option<SessionView>>,
    /// Moves the session; `pending()` is true while the worker works.
    pub step: Action<Step, ()>,
    /// Bumped whenever the view changes, so paged tables fetch again.
    pub version: RwSignal<u64>,
    /// Which collapsible sections of the step the operator opened, and how many rows of each
    /// list are shown: kept while the step re-renders after each choice.
    pub open_sections: RwSignal<BTreeMap<&'static str, usize>>,
}

/// The workflows' page states, by workflow, and the app root's owner they are made under.
#[derive(Clone, Copy)]
pub struct WorkflowStates {
    owner: StoredValue<Owner>,
    states: StoredValue<BTreeMap<WorkflowId, WorkflowState>>,
}

impl WorkflowStates {
    /// Made at the app root, after the [`AppState`].
    pub fn new() -> WorkflowStates {
        let owner = Owner::current().unwrap_or_default();
        WorkflowStates { owner: StoredValue::new(owner), states: StoredValue::new(BTreeMap::new()) }
    }
}

impl Default for WorkflowStates {
    fn default() -> Self {
        Self::new()
    }
}

/// The page state of a workflow, made on first use.
pub fn use_workflow(workflow: WorkflowId) -> WorkflowState {
    let states = expect_context::<WorkflowStates>();
    if let Some(state) = states.states.with_value(|m| m.get(&workflow).copied()) {
        return state;
    }
    let app = use_app();
    let state = states.owner.with_value(|owner| owner.with(|| WorkflowState::new(app, workflow)));
    states.states.update_value(|m| {
        m.insert(workflow, state);
    });
    state
}

/// Where confirmed header pairs are remembered (header names only, never cell values).
fn mapping_key(template_id: &str) -> String {
    format!("roundtrip.header-mapping.{template_id}")
}

/// The header pairs confirmed before for a template.
pub fn remembered(template_id: &str) -> BTreeMap<String, String> {
    load_setting(&mapping_key(template_id)).unwrap_or_default()
}

fn remember(template_id: &str, pairs: Vec<(String, String)>) {
    if pairs.is_empty() {
        return;
    }
    let mut memory = remembered(template_id);
    memory.extend(pairs);
    save_setting(&mapping_key(template_id), &memory);
}

impl WorkflowState {
    fn new(app: AppState, workflow: WorkflowId) -> WorkflowState {
        let view = RwSignal::new(None);
        let version = RwSignal::new(0);
        let step = Action::new_local(move |step: &Step| {
            let step = step.clone();
            async move { run(app, workflow, view, version, step).await }
        });
        // The CRM moved (another tab, a snapshot): an open plan is asked for again, so its
        // staleness (and the Re-plan button) shows at once.
        let seen = StoredValue::new(app.summary.with_untracked(|s| s.sequence));
        Effect::new(move |_| {
            let sequence = app.summary.with(|s| s.sequence);
            if sequence == seen.get_value() {
                return;
            }
            seen.set_value(sequence);
            let planned = view.with_untracked(|v| matches!(v, Some(SessionView::Plan(_))));
            if planned && !step.pending().get_untracked() {
                step.dispatch(Step { action: SessionAction::View, file: None });
            }
        });
        WorkflowState { view, step, version, open_sections: RwSignal::new(Default::default()) }
    }

    /// Asks the worker for the session as it stands (once per page load).
    pub fn load(&self) {
        if self.view.get_untracked().is_none() && !self.step.pending().get_untracked() {
            self.step.dispatch(Step { action: SessionAction::View, file: None });
        }
    }

    /// Moves the session.
    pub fn go(&self, action: SessionAction) {
        self.step.dispatch(Step { action, file: None });
    }

    /// Stages a picked file.
    pub fn stage(&self, file: web_sys::File, options: ImportOptions) {
        let action = SessionAction::Stage { file_name: file.name(), options, remembered: None };
        self.open_sections.set(Default::default());
        self.step.dispatch(Step { action, file: Some(file) });
    }

    /// True while the worker works on this workflow.
    pub fn busy(&self) -> Signal<bool> {
        self.step.pending().into()
    }
}

async fn run(
    app: AppState,
    workflow: WorkflowId,
    view: RwSignal<Option<SessionView>>,
    version: RwSignal<u64>,
    step: Step,
) {
    let template_id = view.with_untracked(|v| match v {
        Some(SessionView::Upload { template, .. }) => Some(template.id.clone()),
        _ => None,
    });
    let mut action = step.action;
    // The header pairs confirmed before travel with a staged or resumed file.
    if let (
        SessionAction::Stage { remembered: memory, .. } | SessionAction::Resume { remembered: memory, .. },
        Some(t),
    ) = (&mut action, template_id.as_deref())
    {
        *memory = Some(remembered(t));
    }
    let bytes = match step.file {
        Some(file) => match read_file_buffer(&file).await {
            Ok(b) => Some(b),
            Err(e) => {
                app.error(Failure::NotStaged(FileProblem::Browser(e)).to_string());
                return;
            }
        },
        None => None,
    };
    let staging = matches!(action, SessionAction::Stage { .. });
    let discarding = matches!(action, SessionAction::Discard);
    let answer = app.call_with(Request::Session { workflow, action: action.clone() }, bytes).await;
    match answer {
        Ok((Reply::Session(next), _)) => {
            if staging {
                app.info(staged_text(&next));
            }
            if discarding {
                app.info("The staged file was discarded. Nothing was applied.");
            }
            view.set(Some(next));
            version.update(|n| *n += 1);
        }
        Ok((Reply::Confirmed { view: next, remember: pairs }, _)) => {
            if let Some(t) = template_id.or_else(|| template_of(&next)) {
                remember(&t, pairs);
            }
            view.set(Some(next));
            version.update(|n| *n += 1);
        }
        Ok((Reply::AskFirst(question), _)) => {
            if confirm(&question.to_string()) {
                if let SessionAction::Apply { operator_login, valid_rows_only, .. } = action.clone() {
                    let again = Request::Session {
                        workflow,
                        action: SessionAction::Apply { operator_login, again: true, valid_rows_only },
                    };
                    match app.call(again).await {
                        Ok(Reply::Session(next)) => {
                            view.set(Some(next));
                            version.update(|n| *n += 1);
                        }
                        Ok(other) => app.error(format!("Unexpected answer from the worker: {other:?}")),
                        Err(e) => app.error(e),
                    }
                }
            }
        }
        Ok((other, _)) => app.error(format!("Unexpected answer from the worker: {other:?}")),
        Err(e) => {
            app.error(e);
            // The session may have moved (e.g. a stale plan was dropped): show where it is.
            if let Ok(Reply::Session(next)) =
                app.call(Request::Session { workflow, action: SessionAction::View }).await
            {
                view.set(Some(next));
                version.update(|n| *n += 1);
            }
        }
    }
    if let Some(SessionView::Done(done)) = view.get_untracked() {
        if matches!(step_kind(&action), StepKind::Apply) {
            app.success(done.message.clone());
            // A synced file of a portfolio the import touched is rewritten now.
            let portfolios: Vec<u32> = done.portfolios.iter().map(|(id, _)| *id).collect();
            crate::ui::sync::after_change(app, &portfolios).await;
        }
    }
}

enum StepKind {
    Apply,
    Other,
}

fn step_kind(action: &SessionAction) -> StepKind {
    match action {
        SessionAction::Apply { .. } => StepKind::Apply,
        _ => StepKind::Other,
    }
}

fn template_of(view: &SessionView) -> Option<String> {
    match view {
        SessionView::Upload { template, .. } => Some(template.id.clone()),
        SessionView::Headers(h) => Some(h.file.template.id.clone()),
        SessionView::Review(r) => Some(r.file.template.id.clone()),
        SessionView::Resolve(r) => Some(r.file.template.id.clone()),
        SessionView::Plan(p) => Some(p.file.template.id.clone()),
        SessionView::Done(d) => Some(d.file.template.id.clone()),
    }
}

/// What the operator is told once a file is staged.
fn staged_text(view: &SessionView) -> String {
    let file = match view {
        SessionView::Headers(h) => &h.file,
        SessionView::Review(r) => &r.file,
        SessionView::Resolve(r) => &r.file,
        SessionView::Plan(p) => &p.file,
        SessionView::Done(d) => &d.file,
        SessionView::Upload { .. } => return "The file is staged. Nothing has been applied.".into(),
    };
    let name = file.template.name.to_lowercase();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    let invalid = match view {
        SessionView::Review(r) if r.rows - r.importable > 0 => {
            format!(" {} row(s) have errors and will be listed as invalid.", r.rows - r.importable)
        }
        SessionView::Plan(p) if p.counts.errors > 0 => {
            format!(" {} row(s) have errors and will be listed as invalid.", p.counts.errors)
        }
        _ => String::new(),
    };
    format!(
        "{} is staged as {article} {name} file: {} rows.{invalid} Nothing has been applied.",
        file.file_name, file.rows
    )
}
