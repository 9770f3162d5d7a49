//! Export: the Insured CRM Export (XLSX) of one portfolio — one row per contact detail per
//! insured — with a preview of how many rows and insureds it will hold. The worker writes it.

use leptos::prelude::*;

use crate::protocol::{ExportPreview, InsuredExport};
use crate::ui::state::use_app;
use crate::ui::sync::SyncControls;

#[component]
pub fn ExportPage() -> impl IntoView {
    let app = use_app();
    let chosen = RwSignal::new(app.summary.with_untracked(|s| s.portfolios.first().map(|p| p.id)));
    let preview = LocalResource::new(move || {
        let id = chosen.get();
        let _ = app.summary.with(|s| s.sequence);
        async move {
            match app.call(ExportPreview { portfolio_id: id? }).await {
                Ok(f) => Some((f.cases, f.insureds, f.rows)),
                _ => None,
            }
        }
    });
    let portfolio_name = Signal::derive(move || {
        let id = chosen.get();
        app.summary.with(|s| {
            s.portfolios.iter().find(|p| Some(p.id) == id).map(|p| p.name.clone()).unwrap_or_default()
        })
    });
    let download = Action::new_local(move |id: &u32| {
        let id = *id;
        let rows = preview.get_untracked().flatten().map(|(_, _, rows)| rows);
        async move {
            match app
                .download(InsuredExport { portfolio_id: id, operator_login: app.operator.get_untracked() })
                .await
            {
                Ok(name) => app.success(match rows {
                    Some(rows) => format!("Insured CRM Export downloaded: {rows} rows in {name}."),
                    None => format!("Insured CRM Export downloaded: {name}."),
                }),
                Err(e) => app.error(e),
            }
        }
    });
    view! {
        <section class="panel narrow">
            <h2>"Insured CRM Export (XLSX)"</h2>
            <p class="muted">
                "One row per contact detail per insured on the portfolio's cases, with each detail's Public ID. Edit it in Excel and import it back: keep the Public ID to update a detail, leave it blank to add one."
            </p>
            <label class="field">
                "Portfolio"
                <select
                    data-testid="export-portfolio-select"
                    on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())
                >
                    {move || {
                        app.summary
                            .with(|s| s.portfolios.clone())
                            .into_iter()
                            .map(|p| {
                                let id = p.id;
                                view! {
                                    <option value=id.to_string() selected=move || chosen.get() == Some(id)>
                                        {format!("{} ({} cases)", p.name, p.cases)}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
            {move || {
                preview
                    .get()
                    .flatten()
                    .map(|(cases, insureds, rows)| {
                        view! {
                            <p data-testid="export-preview">
                                <span data-testid="export-row-count">{rows}</span>
                                {format!(" rows · {insureds} insureds · {cases} cases")}
                            </p>
                        }
                    })
            }}
            <button
                class="primary"
                data-testid="export-download"
                disabled=move || download.pending().get()
                on:click=move |_| match chosen.get_untracked() {
                    Some(id) => {
                        download.dispatch(id);
                    }
                    None => app.error("Choose a portfolio to export."),
                }
            >
                "Download XLSX"
            </button>
            <p class="muted">
                "Or keep a file in sync: every apply or undo that touches the portfolio rewrites it."
            </p>
            <div class="actions">
                <SyncControls app=app portfolio_id=chosen.into() portfolio_name=portfolio_name/>
            </div>
        </section>
    }
}
