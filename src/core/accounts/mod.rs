//! Accounts and account contacts in agents' portfolios: the [`ACCOUNTS`] and
//! [`ACCOUNT_CONTACTS`] templates run through the same stages as every import — `read`,
//! `headers::recognise` with the [`HeaderPolicy::RequiredSubset`] policy (the file's headers
//! decide which import it is), the template-driven `Validator`, then a planner ([`plan`]) that
//! adds the checks needing the CRM or several cells ([`rules`]: the Account Number by the
//! row's Kind, the Portfolio login, the Identifier rule, qualifications against the specialty
//! registry) and produces the one `ImportPlan` every workflow produces; `plan::record_import`
//! records the batch with before-images so undo works unchanged.
//!
//! Export profiles ([`profiles`]: named, ordered column subsets plus default filters) drive
//! the account and contact exports ([`export`]); an export with all columns has exactly the
//! template's headers, so it re-imports (changing a Portfolio cell moves the account).

pub mod export;
pub mod plan;
pub mod profiles;
pub mod rules;
pub mod workflow;

use crate::core::model::EntityKind;
use crate::core::template::{
    optional, required, ApplyRule, ColumnSpec, Field, HeaderPolicy, MatchTier, Template, ValueKind,
};

pub use crate::core::snapshot::WITHOUT_PORTFOLIO;

/// The values of an account's Kind cell.
pub const ACCOUNT_KINDS: &[&str] = &["Medical", "Company", "Insurance"];
/// The values of an account contact's Type cell.
pub const CONTACT_TYPES: &[&str] = &["DOCTOR", "SECRETARY", "OTHERS"];

const ACCOUNT_NUMBER_HELP: &str = "Medical: the CRM registration, number/state like 123456/SP. Company and Insurance: the CNPJ with valid check digits, with or without punctuation (stored as 12.345.678/0001-95).";

static ACCOUNT_COLUMNS: [ColumnSpec; 9] = [
    required(Field::AccountNumber, "Account Number", ValueKind::Identifier, ACCOUNT_NUMBER_HELP),
    required(Field::AccountName, "Account Name", ValueKind::Text, "The account's name."),
    required(
        Field::AccountKind,
        "Kind",
        ValueKind::OneOf(ACCOUNT_KINDS),
        "Medical, Company or Insurance. Decides what the Account Number must be.",
    ),
    required(
        Field::Portfolio,
        "Portfolio",
        ValueKind::Text,
        "The login of the operator whose portfolio holds the account, or Without Portfolio (the account becomes inactive).",
    ),
    optional(
        Field::Active,
        "Active",
        ValueKind::YesNo,
        "Yes or No; must agree with the Portfolio (Without Portfolio = No). May be left empty.",
    ),
    optional(
        Field::ContactName,
        "Contact Name",
        ValueKind::Text,
        "A contact created with the account (or updated when a contact of that name is already on it). Leave F–I empty for none.",
    ),
    optional(
        Field::ContactType,
        "Contact Type",
        ValueKind::OneOf(CONTACT_TYPES),
        "DOCTOR, SECRETARY or OTHERS (OTHERS when empty).",
    ),
    optional(Field::ContactEmail, "Contact Email", ValueKind::Email, "The contact's email."),
    optional(Field::ContactPhone, "Contact Phone", ValueKind::Phone, "The contact's phone."),
];

static ACCOUNT_CONTACT_COLUMNS: [ColumnSpec; 7] = [
    required(
        Field::AccountNumber,
        "Account Number",
        ValueKind::Identifier,
        "The account the contact belongs to; it must exist. ",
    ),
    required(
        Field::ContactName,
        "Contact Name",
        ValueKind::Text,
        "The doctor's name or the person responsible at the company/insurer.",
    ),
    required(
        Field::Identifier,
        "Identifier",
        ValueKind::Identifier,
        "Repeat the Account Number. An existing contact with this Identifier and name is updated; otherwise a new contact is created.",
    ),
    required(Field::ContactType, "Type", ValueKind::OneOf(CONTACT_TYPES), "DOCTOR, SECRETARY or OTHERS."),
    optional(
        Field::Qualifications,
        "Qualifications",
        ValueKind::Text,
        "Specialties separated by ; each as in the specialty registry (case and accents ignored). Empty keeps the stored ones.",
    ),
    optional(Field::ContactPhone, "Phone", ValueKind::Phone, "Empty keeps the stored phone."),
    optional(Field::ContactEmail, "Email", ValueKind::Email, "Empty keeps the stored email."),
];

/// Accounts in agents' portfolios: A–E the account, F–I a contact created with it.
pub static ACCOUNTS: Template = Template {
    id: "accounts",
    name: "Accounts",
    description: "Accounts by Account Number: found → updated, not found → created. Columns F–I describe a contact created with the account (or updated when a contact of that name is on it). Changing the Portfolio moves the account to another operator's portfolio.",
    target: EntityKind::Account,
    columns: &ACCOUNT_COLUMNS,
    header_policy: HeaderPolicy::RequiredSubset,
    cascade: &[MatchTier::AccountNumber],
    apply: ApplyRule::UpsertAccount,
    row_rules: &[],
    sheet_name: "Accounts",
};

/// Account contacts by Identifier.
pub static ACCOUNT_CONTACTS: Template = Template {
    id: "account-contacts",
    name: "Account contacts",
    description: "Contacts of existing accounts. The Identifier repeats the Account Number; a contact with that Identifier and name is updated, otherwise a new one is created.",
    target: EntityKind::AccountContact,
    columns: &ACCOUNT_CONTACT_COLUMNS,
    header_policy: HeaderPolicy::RequiredSubset,
    cascade: &[MatchTier::ContactIdentifier],
    apply: ApplyRule::UpsertAccountContact,
    row_rules: &[],
    sheet_name: "Account Contacts",
};

/// The templates of the Accounts page; a file's headers decide which one it is.
pub fn templates() -> [&'static Template; 2] {
    [&ACCOUNTS, &ACCOUNT_CONTACTS]
}

#[cfg(test)]
mod tests;
