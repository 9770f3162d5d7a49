//! The worker's store: IndexedDB where the browser offers it, the in-memory store otherwise
//! (a private window that refuses IndexedDB: the CRM then lasts as long as the tab, and the
//! page says so). Commits are made under the Web Lock `roundtrip-commit` where the browser has
//! Web Locks, and announced on the BroadcastChannel so other tabs catch up.
//!
//! The passphrase (encryption at rest) is managed here too: [`AnyStore::encryption_state`],
//! [`AnyStore::set_passphrase`], [`AnyStore::unlock`], [`AnyStore::lock`],
//! [`AnyStore::change_passphrase`], and the hand-over of an unlock between tabs
//! ([`AnyStore::data_key`], [`AnyStore::unlock_with_data_key`]). Setting and changing a
//! passphrase take the commit lock (they rewrite what commits write) and are announced on the
//! channel as a [`VaultNews`]; so are a lock and an unlock, for the other tabs to follow.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{global, Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::model::{Crm, CrmEntry, EntityKind, Record, RecordKey};
use crate::core::revision::{CheckedBatch, Revision};
use crate::store::indexeddb::IndexedDbStore;
use crate::store::memory::MemoryStore;
use crate::store::{
    Committed, CrmStore, EncryptionState, PassphraseRefusal, Refreshed, StagedFile, StoreError, StoredCrm,
};

/// The name of the Web Lock every tab's commit takes.
pub const COMMIT_LOCK: &str = "roundtrip-commit";

thread_local! {
    static CHANNEL: RefCell<Option<web_sys::BroadcastChannel>> = const { RefCell::new(None) };
}

/// Remembers the channel commits are announced on.
pub fn set_channel(channel: web_sys::BroadcastChannel) {
    CHANNEL.with(|c| *c.borrow_mut() = Some(channel));
}

fn announce(sequence: Revision) {
    CHANNEL.with(|c| {
        if let Some(channel) = c.borrow().as_ref() {
            let message = js_sys::Object::new();
            let _ =
                Reflect::set(&message, &JsValue::from_str("sequence"), &JsValue::from_f64(sequence as f64));
            let _ = channel.post_message(&message);
        }
    });
}

/// What a tab tells the others about the passphrase, on the BroadcastChannel, as the message
/// `{ vault: "<kind>", key?: CryptoKey }`. A commit's announcement is `{ sequence }`.
#[derive(Debug, Clone)]
pub enum VaultNews {
    /// A passphrase was set: the copy is encrypted; tabs holding no key are locked.
    PassphraseSet,
    /// The passphrase was changed (the data key did not change; unlocked tabs stay unlocked).
    PassphraseChanged,
    /// This tab locked: the others lock too.
    Locked,
    /// This tab unlocked: the data key (a non-extractable `CryptoKey`), for the others to
    /// unlock with ([`AnyStore::unlock_with_data_key`]).
    Unlocked(web_sys::CryptoKey),
    /// This tab opened locked: an unlocked tab answers with [`VaultNews::Unlocked`].
    Asked,
}

impl VaultNews {
    fn kind(&self) -> &'static str {
        match self {
            VaultNews::PassphraseSet => "passphrase-set",
            VaultNews::PassphraseChanged => "passphrase-changed",
            VaultNews::Locked => "locked",
            VaultNews::Unlocked(_) => "unlocked",
            VaultNews::Asked => "asked",
        }
    }

    /// Reads a channel message; `None` when it is not about the passphrase.
    pub fn from_message(data: &JsValue) -> Option<VaultNews> {
        let kind = Reflect::get(data, &JsValue::from_str("vault")).ok()?.as_string()?;
        Some(match kind.as_str() {
            "passphrase-set" => VaultNews::PassphraseSet,
            "passphrase-changed" => VaultNews::PassphraseChanged,
            "locked" => VaultNews::Locked,
            "asked" => VaultNews::Asked,
            "unlocked" => {
                VaultNews::Unlocked(Reflect::get(data, &JsValue::from_str("key")).ok()?.dyn_into().ok()?)
            }
            _ => return None,
        })
    }
}

/// Tells the other tabs about the passphrase.
pub fn announce_vault(news: &VaultNews) {
    CHANNEL.with(|c| {
        if let Some(channel) = c.borrow().as_ref() {
            let message = js_sys::Object::new();
            let _ = Reflect::set(&message, &JsValue::from_str("vault"), &JsValue::from_str(news.kind()));
            if let VaultNews::Unlocked(key) = news {
                let _ = Reflect::set(&message, &JsValue::from_str("key"), key);
            }
            let _ = channel.post_message(&message);
        }
    });
}

/// `navigator.locks`, where the browser has it.
fn locks() -> Option<JsValue> {
    let navigator = Reflect::get(&global(), &JsValue::from_str("navigator")).ok()?;
    Reflect::get(&navigator, &JsValue::from_str("locks")).ok().filter(|l| !l.is_undefined() && !l.is_null())
}

/// Waits for the commit lock and returns a function that releases it; `None` where there are
/// no Web Locks (the store's checked commit alone then keeps the data safe).
async fn acquire_commit_lock() -> Option<Function> {
    let locks = locks()?;
    let request: Function = Reflect::get(&locks, &JsValue::from_str("request")).ok()?.dyn_into().ok()?;
    let (granted_tx, granted_rx) = futures::channel::oneshot::channel::<Function>();
    let granted_tx = Rc::new(RefCell::new(Some(granted_tx)));
    // The lock is held until the promise the callback returns settles: it settles when the
    // returned release function is called.
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let mut release: Option<Function> = None;
        let held = Promise::new(&mut |resolve, _reject| release = Some(resolve));
        if let (Some(tx), Some(release)) = (granted_tx.borrow_mut().take(), release) {
            let _ = tx.send(release);
        }
        held.into()
    });
    let _ = request.call2(&locks, &JsValue::from_str(COMMIT_LOCK), &callback);
    granted_rx.await.ok()
}

/// How the store could be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// IndexedDB, as it should be.
    Stored,
    /// Memory only (no IndexedDB here); the text says so.
    MemoryOnly(String),
    /// The stored copy cannot be reached now; nothing may be written.
    ReadOnly(String),
}

/// The store the worker serves from.
#[derive(Debug)]
pub enum AnyStore {
    IndexedDb(IndexedDbStore),
    Memory(MemoryStore),
}

impl AnyStore {
    /// IndexedDB; where the browser offers none, memory, with a notice for the operator.
    /// When the database exists but cannot be opened now (another tab holds an older version
    /// open), the store is memory too but the returned [`Opened::ReadOnly`] says nothing may be
    /// written: the operator must not work on an empty copy believing it is stored.
    pub async fn open(name: &str, on_closed: impl Fn() + 'static) -> (AnyStore, Opened) {
        match IndexedDbStore::open(name, on_closed).await {
            Ok(s) => (AnyStore::IndexedDb(s), Opened::Stored),
            Err(StoreError::Unavailable(why)) => (
                AnyStore::Memory(MemoryStore::new()),
                Opened::MemoryOnly(format!(
                    "The browser's storage is not available ({why}). This tab keeps the CRM in memory only: what \
                     you load or change here is lost when the tab closes."
                )),
            ),
            Err(e) => (AnyStore::Memory(MemoryStore::new()), Opened::ReadOnly(e.to_string())),
        }
    }
}

impl AnyStore {
    /// Whether the stored copy is encrypted and whether this tab holds its keys. A copy in
    /// memory only is [`EncryptionState::Plain`].
    pub async fn encryption_state(&self) -> Result<EncryptionState, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.encryption_state().await,
            AnyStore::Memory(_) => Ok(EncryptionState::Plain),
        }
    }

    /// Sets the first passphrase, encrypting the whole stored copy (all or nothing), under the
    /// commit lock; the other tabs are told ([`VaultNews::PassphraseSet`]).
    pub async fn set_passphrase(&self, passphrase: &str) -> Result<(), StoreError> {
        let AnyStore::IndexedDb(s) = self else {
            return Err(StoreError::Passphrase(PassphraseRefusal::NothingStored));
        };
        let release = acquire_commit_lock().await;
        let result = s.set_passphrase(passphrase).await;
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
        if result.is_ok() {
            announce_vault(&VaultNews::PassphraseSet);
        }
        with_figures(result).await
    }

    /// Unlocks this tab with the passphrase. A wrong one is [`StoreError::WrongPassphrase`]
    /// and changes nothing. The worker then tells the other tabs with
    /// [`announce_vault`]`(&VaultNews::Unlocked(key))` if they are to follow.
    pub async fn unlock(&self, passphrase: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.unlock(passphrase).await,
            AnyStore::Memory(_) => Err(StoreError::Passphrase(PassphraseRefusal::NotSet)),
        }
    }

    /// Unlocks this tab with the data key another tab announced.
    pub async fn unlock_with_data_key(&self, key: web_sys::CryptoKey) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.unlock_with_data_key(key).await,
            AnyStore::Memory(_) => Err(StoreError::Passphrase(PassphraseRefusal::NotSet)),
        }
    }

    /// This tab's data key while unlocked (for [`VaultNews::Unlocked`]).
    pub fn data_key(&self) -> Option<web_sys::CryptoKey> {
        match self {
            AnyStore::IndexedDb(s) => s.data_key(),
            AnyStore::Memory(_) => None,
        }
    }

    /// Locks this tab: drops the keys and the decrypted copy. (The service's own copies —
    /// open sessions, plans — are the caller's to drop.)
    pub async fn lock(&self) {
        if let AnyStore::IndexedDb(s) = self {
            s.lock().await;
        }
    }

    /// Changes the passphrase (rewraps the data key; no data is encrypted again), under the
    /// commit lock; the other tabs are told ([`VaultNews::PassphraseChanged`]).
    pub async fn change_passphrase(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let AnyStore::IndexedDb(s) = self else {
            return Err(StoreError::Passphrase(PassphraseRefusal::NotSet));
        };
        let release = acquire_commit_lock().await;
        let result = s.change_passphrase(old, new).await;
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
        if result.is_ok() {
            announce_vault(&VaultNews::PassphraseChanged);
        }
        result
    }
}

impl CrmStore for AnyStore {
    async fn load_all(&self) -> Result<StoredCrm, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.load_all().await,
            AnyStore::Memory(s) => s.load_all().await,
        }
    }

    async fn current(&self) -> Result<Rc<StoredCrm>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.current().await,
            AnyStore::Memory(s) => s.current().await,
        }
    }

    async fn refresh(&self) -> Result<Refreshed, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.refresh().await,
            AnyStore::Memory(s) => s.refresh().await,
        }
    }

    async fn sequence(&self) -> Result<Revision, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.sequence().await,
            AnyStore::Memory(s) => s.sequence().await,
        }
    }

    async fn replace_all(&self, crm: &Crm) -> Result<Revision, StoreError> {
        let release = acquire_commit_lock().await;
        let result = match self {
            AnyStore::IndexedDb(s) => s.replace_all(crm).await,
            AnyStore::Memory(s) => s.replace_all(crm).await,
        };
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
        if let Ok(sequence) = result {
            announce(sequence);
        }
        with_figures(result).await
    }

    async fn commit(&self, batch: &CheckedBatch) -> Result<Committed, StoreError> {
        let release = acquire_commit_lock().await;
        let result = match self {
            AnyStore::IndexedDb(s) => s.commit(batch).await,
            AnyStore::Memory(s) => s.commit(batch).await,
        };
        if let Some(release) = release {
            let _ = release.call0(&JsValue::NULL);
        }
        if let Ok(committed) = &result {
            announce(committed.sequence);
        }
        with_figures(result).await
    }

    async fn get(&self, key: &RecordKey) -> Result<Option<Record>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.get(key).await,
            AnyStore::Memory(s) => s.get(key).await,
        }
    }

    async fn get_many(&self, keys: &[RecordKey]) -> Result<Vec<Option<(Record, Revision)>>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.get_many(keys).await,
            AnyStore::Memory(s) => s.get_many(keys).await,
        }
    }

    async fn count(&self, kind: EntityKind) -> Result<usize, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.count(kind).await,
            AnyStore::Memory(s) => s.count(kind).await,
        }
    }

    async fn find_entry_by_client_reference(
        &self,
        client_reference: &str,
    ) -> Result<Option<CrmEntry>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.find_entry_by_client_reference(client_reference).await,
            AnyStore::Memory(s) => s.find_entry_by_client_reference(client_reference).await,
        }
    }

    async fn put_staged(&self, file: &StagedFile) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.put_staged(file).await,
            AnyStore::Memory(s) => s.put_staged(file).await,
        }
    }

    async fn get_staged(&self, template_id: &str) -> Result<Option<StagedFile>, StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.get_staged(template_id).await,
            AnyStore::Memory(s) => s.get_staged(template_id).await,
        }
    }

    async fn delete_staged(&self, template_id: &str) -> Result<(), StoreError> {
        match self {
            AnyStore::IndexedDb(s) => s.delete_staged(template_id).await,
            AnyStore::Memory(s) => s.delete_staged(template_id).await,
        }
    }
}

/// A quota refusal gains the browser's figures (bytes used of the quota) for the operator.
async fn with_figures<T>(result: Result<T, StoreError>) -> Result<T, StoreError> {
    match result {
        Err(StoreError::QuotaExceeded { usage: None }) => {
            Err(StoreError::QuotaExceeded { usage: storage_estimate().await })
        }
        other => other,
    }
}

/// `navigator.storage.estimate()` in the worker: (usage, quota) in bytes.
async fn storage_estimate() -> Option<(u64, u64)> {
    let global = global();
    let navigator = Reflect::get(&global, &"navigator".into()).ok()?;
    let storage = Reflect::get(&navigator, &"storage".into()).ok()?;
    let estimate: Function = Reflect::get(&storage, &"estimate".into()).ok()?.dyn_into().ok()?;
    let promise: Promise = estimate.call0(&storage).ok()?.dyn_into().ok()?;
    let value = JsFuture::from(promise).await.ok()?;
    let get = |k: &str| Reflect::get(&value, &k.into()).ok().and_then(|v| v.as_f64());
    Some((get("usage")? as u64, get("quota")? as u64))
}
