//! Operations on the CRM as a whole: open it, load the demo or a snapshot in its place, write
//! the snapshot and the Insured CRM Export, temporary portfolios, the history and undo.

use std::rc::Rc;

use crate::core::date::Date;
use crate::core::demo::{demo_crm, DEMO_SEED};
use crate::core::index::CrmIndex;
use crate::core::insured::base::ExportBase;
use crate::core::insured::export::{
    insured_export_file_name, insured_export_rows, portfolio_case_ids, write_insured_export_with_base,
};
use crate::core::model::{ChangeSet, Counters, Crm, EntityKind, ImportRecord, Portfolio, Record, RecordKey};
use crate::core::plan::history::{last_undoable, undo, ApplyRefusal};
use crate::core::revision::{checked_undo, CheckedBatch, Expectation, Revision, Revisions};
use crate::core::snapshot::{read_snapshot, write_snapshot};
use crate::protocol::{CrmSummary, ImportView, XLSX_MIME};
use crate::store::CrmStore;

use super::failure::{CrmRefusal, Failure, SessionRefusal};
use super::views::{import_view, summary};
use super::{Service, Ticker};

/// A file for the page to offer as a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub name: String,
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl Download {
    pub fn xlsx(name: String, bytes: Vec<u8>) -> Download {
        Download { name, mime: XLSX_MIME.to_string(), bytes }
    }
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undone {
    pub import_id: u32,
    pub message: String,
    /// Portfolios whose cases the undone import touched (their synced export is rewritten).
    pub portfolios: Vec<u32>,
}

impl<S: CrmStore> Service<S> {
    /// Opens the CRM; an empty one gets the demo when `autoload_demo`.
    pub async fn open(&self, autoload_demo: bool, ticker: &impl Ticker) -> Result<CrmSummary, Failure> {
        match self.current().await {
            Ok(stored) => {
                if stored.crm.is_empty() && autoload_demo {
                    drop(stored);
                    self.load_demo(ticker).await?;
                }
                self.summary().await
            }
            // A damaged copy opens read-only: the page shows why and how to recover.
            Err(_) if self.read_only().is_some() => Ok(summary(&Default::default(), self.read_only())),
            Err(e) => Err(e),
        }
    }

    /// What every page shows of the CRM.
    pub async fn summary(&self) -> Result<CrmSummary, Failure> {
        match self.current().await {
            Ok(stored) => Ok(summary(&stored, self.read_only())),
            Err(_) if self.read_only().is_some() => Ok(summary(&Default::default(), self.read_only())),
            Err(e) => Err(e),
        }
    }

    /// Replaces the CRM with the generated demo.
    pub async fn load_demo(&self, ticker: &impl Ticker) -> Result<String, Failure> {
        ticker.tick("Generating the demo CRM", 0, 2).await?;
        let crm = demo_crm(DEMO_SEED, 1);
        ticker.tick("Writing the demo CRM to the browser's database", 1, 2).await?;
        let text = format!(
            "Demo CRM loaded: {} CRM entries, {} insureds on {} cases, {} accounts, {} school users, {} devices.",
            crm.entries.len(),
            crm.insureds.len(),
            crm.cases.len(),
            crm.accounts.len(),
            crm.school_users.len(),
            crm.devices.len()
        );
        self.replace(&crm).await?;
        Ok(text)
    }

    /// Reads a snapshot workbook and keeps it until the operator confirms; returns what it
    /// holds. A workbook that is not a valid snapshot is refused and nothing changes.
    pub async fn read_snapshot(
        &self,
        file_name: &str,
        bytes: &[u8],
        ticker: &impl Ticker,
    ) -> Result<(usize, usize, usize), Failure> {
        ticker.tick(&format!("Reading {file_name}"), 0, 1).await?;
        let crm = read_snapshot(file_name, bytes).map_err(|e| Failure::CrmUnchanged(Box::new(e.into())))?;
        let figures = (crm.entries.len(), crm.cases.len(), crm.accounts.len());
        *self.pending_snapshot.borrow_mut() = Some((file_name.to_string(), crm));
        Ok(figures)
    }

    /// Replaces the CRM with the snapshot read last.
    pub async fn replace_with_snapshot(&self, ticker: &impl Ticker) -> Result<String, Failure> {
        let Some((name, crm)) = self.pending_snapshot.borrow_mut().take() else {
            return Err(CrmRefusal::NoSnapshotWaiting.into());
        };
        ticker.tick("Writing the snapshot to the browser's database", 0, 1).await?;
        let entries = crm.entries.len();
        self.replace(&crm).await.map_err(|e| Failure::CrmUnchanged(Box::new(e)))?;
        Ok(format!("Snapshot {name} loaded: {entries} CRM entries."))
    }

    /// Forgets the snapshot read last.
    pub fn drop_snapshot(&self) {
        self.pending_snapshot.borrow_mut().take();
    }

    /// The whole CRM as a snapshot workbook.
    pub async fn snapshot_download(&self, now_ms: i64, ticker: &impl Ticker) -> Result<Download, Failure> {
        let stored = self.current().await?;
        ticker.tick("Writing the snapshot", 0, 1).await?;
        let bytes = write_snapshot(&stored.crm).map_err(Failure::not_written("The snapshot"))?;
        Ok(Download::xlsx(format!("roundtrip-crm-snapshot-{}.xlsx", Date::from_unix_ms(now_ms)), bytes))
    }

    /// How many cases, insureds and rows a portfolio's export holds.
    pub async fn export_preview(&self, portfolio_id: u32) -> Result<(usize, usize, usize), Failure> {
        let stored = self.current().await?;
        let crm = &stored.crm;
        let index = CrmIndex::new(crm);
        let case_ids = portfolio_case_ids(crm, portfolio_id);
        let rows = insured_export_rows(&index, &case_ids);
        let insureds: usize = case_ids.iter().map(|c| index.insureds_of_case(*c).len()).sum();
        Ok((case_ids.len(), insureds, rows.len()))
    }

    /// The Insured CRM Export of a portfolio.
    pub async fn insured_export(
        &self,
        portfolio_id: u32,
        now_ms: i64,
        ticker: &impl Ticker,
    ) -> Result<Download, Failure> {
        let stored = self.current().await?;
        let crm = &stored.crm;
        let portfolio = crm.portfolios.get(&portfolio_id).ok_or(CrmRefusal::PortfolioGone)?;
        ticker.tick(&format!("Writing the export of {}", portfolio.name), 0, 1).await?;
        let index = CrmIndex::new(crm);
        let rows = insured_export_rows(&index, &portfolio_case_ids(crm, portfolio_id));
        // The export base lets a re-import of this file tell the operator's edits from values
        // the CRM has changed since.
        let base = ExportBase::of_export(&index, &rows, portfolio_id, now_ms, Some(&stored.revisions));
        let bytes =
            write_insured_export_with_base(&rows, Some(&base)).map_err(Failure::not_written("The export"))?;
        Ok(Download::xlsx(insured_export_file_name(&portfolio.name, Date::from_unix_ms(now_ms)), bytes))
    }

    /// Creates a temporary portfolio of existing cases.
    pub async fn create_temporary_portfolio(
        &self,
        name: &str,
        owner_login: Option<String>,
        case_ids: Vec<u32>,
    ) -> Result<String, Failure> {
        let title = name.trim().to_string();
        if title.is_empty() {
            return Err(CrmRefusal::PortfolioUnnamed.into());
        }
        if case_ids.is_empty() {
            return Err(CrmRefusal::NoCasesChosen.into());
        }
        let stored = self.current().await?;
        if let Some(missing) = case_ids.iter().find(|c| !stored.crm.cases.contains_key(c)) {
            return Err(CrmRefusal::CaseGone(*missing).into());
        }
        let mut counters: Counters = stored.crm.counters;
        let id = counters.next_portfolio_id;
        counters.next_portfolio_id += 1;
        let portfolio =
            Portfolio { id, name: title.clone(), owner_login, temporary: true, case_ids: case_ids.clone() };
        let changes = ChangeSet {
            puts: vec![Record::Portfolio(portfolio), Record::Counters(counters)],
            deletes: vec![],
        };
        let case_keys = case_ids.iter().map(|c| RecordKey { kind: EntityKind::Case, id: c.to_string() });
        let batch =
            CheckedBatch::new(stored.sequence, &stored.revisions, stored.crm.counters, case_keys, changes);
        drop(stored);
        self.commit(&batch).await?;
        Ok(format!("Temporary portfolio \"{title}\" created with {} cases.", case_ids.len()))
    }

    /// Deletes a temporary portfolio; its cases are not touched.
    pub async fn delete_portfolio(&self, id: u32) -> Result<String, Failure> {
        let stored = self.current().await?;
        let Some(p) = stored.crm.portfolios.get(&id) else {
            return Err(CrmRefusal::PortfolioGone.into());
        };
        if !p.temporary {
            return Err(CrmRefusal::NotTemporary(p.name.clone()).into());
        }
        let name = p.name.clone();
        let key = RecordKey { kind: EntityKind::Portfolio, id: id.to_string() };
        let changes = ChangeSet { puts: vec![], deletes: vec![key.clone()] };
        let batch =
            CheckedBatch::new(stored.sequence, &stored.revisions, stored.crm.counters, [key], changes);
        drop(stored);
        self.commit(&batch).await?;
        Ok(format!("Temporary portfolio \"{name}\" deleted; its cases are unchanged."))
    }

    /// Every import, newest first.
    pub async fn history(&self) -> Result<Vec<ImportView>, Failure> {
        let stored = self.current().await?;
        Ok(stored.crm.imports.values().rev().map(import_view).collect())
    }

    /// Undoes the most recent import (`import_id` says which the operator saw). Refused whole
    /// when a record it wrote was changed after it.
    pub async fn undo(&self, import_id: u32) -> Result<Undone, Failure> {
        let stored: Rc<_> = self.current().await?;
        let crm = &stored.crm;
        let last = last_undoable(crm).cloned().ok_or(ApplyRefusal::NothingToUndo)?;
        if last.id != import_id {
            return Err(CrmRefusal::NotMostRecent { asked: import_id, last: last.id }.into());
        }
        let changes = undo(crm)?;
        let import_key = Record::Import(last.clone()).key();
        let restored = restored_by_later_undos(crm, &stored.revisions, &last);
        let written = last
            .before_images
            .iter()
            .map(|b| b.key.clone())
            .filter(|k| !restored.iter().any(|e| &e.key == k));
        let mut batch = checked_undo(stored.sequence, &stored.revisions, &import_key, written, changes)
            .map_err(|stale| CrmRefusal::UndoBlocked { import_id: last.id, changed: stale.changed_text() })?;
        batch.expected.extend(restored);
        let portfolios = portfolios_touched(crm, &last);
        drop(stored);
        self.commit(&batch).await.map_err(|e| Failure::UndoNotWritten(Box::new(e)))?;
        Ok(Undone {
            import_id,
            message: format!("Import #{} of {} was undone.", last.id, last.file_name),
            portfolios,
        })
    }
}

/// The records `record` wrote that a later import changed and whose undo put back: that undo
/// restored them to the later import's before-images, i.e. as `record` left them, so they do
/// not stop `record` from being undone. Each is expected at the revision of that undo (the
/// revision of the later import's history record, which the undo marked undone in the same
/// commit). Imports are undone newest first, so the record's last writer is the undo of the
/// earliest later import that touched it.
fn restored_by_later_undos(crm: &Crm, revisions: &Revisions, record: &ImportRecord) -> Vec<Expectation> {
    let undone_later: Vec<(Revision, &ImportRecord)> = crm
        .imports
        .values()
        .filter(|r| r.id > record.id && r.undone)
        .filter_map(|r| revisions.get(&Record::Import(r.clone()).key()).map(|at| (at, r)))
        .collect();
    record
        .before_images
        .iter()
        .filter_map(|b| {
            let at = revisions.get(&b.key)?;
            let put_back = undone_later
                .iter()
                .any(|(undone_at, r)| *undone_at == at && r.before_images.iter().any(|i| i.key == b.key));
            put_back.then(|| Expectation { key: b.key.clone(), revision: Some(at) })
        })
        .collect()
}

/// The portfolios holding a case whose insureds or entries an import touched.
pub fn portfolios_touched(crm: &Crm, record: &ImportRecord) -> Vec<u32> {
    let index = CrmIndex::new(crm);
    let mut cases = std::collections::BTreeSet::new();
    for image in &record.before_images {
        match image.key.kind {
            EntityKind::Insured => {
                let id: u32 = image.key.id.parse().unwrap_or(u32::MAX);
                if let Some(i) = crm.insureds.get(&id) {
                    cases.insert(i.case_id);
                }
            }
            EntityKind::Entry | EntityKind::Detail => {
                let entry = match image.key.kind {
                    EntityKind::Entry => image.key.id.parse().ok(),
                    _ => crm.details.get(&image.key.id).map(|d| d.entry_id).or(match &image.before {
                        Some(Record::Detail(d)) => Some(d.entry_id),
                        _ => None,
                    }),
                };
                if let Some(e) = entry {
                    for i in index.insureds_of_entry(e) {
                        cases.insert(i.case_id);
                    }
                }
            }
            _ => {}
        }
    }
    let mut portfolios: Vec<u32> =
        cases.iter().flat_map(|c| index.portfolios_by_case.get(c).cloned().unwrap_or_default()).collect();
    portfolios.sort_unstable();
    portfolios.dedup();
    portfolios
}

impl<S: CrmStore> Service<S> {
    /// A template's model spreadsheet, or its header row as CSV. The account templates' model
    /// has the Portfolio dropdown of the operators' logins.
    pub async fn template_file(&self, template_id: &str, csv: bool) -> Result<Download, Failure> {
        let (workflow, template) = crate::core::workflows::of_template(self.workflows(), template_id)
            .ok_or_else(|| SessionRefusal::NoSuchTemplate(template_id.to_string()))?;
        if csv {
            return Ok(Download {
                name: format!("{}-template.csv", template.id),
                mime: crate::protocol::CSV_MIME.into(),
                bytes: template.header_csv().into_bytes(),
            });
        }
        let stored = self.current().await?;
        let (name, written) = workflow.template_workbook(&stored.crm, template);
        let bytes = written.map_err(Failure::not_written(name.clone()))?;
        Ok(Download::xlsx(name, bytes))
    }
}

impl<S: CrmStore> Service<S> {
    /// School users and devices by insurance status: (enrolled, not enrolled, none).
    pub async fn insurance_status(&self) -> Result<((usize, usize, usize), (usize, usize, usize)), Failure> {
        let stored = self.current().await?;
        let (u, d) = crate::core::insurance::report::status_counts(&stored.crm);
        Ok(((u.enrolled, u.not_enrolled, u.none), (d.enrolled, d.not_enrolled, d.none)))
    }

    /// The insurance status report workbook.
    pub async fn insurance_status_report(&self) -> Result<Download, Failure> {
        let stored = self.current().await?;
        let bytes = crate::core::insurance::report::write_insurance_status_report(&stored.crm)
            .map_err(Failure::not_written("The insurance status report"))?;
        Ok(Download::xlsx("insurance-status-report.xlsx".into(), bytes))
    }

    /// The accounts (or contacts) export of a profile.
    pub async fn accounts_export(
        &self,
        profile: &crate::core::accounts::profiles::ExportProfile,
        filters: &crate::core::accounts::profiles::AccountFilters,
    ) -> Result<Download, Failure> {
        let stored = self.current().await?;
        let bytes = crate::core::accounts::export::write_accounts_export(&stored.crm, profile, filters)
            .map_err(Failure::not_written("The export"))?;
        let scope = filters.portfolio.clone().unwrap_or_else(|| "all".into());
        let name =
            format!("{}-{}.xlsx", profile.kind.label().to_lowercase(), crate::core::text::slug(&scope));
        Ok(Download::xlsx(name, bytes))
    }
}
