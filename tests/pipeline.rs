//! The import pipeline of the insured contact details template, stage by stage and whole:
//! headers → validation → the 4-tier matching cascade → grouping and ranking → plan → apply →
//! undo → export → re-import. Fixtures are built in code: a small hand-made CRM (cases,
//! insureds, entries with and without Client Reference and SSN, accented names, details),
//! sheets of raw cells, and XLSX bytes written with rust_xlsxwriter and read back with
//! calamine. Every test is named after the behaviour it pins.

use std::collections::BTreeMap;

use roundtrip::core::date::Date;
use roundtrip::core::headers::{map_headers, HeaderMapping};
use roundtrip::core::index::CrmIndex;
use roundtrip::core::matching::{GroupChoice, GroupKind, Matcher, Matches, RowMatch};
use roundtrip::core::model::*;
use roundtrip::core::plan::{
    apply, counts_of, plan_insured_contact_details, undo, ApplyContext, ApplyRefusal, FieldChange, Plan,
    RowAction,
};
use roundtrip::core::sheet::{RawCell, Sheet, SheetRow, SourceFormat};
use roundtrip::core::template::{insured_columns as c, MatchTier, INSURED_CONTACT_DETAILS as T};
use roundtrip::core::validate::{Severity, Validated, ValidationOptions, Validator};

// ----------------------------------------------------------------------------------------
// Fixtures
// ----------------------------------------------------------------------------------------

/// A small CRM:
///
/// | entry | name          | Client Ref | SSN         | DOB        | details                         |
/// |-------|---------------|------------|-------------|------------|---------------------------------|
/// | 1     | José Álvarez  | CR-001     | 123-45-6789 | 1980-05-17 | CD-1 address 02134, CD-2 phone  |
/// | 2     | John Smith    | —          | —           | 1975-03-02 | CD-3 address 02110, CD-4 email  |
/// | 3     | Mary Johnson  | CR-003     | 234-56-7890 | 1990-01-01 | CD-5 email                      |
/// | 4     | Peter Brown   | CR-004     | —           | —          | —                               |
/// | 5     | Ann Lee       | —          | 345-67-8901 | —          | —                               |
/// | 6     | Joan Smyth    | CR-006     | —           | 1975-03-02 | —  (distractor)                 |
/// | 7     | Mary Johnston | CR-007     | —           | —          | —  (distractor)                 |
///
/// Case CASE-001: INS-1 → 1, INS-2 → 2, INS-5 → 4. Case CASE-002: INS-3 → 3, INS-4 → none,
/// INS-6 → 5. Portfolio 1 holds both cases.
fn crm() -> Crm {
    let mut crm = Crm::default();
    crm.put(Record::Case(Case { id: 1, reference: "CASE-001".into(), title: "Home".into() }));
    crm.put(Record::Case(Case { id: 2, reference: "CASE-002".into(), title: "Motor".into() }));
    crm.put(Record::Portfolio(Portfolio {
        id: 1,
        name: "North".into(),
        owner_login: None,
        temporary: false,
        case_ids: vec![1, 2],
    }));
    let entry =
        |id, cref: Option<&str>, ssn: Option<&str>, first: &str, last: &str, dob: Option<Date>| CrmEntry {
            id,
            client_reference: cref.map(str::to_string),
            ssn: ssn.map(str::to_string),
            first_name: first.into(),
            last_name: last.into(),
            date_of_birth: dob,
        };
    for e in [
        entry(1, Some("CR-001"), Some("123-45-6789"), "José", "Álvarez", Date::new(1980, 5, 17)),
        entry(2, None, None, "John", "Smith", Date::new(1975, 3, 2)),
        entry(3, Some("CR-003"), Some("234-56-7890"), "Mary", "Johnson", Date::new(1990, 1, 1)),
        entry(4, Some("CR-004"), None, "Peter", "Brown", None),
        entry(5, None, Some("345-67-8901"), "Ann", "Lee", None),
        entry(6, Some("CR-006"), None, "Joan", "Smyth", Date::new(1975, 3, 2)),
        entry(7, Some("CR-007"), None, "Mary", "Johnston", None),
    ] {
        crm.put(Record::Entry(e));
    }
    let insured = |id, case_id, reference: &str, first: &str, last: &str, entry_id| Insured {
        id,
        case_id,
        reference: reference.into(),
        first_name: first.into(),
        last_name: last.into(),
        entry_id,
    };
    for i in [
        insured(1, 1, "INS-1", "José", "Álvarez", Some(1)),
        insured(2, 1, "INS-2", "John", "Smith", Some(2)),
        insured(3, 2, "INS-3", "Mary", "Johnson", Some(3)),
        insured(4, 2, "INS-4", "Nora", "Quinn", None),
        insured(5, 1, "INS-5", "Peter", "Brown", Some(4)),
        insured(6, 2, "INS-6", "Ann", "Lee", Some(5)),
    ] {
        crm.put(Record::Insured(i));
    }
    let address = |label: &str, primary, line1: &str, city: &str, postcode: &str| DetailFields {
        label: label.into(),
        primary,
        address_line1: line1.into(),
        city: city.into(),
        region: "MA".into(),
        postcode: postcode.into(),
        country: "US".into(),
        ..Default::default()
    };
    let details = [
        (1, 1, DetailKind::Address, address("Home", true, "1 Main St", "Springfield", "02134")),
        (
            2,
            1,
            DetailKind::Phone,
            DetailFields {
                label: "Mobile".into(),
                primary: true,
                phone: "+1 617 555 0100".into(),
                ..Default::default()
            },
        ),
        (3, 2, DetailKind::Address, address("Home", true, "5 Oak Ave", "Boston", "02110")),
        (
            4,
            2,
            DetailKind::Email,
            DetailFields {
                label: "Home".into(),
                primary: true,
                email: "john.smith@example.com".into(),
                ..Default::default()
            },
        ),
        (
            5,
            3,
            DetailKind::Email,
            DetailFields {
                label: "Work".into(),
                primary: true,
                email: "mary@example.com".into(),
                ..Default::default()
            },
        ),
    ];
    for (n, entry_id, kind, fields) in details {
        crm.put(Record::Detail(ContactDetail { public_id: public_id_for(n), entry_id, kind, fields }));
    }
    crm.counters = Counters {
        next_entry_id: 8,
        next_detail_number: 6,
        next_case_id: 3,
        next_insured_id: 7,
        next_portfolio_id: 2,
        next_account_contact_id: 1,
        next_import_id: 1,
    };
    crm
}

/// One file row in template column order, built field by field.
#[derive(Debug, Clone, Default)]
struct Row([String; 19]);

impl Row {
    fn new() -> Row {
        Row::default()
    }
    /// A person: case, insured, first, last, Client Reference, SSN (empty strings for none).
    fn person(case: &str, insured: &str, first: &str, last: &str, cref: &str, ssn: &str) -> Row {
        Row::new()
            .set(c::CASE_REFERENCE, case)
            .set(c::INSURED_REFERENCE, insured)
            .set(c::FIRST_NAME, first)
            .set(c::LAST_NAME, last)
            .set(c::CLIENT_REFERENCE, cref)
            .set(c::SSN, ssn)
    }
    fn set(mut self, col: usize, value: &str) -> Row {
        self.0[col] = value.to_string();
        self
    }
    fn address(self, label: &str, line1: &str, city: &str, postcode: &str) -> Row {
        self.set(c::DETAIL_TYPE, "Address")
            .set(c::LABEL, label)
            .set(c::ADDRESS_LINE1, line1)
            .set(c::CITY, city)
            .set(c::REGION, "MA")
            .set(c::POSTCODE, postcode)
            .set(c::COUNTRY, "US")
    }
    fn phone(self, label: &str, number: &str) -> Row {
        self.set(c::DETAIL_TYPE, "Phone").set(c::LABEL, label).set(c::PHONE, number)
    }
    fn email(self, label: &str, email: &str) -> Row {
        self.set(c::DETAIL_TYPE, "Email").set(c::LABEL, label).set(c::EMAIL, email)
    }
    fn primary(self, yes_no: &str) -> Row {
        self.set(c::PRIMARY, yes_no)
    }
    fn public_id(self, id: &str) -> Row {
        self.set(c::PUBLIC_ID, id)
    }
    fn dob(self, iso: &str) -> Row {
        self.set(c::DATE_OF_BIRTH, iso)
    }
}

fn text_cell(s: &str) -> RawCell {
    if s.is_empty() {
        RawCell::Empty
    } else {
        RawCell::Text(s.into())
    }
}

/// A sheet with the template's headers in order; data rows start at sheet row 2.
fn sheet(rows: &[Row]) -> Sheet {
    let header: Vec<String> = T.headers().iter().map(|h| h.to_string()).collect();
    Sheet {
        file_name: "test.xlsx".into(),
        sheet_name: "Insured Contact Details".into(),
        format: SourceFormat::Xlsx,
        header,
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, r)| SheetRow { sheet_row: i + 2, cells: r.0.iter().map(|s| text_cell(s)).collect() })
            .collect(),
        warnings: Vec::new(),
    }
}

/// A sheet whose file columns are `order` (template column indexes, in file order).
fn sheet_in_order(rows: &[Row], order: &[usize]) -> Sheet {
    let mut s = sheet(rows);
    s.header = order.iter().map(|&t| T.columns[t].header.to_string()).collect();
    for (row, src) in s.rows.iter_mut().zip(rows) {
        row.cells = order.iter().map(|&t| text_cell(&src.0[t])).collect();
    }
    s
}

fn mapping(sheet: &Sheet) -> HeaderMapping {
    let m = map_headers(&T, &sheet.header, &BTreeMap::new());
    assert!(m.is_usable(), "fixture headers must map: {:?}", m.missing_required);
    m
}

fn validate(crm: &Crm, sheet: &Sheet) -> Validated {
    let m = mapping(sheet);
    let index = CrmIndex::new(crm);
    let v = Validator { template: &T, mapping: &m, index: &index, options: ValidationOptions::default() };
    v.all(&sheet.rows)
}

fn match_rows(crm: &Crm, validated: &Validated) -> Matches {
    let index = CrmIndex::new(crm);
    Matcher::new(&T, &index).all(&validated.rows)
}

/// Validation, matching and planning of a sheet against a CRM.
struct Run {
    validated: Validated,
    matches: Matches,
    plan: Plan,
}

fn run(crm: &Crm, sheet: &Sheet, choices: &[Option<GroupChoice>]) -> Run {
    let validated = validate(crm, sheet);
    let matches = match_rows(crm, &validated);
    let plan = plan_insured_contact_details(crm, &validated, &matches, choices);
    Run { validated, matches, plan }
}

fn ctx() -> ApplyContext {
    ApplyContext {
        template_id: T.id.into(),
        operator_login: "ops".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: "test.xlsx".into(),
        sha256: "ab".repeat(32),
    }
}

/// Applies a plan to the CRM the way the store does (one batch).
fn apply_plan(crm: &mut Crm, plan: &Plan) -> ImportRecord {
    let (changes, record) = apply(crm, plan, &ctx(), counts_of(plan)).expect("apply");
    assert!(changes.deletes.is_empty(), "an import never deletes");
    crm.apply_changes(&changes).expect("batch keeps uniqueness");
    record
}

fn detail(crm: &Crm, n: u32) -> &ContactDetail {
    &crm.details[&public_id_for(n)]
}

fn change(field: &str, before: &str, after: &str) -> FieldChange {
    FieldChange { field: field.into(), before: before.into(), after: after.into() }
}

fn put_entries(plan: &Plan) -> Vec<&CrmEntry> {
    plan.changes.puts.iter().filter_map(|r| if let Record::Entry(e) = r { Some(e) } else { None }).collect()
}

fn put_details(plan: &Plan) -> Vec<&ContactDetail> {
    plan.changes.puts.iter().filter_map(|r| if let Record::Detail(d) = r { Some(d) } else { None }).collect()
}

fn put_insureds(plan: &Plan) -> Vec<&Insured> {
    plan.changes.puts.iter().filter_map(|r| if let Record::Insured(i) = r { Some(i) } else { None }).collect()
}

fn matched(tier: MatchTier, entry: EntryId, detail: Option<u32>) -> RowMatch {
    RowMatch::Matched { tier, entry, detail: detail.map(public_id_for) }
}

/// The unchanged export row of José's address (CD-0000001).
fn jose_address() -> Row {
    Row::person("CASE-001", "INS-1", "José", "Álvarez", "CR-001", "123-45-6789")
        .dob("1980-05-17")
        .address("Home", "1 Main St", "Springfield", "02134")
        .primary("Yes")
        .public_id("CD-0000001")
}

// ----------------------------------------------------------------------------------------
// Tier 1: Public ID
// ----------------------------------------------------------------------------------------

mod tier1_public_id {
    use super::*;

    #[test]
    fn an_existing_public_id_matches_that_detail_and_updates_it_field_by_field() {
        let crm = crm();
        let r = run(
            &crm,
            &sheet(&[jose_address().set(c::ADDRESS_LINE1, "1 Main Street").set(c::CITY, "Boston")]),
            &[],
        );
        assert_eq!(r.matches.rows, vec![matched(MatchTier::PublicId, 1, Some(1))]);
        let row = &r.plan.rows[0];
        assert_eq!(row.action, RowAction::UpdateDetail);
        assert_eq!(row.tier, Some(MatchTier::PublicId));
        assert_eq!(row.entry, Some(1));
        assert_eq!(row.public_id.as_deref(), Some("CD-0000001"));
        assert_eq!(
            row.changes,
            vec![
                change("Address Line 1", "1 Main St", "1 Main Street"),
                change("City", "Springfield", "Boston")
            ]
        );
        assert_eq!((r.plan.totals.update, r.plan.totals.add, r.plan.totals.create), (1, 0, 0));
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
        assert_eq!(r.plan.totals.changes(), 0);
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
        assert_eq!(
            (note.code.as_str(), note.severity, note.row),
            ("public-id-unknown", Severity::Warning, 2)
        );
        assert!(note.message.contains("CD-9999999"), "{}", note.message);
        assert_eq!(r.matches.rows, vec![matched(MatchTier::ClientReference, 3, None)]);
        let planned = &r.plan.rows[0];
        assert_eq!(planned.action, RowAction::AddDetail);
        assert_eq!(planned.entry, Some(3));
        // A new, system-assigned Public ID: the file's unknown one is not adopted.
        assert_eq!(planned.public_id.as_deref(), Some("CD-0000006"));
        let details = put_details(&r.plan);
        assert_eq!(details.len(), 1);
        assert_eq!((details[0].public_id.as_str(), details[0].entry_id), ("CD-0000006", 3));
        assert_eq!(details[0].fields.phone, "+1 617 555 0177");
        assert!(!crm.details.contains_key("CD-9999999"));
        assert_eq!(r.plan.totals.add, 1);
        assert_eq!(r.plan.counters.next_detail_number, 7);
    }

    #[test]
    fn an_unknown_public_id_falls_through_to_tier_3_as_well() {
        let crm = crm();
        let row = Row::person("CASE-001", "INS-2", "John", "Smith", "", "")
            .phone("Home", "617-555-0111")
            .public_id("CD-0000999");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.notes[0].code, "public-id-unknown");
        assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 2, None)]);
        assert_eq!(r.plan.rows[0].action, RowAction::AddDetail);
        assert_eq!(r.plan.rows[0].entry, Some(2));
    }

    #[test]
    fn a_public_id_row_claiming_another_client_reference_is_skipped_not_rewritten() {
        // The detail CD-0000005 belongs to Mary (CR-003); a file claiming CR-999 for it must not
        // rewrite Mary's Client Reference.
        let crm = crm();
        let row = Row::person("", "", "Mary", "Johnson", "CR-999", "")
            .email("Work", "mary.j@example.com")
            .public_id("CD-0000005");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.rows, vec![matched(MatchTier::PublicId, 3, Some(5))]);
        match &r.plan.rows[0].action {
            RowAction::Skip(reason) => {
                assert!(reason.contains("CR-999") && reason.contains("CR-003"), "{reason}")
            }
            other => panic!("expected a skip, got {other:?}"),
        }
        assert!(r.plan.changes.is_empty());
    }
}

// ----------------------------------------------------------------------------------------
// Tier 2: Client Reference and/or SSN
// ----------------------------------------------------------------------------------------

mod tier2_client_reference_and_ssn {
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
            assert_eq!(r.plan.rows[0].action, RowAction::AddDetail, "{cref:?} {ssn:?}");
            assert_eq!(r.plan.rows[0].entry, Some(entry));
            assert!(r.matches.groups.is_empty());
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
        assert_eq!(apply(&crm, &r.plan, &ctx(), counts_of(&r.plan)), Err(ApplyRefusal::PendingConflicts(1)));
    }

    #[test]
    fn a_conflict_resolved_to_an_existing_entry_applies_there_without_moving_the_other_identifier() {
        let crm = crm();
        let s = sheet(&[conflict_row()]);
        let r = run(&crm, &s, &[Some(GroupChoice::Existing(1))]);
        assert_eq!(r.plan.pending_conflicts, 0);
        let row = &r.plan.rows[0];
        assert_eq!(row.action, RowAction::AddDetail, "{:?}", row);
        assert_eq!(row.entry, Some(1));
        assert_eq!(row.tier, Some(MatchTier::OperatorChoice));
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
        assert_eq!(r.plan.rows[0].action, RowAction::AddDetail, "{:?}", r.plan.rows[0]);
        assert_eq!(put_details(&r.plan)[0].entry_id, 3);
        assert!(put_entries(&r.plan).is_empty(), "Mary's Client Reference is not replaced");
    }

    #[test]
    fn a_conflict_resolved_to_a_new_entry_creates_it_without_the_identifiers_of_the_other_two() {
        let mut crm = crm();
        let r = run(&crm, &sheet(&[conflict_row()]), &[Some(GroupChoice::CreateNew)]);
        assert_eq!(r.plan.pending_conflicts, 0);
        assert_eq!(r.plan.rows[0].action, RowAction::CreateEntryAndAddDetail);
        let created = put_entries(&r.plan);
        assert_eq!(created.len(), 1);
        assert_eq!((created[0].client_reference.as_deref(), created[0].ssn.as_deref()), (None, None));
        assert!(r.plan.rows[0].notes.iter().any(|n| n.contains("CR-001")), "{:?}", r.plan.rows[0].notes);
        // The batch keeps Client References and SSNs unique.
        apply_plan(&mut crm, &r.plan);
        assert_eq!(crm.entries[&1].client_reference.as_deref(), Some("CR-001"));
        assert_eq!(crm.entries[&3].ssn.as_deref(), Some("234-56-7890"));
    }

    #[test]
    fn a_conflict_resolved_to_skip_changes_nothing_and_can_be_applied() {
        let crm = crm();
        let r = run(
            &crm,
            &sheet(&[conflict_row(), jose_address().set(c::CITY, "Salem")]),
            &[Some(GroupChoice::Skip)],
        );
        assert_eq!(r.plan.pending_conflicts, 0);
        assert_eq!(r.plan.rows[0].action, RowAction::Skip("skipped by the operator".into()));
        assert_eq!(r.plan.rows[1].action, RowAction::UpdateDetail);
        assert_eq!(r.plan.totals.skip, 1);
        assert!(apply(&crm, &r.plan, &ctx(), counts_of(&r.plan)).is_ok());
    }
}

// ----------------------------------------------------------------------------------------
// Tier 3: Insured Reference on the row's case, names agreeing
// ----------------------------------------------------------------------------------------

mod tier3_insured_reference {
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
            assert_eq!(
                r.matches.rows,
                vec![matched(MatchTier::InsuredReference, 1, None)],
                "{first:?} {last:?}"
            );
            assert_eq!(r.plan.rows[0].action, RowAction::AddDetail);
            assert!(
                r.plan.rows[0].notes.iter().all(|n| !n.contains("differs")),
                "{:?}",
                r.plan.rows[0].notes
            );
        }
    }

    #[test]
    fn whitespace_inside_a_name_is_folded_too() {
        let mut crm = crm();
        crm.entries.get_mut(&1).unwrap().first_name = "José María".into();
        let row = Row::person("CASE-001", "INS-1", "jose   MARIA", "alvarez", "", "")
            .phone("Home", "+1 617 555 0188");
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
        assert_eq!(r.plan.totals.changes(), 0);
        assert_eq!(r.plan.totals.unchanged, 1);
        // With a Client Reference the same row is a person to create.
        let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW-1", "");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
        assert_eq!(r.plan.totals.create, 1);
    }

    #[test]
    fn an_unlinked_insured_leaves_the_row_unresolved() {
        let crm = crm();
        let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "", "").phone("Home", "+1 617 555 0188");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.rows, vec![RowMatch::Group(0)]);
    }
}

// ----------------------------------------------------------------------------------------
// Grouping of unresolved rows into detected persons
// ----------------------------------------------------------------------------------------

mod grouping {
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
        assert_eq!(plan.totals.create, 5);
        assert_eq!(put_entries(plan).len(), 5);
        let entry_of = |i: usize| plan.rows[i].entry.unwrap();
        assert_eq!(entry_of(0), entry_of(1));
        assert_eq!(entry_of(3), entry_of(4));
        assert_eq!(entry_of(6), entry_of(7));
        let distinct: std::collections::BTreeSet<EntryId> =
            [0, 2, 3, 5, 6].iter().map(|&i| entry_of(i)).collect();
        assert_eq!(distinct.len(), 5);
    }
}

// ----------------------------------------------------------------------------------------
// Candidate ranking
// ----------------------------------------------------------------------------------------

mod ranking {
    use super::*;

    fn candidates_for(row: Row) -> Vec<roundtrip::core::matching::Candidate> {
        let crm = crm();
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.groups.len(), 1, "{:?}", r.matches.rows);
        r.matches.groups[0].candidates.clone()
    }

    #[test]
    fn the_true_entry_ranks_first_for_a_typod_name() {
        for (first, last) in [("Jonh", "Smiht"), ("Jhon", "Smith"), ("john", "smyth"), ("John", "Smth")] {
            let c = candidates_for(Row::person("", "", first, last, "", "").phone("Home", "+1 617 555 0111"));
            assert!(!c.is_empty(), "{first} {last}");
            assert_eq!(c[0].entry, 2, "{first} {last}: {c:?}");
            assert!(c[0].reasons.iter().any(|r| r.contains("alike")), "{:?}", c[0].reasons);
        }
    }

    #[test]
    fn the_true_entry_ranks_first_for_swapped_first_and_last_names() {
        let c =
            candidates_for(Row::person("", "", "Johnson", "Mary", "", "").phone("Home", "+1 617 555 0111"));
        assert_eq!(c[0].entry, 3, "{c:?}");
        assert!(c[0].reasons.iter().any(|r| r.contains("swapped")), "{:?}", c[0].reasons);
        // The near-namesake Mary Johnston is suggested too, but below.
        let johnston = c.iter().position(|k| k.entry == 7).expect("Mary Johnston is a candidate");
        assert!(johnston > 0);
        assert!(c[0].score > c[johnston].score);
        let c = candidates_for(Row::person("", "", "Smiht", "Jonh", "", "").phone("Home", "+1 617 555 0111"));
        assert_eq!(c[0].entry, 2, "{c:?}");
    }

    #[test]
    fn candidates_carry_why_they_are_suggested() {
        // A typo'd name on John's insured (tier 3 refuses it), with his date of birth and postcode.
        let row = Row::person("CASE-001", "INS-2", "Jonh", "Smiht", "", "")
            .dob("1975-03-02")
            .address("Home", "7 Elm St", "Boston", "02110");
        let c = candidates_for(row);
        assert_eq!(c[0].entry, 2, "{c:?}");
        let reasons = c[0].reasons.join(" | ");
        for expected in [
            "alike",
            "same date of birth 1975-03-02",
            "same postcode 02110",
            "linked to insured INS-2 on CASE-001",
        ] {
            assert!(reasons.contains(expected), "missing {expected:?} in {reasons}");
        }
        // Joan Smyth shares the date of birth but not the insured or the postcode.
        if let Some(joan) = c.iter().find(|k| k.entry == 6) {
            assert!(joan.score < c[0].score);
            assert!(joan.reasons.iter().any(|r| r.contains("date of birth")));
            assert!(!joan.reasons.iter().any(|r| r.contains("insured") || r.contains("postcode")));
        }
        assert!(c.windows(2).all(|w| w[0].score >= w[1].score), "ranked by score: {c:?}");
    }

    #[test]
    fn an_unrelated_name_gets_no_candidates() {
        let c = candidates_for(
            Row::person("", "", "Zbigniew", "Quarrington", "", "").phone("Home", "+1 617 555 0111"),
        );
        assert!(c.is_empty(), "{c:?}");
    }
}

// ----------------------------------------------------------------------------------------
// Creating entries and linking insureds
// ----------------------------------------------------------------------------------------

mod create {
    use super::*;

    #[test]
    fn the_default_choice_creates_one_entry_per_group_keeping_the_client_reference_linked_to_the_insured() {
        let crm = crm();
        let rows = [
            Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW", "456-78-9012")
                .dob("1985-07-04")
                .address("Home", "9 Pine Rd", "Salem", "01970"),
            Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NEW", "")
                .phone("Mobile", "+1 978 555 0123"),
        ];
        let r = run(&crm, &sheet(&rows), &[]);
        assert_eq!(r.matches.groups.len(), 1);
        let plan = &r.plan;
        assert_eq!(plan.totals.create, 1);
        assert_eq!(plan.totals.add, 2);
        assert_eq!(plan.rows[0].action, RowAction::CreateEntryAndAddDetail);
        assert_eq!(plan.rows[1].action, RowAction::CreateEntryAndAddDetail);
        let entries = put_entries(plan);
        assert_eq!(entries.len(), 1);
        let e = entries[0];
        assert_eq!(e.id, 8, "the next entry id");
        assert_eq!(e.client_reference.as_deref(), Some("CR-NEW"));
        assert_eq!(e.ssn.as_deref(), Some("456-78-9012"));
        assert_eq!((e.first_name.as_str(), e.last_name.as_str()), ("Nora", "Quinn"));
        assert_eq!(e.date_of_birth, Date::new(1985, 7, 4));
        let details = put_details(plan);
        assert_eq!(details.len(), 2);
        assert!(details.iter().all(|d| d.entry_id == 8));
        let insureds = put_insureds(plan);
        assert_eq!(insureds.len(), 1);
        assert_eq!((insureds[0].id, insureds[0].entry_id), (4, Some(8)));
        assert_eq!(plan.relinks.len(), 1);
        assert_eq!(plan.relinks[0].old_entry, None);
        assert_eq!(plan.relinks[0].new_entry, 8);
        assert_eq!(plan.counters.next_entry_id, 9);

        // Applied, the next import of the same file matches the new entry by its Client Reference.
        let mut after = crm.clone();
        apply_plan(&mut after, plan);
        let again = run(&after, &sheet(&rows), &[]);
        assert!(again.matches.groups.is_empty());
        assert!(again.matches.rows.iter().all(|m| *m == matched(MatchTier::ClientReference, 8, None)));
        assert_eq!(again.plan.totals.changes(), 0);
    }

    #[test]
    fn creating_an_entry_for_an_insured_linked_elsewhere_shows_the_relink_old_to_new() {
        let crm = crm();
        // INS-2 is linked to John Smith; the file names someone else on it.
        let row =
            Row::person("CASE-001", "INS-2", "Jane", "Doe", "CR-JD", "").email("Home", "jane@example.com");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.plan.rows[0].action, RowAction::CreateEntryAndAddDetail);
        assert_eq!(r.plan.relinks.len(), 1);
        let relink = &r.plan.relinks[0];
        assert_eq!(
            (
                relink.case_reference.as_str(),
                relink.insured_reference.as_str(),
                relink.old_entry,
                relink.new_entry
            ),
            ("CASE-001", "INS-2", Some(2), 8)
        );
        assert_eq!(put_insureds(&r.plan)[0].entry_id, Some(8));
        assert!(r.plan.rows[0]
            .changes
            .iter()
            .any(|ch| ch.field == "Insured INS-2 link" && ch.before.contains("John Smith")));
    }

    #[test]
    fn a_row_matched_by_client_reference_links_an_unlinked_insured_but_never_steals_a_linked_one() {
        let crm = crm();
        // INS-4 is linked to nobody: Peter (CR-004) is linked to it.
        let to_unlinked =
            Row::person("CASE-002", "INS-4", "Peter", "Brown", "CR-004", "").phone("Home", "+1 617 555 0145");
        // INS-6 is Ann's: a tier-2 row for Peter on it does not move the link.
        let to_linked = Row::person("CASE-002", "INS-6", "Peter", "Brown", "CR-004", "")
            .email("Home", "peter@example.com");
        let r = run(&crm, &sheet(&[to_unlinked, to_linked]), &[]);
        assert_eq!(r.matches.rows, vec![matched(MatchTier::ClientReference, 4, None); 2]);
        let insureds = put_insureds(&r.plan);
        assert_eq!(insureds.len(), 1);
        assert_eq!((insureds[0].id, insureds[0].entry_id), (4, Some(4)));
        assert_eq!(r.plan.relinks.len(), 1);
        assert!(
            r.plan.rows[1].notes.iter().any(|n| n.contains("INS-6 stays linked")),
            "{:?}",
            r.plan.rows[1].notes
        );
        assert_eq!(r.plan.rows[1].action, RowAction::AddDetail);
    }

    #[test]
    fn choosing_an_existing_entry_for_a_group_links_the_insured_and_adds_the_details_there() {
        let crm = crm();
        let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "", "").phone("Home", "+1 617 555 0144");
        let r = run(&crm, &sheet(&[row]), &[Some(GroupChoice::Existing(4))]);
        assert_eq!(r.plan.totals.create, 0);
        assert_eq!(r.plan.rows[0].action, RowAction::AddDetail);
        assert_eq!(r.plan.rows[0].entry, Some(4));
        assert_eq!(put_insureds(&r.plan)[0].entry_id, Some(4));
        assert_eq!(r.plan.relinks[0].old_entry, None);
    }
}

// ----------------------------------------------------------------------------------------
// Identity fields of existing entries
// ----------------------------------------------------------------------------------------

mod identity {
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
        assert_eq!(r.plan.rows[0].action, RowAction::AddDetail);
    }

    #[test]
    fn an_entry_with_a_different_client_reference_is_never_overwritten() {
        let crm = crm();
        // Tier 3 finds Mary; her Client Reference is CR-003, the file says CR-999.
        let row = Row::person("CASE-002", "INS-3", "Mary", "Johnson", "CR-999", "")
            .phone("Home", "+1 617 555 0122");
        let r = run(&crm, &sheet(&[row]), &[]);
        assert_eq!(r.matches.rows, vec![matched(MatchTier::InsuredReference, 3, None)]);
        match &r.plan.rows[0].action {
            RowAction::Skip(reason) => {
                assert!(reason.contains("CR-999") && reason.contains("CR-003"), "{reason}");
            }
            other => panic!("expected a skip, got {other:?}"),
        }
        assert_eq!(r.plan.totals.skip, 1);
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
}

// ----------------------------------------------------------------------------------------
// Non-destructive apply, idempotence, undo
// ----------------------------------------------------------------------------------------

/// A file touching every kind of change: an update by Public ID, a detail added by Client
/// Reference, one added through tier 3, a new person on an unlinked insured, an existing
/// entry getting its Client Reference.
fn mixed_file() -> Vec<Row> {
    vec![
        jose_address().set(c::ADDRESS_LINE2, "Apt 4B"),
        Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Mobile", "+1 617 555 0133").primary("No"),
        Row::person("CASE-001", "INS-2", "John", "Smith", "CR-JS", "").email("Work", "john@work.example"),
        Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NQ", "").address(
            "Home",
            "9 Pine Rd",
            "Salem",
            "01970",
        ),
        Row::person("CASE-002", "INS-4", "Nora", "Quinn", "CR-NQ", "").phone("Mobile", "+1 978 555 0123"),
        Row::person("CASE-002", "INS-6", "Ann", "Lee", "", "345-67-8901").email("Home", "ann@example.com"),
    ]
}

mod apply_and_undo {
    use super::*;

    #[test]
    fn details_absent_from_the_file_stay_and_an_import_never_deletes() {
        let mut crm = crm();
        let before = crm.clone();
        let r = run(&crm, &sheet(&mixed_file()), &[]);
        assert!(r.plan.changes.deletes.is_empty());
        let (batch, _) = apply(&crm, &r.plan, &ctx(), counts_of(&r.plan)).unwrap();
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
        let actions: Vec<&RowAction> = r.plan.rows.iter().map(|p| &p.action).collect();
        assert_eq!(
            actions,
            vec![
                &RowAction::UpdateDetail,
                &RowAction::AddDetail,
                &RowAction::AddDetail,
                &RowAction::CreateEntryAndAddDetail,
                &RowAction::CreateEntryAndAddDetail,
                &RowAction::AddDetail,
            ]
        );
        let t = r.plan.totals;
        assert_eq!((t.create, t.update, t.add, t.unchanged, t.skip, t.error), (1, 1, 5, 0, 0, 0));
        assert_eq!(r.plan.rows[0].changes, vec![change("Address Line 2", "", "Apt 4B")]);
        assert_eq!(r.plan.pending_conflicts, 0);
        assert_eq!(r.plan.affected_case_ids, vec![1, 2]);
        let tiers = r.matches.tier_counts();
        assert_eq!(tiers.get(&MatchTier::PublicId), Some(&1));
        assert_eq!(tiers.get(&MatchTier::ClientReference), Some(&2));
        assert_eq!(tiers.get(&MatchTier::InsuredReference), Some(&1));
        assert_eq!(r.matches.default_choices(), vec![Some(GroupChoice::CreateNew)]);
        let tier_of_rows: Vec<Option<MatchTier>> = r.plan.rows.iter().map(|p| p.tier).collect();
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
        assert!(first.plan.totals.changes() > 0);
        apply_plan(&mut crm, &first.plan);

        // The same validated rows, matched and planned against the new state.
        let matches = match_rows(&crm, &first.validated);
        let plan = plan_insured_contact_details(&crm, &first.validated, &matches, &[]);
        assert_eq!(plan.totals.changes(), 0, "{:#?}", plan.rows);
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert!(matches.groups.is_empty(), "the created entry is now found by its Client Reference");
        assert_eq!(plan.totals.unchanged, 6);
        // Rows without a Public ID are recognised as already present.
        for p in &plan.rows[1..] {
            assert_eq!(p.action, RowAction::Unchanged);
            assert!(p.notes.iter().any(|n| n.starts_with("Already present as CD-")), "{:?}", p.notes);
        }
        // And from the file again, from scratch.
        let again = run(&crm, &s, &[]);
        assert_eq!(again.plan.totals.changes(), 0);
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
            vec![RowAction::AddDetail, RowAction::Unchanged, RowAction::AddDetail]
        );
        assert_eq!(r.plan.rows[1].public_id, r.plan.rows[0].public_id);
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
        assert_eq!(r.plan.totals.add, 1);
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
        use roundtrip::core::plan::{last_import_of_file, undo};
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
        use roundtrip::core::plan::verification_sample;
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
        let sample = verification_sample(&crm, &r.validated, &r.plan, &ctx().sha256);
        assert!((10..=15).contains(&sample.len()), "{}", sample.len());
        let mut seen = std::collections::BTreeSet::new();
        for s in &sample {
            assert!(seen.insert(s.sheet_row), "rows are sampled once");
            assert!(s.agrees, "{s:#?}");
            assert!(s.stored_values.iter().any(|(k, v)| k == "Public ID" && v.starts_with("CD-")));
        }
        assert_eq!(
            sample,
            verification_sample(&crm, &r.validated, &r.plan, &ctx().sha256),
            "seeded by the file hash"
        );

        // A small import is shown whole; a tampered CRM disagrees.
        let mut crm2 = super::crm();
        let small = run(&crm2, &sheet(&mixed_file()), &[]);
        apply_plan(&mut crm2, &small.plan);
        let sample = verification_sample(&crm2, &small.validated, &small.plan, &ctx().sha256);
        assert_eq!(sample.len(), 6);
        assert!(sample.iter().all(|s| s.agrees), "{sample:#?}");
        crm2.details.get_mut("CD-0000001").unwrap().fields.address_line1 = "Elsewhere".into();
        let sample = verification_sample(&crm2, &small.validated, &small.plan, &ctx().sha256);
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
}

// ----------------------------------------------------------------------------------------
// Validation rules
// ----------------------------------------------------------------------------------------

mod validation {
    use super::*;

    /// A valid phone row for José, changed by `edits`.
    fn base() -> Row {
        Row::person("CASE-001", "INS-1", "José", "Álvarez", "CR-001", "123-45-6789")
            .dob("1980-05-17")
            .phone("Mobile", "+1 617 555 0100")
            .primary("Yes")
    }

    #[test]
    fn the_base_row_is_valid() {
        let v = validate(&crm(), &sheet(&[base()]));
        assert!(v.issues.is_empty(), "{:?}", v.issues);
        assert!(!v.rows[0].blocked());
        assert_eq!(v.rows[0].text(c::SSN), "123-45-6789");
        assert_eq!(v.rows[0].bool(c::PRIMARY), Some(true));
        assert_eq!(v.rows[0].date(c::DATE_OF_BIRTH), Date::new(1980, 5, 17));
    }

    #[test]
    fn each_rule_raises_its_issue_on_its_cell() {
        type Edit = fn(Row) -> Row;
        // (what, edit, code, severity, cell)
        let table: &[(&str, Edit, &str, Severity, &str)] = &[
            (
                "detail type not allowed",
                |r| r.set(c::DETAIL_TYPE, "Fax"),
                "not-allowed",
                Severity::Error,
                "H2",
            ),
            (
                "address without line 1",
                |r| r.set(c::PHONE, "").set(c::DETAIL_TYPE, "Address").set(c::CITY, "Boston"),
                "address-missing",
                Severity::Error,
                "K2",
            ),
            ("phone row without phone", |r| r.set(c::PHONE, ""), "phone-missing", Severity::Error, "Q2"),
            (
                "email row without email",
                |r| r.set(c::PHONE, "").set(c::DETAIL_TYPE, "Email"),
                "email-missing",
                Severity::Error,
                "R2",
            ),
            (
                "email syntax",
                |r| r.set(c::PHONE, "").set(c::DETAIL_TYPE, "Email").set(c::EMAIL, "jose@@example"),
                "email-syntax",
                Severity::Error,
                "R2",
            ),
            (
                "email with a space",
                |r| r.set(c::PHONE, "").email("Home", "jose alvarez@example.com"),
                "email-syntax",
                Severity::Error,
                "R2",
            ),
            ("phone syntax", |r| r.set(c::PHONE, "555-CALL-NOW"), "phone-syntax", Severity::Error, "Q2"),
            ("phone too short", |r| r.set(c::PHONE, "555-01"), "phone-syntax", Severity::Error, "Q2"),
            ("ssn format", |r| r.set(c::SSN, "12-345-678"), "ssn-format", Severity::Error, "F2"),
            ("ssn letters", |r| r.set(c::SSN, "12a-45-6789"), "ssn-format", Severity::Error, "F2"),
            ("ssn area 000", |r| r.set(c::SSN, "000-12-3456"), "ssn-invalid", Severity::Error, "F2"),
            ("ssn area 666", |r| r.set(c::SSN, "666-12-3456"), "ssn-invalid", Severity::Error, "F2"),
            ("ssn area 9xx", |r| r.set(c::SSN, "912-34-5678"), "ssn-invalid", Severity::Error, "F2"),
            ("ssn group 00", |r| r.set(c::SSN, "123-00-4567"), "ssn-invalid", Severity::Error, "F2"),
            ("ssn serial 0000", |r| r.set(c::SSN, "123-45-0000"), "ssn-invalid", Severity::Error, "F2"),
            ("primary not yes/no", |r| r.set(c::PRIMARY, "Maybe"), "yes-no", Severity::Error, "J2"),
            ("unknown case", |r| r.set(c::CASE_REFERENCE, "CASE-999"), "case-unknown", Severity::Error, "A2"),
            (
                "insured of another case",
                |r| r.set(c::INSURED_REFERENCE, "INS-3"),
                "insured-unknown",
                Severity::Error,
                "B2",
            ),
            ("insured without case", |r| r.set(c::CASE_REFERENCE, ""), "case-missing", Severity::Error, "A2"),
            ("missing first name", |r| r.set(c::FIRST_NAME, ""), "required", Severity::Error, "C2"),
            ("blank last name", |r| r.set(c::LAST_NAME, "   "), "required", Severity::Error, "D2"),
            (
                "date of birth not a date",
                |r| r.set(c::DATE_OF_BIRTH, "17 May"),
                "date",
                Severity::Error,
                "G2",
            ),
            (
                "detail values without type",
                |r| r.set(c::DETAIL_TYPE, ""),
                "detail-type-missing",
                Severity::Error,
                "H2",
            ),
            (
                "value of another kind",
                |r| r.set(c::EMAIL, "jose@example.com"),
                "value-ignored",
                Severity::Warning,
                "R2",
            ),
        ];
        let crm = crm();
        for &(what, edit, code, severity, cell) in table {
            let v = validate(&crm, &sheet(&[edit(base())]));
            assert_eq!(v.issues.len(), 1, "{what}: {:#?}", v.issues);
            let issue = &v.issues[0];
            assert_eq!(issue.code, code, "{what}");
            assert_eq!(issue.severity, severity, "{what}");
            assert_eq!(issue.cell.as_deref(), Some(cell), "{what}");
            assert_eq!(issue.row, 2, "{what}");
            assert!(issue.column.is_some(), "{what}");
            assert!(!issue.message.is_empty(), "{what}");
            assert_eq!(
                v.rows[0].blocked(),
                severity == Severity::Error,
                "{what}: errors block, warnings do not"
            );
            assert_eq!(
                (v.error_count(), v.warning_count()),
                if severity == Severity::Error { (1, 0) } else { (0, 1) }
            );
        }
    }

    #[test]
    fn messages_say_what_was_expected() {
        let v = validate(&crm(), &sheet(&[base().set(c::SSN, "666-12-3456").set(c::PRIMARY, "Maybe")]));
        let ssn = v.issues.iter().find(|i| i.code == "ssn-invalid").unwrap();
        assert!(ssn.message.contains("666") && ssn.message.contains("expected"), "{}", ssn.message);
        let yn = v.issues.iter().find(|i| i.code == "yes-no").unwrap();
        assert!(yn.message.contains("Yes or No") && yn.message.contains("Maybe"), "{}", yn.message);
        assert_eq!(v.rows[0].errors, 2);
    }

    #[test]
    fn a_public_id_repeated_in_the_file_flags_the_later_rows_with_the_first_row_number() {
        let crm = crm();
        let rows = [
            jose_address(),
            base().public_id("CD-0000002"),
            jose_address().set(c::CITY, "Salem").public_id("cd-0000001"),
            jose_address().set(c::CITY, "Lynn"),
        ];
        let v = validate(&crm, &sheet(&rows));
        let repeated: Vec<_> = v.issues.iter().filter(|i| i.code == "public-id-repeated").collect();
        assert_eq!(repeated.len(), 2, "{:#?}", v.issues);
        assert_eq!((repeated[0].row, repeated[1].row), (4, 5));
        for i in &repeated {
            assert_eq!(i.severity, Severity::Error);
            assert_eq!(i.cell.as_deref(), Some(format!("S{}", i.row).as_str()));
            assert!(i.message.contains("row 2"), "{}", i.message);
        }
        assert_eq!(v.rows.iter().map(|r| r.blocked()).collect::<Vec<_>>(), vec![false, false, true, true]);
        // Blocked rows take no part in matching and are counted as errors in the plan.
        let r = run(&crm, &sheet(&rows), &[]);
        assert_eq!(r.matches.rows[2], RowMatch::Blocked);
        assert_eq!(r.plan.rows[2].action, RowAction::Error);
        assert_eq!(r.plan.totals.error, 2);
        assert_eq!(r.plan.totals.changes(), 0, "the repeated rows' edits are not applied");
    }

    #[test]
    fn the_same_detail_exported_under_two_insureds_is_a_warning_applied_once() {
        // An entry shared by two insureds is exported once per insured: same Public ID, same
        // values, another case and insured. That is not a conflicting edit.
        let mut crm = crm();
        crm.put(Record::Insured(Insured {
            id: 7,
            case_id: 2,
            reference: "INS-7".into(),
            first_name: "José".into(),
            last_name: "Álvarez".into(),
            entry_id: Some(1),
        }));
        let edited = jose_address().set(c::CITY, "Salem");
        let twin = edited.clone().set(c::CASE_REFERENCE, "CASE-002").set(c::INSURED_REFERENCE, "INS-7");
        let r = run(&crm, &sheet(&[edited.clone(), twin.clone()]), &[]);
        assert_eq!(r.validated.error_count(), 0, "{:#?}", r.validated.issues);
        let issue = &r.validated.issues[0];
        assert_eq!(
            (issue.code.as_str(), issue.severity, issue.row),
            ("public-id-repeated-same", Severity::Warning, 3)
        );
        assert!(issue.message.contains("row 2"), "{}", issue.message);
        assert!(!r.validated.rows[1].blocked());
        assert_eq!(r.plan.rows[0].action, RowAction::UpdateDetail);
        assert_eq!(r.plan.rows[1].action, RowAction::Unchanged);
        assert_eq!(r.plan.totals.update, 1);
        assert_eq!(put_details(&r.plan).len(), 1);

        // Edited differently on the two rows: an error on the second.
        let r = run(&crm, &sheet(&[edited, twin.set(c::CITY, "Lynn")]), &[]);
        assert_eq!(r.validated.issues.len(), 1);
        assert_eq!(
            (r.validated.issues[0].code.as_str(), r.validated.issues[0].severity),
            ("public-id-repeated", Severity::Error)
        );
        assert!(r.validated.rows[1].blocked());
    }

    #[test]
    fn cell_names_follow_the_files_column_positions_when_columns_are_reordered() {
        // The file's columns: reversed template order, so template column t is at 18 - t.
        let order: Vec<usize> = (0..19).rev().collect();
        let bad =
            base().set(c::SSN, "000-12-3456").set(c::PRIMARY, "Maybe").set(c::CASE_REFERENCE, "CASE-999");
        let v = validate(&crm(), &sheet_in_order(&[base(), bad.clone()], &order));
        assert!(v.rows[0].errors == 0, "{:?}", v.issues);
        let cell_of = |code: &str| v.issues.iter().find(|i| i.code == code).and_then(|i| i.cell.clone());
        // SSN (template F) is file column 18 - 5 = 13 → N; Primary (J) → 18 - 9 = 9 → J;
        // Case Reference (A) → 18 → S.
        assert_eq!(cell_of("ssn-invalid").as_deref(), Some("N3"));
        assert_eq!(cell_of("yes-no").as_deref(), Some("J3"));
        assert_eq!(cell_of("case-unknown").as_deref(), Some("S3"));
        // The column names the template header, whatever its position.
        assert_eq!(v.issues.iter().find(|i| i.code == "ssn-invalid").unwrap().column.as_deref(), Some("SSN"));

        // An extra unknown column in front shifts every cell by one.
        let mut s = sheet(std::slice::from_ref(&bad));
        s.header.insert(0, "Notes".into());
        for r in &mut s.rows {
            r.cells.insert(0, RawCell::Text("free text".into()));
        }
        let v = validate(&crm(), &s);
        let cell_of = |code: &str| v.issues.iter().find(|i| i.code == code).and_then(|i| i.cell.clone());
        assert_eq!(cell_of("ssn-invalid").as_deref(), Some("G2"));
        assert_eq!(cell_of("case-unknown").as_deref(), Some("B2"));
    }

    #[test]
    fn warnings_do_not_block_a_row_and_errors_do() {
        let crm = crm();
        let warned = base().set(c::PHONE, "+1 617 555 0166").set(c::EMAIL, "ignored@example.com");
        let errored = base().set(c::PHONE, "+1 617 555 0167").set(c::SSN, "000-00-0000");
        let r = run(&crm, &sheet(&[warned, errored]), &[]);
        assert_eq!((r.validated.rows[0].warnings, r.validated.rows[0].errors), (1, 0));
        assert!(!r.validated.rows[0].blocked());
        assert!(r.validated.rows[1].blocked());
        assert_eq!(r.matches.rows[0], matched(MatchTier::ClientReference, 1, None));
        assert_eq!(r.matches.rows[1], RowMatch::Blocked);
        assert_eq!(r.plan.rows[0].action, RowAction::AddDetail);
        assert_eq!(r.plan.rows[1].action, RowAction::Error);
        // The warned row's stray email is not stored on its phone detail.
        assert_eq!(put_details(&r.plan)[0].fields.email, "");
    }

    #[test]
    fn validation_never_fails_as_a_whole_on_garbage() {
        let crm = crm();
        let mut s = sheet(&[base()]);
        s.rows.push(SheetRow {
            sheet_row: 3,
            cells: vec![
                RawCell::Error("#N/A".into()),
                RawCell::Number(42.0),
                RawCell::Bool(true),
                RawCell::DateSerial(1.5),
            ],
        });
        let v = validate(&crm, &s);
        assert_eq!(v.rows.len(), 2);
        assert!(v.rows[1].blocked());
        assert!(v.issues.iter().any(|i| i.code == "cell-error" && i.cell.as_deref() == Some("A3")));
    }
}

// ----------------------------------------------------------------------------------------
// Header mapping
// ----------------------------------------------------------------------------------------

mod headers {
    use super::*;
    use roundtrip::core::headers::HeaderSource;
    use roundtrip::core::text::fold_compact;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_templates_own_headers_map_exactly_and_silently() {
        let m = map_headers(&T, &h(&T.headers()), &BTreeMap::new());
        assert_eq!(m.columns, (0..19).map(Some).collect::<Vec<_>>());
        assert!(m.mapped.iter().all(|x| x.source == HeaderSource::Exact));
        assert!(!m.needs_confirmation());
        assert!(m.is_usable());
        assert!(m.ignored.is_empty() && m.missing_optional.is_empty() && m.missing_required.is_empty());
    }

    #[test]
    fn headers_match_whatever_their_case_and_surrounding_space() {
        let m = map_headers(&T, &h(&["  first NAME ", "LAST NAME", "public id"]), &BTreeMap::new());
        assert_eq!(
            (m.columns[c::FIRST_NAME], m.columns[c::LAST_NAME], m.columns[c::PUBLIC_ID]),
            (Some(0), Some(1), Some(2))
        );
        assert!(m.mapped.iter().all(|x| x.source == HeaderSource::Exact));
        assert!(!m.needs_confirmation());
    }

    #[test]
    fn similar_headers_are_suggested_for_confirmation() {
        let m = map_headers(
            &T,
            &h(&["Frist Name", "Last Name", "E-mail", "Post code", "Public-ID"]),
            &BTreeMap::new(),
        );
        assert_eq!(m.columns[c::FIRST_NAME], Some(0));
        assert_eq!(m.columns[c::EMAIL], Some(2));
        assert_eq!(m.columns[c::POSTCODE], Some(3));
        assert_eq!(m.columns[c::PUBLIC_ID], Some(4));
        assert!(m.needs_confirmation());
        let first = m.mapped.iter().find(|x| x.template_column == c::FIRST_NAME).unwrap();
        assert_eq!(first.source, HeaderSource::Suggested);
        assert!(first.score < 1.0 && first.score >= roundtrip::core::headers::SUGGESTION_THRESHOLD);
        assert_eq!(
            m.mapped.iter().find(|x| x.template_column == c::LAST_NAME).unwrap().source,
            HeaderSource::Exact
        );
    }

    #[test]
    fn a_confirmed_mapping_is_remembered_for_the_next_file() {
        let mut m = map_headers(&T, &h(&["Frist Name", "Surname"]), &BTreeMap::new());
        assert_eq!(m.columns[c::LAST_NAME], None, "Surname is not similar by spelling");
        assert_eq!(m.missing_required, vec!["Last Name".to_string()]);
        m.confirm();
        assert!(!m.needs_confirmation());
        let mut memory: BTreeMap<String, String> = m.to_remember(&T).into_iter().collect();
        assert_eq!(memory.get(&fold_compact("Frist Name")).map(String::as_str), Some("First Name"));
        // The operator maps Surname by hand; it is remembered too.
        memory.insert(fold_compact("Surname"), "Last Name".into());
        let next = map_headers(&T, &h(&["frist name", "SURNAME", "Email"]), &memory);
        assert_eq!((next.columns[c::FIRST_NAME], next.columns[c::LAST_NAME]), (Some(0), Some(1)));
        assert_eq!(next.mapped[0].source, HeaderSource::Remembered);
        assert!(!next.needs_confirmation());
        assert!(next.is_usable());
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let mut headers = T.headers();
        headers.retain(|x| *x != "First Name");
        let m = map_headers(&T, &h(&headers), &BTreeMap::new());
        assert_eq!(m.missing_required, vec!["First Name".to_string()]);
        assert!(!m.is_usable());
        let m = map_headers(&T, &h(&["Email"]), &BTreeMap::new());
        assert_eq!(m.missing_required, vec!["First Name".to_string(), "Last Name".to_string()]);
        assert!(m.missing_optional.contains(&"Public ID".to_string()));
    }

    #[test]
    fn unknown_columns_are_reported_and_ignored() {
        let m = map_headers(
            &T,
            &h(&["First Name", "Favourite Colour", "Last Name", "", "Shoe size"]),
            &BTreeMap::new(),
        );
        assert_eq!(m.ignored, vec!["Favourite Colour".to_string(), "Shoe size".to_string()]);
        assert_eq!((m.columns[c::FIRST_NAME], m.columns[c::LAST_NAME]), (Some(0), Some(2)));
        assert!(m.is_usable());
        assert!(!m.needs_confirmation());
    }

    #[test]
    fn a_header_is_used_once_even_if_two_template_columns_resemble_it() {
        let m = map_headers(&T, &h(&["First Name", "Last Name", "Address Line"]), &BTreeMap::new());
        let used: Vec<usize> = m.columns.iter().flatten().copied().collect();
        let mut dedup = used.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(used.len(), dedup.len(), "{:?}", m.columns);
    }
}

// ----------------------------------------------------------------------------------------
// The downloadable template workbook
// ----------------------------------------------------------------------------------------

mod template_workbook {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use roundtrip::core::template::write_template_workbook;
    use std::io::{Cursor, Read};

    fn unzip(bytes: &[u8], name: &str) -> String {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn the_template_has_the_export_headers_in_order_and_an_instructions_sheet() {
        let bytes = write_template_workbook(&T).unwrap();
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
        assert_eq!(wb.sheet_names(), vec![T.sheet_name.to_string(), "Instructions".to_string()]);
        let data = wb.worksheet_range(T.sheet_name).unwrap();
        let header: Vec<Data> = data.rows().next().unwrap().to_vec();
        let expected: Vec<Data> = roundtrip::core::export::INSURED_EXPORT_COLUMNS
            .iter()
            .map(|h| Data::String(h.to_string()))
            .collect();
        assert_eq!(header, expected);
        assert_eq!(data.height(), 1, "no data rows");
        let instructions = wb.worksheet_range("Instructions").unwrap();
        let rows: Vec<Vec<Data>> = instructions.rows().map(|r| r.to_vec()).collect();
        for (i, spec) in T.columns.iter().enumerate() {
            assert_eq!(rows[i + 1][0], Data::String(spec.header.to_string()));
            assert_eq!(rows[i + 1][1], Data::String(if spec.required { "Yes" } else { "No" }.to_string()));
        }
    }

    #[test]
    fn detail_type_and_primary_carry_dropdown_validation() {
        let bytes = write_template_workbook(&T).unwrap();
        let xml = unzip(&bytes, "xl/worksheets/sheet1.xml");
        assert!(xml.contains("<dataValidations"), "{xml}");
        let validations: Vec<&str> = xml.split("<dataValidation ").skip(1).collect();
        let find = |col: &str| {
            validations
                .iter()
                .find(|v| v.contains(&format!("sqref=\"{col}2:{col}1048576\"")))
                .unwrap_or_else(|| panic!("no validation on column {col}: {xml}"))
                .to_string()
        };
        let detail_type = find("H");
        assert!(detail_type.contains("type=\"list\""));
        assert!(detail_type.contains("Address,Phone,Email"), "{detail_type}");
        let primary = find("J");
        assert!(primary.contains("type=\"list\""));
        assert!(primary.contains("Yes,No"), "{primary}");
        assert_eq!(validations.len(), 2, "only the enumerated columns have dropdowns");
    }

    /// The fill colour of the cell `cell` on sheet 1 (via cellXfs → fills).
    fn fill_of(bytes: &[u8], cell: &str) -> Option<String> {
        let sheet = unzip(bytes, "xl/worksheets/sheet1.xml");
        let styles = unzip(bytes, "xl/styles.xml");
        let tag = sheet.split(&format!("<c r=\"{cell}\"")).nth(1)?;
        let tag = &tag[..tag.find('>')?];
        let s: usize = tag.split("s=\"").nth(1)?.split('"').next()?.parse().ok()?;
        let xfs = styles.split("<cellXfs").nth(1)?.split("</cellXfs>").next()?;
        let xf = xfs.split("<xf ").nth(s + 1)?;
        let fill_id: usize = xf.split("fillId=\"").nth(1)?.split('"').next()?.parse().ok()?;
        let fills = styles.split("<fills").nth(1)?.split("</fills>").next()?;
        let fill = fills.split("<fill>").nth(fill_id + 1)?;
        Some(
            fill.split("fgColor rgb=\"")
                .nth(1)
                .map(|c| c.split('"').next().unwrap_or("").to_string())
                .unwrap_or_default(),
        )
    }

    #[test]
    fn required_headers_are_filled_red_and_the_others_are_not() {
        let bytes = write_template_workbook(&T).unwrap();
        let styles = unzip(&bytes, "xl/styles.xml");
        assert!(styles.contains("FFC0392B"), "{styles}");
        for (i, spec) in T.columns.iter().enumerate() {
            let cell = format!("{}1", roundtrip::core::text::column_letters(i));
            let fill = fill_of(&bytes, &cell).unwrap_or_else(|| panic!("no style on {cell}"));
            assert_eq!(fill == "FFC0392B", spec.required, "{} ({cell}) fill {fill}", spec.header);
        }
        assert!(T.columns.iter().any(|c| c.required));
    }
}

// ----------------------------------------------------------------------------------------
// Files: XLSX written and read back
// ----------------------------------------------------------------------------------------

/// Reading bytes into a `Sheet` the way the app's reader does: the first sheet, the header
/// row as trimmed text, data rows with their 1-based sheet row, text kept as written and
/// Excel dates as date serials; blank rows are dropped.
mod files {
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    pub fn read_xlsx(bytes: &[u8], file_name: &str) -> Sheet {
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX file");
        let name = wb.sheet_names()[0].clone();
        let range = wb.worksheet_range(&name).unwrap();
        let (top, _) = range.start().unwrap_or((0, 0));
        let mut rows = range.rows();
        let header: Vec<String> = rows
            .next()
            .map(|r| r.iter().map(|d| cell(d).as_text().trim().to_string()).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (i, r) in rows.enumerate() {
            let row = SheetRow { sheet_row: top as usize + i + 2, cells: r.iter().map(cell).collect() };
            if !row.is_blank() {
                out.push(row);
            }
        }
        Sheet {
            file_name: file_name.into(),
            sheet_name: name,
            format: SourceFormat::Xlsx,
            header,
            rows: out,
            warnings: Vec::new(),
        }
    }

    fn cell(d: &Data) -> RawCell {
        match d {
            Data::Empty => RawCell::Empty,
            Data::String(s) => RawCell::Text(s.as_str().into()),
            Data::Float(f) => RawCell::Number(*f),
            Data::Int(i) => RawCell::Number(*i as f64),
            Data::Bool(b) => RawCell::Bool(*b),
            Data::DateTime(dt) => RawCell::DateSerial(dt.as_f64()),
            Data::DateTimeIso(s) | Data::DurationIso(s) => RawCell::Text(s.as_str().into()),
            Data::Error(e) => RawCell::Error(format!("{e:?}")),
        }
    }

    /// Writes `rows` (header first) as an XLSX workbook: every cell text except the
    /// Date of Birth column, written as a real date when it holds an ISO date.
    pub fn write_xlsx(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let sheet = wb.add_worksheet();
        let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        for (col, h) in header.iter().enumerate() {
            sheet.write_string(0, col as u16, *h).unwrap();
        }
        for (i, r) in rows.iter().enumerate() {
            for (col, v) in r.iter().enumerate() {
                if v.is_empty() {
                    continue;
                }
                let (row, col16) = ((i + 1) as u32, col as u16);
                match (header[col], Date::parse_iso(v)) {
                    ("Date of Birth", Some(d)) => {
                        let dt =
                            rust_xlsxwriter::ExcelDateTime::from_ymd(d.year as u16, d.month, d.day).unwrap();
                        sheet.write_datetime_with_format(row, col16, &dt, &date_format).unwrap();
                    }
                    _ => {
                        sheet.write_string(row, col16, v).unwrap();
                    }
                }
            }
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn an_xlsx_file_runs_through_the_pipeline_like_the_sheet_it_holds() {
        let crm = crm();
        let rows: Vec<Vec<String>> = mixed_file().iter().map(|r| r.0.to_vec()).collect();
        let bytes = write_xlsx(&T.headers(), &rows);
        let s = read_xlsx(&bytes, "mixed.xlsx");
        assert_eq!(s.rows.len(), 6);
        let from_file = run(&crm, &s, &[]);
        let from_sheet = run(&crm, &sheet(&mixed_file()), &[]);
        assert!(from_file.validated.issues.is_empty(), "{:?}", from_file.validated.issues);
        assert_eq!(from_file.validated.rows[0].date(c::DATE_OF_BIRTH), Date::new(1980, 5, 17));
        assert_eq!(from_file.plan.totals, from_sheet.plan.totals);
        assert_eq!(from_file.plan.changes, from_sheet.plan.changes);
    }

    /// CSV bytes as a `Sheet` (comma-delimited UTF-8; every cell is text). Stands in for the
    /// app's reader until `read::read_sheet` is available.
    pub fn read_csv(bytes: &[u8], file_name: &str) -> Sheet {
        // One record per line (the fixtures have no line breaks inside quotes), so that each
        // row keeps its line number.
        let text = std::str::from_utf8(bytes).unwrap();
        let parse = |line: &str| -> Vec<String> {
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
            reader
                .records()
                .next()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let mut lines = text.lines();
        let header = parse(lines.next().unwrap()).into_iter().map(|h| h.trim().to_string()).collect();
        let rows = lines
            .enumerate()
            .map(|(i, line)| SheetRow {
                sheet_row: i + 2,
                cells: parse(line).iter().map(|c| text_cell(c)).collect(),
            })
            .filter(|r| !r.is_blank())
            .collect();
        Sheet {
            file_name: file_name.into(),
            sheet_name: String::new(),
            format: SourceFormat::Csv { delimiter: b',' },
            header,
            rows,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_csv_file_with_its_own_column_order_quoted_commas_and_lower_case_values_plans_correctly() {
        let crm = crm();
        let csv = "Public ID,Last Name,First Name,Client Reference,Detail Type,Label,Address Line 1,City,Region,Postcode,Country,Primary,Extra\r\n\
                   CD-0000001,Álvarez,José,CR-001,address,Home,\"1 Main St, Apt 2\",Springfield,MA,02134,US,yes,ignored\r\n\
                   ,Johnson,Mary,CR-003,phone,,,,,,,no,\r\n\
                   \r\n\
                   ,Lee,Ann,,email,,,,,,,,\r\n";
        let s = read_csv(csv.as_bytes(), "edit.csv");
        let m = map_headers(&T, &s.header, &BTreeMap::new());
        assert_eq!(m.ignored, vec!["Extra".to_string()]);
        let r = run(&crm, &s, &[]);
        // Row 3 is a phone row without a phone (G3: the file's Phone column is absent, so no
        // cell); row 5 (after a blank line) an email row without email and no identifier.
        let codes: Vec<(usize, &str)> = r.validated.issues.iter().map(|i| (i.row, i.code.as_str())).collect();
        assert_eq!(codes, vec![(3, "phone-missing"), (5, "email-missing")]);
        assert!(r.validated.issues.iter().all(|i| i.cell.is_none()), "absent columns have no cell");
        assert_eq!(r.plan.rows[0].action, RowAction::UpdateDetail);
        assert_eq!(r.plan.rows[0].changes, vec![change("Address Line 1", "1 Main St", "1 Main St, Apt 2")]);
        assert_eq!(r.plan.rows[1].action, RowAction::Error);
        assert_eq!(put_details(&r.plan)[0].fields.postcode, "02134");
    }

    #[test]
    fn leading_zeros_of_text_identifiers_survive_the_file() {
        let crm = crm();
        let row = Row::person("CASE-002", "INS-4", "Nora", "Quinn", "000123", "").address(
            "Home",
            "9 Pine Rd",
            "Salem",
            "01970",
        );
        let bytes = write_xlsx(&T.headers(), &[row.0.to_vec()]);
        let r = run(&crm, &read_xlsx(&bytes, "zeros.xlsx"), &[]);
        let e = put_entries(&r.plan)[0];
        assert_eq!(e.client_reference.as_deref(), Some("000123"));
        assert_eq!(put_details(&r.plan)[0].fields.postcode, "01970");
    }
}

// ----------------------------------------------------------------------------------------
// The whole pipeline on the demo CRM
// ----------------------------------------------------------------------------------------

mod whole_pipeline {
    use super::files::{read_xlsx, write_xlsx};
    use super::*;
    use roundtrip::core::demo::demo_crm;
    use roundtrip::core::export::{
        insured_export_rows, portfolio_case_ids, write_insured_export, INSURED_EXPORT_COLUMNS,
    };

    fn export_bytes(crm: &Crm, case_ids: &[u32]) -> Vec<u8> {
        let index = CrmIndex::new(crm);
        write_insured_export(&insured_export_rows(&index, case_ids)).unwrap()
    }

    /// The cells of an export workbook as text rows (dates as ISO), header excluded.
    fn export_cells(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let s = read_xlsx(bytes, "export.xlsx");
        let rows = s
            .rows
            .iter()
            .map(|r| {
                (0..s.header.len())
                    .map(|col| match r.cell(col) {
                        RawCell::DateSerial(x) => Date::from_excel_serial(*x).unwrap().to_string(),
                        other => other.as_text(),
                    })
                    .collect()
            })
            .collect();
        (s.header, rows)
    }

    fn import(crm: &Crm, bytes: &[u8], choose: impl Fn(&Matches) -> Vec<Option<GroupChoice>>) -> Run {
        let s = read_xlsx(bytes, "import.xlsx");
        let m = map_headers(&T, &s.header, &BTreeMap::new());
        assert!(m.is_usable() && !m.needs_confirmation() && m.ignored.is_empty());
        let index = CrmIndex::new(crm);
        let validated =
            Validator { template: &T, mapping: &m, index: &index, options: ValidationOptions::default() }
                .all(&s.rows);
        let matches = Matcher::new(&T, &index).all(&validated.rows);
        let choices = choose(&matches);
        let plan = plan_insured_contact_details(crm, &validated, &matches, &choices);
        Run { validated, matches, plan }
    }

    #[test]
    fn demo_export_edited_imported_applied_and_exported_again_reimports_with_zero_changes() {
        let mut crm = demo_crm(7, 1);
        let portfolio = *crm.portfolios.keys().next().unwrap();
        let case_ids = portfolio_case_ids(&crm, portfolio);
        let (header, mut rows) = export_cells(&export_bytes(&crm, &case_ids));
        assert_eq!(header, INSURED_EXPORT_COLUMNS.iter().map(|h| h.to_string()).collect::<Vec<_>>());
        assert!(rows.len() > 20, "a portfolio with some work in it");

        // The unedited export, imported as it is with every dropdown left alone, is valid and
        // changes nothing: rows of insureds linked to no entry carry nothing to import.
        let pristine = import(&crm, &export_bytes(&crm, &case_ids), |m| vec![None; m.groups.len()]);
        assert!(pristine.matches.groups.is_empty(), "{:#?}", pristine.matches.groups);
        assert_eq!(pristine.validated.error_count(), 0, "{:#?}", pristine.validated.issues);
        assert_eq!(
            pristine.plan.totals.changes(),
            0,
            "{:#?}",
            pristine.plan.rows.iter().filter(|r| !r.changes.is_empty()).collect::<Vec<_>>()
        );

        // Edit 1: change the address line of a row that has a Public ID.
        let col = |name: &str| INSURED_EXPORT_COLUMNS.iter().position(|h| *h == name).unwrap();
        let a = rows
            .iter()
            .position(|r| r[col("Detail Type")] == "Address" && !r[col("Public ID")].is_empty())
            .unwrap();
        let changed_pid = rows[a][col("Public ID")].clone();
        rows[a][col("Address Line 1")] = "742 Evergreen Terrace".into();

        // Edit 2: a phone row without Public ID for an existing person (by Client Reference).
        let p = rows
            .iter()
            .position(|r| !r[col("Client Reference")].is_empty() && !r[col("Public ID")].is_empty())
            .unwrap();
        let mut phone_row = rows[p].clone();
        for cell in &mut phone_row[col("Detail Type")..=col("Public ID")] {
            cell.clear();
        }
        phone_row[col("Detail Type")] = "Phone".into();
        phone_row[col("Label")] = "Work".into();
        phone_row[col("Primary")] = "No".into();
        phone_row[col("Phone")] = "+1 617 555 0199".into();
        let phone_cref = phone_row[col("Client Reference")].clone();
        rows.push(phone_row);

        // Edit 3: a new person with a new Client Reference on an existing case and insured —
        // an insured linked to no entry yet, so the other edits' entries keep their links.
        let host_insured = crm
            .insureds
            .values()
            .find(|i| i.entry_id.is_none() && case_ids.contains(&i.case_id))
            .expect("the demo portfolio has an insured without entry")
            .clone();
        let host_case = crm.cases[&host_insured.case_id].reference.clone();
        let host = rows
            .iter()
            .find(|r| {
                r[col("Case Reference")] == host_case && r[col("Insured Reference")] == host_insured.reference
            })
            .unwrap()
            .clone();
        let mut new_row = vec![String::new(); 19];
        new_row[col("Case Reference")] = host[col("Case Reference")].clone();
        new_row[col("Insured Reference")] = host[col("Insured Reference")].clone();
        new_row[col("First Name")] = "Zélie".into();
        new_row[col("Last Name")] = "Brandvold".into();
        new_row[col("Client Reference")] = "CR-NEW-0001".into();
        new_row[col("Detail Type")] = "Email".into();
        new_row[col("Label")] = "Home".into();
        new_row[col("Primary")] = "Yes".into();
        new_row[col("Email")] = "zelie@example.org".into();
        rows.push(new_row);

        // Edit 4: a typo'd name of an existing person, without Client Reference or SSN or case.
        let victim_id = crm
            .entries
            .values()
            .find(|e| {
                e.first_name.len() >= 5
                    && e.last_name.len() >= 5
                    && e.first_name.is_ascii()
                    && e.last_name.is_ascii()
                    && crm
                        .entries
                        .values()
                        .filter(|o| o.first_name == e.first_name && o.last_name == e.last_name)
                        .count()
                        == 1
                    && crm
                        .insureds
                        .values()
                        .any(|i| i.entry_id == Some(e.id) && case_ids.contains(&i.case_id))
            })
            .map(|e| e.id)
            .unwrap();
        let victim = crm.entries[&victim_id].clone();
        let typo = |s: &str| {
            let mut ch: Vec<char> = s.chars().collect();
            let n = ch.len();
            ch.swap(n - 2, n - 1);
            ch.into_iter().collect::<String>()
        };
        let mut typo_row = vec![String::new(); 19];
        typo_row[col("First Name")] = typo(&victim.first_name);
        typo_row[col("Last Name")] = typo(&victim.last_name);
        typo_row[col("Detail Type")] = "Email".into();
        typo_row[col("Label")] = "Work".into();
        typo_row[col("Primary")] = "No".into();
        typo_row[col("Email")] = "typo.person@example.org".into();
        rows.push(typo_row);

        let edited = write_xlsx(&INSURED_EXPORT_COLUMNS, &rows);
        let r = import(&crm, &edited, |m| {
            m.groups
                .iter()
                .map(|g| {
                    if g.client_reference == "CR-NEW-0001" {
                        None // left on the default: Create new
                    } else if g.first_name == typo(&victim.first_name) {
                        Some(GroupChoice::Existing(g.candidates[0].entry))
                    } else {
                        Some(GroupChoice::Skip) // insureds without an entry
                    }
                })
                .collect()
        });
        assert_eq!(r.validated.error_count(), 0, "{:#?}", r.validated.issues);
        let typo_group = r.matches.groups.iter().find(|g| g.first_name == typo(&victim.first_name)).unwrap();
        assert_eq!(typo_group.candidates[0].entry, victim_id, "{:?}", typo_group.candidates);
        let t = r.plan.totals;
        assert_eq!(
            (t.create, t.update, t.add),
            (1, 1, 3),
            "{:#?}",
            r.plan.rows.iter().filter(|p| p.action != RowAction::Unchanged).collect::<Vec<_>>()
        );
        assert_eq!(r.plan.pending_conflicts, 0);

        apply_plan(&mut crm, &r.plan);
        let new_entry = crm
            .entries
            .values()
            .find(|e| e.client_reference.as_deref() == Some("CR-NEW-0001"))
            .unwrap()
            .clone();
        assert_eq!((new_entry.first_name.as_str(), new_entry.last_name.as_str()), ("Zélie", "Brandvold"));

        // Export again and check each change in its cells.
        let after_bytes = export_bytes(&crm, &case_ids);
        let (_, after) = export_cells(&after_bytes);
        let changed = after.iter().find(|r| r[col("Public ID")] == changed_pid).unwrap();
        assert_eq!(changed[col("Address Line 1")], "742 Evergreen Terrace");
        assert!(after.iter().any(|r| r[col("Client Reference")] == phone_cref
            && r[col("Detail Type")] == "Phone"
            && r[col("Phone")] == "+1 617 555 0199"
            && !r[col("Public ID")].is_empty()));
        let new_rows: Vec<&Vec<String>> =
            after.iter().filter(|r| r[col("Client Reference")] == "CR-NEW-0001").collect();
        assert_eq!(new_rows.len(), 1, "the new person is linked to the insured and exported");
        assert_eq!(new_rows[0][col("First Name")], "Zélie");
        assert_eq!(new_rows[0][col("Email")], "zelie@example.org");
        assert_eq!(new_rows[0][col("Insured Reference")], host[col("Insured Reference")]);
        let victim_detail =
            crm.details.values().find(|d| d.fields.email == "typo.person@example.org").unwrap();
        assert_eq!(victim_detail.entry_id, victim_id, "the typo'd row went to the chosen existing entry");
        assert!(
            after
                .iter()
                .any(|r| r[col("Email")] == "typo.person@example.org"
                    && r[col("Last Name")] == victim.last_name)
        );

        // Re-import the new export: nothing to do.
        let again = import(&crm, &after_bytes, |m| vec![Some(GroupChoice::Skip); m.groups.len()]);
        assert_eq!(again.validated.error_count(), 0, "{:#?}", again.validated.issues);
        assert_eq!(
            again.plan.totals.changes(),
            0,
            "{:#?}",
            again.plan.rows.iter().filter(|p| !p.changes.is_empty()).collect::<Vec<_>>()
        );
        assert!(again.plan.changes.is_empty());
        // Every row is decided by a tier (the only groups left are insureds with no entry).
        for (m, row) in again.matches.rows.iter().zip(&again.validated.rows) {
            if let RowMatch::Group(g) = m {
                let g = &again.matches.groups[*g];
                assert!(
                    row.text(c::CLIENT_REFERENCE).is_empty() && row.text(c::DETAIL_TYPE).is_empty(),
                    "{g:?}"
                );
            }
        }
    }
}
