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
    assert_eq!(entries[0].ssn.as_deref(), Some("456-78-9012"));
    let changes = &r.plan.rows[0].changes;
    assert!(changes.contains(&change("Client Reference", "", "CR-JS")), "{changes:?}");
    assert!(
        changes.contains(&change("SSN", "", "XXX-XX-9012")),
        "the SSN is masked in the plan: {changes:?}"
    );
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
}

#[test]
fn an_entry_with_a_different_client_reference_is_never_overwritten() {
    let crm = crm();
    // Tier 3 finds Mary; her Client Reference is CR-003, the file says CR-999.
    let row =
        Row::person("CASE-002", "INS-3", "Mary", "Johnson", "CR-999", "").phone("Home", "+1 617 555 0122");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 3, None)]);
    match &r.plan.rows[0].action {
        RowAction::Skip(reason) => {
            assert!(reason.contains("CR-999") && reason.contains("CR-003"), "{reason}");
        }
        other => panic!("expected a skip, got {other:?}"),
    }
    assert_eq!(r.plan.counts.skipped, 1);
    assert!(r.plan.changes.is_empty());
}

#[test]
fn an_entry_with_a_different_ssn_is_never_overwritten() {
    let crm = crm();
    let row = Row::person("CASE-002", "INS-3", "Mary", "Johnson", "", "456-78-9012")
        .phone("Home", "+1 617 555 0122");
    let r = run(&crm, &sheet(&[row]), &[]);
    // SSN unknown → tier 2 does not decide → tier 3 finds Mary, whose SSN differs.
    assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 3, None)]);
    assert!(
        matches!(&r.plan.rows[0].action, RowAction::Skip(reason) if reason.contains("SSN")),
        "{:?}",
        r.plan.rows[0]
    );
    assert!(r.plan.changes.is_empty());
}
