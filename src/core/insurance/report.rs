//! The insurance workbooks: the preview of Process ([`write_insurance_plan_report`]: one row
//! per input row with its outcome and each field before → after, and the totals), the results
//! of a processed file (the skipped keys and the rows with errors, and a summary of the
//! counts) and the insurance status report (enrolled / not enrolled / none per record type,
//! one row per school user and device). Outcomes use the words every workflow uses: updated,
//! unchanged, skipped, errors.

use rust_xlsxwriter::Workbook;
use serde::{Deserialize, Serialize};

use crate::core::model::{Crm, Insurance, InsuranceStatus};
use crate::core::plan::{show, ImportPlan, RowAction};

use super::InsuranceOptions;
use crate::core::template::{Field, Template};
use crate::core::xlsx::{check_rows_fit, save, write_date, write_header, write_text, ExportError, Formats};

/// The skipped keys and the rows with errors of a processed file, as XLSX.
pub fn write_insurance_results_report(
    template: &Template,
    plan: &ImportPlan,
) -> Result<Vec<u8>, ExportError> {
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let id_header = key_header(template);
    let skipped: Vec<_> = plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            RowAction::Skip(reason) => Some((r, reason.clone())),
            _ => None,
        })
        .collect();
    let invalid: Vec<_> =
        plan.rows.iter().filter(|r| r.action == RowAction::Error).map(|r| (r, r.errors.join("\n"))).collect();
    for (name, rows, last) in [("Skipped IDs", &skipped, "Reason"), ("Errors", &invalid, "Errors")] {
        check_rows_fit(name, rows.len())?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(name)?;
        write_header(sheet, &formats, &["Row", id_header, last], &[], &[8.0, 24.0, 90.0], rows.len())?;
        for (i, (r, text)) in rows.iter().enumerate() {
            let row = (i + 1) as u32;
            sheet.write_number(row, 0, r.sheet_row as f64)?;
            write_text(sheet, &formats, row, 1, r.record_label())?;
            write_text(sheet, &formats, row, 2, text)?;
        }
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Summary")?;
    write_header(sheet, &formats, &["Outcome", "Rows"], &[], &[20.0, 10.0], 0)?;
    let c = plan.counts;
    for (i, (label, n)) in
        [("Updated", c.updated), ("Unchanged", c.unchanged), ("Skipped", c.skipped), ("Errors", c.errors)]
            .into_iter()
            .enumerate()
    {
        sheet.write_string((i + 1) as u32, 0, label)?;
        sheet.write_number((i + 1) as u32, 1, n as f64)?;
    }
    save(workbook)
}

/// The key column's header of an insurance template (User ID or Device Serial).
fn key_header(template: &Template) -> &'static str {
    template
        .columns
        .iter()
        .find(|c| matches!(c.field, Field::UserId | Field::DeviceSerial))
        .map(|c| c.header)
        .unwrap_or("ID")
}

/// The preview of Process as XLSX: a "Preview" sheet with one row per input row — its sheet
/// row, key, outcome (Updated, Unchanged, Skipped, Error), each changed field as
/// "Field: before → after" ("(empty)" for no value), and the reason of a skip or the errors —
/// and a "Summary" sheet with the totals and how empty cells are treated.
pub fn write_insurance_plan_report(
    template: &Template,
    plan: &ImportPlan,
    options: InsuranceOptions,
) -> Result<Vec<u8>, ExportError> {
    const SHEET: &str = "Preview";
    check_rows_fit(SHEET, plan.rows.len())?;
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name(SHEET)?;
        write_header(
            sheet,
            &formats,
            &["Row", key_header(template), "Outcome", "Changes", "Reason or errors"],
            &[],
            &[8.0, 22.0, 12.0, 70.0, 70.0],
            plan.rows.len(),
        )?;
        for (i, p) in plan.rows.iter().enumerate() {
            let r = (i + 1) as u32;
            sheet.write_number(r, 0, p.sheet_row as f64)?;
            write_text(sheet, &formats, r, 1, p.record_label())?;
            write_text(sheet, &formats, r, 2, p.label())?;
            let changes: Vec<String> = p
                .changes
                .iter()
                .map(|c| format!("{}: {} → {}", c.field, show(&c.before), show(&c.after)))
                .collect();
            write_text(sheet, &formats, r, 3, &changes.join("\n"))?;
            let why = match &p.action {
                RowAction::Skip(reason) => reason.clone(),
                _ => p.errors.join("\n"),
            };
            write_text(sheet, &formats, r, 4, &why)?;
        }
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Summary")?;
    write_header(sheet, &formats, &["Outcome", "Rows"], &[], &[28.0, 40.0], 0)?;
    let c = plan.counts;
    let mut r = 1u32;
    for (label, n) in
        [("Updated", c.updated), ("Unchanged", c.unchanged), ("Skipped", c.skipped), ("Errors", c.errors)]
    {
        sheet.write_string(r, 0, label)?;
        sheet.write_number(r, 1, n as f64)?;
        r += 1;
    }
    sheet.write_string(r + 1, 0, "Empty cells")?;
    sheet.write_string(
        r + 1,
        1,
        if options.clear_empty_cells { "clear stored values" } else { "keep stored values" },
    )?;
    save(workbook)
}

/// Enrolled / not enrolled / no status counts of one record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatusCounts {
    pub enrolled: usize,
    pub not_enrolled: usize,
    pub none: usize,
}

fn count_statuses<'i>(items: impl Iterator<Item = &'i Insurance>) -> StatusCounts {
    let mut c = StatusCounts::default();
    for ins in items {
        match ins.status {
            Some(InsuranceStatus::Enrolled) => c.enrolled += 1,
            Some(InsuranceStatus::NotEnrolled) => c.not_enrolled += 1,
            None => c.none += 1,
        }
    }
    c
}

/// Status counts of school users and of devices.
pub fn status_counts(crm: &Crm) -> (StatusCounts, StatusCounts) {
    (
        count_statuses(crm.school_users.values().map(|u| &u.insurance)),
        count_statuses(crm.devices.values().map(|d| &d.insurance)),
    )
}

fn status_text(ins: &Insurance) -> &'static str {
    ins.status.map(InsuranceStatus::label).unwrap_or("None")
}

/// The insurance status report: a summary per record type (enrolled / not enrolled / none)
/// and one row per school user and per device with its status and policy number.
pub fn write_insurance_status_report(crm: &Crm) -> Result<Vec<u8>, ExportError> {
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let (users, devices) = status_counts(crm);
    {
        let sheet = workbook.add_worksheet();
        sheet.set_name("Summary")?;
        write_header(
            sheet,
            &formats,
            &["Record type", "Enrolled", "Not Enrolled", "None", "Total"],
            &[],
            &[16.0, 12.0, 14.0, 10.0, 10.0],
            2,
        )?;
        for (i, (label, c)) in [("School users", users), ("Devices", devices)].into_iter().enumerate() {
            let r = (i + 1) as u32;
            sheet.write_string(r, 0, label)?;
            sheet.write_number(r, 1, c.enrolled as f64)?;
            sheet.write_number(r, 2, c.not_enrolled as f64)?;
            sheet.write_number(r, 3, c.none as f64)?;
            sheet.write_number(r, 4, (c.enrolled + c.not_enrolled + c.none) as f64)?;
        }
    }
    {
        const NAME: &str = "School Users";
        check_rows_fit(NAME, crm.school_users.len())?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(NAME)?;
        let headers = [
            "User ID",
            "Name",
            "Role",
            "Insurance Status",
            "Policy Number",
            "Coverage Start Date",
            "Coverage End Date",
        ];
        write_header(
            sheet,
            &formats,
            &headers,
            &[],
            &[14.0, 28.0, 10.0, 16.0, 18.0, 18.0, 18.0],
            crm.school_users.len(),
        )?;
        for (i, u) in crm.school_users.values().enumerate() {
            let r = (i + 1) as u32;
            write_text(sheet, &formats, r, 0, &u.user_id)?;
            write_text(sheet, &formats, r, 1, &u.name)?;
            write_text(sheet, &formats, r, 2, u.role.label())?;
            write_text(sheet, &formats, r, 3, status_text(&u.insurance))?;
            write_text(sheet, &formats, r, 4, u.insurance.policy_number.as_deref().unwrap_or(""))?;
            if let Some(d) = u.insurance.start {
                write_date(sheet, &formats, r, 5, d)?;
            }
            if let Some(d) = u.insurance.end {
                write_date(sheet, &formats, r, 6, d)?;
            }
        }
    }
    {
        const NAME: &str = "Devices";
        check_rows_fit(NAME, crm.devices.len())?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(NAME)?;
        let headers = [
            "Device Serial",
            "Model",
            "Insurance Status",
            "Policy Number",
            "Coverage Amount",
            "Coverage Type",
            "Coverage Start Date",
        ];
        write_header(
            sheet,
            &formats,
            &headers,
            &[],
            &[18.0, 24.0, 16.0, 18.0, 16.0, 16.0, 18.0],
            crm.devices.len(),
        )?;
        for (i, d) in crm.devices.values().enumerate() {
            let r = (i + 1) as u32;
            write_text(sheet, &formats, r, 0, &d.serial)?;
            write_text(sheet, &formats, r, 1, &d.model)?;
            write_text(sheet, &formats, r, 2, status_text(&d.insurance))?;
            write_text(sheet, &formats, r, 3, d.insurance.policy_number.as_deref().unwrap_or(""))?;
            if let Some(c) = d.insurance.coverage_amount_cents {
                sheet.write_number(r, 4, c as f64 / 100.0)?;
            }
            write_text(sheet, &formats, r, 5, d.insurance.coverage_type.as_deref().unwrap_or(""))?;
            if let Some(s) = d.insurance.start {
                write_date(sheet, &formats, r, 6, s)?;
            }
        }
    }
    save(workbook)
}
