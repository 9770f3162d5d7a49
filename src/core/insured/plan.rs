//! The insured contact details planner: matched rows and the operator's choices become
//! exactly what will change — per row an action with field-level before → after (detail
//! updated, detail added, entry created, insured linked), the counts, and the [`ChangeSet`]
//! that performs it. Non-destructive by construction: the plan only ever puts records.
//!
//! Each row goes where its person's choice says ([`Matches::choice`]):
//! - A tier's entry, when the choice is left alone (or names that same entry).
//! - Another existing entry (an override of a tier, an unresolved person's pick, a settled
//!   conflict): the row's detail goes to that entry. A Public ID whose detail is on the chosen
//!   entry updates that detail; a Public ID whose detail is on another entry is left as it is
//!   — an import never takes a detail away from an entry — and the row's values are added to
//!   the chosen entry as a new detail (noted on the row). An insured on the row's case is
//!   linked to the chosen entry.
//! - A new entry ("Create new CRM entry", for any kind of person with names): created once per
//!   person from its names, date of birth and identifiers — a Client Reference or SSN already
//!   on another entry is not copied (noted) — and linked to the insured on the row's case; a
//!   person without names cannot be created and its rows are errors.
//! - Nowhere ("Skip these rows", an unresolved person without names, a pending conflict).
//!
//! A file that carries its export base ([`plan_with_base`]) is merged three ways per field —
//! the file against the base against the CRM now ([`three_way`]): a value the file still
//! holds as exported keeps the CRM's (even when the CRM changed it since); a value the CRM
//! still holds as exported takes the file's; a field both changed, differently, is a
//! [`StaleConflict`] on the row ("changed in the CRM since this file was exported") that keeps
//! the CRM's value unless the operator's [`TakeFile`] names the row. The base is found by the
//! row's Public ID (detail fields) and by the entry its tier found (names and date of birth,
//! which the merge may then change; a Client Reference or SSN still as exported is not a
//! contradiction of the entry's), never by row position. Without a base, and for rows the
//! operator sent to another entry, the rules below apply unchanged.
//!
//! Identity fields of an existing entry are filled when missing and never overwritten. When a
//! tier decided, the row's identifiers agree with the entry (the matcher turns any
//! disagreement into a conflict); when the operator chose the entry, an identifier that the
//! entry does not carry, or that is another entry's, is noted and not copied.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::index::{names_match, CrmIndex};
use crate::core::model::{
    public_id_for, ChangeSet, ContactDetail, Counters, Crm, CrmEntry, DetailFields, DetailKind, EntityKind,
    EntryId, Insured, Record, RecordKey,
};
use crate::core::plan::{
    errors_by_row, key, FieldChange, ImportPlan, InsuredFacts, PlannedRow, Relink, RowAction, RowFacts,
    StaleConflict,
};
use crate::core::template::{Field, MatchTier, Template};
use crate::core::text::{fold, mask_ssn, ssn_canonical, ssn_digits};
use crate::core::validate::{Issue, IssueCode, RowFields, Severity, Validated};

use super::base::{ssn_digest, three_way, BaseDetail, ExportBase, ExportBaseRead, Merged};
use super::matching::{GroupChoice, GroupKind, Matches, RowMatch};

/// Which rows take the file's value where the CRM and the file both changed a field since the
/// export ([`StaleConflict`]); by default none: the CRM's value stays. Rows are named by
/// [`PlannedRow::index`] (their index among the file's validated rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TakeFile {
    /// Every conflict keeps the CRM's value.
    #[default]
    None,
    /// The conflicts of these rows take the file's value.
    Rows(BTreeSet<usize>),
    /// Every conflict takes the file's value.
    All,
}

impl TakeFile {
    /// True when row `index`'s conflicts take the file's value.
    pub fn takes(&self, index: usize) -> bool {
        match self {
            TakeFile::None => false,
            TakeFile::Rows(rows) => rows.contains(&index),
            TakeFile::All => true,
        }
    }
}

type Get = fn(&DetailFields) -> String;
type Set = fn(&mut DetailFields, String);

/// The merged fields of a detail, by report name.
fn detail_accessors() -> [(&'static str, Get, Set); 10] {
    [
        ("Label", |f| f.label.clone(), |f, v| f.label = v),
        ("Primary", |f| if f.primary { "Yes" } else { "No" }.to_string(), |f, v| f.primary = v == "Yes"),
        ("Address Line 1", |f| f.address_line1.clone(), |f, v| f.address_line1 = v),
        ("Address Line 2", |f| f.address_line2.clone(), |f, v| f.address_line2 = v),
        ("City", |f| f.city.clone(), |f, v| f.city = v),
        ("Region", |f| f.region.clone(), |f, v| f.region = v),
        ("Postcode", |f| f.postcode.clone(), |f, v| f.postcode = v),
        ("Country", |f| f.country.clone(), |f, v| f.country = v),
        ("Phone", |f| f.phone.clone(), |f, v| f.phone = v),
        ("Email", |f| f.email.clone(), |f, v| f.email = v),
    ]
}

/// One field merged three ways: the value to keep, with a conflict recorded when both sides
/// changed it (the file's value only when `take_file`).
fn merge_value(
    field: &str,
    base: &str,
    crm: &str,
    file: &str,
    take_file: bool,
    conflicts: &mut Vec<StaleConflict>,
) -> Option<String> {
    match three_way(base, crm, file) {
        Merged::Crm => None,
        Merged::File => Some(file.to_string()),
        Merged::Conflict => {
            conflicts.push(StaleConflict {
                field: field.to_string(),
                at_export: base.to_string(),
                crm_now: crm.to_string(),
                file: file.to_string(),
                file_applies: take_file,
            });
            take_file.then(|| file.to_string())
        }
    }
}

/// A detail the file describes, merged with its export base and the CRM's detail: the kind and
/// fields to keep (only the fields of that kind).
fn merge_detail(
    base: &BaseDetail,
    (crm_kind, crm): (DetailKind, &DetailFields),
    (file_kind, file): (DetailKind, &DetailFields),
    take_file: bool,
    conflicts: &mut Vec<StaleConflict>,
) -> (DetailKind, DetailFields) {
    let kind = merge_value(
        "Detail Type",
        base.kind.label(),
        crm_kind.label(),
        file_kind.label(),
        take_file,
        conflicts,
    )
    .and_then(|k| DetailKind::parse(&k))
    .unwrap_or(crm_kind);
    let mut out = crm.clone();
    for (name, get, set) in detail_accessors() {
        if let Some(v) = merge_value(name, &get(&base.fields), &get(crm), &get(file), take_file, conflicts) {
            set(&mut out, v);
        }
    }
    // Only the fields of the kept kind, as a row describes a detail.
    let mut kept = DetailFields { label: out.label.clone(), primary: out.primary, ..Default::default() };
    match kind {
        DetailKind::Address => {
            kept = DetailFields { phone: String::new(), email: String::new(), ..out };
        }
        DetailKind::Phone => kept.phone = out.phone,
        DetailKind::Email => kept.email = out.email,
    }
    (kind, kept)
}

/// "CR-00012345 · José Álvarez": an entry as the plan names it (see `CrmEntry::label`: the
/// Client Reference, else the masked SSN, else the entry number, then the name).
pub fn entry_label(e: &CrmEntry) -> String {
    e.label()
}

/// An entry this plan creates: its label, or "New entry · Nora Quinn" when it has neither
/// Client Reference nor SSN (its number is only provisional until the commit).
fn new_entry_label(e: &CrmEntry) -> String {
    if e.client_reference.is_none() && e.ssn.is_none() {
        format!("New entry · {}", e.display_name())
    } else {
        e.label()
    }
}

/// The detail a row describes. The row is the whole detail: an empty cell is an empty
/// field. Only Primary falls back to the stored value when its cell is empty.
fn detail_from_row(row: &RowFields<'_>, kind: DetailKind, base: Option<&DetailFields>) -> DetailFields {
    let text = |field: Field| row.text(field).to_string();
    let mut f = DetailFields {
        label: text(Field::Label),
        primary: row.bool(Field::Primary).unwrap_or(base.map(|b| b.primary).unwrap_or(false)),
        ..Default::default()
    };
    match kind {
        DetailKind::Address => {
            f.address_line1 = text(Field::AddressLine1);
            f.address_line2 = text(Field::AddressLine2);
            f.city = text(Field::City);
            f.region = text(Field::Region);
            f.postcode = text(Field::Postcode);
            f.country = text(Field::Country);
        }
        DetailKind::Phone => f.phone = text(Field::Phone),
        DetailKind::Email => f.email = text(Field::Email),
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

/// Where a row goes, once its match and its person's choice are known.
enum Destination {
    /// An existing entry (and, for a tier-1 row, its detail), with the tier that decided.
    Entry(Option<MatchTier>, EntryId, Option<String>),
    /// The person's new entry (created by its first row).
    Create,
    Skip(String),
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
    /// The key of a record, when it exists in the CRM (not only in this plan).
    fn existing_entry(&self, id: EntryId) -> Option<RecordKey> {
        self.crm.entries.contains_key(&id).then(|| key(EntityKind::Entry, id))
    }
}

/// [`plan`] for a file whose export base was read ([`super::base::read_export_base`]): with a
/// base, each row found by its Public ID or its entry is merged three ways (see the module's
/// documentation) and a field both the CRM and the file changed is a [`StaleConflict`] on its
/// row, keeping the CRM's value unless `take_file` names the row; without one (absent or
/// damaged) the file plans exactly as with [`plan`], with [`ExportBaseRead::notice`] among
/// the plan's notices.
pub fn plan_with_base(
    crm: &Crm,
    template: &Template,
    validated: &Validated,
    matches: &Matches,
    choices: &[Option<GroupChoice>],
    base: &ExportBaseRead,
    take_file: &TakeFile,
) -> ImportPlan {
    let mut out = plan_merged(crm, template, validated, matches, choices, base.base(), take_file);
    out.notices.extend(base.notice());
    out
}

/// Plans an insured contact details import. `choices[g]` is the operator's choice for
/// group `g` of `matches.groups` (`None` = not chosen: the default applies — a matched group
/// keeps its tier's entry, an unresolved one creates an entry or, without names, is skipped —
/// and a conflict stays pending). Choices saved by group key convert with
/// [`Matches::choices_from_keys`].
pub fn plan(
    crm: &Crm,
    template: &Template,
    validated: &Validated,
    matches: &Matches,
    choices: &[Option<GroupChoice>],
) -> ImportPlan {
    plan_merged(crm, template, validated, matches, choices, None, &TakeFile::None)
}

fn plan_merged(
    crm: &Crm,
    template: &Template,
    validated: &Validated,
    matches: &Matches,
    choices: &[Option<GroupChoice>],
    export_base: Option<&ExportBase>,
    take_file: &TakeFile,
) -> ImportPlan {
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
    let mut out = ImportPlan::new(template, crm.counters);
    let mut errors = errors_by_row(validated);
    let totals = &mut out.counts;
    let reads = &mut out.reads;
    let mut rows = Vec::with_capacity(validated.rows.len());
    let mut group_entry: HashMap<usize, EntryId> = HashMap::new();

    for (g, group) in matches.groups.iter().enumerate() {
        let choice = choices.get(g).copied().flatten().or_else(|| group.default_choice());
        if choice.is_none() && matches!(group.kind, GroupKind::Conflict { .. }) {
            out.pending_conflicts += 1;
        }
    }

    for (i, row) in validated.rows.iter().enumerate() {
        let f = row.fields(template);
        let mut planned = PlannedRow::new(i, row.sheet_row, RowFacts::Insured(InsuredFacts::default()));
        let mut facts = InsuredFacts::default();
        // Which entry (and detail) the row goes to: the tier's, unless the operator's choice
        // for the row's person says otherwise.
        let group = matches.group_of(i).map(|g| (g, &matches.groups[g]));
        let choice = group.and_then(|(g, _)| matches.choice(g, choices));
        let destination = match matches.rows.get(i) {
            None | Some(RowMatch::Blocked) => {
                planned.errors = errors.remove(&row.sheet_row).unwrap_or_default();
                totals.errors += 1;
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
            Some(RowMatch::Matched { tier, entry, detail }) => match choice {
                None => Destination::Entry(Some(*tier), *entry, detail.clone()),
                Some(GroupChoice::Existing(e)) if e == *entry => {
                    Destination::Entry(Some(*tier), *entry, detail.clone())
                }
                Some(other) => {
                    // Overridden: a detail matched by its Public ID stays on its entry,
                    // unchanged; the row's values become a new detail of the chosen entry.
                    if let Some(pid) = detail {
                        let owner = draft.entry(*entry).map(entry_label).unwrap_or_default();
                        planned.notes.push(format!(
                            "Public ID {pid} is a detail of {owner}; the operator chose another entry for these rows, so the row is added there as a new detail and {pid} stays as it is"
                        ));
                        reads.extend(draft.existing_entry(*entry));
                    }
                    match other {
                        GroupChoice::Existing(e) => {
                            Destination::Entry(Some(MatchTier::OperatorChoice), e, None)
                        }
                        GroupChoice::CreateNew => Destination::Create,
                        GroupChoice::Skip => Destination::Skip("skipped by the operator".into()),
                    }
                }
            },
            Some(RowMatch::Group(_)) => {
                let group = group.map(|(_, p)| p);
                if let Some(GroupKind::Conflict { entries, .. }) = group.map(|p| &p.kind) {
                    reads.extend(entries.iter().filter_map(|e| draft.existing_entry(*e)));
                }
                match choice {
                    None => {
                        if let Some(GroupKind::Conflict { reason, .. }) = group.map(|p| &p.kind) {
                            planned.notes.push(reason.clone());
                        }
                        Destination::Skip(
                            "conflict not resolved: choose an entry, create a new one, or skip".into(),
                        )
                    }
                    Some(GroupChoice::Skip) => {
                        let by_default =
                            group.is_some_and(|p| choices.get(p.id).copied().flatten().is_none());
                        if by_default
                            && group.is_some_and(|p| !p.can_create && p.kind == GroupKind::Unresolved)
                        {
                            planned.notes.push(
                                "No row of this person gives both names, and no Public ID, Client Reference or SSN finds the entry: choose an existing entry, or fill the names to create one".into(),
                            );
                            Destination::Skip("not matched and no names to create an entry".into())
                        } else {
                            Destination::Skip("skipped by the operator".into())
                        }
                    }
                    Some(GroupChoice::Existing(e)) => {
                        Destination::Entry(Some(MatchTier::OperatorChoice), e, None)
                    }
                    Some(GroupChoice::CreateNew) => Destination::Create,
                }
            }
        };
        // An entry the operator named must exist (a choices file may be older than the CRM).
        let destination = match destination {
            Destination::Entry(_, e, _) if draft.entry(e).is_none() => {
                Destination::Skip(format!("the chosen CRM entry {e} does not exist"))
            }
            other => other,
        };
        let (tier, entry_id, detail_id, created_now) = match destination {
            Destination::Skip(reason) => {
                planned.action = RowAction::Skip(reason);
                totals.skipped += 1;
                rows.push(planned);
                continue;
            }
            // The operator's entry: the row's Public ID still names its detail when that
            // detail is on the chosen entry (a settled conflict); otherwise the row is added.
            Destination::Entry(Some(MatchTier::OperatorChoice), e, None) => {
                let pid = f.text(Field::PublicId);
                let own = (!pid.is_empty())
                    .then(|| crm.details.get(&pid.trim().to_uppercase()).or_else(|| crm.details.get(pid)))
                    .flatten()
                    .filter(|d| d.entry_id == e)
                    .map(|d| d.public_id.clone());
                (Some(MatchTier::OperatorChoice), e, own, false)
            }
            Destination::Entry(tier, e, detail) => (tier, e, detail, false),
            Destination::Create => {
                let g = group.map(|(g, _)| g).unwrap_or(usize::MAX);
                let person = group.map(|(_, p)| p);
                match group_entry.get(&g) {
                    Some(e) => (Some(MatchTier::OperatorChoice), *e, None, false),
                    None if !person.is_some_and(|p| p.can_create) => {
                        // Names are needed to create an entry.
                        let (first, last) = (f.text(Field::FirstName), f.text(Field::LastName));
                        let missing =
                            if first.trim().is_empty() { Field::FirstName } else { Field::LastName };
                        let col = template.col(missing);
                        let header = template.spec(missing).map(|c| c.header).unwrap_or("a name");
                        let cell = col.and_then(|c| validated.cell_name(c, row.sheet_row));
                        let message = format!(
                            "{header} is empty — First Name and Last Name are needed to create a CRM entry; choose an existing entry, or fill the names (file: \"{first}\" \"{last}\")"
                        );
                        planned.errors.push(match &cell {
                            Some(c) => format!("{c}: {message}"),
                            None => message.clone(),
                        });
                        out.issues.push(Issue {
                            row: row.sheet_row,
                            column: Some(header.to_string()),
                            cell,
                            code: IssueCode::NeededToCreate,
                            severity: Severity::Error,
                            message,
                        });
                        totals.errors += 1;
                        rows.push(planned);
                        continue;
                    }
                    None => {
                        let id = draft.counters.next_entry_id;
                        draft.counters.next_entry_id += 1;
                        // A Client Reference or SSN already on an existing entry (a conflict
                        // or a match settled as "a new person") is not copied: both are
                        // unique, and the store would refuse the whole batch.
                        let cref = f.text(Field::ClientReference);
                        let cref_owner =
                            (!cref.is_empty()).then(|| index.entry_by_client_reference(cref)).flatten();
                        let ssn = ssn_digits(f.text(Field::Ssn));
                        let ssn_owner = ssn.as_deref().and_then(|d| index.entry_by_ssn(d));
                        reads.extend(
                            [cref_owner, ssn_owner].into_iter().flatten().map(|e| key(EntityKind::Entry, e)),
                        );
                        // The names of the person (the first of its rows that gives both).
                        let (first, last) = match person {
                            Some(p) => (p.first_name.clone(), p.last_name.clone()),
                            None => {
                                (f.text(Field::FirstName).to_string(), f.text(Field::LastName).to_string())
                            }
                        };
                        let new_entry = CrmEntry {
                            id,
                            client_reference: (!cref.is_empty() && cref_owner.is_none())
                                .then(|| cref.to_string()),
                            ssn: ssn.filter(|_| ssn_owner.is_none()).map(|d| ssn_canonical(&d)),
                            first_name: first,
                            last_name: last,
                            date_of_birth: f
                                .date(Field::DateOfBirth)
                                .or(person.and_then(|p| p.date_of_birth)),
                        };
                        draft.entries.insert(id, new_entry);
                        draft.created_entries.push(id);
                        group_entry.insert(g, id);
                        totals.created += 1;
                        (Some(MatchTier::OperatorChoice), id, None, true)
                    }
                }
            }
        };
        // The operator decided the entry: an identifier of the file that the entry does not
        // carry (or that belongs to another entry) is noted, not copied, and does not skip.
        let settled = tier == Some(MatchTier::OperatorChoice);
        // The export base of the row: its entry's when a tier found the entry, its detail's
        // when its Public ID did.
        let tier_decided = tier.is_some_and(|t| t != MatchTier::OperatorChoice);
        let base_entry = export_base.filter(|_| tier_decided).and_then(|b| b.entries.get(&entry_id));
        let base_detail = export_base
            .filter(|_| tier_decided)
            .zip(detail_id.as_ref())
            .and_then(|(b, pid)| b.details.get(pid));
        let take = take_file.takes(i);
        let mut conflicts: Vec<StaleConflict> = Vec::new();
        facts.tier = tier;
        facts.entry = Some(entry_id);
        reads.extend(draft.existing_entry(entry_id));
        if let Some(pid) = &detail_id {
            reads.insert(key(EntityKind::Detail, pid));
        }
        let is_new_entry = draft.created_entries.contains(&entry_id);

        // Identity fields: fill what is missing, never overwrite silently.
        let mut identity_changes = Vec::new();
        let mut blocked_reasons: Vec<String> = Vec::new();
        if let Some(entry) = draft.entry(entry_id).cloned() {
            let mut updated = entry.clone();
            let cref = f.text(Field::ClientReference);
            // A Client Reference or SSN the file holds as exported says nothing new: the
            // entry keeps its own.
            let cref_as_exported =
                base_entry.is_some_and(|b| b.client_reference.trim().eq_ignore_ascii_case(cref.trim()));
            let ssn_as_exported = base_entry
                .is_some_and(|b| !b.ssn_sha256.is_empty() && b.ssn_sha256 == ssn_digest(f.text(Field::Ssn)));
            if !cref.is_empty() && !cref_as_exported {
                match &entry.client_reference {
                    None => {
                        if let Some(other) = index.entry_by_client_reference(cref).filter(|o| *o != entry_id)
                        {
                            reads.insert(key(EntityKind::Entry, other));
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
            if let Some(d) = ssn_digits(f.text(Field::Ssn)).filter(|_| !ssn_as_exported) {
                match entry.ssn.as_deref().and_then(ssn_digits) {
                    None => {
                        if let Some(other) = index.entry_by_ssn(&d).filter(|o| *o != entry_id) {
                            reads.insert(key(EntityKind::Entry, other));
                            blocked_reasons.push("SSN already belongs to another entry".to_string());
                        } else {
                            let canon = ssn_canonical(&d);
                            updated.ssn = Some(canon.clone());
                            identity_changes.push(FieldChange {
                                field: "SSN".into(),
                                before: String::new(),
                                after: mask_ssn(&canon),
                            });
                        }
                    }
                    Some(existing) if existing != d => {
                        blocked_reasons.push(format!(
                            "SSN conflict: the file says {}, the entry has {}; not overwritten",
                            mask_ssn(&d),
                            mask_ssn(&existing)
                        ));
                    }
                    _ => {}
                }
            }
            let original = crm.entries.get(&entry_id);
            if let (Some(dob), Some(b), Some(original)) = (f.date(Field::DateOfBirth), base_entry, original) {
                let crm_dob = original.date_of_birth.map(|d| d.to_string()).unwrap_or_default();
                let file_dob = dob.to_string();
                let keep =
                    merge_value("Date of Birth", &b.date_of_birth, &crm_dob, &file_dob, take, &mut conflicts);
                if keep.is_some() && updated.date_of_birth != Some(dob) {
                    identity_changes.push(FieldChange {
                        field: "Date of Birth".into(),
                        before: updated.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
                        after: file_dob,
                    });
                    updated.date_of_birth = Some(dob);
                }
            } else if let Some(dob) = f.date(Field::DateOfBirth) {
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
            let (first, last) = (f.text(Field::FirstName), f.text(Field::LastName));
            let named = !first.trim().is_empty() && !last.trim().is_empty();
            if let (Some(b), Some(original)) = (base_entry, original) {
                // Names merge three ways; an empty cell keeps the CRM's name.
                let names: [(&str, &str, &str, &str); 2] = [
                    ("First Name", &b.first_name, &original.first_name, first),
                    ("Last Name", &b.last_name, &original.last_name, last),
                ];
                for (field, at_export, crm_now, file) in names {
                    if file.trim().is_empty() {
                        continue;
                    }
                    let Some(v) = merge_value(field, at_export, crm_now, file, take, &mut conflicts) else {
                        continue;
                    };
                    let slot =
                        if field == "First Name" { &mut updated.first_name } else { &mut updated.last_name };
                    if *slot != v {
                        identity_changes.push(FieldChange {
                            field: field.into(),
                            before: std::mem::replace(slot, v.clone()),
                            after: v,
                        });
                    }
                }
            } else if named && !names_match(&entry.first_name, &entry.last_name, first, last) && !is_new_entry
            {
                planned.notes.push(format!(
                    "Name in the file ({first} {last}) differs from the CRM entry ({}); the CRM's name is kept",
                    entry.display_name()
                ));
            }
            // The operator's choice applies the row to the chosen entry; another entry's
            // identifier, or one the entry does not carry, is neither copied nor a reason to
            // skip.
            if settled {
                for reason in blocked_reasons.drain(..) {
                    planned.notes.push(format!(
                        "{reason} (the operator chose this entry: the file's value is not copied)"
                    ));
                }
            }
            facts.entry_label = if is_new_entry { new_entry_label(&updated) } else { entry_label(&updated) };
            if blocked_reasons.is_empty() && updated != entry {
                draft.entries.insert(entry_id, updated);
            }
        }
        facts.stale_conflicts = conflicts;
        if !blocked_reasons.is_empty() {
            planned.action = RowAction::Skip(blocked_reasons.join("; "));
            planned.facts = RowFacts::Insured(facts);
            totals.skipped += 1;
            rows.push(planned);
            continue;
        }
        if is_new_entry {
            identity_changes.clear();
        }

        // Link the insured on the row's case.
        let (case_ref, ins_ref) = (f.text(Field::CaseReference), f.text(Field::InsuredReference));
        if let Some(case_id) = index.case_id(case_ref) {
            facts.case_id = Some(case_id);
            if let Some(ins) = index.insured_on_case(case_id, ins_ref) {
                reads.insert(key(EntityKind::Insured, ins.id));
                let current = draft.insured(ins.id).cloned();
                if let Some(mut current) = current {
                    let explicit = matches!(tier, Some(MatchTier::OperatorChoice));
                    if current.entry_id != Some(entry_id) && (current.entry_id.is_none() || explicit) {
                        facts.relink = Some(Relink {
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
                            after: facts.entry_label.clone(),
                        });
                        current.entry_id = Some(entry_id);
                        draft.insureds.insert(current.id, current);
                    } else if current.entry_id != Some(entry_id) {
                        planned.notes.push(format!(
                            "Insured {} stays linked to its current entry; this row updates {}",
                            current.reference, facts.entry_label
                        ));
                    }
                }
            }
        }

        // The detail.
        let kind = DetailKind::parse(f.text(Field::DetailType));
        let action = match (kind, detail_id) {
            (None, _) => {
                if created_now {
                    RowAction::Create
                } else if identity_changes.is_empty() {
                    RowAction::Unchanged
                } else {
                    RowAction::Update
                }
            }
            (Some(kind), Some(pid)) => {
                let Some(before) = draft.detail(&pid).cloned() else {
                    planned.action = RowAction::Skip(format!("detail {pid} vanished"));
                    planned.facts = RowFacts::Insured(facts);
                    totals.skipped += 1;
                    rows.push(planned);
                    continue;
                };
                let fields = detail_from_row(&f, kind, Some(&before.fields));
                let (kind, fields) = match base_detail {
                    Some(b) => merge_detail(
                        b,
                        (before.kind, &before.fields),
                        (kind, &fields),
                        take,
                        &mut facts.stale_conflicts,
                    ),
                    None => (kind, fields),
                };
                let mut changes = field_changes(before.kind, &before.fields, kind, &fields);
                facts.public_id = Some(pid.clone());
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
                    RowAction::Update
                }
            }
            (Some(kind), None) => {
                let fields = detail_from_row(&f, kind, None);
                let value_key = (entry_id, detail_value_key(kind, &fields));
                if let Some(existing) = draft.detail_keys.get(&value_key).cloned() {
                    if crm.details.contains_key(&existing) {
                        reads.insert(key(EntityKind::Detail, &existing));
                    }
                    facts.public_id = Some(existing.clone());
                    planned.notes.push(format!("Already present as {existing}"));
                    if identity_changes.is_empty() {
                        RowAction::Unchanged
                    } else {
                        planned.changes = std::mem::take(&mut identity_changes);
                        RowAction::Update
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
                    draft.detail_keys.insert(value_key, pid.clone());
                    draft.details.insert(pid.clone(), new);
                    facts.public_id = Some(pid);
                    if created_now || is_new_entry {
                        RowAction::Create
                    } else {
                        RowAction::Add
                    }
                }
            }
        };
        match (&action, facts.public_id.is_some()) {
            (RowAction::Update, _) => totals.updated += 1,
            (RowAction::Add, _) | (RowAction::Create, true) => totals.added += 1,
            (RowAction::Unchanged, _) => totals.unchanged += 1,
            (RowAction::Create, false) => {}
            (RowAction::Skip(_), _) => totals.skipped += 1,
            (RowAction::Error, _) => totals.errors += 1,
        }
        if action == RowAction::Update && planned.changes.is_empty() {
            planned.changes = identity_changes;
        }
        planned.action = action;
        planned.facts = RowFacts::Insured(facts);
        rows.push(planned);
    }

    let mut changes = ChangeSet::default();
    changes.puts.extend(draft.entries.values().cloned().map(Record::Entry));
    changes.puts.extend(draft.details.values().cloned().map(Record::Detail));
    changes.puts.extend(draft.insureds.values().cloned().map(Record::Insured));
    if !changes.is_empty() {
        changes.puts.push(Record::Counters(draft.counters));
    }
    out.rows = rows;
    out.changes = changes;
    out.counters = draft.counters;
    out.read_puts();
    out
}
