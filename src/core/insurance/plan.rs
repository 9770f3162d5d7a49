//! The insurance planner: each row's key (the template's column for its cascade tier) finds a
//! school user or device; a found record's insurance fields named by the template are
//! overwritten by the values the row gives (empty cells keep the stored values unless the
//! [`InsuranceOptions`] say they clear them), an unknown key is skipped, a repeated key is an
//! error. The plan is the preview Process applies. Work is per row ([`Planner::row`]) so the
//! page can plan in chunks and show progress.

use std::collections::HashMap;

use crate::core::model::{Crm, Device, EntityKind, Insurance, Record, SchoolUser};
use crate::core::plan::{errors_by_row, key, FieldChange, ImportPlan, PlannedRow, RowAction, RowFacts};
use crate::core::template::{Field, MatchTier, Template};
use crate::core::validate::{Validated, ValidatedRow};

use super::{insurance_field_text, insurance_from_row, is_insurance_field, InsuranceOptions};

/// The records an insurance template's cascade tier finds, and the column of its key.
#[derive(Debug, Clone, Copy)]
struct Target {
    kind: EntityKind,
    /// Column of the key field; `None` when the template lacks it (every row is then skipped).
    column: Option<usize>,
}

impl Target {
    fn of(template: &Template) -> Target {
        let tier = template
            .cascade
            .iter()
            .copied()
            .find(|t| matches!(t, MatchTier::UserId | MatchTier::DeviceSerial));
        let (kind, field) = match tier {
            Some(MatchTier::DeviceSerial) => (EntityKind::Device, Field::DeviceSerial),
            _ => (EntityKind::SchoolUser, Field::UserId),
        };
        Target { kind, column: template.col(field) }
    }

    fn stored<'c>(&self, crm: &'c Crm, id: &str) -> Option<&'c Insurance> {
        match self.kind {
            EntityKind::Device => crm.devices.get(id).map(|d| &d.insurance),
            _ => crm.school_users.get(id).map(|u| &u.insurance),
        }
    }

    fn not_found(&self) -> &'static str {
        match self.kind {
            EntityKind::Device => "no device with this serial",
            _ => "no user with this ID",
        }
    }
}

fn insurance_changes(template: &Template, before: &Insurance, after: &Insurance) -> Vec<FieldChange> {
    template
        .columns
        .iter()
        .filter(|c| is_insurance_field(c.field))
        .map(|c| FieldChange {
            field: c.header.to_string(),
            before: insurance_field_text(before, c.field),
            after: insurance_field_text(after, c.field),
        })
        .filter(|f| f.before != f.after)
        .collect()
}

/// Plans row by row, so the page can work in chunks and show progress.
#[derive(Debug)]
pub struct Planner<'a> {
    crm: &'a Crm,
    template: &'static Template,
    target: Target,
    /// Error messages by sheet row.
    errors: HashMap<usize, Vec<String>>,
    /// Which template columns the file has.
    present: Vec<bool>,
    /// Key → sheet row of its first row in the file.
    seen: HashMap<String, usize>,
    options: InsuranceOptions,
    plan: ImportPlan,
}

impl<'a> Planner<'a> {
    pub fn new(
        crm: &'a Crm,
        template: &'static Template,
        validated: &Validated,
        options: InsuranceOptions,
    ) -> Self {
        let mut plan = ImportPlan::new(template, crm.counters);
        plan.rows.reserve(validated.rows.len());
        Planner {
            crm,
            template,
            target: Target::of(template),
            errors: errors_by_row(validated),
            present: validated.present.clone(),
            seen: HashMap::new(),
            options,
            plan,
        }
    }

    /// Plans validated row `index`.
    pub fn row(&mut self, index: usize, row: &ValidatedRow) {
        let id = self.target.column.map(|c| row.text(c)).unwrap_or("").to_string();
        let mut planned = PlannedRow::new(index, row.sheet_row, RowFacts::Insurance { id: id.clone() });
        let counts = &mut self.plan.counts;
        if row.blocked() {
            planned.errors = self.errors.remove(&row.sheet_row).unwrap_or_default();
            counts.errors += 1;
            self.plan.rows.push(planned);
            return;
        }
        if let Some(first) = self.seen.get(&id) {
            counts.errors += 1;
            let header = self.target.column.map(|c| self.template.columns[c].header).unwrap_or("");
            planned.errors.push(format!(
                "{header} {id} is already on row {first} of this file — expected each {header} once"
            ));
            self.plan.rows.push(planned);
            return;
        }
        self.seen.insert(id.clone(), row.sheet_row);
        let Some(before) = self.target.stored(self.crm, &id) else {
            counts.skipped += 1;
            planned.action = RowAction::Skip(self.target.not_found().to_string());
            self.plan.rows.push(planned);
            return;
        };
        self.plan.reads.insert(key(self.target.kind, &id));
        let after = insurance_from_row(self.template, row, before, &self.present, self.options);
        if &after == before {
            counts.unchanged += 1;
            planned.action = RowAction::Unchanged;
            self.plan.rows.push(planned);
            return;
        }
        planned.changes = insurance_changes(self.template, before, &after);
        match self.target.kind {
            EntityKind::Device => {
                if let Some(d) = self.crm.devices.get(&id) {
                    self.plan.changes.puts.push(Record::Device(Device { insurance: after, ..d.clone() }));
                }
            }
            _ => {
                if let Some(u) = self.crm.school_users.get(&id) {
                    self.plan
                        .changes
                        .puts
                        .push(Record::SchoolUser(SchoolUser { insurance: after, ..u.clone() }));
                }
            }
        }
        counts.updated += 1;
        planned.action = RowAction::Update;
        self.plan.rows.push(planned);
    }

    pub fn finish(mut self) -> ImportPlan {
        self.plan.read_puts();
        self.plan
    }
}

/// Plans a validated insurance file against the CRM: the preview of Process. Nothing is
/// written.
pub fn plan(
    crm: &Crm,
    template: &'static Template,
    validated: &Validated,
    options: InsuranceOptions,
) -> ImportPlan {
    let mut planner = Planner::new(crm, template, validated, options);
    for (i, row) in validated.rows.iter().enumerate() {
        planner.row(i, row);
    }
    planner.finish()
}
