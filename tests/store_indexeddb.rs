//! The store contract (`roundtrip::store::contract`) run in a real browser against IndexedDB,
//! plus what only IndexedDB can do wrong: another tab upgrading the database, a blocked
//! upgrade, a damaged row, and the time a large snapshot takes.
//!
//! Run with `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown
//! --test store_indexeddb`. Every case uses a database with a random name and deletes it.

#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use roundtrip::core::model::{ChangeSet, Crm, EntityKind, Record};
use roundtrip::store::contract;
use roundtrip::store::indexeddb::{bucket_number, delete_database, IndexedDbStore, SCHEMA_VERSION};
use roundtrip::store::{CrmStore, StoreError};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn fresh_name() -> String {
    format!("roundtrip-test-{}", (js_sys::Math::random() * 1e15) as u64)
}

macro_rules! indexeddb_contract {
    ($($case:ident),* $(,)?) => {
        $(
            #[wasm_bindgen_test]
            async fn $case() {
                let name = fresh_name();
                let store = IndexedDbStore::open(&name, || {}).await.unwrap();
                contract::$case(&store).await;
                drop(store);
                delete_database(&name).await.unwrap();
            }
        )*

        #[wasm_bindgen_test]
        fn every_contract_case_is_run() {
            let run = [$(stringify!($case)),*];
            assert_eq!(run, contract::CASES);
        }
    };
}

indexeddb_contract!(
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
);

#[wasm_bindgen_test]
async fn data_survives_closing_and_reopening_the_database() {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    store.replace_all(&contract::sample_crm()).await.unwrap();
    drop(store);
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    assert_eq!(store.load_all().await.unwrap(), contract::sample_crm());
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
    assert_eq!(store.count(EntityKind::Entry).await, Err(StoreError::ConnectionClosed));
    assert_eq!(store.load_all().await, Err(StoreError::ConnectionClosed));
    let batch = ChangeSet { puts: vec![Record::Specialty("Oncology".into())], deletes: Vec::new() };
    assert_eq!(store.commit(&batch).await, Err(StoreError::ConnectionClosed));
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
async fn a_damaged_row_is_reported_as_corrupt() {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    store.replace_all(&contract::sample_crm()).await.unwrap();

    let raw = Database::open(name.as_str()).await.unwrap();
    let tx = raw.transaction("crm_entries").with_mode(TransactionMode::Readwrite).build().unwrap();
    let row = js_sys::Object::new();
    js_sys::Reflect::set(&row, &"id".into(), &"b0005".into()).unwrap();
    js_sys::Reflect::set(&row, &"json".into(), &"{\"Entry\":{\"id\":".into()).unwrap();
    tx.object_store("crm_entries").unwrap().put(JsValue::from(row)).primitive().unwrap();
    tx.commit().await.unwrap();
    raw.close();

    match store.load_all().await {
        Err(StoreError::Corrupt { store, key, .. }) => {
            assert_eq!((store.as_str(), key.as_str()), ("crm_entries", "b0005"));
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // The rest of the store still reads.
    assert_eq!(store.count(EntityKind::Case).await.unwrap(), 2);
    drop(store);
    delete_database(&name).await.unwrap();
}

/// An entry id above 100 whose bucket is (or is not) the bucket of `other`.
fn id_with_bucket(other: u32, same: bool) -> u32 {
    let bucket = bucket_number(&other.to_string());
    (100..).find(|id: &u32| *id != other && (bucket_number(&id.to_string()) == bucket) == same).unwrap()
}

async fn open_sample() -> (String, IndexedDbStore) {
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    store.replace_all(&contract::sample_crm()).await.unwrap();
    (name, store)
}

#[wasm_bindgen_test]
async fn a_clash_with_an_entry_in_another_bucket_is_refused_by_the_index() {
    let (name, store) = open_sample().await;
    // Entry 1 holds CR-1; the newcomer lives in another bucket, so only the index sees it.
    let newcomer = id_with_bucket(1, false);
    let batch = ChangeSet {
        puts: vec![
            Record::Detail(contract::phone(50, 2, "555-0150")),
            Record::Entry(contract::entry(newcomer, Some("CR-1"), None, "New", "Comer")),
        ],
        deletes: vec![],
    };
    match store.commit(&batch).await {
        Err(StoreError::Constraint(message)) => {
            assert!(message.contains("\"CR-1\"") && message.contains("(1 and "), "{message}")
        }
        other => panic!("expected Constraint, got {other:?}"),
    }
    assert_eq!(store.load_all().await.unwrap(), contract::sample_crm());
    assert_eq!(store.count(EntityKind::Detail).await.unwrap(), 2);
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_clash_inside_one_bucket_is_refused_before_writing() {
    let (name, store) = open_sample().await;
    let newcomer = id_with_bucket(1, true);
    let batch = ChangeSet {
        puts: vec![Record::Entry(contract::entry(newcomer, Some("CR-1"), None, "New", "Comer"))],
        deletes: vec![],
    };
    match store.commit(&batch).await {
        Err(StoreError::Constraint(message)) => assert!(message.contains("\"CR-1\""), "{message}"),
        other => panic!("expected Constraint, got {other:?}"),
    }
    assert_eq!(store.load_all().await.unwrap(), contract::sample_crm());
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn references_can_swap_between_entries_in_different_buckets() {
    let (name, store) = open_sample().await;
    let a = id_with_bucket(1, false);
    let b = id_with_bucket(a, false);
    let setup = ChangeSet {
        puts: vec![
            Record::Entry(contract::entry(a, Some("CR-A"), Some("SSN-A"), "A", "A")),
            Record::Entry(contract::entry(b, Some("CR-B"), Some("SSN-B"), "B", "B")),
        ],
        deletes: vec![],
    };
    store.commit(&setup).await.unwrap();
    let swap = ChangeSet {
        puts: vec![
            Record::Entry(contract::entry(a, Some("CR-B"), Some("SSN-B"), "A", "A")),
            Record::Entry(contract::entry(b, Some("CR-A"), Some("SSN-A"), "B", "B")),
        ],
        deletes: vec![],
    };
    store.commit(&swap).await.unwrap();
    assert_eq!(store.find_entry_by_client_reference("CR-A").await.unwrap().map(|e| e.id), Some(b));
    assert_eq!(store.find_entry_by_client_reference("CR-B").await.unwrap().map(|e| e.id), Some(a));
    let mut expected = contract::sample_crm();
    expected.apply_changes(&setup).unwrap();
    expected.apply_changes(&swap).unwrap();
    assert_eq!(store.load_all().await.unwrap(), expected);
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_commit_touching_every_bucket_keeps_counts_and_records_right() {
    let (name, store) = open_sample().await;
    let mut batch = ChangeSet::default();
    for id in 10_000..15_000u32 {
        batch.puts.push(Record::Entry(contract::entry(id, Some(&format!("CR-{id}")), None, "Bulk", "Entry")));
        for k in 0..4 {
            batch.puts.push(Record::Detail(contract::phone(id * 4 + k, id, "555-0000")));
        }
    }
    batch.deletes.push(Record::Entry(contract::entry(2, None, None, "", "")).key());
    store.commit(&batch).await.unwrap();
    let mut expected = contract::sample_crm();
    expected.apply_changes(&batch).unwrap();
    assert_eq!(store.count(EntityKind::Entry).await.unwrap(), expected.entries.len());
    assert_eq!(store.count(EntityKind::Detail).await.unwrap(), expected.details.len());
    assert!(store.load_all().await.unwrap() == expected);
    drop(store);
    delete_database(&name).await.unwrap();
}

/// A CRM of `entries` entries with `details_per_entry` phone details each.
fn large_crm(entries: u32, details_per_entry: u32) -> Crm {
    let mut crm = contract::sample_crm();
    let mut number = 1_000;
    for id in 1_000..1_000 + entries {
        let client_reference = format!("CR-{id:08}");
        let ssn = format!("{:03}-{:02}-{:04}", id % 1000, id % 100, id % 10_000);
        let ssn = if id % 3 == 0 { Some(format!("{ssn}/{id}")) } else { None };
        crm.put(Record::Entry(contract::entry(id, Some(&client_reference), ssn.as_deref(), "First", "Last")));
        for _ in 0..details_per_entry {
            crm.put(Record::Detail(contract::phone(number, id, "+44 20 7946 0000")));
            number += 1;
        }
    }
    crm
}

#[wasm_bindgen_test]
async fn a_500_000_record_crm_round_trips_through_indexeddb() {
    // 100,000 entries and 400,000 details: 500,000 records. The timings are printed as a
    // measurement only; they decide nothing.
    let crm = large_crm(100_000, 4);
    let name = fresh_name();
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    let records = crm.records().len();

    let started = js_sys::Date::now();
    store.replace_all(&crm).await.unwrap();
    let written = js_sys::Date::now();
    let loaded = store.load_all().await.unwrap();
    let read = js_sys::Date::now();
    console_log!(
        "replace_all of {records} records: {:.1} s; load_all: {:.1} s",
        (written - started) / 1000.0,
        (read - written) / 1000.0
    );
    assert_eq!(loaded.entries.len(), crm.entries.len());
    assert!(loaded == crm, "what was loaded differs from what was written");
    let found = store.find_entry_by_client_reference("CR-00050000").await.unwrap();
    assert_eq!(found.map(|e| e.id), Some(50_000));
    drop(store);
    delete_database(&name).await.unwrap();
}
