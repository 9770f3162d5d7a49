//! The plan report and the error report of an insured contact details file, read back with
//! calamine: outcomes in the shared words, entries and candidates named with an identifier,
//! SSNs masked, issues of validation and of the plan on their cells.

use super::*;
use calamine::{Reader, Xlsx};
use roundtrip::core::insured::workflow::report_extras;
use roundtrip::core::report::{write_plan_error_report, write_plan_report};
use std::io::Cursor;

fn rows_of(bytes: Vec<u8>, sheet: &str) -> Vec<Vec<String>> {
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.iter().map(|d| d.to_string()).collect()).collect()
}

#[test]
fn the_plan_report_names_entries_and_candidates_with_an_identifier_and_uses_the_shared_words() {
    let crm = crm();
    let rows = [
        Row::person("", "", "Mary", "Johnson", "CR-003", "").phone("Mobile", "+1 617 555 0133"),
        Row::person("", "", "Ann", "Lee", "", "345-67-8901").email("Home", "ann@example.org"),
        Row::person("", "", "Jonh", "Smiht", "", "").phone("Home", "+1 617 555 0111"),
        Row::person("", "", "Ann", "Lee", "", "345-67-8901")
            .email("Home", "ann@example.org")
            .set(Field::Primary, "Maybe"),
    ];
    let r = run(&crm, &sheet(&rows), &[]);
    let bytes =
        write_plan_report(&r.validated, &r.plan, &report_extras(&crm, &r.plan, Some(&r.matches))).unwrap();
    let text = rows_of(bytes, "Import Plan");
    assert_eq!(
        text[0],
        [
            "Row",
            "Outcome",
            "Match tier",
            "CRM entry",
            "Detail",
            "Changes",
            "Issues",
            "Top candidates",
            "Changed in the CRM since export"
        ]
    );
    let outcome: Vec<&str> = text[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(outcome, ["Added", "Added", "Created", "Error"]);
    assert_eq!(text[1][3], "CR-003 · Mary Johnson");
    assert_eq!(text[2][3], "SSN XXX-XX-8901 · Ann Lee");
    assert_eq!(text[3][3], "New entry · Jonh Smiht");
    assert_eq!(text[1][4], "contact detail added to the entry");
    assert!(text[3][7].starts_with("Entry 2 · John Smith ("), "{}", text[3][7]);
    let all = text.concat().join("|");
    assert!(!all.contains("345-67-8901"), "no full SSN in the report");
}

#[test]
fn the_insured_error_report_lists_the_plans_issues_on_their_cells_with_validations() {
    let crm = crm();
    let rows = [
        Row::person("", "", "", "", "CR-NEW-9", "").phone("Home", "+1 617 555 0190"),
        jose_address().set(Field::Primary, "Maybe"),
    ];
    let r = run(&crm, &sheet(&rows), &[Some(GroupChoice::CreateNew)]);
    assert_eq!(r.plan.issues.len(), 1);
    let text = rows_of(write_plan_error_report(&T, &r.validated, &r.plan).unwrap(), T.sheet_name);
    let errors = text[0].len() - 1;
    assert_eq!(text[0][errors], "Errors");
    assert!(text[1][errors].contains("Error C2: First Name is empty"), "{}", text[1][errors]);
    assert!(
        text[1][errors].contains("Warning C2: First Name is empty — the CRM's value is kept"),
        "{}",
        text[1][errors]
    );
    assert!(text[2][errors].contains("Error J3"), "{}", text[2][errors]);
}
