//! The accounts planners. An account file's row is matched by its Account Number (in stored
//! form, after the row's Kind decided whether it is a CRM registration or a CNPJ): found →
//! updated, not found → created, with the F–I contact created with it or updated when a contact
//! of that name is on it. A contact file's row needs an existing account; its contact is
//! matched by Identifier and name: found → updated, not found → created. Rows that break a
//! rule are errors listing every problem; the valid rows make one [`ImportPlan`].

use std::collections::{BTreeMap, HashMap};

use crate::core::model::{
    Account, AccountContact, AccountKind, ChangeSet, ContactType, Crm, EntityKind, Record,
};
use crate::core::plan::{
    change, errors_by_row, key, AccountFacts, ContactOutcome, FieldChange, ImportPlan, PlannedRow, RowAction,
    RowFacts,
};
use crate::core::template::{Field, Template};
use crate::core::text::fold;
use crate::core::validate::{Issue, IssueCode, RowFields, Severity, Validated};

use super::rules::{
    check_identifier, normalize_account_number, parse_account_number, parse_portfolio, parse_qualifications,
    portfolio_text,
};

/// Working copy of the records a plan writes, so later rows see earlier rows' effects.
struct Work<'a> {
    crm: &'a Crm,
    accounts: BTreeMap<String, Account>,
    contacts: BTreeMap<u32, AccountContact>,
    next_contact_id: u32,
}

impl<'a> Work<'a> {
    fn new(crm: &'a Crm) -> Self {
        Work {
            crm,
            accounts: BTreeMap::new(),
            contacts: BTreeMap::new(),
            next_contact_id: crm.counters.next_account_contact_id,
        }
    }
    fn account(&self, number: &str) -> Option<&Account> {
        self.accounts.get(number).or_else(|| self.crm.accounts.get(number))
    }
    /// Contacts of an account as they stand in this plan.
    fn contacts_of(&self, number: &str) -> Vec<AccountContact> {
        let mut out: BTreeMap<u32, AccountContact> = self
            .crm
            .account_contacts
            .values()
            .filter(|c| c.account_number == number)
            .map(|c| (c.id, c.clone()))
            .collect();
        for c in self.contacts.values().filter(|c| c.account_number == number) {
            out.insert(c.id, c.clone());
        }
        out.into_values().collect()
    }
    fn new_id(&mut self) -> u32 {
        let id = self.next_contact_id;
        self.next_contact_id = id.saturating_add(1);
        id
    }
    /// Writes the plan's changes and counters. The counts of the history record are the
    /// records created and updated: the accounts (when the rows are accounts) and the contacts
    /// (the F–I contact of an account row, or the row itself in a contact file).
    fn finish(self, mut plan: ImportPlan, rows_are_accounts: bool) -> ImportPlan {
        let mut puts: Vec<Record> = self.accounts.into_values().map(Record::Account).collect();
        puts.extend(self.contacts.into_values().map(Record::AccountContact));
        if self.next_contact_id != self.crm.counters.next_account_contact_id {
            plan.counters.next_account_contact_id = self.next_contact_id;
            puts.push(Record::Counters(plan.counters));
        }
        plan.changes = ChangeSet { puts, deletes: Vec::new() };
        let rows = plan.tally();
        let (contacts_created, contacts_updated) = plan.contacts();
        let (accounts_created, accounts_updated) =
            if rows_are_accounts { (rows.created, rows.updated) } else { (0, 0) };
        plan.counts.created = accounts_created + contacts_created;
        plan.counts.updated = accounts_updated + contacts_updated;
        plan.counts.unchanged = rows.unchanged;
        plan.counts.errors = rows.errors;
        plan.read_puts();
        plan
    }
}

/// A broken rule of a row: its message for the read summary (`errs`) and an issue on its
/// cell for the error report (`issues`).
struct RowErrors<'v> {
    template: &'v Template,
    validated: &'v Validated,
    sheet_row: usize,
    errs: Vec<String>,
    issues: Vec<Issue>,
}

impl RowErrors<'_> {
    fn push(&mut self, field: Option<Field>, code: IssueCode, message: String) {
        let col = field.and_then(|f| self.template.col(f));
        self.issues.push(Issue {
            row: self.sheet_row,
            column: col.map(|c| self.template.columns[c].header.to_string()),
            cell: col.and_then(|c| self.validated.cell_name(c, self.sheet_row)),
            code,
            severity: Severity::Error,
            message: message.clone(),
        });
        self.errs.push(message);
    }
}

fn opt_text(row: &RowFields<'_>, field: Field) -> Option<String> {
    Some(row.text(field).trim().to_string()).filter(|t| !t.is_empty())
}

/// An account row's values once its rules are checked: `None` where a rule failed (its
/// error is on the row).
struct AccountRow {
    number: Option<String>,
    kind: Option<AccountKind>,
    /// The portfolio's login, or `None` for Without Portfolio.
    portfolio: Option<Option<String>>,
    contact_name: Option<String>,
}

/// Checks an account row's rules that need the CRM or several cells: the Account Number by
/// the row's Kind, the Portfolio login, Active against the Portfolio, a contact without a
/// name, an account repeated in the file.
fn check_account_row(
    crm: &Crm,
    f: &RowFields<'_>,
    errs: &mut RowErrors<'_>,
    seen: &mut HashMap<String, usize>,
) -> AccountRow {
    let raw_number = f.text(Field::AccountNumber).trim().to_string();
    let kind = AccountKind::parse(f.text(Field::AccountKind));
    let number = match kind {
        Some(k) if !raw_number.is_empty() => match parse_account_number(k, &raw_number) {
            Ok(n) => Some(n),
            Err(e) => {
                errs.push(
                    Some(Field::AccountNumber),
                    IssueCode::AccountNumber,
                    format!("Account Number: {e}"),
                );
                None
            }
        },
        _ => None,
    };
    let portfolio = if f.text(Field::Portfolio).trim().is_empty() {
        None
    } else {
        match parse_portfolio(crm, f.text(Field::Portfolio)) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.push(Some(Field::Portfolio), IssueCode::PortfolioUnknown, e.to_string());
                None
            }
        }
    };
    if let (Some(p), Some(active)) = (&portfolio, f.bool(Field::Active)) {
        if p.is_some() != active {
            errs.push(Some(Field::Active), IssueCode::ActiveMismatch, if active {
                "Active is Yes but the Portfolio is Without Portfolio — an account without portfolio is inactive".into()
            } else {
                "Active is No but the Portfolio is a login — use Without Portfolio for an inactive account".into()
            });
        }
    }
    let contact_name = opt_text(f, Field::ContactName);
    if contact_name.is_none()
        && [Field::ContactType, Field::ContactEmail, Field::ContactPhone]
            .iter()
            .any(|&k| opt_text(f, k).is_some())
    {
        errs.push(
            Some(Field::ContactName),
            IssueCode::ContactNameMissing,
            "Contact Name is empty but other contact columns (F–I) are filled — name the contact".into(),
        );
    }
    if let Some(n) = &number {
        if let Some(first) = seen.get(n) {
            errs.push(
                Some(Field::AccountNumber),
                IssueCode::AccountRepeated,
                format!(
                    "Account Number {n} is already on row {first} of this file — expected each account once"
                ),
            );
        } else {
            seen.insert(n.clone(), errs.sheet_row);
        }
    }
    AccountRow { number, kind, portfolio, contact_name }
}

/// A row whose rules failed: an error listing every problem, its issues on their cells.
fn error_row(plan: &mut ImportPlan, index: usize, mut errs: RowErrors<'_>, facts: AccountFacts) {
    if errs.errs.is_empty() {
        errs.push(None, IssueCode::RowIncomplete, "the row is incomplete".into());
    }
    let mut planned = PlannedRow::new(index, errs.sheet_row, RowFacts::Account(facts));
    planned.errors = errs.errs;
    plan.issues.extend(errs.issues);
    plan.rows.push(planned);
}

/// The F–I contact of an account row: updated when a contact of that name is on the account,
/// created otherwise.
fn plan_row_contact(
    work: &mut Work<'_>,
    plan: &mut ImportPlan,
    f: &RowFields<'_>,
    number: &str,
    name: String,
    facts: &mut AccountFacts,
    changes: &mut Vec<FieldChange>,
) {
    let ctype = ContactType::parse(f.text(Field::ContactType));
    let email = opt_text(f, Field::ContactEmail);
    let phone = opt_text(f, Field::ContactPhone);
    let found = work.contacts_of(number).into_iter().find(|c| fold(&c.name) == fold(&name));
    match found {
        Some(c) => {
            if work.crm.account_contacts.contains_key(&c.id) {
                plan.reads.insert(key(EntityKind::AccountContact, c.id));
            }
            facts.contact_id = Some(c.id);
            let mut next = c.clone();
            if let Some(t) = ctype {
                next.contact_type = t;
            }
            if let Some(e) = email {
                next.email = e;
            }
            if let Some(p) = phone {
                next.phone = p;
            }
            if next != c {
                changes.extend(change("Contact Type", c.contact_type.label(), next.contact_type.label()));
                changes.extend(change("Contact Email", &c.email, &next.email));
                changes.extend(change("Contact Phone", &c.phone, &next.phone));
                facts.contact = Some(ContactOutcome::Updated);
                work.contacts.insert(next.id, next);
            }
        }
        None => {
            let id = work.new_id();
            let contact = AccountContact {
                id,
                account_number: number.to_string(),
                identifier: number.to_string(),
                name,
                contact_type: ctype.unwrap_or(ContactType::Others),
                qualifications: Vec::new(),
                phone: phone.unwrap_or_default(),
                email: email.unwrap_or_default(),
            };
            changes.push(FieldChange {
                field: "New contact".into(),
                before: String::new(),
                after: format!("{} ({})", contact.name, contact.contact_type.label()),
            });
            facts.contact = Some(ContactOutcome::Created);
            facts.contact_id = Some(id);
            work.contacts.insert(id, contact);
        }
    }
}

/// Plans an account file (the ACCOUNTS template's fields). Nothing is written.
pub fn plan_accounts(crm: &Crm, template: &Template, validated: &Validated) -> ImportPlan {
    let mut plan = ImportPlan::new(template, crm.counters);
    let mut errors = errors_by_row(validated);
    let mut work = Work::new(crm);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, row) in validated.rows.iter().enumerate() {
        let f = row.fields(template);
        let mut errs = RowErrors {
            template,
            validated,
            sheet_row: row.sheet_row,
            errs: errors.remove(&row.sheet_row).unwrap_or_default(),
            issues: Vec::new(),
        };
        let checked = check_account_row(crm, &f, &mut errs, &mut seen);
        let mut facts = AccountFacts {
            number: f.text(Field::AccountNumber).trim().to_string(),
            name: f.text(Field::AccountName).to_string(),
            ..AccountFacts::default()
        };
        let (Some(number), Some(kind), Some(portfolio_login), true) =
            (checked.number, checked.kind, checked.portfolio, errs.errs.is_empty())
        else {
            error_row(&mut plan, index, errs, facts);
            continue;
        };
        let existing = work.account(&number).cloned();
        if crm.accounts.contains_key(&number) {
            plan.reads.insert(key(EntityKind::Account, &number));
        }
        facts.account = Some(number.clone());
        let after = Account {
            number: number.clone(),
            name: f.text(Field::AccountName).trim().to_string(),
            kind,
            portfolio_login,
        };
        let mut changes: Vec<FieldChange> = Vec::new();
        let before_name = existing.as_ref().map(|e| e.name.clone()).unwrap_or_default();
        let before_kind = existing.as_ref().map(|e| e.kind.label()).unwrap_or("");
        let before_portfolio = existing.as_ref().map(|e| portfolio_text(e).to_string()).unwrap_or_default();
        changes.extend(change("Account Name", &before_name, &after.name));
        changes.extend(change("Kind", before_kind, after.kind.label()));
        changes.extend(change("Portfolio", &before_portfolio, portfolio_text(&after)));
        if existing.as_ref() != Some(&after) {
            work.accounts.insert(number.clone(), after);
        }
        if let Some(name) = checked.contact_name {
            plan_row_contact(&mut work, &mut plan, &f, &number, name, &mut facts, &mut changes);
        }
        let mut planned = PlannedRow::new(index, row.sheet_row, RowFacts::Account(facts));
        planned.action = if existing.is_none() {
            RowAction::Create
        } else if changes.is_empty() {
            RowAction::Unchanged
        } else {
            RowAction::Update
        };
        planned.changes = changes;
        plan.rows.push(planned);
    }
    work.finish(plan, true)
}

/// Plans a contact file (the ACCOUNT_CONTACTS template's fields). Nothing is written.
pub fn plan_contacts(crm: &Crm, template: &Template, validated: &Validated) -> ImportPlan {
    let mut plan = ImportPlan::new(template, crm.counters);
    let mut errors = errors_by_row(validated);
    let mut work = Work::new(crm);
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (index, row) in validated.rows.iter().enumerate() {
        let f = row.fields(template);
        let mut errs = RowErrors {
            template,
            validated,
            sheet_row: row.sheet_row,
            errs: errors.remove(&row.sheet_row).unwrap_or_default(),
            issues: Vec::new(),
        };
        let raw_number = f.text(Field::AccountNumber).trim().to_string();
        let name = f.text(Field::ContactName).trim().to_string();
        let number = normalize_account_number(&raw_number);
        let account = if raw_number.is_empty() { None } else { crm.accounts.get(&number) };
        let quals = check_contact_row(
            crm,
            &f,
            &mut errs,
            (&raw_number, &number, &name),
            account.is_some(),
            &mut seen,
        );
        let mut facts = AccountFacts {
            number: raw_number.clone(),
            name: name.clone(),
            contact_row: true,
            ..AccountFacts::default()
        };
        let ctype = ContactType::parse(f.text(Field::ContactType));
        let (Some(_), Some(ctype), true) = (account, ctype, errs.errs.is_empty()) else {
            error_row(&mut plan, index, errs, facts);
            continue;
        };
        plan.reads.insert(key(EntityKind::Account, &number));
        facts.account = Some(number.clone());
        let found = work
            .contacts_of(&number)
            .into_iter()
            .find(|k| k.identifier == number && fold(&k.name) == fold(&name));
        if let Some(c) = found.as_ref().filter(|c| crm.account_contacts.contains_key(&c.id)) {
            plan.reads.insert(key(EntityKind::AccountContact, c.id));
        }
        let before = found.clone();
        let mut next = found.unwrap_or_else(|| AccountContact {
            id: 0,
            account_number: number.clone(),
            identifier: number.clone(),
            name: name.clone(),
            contact_type: ctype,
            qualifications: Vec::new(),
            phone: String::new(),
            email: String::new(),
        });
        next.contact_type = ctype;
        if let Some(q) = quals {
            next.qualifications = q;
        }
        if let Some(p) = opt_text(&f, Field::ContactPhone) {
            next.phone = p;
        }
        if let Some(e) = opt_text(&f, Field::ContactEmail) {
            next.email = e;
        }
        let mut planned = PlannedRow::new(index, row.sheet_row, RowFacts::Account(AccountFacts::default()));
        match before {
            Some(b) if b == next => {
                facts.contact_id = Some(b.id);
                planned.action = RowAction::Unchanged;
            }
            Some(b) => {
                planned.changes = [
                    change("Type", b.contact_type.label(), next.contact_type.label()),
                    change("Qualifications", &b.qualifications.join("; "), &next.qualifications.join("; ")),
                    change("Phone", &b.phone, &next.phone),
                    change("Email", &b.email, &next.email),
                ]
                .into_iter()
                .flatten()
                .collect();
                facts.contact = Some(ContactOutcome::Updated);
                facts.contact_id = Some(next.id);
                work.contacts.insert(next.id, next);
                planned.action = RowAction::Update;
            }
            None => {
                next.id = work.new_id();
                planned.changes = vec![FieldChange {
                    field: "New contact".into(),
                    before: String::new(),
                    after: format!("{} ({})", next.name, next.contact_type.label()),
                }];
                facts.contact = Some(ContactOutcome::Created);
                facts.contact_id = Some(next.id);
                work.contacts.insert(next.id, next);
                planned.action = RowAction::Create;
            }
        }
        planned.facts = RowFacts::Account(facts);
        plan.rows.push(planned);
    }
    work.finish(plan, false)
}

/// Checks a contact row's rules that need the CRM or several cells: the account exists, the
/// Identifier repeats the Account Number, the qualifications are registered specialties, the
/// contact is not repeated in the file. Returns the qualifications when given and valid.
fn check_contact_row(
    crm: &Crm,
    f: &RowFields<'_>,
    errs: &mut RowErrors<'_>,
    (raw_number, number, name): (&str, &str, &str),
    account_exists: bool,
    seen: &mut HashMap<(String, String), usize>,
) -> Option<Vec<String>> {
    if !raw_number.is_empty() && !account_exists {
        errs.push(
            Some(Field::AccountNumber),
            IssueCode::AccountUnknown,
            format!("Account Number \"{raw_number}\" does not exist — import the account first"),
        );
    }
    let identifier = f.text(Field::Identifier).trim().to_string();
    if !identifier.is_empty() && !raw_number.is_empty() {
        if let Err(e) = check_identifier(raw_number, &identifier) {
            errs.push(Some(Field::Identifier), IssueCode::IdentifierMismatch, e.to_string());
        }
    }
    let quals = match opt_text(f, Field::Qualifications) {
        None => None,
        Some(q) => match parse_qualifications(crm, &q) {
            Ok(q) => Some(q),
            Err(e) => {
                for e in e {
                    errs.push(Some(Field::Qualifications), IssueCode::QualificationUnknown, e.to_string());
                }
                None
            }
        },
    };
    if !name.is_empty() && account_exists {
        let seen_key = (number.to_string(), fold(name));
        if let Some(first) = seen.get(&seen_key) {
            errs.push(
                Some(Field::ContactName),
                IssueCode::ContactRepeated,
                format!("Contact {name} of {number} is already on row {first} of this file"),
            );
        } else {
            seen.insert(seen_key, errs.sheet_row);
        }
    }
    quals
}
