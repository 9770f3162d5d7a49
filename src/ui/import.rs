//! Import: the pipeline as steps an operator walks through — choose a template and stage a
//! file (picker or drag-and-drop; the staged file survives a reload), confirm the header
//! mapping, review validation (Errors column, counts, error report), resolve detected persons
//! with one dropdown each, read the plan (dry run), apply it atomically, and verify. Long
//! stages run in chunks and yield to the browser so the page keeps answering. The steps'
//! state lives in [`ImportState`], provided at the app root, so leaving the page and coming
//! back loses nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::headers::{recognise, HeaderMapping, HeaderSource};
use crate::core::index::CrmIndex;
use crate::core::insured::matching::{GroupChoice, GroupKind, Matcher, Matches};
use crate::core::insured::{template_by_id, templates, INSURED_CONTACT_DETAILS};
use crate::core::model::{Crm, ImportCounts, Role};
use crate::core::plan::history::{apply, last_import_of_file, last_undoable, ApplyContext};
use crate::core::plan::verify::{verification_sample, VerificationSample};
use crate::core::plan::{ImportPlan, RowAction};
use crate::core::read::read_sheet;
use crate::core::report::{sha256_hex, write_error_report, write_plan_report};
use crate::core::sheet::Sheet;
use crate::core::template::{write_template_workbook, Field, Template};
use crate::core::text::mask_ssn;
use crate::core::validate::{Severity, Validated, ValidationOptions, Validator};
use crate::store::{CrmStore, StagedFile};
use crate::ui::browser::{
    can_sync_to_file, confirm, file_stem, first_file_of_drop, first_file_of_input, has_sync_target,
    load_setting, local_time_text, monotonic_ms, now_ms, pick_sync_target, save_setting, write_sync_target,
    yield_to_browser,
};
use crate::ui::export_page::download_portfolio_export;
use crate::ui::history::undo_last_import;
use crate::ui::state::{store, use_app, AppState};
use crate::ui::table::VirtualTable;

/// Rows handled between two yields to the browser.
const CHUNK: usize = 2_000;
/// Detected persons ranked between two yields.
const RANK_CHUNK: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Upload,
    Headers,
    Review,
    Resolve,
    Plan,
    Done,
}

impl Step {
    const ORDER: [Step; 6] =
        [Step::Upload, Step::Headers, Step::Review, Step::Resolve, Step::Plan, Step::Done];
    fn label(self) -> &'static str {
        match self {
            Step::Upload => "1 Stage file",
            Step::Headers => "2 Headers",
            Step::Review => "3 Review",
            Step::Resolve => "4 Resolve",
            Step::Plan => "5 Plan",
            Step::Done => "6 Verify",
        }
    }
}

/// The file being imported, read and mapped.
#[derive(Debug, Clone)]
pub struct Session {
    pub template: &'static Template,
    pub file_name: String,
    pub sha256: String,
    pub sheet: Sheet,
    pub mapping: HeaderMapping,
}

/// What the Verify step shows.
#[derive(Debug, Clone)]
pub struct ApplyResult {
    pub import_id: u32,
    pub counts: ImportCounts,
    pub sample: Vec<VerificationSample>,
    pub portfolios: Vec<(u32, String)>,
    pub seconds: f64,
}

/// What the page shows of a staged file (its bytes stay in the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedCard {
    pub file_name: String,
    pub size: u64,
    pub row_count: usize,
    pub staged_at_ms: i64,
    pub sha256: String,
}

/// Import state kept across page switches.
#[derive(Clone, Copy)]
pub struct ImportState {
    pub template_id: RwSignal<String>,
    pub staged: RwSignal<Option<StagedCard>>,
    pub step: RwSignal<Step>,
    pub session: RwSignal<Option<Arc<Session>>>,
    pub validated: RwSignal<Option<Arc<Validated>>>,
    pub matches: RwSignal<Option<Arc<Matches>>>,
    pub choices: RwSignal<Vec<Option<GroupChoice>>>,
    pub plan: RwSignal<Option<Arc<ImportPlan>>>,
    pub result: RwSignal<Option<Arc<ApplyResult>>>,
    pub checked_staged: RwSignal<bool>,
}

impl ImportState {
    pub fn new() -> Self {
        ImportState {
            template_id: RwSignal::new(INSURED_CONTACT_DETAILS.id.to_string()),
            staged: RwSignal::new(None),
            step: RwSignal::new(Step::Upload),
            session: RwSignal::new(None),
            validated: RwSignal::new(None),
            matches: RwSignal::new(None),
            choices: RwSignal::new(Vec::new()),
            plan: RwSignal::new(None),
            result: RwSignal::new(None),
            checked_staged: RwSignal::new(false),
        }
    }

    fn reset_after_upload(&self) {
        self.validated.set(None);
        self.matches.set(None);
        self.choices.set(Vec::new());
        self.plan.set(None);
        self.result.set(None);
    }

    fn template(&self) -> &'static Template {
        template_by_id(&self.template_id.get_untracked()).unwrap_or(&INSURED_CONTACT_DETAILS)
    }
}

impl Default for ImportState {
    fn default() -> Self {
        Self::new()
    }
}

fn mapping_key(template: &Template) -> String {
    format!("roundtrip.header-mapping.{}", template.id)
}

fn remembered_mapping(template: &Template) -> BTreeMap<String, String> {
    load_setting(&mapping_key(template)).unwrap_or_default()
}

/// Refreshes the "file staged" card from the store.
async fn refresh_staged(app: AppState, state: ImportState) {
    let Ok(store) = store() else { return };
    let template = state.template();
    match store.get_staged(template.id).await {
        Ok(Some(f)) => state.staged.set(Some(StagedCard {
            file_name: f.file_name,
            size: f.size,
            row_count: f.row_count,
            staged_at_ms: f.staged_at_ms,
            sha256: f.sha256,
        })),
        Ok(None) => state.staged.set(None),
        Err(e) => {
            state.staged.set(None);
            app.error(format!("The staged file could not be read: {e}"));
        }
    }
    state.checked_staged.set(true);
}

/// Reads staged bytes into a session and moves on (to Headers or straight to Review).
async fn open_session(app: AppState, state: ImportState, file_name: String, bytes: Vec<u8>, sha256: String) {
    let template = state.template();
    app.set_progress(&format!("Reading {file_name}"), 0, 1);
    yield_to_browser().await;
    let sheet = match read_sheet(&file_name, &bytes) {
        Ok(s) => s,
        Err(e) => {
            app.clear_progress();
            app.error(e.to_string());
            return;
        }
    };
    app.clear_progress();
    let recognised = recognise(&templates(), Some(template), &sheet.header, &remembered_mapping(template));
    let mapping = match recognised {
        Ok(r) => r.mapping,
        Err(problem) => {
            app.error(problem.to_string());
            return;
        }
    };
    for w in &sheet.warnings {
        app.info(w.message.clone());
    }
    let ready = mapping.is_usable() && !mapping.needs_confirmation();
    state.reset_after_upload();
    state.session.set(Some(Arc::new(Session { template, file_name, sha256, sheet, mapping })));
    if ready {
        run_validation(app, state).await;
    } else {
        state.step.set(Step::Headers);
    }
}

/// Stages a newly picked file: format check, one staged file per template, then reading.
async fn stage_file(app: AppState, state: ImportState, file: web_sys::File) {
    let Some((file_name, bytes, sheet)) = app.read_upload(&file).await else { return };
    let template = state.template();
    if let Some(StagedCard { file_name: old, .. }) = state.staged.get_untracked() {
        if !confirm(&format!(
            "A file is already staged for {}: {old}. Replace it with {file_name}?",
            template.name
        )) {
            return;
        }
    }
    let sha256 = sha256_hex(&bytes);
    let staged = StagedFile {
        template_id: template.id.to_string(),
        file_name: file_name.clone(),
        size: bytes.len() as u64,
        sha256: sha256.clone(),
        staged_at_ms: now_ms(),
        row_count: sheet.rows.len(),
        bytes: bytes.clone(),
    };
    let Ok(store) = store() else {
        app.error("The local database is not open.");
        return;
    };
    if let Err(e) = store.put_staged(&staged).await {
        app.error(format!("{e} The file was not staged."));
        return;
    }
    refresh_staged(app, state).await;
    app.success(format!("{file_name} is staged: {} rows. Nothing has been applied.", sheet.rows.len()));
    open_session(app, state, file_name, bytes, sha256).await;
}

/// Continues with the file already staged for the template.
async fn resume_staged(app: AppState, state: ImportState) {
    let Ok(store) = store() else { return };
    match store.get_staged(state.template().id).await {
        Ok(Some(f)) => open_session(app, state, f.file_name, f.bytes, f.sha256).await,
        Ok(None) => app.error("No file is staged any more."),
        Err(e) => app.error(e.to_string()),
    }
}

async fn discard_staged(app: AppState, state: ImportState) {
    let Ok(store) = store() else { return };
    match store.delete_staged(state.template().id).await {
        Ok(()) => {
            state.session.set(None);
            state.reset_after_upload();
            state.step.set(Step::Upload);
            refresh_staged(app, state).await;
            app.info("The staged file was discarded. Nothing was applied.");
        }
        Err(e) => app.error(e.to_string()),
    }
}

/// Validates every row in chunks, with progress.
async fn run_validation(app: AppState, state: ImportState) {
    let Some(session) = state.session.get_untracked() else { return };
    let crm: Arc<Crm> = app.crm.get_untracked();
    let index = CrmIndex::new(&crm);
    let validator = Validator::new(session.template, &session.mapping, &index, ValidationOptions::default());
    let total = session.sheet.rows.len();
    let mut rows = Vec::with_capacity(total);
    let mut issues = Vec::new();
    for (n, chunk) in session.sheet.rows.chunks(CHUNK).enumerate() {
        app.set_progress("Validating rows", n * CHUNK, total);
        yield_to_browser().await;
        for r in chunk {
            let (v, mut i) = validator.row(r);
            rows.push(v);
            issues.append(&mut i);
        }
    }
    validator.finish(&mut rows, &mut issues);
    app.clear_progress();
    state.validated.set(Some(Arc::new(validator.validated(rows, issues))));
    state.matches.set(None);
    state.plan.set(None);
    state.step.set(Step::Review);
}

/// Runs the match cascade in chunks, then groups unresolved rows.
async fn run_matching(app: AppState, state: ImportState) {
    let (Some(session), Some(validated)) = (state.session.get_untracked(), state.validated.get_untracked())
    else {
        return;
    };
    let crm: Arc<Crm> = app.crm.get_untracked();
    let index = CrmIndex::new(&crm);
    app.set_progress("Preparing the matcher", 0, 1);
    yield_to_browser().await;
    let matcher = Matcher::new(session.template, &index);
    let total = validated.rows.len();
    let mut outcomes = Vec::with_capacity(total);
    let mut notes = Vec::new();
    for (n, chunk) in validated.rows.chunks(CHUNK).enumerate() {
        app.set_progress("Matching rows", n * CHUNK, total);
        yield_to_browser().await;
        for r in chunk {
            let (o, note) = matcher.row(r);
            outcomes.push(o);
            notes.extend(note);
        }
    }
    app.set_progress("Grouping unmatched rows into detected persons", total, total);
    yield_to_browser().await;
    let mut matches = matcher.group(&validated.rows, outcomes, notes);
    let groups = matches.groups.len();
    for start in (0..groups).step_by(RANK_CHUNK) {
        app.set_progress("Ranking candidates for each detected person", start, groups);
        yield_to_browser().await;
        for g in start..(start + RANK_CHUNK).min(groups) {
            matches.groups[g].candidates = matcher.candidates_for(&matches.groups[g], &validated.rows);
        }
    }
    app.clear_progress();
    state.choices.set(vec![None; matches.groups.len()]);
    let has_groups = matches.open_groups().next().is_some();
    state.matches.set(Some(Arc::new(matches)));
    if has_groups {
        state.step.set(Step::Resolve);
    } else {
        compute_plan(app, state).await;
    }
}

async fn compute_plan(app: AppState, state: ImportState) {
    let (Some(session), Some(validated), Some(matches)) =
        (state.session.get_untracked(), state.validated.get_untracked(), state.matches.get_untracked())
    else {
        return;
    };
    app.set_progress("Planning the changes (nothing is written)", 0, 1);
    yield_to_browser().await;
    let choices = state.choices.get_untracked();
    let plan = app.crm.with_untracked(|crm| {
        crate::core::insured::plan::plan(crm, session.template, &validated, &matches, &choices)
    });
    app.clear_progress();
    state.plan.set(Some(Arc::new(plan)));
    state.step.set(Step::Plan);
}

async fn apply_plan(app: AppState, state: ImportState) {
    let (Some(session), Some(validated), Some(plan)) =
        (state.session.get_untracked(), state.validated.get_untracked(), state.plan.get_untracked())
    else {
        return;
    };
    let operator = app.operator.get_untracked();
    let already = app
        .crm
        .with_untracked(|crm| last_import_of_file(crm, &session.sha256).map(|r| (r.id, r.applied_at_ms)));
    if let Some((id, at)) = already {
        if !confirm(&format!(
            "This exact file (same SHA-256) was already applied as import #{id} on {}. Apply it again?",
            local_time_text(at)
        )) {
            return;
        }
    }
    let started = monotonic_ms();
    let ctx = ApplyContext {
        template_id: session.template.id.to_string(),
        operator_login: operator,
        applied_at_ms: now_ms(),
        file_name: session.file_name.clone(),
        sha256: session.sha256.clone(),
    };
    let counts = plan.counts;
    let built = app.crm.with_untracked(|crm| apply(crm, &plan, &ctx));
    let (changes, record) = match built {
        Ok(x) => x,
        Err(e) => {
            app.error(e.to_string());
            return;
        }
    };
    app.set_progress(&format!("Writing {} records in one transaction", changes.puts.len()), 0, 1);
    yield_to_browser().await;
    let batch = app.checked(changes, plan.reads.iter().cloned());
    let import_id = match app.commit_checked(&batch).await {
        Ok(committed) => committed.import_id().unwrap_or(record.id),
        Err(e) => {
            app.clear_progress();
            app.error(format!("The import was not applied: {e}. Nothing was written."));
            return;
        }
    };
    if let Ok(store) = store() {
        let _ = store.delete_staged(session.template.id).await;
    }
    state.staged.set(None);
    let crm = app.crm.get_untracked();
    let sample = verification_sample(&crm, session.template, &validated, &plan, &session.sha256);
    let index = CrmIndex::new(&crm);
    let mut portfolios: Vec<(u32, String)> = plan
        .affected_case_ids()
        .iter()
        .flat_map(|c| index.portfolios_by_case.get(c).cloned().unwrap_or_default())
        .filter_map(|p| crm.portfolios.get(&p).map(|p| (p.id, p.name.clone())))
        .collect();
    portfolios.sort();
    portfolios.dedup();
    let seconds = (monotonic_ms() - started) / 1000.0;
    app.clear_progress();
    if has_sync_target() {
        if let Some((pid, _)) = portfolios.first() {
            let rows = crate::core::insured::export::insured_export_rows(
                &index,
                &crate::core::insured::export::portfolio_case_ids(&crm, *pid),
            );
            match crate::core::insured::export::write_insured_export(&rows) {
                Ok(bytes) => match write_sync_target(&bytes).await {
                    Ok(()) => app.info("The synced export file was rewritten."),
                    Err(e) => app.error(format!("The synced file could not be written: {e}")),
                },
                Err(e) => app.error(e.to_string()),
            }
        }
    }
    state.result.set(Some(Arc::new(ApplyResult { import_id, counts, sample, portfolios, seconds })));
    state.step.set(Step::Done);
    app.success(format!(
        "Import #{} applied: {} created, {} updated, {} added, {} unchanged, {} skipped.",
        import_id, counts.created, counts.updated, counts.added, counts.unchanged, counts.skipped
    ));
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    if !state.checked_staged.get_untracked() {
        spawn_local(refresh_staged(app, state));
    }
    let may_import = move || app.current_operator().map(|o| o.has(Role::Import)).unwrap_or(false);
    view! {
        <section class="import">
            <ol class="steps">
                {Step::ORDER
                    .into_iter()
                    .map(|s| {
                        view! {
                            <li
                                class:current=move || state.step.get() == s
                                class:done=move || {
                                    Step::ORDER.iter().position(|x| *x == s)
                                        < Step::ORDER.iter().position(|x| *x == state.step.get())
                                }
                            >
                                {s.label()}
                            </li>
                        }
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
                {move || match state.step.get() {
                    Step::Upload => view! { <UploadStep/> }.into_any(),
                    Step::Headers => view! { <HeadersStep/> }.into_any(),
                    Step::Review => view! { <ReviewStep/> }.into_any(),
                    Step::Resolve => view! { <ResolveStep/> }.into_any(),
                    Step::Plan => view! { <PlanStep/> }.into_any(),
                    Step::Done => view! { <VerifyStep/> }.into_any(),
                }}
            </Show>
        </section>
    }
}

#[component]
fn UploadStep() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    let dragging = RwSignal::new(false);
    let on_template = move |ev| {
        state.template_id.set(event_target_value(&ev));
        state.checked_staged.set(false);
        spawn_local(refresh_staged(app, state));
    };
    let on_file = move |ev: web_sys::Event| {
        if let Some(f) = first_file_of_input(&ev) {
            spawn_local(stage_file(app, state, f));
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(f) = first_file_of_drop(&ev) {
            spawn_local(stage_file(app, state, f));
        }
    };
    let on_template_download = move |_| {
        let t = state.template();
        app.offer_workbook(write_template_workbook(t), &format!("{}-template.xlsx", t.id));
    };
    view! {
        <div class="panel">
            <h2>"Stage a file"</h2>
            <label class="field">
                "Template"
                <select data-testid="import-template-select" on:change=on_template>
                    {templates()
                        .into_iter()
                        .map(|t| {
                            view! {
                                <option value=t.id selected=move || state.template_id.get() == t.id>
                                    {t.name}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <p class="muted">{move || state.template().description}</p>
            <button data-testid="template-download" on:click=on_template_download>
                "Download the template (XLSX)"
            </button>
            <div data-testid="import-stage-status">
                {move || match state.staged.get() {
                    None => view! { <p class="muted">"No file is staged for this template."</p> }.into_any(),
                    Some(StagedCard { file_name: name, size, row_count: rows, staged_at_ms: at, sha256: sha }) => {
                        view! {
                            <div class="staged-card" data-testid="import-staged">
                                <strong>"Staged: "</strong>
                                <span data-testid="import-staged-name">{name}</span>
                                {format!(
                                    " · {:.1} KB · {rows} rows · staged {} · SHA-256 {}…",
                                    size as f64 / 1024.0,
                                    local_time_text(at),
                                    &sha[..12.min(sha.len())]
                                )}
                                <div class="actions">
                                    <button class="primary" data-testid="import-resume" on:click=move |_| spawn_local(resume_staged(app, state))>
                                        "Continue with this file"
                                    </button>
                                    <button class="danger" data-testid="import-discard" on:click=move |_| spawn_local(discard_staged(app, state))>
                                        "Discard"
                                    </button>
                                </div>
                            </div>
                        }
                            .into_any()
                    }
                }}
            </div>
            <label
                class="dropzone"
                class:dragging=move || dragging.get()
                on:dragover=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(true)
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            >
                <strong>"Drop an XLSX or CSV file here"</strong>
                <span>" or click to choose one. Staging checks the format and applies nothing."</span>
                <input type="file" accept=".xlsx,.csv,.txt" data-testid="import-file-input" on:change=on_file/>
            </label>
        </div>
    }
}

#[component]
fn HeadersStep() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    let set_column = move |template_col: usize, value: String| {
        let Some(session) = state.session.get_untracked() else { return };
        let mut s = (*session).clone();
        let file_col: Option<usize> = value.parse().ok();
        // A file column feeds one template column at most.
        if let Some(f) = file_col {
            for (t, c) in s.mapping.columns.iter_mut().enumerate() {
                if *c == Some(f) && t != template_col {
                    *c = None;
                }
            }
        }
        s.mapping.columns[template_col] = file_col;
        s.mapping.mapped.retain(|m| m.template_column != template_col && Some(m.file_column) != file_col);
        if let Some(f) = file_col {
            s.mapping.mapped.push(crate::core::headers::MappedColumn {
                template_column: template_col,
                file_column: f,
                file_header: s.sheet.header.get(f).cloned().unwrap_or_default(),
                source: HeaderSource::Remembered,
                score: 1.0,
            });
        }
        s.mapping.missing_required = s
            .template
            .columns
            .iter()
            .zip(&s.mapping.columns)
            .filter(|(c, m)| c.header_required() && m.is_none())
            .map(|(c, _)| c.header.to_string())
            .collect();
        s.mapping.ignored = s
            .sheet
            .header
            .iter()
            .enumerate()
            .filter(|(f, h)| !h.trim().is_empty() && !s.mapping.columns.contains(&Some(*f)))
            .map(|(_, h)| h.clone())
            .collect();
        state.session.set(Some(Arc::new(s)));
    };
    let confirm_mapping = move |_| {
        let Some(session) = state.session.get_untracked() else { return };
        if !session.mapping.is_usable() {
            app.error(format!(
                "Required column(s) missing: {}. Map them or fix the file.",
                session.mapping.missing_required.join(", ")
            ));
            return;
        }
        let mut s = (*session).clone();
        s.mapping.confirm();
        let mut memory = remembered_mapping(s.template);
        for (file_header, template_header) in s.mapping.to_remember(s.template) {
            memory.insert(file_header, template_header);
        }
        save_setting(&mapping_key(s.template), &memory);
        state.session.set(Some(Arc::new(s)));
        spawn_local(run_validation(app, state));
    };
    move || {
        let Some(session) = state.session.get() else { return ().into_any() };
        let header = session.sheet.header.clone();
        let rows = session
            .template
            .columns
            .iter()
            .enumerate()
            .map(|(t, spec)| {
                let current = session.mapping.columns[t];
                let source = session.mapping.mapped.iter().find(|m| m.template_column == t).map(|m| (m.source, m.score));
                let note = match (current, source) {
                    (None, _) if spec.header_required() => "missing — required".to_string(),
                    (None, _) => "not in the file".to_string(),
                    (Some(_), Some((HeaderSource::Exact, _))) => "exact".to_string(),
                    (Some(_), Some((HeaderSource::Remembered, _))) => "confirmed earlier".to_string(),
                    (Some(_), Some((HeaderSource::Suggested, score))) => format!("suggested ({:.0}% alike) — confirm", score * 100.0),
                    (Some(_), None) => String::new(),
                };
                let header = header.clone();
                let missing = current.is_none() && spec.header_required();
                view! {
                    <tr class:missing=missing data-testid="header-row">
                        <td>{spec.header}{spec.header_required().then_some(" *")}</td>
                        <td>
                            <select
                                data-testid="header-select"
                                on:change=move |ev| set_column(t, event_target_value(&ev))
                            >
                                <option value="" selected=current.is_none()>"(not mapped)"</option>
                                {header
                                    .iter()
                                    .enumerate()
                                    .map(|(f, h)| {
                                        view! { <option value=f.to_string() selected=current == Some(f)>{h.clone()}</option> }
                                    })
                                    .collect_view()}
                            </select>
                        </td>
                        <td class="muted">{note}</td>
                    </tr>
                }
            })
            .collect_view();
        let ignored = session.mapping.ignored.join(", ");
        view! {
            <div class="panel">
                <h2>"Confirm the columns of " {session.file_name.clone()}</h2>
                <p class="muted">
                    "Columns whose header matches the template exactly are mapped already. Check the suggested ones; your choice is remembered for the next file with the same headers."
                </p>
                {(!session.mapping.missing_required.is_empty())
                    .then(|| {
                        view! {
                            <p class="error-text" data-testid="missing-columns">
                                {format!("Missing required column(s): {}", session.mapping.missing_required.join(", "))}
                            </p>
                        }
                    })}
                <table class="grid compact">
                    <thead>
                        <tr>
                            <th>"Template column"</th>
                            <th>"Column in the file"</th>
                            <th></th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
                {(!ignored.is_empty()).then(|| view! { <p class="muted" data-testid="ignored-columns">{format!("Ignored columns: {ignored}")}</p> })}
                <div class="actions">
                    <button on:click=move |_| state.step.set(Step::Upload)>"Back"</button>
                    <button class="primary" data-testid="headers-confirm" on:click=confirm_mapping>
                        "Confirm and validate"
                    </button>
                </div>
            </div>
        }
            .into_any()
    }
}

#[component]
fn ReviewStep() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    let only_problems = RwSignal::new(false);
    let visible = Memo::new(move |_| {
        let Some(v) = state.validated.get() else { return Arc::new(Vec::new()) };
        let rows: Vec<usize> = (0..v.rows.len())
            .filter(|i| !only_problems.get() || v.rows[*i].errors + v.rows[*i].warnings > 0)
            .collect();
        Arc::new(rows)
    });
    let issues_text = Memo::new(move |_| {
        let Some(v) = state.validated.get() else { return Arc::new(std::collections::HashMap::new()) };
        let mut m: std::collections::HashMap<usize, String> = std::collections::HashMap::new();
        for i in &v.issues {
            let e = m.entry(i.row).or_default();
            if !e.is_empty() {
                e.push_str(" · ");
            }
            e.push_str(&format!(
                "{}{}",
                i.cell.as_ref().map(|c| format!("{c}: ")).unwrap_or_default(),
                i.message
            ));
        }
        Arc::new(m)
    });
    let on_error_report = move |_| {
        let (Some(session), Some(v)) = (state.session.get_untracked(), state.validated.get_untracked())
        else {
            return;
        };
        let name = format!("{}-errors.xlsx", file_stem(&session.file_name));
        app.offer_workbook(write_error_report(session.template, &v), &name);
    };
    let render = move |k: usize| {
        let v = state.validated.get_untracked();
        let rows = visible.get_untracked();
        let texts = issues_text.get_untracked();
        let Some(v) = v else { return ().into_any() };
        let Some(i) = rows.get(k).copied() else { return ().into_any() };
        let r = &v.rows[i];
        let template = state.template();
        let cell = |f: Field| template.col(f).and_then(|c| r.raw.get(c)).cloned().unwrap_or_default();
        let problems = texts.get(&r.sheet_row).cloned().unwrap_or_default();
        let problems_title = problems.clone();
        let status = if r.errors > 0 {
            "error"
        } else if r.warnings > 0 {
            "warning"
        } else {
            "ok"
        };
        let masked = if cell(Field::Ssn).is_empty() { String::new() } else { mask_ssn(&cell(Field::Ssn)) };
        view! {
            <div class="vcell">{r.sheet_row}</div>
            <div class=format!("vcell status {status}")>{status}</div>
            <div class="vcell">{cell(Field::CaseReference)}</div>
            <div class="vcell">{cell(Field::InsuredReference)}</div>
            <div class="vcell">{format!("{} {}", cell(Field::FirstName), cell(Field::LastName))}</div>
            <div class="vcell mono">{cell(Field::ClientReference)}</div>
            <div class="vcell mono">{masked}</div>
            <div class="vcell">{cell(Field::DetailType)}</div>
            <div class="vcell mono">{cell(Field::PublicId)}</div>
            <div class=if r.errors == 0 { "vcell errors warning-only" } else { "vcell errors" } title=problems_title>{problems}</div>
        }
            .into_any()
    };
    view! {
        <div class="panel">
            {move || {
                let Some(session) = state.session.get() else { return ().into_any() };
                let Some(v) = state.validated.get() else { return ().into_any() };
                let blocked = v.rows.iter().filter(|r| r.blocked()).count();
                view! {
                    <h2>"Review " {session.file_name.clone()}</h2>
                    <div class="counters">
                        <div class="counter">
                            <span class="big">{v.rows.len()}</span>
                            " rows"
                        </div>
                        <div class="counter ok">
                            <span class="big">{v.rows.len() - blocked}</span>
                            " rows can be imported"
                        </div>
                        <div class="counter error">
                            <span class="big" data-testid="import-error-count">{v.issues.iter().filter(|i| i.severity == Severity::Error).count()}</span>
                            " errors"
                        </div>
                        <div class="counter warning">
                            <span class="big" data-testid="import-warning-count">{v.issues.iter().filter(|i| i.severity == Severity::Warning).count()}</span>
                            " warnings"
                        </div>
                    </div>
                    <p class="muted">
                        {format!(
                            "Rows with errors are left out of the import; warnings do not block a row. Ignored columns: {}.",
                            if session.mapping.ignored.is_empty() { "none".to_string() } else { session.mapping.ignored.join(", ") }
                        )}
                    </p>
                }
                    .into_any()
            }}
            <div class="actions">
                <label>
                    <input type="checkbox" on:change=move |_| only_problems.update(|b| *b = !*b)/>
                    " Show only rows with problems"
                </label>
                <button data-testid="error-report-download" on:click=on_error_report>
                    "Download the error report (XLSX)"
                </button>
            </div>
            <VirtualTable
                headers=vec!["Row", "Status", "Case", "Insured", "Name", "Client Ref.", "SSN", "Type", "Public ID", "Errors"]
                columns="56px 72px 110px 110px 170px 110px 110px 72px 100px 1fr"
                row_count=Signal::derive(move || visible.with(|v| v.len()))
                render_row=render
                test_id="review-table"
            />
            <div class="actions">
                <button on:click=move |_| state.step.set(Step::Upload)>"Back"</button>
                <button class="primary" data-testid="match-button" on:click=move |_| spawn_local(run_matching(app, state))>
                    "Match rows to the CRM"
                </button>
            </div>
        </div>
    }
}

fn parse_choice(v: &str) -> Option<GroupChoice> {
    match v {
        "new" => Some(GroupChoice::CreateNew),
        "skip" => Some(GroupChoice::Skip),
        other => other.strip_prefix("entry:").and_then(|e| e.parse().ok()).map(GroupChoice::Existing),
    }
}

#[component]
fn ResolveStep() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    move || {
        let (Some(matches), Some(validated)) = (state.matches.get(), state.validated.get()) else {
            return ().into_any();
        };
        let tiers = matches.tier_counts();
        let crm = app.crm.get_untracked();
        let conflicts = matches.groups.iter().filter(|g| g.is_conflict()).count();
        let groups = matches
            .open_groups()
            .map(|g| {
                let gid = g.id;
                let sheet_rows: Vec<String> = g.rows.iter().map(|r| validated.rows[*r].sheet_row.to_string()).collect();
                let current = state.choices.with_untracked(|c| c.get(gid).copied().flatten()).or_else(|| g.default_choice());
                let options = g
                    .candidates
                    .iter()
                    .map(|c| {
                        let e = crm.entries.get(&c.entry);
                        let label = e
                            .map(|e| {
                                format!(
                                    "{}{} — {}% · {}",
                                    e.display_name(),
                                    e.client_reference.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
                                    c.score,
                                    c.reasons.join(", ")
                                )
                            })
                            .unwrap_or_default();
                        let value = format!("entry:{}", c.entry);
                        let selected = current == Some(GroupChoice::Existing(c.entry));
                        view! { <option value=value selected=selected>{label}</option> }
                    })
                    .collect_view();
                let (kind_label, reason) = match &g.kind {
                    GroupKind::Matched { .. } => ("Matched", None),
                    GroupKind::Unresolved => ("Not matched", None),
                    GroupKind::Conflict { reason, .. } => ("Conflict", Some(reason.clone())),
                };
                let is_conflict = g.is_conflict();
                view! {
                    <div class="group-card" class:conflict=is_conflict data-testid="resolve-group">
                        <div class="group-head">
                            <span class="badge">{kind_label}</span>
                            <strong data-testid="resolve-group-name">{g.display_name()}</strong>
                            {(!g.client_reference.is_empty()).then(|| view! { <span class="mono">{format!(" · {}", g.client_reference)}</span> })}
                            {(!g.ssn.is_empty()).then(|| view! { <span class="mono">{format!(" · SSN {}", mask_ssn(&g.ssn))}</span> })}
                            {(!g.insured_reference.is_empty())
                                .then(|| view! { <span>{format!(" · {} on {}", g.insured_reference, g.case_reference)}</span> })}
                            <span class="muted">{format!(" · rows {}", sheet_rows.join(", "))}</span>
                        </div>
                        {reason.map(|r| view! { <p class="error-text">{r}</p> })}
                        <select
                            data-testid="resolve-select"
                            on:change=move |ev| {
                                let v = parse_choice(&event_target_value(&ev));
                                state.choices.update(|c| {
                                    if gid < c.len() {
                                        c[gid] = v;
                                    }
                                });
                            }
                        >
                            {is_conflict.then(|| view! { <option value="" selected=current.is_none()>"— choose the right entry —"</option> })}
                            {(!is_conflict)
                                .then(|| view! { <option value="new" selected=current == Some(GroupChoice::CreateNew)>"Create new CRM entry"</option> })}
                            {options}
                            <option value="skip" selected=current == Some(GroupChoice::Skip)>"Skip these rows"</option>
                        </select>
                    </div>
                }
            })
            .collect_view();
        let tier_line =
            tiers.iter().map(|(t, n)| format!("{n} by tier {}", t.label())).collect::<Vec<_>>().join(", ");
        view! {
            <div class="panel">
                <h2>"Resolve detected persons"</h2>
                <p class="muted">{format!("Rows matched so far: {tier_line}.")}</p>
                <p>
                    {format!(
                        "{} detected persons were not matched{}. Each has one dropdown: leave it on \"Create new CRM entry\" or pick the existing entry. Suggestions are ranked, with the reason.",
                        matches.open_groups().count() - conflicts,
                        if conflicts > 0 { format!(", and {conflicts} conflict(s) must be settled") } else { String::new() }
                    )}
                </p>
                <div class="groups">{groups}</div>
                <div class="actions">
                    <button on:click=move |_| state.step.set(Step::Review)>"Back"</button>
                    <button class="primary" data-testid="plan-button" on:click=move |_| spawn_local(compute_plan(app, state))>
                        "Review the plan"
                    </button>
                </div>
            </div>
        }
            .into_any()
    }
}

#[component]
fn PlanStep() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    let on_plan_report = move |_| {
        let (Some(session), Some(v), Some(m), Some(p)) = (
            state.session.get_untracked(),
            state.validated.get_untracked(),
            state.matches.get_untracked(),
            state.plan.get_untracked(),
        ) else {
            return;
        };
        let written = app.crm.with_untracked(|crm| write_plan_report(crm, &v, Some(&m), &p));
        app.offer_workbook(written, &format!("{}-plan.xlsx", file_stem(&session.file_name)));
    };
    let only_changes = RwSignal::new(false);
    // Indexes of the plan rows shown: all, or only those that change something or are skipped.
    let shown = Memo::new(move |_| {
        let only = only_changes.get();
        state.plan.with(|p| {
            let Some(p) = p else { return Arc::new(Vec::new()) };
            Arc::new(
                (0..p.rows.len())
                    .filter(|i| !only || !matches!(p.rows[*i].action, RowAction::Unchanged))
                    .collect::<Vec<usize>>(),
            )
        })
    });
    let render = move |k: usize| {
        let Some(plan) = state.plan.get_untracked() else { return ().into_any() };
        let Some(i) = shown.get_untracked().get(k).copied() else { return ().into_any() };
        let Some(p) = plan.rows.get(i) else { return ().into_any() };
        let action = p.action_text();
        let facts = p.insured().cloned().unwrap_or_default();
        let mut detail: Vec<String> =
            p.changes.iter().map(|c| format!("{}: {} → {}", c.field, c.before, c.after)).collect();
        detail.extend(p.notes.iter().cloned());
        let text = detail.join(" · ");
        let text_title = text.clone();
        let class = match &p.action {
            RowAction::Error => "vcell status error",
            RowAction::Skip(_) => "vcell status warning",
            RowAction::Unchanged => "vcell status muted",
            _ => "vcell status ok",
        };
        view! {
            <div class="vcell">{p.sheet_row}</div>
            <div class=class>{action}</div>
            <div class="vcell">{facts.tier.map(|t| t.label()).unwrap_or("")}</div>
            <div class="vcell">{facts.entry_label}</div>
            <div class="vcell mono">{facts.public_id.unwrap_or_default()}</div>
            <div class="vcell" title=text_title>{text}</div>
        }
        .into_any()
    };
    view! {
        <div class="panel">
            {move || {
                let Some(plan) = state.plan.get() else { return ().into_any() };
                let t = plan.counts;
                let relinks: Vec<_> = plan.relinks().into_iter().cloned().collect();
                let crm = app.crm.get_untracked();
                let name = |e: Option<u32>| {
                    e.and_then(|e| crm.entries.get(&e)).map(|e| e.display_name()).unwrap_or_else(|| "a new entry".into())
                };
                view! {
                    <h2>"The plan — nothing has been written yet"</h2>
                    <div class="counters" data-testid="plan-summary">
                        <div class="counter"><span class="big" data-testid="plan-create">{t.created}</span>" entries to create"</div>
                        <div class="counter"><span class="big" data-testid="plan-update">{t.updated}</span>" details to update"</div>
                        <div class="counter"><span class="big" data-testid="plan-add">{t.added}</span>" details to add"</div>
                        <div class="counter"><span class="big" data-testid="plan-unchanged">{t.unchanged}</span>" unchanged"</div>
                        <div class="counter"><span class="big" data-testid="plan-skip">{t.skipped}</span>" skipped"</div>
                        <div class="counter error"><span class="big" data-testid="plan-error">{t.errors}</span>" rows with errors"</div>
                    </div>
                    {(plan.pending_conflicts > 0)
                        .then(|| {
                            view! {
                                <p class="error-text">
                                    {format!("{} conflict(s) are not settled. Go back and choose an entry (or skip) for each.", plan.pending_conflicts)}
                                </p>
                            }
                        })}
                    {(!relinks.is_empty())
                        .then(|| {
                            view! {
                                <details class="relinks" data-testid="plan-relinks">
                                    <summary>{format!("{} insured link(s) change", relinks.len())}</summary>
                                    <ul class="plain">
                                        {relinks
                                            .iter()
                                            .map(|r| {
                                                let new_name = crm
                                                    .entries
                                                    .get(&r.new_entry)
                                                    .map(|e| e.display_name())
                                                    .unwrap_or_else(|| "a new CRM entry".into());
                                                view! {
                                                    <li>
                                                        {format!(
                                                            "{} on {}: {} → {}",
                                                            r.insured_reference,
                                                            r.case_reference,
                                                            if r.old_entry.is_some() { name(r.old_entry) } else { "(not linked)".into() },
                                                            new_name
                                                        )}
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                </details>
                            }
                        })}
                }
                    .into_any()
            }}
            <label class="actions">
                <input
                    type="checkbox"
                    data-testid="plan-only-changes"
                    on:change=move |_| only_changes.update(|b| *b = !*b)
                />
                " Show only rows that change something, are skipped or have errors"
            </label>
            <VirtualTable
                headers=vec!["Row", "Action", "Match tier", "CRM entry", "Public ID", "Changes (before → after) and notes"]
                columns="56px 200px 190px 220px 100px 1fr"
                row_count=Signal::derive(move || shown.with(|v| v.len()))
                render_row=render
                test_id="plan-table"
            />
            <div class="actions">
                <button on:click=move |_| {
                    let has_groups = state.matches.with_untracked(|m| m.as_ref().map(|m| m.open_groups().next().is_some()).unwrap_or(false));
                    state.step.set(if has_groups { Step::Resolve } else { Step::Review })
                }>"Back"</button>
                <button data-testid="plan-report-download" on:click=on_plan_report>
                    "Download the plan report (XLSX)"
                </button>
                <button
                    class="primary"
                    data-testid="apply-button"
                    disabled=move || {
                        state.plan.with(|p| p.as_ref().map(|p| p.pending_conflicts > 0 || p.change_count() == 0).unwrap_or(true))
                    }
                    on:click=move |_| spawn_local(apply_plan(app, state))
                >
                    {move || {
                        state
                            .plan
                            .with(|p| match p {
                                Some(p) if p.change_count() == 0 => "Nothing to apply".to_string(),
                                Some(p) => format!("Apply {} changes", p.change_count()),
                                None => "Apply".to_string(),
                            })
                    }}
                </button>
            </div>
        </div>
    }
}

#[component]
fn VerifyStep() -> impl IntoView {
    let app = use_app();
    let state = expect_context::<ImportState>();
    let on_export = move |pid: u32| match app.crm.with_untracked(|crm| download_portfolio_export(crm, pid)) {
        Ok(n) => app.success(format!("Updated Insured CRM Export downloaded: {n} rows.")),
        Err(e) => app.error(e),
    };
    let on_sync = move |pid: u32, name: String| {
        spawn_local(async move {
            let file_name = crate::core::insured::export::insured_export_file_name(
                &name,
                crate::core::date::Date::from_unix_ms(now_ms()),
            );
            if let Err(e) = pick_sync_target(&file_name).await {
                app.error(format!("No file was chosen: {e}"));
                return;
            }
            let bytes = app.crm.with_untracked(|crm| {
                let index = CrmIndex::new(crm);
                let rows = crate::core::insured::export::insured_export_rows(
                    &index,
                    &crate::core::insured::export::portfolio_case_ids(crm, pid),
                );
                crate::core::insured::export::write_insured_export(&rows)
            });
            match bytes {
                Ok(b) => match write_sync_target(&b).await {
                    Ok(()) => {
                        app.success("The export is synced to the chosen file; each later apply rewrites it.")
                    }
                    Err(e) => app.error(e),
                },
                Err(e) => app.error(e.to_string()),
            }
        });
    };
    move || {
        let Some(result) = state.result.get() else { return ().into_any() };
        // Only this import may be undone from here, and only while it is the most recent one.
        let (undone, undoable) = app.crm.with(|crm| {
            (
                crm.imports.get(&result.import_id).map(|r| r.undone).unwrap_or(false),
                last_undoable(crm).map(|r| r.id) == Some(result.import_id),
            )
        });
        let c = result.counts;
        let sample = result.sample.clone();
        let portfolios = result.portfolios.clone();
        view! {
            <div class="panel">
                <h2>
                    {if undone {
                        format!("Import #{} was undone: the CRM is back to how it was before it", result.import_id)
                    } else {
                        format!("Import #{} applied in {:.1} s", result.import_id, result.seconds)
                    }}
                </h2>
                <div class="counters" data-testid="verify-summary">
                    <div class="counter"><span class="big" data-testid="verify-created">{c.created}</span>" created"</div>
                    <div class="counter"><span class="big" data-testid="verify-updated">{c.updated}</span>" updated"</div>
                    <div class="counter"><span class="big" data-testid="verify-added">{c.added}</span>" added"</div>
                    <div class="counter"><span class="big" data-testid="verify-unchanged">{c.unchanged}</span>" unchanged"</div>
                    <div class="counter"><span class="big" data-testid="verify-skipped">{c.skipped}</span>" skipped"</div>
                    <div class="counter error"><span class="big" data-testid="verify-errors">{c.errors}</span>" errors"</div>
                </div>
                <h3>
                    {if undone {
                        format!("The {} rows this import applied (as they were before the undo)", sample.len())
                    } else {
                        format!("Check these {} applied rows by eye", sample.len())
                    }}
                </h3>
                <table class="grid compact" data-testid="verify-sample">
                    <thead>
                        <tr>
                            <th>"Row"</th>
                            <th>"Action"</th>
                            <th>"In the file"</th>
                            <th>"In the CRM now"</th>
                            <th>"Agrees"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {sample
                            .into_iter()
                            .map(|s| {
                                let show = |values: &[(String, String)]| {
                                    values
                                        .iter()
                                        .map(|(k, v)| format!("{k}: {}", if v.is_empty() { "—" } else { v }))
                                        .collect::<Vec<_>>()
                                        .join(" · ")
                                };
                                let (file, stored) = (show(&s.file_values), show(&s.stored_values));
                                view! {
                                    <tr>
                                        <td>{s.sheet_row}</td>
                                        <td>{s.action}</td>
                                        <td>{file}</td>
                                        <td>{stored}</td>
                                        <td class=if s.agrees { "ok" } else { "error-text" }>{if s.agrees { "✓" } else { "✗" }}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                <h3>"Updated export"</h3>
                <div class="actions">
                    {portfolios
                        .into_iter()
                        .map(|(pid, name)| {
                            let n2 = name.clone();
                            view! {
                                <span class="export-pair">
                                    <button class="primary" data-testid="export-download" on:click=move |_| on_export(pid)>
                                        {format!("Download the export of {name}")}
                                    </button>
                                    {can_sync_to_file()
                                        .then(|| {
                                            let n3 = n2.clone();
                                            view! {
                                                <button data-testid="export-sync" on:click=move |_| on_sync(pid, n3.clone())>
                                                    "Sync to a file…"
                                                </button>
                                            }
                                        })}
                                </span>
                            }
                        })
                        .collect_view()}
                </div>
                <div class="actions">
                    <button data-testid="undo-last-import" disabled=!undoable on:click=move |_| undo_last_import(app)>
                        "Undo this import"
                    </button>
                    <button
                        data-testid="import-another"
                        on:click=move |_| {
                            state.session.set(None);
                            state.reset_after_upload();
                            state.step.set(Step::Upload);
                            state.checked_staged.set(false);
                            spawn_local(refresh_staged(app, state));
                        }
                    >
                        "Import another file"
                    </button>
                </div>
            </div>
        }
            .into_any()
    }
}
