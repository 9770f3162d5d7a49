//! The CRM's uniqueness rules: no two CRM entries share a Client Reference or an SSN, no two
//! cases a reference. [`Crm::check_unique`] judges a batch on the state it leaves (values freed
//! in the same batch may be taken), and [`UniquenessViolation`] names what broke, an SSN
//! masked. Every store refuses a batch that breaks one, whole.

use std::collections::{HashMap, HashSet};

use crate::core::model::{ChangeSet, Crm, EntityKind, Record, RecordKey};
use crate::core::privacy::Ssn;

/// A value a uniqueness rule is about: text, or an SSN (compared in full, shown masked).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UniqueValue {
    Text(String),
    Ssn(Ssn),
}

impl std::fmt::Display for UniqueValue {
    /// As a message shows it: text in quotes, an SSN masked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UniqueValue::Text(t) => write!(f, "\"{}\"", crate::core::privacy::shown::excerpt(t)),
            UniqueValue::Ssn(s) => write!(f, "{s}"),
        }
    }
}

/// A uniqueness rule broken by a batch. Its text names the value as shown (an SSN masked):
/// `the SSN XXX-XX-6789 would belong to two CRM entries (3 and 901)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {} {value} would belong to two {} ({first} and {second})", index_name(index), kind_name(*kind))]
pub struct UniquenessViolation {
    pub kind: EntityKind,
    pub index: &'static str,
    pub value: UniqueValue,
    pub first: String,
    pub second: String,
}

/// How a uniqueness rule's index is named in a message.
fn index_name(index: &str) -> &str {
    match index {
        "client_reference" => "Client Reference",
        "ssn" => "SSN",
        "reference" => "reference",
        other => other,
    }
}

/// How records of a kind are named in a message.
fn kind_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Entry => "CRM entries",
        EntityKind::Case => "cases",
        other => other.store_name(),
    }
}

impl Record {
    /// Values that must be unique among records of the same kind, by index name
    /// (absent values are not indexed: "unique when present").
    pub fn unique_values(&self) -> Vec<(&'static str, UniqueValue)> {
        match self {
            Record::Entry(e) => {
                let mut v = Vec::new();
                if let Some(c) = &e.client_reference {
                    v.push(("client_reference", UniqueValue::Text(c.clone())));
                }
                if let Some(s) = e.ssn {
                    v.push(("ssn", UniqueValue::Ssn(s)));
                }
                v
            }
            Record::Case(c) => vec![("reference", UniqueValue::Text(c.reference.clone()))],
            _ => Vec::new(),
        }
    }
}

impl Crm {
    /// Applies a batch in memory after checking it; all or nothing.
    pub fn apply_changes(&mut self, changes: &ChangeSet) -> Result<(), UniquenessViolation> {
        self.check_unique(changes)?;
        for key in &changes.deletes {
            self.delete(key);
        }
        for r in &changes.puts {
            self.put(r.clone());
        }
        Ok(())
    }

    /// Checks that applying `changes` keeps every unique index unique; the store refuses a
    /// batch that fails this, whole.
    pub fn check_unique(&self, changes: &ChangeSet) -> Result<(), UniquenessViolation> {
        let touched: HashSet<RecordKey> =
            changes.puts.iter().map(Record::key).chain(changes.deletes.iter().cloned()).collect();
        let mut seen: HashMap<(EntityKind, &'static str, UniqueValue), String> = HashMap::new();
        let kinds: HashSet<EntityKind> = changes.puts.iter().map(Record::kind).collect();
        // Existing records of the touched kinds that the batch leaves in place.
        let kept = |kind: EntityKind, id: String| !touched.contains(&RecordKey { kind, id });
        if kinds.contains(&EntityKind::Entry) {
            for e in self.entries.values() {
                if !kept(EntityKind::Entry, e.id.to_string()) {
                    continue;
                }
                if let Some(c) = &e.client_reference {
                    seen.insert(
                        (EntityKind::Entry, "client_reference", UniqueValue::Text(c.clone())),
                        e.id.to_string(),
                    );
                }
                if let Some(ssn) = e.ssn {
                    seen.insert((EntityKind::Entry, "ssn", UniqueValue::Ssn(ssn)), e.id.to_string());
                }
            }
        }
        if kinds.contains(&EntityKind::Case) {
            for c in self.cases.values() {
                if kept(EntityKind::Case, c.id.to_string()) {
                    seen.insert(
                        (EntityKind::Case, "reference", UniqueValue::Text(c.reference.clone())),
                        c.id.to_string(),
                    );
                }
            }
        }
        for r in &changes.puts {
            for (index, value) in r.unique_values() {
                let slot = (r.kind(), index, value.clone());
                if let Some(first) = seen.get(&slot) {
                    if *first != r.id() {
                        return Err(UniquenessViolation {
                            kind: r.kind(),
                            index,
                            value,
                            first: first.clone(),
                            second: r.id(),
                        });
                    }
                }
                seen.insert(slot, r.id());
            }
        }
        Ok(())
    }
}
