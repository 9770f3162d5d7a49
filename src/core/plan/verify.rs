//! The verification sample: after an apply, a random sample (seeded by the file's hash) of
//! 10–15 applied rows — all of them when there are 15 or fewer — each with the file's values
//! next to what the CRM stores now, and whether they agree. One function serves every
//! workflow: the template's columns say which fields are shown, and the row's facts say which
//! record holds them.

use serde::{Deserialize, Serialize};

use crate::core::accounts::rules::portfolio_text;
use crate::core::insurance::insurance_field_text;
use crate::core::model::{Account, AccountContact, ContactDetail, Crm, CrmEntry, EntityKind, Insurance};
use crate::core::random::SeededRandom;
use crate::core::template::{Field, Template};
use crate::core::validate::Validated;

use super::{ImportPlan, PlannedRow, RowFacts};

/// One applied row for verification: the file's values next to the record as stored now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationSample {
    pub sheet_row: usize,
    pub action: String,
    pub file_values: Vec<(String, String)>,
    pub stored_values: Vec<(String, String)>,
    pub agrees: bool,
}

/// How a field takes part in the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Shown, not compared (the CRM keeps its own spelling); left out when both are empty.
    Shown,
    /// Compared without case; left out when both are empty.
    Compared,
    /// Compared without case when the file gives a value (an empty cell keeps the stored one);
    /// left out when both are empty.
    ComparedWhenGiven,
    /// Always shown and compared exactly when the file gives a value; an empty cell is
    /// compared with what the plan wrote (cleared when the operator chose that empty cells
    /// clear stored values, kept otherwise).
    Exact,
    /// The record's key: shown as found, or "(not found)".
    Key,
}

fn check(field: Field) -> Option<Check> {
    use Field::*;
    Some(match field {
        FirstName | LastName => Check::Shown,
        ClientReference => Check::ComparedWhenGiven,
        DetailType | AddressLine1 | City | Postcode | Phone | Email => Check::Compared,
        UserId | DeviceSerial => Check::Key,
        InsuranceStatus | PolicyNumber | CoverageAmount | CoverageType | CoverageStart | CoverageEnd => {
            Check::Exact
        }
        AccountNumber | ContactName | Identifier | Qualifications => Check::Shown,
        AccountName | AccountKind | Portfolio => Check::Compared,
        Active | ContactType | ContactEmail | ContactPhone => Check::ComparedWhenGiven,
        CaseReference | InsuredReference | Ssn | DateOfBirth | Label | Primary | AddressLine2 | Region
        | Country | PublicId => return None,
    })
}

/// The records a row wrote, as stored now.
struct Stored<'c> {
    entry: Option<&'c CrmEntry>,
    detail: Option<&'c ContactDetail>,
    insurance: Option<&'c Insurance>,
    account: Option<&'c Account>,
    contact: Option<&'c AccountContact>,
    found: bool,
}

impl<'c> Stored<'c> {
    fn of(crm: &'c Crm, template: &Template, row: &PlannedRow) -> Stored<'c> {
        let mut s =
            Stored { entry: None, detail: None, insurance: None, account: None, contact: None, found: false };
        match &row.facts {
            RowFacts::Insured(f) => {
                s.entry = f.entry.and_then(|e| crm.entries.get(&e));
                s.detail = f.public_id.as_ref().and_then(|id| crm.details.get(id));
                s.found = s.entry.is_some();
            }
            RowFacts::Insurance { id } => {
                s.insurance = match template.target {
                    EntityKind::SchoolUser => crm.school_users.get(id).map(|u| &u.insurance),
                    EntityKind::Device => crm.devices.get(id).map(|d| &d.insurance),
                    _ => None,
                };
                s.found = s.insurance.is_some();
            }
            RowFacts::Account(f) => {
                s.account = f.account.as_ref().and_then(|n| crm.accounts.get(n));
                s.contact = f.contact_id.and_then(|id| crm.account_contacts.get(&id));
                s.found = s.account.is_some() || s.contact.is_some();
            }
        }
        s
    }

    /// The stored text of a field ("" when the record or the field is absent).
    fn text(&self, field: Field) -> String {
        use Field::*;
        let entry = |f: fn(&CrmEntry) -> String| self.entry.map(f);
        let detail = |f: fn(&ContactDetail) -> String| self.detail.map(f);
        let account = |f: fn(&Account) -> String| self.account.map(f);
        let contact = |f: fn(&AccountContact) -> String| self.contact.map(f);
        match field {
            FirstName => entry(|e| e.first_name.clone()),
            LastName => entry(|e| e.last_name.clone()),
            ClientReference => entry(|e| e.client_reference.clone().unwrap_or_default()),
            DetailType => detail(|d| d.kind.label().to_string()),
            AddressLine1 => detail(|d| d.fields.address_line1.clone()),
            City => detail(|d| d.fields.city.clone()),
            Postcode => detail(|d| d.fields.postcode.clone()),
            Phone => detail(|d| d.fields.phone.clone()),
            Email => detail(|d| d.fields.email.clone()),
            InsuranceStatus | PolicyNumber | CoverageAmount | CoverageType | CoverageStart | CoverageEnd => {
                self.insurance.map(|i| insurance_field_text(i, field))
            }
            AccountNumber => account(|a| a.number.clone()),
            AccountName => account(|a| a.name.clone()),
            AccountKind => account(|a| a.kind.label().to_string()),
            Portfolio => account(|a| portfolio_text(a).to_string()),
            Active => account(|a| if a.active() { "Yes" } else { "No" }.to_string()),
            ContactName => contact(|c| c.name.clone()),
            ContactType => contact(|c| c.contact_type.label().to_string()),
            ContactEmail => contact(|c| c.email.clone()),
            ContactPhone => contact(|c| c.phone.clone()),
            Identifier => contact(|c| c.identifier.clone()),
            Qualifications => contact(|c| c.qualifications.join("; ")),
            _ => None,
        }
        .unwrap_or_default()
    }
}

/// A random sample (seeded by the file's hash) of 10–15 applied rows — every one when there
/// are 15 or fewer — each compared with what the CRM now stores.
pub fn verification_sample(
    crm: &Crm,
    template: &Template,
    validated: &Validated,
    plan: &ImportPlan,
    sha256: &str,
) -> Vec<VerificationSample> {
    let applied: Vec<&PlannedRow> = plan.rows.iter().filter(|r| r.action.writes()).collect();
    let seed = u64::from_str_radix(sha256.get(0..16).unwrap_or("0"), 16).unwrap_or(0);
    let mut rng = SeededRandom::new(seed);
    let want = if applied.len() <= 15 { applied.len() } else { 10 + rng.below(6) };
    let picks = rng.sample_indices(applied.len(), want);
    picks
        .into_iter()
        .map(|k| {
            let p = applied[k];
            let row = &validated.rows[p.index];
            let stored = Stored::of(crm, template, p);
            let mut file_values = Vec::new();
            let mut stored_values = Vec::new();
            let mut agrees = stored.found;
            for (col, spec) in template.columns.iter().enumerate() {
                let Some(check) = check(spec.field) else { continue };
                // An overwritten field the file leaves out was not written.
                if check == Check::Exact && !validated.has_column(col) {
                    continue;
                }
                let file = row.values.get(col).map(|v| v.display()).unwrap_or_default();
                let now = match check {
                    Check::Key if stored.found => file.clone(),
                    Check::Key => "(not found)".to_string(),
                    _ => stored.text(spec.field),
                };
                let shown_always = matches!(check, Check::Exact | Check::Key);
                if !shown_always && file.is_empty() && now.is_empty() {
                    continue;
                }
                let disagrees = match check {
                    Check::Shown | Check::Key => false,
                    Check::Compared => !file.eq_ignore_ascii_case(&now),
                    Check::ComparedWhenGiven => !file.is_empty() && !file.eq_ignore_ascii_case(&now),
                    Check::Exact if !file.is_empty() => file != now,
                    Check::Exact => {
                        p.changes.iter().find(|c| c.field == spec.header).is_some_and(|c| c.after != now)
                    }
                };
                if disagrees {
                    agrees = false;
                }
                file_values.push((spec.header.to_string(), file));
                stored_values.push((spec.header.to_string(), now));
            }
            if let Some(pid) = p.insured().and_then(|f| f.public_id.as_ref()) {
                stored_values.push(("Public ID".into(), pid.clone()));
            }
            VerificationSample {
                sheet_row: p.sheet_row,
                action: p.label().to_string(),
                file_values,
                stored_values,
                agrees,
            }
        })
        .collect()
}
