//! Optimistic concurrency, as data: the CRM copy can change under a plan (another tab, a
//! snapshot load, another import), so every stored record carries the [`Revision`] — the
//! store-wide commit sequence number — of the commit that last wrote it, and every write is a
//! [`CheckedBatch`]: the changes plus what the planner saw ([`Expectation`]s). The store
//! re-checks the expectations inside its one transaction and writes nothing if any record
//! moved. Identities a plan handed out (entry IDs, Public IDs, import IDs, …) are provisional:
//! [`rebase_identities`] moves them onto the counters stored when the commit runs, so two
//! writers never hand out the same identity. Pure functions of data; the stores call them.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::model::{public_id_for, ChangeSet, Counters, EntityKind, Record, RecordKey};

/// A store-wide commit sequence number. The first commit is 1; 0 means "before any commit"
/// (also the revision of records written by a version of the app that kept no revisions).
pub type Revision = u64;

/// The revision of every stored record, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    by_key: HashMap<RecordKey, Revision>,
}

impl Revisions {
    /// No record known.
    pub fn new() -> Revisions {
        Revisions::default()
    }

    /// The revision of a stored record, `None` when no such record is stored.
    pub fn get(&self, key: &RecordKey) -> Option<Revision> {
        self.by_key.get(key).copied()
    }

    /// Records that `key` is stored at `revision`.
    pub fn set(&mut self, key: RecordKey, revision: Revision) {
        self.by_key.insert(key, revision);
    }

    /// Forgets a record (it was deleted).
    /// The records whose revision differs between `self` and `other` (written, or deleted, in
    /// one and not the other), in key order.
    pub fn differing(&self, other: &Revisions) -> Vec<RecordKey> {
        let mut keys: Vec<RecordKey> = self
            .by_key
            .iter()
            .filter(|(k, r)| other.by_key.get(*k) != Some(*r))
            .map(|(k, _)| k.clone())
            .chain(other.by_key.keys().filter(|k| !self.by_key.contains_key(*k)).cloned())
            .collect();
        keys.sort();
        keys
    }

    pub fn remove(&mut self, key: &RecordKey) {
        self.by_key.remove(key);
    }

    /// Number of records known.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no record is known.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Follows a commit: the records it deleted are gone, the records it put are at
    /// `sequence`.
    pub fn apply(&mut self, changes: &ChangeSet, sequence: Revision) {
        for key in &changes.deletes {
            self.remove(key);
        }
        for record in &changes.puts {
            self.set(record.key(), sequence);
        }
    }

    /// Every record of `records` at `revision` (a CRM loaded whole, e.g. from a snapshot).
    pub fn all_at<'a>(records: impl IntoIterator<Item = &'a Record>, revision: Revision) -> Revisions {
        Revisions { by_key: records.into_iter().map(|r| (r.key(), revision)).collect() }
    }
}

/// What a commit expects of one record: stored at exactly `revision`, or absent when
/// `revision` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Expectation {
    pub key: RecordKey,
    pub revision: Option<Revision>,
}

/// A batch of writes together with what its planner saw. The store applies it only if every
/// expectation still holds and no snapshot replaced the CRM since `base`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckedBatch {
    /// The sequence number of the copy the batch was planned on.
    pub base: Revision,
    /// The records read to decide and the records written, with the revisions seen.
    pub expected: Vec<Expectation>,
    /// The counters the batch's new identities were handed out from, when it hands out
    /// any; the commit moves them onto the counters stored at that moment.
    pub identities_from: Option<Counters>,
    pub changes: ChangeSet,
}

impl CheckedBatch {
    /// A batch planned on a copy at `base` whose counters were `counters`: expects every key
    /// of `reads` and every key the batch writes (the counters record excepted: identities
    /// are rebased instead) to be as `revisions` says now.
    pub fn new(
        base: Revision,
        revisions: &Revisions,
        counters: Counters,
        reads: impl IntoIterator<Item = RecordKey>,
        changes: ChangeSet,
    ) -> CheckedBatch {
        let mut keys: BTreeSet<RecordKey> = reads.into_iter().collect();
        keys.extend(changes.puts.iter().map(Record::key));
        keys.extend(changes.deletes.iter().cloned());
        keys.retain(|k| k.kind != EntityKind::Counters);
        let expected =
            keys.into_iter().map(|key| Expectation { revision: revisions.get(&key), key }).collect();
        let allocates = changes.puts.iter().any(|r| matches!(r, Record::Counters(_)));
        CheckedBatch { base, expected, identities_from: allocates.then_some(counters), changes }
    }

    /// A batch that expects nothing and hands out no identities: it is written whatever
    /// the store holds (test set-up; never a plan's batch).
    pub fn unchecked(changes: ChangeSet) -> CheckedBatch {
        CheckedBatch { base: Revision::MAX, expected: Vec::new(), identities_from: None, changes }
    }
}

/// Why a plan (or a checked batch) can no longer be applied as it is: what moved since it was
/// planned. Its text is the one wording of "the CRM changed since this plan was made", on the
/// plan's page, in a refused apply and on the command line alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staleness {
    /// The CRM was replaced whole (a snapshot or the demo loaded) after the batch's base.
    pub replaced: bool,
    /// The records whose revision differs from what was expected, in key order (empty when
    /// only the store's sequence number is known to have moved).
    pub changed: Vec<RecordKey>,
    /// Another tab made the change (it announced its commit).
    #[serde(default)]
    pub in_another_tab: bool,
}

impl Staleness {
    /// The CRM was replaced whole since the plan was made.
    pub fn replaced() -> Staleness {
        Staleness { replaced: true, changed: Vec::new(), in_another_tab: false }
    }

    /// These records moved since the plan was made.
    pub fn changed(changed: Vec<RecordKey>) -> Staleness {
        Staleness { replaced: false, changed, in_another_tab: false }
    }

    /// The CRM moved since the plan was made (which records is not known), here or in
    /// another tab.
    pub fn moved(in_another_tab: bool) -> Staleness {
        Staleness { replaced: false, changed: Vec::new(), in_another_tab }
    }

    /// Nothing moved.
    pub fn is_clear(&self) -> bool {
        !self.replaced && self.changed.is_empty()
    }

    /// "2 records, e.g. CRM entry 4, contact detail CD-0000005": the records that moved.
    pub fn changed_text(&self) -> String {
        let n = self.changed.len();
        let examples: Vec<String> = self.changed.iter().take(3).map(describe_key).collect();
        format!("{n} record{}, e.g. {}", if n == 1 { "" } else { "s" }, examples.join(", "))
    }
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.replaced {
            f.write_str("The CRM was replaced (a snapshot or the demo CRM was loaded)")?;
        } else if self.in_another_tab {
            f.write_str("The CRM was changed in another tab")?;
        } else {
            f.write_str("The CRM changed")?;
        }
        f.write_str(" since this plan was made")?;
        if !self.changed.is_empty() {
            write!(f, " ({})", self.changed_text())?;
        }
        f.write_str(
            ". Nothing was written. Plan again to apply it to the current CRM; your choices are kept.",
        )
    }
}

/// A record named for an operator: "CRM entry 12", "contact detail CD-0000005". Keys carry
/// no personal data (no SSN is ever a key).
pub fn describe_key(key: &RecordKey) -> String {
    let what = match key.kind {
        EntityKind::Operator => "operator",
        EntityKind::Portfolio => "portfolio",
        EntityKind::Case => "case",
        EntityKind::Insured => "insured",
        EntityKind::Entry => "CRM entry",
        EntityKind::Detail => "contact detail",
        EntityKind::Account => "account",
        EntityKind::AccountContact => "account contact",
        EntityKind::Specialty => "specialty",
        EntityKind::SchoolUser => "school user",
        EntityKind::Device => "device",
        EntityKind::Import => "import #",
        EntityKind::Counters => "the identity counters",
        EntityKind::Ledger => "PII ledger entry",
    };
    match key.kind {
        EntityKind::Counters => what.to_string(),
        EntityKind::Import => format!("{what}{}", key.id),
        _ => format!("{what} {}", key.id),
    }
}

/// Checks `batch` against the store's state: `replaced_at` is the sequence of the last
/// whole replacement, `stored` the revision of a key now (`None`: absent). Run after
/// [`rebase_identities`], so the batch's new records are checked where they will land.
pub fn check(
    batch: &CheckedBatch,
    replaced_at: Revision,
    mut stored: impl FnMut(&RecordKey) -> Option<Revision>,
) -> Staleness {
    if replaced_at > batch.base {
        return Staleness::replaced();
    }
    let changed =
        batch.expected.iter().filter(|e| stored(&e.key) != e.revision).map(|e| e.key.clone()).collect();
    Staleness::changed(changed)
}

/// The keys a store must read to check and apply `batch`: every expectation and every
/// record written.
pub fn keys_involved(batch: &CheckedBatch) -> BTreeSet<RecordKey> {
    let mut keys: BTreeSet<RecordKey> = batch.expected.iter().map(|e| e.key.clone()).collect();
    keys.extend(batch.changes.puts.iter().map(Record::key));
    keys.extend(batch.changes.deletes.iter().cloned());
    keys
}

/// Why identities could not be moved onto the stored counters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RebaseError {
    /// The stored counters are behind the ones the batch was planned from: the CRM was
    /// replaced by one with fewer records in between. The batch must be planned again.
    #[error("the identity counters went backwards since this plan was made (the CRM was replaced)")]
    CountersWentBack,
    /// A batch that hands out identities must carry the counters after it.
    #[error("the batch hands out identities but carries no counters")]
    NoCounters,
    /// A counter has no identity left to hand out.
    #[error(transparent)]
    Exhausted(#[from] CounterExhausted),
}

/// A batch would hand out an identity past the last one a counter can give (its ids are
/// 32-bit numbers): refused whole, nothing written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The CRM has no {name} ids left: the counter reached {}; nothing was written.",
    crate::core::text::thousands(u64::from(u32::MAX))
)]
pub struct CounterExhausted {
    pub name: &'static str,
}

/// Refuses a batch that puts a record under the last id a counter can give (`u32::MAX`):
/// handing it out leaves the counter no next value, so a planner that reached it would give
/// it again (its counter saturates there instead of wrapping to 0 and overwriting record 1).
/// Every store calls it, after [`rebase_identities`], inside its commit.
pub fn check_counters(batch: &CheckedBatch) -> Result<(), CounterExhausted> {
    for record in &batch.changes.puts {
        let counted = match record {
            Record::Entry(e) => Some(("CRM entry", e.id)),
            Record::Detail(d) => d
                .public_id
                .strip_prefix("CD-")
                .and_then(|n| n.parse::<u32>().ok())
                .map(|n| ("contact detail", n)),
            Record::Case(c) => Some(("case", c.id)),
            Record::Insured(i) => Some(("insured", i.id)),
            Record::Portfolio(p) => Some(("portfolio", p.id)),
            Record::AccountContact(c) => Some(("account contact", c.id)),
            Record::Import(i) => Some(("import", i.id)),
            _ => None,
        };
        if let Some((name, u32::MAX)) = counted {
            return Err(CounterExhausted { name });
        }
    }
    Ok(())
}

/// One counter's move: identities in `[from, to)` were handed out by the batch and become
/// `[from + shift, to + shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shift {
    from: u32,
    to: u32,
    by: u32,
}

impl Shift {
    fn new(
        name: &'static str,
        planned_from: u32,
        planned_to: u32,
        stored: u32,
    ) -> Result<Shift, RebaseError> {
        let by = stored.checked_sub(planned_from).ok_or(RebaseError::CountersWentBack)?;
        let to = planned_to.max(planned_from);
        // The batch's identities, moved, must still be ids the counter can give.
        to.checked_add(by).ok_or(CounterExhausted { name })?;
        Ok(Shift { from: planned_from, to, by })
    }

    fn id(&self, id: u32) -> u32 {
        if id >= self.from && id < self.to {
            id + self.by
        } else {
            id
        }
    }
}

/// How every counter moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shifts {
    entry: Shift,
    detail: Shift,
    case: Shift,
    insured: Shift,
    portfolio: Shift,
    account_contact: Shift,
    import: Shift,
}

impl Shifts {
    fn is_identity(&self) -> bool {
        [self.entry, self.detail, self.case, self.insured, self.portfolio, self.account_contact, self.import]
            .iter()
            .all(|s| s.by == 0)
    }

    fn public_id(&self, id: &str) -> String {
        match id.strip_prefix("CD-").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) if public_id_for(n) == id => public_id_for(self.detail.id(n)),
            _ => id.to_string(),
        }
    }

    fn numeric(shift: Shift, id: &str) -> String {
        match id.parse::<u32>() {
            Ok(n) if n.to_string() == id => shift.id(n).to_string(),
            _ => id.to_string(),
        }
    }

    fn key(&self, key: &RecordKey) -> RecordKey {
        let id = match key.kind {
            EntityKind::Entry => Self::numeric(self.entry, &key.id),
            EntityKind::Detail => self.public_id(&key.id),
            EntityKind::Case => Self::numeric(self.case, &key.id),
            EntityKind::Insured => Self::numeric(self.insured, &key.id),
            EntityKind::Portfolio => Self::numeric(self.portfolio, &key.id),
            EntityKind::AccountContact => Self::numeric(self.account_contact, &key.id),
            EntityKind::Import => Self::numeric(self.import, &key.id),
            _ => key.id.clone(),
        };
        RecordKey { kind: key.kind, id }
    }

    fn record(&self, record: &mut Record) {
        match record {
            Record::Entry(e) => e.id = self.entry.id(e.id),
            Record::Detail(d) => {
                d.public_id = self.public_id(&d.public_id);
                d.entry_id = self.entry.id(d.entry_id);
            }
            Record::Case(c) => c.id = self.case.id(c.id),
            Record::Insured(i) => {
                i.id = self.insured.id(i.id);
                i.case_id = self.case.id(i.case_id);
                i.entry_id = i.entry_id.map(|e| self.entry.id(e));
            }
            Record::Portfolio(p) => {
                p.id = self.portfolio.id(p.id);
                for c in &mut p.case_ids {
                    *c = self.case.id(*c);
                }
            }
            Record::AccountContact(c) => c.id = self.account_contact.id(c.id),
            Record::Import(r) => {
                r.id = self.import.id(r.id);
                for image in &mut r.before_images {
                    image.key = self.key(&image.key);
                    if let Some(before) = &mut image.before {
                        self.record(before);
                    }
                }
            }
            Record::Operator(_)
            | Record::Account(_)
            | Record::Specialty(_)
            | Record::SchoolUser(_)
            | Record::Device(_)
            | Record::Counters(_)
            | Record::Ledger(_) => {}
        }
    }
}

/// Moves the identities `batch` handed out onto `stored`, the counters stored when the commit
/// runs. Identities in the range a counter covered between the batch's
/// `identities_from` and the counters the batch writes are the batch's own (its copy knew no
/// record there), so each moves by the distance between the two starting points; the counters
/// written become `stored` plus what the batch handed out. Expectations move with their
/// keys. A batch that hands out nothing, or whose counters still hold, is left as it is.
pub fn rebase_identities(batch: &mut CheckedBatch, stored: Counters) -> Result<(), RebaseError> {
    let Some(from) = batch.identities_from else { return Ok(()) };
    // The digest secret is made once: a secret already stored wins over the one a batch
    // carries (two tabs giving an old CRM its secret at once keep the first).
    for record in &mut batch.changes.puts {
        if let Record::Counters(c) = record {
            c.secret = stored.secret.or(c.secret);
        }
    }
    let Some(to) = batch.changes.puts.iter().find_map(|r| match r {
        Record::Counters(c) => Some(*c),
        _ => None,
    }) else {
        return Err(RebaseError::NoCounters);
    };
    let shifts = Shifts {
        entry: Shift::new("CRM entry", from.next_entry_id, to.next_entry_id, stored.next_entry_id)?,
        detail: Shift::new(
            "contact detail",
            from.next_detail_number,
            to.next_detail_number,
            stored.next_detail_number,
        )?,
        case: Shift::new("case", from.next_case_id, to.next_case_id, stored.next_case_id)?,
        insured: Shift::new("insured", from.next_insured_id, to.next_insured_id, stored.next_insured_id)?,
        portfolio: Shift::new(
            "portfolio",
            from.next_portfolio_id,
            to.next_portfolio_id,
            stored.next_portfolio_id,
        )?,
        account_contact: Shift::new(
            "account contact",
            from.next_account_contact_id,
            to.next_account_contact_id,
            stored.next_account_contact_id,
        )?,
        import: Shift::new("import", from.next_import_id, to.next_import_id, stored.next_import_id)?,
    };
    if shifts.is_identity() {
        return Ok(());
    }
    for record in &mut batch.changes.puts {
        if let Record::Counters(c) = record {
            *c = Counters {
                next_entry_id: shifts.entry.id(c.next_entry_id.saturating_sub(1)) + 1,
                next_detail_number: shifts.detail.id(c.next_detail_number.saturating_sub(1)) + 1,
                next_case_id: shifts.case.id(c.next_case_id.saturating_sub(1)) + 1,
                next_insured_id: shifts.insured.id(c.next_insured_id.saturating_sub(1)) + 1,
                next_portfolio_id: shifts.portfolio.id(c.next_portfolio_id.saturating_sub(1)) + 1,
                next_account_contact_id: shifts
                    .account_contact
                    .id(c.next_account_contact_id.saturating_sub(1))
                    + 1,
                next_import_id: shifts.import.id(c.next_import_id.saturating_sub(1)) + 1,
                secret: c.secret,
            };
            // A counter the batch did not advance stays where the store has it.
            *c = max_counters(*c, stored);
        } else {
            shifts.record(record);
        }
    }
    for key in &mut batch.changes.deletes {
        *key = shifts.key(key);
    }
    for expectation in &mut batch.expected {
        expectation.key = shifts.key(&expectation.key);
    }
    batch.identities_from = Some(stored);
    Ok(())
}

fn max_counters(a: Counters, b: Counters) -> Counters {
    Counters {
        next_entry_id: a.next_entry_id.max(b.next_entry_id),
        next_detail_number: a.next_detail_number.max(b.next_detail_number),
        next_case_id: a.next_case_id.max(b.next_case_id),
        next_insured_id: a.next_insured_id.max(b.next_insured_id),
        next_portfolio_id: a.next_portfolio_id.max(b.next_portfolio_id),
        next_account_contact_id: a.next_account_contact_id.max(b.next_account_contact_id),
        next_import_id: a.next_import_id.max(b.next_import_id),
        secret: b.secret.or(a.secret),
    }
}

/// The batch that undoes an import, checked: every record the import wrote must still be at
/// the revision the import wrote it (`import_revision`, the revision of its history record);
/// otherwise the undo is refused whole, naming the records changed since.
pub fn checked_undo(
    base: Revision,
    revisions: &Revisions,
    import_key: &RecordKey,
    written: impl IntoIterator<Item = RecordKey>,
    changes: ChangeSet,
) -> Result<CheckedBatch, Staleness> {
    let import_revision = revisions.get(import_key);
    let mut keys: BTreeSet<RecordKey> = written.into_iter().collect();
    keys.insert(import_key.clone());
    let changed: Vec<RecordKey> = keys
        .iter()
        .filter(|k| import_revision.is_none() || revisions.get(k) != import_revision)
        .filter(|k| k.kind != EntityKind::Counters)
        .cloned()
        .collect();
    if !changed.is_empty() {
        return Err(Staleness::changed(changed));
    }
    let expected = keys.into_iter().map(|key| Expectation { key, revision: import_revision }).collect();
    Ok(CheckedBatch { base, expected, identities_from: None, changes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{BeforeImage, ContactDetail, CrmEntry, DetailFields, DetailKind, ImportRecord};

    fn entry(id: u32) -> Record {
        Record::Entry(CrmEntry {
            id,
            client_reference: None,
            ssn: None,
            first_name: "A".into(),
            last_name: "B".into(),
            date_of_birth: None,
        })
    }

    fn detail(n: u32, entry_id: u32) -> Record {
        Record::Detail(ContactDetail {
            public_id: public_id_for(n),
            entry_id,
            kind: DetailKind::Phone,
            fields: DetailFields { phone: "555".into(), ..Default::default() },
        })
    }

    fn counters(entry: u32, detail: u32, import: u32) -> Counters {
        Counters {
            next_entry_id: entry,
            next_detail_number: detail,
            next_import_id: import,
            ..Default::default()
        }
    }

    fn import(id: u32, images: Vec<BeforeImage>) -> Record {
        Record::Import(ImportRecord {
            id,
            template_id: "t".into(),
            operator_login: "ana".into(),
            applied_at_ms: 0,
            file_name: "f".into(),
            sha256: String::new(),
            counts: Default::default(),
            before_images: images,
            undone: false,
        })
    }

    #[test]
    fn identities_handed_out_twice_are_moved_past_the_other_writers() {
        // Planned on counters (entry 10, detail 20, import 3): one new entry, one new detail on
        // it, one new detail on existing entry 4, the import record.
        let from = counters(10, 20, 3);
        let images = vec![
            BeforeImage { key: entry(10).key(), before: None },
            BeforeImage { key: detail(20, 10).key(), before: None },
            BeforeImage { key: detail(21, 4).key(), before: None },
        ];
        let changes = ChangeSet {
            puts: vec![
                entry(10),
                detail(20, 10),
                detail(21, 4),
                Record::Counters(counters(11, 22, 4)),
                import(3, images),
            ],
            deletes: Vec::new(),
        };
        let mut batch = CheckedBatch::new(0, &Revisions::new(), from, [entry(4).key()], changes);
        // Another tab committed first: two entries, five details, one import.
        rebase_identities(&mut batch, counters(12, 25, 4)).unwrap();
        let puts = &batch.changes.puts;
        assert_eq!(puts[0], entry(12));
        assert_eq!(puts[1], detail(25, 12));
        assert_eq!(puts[2], detail(26, 4), "an existing entry is not moved");
        assert_eq!(puts[3], Record::Counters(counters(13, 27, 5)));
        match &puts[4] {
            Record::Import(r) => {
                assert_eq!(r.id, 4);
                let keys: Vec<String> = r.before_images.iter().map(|b| b.key.id.clone()).collect();
                assert_eq!(keys, vec!["12".to_string(), public_id_for(25), public_id_for(26)]);
            }
            other => panic!("expected the import record, got {other:?}"),
        }
        let expected: BTreeSet<String> = batch.expected.iter().map(|e| e.key.id.clone()).collect();
        assert!(expected.contains("12") && expected.contains("4") && expected.contains(&public_id_for(26)));
        assert!(!expected.contains("10"));
    }

    #[test]
    fn a_stored_digest_secret_is_never_replaced_by_a_batch() {
        use crate::core::privacy::CrmSecret;
        let (first, second) = (CrmSecret::from_bytes([1; 32]), CrmSecret::from_bytes([2; 32]));
        // Two tabs give a CRM without a secret one each: the one stored first stays, whether
        // the second batch hands out identities or not.
        let from = counters(10, 20, 3);
        let stored = Counters { secret: Some(first), ..from };
        for to in [from, counters(11, 20, 3)] {
            let changes = ChangeSet {
                puts: vec![Record::Counters(Counters { secret: Some(second), ..to })],
                deletes: vec![],
            };
            let mut batch = CheckedBatch::new(0, &Revisions::new(), from, [], changes);
            rebase_identities(&mut batch, stored).unwrap();
            let Record::Counters(written) = &batch.changes.puts[0] else { panic!("the counters") };
            assert_eq!(written.secret, Some(first));
        }
        // A store without one takes the batch's.
        let changes = ChangeSet {
            puts: vec![Record::Counters(Counters { secret: Some(second), ..from })],
            deletes: vec![],
        };
        let mut batch = CheckedBatch::new(0, &Revisions::new(), from, [], changes);
        rebase_identities(&mut batch, from).unwrap();
        assert!(matches!(&batch.changes.puts[0], Record::Counters(c) if c.secret == Some(second)));
    }

    #[test]
    fn a_batch_whose_counters_still_hold_is_left_as_it_is() {
        let from = counters(10, 20, 3);
        let changes =
            ChangeSet { puts: vec![entry(10), Record::Counters(counters(11, 20, 3))], deletes: vec![] };
        let mut batch = CheckedBatch::new(0, &Revisions::new(), from, [], changes);
        let before = batch.clone();
        rebase_identities(&mut batch, from).unwrap();
        assert_eq!(batch, before);
    }

    #[test]
    fn counters_that_went_backwards_refuse_the_rebase() {
        let from = counters(10, 20, 3);
        let changes =
            ChangeSet { puts: vec![entry(10), Record::Counters(counters(11, 20, 3))], deletes: vec![] };
        let mut batch = CheckedBatch::new(0, &Revisions::new(), from, [], changes);
        assert_eq!(rebase_identities(&mut batch, counters(5, 20, 3)), Err(RebaseError::CountersWentBack));
    }

    #[test]
    fn expectations_cover_reads_and_writes_but_not_the_counters() {
        let mut revisions = Revisions::new();
        revisions.set(entry(4).key(), 7);
        revisions.set(detail(1, 4).key(), 9);
        let changes = ChangeSet {
            puts: vec![detail(1, 4), entry(10), Record::Counters(counters(11, 2, 1))],
            deletes: vec![],
        };
        let batch = CheckedBatch::new(9, &revisions, counters(10, 2, 1), [entry(4).key()], changes);
        let got: Vec<(String, Option<Revision>)> =
            batch.expected.iter().map(|e| (e.key.id.clone(), e.revision)).collect();
        assert_eq!(
            got,
            vec![("10".to_string(), None), ("4".to_string(), Some(7)), (public_id_for(1), Some(9))]
        );
        assert_eq!(batch.identities_from, Some(counters(10, 2, 1)));
    }

    #[test]
    fn check_names_every_record_that_moved_and_a_replacement_first() {
        let mut revisions = Revisions::new();
        revisions.set(entry(4).key(), 7);
        let batch = CheckedBatch::new(
            9,
            &revisions,
            Counters::default(),
            [entry(4).key(), entry(5).key()],
            ChangeSet::default(),
        );
        let stored = |k: &RecordKey| {
            if k.id == "4" {
                Some(8)
            } else if k.id == "5" {
                Some(1)
            } else {
                None
            }
        };
        let stale = check(&batch, 3, stored);
        assert!(!stale.replaced);
        assert_eq!(stale.changed, vec![entry(4).key(), entry(5).key()]);
        assert_eq!(
            stale.to_string(),
            "The CRM changed since this plan was made (2 records, e.g. CRM entry 4, CRM entry 5). Nothing was \
             written. Plan again to apply it to the current CRM; your choices are kept."
        );
        assert!(check(&batch, 10, |_| None).replaced);
        let fine = |k: &RecordKey| if k.id == "4" { Some(7) } else { None };
        assert!(check(&batch, 9, fine).is_clear());
    }

    #[test]
    fn undo_is_refused_when_a_record_changed_after_the_import() {
        let mut revisions = Revisions::new();
        let import_key = RecordKey { kind: EntityKind::Import, id: "3".into() };
        revisions.set(import_key.clone(), 5);
        revisions.set(entry(4).key(), 5);
        revisions.set(detail(1, 4).key(), 6);
        let refused = checked_undo(
            6,
            &revisions,
            &import_key,
            [entry(4).key(), detail(1, 4).key()],
            ChangeSet::default(),
        );
        assert_eq!(refused.unwrap_err().changed, vec![detail(1, 4).key()]);
        revisions.set(detail(1, 4).key(), 5);
        let batch = checked_undo(
            6,
            &revisions,
            &import_key,
            [entry(4).key(), detail(1, 4).key()],
            ChangeSet::default(),
        )
        .unwrap();
        assert!(batch.expected.iter().all(|e| e.revision == Some(5)));
        assert_eq!(batch.expected.len(), 3);
    }
}
