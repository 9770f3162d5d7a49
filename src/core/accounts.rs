//! Accounts and account contacts in agents' portfolios (seed 001, DESIGN §3): the ACCOUNTS and
//! ACCOUNT_CONTACTS templates run through the same pipeline as every import — `read_sheet`,
//! header mapping, the template-driven [`Validator`], then a planner here that adds the checks
//! needing the CRM or several cells (the Account Number by the row's Kind, the Portfolio login,
//! the Identifier rule, qualifications against the specialty registry), produces per-row
//! outcomes, counts and one [`ChangeSet`], and [`record_import`] records the batch with
//! before-images so undo works unchanged.
//!
//! Export profiles (named, ordered column subsets plus default filters) drive the account and
//! contact exports; an export with all columns has exactly the template's headers, so it
//! re-imports (changing a Portfolio cell moves the account).

use std::collections::{BTreeMap, HashMap};

use rust_xlsxwriter::Workbook;
use serde::{Deserialize, Serialize};

use crate::core::cnpj;
use crate::core::headers::{map_headers, HeaderMapping};
use crate::core::index::CrmIndex;
use crate::core::model::{
    Account, AccountContact, AccountKind, ChangeSet, ContactType, Crm, ImportCounts, ImportRecord, Record,
};
use crate::core::plan::{record_import, ApplyContext, FieldChange};
use crate::core::sheet::Sheet;
use crate::core::snapshot::WITHOUT_PORTFOLIO;
use crate::core::template::{write_template_workbook_with_lists, Template, ACCOUNTS, ACCOUNT_CONTACTS};
use crate::core::text::fold;
use crate::core::validate::{Severity, Validated, ValidatedRow, ValidationOptions, Validator};
use crate::core::xlsx::{check_rows_fit, save, write_header, write_text, ExportError, Formats};

/// The Brazilian states (UF) a CRM registration may name.
pub const BR_STATES: &[&str] = &[
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE",
    "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
];

/// Column positions of the ACCOUNTS template.
pub mod account_columns {
    pub const NUMBER: usize = 0;
    pub const NAME: usize = 1;
    pub const KIND: usize = 2;
    pub const PORTFOLIO: usize = 3;
    pub const ACTIVE: usize = 4;
    pub const CONTACT_NAME: usize = 5;
    pub const CONTACT_TYPE: usize = 6;
    pub const CONTACT_EMAIL: usize = 7;
    pub const CONTACT_PHONE: usize = 8;
}

/// Column positions of the ACCOUNT_CONTACTS template.
pub mod contact_columns {
    pub const NUMBER: usize = 0;
    pub const NAME: usize = 1;
    pub const IDENTIFIER: usize = 2;
    pub const TYPE: usize = 3;
    pub const QUALIFICATIONS: usize = 4;
    pub const PHONE: usize = 5;
    pub const EMAIL: usize = 6;
}

// ---------------------------------------------------------------------------------------------
// Value checks
// ---------------------------------------------------------------------------------------------

/// A CRM registration `digits/UF` (a `-` or spaces around the slash accepted, state in any
/// case), stored as `123456/SP`.
pub fn parse_crm_registration(text: &str) -> Result<String, String> {
    let t = text.trim();
    let Some((num, uf)) = t.rsplit_once(['/', '-']) else {
        return Err(format!(
            "\"{t}\" is not a CRM registration — expected the number and the state, like 123456/SP"
        ));
    };
    let (num, uf) = (num.trim(), uf.trim().to_uppercase());
    if num.is_empty() || num.len() > 8 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "\"{t}\" is not a CRM registration — the number before the state must be 1–8 digits, like 123456/SP"
        ));
    }
    if !BR_STATES.contains(&uf.as_str()) {
        return Err(format!(
            "\"{t}\": {uf} is not a Brazilian state (UF) — expected one of {}",
            BR_STATES.join(", ")
        ));
    }
    Ok(format!("{num}/{uf}"))
}

/// A CNPJ with valid check digits (punctuation optional), stored formatted.
pub fn parse_cnpj(text: &str) -> Result<String, String> {
    let t = text.trim();
    if cnpj::compact(t).is_none() {
        return Err(format!(
            "\"{t}\" is not a CNPJ — expected 14 digits like 12.345.678/0001-95 or 12345678000195"
        ));
    }
    if !cnpj::is_valid(t) {
        return Err(format!("CNPJ \"{t}\" has invalid check digits"));
    }
    Ok(cnpj::format(t).unwrap_or_else(|| t.to_string()))
}

/// The stored form of an account number for its kind.
pub fn parse_account_number(kind: AccountKind, text: &str) -> Result<String, String> {
    match kind {
        AccountKind::Medical => parse_crm_registration(text),
        AccountKind::Company | AccountKind::Insurance => parse_cnpj(text),
    }
}

/// The stored form of an account number of unknown kind: a CNPJ when it is one, else a CRM
/// registration; the text itself when neither.
pub fn normalize_account_number(text: &str) -> String {
    parse_cnpj(text).or_else(|_| parse_crm_registration(text)).unwrap_or_else(|_| text.trim().to_string())
}

/// A Portfolio cell: `Ok(None)` for "Without Portfolio", `Ok(Some(login))` for an existing
/// operator's login (case-insensitive; the stored login's spelling is kept).
pub fn parse_portfolio(crm: &Crm, text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case(WITHOUT_PORTFOLIO) {
        return Ok(None);
    }
    crm.operators.keys().find(|l| l.eq_ignore_ascii_case(t)).map(|l| Some(l.clone())).ok_or_else(|| {
        let mut logins: Vec<&str> = crm.operators.keys().map(String::as_str).collect();
        logins.push(WITHOUT_PORTFOLIO);
        format!("Portfolio \"{t}\" is not an operator's login — expected one of {}", logins.join(", "))
    })
}

/// The Portfolio text of an account.
pub fn portfolio_text(a: &Account) -> &str {
    a.portfolio_login.as_deref().unwrap_or(WITHOUT_PORTFOLIO)
}

/// The registered specialty whose folded spelling (case, accents) is `name`'s.
pub fn match_specialty(crm: &Crm, name: &str) -> Result<String, String> {
    let f = fold(name);
    if let Some(s) = crm.specialties.keys().find(|s| fold(s) == f) {
        return Ok(s.clone());
    }
    let mut scored: Vec<(f64, &String)> =
        crm.specialties.keys().map(|s| (strsim::jaro_winkler(&fold(s), &f), s)).collect();
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(b.1)));
    let closest: Vec<&str> = scored.iter().take(3).map(|(_, s)| s.as_str()).collect();
    Err(format!(
        "Qualification \"{}\" is not in the specialty registry — closest registered: {}",
        name.trim(),
        closest.join(", ")
    ))
}

/// A `;`-separated Qualifications cell, each matched to the registry; all errors together.
pub fn parse_qualifications(crm: &Crm, text: &str) -> Result<Vec<String>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match match_specialty(crm, part) {
            Ok(s) if !out.contains(&s) => out.push(s),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The Identifier rule: the Identifier repeats the Account Number (compared in stored form).
pub fn check_identifier(account_number: &str, identifier: &str) -> Result<(), String> {
    if normalize_account_number(account_number) == normalize_account_number(identifier) {
        Ok(())
    } else {
        Err(format!(
            "Identifier \"{}\" does not repeat the Account Number \"{}\" — the Identifier must be the account number",
            identifier.trim(),
            account_number.trim()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

fn fold_header(h: &str) -> String {
    h.trim().to_lowercase()
}

/// Which account template a file's headers are: every header is the template's, and every
/// required header is there (an export by a profile without some optional columns re-imports).
pub fn recognise_account_file(header: &[String]) -> Result<&'static Template, String> {
    let file: Vec<String> = header.iter().map(|h| fold_header(h)).filter(|h| !h.is_empty()).collect();
    let mut problems = Vec::new();
    for t in [&ACCOUNTS, &ACCOUNT_CONTACTS] {
        let known: Vec<String> = t.columns.iter().map(|c| fold_header(c.header)).collect();
        let extra: Vec<&String> = file.iter().filter(|h| !known.contains(h)).collect();
        let missing: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| c.required && !file.contains(&fold_header(c.header)))
            .map(|c| c.header)
            .collect();
        let mut seen = std::collections::HashSet::new();
        let repeated = file.iter().any(|h| !seen.insert(h));
        if extra.is_empty() && missing.is_empty() && !repeated {
            return Ok(t);
        }
        problems.push(format!(
            "not an {} file (missing: {}; not in the template: {})",
            t.name.to_lowercase(),
            if missing.is_empty() { "nothing".into() } else { missing.join(", ") },
            if extra.is_empty() {
                if repeated {
                    "a repeated header".to_string()
                } else {
                    "nothing".to_string()
                }
            } else {
                extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            }
        ));
    }
    Err(format!(
        "The headers do not fit a template: {}. Download a model spreadsheet and keep its headers.",
        problems.join("; ")
    ))
}

/// The header mapping of a recognised file.
pub fn account_mapping(template: &Template, header: &[String]) -> HeaderMapping {
    map_headers(template, header, &BTreeMap::new())
}

/// Validates a whole sheet with the template-driven validator.
pub fn validate_account_sheet(crm: &Crm, template: &Template, sheet: &Sheet) -> Validated {
    let mapping = account_mapping(template, &sheet.header);
    let index = CrmIndex::new(crm);
    Validator { template, mapping: &mapping, index: &index, options: ValidationOptions::default() }
        .all(&sheet.rows)
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/// What the plan does with one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountAction {
    Created { changes: Vec<FieldChange> },
    Updated { changes: Vec<FieldChange> },
    Unchanged,
    Invalid { errors: Vec<String> },
}

/// The planned outcome of one input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRowOutcome {
    pub index: usize,
    pub sheet_row: usize,
    /// The Account Number as the file gives it.
    pub number: String,
    pub name: String,
    pub action: AccountAction,
}

impl AccountRowOutcome {
    /// The Errors column of the read summary: "" when the row is correct.
    pub fn errors_text(&self) -> String {
        match &self.action {
            AccountAction::Invalid { errors } => errors.join("; "),
            _ => String::new(),
        }
    }
    pub fn action_label(&self) -> &'static str {
        match self.action {
            AccountAction::Created { .. } => "Create",
            AccountAction::Updated { .. } => "Update",
            AccountAction::Unchanged => "Unchanged",
            AccountAction::Invalid { .. } => "Error",
        }
    }
    pub fn changes_text(&self) -> String {
        match &self.action {
            AccountAction::Created { changes } | AccountAction::Updated { changes } => changes
                .iter()
                .map(|c| {
                    if c.before.is_empty() {
                        format!("{}: {}", c.field, c.after)
                    } else {
                        format!("{}: {} → {}", c.field, c.before, c.after)
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub invalid: usize,
    /// Contacts created (with accounts or by the contact import).
    pub contacts_created: usize,
    pub contacts_updated: usize,
}

impl AccountCounts {
    /// Rows without errors.
    pub fn correct(&self) -> usize {
        self.created + self.updated + self.unchanged
    }
}

/// Exactly what importing an account or contact file does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountPlan {
    pub template_id: String,
    pub rows: Vec<AccountRowOutcome>,
    pub counts: AccountCounts,
    /// The writes of the valid rows (with the counters when contacts are created).
    pub changes: ChangeSet,
}

impl AccountPlan {
    pub fn import_counts(&self) -> ImportCounts {
        ImportCounts {
            created: self.counts.created + self.counts.contacts_created,
            updated: self.counts.updated + self.counts.contacts_updated,
            added: 0,
            unchanged: self.counts.unchanged,
            skipped: 0,
            errors: self.counts.invalid,
        }
    }
    pub fn has_errors(&self) -> bool {
        self.counts.invalid > 0
    }
}

/// The validator's errors, by sheet row, as "Cell: message".
fn errors_by_row(validated: &Validated) -> HashMap<usize, Vec<String>> {
    let mut errors: HashMap<usize, Vec<String>> = HashMap::new();
    for i in validated.issues.iter().filter(|i| i.severity == Severity::Error) {
        errors.entry(i.row).or_default().push(match &i.cell {
            Some(cell) => format!("{cell}: {}", i.message),
            None => i.message.clone(),
        });
    }
    errors
}

fn change(field: &str, before: &str, after: &str) -> Option<FieldChange> {
    (before != after).then(|| FieldChange { field: field.into(), before: before.into(), after: after.into() })
}

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
        self.next_contact_id += 1;
        id
    }
    fn finish(self) -> ChangeSet {
        let mut puts: Vec<Record> = self.accounts.into_values().map(Record::Account).collect();
        puts.extend(self.contacts.into_values().map(Record::AccountContact));
        if self.next_contact_id != self.crm.counters.next_account_contact_id {
            let mut counters = self.crm.counters;
            counters.next_account_contact_id = self.next_contact_id;
            puts.push(Record::Counters(counters));
        }
        ChangeSet { puts, deletes: Vec::new() }
    }
}

fn opt_text(row: &ValidatedRow, col: usize) -> Option<String> {
    Some(row.text(col).trim().to_string()).filter(|t| !t.is_empty())
}

/// Plans an account file (ACCOUNTS template). Nothing is written.
pub fn plan_accounts(crm: &Crm, validated: &Validated) -> AccountPlan {
    use account_columns as a;
    let mut errors = errors_by_row(validated);
    let mut work = Work::new(crm);
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    let mut counts = AccountCounts::default();
    for (index, row) in validated.rows.iter().enumerate() {
        let mut errs = errors.remove(&row.sheet_row).unwrap_or_default();
        let raw_number = row.text(a::NUMBER).trim().to_string();
        let kind = AccountKind::parse(row.text(a::KIND));
        let number = match kind {
            Some(k) if !raw_number.is_empty() => match parse_account_number(k, &raw_number) {
                Ok(n) => Some(n),
                Err(e) => {
                    errs.push(format!("Account Number: {e}"));
                    None
                }
            },
            _ => None,
        };
        let portfolio = if row.text(a::PORTFOLIO).trim().is_empty() {
            None
        } else {
            match parse_portfolio(crm, row.text(a::PORTFOLIO)) {
                Ok(p) => Some(p),
                Err(e) => {
                    errs.push(e);
                    None
                }
            }
        };
        if let (Some(p), Some(active)) = (&portfolio, row.bool(a::ACTIVE)) {
            if p.is_some() != active {
                errs.push(if active {
                    "Active is Yes but the Portfolio is Without Portfolio — an account without portfolio is inactive".into()
                } else {
                    "Active is No but the Portfolio is a login — use Without Portfolio for an inactive account".into()
                });
            }
        }
        let contact_name = opt_text(row, a::CONTACT_NAME);
        if contact_name.is_none()
            && [a::CONTACT_TYPE, a::CONTACT_EMAIL, a::CONTACT_PHONE]
                .iter()
                .any(|&k| opt_text(row, k).is_some())
        {
            errs.push(
                "Contact Name is empty but other contact columns (F–I) are filled — name the contact".into(),
            );
        }
        if let Some(n) = &number {
            if let Some(first) = seen.get(n) {
                errs.push(format!(
                    "Account Number {n} is already on row {first} of this file — expected each account once"
                ));
            } else {
                seen.insert(n.clone(), row.sheet_row);
            }
        }
        let outcome = |action| AccountRowOutcome {
            index,
            sheet_row: row.sheet_row,
            number: raw_number.clone(),
            name: row.text(a::NAME).to_string(),
            action,
        };
        let (Some(number), Some(kind), Some(portfolio_login), true) =
            (number, kind, portfolio, errs.is_empty())
        else {
            counts.invalid += 1;
            if errs.is_empty() {
                errs.push("the row is incomplete".into());
            }
            rows.push(outcome(AccountAction::Invalid { errors: errs }));
            continue;
        };
        let existing = work.account(&number).cloned();
        let after = Account {
            number: number.clone(),
            name: row.text(a::NAME).trim().to_string(),
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
        if let Some(name) = contact_name {
            let ctype = ContactType::parse(row.text(a::CONTACT_TYPE));
            let email = opt_text(row, a::CONTACT_EMAIL);
            let phone = opt_text(row, a::CONTACT_PHONE);
            let found = work.contacts_of(&number).into_iter().find(|c| fold(&c.name) == fold(&name));
            match found {
                Some(c) => {
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
                        changes.extend(change(
                            "Contact Type",
                            c.contact_type.label(),
                            next.contact_type.label(),
                        ));
                        changes.extend(change("Contact Email", &c.email, &next.email));
                        changes.extend(change("Contact Phone", &c.phone, &next.phone));
                        counts.contacts_updated += 1;
                        work.contacts.insert(next.id, next);
                    }
                }
                None => {
                    let id = work.new_id();
                    let contact = AccountContact {
                        id,
                        account_number: number.clone(),
                        identifier: number.clone(),
                        name: name.clone(),
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
                    counts.contacts_created += 1;
                    work.contacts.insert(id, contact);
                }
            }
        }
        let action = if existing.is_none() {
            counts.created += 1;
            AccountAction::Created { changes }
        } else if changes.is_empty() {
            counts.unchanged += 1;
            AccountAction::Unchanged
        } else {
            counts.updated += 1;
            AccountAction::Updated { changes }
        };
        rows.push(outcome(action));
    }
    AccountPlan { template_id: ACCOUNTS.id.into(), rows, counts, changes: work.finish() }
}

/// Plans a contact file (ACCOUNT_CONTACTS template). Nothing is written.
pub fn plan_account_contacts(crm: &Crm, validated: &Validated) -> AccountPlan {
    use contact_columns as c;
    let mut errors = errors_by_row(validated);
    let mut work = Work::new(crm);
    let mut rows = Vec::new();
    let mut counts = AccountCounts::default();
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for (index, row) in validated.rows.iter().enumerate() {
        let mut errs = errors.remove(&row.sheet_row).unwrap_or_default();
        let raw_number = row.text(c::NUMBER).trim().to_string();
        let name = row.text(c::NAME).trim().to_string();
        let number = normalize_account_number(&raw_number);
        let account = if raw_number.is_empty() { None } else { crm.accounts.get(&number) };
        if !raw_number.is_empty() && account.is_none() {
            errs.push(format!("Account Number \"{raw_number}\" does not exist — import the account first"));
        }
        let identifier = row.text(c::IDENTIFIER).trim().to_string();
        if !identifier.is_empty() && !raw_number.is_empty() {
            if let Err(e) = check_identifier(&raw_number, &identifier) {
                errs.push(e);
            }
        }
        let quals = match opt_text(row, c::QUALIFICATIONS) {
            None => None,
            Some(q) => match parse_qualifications(crm, &q) {
                Ok(q) => Some(q),
                Err(mut e) => {
                    errs.append(&mut e);
                    None
                }
            },
        };
        if !name.is_empty() && account.is_some() {
            let key = (number.clone(), fold(&name));
            if let Some(first) = seen.get(&key) {
                errs.push(format!("Contact {name} of {number} is already on row {first} of this file"));
            } else {
                seen.insert(key, row.sheet_row);
            }
        }
        let outcome = |action| AccountRowOutcome {
            index,
            sheet_row: row.sheet_row,
            number: raw_number.clone(),
            name: name.clone(),
            action,
        };
        let ctype = ContactType::parse(row.text(c::TYPE));
        let (Some(_), Some(ctype), true) = (account, ctype, errs.is_empty()) else {
            counts.invalid += 1;
            if errs.is_empty() {
                errs.push("the row is incomplete".into());
            }
            rows.push(outcome(AccountAction::Invalid { errors: errs }));
            continue;
        };
        let found = work
            .contacts_of(&number)
            .into_iter()
            .find(|k| k.identifier == number && fold(&k.name) == fold(&name));
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
        if let Some(p) = opt_text(row, c::PHONE) {
            next.phone = p;
        }
        if let Some(e) = opt_text(row, c::EMAIL) {
            next.email = e;
        }
        let action = match before {
            Some(b) if b == next => {
                counts.unchanged += 1;
                AccountAction::Unchanged
            }
            Some(b) => {
                let changes = [
                    change("Type", b.contact_type.label(), next.contact_type.label()),
                    change("Qualifications", &b.qualifications.join("; "), &next.qualifications.join("; ")),
                    change("Phone", &b.phone, &next.phone),
                    change("Email", &b.email, &next.email),
                ]
                .into_iter()
                .flatten()
                .collect();
                counts.updated += 1;
                counts.contacts_updated += 1;
                work.contacts.insert(next.id, next);
                AccountAction::Updated { changes }
            }
            None => {
                next.id = work.new_id();
                let changes = vec![FieldChange {
                    field: "New contact".into(),
                    before: String::new(),
                    after: format!("{} ({})", next.name, next.contact_type.label()),
                }];
                counts.created += 1;
                counts.contacts_created += 1;
                work.contacts.insert(next.id, next);
                AccountAction::Created { changes }
            }
        };
        rows.push(outcome(action));
    }
    AccountPlan { template_id: ACCOUNT_CONTACTS.id.into(), rows, counts, changes: work.finish() }
}

/// Plans a validated file of either account template.
pub fn plan_account_file(crm: &Crm, template: &Template, validated: &Validated) -> AccountPlan {
    if template.id == ACCOUNT_CONTACTS.id {
        plan_account_contacts(crm, validated)
    } else {
        plan_accounts(crm, validated)
    }
}

/// The batch that applies a plan's valid rows, recorded in the import history with
/// before-images (the same [`record_import`] every import uses).
pub fn apply_account_plan(crm: &Crm, plan: &AccountPlan, ctx: &ApplyContext) -> (ChangeSet, ImportRecord) {
    let counters = plan
        .changes
        .puts
        .iter()
        .find_map(|r| match r {
            Record::Counters(c) => Some(*c),
            _ => None,
        })
        .unwrap_or(crm.counters);
    record_import(crm, &plan.changes, counters, ctx, plan.import_counts())
}

// ---------------------------------------------------------------------------------------------
// Export profiles and exports
// ---------------------------------------------------------------------------------------------

/// What an export profile exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileKind {
    Accounts,
    Contacts,
}

impl ProfileKind {
    pub fn template(self) -> &'static Template {
        match self {
            ProfileKind::Accounts => &ACCOUNTS,
            ProfileKind::Contacts => &ACCOUNT_CONTACTS,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ProfileKind::Accounts => "Accounts",
            ProfileKind::Contacts => "Contacts",
        }
    }
}

/// Which accounts an export takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFilters {
    /// `None` = every portfolio; `Some("Without Portfolio")` = inactive accounts; else a login.
    pub portfolio: Option<String>,
    /// `None` = every kind.
    pub kind: Option<AccountKind>,
}

impl AccountFilters {
    pub fn accepts(&self, a: &Account) -> bool {
        let portfolio_ok = match &self.portfolio {
            None => true,
            Some(p) if p.eq_ignore_ascii_case(WITHOUT_PORTFOLIO) => a.portfolio_login.is_none(),
            Some(p) => a.portfolio_login.as_deref() == Some(p.as_str()),
        };
        portfolio_ok && self.kind.is_none_or(|k| a.kind == k)
    }
}

/// A named export profile: which template columns, in which order, and default filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProfile {
    pub name: String,
    pub kind: ProfileKind,
    /// An ordered subset of the template's headers.
    pub columns: Vec<String>,
    #[serde(default)]
    pub filters: AccountFilters,
}

impl ExportProfile {
    /// A profile with every column of its template.
    pub fn full(name: &str, kind: ProfileKind) -> Self {
        ExportProfile {
            name: name.into(),
            kind,
            columns: kind.template().headers().into_iter().map(String::from).collect(),
            filters: AccountFilters::default(),
        }
    }
    /// The profile's columns that are the template's (unknown ones dropped, repeats once).
    pub fn valid_columns(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for c in &self.columns {
            if let Some(h) =
                self.kind.template().headers().into_iter().find(|h| h.eq_ignore_ascii_case(c.trim()))
            {
                if !out.contains(&h) {
                    out.push(h);
                }
            }
        }
        out
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
    /// A profile read from JSON, its columns checked against its template.
    pub fn from_json(text: &str) -> Result<ExportProfile, String> {
        let mut p: ExportProfile =
            serde_json::from_str(text).map_err(|e| format!("Not an export profile: {e}"))?;
        if p.name.trim().is_empty() {
            return Err("The profile has no name".into());
        }
        let valid: Vec<String> = p.valid_columns().into_iter().map(String::from).collect();
        if valid.is_empty() {
            return Err(format!("The profile names none of the {} columns", p.kind.label()));
        }
        p.columns = valid;
        Ok(p)
    }
}

/// The first contact of an account (lowest id): the one written in columns F–I.
fn first_contact<'c>(crm: &'c Crm, number: &str) -> Option<&'c AccountContact> {
    crm.account_contacts.values().find(|c| c.account_number == number)
}

/// One account's cell under an ACCOUNTS header.
pub fn account_cell(crm: &Crm, a: &Account, header: &str) -> String {
    let contact = || first_contact(crm, &a.number);
    match header {
        "Account Number" => a.number.clone(),
        "Account Name" => a.name.clone(),
        "Kind" => a.kind.label().into(),
        "Portfolio" => portfolio_text(a).into(),
        "Active" => if a.active() { "Yes" } else { "No" }.into(),
        "Contact Name" => contact().map(|c| c.name.clone()).unwrap_or_default(),
        "Contact Type" => contact().map(|c| c.contact_type.label().to_string()).unwrap_or_default(),
        "Contact Email" => contact().map(|c| c.email.clone()).unwrap_or_default(),
        "Contact Phone" => contact().map(|c| c.phone.clone()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// One contact's cell under an ACCOUNT_CONTACTS header.
pub fn contact_cell(c: &AccountContact, header: &str) -> String {
    match header {
        "Account Number" => c.account_number.clone(),
        "Contact Name" => c.name.clone(),
        "Identifier" => c.identifier.clone(),
        "Type" => c.contact_type.label().into(),
        "Qualifications" => c.qualifications.join("; "),
        "Phone" => c.phone.clone(),
        "Email" => c.email.clone(),
        _ => String::new(),
    }
}

/// The rows of an export (header first), as text.
pub fn export_rows(crm: &Crm, profile: &ExportProfile, filters: &AccountFilters) -> Vec<Vec<String>> {
    let columns = profile.valid_columns();
    let mut out = vec![columns.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    let accounts = crm.accounts.values().filter(|a| filters.accepts(a));
    match profile.kind {
        ProfileKind::Accounts => {
            for a in accounts {
                out.push(columns.iter().map(|h| account_cell(crm, a, h)).collect());
            }
        }
        ProfileKind::Contacts => {
            let numbers: std::collections::HashSet<&str> = accounts.map(|a| a.number.as_str()).collect();
            for c in crm.account_contacts.values().filter(|c| numbers.contains(c.account_number.as_str())) {
                out.push(columns.iter().map(|h| contact_cell(c, h)).collect());
            }
        }
    }
    out
}

/// The account (or contact) export of a profile as XLSX: the template's headers in the
/// profile's order, one row per account (contact), every cell text.
pub fn write_accounts_export(
    crm: &Crm,
    profile: &ExportProfile,
    filters: &AccountFilters,
) -> Result<Vec<u8>, ExportError> {
    let rows = export_rows(crm, profile, filters);
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let template = profile.kind.template();
    let sheet = workbook.add_worksheet();
    sheet.set_name(template.sheet_name)?;
    check_rows_fit(template.sheet_name, rows.len() - 1)?;
    let headers: Vec<&str> = rows[0].iter().map(String::as_str).collect();
    let required: Vec<bool> =
        headers.iter().map(|h| template.columns.iter().any(|c| c.header == *h && c.required)).collect();
    let widths: Vec<f64> = headers.iter().map(|h| (h.len() as f64 + 8.0).max(16.0)).collect();
    write_header(sheet, &formats, &headers, &required, &widths, rows.len() - 1)?;
    for (r, row) in rows.iter().enumerate().skip(1) {
        for (k, v) in row.iter().enumerate() {
            write_text(sheet, &formats, r as u32, k as u16, v)?;
        }
    }
    save(workbook)
}

/// The model spreadsheet of an account template: required headers red, an Instructions sheet,
/// dropdowns for Kind and Type, and for Portfolio the current logins plus "Without Portfolio".
pub fn write_account_model(crm: &Crm, template: &Template) -> Result<Vec<u8>, ExportError> {
    let mut portfolios: Vec<String> = crm.operators.keys().cloned().collect();
    portfolios.push(WITHOUT_PORTFOLIO.into());
    write_template_workbook_with_lists(template, &[("Portfolio", portfolios)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::demo::SPECIALTIES;
    use crate::core::model::{Operator, Role};
    use crate::core::plan::undo;
    use crate::core::read::read_sheet;
    use crate::core::sheet::RawCell;

    fn company_cnpj() -> String {
        cnpj::with_check_digits("112223330001").unwrap()
    }

    fn crm() -> Crm {
        let mut crm = Crm::default();
        for login in ["alice", "bob"] {
            crm.operators.insert(
                login.into(),
                Operator { login: login.into(), name: login.to_uppercase(), roles: vec![Role::Import] },
            );
        }
        for s in SPECIALTIES {
            crm.specialties.insert(s.to_string(), ());
        }
        let med = "123456/SP".to_string();
        crm.accounts.insert(
            med.clone(),
            Account {
                number: med.clone(),
                name: "Dr. Ana".into(),
                kind: AccountKind::Medical,
                portfolio_login: Some("alice".into()),
            },
        );
        let co = company_cnpj();
        crm.accounts.insert(
            co.clone(),
            Account {
                number: co.clone(),
                name: "Acme Ltda".into(),
                kind: AccountKind::Company,
                portfolio_login: None,
            },
        );
        crm.account_contacts.insert(
            1,
            AccountContact {
                id: 1,
                account_number: med.clone(),
                identifier: med,
                name: "Ana Lima".into(),
                contact_type: ContactType::Doctor,
                qualifications: vec!["Cardiology".into()],
                phone: "(11) 91234-5678".into(),
                email: "ana@example.com".into(),
            },
        );
        crm.counters.next_account_contact_id = 2;
        crm
    }

    fn ctx(sha: &str, template: &str) -> ApplyContext {
        ApplyContext {
            template_id: template.into(),
            operator_login: "alice".into(),
            applied_at_ms: 1_700_000_000_000,
            file_name: "accounts.csv".into(),
            sha256: sha.into(),
        }
    }

    fn plan_csv(crm: &Crm, csv: &str) -> AccountPlan {
        let sheet = read_sheet("f.csv", csv.as_bytes()).unwrap();
        plan_sheet(crm, &sheet)
    }

    fn plan_sheet(crm: &Crm, sheet: &Sheet) -> AccountPlan {
        let template = recognise_account_file(&sheet.header).unwrap();
        let validated = validate_account_sheet(crm, template, sheet);
        plan_account_file(crm, template, &validated)
    }

    fn apply(crm: &mut Crm, plan: &AccountPlan, sha: &str) {
        let (changes, _) = apply_account_plan(crm, plan, &ctx(sha, &plan.template_id));
        crm.apply_changes(&changes).unwrap();
    }

    const ACC_HEADER: &str = "Account Number,Account Name,Kind,Portfolio,Active,Contact Name,Contact Type,Contact Email,Contact Phone";
    const CON_HEADER: &str = "Account Number,Contact Name,Identifier,Type,Qualifications,Phone,Email";

    #[test]
    fn cnpj_valid_invalid_check_digits_and_punctuation() {
        let c = company_cnpj();
        let digits: String = c.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(parse_cnpj(&c).unwrap(), c);
        assert_eq!(parse_cnpj(&digits).unwrap(), c, "without punctuation, stored formatted");
        let mut bad = digits.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == '9' { '0' } else { (last as u8 + 1) as char });
        assert!(parse_cnpj(&bad).unwrap_err().contains("check digits"));
        assert!(parse_cnpj("12.345").unwrap_err().contains("not a CNPJ"));
        assert!(parse_cnpj("11.111.111/1111-11").is_err());
        let plan = plan_csv(&crm(), &format!("{ACC_HEADER}\n{bad},Bad Co,Company,alice,,,,,\n{digits},Acme Ltda,Company,Without Portfolio,No,,,,\n"));
        assert_eq!(plan.counts.invalid, 1);
        assert!(plan.rows[0].errors_text().contains("check digits"), "{}", plan.rows[0].errors_text());
        assert_eq!(plan.rows[1].action, AccountAction::Unchanged, "unpunctuated CNPJ matches the stored one");
    }

    #[test]
    fn crm_registration_checks_number_and_state() {
        assert_eq!(parse_crm_registration("123456/sp").unwrap(), "123456/SP");
        assert_eq!(parse_crm_registration(" 98765 - rj ").unwrap(), "98765/RJ");
        assert!(parse_crm_registration("123456/XX").unwrap_err().contains("not a Brazilian state"));
        assert!(parse_crm_registration("123456").is_err());
        assert!(parse_crm_registration("12a456/SP").is_err());
        // A Medical account number must be a registration; a Company one a CNPJ.
        let plan = plan_csv(
            &crm(),
            &format!(
                "{ACC_HEADER}\n{},Clinic,Medical,alice,,,,,\n123456/SP,X,Company,alice,,,,,\n",
                company_cnpj()
            ),
        );
        assert_eq!(plan.counts.invalid, 2);
        assert!(plan.rows[0].errors_text().contains("CRM registration"));
        assert!(plan.rows[1].errors_text().contains("CNPJ"));
    }

    #[test]
    fn identifier_must_repeat_the_account_number() {
        assert!(check_identifier("123456/SP", "123456/sp").is_ok());
        let c = company_cnpj();
        let digits: String = c.chars().filter(char::is_ascii_digit).collect();
        assert!(check_identifier(&c, &digits).is_ok());
        let plan =
            plan_csv(&crm(), &format!("{CON_HEADER}\n123456/SP,Ana Lima,654321/SP,DOCTOR,Cardiology,,\n"));
        let e = plan.rows[0].errors_text();
        assert!(e.contains("654321/SP") && e.contains("123456/SP"), "{e}");
        let plan = plan_csv(&crm(), &format!("{CON_HEADER}\n999/SP,Ana Lima,999/SP,DOCTOR,,,\n"));
        assert!(plan.rows[0].errors_text().contains("does not exist"));
    }

    #[test]
    fn qualifications_match_without_case_or_accents_and_suggest() {
        let crm = crm();
        assert_eq!(match_specialty(&crm, "clinica medica").unwrap(), "Clínica Médica");
        assert_eq!(match_specialty(&crm, "CARDIOLOGY").unwrap(), "Cardiology");
        let e = match_specialty(&crm, "Cardiolgy").unwrap_err();
        assert!(e.contains("Cardiolgy") && e.contains("closest registered: Cardiology"), "{e}");
        let plan = plan_csv(
            &crm,
            &format!("{CON_HEADER}\n123456/SP,Ana Lima,123456/SP,DOCTOR,dermatology; PEDIATRICS,,\n"),
        );
        assert_eq!(plan.counts.updated, 1);
        let Record::AccountContact(c) = &plan.changes.puts[0] else { panic!() };
        assert_eq!(c.qualifications, vec!["Dermatology".to_string(), "Pediatrics".to_string()]);
        let plan =
            plan_csv(&crm, &format!("{CON_HEADER}\n123456/SP,Ana Lima,123456/SP,DOCTOR,Neurologyy;Xyz,,\n"));
        assert_eq!(plan.counts.invalid, 1);
        assert!(plan.rows[0].errors_text().contains("Neurology"));
    }

    #[test]
    fn contact_import_creates_new_and_updates_by_identifier_and_name() {
        let mut crm = crm();
        let plan = plan_csv(&crm, &format!("{CON_HEADER}\n123456/SP,Bia Costa,123456/SP,SECRETARY,,,bia@example.com\n123456/SP,ana lima,123456/SP,DOCTOR,,,\n"));
        assert_eq!((plan.counts.created, plan.counts.updated, plan.counts.unchanged), (1, 0, 1));
        apply(&mut crm, &plan, "c1");
        let bia = crm.account_contacts.get(&2).unwrap();
        assert_eq!(
            (bia.name.as_str(), bia.identifier.as_str(), bia.contact_type),
            ("Bia Costa", "123456/SP", ContactType::Secretary)
        );
        assert_eq!(crm.counters.next_account_contact_id, 3);
    }

    #[test]
    fn account_import_creates_the_f_to_i_contact_and_assigns_portfolios() {
        let mut crm = crm();
        let before = crm.clone();
        let new_cnpj: String =
            cnpj::with_check_digits("445556660001").unwrap().chars().filter(char::is_ascii_digit).collect();
        let plan = plan_csv(
            &crm,
            &format!(
                "{ACC_HEADER}\n{new_cnpj},Nova Seguros,Insurance,BOB,Yes,Carla Dias,OTHERS,carla@nova.com,+55 11 3333-4444\n\
                 123456/SP,Dr. Ana,Medical,Without Portfolio,,Ana Lima,DOCTOR,,\n\
                 777/MG,Dr. Zé,Medical,carol,,,,,\n\
                 778/MG,Dr. Zé,Medical,alice,No,,,,\n"
            ),
        );
        assert_eq!((plan.counts.created, plan.counts.updated, plan.counts.invalid), (1, 1, 2));
        assert!(plan.rows[2].errors_text().contains("not an operator's login"));
        assert!(plan.rows[3].errors_text().contains("Active is No"));
        assert_eq!(plan.rows[1].changes_text(), "Portfolio: alice → Without Portfolio");
        apply(&mut crm, &plan, "a1");
        let formatted = cnpj::format(&new_cnpj).unwrap();
        let acc = crm.accounts.get(&formatted).unwrap();
        assert_eq!(acc.portfolio_login.as_deref(), Some("bob"));
        let contact = crm.account_contacts.values().find(|c| c.account_number == formatted).unwrap();
        assert_eq!(
            (contact.name.as_str(), contact.identifier.as_str(), contact.email.as_str()),
            ("Carla Dias", formatted.as_str(), "carla@nova.com")
        );
        assert_eq!(contact.id, 2);
        assert!(!crm.accounts["123456/SP"].active(), "Without Portfolio makes the account inactive");
        assert_eq!(
            crm.account_contacts.values().filter(|c| c.account_number == "123456/SP").count(),
            1,
            "existing contact not duplicated"
        );
        // Undo restores.
        let u = undo(&crm).unwrap();
        crm.apply_changes(&u).unwrap();
        assert_eq!(crm.accounts, before.accounts);
        assert_eq!(crm.account_contacts, before.account_contacts);
    }

    #[test]
    fn round_trip_export_edit_import_export_reimport() {
        let mut crm = crm();
        let accounts = ExportProfile::full("All accounts", ProfileKind::Accounts);
        let contacts = ExportProfile::full("All contacts", ProfileKind::Contacts);
        let filters = AccountFilters { portfolio: Some("alice".into()), kind: Some(AccountKind::Medical) };
        let bytes = write_accounts_export(&crm, &accounts, &filters).unwrap();
        let mut sheet = read_sheet("accounts.xlsx", &bytes).unwrap();
        assert_eq!(sheet.header, ACCOUNTS.headers());
        assert_eq!(sheet.rows.len(), 1);
        // Move the account to bob's portfolio.
        sheet.rows[0].cells[account_columns::PORTFOLIO] = RawCell::Text("bob".into());
        let plan = plan_sheet(&crm, &sheet);
        assert_eq!(plan.counts.updated, 1, "{:?}", plan.rows);
        apply(&mut crm, &plan, "r1");
        // Change the contact's qualifications through the contact export.
        let cbytes = write_accounts_export(&crm, &contacts, &AccountFilters::default()).unwrap();
        let mut csheet = read_sheet("contacts.xlsx", &cbytes).unwrap();
        assert_eq!(csheet.header, ACCOUNT_CONTACTS.headers());
        csheet.rows[0].cells[contact_columns::QUALIFICATIONS] =
            RawCell::Text("cardiology; Clinica medica".into());
        let plan = plan_sheet(&crm, &csheet);
        assert_eq!(plan.counts.updated, 1);
        apply(&mut crm, &plan, "r2");
        // The exports show the change.
        let rows =
            export_rows(&crm, &accounts, &AccountFilters { portfolio: Some("bob".into()), kind: None });
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][account_columns::PORTFOLIO], "bob");
        let crows = export_rows(&crm, &contacts, &AccountFilters::default());
        assert_eq!(crows[1][contact_columns::QUALIFICATIONS], "Cardiology; Clínica Médica");
        // Re-importing the new exports changes nothing.
        for profile in [&accounts, &contacts] {
            let bytes = write_accounts_export(&crm, profile, &AccountFilters::default()).unwrap();
            let sheet = read_sheet("again.xlsx", &bytes).unwrap();
            let plan = plan_sheet(&crm, &sheet);
            assert_eq!(plan.counts.invalid, 0, "{:?}", plan.rows);
            assert_eq!(plan.counts.unchanged, sheet.rows.len());
            assert!(plan.changes.is_empty());
        }
    }

    #[test]
    fn profiles_serialize_order_columns_and_filter() {
        let mut p = ExportProfile::full("Mine", ProfileKind::Accounts);
        p.columns = vec!["Portfolio".into(), "account number".into(), "Nope".into(), "Portfolio".into()];
        p.filters =
            AccountFilters { portfolio: Some(WITHOUT_PORTFOLIO.into()), kind: Some(AccountKind::Company) };
        let back = ExportProfile::from_json(&p.to_json()).unwrap();
        assert_eq!(back.columns, vec!["Portfolio".to_string(), "Account Number".to_string()]);
        let rows = export_rows(&crm(), &back, &back.filters);
        assert_eq!(
            rows,
            vec![
                vec!["Portfolio".to_string(), "Account Number".into()],
                vec![WITHOUT_PORTFOLIO.into(), company_cnpj()]
            ]
        );
        assert!(ExportProfile::from_json("{}").is_err());
        // A subset export with every required column re-imports.
        assert!(recognise_account_file(&[
            "Account Number".into(),
            "Account Name".into(),
            "Kind".into(),
            "Portfolio".into()
        ])
        .is_ok());
        assert!(recognise_account_file(&["Account Number".into(), "Whatever".into()]).is_err());
    }

    #[test]
    fn model_spreadsheets_have_instructions_and_portfolio_list() {
        let crm = crm();
        for t in [&ACCOUNTS, &ACCOUNT_CONTACTS] {
            let bytes = write_account_model(&crm, t).unwrap();
            let sheet = read_sheet("model.xlsx", &bytes).unwrap();
            assert_eq!(sheet.header, t.headers());
            let text = String::from_utf8_lossy(&bytes).len();
            assert!(text > 0);
        }
    }
}
