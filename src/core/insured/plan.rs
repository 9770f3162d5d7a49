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
//!
//! Planning is linear in rows and runs in slices ([`PlanSlices`]: the service plans a few
//! thousand rows, ticks "rows planned of total" and may cancel, then plans the next): every
//! lookup goes through an index (entries by identifier, an entry's details by value, built
//! for the entries the file touches), and a row that changes nothing allocates nothing of the
//! CRM's. The details themselves — what a row describes, the changes field by field, the
//! three-way merge of a detail — are in `detail.rs`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::core::index::CrmIndex;
use crate::core::model::{
    public_id_for, ChangeSet, ContactDetail, Crm, CrmEntry, DetailKind, EntryId, Record,
};
use crate::core::plan::{
    errors_by_row, FieldChange, ImportPlan, InsuredFacts, PlannedRow, Relink, RowAction, RowFacts,
};
use crate::core::privacy::Ssn;
use crate::core::template::{Field, MatchTier, Template};
use crate::core::validate::{Issue, IssueCode, Severity, Validated, ValidatedRow};

use super::base::{AsExported, ExportBaseRead};
use super::matching::{DetectedPerson, GroupChoice, GroupKind, Matches, RowMatch};

mod detail;
mod detail_action;
mod draft;
mod identity;
#[cfg(test)]
mod tests;

use detail::{
    detail_from_row, detail_value_key, field_changes, merge_detail, new_detail_changes, row_is_detail,
};
use draft::{Draft, Reads};
use identity::{EntryEdit, Identity, Lookup};

/// Which rows take the file's value where the CRM and the file both changed a field since the
/// export ([`StaleConflict`](crate::core::plan::StaleConflict)); by default none: the CRM's
/// value stays. Rows are named by [`PlannedRow::index`] (their index among the file's
/// validated rows).
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

/// The planner's index of the CRM: its own, or the caller's.
enum IndexOf<'a> {
    Own(Box<CrmIndex<'a>>),
    Shared(&'a CrmIndex<'a>),
}

impl<'a> std::ops::Deref for IndexOf<'a> {
    type Target = CrmIndex<'a>;
    fn deref(&self) -> &CrmIndex<'a> {
        match self {
            IndexOf::Own(index) => index,
            IndexOf::Shared(index) => index,
        }
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

/// The entry (and detail) a row applies to.
struct Target {
    tier: Option<MatchTier>,
    entry_id: EntryId,
    detail_id: Option<String>,
    /// The row created the entry (the first row of a new person).
    created_now: bool,
}

/// What the planner has decided about one row so far.
struct RowPlan<'r> {
    i: usize,
    row: &'r ValidatedRow,
    planned: PlannedRow,
    facts: InsuredFacts,
    /// The row's person: its group index and the group.
    group: Option<(usize, &'r DetectedPerson)>,
    choice: Option<GroupChoice>,
}

/// The row's target once identities are settled.
struct Settled {
    target: Target,
    /// The entry is one this plan creates.
    is_new_entry: bool,
    /// The Public ID of the row's detail when the export base holds it (its detail merges
    /// three ways).
    base_detail: Option<String>,
    take: bool,
    identity_changes: Vec<FieldChange>,
}

/// [`plan`] for a file whose export base was read ([`super::base::read_export_base`]): with a
/// base, each row found by its Public ID or its entry is merged three ways (see the module's
/// documentation) and a field both the CRM and the file changed is a
/// [`StaleConflict`](crate::core::plan::StaleConflict) on its row, keeping the CRM's value
/// unless `take_file` names the row; without one (absent or damaged) the file plans exactly
/// as with [`plan`], with [`ExportBaseRead::notice`] among the plan's notices.
pub fn plan_with_base(
    crm: &Crm,
    template: &Template,
    validated: &Validated,
    matches: &Matches,
    choices: &[Option<GroupChoice>],
    base: &ExportBaseRead,
    take_file: &TakeFile,
) -> ImportPlan {
    let mut slices = PlanSlices::new(crm, template, validated, matches, choices).with_base(base, take_file);
    slices.plan_rows(usize::MAX);
    slices.finish()
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
    let mut slices = PlanSlices::new(crm, template, validated, matches, choices);
    slices.plan_rows(usize::MAX);
    slices.finish()
}

/// An insured contact details plan made in slices: [`PlanSlices::plan_rows`] plans the next
/// rows (in file order), [`PlanSlices::finish`] returns the plan. Planning all rows in one
/// slice or in many gives the same plan.
pub struct PlanSlices<'a> {
    crm: &'a Crm,
    template: &'a Template,
    validated: &'a Validated,
    matches: &'a Matches,
    choices: &'a [Option<GroupChoice>],
    /// The file's export base opened under the CRM's secret (`None` when it was written
    /// under another one: the plan then notes it and plans without).
    export_base: Option<AsExported<'a>>,
    notice: Option<String>,
    take_file: Cow<'a, TakeFile>,
    index: IndexOf<'a>,
    draft: Draft<'a>,
    reads: Reads,
    out: ImportPlan,
    errors: HashMap<usize, Vec<String>>,
    /// The entry created for each person (group index).
    group_entry: HashMap<usize, EntryId>,
    /// The next row to plan.
    next: usize,
}

impl std::fmt::Debug for PlanSlices<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanSlices").field("planned", &self.next).field("rows", &self.total()).finish()
    }
}

impl<'a> PlanSlices<'a> {
    /// A plan of `validated` on `crm` with the operator's `choices` (see [`plan`]), no row
    /// planned yet.
    pub fn new(
        crm: &'a Crm,
        template: &'a Template,
        validated: &'a Validated,
        matches: &'a Matches,
        choices: &'a [Option<GroupChoice>],
    ) -> Self {
        Self::begin(IndexOf::Own(Box::new(CrmIndex::new(crm))), template, validated, matches, choices)
    }

    /// [`PlanSlices::new`] on the CRM of an index the caller built already (its matching's).
    pub fn with_index(
        index: &'a CrmIndex<'a>,
        template: &'a Template,
        validated: &'a Validated,
        matches: &'a Matches,
        choices: &'a [Option<GroupChoice>],
    ) -> Self {
        Self::begin(IndexOf::Shared(index), template, validated, matches, choices)
    }

    fn begin(
        index: IndexOf<'a>,
        template: &'a Template,
        validated: &'a Validated,
        matches: &'a Matches,
        choices: &'a [Option<GroupChoice>],
    ) -> Self {
        let crm = index.crm;
        let mut out = ImportPlan::new(template, crm.counters);
        for (g, group) in matches.groups.iter().enumerate() {
            let choice = choices.get(g).copied().flatten().or_else(|| group.default_choice());
            if choice.is_none() && matches!(group.kind, GroupKind::Conflict { .. }) {
                out.pending_conflicts += 1;
            }
        }
        out.rows.reserve(validated.rows.len());
        PlanSlices {
            crm,
            template,
            validated,
            matches,
            choices,
            export_base: None,
            notice: None,
            take_file: Cow::Owned(TakeFile::None),
            index,
            reads: Reads::default(),
            draft: Draft {
                crm,
                entries: BTreeMap::new(),
                details: HashMap::new(),
                insureds: BTreeMap::new(),
                created_entries: HashSet::new(),
                counters: crm.counters,
                detail_keys: HashMap::new(),
                entries_by_id: crm.entries.iter().map(|(id, e)| (*id, e)).collect(),
                details_by_id: crm.details.iter().map(|(id, d)| (id.as_str(), d)).collect(),
                planned_crefs: HashMap::new(),
                planned_ssns: HashMap::new(),
            },
            out,
            errors: errors_by_row(validated),
            group_entry: HashMap::new(),
            next: 0,
        }
    }

    /// The plan of a file that carries its export base (see [`plan_with_base`]).
    pub fn with_base(mut self, base: &'a ExportBaseRead, take_file: &'a TakeFile) -> Self {
        // The base compares only under the secret that wrote it (else it is left out, with
        // the notice).
        self.export_base = base.base().and_then(|b| b.under(self.crm));
        self.notice = base.notice_for(self.crm);
        self.take_file = Cow::Borrowed(take_file);
        self
    }

    /// [`PlanSlices::with_base`] holding its own [`TakeFile`].
    pub fn with_base_taking(mut self, base: &'a ExportBaseRead, take_file: TakeFile) -> Self {
        self = self.with_base(base, &TakeFile::None);
        self.take_file = Cow::Owned(take_file);
        self
    }

    /// The number of rows to plan.
    pub fn total(&self) -> usize {
        self.validated.rows.len()
    }

    /// The number of rows planned so far.
    pub fn planned(&self) -> usize {
        self.next
    }

    /// True when every row is planned.
    pub fn is_done(&self) -> bool {
        self.next >= self.total()
    }

    /// Plans the next `count` rows (fewer at the end of the file); returns the rows planned
    /// so far.
    pub fn plan_rows(&mut self, count: usize) -> usize {
        let end = self.next.saturating_add(count).min(self.total());
        while self.next < end {
            let i = self.next;
            self.plan_row(i);
            self.next += 1;
        }
        self.next
    }

    /// The plan (rows not planned yet are left out).
    pub fn finish(self) -> ImportPlan {
        let PlanSlices { draft, mut out, notice, reads, .. } = self;
        out.reads.extend(reads.into_keys());
        let mut changes = ChangeSet::default();
        changes.puts.extend(draft.entries.into_values().map(Record::Entry));
        let mut details: Vec<(String, ContactDetail)> = draft.details.into_iter().collect();
        details.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        changes.puts.extend(details.into_iter().map(|(_, d)| Record::Detail(d)));
        changes.puts.extend(draft.insureds.into_values().map(Record::Insured));
        if !changes.is_empty() {
            changes.puts.push(Record::Counters(draft.counters));
        }
        out.changes = changes;
        out.counters = draft.counters;
        out.read_puts();
        out.notices.extend(notice);
        out
    }

    /// Plans row `i`: decides it, counts its action and adds it to the plan.
    fn plan_row(&mut self, i: usize) {
        let (validated, matches, choices) = (self.validated, self.matches, self.choices);
        let row = &validated.rows[i];
        let group = matches.group_of(i).map(|g| (g, &matches.groups[g]));
        let mut work = RowPlan {
            i,
            row,
            planned: PlannedRow::new(i, row.sheet_row, RowFacts::Insured(InsuredFacts::default())),
            facts: InsuredFacts::default(),
            group,
            choice: group.and_then(|(g, _)| matches.choice(g, choices)),
        };
        if let Some(action) = self.decide(&mut work) {
            let totals = &mut self.out.counts;
            match (&action, work.facts.public_id.is_some()) {
                (RowAction::Update, _) => totals.updated += 1,
                (RowAction::Add, _) | (RowAction::Create, true) => totals.added += 1,
                (RowAction::Unchanged, _) => totals.unchanged += 1,
                (RowAction::Create, false) => {}
                (RowAction::Skip(_), _) => totals.skipped += 1,
                (RowAction::Error, _) => totals.errors += 1,
            }
            work.planned.action = action;
            work.planned.facts = RowFacts::Insured(work.facts);
        }
        self.out.rows.push(work.planned);
    }

    /// The row's action, or `None` when the row was decided (and counted) on the way: an
    /// error, nothing to import, a skip.
    fn decide(&mut self, work: &mut RowPlan<'a>) -> Option<RowAction> {
        let destination = self.destination(work)?;
        let target = self.target(work, destination)?;
        let mut settled = self.settle(work, target)?;
        self.link_insured(work, &mut settled);
        self.detail_action(work, settled)
    }

    /// Where the row goes: the tier's entry unless the operator's choice for the row's person
    /// says otherwise. `None` when the row is decided already (an error, nothing to import).
    fn destination(&mut self, work: &mut RowPlan<'a>) -> Option<Destination> {
        let choice = work.choice;
        let destination = match self.matches.rows.get(work.i) {
            None | Some(RowMatch::Blocked) => {
                work.planned.errors = self.errors.remove(&work.row.sheet_row).unwrap_or_default();
                self.out.counts.errors += 1;
                return None;
            }
            Some(RowMatch::NothingToImport) => {
                work.planned.action = RowAction::Unchanged;
                work.planned
                    .notes
                    .push("No CRM entry is linked and the row carries no detail: nothing to import".into());
                self.out.counts.unchanged += 1;
                return None;
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
                        let owner = self.draft.entry(*entry).map(entry_label).unwrap_or_default();
                        work.planned.notes.push(format!(
                            "Public ID {pid} is a detail of {owner}; the operator chose another entry for these rows, so the row is added there as a new detail and {pid} stays as it is"
                        ));
                        if let Some(e) = self.draft.existing_entry(*entry) {
                            self.reads.entry(e);
                        }
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
            Some(RowMatch::Group(_)) => self.open_destination(work),
        };
        // An entry the operator named must exist (a choices file may be older than the CRM).
        Some(match destination {
            Destination::Entry(_, e, _) if self.draft.entry(e).is_none() => {
                Destination::Skip(format!("the chosen CRM entry {e} does not exist"))
            }
            other => other,
        })
    }

    /// Where a row of an open person (unresolved or a conflict) goes.
    fn open_destination(&mut self, work: &mut RowPlan<'a>) -> Destination {
        let group = work.group.map(|(_, p)| p);
        if let Some(GroupKind::Conflict { entries, .. }) = group.map(|p| &p.kind) {
            for e in entries.iter().filter_map(|e| self.draft.existing_entry(*e)) {
                self.reads.entry(e);
            }
        }
        match work.choice {
            None => {
                if let Some(GroupKind::Conflict { reason, .. }) = group.map(|p| &p.kind) {
                    work.planned.notes.push(reason.clone());
                }
                Destination::Skip("conflict not resolved: choose an entry, create a new one, or skip".into())
            }
            Some(GroupChoice::Skip) => {
                let by_default = group.is_some_and(|p| self.choices.get(p.id).copied().flatten().is_none());
                if by_default && group.is_some_and(|p| !p.can_create && p.kind == GroupKind::Unresolved) {
                    work.planned.notes.push(
                        "No row of this person gives both names, and no Public ID, Client Reference or SSN finds the entry: choose an existing entry, or fill the names to create one".into(),
                    );
                    Destination::Skip("not matched and no names to create an entry".into())
                } else {
                    Destination::Skip("skipped by the operator".into())
                }
            }
            Some(GroupChoice::Existing(e)) => Destination::Entry(Some(MatchTier::OperatorChoice), e, None),
            Some(GroupChoice::CreateNew) => Destination::Create,
        }
    }

    /// The entry (and detail) the row applies to, creating the person's entry on its first
    /// row. `None` when the row is skipped, or is an error (a person without names).
    fn target(&mut self, work: &mut RowPlan<'a>, destination: Destination) -> Option<Target> {
        let f = work.row.fields(self.template);
        let (tier, entry_id, detail_id, created_now) = match destination {
            Destination::Skip(reason) => {
                work.planned.action = RowAction::Skip(reason);
                self.out.counts.skipped += 1;
                return None;
            }
            // The operator's entry: the row's Public ID still names its detail when that
            // detail is on the chosen entry (a settled conflict); otherwise the row is added.
            Destination::Entry(Some(MatchTier::OperatorChoice), e, None) => {
                let pid = f.text(Field::PublicId);
                let own = (!pid.is_empty())
                    .then(|| {
                        self.crm.details.get(&pid.trim().to_uppercase()).or_else(|| self.crm.details.get(pid))
                    })
                    .flatten()
                    .filter(|d| d.entry_id == e)
                    .map(|d| d.public_id.clone());
                (Some(MatchTier::OperatorChoice), e, own, false)
            }
            Destination::Entry(tier, e, detail) => (tier, e, detail, false),
            Destination::Create => {
                let g = work.group.map(|(g, _)| g).unwrap_or(usize::MAX);
                match self.group_entry.get(&g) {
                    Some(e) => (Some(MatchTier::OperatorChoice), *e, None, false),
                    None if !work.group.is_some_and(|(_, p)| p.can_create) => {
                        self.names_needed(work);
                        return None;
                    }
                    None => {
                        let id = self.create_entry(work);
                        self.group_entry.insert(g, id);
                        (Some(MatchTier::OperatorChoice), id, None, true)
                    }
                }
            }
        };
        Some(Target { tier, entry_id, detail_id, created_now })
    }

    /// The error of a row whose person has no names: an entry cannot be created for it.
    fn names_needed(&mut self, work: &mut RowPlan<'a>) {
        let (template, row) = (self.template, work.row);
        let f = row.fields(template);
        let (first, last) = (f.text(Field::FirstName), f.text(Field::LastName));
        let missing = if first.trim().is_empty() { Field::FirstName } else { Field::LastName };
        let col = template.col(missing);
        let header = template.spec(missing).map(|c| c.header).unwrap_or("a name");
        let cell = col.and_then(|c| self.validated.cell_name(c, row.sheet_row));
        let message = format!(
            "{header} is empty — First Name and Last Name are needed to create a CRM entry; choose an existing entry, or fill the names (file: \"{first}\" \"{last}\")"
        );
        work.planned.errors.push(match &cell {
            Some(c) => format!("{c}: {message}"),
            None => message.clone(),
        });
        self.out.issues.push(Issue {
            row: row.sheet_row,
            column: Some(header.to_string()),
            cell,
            code: IssueCode::NeededToCreate,
            severity: Severity::Error,
            message,
        });
        self.out.counts.errors += 1;
    }

    /// Creates the entry of the row's person (its first row): returns its provisional id.
    fn create_entry(&mut self, work: &RowPlan<'a>) -> EntryId {
        let f = work.row.fields(self.template);
        let person = work.group.map(|(_, p)| p);
        let id = self.draft.counters.next_entry_id;
        self.draft.counters.next_entry_id = id.saturating_add(1);
        // A Client Reference or SSN already on an existing entry (a conflict or a match
        // settled as "a new person") is not copied: both are unique, and the store would
        // refuse the whole batch.
        let cref = f.text(Field::ClientReference);
        let cref_owner = (!cref.is_empty()).then(|| self.index.entry_by_client_reference(cref)).flatten();
        let ssn = Ssn::parse(f.text(Field::Ssn));
        let ssn_owner = ssn.and_then(|s| self.index.entry_with_ssn(&s));
        for owner in [cref_owner, ssn_owner].into_iter().flatten() {
            self.reads.entry(owner);
        }
        // Nor one another entry of this plan takes (two new persons of the file with the same
        // SSN): noted on the row when it is settled.
        let cref_owner = cref_owner.or_else(|| self.draft.planned_cref_owner(cref, id));
        let ssn_owner = ssn_owner.or_else(|| ssn.and_then(|s| self.draft.planned_ssn_owner(&s, id)));
        // The names of the person (the first of its rows that gives both).
        let (first, last) = match person {
            Some(p) => (p.first_name.clone(), p.last_name.clone()),
            None => (f.text(Field::FirstName).to_string(), f.text(Field::LastName).to_string()),
        };
        let new_entry = CrmEntry {
            id,
            client_reference: (!cref.is_empty() && cref_owner.is_none()).then(|| cref.to_string()),
            ssn: ssn.filter(|_| ssn_owner.is_none()),
            first_name: first,
            last_name: last,
            date_of_birth: f.date(Field::DateOfBirth).or(person.and_then(|p| p.date_of_birth)),
        };
        self.draft.plan_identifiers(&new_entry);
        self.draft.entries.insert(id, new_entry);
        self.draft.created_entries.insert(id);
        self.out.counts.created += 1;
        id
    }

    /// Settles the row's entry: the tier, the export base that applies, the identity fields
    /// the row fills on the entry. `None` when the row is skipped because an identifier of the
    /// file contradicts the entry's (a tier decided) — its facts are kept on the row.
    fn settle(&mut self, work: &mut RowPlan<'a>, target: Target) -> Option<Settled> {
        let Target { tier, entry_id, ref detail_id, .. } = target;
        let settled = tier == Some(MatchTier::OperatorChoice);
        // The export base of the row: its entry's when a tier found the entry, its detail's
        // when its Public ID did.
        let tier_decided = tier.is_some_and(|t| t != MatchTier::OperatorChoice);
        let base = self.export_base.as_ref().filter(|_| tier_decided);
        let base_entry = base.and_then(|b| b.entry(entry_id));
        let base_detail = detail_id.clone().filter(|pid| base.is_some_and(|b| b.detail(pid).is_some()));
        let take = self.take_file.takes(work.i);
        work.facts.tier = tier;
        work.facts.entry = Some(entry_id);
        if let Some(e) = self.draft.existing_entry(entry_id) {
            self.reads.entry(e);
        }
        if let Some(pid) = detail_id {
            self.reads.detail(pid);
        }
        let is_new_entry = self.draft.created_entries.contains(&entry_id);
        let identity = Identity { entry_id, base_entry, take, is_new_entry };
        let lookup = Lookup { index: &self.index, draft: &self.draft };
        let f = work.row.fields(self.template);
        let mut identity_changes = Vec::new();
        let mut blocked: Vec<String> = Vec::new();
        let mut changed = None;
        if let Some(entry) = lookup.draft.entry(entry_id) {
            let mut edit =
                EntryEdit { entry, updated: Cow::Borrowed(entry), changes: Vec::new(), blocked: Vec::new() };
            lookup.identifiers(&mut self.reads, &f, &identity, &mut edit);
            lookup.birth_and_names(&f, &identity, &mut edit, work);
            let EntryEdit { updated, changes, blocked: reasons, .. } = edit;
            (identity_changes, blocked) = (changes, reasons);
            // The operator's choice applies the row to the chosen entry; another entry's
            // identifier, or one the entry does not carry, is neither copied nor a reason to
            // skip.
            if settled {
                for reason in blocked.drain(..) {
                    work.planned.notes.push(format!(
                        "{reason} (the operator chose this entry: the file's value is not copied)"
                    ));
                }
            }
            work.facts.entry_label =
                if is_new_entry { new_entry_label(&updated) } else { entry_label(&updated) };
            changed = match updated {
                Cow::Owned(updated) if blocked.is_empty() && updated != *entry => Some(updated),
                _ => None,
            };
        }
        if let Some(updated) = changed {
            self.draft.plan_identifiers(&updated);
            self.draft.entries.insert(entry_id, updated);
        }
        if !blocked.is_empty() {
            work.planned.action = RowAction::Skip(blocked.join("; "));
            work.planned.facts = RowFacts::Insured(std::mem::take(&mut work.facts));
            self.out.counts.skipped += 1;
            return None;
        }
        if is_new_entry {
            identity_changes.clear();
        }
        Some(Settled { target, is_new_entry, base_detail, take, identity_changes })
    }

    /// Links the insured on the row's case to the row's entry when it has none (or the
    /// operator chose the entry).
    fn link_insured(&mut self, work: &mut RowPlan<'a>, settled: &mut Settled) {
        let f = work.row.fields(self.template);
        let (case_ref, ins_ref) = (f.text(Field::CaseReference), f.text(Field::InsuredReference));
        let Some(case_id) = self.index.case_id(case_ref) else { return };
        work.facts.case_id = Some(case_id);
        let Some(ins) = self.index.insured_on_case(case_id, ins_ref) else { return };
        self.reads.insured(ins.id);
        let Some(current) = self.draft.insured(ins.id) else { return };
        let entry_id = settled.target.entry_id;
        if current.entry_id == Some(entry_id) {
            return;
        }
        let explicit = matches!(settled.target.tier, Some(MatchTier::OperatorChoice));
        if current.entry_id.is_none() || explicit {
            work.facts.relink = Some(Relink {
                case_reference: case_ref.to_string(),
                insured_reference: current.reference.clone(),
                old_entry: current.entry_id,
                new_entry: entry_id,
            });
            settled.identity_changes.push(FieldChange {
                field: format!("Insured {} link", current.reference),
                before: current
                    .entry_id
                    .and_then(|e| self.draft.entry(e))
                    .map(entry_label)
                    .unwrap_or_else(|| "(none)".into()),
                after: work.facts.entry_label.clone(),
            });
            let mut linked = current.clone();
            linked.entry_id = Some(entry_id);
            self.draft.insureds.insert(linked.id, linked);
        } else {
            work.planned.notes.push(format!(
                "Insured {} stays linked to its current entry; this row updates {}",
                current.reference, work.facts.entry_label
            ));
        }
    }
}
