//! Matching tier 1: the Public ID of a contact detail.

use super::*;

#[test]
fn an_existing_public_id_matches_that_detail_and_updates_it_field_by_field() {
    let crm = crm();
    let r = run(
        &crm,
        &sheet(&[jose_address().set(Field::AddressLine1, "1 Main Street").set(Field::City, "Boston")]),
        &[],
    );
    assert_eq!(r.matches.rows, vec![matched(MatchTier::PublicId, 1, Some(1))]);
    let row = &r.plan.rows[0];
    assert_eq!(row.action, RowAction::Update);
    assert_eq!(row.tier(), Some(MatchTier::PublicId));
    assert_eq!(row.entry(), Some(1));
    assert_eq!(row.public_id(), Some("CD-0000001"));
    assert_eq!(
        row.changes,
        vec![change("Address Line 1", "1 Main St", "1 Main Street"), change("City", "Springfield", "Boston")]
    );
    assert_eq!((r.plan.counts.updated, r.plan.counts.added, r.plan.counts.created), (1, 0, 0));
    let details = put_details(&r.plan);
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].public_id, "CD-0000001");
    assert_eq!(details[0].entry_id, 1);
    assert_eq!(details[0].fields.address_line1, "1 Main Street");
    assert_eq!(details[0].fields.postcode, "02134");
    assert!(put_entries(&r.plan).is_empty(), "the entry itself does not change");
}

#[test]
fn a_public_id_is_found_whatever_its_case_and_surrounding_space() {
    let crm = crm();
    let r = run(&crm, &sheet(&[jose_address().public_id("  cd-0000001 ")]), &[]);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::PublicId, 1, Some(1))]);
    assert_eq!(r.plan.rows[0].action, RowAction::Unchanged);
    assert_eq!(r.plan.change_count(), 0);
}

#[test]
fn an_unchanged_row_with_its_public_id_plans_nothing() {
    let crm = crm();
    let r = run(&crm, &sheet(&[jose_address()]), &[]);
    assert_eq!(r.plan.rows[0].action, RowAction::Unchanged);
    assert!(r.plan.changes.is_empty());
}

#[test]
fn an_unknown_public_id_warns_and_the_row_becomes_a_new_detail_on_the_entry_tier_2_finds() {
    let crm = crm();
    let row = Row::person("", "", "Mary", "Johnson", "CR-003", "")
        .phone("Mobile", "+1 617 555 0177")
        .public_id("CD-9999999");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.notes.len(), 1);
    let note = &r.matches.notes[0];
    assert_eq!((note.code, note.severity, note.row), (IssueCode::PublicIdUnknown, Severity::Warning, 2));
    assert!(note.message.contains("CD-9999999"), "{}", note.message);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::ClientReference, 3, None)]);
    let planned = &r.plan.rows[0];
    assert_eq!(planned.action, RowAction::Add);
    assert_eq!(planned.entry(), Some(3));
    // A new, system-assigned Public ID: the file's unknown one is not adopted.
    assert_eq!(planned.public_id(), Some("CD-0000006"));
    let details = put_details(&r.plan);
    assert_eq!(details.len(), 1);
    assert_eq!((details[0].public_id.as_str(), details[0].entry_id), ("CD-0000006", 3));
    assert_eq!(details[0].fields.phone, "+1 617 555 0177");
    assert!(!crm.details.contains_key("CD-9999999"));
    assert_eq!(r.plan.counts.added, 1);
    assert_eq!(r.plan.counters.next_detail_number, 7);
}

#[test]
fn an_unknown_public_id_falls_through_to_tier_3_as_well() {
    let crm = crm();
    let row = Row::person("CASE-001", "INS-2", "John", "Smith", "", "")
        .phone("Home", "617-555-0111")
        .public_id("CD-0000999");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.notes[0].code, IssueCode::PublicIdUnknown);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 2, None)]);
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
    assert_eq!(r.plan.rows[0].entry(), Some(2));
}

#[test]
fn a_public_id_row_claiming_another_client_reference_is_a_conflict_never_a_rewrite() {
    // The detail CD-0000005 belongs to Mary (CR-003); a file claiming CR-999 for it must not
    // rewrite Mary's Client Reference: the operator settles who the row is.
    let crm = crm();
    let row = Row::person("", "", "Mary", "Johnson", "CR-999", "")
        .email("Work", "mary.j@example.com")
        .public_id("CD-0000005");
    let s = sheet(&[row]);
    let r = run(&crm, &s, &[]);
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
    match &r.matches.groups[0].kind {
        GroupKind::Conflict { entries, reason } => {
            assert_eq!(entries, &vec![3]);
            assert!(
                reason.contains("CD-0000005") && reason.contains("CR-999") && reason.contains("CR-003"),
                "{reason}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(r.plan.pending_conflicts, 1);
    assert!(r.plan.changes.is_empty());

    // Settled as Mary: her detail CD-0000005 is updated, her Client Reference kept.
    let mary = run(&crm, &s, &[Some(GroupChoice::Existing(3))]);
    assert_eq!(mary.plan.rows[0].action, RowAction::Update);
    assert_eq!(mary.plan.rows[0].public_id(), Some("CD-0000005"));
    assert_eq!(mary.plan.rows[0].changes, vec![change("Email", "mary@example.com", "mary.j@example.com")]);
    assert!(put_entries(&mary.plan).is_empty());

    // Settled as a new person: CD-0000005 stays Mary's, untouched; the new entry gets the
    // row's email as a new detail.
    let new = run(&crm, &s, &[Some(GroupChoice::CreateNew)]);
    let details = put_details(&new.plan);
    assert_eq!(details.len(), 1);
    assert_ne!(details[0].public_id, "CD-0000005");
    assert_eq!(details[0].fields.email, "mary.j@example.com");
    assert_eq!(put_entries(&new.plan)[0].client_reference.as_deref(), Some("CR-999"));
}
