//! Step 1: choose a template, download it, see the file staged for it (continue or discard),
//! or stage a new file by picking or dropping it.

use leptos::prelude::*;

use crate::protocol::{ChooseTemplate, ImportOptions, StagedCard, TemplateView, WorkflowId};
use crate::ui::browser::{confirm, first_file_of_drop, first_file_of_input, local_time_text};
use crate::ui::state::use_app;
use crate::ui::templates::TemplateDownload;
use crate::ui::workflow::use_workflow;

#[component]
pub fn UploadStep(
    workflow: WorkflowId,
    template: TemplateView,
    templates: Vec<TemplateView>,
    staged: Option<StagedCard>,
) -> impl IntoView {
    let app = use_app();
    let state = use_workflow(workflow);
    let dragging = RwSignal::new(false);
    let staged_name = staged.as_ref().map(|s| s.file_name.clone());
    let template_name = template.name.clone();
    let stage = move |file: web_sys::File| {
        if let Some(old) = &staged_name {
            if !confirm(&format!(
                "A file is already staged for {template_name}: {old}. Replace it with {}?",
                file.name()
            )) {
                return;
            }
        }
        state.stage(file, ImportOptions::default());
    };
    let on_file = {
        let stage = stage.clone();
        move |ev: web_sys::Event| {
            if let Some(f) = first_file_of_input(&ev) {
                stage(f);
            }
        }
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(f) = first_file_of_drop(&ev) {
            stage(f);
        }
    };
    let chosen = template.id.clone();
    let busy = state.busy();
    let _ = app;
    view! {
        <div class="panel">
            <h2>"Stage a file"</h2>
            <label class="field">
                "Template"
                <select
                    data-testid="import-template-select"
                    on:change=move |ev| state.go(ChooseTemplate { workflow, template_id: event_target_value(&ev) })
                >
                    {templates
                        .into_iter()
                        .map(|t| {
                            let selected = t.id == chosen;
                            view! { <option value=t.id.clone() selected=selected>{t.name.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <p class="muted">{template.description.clone()}</p>
            <TemplateDownload template_id=template.id.clone() test_id="template-download" label="Download the template (XLSX)"/>
            <div data-testid="import-stage-status">
                {match staged {
                    None => view! { <p class="muted">"No file is staged for this template."</p> }.into_any(),
                    Some(s) => {
                        view! {
                            <div class="staged-card" data-testid="import-staged">
                                <strong>"Staged: "</strong>
                                <span data-testid="import-staged-name">{s.file_name.clone()}</span>
                                {format!(
                                    " · {:.1} KB · {} rows · staged {} · SHA-256 {}…",
                                    s.size as f64 / 1024.0,
                                    s.row_count,
                                    local_time_text(s.staged_at_ms),
                                    &s.sha256[..12.min(s.sha256.len())]
                                )}
                                <div class="actions">
                                    <button
                                        class="primary"
                                        data-testid="import-resume"
                                        disabled=move || busy.get()
                                        on:click=move |_| state.resume(ImportOptions::default())
                                    >
                                        "Continue with this file"
                                    </button>
                                    <button
                                        class="danger"
                                        data-testid="import-discard"
                                        disabled=move || busy.get()
                                        on:click=move |_| state.discard()
                                    >
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
