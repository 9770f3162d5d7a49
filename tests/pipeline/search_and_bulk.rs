//! "Search the CRM…" for any entry, and bulk choices with a count of what they change.

use super::*;
use roundtrip::core::index::{search_entries, EntrySearchIndex, SearchMatch};
use roundtrip::core::insured::matching::{BulkAction, BulkPreview};

fn found(crm: &Crm, query: &str) -> Vec<(EntryId, SearchMatch)> {
    search_entries(crm, query, 50).hits.iter().map(|h| (h.entry, h.matched)).collect()
}

#[test]
fn search_finds_entries_by_name_client_reference_last_four_of_the_ssn_and_date_of_birth() {
    let crm = crm();
    // Names: accents and case aside, whole words before beginnings.
    assert_eq!(found(&crm, "jose"), vec![(1, SearchMatch::NameWord)]);
    assert_eq!(found(&crm, "ÁLVAREZ"), vec![(1, SearchMatch::NameWord)]);
    assert_eq!(found(&crm, "johnson"), vec![(3, SearchMatch::NameWord)]);
    assert_eq!(found(&crm, "mary john"), vec![(3, SearchMatch::NamePrefix), (7, SearchMatch::NamePrefix)]);
    assert_eq!(found(&crm, "arez"), vec![(1, SearchMatch::NameContains)]);
    // Client References, whole or part.
    assert_eq!(found(&crm, "cr-003"), vec![(3, SearchMatch::ClientReference)]);
    assert_eq!(found(&crm, "cr-00").len(), 5);
    // SSN: the last four, or all nine digits.
    assert_eq!(found(&crm, "7890"), vec![(3, SearchMatch::SsnLastFour)]);
    assert_eq!(found(&crm, "234-56-7890"), vec![(3, SearchMatch::Ssn)]);
    // Date of birth (ISO), alone or with a name.
    assert_eq!(found(&crm, "1975-03-02"), vec![(6, SearchMatch::DateOfBirth), (2, SearchMatch::DateOfBirth)]);
    assert_eq!(found(&crm, "smith 1975-03-02"), vec![(2, SearchMatch::NameWord)]);
    assert!(found(&crm, "zbigniew").is_empty());
}

#[test]
fn search_results_carry_a_label_with_an_identifier_and_mask_ssns() {
    let crm = crm();
    let hits = search_entries(&crm, "", 10).hits;
    assert_eq!(hits.len(), 7, "an empty query lists every entry");
    let labels: Vec<&str> = hits.iter().map(|h| h.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "CR-001 · José Álvarez",
            "Entry 2 · John Smith",
            "CR-003 · Mary Johnson",
            "CR-004 · Peter Brown",
            "SSN XXX-XX-8901 · Ann Lee",
            "CR-006 · Joan Smyth",
            "CR-007 · Mary Johnston",
        ]
    );
    let ann = &search_entries(&crm, "8901", 10).hits[0];
    assert_eq!((ann.entry, ann.ssn_masked.as_str(), ann.client_reference.as_str()), (5, "XXX-XX-8901", ""));
    let json = serde_json::to_string(&search_entries(&crm, "", 10)).unwrap();
    for e in crm.entries.values() {
        if let Some(ssn) = &e.ssn {
            let full = ssn.expose_full();
            assert!(!json.contains(full) && !json.contains(&full.replace('-', "")), "{json}");
        }
    }
}

#[test]
fn an_exact_identifier_ranks_before_a_part_and_the_limit_keeps_the_total() {
    let mut crm = crm();
    crm.put(Record::Entry(CrmEntry {
        id: 8,
        client_reference: Some("CR-0041".into()),
        ssn: None,
        first_name: "Crispin".into(),
        last_name: "Dale".into(),
        date_of_birth: None,
    }));
    assert_eq!(
        found(&crm, "CR-004"),
        vec![(4, SearchMatch::ClientReference), (8, SearchMatch::ClientReferencePart)]
    );
    let index = EntrySearchIndex::new(&crm);
    let one = index.search(&crm, "cr-00", 1);
    assert_eq!((one.total, one.hits.len()), (6, 1));
    let mary = index.search(&crm, "mary", 1);
    assert_eq!((mary.total, mary.hits[0].entry), (2, 3));
}

/// Rows for the bulk actions: two typo'd Johns (candidates), a stranger (none), a conflict,
/// a person without names, and Mary matched by tier 2.
fn bulk_rows() -> Vec<Row> {
    vec![
        Row::person("", "", "Jonh", "Smiht", "", "").phone("Home", "+1 617 555 0111"),
        Row::person("", "", "Jhon", "Smith", "", "").phone("Home", "+1 617 555 0112"),
        Row::person("", "", "Zbigniew", "Quarrington", "", "").phone("Home", "+1 617 555 0113"),
        Row::person("", "", "José", "Álvarez", "CR-001", "234-56-7890").phone("Work", "+1 617 555 0155"),
        Row::person("", "", "", "", "CR-NEW-9", "").phone("Home", "+1 617 555 0190"),
        Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Home", "+1 617 555 0114"),
    ]
}

/// Groups whose choice in force differs between two sets of choices.
fn changed(m: &Matches, before: &[Option<GroupChoice>], after: &[Option<GroupChoice>]) -> usize {
    (0..m.groups.len()).filter(|&g| m.choice(g, before) != m.choice(g, after)).count()
}

#[test]
fn accepting_every_top_candidate_above_a_score_changes_what_its_preview_counts() {
    let crm = crm();
    let s = sheet(&bulk_rows());
    let r = run(&crm, &s, &[]);
    let m = &r.matches;
    assert_eq!(m.groups.len(), 6);
    let g = |row: usize| m.group_of(row).unwrap();
    assert_eq!(m.groups[g(0)].candidates[0].entry, 2);
    assert_eq!(m.groups[g(1)].candidates[0].entry, 2);
    let low = m.groups[g(0)].candidates[0].score.min(m.groups[g(1)].candidates[0].score);

    let none = vec![None; m.groups.len()];
    let action = BulkAction::AcceptTopCandidates { min_score: low };
    let preview = m.bulk_preview(&none, action);
    assert_eq!(preview, BulkPreview { groups: 2, changes: 2, rows: 2 });
    assert_eq!(
        m.bulk_preview(&none, BulkAction::AcceptTopCandidates { min_score: 101 }),
        BulkPreview::default()
    );
    let mut choices = none.clone();
    assert_eq!(m.apply_bulk(&mut choices, action), preview);
    assert_eq!(changed(m, &none, &choices), preview.changes);
    let p = plan(&crm, &T, &r.validated, m, &choices);
    assert_eq!((p.rows[0].entry(), p.rows[1].entry()), (Some(2), Some(2)));
    assert_eq!(p.rows[0].action, RowAction::Add);

    // A group the operator already decided is left alone.
    let mut decided = none.clone();
    decided[g(1)] = Some(GroupChoice::Skip);
    assert_eq!(m.bulk_preview(&decided, action), BulkPreview { groups: 1, changes: 1, rows: 1 });
    m.apply_bulk(&mut decided, action);
    assert_eq!(decided[g(1)], Some(GroupChoice::Skip));
}

#[test]
fn create_new_for_the_remaining_groups_settles_conflicts_and_skips_what_cannot_be_created() {
    let crm = crm();
    let s = sheet(&bulk_rows());
    let r = run(&crm, &s, &[]);
    let m = &r.matches;
    let g = |row: usize| m.group_of(row).unwrap();
    let none = vec![None; m.groups.len()];
    assert_eq!(r.plan.pending_conflicts, 1);
    // The three unresolved persons with names (already "Create new" by default) and the
    // conflict are set; only the conflict changes outcome. The nameless person and Mary's
    // matched group are left alone.
    let preview = m.bulk_preview(&none, BulkAction::CreateNewForRemaining);
    assert_eq!(preview, BulkPreview { groups: 4, changes: 1, rows: 1 });
    let mut choices = none.clone();
    m.apply_bulk(&mut choices, BulkAction::CreateNewForRemaining);
    assert_eq!(changed(m, &none, &choices), preview.changes);
    assert_eq!(choices[g(3)], Some(GroupChoice::CreateNew));
    assert_eq!(choices[g(4)], None);
    assert_eq!(choices[g(5)], None);
    let p = plan(&crm, &T, &r.validated, m, &choices);
    assert_eq!(p.pending_conflicts, 0);
    assert_eq!(p.counts.created, 4, "three strangers and the conflict's new person");
    assert_eq!(p.rows[4].action, RowAction::Skip("not matched and no names to create an entry".into()));
    assert_eq!(p.rows[5].tier(), Some(MatchTier::ClientReference));
    // After accepting the top candidates, "create new" for the rest changes only the conflict.
    let mut both = none.clone();
    let low = BulkAction::AcceptTopCandidates { min_score: 0 };
    m.apply_bulk(&mut both, low);
    let rest = m.bulk_preview(&both, BulkAction::CreateNewForRemaining);
    assert_eq!(rest, BulkPreview { groups: 2, changes: 1, rows: 1 });
}
