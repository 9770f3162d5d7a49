//! The plan (dry run), apply and undo. [`plan_insured_contact_details`] turns matched rows and
//! the operator's choices into exactly what will change — per row an action with field-level
//! before → after — plus the [`ChangeSet`] that performs it. Nothing is written here:
//! [`apply`] wraps a plan's changes with the import-history record (before-images included)
//! into one batch for the store, and [`undo`] builds the batch that restores the state before
//! an import. Non-destructive by construction: a plan only ever puts records.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::index::CrmIndex;
use crate::core::matching::{GroupChoice, GroupKind, Matches, RowMatch};
use crate::core::model::{
    public_id_for, BeforeImage, ChangeSet, ContactDetail, Counters, Crm, CrmEntry, DetailFields, DetailKind,
    EntryId, ImportCounts, ImportRecord, Insured, Record,
};
use crate::core::random::SeededRandom;
use crate::core::template::{insured_columns as c, MatchTier};
use crate::core::text::{fold, ssn_digits};
use crate::core::validate::{Validated, ValidatedRow};

/// What happens to one input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowAction {
    UpdateDetail,
    AddDetail,
    CreateEntryAndAddDetail,
    /// A new entry without a detail (the row only identified the person).
    CreateEntry,
    Unchanged,
    /// Skipped, with the reason.
    Skip(String),
    /// The row has validation errors.
    Error,
}

impl RowAction {
    pub fn label(&self) -> &'static str {
        match self {
            RowAction::UpdateDetail => "Update detail",
            RowAction::AddDetail => "Add detail",
            RowAction::CreateEntryAndAddDetail => "Create entry and add detail",
            RowAction::CreateEntry => "Create entry",
            RowAction::Unchanged => "Unchanged",
            RowAction::Skip(_) => "Skip",
            RowAction::Error => "Error",
        }
    }
}

/// One field's change, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The planned outcome of one input row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    /// Index into the validated rows.
    pub index: usize,
    pub sheet_row: usize,
    pub action: RowAction,
    pub tier: Option<MatchTier>,
    /// The entry the row applies to (existing or to be created).
    pub entry: Option<EntryId>,
    /// "CR-00012345 · José Álvarez" style label of the entry.
    pub entry_label: String,
    /// The detail the row writes (existing or new Public ID).
    pub public_id: Option<String>,
    pub changes: Vec<FieldChange>,
    pub notes: Vec<String>,
}

/// A change of the CRM entry linked to an insured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relink {
    pub case_reference: String,
    pub insured_reference: String,
    pub old_entry: Option<EntryId>,
    pub new_entry: EntryId,
}

/// Totals shown on top of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanTotals {
    /// CRM entries to create.
    pub create: usize,
    /// Details to update (and entries whose identity fields are filled).
    pub update: usize,
    /// Details to add.
    pub add: usize,
    pub unchanged: usize,
    pub skip: usize,
    pub error: usize,
}

impl PlanTotals {
    pub fn changes(&self) -> usize {
        self.create + self.update + self.add
    }
}

/// Exactly what an import will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub rows: Vec<PlannedRow>,
    pub totals: PlanTotals,
    pub relinks: Vec<Relink>,
    /// Conflict groups the operator has not settled; apply is refused while > 0.
    pub pending_conflicts: usize,
    /// The writes (puts only; an import never deletes).
    pub changes: ChangeSet,
    /// The counters after the import (new ids handed out).
    pub counters: Counters,
    /// Cases touched, for the updated export.
    pub affected_case_ids: Vec<u32>,
}

fn entry_label(e: &CrmEntry) -> String {
    match &e.client_reference {
        Some(cr) => format!("{cr} · {}", e.display_name()),
        None => e.display_name(),
    }
}

/// The detail a row describes. The row is the whole detail: an empty cell is an empty
/// field. Only Primary falls back to the stored value when its cell is empty.
fn detail_from_row(row: &ValidatedRow, kind: DetailKind, base: Option<&DetailFields>) -> DetailFields {
    let text = |col: usize| row.text(col).to_string();
    let mut f = DetailFields {
        label: text(c::LABEL),
        primary: row.bool(c::PRIMARY).unwrap_or(base.map(|b| b.primary).unwrap_or(false)),
        ..Default::default()
    };
    match kind {
        DetailKind::Address => {
            f.address_line1 = text(c::ADDRESS_LINE1);
            f.address_line2 = text(c::ADDRESS_LINE2);
            f.city = text(c::CITY);
            f.region = text(c::REGION);
            f.postcode = text(c::POSTCODE);
            f.country = text(c::COUNTRY);
        }
        DetailKind::Phone => f.phone = text(c::PHONE),
        DetailKind::Email => f.email = text(c::EMAIL),
    }
    f
}

fn field_changes(
    before_kind: DetailKind,
    before: &DetailFields,
    after_kind: DetailKind,
    after: &DetailFields,
) -> Vec<FieldChange> {
    let yn = |b: bool| if b { "Yes" } else { "No" }.to_string();
    let pairs = [
        ("Detail Type", before_kind.label().to_string(), after_kind.label().to_string()),
        ("Label", before.label.clone(), after.label.clone()),
        ("Primary", yn(before.primary), yn(after.primary)),
        ("Address Line 1", before.address_line1.clone(), after.address_line1.clone()),
        ("Address Line 2", before.address_line2.clone(), after.address_line2.clone()),
        ("City", before.city.clone(), after.city.clone()),
        ("Region", before.region.clone(), after.region.clone()),
        ("Postcode", before.postcode.clone(), after.postcode.clone()),
        ("Country", before.country.clone(), after.country.clone()),
        ("Phone", before.phone.clone(), after.phone.clone()),
        ("Email", before.email.clone(), after.email.clone()),
    ];
    pairs
        .into_iter()
        .filter(|(_, b, a)| b != a)
        .map(|(f, b, a)| FieldChange { field: f.to_string(), before: b, after: a })
        .collect()
}

/// The value that identifies a detail regardless of label (for "already present" checks).
fn detail_value_key(kind: DetailKind, f: &DetailFields) -> String {
    match kind {
        DetailKind::Address => {
            format!("a|{}|{}|{}", fold(&f.address_line1), fold(&f.address_line2), fold(&f.postcode))
        }
        DetailKind::Phone => {
            format!("p|{}", f.phone.chars().filter(char::is_ascii_digit).collect::<String>())
        }
        DetailKind::Email => format!("e|{}", f.email.trim().to_lowercase()),
    }
}

/// Working state while planning: the CRM as the plan has changed it so far.
struct Draft<'a> {
    crm: &'a Crm,
    entries: BTreeMap<EntryId, CrmEntry>,
    details: BTreeMap<String, ContactDetail>,
    insureds: BTreeMap<u32, Insured>,
    created_entries: Vec<EntryId>,
    counters: Counters,
    /// Existing and planned details by (entry, value key).
    detail_keys: HashMap<(EntryId, String), String>,
}

impl<'a> Draft<'a> {
    fn entry(&self, id: EntryId) -> Option<&CrmEntry> {
        self.entries.get(&id).or_else(|| self.crm.entries.get(&id))
    }
    fn detail(&self, id: &str) -> Option<&ContactDetail> {
        self.details.get(id).or_else(|| self.crm.details.get(id))
    }
    fn insured(&self, id: u32) -> Option<&Insured> {
        self.insureds.get(&id).or_else(|| self.crm.insureds.get(&id))
    }
}

/// Plans an insured contact details import. `choices[g]` is the operator's choice for
/// group `g` (`None` = not chosen: the default applies, and a conflict stays pending).
pub fn plan_insured_contact_details(
    crm: &Crm,
    validated: &Validated,
    matches: &Matches,
    choices: &[Option<GroupChoice>],
) -> Plan {
    let index = CrmIndex::new(crm);
    let mut draft = Draft {
        crm,
        entries: BTreeMap::new(),
        details: BTreeMap::new(),
        insureds: BTreeMap::new(),
        created_entries: Vec::new(),
        counters: crm.counters,
        detail_keys: crm
            .details
            .values()
            .map(|d| ((d.entry_id, detail_value_key(d.kind, &d.fields)), d.public_id.clone()))
            .collect(),
    };
    let mut rows = Vec::with_capacity(validated.rows.len());
    let mut totals = PlanTotals::default();
    let mut relinks = Vec::new();
    let mut pending_conflicts = 0;
    let mut group_entry: HashMap<usize, EntryId> = HashMap::new();
    let mut affected_cases = std::collections::BTreeSet::new();

    for (g, group) in matches.groups.iter().enumerate() {
        let choice = choices.get(g).copied().flatten().or_else(|| group.default_choice());
        if choice.is_none() && matches!(group.kind, GroupKind::Conflict { .. }) {
            pending_conflicts += 1;
        }
    }

    for (i, row) in validated.rows.iter().enumerate() {
        let mut planned = PlannedRow {
            index: i,
            sheet_row: row.sheet_row,
            action: RowAction::Error,
            tier: None,
            entry: None,
            entry_label: String::new(),
            public_id: None,
            changes: Vec::new(),
            notes: Vec::new(),
        };
        // Which entry (and detail) the row goes to.
        // True when the operator settled a Client Reference / SSN conflict by choosing one of
        // its two entries: the identifier that belongs to the other entry is then expected.
        let mut settled_conflict = false;
        let (tier, entry_id, detail_id, created_now) = match matches.rows.get(i) {
            None | Some(RowMatch::Blocked) => {
                totals.error += 1;
                rows.push(planned);
                continue;
            }
            Some(RowMatch::NothingToImport) => {
                planned.action = RowAction::Unchanged;
                planned
                    .notes
                    .push("No CRM entry is linked and the row carries no detail: nothing to import".into());
                totals.unchanged += 1;
                rows.push(planned);
                continue;
            }
            Some(RowMatch::Matched { tier, entry, detail }) => (Some(*tier), *entry, detail.clone(), false),
            Some(RowMatch::Group(g)) => {
                let group = &matches.groups[*g];
                let choice = choices.get(*g).copied().flatten().or_else(|| group.default_choice());
                match choice {
                    None => {
                        planned.action =
                            RowAction::Skip("conflict not resolved: choose an entry or skip".into());
                        if let GroupKind::Conflict { reason, .. } = &group.kind {
                            planned.notes.push(reason.clone());
                        }
                        totals.skip += 1;
                        rows.push(planned);
                        continue;
                    }
                    Some(GroupChoice::Skip) => {
                        planned.action = RowAction::Skip("skipped by the operator".into());
                        totals.skip += 1;
                        rows.push(planned);
                        continue;
                    }
                    Some(GroupChoice::Existing(e)) => {
                        if let GroupKind::Conflict { entries, .. } = &group.kind {
                            settled_conflict = entries.contains(&e);
                        }
                        (Some(MatchTier::OperatorChoice), e, None, false)
                    }
                    Some(GroupChoice::CreateNew) => match group_entry.get(g) {
                        Some(e) => {
                            settled_conflict = group.is_conflict();
                            (Some(MatchTier::OperatorChoice), *e, None, false)
                        }
                        None => {
                            settled_conflict = group.is_conflict();
                            let id = draft.counters.next_entry_id;
                            draft.counters.next_entry_id += 1;
                            // A Client Reference or SSN already on an existing entry (a
                            // conflict settled as "a new person") is not copied: both are
                            // unique, and the store would refuse the whole batch.
                            let cref = row.text(c::CLIENT_REFERENCE);
                            let cref = (!cref.is_empty() && index.entry_by_client_reference(cref).is_none())
                                .then(|| cref.to_string());
                            let ssn =
                                ssn_digits(row.text(c::SSN)).filter(|d| index.entry_by_ssn(d).is_none());
                            let new_entry = CrmEntry {
                                id,
                                client_reference: cref,
                                ssn: ssn.map(|d| crate::core::text::ssn_canonical(&d)),
                                first_name: row.text(c::FIRST_NAME).to_string(),
                                last_name: row.text(c::LAST_NAME).to_string(),
                                date_of_birth: row.date(c::DATE_OF_BIRTH),
                            };
                            draft.entries.insert(id, new_entry);
                            draft.created_entries.push(id);
                            group_entry.insert(*g, id);
                            totals.create += 1;
                            (Some(MatchTier::OperatorChoice), id, None, true)
                        }
                    },
                }
            }
        };
        planned.tier = tier;
        planned.entry = Some(entry_id);
        let is_new_entry = draft.created_entries.contains(&entry_id);

        // Identity fields: fill what is missing, never overwrite silently.
        let mut identity_changes = Vec::new();
        let mut blocked_reasons: Vec<String> = Vec::new();
        if let Some(entry) = draft.entry(entry_id).cloned() {
            let mut updated = entry.clone();
            let cref = row.text(c::CLIENT_REFERENCE);
            if !cref.is_empty() {
                match &entry.client_reference {
                    None => {
                        if let Some(other) = index.entry_by_client_reference(cref).filter(|o| *o != entry_id)
                        {
                            blocked_reasons.push(format!(
                                "Client Reference {cref} already belongs to another entry ({})",
                                draft.entry(other).map(entry_label).unwrap_or_default()
                            ));
                        } else {
                            updated.client_reference = Some(cref.to_string());
                            identity_changes.push(FieldChange {
                                field: "Client Reference".into(),
                                before: String::new(),
                                after: cref.to_string(),
                            });
                        }
                    }
                    Some(existing) if !existing.trim().eq_ignore_ascii_case(cref.trim()) => {
                        blocked_reasons
                            .push(format!("Client Reference conflict: the file says {cref}, the entry has {existing}; not overwritten"));
                    }
                    _ => {}
                }
            }
            if let Some(d) = ssn_digits(row.text(c::SSN)) {
                match entry.ssn.as_deref().and_then(ssn_digits) {
                    None => {
                        if index.entry_by_ssn(&d).filter(|o| *o != entry_id).is_some() {
                            blocked_reasons.push("SSN already belongs to another entry".to_string());
                        } else {
                            let canon = crate::core::text::ssn_canonical(&d);
                            updated.ssn = Some(canon.clone());
                            identity_changes.push(FieldChange {
                                field: "SSN".into(),
                                before: String::new(),
                                after: crate::core::text::mask_ssn(&canon),
                            });
                        }
                    }
                    Some(existing) if existing != d => {
                        blocked_reasons.push(format!(
                            "SSN conflict: the file says {}, the entry has {}; not overwritten",
                            crate::core::text::mask_ssn(&d),
                            crate::core::text::mask_ssn(&existing)
                        ));
                    }
                    _ => {}
                }
            }
            if let Some(dob) = row.date(c::DATE_OF_BIRTH) {
                match entry.date_of_birth {
                    None => {
                        updated.date_of_birth = Some(dob);
                        identity_changes.push(FieldChange {
                            field: "Date of Birth".into(),
                            before: String::new(),
                            after: dob.to_string(),
                        });
                    }
                    Some(existing) if existing != dob => planned.notes.push(format!(
                        "Date of Birth differs (file {dob}, CRM {existing}); the CRM's is kept"
                    )),
                    _ => {}
                }
            }
            if !crate::core::index::names_match(
                &entry.first_name,
                &entry.last_name,
                row.text(c::FIRST_NAME),
                row.text(c::LAST_NAME),
            ) && !is_new_entry
            {
                planned.notes.push(format!(
                    "Name in the file ({} {}) differs from the CRM entry ({}); the CRM's name is kept",
                    row.text(c::FIRST_NAME),
                    row.text(c::LAST_NAME),
                    entry.display_name()
                ));
            }
            // A settled conflict applies the row to the chosen entry; the other entry's
            // identifier is neither copied nor a reason to skip.
            if settled_conflict {
                for reason in blocked_reasons.drain(..) {
                    planned.notes.push(format!(
                        "{reason} (conflict settled by the operator: the file's value is not copied)"
                    ));
                }
            }
            planned.entry_label = entry_label(&updated);
            if blocked_reasons.is_empty() && updated != entry {
                draft.entries.insert(entry_id, updated);
            }
        }
        if !blocked_reasons.is_empty() {
            planned.action = RowAction::Skip(blocked_reasons.join("; "));
            totals.skip += 1;
            rows.push(planned);
            continue;
        }
        if is_new_entry {
            identity_changes.clear();
        }

        // Link the insured on the row's case.
        let (case_ref, ins_ref) = (row.text(c::CASE_REFERENCE), row.text(c::INSURED_REFERENCE));
        if let Some(case_id) = index.case_id(case_ref) {
            affected_cases.insert(case_id);
            if let Some(ins) = index.insured_on_case(case_id, ins_ref) {
                let current = draft.insured(ins.id).cloned();
                if let Some(mut current) = current {
                    let explicit = matches!(tier, Some(MatchTier::OperatorChoice));
                    if current.entry_id != Some(entry_id) && (current.entry_id.is_none() || explicit) {
                        relinks.push(Relink {
                            case_reference: case_ref.to_string(),
                            insured_reference: current.reference.clone(),
                            old_entry: current.entry_id,
                            new_entry: entry_id,
                        });
                        identity_changes.push(FieldChange {
                            field: format!("Insured {} link", current.reference),
                            before: current
                                .entry_id
                                .and_then(|e| draft.entry(e))
                                .map(entry_label)
                                .unwrap_or_else(|| "(none)".into()),
                            after: planned.entry_label.clone(),
                        });
                        current.entry_id = Some(entry_id);
                        draft.insureds.insert(current.id, current);
                    } else if current.entry_id != Some(entry_id) {
                        planned.notes.push(format!(
                            "Insured {} stays linked to its current entry; this row updates {}",
                            current.reference, planned.entry_label
                        ));
                    }
                }
            }
        }

        // The detail.
        let kind = DetailKind::parse(row.text(c::DETAIL_TYPE));
        let action = match (kind, detail_id) {
            (None, _) => {
                if created_now {
                    RowAction::CreateEntry
                } else if identity_changes.is_empty() {
                    RowAction::Unchanged
                } else {
                    RowAction::UpdateDetail
                }
            }
            (Some(kind), Some(pid)) => {
                let Some(before) = draft.detail(&pid).cloned() else {
                    planned.action = RowAction::Skip(format!("detail {pid} vanished"));
                    totals.skip += 1;
                    rows.push(planned);
                    continue;
                };
                let fields = detail_from_row(row, kind, Some(&before.fields));
                let mut changes = field_changes(before.kind, &before.fields, kind, &fields);
                planned.public_id = Some(pid.clone());
                if changes.is_empty() && identity_changes.is_empty() {
                    RowAction::Unchanged
                } else {
                    if !changes.is_empty() {
                        let after =
                            ContactDetail { public_id: pid.clone(), entry_id: before.entry_id, kind, fields };
                        draft
                            .detail_keys
                            .insert((after.entry_id, detail_value_key(kind, &after.fields)), pid.clone());
                        draft.details.insert(pid.clone(), after);
                    }
                    changes.splice(0..0, identity_changes.drain(..));
                    planned.changes = changes;
                    RowAction::UpdateDetail
                }
            }
            (Some(kind), None) => {
                let fields = detail_from_row(row, kind, None);
                let key = (entry_id, detail_value_key(kind, &fields));
                if let Some(existing) = draft.detail_keys.get(&key).cloned() {
                    planned.public_id = Some(existing.clone());
                    planned.notes.push(format!("Already present as {existing}"));
                    if identity_changes.is_empty() {
                        RowAction::Unchanged
                    } else {
                        planned.changes = std::mem::take(&mut identity_changes);
                        RowAction::UpdateDetail
                    }
                } else {
                    let pid = public_id_for(draft.counters.next_detail_number);
                    draft.counters.next_detail_number += 1;
                    let new = ContactDetail { public_id: pid.clone(), entry_id, kind, fields };
                    planned.changes = field_changes(kind, &DetailFields::default(), kind, &new.fields)
                        .into_iter()
                        .map(|mut f| {
                            f.before = String::new();
                            f
                        })
                        .filter(|f| !f.after.is_empty() && f.after != "No")
                        .collect();
                    planned.changes.splice(0..0, identity_changes.drain(..));
                    draft.detail_keys.insert(key, pid.clone());
                    draft.details.insert(pid.clone(), new);
                    planned.public_id = Some(pid);
                    if created_now || is_new_entry {
                        RowAction::CreateEntryAndAddDetail
                    } else {
                        RowAction::AddDetail
                    }
                }
            }
        };
        match &action {
            RowAction::UpdateDetail => totals.update += 1,
            RowAction::AddDetail | RowAction::CreateEntryAndAddDetail => totals.add += 1,
            RowAction::Unchanged => totals.unchanged += 1,
            RowAction::CreateEntry => {}
            RowAction::Skip(_) => totals.skip += 1,
            RowAction::Error => totals.error += 1,
        }
        if action == RowAction::UpdateDetail && planned.changes.is_empty() {
            planned.changes = identity_changes;
        }
        planned.action = action;
        rows.push(planned);
    }

    let mut changes = ChangeSet::default();
    changes.puts.extend(draft.entries.values().cloned().map(Record::Entry));
    changes.puts.extend(draft.details.values().cloned().map(Record::Detail));
    changes.puts.extend(draft.insureds.values().cloned().map(Record::Insured));
    let counters = draft.counters;
    if !changes.is_empty() {
        changes.puts.push(Record::Counters(counters));
    }
    Plan {
        rows,
        totals,
        relinks,
        pending_conflicts,
        changes,
        counters,
        affected_case_ids: affected_cases.into_iter().collect(),
    }
}

/// Who applies an import, when, and which file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyContext {
    pub template_id: String,
    pub operator_login: String,
    pub applied_at_ms: i64,
    pub file_name: String,
    pub sha256: String,
}

/// Why an import cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyRefusal {
    #[error("{0} conflict(s) are not resolved: choose an entry or skip for each before applying")]
    PendingConflicts(usize),
    #[error("there is no import to undo")]
    NothingToUndo,
    #[error("import {0} was already undone")]
    AlreadyUndone(u32),
}

/// The batch that applies a plan: its puts plus the history record with before-images.
pub fn apply(
    crm: &Crm,
    plan: &Plan,
    ctx: &ApplyContext,
    counts: ImportCounts,
) -> Result<(ChangeSet, ImportRecord), ApplyRefusal> {
    if plan.pending_conflicts > 0 {
        return Err(ApplyRefusal::PendingConflicts(plan.pending_conflicts));
    }
    Ok(record_import(crm, &plan.changes, plan.counters, ctx, counts))
}

/// Wraps an import's puts with its history record: a before-image of every record it writes
/// (so [`undo`] can restore them), the counters after the import (`counters`, with the next
/// import id handed out) and the record itself, as one batch. Every workflow's apply goes
/// through here, so every import is undone the same way.
pub fn record_import(
    crm: &Crm,
    changes: &ChangeSet,
    counters: Counters,
    ctx: &ApplyContext,
    counts: ImportCounts,
) -> (ChangeSet, ImportRecord) {
    let id = crm.counters.next_import_id;
    let before_images = changes
        .puts
        .iter()
        .filter(|r| !matches!(r, Record::Counters(_)))
        .map(|r| BeforeImage { key: r.key(), before: crm.get(&r.key()) })
        .collect();
    let record = ImportRecord {
        id,
        template_id: ctx.template_id.clone(),
        operator_login: ctx.operator_login.clone(),
        applied_at_ms: ctx.applied_at_ms,
        file_name: ctx.file_name.clone(),
        sha256: ctx.sha256.clone(),
        counts,
        before_images,
        undone: false,
    };
    let mut changes = changes.clone();
    let mut counters = counters;
    counters.next_import_id = id + 1;
    changes.puts.retain(|r| !matches!(r, Record::Counters(_)));
    changes.puts.push(Record::Counters(counters));
    changes.puts.push(Record::Import(record.clone()));
    (changes, record)
}

/// Counts recorded for a plan.
pub fn counts_of(plan: &Plan) -> ImportCounts {
    ImportCounts {
        created: plan.totals.create,
        updated: plan.totals.update,
        added: plan.totals.add,
        unchanged: plan.totals.unchanged,
        skipped: plan.totals.skip,
        errors: plan.totals.error,
    }
}

/// The most recent applied (not undone) import of a file with this SHA-256, if any: the
/// operator is asked before the same file is applied again.
pub fn last_import_of_file<'a>(crm: &'a Crm, sha256: &str) -> Option<&'a ImportRecord> {
    crm.imports.values().rev().find(|r| r.sha256 == sha256 && !r.undone)
}

/// The most recent import that has not been undone.
pub fn last_undoable(crm: &Crm) -> Option<&ImportRecord> {
    crm.imports.values().rev().find(|r| !r.undone)
}

/// The batch that undoes the most recent import: every record it touched goes back to its
/// before-image (records it created are removed) and the history record is marked undone.
/// Counters are kept, so Public IDs handed out are never reused.
pub fn undo(crm: &Crm) -> Result<ChangeSet, ApplyRefusal> {
    let record = last_undoable(crm).ok_or(ApplyRefusal::NothingToUndo)?;
    let mut changes = ChangeSet::default();
    for image in &record.before_images {
        match &image.before {
            Some(r) => changes.puts.push(r.clone()),
            None => changes.deletes.push(image.key.clone()),
        }
    }
    let mut marked = record.clone();
    marked.undone = true;
    changes.puts.push(Record::Import(marked));
    Ok(changes)
}

/// One applied row for verification: the file's values next to the record as stored now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationSample {
    pub sheet_row: usize,
    pub action: String,
    pub file_values: Vec<(String, String)>,
    pub stored_values: Vec<(String, String)>,
    pub agrees: bool,
}

/// A random sample (seeded by the file's hash) of 10–15 applied rows, each compared with
/// what the CRM now stores.
pub fn verification_sample(
    crm: &Crm,
    validated: &Validated,
    plan: &Plan,
    sha256: &str,
) -> Vec<VerificationSample> {
    let applied: Vec<&PlannedRow> = plan
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.action,
                RowAction::UpdateDetail
                    | RowAction::AddDetail
                    | RowAction::CreateEntryAndAddDetail
                    | RowAction::CreateEntry
            )
        })
        .collect();
    let seed = u64::from_str_radix(sha256.get(0..16).unwrap_or("0"), 16).unwrap_or(0);
    let mut rng = SeededRandom::new(seed);
    let want = if applied.len() <= 15 { applied.len() } else { 10 + rng.below(6) };
    let picks = rng.sample_indices(applied.len(), want);
    let headers = crate::core::export::INSURED_EXPORT_COLUMNS;
    picks
        .into_iter()
        .map(|k| {
            let p = applied[k];
            let row = &validated.rows[p.index];
            let detail = p.public_id.as_ref().and_then(|id| crm.details.get(id));
            let entry = p.entry.and_then(|e| crm.entries.get(&e));
            let mut file_values = Vec::new();
            let mut stored_values = Vec::new();
            let mut agrees = entry.is_some();
            for col in [
                c::FIRST_NAME,
                c::LAST_NAME,
                c::CLIENT_REFERENCE,
                c::DETAIL_TYPE,
                c::ADDRESS_LINE1,
                c::CITY,
                c::POSTCODE,
                c::PHONE,
                c::EMAIL,
            ] {
                let file = row.values[col].display();
                let stored = match col {
                    c::FIRST_NAME => entry.map(|e| e.first_name.clone()),
                    c::LAST_NAME => entry.map(|e| e.last_name.clone()),
                    c::CLIENT_REFERENCE => entry.map(|e| e.client_reference.clone().unwrap_or_default()),
                    c::DETAIL_TYPE => detail.map(|d| d.kind.label().to_string()),
                    c::ADDRESS_LINE1 => detail.map(|d| d.fields.address_line1.clone()),
                    c::CITY => detail.map(|d| d.fields.city.clone()),
                    c::POSTCODE => detail.map(|d| d.fields.postcode.clone()),
                    c::PHONE => detail.map(|d| d.fields.phone.clone()),
                    c::EMAIL => detail.map(|d| d.fields.email.clone()),
                    _ => None,
                }
                .unwrap_or_default();
                if file.is_empty() && stored.is_empty() {
                    continue;
                }
                let compared = matches!(
                    col,
                    c::DETAIL_TYPE | c::ADDRESS_LINE1 | c::CITY | c::POSTCODE | c::PHONE | c::EMAIL
                ) || (col == c::CLIENT_REFERENCE && !file.is_empty());
                if compared && !file.eq_ignore_ascii_case(&stored) {
                    agrees = false;
                }
                file_values.push((headers[col].to_string(), file));
                stored_values.push((headers[col].to_string(), stored));
            }
            if let Some(pid) = &p.public_id {
                stored_values.push(("Public ID".into(), pid.clone()));
            }
            VerificationSample {
                sheet_row: p.sheet_row,
                action: p.action.label().to_string(),
                file_values,
                stored_values,
                agrees,
            }
        })
        .collect()
}
