//! Identity fields of existing entries: filled when missing, never overwritten.

use super::*;

#[test]
fn an_existing_entry_without_client_reference_or_ssn_gets_the_files_values() {
    let crm = crm();
    let row = Row::person("CASE-001", "INS-2", "John", "Smith", "CR-JS", "456-78-9012")
        .phone("Home", "617-555-0111");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 2, None)]);
    let entries = put_entries(&r.plan);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].client_reference.as_deref(), Some("CR-JS"));
    assert_eq!(entries[0].ssn.as_ref().map(|s| s.expose_full()), Some("456-78-9012"));
    let changes = &r.plan.rows[0].changes;
    assert!(changes.contains(&change("Client Reference", "", "CR-JS")), "{changes:?}");
    assert!(
        changes.contains(&change("SSN", "", "XXX-XX-9012")),
        "the SSN is masked in the plan: {changes:?}"
    );
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
}

#[test]
fn a_tier_3_entry_with_a_different_client_reference_is_a_conflict_offering_it_and_create_new() {
    let crm = crm();
    // Tier 3 finds Mary; her Client Reference is CR-003, the file says CR-999 (on nobody).
    let row =
        Row::person("CASE-002", "INS-3", "Mary", "Johnson", "CR-999", "").phone("Home", "+1 617 555 0122");
    let s = sheet(&[row]);
    let r = run(&crm, &s, &[]);
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
    let g = &r.matches.groups[0];
    match &g.kind {
        GroupKind::Conflict { entries, reason } => {
            assert_eq!(entries, &vec![3]);
            assert!(
                reason.contains("INS-3") && reason.contains("CR-999") && reason.contains("CR-003"),
                "{reason}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(g.default_choice(), None, "never guessed");
    assert!(g.can_create && g.allows(GroupChoice::CreateNew), "Create new is offered");
    assert_eq!(g.candidates.iter().map(|c| c.entry).collect::<Vec<_>>(), vec![3]);
    // Pending: nothing changes, apply is refused.
    assert_eq!(r.plan.pending_conflicts, 1);
    assert!(matches!(&r.plan.rows[0].action, RowAction::Skip(reason) if reason.contains("conflict")));
    assert!(r.plan.changes.is_empty());

    // Settled as Mary: the phone is added to her, her Client Reference is never overwritten.
    let mary = run(&crm, &s, &[Some(GroupChoice::Existing(3))]);
    assert_eq!(mary.plan.pending_conflicts, 0);
    assert_eq!(mary.plan.rows[0].action, RowAction::Add);
    assert_eq!(mary.plan.rows[0].entry(), Some(3));
    assert!(put_entries(&mary.plan).is_empty(), "Mary keeps CR-003");
    assert!(mary.plan.rows[0].notes.iter().any(|n| n.contains("CR-999") && n.contains("not copied")));
    assert!(put_insureds(&mary.plan).is_empty(), "INS-3 stays linked to Mary");

    // Settled as a new person: a new entry keeps CR-999 and the insured is linked to it.
    let mut after = crm.clone();
    let new = run(&crm, &s, &[Some(GroupChoice::CreateNew)]);
    assert_eq!(new.plan.counts.created, 1);
    let created = put_entries(&new.plan);
    assert_eq!(created[0].client_reference.as_deref(), Some("CR-999"));
    assert_eq!(put_details(&new.plan)[0].entry_id, created[0].id);
    assert_eq!(new.plan.relinks()[0].old_entry, Some(3));
    apply_plan(&mut after, &new.plan);
    assert_eq!(after.entries[&3], crm.entries[&3]);
}

#[test]
fn a_tier_3_entry_with_a_different_ssn_is_a_conflict_and_never_overwritten() {
    let crm = crm();
    let row = Row::person("CASE-002", "INS-3", "Mary", "Johnson", "", "456-78-9012")
        .phone("Home", "+1 617 555 0122");
    let s = sheet(&[row]);
    let r = run(&crm, &s, &[]);
    // SSN unknown → tier 2 does not decide → tier 3 finds Mary, whose SSN differs.
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
    match &r.matches.groups[0].kind {
        GroupKind::Conflict { entries, reason } => {
            assert_eq!(entries, &vec![3]);
            assert!(reason.contains("XXX-XX-9012") && reason.contains("XXX-XX-7890"), "{reason}");
            assert!(!reason.contains("456-78"), "SSNs are masked: {reason}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(r.plan.changes.is_empty());
    let mary = run(&crm, &s, &[Some(GroupChoice::Existing(3))]);
    assert_eq!(mary.plan.rows[0].action, RowAction::Add);
    assert!(put_entries(&mary.plan).is_empty(), "Mary keeps her SSN");
    let new = run(&crm, &s, &[Some(GroupChoice::CreateNew)]);
    assert_eq!(put_entries(&new.plan)[0].ssn.as_ref().map(|s| s.expose_full()), Some("456-78-9012"));
}
