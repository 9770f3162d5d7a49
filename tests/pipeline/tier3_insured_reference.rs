//! Matching tier 3: the Insured Reference on the row's case, names agreeing.

use super::*;

#[test]
fn names_are_accepted_whatever_their_accents_case_and_whitespace() {
    let variants: &[(&str, &str, &str, &str)] = &[
        ("CASE-001", "INS-1", "  jose  ", "  ALVAREZ"),
        ("CASE-001", "INS-1", "JOSÉ", "álvarez"),
        ("case-001", "ins-1", "Jose", "Alvarez"),
        ("CASE-001", "INS-1", "José", "Álvarez"),
    ];
    let crm = crm();
    for &(case, ins, first, last) in variants {
        let row = Row::person(case, ins, first, last, "", "").phone("Home", "+1 617 555 0188");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 1, None)], "{first:?} {last:?}");
        assert_eq!(r.plan.rows[0].action, RowAction::Add);
        assert!(r.plan.rows[0].notes.iter().all(|n| !n.contains("differs")), "{:?}", r.plan.rows[0].notes);
    }
}

#[test]
fn whitespace_inside_a_name_is_folded_too() {
    let mut crm = crm();
    crm.entries.get_mut(&1).unwrap().first_name = "José María".into();
    let row =
        Row::person("CASE-001", "INS-1", "jose   MARIA", "alvarez", "", "").phone("Home", "+1 617 555 0188");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 1, None)]);
}

#[test]
fn a_name_mismatch_is_refused_and_the_row_is_unresolved() {
    let crm = crm();
    for (first, last) in [("Josh", "Alvarez"), ("José", "Alvares"), ("Álvarez", "José")] {
        let row = Row::person("CASE-001", "INS-1", first, last, "", "").phone("Home", "+1 617 555 0188");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.rows, vec![RowMatch::Group(0)], "{first} {last}");
        assert_eq!(r.matches.groups[0].kind, GroupKind::Unresolved);
        assert_eq!(r.matches.groups[0].default_choice(), Some(GroupChoice::CreateNew));
    }
}

#[test]
fn an_unlinked_insured_row_without_detail_or_identifier_has_nothing_to_import() {
    let crm = crm();
    let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "", "");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![RowMatch::NothingToImport]);
    assert!(r.matches.groups.is_empty());
    assert_eq!(r.plan.change_count(), 0);
    assert_eq!(r.plan.counts.unchanged, 1);
    // With a Client Reference the same row is a person to create.
    let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW-1", "");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
    assert_eq!(r.plan.counts.created, 1);
}

#[test]
fn an_unlinked_insured_leaves_the_row_unresolved() {
    let crm = crm();
    let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "", "").phone("Home", "+1 617 555 0188");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
}
