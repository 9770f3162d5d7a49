//! Matching (the cascade of README "The import pipeline"): each validated row is matched to a
//! CRM entry by the template's cascade — Public ID, then Client Reference and/or SSN, then
//! Insured Reference with names — and the first tier that decides wins and is recorded. Each
//! tier reads the template's columns for its key fields, so any template that declares the
//! fields (in any order, under any headers) is matched the same way. Rows nothing matched are
//! grouped into one *detected person* each, with existing entries ranked as candidates
//! ([`super::ranking`]); rows whose Client Reference and SSN point at two entries form conflict
//! groups the operator must settle. Nothing here guesses: a group's fate is the operator's
//! [`GroupChoice`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::index::{client_reference_key, names_match, reference_key, CrmIndex};
use crate::core::model::EntryId;
use crate::core::template::{Field, MatchTier, Template};
use crate::core::text::{fold, mask_ssn, ssn_digits};
use crate::core::validate::{Issue, IssueCode, Severity, ValidatedRow};

use super::ranking::CandidateIndex;

/// How one row was matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowMatch {
    /// The row has errors and takes no part.
    Blocked,
    /// A tier decided: the entry (and, for tier 1, the detail) the row applies to.
    Matched { tier: MatchTier, entry: EntryId, detail: Option<String> },
    /// The row belongs to a detected-person group (unresolved or conflict).
    Group(usize),
    /// No tier matched and the row carries nothing to import: no detail and no identifier
    /// (as the export writes an insured that has no CRM entry yet). Nothing happens.
    NothingToImport,
}

/// Why a group exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupKind {
    /// No tier matched; default is to create a new CRM entry.
    Unresolved,
    /// Client Reference and SSN point at different entries; the operator must choose.
    Conflict { entries: Vec<EntryId>, reason: String },
}

/// An existing entry suggested for a group, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub entry: EntryId,
    /// 0–100.
    pub score: u32,
    pub reasons: Vec<String>,
}

/// One person detected in the file whom no tier matched (or whom two tiers disagree on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedPerson {
    pub id: usize,
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
    pub candidates: Vec<Candidate>,
}

impl DetectedPerson {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
    pub fn is_conflict(&self) -> bool {
        matches!(self.kind, GroupKind::Conflict { .. })
    }
    /// The choice made when the operator leaves the dropdown alone.
    pub fn default_choice(&self) -> Option<GroupChoice> {
        match self.kind {
            GroupKind::Unresolved => Some(GroupChoice::CreateNew),
            GroupKind::Conflict { .. } => None,
        }
    }
}

/// The operator's decision for a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupChoice {
    CreateNew,
    Existing(EntryId),
    Skip,
}

/// Matching results for a file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Matches {
    pub rows: Vec<RowMatch>,
    pub groups: Vec<DetectedPerson>,
    /// Warnings raised while matching (e.g. a Public ID that exists nowhere).
    pub notes: Vec<Issue>,
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
        Matcher { template, index, steps, candidates: CandidateIndex::new(index) }
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
                            return (
                                RowOutcome::Matched {
                                    tier: *tier,
                                    entry: d.entry_id,
                                    detail: Some(d.public_id.clone()),
                                },
                                None,
                            )
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
                            let name = |id: EntryId| {
                                self.index.entry(id).map(|e| e.display_name()).unwrap_or_default()
                            };
                            let reason = format!(
                                "Client Reference {cref} is on {} but SSN {} is on {}",
                                name(a),
                                mask_ssn(ssn),
                                name(b)
                            );
                            return (RowOutcome::Conflict { entries: vec![a, b], reason }, note);
                        }
                        (Some(a), _) | (None, Some(a)) => {
                            return (RowOutcome::Matched { tier: *tier, entry: a, detail: None }, note)
                        }
                        (None, None) => {}
                    }
                }
                MatchTier::InsuredReference => {
                    let (case_ref, ins_ref) = (key(0), key(1));
                    if case_ref.is_empty() || ins_ref.is_empty() {
                        continue;
                    }
                    let insured =
                        self.index.case_id(case_ref).and_then(|cid| self.index.insured_on_case(cid, ins_ref));
                    if let Some(entry) = insured.and_then(|i| i.entry_id).and_then(|e| self.index.entry(e)) {
                        if names_match(&entry.first_name, &entry.last_name, key(2), key(3)) {
                            return (
                                RowOutcome::Matched { tier: *tier, entry: entry.id, detail: None },
                                note,
                            );
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

    /// The key that makes rows one detected person.
    fn person_key(&self, row: &ValidatedRow) -> String {
        let f = row.fields(self.template);
        let cref = f.text(Field::ClientReference);
        if !cref.is_empty() {
            return format!("cref:{}", client_reference_key(cref));
        }
        if let Some(d) = ssn_digits(f.text(Field::Ssn)) {
            return format!("ssn:{d}");
        }
        let names = format!("{}|{}", fold(f.text(Field::FirstName)), fold(f.text(Field::LastName)));
        let (case_ref, ins_ref) = (f.text(Field::CaseReference), f.text(Field::InsuredReference));
        if !case_ref.is_empty() && !ins_ref.is_empty() {
            return format!("ins:{}|{}|{names}", reference_key(case_ref), reference_key(ins_ref));
        }
        format!("name:{names}|{}", f.date(Field::DateOfBirth).map(|d| d.to_string()).unwrap_or_default())
    }

    /// Groups unresolved and conflicting rows into detected persons and ranks candidates.
    pub fn finish(&self, rows: &[ValidatedRow], outcomes: Vec<RowOutcome>, notes: Vec<Issue>) -> Matches {
        let mut matches = self.group(rows, outcomes, notes);
        for g in 0..matches.groups.len() {
            matches.groups[g].candidates = self.candidates_for(&matches.groups[g], rows);
        }
        matches
    }

    /// Groups unresolved and conflicting rows into detected persons, without candidates
    /// (see [`Matcher::candidates_for`], which a caller may run in chunks).
    pub fn group(&self, rows: &[ValidatedRow], outcomes: Vec<RowOutcome>, notes: Vec<Issue>) -> Matches {
        let mut groups: Vec<DetectedPerson> = Vec::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(outcomes.len());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let row = &rows[i];
            let (key, kind) = match outcome {
                RowOutcome::Blocked => {
                    out.push(RowMatch::Blocked);
                    continue;
                }
                RowOutcome::Matched { tier, entry, detail } => {
                    out.push(RowMatch::Matched { tier, entry, detail });
                    continue;
                }
                RowOutcome::Conflict { entries, reason } => (
                    format!("conflict:{entries:?}|{}", self.person_key(row)),
                    GroupKind::Conflict { entries, reason },
                ),
                RowOutcome::Unresolved if self.carries_nothing(row) => {
                    out.push(RowMatch::NothingToImport);
                    continue;
                }
                RowOutcome::Unresolved => (self.person_key(row), GroupKind::Unresolved),
            };
            let f = row.fields(self.template);
            let g = *by_key.entry(key).or_insert_with(|| {
                groups.push(DetectedPerson {
                    id: groups.len(),
                    kind,
                    first_name: f.text(Field::FirstName).to_string(),
                    last_name: f.text(Field::LastName).to_string(),
                    client_reference: f.text(Field::ClientReference).to_string(),
                    ssn: f.text(Field::Ssn).to_string(),
                    date_of_birth: f.date(Field::DateOfBirth),
                    case_reference: f.text(Field::CaseReference).to_string(),
                    insured_reference: f.text(Field::InsuredReference).to_string(),
                    rows: Vec::new(),
                    candidates: Vec::new(),
                });
                groups.len() - 1
            });
            groups[g].rows.push(i);
            out.push(RowMatch::Group(g));
        }
        Matches { rows: out, groups, notes }
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
