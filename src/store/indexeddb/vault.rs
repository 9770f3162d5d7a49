//! The passphrase of the IndexedDB store: whether the copy is encrypted, setting a
//! passphrase (which encrypts the unencrypted copy, all or nothing), unlocking, locking and
//! changing the passphrase. The keys live in the store handle; another handle on the same
//! database (another tab) has its own, and learns of a new passphrase from the `vault` row
//! (every read and write checks which data key the copy is sealed with).

use super::*;
use crate::store::crypto::kdf::Kdf;
use crate::store::crypto::{vault as keys, DataKey};
use crate::store::{EncryptionState, PassphraseRefusal};

impl IndexedDbStore {
    /// Whether the copy is encrypted, and whether this store holds its keys.
    pub async fn encryption_state(&self) -> Result<EncryptionState, StoreError> {
        let state = self.meta_now().await?;
        Ok(match state.key_id {
            None => EncryptionState::Plain,
            Some(id) if self.keys.borrow().as_ref().is_some_and(|k| k.key_id() == id) => {
                EncryptionState::Unlocked
            }
            Some(_) => EncryptionState::Locked,
        })
    }

    /// The stored vault: its JSON as stored and the record (`None`: no passphrase).
    async fn vault_now(&self) -> Result<Option<(String, VaultRecord)>, StoreError> {
        let tx = self.transaction(&[META_STORE], TransactionMode::Readonly)?;
        let meta = self.object_store(&tx, META_STORE)?;
        let request = meta.get::<JsValue, _, _>(VAULT_ROW).primitive().map_err(|e| self.error(e))?;
        let row = request.await.map_err(|e| self.error(e))?;
        read_vault(row.as_ref())
    }

    /// Unlocks the copy with its passphrase: this store holds the keys until [`lock`]. A
    /// wrong passphrase is [`StoreError::WrongPassphrase`] and changes nothing.
    ///
    /// [`lock`]: IndexedDbStore::lock
    pub async fn unlock(&self, passphrase: &str) -> Result<(), StoreError> {
        let Some((_, record)) = self.vault_now().await? else {
            return Err(StoreError::Passphrase(PassphraseRefusal::NotSet));
        };
        let unlocked = keys::unlock(&record, passphrase).await?;
        *self.keys.borrow_mut() = Some(unlocked);
        Ok(())
    }

    /// The data key while unlocked, to hand to another tab (a `CryptoKey` can be posted on a
    /// BroadcastChannel; it stays non-extractable).
    pub fn data_key(&self) -> Option<web_sys::CryptoKey> {
        self.keys.borrow().as_ref().map(|k| k.data().crypto_key().clone())
    }

    /// Unlocks with a data key another tab handed over: it is accepted only if it opens this
    /// copy's sealed index key, otherwise [`StoreError::WrongPassphrase`].
    pub async fn unlock_with_data_key(&self, key: web_sys::CryptoKey) -> Result<(), StoreError> {
        let Some((_, record)) = self.vault_now().await? else {
            return Err(StoreError::Passphrase(PassphraseRefusal::NotSet));
        };
        let unlocked = keys::unlock_with(&record, DataKey::new(key)).await?;
        *self.keys.borrow_mut() = Some(unlocked);
        Ok(())
    }

    /// Locks: drops the keys and the decrypted copy from memory. Every read and write is then
    /// refused with [`StoreError::Locked`] until [`unlock`](IndexedDbStore::unlock).
    pub async fn lock(&self) {
        self.keys.borrow_mut().take();
        self.mirror.lock().await.take();
    }

    /// Sets the first passphrase: makes a data key and encrypts the whole unencrypted copy —
    /// every record, the log, the staged files — in one transaction, all or nothing. The
    /// store is unlocked afterwards. Revisions and sequence numbers stay, so plans made
    /// before remain valid.
    pub async fn set_passphrase(&self, passphrase: &str) -> Result<(), StoreError> {
        self.encrypt_with(passphrase, &Kdf::DEFAULT).await
    }

    /// [`set_passphrase`](IndexedDbStore::set_passphrase) with another key derivation: the
    /// tests that are not about the derivation use a fast one. Not in the app.
    #[cfg(any(test, feature = "store-contract"))]
    pub async fn set_passphrase_with(&self, passphrase: &str, kdf: &Kdf) -> Result<(), StoreError> {
        self.encrypt_with(passphrase, kdf).await
    }

    async fn encrypt_with(&self, passphrase: &str, kdf: &Kdf) -> Result<(), StoreError> {
        PassphraseRefusal::check_new(passphrase)?;
        let mut guard = self.mirror.lock().await;
        if self.meta_now().await?.key_id.is_some() {
            return Err(StoreError::Passphrase(PassphraseRefusal::AlreadySet));
        }
        let (record, new_keys) = keys::create(passphrase, kdf).await?;
        let sealed = Codec::Sealed(new_keys.clone());
        for _ in 0..ATTEMPTS {
            let (mirror, _) = match self.current_mirror(&mut guard).await {
                Err(StoreError::Locked) => return Err(StoreError::Passphrase(PassphraseRefusal::AlreadySet)),
                other => other?,
            };
            let (staged, staged_rows) = self.staged_files().await?;
            let mut sealed_staged = Vec::with_capacity(staged.len());
            for file in &staged {
                sealed_staged.push(sealed.staged_row(file).await?);
            }
            drop(staged);
            // Every stored record, in the bucket the index key gives it (the counters the copy
            // never stored are not written either).
            let revisions = &mirror.stored.revisions;
            let mut buckets: BTreeMap<(EntityKind, u32), Vec<Record>> = BTreeMap::new();
            for record in mirror.stored.crm.records() {
                if revisions.get(&record.key()).is_some() {
                    buckets.entry((record.kind(), sealed.bucket(&record.id()))).or_default().push(record);
                }
            }
            let contents = contents(buckets, |r| revisions.get(&r.key()).unwrap_or(0))?;
            let rows = sealed.bucket_rows(&contents).await?;
            let kinds: Vec<usize> = contents
                .iter()
                .map(|c| EntityKind::ALL.iter().position(|k| *k == c.kind).map_or(0, |p| p + 3))
                .collect();
            drop(contents);
            let through = Sequence { compacted_through: mirror.sequence.n, ..mirror.sequence };
            let conversion = Conversion {
                expected: mirror.state(),
                staged_before: staged_rows,
                rows,
                kinds,
                staged: sealed_staged,
                meta_row: sequence_row(through, &RowKeys::new())?,
                vault: vault_row(&record)?,
            };
            if !self.convert(&conversion).await? {
                continue;
            }
            mirror.codec = sealed;
            mirror.settle(through);
            *self.keys.borrow_mut() = Some(new_keys);
            return Ok(());
        }
        Err(busy())
    }

    /// The staged files, read plain, and their stored rows' metadata (what the conversion
    /// checks did not change before it writes).
    async fn staged_files(&self) -> Result<(Vec<StagedFile>, Vec<String>), StoreError> {
        let tx = self.transaction(&[STAGED_STORE], TransactionMode::Readonly)?;
        let store = self.object_store(&tx, STAGED_STORE)?;
        let rows = store.get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
        let rows = rows
            .await
            .map_err(|e| self.error(e))?
            .collect::<Result<Vec<JsValue>, _>>()
            .map_err(|e| self.error(e))?;
        drop(store);
        drop(tx);
        let mut files = Vec::with_capacity(rows.len());
        for row in &rows {
            let Some(id) =
                js_sys::Reflect::get(row, &JsValue::from_str("template_id")).ok().and_then(|v| v.as_string())
            else {
                return Err(corrupt(STAGED_STORE, "?", "a staged file has no template id"));
            };
            files.push(Codec::Plain.read_staged(&id, row).await?);
        }
        Ok((files, rows.iter().map(staged_fingerprint).collect()))
    }

    /// The conversion's one transaction: if `meta` and the staged files are as prepared, every
    /// entity store, the log and the staged files are cleared and written sealed, with the
    /// vault. `Ok(false)`: something moved, nothing was written.
    async fn convert(&self, conversion: &Conversion) -> Result<bool, StoreError> {
        let Conversion { expected, staged_before, rows, kinds, staged, meta_row, vault } = conversion;
        let mut names = vec![META_STORE, SEGMENTS_STORE, STAGED_STORE];
        names.extend(EntityKind::ALL.iter().map(|k| k.store_name()));
        let tx = self.transaction(&names, TransactionMode::Readwrite)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let mut handles = Vec::with_capacity(names.len());
        for name in &names {
            handles.push(self.object_store(&tx, name)?);
        }
        let staged_now = handles[2].get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
        let state = self.meta_state(&raw, &handles[0]).await?;
        let staged_now = staged_now
            .await
            .map_err(|e| self.failure(&raw, e))?
            .collect::<Result<Vec<JsValue>, _>>()
            .map_err(|e| self.error(e))?;
        if state != *expected
            || staged_now.iter().map(staged_fingerprint).collect::<Vec<_>>() != *staged_before
        {
            return Ok(false);
        }
        let s: Vec<web_sys::IdbObjectStore> = handles.iter().map(|h| (*h.as_sys()).clone()).collect();
        let write = || -> Result<(), JsValue> {
            for store in &s[1..] {
                store.clear()?;
            }
            for (row, store) in rows.iter().zip(kinds) {
                s[*store].put(row)?;
            }
            for row in staged {
                s[2].put(row)?;
            }
            s[0].put(meta_row)?;
            s[0].put(vault).map(drop)
        };
        write().map_err(|e| self.js_error(e))?;
        drop(handles);
        self.finish(tx).await?;
        Ok(true)
    }

    /// Changes the passphrase: the data key is unwrapped with `old` and wrapped again for
    /// `new` (a new salt, the current derivation); no data is encrypted again. A wrong `old`
    /// is [`StoreError::WrongPassphrase`] and changes nothing. Whether this store is locked
    /// does not change.
    pub async fn change_passphrase(&self, old: &str, new: &str) -> Result<(), StoreError> {
        PassphraseRefusal::check_new(new)?;
        if old == new {
            return Err(StoreError::Passphrase(PassphraseRefusal::Unchanged));
        }
        for _ in 0..ATTEMPTS {
            let Some((before, record)) = self.vault_now().await? else {
                return Err(StoreError::Passphrase(PassphraseRefusal::NotSet));
            };
            let rewrapped = keys::rewrap(&record, old, new, &Kdf::DEFAULT).await?;
            let row = vault_row(&rewrapped)?;
            // Written only if no other tab changed the vault since it was read.
            let tx = self.transaction(&[META_STORE], TransactionMode::Readwrite)?;
            let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
            let meta = self.object_store(&tx, META_STORE)?;
            let request = meta.get::<JsValue, _, _>(VAULT_ROW).primitive().map_err(|e| self.error(e))?;
            let now = read_vault(request.await.map_err(|e| self.failure(&raw, e))?.as_ref())?;
            if now.map(|(json, _)| json) != Some(before) {
                continue;
            }
            meta.as_sys().put(&row).map_err(|e| self.js_error(e))?;
            drop(meta);
            self.finish(tx).await?;
            return Ok(());
        }
        Err(busy())
    }
}

/// The encryption of an unencrypted copy, prepared: the sealed rows, and what the copy must
/// still be for them to be written.
struct Conversion {
    /// `meta` as the rows were prepared from.
    expected: MetaState,
    /// The staged files' rows as they were read ([`staged_fingerprint`]).
    staged_before: Vec<String>,
    /// The sealed buckets, and the index in the transaction's stores of each one's store.
    rows: Vec<JsValue>,
    kinds: Vec<usize>,
    /// The sealed staged files.
    staged: Vec<JsValue>,
    /// The sequence row (the log folded) and the vault row.
    meta_row: JsValue,
    vault: JsValue,
}

/// What identifies a stored staged file's row: its template id, metadata and size.
fn staged_fingerprint(row: &JsValue) -> String {
    let text =
        |name: &str| js_sys::Reflect::get(row, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
    let size = js_sys::Reflect::get(row, &JsValue::from_str("bytes"))
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok())
        .map(|b| b.length());
    format!("{:?} {:?} {:?}", text("template_id"), text("meta"), size)
}
