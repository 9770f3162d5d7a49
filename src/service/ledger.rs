//! The PII ledger in the service: the entry of a Reveal or of a file written with full SSNs is
//! committed by the same call that reveals or gives the file ([`Service::record_in_ledger`],
//! [`Service::give_recorded`]), and the ledger is listed and downloaded for the CRM data page.
//!
//! No record, no SSN: when the entry cannot be committed (the copy is read-only, locked, or
//! the write failed), the Reveal or the file is refused and the failure says why — the
//! ledger's answer to "which files that left this machine hold SSNs?" must be complete. A
//! ledger entry touches no record a plan reads, so it leaves this tab's open plans fresh.

use crate::core::ledger::{write_ledger, LedgerEntry, LedgerEvent, LedgerFile};
use crate::core::model::{ChangeSet, Record};
use crate::core::privacy::FullSsns;
use crate::core::revision::{CheckedBatch, Revision};
use crate::protocol::{Download, Event, LedgerRow, PiiLedger, PiiLedgerDownload};
use crate::store::CrmStore;

use super::handle::{Call, Handle};
use super::{Failure, Service, Ticker};

impl<S: CrmStore> Service<S> {
    /// Commits one ledger entry. Refused (and nothing written) in read-only mode or when the
    /// store refuses; the caller then gives nothing.
    pub async fn record_in_ledger(&self, entry: LedgerEntry) -> Result<(), Failure> {
        let recorded = async {
            let stored = self.current().await?;
            let before = stored.sequence;
            let changes = ChangeSet { puts: vec![Record::Ledger(entry)], deletes: vec![] };
            let batch = CheckedBatch::new(before, &stored.revisions, stored.crm.counters, [], changes);
            drop(stored);
            self.refuse_if_read_only()?;
            let committed = self.store.commit(&batch).await?;
            self.ledger_written(before, committed.sequence).await;
            Ok(())
        };
        recorded.await.map_err(|e: Failure| Failure::NotRecorded(Box::new(e)))
    }

    /// A file with full SSNs, recorded in the ledger before it is given (a file holding none
    /// is given without an entry).
    pub async fn give_recorded(
        &self,
        kind: LedgerFile,
        name: String,
        operator_login: &str,
        at_ms: i64,
        file: FullSsns,
    ) -> Result<Download, Failure> {
        if let Some(entry) = LedgerEntry::file(operator_login, at_ms, kind, &name, &file) {
            self.record_in_ledger(entry).await?;
        }
        Ok(Download::xlsx(name, file.bytes))
    }

    /// Commits from `from` to `to` wrote ledger entries only: open plans made on `from` are
    /// still current (they read no ledger record), so they move to `to` instead of going
    /// stale, and the page hears only that the ledger grew (what it shows of the CRM is
    /// unchanged, so nothing is read again and no "changed in another tab" is said).
    pub async fn ledger_written(&self, from: Revision, to: Revision) {
        for session in self.sessions.borrow().values() {
            session.borrow_mut().ledger_written(from, to);
        }
        self.announce(Event::LedgerRecorded);
    }
}

/// One ledger entry as the page lists it.
fn ledger_row(crm: &crate::core::model::Crm, e: &LedgerEntry) -> LedgerRow {
    let mut row = LedgerRow {
        id: e.id.clone(),
        time: e.time_text(),
        operator_login: e.operator_login.clone(),
        what: e.what().to_string(),
        entry: String::new(),
        file_name: String::new(),
        sha256_prefix: String::new(),
        ssns: None,
    };
    match &e.event {
        LedgerEvent::Reveal { entry_id, entry_label } => {
            let label = match crm.entries.get(entry_id) {
                Some(now) if now.display_name() != *entry_label && !entry_label.is_empty() => {
                    format!("{entry_label} (entry {entry_id}, now {})", now.display_name())
                }
                _ if entry_label.is_empty() => format!("entry {entry_id}"),
                _ => format!("{entry_label} (entry {entry_id})"),
            };
            row.entry = label;
        }
        LedgerEvent::File { file_name, sha256, ssns, .. } => {
            row.file_name = file_name.clone();
            row.sha256_prefix = sha256.chars().take(12).collect();
            row.ssns = Some(*ssns);
        }
    }
    row
}

impl<S: CrmStore> Handle<S> for PiiLedger {
    /// The ledger, newest first.
    async fn handle<T: Ticker>(self, svc: &Service<S>, _: &Call<'_, T>) -> Result<Vec<LedgerRow>, Failure> {
        let stored = svc.current().await?;
        let crm = &stored.crm;
        let mut entries: Vec<&LedgerEntry> = crm.ledger.values().collect();
        entries.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| b.id.cmp(&a.id)));
        Ok(entries.into_iter().map(|e| ledger_row(crm, e)).collect())
    }
}

impl<S: CrmStore> Handle<S> for PiiLedgerDownload {
    /// The ledger as a workbook, newest first (no SSN in it; downloading it is not recorded).
    async fn handle<T: Ticker>(self, svc: &Service<S>, call: &Call<'_, T>) -> Result<Download, Failure> {
        let stored = svc.current().await?;
        let name =
            format!("roundtrip-pii-ledger-{}.xlsx", crate::core::date::Date::from_unix_ms(call.now_ms));
        let bytes = write_ledger(stored.crm.ledger.values()).map_err(Failure::not_written(name.clone()))?;
        Ok(Download::xlsx(name, bytes))
    }
}
