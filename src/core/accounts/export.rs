//! The account and contact exports of a profile — the template's headers in the profile's
//! order, one row per account (contact) of the filtered accounts, every cell text — and the
//! model spreadsheets of the account templates (required headers red, an Instructions sheet,
//! dropdowns for Kind, Type and the Portfolio logins).

use rust_xlsxwriter::Workbook;

use crate::core::model::{Account, AccountContact, Crm};
use crate::core::template::{write_template_workbook_with_lists, Field, Template};
use crate::core::xlsx::{check_rows_fit, save, write_header, write_text, ExportError, Formats};

use super::profiles::{AccountFilters, ExportProfile, ProfileKind};
use super::rules::portfolio_text;
use super::WITHOUT_PORTFOLIO;

/// The first contact of an account (lowest id): the one written in columns F–I.
fn first_contact<'c>(crm: &'c Crm, number: &str) -> Option<&'c AccountContact> {
    crm.account_contacts.values().find(|c| c.account_number == number)
}

/// One account's cell under an ACCOUNTS column.
pub fn account_cell(crm: &Crm, a: &Account, field: Field) -> String {
    let contact = || first_contact(crm, &a.number);
    match field {
        Field::AccountNumber => a.number.clone(),
        Field::AccountName => a.name.clone(),
        Field::AccountKind => a.kind.label().into(),
        Field::Portfolio => portfolio_text(a).into(),
        Field::Active => if a.active() { "Yes" } else { "No" }.into(),
        Field::ContactName => contact().map(|c| c.name.clone()).unwrap_or_default(),
        Field::ContactType => contact().map(|c| c.contact_type.label().to_string()).unwrap_or_default(),
        Field::ContactEmail => contact().map(|c| c.email.clone()).unwrap_or_default(),
        Field::ContactPhone => contact().map(|c| c.phone.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// One contact's cell under an ACCOUNT_CONTACTS column.
pub fn contact_cell(c: &AccountContact, field: Field) -> String {
    match field {
        Field::AccountNumber => c.account_number.clone(),
        Field::ContactName => c.name.clone(),
        Field::Identifier => c.identifier.clone(),
        Field::ContactType => c.contact_type.label().into(),
        Field::Qualifications => c.qualifications.join("; "),
        Field::ContactPhone => c.phone.clone(),
        Field::ContactEmail => c.email.clone(),
        _ => String::new(),
    }
}

/// The rows of an export (header first), as text.
pub fn export_rows(crm: &Crm, profile: &ExportProfile, filters: &AccountFilters) -> Vec<Vec<String>> {
    let columns = profile.specs();
    let mut out = vec![columns.iter().map(|c| c.header.to_string()).collect::<Vec<_>>()];
    let accounts = crm.accounts.values().filter(|a| filters.accepts(a));
    match profile.kind {
        ProfileKind::Accounts => {
            for a in accounts {
                out.push(columns.iter().map(|h| account_cell(crm, a, h.field)).collect());
            }
        }
        ProfileKind::Contacts => {
            let numbers: std::collections::HashSet<&str> = accounts.map(|a| a.number.as_str()).collect();
            for c in crm.account_contacts.values().filter(|c| numbers.contains(c.account_number.as_str())) {
                out.push(columns.iter().map(|h| contact_cell(c, h.field)).collect());
            }
        }
    }
    out
}

/// The account (or contact) export of a profile as XLSX: the template's headers in the
/// profile's order, one row per account (contact), every cell text.
pub fn write_accounts_export(
    crm: &Crm,
    profile: &ExportProfile,
    filters: &AccountFilters,
) -> Result<Vec<u8>, ExportError> {
    let rows = export_rows(crm, profile, filters);
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let template = profile.kind.template();
    let sheet = workbook.add_worksheet();
    sheet.set_name(template.sheet_name)?;
    check_rows_fit(template.sheet_name, rows.len() - 1)?;
    let headers: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    let required: Vec<bool> = headers
        .iter()
        .map(|h| template.columns.iter().any(|c| c.header == *h && c.header_required()))
        .collect();
    let widths: Vec<f64> = headers.iter().map(|h| (h.len() as f64 + 8.0).max(16.0)).collect();
    write_header(sheet, &formats, &headers, &required, &widths, rows.len() - 1)?;
    for (r, row) in rows.iter().enumerate().skip(1) {
        for (k, v) in row.iter().enumerate() {
            write_text(sheet, &formats, r as u32, k as u16, v)?;
        }
    }
    save(workbook)
}

/// The model spreadsheet of an account template: required headers red, an Instructions sheet,
/// dropdowns for Kind and Type, and for Portfolio the current logins plus "Without Portfolio".
pub fn write_account_model(crm: &Crm, template: &Template) -> Result<Vec<u8>, ExportError> {
    let mut portfolios: Vec<String> = crm.operators.keys().cloned().collect();
    portfolios.push(WITHOUT_PORTFOLIO.into());
    write_template_workbook_with_lists(template, &[("Portfolio", portfolios)])
}
