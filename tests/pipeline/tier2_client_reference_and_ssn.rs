//! Matching tier 2: Client Reference and/or SSN, and their conflicts.

use super::*;

#[test]
fn client_reference_or_ssn_alone_or_both_agreeing_match_the_entry() {
    // (Client Reference, SSN, expected entry)
    let cases: &[(&str, &str, EntryId)] = &[
        ("CR-003", "", 3),
        ("  cr-003 ", "", 3),
        ("", "345-67-8901", 5),
        ("", "345678901", 5),
        ("", "345 67 8901", 5),
        ("CR-001", "123-45-6789", 1),
        ("CR-004", "", 4),
    ];
    let crm = crm();
    for &(cref, ssn, entry) in cases {
        // Names deliberately differ from the entry: tier 2 does not look at names.
        let row = Row::person("", "", "Someone", "Else", cref, ssn).email("Home", "x@example.org");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(
            r.matches.rows,
            vec![matched(MatchTier::ClientReference, entry, None)],
            "{cref:?} {ssn:?}"
        );
        assert_eq!(r.plan.rows[0].action, RowAction::Add, "{cref:?} {ssn:?}");
        assert_eq!(r.plan.rows[0].entry(), Some(entry));
        assert_eq!(r.matches.open_groups().count(), 0);
        assert_eq!(r.matches.groups.len(), 1, "the person is listed, decided by tier 2");
        assert_eq!(r.matches.groups[0].matched(), Some((MatchTier::ClientReference, entry)));
    }
}

#[test]
fn tier_2_wins_over_tier_3() {
    // The row sits on José's insured but carries Mary's Client Reference.
    let crm = crm();
    let row =
        Row::person("CASE-001", "INS-1", "José", "Álvarez", "CR-003", "").email("Home", "x@example.org");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::ClientReference, 3, None)]);
}

fn conflict_row() -> Row {
    // CR-001 is José's, SSN 234-56-7890 is Mary's.
    Row::person("", "", "José", "Álvarez", "CR-001", "234-56-7890").phone("Work", "+1 617 555 0155")
}

#[test]
fn client_reference_and_ssn_of_two_entries_form_a_conflict_pending_until_chosen() {
    let crm = crm();
    let r = run(&crm, &sheet(&[conflict_row(), conflict_row().phone("Home", "+1 617 555 0156")]), &[]);
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0), RowMatch::Group(0)]);
    assert_eq!(r.matches.groups.len(), 1);
    let g = &r.matches.groups[0];
    match &g.kind {
        GroupKind::Conflict { entries, reason } => {
            assert_eq!(entries, &vec![1, 3]);
            assert!(reason.contains("CR-001") && reason.contains("XXX-XX-7890"), "{reason}");
            assert!(!reason.contains("234-56"), "the SSN is masked in the reason: {reason}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(g.default_choice(), None, "a conflict is never guessed");
    let candidate_entries: Vec<EntryId> = g.candidates.iter().map(|c| c.entry).collect();
    assert_eq!(candidate_entries, vec![1, 3]);
    assert_eq!(r.plan.pending_conflicts, 1);
    assert!(r.plan.rows.iter().all(|p| matches!(p.action, RowAction::Skip(_))));
    assert!(r.plan.changes.is_empty());
    assert_eq!(apply(&crm, &r.plan, &ctx()), Err(ApplyRefusal::PendingConflicts(1)));
}

#[test]
fn a_conflict_resolved_to_an_existing_entry_applies_there_without_moving_the_other_identifier() {
    let crm = crm();
    let s = sheet(&[conflict_row()]);
    let r = run(&crm, &s, &[Some(GroupChoice::Existing(1))]);
    assert_eq!(r.plan.pending_conflicts, 0);
    let row = &r.plan.rows[0];
    assert_eq!(row.action, RowAction::Add, "{:?}", row);
    assert_eq!(row.entry(), Some(1));
    assert_eq!(row.tier(), Some(MatchTier::OperatorChoice));
    // José keeps his SSN; Mary keeps hers.
    assert!(put_entries(&r.plan).is_empty());
    let details = put_details(&r.plan);
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].entry_id, 1);
    let mut after = crm.clone();
    apply_plan(&mut after, &r.plan);
    assert_eq!(after.entries, crm.entries);
    assert_eq!(after.details.values().filter(|d| d.entry_id == 1).count(), 3);

    // Choosing the SSN's entry instead puts the detail on Mary.
    let r = run(&crm, &s, &[Some(GroupChoice::Existing(3))]);
    assert_eq!(r.plan.rows[0].action, RowAction::Add, "{:?}", r.plan.rows[0]);
    assert_eq!(put_details(&r.plan)[0].entry_id, 3);
    assert!(put_entries(&r.plan).is_empty(), "Mary's Client Reference is not replaced");
}

#[test]
fn a_conflict_resolved_to_a_new_entry_creates_it_without_the_identifiers_of_the_other_two() {
    let mut crm = crm();
    let r = run(&crm, &sheet(&[conflict_row()]), &[Some(GroupChoice::CreateNew)]);
    assert_eq!(r.plan.pending_conflicts, 0);
    assert_eq!(r.plan.rows[0].label(), "Created");
    let created = put_entries(&r.plan);
    assert_eq!(created.len(), 1);
    assert_eq!(
        (created[0].client_reference.as_deref(), created[0].ssn.as_ref().map(|s| s.expose_full())),
        (None, None)
    );
    assert!(r.plan.rows[0].notes.iter().any(|n| n.contains("CR-001")), "{:?}", r.plan.rows[0].notes);
    // The batch keeps Client References and SSNs unique.
    apply_plan(&mut crm, &r.plan);
    assert_eq!(crm.entries[&1].client_reference.as_deref(), Some("CR-001"));
    assert_eq!(crm.entries[&3].ssn.as_ref().map(|s| s.expose_full()), Some("234-56-7890"));
}

#[test]
fn a_conflict_resolved_to_skip_changes_nothing_and_can_be_applied() {
    let crm = crm();
    let r = run(
        &crm,
        &sheet(&[conflict_row(), jose_address().set(Field::City, "Salem")]),
        &[Some(GroupChoice::Skip)],
    );
    assert_eq!(r.plan.pending_conflicts, 0);
    assert_eq!(r.plan.rows[0].action, RowAction::Skip("skipped by the operator".into()));
    assert_eq!(r.plan.rows[1].action, RowAction::Update);
    assert_eq!(r.plan.counts.skipped, 1);
    assert!(apply(&crm, &r.plan, &ctx()).is_ok());
}
