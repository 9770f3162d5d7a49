//! The passphrase as the page reaches it: the worker's handlers of the vault operations
//! ([`VaultState`], [`SetPassphrase`], [`ChangePassphrase`], [`Unlock`], [`Lock`]) over the
//! store it owns, and how it follows the other tabs' news on the BroadcastChannel.
//!
//! Locking drops the store's keys and decrypted copy and every copy the service holds (open
//! sessions, a snapshot waiting): afterwards nothing of the CRM is in this worker's memory.
//! An unlock hands the data key (a non-extractable `CryptoKey`, structured-cloned by the
//! channel) to the other tabs, which unlock with it; a lock makes them lock too; a tab that
//! opens locked asks, and an unlocked tab hands it the key.

use crate::protocol::{ChangePassphrase, CrmSummary, Event, Lock, Open, SetPassphrase, Unlock, VaultState};
use crate::service::{Call, Failure, Handle, Service, Silent, Ticker};
use crate::store::{EncryptionState, PassphraseRefusal, StoreError};

use super::runtime::{calls_running, now_ms, post_event};
use super::store::{announce_vault, AnyStore, VaultNews};

/// A tab that opened locked asks the others for the key (an unlocked one answers).
pub async fn ask_other_tabs(service: &Service<AnyStore>) {
    if let Ok(EncryptionState::Locked) = service.store().encryption_state().await {
        announce_vault(&VaultNews::Asked);
    }
}

/// Tells the other tabs this tab is unlocked, handing them the data key.
fn announce_unlocked(store: &AnyStore) {
    if let Some(key) = store.data_key() {
        announce_vault(&VaultNews::Unlocked(key));
    }
}

/// Drops the keys, the decrypted copy and every session of this tab.
async fn lock_here(service: &Service<AnyStore>) {
    service.store().lock().await;
    service.forget_held_data();
}

impl Handle<AnyStore> for VaultState {
    async fn handle<T: Ticker>(
        self,
        service: &Service<AnyStore>,
        _: &Call<'_, T>,
    ) -> Result<EncryptionState, Failure> {
        Ok(service.store().encryption_state().await?)
    }
}

impl Handle<AnyStore> for SetPassphrase {
    /// Encrypts the stored copy under a new data key wrapped by the passphrase; the other tabs
    /// are told and handed the key, so they stay open.
    async fn handle<T: Ticker>(
        self,
        service: &Service<AnyStore>,
        call: &Call<'_, T>,
    ) -> Result<String, Failure> {
        call.ticker.tick("Encrypting the local CRM", 0, 1).await?;
        service.store().set_passphrase(&self.passphrase).await?;
        announce_unlocked(service.store());
        Ok("The passphrase is set: this copy is encrypted. Keep the passphrase safe: without it, only a \
            snapshot restores the CRM."
            .to_string())
    }
}

impl Handle<AnyStore> for ChangePassphrase {
    async fn handle<T: Ticker>(
        self,
        service: &Service<AnyStore>,
        call: &Call<'_, T>,
    ) -> Result<String, Failure> {
        call.ticker.tick("Changing the passphrase", 0, 1).await?;
        service.store().change_passphrase(&self.old, &self.new).await?;
        Ok("The passphrase was changed. The data was not encrypted again: only its key was wrapped anew."
            .to_string())
    }
}

impl Handle<AnyStore> for Unlock {
    /// Unlocks with the passphrase and opens the CRM as at start; the other tabs follow. A
    /// wrong passphrase changes nothing.
    async fn handle<T: Ticker>(
        self,
        service: &Service<AnyStore>,
        call: &Call<'_, T>,
    ) -> Result<CrmSummary, Failure> {
        call.ticker.tick("Unlocking the local CRM", 0, 1).await?;
        service.store().unlock(&self.passphrase).await?;
        announce_unlocked(service.store());
        service.run(Open { autoload_demo: false }, call).await
    }
}

impl Handle<AnyStore> for Lock {
    /// Locks this tab and the others, only when no other operation runs (a work in progress
    /// — an apply, an undo — is never cut: the reply is `false` and nothing changed). A copy
    /// without a passphrase has nothing to lock (asked when idle, nothing happens).
    async fn handle<T: Ticker>(self, service: &Service<AnyStore>, _: &Call<'_, T>) -> Result<bool, Failure> {
        match service.store().encryption_state().await? {
            EncryptionState::Plain if self.when_idle => return Ok(false),
            EncryptionState::Plain => return Err(StoreError::Passphrase(PassphraseRefusal::NotSet).into()),
            EncryptionState::Locked | EncryptionState::Unlocked => {}
        }
        // This call is one of the calls running.
        if calls_running() > 1 {
            return Ok(false);
        }
        lock_here(service).await;
        announce_vault(&VaultNews::Locked);
        Ok(true)
    }
}

thread_local! {
    /// Taken while one piece of news is followed, so that news is followed in the order it
    /// came (a passphrase set elsewhere, then its key).
    static FOLLOWING: std::rc::Rc<futures::lock::Mutex<()>> = std::rc::Rc::new(futures::lock::Mutex::new(()));
}

/// Follows another tab's news about the passphrase, one piece at a time in the order it came;
/// tells the page when this tab locked or unlocked.
pub async fn follow(service: &Service<AnyStore>, news: VaultNews) {
    let following = FOLLOWING.with(std::rc::Rc::clone);
    let _one_at_a_time = following.lock().await;
    let Ok(state) = service.store().encryption_state().await else { return };
    match news {
        // Another tab locked: this one locks too.
        VaultNews::Locked if state != EncryptionState::Plain => {
            lock_here(service).await;
            post_event(Event::Locked);
        }
        // Another tab set a passphrase: this tab holds no key and drops what it held plain
        // (the key follows at once as an unlock, and this tab then opens again).
        VaultNews::PassphraseSet if state == EncryptionState::Locked => {
            lock_here(service).await;
            post_event(Event::Locked);
        }
        VaultNews::Unlocked(key) => {
            if state != EncryptionState::Locked || service.store().unlock_with_data_key(key).await.is_err() {
                return;
            }
            let ticker = Silent;
            let call = Call::new(&ticker, now_ms());
            match service.run(Open { autoload_demo: false }, &call).await {
                Ok(summary) => post_event(Event::Unlocked { summary }),
                Err(_) => post_event(Event::Locked),
            }
        }
        // A tab opened locked while this one is unlocked: it gets the key.
        VaultNews::Asked if state == EncryptionState::Unlocked => announce_unlocked(service.store()),
        VaultNews::Locked | VaultNews::PassphraseSet | VaultNews::PassphraseChanged | VaultNews::Asked => {}
    }
}
