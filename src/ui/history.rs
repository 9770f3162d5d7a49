//! Import history: every applied import with its operator, time, file, fingerprint and
//! counts, and undo of the most recent one (which restores the state before it).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::core::model::Record;
use crate::core::plan::history::{last_undoable, undo};
use crate::core::revision::checked_undo;
use crate::ui::browser::{confirm, local_time_text};
use crate::ui::state::{use_app, AppState};

/// Undoes the most recent import after a confirmation.
pub fn undo_last_import(app: AppState) {
    let Some(last) = app.crm.with_untracked(|crm| last_undoable(crm).cloned()) else {
        app.error("There is no import to undo.");
        return;
    };
    if !confirm(&format!(
        "Undo import #{} of {} ({} records touched)? Every record goes back to how it was before that import.",
        last.id,
        last.file_name,
        last.before_images.len()
    )) {
        return;
    }
    spawn_local(async move {
        let changes = match app.crm.with_untracked(|crm| undo(crm)) {
            Ok(c) => c,
            Err(e) => {
                app.error(e.to_string());
                return;
            }
        };
        let import_key = Record::Import(last.clone()).key();
        let written = last.before_images.iter().map(|b| b.key.clone());
        let batch = app.revisions.with_value(|(revisions, sequence)| {
            checked_undo(*sequence, revisions, &import_key, written, changes)
        });
        let batch = match batch {
            Ok(b) => b,
            Err(stale) => {
                app.error(format!(
                    "Import #{} cannot be undone: records it wrote were changed after it ({}). Undo restores \
                     all of an import or nothing, so nothing was changed.",
                    last.id,
                    stale.changed_text()
                ));
                return;
            }
        };
        match app.commit_checked(&batch).await {
            Ok(_) => app.success(format!("Import #{} of {} was undone.", last.id, last.file_name)),
            Err(e) => app.error(format!("The undo could not be written: {e}. Nothing was changed.")),
        }
    });
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let app = use_app();
    let imports =
        Memo::new(move |_| app.crm.with(|crm| crm.imports.values().rev().cloned().collect::<Vec<_>>()));
    let can_undo = move || app.crm.with(|crm| last_undoable(crm).is_some());
    view! {
        <section class="panel">
            <h2>"Import history"</h2>
            <p class="muted">"Every applied import, newest first. The most recent import that is not undone can be undone."</p>
            <button
                data-testid="undo-last-import"
                disabled=move || !can_undo()
                on:click=move |_| undo_last_import(app)
            >
                "Undo the most recent import"
            </button>
            <table class="grid" data-testid="history-table">
                <thead>
                    <tr>
                        <th>"#"</th>
                        <th>"Applied"</th>
                        <th>"Operator"</th>
                        <th>"Template"</th>
                        <th>"File"</th>
                        <th>"SHA-256"</th>
                        <th class="num">"Created"</th>
                        <th class="num">"Updated"</th>
                        <th class="num">"Added"</th>
                        <th class="num">"Unchanged"</th>
                        <th class="num">"Skipped"</th>
                        <th class="num">"Errors"</th>
                        <th>"State"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        imports
                            .get()
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <tr>
                                        <td>{r.id}</td>
                                        <td>{local_time_text(r.applied_at_ms)}</td>
                                        <td>{r.operator_login.clone()}</td>
                                        <td>{r.template_id.clone()}</td>
                                        <td>{r.file_name.clone()}</td>
                                        <td class="mono" title=r.sha256.clone()>{r.sha256.chars().take(12).collect::<String>()}</td>
                                        <td class="num">{r.counts.created}</td>
                                        <td class="num">{r.counts.updated}</td>
                                        <td class="num">{r.counts.added}</td>
                                        <td class="num">{r.counts.unchanged}</td>
                                        <td class="num">{r.counts.skipped}</td>
                                        <td class="num">{r.counts.errors}</td>
                                        <td>{if r.undone { "Undone" } else { "Applied" }}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </section>
    }
}
