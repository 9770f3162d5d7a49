//! The accounts workflow as the app runs it (the Accounts page): the account and contact
//! templates told apart by a file's headers, one staged file at a time, the two planners, the
//! read summary before Next, and rows with errors applied only when the operator chooses the
//! valid rows. Its model spreadsheets list the operators' logins in the Portfolio dropdown.

use crate::core::model::{Account, AccountContact, Crm};
use crate::core::plan::{ImportPlan, PlannedRow};
use crate::core::template::{ApplyRule, Field, Template};
use crate::core::workflow::{Applied, PlanInput, Wording, Workflow, WorkflowId};
use crate::core::xlsx::ExportError;

use super::export::write_account_model;
use super::plan::{plan_accounts, plan_contacts};
use super::rules::portfolio_text;
use super::{ACCOUNTS, ACCOUNT_CONTACTS};

/// The workflow's id.
pub const ID: WorkflowId = WorkflowId::new("accounts");

static TEMPLATES: [&Template; 2] = [&ACCOUNTS, &ACCOUNT_CONTACTS];

/// Accounts and account contacts in agents' portfolios.
#[derive(Debug, Clone, Copy)]
pub struct AccountsAndContacts;

/// The workflow, as the registry lists it.
pub static WORKFLOW: AccountsAndContacts = AccountsAndContacts;

fn stored_account<'c>(crm: &'c Crm, row: &PlannedRow) -> Option<&'c Account> {
    row.account().and_then(|f| f.account.as_ref()).and_then(|n| crm.accounts.get(n))
}

fn stored_contact<'c>(crm: &'c Crm, row: &PlannedRow) -> Option<&'c AccountContact> {
    row.account().and_then(|f| f.contact_id).and_then(|id| crm.account_contacts.get(&id))
}

impl Workflow for AccountsAndContacts {
    fn id(&self) -> WorkflowId {
        ID
    }

    fn templates(&self) -> &'static [&'static Template] {
        &TEMPLATES
    }

    fn plan(&self, input: &PlanInput<'_>) -> ImportPlan {
        match input.template.apply {
            ApplyRule::UpsertAccountContact => plan_contacts(input.crm, input.template, input.validated),
            _ => plan_accounts(input.crm, input.template, input.validated),
        }
    }

    fn errors_need_consent(&self) -> bool {
        true
    }

    fn wording(&self) -> Wording {
        Wording {
            plan_title: "Read summary — nothing has been written yet".into(),
            apply_button: "Next".into(),
            apply_verb: "Apply".into(),
            applied: "applied".into(),
            counts: [" accounts or contacts to create".into(), " to update".into(), " to add".into()],
            apply_counts_changes: false,
            applies_without_changes: false,
            shows_contacts: true,
        }
    }

    fn applied_message(&self, a: &Applied<'_>) -> String {
        let c = a.counts;
        let (cc, cu) = a.contacts;
        let errors =
            if c.errors > 0 { format!(", {} rows with errors not applied", c.errors) } else { String::new() };
        format!(
            "Import #{} of {}: {} created, {} updated, {} unchanged, {cc} contacts created, {cu} contacts \
             updated{errors}.",
            a.import_id, a.file_name, c.created, c.updated, c.unchanged
        )
    }

    fn stored_found(&self, crm: &Crm, _template: &Template, row: &PlannedRow) -> bool {
        stored_account(crm, row).is_some() || stored_contact(crm, row).is_some()
    }

    fn stored_text(&self, crm: &Crm, _template: &Template, row: &PlannedRow, field: Field) -> String {
        let account = |f: fn(&Account) -> String| stored_account(crm, row).map(f);
        let contact = |f: fn(&AccountContact) -> String| stored_contact(crm, row).map(f);
        match field {
            Field::AccountNumber => account(|a| a.number.clone()),
            Field::AccountName => account(|a| a.name.clone()),
            Field::AccountKind => account(|a| a.kind.label().to_string()),
            Field::Portfolio => account(|a| portfolio_text(a).to_string()),
            Field::Active => account(|a| if a.active() { "Yes" } else { "No" }.to_string()),
            Field::ContactName => contact(|c| c.name.clone()),
            Field::ContactType => contact(|c| c.contact_type.label().to_string()),
            Field::ContactEmail => contact(|c| c.email.clone()),
            Field::ContactPhone => contact(|c| c.phone.clone()),
            Field::Identifier => contact(|c| c.identifier.clone()),
            Field::Qualifications => contact(|c| c.qualifications.join("; ")),
            _ => None,
        }
        .unwrap_or_default()
    }

    fn template_workbook(&self, crm: &Crm, template: &Template) -> (String, Result<Vec<u8>, ExportError>) {
        (format!("{}-model.xlsx", template.id), write_account_model(crm, template))
    }
}
