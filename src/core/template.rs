//! Import templates as data (DESIGN §5). A [`Template`] declares its columns (header, required,
//! value kind, allowed values, help), its match cascade, what happens when nothing matches and
//! how a matched row is applied. Header checks, validation, matching, planning, the
//! downloadable template workbook and the export layout are all driven by these declarations:
//! adding a workflow means adding a template here.

use rust_xlsxwriter::{DataValidation, Workbook};

use crate::core::export::INSURED_EXPORT_COLUMNS;
use crate::core::model::EntityKind;
use crate::core::xlsx::{save, write_header, ExportError, Formats};

/// How a column's cells are read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text.
    Text,
    /// An identifier read as text exactly as written: leading zeros kept, never a number.
    Identifier,
    /// A US Social Security Number: nine digits, valid area/group/serial.
    Ssn,
    Email,
    Phone,
    /// A date: a real Excel date, ISO `YYYY-MM-DD` text, or text in the day/month order the
    /// operator chose (`ValidationOptions::day_month_order`); never guessed.
    Date,
    /// `Yes` or `No` (case-insensitive; Excel TRUE/FALSE accepted).
    YesNo,
    /// One of a fixed list (case-insensitive); the canonical spelling is stored.
    OneOf(&'static [&'static str]),
    /// An insurance status: `Yes`/`Enrolled` or `No`/`Not Enrolled` (case-insensitive) and
    /// nothing else; stored as the canonical `Enrolled` / `Not Enrolled`.
    InsuranceStatus,
    /// A non-negative decimal amount with at most two decimal places (`12`, `12.5`, `12.50`);
    /// stored as cents. No thousands separators, no decimal comma, no currency sign.
    Amount,
}

/// One declared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    pub header: &'static str,
    pub required: bool,
    pub kind: ValueKind,
    pub help: &'static str,
}

/// One step of a match cascade, tried in order; the first that decides wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MatchTier {
    /// Tier 1: the contact detail with the row's Public ID.
    PublicId,
    /// Tier 2: the CRM entry carrying the row's Client Reference and/or SSN.
    ClientReference,
    /// Tier 3: the CRM entry linked to the insured on the row's case, names agreeing.
    InsuredReference,
    /// Tier 4: nothing matched; the operator's dropdown decided.
    OperatorChoice,
    /// The school user with the row's User ID (insurance import).
    UserId,
    /// The device with the row's Device Serial (insurance import).
    DeviceSerial,
}

impl MatchTier {
    pub fn label(self) -> &'static str {
        match self {
            MatchTier::PublicId => "1 · Public ID",
            MatchTier::ClientReference => "2 · Client Reference / SSN",
            MatchTier::InsuredReference => "3 · Insured Reference + name",
            MatchTier::OperatorChoice => "4 · Operator choice",
            MatchTier::UserId => "User ID",
            MatchTier::DeviceSerial => "Device Serial",
        }
    }
}

/// What happens to rows that no tier matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnmatched {
    /// Group them by detected person; each group gets a dropdown defaulting to "create".
    PromptOrCreate,
    /// Create a new record without asking.
    Create,
    /// Skip the row and list it.
    Skip,
}

/// How a matched row changes the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyRule {
    /// Update the contact detail with the row's Public ID; add a detail when there is none;
    /// fill missing identity fields of the entry; link the insured on the row's case.
    UpsertContactDetail,
    /// Overwrite the matched record's insurance fields named by the template's columns with
    /// the row's values (an empty optional cell clears that field); nothing else changes.
    OverwriteInsurance,
    /// Match an account by Account Number: update it or create it; the row's contact (F–I)
    /// is created with it, or updated when a contact of that name is on it.
    UpsertAccount,
    /// Match an account contact by Identifier and name: update it or create it.
    UpsertAccountContact,
}

/// Checks that span several cells of a row or several rows of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRule {
    /// Detail Type decides which value columns must be filled.
    DetailValuesMatchType,
    /// A Public ID may appear on one row of the file only.
    PublicIdUniqueInFile,
    /// Case Reference and Insured Reference, when given, must exist (the insured on that case).
    CaseAndInsuredExist,
}

/// A complete import template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub target: EntityKind,
    pub columns: &'static [ColumnSpec],
    pub cascade: &'static [MatchTier],
    pub when_unmatched: WhenUnmatched,
    pub apply: ApplyRule,
    pub row_rules: &'static [RowRule],
    /// Sheet name of the downloadable template.
    pub sheet_name: &'static str,
}

impl Template {
    /// Index of a declared column by header.
    pub fn column(&self, header: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.header == header)
    }

    pub fn headers(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.header).collect()
    }
}

pub const DETAIL_TYPES: &[&str] = &["Address", "Phone", "Email"];
pub const YES_NO: &[&str] = &["Yes", "No"];
/// The values an insurance status cell may hold (case-insensitive); Yes = Enrolled.
pub const INSURANCE_STATUS_VALUES: &[&str] = &["Enrolled", "Not Enrolled", "Yes", "No"];

/// Column positions of the insured contact details template (same as the export).
pub mod insured_columns {
    pub const CASE_REFERENCE: usize = 0;
    pub const INSURED_REFERENCE: usize = 1;
    pub const FIRST_NAME: usize = 2;
    pub const LAST_NAME: usize = 3;
    pub const CLIENT_REFERENCE: usize = 4;
    pub const SSN: usize = 5;
    pub const DATE_OF_BIRTH: usize = 6;
    pub const DETAIL_TYPE: usize = 7;
    pub const LABEL: usize = 8;
    pub const PRIMARY: usize = 9;
    pub const ADDRESS_LINE1: usize = 10;
    pub const ADDRESS_LINE2: usize = 11;
    pub const CITY: usize = 12;
    pub const REGION: usize = 13;
    pub const POSTCODE: usize = 14;
    pub const COUNTRY: usize = 15;
    pub const PHONE: usize = 16;
    pub const EMAIL: usize = 17;
    pub const PUBLIC_ID: usize = 18;
}

const fn col(header: &'static str, required: bool, kind: ValueKind, help: &'static str) -> ColumnSpec {
    ColumnSpec { header, required, kind, help }
}

static INSURED_CONTACT_COLUMNS: [ColumnSpec; 19] = [
    col(
        INSURED_EXPORT_COLUMNS[0],
        false,
        ValueKind::Identifier,
        "The case the insured is on. Must exist when given.",
    ),
    col(
        INSURED_EXPORT_COLUMNS[1],
        false,
        ValueKind::Identifier,
        "The insured on that case. Used for matching tier 3 and for linking a new CRM entry.",
    ),
    col(INSURED_EXPORT_COLUMNS[2], true, ValueKind::Text, "First name of the person on the CRM entry."),
    col(INSURED_EXPORT_COLUMNS[3], true, ValueKind::Text, "Last name of the person on the CRM entry."),
    col(
        INSURED_EXPORT_COLUMNS[4],
        false,
        ValueKind::Identifier,
        "External identifier of the CRM entry (tier 2). A new entry keeps it.",
    ),
    col(INSURED_EXPORT_COLUMNS[5], false, ValueKind::Ssn, "123-45-6789. Used for matching tier 2."),
    col(INSURED_EXPORT_COLUMNS[6], false, ValueKind::Date, "An Excel date or YYYY-MM-DD."),
    col(
        INSURED_EXPORT_COLUMNS[7],
        false,
        ValueKind::OneOf(DETAIL_TYPES),
        "Address, Phone or Email. Leave the detail columns empty for a row without a detail.",
    ),
    col(INSURED_EXPORT_COLUMNS[8], false, ValueKind::Text, "Home, Work, Mobile…"),
    col(INSURED_EXPORT_COLUMNS[9], false, ValueKind::YesNo, "Yes or No."),
    col(INSURED_EXPORT_COLUMNS[10], false, ValueKind::Text, "Required for an Address."),
    col(INSURED_EXPORT_COLUMNS[11], false, ValueKind::Text, ""),
    col(INSURED_EXPORT_COLUMNS[12], false, ValueKind::Text, ""),
    col(INSURED_EXPORT_COLUMNS[13], false, ValueKind::Text, ""),
    col(INSURED_EXPORT_COLUMNS[14], false, ValueKind::Identifier, "Kept as text: leading zeros stay."),
    col(INSURED_EXPORT_COLUMNS[15], false, ValueKind::Text, ""),
    col(
        INSURED_EXPORT_COLUMNS[16],
        false,
        ValueKind::Phone,
        "Required for a Phone. Digits with + ( ) - . and spaces.",
    ),
    col(INSURED_EXPORT_COLUMNS[17], false, ValueKind::Email, "Required for an Email."),
    col(
        INSURED_EXPORT_COLUMNS[18],
        false,
        ValueKind::Identifier,
        "Keep it exactly as exported to update that detail; leave it blank to add a new detail.",
    ),
];

/// Insured contact details: the Insured CRM Export read back (seed 000).
pub static INSURED_CONTACT_DETAILS: Template = Template {
    id: "insured-contact-details",
    name: "Insured contact details",
    description: "Contact details of the insureds on your cases, as in the Insured CRM Export. Rows with a Public ID update that detail; rows without one add a detail.",
    target: EntityKind::Detail,
    columns: &INSURED_CONTACT_COLUMNS,
    cascade: &[MatchTier::PublicId, MatchTier::ClientReference, MatchTier::InsuredReference],
    when_unmatched: WhenUnmatched::PromptOrCreate,
    apply: ApplyRule::UpsertContactDetail,
    row_rules: &[RowRule::DetailValuesMatchType, RowRule::PublicIdUniqueInFile, RowRule::CaseAndInsuredExist],
    sheet_name: "Insured Contact Details",
};

/// Column positions of the user insurance template.
pub mod user_insurance_columns {
    pub const USER_ID: usize = 0;
    pub const STATUS: usize = 1;
    pub const POLICY_NUMBER: usize = 2;
    pub const COVERAGE_START: usize = 3;
    pub const COVERAGE_END: usize = 4;
}

/// Column positions of the device insurance template.
pub mod device_insurance_columns {
    pub const DEVICE_SERIAL: usize = 0;
    pub const STATUS: usize = 1;
    pub const POLICY_NUMBER: usize = 2;
    pub const COVERAGE_AMOUNT: usize = 3;
    pub const COVERAGE_TYPE: usize = 4;
    pub const COVERAGE_START: usize = 5;
}

const STATUS_HELP: &str = "Yes or Enrolled; No or Not Enrolled (any case). Nothing else is accepted.";
const CLEARS: &str = "Optional. An empty cell clears the stored value.";

static USER_INSURANCE_COLUMNS: [ColumnSpec; 5] = [
    col("User ID", true, ValueKind::Identifier, "The school user's ID exactly as in the CRM (leading zeros kept). Users not found are skipped and listed."),
    col("Insurance Status", true, ValueKind::InsuranceStatus, STATUS_HELP),
    col("Policy Number", false, ValueKind::Identifier, CLEARS),
    col("Coverage Start Date", false, ValueKind::Date, "An Excel date, YYYY-MM-DD, or the day/month order chosen on the page. An empty cell clears the stored value."),
    col("Coverage End Date", false, ValueKind::Date, "An Excel date, YYYY-MM-DD, or the day/month order chosen on the page. An empty cell clears the stored value."),
];

static DEVICE_INSURANCE_COLUMNS: [ColumnSpec; 6] = [
    col("Device Serial", true, ValueKind::Identifier, "The device's serial exactly as in the CRM. Devices not found are skipped and listed."),
    col("Insurance Status", true, ValueKind::InsuranceStatus, STATUS_HELP),
    col("Policy Number", false, ValueKind::Identifier, CLEARS),
    col("Coverage Amount", false, ValueKind::Amount, "A decimal with at most two places, like 1250 or 1250.50 (no thousands separators, no currency sign). An empty cell clears the stored value."),
    col("Coverage Type", false, ValueKind::Text, CLEARS),
    col("Coverage Start Date", false, ValueKind::Date, "An Excel date, YYYY-MM-DD, or the day/month order chosen on the page. An empty cell clears the stored value."),
];

/// User insurance: overwrite the insurance of existing school users (seed 002).
pub static USER_INSURANCE: Template = Template {
    id: "user-insurance",
    name: "User insurance",
    description: "Insurance of school users by User ID. For each row whose User ID exists, the insurance fields are overwritten with the row's values (an empty optional cell clears that field). Unknown User IDs are skipped and listed; users not in the file are untouched.",
    target: EntityKind::SchoolUser,
    columns: &USER_INSURANCE_COLUMNS,
    cascade: &[MatchTier::UserId],
    when_unmatched: WhenUnmatched::Skip,
    apply: ApplyRule::OverwriteInsurance,
    row_rules: &[],
    sheet_name: "User Insurance",
};

/// Device insurance: overwrite the insurance of existing devices (seed 002).
pub static DEVICE_INSURANCE: Template = Template {
    id: "device-insurance",
    name: "Device insurance",
    description: "Insurance of devices by Device Serial. For each row whose serial exists, the insurance fields are overwritten with the row's values (an empty optional cell clears that field). Unknown serials are skipped and listed; devices not in the file are untouched.",
    target: EntityKind::Device,
    columns: &DEVICE_INSURANCE_COLUMNS,
    cascade: &[MatchTier::DeviceSerial],
    when_unmatched: WhenUnmatched::Skip,
    apply: ApplyRule::OverwriteInsurance,
    row_rules: &[],
    sheet_name: "Device Insurance",
};

/// The templates of the bulk insurance import (System Utilities). Kept apart from
/// [`all_templates`], whose import page drives the insured pipeline only.
pub fn insurance_templates() -> [&'static Template; 2] {
    [&USER_INSURANCE, &DEVICE_INSURANCE]
}

/// The values of an account's Kind cell.
pub const ACCOUNT_KINDS: &[&str] = &["Medical", "Company", "Insurance"];
/// The values of an account contact's Type cell.
pub const CONTACT_TYPES: &[&str] = &["DOCTOR", "SECRETARY", "OTHERS"];

const ACCOUNT_NUMBER_HELP: &str = "Medical: the CRM registration, number/state like 123456/SP. Company and Insurance: the CNPJ with valid check digits, with or without punctuation (stored as 12.345.678/0001-95).";

static ACCOUNT_COLUMNS: [ColumnSpec; 9] = [
    col("Account Number", true, ValueKind::Identifier, ACCOUNT_NUMBER_HELP),
    col("Account Name", true, ValueKind::Text, "The account's name."),
    col("Kind", true, ValueKind::OneOf(ACCOUNT_KINDS), "Medical, Company or Insurance. Decides what the Account Number must be."),
    col("Portfolio", true, ValueKind::Text, "The login of the operator whose portfolio holds the account, or Without Portfolio (the account becomes inactive)."),
    col("Active", false, ValueKind::YesNo, "Yes or No; must agree with the Portfolio (Without Portfolio = No). May be left empty."),
    col("Contact Name", false, ValueKind::Text, "A contact created with the account (or updated when a contact of that name is already on it). Leave F–I empty for none."),
    col("Contact Type", false, ValueKind::OneOf(CONTACT_TYPES), "DOCTOR, SECRETARY or OTHERS (OTHERS when empty)."),
    col("Contact Email", false, ValueKind::Email, "The contact's email."),
    col("Contact Phone", false, ValueKind::Phone, "The contact's phone."),
];

static ACCOUNT_CONTACT_COLUMNS: [ColumnSpec; 7] = [
    col("Account Number", true, ValueKind::Identifier, "The account the contact belongs to; it must exist. " ),
    col("Contact Name", true, ValueKind::Text, "The doctor's name or the person responsible at the company/insurer."),
    col("Identifier", true, ValueKind::Identifier, "Repeat the Account Number. An existing contact with this Identifier and name is updated; otherwise a new contact is created."),
    col("Type", true, ValueKind::OneOf(CONTACT_TYPES), "DOCTOR, SECRETARY or OTHERS."),
    col("Qualifications", false, ValueKind::Text, "Specialties separated by ; each as in the specialty registry (case and accents ignored). Empty keeps the stored ones."),
    col("Phone", false, ValueKind::Phone, "Empty keeps the stored phone."),
    col("Email", false, ValueKind::Email, "Empty keeps the stored email."),
];

/// Accounts in agents' portfolios (seed 001): A–E the account, F–I a contact created with it.
pub static ACCOUNTS: Template = Template {
    id: "accounts",
    name: "Accounts",
    description: "Accounts by Account Number: found → updated, not found → created. Columns F–I describe a contact created with the account (or updated when a contact of that name is on it). Changing the Portfolio moves the account to another operator's portfolio.",
    target: EntityKind::Account,
    columns: &ACCOUNT_COLUMNS,
    cascade: &[],
    when_unmatched: WhenUnmatched::Create,
    apply: ApplyRule::UpsertAccount,
    row_rules: &[],
    sheet_name: "Accounts",
};

/// Account contacts by Identifier (seed 001).
pub static ACCOUNT_CONTACTS: Template = Template {
    id: "account-contacts",
    name: "Account contacts",
    description: "Contacts of existing accounts. The Identifier repeats the Account Number; a contact with that Identifier and name is updated, otherwise a new one is created.",
    target: EntityKind::AccountContact,
    columns: &ACCOUNT_CONTACT_COLUMNS,
    cascade: &[],
    when_unmatched: WhenUnmatched::Create,
    apply: ApplyRule::UpsertAccountContact,
    row_rules: &[],
    sheet_name: "Account Contacts",
};

/// The templates of the Accounts page. Kept apart from [`all_templates`].
pub fn account_templates() -> [&'static Template; 2] {
    [&ACCOUNTS, &ACCOUNT_CONTACTS]
}

/// Every template the app offers.
pub fn all_templates() -> [&'static Template; 1] {
    [&INSURED_CONTACT_DETAILS]
}

pub fn template_by_id(id: &str) -> Option<&'static Template> {
    all_templates().into_iter().find(|t| t.id == id)
}

/// The downloadable template workbook: the data sheet with required headers highlighted red
/// and dropdowns on enumerated columns, and an Instructions sheet describing every column.
pub fn write_template_workbook(template: &Template) -> Result<Vec<u8>, ExportError> {
    write_template_workbook_with_lists(template, &[])
}

/// [`write_template_workbook`] with extra dropdowns: `(header, allowed values)` for columns
/// whose values come from the CRM (the Portfolio column's logins plus "Without Portfolio").
/// A list too long for an Excel dropdown is left out (the import still checks the values).
pub fn write_template_workbook_with_lists(
    template: &Template,
    lists: &[(&str, Vec<String>)],
) -> Result<Vec<u8>, ExportError> {
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let headers = template.headers();
    let required: Vec<bool> = template.columns.iter().map(|c| c.required).collect();
    let widths: Vec<f64> = headers.iter().map(|h| (h.len() as f64 + 6.0).max(14.0)).collect();
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(template.sheet_name)?;
        write_header(sheet, &formats, &headers, &required, &widths, 0)?;
        for (i, c) in template.columns.iter().enumerate() {
            let col = i as u16;
            let list: Option<&[&str]> = match c.kind {
                ValueKind::OneOf(values) => Some(values),
                ValueKind::YesNo => Some(YES_NO),
                ValueKind::InsuranceStatus => Some(INSURANCE_STATUS_VALUES),
                _ => None,
            };
            if let Some(values) = list {
                let dv = DataValidation::new()
                    .allow_list_strings(values)?
                    .set_error_title("Not an allowed value")?
                    .set_error_message(format!("{} must be one of: {}", c.header, values.join(", ")))?;
                sheet.add_data_validation(1, col, 1_048_575, col, &dv)?;
            }
            if let Some((_, values)) = lists.iter().find(|(h, _)| *h == c.header) {
                let refs: Vec<&str> = values.iter().map(String::as_str).collect();
                let dv = DataValidation::new().allow_list_strings(&refs).and_then(|dv| {
                    dv.set_error_title("Not an allowed value")?
                        .set_error_message(format!("{} must be one of the listed values", c.header))
                });
                if let Ok(dv) = dv {
                    sheet.add_data_validation(1, col, 1_048_575, col, &dv)?;
                }
            }
            if matches!(c.kind, ValueKind::Identifier | ValueKind::Ssn | ValueKind::Phone) {
                sheet.set_column_format(col, &formats.text)?;
            }
            if c.kind == ValueKind::Date {
                sheet.set_column_format(col, &formats.date)?;
            }
        }
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Instructions")?;
    write_header(
        sheet,
        &formats,
        &["Column", "Required", "Expected", "Help"],
        &[],
        &[22.0, 10.0, 36.0, 80.0],
        0,
    )?;
    let mut row = 1u32;
    for c in template.columns {
        sheet.write_string(row, 0, c.header)?;
        sheet.write_string(row, 1, if c.required { "Yes" } else { "No" })?;
        sheet.write_string(row, 2, expected_text(c.kind))?;
        sheet.write_string(row, 3, c.help)?;
        row += 1;
    }
    row += 1;
    sheet.write_string(row, 0, template.name)?;
    sheet.write_string(row + 1, 0, template.description)?;
    sheet.write_string(
        row + 2,
        0,
        "Headers highlighted red are required. Keep the headers exactly as they are.",
    )?;
    save(workbook)
}

/// A sentence saying what a cell of this kind must hold.
pub fn expected_text(kind: ValueKind) -> String {
    match kind {
        ValueKind::Text => "text".into(),
        ValueKind::Identifier => "an identifier, kept as text".into(),
        ValueKind::Ssn => "an SSN like 123-45-6789".into(),
        ValueKind::Email => "an email address like name@example.com".into(),
        ValueKind::Phone => "a phone number (7–15 digits; + ( ) - . spaces allowed)".into(),
        ValueKind::Date => "a date (an Excel date, YYYY-MM-DD, or the chosen day/month order)".into(),
        ValueKind::YesNo => "Yes or No".into(),
        ValueKind::OneOf(values) => format!("one of {}", values.join(", ")),
        ValueKind::InsuranceStatus => "Yes, No, Enrolled or Not Enrolled".into(),
        ValueKind::Amount => "an amount with at most two decimals, like 1250 or 1250.50".into(),
    }
}
