//! A missing field blocks only what needs it: names are needed to create an entry, for tier 3
//! and for ranking, not on a row whose Public ID, Client Reference or SSN finds the entry; an
//! incomplete address is taken as given.

use super::*;

fn issue_codes(v: &Validated, row: usize) -> Vec<(IssueCode, Severity, Option<String>)> {
    v.issues.iter().filter(|i| i.row == row).map(|i| (i.code, i.severity, i.cell.clone())).collect()
}

#[test]
fn rows_without_names_whose_ssn_client_reference_or_public_id_finds_the_entry_apply_with_a_warning() {
    let mut crm = crm();
    let before = crm.clone();
    let rows = [
        // Ann by her SSN, no names at all.
        Row::person("", "", "", "", "", "345-67-8901").email("Home", "ann@example.org"),
        // Peter by his Client Reference, no last name.
        Row::person("", "", "Peter", "", "CR-004", "").phone("Home", "+1 617 555 0144"),
        // José's address by its Public ID, no first name, the city edited.
        jose_address().set(Field::FirstName, "").set(Field::City, "Salem"),
    ];
    let r = run(&crm, &sheet(&rows), &[]);
    assert_eq!(r.validated.error_count(), 0, "{:#?}", r.validated.issues);
    assert_eq!(
        issue_codes(&r.validated, 2),
        vec![
            (IssueCode::EmptyKept, Severity::Warning, Some("C2".into())),
            (IssueCode::EmptyKept, Severity::Warning, Some("D2".into())),
        ]
    );
    assert_eq!(
        issue_codes(&r.validated, 3),
        vec![(IssueCode::EmptyKept, Severity::Warning, Some("D3".into()))]
    );
    assert_eq!(
        issue_codes(&r.validated, 4),
        vec![(IssueCode::EmptyKept, Severity::Warning, Some("C4".into()))]
    );
    let message = &r.validated.issues.iter().find(|i| i.row == 3).unwrap().message;
    assert_eq!(message, "Last Name is empty — the CRM's value is kept");

    assert_eq!(
        r.matches.rows,
        vec![
            matched(MatchTier::ClientReference, 5, None),
            matched(MatchTier::ClientReference, 4, None),
            matched(MatchTier::PublicId, 1, Some(1)),
        ]
    );
    let actions: Vec<&RowAction> = r.plan.rows.iter().map(|p| &p.action).collect();
    assert_eq!(actions, [&RowAction::Add, &RowAction::Add, &RowAction::Update]);
    assert_eq!(r.plan.rows[2].changes, vec![change("City", "Springfield", "Salem")]);
    for p in &r.plan.rows {
        assert!(
            p.notes.iter().all(|n| !n.contains("differs")),
            "an empty name is not a different name: {:?}",
            p.notes
        );
    }
    apply_plan(&mut crm, &r.plan);
    // The CRM keeps every name.
    for id in [1, 4, 5] {
        assert_eq!(
            (&crm.entries[&id].first_name, &crm.entries[&id].last_name),
            (&before.entries[&id].first_name, &before.entries[&id].last_name)
        );
    }
    assert!(crm.details.values().any(|d| d.entry_id == 5 && d.fields.email == "ann@example.org"));
    assert_eq!(detail(&crm, 1).fields.city, "Salem");
}

#[test]
fn a_row_with_no_name_and_no_identifier_is_an_error_naming_what_it_needs() {
    let crm = crm();
    // Only a case and insured: tier 3 needs the names, nothing else identifies the person.
    let row = Row::person("CASE-001", "INS-2", "", "Smith", "", "").phone("Home", "+1 617 555 0111");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(
        issue_codes(&r.validated, 2),
        vec![(IssueCode::NeededToIdentify, Severity::Error, Some("C2".into()))]
    );
    let message = &r.validated.issues[0].message;
    assert!(message.contains("Public ID, Client Reference or SSN"), "{message}");
    assert_eq!(r.matches.rows, vec![RowMatch::Blocked]);
    assert_eq!(r.plan.rows[0].action, RowAction::Error);
    assert!(r.plan.changes.is_empty());
    // A detail with nothing else at all is an error too.
    let bare = Row::new().email("Home", "who@example.org");
    let r = run(&crm, &sheet(&[bare]), &[]);
    let codes: Vec<IssueCode> = r.validated.issues.iter().map(|i| i.code).collect();
    assert_eq!(codes, [IssueCode::NeededToIdentify, IssueCode::NeededToIdentify]);
    assert!(r.validated.rows[0].blocked());
}

#[test]
fn an_unmatched_person_without_names_cannot_be_created_but_can_be_given_an_existing_entry() {
    let crm = crm();
    // A Client Reference the CRM does not know, no names: nothing matches, nothing can be
    // created, nothing can be ranked.
    let row = Row::person("", "", "", "", "CR-NEW-9", "").phone("Home", "+1 617 555 0190");
    let s = sheet(&[row]);
    let r = run(&crm, &s, &[]);
    assert_eq!(r.validated.error_count(), 0, "the Client Reference makes the names optional here");
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
    let g = &r.matches.groups[0];
    assert_eq!(g.kind, GroupKind::Unresolved);
    assert!(!g.can_create);
    assert!(
        !g.allows(GroupChoice::CreateNew)
            && g.allows(GroupChoice::Existing(4))
            && g.allows(GroupChoice::Skip)
    );
    assert!(g.candidates.is_empty(), "ranking needs names");
    assert_eq!(g.default_choice(), Some(GroupChoice::Skip));
    assert_eq!(r.plan.rows[0].action, RowAction::Skip("not matched and no names to create an entry".into()));
    assert!(r.plan.changes.is_empty());
    // "Create new" anyway: the row is an error, with an issue on its first name cell.
    let created = run(&crm, &s, &[Some(GroupChoice::CreateNew)]);
    assert_eq!(created.plan.rows[0].action, RowAction::Error);
    assert_eq!(created.plan.counts.errors, 1);
    assert!(created.plan.changes.is_empty());
    let issue = &created.plan.issues[0];
    assert_eq!((issue.code, issue.cell.as_deref()), (IssueCode::NeededToCreate, Some("C2")));
    assert!(
        created.plan.rows[0].errors[0].starts_with("C2: First Name is empty"),
        "{:?}",
        created.plan.rows[0].errors
    );
    // An existing entry picked by the operator: the phone goes there; Peter keeps CR-004.
    let peter = run(&crm, &s, &[Some(GroupChoice::Existing(4))]);
    assert_eq!(peter.plan.rows[0].action, RowAction::Add);
    assert_eq!(peter.plan.rows[0].entry(), Some(4));
    assert!(put_entries(&peter.plan).is_empty());
}

#[test]
fn a_person_whose_other_row_gives_the_names_is_created_with_them() {
    let crm = crm();
    let rows = [
        Row::person("", "", "", "", "CR-NEW-8", "").phone("Home", "+1 617 555 0191"),
        Row::person("", "", "Lina", "Okafor", "CR-NEW-8", "")
            .dob("1991-02-03")
            .email("Home", "lina@example.org"),
    ];
    let r = run(&crm, &sheet(&rows), &[]);
    assert_eq!(r.matches.groups.len(), 1);
    let g = &r.matches.groups[0];
    assert!(g.can_create);
    assert_eq!(g.display_name(), "Lina Okafor");
    assert_eq!(r.plan.counts.created, 1);
    let e = put_entries(&r.plan)[0];
    assert_eq!(
        (e.first_name.as_str(), e.last_name.as_str(), e.date_of_birth),
        ("Lina", "Okafor", Date::new(1991, 2, 3))
    );
    assert_eq!(put_details(&r.plan).len(), 2);
    assert_eq!(r.plan.rows[0].insured().unwrap().entry_label, "CR-NEW-8 · Lina Okafor");
}

#[test]
fn an_address_without_its_first_line_is_added_as_given_with_a_warning() {
    let mut crm = crm();
    let row = Row::person("", "", "Mary", "Johnson", "CR-003", "").address("Home", "", "Lowell", "01852");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(
        issue_codes(&r.validated, 2),
        vec![(IssueCode::AddressIncomplete, Severity::Warning, Some("K2".into()))]
    );
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
    apply_plan(&mut crm, &r.plan);
    let added = crm.details.values().find(|d| d.entry_id == 3 && d.fields.city == "Lowell").unwrap();
    assert_eq!((added.fields.address_line1.as_str(), added.fields.postcode.as_str()), ("", "01852"));
}
