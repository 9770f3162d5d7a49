//! Import history: every applied import with its operator, time, file, fingerprint and
//! counts, and undo of the most recent one (which restores the state before it, or is refused
//! whole when a record it wrote was changed after it).

use leptos::prelude::*;

use crate::core::plan::history::ApplyRefusal;
use crate::protocol::{History, ImportView, Undo};
use crate::ui::browser::{confirm, local_time_text};
use crate::ui::state::{use_app, AppState};

/// Undoes the most recent import after a confirmation; the portfolios it touched are
/// returned (their synced export is rewritten).
pub async fn undo_last_import(app: AppState) -> Option<Vec<u32>> {
    let Some(last) = app.summary.with_untracked(|s| s.last_undoable.clone()) else {
        app.error(ApplyRefusal::NothingToUndo.to_string());
        return None;
    };
    if !confirm(&format!(
        "Undo import #{} of {} ({} records touched)? Every record goes back to how it was before that import.",
        last.id, last.file_name, last.records
    )) {
        return None;
    }
    match app.call(Undo { import_id: last.id }).await {
        Ok(undone) => {
            app.success(undone.message);
            Some(undone.portfolios)
        }
        Err(e) => {
            app.error(e);
            None
        }
    }
}

/// The Undo button shared by the pages that offer it.
#[component]
pub fn UndoButton(#[prop(optional)] import_id: Option<u32>, #[prop(into)] label: String) -> impl IntoView {
    let app = use_app();
    let undo = Action::new_local(move |_: &()| async move {
        if let Some(portfolios) = undo_last_import(app).await {
            crate::ui::sync::after_change(app, &portfolios).await;
        }
    });
    let enabled = move || {
        app.summary.with(|s| match (&s.last_undoable, import_id) {
            (Some(last), Some(id)) => last.id == id,
            (Some(_), None) => true,
            (None, _) => false,
        }) && app.writable()
    };
    view! {
        <button
            data-testid="undo-last-import"
            disabled=move || !enabled() || undo.pending().get()
            on:click=move |_| {
                undo.dispatch(());
            }
        >
            {label}
        </button>
    }
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let app = use_app();
    let imports = LocalResource::new(move || {
        let _ = app.summary.with(|s| s.sequence);
        async move { app.call(History).await.unwrap_or_default() }
    });
    view! {
        <section class="panel">
            <h2>"Import history"</h2>
            <p class="muted">"Every applied import, newest first. The most recent import that is not undone can be undone."</p>
            <UndoButton label="Undo the most recent import"/>
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
                            .unwrap_or_default()
                            .into_iter()
                            .map(|r: ImportView| {
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
