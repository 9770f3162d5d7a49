//! The plan's working state: the CRM as the plan has changed it so far (entries, details and
//! insureds it puts, the counters it hands out) and the index of details by value that tells
//! a row's detail is already present, keyed entry by entry as rows reach them.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::core::index::{client_reference_key, CrmIndex};
use crate::core::model::{ContactDetail, Counters, Crm, CrmEntry, EntityKind, EntryId, Insured, RecordKey};
use crate::core::plan::key;
use crate::core::privacy::Ssn;

use super::detail::detail_value_key;

/// Working state while planning: the CRM as the plan has changed it so far.
pub(super) struct Draft<'a> {
    pub(super) crm: &'a Crm,
    pub(super) entries: BTreeMap<EntryId, CrmEntry>,
    /// The details the plan puts, by Public ID (ordered once, when the plan is finished).
    pub(super) details: HashMap<String, ContactDetail>,
    pub(super) insureds: BTreeMap<u32, Insured>,
    /// The entries this plan creates.
    pub(super) created_entries: HashSet<EntryId>,
    pub(super) counters: Counters,
    /// Existing and planned details of each entry by value key.
    pub(super) detail_keys: HashMap<EntryId, EntryKeys>,
    /// The CRM's entries by id and details by Public ID: a lookup or two per row, without
    /// walking the ordered maps.
    pub(super) entries_by_id: HashMap<EntryId, &'a CrmEntry>,
    pub(super) details_by_id: HashMap<&'a str, &'a ContactDetail>,
    /// Client References (by [`client_reference_key`]) and SSNs this plan gives an entry: a
    /// second entry of the same plan does not take them (the store would refuse the batch).
    pub(super) planned_crefs: HashMap<String, EntryId>,
    pub(super) planned_ssns: HashMap<Ssn, EntryId>,
}

impl<'a> Draft<'a> {
    /// The entry this plan gives a Client Reference to, if another than `except`.
    pub(super) fn planned_cref_owner(&self, cref: &str, except: EntryId) -> Option<EntryId> {
        self.planned_crefs.get(&client_reference_key(cref)).copied().filter(|e| *e != except)
    }
    /// The entry this plan gives an SSN to, if another than `except`.
    pub(super) fn planned_ssn_owner(&self, ssn: &Ssn, except: EntryId) -> Option<EntryId> {
        self.planned_ssns.get(ssn).copied().filter(|e| *e != except)
    }
    /// Records the identifiers a planned entry holds.
    pub(super) fn plan_identifiers(&mut self, entry: &CrmEntry) {
        if let Some(c) = &entry.client_reference {
            self.planned_crefs.insert(client_reference_key(c), entry.id);
        }
        if let Some(s) = entry.ssn {
            self.planned_ssns.insert(s, entry.id);
        }
    }
    pub(super) fn entry(&self, id: EntryId) -> Option<&CrmEntry> {
        self.entries.get(&id).or_else(|| self.stored_entry(id))
    }
    pub(super) fn detail(&self, id: &str) -> Option<&ContactDetail> {
        self.details.get(id).or_else(|| self.stored_detail(id))
    }
    pub(super) fn insured(&self, id: u32) -> Option<&Insured> {
        self.insureds.get(&id).or_else(|| self.crm.insureds.get(&id))
    }
    /// The entry, when it exists in the CRM (not only in this plan).
    pub(super) fn existing_entry(&self, id: EntryId) -> Option<EntryId> {
        self.entries_by_id.contains_key(&id).then_some(id)
    }

    /// An entry of the CRM as it is (not as this plan changes it).
    pub(super) fn stored_entry(&self, id: EntryId) -> Option<&'a CrmEntry> {
        self.entries_by_id.get(&id).copied()
    }

    /// A detail of the CRM (not of this plan) by Public ID.
    pub(super) fn stored_detail(&self, pid: &str) -> Option<&'a ContactDetail> {
        self.details_by_id.get(pid).copied()
    }
    /// Puts the stored details of `entry` in `detail_keys` (once), under the keys the plan has
    /// not given a detail of its own: as if every stored detail had been keyed before the
    /// plan began, the last by Public ID winning a shared key.
    pub(super) fn key_details_of(&mut self, index: &CrmIndex<'_>, entry: EntryId) {
        let keys = self.detail_keys.entry(entry).or_default();
        if keys.keyed {
            return;
        }
        keys.keyed = true;
        let mut stored = index.details_of(entry);
        stored.sort_by(|a, b| a.public_id.cmp(&b.public_id));
        let mut found: Vec<(String, &str)> = Vec::with_capacity(stored.len());
        for d in stored {
            let key = detail_value_key(d.kind, &d.fields);
            match found.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = &d.public_id,
                None => found.push((key, &d.public_id)),
            }
        }
        for (key, pid) in found {
            if keys.get(&key).is_none() {
                keys.pairs.push((key, pid.to_string()));
            }
        }
    }

    /// The detail of `entry` (stored or planned) whose value key is `key`; see
    /// [`Draft::key_details_of`] for the stored ones.
    pub(super) fn detail_with_key(&self, entry: EntryId, key: &str) -> Option<&String> {
        self.detail_keys.get(&entry).and_then(|k| k.get(key))
    }

    /// Records that the plan's detail `pid` of `entry` has the value key `key`.
    pub(super) fn put_detail_key(&mut self, entry: EntryId, key: String, pid: String) {
        let keys = self.detail_keys.entry(entry).or_default();
        match keys.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = pid,
            None => keys.pairs.push((key, pid)),
        }
    }
}

/// The details of one entry by value key (a handful: a scan beats hashing long keys).
#[derive(Debug, Default)]
pub(super) struct EntryKeys {
    /// The entry's stored details are among `pairs`.
    keyed: bool,
    /// (value key, Public ID).
    pairs: Vec<(String, String)>,
}

impl EntryKeys {
    fn get(&self, key: &str) -> Option<&String> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, pid)| pid)
    }
}

/// The records the plan consulted, gathered by kind while planning and turned into the plan's
/// ordered set of keys once, at the end (see [`ImportPlan::reads`]).
///
/// [`ImportPlan::reads`]: crate::core::plan::ImportPlan::reads
#[derive(Debug, Default)]
pub(super) struct Reads {
    entries: HashSet<EntryId>,
    details: HashSet<String>,
    insureds: HashSet<u32>,
}

impl Reads {
    pub(super) fn entry(&mut self, id: EntryId) {
        self.entries.insert(id);
    }
    pub(super) fn detail(&mut self, public_id: &str) {
        if !self.details.contains(public_id) {
            self.details.insert(public_id.to_string());
        }
    }
    pub(super) fn insured(&mut self, id: u32) {
        self.insureds.insert(id);
    }
    /// The keys of every record read.
    pub(super) fn into_keys(self) -> impl Iterator<Item = RecordKey> {
        let entries = self.entries.into_iter().map(|id| key(EntityKind::Entry, id));
        let details = self.details.into_iter().map(|id| RecordKey { kind: EntityKind::Detail, id });
        let insureds = self.insureds.into_iter().map(|id| key(EntityKind::Insured, id));
        entries.chain(details).chain(insureds)
    }
}
