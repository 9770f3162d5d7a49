//! The figures: key derivation, and the time a large CRM takes to write, load, commit to
//! and compact, with and without encryption. Printed (`-- --nocapture`), never asserted.

use roundtrip::core::model::{ChangeSet, Counters, Crm, Record};
use roundtrip::core::revision::CheckedBatch;
use roundtrip::store::contract;
use roundtrip::store::crypto::kdf::Kdf;
use roundtrip::store::indexeddb::{delete_database, IndexedDbStore};
use roundtrip::store::{CrmStore, StoredCrm};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

use super::{fresh_name, planned, PASSPHRASE};

fn now() -> f64 {
    js_sys::Date::now()
}

#[wasm_bindgen_test]
async fn key_derivation_times_in_this_browser() {
    // Each function derives the key that wraps the data key: what unlocking costs. The
    // median of three runs, printed, never asserted.
    let salt = [7_u8; 16];
    for kdf in [Kdf::PBKDF2_OWASP_MINIMUM, Kdf::ARGON2ID_OWASP_MINIMUM, Kdf::ARGON2ID_64_MIB] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let started = now();
            kdf.wrapping_key(PASSPHRASE, &salt).await.unwrap();
            runs.push(now() - started);
        }
        runs.sort_by(f64::total_cmp);
        console_log!("key derivation {}: {:.0} ms (runs: {:.0?} ms)", kdf.describe(), runs[1], runs);
    }
    // Unlocking whole (derivation, unwrapping, the index key) with the default derivation.
    let store = super::open_plain().await;
    store.set_passphrase(PASSPHRASE).await.unwrap();
    store.lock().await;
    let started = now();
    store.unlock(PASSPHRASE).await.unwrap();
    console_log!("unlock with the default ({}): {:.0} ms", Kdf::DEFAULT.describe(), now() - started);
    super::close(store).await;
}

/// Another store on the database (a reload), unlocked if need be.
async fn reopen(name: &str, encrypted: bool) -> IndexedDbStore {
    let store = IndexedDbStore::open(name, || {}).await.unwrap();
    if encrypted {
        store.unlock(PASSPHRASE).await.unwrap();
    }
    store
}

/// Seconds `run` takes.
async fn seconds<T>(run: impl std::future::Future<Output = T>) -> (f64, T) {
    let started = now();
    let out = run.await;
    ((now() - started) / 1000.0, out)
}

/// How many times each figure is taken, the two copies taking turns (this machine is shared:
/// the fastest run is the figure, the others are printed beside it).
const ROUNDS: usize = 2;

/// One copy, unencrypted or encrypted, and its runs of each figure.
struct Copy {
    name: String,
    encrypted: bool,
    store: IndexedDbStore,
    runs: [Vec<f64>; 4],
}

impl Copy {
    async fn new(encrypted: bool) -> Copy {
        let name = fresh_name();
        let store = IndexedDbStore::open(&name, || {}).await.unwrap();
        if encrypted {
            store.set_passphrase(PASSPHRASE).await.unwrap();
        }
        Copy { name, encrypted, store, runs: Default::default() }
    }

    /// A cold load (a reload: another store reads the whole database).
    async fn load(&mut self, expected_entries: usize) {
        let cold = reopen(&self.name, self.encrypted).await;
        let (s, loaded) = seconds(cold.load_all()).await;
        assert_eq!(loaded.unwrap().crm.entries.len(), expected_entries);
        self.runs[1].push(s);
    }

    async fn commit(&mut self) {
        let batch = import_of_4_000_entries(&self.store.current().await.unwrap());
        let (s, committed) = seconds(self.store.commit(&batch)).await;
        committed.unwrap();
        self.runs[2].push(s);
    }

    fn figure(&self, figure: usize) -> f64 {
        self.runs[figure].iter().copied().fold(f64::INFINITY, f64::min)
    }
}

#[wasm_bindgen_test]
async fn a_100_000_record_crm_with_and_without_encryption() {
    // 20,000 entries with 4 details each and the sample CRM: 100,000 records and a few more.
    let crm = large_crm(20_000, 4);
    let records = crm.records().len();
    let mut copies = [Copy::new(false).await, Copy::new(true).await];
    for copy in &mut copies {
        let (s, written) = seconds(copy.store.replace_all(&crm)).await;
        written.unwrap();
        copy.runs[0].push(s);
        assert!(
            copy.store.load_all().await.unwrap().crm == crm,
            "what was loaded differs from what was written"
        );
    }
    for _ in 0..ROUNDS {
        for copy in &mut copies {
            copy.load(crm.entries.len()).await;
        }
    }
    for _ in 0..ROUNDS {
        for copy in &mut copies {
            copy.commit().await;
        }
    }
    for copy in &mut copies {
        let (s, compacted) = seconds(copy.store.compact()).await;
        assert!(compacted.unwrap());
        copy.runs[3].push(s);
    }
    let names = [
        "replace_all".to_string(),
        "load (cold)".to_string(),
        "commit of 16,001 records".to_string(),
        format!("compaction of those {ROUNDS} commits"),
    ];
    for (figure, name) in names.iter().enumerate() {
        let (plain, sealed) = (copies[0].figure(figure), copies[1].figure(figure));
        console_log!(
            "{records} records, {name}: unencrypted {plain:.2} s, encrypted {sealed:.2} s ({:.2}×; runs {:.2?} and {:.2?})",
            sealed / plain,
            copies[0].runs[figure],
            copies[1].runs[figure],
        );
    }
    for copy in copies {
        let Copy { name, store, .. } = copy;
        drop(store);
        delete_database(&name).await.unwrap();
    }
}

/// An import-sized commit: 16,001 records (4,000 new entries with 3 details each, and the
/// counters).
fn import_of_4_000_entries(copy: &StoredCrm) -> CheckedBatch {
    let mut puts = Vec::new();
    let c = copy.crm.counters;
    for k in 0..4_000u32 {
        let id = c.next_entry_id + k;
        puts.push(Record::Entry(contract::entry(id, Some(&format!("NEW-{id}")), None, "New", "Person")));
        for j in 0..3 {
            puts.push(Record::Detail(contract::phone(c.next_detail_number + k * 3 + j, id, "555-0199")));
        }
    }
    puts.push(Record::Counters(Counters {
        next_entry_id: c.next_entry_id + 4_000,
        next_detail_number: c.next_detail_number + 12_000,
        ..c
    }));
    planned(copy, vec![], puts)
}

/// A CRM of `entries` entries with `details_per_entry` phone details each.
fn large_crm(entries: u32, details_per_entry: u32) -> Crm {
    let mut crm = contract::sample_crm();
    let mut number = 1_000;
    for id in 1_000..1_000 + entries {
        let client_reference = format!("CR-{id:08}");
        // Nine digits, unique per entry (an SSN is nine digits or nothing).
        let digits = format!("{:09}", 100_000_000 + id);
        let ssn = (id % 3 == 0).then(|| format!("{}-{}-{}", &digits[..3], &digits[3..5], &digits[5..]));
        crm.put(Record::Entry(contract::entry(id, Some(&client_reference), ssn.as_deref(), "First", "Last")));
        for _ in 0..details_per_entry {
            crm.put(Record::Detail(contract::phone(number, id, "+44 20 7946 0000")));
            number += 1;
        }
    }
    crm.counters.next_entry_id = 1_000 + entries;
    crm.counters.next_detail_number = number;
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
    assert_eq!(loaded.crm.entries.len(), crm.entries.len());
    assert!(loaded.crm == crm, "what was loaded differs from what was written");

    // An import-sized commit.
    let batch = import_of_4_000_entries(&store.current().await.unwrap());
    let commit_started = js_sys::Date::now();
    store.commit(&batch).await.unwrap();
    let committed = js_sys::Date::now();
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap().load_all().await.unwrap();
    let reload_done = js_sys::Date::now();
    store.compact().await.unwrap();
    let compacted = js_sys::Date::now();
    console_log!(
        "{records} records: replace_all {:.2} s; load_all {:.2} s; commit of 16,001 records {:.2} s; \
         load with that commit in the log {:.2} s; compaction {:.2} s",
        (written - started) / 1000.0,
        (read - written) / 1000.0,
        (committed - commit_started) / 1000.0,
        (reload_done - committed) / 1000.0,
        (compacted - reload_done) / 1000.0,
    );
    assert_eq!(reloaded.crm.entries.len(), crm.entries.len() + 4_000);
    assert_eq!(reloaded.revisions.len(), records + 16_000);

    // The cost of the check: the same 100,000-record update committed checked (every record
    // expected at the revision the plan saw) and unchecked. Printed, never asserted.
    let update = |copy: &StoredCrm, phone: &str| -> Vec<Record> {
        copy.crm
            .details
            .values()
            .take(100_000)
            .map(|d| {
                let mut d = d.clone();
                d.fields.phone = phone.to_string();
                Record::Detail(d)
            })
            .collect()
    };
    let copy = store.current().await.unwrap();
    let checked = planned(&copy, vec![], update(&copy, "555-0101"));
    assert_eq!(checked.expected.len(), 100_000);
    drop(copy);
    let t0 = js_sys::Date::now();
    store.commit(&checked).await.unwrap();
    let t1 = js_sys::Date::now();
    let copy = store.current().await.unwrap();
    let unchecked = CheckedBatch::unchecked(ChangeSet { puts: update(&copy, "555-0102"), deletes: vec![] });
    drop(copy);
    let t2 = js_sys::Date::now();
    store.commit(&unchecked).await.unwrap();
    let t3 = js_sys::Date::now();
    console_log!(
        "100,000-record apply: checked {:.2} s, unchecked {:.2} s (the check costs {:.2} s)",
        (t1 - t0) / 1000.0,
        (t3 - t2) / 1000.0,
        ((t1 - t0) - (t3 - t2)) / 1000.0,
    );
    let found = store.find_entry_by_client_reference("CR-00050000").await.unwrap();
    assert_eq!(found.map(|e| e.id), Some(50_000));
    drop(store);
    delete_database(&name).await.unwrap();
}
