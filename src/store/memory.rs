//! The in-memory [`CrmStore`]: a [`Crm`] in a `RefCell` and a map of staged files. It is the
//! reference the IndexedDB store is tested against (same contract suite), and it runs
//! natively, so the pipeline's tests need no browser.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::{CrmStore, StagedFile, StoreError};
use crate::core::model::{ChangeSet, Crm, CrmEntry, EntityKind, Record, RecordKey};

/// A store that lives as long as the value: nothing survives a reload.
#[derive(Debug, Default)]
pub struct MemoryStore {
    crm: RefCell<Crm>,
    staged: RefCell<BTreeMap<String, StagedFile>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// A store that starts with `crm`.
    pub fn with_crm(crm: Crm) -> MemoryStore {
        MemoryStore { crm: RefCell::new(crm), staged: RefCell::default() }
    }
}

impl CrmStore for MemoryStore {
    async fn load_all(&self) -> Result<Crm, StoreError> {
        Ok(self.crm.borrow().clone())
    }

    async fn replace_all(&self, crm: &Crm) -> Result<(), StoreError> {
        let everything = ChangeSet { puts: crm.records(), deletes: Vec::new() };
        Crm::default().check_unique(&everything).map_err(|v| StoreError::Constraint(v.to_string()))?;
        *self.crm.borrow_mut() = crm.clone();
        Ok(())
    }

    async fn commit(&self, changes: &ChangeSet) -> Result<(), StoreError> {
        // `apply_changes` checks every unique index before it touches anything, so a refused
        // batch leaves the CRM exactly as it was.
        self.crm
            .borrow_mut()
            .apply_changes(changes)
            .map_err(|violation| StoreError::Constraint(violation.to_string()))
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        Ok(self.crm.borrow().get(key))
    }

    async fn count(&self, kind: EntityKind) -> Result<usize, StoreError> {
        Ok(self.crm.borrow().count(kind))
    }

    async fn find_entry_by_client_reference(
        &self,
        client_reference: &str,
    ) -> Result<Option<CrmEntry>, StoreError> {
        let crm = self.crm.borrow();
        Ok(crm.entries.values().find(|e| e.client_reference.as_deref() == Some(client_reference)).cloned())
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
