//! Report workbooks of an import: the error report (the uploaded rows in template order with
//! an Errors column and every cell that has an issue highlighted, to fix and re-upload; the
//! issues of validation and of the plan; the SSN column masked unless the operator asks for
//! full SSNs) and the plan report (one row per input row of any
//! workflow's plan: outcome in the shared words — created, updated, added, unchanged,
//! skipped, error —, match tier, record with its identifier, what the outcome is about,
//! changes, issues, top candidates with their identifiers, and the fields changed in the CRM
//! since the file was exported). What a workflow adds to its rows (the matcher's notes, the
//! top candidates of unmatched rows) comes in as [`ReportExtras`].

use std::collections::{BTreeSet, HashMap};

use rust_xlsxwriter::Workbook;

use crate::core::plan::{show, ImportPlan, RowAction};
use crate::core::privacy::ssn::mask_text;
use crate::core::privacy::{FullSsns, Ssn};
use crate::core::template::{Template, ValueKind};
use crate::core::validate::{Issue, Severity, Validated, MAX_CELL_CHARS};
use crate::core::xlsx::{
    check_rows_fit, save, write_header, write_text, write_text_flagged, ExportError, Formats,
};

/// What a workflow adds to the plan report's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportExtras {
    /// Notes by sheet row (the matcher's: a Public ID found nowhere, …), listed with the
    /// row's issues.
    pub notes: HashMap<usize, Vec<String>>,
    /// By validated row index ([`crate::core::plan::PlannedRow::index`]).
    pub rows: HashMap<usize, RowExtras>,
}

/// What a workflow adds to one row of the plan report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowExtras {
    /// The match tier that decided the row.
    pub tier: String,
    /// The top candidates of an unmatched row: "label (92%: reasons)".
    pub candidates: Vec<String>,
    /// Fields changed both in the CRM and in the file since the export, one per line.
    pub changed_in_crm: Vec<String>,
}

/// How the error report writes the file's SSN column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorReportOptions {
    /// "Include full SSNs": the SSN column as the file had it. Off by default: each SSN cell
    /// is masked `XXX-XX-6789` (a report sent to a colleague or a third party carries no
    /// SSN; one to fix and re-upload with SSNs needs this on).
    pub include_full_ssns: bool,
}

/// The uploaded rows with an Errors column; cells with an issue are highlighted; SSNs masked.
pub fn write_error_report(template: &Template, validated: &Validated) -> Result<Vec<u8>, ExportError> {
    write_error_report_with(template, validated, &[])
}

/// The error report of a planned file: validation's issues and the plan's own
/// ([`ImportPlan::issues`]: the rules that need the CRM), each cell with an issue highlighted.
pub fn write_plan_error_report(
    template: &Template,
    validated: &Validated,
    plan: &ImportPlan,
) -> Result<Vec<u8>, ExportError> {
    write_error_report_with(template, validated, &plan.issues)
}

/// [`write_error_report`] with issues found after validation (`extra`) listed and highlighted
/// like validation's; SSNs masked.
pub fn write_error_report_with(
    template: &Template,
    validated: &Validated,
    extra: &[Issue],
) -> Result<Vec<u8>, ExportError> {
    write_error_report_with_options(template, validated, extra, ErrorReportOptions::default())
        .map(|f| f.bytes)
}

/// The error report with its options, and how many distinct full SSNs it holds (none unless
/// [`ErrorReportOptions::include_full_ssns`]).
pub fn write_error_report_with_options(
    template: &Template,
    validated: &Validated,
    extra: &[Issue],
    options: ErrorReportOptions,
) -> Result<FullSsns, ExportError> {
    let mut full_ssns: BTreeSet<Ssn> = BTreeSet::new();
    let sheet_name = template.sheet_name;
    check_rows_fit(sheet_name, validated.rows.len())?;
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name)?;
    let mut headers = template.headers();
    headers.push("Errors");
    let required: Vec<bool> = template.columns.iter().map(|c| c.header_required()).chain([false]).collect();
    let mut widths: Vec<f64> =
        template.columns.iter().map(|c| (c.header.len() as f64 + 4.0).max(12.0)).collect();
    widths.push(80.0);
    write_header(sheet, &formats, &headers, &required, &widths, validated.rows.len())?;
    let mut by_row = validated.issues_by_row();
    for issue in extra {
        by_row.entry(issue.row).or_default().push(issue);
    }
    let errors_col = template.columns.len() as u16;
    for (i, row) in validated.rows.iter().enumerate() {
        let r = (i + 1) as u32;
        let issues = by_row.get(&row.sheet_row).cloned().unwrap_or_default();
        let flagged: HashMap<&str, bool> = issues
            .iter()
            .filter_map(|is| is.column.as_deref().map(|c| (c, is.severity == Severity::Error)))
            .fold(HashMap::new(), |mut m, (c, e)| {
                *m.entry(c).or_insert(false) |= e;
                m
            });
        for (col, spec) in template.columns.iter().enumerate() {
            let raw = row.raw(col);
            let masked;
            let value: &str = match spec.kind {
                ValueKind::Ssn if raw.trim().is_empty() => &raw,
                ValueKind::Ssn if options.include_full_ssns => {
                    full_ssns.extend(Ssn::parse(&raw));
                    &raw
                }
                ValueKind::Ssn => {
                    masked = mask_text(&raw);
                    masked.as_str()
                }
                _ => &raw,
            };
            // A value over a cell's limit (already an error on its cell) keeps its first
            // 32,767 characters, so the report still writes; the Errors column says the
            // value was longer.
            let value = within_cell_limit(value);
            let value: &str = &value;
            if flagged.contains_key(spec.header) {
                write_text_flagged(sheet, &formats, r, col as u16, value)?;
            } else {
                write_text(sheet, &formats, r, col as u16, value)?;
            }
        }
        let text: Vec<String> = issues
            .iter()
            .map(|is| {
                let sev = if is.severity == Severity::Error { "Error" } else { "Warning" };
                match &is.cell {
                    Some(cell) => format!("{sev} {cell}: {}", is.message),
                    None => format!("{sev}: {}", is.message),
                }
            })
            .collect();
        write_text(sheet, &formats, r, errors_col, &text.join("\n"))?;
    }
    Ok(FullSsns { bytes: save(workbook)?, ssns: full_ssns.len() })
}

/// The plan report's column of fields both the CRM and the file changed since the export:
/// "Field: CRM now … / file … (… kept)" per line.
pub const STALE_HEADER: &str = "Changed in the CRM since export";

/// One line per row: what the plan does with it and why, with what the workflow adds
/// (`extras`: the matcher's notes, each unmatched row's top candidates).
pub fn write_plan_report(
    validated: &Validated,
    plan: &ImportPlan,
    extras: &ReportExtras,
) -> Result<Vec<u8>, ExportError> {
    const SHEET: &str = "Import Plan";
    check_rows_fit(SHEET, plan.rows.len())?;
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(SHEET)?;
    let headers = [
        "Row",
        "Outcome",
        "Match tier",
        "CRM entry",
        "Detail",
        "Changes",
        "Issues",
        "Top candidates",
        STALE_HEADER,
    ];
    write_header(
        sheet,
        &formats,
        &headers,
        &[],
        &[7.0, 12.0, 26.0, 34.0, 26.0, 60.0, 60.0, 60.0, 70.0],
        plan.rows.len(),
    )?;
    let mut by_row = validated.issues_by_row();
    for issue in &plan.issues {
        by_row.entry(issue.row).or_default().push(issue);
    }
    for (i, p) in plan.rows.iter().enumerate() {
        let r = (i + 1) as u32;
        sheet.write_number(r, 0, p.sheet_row as f64)?;
        write_text(sheet, &formats, r, 1, p.label())?;
        let row_extras = extras.rows.get(&p.index);
        write_text(sheet, &formats, r, 2, row_extras.map(|x| x.tier.as_str()).unwrap_or(""))?;
        write_text(sheet, &formats, r, 3, p.record_label())?;
        let detail = match &p.action {
            RowAction::Skip(reason) => reason.as_str(),
            _ => p.detail(),
        };
        write_text(sheet, &formats, r, 4, detail)?;
        let changes: Vec<String> = p
            .changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, show(&c.before), show(&c.after)))
            .collect();
        write_text(sheet, &formats, r, 5, &changes.join("\n"))?;
        let mut issues: Vec<String> = by_row
            .get(&p.sheet_row)
            .map(|v| {
                v.iter().map(|i| format!("{}: {}", i.cell.clone().unwrap_or_default(), i.message)).collect()
            })
            .unwrap_or_default();
        issues.extend(extras.notes.get(&p.sheet_row).into_iter().flatten().cloned());
        issues.extend(p.notes.iter().cloned());
        write_text(sheet, &formats, r, 6, &issues.join("\n"))?;
        if let Some(x) = row_extras.filter(|x| !x.candidates.is_empty()) {
            write_text(sheet, &formats, r, 7, &x.candidates.join("\n"))?;
        }
        if let Some(x) = row_extras.filter(|x| !x.changed_in_crm.is_empty()) {
            write_text(sheet, &formats, r, 8, &x.changed_in_crm.join("\n"))?;
        }
    }
    save(workbook)
}

/// `value` cut to the first [`MAX_CELL_CHARS`] characters (Excel's cell limit) when it is longer.
fn within_cell_limit(value: &str) -> std::borrow::Cow<'_, str> {
    match value.char_indices().nth(MAX_CELL_CHARS) {
        None => std::borrow::Cow::Borrowed(value),
        Some((cut, _)) => std::borrow::Cow::Owned(value[..cut].to_string()),
    }
}
