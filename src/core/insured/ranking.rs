//! Ranking the candidates of a detected person: the existing CRM entries suggested in its
//! dropdown, best first, each with its label (identifier and name) and why — names alike
//! (typos, swapped first and last names), the same date of birth, the same postcode, the
//! insured on the row's case.
//!
//! The ranking is exhaustive — the same as scoring every entry of the CRM (see
//! [`Matcher::rank_exhaustive`]) — but reaches only the entries that can score at least
//! [`MIN_CANDIDATE_SCORE`]. A score is 60 × the names' likeness (the mean Jaro–Winkler of the
//! two names, as written or swapped) plus 20 for the date of birth, 10 for a postcode and 25
//! for the insured. [`CandidateIndex`] holds the entries by date of birth, by postcode and by
//! pair of folded names, and each distinct folded name once. An entry with none of the
//! bonuses needs names at least 0.74 alike, so one of its names is at least that alike to
//! one of the person's: a person's names are compared with each distinct name (an upper
//! bound from lengths and shared letters skips most without computing Jaro–Winkler, which
//! never exceeds 0.7 unless the plain Jaro does), and only the name pairs holding a near name
//! are scored, each once. The entries with a bonus are the person's date-of-birth and
//! postcode blocks and the insured's entry, scored one by one. The five best so far set the
//! score an entry must reach, and an entry whose names' bound cannot reach it is not
//! scored. Each distinct name's likeness is computed at most once per person (with a
//! Jaro–Winkler identical to `strsim`'s, on characters decoded once), so a person costs tens
//! of microseconds on a CRM whose names repeat; the scan of the distinct names grows with
//! their number, not with the entries'.

use std::collections::HashMap;

use crate::core::date::Date;
use crate::core::index::CrmIndex;
use crate::core::model::{DetailKind, EntryId};
use crate::core::template::Field;
use crate::core::text::fold_compact;
use crate::core::validate::ValidatedRow;

use super::matching::{Candidate, DetectedPerson, GroupKind, Matcher};

/// An entry as ranking reaches it: its folded names (indexes in [`CandidateIndex::names`]),
/// date of birth and postcodes (a range of [`CandidateIndex::entry_postcodes`]).
#[derive(Debug, Clone, Copy)]
struct Reached {
    id: EntryId,
    first: u32,
    last: u32,
    /// [`day_number`] of the date of birth.
    born: u64,
    postcodes: (u32, u32),
}

/// A distinct folded name, with what the likeness bound reads of it.
#[derive(Debug)]
struct Name {
    text: Box<str>,
    chars: Box<[char]>,
    /// The [`letter_bit`]s of its characters.
    letters: u64,
}

/// The entries by what can earn them a score: names, date of birth, postcode.
#[derive(Debug)]
pub(super) struct CandidateIndex {
    /// Every distinct folded first or last name, once.
    names: Vec<Name>,
    /// The entries of each (first, last) pair of names, by id.
    pairs: Vec<Vec<Reached>>,
    /// The pairs each name is in, as first or last name.
    pairs_of_name: Vec<Vec<u32>>,
    entries: HashMap<EntryId, Reached>,
    by_dob: HashMap<Date, Vec<Reached>>,
    /// Each address postcode's comparison key, numbered.
    postcode_ids: HashMap<String, u32>,
    /// The entries with an address at each postcode.
    by_postcode: Vec<Vec<Reached>>,
    /// The postcodes of every entry, one after the other.
    entry_postcodes: Vec<u32>,
}

/// A date as one number (0 for none), compared in the ranking's inner loop.
fn day_number(date: Option<Date>) -> u64 {
    date.map_or(0, |d| {
        (i64::from(d.year) - i64::from(i32::MIN)) as u64 * 65_536
            + u64::from(d.month) * 256
            + u64::from(d.day)
            + 1
    })
}

fn postcode_key(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_uppercase()
}

/// One bit per letter or digit; other characters share the remaining bits. The same
/// character always has the same bit, which is all the likeness bound needs.
fn letter_bit(c: char) -> u64 {
    match c {
        'a'..='z' => 1 << (c as u32 - 'a' as u32),
        '0'..='9' => 1 << (26 + c as u32 - '0' as u32),
        _ => 1 << (36 + c as u32 % 28),
    }
}

impl CandidateIndex {
    pub(super) fn new(index: &CrmIndex<'_>) -> Self {
        let mut postcode_ids: HashMap<String, u32> = HashMap::new();
        let mut postcodes_of: HashMap<EntryId, Vec<u32>> = HashMap::new();
        for d in index.crm.details.values() {
            if d.kind == DetailKind::Address && !d.fields.postcode.trim().is_empty() {
                let next = postcode_ids.len() as u32;
                let id = *postcode_ids.entry(postcode_key(&d.fields.postcode)).or_insert(next);
                let of = postcodes_of.entry(d.entry_id).or_default();
                if !of.contains(&id) {
                    of.push(id);
                }
            }
        }
        let mut names: Vec<Name> = Vec::new();
        let mut name_ids: HashMap<String, u32> = HashMap::new();
        let mut intern = |text: String| -> u32 {
            *name_ids.entry(text).or_insert_with_key(|text| {
                names.push(Name {
                    text: text.as_str().into(),
                    chars: text.chars().collect(),
                    letters: text.chars().fold(0, |bits, c| bits | letter_bit(c)),
                });
                names.len() as u32 - 1
            })
        };
        let mut entries = HashMap::with_capacity(index.crm.entries.len());
        let mut pair_ids: HashMap<(u32, u32), u32> = HashMap::new();
        let mut pairs: Vec<Vec<Reached>> = Vec::new();
        let mut by_dob: HashMap<Date, Vec<Reached>> = HashMap::new();
        let mut by_postcode: Vec<Vec<Reached>> = vec![Vec::new(); postcode_ids.len()];
        let mut entry_postcodes = Vec::new();
        for e in index.crm.entries.values() {
            let postcodes = postcodes_of.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
            let reached = Reached {
                id: e.id,
                first: intern(fold_compact(&e.first_name)),
                last: intern(fold_compact(&e.last_name)),
                born: day_number(e.date_of_birth),
                postcodes: (entry_postcodes.len() as u32, postcodes.len() as u32),
            };
            entry_postcodes.extend_from_slice(postcodes);
            entries.insert(e.id, reached);
            let pair = *pair_ids.entry((reached.first, reached.last)).or_insert_with(|| {
                pairs.push(Vec::new());
                pairs.len() as u32 - 1
            });
            pairs[pair as usize].push(reached);
            if let Some(d) = e.date_of_birth {
                by_dob.entry(d).or_default().push(reached);
            }
            for p in postcodes {
                by_postcode[*p as usize].push(reached);
            }
        }
        let mut pairs_of_name = vec![Vec::new(); names.len()];
        for ((first, last), pair) in pair_ids {
            pairs_of_name[first as usize].push(pair);
            if last != first {
                pairs_of_name[last as usize].push(pair);
            }
        }
        for p in &mut pairs {
            p.sort_by_key(|e| e.id);
        }
        CandidateIndex {
            names,
            pairs,
            pairs_of_name,
            entries,
            by_dob,
            postcode_ids,
            by_postcode,
            entry_postcodes,
        }
    }

    fn folded_names(&self, entry: EntryId) -> (&str, &str) {
        match self.entries.get(&entry) {
            Some(e) => (&self.names[e.first as usize].text, &self.names[e.last as usize].text),
            None => ("", ""),
        }
    }

    fn postcodes(&self, e: &Reached) -> &[u32] {
        let (start, len) = e.postcodes;
        &self.entry_postcodes[start as usize..(start + len) as usize]
    }

    /// The postcode among `postcodes` (numbered, as written) that an entry has an address at.
    fn shared_postcode<'p>(&self, entry: EntryId, postcodes: &'p [(Option<u32>, String)]) -> Option<&'p str> {
        let of = self.postcodes(self.entries.get(&entry)?);
        postcodes
            .iter()
            .find(|(id, _)| id.is_some_and(|id| of.contains(&id)))
            .map(|(_, shown)| shown.as_str())
    }
}

/// One of a person's folded names, compared with the index's names: each likeness computed
/// at most once.
struct Likeness<'a> {
    chars: Vec<char>,
    /// (letter bit, how many of the name's characters have it)
    letters: Vec<(u64, u32)>,
    names: &'a [Name],
    /// Jaro–Winkler with each name of the index; NaN until computed.
    memo: Vec<f64>,
    /// The same or, until it is computed, its [`Likeness::bound`].
    upper: Vec<f64>,
}

impl<'a> Likeness<'a> {
    fn new(text: &str, names: &'a [Name]) -> Self {
        let mut letters: Vec<(u64, u32)> = Vec::new();
        for c in text.chars() {
            let bit = letter_bit(c);
            match letters.iter_mut().find(|(b, _)| *b == bit) {
                Some((_, n)) => *n += 1,
                None => letters.push((bit, 1)),
            }
        }
        let mut likeness = Likeness {
            chars: text.chars().collect(),
            letters,
            names,
            upper: Vec::with_capacity(names.len()),
            memo: vec![f64::NAN; names.len()],
        };
        likeness.upper = (0..names.len() as u32).map(|n| likeness.bound(n)).collect();
        likeness
    }

    #[inline]
    fn of(&mut self, name: u32) -> f64 {
        let memo = &mut self.memo[name as usize];
        if memo.is_nan() {
            *memo = jaro_winkler(&self.chars, &self.names[name as usize].chars);
            self.upper[name as usize] = *memo;
        }
        *memo
    }

    /// At least the likeness with a name: the likeness once computed, else its bound.
    #[inline]
    fn upper(&self, name: u32) -> f64 {
        self.upper[name as usize]
    }

    /// At least the Jaro–Winkler likeness with a name, from lengths and shared letters: Jaro
    /// counts at most as many matching characters as the two names share and at most one
    /// name's length, no transposition makes it higher, and Winkler's prefix adds at most
    /// 0.4 × (1 − Jaro), and only above 0.7.
    fn bound(&self, name: u32) -> f64 {
        let n = &self.names[name as usize];
        let (la, lb) = (self.chars.len() as u32, n.chars.len() as u32);
        if la == 0 || lb == 0 {
            return 1.0;
        }
        let shared: u32 = self.letters.iter().filter(|(bit, _)| n.letters & bit != 0).map(|(_, k)| k).sum();
        let m = f64::from(shared.min(la).min(lb));
        let jaro = (m / f64::from(la) + m / f64::from(lb) + 1.0) / 3.0;
        if jaro > 0.7 {
            jaro + 0.4 * (1.0 - jaro)
        } else {
            jaro
        }
    }

    /// Whether the likeness with a name is at least `at`.
    fn at_least(&mut self, name: u32, at: f64) -> bool {
        self.upper(name) + 1e-9 >= at && self.of(name) >= at
    }
}

/// The Jaro–Winkler likeness of two names, step by step as `strsim::jaro_winkler` computes it
/// (so to the same bit; the ranking test compares the two), on characters decoded once and
/// without allocating for names of up to 64 characters each.
fn jaro_winkler(a: &[char], b: &[char]) -> f64 {
    let sim = jaro(a, b);
    if sim > 0.7 {
        let prefix = a.iter().take(4).zip(b).take_while(|(x, y)| x == y).count();
        sim + 0.1 * prefix as f64 * (1.0 - sim)
    } else {
        sim
    }
}

fn jaro(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    } else if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let range = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut on_stack = [false; 128];
    let mut on_heap = Vec::new();
    let flags = if a.len() + b.len() <= on_stack.len() {
        &mut on_stack[..a.len() + b.len()]
    } else {
        on_heap.resize(a.len() + b.len(), false);
        &mut on_heap[..]
    };
    let (a_flags, b_flags) = flags.split_at_mut(a.len());
    let mut matches = 0_usize;
    for (i, x) in a.iter().enumerate() {
        let (from, to) = (i.saturating_sub(range), b.len().min(i + range + 1));
        if let Some(j) = (from..to).find(|&j| !b_flags[j] && b[j] == *x) {
            a_flags[i] = true;
            b_flags[j] = true;
            matches += 1;
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0_usize;
    let mut flagged_b = b.iter().zip(b_flags.iter()).filter(|(_, f)| **f).map(|(y, _)| y);
    for (x, _) in a.iter().zip(a_flags.iter()).filter(|(_, f)| **f) {
        if flagged_b.next() != Some(x) {
            transpositions += 1;
        }
    }
    transpositions /= 2;
    ((matches as f64 / a.len() as f64)
        + (matches as f64 / b.len() as f64)
        + ((matches - transpositions) as f64 / matches as f64))
        / 3.0
}

/// A person's two names against the index's.
struct PersonNames<'a> {
    first: Likeness<'a>,
    last: Likeness<'a>,
}

impl PersonNames<'_> {
    /// How alike an entry's names are (0–1): the mean likeness of first and last names as
    /// written or swapped, whichever is higher.
    #[inline]
    fn of(&mut self, e: &Reached) -> f64 {
        let straight = (self.first.of(e.first) + self.last.of(e.last)) / 2.0;
        let swapped = (self.first.of(e.last) + self.last.of(e.first)) / 2.0;
        straight.max(swapped)
    }

    /// At least [`PersonNames::of`], from the likenesses computed so far and the bounds of
    /// the others.
    #[inline]
    fn upper(&self, e: &Reached) -> f64 {
        let straight = (self.first.upper(e.first) + self.last.upper(e.last)) / 2.0;
        let swapped = (self.first.upper(e.last) + self.last.upper(e.first)) / 2.0;
        straight.max(swapped)
    }
}

/// The best entries so far, (score, id), best first, ties by id.
#[derive(Default)]
struct Best {
    top: Vec<(u32, EntryId)>,
}

impl Best {
    /// The least score that can still enter (with that score, only below the last's id).
    #[inline]
    fn floor(&self) -> u32 {
        if self.top.len() < MAX_CANDIDATES {
            MIN_CANDIDATE_SCORE
        } else {
            self.top[MAX_CANDIDATES - 1].0
        }
    }

    /// Whether an entry is among the best once offered (an entry offered again has the same
    /// score and is kept once).
    fn offer(&mut self, score: u32, id: EntryId) -> bool {
        if score < MIN_CANDIDATE_SCORE {
            return false;
        }
        let at = self.top.partition_point(|&(s, e)| s > score || (s == score && e < id));
        if at >= MAX_CANDIDATES {
            return false;
        }
        if self.top.get(at) != Some(&(score, id)) {
            self.top.insert(at, (score, id));
            self.top.truncate(MAX_CANDIDATES);
        }
        true
    }
}

/// A person's folded names, postcodes and linked insured, for scoring many entries.
struct PersonProbe {
    first: String,
    last: String,
    /// (the index's number of its comparison key, as written)
    postcodes: Vec<(Option<u32>, String)>,
    insured_entry: Option<EntryId>,
}

/// Most candidates shown per detected person.
pub const MAX_CANDIDATES: usize = 5;
/// Candidates below this score are not suggested.
pub const MIN_CANDIDATE_SCORE: u32 = 45;

/// Names' likeness (0–1) and the other reasons as a score (before rounding): every ranking
/// path adds them the same way, so they agree to the last bit.
#[inline]
fn points_of(likeness: f64, same_dob: bool, same_postcode: bool, insured: bool) -> f64 {
    let mut points = likeness * 60.0;
    if same_dob {
        points += 20.0;
    }
    if same_postcode {
        points += 10.0;
    }
    if insured {
        points += 25.0;
    }
    points.clamp(0.0, 100.0)
}

/// The rounded score, as [`Candidate::score`] shows it.
#[inline]
fn rounded(points: f64) -> u32 {
    points.round() as u32
}

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

    /// Ranked existing entries for a person: the [`MAX_CANDIDATES`] best scores of at least
    /// [`MIN_CANDIDATE_SCORE`], ties by entry id — what [`Matcher::rank_exhaustive`] returns,
    /// reaching only the entries that can score that much (see the module's documentation).
    pub fn rank(&self, person: &DetectedPerson, rows: &[ValidatedRow]) -> Vec<Candidate> {
        let probe = self.probe(person, rows);
        let index = &self.candidates;
        let mut names = PersonNames {
            first: Likeness::new(&probe.first, &index.names),
            last: Likeness::new(&probe.last, &index.names),
        };
        let mut postcodes: Vec<u32> = probe.postcodes.iter().filter_map(|(id, _)| *id).collect();
        postcodes.sort_unstable();
        postcodes.dedup();
        let born = day_number(person.date_of_birth);
        let same_dob = |e: &Reached| born != 0 && e.born == born;
        let same_postcode = |e: &Reached| index.postcodes(e).iter().any(|p| postcodes.contains(p));
        let insured = |e: &Reached| probe.insured_entry == Some(e.id);
        let mut best = Best::default();
        // Scores an entry unless even its bound cannot enter.
        let offer = |e: &Reached, names: &mut PersonNames<'_>, best: &mut Best| {
            let (dob, postcode, insured) = (same_dob(e), same_postcode(e), insured(e));
            rounded(points_of(names.upper(e), dob, postcode, insured)) >= best.floor()
                && best.offer(rounded(points_of(names.of(e), dob, postcode, insured)), e.id)
        };

        // The entries with a reason besides their names, one by one.
        let insured_entry = probe.insured_entry.and_then(|e| index.entries.get(&e));
        let born_that_day =
            person.date_of_birth.and_then(|d| index.by_dob.get(&d)).map(Vec::as_slice).unwrap_or(&[]);
        for e in insured_entry.into_iter().chain(born_that_day) {
            offer(e, &mut names, &mut best);
        }
        for p in &postcodes {
            for e in &index.by_postcode[*p as usize] {
                offer(e, &mut names, &mut best);
            }
        }

        // The others score by their names alone, which must then be at least `near` alike: one
        // of the entry's names is at least that alike to one of the person's.
        let near = (f64::from(best.floor()) - 0.5) / 60.0 - 1e-9;
        let near_names: Vec<u32> = (0..index.names.len() as u32)
            .filter(|n| names.first.at_least(*n, near) || names.last.at_least(*n, near))
            .collect();
        for n in near_names {
            for pair in &index.pairs_of_name[n as usize] {
                // The pair's entries without another reason all have the same score: the lowest
                // ids win the ties, and once one does not enter, no later one does.
                let plain = index.pairs[*pair as usize]
                    .iter()
                    .filter(|e| !same_dob(e) && !same_postcode(e) && !insured(e));
                for e in plain {
                    if !offer(e, &mut names, &mut best) {
                        break;
                    }
                }
            }
        }
        best.top.into_iter().map(|(_, e)| self.score(person, &probe, e)).collect()
    }

    /// The ranking [`Matcher::rank`] returns, by scoring every entry of the CRM: the reference
    /// the index is tested against (slow).
    pub fn rank_exhaustive(&self, person: &DetectedPerson, rows: &[ValidatedRow]) -> Vec<Candidate> {
        let probe = self.probe(person, rows);
        let scored = self
            .index
            .crm
            .entries
            .keys()
            .map(|e| (rounded(self.points(person, &probe, *e)), *e))
            .filter(|(score, _)| *score >= MIN_CANDIDATE_SCORE)
            .collect();
        self.best(person, &probe, scored)
    }

    /// The best [`MAX_CANDIDATES`] of the scored entries (listed once or more), explained.
    fn best(
        &self,
        person: &DetectedPerson,
        probe: &PersonProbe,
        mut scored: Vec<(u32, EntryId)>,
    ) -> Vec<Candidate> {
        scored.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.dedup();
        scored.truncate(MAX_CANDIDATES);
        scored.into_iter().map(|(_, e)| self.score(person, probe, e)).collect()
    }

    /// The score of an entry for a person without the explanation.
    fn points(&self, person: &DetectedPerson, probe: &PersonProbe, entry: EntryId) -> f64 {
        let (ef, el) = self.candidates.folded_names(entry);
        let (pf, pl) = (probe.first.as_str(), probe.last.as_str());
        let straight = (strsim::jaro_winkler(pf, ef) + strsim::jaro_winkler(pl, el)) / 2.0;
        let swapped = (strsim::jaro_winkler(pf, el) + strsim::jaro_winkler(pl, ef)) / 2.0;
        let same_dob = person.date_of_birth.is_some()
            && self.index.entry(entry).and_then(|e| e.date_of_birth) == person.date_of_birth;
        let same_postcode = self.candidates.shared_postcode(entry, &probe.postcodes).is_some();
        points_of(straight.max(swapped), same_dob, same_postcode, probe.insured_entry == Some(entry))
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
        let mut postcodes: Vec<(Option<u32>, String)> = person
            .rows
            .iter()
            .map(|r| rows[*r].fields(self.template).text(Field::Postcode))
            .filter(|p| !p.is_empty())
            .map(|p| (self.candidates.postcode_ids.get(&postcode_key(p)).copied(), p.to_string()))
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
        let (ef, el) = self.candidates.folded_names(entry);
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
        if let Some(shown) = self.candidates.shared_postcode(entry, &probe.postcodes) {
            score += 10.0;
            reasons.push(format!("same postcode {shown}"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::random::SeededRandom;

    #[test]
    fn jaro_winkler_is_strsims_to_the_bit() {
        let alphabet: Vec<char> = "aabcdeeilmnorsty-éøß1".chars().collect();
        let mut random = SeededRandom::new(7);
        let word = |random: &mut SeededRandom| -> String {
            let longest = if random.chance(5) { 90 } else { 12 };
            let len = random.below(longest);
            (0..len).map(|_| *random.pick(&alphabet)).collect()
        };
        for _ in 0..20_000 {
            let (a, b) = (word(&mut random), word(&mut random));
            let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            assert_eq!(
                jaro_winkler(&ca, &cb).to_bits(),
                strsim::jaro_winkler(&a, &b).to_bits(),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn the_likeness_bound_is_never_below_the_likeness() {
        let alphabet: Vec<char> = "aabcdeeilmnorsty-éøß1".chars().collect();
        let mut random = SeededRandom::new(8);
        let names: Vec<Name> = (0..400)
            .map(|_| {
                let text: String = (0..random.below(12)).map(|_| *random.pick(&alphabet)).collect();
                Name {
                    chars: text.chars().collect(),
                    letters: text.chars().fold(0, |bits, c| bits | letter_bit(c)),
                    text: text.into(),
                }
            })
            .collect();
        for probe in &names {
            let likeness = Likeness::new(&probe.text, &names);
            for n in 0..names.len() as u32 {
                let exact = strsim::jaro_winkler(&probe.text, &names[n as usize].text);
                assert!(likeness.bound(n) + 1e-9 >= exact, "{} {}", probe.text, names[n as usize].text);
            }
        }
    }
}
