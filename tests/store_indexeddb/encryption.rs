//! Encryption at rest: what the operator's passphrase does to the stored copy. No plaintext
//! name or SSN in any raw value once encrypted; an unencrypted copy (versions 1 and 2)
//! encrypted whole when a passphrase is set; a wrong passphrase refused with nothing written;
//! a passphrase change that rewraps the data key and leaves the data as it is; a locked store
//! that refuses every read and write; two tabs (two stores on one database): one sets a
//! passphrase, locks, or changes it — what the other sees; a sealed row moved to another
//! place does not open.

use roundtrip::core::model::{
    BeforeImage, ContactDetail, Counters, Crm, CrmEntry, DetailFields, DetailKind, EntityKind, ImportCounts,
    ImportRecord, Record,
};
use roundtrip::store::contract;
use roundtrip::store::indexeddb::{bucket_number, delete_database, IndexedDbStore};
use roundtrip::store::{CrmStore, EncryptionState, PassphraseRefusal, StagedFile, StoreError};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

use super::raw::{self, RawDatabase};
use super::{fresh_name, planned, put_raw, FAST_KDF, PASSPHRASE};

/// A person whose name and SSN appear nowhere else.
const FIRST: &str = "Zephyrine";
const LAST: &str = "Quillfeather";
const SSN: &str = "219-09-9999";

/// The name and the SSN in every formatting an intruder would search for.
pub fn needles() -> Vec<String> {
    let digits: String = SSN.chars().filter(char::is_ascii_digit).collect();
    vec![
        FIRST.to_string(),
        LAST.to_string(),
        SSN.to_string(),
        digits.clone(),
        format!("{} {} {}", &digits[..3], &digits[3..5], &digits[5..]),
    ]
}

fn person() -> CrmEntry {
    contract::entry(7, Some("CR-7"), Some(SSN), FIRST, LAST)
}

/// The sample CRM with the person, an address naming them, and an import whose before-image
/// holds the person as they were.
fn crm_with_person() -> Crm {
    let mut crm = contract::sample_crm();
    crm.put(Record::Entry(person()));
    crm.put(Record::Detail(ContactDetail {
        public_id: roundtrip::core::model::public_id_for(50),
        entry_id: 7,
        kind: DetailKind::Address,
        fields: DetailFields {
            label: format!("c/o {FIRST} {LAST}"),
            address_line1: "9 Rua B".into(),
            ..Default::default()
        },
    }));
    crm.put(Record::Import(ImportRecord {
        id: 2,
        template_id: "insured-contact-details".into(),
        operator_login: "ana".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: format!("{LAST}.xlsx"),
        sha256: "ef".repeat(32),
        counts: ImportCounts { updated: 1, ..Default::default() },
        before_images: vec![BeforeImage {
            key: Record::Entry(person()).key(),
            before: Some(Record::Entry(CrmEntry { first_name: format!("{FIRST} (before)"), ..person() })),
        }],
        undone: false,
    }));
    crm.counters = Counters { next_entry_id: 8, next_detail_number: 51, next_import_id: 3, ..crm.counters };
    crm
}

/// A staged file whose bytes hold the person.
pub fn staged_file() -> StagedFile {
    let bytes =
        format!("Client Reference;First Name;Last Name;SSN\r\nCR-7;{FIRST};{LAST};{SSN}\r\n").into_bytes();
    StagedFile {
        template_id: "insured-contact-details".into(),
        file_name: format!("{LAST} update.csv"),
        size: bytes.len() as u64,
        sha256: "0f".repeat(32),
        staged_at_ms: 1_700_000_000_123,
        row_count: 1,
        bytes,
    }
}

/// A commit that names the person (it lands in the log).
async fn commit_naming_the_person<S: CrmStore>(store: &S, last: &str) {
    let copy = store.current().await.unwrap();
    let renamed = CrmEntry { last_name: format!("{LAST}-{last}"), ..person() };
    store.commit(&planned(&copy, vec![], vec![Record::Entry(renamed)])).await.unwrap();
}

/// A database holding the person everywhere: the base, the log, the history, a staged file.
pub async fn filled(name: &str) -> IndexedDbStore {
    let store = IndexedDbStore::open(name, || {}).await.unwrap();
    store.replace_all(&crm_with_person()).await.unwrap();
    commit_naming_the_person(&store, "Log").await;
    store.put_staged(&staged_file()).await.unwrap();
    store
}

fn assert_locked<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    assert!(matches!(result, Err(StoreError::Locked)), "{what}: expected Locked, got {result:?}");
}

#[wasm_bindgen_test]
async fn setting_a_passphrase_leaves_no_plaintext_name_or_ssn_in_the_raw_database() {
    let name = fresh_name();
    let store = filled(&name).await;
    // The search works: unencrypted, the person is in the base, the log, the history and the
    // staged file.
    let plain = raw::read(&name).await;
    let found: Vec<String> = plain.find(&needles()).into_iter().map(|(place, _)| place).collect();
    for store_name in ["crm_entries/", "contact_details/", "import_history/", "segments/", "staged/"] {
        assert!(
            found.iter().any(|p| p.starts_with(store_name)),
            "the person is stored plain in {store_name} (found in {found:?})"
        );
    }
    let before = store.load_all().await.unwrap();

    store.set_passphrase(PASSPHRASE).await.unwrap();
    assert_eq!(store.encryption_state().await.unwrap(), EncryptionState::Unlocked);
    let sealed = raw::read(&name).await;
    assert_eq!(sealed.find(&needles()), Vec::new(), "no name or SSN in any raw key or value");
    assert_eq!(sealed.index_entries, 0);
    assert_eq!(store.load_all().await.unwrap(), before, "records, revisions and sequence as they were");
    assert_eq!(store.get_staged("insured-contact-details").await.unwrap(), Some(staged_file()));

    // What is written afterwards is sealed too: a commit, a compaction, a new staged file.
    commit_naming_the_person(&store, "After").await;
    store.compact().await.unwrap();
    commit_naming_the_person(&store, "Logged").await;
    let mut file = staged_file();
    file.template_id = "users".into();
    store.put_staged(&file).await.unwrap();
    let later = raw::read(&name).await;
    assert_eq!(later.find(&needles()), Vec::new());
    assert!(!later.of("segments").is_empty() && !later.of("staged").is_empty());

    // A reload (another store on the database) unlocks and reads the same copy.
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap();
    assert_eq!(reloaded.encryption_state().await.unwrap(), EncryptionState::Locked);
    reloaded.unlock(PASSPHRASE).await.unwrap();
    assert_eq!(reloaded.load_all().await.unwrap(), store.load_all().await.unwrap());
    assert_eq!(reloaded.get_staged("users").await.unwrap(), Some(file));
    drop((store, reloaded));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_version_1_copy_with_a_log_is_encrypted_whole_when_a_passphrase_is_set() {
    let name = fresh_name();
    // Version 1's schema and a bucket as version 1 wrote it, with its unique-index arrays.
    drop(IndexedDbStore::open_with_version(&name, 1, || {}).await.unwrap());
    let json = serde_json::to_string(&vec![Record::Entry(person())]).unwrap();
    put_raw(
        &name,
        "crm_entries",
        &[
            ("id", JsValue::from_str(&format!("b{:04}", bucket_number("7")))),
            ("json", JsValue::from_str(&json)),
            ("n", JsValue::from(1)),
            ("client_reference", js_sys::Array::of1(&JsValue::from_str("CR-7")).into()),
            ("ssn", js_sys::Array::of1(&JsValue::from_str(SSN)).into()),
        ],
    )
    .await;
    put_raw(&name, "crm_entries", &[("id", "~count".into()), ("n", JsValue::from(1))]).await;
    // Version 3 opens it; a commit adds a segment (version 2's log) and a file is staged.
    let store = IndexedDbStore::open(&name, || {}).await.unwrap();
    commit_naming_the_person(&store, "Log").await;
    store.put_staged(&staged_file()).await.unwrap();
    let plain = raw::read(&name).await;
    assert!(plain.index_entries >= 2, "version 1's indexes hold the reference and the SSN");
    assert!(!plain.find(&needles()).is_empty());
    let before = store.load_all().await.unwrap();
    assert_eq!(before.revisions.get(&Record::Entry(person()).key()), Some(1));

    store.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    let sealed = raw::read(&name).await;
    assert_eq!(sealed.find(&needles()), Vec::new());
    assert_eq!(sealed.index_entries, 0, "nothing is left in version 1's indexes");
    assert!(sealed.rows.iter().all(|(place, _)| !place.contains("~count")));
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap();
    reloaded.unlock(PASSPHRASE).await.unwrap();
    assert_eq!(reloaded.load_all().await.unwrap(), before);
    assert_eq!(reloaded.get_staged("insured-contact-details").await.unwrap(), Some(staged_file()));
    drop((store, reloaded));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_copy_that_cannot_be_read_is_not_encrypted_at_all() {
    let name = fresh_name();
    let store = filled(&name).await;
    put_raw(&name, "crm_entries", &[("id", "b0005".into()), ("json", "{\"Entry\":{\"id\":".into())]).await;
    let damaged = raw::read(&name).await;
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap();
    match reloaded.set_passphrase(PASSPHRASE).await {
        Err(StoreError::Corrupt { store, key, .. }) => {
            assert_eq!((store.as_str(), key.as_str()), ("crm_entries", "b0005"))
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(raw::read(&name).await, damaged, "nothing was written");
    assert_eq!(reloaded.encryption_state().await.unwrap(), EncryptionState::Plain);
    // Refusals made before anything is tried write nothing either.
    assert_eq!(
        store.set_passphrase("too short").await,
        Err(StoreError::Passphrase(PassphraseRefusal::TooShort))
    );
    assert_eq!(store.unlock(PASSPHRASE).await, Err(StoreError::Passphrase(PassphraseRefusal::NotSet)));
    assert_eq!(raw::read(&name).await, damaged);
    drop((store, reloaded));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_wrong_passphrase_is_refused_and_writes_nothing() {
    let name = fresh_name();
    let store = filled(&name).await;
    store.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    assert_eq!(
        store.set_passphrase("another long passphrase").await,
        Err(StoreError::Passphrase(PassphraseRefusal::AlreadySet))
    );
    let before = raw::read(&name).await;
    let other = IndexedDbStore::open(&name, || {}).await.unwrap();
    assert_eq!(other.unlock("correct horse battery stapler").await, Err(StoreError::WrongPassphrase));
    assert_eq!(other.unlock("").await, Err(StoreError::WrongPassphrase));
    assert_eq!(
        other.change_passphrase("not the passphrase", "a brand new passphrase").await,
        Err(StoreError::WrongPassphrase)
    );
    assert_eq!(other.encryption_state().await.unwrap(), EncryptionState::Locked);
    assert_locked(other.load_all().await, "load_all");
    assert_eq!(raw::read(&name).await, before, "nothing was written");
    assert_eq!(StoreError::WrongPassphrase.to_string(), "Wrong passphrase; nothing was changed.");
    // The right one opens it.
    other.unlock(PASSPHRASE).await.unwrap();
    assert_eq!(other.load_all().await.unwrap(), store.load_all().await.unwrap());
    drop((store, other));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_locked_store_refuses_every_read_and_write() {
    let name = fresh_name();
    let store = filled(&name).await;
    store.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    let copy = store.current().await.unwrap();
    store.lock().await;
    assert_eq!(store.encryption_state().await.unwrap(), EncryptionState::Locked);
    assert!(store.data_key().is_none(), "the keys are gone");
    let key = Record::Entry(person()).key();
    assert_locked(store.load_all().await, "load_all");
    assert_locked(store.current().await, "current");
    assert_locked(store.refresh().await, "refresh");
    assert_locked(store.sequence().await, "sequence");
    assert_locked(store.replace_all(&Crm::default()).await, "replace_all");
    assert_locked(store.commit(&planned(&copy, vec![], vec![Record::Specialty("X".into())])).await, "commit");
    assert_locked(store.get(&key).await, "get");
    assert_locked(store.get_many(std::slice::from_ref(&key)).await, "get_many");
    assert_locked(store.count(EntityKind::Entry).await, "count");
    assert_locked(store.find_entry_by_client_reference("CR-7").await, "find_entry_by_client_reference");
    assert_locked(store.put_staged(&staged_file()).await, "put_staged");
    assert_locked(store.get_staged("insured-contact-details").await, "get_staged");
    assert_locked(store.delete_staged("insured-contact-details").await, "delete_staged");
    assert_locked(store.compact().await, "compact");
    // Unlocked again, everything is there; the plan made before locking still commits.
    store.unlock(PASSPHRASE).await.unwrap();
    store.commit(&planned(&copy, vec![], vec![Record::Specialty("X".into())])).await.unwrap();
    assert_eq!(store.get_staged("insured-contact-details").await.unwrap(), Some(staged_file()));
    drop(store);
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn changing_the_passphrase_rewraps_the_key_and_leaves_the_data_as_it_is() {
    let name = fresh_name();
    let store = filled(&name).await;
    store.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    let new = "a brand new passphrase";
    let data_rows = |raw: &RawDatabase| {
        raw.rows.iter().filter(|(p, _)| !p.starts_with("meta/")).cloned().collect::<Vec<_>>()
    };
    let before = raw::read(&name).await;
    assert_eq!(
        store.change_passphrase(PASSPHRASE, PASSPHRASE).await,
        Err(StoreError::Passphrase(PassphraseRefusal::Unchanged))
    );
    assert_eq!(
        store.change_passphrase(PASSPHRASE, "short").await,
        Err(StoreError::Passphrase(PassphraseRefusal::TooShort))
    );
    store.change_passphrase(PASSPHRASE, new).await.unwrap();
    let after = raw::read(&name).await;
    assert_eq!(data_rows(&after), data_rows(&before), "no value was encrypted again");
    assert_ne!(after.of("meta"), before.of("meta"), "the vault changed");
    // This store stays unlocked and keeps working; a reload needs the new passphrase.
    commit_naming_the_person(&store, "Changed").await;
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap();
    assert_eq!(reloaded.unlock(PASSPHRASE).await, Err(StoreError::WrongPassphrase));
    reloaded.unlock(new).await.unwrap();
    assert_eq!(reloaded.load_all().await.unwrap(), store.load_all().await.unwrap());
    drop((store, reloaded));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_sealed_row_moved_to_another_place_does_not_open() {
    let name = fresh_name();
    let store = filled(&name).await;
    store.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    // Copy one sealed bucket's iv and ciphertext under another key of the same store.
    let sealed = raw::read(&name).await;
    let (place, _) = sealed.of("crm_entries")[0].clone();
    let db = indexed_db_futures::database::Database::open(name.as_str()).await.unwrap();
    let raw_db: &web_sys::IdbDatabase = indexed_db_futures::internals::SystemRepr::as_sys(&db);
    let tx = raw_db.transaction_with_str("crm_entries").unwrap();
    let request = tx.object_store("crm_entries").unwrap().get_all().unwrap();
    let rows = raw::settled(request).await;
    db.close();
    let row = js_sys::Array::from(&rows).get(0);
    let moved = if place.contains("b0000") { "b0001" } else { "b0000" };
    put_raw(
        &name,
        "crm_entries",
        &[
            ("id", JsValue::from_str(moved)),
            ("iv", js_sys::Reflect::get(&row, &"iv".into()).unwrap()),
            ("sealed", js_sys::Reflect::get(&row, &"sealed".into()).unwrap()),
        ],
    )
    .await;
    let reloaded = IndexedDbStore::open(&name, || {}).await.unwrap();
    reloaded.unlock(PASSPHRASE).await.unwrap();
    match reloaded.load_all().await {
        Err(StoreError::Corrupt { store, key, message }) => {
            assert_eq!((store.as_str(), key.as_str()), ("crm_entries", moved));
            assert!(message.contains("altered"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    drop((store, reloaded));
    delete_database(&name).await.unwrap();
}
