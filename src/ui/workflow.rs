//! A workflow's page state: the stage the worker says its session is at ([`SessionView`], one
//! enum, so impossible combinations cannot be shown), and the steps that move it — any
//! session operation of the protocol, sent with [`WorkflowState::go`]; the buttons are
//! disabled while one runs. Every workflow's state is made under the app root's owner the
//! first time a page asks for it, so leaving a page and coming back loses nothing.

use std::collections::BTreeMap;
use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::protocol::messages::NotStaged;
use crate::protocol::{
    ApplyImport, ApplyOutcome, Confirmed, DiscardFile, ImportOptions, Operation, ResumeFile, SessionView,
    ShowSession, StageFile, WorkflowId,
};
use crate::ui::browser::{confirm, load_setting, read_file_buffer, save_setting};
use crate::ui::state::{use_app, AppState};

/// A workflow's page state.
#[derive(Clone, Copy)]
pub struct WorkflowState {
    pub workflow: WorkflowId,
    /// The session's stage; `None` until the worker has been asked.
    pub view: RwSignal<Option<SessionView>>,
    /// How many steps are running now.
    running: RwSignal<usize>,
    /// Bumped whenever the view changes, so paged tables fetch again.
    pub version: RwSignal<u64>,
    /// Which collapsible sections of the step the operator opened, and how many rows of each
    /// list are shown: kept while the step re-renders after each choice.
    pub open_sections: RwSignal<BTreeMap<&'static str, usize>>,
    app: AppState,
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
    memory.retain(|file_header, _| crate::core::headers::memory_keeps(file_header));
    save_setting(&mapping_key(template_id), &memory);
}

/// What a step's reply does to the page: the session's next view.
pub trait StepReply: 'static {
    fn next_view(self) -> SessionView;
}

impl StepReply for SessionView {
    fn next_view(self) -> SessionView {
        self
    }
}

impl StepReply for Confirmed {
    /// The session moved on; the confirmed header pairs are remembered for the next file.
    fn next_view(self) -> SessionView {
        if let Some(t) = template_of(&self.view) {
            remember(&t, self.remember);
        }
        self.view
    }
}

impl WorkflowState {
    fn new(app: AppState, workflow: WorkflowId) -> WorkflowState {
        let state = WorkflowState {
            workflow,
            view: RwSignal::new(None),
            running: RwSignal::new(0),
            version: RwSignal::new(0),
            open_sections: RwSignal::new(Default::default()),
            app,
        };
        // The copy was locked: nothing of the session is kept on the page (the worker dropped
        // the session too); once unlocked, the page asks again.
        Effect::new(move |_| {
            if app.vault.get() == crate::store::EncryptionState::Locked {
                state.view.set(None);
                state.open_sections.set(Default::default());
                state.version.update(|v| *v += 1);
            }
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
            let planned = state.view.with_untracked(|v| matches!(v, Some(SessionView::Plan(_))));
            if planned && state.running.get_untracked() == 0 {
                state.go(ShowSession { workflow });
            }
        });
        state
    }

    /// Asks the worker for the session as it stands (once per page load).
    pub fn load(&self) {
        if self.view.get_untracked().is_none() && self.running.get_untracked() == 0 {
            self.go(ShowSession { workflow: self.workflow });
        }
    }

    /// True while the worker works on this workflow.
    pub fn busy(&self) -> Signal<bool> {
        let running = self.running;
        Signal::derive(move || running.get() > 0)
    }

    /// Moves the session with one operation; its reply is the next view.
    pub fn go<O>(&self, op: O)
    where
        O: Operation,
        O::Reply: StepReply,
    {
        let app = self.app;
        self.step(async move { app.call(op).await.map(|reply| Some(reply.next_view())) });
    }

    /// Runs a step: shows the view it ends at, or its failure and where the session stands.
    fn step(&self, work: impl Future<Output = Result<Option<SessionView>, String>> + 'static) {
        let state = *self;
        state.running.update(|n| *n += 1);
        spawn_local(async move {
            match work.await {
                Ok(Some(next)) => state.show(next),
                Ok(None) => {}
                Err(e) => {
                    state.app.error(e);
                    // The session may have moved (e.g. a stale plan was dropped): show where it is.
                    if let Ok(next) = state.app.call(ShowSession { workflow: state.workflow }).await {
                        state.show(next);
                    }
                }
            }
            state.running.update(|n| *n -= 1);
        });
    }

    fn show(&self, next: SessionView) {
        self.view.set(Some(next));
        self.version.update(|n| *n += 1);
    }

    /// The template the upload step shows: staged and resumed files carry the header pairs
    /// the operator confirmed for it before.
    fn remembered_pairs(&self) -> BTreeMap<String, String> {
        let template = self.view.with_untracked(|v| match v {
            Some(SessionView::Upload { template, .. }) => Some(template.id.clone()),
            _ => None,
        });
        template.map(|t| remembered(&t)).unwrap_or_default()
    }

    /// Stages a picked file.
    pub fn stage(&self, file: web_sys::File, options: ImportOptions) {
        self.open_sections.set(Default::default());
        let op = StageFile {
            workflow: self.workflow,
            file_name: file.name(),
            options,
            remembered: self.remembered_pairs(),
        };
        let app = self.app;
        self.step(async move {
            let bytes = read_file_buffer(&file).await.map_err(|e| NotStaged(e).to_string())?;
            let (next, _) = app.call_with(op, Some(bytes)).await?;
            app.info(staged_text(&next));
            Ok(Some(next))
        });
    }

    /// Opens the staged file again.
    pub fn resume(&self, options: ImportOptions) {
        self.go(ResumeFile { workflow: self.workflow, options, remembered: self.remembered_pairs() });
    }

    /// Discards the staged file.
    pub fn discard(&self) {
        let (app, workflow) = (self.app, self.workflow);
        self.step(async move {
            let next = app.call(DiscardFile { workflow }).await?;
            app.info("The staged file was discarded. Nothing was applied.");
            Ok(Some(next))
        });
    }

    /// Applies the plan; a file applied before is applied again only once the operator
    /// confirms. A synced file of a portfolio the import touched is rewritten after it.
    pub fn apply(&self, operator_login: String, valid_rows_only: bool) {
        let (app, workflow) = (self.app, self.workflow);
        self.step(async move {
            let op = ApplyImport { workflow, operator_login, again: false, valid_rows_only };
            let next = match app.call(op.clone()).await? {
                ApplyOutcome::Applied(next) => next,
                ApplyOutcome::AskFirst(question) if confirm(&question.to_string()) => {
                    match app.call(ApplyImport { again: true, ..op }).await? {
                        ApplyOutcome::Applied(next) => next,
                        ApplyOutcome::AskFirst(_) => return Ok(None),
                    }
                }
                ApplyOutcome::AskFirst(_) => return Ok(None),
            };
            if let SessionView::Done(done) = &next {
                app.success(done.message.clone());
                let portfolios: Vec<u32> = done.portfolios.iter().map(|(id, _)| *id).collect();
                crate::ui::sync::after_change(app, &portfolios).await;
            }
            Ok(Some(next))
        });
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
