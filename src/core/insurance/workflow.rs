//! The bulk insurance workflow as the app runs it (System Utilities): the user and device
//! templates, one staged file at a time, the overwrite planner with the operator's "empty
//! cells clear stored values", Process, and the results report of skipped and invalid rows.

use crate::core::model::{Crm, EntityKind, Insurance};
use crate::core::plan::{ImportPlan, PlannedRow, RowFacts};
use crate::core::template::{Field, Template};
use crate::core::workflow::{seconds_text, Applied, PlanInput, Wording, Workflow, WorkflowId};
use crate::core::xlsx::ExportError;

use super::report::write_insurance_results_report;
use super::{insurance_field_text, InsuranceOptions, DEVICE_INSURANCE, USER_INSURANCE};

/// The workflow's id.
pub const ID: WorkflowId = WorkflowId::new("insurance");

static TEMPLATES: [&Template; 2] = [&USER_INSURANCE, &DEVICE_INSURANCE];

/// Bulk insurance of school users and devices.
#[derive(Debug, Clone, Copy)]
pub struct BulkInsurance;

/// The workflow, as the registry lists it.
pub static WORKFLOW: BulkInsurance = BulkInsurance;

/// The stored insurance of the record a row names (by its template's target).
fn stored<'c>(crm: &'c Crm, template: &Template, row: &PlannedRow) -> Option<&'c Insurance> {
    let RowFacts::Insurance { id } = &row.facts else { return None };
    match template.target {
        EntityKind::SchoolUser => crm.school_users.get(id).map(|u| &u.insurance),
        EntityKind::Device => crm.devices.get(id).map(|d| &d.insurance),
        _ => None,
    }
}

impl Workflow for BulkInsurance {
    fn id(&self) -> WorkflowId {
        ID
    }

    fn templates(&self) -> &'static [&'static Template] {
        &TEMPLATES
    }

    fn plan(&self, input: &PlanInput<'_>) -> ImportPlan {
        let options = InsuranceOptions { clear_empty_cells: input.options.clear_empty_cells };
        super::plan::plan(input.crm, input.template, input.validated, options)
    }

    fn wording(&self) -> Wording {
        Wording {
            plan_title: "Review: what Process will do — nothing has been written yet".into(),
            apply_button: "Process".into(),
            apply_verb: "Process".into(),
            applied: "processed".into(),
            counts: [" to create".into(), " to update".into(), " to add".into()],
            apply_counts_changes: false,
            applies_without_changes: true,
            shows_contacts: false,
        }
    }

    fn applied_message(&self, a: &Applied<'_>) -> String {
        let c = a.counts;
        format!(
            "Import #{} processed in {}: {} updated, {} unchanged, {} skipped, {} invalid.",
            a.import_id,
            seconds_text(a.seconds),
            c.updated,
            c.unchanged,
            c.skipped,
            c.errors
        )
    }

    fn stored_found(&self, crm: &Crm, template: &Template, row: &PlannedRow) -> bool {
        stored(crm, template, row).is_some()
    }

    fn stored_text(&self, crm: &Crm, template: &Template, row: &PlannedRow, field: Field) -> String {
        stored(crm, template, row).map(|i| insurance_field_text(i, field)).unwrap_or_default()
    }

    fn results_report(&self, template: &Template, plan: &ImportPlan) -> Option<Result<Vec<u8>, ExportError>> {
        Some(write_insurance_results_report(template, plan))
    }
}
