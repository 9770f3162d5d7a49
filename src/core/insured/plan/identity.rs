//! The identity rules of a row's entry: the Client Reference and SSN a row fills on an entry
//! that has none (never overwriting, never taking another entry's), and its date of birth and
//! names — merged three ways with the export base when the file carries one, otherwise a date
//! filled when missing and a difference noted. The entry is copied only when a field changes.

use std::borrow::Cow;

use crate::core::index::{names_match, CrmIndex};
use crate::core::model::{CrmEntry, EntryId};
use crate::core::plan::FieldChange;
use crate::core::privacy::Ssn;
use crate::core::template::Field;
use crate::core::validate::RowFields;

use super::super::base::ExportedEntry;
use super::detail::merge_value;
use super::draft::Reads;
use super::{entry_label, Draft, RowPlan};

/// What the identity rules know of the row's entry.
pub(super) struct Identity<'b> {
    pub(super) entry_id: EntryId,
    pub(super) base_entry: Option<ExportedEntry<'b>>,
    /// The row's conflicts take the file's value.
    pub(super) take: bool,
    pub(super) is_new_entry: bool,
}

/// The row's entry as the identity rules change it: copied only when a field changes.
pub(super) struct EntryEdit<'e> {
    pub(super) entry: &'e CrmEntry,
    pub(super) updated: Cow<'e, CrmEntry>,
    pub(super) changes: Vec<FieldChange>,
    /// Why the row cannot apply to the entry as it is (an identifier of another entry, a
    /// contradicting one).
    pub(super) blocked: Vec<String>,
}

/// What the identity rules read: the CRM's index and the plan so far.
pub(super) struct Lookup<'l, 'a> {
    pub(super) index: &'l CrmIndex<'a>,
    pub(super) draft: &'l Draft<'a>,
}

impl Lookup<'_, '_> {
    /// The row's Client Reference and SSN: filled on the entry when it has none and no other
    /// entry carries them, a reason to skip the row otherwise.
    pub(super) fn identifiers(
        &self,
        reads: &mut Reads,
        f: &RowFields<'_>,
        id: &Identity<'_>,
        edit: &mut EntryEdit<'_>,
    ) {
        let cref = f.text(Field::ClientReference);
        // A Client Reference or SSN the file holds as exported says nothing new: the entry
        // keeps its own.
        // (Digests are computed only when the entry does not already agree.)
        let cref_as_exported = || id.base_entry.is_some_and(|b| b.holds("Client Reference", cref));
        let ssn_as_exported = || id.base_entry.is_some_and(|b| b.holds("SSN", f.text(Field::Ssn)));
        let entry = edit.entry;
        let cref_agrees =
            entry.client_reference.as_deref().is_some_and(|c| c.trim().eq_ignore_ascii_case(cref.trim()));
        if !cref.is_empty() && !cref_agrees && !cref_as_exported() {
            match &entry.client_reference {
                None => {
                    let existing_owner =
                        self.index.entry_by_client_reference(cref).filter(|o| *o != id.entry_id);
                    if let Some(other) =
                        existing_owner.or_else(|| self.draft.planned_cref_owner(cref, id.entry_id))
                    {
                        if let Some(e) = self.draft.existing_entry(other) {
                            reads.entry(e);
                        }
                        edit.blocked.push(format!(
                            "Client Reference {cref} already belongs to another entry ({})",
                            self.draft.entry(other).map(entry_label).unwrap_or_default()
                        ));
                    } else {
                        edit.updated.to_mut().client_reference = Some(cref.to_string());
                        edit.changes.push(FieldChange {
                            field: "Client Reference".into(),
                            before: String::new(),
                            after: cref.to_string(),
                        });
                    }
                }
                Some(existing) if !existing.trim().eq_ignore_ascii_case(cref.trim()) => {
                    edit.blocked.push(format!(
                        "Client Reference conflict: the file says {cref}, the entry has {existing}; not overwritten"
                    ));
                }
                _ => {}
            }
        }
        if let Some(d) =
            Ssn::parse(f.text(Field::Ssn)).filter(|d| entry.ssn != Some(*d) && !ssn_as_exported())
        {
            match entry.ssn {
                None => {
                    let existing_owner = self.index.entry_with_ssn(&d).filter(|o| *o != id.entry_id);
                    if let Some(other) =
                        existing_owner.or_else(|| self.draft.planned_ssn_owner(&d, id.entry_id))
                    {
                        if let Some(e) = self.draft.existing_entry(other) {
                            reads.entry(e);
                        }
                        edit.blocked.push(format!(
                            "SSN {d} already belongs to another entry ({})",
                            self.draft.entry(other).map(entry_label).unwrap_or_default()
                        ));
                    } else {
                        edit.changes.push(FieldChange {
                            field: "SSN".into(),
                            before: String::new(),
                            after: d.masked().into_string(),
                        });
                        edit.updated.to_mut().ssn = Some(d);
                    }
                }
                Some(existing) if existing != d => {
                    edit.blocked.push(format!(
                        "SSN conflict: the file says {d}, the entry has {existing}; not overwritten"
                    ));
                }
                _ => {}
            }
        }
    }

    /// The row's date of birth and names: merged three ways with the export base when the
    /// file has one, else a date filled when the entry has none and a difference noted.
    pub(super) fn birth_and_names(
        &self,
        f: &RowFields<'_>,
        id: &Identity<'_>,
        edit: &mut EntryEdit<'_>,
        work: &mut RowPlan<'_>,
    ) {
        let (take, conflicts) = (id.take, &mut work.facts.stale_conflicts);
        let original = self.draft.stored_entry(id.entry_id);
        if let (Some(dob), Some(b), Some(original)) = (f.date(Field::DateOfBirth), id.base_entry, original) {
            let crm_dob = original.date_of_birth.map(|d| d.to_string()).unwrap_or_default();
            let file_dob = dob.to_string();
            let as_exported = |v: &str| b.holds("Date of Birth", v);
            let keep = merge_value("Date of Birth", as_exported, &crm_dob, &file_dob, take, conflicts);
            if keep.is_some() && edit.updated.date_of_birth != Some(dob) {
                edit.changes.push(FieldChange {
                    field: "Date of Birth".into(),
                    before: edit.updated.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
                    after: file_dob,
                });
                edit.updated.to_mut().date_of_birth = Some(dob);
            }
        } else if let Some(dob) = f.date(Field::DateOfBirth) {
            match edit.entry.date_of_birth {
                None => {
                    edit.updated.to_mut().date_of_birth = Some(dob);
                    edit.changes.push(FieldChange {
                        field: "Date of Birth".into(),
                        before: String::new(),
                        after: dob.to_string(),
                    });
                }
                Some(existing) if existing != dob => work
                    .planned
                    .notes
                    .push(format!("Date of Birth differs (file {dob}, CRM {existing}); the CRM's is kept")),
                _ => {}
            }
        }
        let (first, last) = (f.text(Field::FirstName), f.text(Field::LastName));
        let named = !first.trim().is_empty() && !last.trim().is_empty();
        let entry = edit.entry;
        if let (Some(b), Some(original)) = (id.base_entry, original) {
            // Names merge three ways; an empty cell keeps the CRM's name.
            let names: [(&str, &str, &str); 2] =
                [("First Name", &original.first_name, first), ("Last Name", &original.last_name, last)];
            for (field, crm_now, file) in names {
                if file.trim().is_empty() {
                    continue;
                }
                let as_exported = |v: &str| b.holds(field, v);
                let Some(v) =
                    merge_value(field, as_exported, crm_now, file, take, &mut work.facts.stale_conflicts)
                else {
                    continue;
                };
                let current =
                    if field == "First Name" { &edit.updated.first_name } else { &edit.updated.last_name };
                if *current != v {
                    let updated = edit.updated.to_mut();
                    let slot =
                        if field == "First Name" { &mut updated.first_name } else { &mut updated.last_name };
                    edit.changes.push(FieldChange {
                        field: field.into(),
                        before: std::mem::replace(slot, v.clone()),
                        after: v,
                    });
                }
            }
        } else if named && !id.is_new_entry && !same_names(entry, first, last) {
            work.planned.notes.push(format!(
                "Name in the file ({first} {last}) differs from the CRM entry ({}); the CRM's name is kept",
                entry.display_name()
            ));
        }
    }
}

/// The entry's names are the row's (as written, or folded: case, accents and spaces aside).
fn same_names(entry: &CrmEntry, first: &str, last: &str) -> bool {
    (entry.first_name == first && entry.last_name == last)
        || names_match(&entry.first_name, &entry.last_name, first, last)
}
