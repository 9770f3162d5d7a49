//! Every detected person is listed and its choice may be changed: a tier's decision (1, 2 or
//! 3) overridden to another existing entry, to a new entry, or to "Skip".

use super::*;

/// The group of the first row of a run.
fn group_of_row(r: &Run, row: usize) -> usize {
    r.matches.group_of(row).expect("the row belongs to a group")
}

/// Choices with `choice` for the group of row 0 and nothing else.
fn choose(r: &Run, choice: GroupChoice) -> Vec<Option<GroupChoice>> {
    let mut choices = vec![None; r.matches.groups.len()];
    choices[group_of_row(r, 0)] = Some(choice);
    choices
}

#[test]
fn rows_a_tier_decided_form_matched_groups_showing_the_tier_and_entry() {
    let crm = crm();
    let rows = [
        jose_address(),
        Row::person("", "", "José", "Álvarez", "CR-001", "").phone("Work", "+1 617 555 0150"),
        Row::person("CASE-001", "INS-2", "John", "Smith", "", "").phone("Home", "+1 617 555 0111"),
    ];
    let r = run(&crm, &sheet(&rows), &[]);
    // José's two rows (tiers 1 and 2) are one person, shown with the strongest tier.
    assert_eq!(r.matches.groups.len(), 2);
    let jose = &r.matches.groups[0];
    assert_eq!(jose.rows, vec![0, 1]);
    assert_eq!(jose.matched(), Some((MatchTier::PublicId, 1)));
    assert!(!jose.is_open());
    assert_eq!(jose.default_choice(), Some(GroupChoice::Existing(1)));
    assert_eq!(jose.candidates.len(), 1);
    assert_eq!(jose.candidates[0].entry, 1);
    assert_eq!(jose.candidates[0].label, "CR-001 · José Álvarez");
    assert!(jose.candidates[0].reasons[0].contains("1 · Public ID"), "{:?}", jose.candidates[0].reasons);
    let john = &r.matches.groups[1];
    assert_eq!(john.matched(), Some((MatchTier::InsuredReference, 2)));
    assert_eq!(
        john.candidates[0].label, "Entry 2 · John Smith",
        "no Client Reference or SSN: the entry number"
    );
    assert_eq!(r.matches.group_of(2), Some(1));
    // Choosing the tier's own entry is the same as leaving the choice alone.
    let same = run(&crm, &sheet(&rows), &[Some(GroupChoice::Existing(1)), Some(GroupChoice::Existing(2))]);
    assert_eq!(same.plan, r.plan);
}

#[test]
fn overriding_a_public_id_match_to_another_entry_adds_the_detail_there_and_leaves_the_matched_detail_alone() {
    let mut crm = crm();
    let before = crm.clone();
    let s = sheet(&[jose_address().set(Field::City, "Salem")]);
    let first = run(&crm, &s, &[]);
    assert_eq!(first.matches.rows, vec![matched(MatchTier::PublicId, 1, Some(1))]);
    let r = run(&crm, &s, &choose(&first, GroupChoice::Existing(3)));
    let row = &r.plan.rows[0];
    assert_eq!(row.action, RowAction::Add, "{row:?}");
    assert_eq!(row.entry(), Some(3));
    assert_eq!(row.tier(), Some(MatchTier::OperatorChoice));
    assert_eq!(row.public_id(), Some("CD-0000006"), "a new detail, not CD-0000001");
    assert!(
        row.notes.iter().any(|n| n.contains("CD-0000001") && n.contains("stays as it is")),
        "{:?}",
        row.notes
    );
    // José's identifiers on the row are not copied onto Mary.
    assert!(row.notes.iter().any(|n| n.contains("CR-001") && n.contains("not copied")), "{:?}", row.notes);
    assert!(put_entries(&r.plan).is_empty());
    // The insured on the row's case is linked to the chosen entry.
    assert_eq!(r.plan.relinks().len(), 1);
    assert_eq!((r.plan.relinks()[0].old_entry, r.plan.relinks()[0].new_entry), (Some(1), 3));
    apply_plan(&mut crm, &r.plan);
    assert_eq!(detail(&crm, 1), detail(&before, 1), "the matched detail is untouched");
    let added = detail(&crm, 6);
    assert_eq!((added.entry_id, added.fields.city.as_str()), (3, "Salem"));
    assert_eq!(crm.entries, before.entries);
}

#[test]
fn overriding_a_public_id_match_to_create_new_creates_an_entry_without_the_other_entrys_identifiers() {
    let crm = crm();
    let s = sheet(&[jose_address().set(Field::City, "Salem")]);
    let first = run(&crm, &s, &[]);
    let r = run(&crm, &s, &choose(&first, GroupChoice::CreateNew));
    assert_eq!(r.plan.counts.created, 1);
    let e = put_entries(&r.plan)[0];
    assert_eq!(
        (e.id, e.client_reference.as_deref(), e.ssn.as_ref().map(|s| s.expose_full())),
        (8, None, None)
    );
    assert_eq!((e.first_name.as_str(), e.last_name.as_str()), ("José", "Álvarez"));
    let details = put_details(&r.plan);
    assert_eq!(details.len(), 1);
    assert_eq!((details[0].public_id.as_str(), details[0].entry_id), ("CD-0000006", 8));
    assert_eq!(r.plan.rows[0].insured().unwrap().entry_label, "New entry · José Álvarez");
    // Skip: nothing.
    let skipped = run(&crm, &s, &choose(&first, GroupChoice::Skip));
    assert_eq!(skipped.plan.rows[0].action, RowAction::Skip("skipped by the operator".into()));
    assert!(skipped.plan.changes.is_empty());
}

#[test]
fn overriding_a_client_reference_match_sends_the_rows_details_to_the_chosen_entry() {
    let mut crm = crm();
    let before = crm.clone();
    let rows = [
        Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Mobile", "+1 617 555 0133"),
        Row::person("", "", "Mary", "Johnson", "CR-003", "").email("Home", "mary.home@example.org"),
        Row::person("", "", "Ann", "Lee", "", "345-67-8901").email("Home", "ann@example.org"),
    ];
    let s = sheet(&rows);
    let first = run(&crm, &s, &[]);
    assert_eq!(first.matches.groups.len(), 2);
    // Mary's person (both rows) goes to Mary Johnston instead; Ann is left alone.
    let r = run(&crm, &s, &choose(&first, GroupChoice::Existing(7)));
    assert_eq!(r.plan.rows.iter().map(|p| p.entry()).collect::<Vec<_>>(), [Some(7), Some(7), Some(5)]);
    assert_eq!(r.plan.rows[2].tier(), Some(MatchTier::ClientReference));
    assert_eq!(r.plan.counts.added, 3);
    apply_plan(&mut crm, &r.plan);
    assert_eq!(crm.entries[&7], before.entries[&7], "Mary Johnston keeps CR-007");
    assert_eq!(crm.details.values().filter(|d| d.entry_id == 7).count(), 2);
    assert_eq!(
        crm.details.values().filter(|d| d.entry_id == 3).count(),
        before.details.values().filter(|d| d.entry_id == 3).count(),
        "Mary Johnson gets nothing"
    );
}

#[test]
fn overriding_an_insured_reference_match_relinks_the_insured_to_the_chosen_entry() {
    let crm = crm();
    let s =
        sheet(&[Row::person("CASE-001", "INS-2", "John", "Smith", "", "").phone("Home", "+1 617 555 0111")]);
    let first = run(&crm, &s, &[]);
    assert_eq!(first.matches.rows, vec![matched(MatchTier::InsuredReference, 2, None)]);
    let r = run(&crm, &s, &choose(&first, GroupChoice::Existing(6)));
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
    assert_eq!(r.plan.rows[0].entry(), Some(6));
    assert_eq!(r.plan.rows[0].insured().unwrap().entry_label, "CR-006 · Joan Smyth");
    let relink = r.plan.relinks()[0];
    assert_eq!(
        (relink.insured_reference.as_str(), relink.old_entry, relink.new_entry),
        ("INS-2", Some(2), 6)
    );
    assert!(r.plan.rows[0].notes.iter().any(|n| n.contains("differs")), "the name differs from Joan's");
}

#[test]
fn choices_saved_by_key_apply_to_the_next_run_of_the_same_file() {
    let crm = crm();
    let s = sheet(&mixed_file());
    let first = run(&crm, &s, &[]);
    let keys: Vec<&str> = first.matches.groups.iter().map(|g| g.key.as_str()).collect();
    let unique: std::collections::BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "keys are unique: {keys:?}");
    assert!(
        keys.iter().all(|k| !k.contains("345-67") && !k.contains("345678901")),
        "no SSN in a key: {keys:?}"
    );
    // Nora's group to Skip, José's (tier 1) to Mary.
    let mut choices = vec![None; first.matches.groups.len()];
    let nora = first.matches.groups.iter().position(|g| g.client_reference == "CR-NQ").unwrap();
    choices[nora] = Some(GroupChoice::Skip);
    choices[first.matches.group_of(0).unwrap()] = Some(GroupChoice::Existing(3));
    let saved = first.matches.choices_by_key(&choices);
    assert_eq!(saved.len(), 2);
    let json = serde_json::to_string(&saved).unwrap();
    let loaded: roundtrip::core::insured::matching::KeyedChoices = serde_json::from_str(&json).unwrap();

    // The next run of the same file: the same groups, the same keys, the same plan.
    let second = run(&crm, &s, &[]);
    let (restored, unknown) = second.matches.choices_from_keys(&loaded);
    assert!(unknown.is_empty());
    assert_eq!(restored, choices);
    assert_eq!(plan(&crm, &T, &second.validated, &second.matches, &restored), run(&crm, &s, &choices).plan);
    // A key from another file is reported, not applied.
    let mut other = loaded.clone();
    other.insert("unmatched/cref:CR-ELSEWHERE".into(), GroupChoice::CreateNew);
    assert_eq!(second.matches.choices_from_keys(&other).1, vec!["unmatched/cref:CR-ELSEWHERE".to_string()]);
    // The groups themselves cross a boundary as JSON.
    let back: Matches = serde_json::from_str(&serde_json::to_string(&second.matches).unwrap()).unwrap();
    assert_eq!(back, second.matches);
}

#[test]
fn an_entry_that_does_not_exist_is_never_chosen() {
    let crm = crm();
    let s = sheet(&[Row::person("", "", "Nora", "Quinn", "", "").phone("Home", "+1 617 555 0144")]);
    let r = run(&crm, &s, &[Some(GroupChoice::Existing(99))]);
    assert_eq!(r.plan.rows[0].action, RowAction::Skip("the chosen CRM entry 99 does not exist".into()));
    assert!(r.plan.changes.is_empty());
}
