//! The bulk insurance import (seed 002, DESIGN §2): the user and device insurance templates
//! run through the same pipeline as every import — `read_sheet`, header mapping, the
//! template-driven [`Validator`], a plan of field-level changes, and
//! [`record_import`] for the atomic batch with before-images, so undo works unchanged.
//!
//! What is particular here: the file's headers must be exactly one template's headers (a user
//! file offered as a device file is recognised and named, [`check_headers_exactly`]); a row
//! whose User ID / Device Serial exists overwrites that record's insurance fields named by the
//! template (an empty optional cell clears the field); unknown IDs are skipped and listed; a
//! repeated ID is invalid; records not in the file are untouched. Re-planning a file that was
//! already applied yields no changes (idempotence by content).

use std::collections::{BTreeMap, HashMap};

use rust_xlsxwriter::Workbook;
use serde::{Deserialize, Serialize};

use crate::core::headers::{map_headers, HeaderMapping};
use crate::core::index::CrmIndex;
use crate::core::model::{
    ChangeSet, Crm, Device, EntityKind, ImportCounts, ImportRecord, Insurance, InsuranceStatus, Record,
    SchoolUser,
};
use crate::core::plan::{record_import, ApplyContext, FieldChange, VerificationSample};
use crate::core::random::SeededRandom;
use crate::core::sheet::Sheet;
use crate::core::template::{insurance_templates, Template};
use crate::core::validate::{cents_text, Severity, Validated, ValidatedRow, ValidationOptions, Validator};
use crate::core::xlsx::{check_rows_fit, save, write_date, write_header, write_text, ExportError, Formats};

/// Folded header for exact comparison: trimmed, case-insensitive.
fn fold_header(h: &str) -> String {
    h.trim().to_lowercase()
}

/// The non-empty headers of a file, folded.
fn folded_headers(header: &[String]) -> Vec<String> {
    header.iter().map(|h| fold_header(h)).filter(|h| !h.is_empty()).collect()
}

fn same_set(template: &Template, header: &[String]) -> bool {
    let mut file = folded_headers(header);
    let mut want: Vec<String> = template.columns.iter().map(|c| fold_header(c.header)).collect();
    file.sort();
    want.sort();
    file == want
}

/// The insurance template whose header set the file has exactly (order and case aside).
pub fn detect_template(header: &[String]) -> Option<&'static Template> {
    insurance_templates().into_iter().find(|t| same_set(t, header))
}

/// Why a file's headers do not fit the chosen template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The headers are exactly another insurance template's.
    OtherTemplate { chosen: &'static Template, found: &'static Template },
    /// The headers are neither template's: what is missing, extra or repeated.
    Mismatch { template: &'static Template, missing: Vec<String>, extra: Vec<String>, repeated: Vec<String> },
    /// No template was chosen and the headers are neither template's.
    Unrecognised { header: Vec<String> },
}

fn kind_phrase(t: &Template) -> &'static str {
    match t.target {
        EntityKind::SchoolUser => "user insurance file",
        _ => "device insurance file",
    }
}

impl std::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderProblem::OtherTemplate { chosen, found } => write!(
                f,
                "This is a {} ({}), not a {}. Choose {} or upload the {} ({}).",
                kind_phrase(found),
                found.headers().join(", "),
                kind_phrase(chosen),
                found.name,
                kind_phrase(chosen),
                chosen.headers().join(", ")
            ),
            HeaderProblem::Mismatch { template, missing, extra, repeated } => {
                write!(f, "The headers do not match the {} exactly.", template.name)?;
                if !missing.is_empty() {
                    write!(f, " Missing: {}.", missing.join(", "))?;
                }
                if !extra.is_empty() {
                    write!(f, " Not in the template: {}.", extra.join(", "))?;
                }
                if !repeated.is_empty() {
                    write!(f, " Repeated: {}.", repeated.join(", "))?;
                }
                write!(f, " Expected exactly: {}.", template.headers().join(", "))
            }
            HeaderProblem::Unrecognised { header } => {
                let [u, d] = insurance_templates();
                write!(
                    f,
                    "These headers ({}) are neither a user insurance file ({}) nor a device insurance file ({}). Download a template and keep its headers exactly.",
                    header.iter().filter(|h| !h.trim().is_empty()).cloned().collect::<Vec<_>>().join(", "),
                    u.headers().join(", "),
                    d.headers().join(", ")
                )
            }
        }
    }
}

/// Checks that `header` is exactly `template`'s header set; names the other template when
/// the file is one of those.
pub fn check_headers_exactly(template: &'static Template, header: &[String]) -> Result<(), HeaderProblem> {
    if same_set(template, header) && folded_headers(header).len() == template.columns.len() {
        return Ok(());
    }
    if let Some(found) = detect_template(header).filter(|t| t.id != template.id) {
        return Err(HeaderProblem::OtherTemplate { chosen: template, found });
    }
    let file = folded_headers(header);
    let missing = template
        .columns
        .iter()
        .filter(|c| !file.contains(&fold_header(c.header)))
        .map(|c| c.header.to_string())
        .collect();
    let extra = header
        .iter()
        .filter(|h| {
            !h.trim().is_empty() && template.columns.iter().all(|c| fold_header(c.header) != fold_header(h))
        })
        .map(|h| h.trim().to_string())
        .collect();
    let mut counts: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for h in header.iter().filter(|h| !h.trim().is_empty()) {
        counts.entry(fold_header(h)).or_insert((0, h.trim().to_string())).0 += 1;
    }
    let repeated = counts.into_values().filter(|(n, _)| *n > 1).map(|(_, h)| h).collect();
    Err(HeaderProblem::Mismatch { template, missing, extra, repeated })
}

/// The template of a file: the chosen one (checked exactly) or, with none chosen, the one
/// its headers are.
pub fn recognise(
    chosen: Option<&'static Template>,
    header: &[String],
) -> Result<&'static Template, HeaderProblem> {
    match chosen {
        Some(t) => check_headers_exactly(t, header).map(|()| t),
        None => {
            detect_template(header).ok_or_else(|| HeaderProblem::Unrecognised { header: header.to_vec() })
        }
    }
}

/// The header mapping of a file whose headers passed [`check_headers_exactly`].
pub fn exact_mapping(template: &Template, header: &[String]) -> HeaderMapping {
    map_headers(template, header, &BTreeMap::new())
}

/// Validates a whole sheet (the page validates in chunks with the same [`Validator`]).
pub fn validate_sheet(
    crm: &Crm,
    template: &Template,
    sheet: &Sheet,
    options: ValidationOptions,
) -> Validated {
    let mapping = exact_mapping(template, &sheet.header);
    let index = CrmIndex::new(crm);
    Validator { template, mapping: &mapping, index: &index, options }.all(&sheet.rows)
}

/// What the plan does with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InsuranceAction {
    Updated { changes: Vec<FieldChange> },
    Unchanged,
    Skipped { reason: String },
    Invalid { issues: Vec<String> },
}

/// The planned outcome of one input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsuranceRowOutcome {
    /// Index into the validated rows.
    pub index: usize,
    pub sheet_row: usize,
    /// The User ID / Device Serial as the file gives it.
    pub id: String,
    pub action: InsuranceAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InsuranceCounts {
    pub updated: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub invalid: usize,
}

/// Exactly what processing a file does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsurancePlan {
    pub template_id: String,
    pub rows: Vec<InsuranceRowOutcome>,
    pub counts: InsuranceCounts,
    /// The writes: one put per updated record.
    pub changes: ChangeSet,
}

impl InsurancePlan {
    /// Counts as recorded in the import history.
    pub fn import_counts(&self) -> ImportCounts {
        ImportCounts {
            created: 0,
            updated: self.counts.updated,
            added: 0,
            unchanged: self.counts.unchanged,
            skipped: self.counts.skipped,
            errors: self.counts.invalid,
        }
    }
}

/// The text of one template column's insurance field (`""` when not set).
pub fn insurance_field_text(ins: &Insurance, header: &str) -> String {
    match header {
        "Insurance Status" => ins.status.map(|s| s.label().to_string()).unwrap_or_default(),
        "Policy Number" => ins.policy_number.clone().unwrap_or_default(),
        "Coverage Amount" => ins.coverage_amount_cents.map(cents_text).unwrap_or_default(),
        "Coverage Type" => ins.coverage_type.clone().unwrap_or_default(),
        "Coverage Start Date" => ins.start.map(|d| d.to_string()).unwrap_or_default(),
        "Coverage End Date" => ins.end.map(|d| d.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// `base` with every insurance field the template names overwritten by the row's value; an
/// empty cell clears the field. Fields the template does not name are kept.
pub fn insurance_from_row(template: &Template, row: &ValidatedRow, base: &Insurance) -> Insurance {
    let mut ins = base.clone();
    let text = |k: usize| Some(row.text(k).to_string()).filter(|t| !t.is_empty());
    for (k, c) in template.columns.iter().enumerate() {
        match c.header {
            "Insurance Status" => {
                ins.status = match row.text(k) {
                    "Enrolled" => Some(InsuranceStatus::Enrolled),
                    "Not Enrolled" => Some(InsuranceStatus::NotEnrolled),
                    _ => None,
                }
            }
            "Policy Number" => ins.policy_number = text(k),
            "Coverage Amount" => ins.coverage_amount_cents = row.cents(k),
            "Coverage Type" => ins.coverage_type = text(k),
            "Coverage Start Date" => ins.start = row.date(k),
            "Coverage End Date" => ins.end = row.date(k),
            _ => {}
        }
    }
    ins
}

fn insurance_changes(template: &Template, before: &Insurance, after: &Insurance) -> Vec<FieldChange> {
    template
        .columns
        .iter()
        .skip(1)
        .map(|c| FieldChange {
            field: c.header.to_string(),
            before: insurance_field_text(before, c.header),
            after: insurance_field_text(after, c.header),
        })
        .filter(|f| f.before != f.after)
        .collect()
}

/// The stored insurance of the record a template targets.
fn stored_insurance<'c>(crm: &'c Crm, template: &Template, id: &str) -> Option<&'c Insurance> {
    match template.target {
        EntityKind::SchoolUser => crm.school_users.get(id).map(|u| &u.insurance),
        EntityKind::Device => crm.devices.get(id).map(|d| &d.insurance),
        _ => None,
    }
}

fn not_found_reason(template: &Template) -> &'static str {
    match template.target {
        EntityKind::SchoolUser => "no user with this ID",
        _ => "no device with this serial",
    }
}

/// Plans row by row, so the page can work in chunks and show progress.
pub struct InsurancePlanner<'a> {
    crm: &'a Crm,
    template: &'static Template,
    /// Error messages by sheet row.
    errors: HashMap<usize, Vec<String>>,
    /// ID → sheet row of its first row in the file.
    seen: HashMap<String, usize>,
    rows: Vec<InsuranceRowOutcome>,
    counts: InsuranceCounts,
    puts: Vec<Record>,
}

impl<'a> InsurancePlanner<'a> {
    pub fn new(crm: &'a Crm, template: &'static Template, validated: &Validated) -> Self {
        let mut errors: HashMap<usize, Vec<String>> = HashMap::new();
        for i in validated.issues.iter().filter(|i| i.severity == Severity::Error) {
            let text = match &i.cell {
                Some(cell) => format!("{cell}: {}", i.message),
                None => i.message.clone(),
            };
            errors.entry(i.row).or_default().push(text);
        }
        InsurancePlanner {
            crm,
            template,
            errors,
            seen: HashMap::new(),
            rows: Vec::with_capacity(validated.rows.len()),
            counts: InsuranceCounts::default(),
            puts: Vec::new(),
        }
    }

    /// Plans validated row `index`.
    pub fn row(&mut self, index: usize, row: &ValidatedRow) {
        let id = row.text(0).to_string();
        let outcome =
            |action| InsuranceRowOutcome { index, sheet_row: row.sheet_row, id: id.clone(), action };
        if row.blocked() {
            let issues = self.errors.get(&row.sheet_row).cloned().unwrap_or_default();
            self.counts.invalid += 1;
            self.rows.push(outcome(InsuranceAction::Invalid { issues }));
            return;
        }
        if let Some(first) = self.seen.get(&id) {
            self.counts.invalid += 1;
            let header = self.template.columns[0].header;
            self.rows.push(outcome(InsuranceAction::Invalid {
                issues: vec![format!(
                    "{header} {id} is already on row {first} of this file — expected each {header} once"
                )],
            }));
            return;
        }
        self.seen.insert(id.clone(), row.sheet_row);
        let Some(before) = stored_insurance(self.crm, self.template, &id) else {
            self.counts.skipped += 1;
            self.rows.push(outcome(InsuranceAction::Skipped {
                reason: not_found_reason(self.template).to_string(),
            }));
            return;
        };
        let after = insurance_from_row(self.template, row, before);
        if &after == before {
            self.counts.unchanged += 1;
            self.rows.push(outcome(InsuranceAction::Unchanged));
            return;
        }
        let changes = insurance_changes(self.template, before, &after);
        match self.template.target {
            EntityKind::SchoolUser => {
                if let Some(u) = self.crm.school_users.get(&id) {
                    self.puts.push(Record::SchoolUser(SchoolUser { insurance: after, ..u.clone() }));
                }
            }
            _ => {
                if let Some(d) = self.crm.devices.get(&id) {
                    self.puts.push(Record::Device(Device { insurance: after, ..d.clone() }));
                }
            }
        }
        self.counts.updated += 1;
        self.rows.push(outcome(InsuranceAction::Updated { changes }));
    }

    pub fn finish(self) -> InsurancePlan {
        InsurancePlan {
            template_id: self.template.id.to_string(),
            rows: self.rows,
            counts: self.counts,
            changes: ChangeSet { puts: self.puts, deletes: Vec::new() },
        }
    }
}

/// Plans a validated insurance file against the CRM. Nothing is written.
pub fn plan_insurance(crm: &Crm, template: &'static Template, validated: &Validated) -> InsurancePlan {
    let mut planner = InsurancePlanner::new(crm, template, validated);
    for (i, row) in validated.rows.iter().enumerate() {
        planner.row(i, row);
    }
    planner.finish()
}

/// The batch that applies an insurance plan, recorded in the import history with
/// before-images (the same [`record_import`] every import uses).
pub fn apply_insurance(crm: &Crm, plan: &InsurancePlan, ctx: &ApplyContext) -> (ChangeSet, ImportRecord) {
    record_import(crm, &plan.changes, crm.counters, ctx, plan.import_counts())
}

/// A sample (seeded by the file's hash) of 10–15 updated records — all of them when there
/// are 15 or fewer — each with the file's values next to what the CRM stores now.
pub fn insurance_sample(
    crm: &Crm,
    template: &Template,
    validated: &Validated,
    plan: &InsurancePlan,
    sha256: &str,
) -> Vec<VerificationSample> {
    let updated: Vec<&InsuranceRowOutcome> =
        plan.rows.iter().filter(|r| matches!(r.action, InsuranceAction::Updated { .. })).collect();
    let seed = u64::from_str_radix(sha256.get(0..16).unwrap_or("0"), 16).unwrap_or(0);
    let mut rng = SeededRandom::new(seed);
    let want = if updated.len() <= 15 { updated.len() } else { 10 + rng.below(6) };
    let mut picks = rng.sample_indices(updated.len(), want);
    picks.sort_unstable();
    picks
        .into_iter()
        .map(|k| {
            let o = updated[k];
            let row = &validated.rows[o.index];
            let stored = stored_insurance(crm, template, &o.id);
            let from_file = insurance_from_row(template, row, &Insurance::default());
            let id_header = template.columns[0].header.to_string();
            let mut file_values = vec![(id_header.clone(), o.id.clone())];
            let mut stored_values =
                vec![(id_header, if stored.is_some() { o.id.clone() } else { "(not found)".into() })];
            let mut agrees = stored.is_some();
            for c in template.columns.iter().skip(1) {
                let f = insurance_field_text(&from_file, c.header);
                let s = stored.map(|i| insurance_field_text(i, c.header)).unwrap_or_default();
                agrees &= f == s;
                file_values.push((c.header.to_string(), f));
                stored_values.push((c.header.to_string(), s));
            }
            VerificationSample {
                sheet_row: o.sheet_row,
                action: "Updated".into(),
                file_values,
                stored_values,
                agrees,
            }
        })
        .collect()
}

/// The template as CSV: exactly its header line.
pub fn template_csv(template: &Template) -> String {
    format!("{}\r\n", template.headers().join(","))
}

/// The skipped IDs and the invalid rows of a processed file, as XLSX.
pub fn write_insurance_results_report(
    template: &Template,
    plan: &InsurancePlan,
) -> Result<Vec<u8>, ExportError> {
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let id_header = template.columns[0].header;
    let skipped: Vec<_> = plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            InsuranceAction::Skipped { reason } => Some((r, reason.clone())),
            _ => None,
        })
        .collect();
    let invalid: Vec<_> = plan
        .rows
        .iter()
        .filter_map(|r| match &r.action {
            InsuranceAction::Invalid { issues } => Some((r, issues.join("\n"))),
            _ => None,
        })
        .collect();
    for (name, rows, last) in [("Skipped IDs", &skipped, "Reason"), ("Invalid Rows", &invalid, "Problems")] {
        check_rows_fit(name, rows.len())?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(name)?;
        write_header(sheet, &formats, &["Row", id_header, last], &[], &[8.0, 24.0, 90.0], rows.len())?;
        for (i, (r, text)) in rows.iter().enumerate() {
            let row = (i + 1) as u32;
            sheet.write_number(row, 0, r.sheet_row as f64)?;
            write_text(sheet, &formats, row, 1, &r.id)?;
            write_text(sheet, &formats, row, 2, text)?;
        }
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Summary")?;
    write_header(sheet, &formats, &["Outcome", "Rows"], &[], &[20.0, 10.0], 0)?;
    let c = plan.counts;
    for (i, (label, n)) in
        [("Updated", c.updated), ("Unchanged", c.unchanged), ("Skipped", c.skipped), ("Invalid", c.invalid)]
            .into_iter()
            .enumerate()
    {
        sheet.write_string((i + 1) as u32, 0, label)?;
        sheet.write_number((i + 1) as u32, 1, n as f64)?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::date::{Date, DayMonthOrder};
    use crate::core::model::SchoolRole;
    use crate::core::plan::undo;
    use crate::core::read::read_sheet;
    use crate::core::template::{DEVICE_INSURANCE, USER_INSURANCE};
    use crate::core::validate::{parse_amount_cents, parse_insurance_status, IssueCode};

    fn crm() -> Crm {
        let mut crm = Crm::default();
        for (id, name) in [("0001", "Ana Souza"), ("0002", "Ben Ito"), ("0003", "Cy Park")] {
            crm.school_users.insert(
                id.into(),
                SchoolUser {
                    user_id: id.into(),
                    name: name.into(),
                    role: SchoolRole::Student,
                    insurance: Insurance::default(),
                },
            );
        }
        crm.school_users.get_mut("0003").unwrap().insurance = Insurance {
            status: Some(InsuranceStatus::Enrolled),
            policy_number: Some("OLD-3".into()),
            coverage_amount_cents: Some(99),
            coverage_type: Some("Kept".into()),
            start: Date::new(2023, 1, 1),
            end: Date::new(2023, 12, 31),
        };
        for serial in ["SN-1", "SN-2", "SN-3"] {
            crm.devices.insert(
                serial.into(),
                Device {
                    serial: serial.into(),
                    model: "Laptop".into(),
                    insurance: Insurance {
                        status: Some(InsuranceStatus::NotEnrolled),
                        policy_number: Some(format!("P-{serial}")),
                        coverage_amount_cents: Some(10_000),
                        coverage_type: Some("Basic".into()),
                        start: Date::new(2024, 1, 1),
                        end: Date::new(2024, 12, 31),
                    },
                },
            );
        }
        crm
    }

    fn sheet(csv: &str) -> Sheet {
        read_sheet("file.csv", csv.as_bytes()).expect("readable")
    }

    fn plan_csv(
        crm: &Crm,
        template: &'static Template,
        csv: &str,
        order: DayMonthOrder,
    ) -> (Validated, InsurancePlan) {
        let s = sheet(csv);
        check_headers_exactly(template, &s.header).expect("headers match");
        let validated = validate_sheet(crm, template, &s, ValidationOptions { day_month_order: order });
        let plan = plan_insurance(crm, template, &validated);
        (validated, plan)
    }

    const USER_HEADER: &str =
        "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\n";
    const DEVICE_HEADER: &str =
        "Device Serial,Insurance Status,Policy Number,Coverage Amount,Coverage Type,Coverage Start Date\n";

    fn ctx(sha: &str) -> ApplyContext {
        ApplyContext {
            template_id: "device-insurance".into(),
            operator_login: "admin".into(),
            applied_at_ms: 1_700_000_000_000,
            file_name: "devices.csv".into(),
            sha256: sha.into(),
        }
    }

    #[test]
    fn status_values_accepted_and_refused() {
        for (text, want) in [
            ("Yes", "Enrolled"),
            ("yes", "Enrolled"),
            (" ENROLLED ", "Enrolled"),
            ("No", "Not Enrolled"),
            ("not enrolled", "Not Enrolled"),
            ("NOT ENROLLED", "Not Enrolled"),
        ] {
            assert_eq!(parse_insurance_status(text), Some(want), "{text}");
        }
        for text in ["Y", "N", "true", "1", "Enroled", "Not-Enrolled", "Pending", ""] {
            assert_eq!(parse_insurance_status(text), None, "{text}");
        }
        let c = crm();
        let csv = format!("{USER_HEADER}0001,Yes,,,\n0002,Maybe,,,\n0003,TRUE,,,\n");
        let (validated, plan) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert!(!validated.rows[0].blocked());
        assert!(validated.rows[1].blocked() && validated.rows[2].blocked());
        assert!(validated
            .issues
            .iter()
            .any(|i| i.code == IssueCode::InsuranceStatus && i.cell.as_deref() == Some("B3")));
        assert_eq!(plan.counts, InsuranceCounts { updated: 1, unchanged: 0, skipped: 0, invalid: 2 });
    }

    #[test]
    fn amount_parsing() {
        assert_eq!(parse_amount_cents("12"), Some(1200));
        assert_eq!(parse_amount_cents("12.5"), Some(1250));
        assert_eq!(parse_amount_cents("12.50"), Some(1250));
        assert_eq!(parse_amount_cents(" 0.07 "), Some(7));
        for bad in ["12.505", "1,2", "1,200", "abc", "-5", "$12", "12.", ".5", "1e3", ""] {
            assert_eq!(parse_amount_cents(bad), None, "{bad}");
        }
        let c = crm();
        let csv = format!(
            "{DEVICE_HEADER}SN-1,Yes,P1,12,,\nSN-2,Yes,P2,12.5,,\nSN-3,Yes,P3,12.50,,\nSN-1,Yes,P4,12.505,,\nSN-2,Yes,P5,\"1,2\",,\nSN-3,Yes,P6,abc,,\n"
        );
        let (validated, _) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        let cents: Vec<Option<i64>> = validated.rows.iter().map(|r| r.cents(3)).collect();
        assert_eq!(&cents[..3], &[Some(1200), Some(1250), Some(1250)]);
        assert!(validated.rows[..3].iter().all(|r| !r.blocked()));
        assert!(validated.rows[3..].iter().all(|r| r.blocked()));
        assert_eq!(validated.issues.iter().filter(|i| i.code == IssueCode::Amount).count(), 3);
    }

    #[test]
    fn dates_iso_and_day_month_order_never_guessed() {
        let c = crm();
        let csv = format!("{USER_HEADER}0001,Yes,P,2024-03-04,05/06/2024\n");
        let (iso_only, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert_eq!(iso_only.rows[0].date(3), Date::new(2024, 3, 4));
        assert!(iso_only.rows[0].blocked(), "05/06/2024 is not guessed without an order");
        assert!(iso_only
            .issues
            .iter()
            .any(|i| i.code == IssueCode::Date && i.column.as_deref() == Some("Coverage End Date")));
        let (day_first, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::DayFirst);
        assert_eq!(day_first.rows[0].date(4), Date::new(2024, 6, 5));
        let (month_first, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::MonthFirst);
        assert_eq!(month_first.rows[0].date(4), Date::new(2024, 5, 6));
        let csv = format!("{USER_HEADER}0001,Yes,P,31/02/2024,\n");
        let (impossible, _) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::DayFirst);
        assert!(impossible.rows[0].blocked());
    }

    #[test]
    fn wrong_template_detection() {
        let user = sheet(USER_HEADER);
        let device = sheet(DEVICE_HEADER);
        assert_eq!(detect_template(&user.header).map(|t| t.id), Some("user-insurance"));
        assert_eq!(detect_template(&device.header).map(|t| t.id), Some("device-insurance"));
        let shuffled =
            sheet("insurance status , USER ID,Coverage End Date,Policy Number,Coverage Start Date\n");
        assert_eq!(detect_template(&shuffled.header).map(|t| t.id), Some("user-insurance"));
        assert!(check_headers_exactly(&USER_INSURANCE, &shuffled.header).is_ok());

        let err = check_headers_exactly(&DEVICE_INSURANCE, &user.header).unwrap_err();
        assert!(matches!(err, HeaderProblem::OtherTemplate { .. }));
        let msg = err.to_string();
        assert!(msg.starts_with("This is a user insurance file (User ID, Insurance Status"), "{msg}");
        assert!(msg.contains("not a device insurance file"), "{msg}");
        let msg = check_headers_exactly(&USER_INSURANCE, &device.header).unwrap_err().to_string();
        assert!(msg.starts_with("This is a device insurance file (Device Serial"), "{msg}");

        let extra =
            sheet("User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date,Notes\n");
        let HeaderProblem::Mismatch { extra: e, missing, .. } =
            check_headers_exactly(&USER_INSURANCE, &extra.header).unwrap_err()
        else {
            panic!("expected a mismatch")
        };
        assert_eq!(e, vec!["Notes".to_string()]);
        assert!(missing.is_empty());
        let short = sheet("User ID,Insurance Status\n");
        let HeaderProblem::Mismatch { missing, .. } =
            check_headers_exactly(&USER_INSURANCE, &short.header).unwrap_err()
        else {
            panic!("expected a mismatch")
        };
        assert_eq!(missing.len(), 3);
        assert!(detect_template(&short.header).is_none());
        assert!(matches!(recognise(None, &short.header), Err(HeaderProblem::Unrecognised { .. })));
        assert_eq!(recognise(None, &device.header).unwrap().id, "device-insurance");
    }

    #[test]
    fn unknown_ids_are_skipped_and_listed() {
        let c = crm();
        let csv =
            format!("{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-404,Yes,X,1,,\nSN-405,No,,,,\n");
        let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert_eq!(plan.counts, InsuranceCounts { updated: 1, unchanged: 0, skipped: 2, invalid: 0 });
        let skipped: Vec<(&str, usize)> = plan
            .rows
            .iter()
            .filter(|r| matches!(&r.action, InsuranceAction::Skipped { reason } if reason == "no device with this serial"))
            .map(|r| (r.id.as_str(), r.sheet_row))
            .collect();
        assert_eq!(skipped, vec![("SN-404", 3), ("SN-405", 4)]);
        assert_eq!(plan.changes.puts.len(), 1);
        let report = write_insurance_results_report(&DEVICE_INSURANCE, &plan).unwrap();
        assert_eq!(&report[..2], b"PK");
    }

    #[test]
    fn overwrite_semantics_empty_cell_clears_named_fields_only() {
        let c = crm();
        // User 0003 has every field set; the row clears the optional ones the template names.
        let csv = format!("{USER_HEADER}0003,No,,,\n0001,Enrolled,POL-1,2025-01-01,2025-12-31\n");
        let (_, plan) = plan_csv(&c, &USER_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert_eq!(plan.counts.updated, 2);
        let InsuranceAction::Updated { changes } = &plan.rows[0].action else { panic!("updated") };
        let fields: Vec<&str> = changes.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["Insurance Status", "Policy Number", "Coverage Start Date", "Coverage End Date"]);
        assert_eq!(changes[1].before, "OLD-3");
        assert_eq!(changes[1].after, "");
        let mut after = c.clone();
        after.apply_changes(&plan.changes).unwrap();
        let u3 = &after.school_users["0003"].insurance;
        assert_eq!(u3.status, Some(InsuranceStatus::NotEnrolled));
        assert_eq!((u3.policy_number.as_deref(), u3.start, u3.end), (None, None, None));
        // Not named by the user template: kept.
        assert_eq!((u3.coverage_amount_cents, u3.coverage_type.as_deref()), (Some(99), Some("Kept")));
        let u1 = &after.school_users["0001"].insurance;
        assert_eq!(u1.policy_number.as_deref(), Some("POL-1"));
        assert_eq!(u1.end, Date::new(2025, 12, 31));
        assert_eq!(after.school_users["0001"].name, "Ana Souza");
    }

    #[test]
    fn records_not_in_the_file_are_untouched() {
        let c = crm();
        let csv = format!("{DEVICE_HEADER}SN-2,Yes,NEW-2,750.25,Full,2025-02-01\n");
        let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        let mut after = c.clone();
        after.apply_changes(&plan.changes).unwrap();
        assert_eq!(after.devices["SN-1"], c.devices["SN-1"]);
        assert_eq!(after.devices["SN-3"], c.devices["SN-3"]);
        assert_eq!(after.school_users, c.school_users);
        let d2 = &after.devices["SN-2"].insurance;
        assert_eq!(d2.coverage_amount_cents, Some(75_025));
        assert_eq!(d2.policy_number.as_deref(), Some("NEW-2"));
        // Coverage End Date is not a device template column: kept.
        assert_eq!(d2.end, Date::new(2024, 12, 31));
    }

    #[test]
    fn repeated_id_in_the_file_is_invalid() {
        let c = crm();
        let csv = format!("{DEVICE_HEADER}SN-1,Yes,A,,,\nSN-1,No,B,,,\n");
        let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert_eq!(plan.counts, InsuranceCounts { updated: 1, unchanged: 0, skipped: 0, invalid: 1 });
        let InsuranceAction::Invalid { issues } = &plan.rows[1].action else { panic!("invalid") };
        assert!(issues[0].contains("already on row 2"), "{issues:?}");
    }

    #[test]
    fn processing_the_same_file_again_changes_nothing() {
        let c = crm();
        let csv = format!(
            "{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-2,not enrolled,,,,\nSN-9,Yes,X,,,\n"
        );
        let (_, first) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert_eq!(first.counts.updated, 2);
        let (changes, record) = apply_insurance(&c, &first, &ctx("abc"));
        let mut after = c.clone();
        after.apply_changes(&changes).unwrap();
        assert_eq!(after.imports[&record.id].sha256, "abc");
        let (_, second) = plan_csv(&after, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        assert_eq!(second.counts, InsuranceCounts { updated: 0, unchanged: 2, skipped: 1, invalid: 0 });
        assert!(second.changes.is_empty());
    }

    #[test]
    fn apply_then_undo_restores_the_crm() {
        let c = crm();
        let csv = format!("{DEVICE_HEADER}SN-1,Yes,NEW-1,500,Full,2025-01-01\nSN-3,No,,,,\n");
        let (validated, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        let (changes, record) = apply_insurance(&c, &plan, &ctx("def"));
        assert_eq!(record.before_images.len(), 2);
        assert_eq!(record.counts.updated, 2);
        let mut after = c.clone();
        after.apply_changes(&changes).unwrap();
        assert_ne!(after.devices, c.devices);
        let sample = insurance_sample(&after, &DEVICE_INSURANCE, &validated, &plan, "def");
        assert_eq!(sample.len(), 2);
        assert!(sample.iter().all(|s| s.agrees), "{sample:?}");
        let undo_changes = undo(&after).unwrap();
        after.apply_changes(&undo_changes).unwrap();
        assert_eq!(after.devices, c.devices);
        assert_eq!(after.school_users, c.school_users);
        assert!(after.imports[&record.id].undone);
    }

    #[test]
    fn templates_download_with_exact_headers_and_status_report() {
        assert_eq!(
            template_csv(&USER_INSURANCE),
            "User ID,Insurance Status,Policy Number,Coverage Start Date,Coverage End Date\r\n"
        );
        assert_eq!(template_csv(&DEVICE_INSURANCE).trim_end(), DEVICE_HEADER.trim_end());
        for t in insurance_templates() {
            let bytes = crate::core::template::write_template_workbook(t).unwrap();
            let read = read_sheet("t.xlsx", &bytes).unwrap();
            assert_eq!(read.header, t.headers(), "{}", t.id);
            assert_eq!(detect_template(&read.header).map(|d| d.id), Some(t.id));
        }
        let c = crm();
        let (users, devices) = status_counts(&c);
        assert_eq!(users, StatusCounts { enrolled: 1, not_enrolled: 0, none: 2 });
        assert_eq!(devices, StatusCounts { enrolled: 0, not_enrolled: 3, none: 0 });
        let bytes = write_insurance_status_report(&c).unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }

    #[test]
    fn twenty_thousand_rows_plan_and_apply() {
        let mut c = crm();
        for n in 0..20_000 {
            let serial = format!("BULK-{n:05}");
            c.devices.insert(
                serial.clone(),
                Device { serial, model: "Tablet".into(), insurance: Insurance::default() },
            );
        }
        let mut csv = DEVICE_HEADER.to_string();
        for n in 0..20_000 {
            csv.push_str(&format!("BULK-{n:05},Yes,POL-{n},1250.50,Full,2025-01-01\n"));
        }
        let started = std::time::Instant::now();
        let (_, plan) = plan_csv(&c, &DEVICE_INSURANCE, &csv, DayMonthOrder::IsoOnly);
        let (changes, record) = apply_insurance(&c, &plan, &ctx("big"));
        c.apply_changes(&changes).unwrap();
        eprintln!("20,000 rows read, validated, planned and applied in {:?}", started.elapsed());
        assert_eq!(plan.counts.updated, 20_000);
        assert_eq!(record.before_images.len(), 20_000);
        assert_eq!(c.devices["BULK-19999"].insurance.policy_number.as_deref(), Some("POL-19999"));
    }
}
