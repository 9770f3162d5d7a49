//! The storage boundary: one interface, [`CrmStore`], between the pure core and wherever the
//! local CRM copy lives. [`memory::MemoryStore`] keeps it in a `RefCell` (native tests, and a
//! fallback when the browser offers no IndexedDB); `indexeddb::IndexedDbStore` keeps it in the
//! browser's IndexedDB, one object store per [`EntityKind`]. One contract suite
//! ([`contract`]) runs against both, so they cannot drift apart.
//!
//! Every write is a checked batch ([`CheckedBatch`]) that lands whole or not at all: the
//! store re-reads what the batch expects inside its one transaction, refuses the batch if any
//! record moved since it was planned ([`StoreError::Stale`]), hands out the batch's new
//! identities from the counters stored at that moment, and stamps every record it writes
//! with the next commit sequence number. Every failure is a [`StoreError`] whose message an
//! operator can act on.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::core::model::{ChangeSet, Crm, CrmEntry, EntityKind, Record, RecordKey};
use crate::core::revision::{CheckedBatch, CounterExhausted, RebaseError, Revision, Revisions, Staleness};

#[cfg(any(test, feature = "store-contract"))]
pub mod contract;
#[cfg(target_arch = "wasm32")]
pub mod crypto;
#[cfg(target_arch = "wasm32")]
pub mod indexeddb;
pub mod memory;

/// Why the store could not do what was asked. Each message is written for the operator; in
/// every case nothing was half-written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The browser refused to store more data (its quota for this site is used up). `usage`:
    /// the bytes used and the quota, as the browser estimates them, when it can tell.
    #[error("{}", quota_text(*usage))]
    QuotaExceeded { usage: Option<(u64, u64)> },
    /// The connection was closed under us, normally because another tab upgraded the database.
    #[error("The database was closed (another tab upgraded it). Reload this page.")]
    ConnectionClosed,
    /// Opening needs a newer schema, but another tab keeps the older one open.
    #[error(
        "Another Roundtrip tab is holding an older version of the database open. \
         Close it and reload."
    )]
    UpgradeBlocked,
    /// A counter has no identity left for the batch.
    #[error(transparent)]
    CounterExhausted(#[from] CounterExhausted),
    /// A uniqueness rule (Client Reference, SSN, case reference) would be broken by the batch.
    #[error("A uniqueness rule would be broken: {0}. Nothing was written.")]
    Constraint(String),
    /// A stored record could not be read back.
    #[error(
        "A stored record is damaged ({store} \"{key}\": {message}). Reload the CRM from a \
         snapshot file or the demo CRM."
    )]
    Corrupt {
        /// The object store (or the memory map) that holds it.
        store: String,
        /// The record's key in that store.
        key: String,
        /// What was wrong with it.
        message: String,
    },
    /// The browser offers no usable storage (IndexedDB missing, denied, or failing).
    #[error("The browser's storage is not available: {0}")]
    Unavailable(String),
    /// The records a batch was planned on moved before it was committed (another tab, a
    /// snapshot load, another import); nothing was written and the batch must be planned
    /// again on the current CRM.
    #[error("{0}")]
    Stale(Staleness),
    /// The stored copy is encrypted and this store holds no key for it: it was never
    /// unlocked here, it was locked, or another tab set a passphrase. Nothing is read or
    /// written until it is unlocked.
    #[error("The CRM copy in this browser is encrypted and locked. Enter its passphrase to unlock it.")]
    Locked,
    /// The passphrase given does not open the stored data key.
    #[error("Wrong passphrase; nothing was changed.")]
    WrongPassphrase,
    /// A passphrase request that does not fit the copy as it is.
    #[error("{0} Nothing was changed.")]
    Passphrase(PassphraseRefusal),
}

/// The fewest characters a passphrase may have.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Why a passphrase request was refused before anything was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseRefusal {
    #[error("A passphrase needs at least {} characters.", MIN_PASSPHRASE_CHARS)]
    TooShort,
    #[error("This CRM copy already has a passphrase; change it instead.")]
    AlreadySet,
    #[error("This CRM copy has no passphrase: it is stored unencrypted.")]
    NotSet,
    #[error("The new passphrase is the same as the current one.")]
    Unchanged,
    #[error("This tab keeps the CRM in memory only: there is no stored copy to encrypt.")]
    NothingStored,
}

impl PassphraseRefusal {
    /// Refuses a passphrase that is too short to be one.
    pub fn check_new(passphrase: &str) -> Result<(), StoreError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(StoreError::Passphrase(PassphraseRefusal::TooShort));
        }
        Ok(())
    }
}

/// Whether the stored copy is encrypted, and whether this store holds its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncryptionState {
    /// Stored unencrypted: no passphrase was set (or the copy is in memory only).
    Plain,
    /// Encrypted, and this store holds no key: reads and writes are refused
    /// ([`StoreError::Locked`]) until it is unlocked.
    Locked,
    /// Encrypted and unlocked here.
    Unlocked,
}

/// The whole stored CRM with the revision of every record and the store's sequence number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredCrm {
    pub crm: Crm,
    pub revisions: Revisions,
    /// The sequence number of the last commit (0 before any).
    pub sequence: Revision,
}

/// What a commit wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The commit's sequence number: the revision of every record it wrote.
    pub sequence: Revision,
    /// The changes as written, with the identities handed out at commit time (they differ
    /// from the planned ones when another writer handed out identities in between).
    pub changes: ChangeSet,
}

/// What [`CrmStore::refresh`] found: the commits other writers made since this store last
/// looked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refreshed {
    /// The sequence number before and after.
    pub from: Revision,
    pub to: Revision,
    /// The records those commits wrote or deleted (empty when `replaced`).
    pub changed: Vec<RecordKey>,
    /// A snapshot or the demo replaced the CRM (or a new data key sealed it) since this store
    /// last looked, or the store held no copy to compare with. A compaction by another tab is
    /// not a replacement: the copy is read whole again, and `changed` lists what the commits it
    /// folded changed.
    pub replaced: bool,
}

impl Refreshed {
    /// True when another writer changed something.
    pub fn moved(&self) -> bool {
        self.from != self.to || self.replaced
    }

    /// True when those commits wrote PII ledger entries and nothing else (no plan reads one).
    pub fn only_ledger(&self) -> bool {
        !self.replaced
            && !self.changed.is_empty()
            && self.changed.iter().all(|k| k.kind == EntityKind::Ledger)
    }
}

impl Committed {
    /// The id of the import-history record the commit wrote, if it wrote one (an apply or an
    /// undo): the id actually handed out, which another tab's import may have moved.
    pub fn import_id(&self) -> Option<u32> {
        self.changes.puts.iter().find_map(|r| match r {
            Record::Import(i) => Some(i.id),
            _ => None,
        })
    }
}

/// A file uploaded for a template but not processed yet. One per template; it survives a
/// reload until it is processed or discarded (README, "The import pipeline").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    pub template_id: String,
    pub file_name: String,
    /// Size in bytes, as uploaded.
    pub size: u64,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    /// Milliseconds since the Unix epoch.
    pub staged_at_ms: i64,
    /// Data rows found when the file was staged.
    pub row_count: usize,
    pub bytes: Vec<u8>,
}

/// The one interface to the local CRM copy and the staged files.
///
/// Futures are not `Send` (the browser is single-threaded), hence the lint allowance.
#[allow(async_fn_in_trait)]
pub trait CrmStore {
    /// The whole CRM, with every record's revision and the sequence number, read from where
    /// it is kept (what a reload would see).
    async fn load_all(&self) -> Result<StoredCrm, StoreError>;
    /// The copy this store keeps in memory, read on first use and brought up to date with
    /// what other writers committed since. Shared, not copied: hold it only while using it.
    async fn current(&self) -> Result<Rc<StoredCrm>, StoreError>;
    /// Brings the in-memory copy up to date with other writers' commits and says what moved.
    async fn refresh(&self) -> Result<Refreshed, StoreError>;
    /// The sequence number of the last commit: cheap (one small read).
    async fn sequence(&self) -> Result<Revision, StoreError>;
    /// Clears every entity store and writes every record of `crm`, in one transaction, as one
    /// commit (every record gets its sequence number, returned). Staged files are left alone.
    /// Batches planned before it are refused afterwards ([`Staleness::replaced`]). A CRM that
    /// breaks a uniqueness rule is refused with [`StoreError::Constraint`] and the old copy
    /// stays.
    async fn replace_all(&self, crm: &Crm) -> Result<Revision, StoreError>;
    /// Checks the batch's expectations and applies its deletes, then its puts, all or
    /// nothing, in one transaction: a record that moved since the batch was planned refuses
    /// the batch with [`StoreError::Stale`]; identities the batch handed out are moved onto
    /// the stored counters; a batch that would break a uniqueness rule is refused whole with
    /// [`StoreError::Constraint`].
    async fn commit(&self, batch: &CheckedBatch) -> Result<Committed, StoreError>;
    /// One record by key. The counters record always exists (its default when never written).
    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError>;
    /// Records by key with their revisions (`None`: no such record), in the order asked.
    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<(Record, Revision)>>, StoreError>;
    /// Number of records of one kind (the counters record counts as 1, like [`Crm::count`]).
    async fn count(&self, kind: EntityKind) -> Result<usize, StoreError>;
    /// The CRM entry carrying this Client Reference, found through the unique index.
    async fn find_entry_by_client_reference(
        &self,
        client_reference: &str,
    ) -> Result<Option<CrmEntry>, StoreError>;
    /// Stages a file, replacing any file staged earlier for the same template.
    async fn put_staged(&self, file: &StagedFile) -> Result<(), StoreError>;
    /// The file staged for a template, if any.
    async fn get_staged(&self, template_id: &str) -> Result<Option<StagedFile>, StoreError>;
    /// Discards the file staged for a template (no error if there is none).
    async fn delete_staged(&self, template_id: &str) -> Result<(), StoreError>;
}

/// What the operator reads when the browser has no room left: the figures when known, and
/// that nothing was written.
fn quota_text(usage: Option<(u64, u64)>) -> String {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let figures = match usage {
        Some((used, quota)) => {
            format!(" (this site uses {:.1} MiB of the {:.1} MiB it may use)", mib(used), mib(quota))
        }
        None => String::new(),
    };
    format!(
        "The browser has no room left for the CRM copy{figures}. Free disk space or delete old Roundtrip data in \
         the browser's site settings, then try again. Nothing was written."
    )
}

/// How a store refuses a batch whose identities cannot be moved to where they land: a counter
/// at its end says so; counters that went back mean the CRM was replaced meanwhile.
pub(crate) fn rebase_refusal(e: RebaseError) -> StoreError {
    match e {
        RebaseError::Exhausted(exhausted) => StoreError::CounterExhausted(exhausted),
        RebaseError::CountersWentBack | RebaseError::NoCounters => StoreError::Stale(Staleness::replaced()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quota_refusal_gives_the_figures_when_known_and_says_nothing_was_written() {
        let with = StoreError::QuotaExceeded { usage: Some((52_428_800, 104_857_600)) }.to_string();
        assert!(with.contains("this site uses 50.0 MiB of the 100.0 MiB it may use"), "{with}");
        assert!(with.ends_with("Nothing was written."));
        let without = StoreError::QuotaExceeded { usage: None }.to_string();
        assert!(!without.contains("MiB"));
        assert!(without.ends_with("Nothing was written."));
    }
}
