//! Lookup tables over a [`Crm`] for matching, export and browsing: entries by Client
//! Reference and SSN, details by entry, insureds by case and by entry, cases by reference.
//! Built once per stage in O(n); the `Crm` itself stays a plain keyed store.

use std::collections::HashMap;

use crate::core::model::{ContactDetail, Crm, CrmEntry, EntryId, Insured};
use crate::core::text::{fold, ssn_digits};

/// Read-only indexes over one CRM state.
pub struct CrmIndex<'a> {
    pub crm: &'a Crm,
    pub entry_by_client_reference: HashMap<String, EntryId>,
    pub entry_by_ssn: HashMap<String, EntryId>,
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
            if let Some(s) = e.ssn.as_deref().and_then(ssn_digits) {
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

    pub fn entry_by_ssn(&self, text: &str) -> Option<EntryId> {
        ssn_digits(text).and_then(|d| self.entry_by_ssn.get(&d).copied())
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

/// CRM entries matching a free-text search over name, Client Reference and last 4 of SSN.
pub fn search_entries<'a>(crm: &'a Crm, query: &str, limit: usize) -> (usize, Vec<&'a CrmEntry>) {
    let q = fold(query);
    if q.is_empty() {
        let all: Vec<&CrmEntry> = crm.entries.values().take(limit).collect();
        return (crm.entries.len(), all);
    }
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let ssn_query = digits.len() == 4 && q.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    let terms: Vec<&str> = q.split(' ').collect();
    let mut total = 0;
    let mut out = Vec::new();
    for e in crm.entries.values() {
        let hit = if ssn_query {
            e.ssn.as_deref().map(|s| s.ends_with(&digits)).unwrap_or(false)
                || e.client_reference.as_deref().map(|c| fold(c).contains(&q)).unwrap_or(false)
        } else {
            let hay = format!(
                "{} {} {}",
                fold(&e.first_name),
                fold(&e.last_name),
                e.client_reference.as_deref().map(fold).unwrap_or_default()
            );
            terms.iter().all(|t| hay.contains(t))
        };
        if hit {
            total += 1;
            if out.len() < limit {
                out.push(e);
            }
        }
    }
    (total, out)
}
