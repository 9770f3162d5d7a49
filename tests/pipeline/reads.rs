//! The plan's reads: the keys of every existing record the planner consulted to decide a row,
//! plus every key it puts — what a commit will check has not moved since the plan was made.

use super::*;
use std::collections::BTreeSet;

fn keys(list: &[(EntityKind, &str)]) -> BTreeSet<RecordKey> {
    list.iter().map(|(kind, id)| RecordKey { kind: *kind, id: id.to_string() }).collect()
}

const COUNTERS: (EntityKind, &str) = (EntityKind::Counters, "counters");

#[test]
fn a_tier_1_update_reads_the_detail_its_entry_and_the_insured_on_the_rows_case() {
    let crm = crm();
    let r = run(&crm, &sheet(&[jose_address().set(Field::City, "Salem")]), &[]);
    assert_eq!(r.plan.rows[0].action, RowAction::Update);
    assert_eq!(
        r.plan.reads,
        keys(&[
            (EntityKind::Entry, "1"),
            (EntityKind::Detail, "CD-0000001"),
            (EntityKind::Insured, "1"),
            COUNTERS,
        ])
    );
}

#[test]
fn an_unchanged_row_still_reads_what_decided_it_and_a_plan_that_puts_nothing_reads_no_counters() {
    let crm = crm();
    let r = run(&crm, &sheet(&[jose_address()]), &[]);
    assert!(r.plan.changes.is_empty());
    assert_eq!(
        r.plan.reads,
        keys(&[(EntityKind::Entry, "1"), (EntityKind::Detail, "CD-0000001"), (EntityKind::Insured, "1")])
    );
    // A detail found "already present" is read too.
    let row = Row::person("", "", "Mary", "Johnson", "CR-003", "").email("Work", "mary@example.com");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.plan.rows[0].action, RowAction::Unchanged);
    assert_eq!(r.plan.reads, keys(&[(EntityKind::Entry, "3"), (EntityKind::Detail, "CD-0000005")]));
}

#[test]
fn a_created_entry_reads_the_keys_it_puts_and_the_insured_it_links() {
    let crm = crm();
    let row =
        Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW", "").phone("Mobile", "+1 978 555 0123");
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.plan.counts.created, 1);
    assert_eq!(
        r.plan.reads,
        keys(&[
            (EntityKind::Entry, "8"),
            (EntityKind::Detail, "CD-0000006"),
            (EntityKind::Insured, "4"),
            COUNTERS,
        ])
    );
    let puts: BTreeSet<RecordKey> = r.plan.changes.puts.iter().map(Record::key).collect();
    assert!(puts.is_subset(&r.plan.reads), "every put is read");
}

#[test]
fn a_settled_conflict_reads_both_entries_it_was_between() {
    let crm = crm();
    // CR-001 is José's (1), SSN 234-56-7890 is Mary's (3).
    let row =
        Row::person("", "", "José", "Álvarez", "CR-001", "234-56-7890").phone("Work", "+1 617 555 0155");
    let r = run(&crm, &sheet(&[row]), &[Some(GroupChoice::Existing(1))]);
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
    assert_eq!(
        r.plan.reads,
        keys(&[
            (EntityKind::Entry, "1"),
            (EntityKind::Entry, "3"),
            (EntityKind::Detail, "CD-0000006"),
            COUNTERS
        ])
    );
}

#[test]
fn a_conflict_over_an_identifier_of_another_entry_reads_both_entries_and_errors_read_nothing() {
    let crm = crm();
    // Tier 1 finds John's address (2, no Client Reference); the file gives Mary's CR-003: a
    // conflict between John and Mary, pending.
    let skipped = Row::person("", "", "John", "Smith", "CR-003", "")
        .address("Home", "5 Oak Ave", "Boston", "02110")
        .primary("Yes")
        .public_id("CD-0000003");
    let blocked = jose_address().set(Field::Ssn, "000-00-0000");
    let r = run(&crm, &sheet(&[skipped.clone(), blocked.clone()]), &[]);
    assert!(
        matches!(&r.matches.groups[0].kind, GroupKind::Conflict { entries, .. } if entries == &vec![2, 3]),
        "{:?}",
        r.matches.groups[0].kind
    );
    assert!(matches!(&r.plan.rows[0].action, RowAction::Skip(reason) if reason.contains("conflict")));
    assert!(r.plan.rows[0].notes.iter().any(|n| n.contains("CR-003")), "{:?}", r.plan.rows[0].notes);
    assert_eq!(r.plan.rows[1].action, RowAction::Error);
    assert!(!r.plan.rows[1].errors.is_empty(), "an error row says why");
    assert_eq!(r.plan.reads, keys(&[(EntityKind::Entry, "2"), (EntityKind::Entry, "3")]));
    // Settled as John: his address is read and (unchanged) kept; Mary's entry is read too,
    // since her Client Reference is why it is not copied.
    let r = run(&crm, &sheet(&[skipped, blocked]), &[Some(GroupChoice::Existing(2))]);
    assert_eq!(r.plan.rows[0].action, RowAction::Unchanged, "{:?}", r.plan.rows[0]);
    assert!(r.plan.rows[0].notes.iter().any(|n| n.contains("CR-003") && n.contains("not copied")));
    assert_eq!(r.plan.rows[1].action, RowAction::Error);
    assert!(!r.plan.rows[1].errors.is_empty(), "an error row says why");
    assert_eq!(
        r.plan.reads,
        keys(&[(EntityKind::Entry, "2"), (EntityKind::Entry, "3"), (EntityKind::Detail, "CD-0000003")])
    );
}
