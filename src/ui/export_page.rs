//! Export: the Insured CRM Export (XLSX) of one portfolio — one row per contact detail per
//! insured — with a preview of how many rows and insureds it will hold.

use leptos::prelude::*;

use crate::core::date::Date;
use crate::core::index::CrmIndex;
use crate::core::insured::export::{
    insured_export_file_name, insured_export_rows, portfolio_case_ids, write_insured_export,
};
use crate::ui::browser::{download, now_ms, XLSX_MIME};
use crate::ui::state::use_app;

/// Builds and downloads the export of one portfolio; returns the row count.
pub fn download_portfolio_export(crm: &crate::core::model::Crm, portfolio_id: u32) -> Result<usize, String> {
    let portfolio = crm.portfolios.get(&portfolio_id).ok_or("That portfolio no longer exists.")?;
    let index = CrmIndex::new(crm);
    let rows = insured_export_rows(&index, &portfolio_case_ids(crm, portfolio_id));
    let bytes = write_insured_export(&rows).map_err(|e| e.to_string())?;
    let name = insured_export_file_name(&portfolio.name, Date::from_unix_ms(now_ms()));
    download(&bytes, &name, XLSX_MIME)?;
    Ok(rows.len())
}

#[component]
pub fn ExportPage() -> impl IntoView {
    let app = use_app();
    let chosen = RwSignal::new(app.crm.with_untracked(|c| c.portfolios.keys().next().copied()));
    let portfolios = Memo::new(move |_| {
        app.crm.with(|crm| {
            crm.portfolios.values().map(|p| (p.id, p.name.clone(), p.case_ids.len())).collect::<Vec<_>>()
        })
    });
    let preview = Memo::new(move |_| {
        let id = chosen.get()?;
        app.crm.with(|crm| {
            let index = CrmIndex::new(crm);
            let case_ids = portfolio_case_ids(crm, id);
            let rows = insured_export_rows(&index, &case_ids);
            let insureds: usize = case_ids.iter().map(|c| index.insureds_of_case(*c).len()).sum();
            Some((case_ids.len(), insureds, rows.len()))
        })
    });
    let on_download = move |_| {
        let Some(id) = chosen.get_untracked() else {
            app.error("Choose a portfolio to export.");
            return;
        };
        match app.crm.with_untracked(|crm| download_portfolio_export(crm, id)) {
            Ok(n) => app.success(format!("Insured CRM Export downloaded: {n} rows.")),
            Err(e) => app.error(format!("The export could not be written: {e}")),
        }
    };
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
                        portfolios
                            .get()
                            .into_iter()
                            .map(|(id, name, cases)| {
                                view! {
                                    <option value=id.to_string() selected=move || chosen.get() == Some(id)>
                                        {format!("{name} ({cases} cases)")}
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
                    .map(|(cases, insureds, rows)| {
                        view! {
                            <p data-testid="export-preview">
                                <span data-testid="export-row-count">{rows}</span>
                                {format!(" rows · {insureds} insureds · {cases} cases")}
                            </p>
                        }
                    })
            }}
            <button class="primary" data-testid="export-download" on:click=on_download>
                "Download XLSX"
            </button>
        </section>
    }
}
