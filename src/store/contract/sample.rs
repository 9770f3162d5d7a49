//! The sample data of the store contract: entries, details and a small CRM with at least one
//! record of every kind.

use crate::core::date::Date;
use crate::core::ledger::{LedgerEntry, LedgerFile};
use crate::core::model::{
    Account, AccountContact, AccountKind, BeforeImage, Case, ContactDetail, ContactType, Counters, Crm,
    CrmEntry, DetailFields, DetailKind, Device, EntityKind, ImportCounts, ImportRecord, Insurance,
    InsuranceStatus, Insured, Operator, Portfolio, Record, RecordKey, Role, SchoolRole, SchoolUser,
};
use crate::core::privacy::{CrmSecret, FullSsns, Ssn};

/// A CRM entry with optional Client Reference and SSN.
pub fn entry(
    id: u32,
    client_reference: Option<&str>,
    ssn: Option<&str>,
    first: &str,
    last: &str,
) -> CrmEntry {
    CrmEntry {
        id,
        client_reference: client_reference.map(str::to_string),
        ssn: ssn.map(|s| Ssn::parse(s).expect("a test SSN of nine digits")),
        first_name: first.to_string(),
        last_name: last.to_string(),
        date_of_birth: Date::new(1980, 2, 29),
    }
}

/// A phone detail of an entry.
pub fn phone(number: u32, entry_id: u32, value: &str) -> ContactDetail {
    ContactDetail {
        public_id: crate::core::model::public_id_for(number),
        entry_id,
        kind: DetailKind::Phone,
        fields: DetailFields {
            label: "Mobile".into(),
            primary: true,
            phone: value.into(),
            ..Default::default()
        },
    }
}

/// A case with its reference.
pub(super) fn case(id: u32, reference: &str) -> Case {
    Case { id, reference: reference.into(), title: format!("Case {reference}") }
}

/// A small CRM with at least one record of every kind, including an import record whose
/// before-images hold a detail and a "created by the import" marker.
pub fn sample_crm() -> Crm {
    let mut crm = Crm::default();
    crm.put(Record::Operator(Operator {
        login: "ana".into(),
        name: "Ana Souza".into(),
        roles: vec![Role::ManageSettings, Role::Import],
    }));
    crm.put(Record::Portfolio(Portfolio {
        id: 1,
        name: "North".into(),
        owner_login: Some("ana".into()),
        temporary: false,
        case_ids: vec![1, 2],
    }));
    crm.put(Record::Case(case(1, "CASE-001")));
    crm.put(Record::Case(case(2, "CASE-002")));
    crm.put(Record::Insured(Insured {
        id: 1,
        case_id: 1,
        reference: "INS-1".into(),
        first_name: "José".into(),
        last_name: "Álvarez".into(),
        entry_id: Some(1),
    }));
    crm.put(Record::Entry(entry(1, Some("CR-1"), Some("123-45-6789"), "José", "Álvarez")));
    crm.put(Record::Entry(entry(2, None, None, "Mary", "O'Neil")));
    crm.put(Record::Entry(entry(3, None, Some("987-65-4321"), "Li", "Wei")));
    crm.put(Record::Detail(phone(1, 1, "0044 20 7946 0000")));
    crm.put(Record::Detail(ContactDetail {
        public_id: crate::core::model::public_id_for(2),
        entry_id: 1,
        kind: DetailKind::Address,
        fields: DetailFields {
            label: "Home".into(),
            address_line1: "1 Rua \"A\"".into(),
            city: "Lisboa".into(),
            postcode: "01000-000".into(),
            country: "PT".into(),
            ..Default::default()
        },
    }));
    crm.put(Record::Account(Account {
        number: "12.345.678/0001-95".into(),
        name: "Clinic".into(),
        kind: AccountKind::Company,
        portfolio_login: None,
    }));
    crm.put(Record::AccountContact(AccountContact {
        id: 1,
        account_number: "12.345.678/0001-95".into(),
        identifier: "12.345.678/0001-95".into(),
        name: "Dr House".into(),
        contact_type: ContactType::Doctor,
        qualifications: vec!["Cardiology".into()],
        phone: "=1+1".into(),
        email: "house@example.org".into(),
    }));
    crm.put(Record::Specialty("Cardiology".into()));
    crm.put(Record::SchoolUser(SchoolUser {
        user_id: "0042".into(),
        name: "Kim".into(),
        role: SchoolRole::Student,
        insurance: Insurance {
            status: Some(InsuranceStatus::Enrolled),
            policy_number: Some("P-1".into()),
            coverage_amount_cents: Some(150_000),
            coverage_type: None,
            start: Date::new(2024, 1, 1),
            end: None,
        },
    }));
    crm.put(Record::Device(Device {
        serial: "SN-0001".into(),
        model: "Tablet".into(),
        insurance: Insurance::default(),
    }));
    crm.put(Record::Import(ImportRecord {
        id: 1,
        template_id: "insured-contact-details".into(),
        operator_login: "ana".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: "export.xlsx".into(),
        sha256: "ab".repeat(32),
        counts: ImportCounts { created: 1, updated: 1, ..Default::default() },
        before_images: vec![
            BeforeImage {
                key: RecordKey { kind: EntityKind::Detail, id: crate::core::model::public_id_for(1) },
                before: Some(Record::Detail(phone(1, 1, "old number"))),
            },
            BeforeImage { key: RecordKey { kind: EntityKind::Entry, id: "3".into() }, before: None },
        ],
        undone: false,
    }));
    // The PII ledger: a Reveal and a file with full SSNs.
    crm.put(Record::Ledger(LedgerEntry::reveal("ana", 1_700_000_000_001, 1, "Ann Lee")));
    let snapshot = FullSsns { bytes: b"a snapshot".to_vec(), ssns: 2 };
    crm.put(Record::Ledger(
        LedgerEntry::file("ana", 1_700_000_000_002, LedgerFile::Snapshot, "snapshot.xlsx", &snapshot)
            .expect("a file with SSNs"),
    ));
    crm.counters = Counters {
        next_entry_id: 4,
        next_detail_number: 3,
        next_case_id: 3,
        next_insured_id: 2,
        next_portfolio_id: 2,
        next_account_contact_id: 2,
        next_import_id: 2,
        secret: Some(CrmSecret::from_bytes([7; 32])),
    };
    crm
}
