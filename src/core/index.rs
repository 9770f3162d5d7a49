//! Lookup tables over a [`Crm`] for matching, export and browsing: entries by Client
//! Reference and SSN, details by entry, insureds by case and by entry, cases by reference;
//! and the type-ahead search of entries ([`search_entries`], [`EntrySearchIndex`]). Built
//! once per stage in O(n); the `Crm` itself stays a plain keyed store.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::model::{ContactDetail, Crm, CrmEntry, EntryId, Insured};
use crate::core::privacy::Ssn;
use crate::core::text::fold;

/// Read-only indexes over one CRM state.
pub struct CrmIndex<'a> {
    pub crm: &'a Crm,
    pub entry_by_client_reference: HashMap<String, EntryId>,
    pub entry_by_ssn: HashMap<Ssn, EntryId>,
    pub details_by_entry: HashMap<EntryId, Vec<&'a ContactDetail>>,
    pub insureds_by_case: HashMap<u32, Vec<&'a Insured>>,
    pub insureds_by_entry: HashMap<EntryId, Vec<&'a Insured>>,
    pub case_by_reference: HashMap<String, u32>,
    /// Portfolio ids holding each case.
    pub portfolios_by_case: HashMap<u32, Vec<u32>>,
}

/// Client References compare without case or surrounding space.
pub fn client_reference_key(text: &str) -> String {
    text.trim().to_uppercase()
}

/// References (case, insured) compare without case or surrounding space.
pub fn reference_key(text: &str) -> String {
    text.trim().to_uppercase()
}

impl std::fmt::Debug for CrmIndex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmIndex")
            .field("entries", &self.crm.entries.len())
            .field("cases", &self.case_by_reference.len())
            .finish_non_exhaustive()
    }
}

impl<'a> CrmIndex<'a> {
    pub fn new(crm: &'a Crm) -> Self {
        let mut entry_by_client_reference = HashMap::new();
        let mut entry_by_ssn = HashMap::new();
        for e in crm.entries.values() {
            if let Some(c) = &e.client_reference {
                entry_by_client_reference.insert(client_reference_key(c), e.id);
            }
            if let Some(s) = e.ssn {
                entry_by_ssn.insert(s, e.id);
            }
        }
        let mut details_by_entry: HashMap<EntryId, Vec<&ContactDetail>> = HashMap::new();
        for d in crm.details.values() {
            details_by_entry.entry(d.entry_id).or_default().push(d);
        }
        let mut insureds_by_case: HashMap<u32, Vec<&Insured>> = HashMap::new();
        let mut insureds_by_entry: HashMap<EntryId, Vec<&Insured>> = HashMap::new();
        for i in crm.insureds.values() {
            insureds_by_case.entry(i.case_id).or_default().push(i);
            if let Some(e) = i.entry_id {
                insureds_by_entry.entry(e).or_default().push(i);
            }
        }
        let case_by_reference = crm.cases.values().map(|c| (reference_key(&c.reference), c.id)).collect();
        let mut portfolios_by_case: HashMap<u32, Vec<u32>> = HashMap::new();
        for p in crm.portfolios.values() {
            for c in &p.case_ids {
                portfolios_by_case.entry(*c).or_default().push(p.id);
            }
        }
        CrmIndex {
            crm,
            entry_by_client_reference,
            entry_by_ssn,
            details_by_entry,
            insureds_by_case,
            insureds_by_entry,
            case_by_reference,
            portfolios_by_case,
        }
    }

    pub fn entry(&self, id: EntryId) -> Option<&'a CrmEntry> {
        self.crm.entries.get(&id)
    }

    pub fn entry_by_client_reference(&self, text: &str) -> Option<EntryId> {
        self.entry_by_client_reference.get(&client_reference_key(text)).copied()
    }

    /// The entry carrying the SSN written in `text` (nine digits, dashes or spaces or not).
    pub fn entry_by_ssn(&self, text: &str) -> Option<EntryId> {
        Ssn::parse(text).and_then(|s| self.entry_with_ssn(&s))
    }

    /// The entry carrying this SSN.
    pub fn entry_with_ssn(&self, ssn: &Ssn) -> Option<EntryId> {
        self.entry_by_ssn.get(ssn).copied()
    }

    pub fn case_id(&self, reference: &str) -> Option<u32> {
        self.case_by_reference.get(&reference_key(reference)).copied()
    }

    /// The insured with this reference on this case.
    pub fn insured_on_case(&self, case_id: u32, insured_reference: &str) -> Option<&'a Insured> {
        let key = reference_key(insured_reference);
        self.insureds_by_case.get(&case_id)?.iter().copied().find(|i| reference_key(&i.reference) == key)
    }

    /// The details of an entry, ordered by kind then Public ID.
    pub fn details_of(&self, entry: EntryId) -> Vec<&'a ContactDetail> {
        let mut v = self.details_by_entry.get(&entry).cloned().unwrap_or_default();
        v.sort_by(|a, b| (a.kind, &a.public_id).cmp(&(b.kind, &b.public_id)));
        v
    }

    /// Insureds of a case, ordered by reference.
    pub fn insureds_of_case(&self, case_id: u32) -> Vec<&'a Insured> {
        let mut v = self.insureds_by_case.get(&case_id).cloned().unwrap_or_default();
        v.sort_by(|a, b| a.reference.cmp(&b.reference));
        v
    }

    /// Insureds linked to an entry.
    pub fn insureds_of_entry(&self, entry: EntryId) -> Vec<&'a Insured> {
        self.insureds_by_entry.get(&entry).cloned().unwrap_or_default()
    }
}

/// Names compare without case, accents or extra whitespace.
pub fn names_match(first_a: &str, last_a: &str, first_b: &str, last_b: &str) -> bool {
    fold(first_a) == fold(first_b) && fold(last_a) == fold(last_b)
}

/// How a search term met an entry, best first: the rank of a hit is the weakest way one of
/// the query's terms met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SearchMatch {
    /// The whole Client Reference (case and surrounding space aside).
    ClientReference,
    /// The whole SSN (nine digits, dashes or not).
    Ssn,
    /// The date of birth, typed as ISO `YYYY-MM-DD`.
    DateOfBirth,
    /// The last four digits of the SSN.
    SsnLastFour,
    /// A whole word of the name (accents, case and spacing aside).
    NameWord,
    /// The beginning of a word of the name.
    NamePrefix,
    /// Part of the Client Reference.
    ClientReferencePart,
    /// Part of the name.
    NameContains,
}

/// One entry found by [`search_entries`], ready to show: never a full SSN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHit {
    pub entry: EntryId,
    /// "CR-00012345 · José Álvarez" ([`CrmEntry::label`]): the identifier first, since two
    /// entries can share a name.
    pub label: String,
    pub name: String,
    /// The Client Reference, or "".
    pub client_reference: String,
    /// The SSN masked `XXX-XX-1234`, or "".
    pub ssn_masked: String,
    pub date_of_birth: Option<Date>,
    /// The weakest way a term of the query met the entry (the hit's rank).
    pub matched: SearchMatch,
}

impl EntryHit {
    fn of(e: &CrmEntry, matched: SearchMatch) -> EntryHit {
        EntryHit {
            entry: e.id,
            label: e.label(),
            name: e.display_name(),
            client_reference: e.client_reference.clone().unwrap_or_default(),
            ssn_masked: e.ssn.map(|s| s.masked().into_string()).unwrap_or_default(),
            date_of_birth: e.date_of_birth,
            matched,
        }
    }
}

/// The result of a search: how many entries match, and the best `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EntrySearch {
    pub total: usize,
    pub hits: Vec<EntryHit>,
}

impl EntrySearch {
    /// The entries of the hits, in rank order.
    pub fn entries<'a>(&self, crm: &'a Crm) -> Vec<&'a CrmEntry> {
        self.hits.iter().filter_map(|h| crm.entries.get(&h.entry)).collect()
    }
}

/// One entry as search compares it.
#[derive(Debug)]
struct SearchRow {
    id: EntryId,
    /// "first last", folded.
    name: String,
    /// The folded name's words (split at spaces and hyphens).
    words: Vec<String>,
    /// The Client Reference, folded.
    client_reference: String,
    ssn: Option<Ssn>,
    date_of_birth: Option<Date>,
}

/// The CRM's entries prepared for type-ahead search ("Search the CRM…"): folded names and
/// words, Client References, SSN digits and dates of birth. Build it once per CRM state and
/// search it per keystroke; [`search_entries`] builds one and searches it once.
#[derive(Debug)]
pub struct EntrySearchIndex {
    rows: Vec<SearchRow>,
}

impl EntrySearchIndex {
    pub fn new(crm: &Crm) -> EntrySearchIndex {
        let rows = crm
            .entries
            .values()
            .map(|e| {
                let name = fold(&e.display_name());
                let words = name.split([' ', '-']).filter(|w| !w.is_empty()).map(str::to_string).collect();
                SearchRow {
                    id: e.id,
                    name,
                    words,
                    client_reference: e.client_reference.as_deref().map(fold).unwrap_or_default(),
                    ssn: e.ssn,
                    date_of_birth: e.date_of_birth,
                }
            })
            .collect();
        EntrySearchIndex { rows }
    }

    /// The entries matching every term of `query` — each term meets a word or part of the
    /// name (accents and case aside; whole word, beginning of a word, or anywhere), the Client
    /// Reference (whole or part), the SSN (nine digits, or the last four) or the date of birth
    /// (ISO) — ranked by how they matched ([`SearchMatch`]: an exact identifier first, then
    /// whole name words, beginnings, parts), then by name. An empty query lists every entry
    /// in entry order. `total` counts every match; `hits` holds the best `limit`.
    pub fn search(&self, crm: &Crm, query: &str, limit: usize) -> EntrySearch {
        let q = fold(query);
        if q.is_empty() {
            let hits = crm.entries.values().take(limit).map(|e| EntryHit::of(e, SearchMatch::NameContains));
            return EntrySearch { total: crm.entries.len(), hits: hits.collect() };
        }
        let terms: Vec<Term> = q.split(' ').filter(|t| !t.is_empty()).map(Term::new).collect();
        let mut found: Vec<(SearchMatch, u32, &SearchRow)> = Vec::new();
        'rows: for row in &self.rows {
            let mut weakest = SearchMatch::ClientReference;
            let mut sum = 0u32;
            for term in &terms {
                let Some(m) = term.meets(row) else { continue 'rows };
                weakest = weakest.max(m);
                sum += m as u32;
            }
            found.push((weakest, sum, row));
        }
        let total = found.len();
        found.sort_by(|a, b| (a.0, a.1, &a.2.name, a.2.id).cmp(&(b.0, b.1, &b.2.name, b.2.id)));
        let hits = found
            .into_iter()
            .take(limit)
            .filter_map(|(m, _, row)| crm.entries.get(&row.id).map(|e| EntryHit::of(e, m)))
            .collect();
        EntrySearch { total, hits }
    }
}

/// One folded term of a search query, with what it could be.
#[derive(Debug)]
struct Term {
    text: String,
    /// The term's digits when it is only digits, dashes and spaces.
    digits: Option<String>,
    date: Option<Date>,
}

impl Term {
    fn new(text: &str) -> Term {
        let only_digits = text.chars().all(|c| c.is_ascii_digit() || c == '-');
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        Term {
            text: text.to_string(),
            digits: (only_digits && !digits.is_empty()).then_some(digits),
            date: Date::parse_iso(text),
        }
    }

    /// The best way this term meets an entry, if it does.
    fn meets(&self, row: &SearchRow) -> Option<SearchMatch> {
        let t = self.text.as_str();
        if !row.client_reference.is_empty() && row.client_reference == t {
            return Some(SearchMatch::ClientReference);
        }
        if let (Some(d), Some(ssn)) = (&self.digits, &row.ssn) {
            if ssn.has_digits(d) {
                return Some(SearchMatch::Ssn);
            }
        }
        if self.date.is_some() && self.date == row.date_of_birth {
            return Some(SearchMatch::DateOfBirth);
        }
        if let (Some(d), Some(ssn)) = (&self.digits, &row.ssn) {
            if d.len() == 4 && ssn.last_four() == d {
                return Some(SearchMatch::SsnLastFour);
            }
        }
        if row.words.iter().any(|w| w == t) {
            return Some(SearchMatch::NameWord);
        }
        if row.words.iter().any(|w| w.starts_with(t)) {
            return Some(SearchMatch::NamePrefix);
        }
        if row.client_reference.contains(t) {
            return Some(SearchMatch::ClientReferencePart);
        }
        if row.name.contains(t) {
            return Some(SearchMatch::NameContains);
        }
        None
    }
}

/// "Search the CRM…": the entries matching `query`, ranked, the best `limit` of them with a
/// label and a masked SSN (see [`EntrySearchIndex::search`]). Builds the index each call; a
/// caller searching per keystroke keeps an [`EntrySearchIndex`] instead.
pub fn search_entries(crm: &Crm, query: &str, limit: usize) -> EntrySearch {
    EntrySearchIndex::new(crm).search(crm, query, limit)
}
