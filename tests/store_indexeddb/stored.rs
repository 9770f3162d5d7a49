//! What only IndexedDB can do wrong: the copy surviving a reload, two tabs committing,
//! another tab upgrading the database, a blocked upgrade, a damaged row, a database written
//! by version 1, the log's compaction.

use std::cell::Cell;
use std::rc::Rc;

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use roundtrip::core::model::{ChangeSet, Counters, Crm, EntityKind, Record};
use roundtrip::core::revision::CheckedBatch;
use roundtrip::store::contract;
use roundtrip::store::indexeddb::{
    bucket_number, delete_database, IndexedDbStore, COMPACT_SEGMENTS, SCHEMA_VERSION, SEGMENTS_STORE,
};
use roundtrip::store::{CrmStore, StoreError, StoredCrm};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::{fresh_name, planned, put_raw};

#[wasm_bindgen_test]
async fn data_survives_closing_and_reopening_the_database() {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    store.replace_all(&contract::sample_crm()).await.unwrap();
    let stored = store.load_all().await.unwrap();
    let batch = CheckedBatch::new(
        stored.sequence,
        &stored.revisions,
        stored.crm.counters,
        [],
        ChangeSet { puts: vec![Record::Specialty("Oncology".into())], deletes: vec![] },
    );
    store.commit(&batch).await.unwrap();
    drop(store);
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    let mut expected = contract::sample_crm();
    expected.put(Record::Specialty("Oncology".into()));
    let reopened = store.load_all().await.unwrap();
    assert_eq!(reopened.crm, expected);
    assert_eq!(reopened.sequence, 2);
    assert_eq!(reopened.revisions.get(&Record::Specialty("Oncology".into()).key()), Some(2));
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn another_tab_upgrading_closes_the_store_and_tells_the_ui() {
    let name = fresh_name();
    let told = Rc::new(Cell::new(0));
    let store = {
        let told = Rc::clone(&told);
        IndexedDbStore::open(&name, move || told.set(told.get() + 1)).await.unwrap()
    };
    store.replace_all(&contract::sample_crm()).await.unwrap();

    // "Another tab" opens a newer version; it is not blocked because the store closes itself.
    let newer = Database::open(name.as_str()).with_version(SCHEMA_VERSION + 1).await.unwrap();
    assert_eq!(told.get(), 1);
    assert_eq!(store.sequence().await, Err(StoreError::ConnectionClosed));
    assert_eq!(store.load_all().await, Err(StoreError::ConnectionClosed));
    let batch = ChangeSet { puts: vec![Record::Specialty("Oncology".into())], deletes: Vec::new() };
    assert_eq!(store.commit(&CheckedBatch::unchecked(batch)).await, Err(StoreError::ConnectionClosed));
    assert_eq!(told.get(), 1, "the UI is told once");
    newer.close();
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_upgrade_blocked_by_an_old_tab_is_reported() {
    let name = fresh_name();
    // An "old tab" that ignores versionchange and keeps version 1 open.
    let old = Database::open(name.as_str()).with_version(1u32).await.unwrap();
    let result = IndexedDbStore::open_with_version(&name, 2, || {}).await;
    assert_eq!(result.err(), Some(StoreError::UpgradeBlocked));
    old.close();
    // The abandoned open finishes and closes itself, so the database can be deleted.
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_damaged_row_is_reported_as_corrupt_and_a_replacement_repairs_it() {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    store.replace_all(&contract::sample_crm()).await.unwrap();
    put_raw(&name, "crm_entries", &[("id", "b0005".into()), ("json", "{\"Entry\":{\"id\":".into())]).await;

    // A fresh store (a reload) cannot read the copy: every read says so, naming the row.
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap();
    for result in [reloaded.load_all().await.map(|_| ()), reloaded.count(EntityKind::Case).await.map(|_| ())]
    {
        match result {
            Err(StoreError::Corrupt { store, key, .. }) => {
                assert_eq!((store.as_str(), key.as_str()), ("crm_entries", "b0005"))
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    // Loading a snapshot (replace_all) writes the whole copy again and repairs it.
    reloaded.replace_all(&contract::sample_crm()).await.unwrap();
    assert_eq!(reloaded.load_all().await.unwrap().crm, contract::sample_crm());
    drop(store);
    drop(reloaded);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn two_tabs_on_one_database_never_overwrite_each_other() {
    let name = fresh_name();
    let tab_a = IndexedDbStore::open(&name, || {}).await.unwrap();
    tab_a.replace_all(&contract::sample_crm()).await.unwrap();
    let tab_b = IndexedDbStore::open(&name, || {}).await.unwrap();
    // Both tabs hold their copy (as the app does after start).
    let copy_a = tab_a.current().await.unwrap();
    let copy_b = tab_b.current().await.unwrap();
    assert_eq!(copy_a.crm, copy_b.crm);

    // Both create a person with the next identities, from the same counters.
    let person = |copy: &StoredCrm, first: &str, reference: &str| {
        let c = copy.crm.counters;
        let entry = contract::entry(c.next_entry_id, Some(reference), None, first, "Tab");
        let detail = contract::phone(c.next_detail_number, c.next_entry_id, "555-0101");
        let counters = Counters {
            next_entry_id: c.next_entry_id + 1,
            next_detail_number: c.next_detail_number + 1,
            ..c
        };
        planned(copy, vec![], vec![Record::Entry(entry), Record::Detail(detail), Record::Counters(counters)])
    };
    let a = tab_a.commit(&person(&copy_a, "Alice", "CR-A")).await.unwrap();
    let b = tab_b.commit(&person(&copy_b, "Bruno", "CR-B")).await.unwrap();
    assert_eq!(b.sequence, a.sequence + 1);

    let reopened = IndexedDbStore::open(&name, || {}).await.unwrap();
    let crm = reopened.load_all().await.unwrap().crm;
    let ids: Vec<u32> = ["CR-A", "CR-B"]
        .iter()
        .map(|r| crm.entries.values().find(|e| e.client_reference.as_deref() == Some(*r)).unwrap().id)
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!(crm.details.len(), contract::sample_crm().details.len() + 2);
    assert_eq!(crm.counters.next_entry_id, contract::sample_crm().counters.next_entry_id + 2);

    // Tab A now edits entry 2 from its copy; tab B's copy still has the old one: B's edit is
    // refused, and B, refreshed, sees A's change.
    let copy_a = tab_a.current().await.unwrap();
    let edit = |copy: &StoredCrm, last: &str| {
        planned(copy, vec![], vec![Record::Entry(contract::entry(2, None, None, "Mary", last))])
    };
    tab_a.commit(&edit(&copy_a, "From A")).await.unwrap();
    let stale_b = copy_b; // planned before A's edit
    match tab_b.commit(&edit(&stale_b, "From B")).await {
        Err(StoreError::Stale(stale)) => {
            assert_eq!(stale.changed, vec![Record::Entry(contract::entry(2, None, None, "", "")).key()])
        }
        other => panic!("expected Stale, got {other:?}"),
    }
    let refreshed = tab_b.refresh().await.unwrap();
    assert!(!refreshed.moved(), "the refused commit already brought tab B up to date");
    let copy_b = tab_b.current().await.unwrap();
    assert_eq!(copy_b.crm.entries[&2].last_name, "From A");
    // A uniqueness rule is judged against what every tab wrote: B cannot reuse CR-A.
    let c = copy_b.crm.counters;
    let clash = planned(
        &copy_b,
        vec![],
        vec![
            Record::Entry(contract::entry(c.next_entry_id, Some("CR-A"), None, "Dup", "B")),
            Record::Counters(Counters { next_entry_id: c.next_entry_id + 1, ..c }),
        ],
    );
    match tab_b.commit(&clash).await {
        Err(StoreError::Constraint(message)) => assert!(message.contains("CR-A"), "{message}"),
        other => panic!("expected Constraint, got {other:?}"),
    }
    // Tab A learns of tab B's commits by refreshing.
    tab_b.commit(&edit(&copy_b, "From B")).await.unwrap();
    let refreshed = tab_a.refresh().await.unwrap();
    assert!(refreshed.moved());
    assert_eq!(refreshed.changed, vec![Record::Entry(contract::entry(2, None, None, "", "")).key()]);
    assert_eq!(tab_a.current().await.unwrap().crm.entries[&2].last_name, "From B");
    for store in [tab_a, tab_b, reopened] {
        drop(store);
    }
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_snapshot_loaded_in_another_tab_refuses_this_tabs_plan_and_is_read_whole() {
    let name = fresh_name();
    let tab_a = IndexedDbStore::open(&name, || {}).await.unwrap();
    tab_a.replace_all(&contract::sample_crm()).await.unwrap();
    let tab_b = IndexedDbStore::open(&name, || {}).await.unwrap();
    let copy_b = tab_b.current().await.unwrap();
    let mut other = Crm::default();
    other.put(Record::Specialty("Only this".into()));
    tab_a.replace_all(&other).await.unwrap();
    let batch = planned(&copy_b, vec![], vec![Record::Specialty("Oncology".into())]);
    match tab_b.commit(&batch).await {
        Err(StoreError::Stale(stale)) => assert!(stale.replaced),
        result => panic!("expected Stale, got {result:?}"),
    }
    let refreshed = tab_b.refresh().await.unwrap();
    assert!(refreshed.replaced);
    assert_eq!(tab_b.current().await.unwrap().crm, other);
    drop(tab_a);
    drop(tab_b);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_database_written_by_version_1_opens_upgraded_with_revision_0() {
    let name = fresh_name();
    // Version 1's schema, and a bucket row as version 1 wrote it (no revisions, a count row,
    // unique-index arrays).
    let v1 = IndexedDbStore::open_with_version(&name, 1, || {}).await.unwrap();
    drop(v1);
    let e = contract::entry(1, Some("CR-1"), None, "Ann", "Lee");
    let json = serde_json::to_string(&vec![Record::Entry(e.clone())]).unwrap();
    let refs = js_sys::Array::of1(&JsValue::from_str("CR-1"));
    let bucket = format!("b{:04}", bucket_number("1"));
    put_raw(
        &name,
        "crm_entries",
        &[
            ("id", JsValue::from_str(&bucket)),
            ("json", JsValue::from_str(&json)),
            ("n", JsValue::from(1)),
            ("client_reference", refs.into()),
            ("ssn", js_sys::Array::new().into()),
        ],
    )
    .await;
    put_raw(&name, "crm_entries", &[("id", "~count".into()), ("n", JsValue::from(1))]).await;

    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    let stored = store.load_all().await.unwrap();
    let mut expected = Crm::default();
    expected.put(Record::Entry(e.clone()));
    assert_eq!(stored.crm, expected);
    assert_eq!(stored.sequence, 0);
    assert_eq!(stored.revisions.get(&Record::Entry(e.clone()).key()), Some(0));
    // It takes commits as any database does.
    let renamed = contract::entry(1, Some("CR-1"), None, "Anne", "Lee");
    store.commit(&planned(&stored, vec![], vec![Record::Entry(renamed.clone())])).await.unwrap();
    assert_eq!(store.load_all().await.unwrap().crm.entries[&1], renamed);
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn compaction_folds_the_log_into_the_base_and_keeps_every_record_and_revision() {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    store.replace_all(&contract::sample_crm()).await.unwrap();
    for k in 0..(COMPACT_SEGMENTS as u32 + 3) {
        let copy = store.current().await.unwrap();
        let puts = vec![
            Record::Entry(contract::entry(2, None, None, "Mary", &format!("Change {k}"))),
            Record::Detail(contract::phone(100 + k, 1, "555-0100")),
        ];
        store.commit(&planned(&copy, vec![], puts)).await.unwrap();
    }
    let before = store.load_all().await.unwrap();
    assert!(store.compact().await.unwrap(), "there was a log to fold");
    assert!(!store.compact().await.unwrap(), "nothing is left to fold");
    let raw = Database::open(name.as_str()).await.unwrap();
    let tx = raw.transaction(SEGMENTS_STORE).with_mode(TransactionMode::Readonly).build().unwrap();
    let left = tx.object_store(SEGMENTS_STORE).unwrap().count().await.unwrap();
    assert_eq!(left, 0, "the folded segments are deleted");
    drop(tx);
    raw.close();
    let after = IndexedDbStore::open(&name, || {}).await.unwrap().load_all().await.unwrap();
    assert_eq!(after, before, "records, revisions and sequence survive compaction");
    drop(store);
    delete_database(&name).await.unwrap();
}
