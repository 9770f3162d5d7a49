//! What a settled row does with its contact detail: updates the detail its Public ID names
//! (merged three ways with the export base when the file carries one), adds a new one (or
//! finds it already present), or, for a row without a detail, only what it did to the entry.

use super::*;

impl<'a> PlanSlices<'a> {
    /// What the row does with its detail: updates the detail its Public ID names, adds a new
    /// one (or finds it already present), or — a row without a detail — only what it did to
    /// the entry.
    pub(super) fn detail_action(
        &mut self,
        work: &mut RowPlan<'a>,
        mut settled: Settled,
    ) -> Option<RowAction> {
        let f = work.row.fields(self.template);
        let kind = DetailKind::parse(f.text(Field::DetailType));
        let Target { entry_id, created_now, .. } = settled.target;
        let action = match (kind, settled.target.detail_id.take()) {
            (None, _) => {
                if created_now {
                    RowAction::Create
                } else if settled.identity_changes.is_empty() {
                    RowAction::Unchanged
                } else {
                    RowAction::Update
                }
            }
            (Some(kind), Some(pid)) => self.update_detail(work, &mut settled, kind, pid)?,
            (Some(kind), None) => {
                let fields = detail_from_row(&f, kind, None);
                self.draft.key_details_of(&self.index, entry_id);
                let value_key = detail_value_key(kind, &fields);
                if let Some(existing) = self.draft.detail_with_key(entry_id, &value_key) {
                    if self.draft.stored_detail(existing).is_some() {
                        self.reads.detail(existing);
                    }
                    work.planned.notes.push(format!("Already present as {existing}"));
                    work.facts.public_id = Some(existing.clone());
                    if settled.identity_changes.is_empty() {
                        RowAction::Unchanged
                    } else {
                        work.planned.changes = std::mem::take(&mut settled.identity_changes);
                        RowAction::Update
                    }
                } else {
                    let pid = public_id_for(self.draft.counters.next_detail_number);
                    self.draft.counters.next_detail_number =
                        self.draft.counters.next_detail_number.saturating_add(1);
                    let new = ContactDetail { public_id: pid.clone(), entry_id, kind, fields };
                    let mut changes = std::mem::take(&mut settled.identity_changes);
                    changes.extend(new_detail_changes(&new.fields));
                    work.planned.changes = changes;
                    self.draft.put_detail_key(entry_id, value_key, pid.clone());
                    self.draft.details.insert(pid.clone(), new);
                    work.facts.public_id = Some(pid);
                    if created_now || settled.is_new_entry {
                        RowAction::Create
                    } else {
                        RowAction::Add
                    }
                }
            }
        };
        if action == RowAction::Update && work.planned.changes.is_empty() {
            work.planned.changes = settled.identity_changes;
        }
        Some(action)
    }

    /// The row updates the detail `pid` (its Public ID matched, or its conflict was settled on
    /// the detail's entry): the row's values, merged with the export base when the file has
    /// one. `None` when the detail vanished (the row is skipped).
    fn update_detail(
        &mut self,
        work: &mut RowPlan<'a>,
        settled: &mut Settled,
        kind: DetailKind,
        pid: String,
    ) -> Option<RowAction> {
        let f = work.row.fields(self.template);
        let Some(before) = self.draft.detail(&pid) else {
            work.planned.action = RowAction::Skip(format!("detail {pid} vanished"));
            work.planned.facts = RowFacts::Insured(std::mem::take(&mut work.facts));
            self.out.counts.skipped += 1;
            return None;
        };
        // A row that says what the detail says changes nothing: nothing to copy.
        let base_detail = settled
            .base_detail
            .as_deref()
            .and_then(|pid| self.export_base.as_ref().and_then(|b| b.detail(pid)));
        let unchanged = base_detail.is_none() && row_is_detail(&f, kind, before.kind, &before.fields);
        let mut changes = Vec::new();
        let mut after = None;
        if !unchanged {
            let fields = detail_from_row(&f, kind, Some(&before.fields));
            let (kind, fields) = match &base_detail {
                Some(b) => merge_detail(
                    b,
                    (before.kind, &before.fields),
                    (kind, &fields),
                    settled.take,
                    &mut work.facts.stale_conflicts,
                ),
                None => (kind, fields),
            };
            changes = field_changes(before.kind, &before.fields, kind, &fields);
            if !changes.is_empty() {
                after =
                    Some(ContactDetail { public_id: pid.clone(), entry_id: before.entry_id, kind, fields });
            }
        }
        work.facts.public_id = Some(pid.clone());
        if changes.is_empty() && settled.identity_changes.is_empty() {
            return Some(RowAction::Unchanged);
        }
        if let Some(after) = after {
            self.draft.put_detail_key(
                after.entry_id,
                detail_value_key(after.kind, &after.fields),
                pid.clone(),
            );
            self.draft.details.insert(pid, after);
        }
        changes.splice(0..0, settled.identity_changes.drain(..));
        work.planned.changes = changes;
        Some(RowAction::Update)
    }
}
