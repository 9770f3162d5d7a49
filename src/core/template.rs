//! Templates as data. A [`Template`] declares what a file of one kind holds and how it changes
//! the CRM: its columns (each a [`ColumnSpec`]: header, [`Requirement`], value kind, help, and the
//! record [`Field`] it feeds), how its headers are recognised ([`HeaderPolicy`]), its match
//! cascade (each [`MatchTier`] names the fields whose columns are its keys), its [`RowRule`]s
//! and how a row changes the CRM ([`ApplyRule`]). Header recognition, validation, matching,
//! planning, the verification sample, the exports and the downloadable template workbook all
//! read these declarations and address columns by [`Field`], never by position or header
//! text. The templates themselves live with their workflows (`insured`, `insurance`,
//! `accounts`); adding a workflow on the existing fields and apply rules means adding a table.

use rust_xlsxwriter::{DataValidation, Workbook};
use serde::{Deserialize, Serialize};

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

/// The record field a column feeds. Stages find a template's columns by field, so a template
/// may hold any subset of a workflow's fields, in any order, under any headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    // The insured contact details workflow: the case and insured, the CRM entry, one detail.
    CaseReference,
    InsuredReference,
    FirstName,
    LastName,
    ClientReference,
    Ssn,
    DateOfBirth,
    DetailType,
    Label,
    Primary,
    AddressLine1,
    AddressLine2,
    City,
    Region,
    Postcode,
    Country,
    Phone,
    Email,
    PublicId,
    // Insurance of school users and devices.
    UserId,
    DeviceSerial,
    InsuranceStatus,
    PolicyNumber,
    CoverageAmount,
    CoverageType,
    CoverageStart,
    CoverageEnd,
    // Accounts and their contacts.
    AccountNumber,
    AccountName,
    AccountKind,
    Portfolio,
    Active,
    ContactName,
    ContactType,
    ContactEmail,
    ContactPhone,
    Identifier,
    Qualifications,
}

/// Whether a column must be in the file and its cells filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Requirement {
    /// The column must be in the file and every row must fill it: an empty cell is an error.
    Required,
    /// The column must be in the file (its header is red in the template), but a row may leave
    /// the cell empty when a key of the cascade that does not need this field is given (for
    /// the insured contact details: a Public ID, Client Reference or SSN). The empty cell is
    /// then a warning — the row is matched without it and the CRM keeps its stored value — and
    /// the value stays needed where it is used: to create a record, by the match tiers whose
    /// keys include the field, and to rank candidates. A row with neither the value nor such
    /// a key is an error.
    NeededToCreate,
    /// The column may be absent and its cells empty.
    Optional,
}

impl Requirement {
    /// How the template's Instructions sheet says it.
    pub fn label(self) -> &'static str {
        match self {
            Requirement::Required => "Yes",
            Requirement::NeededToCreate => "To create an entry",
            Requirement::Optional => "No",
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The record field the column feeds.
    pub field: Field,
    pub header: &'static str,
    pub requirement: Requirement,
    pub kind: ValueKind,
    pub help: &'static str,
}

impl ColumnSpec {
    /// True when the file must have the column (its header is highlighted red in the
    /// template): [`Requirement::Required`] and [`Requirement::NeededToCreate`].
    pub fn header_required(&self) -> bool {
        !matches!(self.requirement, Requirement::Optional)
    }
}

/// A required column.
pub const fn required(field: Field, header: &'static str, kind: ValueKind, help: &'static str) -> ColumnSpec {
    ColumnSpec { field, header, requirement: Requirement::Required, kind, help }
}

/// A column needed to create a record, for the tiers that key on it and for ranking, but that
/// a row matched by another key may leave empty ([`Requirement::NeededToCreate`]).
pub const fn needed_to_create(
    field: Field,
    header: &'static str,
    kind: ValueKind,
    help: &'static str,
) -> ColumnSpec {
    ColumnSpec { field, header, requirement: Requirement::NeededToCreate, kind, help }
}

/// An optional column.
pub const fn optional(field: Field, header: &'static str, kind: ValueKind, help: &'static str) -> ColumnSpec {
    ColumnSpec { field, header, requirement: Requirement::Optional, kind, help }
}

/// How a file's header row is recognised as a template's (see `headers::recognise`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderPolicy {
    /// Exact headers (case and surrounding space aside) map silently; other headers are
    /// suggested by similarity for the operator to confirm, and a confirmed pair is remembered.
    /// Missing required columns are reported on the mapping, not refused.
    SuggestAndConfirm,
    /// The file's headers are exactly the template's, no more, no fewer, none repeated (order
    /// and case aside); a file that is exactly another candidate template's is named as such.
    Exact,
    /// Every header is one of the template's, none is repeated, and every required header is
    /// there (an export by a profile without some optional columns re-imports).
    RequiredSubset,
}

/// One step of a match cascade, tried in order; the first that decides wins. Each tier reads
/// the template's columns for its [`MatchTier::keys`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum MatchTier {
    /// Tier 1: the contact detail with the row's Public ID.
    PublicId,
    /// Tier 2: the CRM entry carrying the row's Client Reference and/or SSN.
    ClientReference,
    /// Tier 3: the CRM entry linked to the insured on the row's case, names agreeing (a row
    /// without both names never matches here).
    InsuredReference,
    /// Tier 4: nothing matched; the operator's dropdown decided.
    OperatorChoice,
    /// The school user with the row's User ID (insurance import).
    UserId,
    /// The device with the row's Device Serial (insurance import).
    DeviceSerial,
    /// The account with the row's Account Number.
    AccountNumber,
    /// The contact of the row's account with the row's Identifier and name.
    ContactIdentifier,
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
            MatchTier::AccountNumber => "Account Number",
            MatchTier::ContactIdentifier => "Identifier + name",
        }
    }

    /// The fields whose columns are this tier's keys.
    pub fn keys(self) -> &'static [Field] {
        match self {
            MatchTier::PublicId => &[Field::PublicId],
            MatchTier::ClientReference => &[Field::ClientReference, Field::Ssn],
            MatchTier::InsuredReference => {
                &[Field::CaseReference, Field::InsuredReference, Field::FirstName, Field::LastName]
            }
            MatchTier::OperatorChoice => &[],
            MatchTier::UserId => &[Field::UserId],
            MatchTier::DeviceSerial => &[Field::DeviceSerial],
            MatchTier::AccountNumber => &[Field::AccountNumber],
            MatchTier::ContactIdentifier => &[Field::AccountNumber, Field::Identifier, Field::ContactName],
        }
    }
}

impl PartialOrd for MatchTier {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MatchTier {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (*self as u8).cmp(&(*other as u8))
    }
}

/// How a row changes the CRM, and what happens to a row no tier matched. Each workflow's
/// planner applies its templates' rules; [`crate::core::workflows::plan_file`] finds the
/// planner of a template declared elsewhere by its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyRule {
    /// Update the contact detail with the row's Public ID; add a detail when there is none;
    /// fill missing identity fields of the entry; link the insured on the row's case.
    /// Unmatched rows are grouped by detected person, each with a dropdown that defaults to
    /// creating a new CRM entry.
    UpsertContactDetail,
    /// Overwrite the matched record's insurance fields named by the template's columns with
    /// the values the row gives (an empty cell keeps the stored value unless the operator
    /// chose that empty cells clear it); nothing else changes. Unmatched rows are skipped and
    /// listed.
    OverwriteInsurance,
    /// Match an account by Account Number: update it, or create it when unmatched; the row's
    /// contact (F–I) is created with it, or updated when a contact of that name is on it.
    UpsertAccount,
    /// Match an account contact by Identifier and name: update it, or create it when
    /// unmatched. The account must exist.
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
    pub header_policy: HeaderPolicy,
    pub cascade: &'static [MatchTier],
    pub apply: ApplyRule,
    pub row_rules: &'static [RowRule],
    /// Sheet name of the downloadable template.
    pub sheet_name: &'static str,
}

impl Template {
    /// Index of a declared column by header (exactly as declared).
    pub fn column(&self, header: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.header == header)
    }

    /// Index of the column that feeds `field`, if the template has one.
    pub fn col(&self, field: Field) -> Option<usize> {
        self.columns.iter().position(|c| c.field == field)
    }

    /// The column that feeds `field`, if the template has one.
    pub fn spec(&self, field: Field) -> Option<&'static ColumnSpec> {
        self.columns.iter().find(|c| c.field == field)
    }

    pub fn headers(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.header).collect()
    }

    /// The template as CSV: exactly its header line.
    pub fn header_csv(&self) -> String {
        format!("{}\r\n", self.headers().join(","))
    }
}

pub const YES_NO: &[&str] = &["Yes", "No"];
/// The values an insurance status cell may hold (case-insensitive); Yes = Enrolled.
pub const INSURANCE_STATUS_VALUES: &[&str] = &["Enrolled", "Not Enrolled", "Yes", "No"];

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
    let required: Vec<bool> = template.columns.iter().map(ColumnSpec::header_required).collect();
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
        sheet.write_string(row, 1, c.requirement.label())?;
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
        ValueKind::Ssn => "an SSN of nine digits (AAA-GG-SSSS)".into(),
        ValueKind::Email => "an email address like name@example.com".into(),
        ValueKind::Phone => "a phone number (7–15 digits; + ( ) - . spaces allowed)".into(),
        ValueKind::Date => "a date (an Excel date, YYYY-MM-DD, or the chosen day/month order)".into(),
        ValueKind::YesNo => "Yes or No".into(),
        ValueKind::OneOf(values) => format!("one of {}", values.join(", ")),
        ValueKind::InsuranceStatus => "Yes, No, Enrolled or Not Enrolled".into(),
        ValueKind::Amount => "an amount with at most two decimals, like 1250 or 1250.50".into(),
    }
}
