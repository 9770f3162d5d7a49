//! The mirror: the whole CRM as stored, with every record's revision, kept in memory and
//! brought up to date with what other tabs commit. Reading happens in one read-only
//! transaction that only collects rows; the rows are opened (decrypted, parsed) after it, so
//! no WebCrypto promise is ever awaited inside a transaction.

use futures::future::try_join_all;

use super::*;

/// The whole CRM as stored, kept in memory and up to date, with what compaction needs.
#[derive(Debug)]
pub(super) struct Mirror {
    pub(super) stored: Rc<StoredCrm>,
    pub(super) sequence: Sequence,
    /// How the rows it was read from are written (and its buckets numbered).
    pub(super) codec: Codec,
    /// Segments in the log and the records they hold.
    pub(super) segments: usize,
    pub(super) segment_records: usize,
    /// Records the log wrote or deleted since the base: their buckets are what compaction
    /// rewrites (numbered only then, since a keyed digest per record is not free).
    pub(super) dirty: BTreeSet<RecordKey>,
}

impl Mirror {
    /// A mirror of `stored`, written whole at `sequence` (nothing in the log).
    pub(super) fn whole(stored: StoredCrm, sequence: Sequence, codec: Codec) -> Mirror {
        Mirror {
            stored: Rc::new(stored),
            sequence,
            codec,
            segments: 0,
            segment_records: 0,
            dirty: BTreeSet::new(),
        }
    }

    /// The `meta` state a write prepared on this mirror expects to find.
    pub(super) fn state(&self) -> MetaState {
        MetaState { sequence: self.sequence, key_id: self.codec.key_id().map(str::to_string) }
    }

    /// Follows one committed segment.
    pub(super) fn replay(&mut self, sequence: Revision, changes: &ChangeSet) -> Result<(), StoreError> {
        let stored = Rc::make_mut(&mut self.stored);
        stored.crm.apply_changes(changes).map_err(|v| {
            corrupt(SEGMENTS_STORE, &sequence.to_string(), format!("the logged commit breaks a rule: {v}"))
        })?;
        stored.revisions.apply(changes, sequence);
        stored.sequence = sequence;
        self.sequence.n = sequence;
        self.segments += 1;
        self.segment_records += changes.puts.len() + changes.deletes.len();
        self.dirty.extend(changes.deletes.iter().cloned());
        self.dirty.extend(changes.puts.iter().map(Record::key));
        Ok(())
    }

    /// Takes the sequence numbers stored now, once the mirror holds every commit up to them.
    /// When the log was folded up to here (by this tab or another), nothing is left to fold.
    pub(super) fn settle(&mut self, sequence: Sequence) {
        self.sequence = sequence;
        if sequence.compacted_through >= sequence.n {
            self.segments = 0;
            self.segment_records = 0;
            self.dirty.clear();
        }
    }

    pub(super) fn wants_compaction(&self) -> bool {
        self.segments >= COMPACT_SEGMENTS || self.segment_records >= COMPACT_RECORDS
    }

    /// The buckets the log touched.
    pub(super) fn dirty_buckets(&self) -> BTreeSet<(EntityKind, u32)> {
        self.dirty.iter().map(|k| (k.kind, self.codec.bucket(&k.id))).collect()
    }

    /// The content of the given buckets, from the mirror, one pass per kind.
    pub(super) fn buckets(
        &self,
        buckets: &BTreeSet<(EntityKind, u32)>,
    ) -> Result<Vec<BucketContent>, StoreError> {
        let mut records: BTreeMap<(EntityKind, u32), Vec<Record>> =
            buckets.iter().map(|b| (*b, Vec::new())).collect();
        let kinds: BTreeSet<EntityKind> = buckets.iter().map(|(k, _)| *k).collect();
        for kind in kinds {
            for record in self.stored.crm.records_of(kind) {
                if let Some(bucket) = records.get_mut(&(kind, self.codec.bucket(&record.id()))) {
                    bucket.push(record);
                }
            }
        }
        let revisions = &self.stored.revisions;
        contents(records, |r| revisions.get(&r.key()).unwrap_or(0))
    }
}

/// Buckets of records, serialized, each record with its revision.
pub(super) fn contents(
    buckets: BTreeMap<(EntityKind, u32), Vec<Record>>,
    revision: impl Fn(&Record) -> Revision,
) -> Result<Vec<BucketContent>, StoreError> {
    let mut out = Vec::with_capacity(buckets.len());
    for ((kind, number), records) in buckets {
        let revisions = records.iter().map(&revision).collect();
        out.push(BucketContent { kind, number, json: bucket_json(kind, &records)?, revisions });
    }
    Ok(out)
}

/// Every record of `crm` by the bucket `codec` puts it in.
pub(super) fn bucketed(crm: &Crm, codec: &Codec) -> BTreeMap<(EntityKind, u32), Vec<Record>> {
    let mut buckets: BTreeMap<(EntityKind, u32), Vec<Record>> = BTreeMap::new();
    for record in crm.records() {
        buckets.entry((record.kind(), codec.bucket(&record.id()))).or_default().push(record);
    }
    buckets
}

impl IndexedDbStore {
    /// Reads the whole database: the base, replayed with every segment. One read-only
    /// transaction collects the rows; they are opened after it.
    pub(super) async fn read_everything(&self) -> Result<Mirror, StoreError> {
        let mut names: Vec<&str> = EntityKind::ALL.iter().map(|k| k.store_name()).collect();
        names.push(META_STORE);
        names.push(SEGMENTS_STORE);
        let tx = self.transaction(&names, TransactionMode::Readonly)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        let segment_request = segments.get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
        let mut requests = Vec::with_capacity(EntityKind::ALL.len());
        for kind in EntityKind::ALL {
            let store = self.object_store(&tx, kind.store_name())?;
            let request = store.get_all::<JsValue>().primitive().map_err(|e| self.error(e))?;
            requests.push((kind, request));
        }
        let state = self.meta_state(&raw, &meta).await?;
        // A copy this store holds no key for is not read at all.
        let codec = self.codec_for(state.key_id.as_deref())?;
        let mut rows_by_kind = Vec::with_capacity(requests.len());
        for (kind, request) in requests {
            let rows = request.await.map_err(|e| self.error(e))?;
            rows_by_kind.push((kind, rows.collect::<Result<Vec<JsValue>, _>>().map_err(|e| self.error(e))?));
        }
        let segment_rows = segment_request
            .await
            .map_err(|e| self.error(e))?
            .collect::<Result<Vec<JsValue>, _>>()
            .map_err(|e| self.error(e))?;
        drop(segments);
        drop(meta);
        drop(tx);

        let sequence = state.sequence;
        let mut stored = StoredCrm { sequence: sequence.compacted_through, ..StoredCrm::default() };
        let read =
            try_join_all(rows_by_kind.into_iter().map(|(kind, rows)| codec.read_buckets(kind, rows))).await?;
        for (record, revision) in read.into_iter().flatten() {
            stored.revisions.set(record.key(), revision);
            stored.crm.put(record);
        }
        let logged = codec.read_segments(segment_rows).await?;
        let mut mirror = Mirror::whole(stored, Sequence { n: sequence.compacted_through, ..sequence }, codec);
        for (n, changes) in logged {
            if n > sequence.compacted_through && n <= sequence.n {
                mirror.replay(n, &changes)?;
            }
        }
        if mirror.sequence.n != sequence.n {
            // A segment is missing from the log: the copy cannot be trusted.
            return Err(corrupt(
                SEGMENTS_STORE,
                &sequence.n.to_string(),
                format!("the log ends at commit {} but the database says {}", mirror.sequence.n, sequence.n),
            ));
        }
        mirror.settle(sequence);
        Rc::make_mut(&mut mirror.stored).sequence = sequence.n;
        Ok(mirror)
    }

    /// Brings `mirror` up to the database: replays the segments written since (by another
    /// tab), or reads everything again if a replacement, a compaction or a new data key passed
    /// it by. A copy this store holds no key for drops the mirror: [`StoreError::Locked`].
    async fn catch_up(&self, mirror: &mut Option<Mirror>) -> Result<Refreshed, StoreError> {
        let from = mirror.as_ref().map(|m| m.sequence.n);
        let tx = self.transaction(&[META_STORE, SEGMENTS_STORE], TransactionMode::Readonly)?;
        let raw: web_sys::IdbTransaction = (**tx.as_sys()).clone();
        let meta = self.object_store(&tx, META_STORE)?;
        let segments = self.object_store(&tx, SEGMENTS_STORE)?;
        // The log after the mirror, read in the same transaction as `meta`, so they agree.
        let log = match from {
            Some(from) => {
                let range =
                    web_sys::IdbKeyRange::lower_bound_with_open(&JsValue::from_f64(from as f64), true)
                        .map_err(|e| self.js_error(e))?;
                Some(segments.as_sys().get_all_with_key(&range).map_err(|e| self.js_error(e))?)
            }
            None => None,
        };
        let state = self.meta_state(&raw, &meta).await?;
        let log_rows = match log {
            Some(request) => {
                let rows = await_request(&request).await.map_err(|e| self.js_error(e))?;
                let rows: js_sys::Array =
                    rows.dyn_into().map_err(|_| corrupt(SEGMENTS_STORE, "?", "the log could not be read"))?;
                rows.iter().collect()
            }
            None => Vec::new(),
        };
        drop(segments);
        drop(meta);
        drop(tx);

        let codec = match self.codec_for(state.key_id.as_deref()) {
            Ok(codec) => codec,
            Err(e) => {
                // Locked (or encrypted by another tab): nothing of the CRM stays in memory.
                *mirror = None;
                return Err(e);
            }
        };
        let current = match mirror.as_mut() {
            Some(m)
                if m.codec.key_id() == codec.key_id()
                    && state.sequence.replaced_at <= m.sequence.n
                    && state.sequence.compacted_through <= m.sequence.n
                    && state.sequence.n >= m.sequence.n =>
            {
                m
            }
            _ => {
                // Read whole again. Only a replacement (a snapshot or the demo loaded) or a new
                // data key replaces the copy; a compaction by another tab past this copy is
                // not one: what changed is told from the records' revisions.
                let before = mirror.take();
                let fresh = self.read_everything().await?;
                let to = fresh.sequence.n;
                // No copy held (the first read, or one dropped because a replacement was found
                // while writing) reads as a replacement, as before.
                let replaced = before.as_ref().is_none_or(|m| {
                    state.sequence.replaced_at > m.sequence.n || m.codec.key_id() != codec.key_id()
                });
                let changed = match &before {
                    Some(m) if !replaced => m.stored.revisions.differing(&fresh.stored.revisions),
                    _ => Vec::new(),
                };
                *mirror = Some(fresh);
                return Ok(Refreshed { from: from.unwrap_or(0), to, changed, replaced });
            }
        };
        let from = current.sequence.n;
        let mut changed = BTreeSet::new();
        if state.sequence.n > from {
            for (n, changes) in codec.read_segments(log_rows).await? {
                if n > from && n <= state.sequence.n {
                    changed.extend(changes.deletes.iter().cloned());
                    changed.extend(changes.puts.iter().map(Record::key));
                    current.replay(n, &changes)?;
                }
            }
            if current.sequence.n != state.sequence.n {
                *mirror = None;
                return Err(corrupt(
                    SEGMENTS_STORE,
                    &state.sequence.n.to_string(),
                    "a logged commit is missing",
                ));
            }
        }
        current.settle(state.sequence);
        Ok(Refreshed { from, to: state.sequence.n, changed: changed.into_iter().collect(), replaced: false })
    }

    /// The mirror, loaded if need be and caught up with the database.
    pub(super) async fn current_mirror<'m>(
        &self,
        mirror: &'m mut Option<Mirror>,
    ) -> Result<(&'m mut Mirror, Refreshed), StoreError> {
        let refreshed = self.catch_up(mirror).await?;
        match mirror.as_mut() {
            Some(m) => Ok((m, refreshed)),
            None => Err(StoreError::Unavailable("the CRM copy could not be read".into())),
        }
    }
}
