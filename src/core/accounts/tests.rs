//! Accounts and contacts end to end: account numbers (CRM registration, CNPJ), the Identifier
//! rule, qualifications, contact and account imports, the export → edit → import round trip,
//! profiles and model spreadsheets.

use std::collections::BTreeMap;

use super::export::{export_rows, write_account_model, write_accounts_export};
use super::profiles::{AccountFilters, ExportProfile, ProfileKind};
use super::rules::{check_identifier, match_specialty, parse_cnpj, parse_crm_registration};
use super::*;
use crate::core::cnpj;
use crate::core::demo::SPECIALTIES;
use crate::core::headers::recognise;
use crate::core::index::CrmIndex;
use crate::core::model::{Account, AccountContact, AccountKind, ContactType, Crm, Operator, Record, Role};
use crate::core::plan::history::{self, undo, ApplyContext};
use crate::core::plan::{ImportPlan, RowAction};
use crate::core::read::read_sheet;
use crate::core::sheet::{RawCell, Sheet};
use crate::core::validate::{IssueCode, ValidationOptions, Validator};
use crate::core::workflows::plan_file;

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

fn plan_csv(crm: &Crm, csv: &str) -> ImportPlan {
    let sheet = read_sheet("f.csv", csv.as_bytes()).unwrap();
    plan_sheet(crm, &sheet)
}

/// Whether a file's headers are one of the account templates'.
fn recognised(header: &[String]) -> bool {
    recognise(&templates(), None, header, &BTreeMap::new()).is_ok()
}

fn plan_sheet(crm: &Crm, sheet: &Sheet) -> ImportPlan {
    let r = recognise(&templates(), None, &sheet.header, &BTreeMap::new()).unwrap();
    let index = CrmIndex::new(crm);
    let validated =
        Validator::new(r.template, &r.mapping, &index, ValidationOptions::default()).all(&sheet.rows);
    plan_file(crm, r.template, &validated).expect("an accounts planner")
}

fn apply(crm: &mut Crm, plan: &ImportPlan, sha: &str) {
    let (changes, _) = history::apply(crm, plan, &ctx(sha, &plan.template_id)).unwrap();
    crm.apply_changes(&changes).unwrap();
}

/// The column of a field in a template.
fn col(template: &Template, field: Field) -> usize {
    template.col(field).unwrap()
}

const ACC_HEADER: &str =
    "Account Number,Account Name,Kind,Portfolio,Active,Contact Name,Contact Type,Contact Email,Contact Phone";
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
    assert!(parse_cnpj(&bad).unwrap_err().to_string().contains("check digits"));
    assert!(parse_cnpj("12.345").unwrap_err().to_string().contains("not a CNPJ"));
    assert!(parse_cnpj("11.111.111/1111-11").is_err());
    let plan = plan_csv(&crm(), &format!("{ACC_HEADER}\n{bad},Bad Co,Company,alice,,,,,\n{digits},Acme Ltda,Company,Without Portfolio,No,,,,\n"));
    assert_eq!(plan.tally().errors, 1);
    assert!(plan.rows[0].errors_text().contains("check digits"), "{}", plan.rows[0].errors_text());
    assert_eq!(plan.rows[1].action, RowAction::Unchanged, "unpunctuated CNPJ matches the stored one");
}

#[test]
fn crm_registration_checks_number_and_state() {
    assert_eq!(parse_crm_registration("123456/sp").unwrap(), "123456/SP");
    assert_eq!(parse_crm_registration(" 98765 - rj ").unwrap(), "98765/RJ");
    assert!(parse_crm_registration("123456/XX").unwrap_err().to_string().contains("not a Brazilian state"));
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
    assert_eq!(plan.tally().errors, 2);
    assert!(plan.rows[0].errors_text().contains("CRM registration"));
    assert!(plan.rows[1].errors_text().contains("CNPJ"));
}

#[test]
fn identifier_must_repeat_the_account_number() {
    assert!(check_identifier("123456/SP", "123456/sp").is_ok());
    let c = company_cnpj();
    let digits: String = c.chars().filter(char::is_ascii_digit).collect();
    assert!(check_identifier(&c, &digits).is_ok());
    let plan = plan_csv(&crm(), &format!("{CON_HEADER}\n123456/SP,Ana Lima,654321/SP,DOCTOR,Cardiology,,\n"));
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
    let e = match_specialty(&crm, "Cardiolgy").unwrap_err().to_string();
    assert!(e.contains("Cardiolgy") && e.contains("closest registered: Cardiology"), "{e}");
    let plan = plan_csv(
        &crm,
        &format!("{CON_HEADER}\n123456/SP,Ana Lima,123456/SP,DOCTOR,dermatology; PEDIATRICS,,\n"),
    );
    assert_eq!(plan.tally().updated, 1);
    let Record::AccountContact(c) = &plan.changes.puts[0] else { panic!() };
    assert_eq!(c.qualifications, vec!["Dermatology".to_string(), "Pediatrics".to_string()]);
    let plan =
        plan_csv(&crm, &format!("{CON_HEADER}\n123456/SP,Ana Lima,123456/SP,DOCTOR,Neurologyy;Xyz,,\n"));
    assert_eq!(plan.tally().errors, 1);
    assert!(plan.rows[0].errors_text().contains("Neurology"));
}

#[test]
fn contact_import_creates_new_and_updates_by_identifier_and_name() {
    let mut crm = crm();
    let plan = plan_csv(&crm, &format!("{CON_HEADER}\n123456/SP,Bia Costa,123456/SP,SECRETARY,,,bia@example.com\n123456/SP,ana lima,123456/SP,DOCTOR,,,\n"));
    assert_eq!((plan.tally().created, plan.tally().updated, plan.tally().unchanged), (1, 0, 1));
    apply(&mut crm, &plan, "c1");
    let bia = crm.account_contacts.get(&2).unwrap();
    assert_eq!(
        (bia.name.as_str(), bia.identifier.as_str(), bia.contact_type),
        ("Bia Costa", "123456/SP", ContactType::Secretary)
    );
    assert_eq!(crm.counters.next_account_contact_id, 3);
    let record = crm.imports.values().last().unwrap();
    assert_eq!(
        (record.counts.created, record.counts.unchanged),
        (1, 1),
        "one contact created is counted once in the history"
    );
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
    assert_eq!((plan.tally().created, plan.tally().updated, plan.tally().errors), (1, 1, 2));
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
    sheet.rows[0].cells[col(&ACCOUNTS, Field::Portfolio)] = RawCell::Text("bob".into());
    let plan = plan_sheet(&crm, &sheet);
    assert_eq!(plan.tally().updated, 1, "{:?}", plan.rows);
    apply(&mut crm, &plan, "r1");
    // Change the contact's qualifications through the contact export.
    let cbytes = write_accounts_export(&crm, &contacts, &AccountFilters::default()).unwrap();
    let mut csheet = read_sheet("contacts.xlsx", &cbytes).unwrap();
    assert_eq!(csheet.header, ACCOUNT_CONTACTS.headers());
    csheet.rows[0].cells[col(&ACCOUNT_CONTACTS, Field::Qualifications)] =
        RawCell::Text("cardiology; Clinica medica".into());
    let plan = plan_sheet(&crm, &csheet);
    assert_eq!(plan.tally().updated, 1);
    apply(&mut crm, &plan, "r2");
    // The exports show the change.
    let rows = export_rows(&crm, &accounts, &AccountFilters { portfolio: Some("bob".into()), kind: None });
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][col(&ACCOUNTS, Field::Portfolio)], "bob");
    let crows = export_rows(&crm, &contacts, &AccountFilters::default());
    assert_eq!(crows[1][col(&ACCOUNT_CONTACTS, Field::Qualifications)], "Cardiology; Clínica Médica");
    // Re-importing the new exports changes nothing.
    for profile in [&accounts, &contacts] {
        let bytes = write_accounts_export(&crm, profile, &AccountFilters::default()).unwrap();
        let sheet = read_sheet("again.xlsx", &bytes).unwrap();
        let plan = plan_sheet(&crm, &sheet);
        assert_eq!(plan.tally().errors, 0, "{:?}", plan.rows);
        assert_eq!(plan.tally().unchanged, sheet.rows.len());
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
    assert!(recognised(&["Account Number".into(), "Account Name".into(), "Kind".into(), "Portfolio".into()]));
    assert!(!recognised(&["Account Number".into(), "Whatever".into()]));
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

#[test]
fn plans_read_the_accounts_and_contacts_they_matched_and_every_key_they_put() {
    use crate::core::model::{EntityKind, RecordKey};
    let k = |kind, id: &str| RecordKey { kind, id: id.to_string() };
    let crm = crm();
    let new_cnpj = cnpj::with_check_digits("445556660001").unwrap();
    let plan = plan_csv(
        &crm,
        &format!(
            "{ACC_HEADER}\n123456/SP,Dr. Ana,Medical,bob,,Ana Lima,DOCTOR,ana.new@example.com,\n\
             {new_cnpj},Nova Seguros,Insurance,bob,,Carla Dias,OTHERS,,\n\
             999999/XX,Bad,Medical,bob,,,,,\n"
        ),
    );
    assert_eq!(plan.tally().errors, 1);
    assert_eq!(
        plan.reads,
        [
            k(EntityKind::Account, "123456/SP"),
            k(EntityKind::AccountContact, "1"),
            k(EntityKind::Account, &new_cnpj),
            k(EntityKind::AccountContact, "2"),
            k(EntityKind::Counters, "counters"),
        ]
        .into_iter()
        .collect()
    );
    let plan = plan_csv(&crm, &format!("{CON_HEADER}\n123456/SP,ana lima,123456/SP,DOCTOR,,,\n"));
    assert_eq!(plan.rows[0].action, RowAction::Unchanged);
    assert_eq!(
        plan.reads,
        [k(EntityKind::Account, "123456/SP"), k(EntityKind::AccountContact, "1")].into_iter().collect()
    );
}

#[test]
fn the_history_counts_accounts_and_contacts_and_the_summary_counts_rows() {
    let mut crm = crm();
    let plan = plan_csv(
        &crm,
        &format!(
            "{ACC_HEADER}\n123456/SP,Dr. Ana,Medical,alice,,Bia Costa,SECRETARY,,\n\
             777/MG,Dr. Zé,Medical,alice,,Caio Reis,DOCTOR,,\n"
        ),
    );
    let rows = plan.tally();
    assert_eq!((rows.created, rows.updated, rows.unchanged), (1, 1, 0));
    assert_eq!(plan.contacts(), (2, 0));
    assert_eq!((plan.counts.created, plan.counts.updated), (3, 1), "one account and two contacts created");
    apply(&mut crm, &plan, "h1");
    let record = crm.imports.values().last().unwrap();
    assert_eq!((record.counts.created, record.counts.updated), (3, 1));
}

#[test]
fn the_sample_checks_account_rows_against_the_stored_account_and_contact() {
    use crate::core::accounts::workflow::WORKFLOW;
    use crate::core::plan::verify::verification_sample;
    let mut crm = crm();
    let sheet = read_sheet(
        "f.csv",
        format!("{ACC_HEADER}\n123456/SP,Dr. Ana Souza,Medical,BOB,Yes,Ana Lima,,ana.new@example.com,\n")
            .as_bytes(),
    )
    .unwrap();
    let r = recognise(&templates(), None, &sheet.header, &BTreeMap::new()).unwrap();
    let index = CrmIndex::new(&crm);
    let validated =
        Validator::new(r.template, &r.mapping, &index, ValidationOptions::default()).all(&sheet.rows);
    drop(index);
    let plan = plan_file(&crm, r.template, &validated).expect("an accounts planner");
    apply(&mut crm, &plan, "s1");
    let sample = verification_sample(&WORKFLOW, &crm, &ACCOUNTS, &validated, &plan, "s1");
    assert_eq!(sample.len(), 1);
    assert!(sample[0].agrees, "{sample:#?}");
    assert!(sample[0].stored_values.contains(&("Portfolio".to_string(), "bob".to_string())));
    assert!(sample[0]
        .stored_values
        .contains(&("Contact Email".to_string(), "ana.new@example.com".to_string())));
    crm.accounts.get_mut("123456/SP").unwrap().name = "Someone else".into();
    assert!(!verification_sample(&WORKFLOW, &crm, &ACCOUNTS, &validated, &plan, "s1")[0].agrees);
}

#[test]
fn an_unrecognised_account_file_is_named_as_before() {
    let e = recognise(&templates(), None, &["Account Number".into(), "Whatever".into()], &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "The headers do not fit a template: not an accounts file (missing: Account Name, Kind, Portfolio; not in the template: whatever); not an account contacts file (missing: Contact Name, Identifier, Type; not in the template: whatever). Download a model spreadsheet and keep its headers."
    );
    let repeated = recognise(
        &templates(),
        None,
        &["Account Number".into(), "Account Name".into(), "Kind".into(), "Portfolio".into(), "kind".into()],
        &BTreeMap::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(repeated.starts_with("The headers do not fit a template: not an accounts file (missing: nothing; not in the template: a repeated header)"), "{repeated}");
}

/// The fill colour of each cell of the first sheet that has one, by cell name.
fn fills(bytes: &[u8]) -> BTreeMap<String, String> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let sheet = read("xl/worksheets/sheet1.xml");
    let styles = read("xl/styles.xml");
    let xfs: Vec<&str> = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("</cellXfs>")
        .next()
        .unwrap()
        .split("<xf ")
        .skip(1)
        .collect();
    let fill_list: Vec<&str> = styles
        .split("<fills")
        .nth(1)
        .unwrap()
        .split("</fills>")
        .next()
        .unwrap()
        .split("<fill>")
        .skip(1)
        .collect();
    let attr = |tag: &str, name: &str| {
        tag.split(&format!("{name}=\"")).nth(1).map(|v| v.split('"').next().unwrap().to_string())
    };
    let mut out = BTreeMap::new();
    for cell in sheet.split("<c r=\"").skip(1) {
        let tag = &cell[..cell.find('>').unwrap()];
        let name = tag.split('"').next().unwrap().to_string();
        let Some(style) = attr(tag, "s").and_then(|s| s.parse::<usize>().ok()) else { continue };
        let Some(fill_id) =
            xfs.get(style).and_then(|xf| attr(xf, "fillId")).and_then(|f| f.parse::<usize>().ok())
        else {
            continue;
        };
        if let Some(rgb) = fill_list.get(fill_id).and_then(|f| attr(f, "fgColor rgb")) {
            out.insert(name, rgb);
        }
    }
    out
}

/// A file's template, validated rows and plan.
fn stages(crm: &Crm, csv: &str) -> (&'static Template, crate::core::validate::Validated, ImportPlan) {
    let sheet = read_sheet("f.csv", csv.as_bytes()).unwrap();
    let r = recognise(&templates(), None, &sheet.header, &BTreeMap::new()).unwrap();
    let index = CrmIndex::new(crm);
    let validated =
        Validator::new(r.template, &r.mapping, &index, ValidationOptions::default()).all(&sheet.rows);
    let plan = plan_file(crm, r.template, &validated).expect("an accounts planner");
    (r.template, validated, plan)
}

const ERROR_FILL: &str = "FFF8D7DA";

#[test]
fn the_account_error_report_highlights_every_bad_cell_and_lists_the_errors() {
    use calamine::{Reader, Xlsx};
    let crm = crm();
    let cnpj = company_cnpj();
    let csv = format!(
        "{ACC_HEADER}\n12/XX,Bad Number,Medical,alice,,,,,\n654321/RJ,Nobody's,Medical,nobody,,,,,\n{cnpj},Acme,Hospital,alice,,,,,\n777777/SP,Fine,Medical,bob,Yes,,,,\n"
    );
    let (template, validated, plan) = stages(&crm, &csv);
    assert_eq!(template.id, ACCOUNTS.id);
    assert_eq!(plan.tally().errors, 3);
    let codes: Vec<(usize, IssueCode, Option<&str>)> =
        plan.issues.iter().map(|i| (i.row, i.code, i.cell.as_deref())).collect();
    assert_eq!(
        codes,
        [(2, IssueCode::AccountNumber, Some("A2")), (3, IssueCode::PortfolioUnknown, Some("D3"))]
    );
    let bytes = crate::core::report::write_plan_error_report(template, &validated, &plan).unwrap();
    let flagged: Vec<String> =
        fills(&bytes).into_iter().filter(|(_, rgb)| rgb == ERROR_FILL).map(|(cell, _)| cell).collect();
    assert_eq!(flagged, ["A2", "C4", "D3"], "exactly the bad cells");
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range(template.sheet_name).unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|d| d.to_string()).collect()).collect();
    assert_eq!(rows[0].last().map(String::as_str), Some("Errors"));
    assert_eq!(rows.len(), 5, "every row, to fix and re-upload");
    assert!(rows[1][9].starts_with("Error A2: Account Number:"), "{}", rows[1][9]);
    assert!(rows[2][9].contains("D3") && rows[2][9].contains("nobody"), "{}", rows[2][9]);
    assert!(rows[3][9].contains("C4"), "{}", rows[3][9]);
    assert_eq!(rows[4][9], "");
    // The read summary shows the same errors, row by row.
    assert!(plan.rows[1].errors_text().contains("nobody"));
}

#[test]
fn the_contact_error_report_highlights_identifier_qualification_and_account_cells() {
    let crm = crm();
    let csv = format!(
        "{CON_HEADER}\n123456/SP,Ana Lima,654321/SP,DOCTOR,Cardiology,,\n123456/SP,Bia Costa,123456/SP,SECRETARY,Neurologyy,,\n999/SP,Cy Dias,999/SP,OTHERS,,,\n"
    );
    let (template, validated, plan) = stages(&crm, &csv);
    assert_eq!(template.id, ACCOUNT_CONTACTS.id);
    let codes: Vec<(IssueCode, Option<&str>)> =
        plan.issues.iter().map(|i| (i.code, i.cell.as_deref())).collect();
    assert_eq!(
        codes,
        [
            (IssueCode::IdentifierMismatch, Some("C2")),
            (IssueCode::QualificationUnknown, Some("E3")),
            (IssueCode::AccountUnknown, Some("A4")),
        ]
    );
    let bytes = crate::core::report::write_plan_error_report(template, &validated, &plan).unwrap();
    let flagged: Vec<String> =
        fills(&bytes).into_iter().filter(|(_, rgb)| rgb == ERROR_FILL).map(|(cell, _)| cell).collect();
    assert_eq!(flagged, ["A4", "C2", "E3"]);
}
