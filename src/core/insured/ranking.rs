//! Ranking the candidates of a detected person: the existing CRM entries suggested in its
//! dropdown, best first, each with its label (identifier and name) and why — names alike (typos, swapped first and last names),
//! the same date of birth, the same postcode, the insured on the row's case. Entries are
//! pooled through blocking keys (name prefixes, dates of birth, postcodes) so a person is
//! scored against at most a few thousand entries, never the whole CRM.

use std::collections::{HashMap, HashSet};

use crate::core::date::Date;
use crate::core::index::CrmIndex;
use crate::core::model::{DetailKind, EntryId};
use crate::core::template::Field;
use crate::core::text::fold_compact;
use crate::core::validate::ValidatedRow;

use super::matching::{Candidate, DetectedPerson, GroupKind, Matcher};

/// Blocking keys for candidate search: name prefixes, dates of birth, postcodes.
pub(super) struct CandidateIndex {
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
    pub(super) fn new(index: &CrmIndex<'_>) -> Self {
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

impl Matcher<'_> {
    /// The candidates of one detected person: the entry a tier matched, the entries of a
    /// conflict, or the ranked existing entries of an unresolved person (none without both
    /// names: ranking needs them).
    pub fn candidates_for(&self, person: &DetectedPerson, rows: &[ValidatedRow]) -> Vec<Candidate> {
        match &person.kind {
            GroupKind::Matched { tier, entry } => vec![Candidate {
                entry: *entry,
                label: self.index.entry(*entry).map(|e| e.label()).unwrap_or_default(),
                score: 100,
                reasons: vec![format!("matched by tier {}", tier.label())],
            }],
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
            GroupKind::Unresolved
                if person.first_name.trim().is_empty() || person.last_name.trim().is_empty() =>
            {
                Vec::new()
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
            let pc = rows[*r].fields(self.template).text(Field::Postcode);
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
            .map(|r| rows[*r].fields(self.template).text(Field::Postcode))
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
        Candidate {
            entry,
            label: e.map(|e| e.label()).unwrap_or_default(),
            score: score.round().clamp(0.0, 100.0) as u32,
            reasons,
        }
    }
}
