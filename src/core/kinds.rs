//! What the store keeps, by kind: the [`EntityKind`]s of record (one object store each) and
//! the identity of one stored record ([`RecordKey`]). The records themselves are in
//! [`crate::core::model`].

use serde::{Deserialize, Serialize};

/// The kinds of record the store keeps, one object store each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EntityKind {
    Operator,
    Portfolio,
    Case,
    Insured,
    Entry,
    Detail,
    Account,
    AccountContact,
    Specialty,
    SchoolUser,
    Device,
    Import,
    Counters,
    /// The PII ledger ([`crate::core::ledger`]).
    Ledger,
}

impl EntityKind {
    pub const ALL: [EntityKind; 14] = [
        EntityKind::Operator,
        EntityKind::Portfolio,
        EntityKind::Case,
        EntityKind::Insured,
        EntityKind::Entry,
        EntityKind::Detail,
        EntityKind::Account,
        EntityKind::AccountContact,
        EntityKind::Specialty,
        EntityKind::SchoolUser,
        EntityKind::Device,
        EntityKind::Import,
        EntityKind::Counters,
        EntityKind::Ledger,
    ];
    /// Object-store name.
    pub fn store_name(self) -> &'static str {
        match self {
            EntityKind::Operator => "operators",
            EntityKind::Portfolio => "portfolios",
            EntityKind::Case => "cases",
            EntityKind::Insured => "insureds",
            EntityKind::Entry => "crm_entries",
            EntityKind::Detail => "contact_details",
            EntityKind::Account => "accounts",
            EntityKind::AccountContact => "account_contacts",
            EntityKind::Specialty => "specialties",
            EntityKind::SchoolUser => "school_users",
            EntityKind::Device => "devices",
            EntityKind::Import => "import_history",
            EntityKind::Counters => "counters",
            EntityKind::Ledger => "pii_ledger",
        }
    }
}

/// The identity of one stored record.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordKey {
    pub kind: EntityKind,
    pub id: String,
}
