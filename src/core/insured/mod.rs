//! The insured contact details workflow: the Insured CRM Export of a portfolio, edited in
//! Excel (or received from a third party), read back. Its [`INSURED_CONTACT_DETAILS`] template
//! is the export's column layout; rows are matched to CRM entries by the 4-tier cascade
//! ([`matching`]), unmatched rows are grouped into detected persons with ranked candidates
//! ([`ranking`]) for the operator to resolve, and the planner ([`plan`]) turns rows and choices
//! into detail updates, added details, created entries and insured links. [`export`] writes
//! the Insured CRM Export in the same layout, with its export [`base`] on a very hidden sheet
//! so that a re-import merges three ways (file, base, CRM now) instead of bringing back values
//! the CRM has changed since.

pub mod base;
pub mod export;
pub mod matching;
pub mod plan;
pub mod ranking;
pub mod workflow;

use crate::core::model::EntityKind;
use crate::core::template::{
    needed_to_create, optional, ApplyRule, ColumnSpec, Field, HeaderPolicy, MatchTier, RowRule, Template,
    ValueKind,
};

/// The values of the Detail Type column.
pub const DETAIL_TYPES: &[&str] = &["Address", "Phone", "Email"];

/// The columns of the insured contact details template and of the Insured CRM Export, in order.
pub static INSURED_COLUMNS: [ColumnSpec; 19] = [
    optional(
        Field::CaseReference,
        "Case Reference",
        ValueKind::Identifier,
        "The case the insured is on. Must exist when given.",
    ),
    optional(
        Field::InsuredReference,
        "Insured Reference",
        ValueKind::Identifier,
        "The insured on that case. Used for matching tier 3 and for linking a new CRM entry.",
    ),
    needed_to_create(
        Field::FirstName,
        "First Name",
        ValueKind::Text,
        "First name of the person on the CRM entry. Needed to create an entry, to match by Insured Reference and to suggest candidates; a row whose Public ID, Client Reference or SSN finds the entry may leave it empty (the CRM keeps its name).",
    ),
    needed_to_create(
        Field::LastName,
        "Last Name",
        ValueKind::Text,
        "Last name of the person on the CRM entry. Needed to create an entry, to match by Insured Reference and to suggest candidates; a row whose Public ID, Client Reference or SSN finds the entry may leave it empty (the CRM keeps its name).",
    ),
    optional(
        Field::ClientReference,
        "Client Reference",
        ValueKind::Identifier,
        "External identifier of the CRM entry (tier 2). A new entry keeps it.",
    ),
    optional(Field::Ssn, "SSN", ValueKind::Ssn, "Nine digits, written AAA-GG-SSSS (dashes optional). Used for matching tier 2."),
    optional(Field::DateOfBirth, "Date of Birth", ValueKind::Date, "An Excel date or YYYY-MM-DD."),
    optional(
        Field::DetailType,
        "Detail Type",
        ValueKind::OneOf(DETAIL_TYPES),
        "Address, Phone or Email. Leave the detail columns empty for a row without a detail.",
    ),
    optional(Field::Label, "Label", ValueKind::Text, "Home, Work, Mobile…"),
    optional(Field::Primary, "Primary", ValueKind::YesNo, "Yes or No."),
    optional(
        Field::AddressLine1,
        "Address Line 1",
        ValueKind::Text,
        "Expected for an Address; an address without it is taken as given, with a warning.",
    ),
    optional(Field::AddressLine2, "Address Line 2", ValueKind::Text, ""),
    optional(Field::City, "City", ValueKind::Text, ""),
    optional(Field::Region, "Region", ValueKind::Text, ""),
    optional(Field::Postcode, "Postcode", ValueKind::Identifier, "Kept as text: leading zeros stay."),
    optional(Field::Country, "Country", ValueKind::Text, ""),
    optional(
        Field::Phone,
        "Phone",
        ValueKind::Phone,
        "Required for a Phone. Digits with + ( ) - . and spaces.",
    ),
    optional(Field::Email, "Email", ValueKind::Email, "Required for an Email."),
    optional(
        Field::PublicId,
        "Public ID",
        ValueKind::Identifier,
        "Keep it exactly as exported to update that detail; leave it blank to add a new detail.",
    ),
];

/// Insured contact details: the Insured CRM Export read back.
pub static INSURED_CONTACT_DETAILS: Template = Template {
    id: "insured-contact-details",
    name: "Insured contact details",
    description: "Contact details of the insureds on your cases, as in the Insured CRM Export. Rows with a Public ID update that detail; rows without one add a detail.",
    target: EntityKind::Detail,
    columns: &INSURED_COLUMNS,
    header_policy: HeaderPolicy::SuggestAndConfirm,
    cascade: &[MatchTier::PublicId, MatchTier::ClientReference, MatchTier::InsuredReference],
    apply: ApplyRule::UpsertContactDetail,
    row_rules: &[RowRule::DetailValuesMatchType, RowRule::PublicIdUniqueInFile, RowRule::CaseAndInsuredExist],
    sheet_name: "Insured Contact Details",
};

/// The templates of the Import page.
pub fn templates() -> [&'static Template; 1] {
    [&INSURED_CONTACT_DETAILS]
}

/// One of [`templates`] by id.
pub fn template_by_id(id: &str) -> Option<&'static Template> {
    templates().into_iter().find(|t| t.id == id)
}
