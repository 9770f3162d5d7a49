//! What a workflow is. Every import walks the same stages (read, recognise the headers,
//! validate, plan, apply, verify); a [`Workflow`] says what is particular to one kind of
//! file: its templates, how a file's template is decided, where a staged file is kept, whether
//! its rows are matched to persons the operator resolves, its planner, how its plan rows and
//! verification sample read, its words and its apply message. The workflows implement it in
//! their own modules and are listed once, in [`crate::core::workflows`]; the shared stages and
//! the service ask the trait and never name a workflow.
//!
//! The Resolve step's vocabulary — the matcher's [`Matches`] and the operator's
//! [`GroupChoice`]s, and the [`ExportBaseRead`] a re-imported export carries — is the person
//! matching the contact-detail templates share; a planner that resolves persons receives it
//! in its [`PlanInput`].

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::core::date::DayMonthOrder;
use crate::core::insured::base::ExportBaseRead;
use crate::core::insured::matching::{GroupChoice, Matches};
use crate::core::model::{Crm, ImportCounts};
use crate::core::plan::{ImportPlan, PlannedRow};
use crate::core::report::ReportExtras;
use crate::core::template::{write_template_workbook, Field, Template};
use crate::core::validate::Validated;
use crate::core::xlsx::ExportError;

/// Which workflow: the id the page, the protocol and the command line name it by. A small
/// copyable name; an id read from a message is interned, so it stays `'static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkflowId(&'static str);

impl WorkflowId {
    /// The id named `name` (a workflow module's constant).
    pub const fn new(name: &'static str) -> WorkflowId {
        WorkflowId(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// The id of a name read at run time: every distinct name is kept once.
    pub fn intern(name: &str) -> WorkflowId {
        static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
        let mut names = NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = names.get(name) {
            return WorkflowId(known);
        }
        let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
        names.insert(kept);
        WorkflowId(kept)
    }
}

impl std::fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for WorkflowId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for WorkflowId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<WorkflowId, D::Error> {
        let name = Cow::<'de, str>::deserialize(deserializer)?;
        Ok(WorkflowId::intern(&name))
    }
}

/// How a file is read, validated and planned: the operator's choices on the page or the
/// command line's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportOptions {
    /// How day/month text dates are read (insurance); ISO only by default.
    pub day_month_order: Option<DayMonthOrder>,
    /// Apply only the valid rows of a file with errors (accounts).
    pub valid_rows_only: bool,
    /// An empty optional cell clears the stored value (insurance); otherwise it keeps it.
    pub clear_empty_cells: bool,
    /// A field changed both in the file and in the CRM since the file was exported takes the
    /// file's value (insured contact details); otherwise the CRM's value is kept.
    #[serde(default)]
    pub take_file_values: bool,
}

/// The operator's decisions on the Resolve step, for a planner that resolves persons.
#[derive(Debug, Clone, Copy)]
pub struct Resolution<'a> {
    pub matches: &'a Matches,
    /// The choice for each of `matches.groups` (`None`: the default).
    pub choices: &'a [Option<GroupChoice>],
}

/// What a planner plans from.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub crm: &'a Crm,
    pub template: &'static Template,
    pub validated: &'a Validated,
    /// The matched persons and the operator's choices (workflows that resolve persons).
    pub resolution: Option<Resolution<'a>>,
    /// What the file carries of the export it was made from.
    pub base: &'a ExportBaseRead,
    pub options: ImportOptions,
}

/// A plan being made in slices of rows ([`Workflow::plan_in_slices`]).
pub trait PlanInSlices {
    /// The rows to plan.
    fn total(&self) -> usize;
    /// The rows planned so far.
    fn planned(&self) -> usize;
    /// Plans the next `count` rows (in file order).
    fn plan_rows(&mut self, count: usize);
    /// The plan, once every row is planned.
    fn finish(self: Box<Self>) -> ImportPlan;
}

/// A plan made whole before its first slice.
#[derive(Debug)]
pub struct PlannedWhole(pub ImportPlan);

impl PlanInSlices for PlannedWhole {
    fn total(&self) -> usize {
        self.0.rows.len()
    }

    fn planned(&self) -> usize {
        self.0.rows.len()
    }

    fn plan_rows(&mut self, _count: usize) {}

    fn finish(self: Box<Self>) -> ImportPlan {
        self.0
    }
}

/// How a workflow's pages and messages name its steps and outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wording {
    /// The plan's title: "The plan — nothing has been written yet".
    pub plan_title: Cow<'static, str>,
    /// The apply button: "Apply", "Process", "Next".
    pub apply_button: Cow<'static, str>,
    /// The verb of applying, in a question: "Apply", "Process".
    pub apply_verb: Cow<'static, str>,
    /// How an applied file is said: "applied", "processed".
    pub applied: Cow<'static, str>,
    /// What the created, updated and added counts are of: " entries to create", " to update"…
    pub counts: [Cow<'static, str>; 3],
    /// The apply button counts the changes ("Apply 3 changes").
    pub apply_counts_changes: bool,
    /// A plan that changes nothing can still be applied (its results list the skipped and
    /// invalid rows).
    pub applies_without_changes: bool,
    /// The plan shows the account contacts it creates and updates.
    pub shows_contacts: bool,
}

/// What an apply did, for its message.
#[derive(Debug, Clone, Copy)]
pub struct Applied<'a> {
    pub import_id: u32,
    pub file_name: &'a str,
    pub counts: ImportCounts,
    /// Account contacts created and updated.
    pub contacts: (usize, usize),
    /// How long the apply took.
    pub seconds: f64,
}

/// A workflow: what is particular to one kind of import. Object safe: the registry lists
/// `&'static dyn Workflow`.
pub trait Workflow: Sync + std::fmt::Debug {
    /// The id the page, the protocol and the command line name it by.
    fn id(&self) -> WorkflowId;

    /// The templates a file of this workflow may be; the first is the default.
    fn templates(&self) -> &'static [&'static Template];

    /// True when a file is always read as the template the session names (the first by
    /// default: the page chooses it); false when a file's template is recognised from its
    /// headers unless the operator names one.
    fn names_template(&self) -> bool {
        false
    }

    /// Where a staged file of `template` is kept: one slot per workflow (one staged file at a
    /// time) unless the workflow keeps one per template.
    fn staging_slot(&self, _template: &Template) -> String {
        self.id().as_str().to_string()
    }

    /// True when rows are matched to persons the operator resolves (the Resolve step) before
    /// they are planned.
    fn resolves_persons(&self) -> bool {
        false
    }

    /// What a file carries of the export it was made from, read once when it is staged.
    fn export_base(&self, _file_name: &str, _bytes: &[u8]) -> ExportBaseRead {
        ExportBaseRead::Absent
    }

    /// The planner: exactly what the import will do. Nothing is written.
    fn plan(&self, input: &PlanInput<'_>) -> ImportPlan;

    /// The planner a slice of rows at a time, so that the service can report "rows planned of
    /// total" and be cancelled between slices; planning in slices gives the plan [`Workflow::plan`]
    /// gives. By default the whole plan is made at once (a planner fast enough not to need it).
    fn plan_in_slices<'a>(&self, input: PlanInput<'a>) -> Box<dyn PlanInSlices + 'a> {
        Box::new(PlannedWhole(self.plan(&input)))
    }

    /// The plan of a file without the operator (no choices, no export base, default options),
    /// as the pipeline's tests and the benchmarks plan one.
    fn plan_alone(&self, crm: &Crm, template: &'static Template, validated: &Validated) -> ImportPlan {
        let base = ExportBaseRead::Absent;
        self.plan(&PlanInput {
            crm,
            template,
            validated,
            resolution: None,
            base: &base,
            options: ImportOptions::default(),
        })
    }

    /// Whether rows with errors are applied only when the operator chooses the valid rows
    /// (otherwise they are left out and listed).
    fn errors_need_consent(&self) -> bool {
        false
    }

    /// How the pages name the steps and outcomes.
    fn wording(&self) -> Wording;

    /// The message of an applied import.
    fn applied_message(&self, applied: &Applied<'_>) -> String;

    /// The fields the review table shows (every column by default).
    fn review_fields(&self, template: &Template) -> Vec<Field> {
        template.columns.iter().map(|c| c.field).collect()
    }

    /// The plan table's own columns, between "Action" and the changes: the record by default.
    fn plan_columns(&self, template: &Template) -> Vec<String> {
        vec![template.columns.first().map(|c| c.header.to_string()).unwrap_or_default()]
    }

    /// A plan row's cells in [`Workflow::plan_columns`].
    fn plan_cells(&self, row: &PlannedRow) -> Vec<String> {
        vec![row.record_label().to_string()]
    }

    /// What a plan row adds to its changes and notes.
    fn plan_notes(&self, _row: &PlannedRow) -> Vec<String> {
        Vec::new()
    }

    /// What the plan report adds to the plan's rows (the matcher's notes, the tier that
    /// decided each row, the top candidates of unmatched rows).
    fn report_extras(&self, _crm: &Crm, _plan: &ImportPlan, _matches: Option<&Matches>) -> ReportExtras {
        ReportExtras::default()
    }

    /// Whether the CRM holds the record an applied row wrote.
    fn stored_found(&self, crm: &Crm, template: &Template, row: &PlannedRow) -> bool;

    /// What the CRM now stores in `field` of the record an applied row wrote ("" when the
    /// record or the field is absent).
    fn stored_text(&self, crm: &Crm, template: &Template, row: &PlannedRow, field: Field) -> String;

    /// What the verification sample shows of a row beyond its template's fields.
    fn sample_extras(&self, _row: &PlannedRow) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The results of an applied file as a workbook (the skipped and invalid rows), for the
    /// workflows that offer one.
    fn results_report(
        &self,
        _template: &Template,
        _plan: &ImportPlan,
    ) -> Option<Result<Vec<u8>, ExportError>> {
        None
    }

    /// A template's downloadable workbook and its file name.
    fn template_workbook(&self, _crm: &Crm, template: &Template) -> (String, Result<Vec<u8>, ExportError>) {
        (format!("{}-template.xlsx", template.id), write_template_workbook(template))
    }
}

/// A duration for people: two decimals under a second (never "0.0 s"), one above.
pub fn seconds_text(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}
