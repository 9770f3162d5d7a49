//! Operations on the CRM as a whole: open it, describe it, load the demo or a snapshot in its
//! place, write the snapshot, temporary portfolios, the history and undo.

use std::rc::Rc;

use crate::core::date::Date;
use crate::core::demo::{demo_crm, DEMO_SEED};
use crate::core::index::CrmIndex;
use crate::core::ledger::LedgerFile;
use crate::core::model::{ChangeSet, Counters, Crm, EntityKind, ImportRecord, Portfolio, Record, RecordKey};
use crate::core::plan::history::{last_undoable, undo, ApplyRefusal};
use crate::core::revision::{checked_undo, CheckedBatch, Expectation, Revision, Revisions};
use crate::core::snapshot::{read_snapshot, write_snapshot_counted};
use crate::protocol::messages::CrmUnchanged;
use crate::protocol::{
    CreateTemporaryPortfolio, CrmSummary, DeletePortfolio, Download, DropSnapshot, History, ImportView,
    LoadDemo, Open, ReadSnapshot, ReplaceWithSnapshot, SnapshotDownload, SnapshotRead, Summary, Undo, Undone,
};
use crate::store::CrmStore;

use super::failure::{CrmRefusal, Failure};
use super::handle::{Call, Handle};
use super::views::{import_view, summary};
use super::{Service, Ticker};

impl<S: CrmStore> Service<S> {
    /// What every page shows of the CRM; a damaged copy opens read-only, and the summary says
    /// why and how to recover.
    async fn summary(&self) -> Result<CrmSummary, Failure> {
        match self.current().await {
            Ok(stored) => Ok(summary(&stored, self.read_only())),
            Err(_) if self.read_only().is_some() => Ok(summary(&Default::default(), self.read_only())),
            Err(e) => Err(e),
        }
    }

    /// Replaces the CRM with the generated demo; says what it holds.
    async fn load_demo(&self, ticker: &impl Ticker) -> Result<String, Failure> {
        ticker.tick("Generating the demo CRM", 0, 2).await?;
        let crm = self.with_secret(demo_crm(DEMO_SEED, 1))?;
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
}

impl<S: CrmStore> Handle<S> for Open {
    /// Opens the CRM; an empty one gets the demo when asked. A copy without a digest secret
    /// gets one.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<CrmSummary, Failure> {
        if let Ok(stored) = svc.current().await {
            if stored.crm.is_empty() && self.autoload_demo {
                drop(stored);
                svc.load_demo(call.ticker).await?;
            } else {
                drop(stored);
                svc.ensure_secret().await?;
            }
        }
        svc.summary().await
    }
}

impl<S: CrmStore> Handle<S> for Summary {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<CrmSummary, Failure> {
        svc.summary().await
    }
}

impl<S: CrmStore> Handle<S> for LoadDemo {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<String, Failure> {
        svc.load_demo(call.ticker).await
    }
}

impl<S: CrmStore> Handle<S> for ReadSnapshot {
    /// Reads a snapshot workbook and keeps it until the operator confirms; a workbook that is
    /// not a valid snapshot is refused and nothing changes.
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<SnapshotRead, Failure> {
        let bytes = call.take_bytes().ok_or(CrmRefusal::SnapshotBytesMissing)?;
        call.ticker.tick(&format!("Reading {}", self.file_name), 0, 1).await?;
        let crm = read_snapshot(&self.file_name, &bytes)
            .map_err(|e| Failure::CrmUnchanged(CrmUnchanged(Box::new(e.into()))))?;
        // A snapshot written before digest secrets gets a new one.
        let crm = svc.with_secret(crm)?;
        let read = SnapshotRead {
            file_name: self.file_name.clone(),
            entries: crm.entries.len(),
            cases: crm.cases.len(),
            accounts: crm.accounts.len(),
        };
        *svc.pending_snapshot.borrow_mut() = Some((self.file_name, crm));
        Ok(read)
    }
}

impl<S: CrmStore> Handle<S> for ReplaceWithSnapshot {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<String, Failure> {
        let Some((name, crm)) = svc.pending_snapshot.borrow_mut().take() else {
            return Err(CrmRefusal::NoSnapshotWaiting.into());
        };
        call.ticker.tick("Writing the snapshot to the browser's database", 0, 1).await?;
        let entries = crm.entries.len();
        svc.replace(&crm).await.map_err(|e| Failure::CrmUnchanged(CrmUnchanged(Box::new(e))))?;
        Ok(format!("Snapshot {name} loaded: {entries} CRM entries."))
    }
}

impl<S: CrmStore> Handle<S> for DropSnapshot {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<(), Failure> {
        svc.pending_snapshot.borrow_mut().take();
        Ok(())
    }
}

impl<S: CrmStore> Handle<S> for SnapshotDownload {
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Download, Failure> {
        let stored = svc.current().await?;
        call.ticker.tick("Writing the snapshot", 0, 1).await?;
        let file = write_snapshot_counted(&stored.crm).map_err(Failure::not_written("The snapshot"))?;
        drop(stored);
        let name = format!("roundtrip-crm-snapshot-{}.xlsx", Date::from_unix_ms(call.now_ms));
        svc.give_recorded(LedgerFile::Snapshot, name, &self.operator_login, call.now_ms, file).await
    }
}

impl<S: CrmStore> Handle<S> for CreateTemporaryPortfolio {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<String, Failure> {
        let CreateTemporaryPortfolio { name, owner_login, case_ids } = self;
        let title = name.trim().to_string();
        if title.is_empty() {
            return Err(CrmRefusal::PortfolioUnnamed.into());
        }
        if case_ids.is_empty() {
            return Err(CrmRefusal::NoCasesChosen.into());
        }
        let stored = svc.current().await?;
        if let Some(missing) = case_ids.iter().find(|c| !stored.crm.cases.contains_key(c)) {
            return Err(CrmRefusal::CaseGone(*missing).into());
        }
        let mut counters: Counters = stored.crm.counters;
        let id = counters.next_portfolio_id;
        counters.next_portfolio_id = id.saturating_add(1);
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
        svc.commit(&batch).await?;
        Ok(format!("Temporary portfolio \"{title}\" created with {} cases.", case_ids.len()))
    }
}

impl<S: CrmStore> Handle<S> for DeletePortfolio {
    /// Deletes a temporary portfolio; its cases are not touched.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<String, Failure> {
        let stored = svc.current().await?;
        let Some(p) = stored.crm.portfolios.get(&self.id) else {
            return Err(CrmRefusal::PortfolioGone.into());
        };
        if !p.temporary {
            return Err(CrmRefusal::NotTemporary(p.name.clone()).into());
        }
        let name = p.name.clone();
        let key = RecordKey { kind: EntityKind::Portfolio, id: self.id.to_string() };
        let changes = ChangeSet { puts: vec![], deletes: vec![key.clone()] };
        let batch =
            CheckedBatch::new(stored.sequence, &stored.revisions, stored.crm.counters, [key], changes);
        drop(stored);
        svc.commit(&batch).await?;
        Ok(format!("Temporary portfolio \"{name}\" deleted; its cases are unchanged."))
    }
}

impl<S: CrmStore> Handle<S> for History {
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<ImportView>, Failure> {
        let stored = svc.current().await?;
        Ok(stored.crm.imports.values().rev().map(import_view).collect())
    }
}

impl<S: CrmStore> Handle<S> for Undo {
    /// Undoes the most recent import (`import_id` says which the operator saw). Refused whole
    /// when a record it wrote was changed after it.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Undone, Failure> {
        let import_id = self.import_id;
        let stored: Rc<_> = svc.current().await?;
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
        svc.commit(&batch).await.map_err(|e| Failure::UndoNotWritten(Box::new(e)))?;
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
