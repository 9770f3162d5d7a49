//! The bulk insurance import: the user and device insurance templates run through the same
//! stages as every import — `read`, `headers::recognise` with the [`HeaderPolicy::Exact`]
//! policy (a user file offered as a device file is recognised and named), the template-driven
//! `Validator`, the overwrite planner ([`plan`]) and `plan::record_import` for the atomic
//! batch with before-images, so undo works unchanged. [`report`] writes the skipped/invalid
//! results and the insurance status report.
//!
//! A row whose key (the template's column for its cascade tier: User ID or Device Serial)
//! exists overwrites that record's insurance fields named by the template's columns with the
//! values the row gives; an empty cell leaves the stored value alone unless the operator chose
//! "empty cells clear stored values" ([`InsuranceOptions::clear_empty_cells`]); unknown keys
//! are skipped and listed; a repeated key is an error; records not in the file are untouched.
//! The plan is the preview: per row the fields before → after, unchanged, skipped, errors,
//! with totals ([`report::write_insurance_plan_report`] writes it as XLSX), and Process
//! applies exactly its change set. Re-planning a file that was already applied yields no
//! changes (idempotence by content).

pub mod plan;
pub mod report;
pub mod workflow;

use crate::core::model::{EntityKind, Insurance, InsuranceStatus};
use crate::core::template::{
    optional, required, ApplyRule, ColumnSpec, Field, HeaderPolicy, MatchTier, Template, ValueKind,
};
use crate::core::validate::{cents_text, ValidatedRow};
use serde::{Deserialize, Serialize};

const STATUS_HELP: &str = "Yes or Enrolled; No or Not Enrolled (any case). Nothing else is accepted.";
const KEEPS: &str =
    "Optional. An empty cell keeps the stored value, unless \"empty cells clear stored values\" is chosen on the page.";
const DATE_HELP: &str = "An Excel date, YYYY-MM-DD, or the day/month order chosen on the page. An empty cell keeps the stored value, unless \"empty cells clear stored values\" is chosen on the page.";

static USER_INSURANCE_COLUMNS: [ColumnSpec; 5] = [
    required(
        Field::UserId,
        "User ID",
        ValueKind::Identifier,
        "The school user's ID exactly as in the CRM (leading zeros kept). Users not found are skipped and listed.",
    ),
    required(Field::InsuranceStatus, "Insurance Status", ValueKind::InsuranceStatus, STATUS_HELP),
    optional(Field::PolicyNumber, "Policy Number", ValueKind::Identifier, KEEPS),
    optional(Field::CoverageStart, "Coverage Start Date", ValueKind::Date, DATE_HELP),
    optional(Field::CoverageEnd, "Coverage End Date", ValueKind::Date, DATE_HELP),
];

static DEVICE_INSURANCE_COLUMNS: [ColumnSpec; 6] = [
    required(
        Field::DeviceSerial,
        "Device Serial",
        ValueKind::Identifier,
        "The device's serial exactly as in the CRM. Devices not found are skipped and listed.",
    ),
    required(Field::InsuranceStatus, "Insurance Status", ValueKind::InsuranceStatus, STATUS_HELP),
    optional(Field::PolicyNumber, "Policy Number", ValueKind::Identifier, KEEPS),
    optional(
        Field::CoverageAmount,
        "Coverage Amount",
        ValueKind::Amount,
        "A decimal with at most two places, like 1250 or 1250.50 (no thousands separators, no currency sign). An empty cell keeps the stored value, unless \"empty cells clear stored values\" is chosen on the page.",
    ),
    optional(Field::CoverageType, "Coverage Type", ValueKind::Text, KEEPS),
    optional(Field::CoverageStart, "Coverage Start Date", ValueKind::Date, DATE_HELP),
];

/// User insurance: overwrite the insurance of existing school users.
pub static USER_INSURANCE: Template = Template {
    id: "user-insurance",
    name: "User insurance",
    description: "Insurance of school users by User ID. For each row whose User ID exists, the insurance fields are overwritten with the values the row gives (an empty cell keeps the stored value unless \"empty cells clear stored values\" is chosen). Unknown User IDs are skipped and listed; users not in the file are untouched.",
    target: EntityKind::SchoolUser,
    columns: &USER_INSURANCE_COLUMNS,
    header_policy: HeaderPolicy::Exact,
    cascade: &[MatchTier::UserId],
    apply: ApplyRule::OverwriteInsurance,
    row_rules: &[],
    sheet_name: "User Insurance",
};

/// Device insurance: overwrite the insurance of existing devices.
pub static DEVICE_INSURANCE: Template = Template {
    id: "device-insurance",
    name: "Device insurance",
    description: "Insurance of devices by Device Serial. For each row whose serial exists, the insurance fields are overwritten with the values the row gives (an empty cell keeps the stored value unless \"empty cells clear stored values\" is chosen). Unknown serials are skipped and listed; devices not in the file are untouched.",
    target: EntityKind::Device,
    columns: &DEVICE_INSURANCE_COLUMNS,
    header_policy: HeaderPolicy::Exact,
    cascade: &[MatchTier::DeviceSerial],
    apply: ApplyRule::OverwriteInsurance,
    row_rules: &[],
    sheet_name: "Device Insurance",
};

/// The templates of the bulk insurance import (System Utilities).
pub fn templates() -> [&'static Template; 2] {
    [&USER_INSURANCE, &DEVICE_INSURANCE]
}

/// One of [`templates`] by id.
pub fn template_by_id(id: &str) -> Option<&'static Template> {
    templates().into_iter().find(|t| t.id == id)
}

/// The template as CSV: exactly its header line.
pub fn template_csv(template: &Template) -> String {
    template.header_csv()
}

/// True for the fields an insurance template overwrites (every field but the key).
pub fn is_insurance_field(field: Field) -> bool {
    matches!(
        field,
        Field::InsuranceStatus
            | Field::PolicyNumber
            | Field::CoverageAmount
            | Field::CoverageType
            | Field::CoverageStart
            | Field::CoverageEnd
    )
}

/// The text of one insurance field (`""` when not set or not an insurance field).
pub fn insurance_field_text(ins: &Insurance, field: Field) -> String {
    match field {
        Field::InsuranceStatus => ins.status.map(|s| s.label().to_string()).unwrap_or_default(),
        Field::PolicyNumber => ins.policy_number.clone().unwrap_or_default(),
        Field::CoverageAmount => ins.coverage_amount_cents.map(cents_text).unwrap_or_default(),
        Field::CoverageType => ins.coverage_type.clone().unwrap_or_default(),
        Field::CoverageStart => ins.start.map(|d| d.to_string()).unwrap_or_default(),
        Field::CoverageEnd => ins.end.map(|d| d.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// How Process treats a file's cells (the choices on the page, shown in the preview).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InsuranceOptions {
    /// "Empty cells clear stored values": an empty cell clears its field. Off (the default),
    /// an empty cell leaves the stored value alone.
    pub clear_empty_cells: bool,
}

/// `base` with every insurance field the file has a column for (`present[k]`: the file has
/// template column `k`; empty: every column) overwritten by the row's value. An empty cell
/// keeps the stored value, or clears it when `options.clear_empty_cells`. Fields the template
/// does not name, or the file leaves out, are kept.
pub fn insurance_from_row(
    template: &Template,
    row: &ValidatedRow,
    base: &Insurance,
    present: &[bool],
    options: InsuranceOptions,
) -> Insurance {
    let mut ins = base.clone();
    let text = |k: usize| Some(row.text(k).to_string()).filter(|t| !t.is_empty());
    for (k, c) in template.columns.iter().enumerate() {
        if !present.get(k).copied().unwrap_or(true) {
            continue;
        }
        if row.values.get(k).is_none_or(|v| v.is_empty()) && !options.clear_empty_cells {
            continue;
        }
        match c.field {
            Field::InsuranceStatus => {
                ins.status = match row.text(k) {
                    "Enrolled" => Some(InsuranceStatus::Enrolled),
                    "Not Enrolled" => Some(InsuranceStatus::NotEnrolled),
                    _ => None,
                }
            }
            Field::PolicyNumber => ins.policy_number = text(k),
            Field::CoverageAmount => ins.coverage_amount_cents = row.cents(k),
            Field::CoverageType => ins.coverage_type = text(k),
            Field::CoverageStart => ins.start = row.date(k),
            Field::CoverageEnd => ins.end = row.date(k),
            _ => {}
        }
    }
    ins
}

#[cfg(test)]
mod tests;
