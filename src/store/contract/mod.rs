//! The contract every [`CrmStore`] keeps, written once as async functions that panic on
//! failure, and [`store_contract_suite!`](crate::store_contract_suite), the one macro that
//! makes a test of each: `tests/store_memory.rs` runs them natively against the memory store,
//! `tests/store_indexeddb` in a browser against IndexedDB, unencrypted and encrypted (the
//! matrix-rust-sdk pattern: one suite, every implementation). Each function expects a fresh,
//! empty store. Compiled only for tests (the `store-contract` feature, which the crate's
//! dev-dependency on itself turns on), never into the app.

use crate::core::model::{
    Account, AccountKind, BeforeImage, ChangeSet, Counters, Crm, CrmEntry, EntityKind, ImportCounts,
    ImportRecord, Record, RecordKey,
};
use crate::core::revision::{checked_undo, CheckedBatch, CounterExhausted, Revision};
use crate::store::{Committed, CrmStore, StagedFile, StoreError, StoredCrm};

mod sample;
use sample::case;
pub use sample::{entry, phone, sample_crm};

/// Generates the contract suite: one test per case, each against a fresh, empty store. The
/// list of cases is written here only; a new case is a function below and a line in it.
///
/// - `store_contract_suite!(native, make)`: a `#[test]` per case, run to completion with
///   `futures::executor::block_on` against the store `make` (an expression) builds.
/// - `store_contract_suite!(browser, open, close)`: a `#[wasm_bindgen_test]` per case:
///   `open().await` gives the store, the case runs, `close(store).await` disposes of it.
///
/// Put each use in its own module when one test binary runs the suite against several stores.
/// `store_contract_suite!(names)` is the list of case names (a test checks that every case
/// function below is listed).
#[macro_export]
macro_rules! store_contract_suite {
    ($($how:tt)*) => {
        $crate::__store_contract_cases! { ($($how)*)
            empty_store_loads_an_empty_crm,
            committed_puts_are_seen_by_get_count_and_load_all,
            find_entry_by_client_reference_uses_the_unique_index,
            entries_without_client_reference_or_ssn_do_not_clash,
            replace_all_removes_every_old_record,
            replace_all_of_a_crm_with_duplicate_client_references_keeps_the_old_copy,
            deletes_in_a_commit_remove_records,
            duplicate_client_reference_inside_one_batch_refuses_the_whole_batch,
            client_reference_clashing_with_an_existing_entry_refuses_the_whole_batch,
            duplicate_ssn_or_case_reference_is_refused,
            values_freed_in_the_same_batch_can_be_reused,
            staged_file_put_get_replace_delete,
            replace_all_then_load_all_round_trips_every_kind,
            every_write_gets_the_next_sequence_number_and_stamps_its_records,
            a_batch_expecting_a_record_that_moved_is_refused_whole,
            a_batch_expecting_a_record_to_be_absent_is_refused_when_it_exists,
            a_batch_planned_before_a_replace_all_is_refused,
            two_batches_racing_for_the_next_identities_get_different_ones,
            undo_is_refused_after_a_later_change_and_allowed_before,
            get_many_returns_records_with_their_revisions,
            a_refused_batch_leaves_the_sequence_number_alone,
            a_batch_handing_out_the_last_id_of_a_counter_is_refused_whole,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract_cases {
    ((names) $($case:ident,)*) => {
        [$(stringify!($case)),*]
    };
    ((native, $make:expr) $($case:ident,)*) => {
        $(
            #[test]
            fn $case() {
                let store = $make;
                ::futures::executor::block_on($crate::store::contract::$case(&store));
            }
        )*
    };
    ((browser, $open:path, $close:path) $($case:ident,)*) => {
        $(
            #[::wasm_bindgen_test::wasm_bindgen_test]
            async fn $case() {
                let store = $open().await;
                $crate::store::contract::$case(&store).await;
                $close(store).await;
            }
        )*
    };
}

fn puts(records: Vec<Record>) -> ChangeSet {
    ChangeSet { puts: records, deletes: Vec::new() }
}

fn entry_key(id: u32) -> RecordKey {
    RecordKey { kind: EntityKind::Entry, id: id.to_string() }
}

/// Commits a set-up batch that expects nothing.
async fn put_unchecked<S: CrmStore>(store: &S, changes: &ChangeSet) -> Result<Committed, StoreError> {
    store.commit(&CheckedBatch::unchecked(changes.clone())).await
}

/// The whole CRM, without its revisions.
async fn load<S: CrmStore>(store: &S) -> Crm {
    must("load_all", store.load_all().await).crm
}

fn must<T>(what: &str, result: Result<T, StoreError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

/// Applies a batch the test knows to be valid to the expected CRM.
fn apply(expected: &mut Crm, batch: &ChangeSet) {
    if let Err(e) = expected.apply_changes(batch) {
        panic!("the test's own batch is invalid: {e}");
    }
}

fn assert_constraint<T: std::fmt::Debug>(result: Result<T, StoreError>, needle: &str) {
    match result {
        Err(StoreError::Constraint(message)) => {
            assert!(message.contains(needle), "constraint message {message:?} should mention {needle:?}")
        }
        other => panic!("expected a Constraint error mentioning {needle:?}, got {other:?}"),
    }
}

/// An empty store loads an empty CRM and finds nothing.
pub async fn empty_store_loads_an_empty_crm<S: CrmStore>(store: &S) {
    assert_eq!(must("load_all", store.load_all().await), StoredCrm::default());
    assert_eq!(must("count", store.count(EntityKind::Entry).await), 0);
    assert_eq!(must("get", store.get(&entry_key(1)).await), None);
    assert_eq!(
        must(
            "get counters",
            store.get(&RecordKey { kind: EntityKind::Counters, id: "counters".into() }).await
        ),
        Some(Record::Counters(Counters::default()))
    );
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-1").await), None);
    assert_eq!(must("get_staged", store.get_staged("any").await), None);
}

/// Puts in a commit are visible to `get`, `count` and `load_all`.
pub async fn committed_puts_are_seen_by_get_count_and_load_all<S: CrmStore>(store: &S) {
    let e1 = entry(1, Some("CR-1"), Some("111-11-1111"), "Ann", "Lee");
    let e2 = entry(2, Some("CR-2"), None, "Bob", "Ray");
    let d1 = phone(1, 1, "555-0100");
    let batch = puts(vec![Record::Entry(e1.clone()), Record::Entry(e2.clone()), Record::Detail(d1.clone())]);
    must("commit", put_unchecked(store, &batch).await);

    assert_eq!(must("get", store.get(&entry_key(1)).await), Some(Record::Entry(e1.clone())));
    assert_eq!(must("get", store.get(&Record::Detail(d1.clone()).key()).await), Some(Record::Detail(d1)));
    assert_eq!(must("get", store.get(&entry_key(9)).await), None);
    assert_eq!(must("count", store.count(EntityKind::Entry).await), 2);
    assert_eq!(must("count", store.count(EntityKind::Detail).await), 1);
    assert_eq!(must("count", store.count(EntityKind::Case).await), 0);

    let mut expected = Crm::default();
    apply(&mut expected, &batch);
    assert_eq!(load(store).await, expected);

    // A put of an existing key replaces the record.
    let e1b = CrmEntry { first_name: "Anne".into(), ..e1 };
    must("commit", put_unchecked(store, &puts(vec![Record::Entry(e1b.clone())])).await);
    assert_eq!(must("get", store.get(&entry_key(1)).await), Some(Record::Entry(e1b)));
    assert_eq!(must("count", store.count(EntityKind::Entry).await), 2);
}

/// `find_entry_by_client_reference` finds the entry that carries the reference, and follows
/// updates of it.
pub async fn find_entry_by_client_reference_uses_the_unique_index<S: CrmStore>(store: &S) {
    let e1 = entry(1, Some("CR-1"), None, "Ann", "Lee");
    let e2 = entry(2, Some("CR-2"), None, "Bob", "Ray");
    must(
        "commit",
        put_unchecked(store, &puts(vec![Record::Entry(e1.clone()), Record::Entry(e2.clone())])).await,
    );
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-2").await), Some(e2.clone()));
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-1").await), Some(e1));
    assert_eq!(must("find", store.find_entry_by_client_reference("cr-1").await), None);
    assert_eq!(must("find", store.find_entry_by_client_reference("").await), None);

    // Changing an entry's reference moves it in the index.
    let e2b = CrmEntry { client_reference: Some("CR-2B".into()), ..e2 };
    must("commit", put_unchecked(store, &puts(vec![Record::Entry(e2b.clone())])).await);
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-2").await), None);
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-2B").await), Some(e2b));
}

/// "Unique when present": any number of entries may lack a Client Reference or an SSN.
pub async fn entries_without_client_reference_or_ssn_do_not_clash<S: CrmStore>(store: &S) {
    let batch = puts(vec![
        Record::Entry(entry(1, None, None, "A", "One")),
        Record::Entry(entry(2, None, None, "B", "Two")),
    ]);
    must("commit", put_unchecked(store, &batch).await);
    must(
        "commit",
        put_unchecked(store, &puts(vec![Record::Entry(entry(3, None, None, "C", "Three"))])).await,
    );
    assert_eq!(must("count", store.count(EntityKind::Entry).await), 3);
    assert_eq!(must("find", store.find_entry_by_client_reference("").await), None);
}

/// `replace_all` leaves exactly the new CRM: every old record of every kind is gone.
pub async fn replace_all_removes_every_old_record<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let mut next = Crm::default();
    next.put(Record::Entry(entry(10, Some("CR-1"), None, "New", "Person")));
    next.put(Record::Case(case(5, "CASE-001")));
    next.counters.next_entry_id = 11;
    must("replace_all", store.replace_all(&next).await);

    assert_eq!(load(store).await, next);
    assert_eq!(must("count", store.count(EntityKind::Entry).await), 1);
    assert_eq!(must("count", store.count(EntityKind::Detail).await), 0);
    assert_eq!(must("count", store.count(EntityKind::Import).await), 0);
    assert_eq!(must("get", store.get(&entry_key(1)).await), None);
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-1").await).map(|e| e.id), Some(10));
}

/// A CRM (say, from a damaged snapshot) in which two entries share a Client Reference is
/// refused whole; the copy already stored stays as it was.
pub async fn replace_all_of_a_crm_with_duplicate_client_references_keeps_the_old_copy<S: CrmStore>(
    store: &S,
) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let mut bad = Crm::default();
    bad.put(Record::Entry(entry(10, Some("CR-SAME"), None, "One", "Person")));
    bad.put(Record::Entry(entry(11, Some("CR-SAME"), None, "Other", "Person")));
    assert_constraint(store.replace_all(&bad).await, "CR-SAME");
    assert_eq!(load(store).await, sample_crm());
}

/// Deletes in a commit remove records; deleting a missing key is not an error; deletes run
/// before puts, so a batch may delete and re-create the same key.
pub async fn deletes_in_a_commit_remove_records<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let detail_key = RecordKey { kind: EntityKind::Detail, id: crate::core::model::public_id_for(1) };
    let replacement = entry(2, Some("CR-NEW"), None, "Mary", "O'Neil");
    let batch = ChangeSet {
        puts: vec![Record::Entry(replacement.clone())],
        deletes: vec![
            detail_key.clone(),
            entry_key(2),
            entry_key(3),
            RecordKey { kind: EntityKind::Device, id: "no such device".into() },
        ],
    };
    must("commit", put_unchecked(store, &batch).await);

    let mut expected = sample_crm();
    apply(&mut expected, &batch);
    assert_eq!(load(store).await, expected);
    assert_eq!(must("get", store.get(&detail_key).await), None);
    assert_eq!(must("get", store.get(&entry_key(3)).await), None);
    assert_eq!(must("get", store.get(&entry_key(2)).await), Some(Record::Entry(replacement)));
    assert_eq!(must("count", store.count(EntityKind::Entry).await), 2);
}

/// Two new entries with one Client Reference: the whole batch is refused and the store is
/// exactly as it was (the valid first half is not written either).
pub async fn duplicate_client_reference_inside_one_batch_refuses_the_whole_batch<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let before = load(store).await;
    let batch = ChangeSet {
        puts: vec![
            Record::Detail(phone(3, 1, "first half")),
            Record::Entry(entry(7, Some("CR-7"), None, "Valid", "First")),
            Record::Entry(entry(8, Some("CR-DUP"), None, "Dup", "One")),
            Record::Entry(entry(9, Some("CR-DUP"), None, "Dup", "Two")),
        ],
        deletes: vec![entry_key(2)],
    };
    assert_constraint(put_unchecked(store, &batch).await, "CR-DUP");
    assert_eq!(load(store).await, before);
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-7").await), None);
}

/// A new entry reusing an existing entry's Client Reference: refused whole, nothing written,
/// including the deletes of the batch.
pub async fn client_reference_clashing_with_an_existing_entry_refuses_the_whole_batch<S: CrmStore>(
    store: &S,
) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let before = load(store).await;
    let batch = ChangeSet {
        puts: vec![
            Record::Entry(entry(2, Some("CR-2"), None, "Mary", "Updated")),
            Record::Detail(phone(3, 2, "555-0199")),
            Record::Entry(entry(20, Some("CR-1"), None, "Someone", "Else")),
        ],
        deletes: vec![RecordKey { kind: EntityKind::Detail, id: crate::core::model::public_id_for(2) }],
    };
    assert_constraint(put_unchecked(store, &batch).await, "CR-1");
    assert_eq!(load(store).await, before);
    assert_eq!(must("count", store.count(EntityKind::Detail).await), 2);
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-1").await).map(|e| e.id), Some(1));
}

/// SSNs and case references are unique too.
pub async fn duplicate_ssn_or_case_reference_is_refused<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let before = load(store).await;
    let ssn_clash = puts(vec![Record::Entry(entry(30, Some("CR-30"), Some("987-65-4321"), "X", "Y"))]);
    // The refusal names the SSN masked, never in full.
    assert_constraint(put_unchecked(store, &ssn_clash).await, "XXX-XX-4321");
    let Err(StoreError::Constraint(message)) = put_unchecked(store, &ssn_clash).await else {
        panic!("the SSN clash is refused")
    };
    for full in ["987-65-4321", "987654321", "987 65 4321"] {
        assert!(!message.contains(full), "the refusal {message:?} shows the SSN in full");
    }
    let case_clash = puts(vec![Record::Case(case(3, "CASE-003")), Record::Case(case(4, "CASE-002"))]);
    assert_constraint(put_unchecked(store, &case_clash).await, "CASE-002");
    assert_eq!(load(store).await, before);
}

/// Values freed in the same batch (by a delete, or by the entry that held them changing) may
/// be taken by another record of that batch: uniqueness is judged on the batch's end state.
pub async fn values_freed_in_the_same_batch_can_be_reused<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    // Entry 1 holds CR-1 and SSN 123-45-6789; entry 3 holds SSN 987-65-4321.
    let batch = ChangeSet {
        puts: vec![
            // Takes entry 1's reference before entry 1 (later in the batch) gives it up.
            Record::Entry(entry(2, Some("CR-1"), None, "Mary", "O'Neil")),
            Record::Entry(entry(1, Some("CR-1-OLD"), Some("123-45-6789"), "José", "Álvarez")),
            // Takes the SSN of entry 3, which the batch deletes.
            Record::Entry(entry(40, None, Some("987-65-4321"), "Li", "Wei")),
        ],
        deletes: vec![entry_key(3)],
    };
    must("commit", put_unchecked(store, &batch).await);
    let mut expected = sample_crm();
    apply(&mut expected, &batch);
    assert_eq!(load(store).await, expected);
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-1").await).map(|e| e.id), Some(2));
    assert_eq!(must("find", store.find_entry_by_client_reference("CR-1-OLD").await).map(|e| e.id), Some(1));
}

fn staged(template_id: &str, file_name: &str, bytes: Vec<u8>) -> StagedFile {
    StagedFile {
        template_id: template_id.into(),
        file_name: file_name.into(),
        size: bytes.len() as u64,
        sha256: "0f".repeat(32),
        staged_at_ms: 1_700_000_000_123,
        row_count: 2,
        bytes,
    }
}

/// One staged file per template: put, get, replace, delete; other templates untouched; the
/// CRM untouched.
pub async fn staged_file_put_get_replace_delete<S: CrmStore>(store: &S) {
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0xff, b'\n']).collect();
    let first = staged("users", "users.csv", bytes);
    let other = staged("devices", "devices.xlsx", vec![0x50, 0x4b, 0x03, 0x04]);
    must("put_staged", store.put_staged(&first).await);
    must("put_staged", store.put_staged(&other).await);
    assert_eq!(must("get_staged", store.get_staged("users").await), Some(first));

    let second = staged("users", "users (2).csv", b"User ID;Insurance Status\r\n0042;Yes\r\n".to_vec());
    must("put_staged", store.put_staged(&second).await);
    assert_eq!(must("get_staged", store.get_staged("users").await), Some(second));

    let empty = staged("empty", "empty.csv", Vec::new());
    must("put_staged", store.put_staged(&empty).await);
    assert_eq!(must("get_staged", store.get_staged("empty").await), Some(empty));

    must("delete_staged", store.delete_staged("users").await);
    must("delete_staged", store.delete_staged("never staged").await);
    assert_eq!(must("get_staged", store.get_staged("users").await), None);
    assert_eq!(must("get_staged", store.get_staged("devices").await), Some(other.clone()));

    // replace_all is about the CRM: staged files survive it.
    must("replace_all", store.replace_all(&sample_crm()).await);
    assert_eq!(must("get_staged", store.get_staged("devices").await), Some(other));
    assert_eq!(load(store).await, sample_crm());
}

/// What `replace_all` wrote, `load_all` reads back equal, for every kind, including details
/// and import records with before-images.
pub async fn replace_all_then_load_all_round_trips_every_kind<S: CrmStore>(store: &S) {
    let crm = sample_crm();
    must("replace_all", store.replace_all(&crm).await);
    let loaded = load(store).await;
    assert_eq!(loaded, crm);
    for kind in EntityKind::ALL {
        assert_eq!(must("count", store.count(kind).await), crm.count(kind), "count of {kind:?}");
    }
    for record in crm.records() {
        assert_eq!(must("get", store.get(&record.key()).await), Some(record.clone()));
    }
    assert_eq!(
        must("find", store.find_entry_by_client_reference("CR-1").await),
        crm.entries.get(&1).cloned()
    );
}

/// The revision of `key` in a stored CRM.
fn revision(stored: &StoredCrm, key: &RecordKey) -> Option<Revision> {
    stored.revisions.get(key)
}

/// A batch planned on `stored`: reads `reads`, writes `changes`.
fn planned(stored: &StoredCrm, reads: Vec<RecordKey>, changes: ChangeSet) -> CheckedBatch {
    CheckedBatch::new(stored.sequence, &stored.revisions, stored.crm.counters, reads, changes)
}

fn assert_stale<T: std::fmt::Debug>(result: Result<T, StoreError>, changed: &[RecordKey], replaced: bool) {
    match result {
        Err(StoreError::Stale(stale)) => {
            assert_eq!(stale.replaced, replaced, "replaced in {stale:?}");
            assert_eq!(stale.changed, changed, "changed records in {stale:?}");
        }
        other => panic!("expected Stale, got {other:?}"),
    }
}

/// Each commit and each `replace_all` takes the next sequence number, which only grows, and
/// stamps the records it writes with it; records it does not write keep theirs.
pub async fn every_write_gets_the_next_sequence_number_and_stamps_its_records<S: CrmStore>(store: &S) {
    assert_eq!(must("sequence", store.sequence().await), 0);
    let first = must("replace_all", store.replace_all(&sample_crm()).await);
    assert_eq!(first, 1);
    assert_eq!(must("sequence", store.sequence().await), 1);
    let stored = must("load_all", store.load_all().await);
    assert_eq!(stored.sequence, 1);
    assert_eq!(stored.revisions.len(), sample_crm().records().len());
    assert!(sample_crm().records().iter().all(|r| revision(&stored, &r.key()) == Some(1)));

    let changed = entry(2, None, None, "Mary", "Changed");
    let batch = planned(&stored, vec![], puts(vec![Record::Entry(changed)]));
    let committed = must("commit", store.commit(&batch).await);
    assert_eq!(committed.sequence, 2);
    assert_eq!(must("sequence", store.sequence().await), 2);
    let after = must("load_all", store.load_all().await);
    assert_eq!(after.sequence, 2);
    assert_eq!(revision(&after, &entry_key(2)), Some(2));
    assert_eq!(
        revision(&after, &entry_key(1)),
        Some(1),
        "a record the commit did not write keeps its revision"
    );

    let again = must("replace_all", store.replace_all(&sample_crm()).await);
    assert_eq!(again, 3);
    let replaced = must("load_all", store.load_all().await);
    assert!(sample_crm().records().iter().all(|r| revision(&replaced, &r.key()) == Some(3)));
}

/// A batch planned before another writer changed a record it read or writes is refused
/// whole, naming that record, and nothing of it is written.
pub async fn a_batch_expecting_a_record_that_moved_is_refused_whole<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let stale_copy = must("load_all", store.load_all().await);

    // Another tab changes entry 2.
    let other =
        planned(&stale_copy, vec![], puts(vec![Record::Entry(entry(2, None, None, "Mary", "Other tab"))]));
    must("commit", store.commit(&other).await);
    let now = load(store).await;

    // This tab planned on the stale copy: it read entry 2 and writes entry 3 and a detail.
    let batch = planned(
        &stale_copy,
        vec![entry_key(2)],
        puts(vec![
            Record::Entry(entry(3, None, Some("987-65-4321"), "Li", "Changed")),
            Record::Detail(phone(9, 3, "555")),
        ]),
    );
    assert_stale(store.commit(&batch).await, &[entry_key(2)], false);
    assert_eq!(load(store).await, now, "nothing of the refused batch is written");

    // A batch that overwrites the moved record itself is refused too.
    let overwrite =
        planned(&stale_copy, vec![], puts(vec![Record::Entry(entry(2, None, None, "Mary", "Old value"))]));
    assert_stale(store.commit(&overwrite).await, &[entry_key(2)], false);
    assert_eq!(load(store).await, now);

    // Planned again on the current copy, the same batch goes through.
    let fresh = must("load_all", store.load_all().await);
    let replanned = planned(&fresh, vec![entry_key(2)], batch.changes.clone());
    must("commit", store.commit(&replanned).await);
    assert_eq!(load(store).await.entries.get(&3).map(|e| e.last_name.clone()), Some("Changed".to_string()));
}

/// "Absent" is an expectation too: a batch planned when a record did not exist is refused if
/// another writer created it meanwhile.
pub async fn a_batch_expecting_a_record_to_be_absent_is_refused_when_it_exists<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let stale_copy = must("load_all", store.load_all().await);
    let account_key = RecordKey { kind: EntityKind::Account, id: "99.999.999/0001-91".into() };
    let account = |name: &str| {
        Record::Account(Account {
            number: account_key.id.clone(),
            name: name.into(),
            kind: AccountKind::Company,
            portfolio_login: None,
        })
    };
    must("commit", store.commit(&planned(&stale_copy, vec![], puts(vec![account("First tab")]))).await);
    let now = load(store).await;
    assert_stale(
        store.commit(&planned(&stale_copy, vec![], puts(vec![account("Second tab")]))).await,
        std::slice::from_ref(&account_key),
        false,
    );
    assert_eq!(load(store).await, now);
}

/// Loading a snapshot replaces the CRM: every batch planned before it is refused.
pub async fn a_batch_planned_before_a_replace_all_is_refused<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let stale_copy = must("load_all", store.load_all().await);
    must("replace_all", store.replace_all(&sample_crm()).await);
    let now = load(store).await;
    let batch = planned(&stale_copy, vec![], puts(vec![Record::Specialty("Oncology".into())]));
    assert_stale(store.commit(&batch).await, &[], true);
    assert_eq!(load(store).await, now);
}

/// An import-like batch: a new entry with a detail and the history record, identities handed
/// out from `stored`'s counters.
fn creating_batch(stored: &StoredCrm, name: &str, client_reference: &str) -> CheckedBatch {
    let c = stored.crm.counters;
    let id = c.next_entry_id;
    let detail = phone(c.next_detail_number, id, "555-0000");
    let import = ImportRecord {
        id: c.next_import_id,
        template_id: "insured-contact-details".into(),
        operator_login: "ana".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: format!("{name}.xlsx"),
        sha256: "cd".repeat(32),
        counts: ImportCounts { created: 1, added: 1, ..Default::default() },
        before_images: vec![
            BeforeImage { key: entry_key(id), before: None },
            BeforeImage { key: Record::Detail(detail.clone()).key(), before: None },
        ],
        undone: false,
    };
    let next = Counters {
        next_entry_id: id + 1,
        next_detail_number: c.next_detail_number + 1,
        next_import_id: c.next_import_id + 1,
        ..c
    };
    let changes = puts(vec![
        Record::Entry(entry(id, Some(client_reference), None, name, "Tab")),
        Record::Detail(detail),
        Record::Counters(next),
        Record::Import(import),
    ]);
    planned(stored, vec![], changes)
}

/// Two tabs plan from the same counters and commit one after the other: the second gets the
/// next identities, so both entries, both details and both history records exist, distinct.
pub async fn two_batches_racing_for_the_next_identities_get_different_ones<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let copy = must("load_all", store.load_all().await);
    let a = creating_batch(&copy, "Alice", "CR-A");
    let b = creating_batch(&copy, "Bruno", "CR-B");
    let first = must("commit A", store.commit(&a).await);
    let second = must("commit B", store.commit(&b).await);
    assert_eq!(first.changes, a.changes, "the first writer's identities hold");
    let crm = load(store).await;
    let c0 = sample_crm().counters;
    let by_ref = |r: &str| crm.entries.values().find(|e| e.client_reference.as_deref() == Some(r)).cloned();
    let (alice, bruno) = (by_ref("CR-A").expect("Alice's entry"), by_ref("CR-B").expect("Bruno's entry"));
    assert_eq!((alice.id, bruno.id), (c0.next_entry_id, c0.next_entry_id + 1));
    let detail_of = |e: u32| crm.details.values().filter(|d| d.entry_id == e).count();
    assert_eq!((detail_of(alice.id), detail_of(bruno.id)), (1, 1));
    assert_eq!(crm.details.len(), sample_crm().details.len() + 2);
    let imports: Vec<u32> = crm.imports.keys().copied().collect();
    assert!(
        imports.contains(&c0.next_import_id) && imports.contains(&(c0.next_import_id + 1)),
        "{imports:?}"
    );
    let bruno_import = &crm.imports[&(c0.next_import_id + 1)];
    assert_eq!(bruno_import.file_name, "Bruno.xlsx");
    assert_eq!(
        bruno_import.before_images[0].key,
        entry_key(bruno.id),
        "before-images follow the moved identities"
    );
    assert_eq!(crm.counters.next_entry_id, c0.next_entry_id + 2);
    assert_eq!(crm.counters.next_detail_number, c0.next_detail_number + 2);
    assert_eq!(crm.counters.next_import_id, c0.next_import_id + 2);
    // What the commit says it wrote is what is stored.
    for record in &second.changes.puts {
        assert_eq!(crm.get(&record.key()).as_ref(), Some(record));
    }
}

/// Undo restores what an import wrote only while nobody changed it since; afterwards it is
/// refused whole, naming the record.
pub async fn undo_is_refused_after_a_later_change_and_allowed_before<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let copy = must("load_all", store.load_all().await);
    let import = creating_batch(&copy, "Alice", "CR-A");
    let committed = must("commit", store.commit(&import).await);
    let import_record = committed.changes.puts.iter().find_map(|r| match r {
        Record::Import(i) => Some(i.clone()),
        _ => None,
    });
    let Some(import_record) = import_record else { panic!("the import record was written") };
    let import_key = Record::Import(import_record.clone()).key();
    let undo_changes = |record: &ImportRecord| {
        let mut changes = ChangeSet::default();
        for image in &record.before_images {
            match &image.before {
                Some(r) => changes.puts.push(r.clone()),
                None => changes.deletes.push(image.key.clone()),
            }
        }
        changes.puts.push(Record::Import(ImportRecord { undone: true, ..record.clone() }));
        changes
    };
    let written = || import_record.before_images.iter().map(|b| b.key.clone()).collect::<Vec<_>>();

    // Someone edits the created entry after the import.
    let after_import = must("load_all", store.load_all().await);
    let entry_id = import_record.before_images[0].key.clone();
    let edited = match after_import.crm.get(&entry_id) {
        Some(Record::Entry(e)) => CrmEntry { first_name: "Edited".into(), ..e },
        other => panic!("the created entry exists, got {other:?}"),
    };
    must("edit", store.commit(&planned(&after_import, vec![], puts(vec![Record::Entry(edited)]))).await);
    let now = must("load_all", store.load_all().await);
    match checked_undo(now.sequence, &now.revisions, &import_key, written(), undo_changes(&import_record)) {
        Err(stale) => assert_eq!(stale.changed, vec![entry_id.clone()]),
        Ok(batch) => panic!("undo should be refused, got {batch:?}"),
    }
    // A batch built from the revisions seen before the edit is refused by the store as well.
    let early = checked_undo(
        after_import.sequence,
        &after_import.revisions,
        &import_key,
        written(),
        undo_changes(&import_record),
    )
    .expect("before the edit, the undo was possible");
    assert_stale(store.commit(&early).await, std::slice::from_ref(&entry_id), false);
    assert_eq!(load(store).await, now.crm);

    // A second import, undone at once, goes back exactly.
    let second = creating_batch(&now, "Bruno", "CR-B");
    let committed = must("commit", store.commit(&second).await);
    let record = committed
        .changes
        .puts
        .iter()
        .find_map(|r| match r {
            Record::Import(i) => Some(i.clone()),
            _ => None,
        })
        .expect("the second import record");
    let fresh = must("load_all", store.load_all().await);
    let keys: Vec<RecordKey> = record.before_images.iter().map(|b| b.key.clone()).collect();
    let batch = checked_undo(
        fresh.sequence,
        &fresh.revisions,
        &Record::Import(record.clone()).key(),
        keys,
        undo_changes(&record),
    )
    .expect("nothing changed since the import");
    must("undo", store.commit(&batch).await);
    let mut expected = now.crm.clone();
    expected.counters = fresh.crm.counters;
    expected.put(Record::Import(ImportRecord { undone: true, ..record }));
    assert_eq!(load(store).await, expected);
}

/// `get_many` returns each record with its revision, `None` for a missing one, in order.
pub async fn get_many_returns_records_with_their_revisions<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let copy = must("load_all", store.load_all().await);
    let changed = entry(2, None, None, "Mary", "Changed");
    let committed = must(
        "commit",
        store.commit(&planned(&copy, vec![], puts(vec![Record::Entry(changed.clone())]))).await,
    );
    let keys = vec![entry_key(2), entry_key(99), entry_key(1)];
    let got = must("get_many", store.get_many(&keys).await);
    assert_eq!(
        got,
        vec![
            Some((Record::Entry(changed), committed.sequence)),
            None,
            sample_crm().get(&entry_key(1)).map(|r| (r, 1)),
        ]
    );
    assert_eq!(must("get_many", store.get_many(&[]).await), Vec::new());
}

/// A refused batch (stale or breaking a uniqueness rule) takes no sequence number.
pub async fn a_refused_batch_leaves_the_sequence_number_alone<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let copy = must("load_all", store.load_all().await);
    let clash =
        planned(&copy, vec![], puts(vec![Record::Entry(entry(50, Some("CR-1"), None, "Dup", "Ref"))]));
    assert_constraint(store.commit(&clash).await, "CR-1");
    assert_eq!(must("sequence", store.sequence().await), 1);
    must(
        "commit",
        store.commit(&planned(&copy, vec![], puts(vec![Record::Specialty("Oncology".into())]))).await,
    );
    let stale = planned(
        &copy,
        vec![RecordKey { kind: EntityKind::Specialty, id: "Oncology".into() }],
        ChangeSet::default(),
    );
    assert_stale(
        store.commit(&stale).await,
        &[RecordKey { kind: EntityKind::Specialty, id: "Oncology".into() }],
        false,
    );
    assert_eq!(must("sequence", store.sequence().await), 2);
}

/// The last id a counter can give (`u32::MAX`) is never handed out: a batch that puts a record
/// there (a planner whose counter reached its end, where it saturates) is refused whole, and
/// nothing of it is written (before, such a counter wrapped to 0 and overwrote record 1).
pub async fn a_batch_handing_out_the_last_id_of_a_counter_is_refused_whole<S: CrmStore>(store: &S) {
    must("replace_all", store.replace_all(&sample_crm()).await);
    let last = u32::MAX;
    let batch = puts(vec![
        Record::Entry(entry(last - 1, Some("CR-NEXT-TO-LAST"), None, "Ada", "Last")),
        Record::Entry(entry(last, Some("CR-LAST"), None, "Bo", "Last")),
    ]);
    match put_unchecked(store, &batch).await {
        Err(StoreError::CounterExhausted(CounterExhausted { name: "CRM entry" })) => {}
        other => panic!("expected the CRM entry counter to be exhausted, got {other:?}"),
    }
    let refused = StoreError::CounterExhausted(CounterExhausted { name: "CRM entry" }).to_string();
    assert_eq!(
        refused,
        "The CRM has no CRM entry ids left: the counter reached 4,294,967,295; nothing was written."
    );
    assert_eq!(load(store).await, sample_crm(), "nothing of the batch was written");
    assert_eq!(must("sequence", store.sequence().await), 1);
}

#[cfg(test)]
mod tests {
    /// Every case function of this file is in the macro's list, and nothing else is.
    #[test]
    fn every_case_function_is_in_the_suite() {
        let source = include_str!("mod.rs");
        let mut functions: Vec<&str> = source
            .lines()
            .filter_map(|line| line.strip_prefix("pub async fn "))
            .filter(|rest| rest.contains("<S: CrmStore>"))
            .filter_map(|rest| rest.split('<').next())
            .collect();
        let mut listed: Vec<&str> = crate::store_contract_suite!(names).to_vec();
        functions.sort_unstable();
        listed.sort_unstable();
        assert_eq!(functions, listed);
        assert_eq!(listed.len(), 22);
    }
}
