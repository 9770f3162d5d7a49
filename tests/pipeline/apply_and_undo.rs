//! Non-destructive apply, idempotence, the import history with before-images, the verification
//! sample, and undo.

use super::*;

#[test]
fn details_absent_from_the_file_stay_and_an_import_never_deletes() {
    let mut crm = crm();
    let before = crm.clone();
    let r = run(&crm, &sheet(&mixed_file()), &[]);
    assert!(r.plan.changes.deletes.is_empty());
    let (batch, _) = apply(&crm, &r.plan, &ctx()).unwrap();
    assert!(batch.deletes.is_empty());
    crm.apply_changes(&batch).unwrap();
    for (id, d) in &before.details {
        let now = crm.details.get(id).unwrap_or_else(|| panic!("{id} was deleted"));
        if id != "CD-0000001" {
            assert_eq!(now, d, "{id} is not in the file and must not change");
        }
    }
    assert_eq!(detail(&crm, 1).fields.address_line2, "Apt 4B");
    assert_eq!(crm.details.len(), before.details.len() + 5);
    assert!(before.entries.keys().all(|k| crm.entries.contains_key(k)));
    assert!(before.insureds.keys().all(|k| crm.insureds.contains_key(k)));
}

#[test]
fn the_plan_of_the_mixed_file_is_exactly_what_is_expected() {
    let crm = crm();
    let r = run(&crm, &sheet(&mixed_file()), &[]);
    // The outcome in the shared words, and what it is about in the workflow's.
    let actions: Vec<(&RowAction, &str, &str)> =
        r.plan.rows.iter().map(|p| (&p.action, p.label(), p.detail())).collect();
    assert_eq!(
        actions,
        vec![
            (&RowAction::Update, "Updated", "contact detail"),
            (&RowAction::Add, "Added", "contact detail added to the entry"),
            (&RowAction::Add, "Added", "contact detail added to the entry"),
            (&RowAction::Create, "Created", "new CRM entry with the row's detail"),
            (&RowAction::Create, "Created", "new CRM entry with the row's detail"),
            (&RowAction::Add, "Added", "contact detail added to the entry"),
        ]
    );
    assert_eq!(r.plan.rows[3].action_text(), "Created — new CRM entry with the row's detail");
    let t = r.plan.counts;
    assert_eq!((t.created, t.updated, t.added, t.unchanged, t.skipped, t.errors), (1, 1, 5, 0, 0, 0));
    assert_eq!(r.plan.rows[0].changes, vec![change("Address Line 2", "", "Apt 4B")]);
    assert_eq!(r.plan.pending_conflicts, 0);
    assert_eq!(r.plan.affected_case_ids(), vec![1, 2]);
    let tiers = r.matches.tier_counts();
    assert_eq!(tiers.get(&MatchTier::PublicId), Some(&1));
    assert_eq!(tiers.get(&MatchTier::ClientReference), Some(&2));
    assert_eq!(tiers.get(&MatchTier::InsuredReference), Some(&1));
    // Every detected person is a group: four decided by a tier, keeping their entry by
    // default, and Nora, open, created by default.
    assert_eq!(
        r.matches.default_choices(),
        vec![
            Some(GroupChoice::Existing(1)),
            Some(GroupChoice::Existing(3)),
            Some(GroupChoice::Existing(2)),
            Some(GroupChoice::CreateNew),
            Some(GroupChoice::Existing(5)),
        ]
    );
    let open: Vec<Option<GroupChoice>> = r.matches.open_groups().map(|g| g.default_choice()).collect();
    assert_eq!(open, vec![Some(GroupChoice::CreateNew)]);
    let tier_of_rows: Vec<Option<MatchTier>> = r.plan.rows.iter().map(|p| p.tier()).collect();
    assert_eq!(
        tier_of_rows,
        [
            MatchTier::PublicId,
            MatchTier::ClientReference,
            MatchTier::InsuredReference,
            MatchTier::OperatorChoice,
            MatchTier::OperatorChoice,
            MatchTier::ClientReference
        ]
        .map(Some)
        .to_vec()
    );
}

#[test]
fn applying_then_planning_the_same_file_again_changes_nothing() {
    let mut crm = crm();
    let s = sheet(&mixed_file());
    let first = run(&crm, &s, &[]);
    assert!(first.plan.change_count() > 0);
    apply_plan(&mut crm, &first.plan);

    // The same validated rows, matched and planned against the new state.
    let matches = match_rows(&crm, &first.validated);
    let plan = plan(&crm, &T, &first.validated, &matches, &[]);
    assert_eq!(plan.change_count(), 0, "{:#?}", plan.rows);
    assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    assert_eq!(matches.open_groups().count(), 0, "the created entry is now found by its Client Reference");
    assert!(matches.groups.iter().all(|g| g.matched().is_some()));
    assert_eq!(plan.counts.unchanged, 6);
    // Rows without a Public ID are recognised as already present.
    for p in &plan.rows[1..] {
        assert_eq!(p.action, RowAction::Unchanged);
        assert!(p.notes.iter().any(|n| n.starts_with("Already present as CD-")), "{:?}", p.notes);
    }
    // And from the file again, from scratch.
    let again = run(&crm, &s, &[]);
    assert_eq!(again.plan.change_count(), 0);
}

#[test]
fn the_same_new_detail_twice_in_one_file_is_added_once() {
    let crm = crm();
    let row = Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Mobile", "+1 617 555 0133");
    let same_number_written_differently =
        Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Home", "(617) 555-0133");
    let r = run(
        &crm,
        &sheet(&[
            row.clone(),
            row,
            Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Home", "617 555 0133"),
        ]),
        &[],
    );
    assert_eq!(
        r.plan.rows.iter().map(|p| p.action.clone()).collect::<Vec<_>>(),
        vec![RowAction::Add, RowAction::Unchanged, RowAction::Add]
    );
    assert_eq!(r.plan.rows[1].public_id(), r.plan.rows[0].public_id());
    assert_eq!(put_details(&r.plan).len(), 2);
    // The phone key is its digits: "(617) 555-0133" is "617 555 0133", not "+1 617 555 0133".
    let r = run(
        &crm,
        &sheet(&[
            Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Home", "617 555 0133"),
            same_number_written_differently,
        ]),
        &[],
    );
    assert_eq!(r.plan.rows[1].action, RowAction::Unchanged);
    assert_eq!(r.plan.counts.added, 1);
}

#[test]
fn applying_records_the_import_with_before_images() {
    let mut crm = crm();
    let r = run(&crm, &sheet(&mixed_file()), &[]);
    let record = apply_plan(&mut crm, &r.plan);
    assert_eq!(record.id, 1);
    assert_eq!(crm.imports[&1], record);
    assert_eq!(crm.counters.next_import_id, 2);
    assert_eq!(record.counts.created, 1);
    assert_eq!(record.counts.added, 5);
    assert_eq!(record.file_name, "test.xlsx");
    let image_of = |kind, id: &str| {
        record
            .before_images
            .iter()
            .find(|b| b.key == RecordKey { kind, id: id.to_string() })
            .map(|b| b.before.clone())
    };
    assert_eq!(
        image_of(EntityKind::Detail, "CD-0000001"),
        Some(Some(Record::Detail(detail(&crm_fixture(), 1).clone())))
    );
    assert_eq!(image_of(EntityKind::Entry, "8"), Some(None), "a created entry has no before-image");
    // The same file is recognised by its fingerprint until its import is undone.
    use roundtrip::core::plan::history::{last_import_of_file, undo};
    assert_eq!(last_import_of_file(&crm, &record.sha256).map(|r| r.id), Some(1));
    assert_eq!(last_import_of_file(&crm, "another file"), None);
    let back = undo(&crm).unwrap();
    crm.apply_changes(&back).unwrap();
    assert_eq!(last_import_of_file(&crm, &record.sha256), None);
    assert_eq!(
        image_of(EntityKind::Insured, "4"),
        Some(Some(Record::Insured(crm_fixture().insureds[&4].clone())))
    );
}

#[test]
fn the_verification_sample_holds_10_to_15_applied_rows_that_agree_with_the_crm() {
    use roundtrip::core::insured::workflow::WORKFLOW;
    use roundtrip::core::plan::verify::verification_sample;
    let mut crm = crm();
    // 30 new phone numbers for José and Mary, plus the mixed file.
    let mut rows = mixed_file();
    for k in 0..30 {
        let cref = if k % 2 == 0 { "CR-001" } else { "CR-003" };
        rows.push(
            Row::person("", "", "X", "Y", cref, "").phone("Home", &format!("+1 617 555 {:04}", 1000 + k)),
        );
    }
    let r = run(&crm, &sheet(&rows), &[]);
    apply_plan(&mut crm, &r.plan);
    let sample = verification_sample(&WORKFLOW, &crm, &T, &r.validated, &r.plan, &ctx().sha256);
    assert!((10..=15).contains(&sample.len()), "{}", sample.len());
    let mut seen = std::collections::BTreeSet::new();
    for s in &sample {
        assert!(seen.insert(s.sheet_row), "rows are sampled once");
        assert!(s.agrees, "{s:#?}");
        assert!(s.stored_values.iter().any(|(k, v)| k == "Public ID" && v.starts_with("CD-")));
    }
    assert_eq!(
        sample,
        verification_sample(&WORKFLOW, &crm, &T, &r.validated, &r.plan, &ctx().sha256),
        "seeded by the file hash"
    );

    // A small import is shown whole; a tampered CRM disagrees.
    let mut crm2 = super::crm();
    let small = run(&crm2, &sheet(&mixed_file()), &[]);
    apply_plan(&mut crm2, &small.plan);
    let sample = verification_sample(&WORKFLOW, &crm2, &T, &small.validated, &small.plan, &ctx().sha256);
    assert_eq!(sample.len(), 6);
    assert!(sample.iter().all(|s| s.agrees), "{sample:#?}");
    crm2.details.get_mut("CD-0000001").unwrap().fields.address_line1 = "Elsewhere".into();
    let sample = verification_sample(&WORKFLOW, &crm2, &T, &small.validated, &small.plan, &ctx().sha256);
    assert!(!sample.iter().find(|s| s.sheet_row == 2).unwrap().agrees);
}

fn crm_fixture() -> Crm {
    crm()
}

#[test]
fn undo_restores_every_entity_exactly_and_marks_the_import_undone() {
    let mut crm = crm();
    let before = crm.clone();
    let r = run(&crm, &sheet(&mixed_file()), &[]);
    apply_plan(&mut crm, &r.plan);
    assert_ne!(crm.details, before.details);
    assert_ne!(crm.entries, before.entries);
    assert_ne!(crm.insureds, before.insureds);

    let batch = undo(&crm).unwrap();
    crm.apply_changes(&batch).unwrap();
    assert_eq!(crm.entries, before.entries);
    assert_eq!(crm.details, before.details);
    assert_eq!(crm.insureds, before.insureds);
    assert_eq!(crm.cases, before.cases);
    assert_eq!(crm.portfolios, before.portfolios);
    assert!(crm.imports[&1].undone);
    // Counters stay advanced: Public IDs are never reused.
    assert!(crm.counters.next_detail_number > before.counters.next_detail_number);
    assert_eq!(undo(&crm), Err(ApplyRefusal::NothingToUndo));

    // Importing again hands out fresh Public IDs.
    let again = run(&crm, &sheet(&mixed_file()), &[]);
    let ids: Vec<&str> = put_details(&again.plan).iter().map(|d| d.public_id.as_str()).collect();
    assert!(!ids.contains(&"CD-0000006"), "{ids:?}");
}
