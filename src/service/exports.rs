//! The workbooks the CRM is written to, for a download: a portfolio's Insured CRM Export (and
//! how much it holds), a template's model spreadsheet or header row, the insurance status
//! report, and the account and contact exports of a profile.

use crate::core::accounts::export::write_accounts_export;
use crate::core::date::Date;
use crate::core::index::CrmIndex;
use crate::core::insurance::report::{status_counts, write_insurance_status_report};
use crate::core::insured::base::ExportBase;
use crate::core::insured::export::{
    insured_export_file_name, insured_export_rows, portfolio_case_ids, write_insured_export_counted,
};
use crate::core::ledger::LedgerFile;
use crate::core::text::slug;
use crate::core::workflows;
use crate::protocol::{
    AccountsExport, Download, ExportFigures, ExportPreview, InsuranceFigures, InsuranceStatusCounts,
    InsuranceStatusReport, InsuredExport, TemplateFile, CSV_MIME,
};
use crate::store::CrmStore;

use super::failure::{CrmRefusal, Failure, SessionRefusal};
use super::handle::{Call, Handle};
use super::{Service, Ticker};

impl<S: CrmStore> Handle<S> for ExportPreview {
    /// How many cases, insureds and rows a portfolio's export holds.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<ExportFigures, Failure> {
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let index = CrmIndex::new(crm);
        let case_ids = portfolio_case_ids(crm, self.portfolio_id);
        let rows = insured_export_rows(&index, &case_ids);
        let insureds: usize = case_ids.iter().map(|c| index.insureds_of_case(*c).len()).sum();
        Ok(ExportFigures { cases: case_ids.len(), insureds, rows: rows.len() })
    }
}

impl<S: CrmStore> Handle<S> for InsuredExport {
    /// The Insured CRM Export of a portfolio, with its export base.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Download, Failure> {
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let portfolio = crm.portfolios.get(&self.portfolio_id).ok_or(CrmRefusal::PortfolioGone)?;
        call.ticker.tick(&format!("Writing the export of {}", portfolio.name), 0, 1).await?;
        let index = CrmIndex::new(crm);
        let rows = insured_export_rows(&index, &portfolio_case_ids(crm, self.portfolio_id));
        // The export base lets a re-import of this file tell the operator's edits from values
        // the CRM has changed since.
        let base =
            ExportBase::of_export(&index, &rows, self.portfolio_id, call.now_ms, Some(&stored.revisions));
        let file =
            write_insured_export_counted(&rows, base.as_ref()).map_err(Failure::not_written("The export"))?;
        let name = insured_export_file_name(&portfolio.name, Date::from_unix_ms(call.now_ms));
        drop(stored);
        svc.give_recorded(LedgerFile::InsuredExport, name, &self.operator_login, call.now_ms, file).await
    }
}

impl<S: CrmStore> Handle<S> for TemplateFile {
    /// A template's model spreadsheet (as its workflow writes it), or its header row as CSV.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        let (workflow, template) = workflows::of_template(svc.workflows(), &self.template_id)
            .ok_or(SessionRefusal::NoSuchTemplate(self.template_id))?;
        if self.csv {
            return Ok(Download {
                name: format!("{}-template.csv", template.id),
                mime: CSV_MIME.into(),
                bytes: template.header_csv().into_bytes(),
            });
        }
        // A copy that cannot be read still offers its templates (a model spreadsheet then lists
        // no operator logins).
        let stored = svc.current().await.unwrap_or_default();
        let (name, written) = workflow.template_workbook(&stored.crm, template);
        let bytes = written.map_err(Failure::not_written(name.clone()))?;
        Ok(Download::xlsx(name, bytes))
    }
}

impl<S: CrmStore> Handle<S> for InsuranceStatusCounts {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<InsuranceFigures, Failure> {
        let stored = svc.current().await?;
        let (users, devices) = status_counts(&stored.crm);
        Ok(InsuranceFigures { users, devices })
    }
}

impl<S: CrmStore> Handle<S> for InsuranceStatusReport {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        let stored = svc.current().await?;
        let bytes = write_insurance_status_report(&stored.crm)
            .map_err(Failure::not_written("The insurance status report"))?;
        Ok(Download::xlsx("insurance-status-report.xlsx".into(), bytes))
    }
}

impl<S: CrmStore> Handle<S> for AccountsExport {
    /// The accounts (or contacts) export of a profile.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Download, Failure> {
        let stored = svc.current().await?;
        let bytes = write_accounts_export(&stored.crm, &self.profile, &self.filters)
            .map_err(Failure::not_written("The export"))?;
        let scope = self.filters.portfolio.clone().unwrap_or_else(|| "all".into());
        let name = format!("{}-{}.xlsx", self.profile.kind.label().to_lowercase(), slug(&scope));
        Ok(Download::xlsx(name, bytes))
    }
}
