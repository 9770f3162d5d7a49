//! The insured contact details workflow as the app runs it: the Import page's one template,
//! a staged file per template, rows matched to persons the operator resolves, the export base
//! a re-imported export carries, the planner with the operator's choices, and how its plan
//! rows, verification sample and apply message read.

use std::collections::HashMap;

use crate::core::index::CrmIndex;
use crate::core::model::{ContactDetail, Crm, CrmEntry};
use crate::core::plan::{ImportPlan, PlannedRow};
use crate::core::report::{ReportExtras, RowExtras};
use crate::core::template::{Field, Template};
use crate::core::validate::Validated;
use crate::core::workflow::{Applied, PlanInSlices, PlanInput, PlannedWhole, Wording, Workflow, WorkflowId};

use super::base::{read_export_base, ExportBaseRead};
use super::matching::{Matcher, Matches, RowMatch};
use super::plan::{plan, plan_with_base, PlanSlices, TakeFile};
use super::INSURED_CONTACT_DETAILS;

/// The workflow's id.
pub const ID: WorkflowId = WorkflowId::new("insured");

static TEMPLATES: [&Template; 1] = [&INSURED_CONTACT_DETAILS];

/// Insured contact details: the Insured CRM Export read back (the Import page).
#[derive(Debug, Clone, Copy)]
pub struct InsuredContactDetails;

/// The workflow, as the registry lists it.
pub static WORKFLOW: InsuredContactDetails = InsuredContactDetails;

impl Workflow for InsuredContactDetails {
    fn id(&self) -> WorkflowId {
        ID
    }

    fn templates(&self) -> &'static [&'static Template] {
        &TEMPLATES
    }

    fn names_template(&self) -> bool {
        true
    }

    fn staging_slot(&self, template: &Template) -> String {
        template.id.to_string()
    }

    fn resolves_persons(&self) -> bool {
        true
    }

    fn export_base(&self, file_name: &str, bytes: &[u8]) -> ExportBaseRead {
        read_export_base(file_name, bytes)
    }

    fn plan(&self, input: &PlanInput<'_>) -> ImportPlan {
        let take_file = if input.options.take_file_values { TakeFile::All } else { TakeFile::None };
        let PlanInput { crm, template, validated, base, .. } = *input;
        match input.resolution {
            Some(r) => plan_with_base(crm, template, validated, r.matches, r.choices, base, &take_file),
            None => {
                let index = CrmIndex::new(crm);
                let matches = Matcher::new(template, &index).with_base(base.base()).all(&validated.rows);
                plan_with_base(crm, template, validated, &matches, &[], base, &take_file)
            }
        }
    }

    fn plan_in_slices<'a>(&self, input: PlanInput<'a>) -> Box<dyn PlanInSlices + 'a> {
        match input.resolution {
            Some(r) => {
                let take_file = if input.options.take_file_values { TakeFile::All } else { TakeFile::None };
                let slices =
                    PlanSlices::new(input.crm, input.template, input.validated, r.matches, r.choices)
                        .with_base_taking(input.base, take_file);
                Box::new(slices)
            }
            // Matched here, without the operator: planned whole.
            None => Box::new(PlannedWhole(self.plan(&input))),
        }
    }

    fn plan_alone(&self, crm: &Crm, template: &'static Template, validated: &Validated) -> ImportPlan {
        let index = CrmIndex::new(crm);
        let matches = Matcher::new(template, &index).all(&validated.rows);
        plan(crm, template, validated, &matches, &[])
    }

    fn wording(&self) -> Wording {
        Wording {
            plan_title: "The plan — nothing has been written yet".into(),
            apply_button: "Apply".into(),
            apply_verb: "Apply".into(),
            applied: "applied".into(),
            counts: [" entries to create".into(), " details to update".into(), " details to add".into()],
            apply_counts_changes: true,
            applies_without_changes: false,
            shows_contacts: false,
        }
    }

    fn applied_message(&self, a: &Applied<'_>) -> String {
        let c = a.counts;
        format!(
            "Import #{} applied: {} created, {} updated, {} added, {} unchanged, {} skipped.",
            a.import_id, c.created, c.updated, c.added, c.unchanged, c.skipped
        )
    }

    /// A few identifying fields: the table stays readable.
    fn review_fields(&self, _template: &Template) -> Vec<Field> {
        vec![
            Field::CaseReference,
            Field::InsuredReference,
            Field::FirstName,
            Field::ClientReference,
            Field::Ssn,
            Field::DetailType,
            Field::PublicId,
        ]
    }

    fn plan_columns(&self, _template: &Template) -> Vec<String> {
        vec!["Match tier".to_string(), "CRM entry".to_string(), "Public ID".to_string()]
    }

    fn plan_cells(&self, row: &PlannedRow) -> Vec<String> {
        let f = row.insured().cloned().unwrap_or_default();
        vec![
            f.tier.map(|t| t.label().to_string()).unwrap_or_default(),
            f.entry_label,
            f.public_id.unwrap_or_default(),
        ]
    }

    fn plan_notes(&self, row: &PlannedRow) -> Vec<String> {
        let Some(f) = row.insured() else { return Vec::new() };
        f.stale_conflicts.iter().map(|c| format!("Changed in the CRM since export — {}", c.text())).collect()
    }

    fn report_extras(&self, crm: &Crm, plan: &ImportPlan, matches: Option<&Matches>) -> ReportExtras {
        report_extras(crm, plan, matches)
    }

    fn stored_found(&self, crm: &Crm, _template: &Template, row: &PlannedRow) -> bool {
        stored_entry(crm, row).is_some()
    }

    fn stored_text(&self, crm: &Crm, _template: &Template, row: &PlannedRow, field: Field) -> String {
        let entry = |f: fn(&CrmEntry) -> String| stored_entry(crm, row).map(f);
        let detail = |f: fn(&ContactDetail) -> String| stored_detail(crm, row).map(f);
        match field {
            Field::FirstName => entry(|e| e.first_name.clone()),
            Field::LastName => entry(|e| e.last_name.clone()),
            Field::ClientReference => entry(|e| e.client_reference.clone().unwrap_or_default()),
            Field::DetailType => detail(|d| d.kind.label().to_string()),
            Field::AddressLine1 => detail(|d| d.fields.address_line1.clone()),
            Field::City => detail(|d| d.fields.city.clone()),
            Field::Postcode => detail(|d| d.fields.postcode.clone()),
            Field::Phone => detail(|d| d.fields.phone.clone()),
            Field::Email => detail(|d| d.fields.email.clone()),
            _ => None,
        }
        .unwrap_or_default()
    }

    fn sample_extras(&self, row: &PlannedRow) -> Vec<(String, String)> {
        row.insured()
            .and_then(|f| f.public_id.as_ref())
            .map(|pid| vec![("Public ID".to_string(), pid.clone())])
            .unwrap_or_default()
    }
}

fn stored_entry<'c>(crm: &'c Crm, row: &PlannedRow) -> Option<&'c CrmEntry> {
    row.insured().and_then(|f| f.entry).and_then(|e| crm.entries.get(&e))
}

fn stored_detail<'c>(crm: &'c Crm, row: &PlannedRow) -> Option<&'c ContactDetail> {
    row.insured().and_then(|f| f.public_id.as_ref()).and_then(|id| crm.details.get(id))
}

/// What the plan report adds to an insured plan: the matcher's notes, each row's tier and
/// fields changed in the CRM since the export, and the top three candidates of every row of an
/// unmatched person.
pub fn report_extras(crm: &Crm, plan: &ImportPlan, matches: Option<&Matches>) -> ReportExtras {
    let mut notes: HashMap<usize, Vec<String>> = HashMap::new();
    for n in matches.map(|m| m.notes.as_slice()).unwrap_or_default() {
        notes.entry(n.row).or_default().push(n.message.clone());
    }
    let mut rows = HashMap::new();
    for p in &plan.rows {
        let facts = p.insured();
        let candidates = match matches.and_then(|m| m.rows.get(p.index).map(|r| (r, m))) {
            Some((RowMatch::Group(g), m)) => m.groups[*g]
                .candidates
                .iter()
                .take(3)
                .map(|c| {
                    let label =
                        crm.entries.get(&c.entry).map(|e| e.label()).unwrap_or_else(|| c.label.clone());
                    format!("{label} ({}%: {})", c.score, c.reasons.join(", "))
                })
                .collect(),
            _ => Vec::new(),
        };
        let extras = RowExtras {
            tier: facts.and_then(|f| f.tier).map(|t| t.label().to_string()).unwrap_or_default(),
            candidates,
            changed_in_crm: facts
                .map(|f| f.stale_conflicts.iter().map(|c| c.text()).collect())
                .unwrap_or_default(),
        };
        if extras != RowExtras::default() {
            rows.insert(p.index, extras);
        }
    }
    ReportExtras { notes, rows }
}

/// The insured planner's slices are [`PlanSlices`].
impl PlanInSlices for PlanSlices<'_> {
    fn total(&self) -> usize {
        PlanSlices::total(self)
    }

    fn planned(&self) -> usize {
        PlanSlices::planned(self)
    }

    fn plan_rows(&mut self, count: usize) {
        PlanSlices::plan_rows(self, count);
    }

    fn finish(self: Box<Self>) -> ImportPlan {
        PlanSlices::finish(*self)
    }
}
