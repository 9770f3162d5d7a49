//! The verification sample: after an apply, a random sample (seeded by the file's hash) of
//! 10–15 applied rows — all of them when there are 15 or fewer — each with the file's values
//! next to what the CRM stores now, and whether they agree. One function serves every
//! workflow: the template's columns say which fields are shown, and the workflow says what
//! the record a row wrote stores now ([`Workflow::stored_text`]).

use serde::{Deserialize, Serialize};

use crate::core::model::Crm;
use crate::core::random::SeededRandom;
use crate::core::template::{Field, Template};
use crate::core::validate::Validated;
use crate::core::workflow::Workflow;

use super::{ImportPlan, PlannedRow};

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

/// A random sample (seeded by the file's hash) of 10–15 applied rows — every one when there
/// are 15 or fewer — each compared with what the CRM now stores, as `workflow` reads it.
pub fn verification_sample<W: Workflow + ?Sized>(
    workflow: &W,
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
            let found = workflow.stored_found(crm, template, p);
            let mut file_values = Vec::new();
            let mut stored_values = Vec::new();
            let mut agrees = found;
            for (col, spec) in template.columns.iter().enumerate() {
                let Some(check) = check(spec.field) else { continue };
                // An overwritten field the file leaves out was not written.
                if check == Check::Exact && !validated.has_column(col) {
                    continue;
                }
                let file = row.values.get(col).map(|v| v.display()).unwrap_or_default();
                let now = match check {
                    Check::Key if found => file.clone(),
                    Check::Key => "(not found)".to_string(),
                    _ => workflow.stored_text(crm, template, p, spec.field),
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
            stored_values.extend(workflow.sample_extras(p));
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
