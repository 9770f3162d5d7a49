//! Matching (the cascade of README "The import pipeline"): each validated row is matched to a
//! CRM entry by the template's cascade — Public ID, then Client Reference and/or SSN, then
//! Insured Reference with names — and the first tier that decides wins and is recorded. Each
//! tier reads the template's columns for its key fields, so any template that declares the
//! fields (in any order, under any headers) is matched the same way; a tier whose keys are
//! empty on a row (a row without names never reaches tier 3) does not decide it.
//!
//! Every row that takes part belongs to one *detected person* ([`DetectedPerson`]), and every
//! person has one choice the operator may change ([`GroupChoice`]): persons a tier decided
//! ([`GroupKind::Matched`]: their rows go to the tier's entry unless the operator picks
//! another entry, "Create new CRM entry" or "Skip these rows"), persons nothing matched
//! ([`GroupKind::Unresolved`], with ranked candidates from [`super::ranking`]; the default is
//! to create a new entry), and conflicts ([`GroupKind::Conflict`]: the row's Client Reference
//! and SSN are on two entries, or the entry a tier found carries another Client Reference or
//! SSN than the row — never guessed, pending until the operator picks an entry, "Create new"
//! or "Skip"). Each person has a stable [`DetectedPerson::key`], so choices saved by key
//! ([`KeyedChoices`]) apply to the next run of the same file. [`BulkAction`]s set many choices
//! at once, with a count of what they change first.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::digest::sha256_hex;
use crate::core::index::{client_reference_key, names_match, reference_key, CrmIndex};
use crate::core::model::EntryId;
use crate::core::template::{Field, MatchTier, Template};
use crate::core::text::{fold, mask_ssn, ssn_digits};
use crate::core::validate::{Issue, IssueCode, Severity, ValidatedRow};

use super::base::{ssn_digest, ExportBase};

use super::ranking::CandidateIndex;

/// How one row was matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowMatch {
    /// The row has errors and takes no part.
    Blocked,
    /// A tier decided: the entry (and, for tier 1, the detail) the row applies to, unless the
    /// operator overrides its person's choice. The row's person is a [`GroupKind::Matched`]
    /// group ([`Matches::group_of`]).
    Matched { tier: MatchTier, entry: EntryId, detail: Option<String> },
    /// No tier decided: the row belongs to this open group (unresolved or conflict).
    Group(usize),
    /// No tier matched and the row carries nothing to import: no detail and no identifier
    /// (as the export writes an insured that has no CRM entry yet). Nothing happens.
    NothingToImport,
}

/// Why a group exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupKind {
    /// A tier decided the entry of every row of the group (`tier`: the strongest of its
    /// rows'); the default keeps it.
    Matched { tier: MatchTier, entry: EntryId },
    /// No tier matched; default is to create a new CRM entry.
    Unresolved,
    /// Never guessed; the operator must choose. `entries`: the entry the row's Client
    /// Reference (or the tier that decided) found, then the one its SSN is on, when another.
    Conflict { entries: Vec<EntryId>, reason: String },
}

/// An existing entry suggested for a group, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub entry: EntryId,
    /// "CR-00012345 · José Álvarez": the entry's identifier and name (`CrmEntry::label`).
    #[serde(default)]
    pub label: String,
    /// 0–100.
    pub score: u32,
    pub reasons: Vec<String>,
}

fn yes() -> bool {
    true
}

/// One person detected in the file: the rows a tier sent to one entry, the rows of one person
/// nothing matched, or the rows of one conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedPerson {
    /// Index in [`Matches::groups`].
    pub id: usize,
    /// Stable across runs of the same file against the same CRM (made of the group's kind,
    /// entries and person: its Client Reference, a digest of its SSN — never the SSN itself —,
    /// its insured and names, or its names and date of birth): a choices file keyed by it
    /// applies to the next run. Unique within a run.
    #[serde(default)]
    pub key: String,
    pub kind: GroupKind,
    pub first_name: String,
    pub last_name: String,
    pub client_reference: String,
    pub ssn: String,
    pub date_of_birth: Option<Date>,
    pub case_reference: String,
    pub insured_reference: String,
    /// Indexes into the validated rows.
    pub rows: Vec<usize>,
    /// A matched group: its entry. A conflict: its entries. Unresolved: the ranked existing
    /// entries (none when the person has no names: ranking needs them).
    pub candidates: Vec<Candidate>,
    /// False when no row of the group gives both names: a new entry cannot be created for it
    /// ("Create new CRM entry" is not offered and an unresolved group defaults to "Skip").
    #[serde(default = "yes")]
    pub can_create: bool,
}

impl DetectedPerson {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
    pub fn is_conflict(&self) -> bool {
        matches!(self.kind, GroupKind::Conflict { .. })
    }
    /// True for the groups no tier settled (unresolved and conflicts): the Resolve step's
    /// open section.
    pub fn is_open(&self) -> bool {
        !matches!(self.kind, GroupKind::Matched { .. })
    }
    /// The tier and entry of a matched group.
    pub fn matched(&self) -> Option<(MatchTier, EntryId)> {
        match self.kind {
            GroupKind::Matched { tier, entry } => Some((tier, entry)),
            _ => None,
        }
    }
    /// The choice made when the operator leaves the dropdown alone: a matched group keeps its
    /// entry, an unresolved group creates a new entry (or is skipped when it has no names), a
    /// conflict waits (`None`).
    pub fn default_choice(&self) -> Option<GroupChoice> {
        match self.kind {
            GroupKind::Matched { entry, .. } => Some(GroupChoice::Existing(entry)),
            GroupKind::Unresolved if self.can_create => Some(GroupChoice::CreateNew),
            GroupKind::Unresolved => Some(GroupChoice::Skip),
            GroupKind::Conflict { .. } => None,
        }
    }
    /// Whether the group may take `choice`: any existing entry and "Skip" always; "Create
    /// new" when the group has names.
    pub fn allows(&self, choice: GroupChoice) -> bool {
        choice != GroupChoice::CreateNew || self.can_create
    }
}

/// The operator's decision for a group. Any existing entry of the CRM may be chosen (a
/// ranked candidate or one found by searching the CRM), whatever the group's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupChoice {
    CreateNew,
    Existing(EntryId),
    Skip,
}

/// The operator's choices by group key ([`DetectedPerson::key`]), as a choices file stores
/// them: only groups the operator decided are listed.
pub type KeyedChoices = BTreeMap<String, GroupChoice>;

/// A choice for many groups at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkAction {
    /// Every unresolved group the operator has not decided whose top candidate scores at
    /// least `min_score`: that candidate.
    AcceptTopCandidates { min_score: u32 },
    /// Every open group (unresolved or conflict) the operator has not decided and that has
    /// names: "Create new CRM entry".
    CreateNewForRemaining,
}

/// What a [`BulkAction`] does to the choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BulkPreview {
    /// Groups the action sets.
    pub groups: usize,
    /// Of those, groups whose outcome changes (from their default or pending state).
    pub changes: usize,
    /// Rows of the groups whose outcome changes.
    pub rows: usize,
}

/// Matching results for a file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Matches {
    pub rows: Vec<RowMatch>,
    /// Every detected person: matched, unresolved and conflicts, in the order of their first
    /// row.
    pub groups: Vec<DetectedPerson>,
    /// Warnings raised while matching (e.g. a Public ID that exists nowhere).
    pub notes: Vec<Issue>,
    /// The group of each row (`None` for blocked rows and rows with nothing to import).
    #[serde(default)]
    pub row_groups: Vec<Option<usize>>,
}

impl Matches {
    /// The choice per group when the operator has not touched any dropdown.
    pub fn default_choices(&self) -> Vec<Option<GroupChoice>> {
        self.groups.iter().map(DetectedPerson::default_choice).collect()
    }
    pub fn tier_counts(&self) -> BTreeMap<MatchTier, usize> {
        let mut m = BTreeMap::new();
        for r in &self.rows {
            if let RowMatch::Matched { tier, .. } = r {
                *m.entry(*tier).or_insert(0) += 1;
            }
        }
        m
    }
    /// The group row `row` belongs to (matches serialized without `row_groups` still give
    /// their open rows' groups).
    pub fn group_of(&self, row: usize) -> Option<usize> {
        match self.row_groups.get(row) {
            Some(g) => *g,
            None => match self.rows.get(row) {
                Some(RowMatch::Group(g)) => Some(*g),
                _ => None,
            },
        }
    }
    /// The groups no tier settled (unresolved and conflicts).
    pub fn open_groups(&self) -> impl Iterator<Item = &DetectedPerson> {
        self.groups.iter().filter(|g| g.is_open())
    }
    /// The choice in force for group `g`: the operator's (`choices[g]`), else the default.
    pub fn choice(&self, g: usize, choices: &[Option<GroupChoice>]) -> Option<GroupChoice> {
        choices.get(g).copied().flatten().or_else(|| self.groups.get(g).and_then(|p| p.default_choice()))
    }

    /// The operator's choices (`choices[g]`, `None` = default) by group key, for a choices
    /// file. Only decided groups are listed.
    pub fn choices_by_key(&self, choices: &[Option<GroupChoice>]) -> KeyedChoices {
        self.groups.iter().zip(choices).filter_map(|(g, c)| c.map(|c| (g.key.clone(), c))).collect()
    }

    /// Choices by group index from a choices file: a key this run has no group for is
    /// returned in the second list (the file changed, or the CRM did), not applied.
    pub fn choices_from_keys(&self, keyed: &KeyedChoices) -> (Vec<Option<GroupChoice>>, Vec<String>) {
        let index: HashMap<&str, usize> = self.groups.iter().map(|g| (g.key.as_str(), g.id)).collect();
        let mut choices = vec![None; self.groups.len()];
        let mut unknown = Vec::new();
        for (key, choice) in keyed {
            match index.get(key.as_str()) {
                Some(&g) => choices[g] = Some(*choice),
                None => unknown.push(key.clone()),
            }
        }
        (choices, unknown)
    }

    /// The choice `action` would give group `g` (`None`: it leaves the group alone).
    fn bulk_choice(
        &self,
        g: usize,
        choices: &[Option<GroupChoice>],
        action: BulkAction,
    ) -> Option<GroupChoice> {
        let group = &self.groups[g];
        if choices.get(g).copied().flatten().is_some() {
            return None;
        }
        match action {
            BulkAction::AcceptTopCandidates { min_score } => match group.kind {
                GroupKind::Unresolved => group
                    .candidates
                    .first()
                    .filter(|c| c.score >= min_score)
                    .map(|c| GroupChoice::Existing(c.entry)),
                _ => None,
            },
            BulkAction::CreateNewForRemaining => {
                (group.is_open() && group.can_create).then_some(GroupChoice::CreateNew)
            }
        }
    }

    /// How many groups `action` would set, how many of them would change outcome, and their
    /// rows — without changing anything (the count shown before the operator confirms).
    pub fn bulk_preview(&self, choices: &[Option<GroupChoice>], action: BulkAction) -> BulkPreview {
        let mut preview = BulkPreview::default();
        for g in 0..self.groups.len() {
            if let Some(choice) = self.bulk_choice(g, choices, action) {
                preview.groups += 1;
                if self.choice(g, choices) != Some(choice) {
                    preview.changes += 1;
                    preview.rows += self.groups[g].rows.len();
                }
            }
        }
        preview
    }

    /// Applies `action` to `choices` (resized to the groups when shorter) and returns what it
    /// did, which is what [`Matches::bulk_preview`] said it would.
    pub fn apply_bulk(&self, choices: &mut Vec<Option<GroupChoice>>, action: BulkAction) -> BulkPreview {
        if choices.len() < self.groups.len() {
            choices.resize(self.groups.len(), None);
        }
        let preview = self.bulk_preview(choices, action);
        for g in 0..self.groups.len() {
            if let Some(choice) = self.bulk_choice(g, choices, action) {
                choices[g] = Some(choice);
            }
        }
        preview
    }
}

/// Outcome of the cascade for one row before grouping.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Blocked,
    Matched { tier: MatchTier, entry: EntryId, detail: Option<String> },
    Conflict { entries: Vec<EntryId>, reason: String },
    Unresolved,
}

/// Runs the cascade; built once per file, then called per row (chunkable).
pub struct Matcher<'a> {
    pub template: &'a Template,
    pub index: &'a CrmIndex<'a>,
    /// The template's cascade, each tier with the columns of its key fields (`None` when the
    /// template has no column for a key: that key is empty on every row).
    steps: Vec<(MatchTier, Vec<Option<usize>>)>,
    pub(super) candidates: CandidateIndex,
    /// The file's export base ([`Matcher::with_base`]).
    base: Option<&'a ExportBase>,
}

impl std::fmt::Debug for Matcher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher").field("template", &self.template.id).field("steps", &self.steps).finish()
    }
}

impl<'a> Matcher<'a> {
    pub fn new(template: &'a Template, index: &'a CrmIndex<'a>) -> Self {
        let steps = template
            .cascade
            .iter()
            .map(|tier| (*tier, tier.keys().iter().map(|k| template.col(*k)).collect()))
            .collect();
        Matcher { template, index, steps, candidates: CandidateIndex::new(index), base: None }
    }

    /// The matcher for a file that carries its export base: a Client Reference or SSN the
    /// row holds as exported for the entry a tier found is not a contradiction of the entry's
    /// own (the CRM changed it since; the entry keeps its value), so it is no conflict.
    pub fn with_base(mut self, base: Option<&'a ExportBase>) -> Self {
        self.base = base;
        self
    }

    /// "José Álvarez (CR-001)": an entry as a conflict's reason names it.
    fn who(&self, id: EntryId) -> String {
        self.index
            .entry(id)
            .map(|e| format!("{} ({})", e.display_name(), e.identifier_label()))
            .unwrap_or_else(|| format!("entry {id}"))
    }

    /// A tier found `entry` for the row; the row's own Client Reference or SSN may say
    /// otherwise: on another entry, or not the one the entry carries. Then the decision is a
    /// conflict for the operator (offering the entries and "Create new"), never a guess.
    fn decided(
        &self,
        row: &ValidatedRow,
        tier: MatchTier,
        entry: EntryId,
        detail: Option<String>,
    ) -> RowOutcome {
        let f = row.fields(self.template);
        let (cref, ssn) = (f.text(Field::ClientReference), f.text(Field::Ssn));
        let Some(e) = self.index.entry(entry) else {
            return RowOutcome::Matched { tier, entry, detail };
        };
        let mut entries = vec![entry];
        let mut why: Vec<String> = Vec::new();
        let exported = self.base.and_then(|b| b.entries.get(&entry));
        let cref_as_exported =
            exported.is_some_and(|b| b.client_reference.trim().eq_ignore_ascii_case(cref.trim()));
        let ssn_as_exported =
            exported.is_some_and(|b| !b.ssn_sha256.is_empty() && b.ssn_sha256 == ssn_digest(ssn));
        if !cref.is_empty() {
            match self.index.entry_by_client_reference(cref) {
                Some(other) if other != entry => {
                    entries.push(other);
                    why.push(format!("Client Reference {cref} is on {}", self.who(other)));
                }
                Some(_) => {}
                None if cref_as_exported => {}
                None => {
                    if let Some(own) = e.client_reference.as_deref().filter(|c| !c.trim().is_empty()) {
                        why.push(format!("the file's Client Reference is {cref}, the entry's {own}"));
                    }
                }
            }
        }
        if let Some(digits) = ssn_digits(ssn) {
            match self.index.entry_by_ssn(&digits) {
                Some(other) if other != entry => {
                    if !entries.contains(&other) {
                        entries.push(other);
                    }
                    why.push(format!("SSN {} is on {}", mask_ssn(&digits), self.who(other)));
                }
                Some(_) => {}
                None if ssn_as_exported => {}
                None => {
                    if let Some(own) = e.ssn.as_deref().and_then(ssn_digits) {
                        why.push(format!(
                            "the file's SSN is {}, the entry's {}",
                            mask_ssn(&digits),
                            mask_ssn(&own)
                        ));
                    }
                }
            }
        }
        if why.is_empty() {
            return RowOutcome::Matched { tier, entry, detail };
        }
        let found = match (tier, &detail) {
            (MatchTier::PublicId, Some(pid)) => format!("Public ID {pid} is a detail of {}", self.who(entry)),
            (MatchTier::InsuredReference, _) => format!(
                "Insured {} on {} is linked to {}",
                f.text(Field::InsuredReference),
                f.text(Field::CaseReference),
                self.who(entry)
            ),
            (_, _) if self.index.entry_by_client_reference(cref) == Some(entry) => {
                format!("Client Reference {cref} is on {}", self.who(entry))
            }
            _ => format!("SSN {} is on {}", mask_ssn(ssn), self.who(entry)),
        };
        RowOutcome::Conflict { entries, reason: format!("{found} but {}", why.join(" and ")) }
    }

    /// Runs the cascade on one row; a second value is a warning to report.
    pub fn row(&self, row: &ValidatedRow) -> (RowOutcome, Option<Issue>) {
        if row.blocked() {
            return (RowOutcome::Blocked, None);
        }
        let mut note = None;
        for (tier, keys) in &self.steps {
            let key = |k: usize| keys.get(k).copied().flatten().map(|c| row.text(c)).unwrap_or("");
            match tier {
                MatchTier::PublicId => {
                    let id = key(0);
                    if id.is_empty() {
                        continue;
                    }
                    match self
                        .index
                        .crm
                        .details
                        .get(&id.trim().to_uppercase())
                        .or_else(|| self.index.crm.details.get(id))
                    {
                        Some(d) => {
                            return (self.decided(row, *tier, d.entry_id, Some(d.public_id.clone())), None)
                        }
                        None => {
                            note = Some(Issue {
                                row: row.sheet_row,
                                column: keys[0].map(|c| self.template.columns[c].header.to_string()),
                                cell: None,
                                code: IssueCode::PublicIdUnknown,
                                severity: Severity::Warning,
                                message: format!(
                                    "Public ID {id} exists nowhere in the CRM; the row becomes a new detail for the entry the next tiers find"
                                ),
                            });
                        }
                    }
                }
                MatchTier::ClientReference => {
                    let (cref, ssn) = (key(0), key(1));
                    let by_cref =
                        (!cref.is_empty()).then(|| self.index.entry_by_client_reference(cref)).flatten();
                    let by_ssn = (!ssn.is_empty()).then(|| self.index.entry_by_ssn(ssn)).flatten();
                    match (by_cref, by_ssn) {
                        (Some(a), Some(b)) if a != b => {
                            let reason = format!(
                                "Client Reference {cref} is on {} but SSN {} is on {}",
                                self.who(a),
                                mask_ssn(ssn),
                                self.who(b)
                            );
                            return (RowOutcome::Conflict { entries: vec![a, b], reason }, note);
                        }
                        (Some(a), _) | (None, Some(a)) => return (self.decided(row, *tier, a, None), note),
                        (None, None) => {}
                    }
                }
                MatchTier::InsuredReference => {
                    let (case_ref, ins_ref, first, last) = (key(0), key(1), key(2), key(3));
                    // Every key is needed: without names the insured's entry is not accepted.
                    if case_ref.is_empty() || ins_ref.is_empty() || first.is_empty() || last.is_empty() {
                        continue;
                    }
                    let insured =
                        self.index.case_id(case_ref).and_then(|cid| self.index.insured_on_case(cid, ins_ref));
                    if let Some(entry) = insured.and_then(|i| i.entry_id).and_then(|e| self.index.entry(e)) {
                        if names_match(&entry.first_name, &entry.last_name, first, last) {
                            return (self.decided(row, *tier, entry.id, None), note);
                        }
                    }
                }
                // Not tiers of a CRM entry: the other workflows' planners look their keys up.
                MatchTier::OperatorChoice
                | MatchTier::UserId
                | MatchTier::DeviceSerial
                | MatchTier::AccountNumber
                | MatchTier::ContactIdentifier => {}
            }
        }
        (RowOutcome::Unresolved, note)
    }

    /// True when a row has no detail, no Public ID and no identifier of the person beyond
    /// names and references: creating an entry from it would create an empty record.
    fn carries_nothing(&self, row: &ValidatedRow) -> bool {
        let f = row.fields(self.template);
        [Field::DetailType, Field::PublicId, Field::ClientReference, Field::Ssn]
            .iter()
            .all(|k| f.text(*k).is_empty())
            && f.date(Field::DateOfBirth).is_none()
    }

    /// The key that makes rows one detected person: the Client Reference, else the SSN (as a
    /// digest, so keys never show it), else the insured on its case with the names, else the
    /// names and date of birth.
    fn person_key(&self, row: &ValidatedRow) -> String {
        let f = row.fields(self.template);
        let cref = f.text(Field::ClientReference);
        if !cref.is_empty() {
            return format!("cref:{}", client_reference_key(cref));
        }
        if let Some(d) = ssn_digits(f.text(Field::Ssn)) {
            return format!("ssn:{}", &sha256_hex(format!("roundtrip-ssn:{d}").as_bytes())[..16]);
        }
        let names = format!("{}|{}", fold(f.text(Field::FirstName)), fold(f.text(Field::LastName)));
        let (case_ref, ins_ref) = (f.text(Field::CaseReference), f.text(Field::InsuredReference));
        if !case_ref.is_empty() && !ins_ref.is_empty() {
            return format!("ins:{}|{}|{names}", reference_key(case_ref), reference_key(ins_ref));
        }
        format!("name:{names}|{}", f.date(Field::DateOfBirth).map(|d| d.to_string()).unwrap_or_default())
    }

    /// Groups the rows into detected persons and ranks candidates.
    pub fn finish(&self, rows: &[ValidatedRow], outcomes: Vec<RowOutcome>, notes: Vec<Issue>) -> Matches {
        let mut matches = self.group(rows, outcomes, notes);
        for g in 0..matches.groups.len() {
            matches.groups[g].candidates = self.candidates_for(&matches.groups[g], rows);
        }
        matches
    }

    /// Groups the rows into detected persons — the rows a tier sent to one entry (one group
    /// per entry and person key), the unresolved rows of one person, the rows of one conflict —
    /// without candidates (see [`Matcher::candidates_for`], which a caller may run in chunks).
    pub fn group(&self, rows: &[ValidatedRow], outcomes: Vec<RowOutcome>, notes: Vec<Issue>) -> Matches {
        let mut groups: Vec<DetectedPerson> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(outcomes.len());
        let mut row_groups = Vec::with_capacity(outcomes.len());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let row = &rows[i];
            let (key, kind) = match outcome {
                RowOutcome::Blocked => {
                    out.push(RowMatch::Blocked);
                    row_groups.push(None);
                    continue;
                }
                RowOutcome::Matched { tier, entry, detail } => {
                    out.push(RowMatch::Matched { tier, entry, detail });
                    (format!("matched/{entry}/{}", self.person_key(row)), GroupKind::Matched { tier, entry })
                }
                RowOutcome::Conflict { entries, reason } => {
                    let ids: Vec<String> = entries.iter().map(ToString::to_string).collect();
                    (
                        format!("conflict/{}/{}", ids.join("+"), self.person_key(row)),
                        GroupKind::Conflict { entries, reason },
                    )
                }
                RowOutcome::Unresolved if self.carries_nothing(row) => {
                    out.push(RowMatch::NothingToImport);
                    row_groups.push(None);
                    continue;
                }
                RowOutcome::Unresolved => {
                    (format!("unmatched/{}", self.person_key(row)), GroupKind::Unresolved)
                }
            };
            let f = row.fields(self.template);
            let (first, last) = (f.text(Field::FirstName), f.text(Field::LastName));
            let named = !first.trim().is_empty() && !last.trim().is_empty();
            let g = match by_key.get(&key) {
                Some(&g) => g,
                None => {
                    groups.push(DetectedPerson {
                        id: groups.len(),
                        key: key.clone(),
                        kind: kind.clone(),
                        first_name: first.to_string(),
                        last_name: last.to_string(),
                        client_reference: f.text(Field::ClientReference).to_string(),
                        ssn: f.text(Field::Ssn).to_string(),
                        date_of_birth: f.date(Field::DateOfBirth),
                        case_reference: f.text(Field::CaseReference).to_string(),
                        insured_reference: f.text(Field::InsuredReference).to_string(),
                        rows: Vec::new(),
                        candidates: Vec::new(),
                        can_create: named,
                    });
                    by_key.insert(key, groups.len() - 1);
                    groups.len() - 1
                }
            };
            let group = &mut groups[g];
            // The names of the first row that gives both; the strongest tier of the rows.
            if named && !group.can_create {
                group.first_name = first.to_string();
                group.last_name = last.to_string();
                group.can_create = true;
            }
            if group.date_of_birth.is_none() {
                group.date_of_birth = f.date(Field::DateOfBirth);
            }
            if let (GroupKind::Matched { tier: strongest, .. }, GroupKind::Matched { tier, .. }) =
                (&mut group.kind, &kind)
            {
                *strongest = (*strongest).min(*tier);
            }
            group.rows.push(i);
            if group.is_open() {
                out.push(RowMatch::Group(g));
            }
            row_groups.push(Some(g));
        }
        Matches { rows: out, groups, notes, row_groups }
    }

    /// Matches a whole file at once (the chunked path calls `row` and `finish`).
    pub fn all(&self, rows: &[ValidatedRow]) -> Matches {
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut notes = Vec::new();
        for r in rows {
            let (o, n) = self.row(r);
            outcomes.push(o);
            notes.extend(n);
        }
        self.finish(rows, outcomes, notes)
    }
}
