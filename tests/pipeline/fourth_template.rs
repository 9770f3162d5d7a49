//! Adding a workflow means adding a template: two templates declared here, in the test, run
//! through the same stages as the app's own — bytes → `read_sheet` → `headers::recognise` →
//! `Validator` → `workflows::plan_file` (the planner of the workflow whose templates apply rows
//! the same way) → `record_import` (applied) → `undo` — with no code of their
//! own. Their columns are in another order and under other headers than the built-in
//! templates', so every stage must find them by field.

use super::*;
use roundtrip::core::headers::recognise;
use roundtrip::core::insurance::{DEVICE_INSURANCE, USER_INSURANCE};
use roundtrip::core::plan::history::record_import;
use roundtrip::core::read::read_sheet;
use roundtrip::core::template::{
    optional, required, ApplyRule, ColumnSpec, HeaderPolicy, RowRule, Template, ValueKind,
};
use roundtrip::core::workflows::plan_file;

/// Staff policy numbers by staff number: the insurance planner on a subset of the user
/// insurance fields, the key in the middle, headers of the school's own.
static STAFF_POLICY_COLUMNS: [ColumnSpec; 4] = [
    optional(Field::PolicyNumber, "Policy", ValueKind::Identifier, ""),
    required(Field::InsuranceStatus, "Covered", ValueKind::InsuranceStatus, ""),
    required(Field::UserId, "Staff Number", ValueKind::Identifier, ""),
    optional(Field::CoverageType, "Cover", ValueKind::Text, ""),
];

static STAFF_POLICIES: Template = Template {
    id: "staff-policies",
    name: "Staff policies",
    description: "Policy numbers of staff members by staff number.",
    target: EntityKind::SchoolUser,
    columns: &STAFF_POLICY_COLUMNS,
    header_policy: HeaderPolicy::RequiredSubset,
    cascade: &[MatchTier::UserId],
    apply: ApplyRule::OverwriteInsurance,
    row_rules: &[],
    sheet_name: "Staff Policies",
};

/// Phone numbers by Client Reference: the insured planner with only tier 2, a handful of
/// columns, phone first.
static PHONE_BOOK_COLUMNS: [ColumnSpec; 5] = [
    optional(Field::Phone, "Telephone", ValueKind::Phone, ""),
    optional(Field::DetailType, "What", ValueKind::OneOf(&["Address", "Phone", "Email"]), ""),
    required(Field::LastName, "Surname", ValueKind::Text, ""),
    required(Field::FirstName, "Given Name", ValueKind::Text, ""),
    optional(Field::ClientReference, "Client", ValueKind::Identifier, ""),
];

static PHONE_BOOK: Template = Template {
    id: "phone-book",
    name: "Phone book",
    description: "Phone numbers of CRM entries by Client Reference.",
    target: EntityKind::Detail,
    columns: &PHONE_BOOK_COLUMNS,
    header_policy: HeaderPolicy::Exact,
    cascade: &[MatchTier::ClientReference],
    apply: ApplyRule::UpsertContactDetail,
    row_rules: &[RowRule::DetailValuesMatchType],
    sheet_name: "Phone Book",
};

/// Every stage a file goes through, from its bytes to the batch that applies it.
fn through_the_stages(
    crm: &Crm,
    candidates: &[&'static Template],
    csv: &str,
) -> (&'static Template, Validated, ImportPlan, ChangeSet, ImportRecord) {
    let sheet = read_sheet("file.csv", csv.as_bytes()).expect("readable");
    let recognised = recognise(candidates, None, &sheet.header, &BTreeMap::new()).expect("recognised");
    let template = recognised.template;
    let index = CrmIndex::new(crm);
    let validated =
        Validator::new(template, &recognised.mapping, &index, ValidationOptions::default()).all(&sheet.rows);
    let plan = plan_file(crm, template, &validated).expect("a planner for the apply rule");
    let ctx = ApplyContext {
        template_id: template.id.into(),
        operator_login: "ops".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: "file.csv".into(),
        sha256: "cd".repeat(32),
    };
    let (changes, record) = record_import(crm, &plan, &ctx);
    (template, validated, plan, changes, record)
}

fn school() -> Crm {
    let mut crm = Crm::default();
    for (id, name, role) in
        [("S-001", "Ana Souza", SchoolRole::Staff), ("S-002", "Ben Ito", SchoolRole::Staff)]
    {
        crm.put(Record::SchoolUser(SchoolUser {
            user_id: id.into(),
            name: name.into(),
            role,
            insurance: Insurance {
                status: Some(InsuranceStatus::NotEnrolled),
                policy_number: Some(format!("OLD-{id}")),
                coverage_amount_cents: Some(5_000),
                coverage_type: Some("Basic".into()),
                start: Date::new(2024, 1, 1),
                end: Date::new(2024, 12, 31),
            },
        }));
    }
    crm
}

#[test]
fn an_insurance_template_declared_in_the_test_reads_validates_plans_applies_and_undoes() {
    let mut crm = school();
    let before = crm.clone();
    // Another order than declared, and the optional Cover column left out.
    let csv = "Staff Number,Covered,Policy\nS-001,yes,NEW-1\nS-404,Enrolled,X\nS-002,Maybe,Y\n";
    let candidates = [&USER_INSURANCE, &DEVICE_INSURANCE, &STAFF_POLICIES];
    let (template, validated, plan, changes, record) = through_the_stages(&crm, &candidates, csv);
    assert_eq!(template.id, "staff-policies", "recognised by its own headers");
    assert_eq!(validated.issues.len(), 1);
    assert_eq!(
        (validated.issues[0].code, validated.issues[0].cell.as_deref()),
        (IssueCode::InsuranceStatus, Some("B4"))
    );

    assert_eq!(plan.template_id, "staff-policies");
    let actions: Vec<&RowAction> = plan.rows.iter().map(|r| &r.action).collect();
    assert_eq!(
        actions,
        [&RowAction::Update, &RowAction::Skip("no user with this ID".into()), &RowAction::Error]
    );
    assert_eq!(plan.rows[0].record_label(), "S-001", "the key is the Staff Number column, wherever it is");
    assert_eq!(
        plan.rows[0].changes,
        vec![
            FieldChange { field: "Policy".into(), before: "OLD-S-001".into(), after: "NEW-1".into() },
            FieldChange { field: "Covered".into(), before: "Not Enrolled".into(), after: "Enrolled".into() },
        ]
    );
    assert_eq!((plan.counts.updated, plan.counts.skipped, plan.counts.errors), (1, 1, 1));
    assert_eq!(
        plan.reads,
        [RecordKey { kind: EntityKind::SchoolUser, id: "S-001".into() }].into_iter().collect()
    );

    assert_eq!(record.counts, plan.counts);
    crm.apply_changes(&changes).unwrap();
    let ana = &crm.school_users["S-001"].insurance;
    assert_eq!((ana.status, ana.policy_number.as_deref()), (Some(InsuranceStatus::Enrolled), Some("NEW-1")));
    assert_eq!(ana.coverage_type.as_deref(), Some("Basic"), "a field the template has no column for is kept");
    assert_eq!(crm.school_users["S-002"], before.school_users["S-002"]);

    let back = undo(&crm).unwrap();
    crm.apply_changes(&back).unwrap();
    assert_eq!(crm.school_users, before.school_users);
    assert!(crm.imports[&record.id].undone);
}

#[test]
fn a_contact_details_template_declared_in_the_test_is_matched_planned_applied_and_undone() {
    let mut crm = crm();
    let before = crm.clone();
    let csv = "Client,Given Name,Surname,What,Telephone\n\
               CR-003,Mary,Johnson,Phone,+1 617 555 0177\n\
               CR-NEW,Zoe,Park,phone,+1 617 555 0178\n\
               CR-001,José,Álvarez,Email,+1 617 555 0179\n";
    let (template, validated, plan, changes, _) = through_the_stages(&crm, &[&PHONE_BOOK], csv);
    assert_eq!(template.id, "phone-book");
    let codes: Vec<(IssueCode, Option<&str>)> =
        validated.issues.iter().map(|i| (i.code, i.column.as_deref())).collect();
    assert_eq!(codes, [(IssueCode::EmailMissing, None), (IssueCode::ValueIgnored, Some("Telephone"))]);

    let labels: Vec<&str> = plan.rows.iter().map(|r| r.label()).collect();
    assert_eq!(labels, ["Added", "Created", "Error"]);
    assert_eq!(plan.rows[0].insured().unwrap().tier, Some(MatchTier::ClientReference));
    assert_eq!(plan.rows[0].insured().unwrap().entry, Some(3));
    assert_eq!((plan.counts.created, plan.counts.added, plan.counts.errors), (1, 2, 1));

    crm.apply_changes(&changes).unwrap();
    let zoe = crm.entries.values().find(|e| e.client_reference.as_deref() == Some("CR-NEW")).unwrap();
    assert_eq!((zoe.first_name.as_str(), zoe.last_name.as_str()), ("Zoe", "Park"));
    assert!(crm.details.values().any(|d| d.entry_id == 3 && d.fields.phone == "+1 617 555 0177"));

    crm.apply_changes(&undo(&crm).unwrap()).unwrap();
    assert_eq!((crm.entries.clone(), crm.details.clone()), (before.entries, before.details));
}
