//! Matching (DESIGN §4): each validated row is matched to a CRM entry by the template's
//! cascade — Public ID, then Client Reference and/or SSN, then Insured Reference with names —
//! and the first tier that decides wins and is recorded. Rows nothing matched are grouped
//! into one *detected person* each, with existing entries ranked as candidates and the reason
//! each is suggested; rows whose Client Reference and SSN point at two entries form conflict
//! groups the operator must settle. Nothing here guesses: a group's fate is the operator's
//! [`GroupChoice`].

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::index::{client_reference_key, names_match, reference_key, CrmIndex};
use crate::core::model::{DetailKind, EntryId};
use crate::core::template::{insured_columns as c, MatchTier, Template};
use crate::core::text::{fold, fold_compact, ssn_digits};
use crate::core::validate::{Issue, IssueCode, Severity, ValidatedRow};

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

impl PartialOrd for MatchTier {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MatchTier {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
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
    candidates: CandidateIndex,
}

/// Blocking keys for candidate search: name prefixes, dates of birth, postcodes.
struct CandidateIndex {
    /// First two letters of the first name and of the last name, in that order.
    by_name_pair: HashMap<(String, String), Vec<EntryId>>,
    by_name_prefix: HashMap<String, Vec<EntryId>>,
    by_dob: HashMap<Date, Vec<EntryId>>,
    by_postcode: HashMap<String, Vec<EntryId>>,
    postcodes_of: HashMap<EntryId, Vec<String>>,
    folded: HashMap<EntryId, (String, String)>,
}

fn prefix(name: &str) -> String {
    fold_compact(name).chars().take(3).collect()
}

fn pair_prefix(name: &str) -> String {
    fold_compact(name).chars().take(2).collect()
}

fn postcode_key(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase()
}

impl CandidateIndex {
    fn new(index: &CrmIndex) -> Self {
        let mut by_name_prefix: HashMap<String, Vec<EntryId>> = HashMap::new();
        let mut by_name_pair: HashMap<(String, String), Vec<EntryId>> = HashMap::new();
        let mut by_dob: HashMap<Date, Vec<EntryId>> = HashMap::new();
        let mut folded = HashMap::new();
        for e in index.crm.entries.values() {
            for p in [prefix(&e.first_name), prefix(&e.last_name)] {
                if !p.is_empty() {
                    let v = by_name_prefix.entry(p).or_default();
                    if v.last() != Some(&e.id) {
                        v.push(e.id);
                    }
                }
            }
            by_name_pair
                .entry((pair_prefix(&e.first_name), pair_prefix(&e.last_name)))
                .or_default()
                .push(e.id);
            if let Some(d) = e.date_of_birth {
                by_dob.entry(d).or_default().push(e.id);
            }
            folded.insert(e.id, (fold_compact(&e.first_name), fold_compact(&e.last_name)));
        }
        let mut by_postcode: HashMap<String, Vec<EntryId>> = HashMap::new();
        let mut postcodes_of: HashMap<EntryId, Vec<String>> = HashMap::new();
        for d in index.crm.details.values() {
            if d.kind == DetailKind::Address && !d.fields.postcode.trim().is_empty() {
                let k = postcode_key(&d.fields.postcode);
                by_postcode.entry(k.clone()).or_default().push(d.entry_id);
                postcodes_of.entry(d.entry_id).or_default().push(k);
            }
        }
        CandidateIndex { by_name_pair, by_name_prefix, by_dob, by_postcode, postcodes_of, folded }
    }
}

/// A person's folded names, postcodes and linked insured, for scoring many entries.
struct PersonProbe {
    first: String,
    last: String,
    /// (comparison key, as written)
    postcodes: Vec<(String, String)>,
    insured_entry: Option<EntryId>,
}

/// Most candidates shown per detected person.
pub const MAX_CANDIDATES: usize = 5;
/// Candidates below this score are not suggested.
pub const MIN_CANDIDATE_SCORE: u32 = 45;
/// Most entries scored per detected person (the nearest blocks first).
const MAX_SCORED: usize = 1500;

impl<'a> Matcher<'a> {
    pub fn new(template: &'a Template, index: &'a CrmIndex<'a>) -> Self {
        Matcher { template, index, candidates: CandidateIndex::new(index) }
    }

    /// Runs the cascade on one row; a second value is a warning to report.
    pub fn row(&self, row: &ValidatedRow) -> (RowOutcome, Option<Issue>) {
        if row.blocked() {
            return (RowOutcome::Blocked, None);
        }
        let mut note = None;
        for tier in self.template.cascade {
            match tier {
                MatchTier::PublicId => {
                    let id = row.text(c::PUBLIC_ID);
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
                                column: Some("Public ID".into()),
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
                    let cref = row.text(c::CLIENT_REFERENCE);
                    let ssn = row.text(c::SSN);
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
                                crate::core::text::mask_ssn(ssn),
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
                    let (case_ref, ins_ref) = (row.text(c::CASE_REFERENCE), row.text(c::INSURED_REFERENCE));
                    if case_ref.is_empty() || ins_ref.is_empty() {
                        continue;
                    }
                    let insured =
                        self.index.case_id(case_ref).and_then(|cid| self.index.insured_on_case(cid, ins_ref));
                    if let Some(entry) = insured.and_then(|i| i.entry_id).and_then(|e| self.index.entry(e)) {
                        if names_match(
                            &entry.first_name,
                            &entry.last_name,
                            row.text(c::FIRST_NAME),
                            row.text(c::LAST_NAME),
                        ) {
                            return (
                                RowOutcome::Matched { tier: *tier, entry: entry.id, detail: None },
                                note,
                            );
                        }
                    }
                }
                // The insurance tiers are resolved by `core::insurance`, not by this matcher.
                MatchTier::OperatorChoice | MatchTier::UserId | MatchTier::DeviceSerial => {}
            }
        }
        (RowOutcome::Unresolved, note)
    }

    /// True when a row has no detail, no Public ID and no identifier of the person beyond
    /// names and references: creating an entry from it would create an empty record.
    fn carries_nothing(row: &ValidatedRow) -> bool {
        [c::DETAIL_TYPE, c::PUBLIC_ID, c::CLIENT_REFERENCE, c::SSN].iter().all(|k| row.text(*k).is_empty())
            && row.date(c::DATE_OF_BIRTH).is_none()
    }

    /// The key that makes rows one detected person.
    fn person_key(row: &ValidatedRow) -> String {
        let cref = row.text(c::CLIENT_REFERENCE);
        if !cref.is_empty() {
            return format!("cref:{}", client_reference_key(cref));
        }
        if let Some(d) = ssn_digits(row.text(c::SSN)) {
            return format!("ssn:{d}");
        }
        let names = format!("{}|{}", fold(row.text(c::FIRST_NAME)), fold(row.text(c::LAST_NAME)));
        let (case_ref, ins_ref) = (row.text(c::CASE_REFERENCE), row.text(c::INSURED_REFERENCE));
        if !case_ref.is_empty() && !ins_ref.is_empty() {
            return format!("ins:{}|{}|{names}", reference_key(case_ref), reference_key(ins_ref));
        }
        format!("name:{names}|{}", row.date(c::DATE_OF_BIRTH).map(|d| d.to_string()).unwrap_or_default())
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
                    format!("conflict:{entries:?}|{}", Self::person_key(row)),
                    GroupKind::Conflict { entries, reason },
                ),
                RowOutcome::Unresolved if Self::carries_nothing(row) => {
                    out.push(RowMatch::NothingToImport);
                    continue;
                }
                RowOutcome::Unresolved => (Self::person_key(row), GroupKind::Unresolved),
            };
            let g = *by_key.entry(key).or_insert_with(|| {
                groups.push(DetectedPerson {
                    id: groups.len(),
                    kind,
                    first_name: row.text(c::FIRST_NAME).to_string(),
                    last_name: row.text(c::LAST_NAME).to_string(),
                    client_reference: row.text(c::CLIENT_REFERENCE).to_string(),
                    ssn: row.text(c::SSN).to_string(),
                    date_of_birth: row.date(c::DATE_OF_BIRTH),
                    case_reference: row.text(c::CASE_REFERENCE).to_string(),
                    insured_reference: row.text(c::INSURED_REFERENCE).to_string(),
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

    /// The candidates of one detected person: the two entries of a conflict, or the ranked
    /// existing entries of an unresolved person.
    pub fn candidates_for(&self, person: &DetectedPerson, rows: &[ValidatedRow]) -> Vec<Candidate> {
        match &person.kind {
            GroupKind::Conflict { entries, .. } => {
                let probe = self.probe(person, rows);
                entries
                    .iter()
                    .map(|e| {
                        let mut c = self.score(person, &probe, *e);
                        c.score = c.score.max(MIN_CANDIDATE_SCORE);
                        c
                    })
                    .collect()
            }
            GroupKind::Unresolved => self.rank(person, rows),
        }
    }

    /// Ranked existing entries for an unresolved person.
    pub fn rank(&self, person: &DetectedPerson, rows: &[ValidatedRow]) -> Vec<Candidate> {
        let probe = self.probe(person, rows);
        let mut pool: Vec<EntryId> = Vec::new();
        let mut seen: HashSet<EntryId> = HashSet::new();
        let mut add = |ids: &[EntryId], pool: &mut Vec<EntryId>| {
            for id in ids {
                if pool.len() >= MAX_SCORED {
                    break;
                }
                if seen.insert(*id) {
                    pool.push(*id);
                }
            }
        };
        if let Some(e) = probe.insured_entry {
            add(&[e], &mut pool);
        }
        if let Some(d) = person.date_of_birth {
            add(self.candidates.by_dob.get(&d).map(Vec::as_slice).unwrap_or(&[]), &mut pool);
        }
        for r in &person.rows {
            let pc = rows[*r].text(c::POSTCODE);
            if !pc.is_empty() {
                add(
                    self.candidates.by_postcode.get(&postcode_key(pc)).map(Vec::as_slice).unwrap_or(&[]),
                    &mut pool,
                );
            }
        }
        // Both names' first letters (as written, then swapped) narrow the most.
        let (f2, l2) = (pair_prefix(&person.first_name), pair_prefix(&person.last_name));
        for key in [(f2.clone(), l2.clone()), (l2, f2)] {
            add(self.candidates.by_name_pair.get(&key).map(Vec::as_slice).unwrap_or(&[]), &mut pool);
        }
        let mut blocks: Vec<&Vec<EntryId>> = [prefix(&person.first_name), prefix(&person.last_name)]
            .iter()
            .filter_map(|p| self.candidates.by_name_prefix.get(p))
            .collect();
        blocks.sort_by_key(|b| b.len());
        for b in blocks {
            add(b, &mut pool);
        }
        // Score every pooled entry cheaply, then explain only the few that are shown.
        let mut quick: Vec<(u32, EntryId)> =
            pool.into_iter().map(|e| (self.points(person, &probe, e).round() as u32, e)).collect();
        quick.retain(|(points, _)| *points >= MIN_CANDIDATE_SCORE);
        quick.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        quick.truncate(MAX_CANDIDATES);
        quick.into_iter().map(|(_, e)| self.score(person, &probe, e)).collect()
    }

    /// The score of an entry for a person without the explanation (no allocation).
    fn points(&self, person: &DetectedPerson, probe: &PersonProbe, entry: EntryId) -> f64 {
        let (ef, el) =
            self.candidates.folded.get(&entry).map(|(f, l)| (f.as_str(), l.as_str())).unwrap_or(("", ""));
        let (pf, pl) = (probe.first.as_str(), probe.last.as_str());
        let straight = (strsim::jaro_winkler(pf, ef) + strsim::jaro_winkler(pl, el)) / 2.0;
        let swapped = (strsim::jaro_winkler(pf, el) + strsim::jaro_winkler(pl, ef)) / 2.0;
        let mut points = straight.max(swapped) * 60.0;
        if person.date_of_birth.is_some()
            && self.index.entry(entry).and_then(|e| e.date_of_birth) == person.date_of_birth
        {
            points += 20.0;
        }
        if let Some(pcs) = self.candidates.postcodes_of.get(&entry) {
            if probe.postcodes.iter().any(|(k, _)| pcs.contains(k)) {
                points += 10.0;
            }
        }
        if probe.insured_entry == Some(entry) {
            points += 25.0;
        }
        points.clamp(0.0, 100.0)
    }

    fn insured_entry(&self, person: &DetectedPerson) -> Option<EntryId> {
        if person.case_reference.is_empty() || person.insured_reference.is_empty() {
            return None;
        }
        let case_id = self.index.case_id(&person.case_reference)?;
        self.index.insured_on_case(case_id, &person.insured_reference)?.entry_id
    }

    /// What scoring needs of a person, computed once per person rather than per candidate.
    fn probe(&self, person: &DetectedPerson, rows: &[ValidatedRow]) -> PersonProbe {
        let mut postcodes: Vec<(String, String)> = person
            .rows
            .iter()
            .map(|r| rows[*r].text(c::POSTCODE))
            .filter(|p| !p.is_empty())
            .map(|p| (postcode_key(p), p.to_string()))
            .collect();
        postcodes.dedup();
        PersonProbe {
            first: fold_compact(&person.first_name),
            last: fold_compact(&person.last_name),
            postcodes,
            insured_entry: self.insured_entry(person),
        }
    }

    /// Scores one entry against a person: names (typos and swapped first/last), date of
    /// birth, postcode, and the insured on the row's case.
    fn score(&self, person: &DetectedPerson, probe: &PersonProbe, entry: EntryId) -> Candidate {
        let (ef, el) =
            self.candidates.folded.get(&entry).map(|(f, l)| (f.as_str(), l.as_str())).unwrap_or(("", ""));
        let (pf, pl) = (probe.first.as_str(), probe.last.as_str());
        let straight = (strsim::jaro_winkler(pf, ef) + strsim::jaro_winkler(pl, el)) / 2.0;
        let swapped = (strsim::jaro_winkler(pf, el) + strsim::jaro_winkler(pl, ef)) / 2.0;
        let mut reasons = Vec::new();
        let name_sim = straight.max(swapped);
        let mut score = name_sim * 60.0;
        if swapped > straight + 0.05 && swapped > 0.85 {
            reasons.push(format!("names swapped ({:.0}% alike)", swapped * 100.0));
        } else if name_sim >= 0.999 {
            reasons.push("same name".to_string());
        } else if name_sim >= 0.8 {
            reasons.push(format!("name {:.0}% alike", name_sim * 100.0));
        }
        let e = self.index.entry(entry);
        if let (Some(d), Some(e)) = (person.date_of_birth, e) {
            if e.date_of_birth == Some(d) {
                score += 20.0;
                reasons.push(format!("same date of birth {d}"));
            }
        }
        if let Some(pcs) = self.candidates.postcodes_of.get(&entry) {
            if let Some((_, shown)) = probe.postcodes.iter().find(|(k, _)| pcs.contains(k)) {
                score += 10.0;
                reasons.push(format!("same postcode {shown}"));
            }
        }
        if probe.insured_entry == Some(entry) {
            score += 25.0;
            reasons
                .push(format!("linked to insured {} on {}", person.insured_reference, person.case_reference));
        }
        if let (Some(e), false) = (e, person.client_reference.is_empty()) {
            if e.client_reference.is_none() {
                reasons.push("entry has no Client Reference yet".to_string());
            }
        }
        Candidate { entry, score: score.round().clamp(0.0, 100.0) as u32, reasons }
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
