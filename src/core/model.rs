//! The local CRM as plain data: operators, portfolios, cases, insureds, CRM entries and their
//! contact details, accounts and their contacts, the specialty registry, school users,
//! devices and the import history (README, "What it is"); the [`Crm`] that holds them keyed
//! by their identities, and the [`Record`] / [`ChangeSet`] vocabulary in which the store
//! persists them. Nothing here knows about storage or the browser; the store writes
//! `Record`s, and the import pipeline produces `ChangeSet`s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::ledger::LedgerEntry;
use crate::core::privacy::{CrmSecret, Ssn};

pub use crate::core::kinds::{EntityKind, RecordKey};

/// Internal identity of a CRM entry (never shown to a third party).
pub type EntryId = u32;

/// A permission carried by an operator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// May run System Utilities such as the bulk insurance import.
    ManageSettings,
    /// May import files into the CRM.
    Import,
    /// May export files from the CRM.
    Export,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::ManageSettings, Role::Import, Role::Export];
    pub fn label(self) -> &'static str {
        match self {
            Role::ManageSettings => "ManageSettings",
            Role::Import => "Import",
            Role::Export => "Export",
        }
    }
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.label().eq_ignore_ascii_case(text.trim()))
    }
    /// How the role is named on screen.
    pub fn display_name(self) -> &'static str {
        match self {
            Role::ManageSettings => "Manage Settings",
            Role::Import => "Import",
            Role::Export => "Export",
        }
    }
}

/// An operator (agent) of the CRM. Account portfolios belong to a login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub login: String,
    pub name: String,
    pub roles: Vec<Role>,
}

impl Operator {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A named set of cases; temporary portfolios exist only to scope an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portfolio {
    pub id: u32,
    pub name: String,
    pub owner_login: Option<String>,
    pub temporary: bool,
    pub case_ids: Vec<u32>,
}

/// A case, known to operators by its reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: u32,
    pub reference: String,
    pub title: String,
}

/// The insured entity on a case, linked to at most one CRM entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insured {
    pub id: u32,
    pub case_id: u32,
    pub reference: String,
    pub first_name: String,
    pub last_name: String,
    pub entry_id: Option<EntryId>,
}

/// The centralised CRM record (a "Contact") linked to insureds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmEntry {
    pub id: EntryId,
    pub client_reference: Option<String>,
    /// The SSN: masked whenever it is shown; stored in full.
    #[serde(with = "crate::core::privacy::ssn::stored")]
    pub ssn: Option<Ssn>,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<Date>,
}

impl CrmEntry {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The identifier that tells this entry from a namesake, as shown: its Client Reference,
    /// else its SSN masked (`SSN XXX-XX-6789`), else its entry number (`Entry 2`).
    pub fn identifier_label(&self) -> String {
        match (&self.client_reference, &self.ssn) {
            (Some(cr), _) if !cr.trim().is_empty() => cr.clone(),
            (_, Some(ssn)) => format!("SSN {ssn}"),
            _ => format!("Entry {}", self.id),
        }
    }

    /// The entry as every list, dropdown, plan and report names it — its identifier, then its
    /// name, since two entries can share a name: "CR-00012345 · José Álvarez",
    /// "SSN XXX-XX-6789 · Ann Lee", "Entry 2 · John Smith". Never a full SSN.
    pub fn label(&self) -> String {
        format!("{} · {}", self.identifier_label(), self.display_name())
    }
}

/// What a contact detail holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DetailKind {
    Address,
    Phone,
    Email,
}

impl DetailKind {
    pub const ALL: [DetailKind; 3] = [DetailKind::Address, DetailKind::Phone, DetailKind::Email];
    pub fn label(self) -> &'static str {
        match self {
            DetailKind::Address => "Address",
            DetailKind::Phone => "Phone",
            DetailKind::Email => "Email",
        }
    }
    pub fn parse(text: &str) -> Option<DetailKind> {
        DetailKind::ALL.into_iter().find(|k| k.label().eq_ignore_ascii_case(text.trim()))
    }
}

/// One child record of a CRM entry: an address, a phone number or an email.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DetailFields {
    pub label: String,
    pub primary: bool,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub region: String,
    pub postcode: String,
    pub country: String,
    pub phone: String,
    pub email: String,
}

/// A contact detail with its system-assigned Public ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetail {
    pub public_id: String,
    pub entry_id: EntryId,
    pub kind: DetailKind,
    pub fields: DetailFields,
}

/// Kind of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountKind {
    Medical,
    Company,
    Insurance,
}

impl AccountKind {
    pub const ALL: [AccountKind; 3] = [AccountKind::Medical, AccountKind::Company, AccountKind::Insurance];
    pub fn label(self) -> &'static str {
        match self {
            AccountKind::Medical => "Medical",
            AccountKind::Company => "Company",
            AccountKind::Insurance => "Insurance",
        }
    }
    pub fn parse(text: &str) -> Option<AccountKind> {
        AccountKind::ALL.into_iter().find(|k| k.label().eq_ignore_ascii_case(text.trim()))
    }
}

/// An account (a doctor's practice, a company or an insurer) in an agent's portfolio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub number: String,
    pub name: String,
    pub kind: AccountKind,
    /// The owning operator's login; `None` is "Without Portfolio" (inactive).
    pub portfolio_login: Option<String>,
}

impl Account {
    pub fn active(&self) -> bool {
        self.portfolio_login.is_some()
    }
}

/// Type of an account contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContactType {
    Doctor,
    Secretary,
    Others,
}

impl ContactType {
    pub const ALL: [ContactType; 3] = [ContactType::Doctor, ContactType::Secretary, ContactType::Others];
    pub fn label(self) -> &'static str {
        match self {
            ContactType::Doctor => "DOCTOR",
            ContactType::Secretary => "SECRETARY",
            ContactType::Others => "OTHERS",
        }
    }
    pub fn parse(text: &str) -> Option<ContactType> {
        ContactType::ALL.into_iter().find(|k| k.label().eq_ignore_ascii_case(text.trim()))
    }
}

/// A person attached to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountContact {
    pub id: u32,
    pub account_number: String,
    pub identifier: String,
    pub name: String,
    pub contact_type: ContactType,
    pub qualifications: Vec<String>,
    pub phone: String,
    pub email: String,
}

/// Insurance enrolment status of a school user or device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum InsuranceStatus {
    Enrolled,
    NotEnrolled,
}

impl InsuranceStatus {
    pub fn label(self) -> &'static str {
        match self {
            InsuranceStatus::Enrolled => "Enrolled",
            InsuranceStatus::NotEnrolled => "Not Enrolled",
        }
    }
}

/// Insurance fields carried by school users and devices.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Insurance {
    pub status: Option<InsuranceStatus>,
    pub policy_number: Option<String>,
    /// Coverage amount in cents.
    pub coverage_amount_cents: Option<i64>,
    pub coverage_type: Option<String>,
    pub start: Option<Date>,
    pub end: Option<Date>,
}

/// Whether a school user is a student or a member of staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchoolRole {
    Student,
    Staff,
}

impl SchoolRole {
    pub fn label(self) -> &'static str {
        match self {
            SchoolRole::Student => "Student",
            SchoolRole::Staff => "Staff",
        }
    }
    pub fn parse(text: &str) -> Option<SchoolRole> {
        [SchoolRole::Student, SchoolRole::Staff]
            .into_iter()
            .find(|k| k.label().eq_ignore_ascii_case(text.trim()))
    }
}

/// A student or member of staff with insurance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolUser {
    pub user_id: String,
    pub name: String,
    pub role: SchoolRole,
    pub insurance: Insurance,
}

/// A device with insurance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub serial: String,
    pub model: String,
    pub insurance: Insurance,
}

/// Counts of one applied import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub added: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub errors: usize,
}

/// The state of one record before an import touched it; `before: None` means the import
/// created it, so undo removes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeforeImage {
    pub key: RecordKey,
    pub before: Option<Record>,
}

/// One applied import, with what undo needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: u32,
    pub template_id: String,
    pub operator_login: String,
    /// Milliseconds since the Unix epoch.
    pub applied_at_ms: i64,
    pub file_name: String,
    pub sha256: String,
    pub counts: ImportCounts,
    pub before_images: Vec<BeforeImage>,
    pub undone: bool,
}

/// Sequences that hand out identities; never go backwards, so Public IDs are never reused.
/// The record also keeps the CRM's digest secret (the key of every keyed digest, see
/// [`crate::core::privacy::keyed`]): made once, from outside the core, and never replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub next_entry_id: u32,
    pub next_detail_number: u32,
    pub next_case_id: u32,
    pub next_insured_id: u32,
    pub next_portfolio_id: u32,
    pub next_account_contact_id: u32,
    pub next_import_id: u32,
    /// The CRM's digest secret; `None` only in a CRM made before digest secrets, until the
    /// service gives it one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<CrmSecret>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            next_entry_id: 1,
            next_detail_number: 1,
            next_case_id: 1,
            next_insured_id: 1,
            next_portfolio_id: 1,
            next_account_contact_id: 1,
            next_import_id: 1,
            secret: None,
        }
    }
}

/// Formats a detail number as its Public ID.
pub fn public_id_for(number: u32) -> String {
    format!("CD-{number:07}")
}

/// Any one stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Operator(Operator),
    Portfolio(Portfolio),
    Case(Case),
    Insured(Insured),
    Entry(CrmEntry),
    Detail(ContactDetail),
    Account(Account),
    AccountContact(AccountContact),
    Specialty(String),
    SchoolUser(SchoolUser),
    Device(Device),
    Import(ImportRecord),
    Counters(Counters),
    Ledger(LedgerEntry),
}

impl Record {
    pub fn kind(&self) -> EntityKind {
        match self {
            Record::Operator(_) => EntityKind::Operator,
            Record::Portfolio(_) => EntityKind::Portfolio,
            Record::Case(_) => EntityKind::Case,
            Record::Insured(_) => EntityKind::Insured,
            Record::Entry(_) => EntityKind::Entry,
            Record::Detail(_) => EntityKind::Detail,
            Record::Account(_) => EntityKind::Account,
            Record::AccountContact(_) => EntityKind::AccountContact,
            Record::Specialty(_) => EntityKind::Specialty,
            Record::SchoolUser(_) => EntityKind::SchoolUser,
            Record::Device(_) => EntityKind::Device,
            Record::Import(_) => EntityKind::Import,
            Record::Counters(_) => EntityKind::Counters,
            Record::Ledger(_) => EntityKind::Ledger,
        }
    }

    pub fn id(&self) -> String {
        match self {
            Record::Operator(r) => r.login.clone(),
            Record::Portfolio(r) => r.id.to_string(),
            Record::Case(r) => r.id.to_string(),
            Record::Insured(r) => r.id.to_string(),
            Record::Entry(r) => r.id.to_string(),
            Record::Detail(r) => r.public_id.clone(),
            Record::Account(r) => r.number.clone(),
            Record::AccountContact(r) => r.id.to_string(),
            Record::Specialty(r) => r.clone(),
            Record::SchoolUser(r) => r.user_id.clone(),
            Record::Device(r) => r.serial.clone(),
            Record::Import(r) => r.id.to_string(),
            Record::Counters(_) => "counters".to_string(),
            Record::Ledger(r) => r.id.clone(),
        }
    }

    pub fn key(&self) -> RecordKey {
        RecordKey { kind: self.kind(), id: self.id() }
    }
}

/// A batch of writes that the store applies all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeSet {
    pub puts: Vec<Record>,
    pub deletes: Vec<RecordKey>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }
}

/// The whole local CRM, keyed by identity.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Crm {
    pub operators: BTreeMap<String, Operator>,
    pub portfolios: BTreeMap<u32, Portfolio>,
    pub cases: BTreeMap<u32, Case>,
    pub insureds: BTreeMap<u32, Insured>,
    pub entries: BTreeMap<EntryId, CrmEntry>,
    pub details: BTreeMap<String, ContactDetail>,
    pub accounts: BTreeMap<String, Account>,
    pub account_contacts: BTreeMap<u32, AccountContact>,
    pub specialties: BTreeMap<String, ()>,
    pub school_users: BTreeMap<String, SchoolUser>,
    pub devices: BTreeMap<String, Device>,
    pub imports: BTreeMap<u32, ImportRecord>,
    pub counters: Counters,
    /// The PII ledger, by id (ids sort by time).
    #[serde(default)]
    pub ledger: BTreeMap<String, LedgerEntry>,
}

impl Crm {
    /// The CRM's digest secret, once it has one.
    pub fn secret(&self) -> Option<&CrmSecret> {
        self.counters.secret.as_ref()
    }

    pub fn is_empty(&self) -> bool {
        self.operators.is_empty() && self.entries.is_empty() && self.cases.is_empty()
    }

    /// Puts one record in place (insert or replace).
    pub fn put(&mut self, record: Record) {
        match record {
            Record::Operator(r) => {
                self.operators.insert(r.login.clone(), r);
            }
            Record::Portfolio(r) => {
                self.portfolios.insert(r.id, r);
            }
            Record::Case(r) => {
                self.cases.insert(r.id, r);
            }
            Record::Insured(r) => {
                self.insureds.insert(r.id, r);
            }
            Record::Entry(r) => {
                self.entries.insert(r.id, r);
            }
            Record::Detail(r) => {
                self.details.insert(r.public_id.clone(), r);
            }
            Record::Account(r) => {
                self.accounts.insert(r.number.clone(), r);
            }
            Record::AccountContact(r) => {
                self.account_contacts.insert(r.id, r);
            }
            Record::Specialty(r) => {
                self.specialties.insert(r, ());
            }
            Record::SchoolUser(r) => {
                self.school_users.insert(r.user_id.clone(), r);
            }
            Record::Device(r) => {
                self.devices.insert(r.serial.clone(), r);
            }
            Record::Import(r) => {
                self.imports.insert(r.id, r);
            }
            Record::Counters(c) => self.counters = c,
            Record::Ledger(r) => {
                self.ledger.insert(r.id.clone(), r);
            }
        }
    }

    /// Removes one record if present.
    pub fn delete(&mut self, key: &RecordKey) {
        let num = || key.id.parse::<u32>().unwrap_or(u32::MAX);
        match key.kind {
            EntityKind::Operator => {
                self.operators.remove(&key.id);
            }
            EntityKind::Portfolio => {
                self.portfolios.remove(&num());
            }
            EntityKind::Case => {
                self.cases.remove(&num());
            }
            EntityKind::Insured => {
                self.insureds.remove(&num());
            }
            EntityKind::Entry => {
                self.entries.remove(&num());
            }
            EntityKind::Detail => {
                self.details.remove(&key.id);
            }
            EntityKind::Account => {
                self.accounts.remove(&key.id);
            }
            EntityKind::AccountContact => {
                self.account_contacts.remove(&num());
            }
            EntityKind::Specialty => {
                self.specialties.remove(&key.id);
            }
            EntityKind::SchoolUser => {
                self.school_users.remove(&key.id);
            }
            EntityKind::Device => {
                self.devices.remove(&key.id);
            }
            EntityKind::Import => {
                self.imports.remove(&num());
            }
            // The digest secret outlives its counters: keyed digests made with it stay valid.
            EntityKind::Counters => {
                self.counters = Counters { secret: self.counters.secret, ..Counters::default() }
            }
            EntityKind::Ledger => {
                self.ledger.remove(&key.id);
            }
        }
    }

    /// Looks one record up by key.
    pub fn get(&self, key: &RecordKey) -> Option<Record> {
        let num = || key.id.parse::<u32>().ok();
        match key.kind {
            EntityKind::Operator => self.operators.get(&key.id).cloned().map(Record::Operator),
            EntityKind::Portfolio => {
                num().and_then(|n| self.portfolios.get(&n)).cloned().map(Record::Portfolio)
            }
            EntityKind::Case => num().and_then(|n| self.cases.get(&n)).cloned().map(Record::Case),
            EntityKind::Insured => num().and_then(|n| self.insureds.get(&n)).cloned().map(Record::Insured),
            EntityKind::Entry => num().and_then(|n| self.entries.get(&n)).cloned().map(Record::Entry),
            EntityKind::Detail => self.details.get(&key.id).cloned().map(Record::Detail),
            EntityKind::Account => self.accounts.get(&key.id).cloned().map(Record::Account),
            EntityKind::AccountContact => {
                num().and_then(|n| self.account_contacts.get(&n)).cloned().map(Record::AccountContact)
            }
            EntityKind::Specialty => {
                self.specialties.contains_key(&key.id).then(|| Record::Specialty(key.id.clone()))
            }
            EntityKind::SchoolUser => self.school_users.get(&key.id).cloned().map(Record::SchoolUser),
            EntityKind::Device => self.devices.get(&key.id).cloned().map(Record::Device),
            EntityKind::Import => num().and_then(|n| self.imports.get(&n)).cloned().map(Record::Import),
            EntityKind::Counters => Some(Record::Counters(self.counters)),
            EntityKind::Ledger => self.ledger.get(&key.id).cloned().map(Record::Ledger),
        }
    }

    /// Every record, kind by kind, in key order.
    pub fn records(&self) -> Vec<Record> {
        let mut out = Vec::new();
        out.extend(self.operators.values().cloned().map(Record::Operator));
        out.extend(self.portfolios.values().cloned().map(Record::Portfolio));
        out.extend(self.cases.values().cloned().map(Record::Case));
        out.extend(self.insureds.values().cloned().map(Record::Insured));
        out.extend(self.entries.values().cloned().map(Record::Entry));
        out.extend(self.details.values().cloned().map(Record::Detail));
        out.extend(self.accounts.values().cloned().map(Record::Account));
        out.extend(self.account_contacts.values().cloned().map(Record::AccountContact));
        out.extend(self.specialties.keys().cloned().map(Record::Specialty));
        out.extend(self.school_users.values().cloned().map(Record::SchoolUser));
        out.extend(self.devices.values().cloned().map(Record::Device));
        out.extend(self.imports.values().cloned().map(Record::Import));
        out.push(Record::Counters(self.counters));
        out.extend(self.ledger.values().cloned().map(Record::Ledger));
        out
    }

    /// Every record of one kind, in key order.
    pub fn records_of(&self, kind: EntityKind) -> Vec<Record> {
        match kind {
            EntityKind::Operator => self.operators.values().cloned().map(Record::Operator).collect(),
            EntityKind::Portfolio => self.portfolios.values().cloned().map(Record::Portfolio).collect(),
            EntityKind::Case => self.cases.values().cloned().map(Record::Case).collect(),
            EntityKind::Insured => self.insureds.values().cloned().map(Record::Insured).collect(),
            EntityKind::Entry => self.entries.values().cloned().map(Record::Entry).collect(),
            EntityKind::Detail => self.details.values().cloned().map(Record::Detail).collect(),
            EntityKind::Account => self.accounts.values().cloned().map(Record::Account).collect(),
            EntityKind::AccountContact => {
                self.account_contacts.values().cloned().map(Record::AccountContact).collect()
            }
            EntityKind::Specialty => self.specialties.keys().cloned().map(Record::Specialty).collect(),
            EntityKind::SchoolUser => self.school_users.values().cloned().map(Record::SchoolUser).collect(),
            EntityKind::Device => self.devices.values().cloned().map(Record::Device).collect(),
            EntityKind::Import => self.imports.values().cloned().map(Record::Import).collect(),
            EntityKind::Counters => vec![Record::Counters(self.counters)],
            EntityKind::Ledger => self.ledger.values().cloned().map(Record::Ledger).collect(),
        }
    }

    /// Builds a CRM from records (the inverse of [`Crm::records`]).
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Crm {
        let mut crm = Crm::default();
        for r in records {
            crm.put(r);
        }
        crm
    }

    /// Number of records of one kind.
    pub fn count(&self, kind: EntityKind) -> usize {
        match kind {
            EntityKind::Operator => self.operators.len(),
            EntityKind::Portfolio => self.portfolios.len(),
            EntityKind::Case => self.cases.len(),
            EntityKind::Insured => self.insureds.len(),
            EntityKind::Entry => self.entries.len(),
            EntityKind::Detail => self.details.len(),
            EntityKind::Account => self.accounts.len(),
            EntityKind::AccountContact => self.account_contacts.len(),
            EntityKind::Specialty => self.specialties.len(),
            EntityKind::SchoolUser => self.school_users.len(),
            EntityKind::Device => self.devices.len(),
            EntityKind::Import => self.imports.len(),
            EntityKind::Counters => 1,
            EntityKind::Ledger => self.ledger.len(),
        }
    }
}
