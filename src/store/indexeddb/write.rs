//! The store's writes, each prepared outside any transaction and written only if nothing
//! moved: a checked commit (one segment), a whole replacement (`replace_all`), and the
//! compaction that folds the log into the buckets.

use super::*;

impl IndexedDbStore {
    /// [`CrmStore::commit`]: prepares the batch on the caught-up mirror (identities,
    /// expectations, uniqueness, the sealed segment), then writes the segment and `meta` if
    /// `meta` is still what the mirror was caught up to; otherwise prepares it again.
    pub(super) async fn write_batch(&self, batch: &CheckedBatch) -> Result<Committed, StoreError> {
        let mut guard = self.mirror.lock().await;
        for _ in 0..ATTEMPTS {
            let (mirror, caught_up) = self.current_mirror(&mut guard).await?;

            // 1. Prepare, on the mirror, outside any transaction.
            if mirror.sequence.replaced_at > batch.base {
                if caught_up.replaced {
                    // The copy was replaced under this store: the next refresh reads it whole
                    // again and says so.
                    *guard = None;
                }
                return Err(StoreError::Stale(Staleness::replaced()));
            }
            let mut batch = batch.clone();
            rebase_identities(&mut batch, mirror.stored.crm.counters).map_err(rebase_refusal)?;
            check_counters(&batch)?;
            let revisions = &mirror.stored.revisions;
            let stale = check(&batch, mirror.sequence.replaced_at, |key| match revisions.get(key) {
                None if key.kind == EntityKind::Counters => Some(0),
                found => found,
            });
            if !stale.is_clear() {
                return Err(StoreError::Stale(stale));
            }
            mirror
                .stored
                .crm
                .check_unique(&batch.changes)
                .map_err(|v| StoreError::Constraint(v.to_string()))?;
            let expected = mirror.state();
            let sequence = mirror.sequence.n + 1;
            let segment = mirror.codec.segment_row(sequence, &batch.changes).await?;
            let meta_row = sequence_row(Sequence { n: sequence, ..mirror.sequence }, &RowKeys::new())?;

            // 2. Write, if `meta` is still what the batch was checked against.
            let write = |s: &[web_sys::IdbObjectStore]| {
                s[1].put(&segment)?;
                s[0].put(&meta_row).map(drop)
            };
            if !self.write_if(&[SEGMENTS_STORE], |now| *now == expected, write).await? {
                continue;
            }

            // 3. Follow the commit in the mirror; if it cannot follow, it is read again next time.
            let followed = mirror.replay(sequence, &batch.changes).is_ok();
            if !followed {
                *guard = None;
            }
            return Ok(Committed { sequence, changes: batch.changes });
        }
        Err(busy())
    }

    /// [`CrmStore::replace_all`]: every bucket of `crm` serialized (and sealed) at the next
    /// sequence number, then every entity store and the log cleared and the buckets written
    /// in one transaction, if `meta` did not move meanwhile.
    pub(super) async fn write_everything(&self, crm: &Crm) -> Result<Revision, StoreError> {
        let mut guard = self.mirror.lock().await;
        Crm::default()
            .check_unique(&ChangeSet { puts: crm.records(), deletes: Vec::new() })
            .map_err(|v| StoreError::Constraint(v.to_string()))?;
        for _ in 0..ATTEMPTS {
            let state = self.meta_now().await?;
            let codec = match self.codec_for(state.key_id.as_deref()) {
                Ok(codec) => codec,
                Err(e) => {
                    *guard = None;
                    return Err(e);
                }
            };
            let sequence = state.sequence.n + 1;
            let contents = contents(bucketed(crm, &codec), |_| sequence)?;
            let rows = codec.bucket_rows(&contents).await?;
            let kinds: Vec<usize> = contents
                .iter()
                .map(|c| EntityKind::ALL.iter().position(|k| *k == c.kind).map_or(0, |p| p + 2))
                .collect();
            drop(contents);
            let now = Sequence { n: sequence, replaced_at: sequence, compacted_through: sequence };
            let meta_row = sequence_row(now, &RowKeys::new())?;
            let mut names = vec![SEGMENTS_STORE];
            names.extend(EntityKind::ALL.iter().map(|k| k.store_name()));
            // Stores: meta, segments, then the entity stores in `EntityKind::ALL` order.
            let write = |s: &[web_sys::IdbObjectStore]| {
                for store in &s[1..] {
                    store.clear()?;
                }
                for (row, store) in rows.iter().zip(&kinds) {
                    s[*store].put(row)?;
                }
                s[0].put(&meta_row).map(drop)
            };
            match self.write_if(&names, |now| *now == state, write).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    *guard = None;
                    return Err(e);
                }
            }
            let records = crm.records();
            let stored =
                StoredCrm { crm: crm.clone(), revisions: Revisions::all_at(&records, sequence), sequence };
            *guard = Some(Mirror::whole(stored, now, codec));
            return Ok(sequence);
        }
        Err(busy())
    }

    /// Folds the log into the base: rewrites every bucket a segment touched from the mirror
    /// and deletes the segments, in one transaction; does nothing if another tab committed
    /// in between (it will be done later). Returns whether it compacted.
    pub async fn compact(&self) -> Result<bool, StoreError> {
        let mut guard = self.mirror.lock().await;
        let (mirror, _) = self.current_mirror(&mut guard).await?;
        if mirror.segments == 0 {
            return Ok(false);
        }
        // Serialize and seal before the transaction opens.
        let dirty = mirror.dirty_buckets();
        let (filled, emptied): (Vec<BucketContent>, Vec<BucketContent>) =
            mirror.buckets(&dirty)?.into_iter().partition(|c| c.json.n > 0);
        let rows = mirror.codec.bucket_rows(&filled).await?;
        let kinds: Vec<EntityKind> =
            dirty.iter().map(|(k, _)| *k).collect::<BTreeSet<_>>().into_iter().collect();
        let position = |kind: EntityKind| kinds.iter().position(|k| *k == kind).map_or(0, |p| p + 2);
        let puts: Vec<(usize, &JsValue)> =
            filled.iter().zip(&rows).map(|(c, row)| (position(c.kind), row)).collect();
        let deletes: Vec<(usize, JsValue)> =
            emptied.iter().map(|c| (position(c.kind), JsValue::from_str(&bucket_key(c.number)))).collect();
        let expected = mirror.state();
        let through = Sequence { compacted_through: mirror.sequence.n, ..mirror.sequence };
        let meta_row = sequence_row(through, &RowKeys::new())?;
        let upper = web_sys::IdbKeyRange::upper_bound(&JsValue::from_f64(through.n as f64))
            .map_err(|e| self.js_error(e))?;
        let mut names = vec![SEGMENTS_STORE];
        names.extend(kinds.iter().map(|k| k.store_name()));
        // Stores: meta, segments, then the kinds touched.
        let write = |s: &[web_sys::IdbObjectStore]| {
            for (store, row) in &puts {
                s[*store].put(row)?;
            }
            for (store, key) in &deletes {
                s[*store].delete(key)?;
            }
            s[1].delete(&upper)?;
            s[0].put(&meta_row).map(drop)
        };
        if !self.write_if(&names, |now| *now == expected, write).await? {
            return Ok(false);
        }
        mirror.settle(through);
        Ok(true)
    }
}
