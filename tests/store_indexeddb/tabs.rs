//! Two tabs (two stores on one database) and the passphrase: what one tab sees when the
//! other sets a passphrase, locks, or changes it, and the data key handed from one tab to the
//! other over a BroadcastChannel (how the app shares an unlock between tabs).

use std::cell::RefCell;
use std::rc::Rc;

use roundtrip::core::model::Record;
use roundtrip::store::indexeddb::{delete_database, IndexedDbStore};
use roundtrip::store::{CrmStore, EncryptionState, StoreError};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use super::encryption::{filled, needles, staged_file};
use super::{fresh_name, planned, raw, FAST_KDF, PASSPHRASE};

fn specialty(name: &str) -> Vec<Record> {
    vec![Record::Specialty(name.into())]
}

#[wasm_bindgen_test]
async fn a_passphrase_set_in_one_tab_locks_the_other_until_it_is_unlocked() {
    let name = fresh_name();
    let tab_a = filled(&name).await;
    let tab_b = IndexedDbStore::open(&name, || {}).await.unwrap();
    let copy_b = tab_b.current().await.unwrap();
    assert_eq!(tab_b.encryption_state().await.unwrap(), EncryptionState::Plain);

    tab_a.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    // Tab B held the copy unencrypted in memory: it is dropped, and nothing plain is written.
    assert_eq!(tab_b.encryption_state().await.unwrap(), EncryptionState::Locked);
    assert_eq!(tab_b.refresh().await, Err(StoreError::Locked));
    assert_eq!(
        tab_b.commit(&planned(&copy_b, vec![], specialty("From B"))).await.map(|_| ()),
        Err(StoreError::Locked)
    );
    assert_eq!(tab_b.put_staged(&staged_file()).await, Err(StoreError::Locked));
    assert_eq!(raw::read(&name).await.find(&needles()), Vec::new());

    // Unlocked, tab B commits the batch it planned before the passphrase was set: the records
    // and their revisions did not change.
    tab_b.unlock(PASSPHRASE).await.unwrap();
    tab_b.commit(&planned(&copy_b, vec![], specialty("From B"))).await.unwrap();
    let refreshed = tab_a.refresh().await.unwrap();
    assert_eq!(refreshed.changed, vec![Record::Specialty("From B".into()).key()]);
    assert_eq!(tab_a.current().await.unwrap().crm, tab_b.current().await.unwrap().crm);
    assert_eq!(raw::read(&name).await.find(&needles()), Vec::new());
    drop((tab_a, tab_b));
    delete_database(&name).await.unwrap();
}

/// The next message `channel` receives (its handler is kept until then).
fn next_message(channel: &web_sys::BroadcastChannel) -> impl std::future::Future<Output = JsValue> {
    let (tx, rx) = futures::channel::oneshot::channel::<JsValue>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(event.data());
        }
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    async move {
        let received = rx.await.unwrap();
        drop(on_message);
        received
    }
}

/// Posts `value` on one BroadcastChannel named `name` and returns what another channel of
/// that name receives (as another tab's worker would).
async fn through_broadcast_channel(name: &str, value: &JsValue) -> JsValue {
    let receiver = web_sys::BroadcastChannel::new(name).unwrap();
    let sender = web_sys::BroadcastChannel::new(name).unwrap();
    let next = next_message(&receiver);
    sender.post_message(value).unwrap();
    let received = next.await;
    receiver.close();
    sender.close();
    received
}

#[wasm_bindgen_test]
async fn locking_one_tab_leaves_the_other_open_and_an_unlock_can_be_handed_over() {
    let name = fresh_name();
    let tab_a = filled(&name).await;
    tab_a.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    let tab_b = IndexedDbStore::open(&name, || {}).await.unwrap();
    tab_b.unlock(PASSPHRASE).await.unwrap();

    // Locking is per store: the app tells the other tabs (BroadcastChannel) and each locks.
    tab_a.lock().await;
    assert_eq!(tab_a.current().await.map(|_| ()), Err(StoreError::Locked));
    let copy_b = tab_b.current().await.unwrap();
    tab_b.commit(&planned(&copy_b, vec![], specialty("While A is locked"))).await.unwrap();

    // Tab B hands its data key to tab A: a CryptoKey survives the channel, still non-extractable.
    let key = tab_b.data_key().expect("tab B is unlocked");
    let received: web_sys::CryptoKey = through_broadcast_channel(&name, &key).await.unchecked_into();
    assert!(!received.extractable());
    tab_a.unlock_with_data_key(received).await.unwrap();
    assert_eq!(tab_a.encryption_state().await.unwrap(), EncryptionState::Unlocked);
    assert_eq!(tab_a.current().await.unwrap().crm, tab_b.current().await.unwrap().crm);

    // Another key is refused.
    let subtle = web_sys::window().unwrap().crypto().unwrap().subtle();
    let algorithm = js_sys::Object::new();
    js_sys::Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into()).unwrap();
    js_sys::Reflect::set(&algorithm, &"length".into(), &JsValue::from(256)).unwrap();
    let usages: js_sys::Array = ["encrypt", "decrypt"].iter().map(|u| JsValue::from_str(u)).collect();
    let promise = subtle.generate_key_with_object(&algorithm, false, &usages).unwrap();
    let stranger: web_sys::CryptoKey =
        wasm_bindgen_futures::JsFuture::from(promise).await.unwrap().unchecked_into();
    let tab_c = IndexedDbStore::open(&name, || {}).await.unwrap();
    assert_eq!(tab_c.unlock_with_data_key(stranger).await, Err(StoreError::WrongPassphrase));
    assert_eq!(tab_c.encryption_state().await.unwrap(), EncryptionState::Locked);
    drop((tab_a, tab_b, tab_c));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_passphrase_changed_in_one_tab_keeps_the_other_working() {
    let name = fresh_name();
    let tab_a = filled(&name).await;
    tab_a.set_passphrase_with(PASSPHRASE, &FAST_KDF).await.unwrap();
    let tab_b = IndexedDbStore::open(&name, || {}).await.unwrap();
    tab_b.unlock(PASSPHRASE).await.unwrap();
    let new = "a brand new passphrase";
    tab_a.change_passphrase(PASSPHRASE, new).await.unwrap();
    // The data key did not change: tab B keeps reading and writing.
    let copy_b = tab_b.current().await.unwrap();
    tab_b.commit(&planned(&copy_b, vec![], specialty("After the change"))).await.unwrap();
    tab_b.lock().await;
    assert_eq!(tab_b.unlock(PASSPHRASE).await, Err(StoreError::WrongPassphrase));
    tab_b.unlock(new).await.unwrap();
    assert_eq!(tab_b.current().await.unwrap().crm, tab_a.current().await.unwrap().crm);
    drop((tab_a, tab_b));
    delete_database(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn the_workers_vault_news_carry_an_unlock_to_another_tab() {
    use roundtrip::worker::store::{announce_vault, set_channel, AnyStore, VaultNews};
    let name = fresh_name();
    let tab_a = AnyStore::IndexedDb(filled(&name).await);
    // Tab A's worker announces on its channel; tab B's worker listens on its own.
    set_channel(web_sys::BroadcastChannel::new(&name).unwrap());
    let listener = web_sys::BroadcastChannel::new(&name).unwrap();
    let next = next_message(&listener);

    tab_a.set_passphrase(PASSPHRASE).await.unwrap();
    let heard = VaultNews::from_message(&next.await);
    assert!(matches!(heard, Some(VaultNews::PassphraseSet)), "{heard:?}");

    let tab_b = AnyStore::IndexedDb(IndexedDbStore::open(&name, || {}).await.unwrap());
    assert_eq!(tab_b.encryption_state().await.unwrap(), EncryptionState::Locked);
    let next = next_message(&listener);
    announce_vault(&VaultNews::Unlocked(tab_a.data_key().expect("tab A is unlocked")));
    match VaultNews::from_message(&next.await) {
        Some(VaultNews::Unlocked(key)) => tab_b.unlock_with_data_key(key).await.unwrap(),
        other => panic!("expected the unlock, got {other:?}"),
    }
    assert_eq!(tab_b.encryption_state().await.unwrap(), EncryptionState::Unlocked);
    assert_eq!(tab_b.current().await.unwrap().crm, tab_a.current().await.unwrap().crm);
    assert!(VaultNews::from_message(&JsValue::from_str("not news")).is_none());
    listener.close();
    drop((tab_a, tab_b));
    delete_database(&name).await.unwrap();
}

/// A compaction in one tab is no replacement in the other: the other tab's refresh says what
/// the folded commits changed (not "replaced"), and a batch it planned before still commits.
#[wasm_bindgen_test]
async fn a_compaction_in_one_tab_is_no_replacement_in_the_other() {
    let name = fresh_name();
    let tab_a = filled(&name).await;
    let tab_b = IndexedDbStore::open(&name, || {}).await.unwrap();
    let copy_b = tab_b.current().await.unwrap();
    let copy_a = tab_a.current().await.unwrap();
    tab_a.commit(&planned(&copy_a, vec![], specialty("From A"))).await.unwrap();
    assert!(tab_a.compact().await.unwrap(), "tab A folds its log");

    let refreshed = tab_b.refresh().await.unwrap();
    assert!(!refreshed.replaced, "a compaction is not a replacement: {refreshed:?}");
    let from_a = roundtrip::core::model::RecordKey {
        kind: roundtrip::core::model::EntityKind::Specialty,
        id: "From A".into(),
    };
    assert!(refreshed.changed.contains(&from_a), "{refreshed:?}");
    assert!(refreshed.moved());
    tab_b.commit(&planned(&copy_b, vec![], specialty("From B"))).await.unwrap();
    let crm = tab_b.current().await.unwrap().crm.clone();
    assert!(crm.specialties.contains_key("From A") && crm.specialties.contains_key("From B"));
    delete_database(&name).await.unwrap();
}
