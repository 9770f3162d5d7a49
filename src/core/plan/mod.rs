//! The plan (dry run) every workflow produces. An [`ImportPlan`] says exactly what an import
//! will do: one [`PlannedRow`] per input row with its [`RowAction`] (create, update, add,
//! unchanged, skip with its reason, error), its field changes before → after, its notes and
//! errors, and the facts its workflow adds as data ([`RowFacts`]); the totals as
//! [`ImportCounts`]; the [`ChangeSet`] that performs it (puts only: an import never deletes);
//! and the keys of every record the plan was decided on ([`ImportPlan::reads`]).
//!
//! Nothing is written here; each workflow's planner makes the plan
//! ([`crate::core::workflow::Workflow::plan`]). [`history`] wraps a plan with its
//! import-history record and before-images into one batch and builds the batch that undoes an
//! import; [`verify`] samples applied rows against the CRM.

pub mod history;
pub mod verify;

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::model::{ChangeSet, Counters, EntryId, ImportCounts, RecordKey};
use crate::core::template::{MatchTier, Template};
use crate::core::validate::{Issue, Severity, Validated};

/// One field's change, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// A field change when `before` and `after` differ.
pub fn change(field: &str, before: &str, after: &str) -> Option<FieldChange> {
    (before != after).then(|| FieldChange { field: field.into(), before: before.into(), after: after.into() })
}

/// A field both the CRM and the file changed since the file was exported (the file carried
/// its export base), to different values: "changed in the CRM since this file was exported".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleConflict {
    pub field: String,
    /// The CRM's value now (the export base holds the exported value only as a keyed digest:
    /// a conflict shows the two values that differ now).
    pub crm_now: String,
    /// The file's value.
    pub file: String,
    /// True when the operator chose the file's value; by default the CRM's stays.
    pub file_applies: bool,
}

impl StaleConflict {
    /// "Phone: CRM now 555 0111 / file 555 0199 (the CRM's kept)".
    pub fn text(&self) -> String {
        format!(
            "{}: CRM now {} / file {} ({} kept)",
            self.field,
            show(&self.crm_now),
            show(&self.file),
            if self.file_applies { "the file's" } else { "the CRM's" }
        )
    }
}

/// What happens to one input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowAction {
    /// A record is created (a CRM entry, with the row's detail when it has one; an account; a
    /// contact).
    Create,
    /// An existing record is updated.
    Update,
    /// A child record (a contact detail) is added to an existing record.
    Add,
    /// The CRM already says what the row says.
    Unchanged,
    /// The row is left out, for this reason.
    Skip(String),
    /// The row has errors ([`PlannedRow::errors`]) and takes no part.
    Error,
}

/// The outcome words shared by every workflow, the reports and the import history, in
/// the order of [`ImportCounts`]: each with the row label and the count label.
pub const OUTCOMES: [(&str, &str); 6] = [
    ("Created", "created"),
    ("Updated", "updated"),
    ("Added", "added"),
    ("Unchanged", "unchanged"),
    ("Skipped", "skipped"),
    ("Error", "errors"),
];

impl ImportCounts {
    /// The counts with their outcome words, in order: created, updated, added, unchanged,
    /// skipped, errors.
    pub fn labelled(&self) -> [(&'static str, usize); 6] {
        [
            ("created", self.created),
            ("updated", self.updated),
            ("added", self.added),
            ("unchanged", self.unchanged),
            ("skipped", self.skipped),
            ("errors", self.errors),
        ]
    }
}

impl RowAction {
    /// The shared outcome word of a row: "Created", "Updated", "Added", "Unchanged",
    /// "Skipped" or "Error".
    pub fn label(&self) -> &'static str {
        match self {
            RowAction::Create => OUTCOMES[0].0,
            RowAction::Update => OUTCOMES[1].0,
            RowAction::Add => OUTCOMES[2].0,
            RowAction::Unchanged => OUTCOMES[3].0,
            RowAction::Skip(_) => OUTCOMES[4].0,
            RowAction::Error => OUTCOMES[5].0,
        }
    }

    /// True for the actions that write: create, update, add.
    pub fn writes(&self) -> bool {
        matches!(self, RowAction::Create | RowAction::Update | RowAction::Add)
    }
}

/// A change of the CRM entry linked to an insured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relink {
    pub case_reference: String,
    pub insured_reference: String,
    pub old_entry: Option<EntryId>,
    pub new_entry: EntryId,
}

/// What the insured contact details workflow knows of a row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InsuredFacts {
    /// The tier that decided the row's entry.
    pub tier: Option<MatchTier>,
    /// The entry the row applies to (existing or to be created).
    pub entry: Option<EntryId>,
    /// "CR-00012345 · José Álvarez" style label of the entry.
    pub entry_label: String,
    /// The detail the row writes (existing or new Public ID).
    pub public_id: Option<String>,
    /// The insured on the row's case, linked to the row's entry by this row.
    pub relink: Option<Relink>,
    /// The row's case, when it exists (its portfolios get the updated export).
    pub case_id: Option<u32>,
    /// Fields changed both in the CRM and in the file since the file was exported (only for
    /// a file that carries its export base).
    #[serde(default)]
    pub stale_conflicts: Vec<StaleConflict>,
}

/// What happened to an account contact on a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactOutcome {
    Created,
    Updated,
}

/// What the accounts workflow knows of a row.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountFacts {
    /// The Account Number as the file gives it.
    pub number: String,
    /// The account's (or the contact's) name as the file gives it.
    pub name: String,
    /// The account's number as stored, when the row names an account that is or will be.
    pub account: Option<String>,
    /// The contact the row created or updated: the F–I contact of an account row, or the row
    /// itself in a contact file.
    pub contact: Option<ContactOutcome>,
    /// The id of the contact the row writes or matched.
    pub contact_id: Option<u32>,
    /// True for a row of a contact file (the row is the contact), false for an account row.
    #[serde(default)]
    pub contact_row: bool,
}

/// The workflow-specific facts of a planned row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowFacts {
    Insured(InsuredFacts),
    /// The User ID / Device Serial as the file gives it.
    Insurance {
        id: String,
    },
    Account(AccountFacts),
}

/// The planned outcome of one input row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    /// Index into the validated rows.
    pub index: usize,
    pub sheet_row: usize,
    pub action: RowAction,
    /// Field by field, before → after.
    pub changes: Vec<FieldChange>,
    pub notes: Vec<String>,
    /// Why the row is an [`RowAction::Error`]: validation errors as "Cell: message", then the
    /// planner's own.
    pub errors: Vec<String>,
    pub facts: RowFacts,
}

impl PlannedRow {
    /// A row of `facts` that the plan has not decided yet (an error until it is).
    pub fn new(index: usize, sheet_row: usize, facts: RowFacts) -> PlannedRow {
        PlannedRow {
            index,
            sheet_row,
            action: RowAction::Error,
            changes: Vec::new(),
            notes: Vec::new(),
            errors: Vec::new(),
            facts,
        }
    }

    /// The outcome, in the words every workflow, report and the import history use:
    /// "Created", "Updated", "Added", "Unchanged", "Skipped", "Error" (counted as created,
    /// updated, added, unchanged, skipped and errors). What the outcome is about in the
    /// workflow's own terms is [`PlannedRow::detail`].
    pub fn label(&self) -> &'static str {
        self.action.label()
    }

    /// What the outcome is about, in the workflow's terms ("" when there is nothing to add):
    /// "new CRM entry with the row's detail", "contact detail", "insurance fields",
    /// "account and its contact", …
    pub fn detail(&self) -> &'static str {
        match (&self.facts, &self.action) {
            (RowFacts::Insured(f), RowAction::Create) if f.public_id.is_some() => {
                "new CRM entry with the row's detail"
            }
            (RowFacts::Insured(_), RowAction::Create) => "new CRM entry",
            (RowFacts::Insured(f), RowAction::Update) if f.public_id.is_some() => "contact detail",
            (RowFacts::Insured(_), RowAction::Update) => "CRM entry",
            (RowFacts::Insured(_), RowAction::Add) => "contact detail added to the entry",
            (RowFacts::Insurance { .. }, RowAction::Update) => "insurance fields",
            (RowFacts::Account(f), RowAction::Create | RowAction::Update) => match (f.contact_row, f.contact)
            {
                (true, _) => "account contact",
                (false, Some(_)) => "account and its contact",
                (false, None) => "account",
            },
            _ => "",
        }
    }

    /// The outcome with what it is about, or the reason of a skip: "Created — new CRM entry",
    /// "Skipped: skipped by the operator", "Unchanged".
    pub fn action_text(&self) -> String {
        match (&self.action, self.detail()) {
            (RowAction::Skip(reason), _) => format!("{}: {reason}", self.label()),
            (_, "") => self.label().to_string(),
            (_, detail) => format!("{} — {detail}", self.label()),
        }
    }

    pub fn insured(&self) -> Option<&InsuredFacts> {
        match &self.facts {
            RowFacts::Insured(f) => Some(f),
            _ => None,
        }
    }

    pub fn account(&self) -> Option<&AccountFacts> {
        match &self.facts {
            RowFacts::Account(f) => Some(f),
            _ => None,
        }
    }

    /// The record the row is about, as an operator knows it: the entry's label, the User ID
    /// or Device Serial, the Account Number.
    pub fn record_label(&self) -> &str {
        match &self.facts {
            RowFacts::Insured(f) => &f.entry_label,
            RowFacts::Insurance { id } => id,
            RowFacts::Account(f) => &f.number,
        }
    }

    /// The errors on one line: "" when the row is correct.
    pub fn errors_text(&self) -> String {
        self.errors.join("; ")
    }

    /// The changes on one line: "Field: before → after", or "Field: after" for a new value.
    pub fn changes_text(&self) -> String {
        self.changes
            .iter()
            .map(|c| {
                if c.before.is_empty() {
                    format!("{}: {}", c.field, c.after)
                } else {
                    format!("{}: {} → {}", c.field, c.before, c.after)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Exactly what an import will do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPlan {
    pub template_id: String,
    pub rows: Vec<PlannedRow>,
    /// The totals shown with the plan and recorded in the import history.
    pub counts: ImportCounts,
    /// The writes (puts only; an import never deletes).
    pub changes: ChangeSet,
    /// The counters after the import (new ids handed out).
    pub counters: Counters,
    /// Conflict groups the operator has not settled; apply is refused while > 0.
    pub pending_conflicts: usize,
    /// The keys of every existing record the planner consulted to decide a row (the matched
    /// detail, entry, user, device, account or contact, the linked insured, an entry whose
    /// identifier blocked or settled a row) and of every record the plan puts. A commit can
    /// check that none of them changed since the plan was made.
    pub reads: BTreeSet<RecordKey>,
    /// Problems the planner found in the file's cells — rules that need the CRM or the
    /// operator's choices (an account number of the wrong shape for its kind, a name needed to
    /// create an entry) — as validation reports its own, with their cells: the error report
    /// lists them with validation's. Their rows are [`RowAction::Error`].
    #[serde(default)]
    pub issues: Vec<Issue>,
    /// What the operator should know about the plan as a whole (a file that carries no export
    /// base, …).
    #[serde(default)]
    pub notices: Vec<String>,
}

impl ImportPlan {
    /// An empty plan of a template against a CRM's counters.
    pub fn new(template: &Template, counters: Counters) -> ImportPlan {
        ImportPlan {
            template_id: template.id.to_string(),
            rows: Vec::new(),
            counts: ImportCounts::default(),
            changes: ChangeSet::default(),
            counters,
            pending_conflicts: 0,
            reads: BTreeSet::new(),
            issues: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// Rows with fields changed both in the CRM and in the file since the file was exported.
    pub fn stale_conflict_rows(&self) -> impl Iterator<Item = &PlannedRow> {
        self.rows.iter().filter(|r| r.insured().is_some_and(|f| !f.stale_conflicts.is_empty()))
    }

    /// Records created, updated and added: what "Apply" would change.
    pub fn change_count(&self) -> usize {
        self.counts.created + self.counts.updated + self.counts.added
    }

    pub fn has_errors(&self) -> bool {
        self.counts.errors > 0
    }

    /// The rows by action: created, updated, added, unchanged, skipped and error rows.
    pub fn tally(&self) -> ImportCounts {
        let mut t = ImportCounts::default();
        for r in &self.rows {
            match r.action {
                RowAction::Create => t.created += 1,
                RowAction::Update => t.updated += 1,
                RowAction::Add => t.added += 1,
                RowAction::Unchanged => t.unchanged += 1,
                RowAction::Skip(_) => t.skipped += 1,
                RowAction::Error => t.errors += 1,
            }
        }
        t
    }

    /// Account contacts created and updated by the rows.
    pub fn contacts(&self) -> (usize, usize) {
        let of =
            |outcome| self.rows.iter().filter(move |r| r.account().and_then(|a| a.contact) == Some(outcome));
        (of(ContactOutcome::Created).count(), of(ContactOutcome::Updated).count())
    }

    /// Insureds linked to another entry by the plan, in row order.
    pub fn relinks(&self) -> Vec<&Relink> {
        self.rows.iter().filter_map(|r| r.insured().and_then(|f| f.relink.as_ref())).collect()
    }

    /// The cases the plan's rows are on, for the updated export.
    pub fn affected_case_ids(&self) -> Vec<u32> {
        let ids: BTreeSet<u32> =
            self.rows.iter().filter_map(|r| r.insured().and_then(|f| f.case_id)).collect();
        ids.into_iter().collect()
    }

    /// Adds the keys of every record the plan puts to [`ImportPlan::reads`].
    pub(crate) fn read_puts(&mut self) {
        let keys: Vec<RecordKey> = self.changes.puts.iter().map(|r| r.key()).collect();
        self.reads.extend(keys);
    }
}

/// The key of a record of `kind` with identity `id`.
pub(crate) fn key(kind: crate::core::model::EntityKind, id: impl ToString) -> RecordKey {
    RecordKey { kind, id: id.to_string() }
}

/// A value as a report shows it: "(empty)" for nothing.
pub(crate) fn show(v: &str) -> &str {
    if v.is_empty() {
        "(empty)"
    } else {
        v
    }
}

/// The validator's errors of each row, as "Cell: message": a planner starts every row's
/// errors with them.
pub(crate) fn errors_by_row(validated: &Validated) -> HashMap<usize, Vec<String>> {
    let mut errors: HashMap<usize, Vec<String>> = HashMap::new();
    for i in validated.issues.iter().filter(|i| i.severity == Severity::Error) {
        errors.entry(i.row).or_default().push(match &i.cell {
            Some(cell) => format!("{cell}: {}", i.message),
            None => i.message.clone(),
        });
    }
    errors
}
