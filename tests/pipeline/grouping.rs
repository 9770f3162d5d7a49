//! Grouping unresolved rows into one detected person each.

use super::*;

#[test]
fn rows_of_one_person_form_one_group_and_different_people_different_groups() {
    let crm = crm();
    let rows = [
        // Same new Client Reference → one person (names may be spelt differently).
        Row::person("", "", "Liam", "Ortiz", "CR-NEW-1", "").phone("Home", "+1 617 555 0101"),
        Row::person("", "", "Liam", "Ortiz", "cr-new-1", "").email("Home", "liam@example.com"),
        // Another new Client Reference → another person.
        Row::person("", "", "Liam", "Ortiz", "CR-NEW-2", "").email("Home", "liam2@example.com"),
        // Same case + insured + name (folded) → one person.
        Row::person("CASE-002", "INS-4", "Nora", "Quinn", "", "").phone("Home", "+1 617 555 0102"),
        Row::person("case-002", "INS-4", " NORA ", "quinn", "", "").email("Home", "nora@example.com"),
        // Same insured, a different name → a different person.
        Row::person("CASE-002", "INS-4", "Nina", "Quinn", "", "").email("Home", "nina@example.com"),
        // A new SSN on its own → one person for both rows.
        Row::person("", "", "Omar", "Haddad", "", "456-78-9012").email("Home", "omar@example.com"),
        Row::person("", "", "Omar", "Haddad", "", "456789012").phone("Home", "+1 617 555 0103"),
    ];
    let r = run(&crm, &sheet(&rows), &[]);
    assert_eq!(
        r.matches.rows,
        [0, 0, 1, 2, 2, 3, 4, 4].iter().map(|&g| RowMatch::Group(g)).collect::<Vec<_>>()
    );
    let groups = &r.matches.groups;
    assert_eq!(groups.len(), 5);
    assert_eq!(groups[0].rows, vec![0, 1]);
    assert_eq!(groups[0].client_reference, "CR-NEW-1");
    assert_eq!(groups[2].rows, vec![3, 4]);
    assert_eq!(
        (groups[2].case_reference.as_str(), groups[2].insured_reference.as_str()),
        ("CASE-002", "INS-4")
    );
    assert_eq!(groups[3].display_name(), "Nina Quinn");
    assert_eq!(groups[4].rows, vec![6, 7]);
    assert!(groups.iter().all(|g| g.kind == GroupKind::Unresolved));
    assert!(groups.iter().enumerate().all(|(i, g)| g.id == i));

    // Default choices: one created entry per group, five in all.
    let plan = &r.plan;
    assert_eq!(plan.counts.created, 5);
    assert_eq!(put_entries(plan).len(), 5);
    let entry_of = |i: usize| plan.rows[i].entry().unwrap();
    assert_eq!(entry_of(0), entry_of(1));
    assert_eq!(entry_of(3), entry_of(4));
    assert_eq!(entry_of(6), entry_of(7));
    let distinct: std::collections::BTreeSet<EntryId> =
        [0, 2, 3, 5, 6].iter().map(|&i| entry_of(i)).collect();
    assert_eq!(distinct.len(), 5);
}

#[test]
fn ssn_person_keys_are_keyed_by_the_crm_s_secret() {
    // Two persons the CRM does not know, given only by SSN.
    let rows = [
        Row::person("", "", "Nora", "Quinn", "", "456-78-9012").phone("Home", "+1 617 555 0144"),
        Row::person("", "", "Olga", "Quist", "", "567-89-0123").phone("Home", "+1 617 555 0145"),
    ];
    let s = sheet(&rows);
    let keys = |crm: &Crm| -> Vec<String> {
        run(crm, &s, &[]).matches.groups.iter().map(|g| g.key.clone()).collect()
    };
    let crm = crm();
    let mine = keys(&crm);
    assert_eq!(mine.len(), 2);
    assert!(
        mine.iter().all(|k| k.starts_with("unmatched/ssn:") && k.len() == "unmatched/ssn:".len() + 16),
        "{mine:?}"
    );
    assert_eq!(mine, keys(&crm), "stable within one CRM");
    let mut other = crm.clone();
    other.counters.secret = Some(CrmSecret::from_bytes([42; 32]));
    let theirs = keys(&other);
    assert!(mine.iter().all(|k| !theirs.contains(k)), "another CRM's keys differ: {mine:?} {theirs:?}");
    // Neither the SSN nor an unkeyed digest of it.
    let plain: String = roundtrip::core::digest::sha256_hex(b"roundtrip-ssn:456789012");
    assert!(mine
        .iter()
        .all(|k| !k.contains("456-78") && !k.contains("456789012") && !k.contains(&plain[..16])));
}
