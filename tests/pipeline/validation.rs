//! Validation rules: each rule raises its issue, with its code, on its cell.

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
    assert_eq!(v.rows[0].fields(&T).text(Field::Ssn), "123-45-6789");
    assert_eq!(v.rows[0].fields(&T).bool(Field::Primary), Some(true));
    assert_eq!(v.rows[0].fields(&T).date(Field::DateOfBirth), Date::new(1980, 5, 17));
}

#[test]
fn each_rule_raises_its_issue_on_its_cell() {
    type Edit = fn(Row) -> Row;
    // (what, edit, code, severity, cell)
    let table: &[(&str, Edit, IssueCode, Severity, &str)] = &[
        (
            "detail type not allowed",
            |r| r.set(Field::DetailType, "Fax"),
            IssueCode::NotAllowed,
            Severity::Error,
            "H2",
        ),
        (
            "address without line 1, taken as given",
            |r| r.set(Field::Phone, "").set(Field::DetailType, "Address").set(Field::City, "Boston"),
            IssueCode::AddressIncomplete,
            Severity::Warning,
            "K2",
        ),
        (
            "address without any value",
            |r| r.set(Field::Phone, "").set(Field::DetailType, "Address"),
            IssueCode::AddressMissing,
            Severity::Error,
            "K2",
        ),
        (
            "phone row without phone",
            |r| r.set(Field::Phone, ""),
            IssueCode::PhoneMissing,
            Severity::Error,
            "Q2",
        ),
        (
            "email row without email",
            |r| r.set(Field::Phone, "").set(Field::DetailType, "Email"),
            IssueCode::EmailMissing,
            Severity::Error,
            "R2",
        ),
        (
            "email syntax",
            |r| r.set(Field::Phone, "").set(Field::DetailType, "Email").set(Field::Email, "jose@@example"),
            IssueCode::EmailSyntax,
            Severity::Error,
            "R2",
        ),
        (
            "email with a space",
            |r| r.set(Field::Phone, "").email("Home", "jose alvarez@example.com"),
            IssueCode::EmailSyntax,
            Severity::Error,
            "R2",
        ),
        (
            "phone syntax",
            |r| r.set(Field::Phone, "555-CALL-NOW"),
            IssueCode::PhoneSyntax,
            Severity::Error,
            "Q2",
        ),
        ("phone too short", |r| r.set(Field::Phone, "555-01"), IssueCode::PhoneSyntax, Severity::Error, "Q2"),
        ("ssn format", |r| r.set(Field::Ssn, "12-345-678"), IssueCode::SsnFormat, Severity::Error, "F2"),
        ("ssn letters", |r| r.set(Field::Ssn, "12a-45-6789"), IssueCode::SsnFormat, Severity::Error, "F2"),
        ("ssn area 000", |r| r.set(Field::Ssn, "000-12-3456"), IssueCode::SsnInvalid, Severity::Error, "F2"),
        ("ssn area 666", |r| r.set(Field::Ssn, "666-12-3456"), IssueCode::SsnInvalid, Severity::Error, "F2"),
        ("ssn area 9xx", |r| r.set(Field::Ssn, "912-34-5678"), IssueCode::SsnInvalid, Severity::Error, "F2"),
        ("ssn group 00", |r| r.set(Field::Ssn, "123-00-4567"), IssueCode::SsnInvalid, Severity::Error, "F2"),
        (
            "ssn serial 0000",
            |r| r.set(Field::Ssn, "123-45-0000"),
            IssueCode::SsnInvalid,
            Severity::Error,
            "F2",
        ),
        ("primary not yes/no", |r| r.set(Field::Primary, "Maybe"), IssueCode::YesNo, Severity::Error, "J2"),
        (
            "unknown case",
            |r| r.set(Field::CaseReference, "CASE-999"),
            IssueCode::CaseUnknown,
            Severity::Error,
            "A2",
        ),
        (
            "insured of another case",
            |r| r.set(Field::InsuredReference, "INS-3"),
            IssueCode::InsuredUnknown,
            Severity::Error,
            "B2",
        ),
        (
            "insured without case",
            |r| r.set(Field::CaseReference, ""),
            IssueCode::CaseMissing,
            Severity::Error,
            "A2",
        ),
        // The base row has a Client Reference and an SSN: a missing name is kept from the CRM.
        (
            "missing first name",
            |r| r.set(Field::FirstName, ""),
            IssueCode::EmptyKept,
            Severity::Warning,
            "C2",
        ),
        ("blank last name", |r| r.set(Field::LastName, "   "), IssueCode::EmptyKept, Severity::Warning, "D2"),
        (
            "missing first name, only an SSN",
            |r| r.set(Field::FirstName, "").set(Field::ClientReference, ""),
            IssueCode::EmptyKept,
            Severity::Warning,
            "C2",
        ),
        // Without Public ID, Client Reference or SSN, names are needed (tier 3 keys on them).
        (
            "missing first name, no identifier",
            |r| r.set(Field::FirstName, "").set(Field::ClientReference, "").set(Field::Ssn, ""),
            IssueCode::NeededToIdentify,
            Severity::Error,
            "C2",
        ),
        (
            "missing last name, only a Public ID",
            |r| {
                r.set(Field::LastName, "")
                    .set(Field::ClientReference, "")
                    .set(Field::Ssn, "")
                    .public_id("CD-0000002")
            },
            IssueCode::EmptyKept,
            Severity::Warning,
            "D2",
        ),
        (
            "date of birth not a date",
            |r| r.set(Field::DateOfBirth, "17 May"),
            IssueCode::Date,
            Severity::Error,
            "G2",
        ),
        (
            "detail values without type",
            |r| r.set(Field::DetailType, ""),
            IssueCode::DetailTypeMissing,
            Severity::Error,
            "H2",
        ),
        (
            "value of another kind",
            |r| r.set(Field::Email, "jose@example.com"),
            IssueCode::ValueIgnored,
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
        assert_eq!(v.rows[0].blocked(), severity == Severity::Error, "{what}: errors block, warnings do not");
        assert_eq!(
            (v.error_count(), v.warning_count()),
            if severity == Severity::Error { (1, 0) } else { (0, 1) }
        );
    }
}

#[test]
fn messages_say_what_was_expected() {
    let v = validate(&crm(), &sheet(&[base().set(Field::Ssn, "666-12-3456").set(Field::Primary, "Maybe")]));
    let ssn = v.issues.iter().find(|i| i.code == IssueCode::SsnInvalid).unwrap();
    assert!(ssn.message.contains("666") && ssn.message.contains("expected"), "{}", ssn.message);
    let yn = v.issues.iter().find(|i| i.code == IssueCode::YesNo).unwrap();
    assert!(yn.message.contains("Yes or No") && yn.message.contains("Maybe"), "{}", yn.message);
    assert_eq!(v.rows[0].errors, 2);
}

#[test]
fn a_public_id_repeated_in_the_file_flags_the_later_rows_with_the_first_row_number() {
    let crm = crm();
    let rows = [
        jose_address(),
        base().public_id("CD-0000002"),
        jose_address().set(Field::City, "Salem").public_id("cd-0000001"),
        jose_address().set(Field::City, "Lynn"),
    ];
    let v = validate(&crm, &sheet(&rows));
    let repeated: Vec<_> = v.issues.iter().filter(|i| i.code == IssueCode::PublicIdRepeated).collect();
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
    assert_eq!(r.plan.counts.errors, 2);
    assert_eq!(r.plan.change_count(), 0, "the repeated rows' edits are not applied");
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
    let edited = jose_address().set(Field::City, "Salem");
    let twin = edited.clone().set(Field::CaseReference, "CASE-002").set(Field::InsuredReference, "INS-7");
    let r = run(&crm, &sheet(&[edited.clone(), twin.clone()]), &[]);
    assert_eq!(r.validated.error_count(), 0, "{:#?}", r.validated.issues);
    let issue = &r.validated.issues[0];
    assert_eq!(
        (issue.code, issue.severity, issue.row),
        (IssueCode::PublicIdRepeatedSame, Severity::Warning, 3)
    );
    assert!(issue.message.contains("row 2"), "{}", issue.message);
    assert!(!r.validated.rows[1].blocked());
    assert_eq!(r.plan.rows[0].action, RowAction::Update);
    assert_eq!(r.plan.rows[1].action, RowAction::Unchanged);
    assert_eq!(r.plan.counts.updated, 1);
    assert_eq!(put_details(&r.plan).len(), 1);

    // Edited differently on the two rows: an error on the second.
    let r = run(&crm, &sheet(&[edited, twin.set(Field::City, "Lynn")]), &[]);
    assert_eq!(r.validated.issues.len(), 1);
    assert_eq!(
        (r.validated.issues[0].code, r.validated.issues[0].severity),
        (IssueCode::PublicIdRepeated, Severity::Error)
    );
    assert!(r.validated.rows[1].blocked());
}

#[test]
fn cell_names_follow_the_files_column_positions_when_columns_are_reordered() {
    // The file's columns: reversed template order, so template column t is at 18 - t.
    let order: Vec<usize> = (0..19).rev().collect();
    let bad = base()
        .set(Field::Ssn, "000-12-3456")
        .set(Field::Primary, "Maybe")
        .set(Field::CaseReference, "CASE-999");
    let v = validate(&crm(), &sheet_in_order(&[base(), bad.clone()], &order));
    assert!(v.rows[0].errors == 0, "{:?}", v.issues);
    let cell_of = |code: IssueCode| v.issues.iter().find(|i| i.code == code).and_then(|i| i.cell.clone());
    // SSN (template F) is file column 18 - 5 = 13 → N; Primary (J) → 18 - 9 = 9 → J;
    // Case Reference (A) → 18 → S.
    assert_eq!(cell_of(IssueCode::SsnInvalid).as_deref(), Some("N3"));
    assert_eq!(cell_of(IssueCode::YesNo).as_deref(), Some("J3"));
    assert_eq!(cell_of(IssueCode::CaseUnknown).as_deref(), Some("S3"));
    // The column names the template header, whatever its position.
    assert_eq!(
        v.issues.iter().find(|i| i.code == IssueCode::SsnInvalid).unwrap().column.as_deref(),
        Some("SSN")
    );

    // An extra unknown column in front shifts every cell by one.
    let mut s = sheet(std::slice::from_ref(&bad));
    s.header.insert(0, "Notes".into());
    for r in &mut s.rows {
        r.cells.insert(0, RawCell::Text("free text".into()));
    }
    let v = validate(&crm(), &s);
    let cell_of = |code: IssueCode| v.issues.iter().find(|i| i.code == code).and_then(|i| i.cell.clone());
    assert_eq!(cell_of(IssueCode::SsnInvalid).as_deref(), Some("G2"));
    assert_eq!(cell_of(IssueCode::CaseUnknown).as_deref(), Some("B2"));
}

#[test]
fn warnings_do_not_block_a_row_and_errors_do() {
    let crm = crm();
    let warned = base().set(Field::Phone, "+1 617 555 0166").set(Field::Email, "ignored@example.com");
    let errored = base().set(Field::Phone, "+1 617 555 0167").set(Field::Ssn, "000-00-0000");
    let r = run(&crm, &sheet(&[warned, errored]), &[]);
    assert_eq!((r.validated.rows[0].warnings, r.validated.rows[0].errors), (1, 0));
    assert!(!r.validated.rows[0].blocked());
    assert!(r.validated.rows[1].blocked());
    assert_eq!(r.matches.rows[0], matched(MatchTier::ClientReference, 1, None));
    assert_eq!(r.matches.rows[1], RowMatch::Blocked);
    assert_eq!(r.plan.rows[0].action, RowAction::Add);
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
    assert!(v.issues.iter().any(|i| i.code == IssueCode::CellError && i.cell.as_deref() == Some("A3")));
}

#[test]
fn a_value_over_excels_cell_limit_is_an_error_on_its_cell_and_the_limit_itself_is_fine() {
    let crm = crm();
    let long = "x".repeat(40_000);
    let at_limit = "y".repeat(32_767);
    let s = sheet(&[base().set(Field::Label, &long), base().set(Field::Label, &at_limit)]);
    let v = validate(&crm, &s);
    let too_long: Vec<_> = v.issues.iter().filter(|i| i.code == IssueCode::CellTooLong).collect();
    assert_eq!(too_long.len(), 1, "{:?}", v.issues);
    assert!(too_long[0].message.contains("40000 characters"), "{}", too_long[0].message);
    assert!(too_long[0].message.contains("32,767"));
    assert_eq!(too_long[0].row, 2);
    assert!(v.rows[0].blocked(), "the row cannot be applied: no export could hold it");
    assert!(!v.rows[1].blocked(), "exactly 32,767 characters is allowed");
    // Both reports still write: the error report keeps the first 32,767 characters of the
    // long value in its cell, and its Errors column says how long it was.
    let report = roundtrip::core::report::write_error_report(&T, &v).expect("the error report writes");
    let (header, rows) = read_report(&report);
    let label = header.iter().position(|h| h == "Label").expect("a Label column");
    let errors = header.iter().position(|h| h == "Errors").expect("an Errors column");
    assert_eq!(rows[0][label].chars().count(), 32_767);
    assert_eq!(rows[1][label], at_limit);
    assert!(rows[0][errors].contains("40000 characters"), "{}", rows[0][errors]);
    assert!(rows[0][errors].chars().count() < 300, "the issue text does not quote the value");
    let plan = roundtrip::core::workflows::plan_file(&crm, &T, &v).expect("a workflow plans it");
    roundtrip::core::report::write_plan_report(&v, &plan, &Default::default())
        .expect("the plan report writes");
}

/// A report workbook's first sheet as text: its header and rows.
fn read_report(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).expect("the sheet");
    let mut rows = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<String>>());
    let header = rows.next().expect("a header");
    (header, rows.collect())
}
