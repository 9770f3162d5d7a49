//! The in-memory [`CrmStore`]: a [`Crm`] with its revisions in a `RefCell` and a map of staged
//! files. [`CrmStore::current`] shares the stored copy (a reference count, not a clone of the
//! CRM); a commit changes it in place unless someone still holds it, who keeps what they read. It is the reference the IndexedDB store is tested against (same contract suite), it
//! runs natively, so the pipeline's tests need no browser, and it is the fallback when a
//! browser offers no IndexedDB.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use super::{rebase_refusal, Committed, CrmStore, Refreshed, StagedFile, StoreError, StoredCrm};
use crate::core::model::{ChangeSet, Crm, CrmEntry, EntityKind, Record, RecordKey};
use crate::core::revision::{check, check_counters, rebase_identities, CheckedBatch, Revision, Revisions};

/// The stored state: the CRM with each record's revision and the sequence number (shared
/// with the callers of `current`), and the sequence of the last whole replacement.
#[derive(Debug, Default)]
struct State {
    stored: Rc<StoredCrm>,
    replaced_at: Revision,
}

/// A store that lives as long as the value: nothing survives a reload.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RefCell<State>,
    staged: RefCell<BTreeMap<String, StagedFile>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store that starts with `crm`, written by one commit (sequence 1).
    pub fn with_crm(crm: Crm) -> MemoryStore {
        let revisions = Revisions::all_at(&crm.records(), 1);
        let state = State { stored: Rc::new(StoredCrm { crm, revisions, sequence: 1 }), replaced_at: 1 };
        MemoryStore { state: RefCell::new(state), staged: RefCell::default() }
    }
}

impl CrmStore for MemoryStore {
    async fn load_all(&self) -> Result<StoredCrm, StoreError> {
        Ok(StoredCrm::clone(&self.state.borrow().stored))
    }

    async fn current(&self) -> Result<Rc<StoredCrm>, StoreError> {
        Ok(Rc::clone(&self.state.borrow().stored))
    }

    async fn refresh(&self) -> Result<Refreshed, StoreError> {
        // One store, one writer: nobody else can have committed.
        let sequence = self.state.borrow().stored.sequence;
        Ok(Refreshed { from: sequence, to: sequence, changed: Vec::new(), replaced: false })
    }

    async fn sequence(&self) -> Result<Revision, StoreError> {
        Ok(self.state.borrow().stored.sequence)
    }

    async fn replace_all(&self, crm: &Crm) -> Result<Revision, StoreError> {
        let records = crm.records();
        let everything = ChangeSet { puts: records, deletes: Vec::new() };
        Crm::default().check_unique(&everything).map_err(|v| StoreError::Constraint(v.to_string()))?;
        let mut state = self.state.borrow_mut();
        let sequence = state.stored.sequence + 1;
        let revisions = Revisions::all_at(&everything.puts, sequence);
        state.stored = Rc::new(StoredCrm { crm: crm.clone(), revisions, sequence });
        state.replaced_at = sequence;
        Ok(sequence)
    }

    async fn commit(&self, batch: &CheckedBatch) -> Result<Committed, StoreError> {
        let mut state = self.state.borrow_mut();
        // Identities first (so the batch's new records are checked where they will land),
        // then every expectation.
        let mut batch = batch.clone();
        if state.replaced_at <= batch.base {
            rebase_identities(&mut batch, state.stored.crm.counters).map_err(rebase_refusal)?;
        }
        check_counters(&batch)?;
        let stale = check(&batch, state.replaced_at, |k| stored_revision(&state, k));
        if !stale.is_clear() {
            return Err(StoreError::Stale(stale));
        }
        // In place, unless a caller still holds the copy it read (it keeps it as it was).
        let stored = Rc::make_mut(&mut state.stored);
        // `apply_changes` checks every unique index before it touches anything, so a refused
        // batch leaves the CRM exactly as it was.
        stored
            .crm
            .apply_changes(&batch.changes)
            .map_err(|violation| StoreError::Constraint(violation.to_string()))?;
        let sequence = stored.sequence + 1;
        stored.revisions.apply(&batch.changes, sequence);
        stored.sequence = sequence;
        Ok(Committed { sequence, changes: batch.changes })
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        Ok(self.state.borrow().stored.crm.get(key))
    }

    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<(Record, Revision)>>, StoreError> {
        let state = self.state.borrow();
        Ok(keys
            .iter()
            .map(|k| {
                let revision = stored_revision(&state, k)?;
                state.stored.crm.get(k).map(|r| (r, revision))
            })
            .collect())
    }

    async fn count(&self, kind: EntityKind) -> Result<usize, StoreError> {
        Ok(self.state.borrow().stored.crm.count(kind))
    }

    async fn find_entry_by_client_reference(
        &self,
        client_reference: &str,
    ) -> Result<Option<CrmEntry>, StoreError> {
        let state = self.state.borrow();
        Ok(state
            .stored
            .crm
            .entries
            .values()
            .find(|e| e.client_reference.as_deref() == Some(client_reference))
            .cloned())
    }

    async fn put_staged(&self, file: &StagedFile) -> Result<(), StoreError> {
        self.staged.borrow_mut().insert(file.template_id.clone(), file.clone());
        Ok(())
    }

    async fn get_staged(&self, template_id: &str) -> Result<Option<StagedFile>, StoreError> {
        Ok(self.staged.borrow().get(template_id).cloned())
    }

    async fn delete_staged(&self, template_id: &str) -> Result<(), StoreError> {
        self.staged.borrow_mut().remove(template_id);
        Ok(())
    }
}

/// The revision of a stored record; the counters record always exists (at revision 0 until
/// first written), like [`Crm::get`] says.
fn stored_revision(state: &State, key: &RecordKey) -> Option<Revision> {
    match state.stored.revisions.get(key) {
        Some(r) => Some(r),
        None if key.kind == EntityKind::Counters => Some(0),
        None => None,
    }
}
