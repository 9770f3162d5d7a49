//! Creating entries for detected persons and linking the insureds on their cases.

use super::*;

#[test]
fn the_default_choice_creates_one_entry_per_group_keeping_the_client_reference_linked_to_the_insured() {
    let crm = crm();
    let rows =
        [
            Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW", "456-78-9012")
                .dob("1985-07-04")
                .address("Home", "9 Pine Rd", "Salem", "01970"),
            Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW", "")
                .phone("Mobile", "+1 978 555 0123"),
        ];
    let r = run(&crm, &sheet(&rows), &[]);
    assert_eq!(r.matches.groups.len(), 1);
    let plan = &r.plan;
    assert_eq!(plan.counts.created, 1);
    assert_eq!(plan.counts.added, 2);
    for row in &plan.rows[..2] {
        assert_eq!((row.label(), row.detail()), ("Created", "new CRM entry with the row's detail"));
    }
    let entries = put_entries(plan);
    assert_eq!(entries.len(), 1);
    let e = entries[0];
    assert_eq!(e.id, 8, "the next entry id");
    assert_eq!(e.client_reference.as_deref(), Some("CR-NEW"));
    assert_eq!(e.ssn.as_ref().map(|s| s.expose_full()), Some("456-78-9012"));
    assert_eq!((e.first_name.as_str(), e.last_name.as_str()), ("Nora", "Quinn"));
    assert_eq!(e.date_of_birth, Date::new(1985, 7, 4));
    let details = put_details(plan);
    assert_eq!(details.len(), 2);
    assert!(details.iter().all(|d| d.entry_id == 8));
    let insureds = put_insureds(plan);
    assert_eq!(insureds.len(), 1);
    assert_eq!((insureds[0].id, insureds[0].entry_id), (4, Some(8)));
    assert_eq!(plan.relinks().len(), 1);
    assert_eq!(plan.relinks()[0].old_entry, None);
    assert_eq!(plan.relinks()[0].new_entry, 8);
    assert_eq!(plan.counters.next_entry_id, 9);

    // Applied, the next import of the same file matches the new entry by its Client Reference.
    let mut after = crm.clone();
    apply_plan(&mut after, plan);
    let again = run(&after, &sheet(&rows), &[]);
    assert_eq!(again.matches.open_groups().count(), 0);
    assert!(again.matches.rows.iter().all(|m| *m == matched(MatchTier::ClientReference, 8, None)));
    assert_eq!(again.plan.change_count(), 0);
}

#[test]
fn creating_an_entry_for_an_insured_linked_elsewhere_shows_the_relink_old_to_new() {
    let crm = crm();
    // INS-2 is linked to John Smith; the file names someone else on it.
    let row = Row::person("CASE-001", "INS-2", "Jane", "Doe", "CR-JD", "").email("Home", "jane@example.com");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(
        (r.plan.rows[0].label(), r.plan.rows[0].detail()),
        ("Created", "new CRM entry with the row's detail")
    );
    assert_eq!(r.plan.relinks().len(), 1);
    let relinks = r.plan.relinks();
    let relink = relinks[0];
    assert_eq!(
        (
            relink.case_reference.as_str(),
            relink.insured_reference.as_str(),
            relink.old_entry,
            relink.new_entry
        ),
        ("CASE-001", "INS-2", Some(2), 8)
    );
    assert_eq!(put_insureds(&r.plan)[0].entry_id, Some(8));
    assert!(r.plan.rows[0]
        .changes
        .iter()
        .any(|ch| ch.field == "Insured INS-2 link" && ch.before.contains("John Smith")));
}

#[test]
fn a_row_matched_by_client_reference_links_an_unlinked_insured_but_never_steals_a_linked_one() {
    let crm = crm();
    // INS-4 is linked to nobody: Peter (CR-004) is linked to it.
    let to_unlinked =
        Row::person("CASE-002", "INS-4", "Peter", "Brown", "CR-004", "").phone("Home", "+1 617 555 0145");
    // INS-6 is Ann's: a tier-2 row for Peter on it does not move the link.
    let to_linked =
        Row::person("CASE-002", "INS-6", "Peter", "Brown", "CR-004", "").email("Home", "peter@example.com");
    let r = run(&crm, &sheet(&[to_unlinked, to_linked]), &[]);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::ClientReference, 4, None); 2]);
    let insureds = put_insureds(&r.plan);
    assert_eq!(insureds.len(), 1);
    assert_eq!((insureds[0].id, insureds[0].entry_id), (4, Some(4)));
    assert_eq!(r.plan.relinks().len(), 1);
    assert!(
        r.plan.rows[1].notes.iter().any(|n| n.contains("INS-6 stays linked")),
        "{:?}",
        r.plan.rows[1].notes
    );
    assert_eq!(r.plan.rows[1].action, RowAction::Add);
}

#[test]
fn choosing_an_existing_entry_for_a_group_links_the_insured_and_adds_the_details_there() {
    let crm = crm();
    let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "", "").phone("Home", "+1 617 555 0144");
    let r = run(&crm, &sheet(&[row]), &[Some(GroupChoice::Existing(4))]);
    assert_eq!(r.plan.counts.created, 0);
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
    assert_eq!(r.plan.rows[0].entry(), Some(4));
    assert_eq!(put_insureds(&r.plan)[0].entry_id, Some(4));
    assert_eq!(r.plan.relinks()[0].old_entry, None);
}
