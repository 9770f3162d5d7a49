//! The one list of the app's workflows. Adding a workflow means writing its module (a
//! [`Workflow`] implementation with its templates and planner), listing it here, and giving it
//! a page; the service, the command line and the shared stages find it through this list.

use crate::core::model::Crm;
use crate::core::plan::ImportPlan;
use crate::core::template::Template;
use crate::core::validate::Validated;
use crate::core::workflow::{Workflow, WorkflowId};
use crate::core::{accounts, insurance, insured};

/// Every workflow of the app, in the order its pages list them.
pub static ALL: [&dyn Workflow; 3] =
    [&insured::workflow::WORKFLOW, &insurance::workflow::WORKFLOW, &accounts::workflow::WORKFLOW];

/// The workflow named `id` among `list`.
pub fn by_id(list: &[&'static dyn Workflow], id: WorkflowId) -> Option<&'static dyn Workflow> {
    list.iter().copied().find(|w| w.id() == id)
}

/// The workflow a template belongs to, among `list`, and the template.
pub fn of_template(
    list: &[&'static dyn Workflow],
    template_id: &str,
) -> Option<(&'static dyn Workflow, &'static Template)> {
    list.iter().find_map(|w| w.templates().iter().find(|t| t.id == template_id).map(|t| (*w, *t)))
}

/// Every template of `list`'s workflows, in order.
pub fn templates<'a>(list: &'a [&'static dyn Workflow]) -> impl Iterator<Item = &'static Template> + 'a {
    list.iter().flat_map(|w| w.templates().iter().copied())
}

/// Plans a validated file of any template — one of the app's, or one declared elsewhere —
/// with the planner of the app's workflow whose templates apply rows the same way
/// ([`Template::apply`]), without the operator ([`Workflow::plan_alone`]). `None` when no
/// workflow applies rows that way.
pub fn plan_file(crm: &Crm, template: &'static Template, validated: &Validated) -> Option<ImportPlan> {
    let workflow = ALL.iter().find(|w| w.templates().iter().any(|t| t.apply == template.apply))?;
    Some(workflow.plan_alone(crm, template, validated))
}
