//! System Utilities: the bulk insurance import and process. Open only while the
//! current operator's role has Manage Settings. Step 1 stages one file (exact headers of the
//! user or device insurance template, validated, nothing applied; one staged file at a time
//! across both templates, surviving a reload). Step 2 processes it through the core
//! (`core::insurance`): plan in chunks with progress, one atomic commit recorded in the import
//! history with before-images, then counts, the skipped/invalid report, a verification sample,
//! the insurance status report and undo.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use std::collections::BTreeMap;

use crate::core::date::DayMonthOrder;
use crate::core::headers::{recognise, HeaderProblem, Recognised};
use crate::core::index::CrmIndex;
use crate::core::insurance::plan::Planner;
use crate::core::insurance::report::{
    status_counts, write_insurance_results_report, write_insurance_status_report,
};
use crate::core::insurance::{template_by_id, template_csv, templates, DEVICE_INSURANCE, USER_INSURANCE};
use crate::core::model::{Crm, Role};
use crate::core::plan::history::{apply, last_import_of_file, last_undoable, ApplyContext};
use crate::core::plan::verify::{verification_sample, VerificationSample};
use crate::core::plan::{ImportPlan, RowAction};
use crate::core::read::read_sheet;
use crate::core::report::sha256_hex;
use crate::core::sheet::Sheet;
use crate::core::template::{write_template_workbook, Template};
use crate::core::validate::{Validated, ValidationOptions, Validator};
use crate::store::{CrmStore, StagedFile};
use crate::ui::browser::{
    confirm, download, first_file_of_input, load_setting, local_time_text, monotonic_ms, now_ms,
    save_setting, yield_to_browser, XLSX_MIME,
};
use crate::ui::history::undo_last_import;
use crate::ui::state::{store, use_app, AppState};

/// The staging slot shared by both insurance templates: one staged file at a time.
const STAGED_ID: &str = "insurance";
const ORDER_KEY: &str = "roundtrip.insurance.day-month-order";
const CHUNK: usize = 2_000;

/// What the page shows about the staged file.
#[derive(Clone, Debug, PartialEq)]
struct StagedInfo {
    file_name: String,
    size: u64,
    rows: usize,
    staged_at_ms: i64,
    sha256: String,
    template: &'static Template,
}

/// The outcome of a processed file.
struct ProcessResult {
    import_id: u32,
    file_name: String,
    template: &'static Template,
    plan: ImportPlan,
    sample: Vec<VerificationSample>,
    seconds: f64,
}

#[derive(Clone, Copy)]
struct UtilitiesState {
    staged: RwSignal<Option<StagedInfo>>,
    result: RwSignal<Option<Arc<ProcessResult>>>,
    /// "" = detect from the headers, else a template id.
    chosen: RwSignal<String>,
    order: RwSignal<DayMonthOrder>,
    busy: RwSignal<bool>,
}

fn order_value(o: DayMonthOrder) -> &'static str {
    match o {
        DayMonthOrder::IsoOnly => "iso",
        DayMonthOrder::DayFirst => "day-first",
        DayMonthOrder::MonthFirst => "month-first",
    }
}

fn order_from(v: &str) -> DayMonthOrder {
    match v {
        "day-first" => DayMonthOrder::DayFirst,
        "month-first" => DayMonthOrder::MonthFirst,
        _ => DayMonthOrder::IsoOnly,
    }
}

/// A duration for people: two decimals under a second (never "0.0 s"), one above.
fn seconds_text(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}

/// How many skipped IDs and invalid rows the result panel lists; the XLSX has them all.
const LISTED: usize = 20;

/// The insurance template of a file's headers: the chosen one (checked exactly) or, with none
/// chosen, the one its headers are.
fn recognise_file(chosen: Option<&'static Template>, header: &[String]) -> Result<Recognised, HeaderProblem> {
    recognise(&templates(), chosen, header, &BTreeMap::new())
}

/// Reads the staged file back from the store (on mount: it survives a reload).
async fn load_staged(app: AppState, st: UtilitiesState) {
    let Ok(store) = store() else { return };
    match store.get_staged(STAGED_ID).await {
        Ok(Some(f)) => {
            let template = read_sheet(&f.file_name, &f.bytes)
                .ok()
                .and_then(|s| recognise_file(None, &s.header).ok())
                .map(|r| r.template);
            match template {
                Some(template) => st.staged.set(Some(StagedInfo {
                    file_name: f.file_name,
                    size: f.size,
                    rows: f.row_count,
                    staged_at_ms: f.staged_at_ms,
                    sha256: f.sha256,
                    template,
                })),
                None => {
                    st.staged.set(None);
                    let _ = store.delete_staged(STAGED_ID).await;
                    app.error("The staged insurance file could not be read back and was discarded.");
                }
            }
        }
        Ok(None) => st.staged.set(None),
        Err(e) => app.error(e.to_string()),
    }
}

/// Validates every row in chunks with progress.
async fn validate_chunked(
    app: AppState,
    crm: &Crm,
    recognised: &Recognised,
    sheet: &Sheet,
    order: DayMonthOrder,
) -> Validated {
    let index = CrmIndex::new(crm);
    let options = ValidationOptions { day_month_order: order };
    let validator = Validator::new(recognised.template, &recognised.mapping, &index, options);
    let total = sheet.rows.len();
    let mut rows = Vec::with_capacity(total);
    let mut issues = Vec::new();
    for (n, chunk) in sheet.rows.chunks(CHUNK).enumerate() {
        app.set_progress("Validating rows", n * CHUNK, total);
        yield_to_browser().await;
        for r in chunk {
            let (v, mut i) = validator.row(r);
            rows.push(v);
            issues.append(&mut i);
        }
    }
    validator.finish(&mut rows, &mut issues);
    validator.validated(rows, issues)
}

/// Step 1: format check, exact headers, validation, then staging (replacing after a confirm).
async fn stage_file(app: AppState, st: UtilitiesState, file: web_sys::File) {
    let Some((file_name, bytes, sheet)) = app.read_upload(&file).await else { return };
    let recognised = match recognise_file(template_by_id(&st.chosen.get_untracked()), &sheet.header) {
        Ok(r) => r,
        Err(problem) => {
            app.error(format!("{problem} Nothing was staged."));
            return;
        }
    };
    let template = recognised.template;
    if let Some(old) = st.staged.get_untracked() {
        if !confirm(&format!(
            "A file is already staged: {} ({}). Only one file can be staged at a time. Replace it with {file_name}?",
            old.file_name, old.template.name
        )) {
            return;
        }
    }
    st.busy.set(true);
    let crm = app.crm.get_untracked();
    let validated = validate_chunked(app, &crm, &recognised, &sheet, st.order.get_untracked()).await;
    app.clear_progress();
    let invalid = validated.rows.iter().filter(|r| r.blocked()).count();
    let staged = StagedFile {
        template_id: STAGED_ID.to_string(),
        file_name: file_name.clone(),
        size: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        staged_at_ms: now_ms(),
        row_count: sheet.rows.len(),
        bytes,
    };
    let result = match store() {
        Ok(s) => s.put_staged(&staged).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    st.busy.set(false);
    if let Err(e) = result {
        app.error(format!("{e} The file was not staged."));
        return;
    }
    st.result.set(None);
    st.staged.set(Some(StagedInfo {
        file_name: staged.file_name,
        size: staged.size,
        rows: staged.row_count,
        staged_at_ms: staged.staged_at_ms,
        sha256: staged.sha256,
        template,
    }));
    let invalid_note = if invalid == 0 {
        String::new()
    } else {
        format!(" {invalid} row(s) have errors and will be listed as invalid.")
    };
    app.success(format!(
        "{file_name} is staged as a {} file: {} rows.{invalid_note} Nothing has been applied; press Process to apply it.",
        template.name.to_lowercase(),
        sheet.rows.len()
    ));
}

async fn delete_staged(app: AppState, st: UtilitiesState) {
    let Ok(store) = store() else { return };
    match store.delete_staged(STAGED_ID).await {
        Ok(()) => {
            st.staged.set(None);
            app.info("The staged file was deleted. Nothing was applied.");
        }
        Err(e) => app.error(e.to_string()),
    }
}

/// Step 2: plan in chunks, commit atomically with the history record, report.
async fn process(app: AppState, st: UtilitiesState) {
    let store = match store() {
        Ok(s) => s,
        Err(e) => {
            app.error(e);
            return;
        }
    };
    let staged = match store.get_staged(STAGED_ID).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            st.staged.set(None);
            app.error("No file is staged any more.");
            return;
        }
        Err(e) => {
            app.error(e.to_string());
            return;
        }
    };
    let already = app
        .crm
        .with_untracked(|crm| last_import_of_file(crm, &staged.sha256).map(|r| (r.id, r.applied_at_ms)));
    if let Some((id, at)) = already {
        if !confirm(&format!(
            "This exact file (same SHA-256) was already processed as import #{id} on {}. Process it again? Records that already hold its values stay unchanged.",
            local_time_text(at)
        )) {
            return;
        }
    }
    st.busy.set(true);
    let started = monotonic_ms();
    app.set_progress(&format!("Reading {}", staged.file_name), 0, 1);
    yield_to_browser().await;
    let sheet = match read_sheet(&staged.file_name, &staged.bytes) {
        Ok(s) => s,
        Err(e) => {
            st.busy.set(false);
            app.clear_progress();
            app.error(e.to_string());
            return;
        }
    };
    let recognised = match recognise_file(None, &sheet.header) {
        Ok(r) => r,
        Err(problem) => {
            st.busy.set(false);
            app.clear_progress();
            app.error(problem.to_string());
            return;
        }
    };
    let template = recognised.template;
    let crm = app.crm.get_untracked();
    let validated = validate_chunked(app, &crm, &recognised, &sheet, st.order.get_untracked()).await;
    let total = validated.rows.len();
    let mut planner = Planner::new(&crm, template, &validated, Default::default());
    for (n, chunk) in validated.rows.chunks(CHUNK).enumerate() {
        app.set_progress("Planning the changes", n * CHUNK, total);
        yield_to_browser().await;
        for (k, row) in chunk.iter().enumerate() {
            planner.row(n * CHUNK + k, row);
        }
    }
    let plan = planner.finish();
    let ctx = ApplyContext {
        template_id: template.id.to_string(),
        operator_login: app.operator.get_untracked(),
        applied_at_ms: now_ms(),
        file_name: staged.file_name.clone(),
        sha256: staged.sha256.clone(),
    };
    let (changes, record) = match apply(&crm, &plan, &ctx) {
        Ok(built) => built,
        Err(e) => {
            st.busy.set(false);
            app.clear_progress();
            app.error(e.to_string());
            return;
        }
    };
    app.set_progress(&format!("Writing {} records in one transaction", changes.puts.len()), 0, 1);
    yield_to_browser().await;
    let import_id = match app.commit(changes).await {
        Ok(committed) => committed.import_id().unwrap_or(record.id),
        Err(e) => {
            st.busy.set(false);
            app.clear_progress();
            app.error(format!("The file was not processed: {e}. Nothing was written."));
            return;
        }
    };
    let _ = store.delete_staged(STAGED_ID).await;
    st.staged.set(None);
    let after = app.crm.get_untracked();
    let sample = verification_sample(&after, template, &validated, &plan, &staged.sha256);
    let seconds = (monotonic_ms() - started) / 1000.0;
    app.clear_progress();
    st.busy.set(false);
    let c = plan.counts;
    app.success(format!(
        "Import #{} processed in {}: {} updated, {} unchanged, {} skipped, {} invalid.",
        import_id,
        seconds_text(seconds),
        c.updated,
        c.unchanged,
        c.skipped,
        c.errors
    ));
    st.result.set(Some(Arc::new(ProcessResult {
        import_id,
        file_name: staged.file_name,
        template,
        plan,
        sample,
        seconds,
    })));
}

fn download_template(app: AppState, template: &'static Template, xlsx: bool) {
    let outcome = if xlsx {
        write_template_workbook(template)
            .map_err(|e| e.to_string())
            .and_then(|bytes| download(&bytes, &format!("{}-template.xlsx", template.id), XLSX_MIME))
    } else {
        download(
            template_csv(template).as_bytes(),
            &format!("{}-template.csv", template.id),
            "text/csv;charset=utf-8",
        )
    };
    if let Err(e) = outcome {
        app.error(e);
    }
}

fn download_status_report(app: AppState) {
    let outcome = app
        .crm
        .with_untracked(|crm| write_insurance_status_report(crm))
        .map_err(|e| e.to_string())
        .and_then(|bytes| download(&bytes, "insurance-status-report.xlsx", XLSX_MIME));
    if let Err(e) = outcome {
        app.error(e);
    }
}

#[component]
pub fn UtilitiesPage() -> impl IntoView {
    let app = use_app();
    let allowed = move || app.current_operator().map(|o| o.has(Role::ManageSettings)).unwrap_or(false);
    view! {
        <section class="utilities">
            <h2>"System Utilities"</h2>
            <Show when=allowed fallback=move || view! { <Locked/> }>
                <BulkInsurance/>
            </Show>
        </section>
    }
}

#[component]
fn Locked() -> impl IntoView {
    let app = use_app();
    let holders = move || {
        app.crm.with(|crm| {
            crm.operators
                .values()
                .filter(|o| o.has(Role::ManageSettings))
                .map(|o| format!("{} ({})", o.name, o.login))
                .collect::<Vec<_>>()
        })
    };
    let who = move || {
        app.current_operator()
            .map(|o| format!("{} ({})", o.name, o.login))
            .unwrap_or_else(|| "No operator".into())
    };
    view! {
        <div class="panel warning" data-testid="utilities-locked">
            <p>
                <strong>"Bulk Insurance Import and Process needs the Manage Settings permission. "</strong>
                {move || format!("{} does not have it.", who())}
            </p>
            <p>
                {move || {
                    let h = holders();
                    if h.is_empty() {
                        "No operator in this CRM has Manage Settings.".to_string()
                    } else {
                        format!("Operators with Manage Settings: {}. Choose one of them in the Operator list at the top right.", h.join(", "))
                    }
                }}
            </p>
            <p class="muted">
                "The operator is chosen locally: this gates the workflow and attributes the import history; it is not authentication."
            </p>
        </div>
    }
}

#[component]
fn BulkInsurance() -> impl IntoView {
    let app = use_app();
    let st = UtilitiesState {
        staged: RwSignal::new(None),
        result: RwSignal::new(None),
        chosen: RwSignal::new(String::new()),
        order: RwSignal::new(load_setting::<String>(ORDER_KEY).map(|v| order_from(&v)).unwrap_or_default()),
        busy: RwSignal::new(false),
    };
    spawn_local(load_staged(app, st));
    let on_file = move |ev: web_sys::Event| {
        if let Some(f) = first_file_of_input(&ev) {
            spawn_local(stage_file(app, st, f));
        }
    };
    let on_order = move |ev| {
        let v = event_target_value(&ev);
        save_setting(ORDER_KEY, &v);
        st.order.set(order_from(&v));
    };
    let counts = move || app.crm.with(|crm| status_counts(crm));
    view! {
        <div class="panel">
            <h3>"Bulk Insurance Import and Process"</h3>
            <p class="muted">
                "Step 1 stages a user or device insurance file: its headers must be exactly a template's, and nothing is applied. Step 2 processes it: every row whose User ID / Device Serial exists overwrites that record's insurance fields with the file's values (an empty optional cell clears the field); unknown IDs are skipped and listed; records not in the file are untouched. Processing is one transaction, recorded in the import history and undoable."
            </p>
            <div class="actions">
                <button data-testid="insurance-template-user" on:click=move |_| download_template(app, &USER_INSURANCE, false)>
                    "User insurance template (CSV)"
                </button>
                <button class="link" data-testid="insurance-template-user-xlsx" on:click=move |_| download_template(app, &USER_INSURANCE, true)>
                    "XLSX"
                </button>
                <button data-testid="insurance-template-device" on:click=move |_| download_template(app, &DEVICE_INSURANCE, false)>
                    "Device insurance template (CSV)"
                </button>
                <button class="link" data-testid="insurance-template-device-xlsx" on:click=move |_| download_template(app, &DEVICE_INSURANCE, true)>
                    "XLSX"
                </button>
            </div>
            <p class="muted">
                "User insurance: " {USER_INSURANCE.headers().join(", ")} ". Device insurance: "
                {DEVICE_INSURANCE.headers().join(", ")}
                ". Insurance Status accepts Yes, No, Enrolled or Not Enrolled (any case); Coverage Amount a decimal with at most two places."
            </p>
            <div class="actions">
                <label class="field">
                    "File is a "
                    <select data-testid="insurance-template-select" on:change=move |ev| st.chosen.set(event_target_value(&ev))>
                        <option value="" selected=true>"template recognised from its headers"</option>
                        <option value=USER_INSURANCE.id>{USER_INSURANCE.name}" file"</option>
                        <option value=DEVICE_INSURANCE.id>{DEVICE_INSURANCE.name}" file"</option>
                    </select>
                </label>
                <label class="field">
                    "Dates that are not YYYY-MM-DD are "
                    <select data-testid="insurance-date-order" on:change=on_order prop:value=move || order_value(st.order.get())>
                        <option value="iso">"refused (ISO and Excel dates only)"</option>
                        <option value="day-first">"day/month/year"</option>
                        <option value="month-first">"month/day/year"</option>
                    </select>
                </label>
            </div>
            <label class="field">
                "Step 1 — upload (XLSX or CSV) "
                <input
                    type="file"
                    accept=".xlsx,.csv,.txt"
                    data-testid="insurance-file-input"
                    disabled=move || st.busy.get()
                    on:change=on_file
                />
            </label>
            {move || match st.staged.get() {
                None => view! { <p class="muted" data-testid="insurance-none-staged">"No file is staged."</p> }.into_any(),
                Some(s) => {
                    view! {
                        <div class="staged-card" data-testid="insurance-staged">
                            <strong>"Staged: "</strong>
                            <span data-testid="insurance-staged-name">{s.file_name.clone()}</span>
                            {format!(
                                " · {} · {:.1} KB · {} rows · staged {} · SHA-256 {}…",
                                s.template.name,
                                s.size as f64 / 1024.0,
                                s.rows,
                                local_time_text(s.staged_at_ms),
                                &s.sha256[..12.min(s.sha256.len())]
                            )}
                            <div class="actions">
                                <button
                                    class="primary"
                                    data-testid="insurance-process"
                                    disabled=move || st.busy.get()
                                    on:click=move |_| spawn_local(process(app, st))
                                >
                                    "Step 2 — Process"
                                </button>
                                <button
                                    class="danger"
                                    data-testid="insurance-delete"
                                    disabled=move || st.busy.get()
                                    on:click=move |_| spawn_local(delete_staged(app, st))
                                >
                                    "Delete"
                                </button>
                            </div>
                        </div>
                    }
                        .into_any()
                }
            }}
        </div>
        {move || st.result.get().map(|r| view! { <ResultPanel result=r/> })}
        <div class="panel">
            <h3>"Insurance status"</h3>
            {move || {
                let (u, d) = counts();
                view! {
                    <table class="grid compact" style="width:auto" data-testid="insurance-status-summary">
                        <thead>
                            <tr>
                                <th>"Record type"</th>
                                <th class="num">"Enrolled"</th>
                                <th class="num">"Not enrolled"</th>
                                <th class="num">"None"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <tr>
                                <td>"School users"</td>
                                <td class="num">{u.enrolled}</td>
                                <td class="num">{u.not_enrolled}</td>
                                <td class="num">{u.none}</td>
                            </tr>
                            <tr>
                                <td>"Devices"</td>
                                <td class="num">{d.enrolled}</td>
                                <td class="num">{d.not_enrolled}</td>
                                <td class="num">{d.none}</td>
                            </tr>
                        </tbody>
                    </table>
                }
            }}
            <div class="actions">
                <button data-testid="insurance-status-report" on:click=move |_| download_status_report(app)>
                    "Download the insurance status report (XLSX)"
                </button>
            </div>
        </div>
    }
}

#[component]
fn ResultPanel(result: Arc<ProcessResult>) -> impl IntoView {
    let app = use_app();
    let c = result.plan.counts;
    let import_id = result.import_id;
    let can_undo = move || app.crm.with(|crm| last_undoable(crm).map(|r| r.id) == Some(import_id));
    let report_result = result.clone();
    let on_report = move |_| {
        let r = &report_result;
        let stem = r.file_name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&r.file_name).to_string();
        let outcome = write_insurance_results_report(r.template, &r.plan)
            .map_err(|e| e.to_string())
            .and_then(|bytes| download(&bytes, &format!("{stem}-skipped-and-invalid.xlsx"), XLSX_MIME));
        if let Err(e) = outcome {
            app.error(e);
        }
    };
    let skipped_ids: Vec<String> = result
        .plan
        .rows
        .iter()
        .filter(|r| matches!(r.action, RowAction::Skip(_)))
        .take(LISTED)
        .map(|r| format!("{} (row {})", r.record_label(), r.sheet_row))
        .collect();
    let invalid_rows: Vec<String> = result
        .plan
        .rows
        .iter()
        .filter(|r| r.action == RowAction::Error)
        .map(|r| format!("row {} ({}): {}", r.sheet_row, r.record_label(), r.errors.join("; ")))
        .take(LISTED)
        .collect();
    // "Skipped (the first 20 of 19700; the XLSX below lists them all): …" when the list is cut.
    let listed = |shown: usize, total: usize, what: &str| {
        if total > shown {
            format!("{what} (the first {shown} of {total}; the XLSX below lists them all): ")
        } else {
            format!("{what}: ")
        }
    };
    let skipped_label = listed(skipped_ids.len(), c.skipped, "Skipped");
    let invalid_label = listed(invalid_rows.len(), c.errors, "Invalid");
    let sample = result.sample.clone();
    let headers: Vec<String> = result.template.headers().iter().map(|h| h.to_string()).collect();
    view! {
        <div class="panel" data-testid="insurance-result">
            <h3>
                {format!(
                    "Processed {} as import #{} ({})",
                    result.file_name,
                    result.import_id,
                    seconds_text(result.seconds)
                )}
            </h3>
            <div class="counters">
                <div class="counter ok">
                    <span class="big" data-testid="ins-updated">{c.updated}</span>
                    "updated"
                </div>
                <div class="counter">
                    <span class="big" data-testid="ins-unchanged">{c.unchanged}</span>
                    "unchanged"
                </div>
                <div class="counter warning">
                    <span class="big" data-testid="ins-skipped">{c.skipped}</span>
                    "skipped (ID not found)"
                </div>
                <div class="counter error">
                    <span class="big" data-testid="ins-invalid">{c.errors}</span>
                    "invalid"
                </div>
            </div>
            {(!skipped_ids.is_empty())
                .then(|| {
                    view! {
                        <p data-testid="insurance-skipped-list">
                            <strong>{skipped_label}</strong>
                            {skipped_ids.join(", ")}
                        </p>
                    }
                })}
            {(!invalid_rows.is_empty())
                .then(|| {
                    view! {
                        <div data-testid="insurance-invalid-list">
                            <strong>{invalid_label}</strong>
                            <ul class="plain">{invalid_rows.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ul>
                        </div>
                    }
                })}
            <div class="actions">
                <button data-testid="insurance-skipped-download" on:click=on_report>
                    "Download skipped IDs and invalid rows (XLSX)"
                </button>
                <button data-testid="insurance-status-report-after" on:click=move |_| download_status_report(app)>
                    "Download the insurance status report (XLSX)"
                </button>
                <button
                    class="danger"
                    data-testid="insurance-undo"
                    disabled=move || !can_undo()
                    on:click=move |_| undo_last_import(app)
                >
                    "Undo this import"
                </button>
            </div>
            {(!sample.is_empty())
                .then(|| {
                    view! {
                        <h4>{format!("Check these {} updated records against the file", sample.len())}</h4>
                        <table class="grid compact" data-testid="insurance-sample">
                            <thead>
                                <tr>
                                    <th>"Row"</th>
                                    <th>"Source"</th>
                                    {headers.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}
                                    <th>"Agrees"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {sample
                                    .into_iter()
                                    .map(|s| {
                                        let file: Vec<String> = s.file_values.iter().map(|(_, v)| v.clone()).collect();
                                        let stored: Vec<String> = s.stored_values.iter().map(|(_, v)| v.clone()).collect();
                                        let mark = if s.agrees { "✓" } else { "✗" };
                                        view! {
                                            <tr>
                                                <td rowspan="2">{s.sheet_row}</td>
                                                <td>"File"</td>
                                                {file.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                                                <td rowspan="2" class:error-text=!s.agrees>{mark}</td>
                                            </tr>
                                            <tr>
                                                <td class="muted">"Stored"</td>
                                                {stored.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                })}
        </div>
    }
}
