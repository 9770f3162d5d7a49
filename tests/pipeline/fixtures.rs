//! The fixtures every pipeline test shares: a small hand-made CRM, file rows built field by
//! field, sheets of raw cells, and the stages run one after the other.

use super::*;

/// The column of a field in the insured contact details template.
pub fn ix(field: Field) -> usize {
    T.col(field).expect("an insured contact details column")
}

/// The insured facts of a planned row, read the way the tests read them.
pub trait InsuredRow {
    fn tier(&self) -> Option<MatchTier>;
    fn entry(&self) -> Option<EntryId>;
    fn public_id(&self) -> Option<&str>;
}

impl InsuredRow for PlannedRow {
    fn tier(&self) -> Option<MatchTier> {
        self.insured().and_then(|f| f.tier)
    }
    fn entry(&self) -> Option<EntryId> {
        self.insured().and_then(|f| f.entry)
    }
    fn public_id(&self) -> Option<&str> {
        self.insured().and_then(|f| f.public_id.as_deref())
    }
}

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
pub fn crm() -> Crm {
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
            ssn: ssn.map(|s| Ssn::parse(s).expect("a fixture SSN")),
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
        secret: Some(fixture_secret()),
    };
    crm
}

/// The fixture CRM's digest secret (a test's seed, never a real one).
pub fn fixture_secret() -> CrmSecret {
    CrmSecret::from_bytes(std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11)))
}

/// One file row in template column order, built field by field.
#[derive(Debug, Clone, Default)]
pub struct Row(pub [String; 19]);

impl Row {
    pub fn new() -> Row {
        Row::default()
    }
    /// A person: case, insured, first, last, Client Reference, SSN (empty strings for none).
    pub fn person(case: &str, insured: &str, first: &str, last: &str, cref: &str, ssn: &str) -> Row {
        Row::new()
            .set(Field::CaseReference, case)
            .set(Field::InsuredReference, insured)
            .set(Field::FirstName, first)
            .set(Field::LastName, last)
            .set(Field::ClientReference, cref)
            .set(Field::Ssn, ssn)
    }
    pub fn set(mut self, field: Field, value: &str) -> Row {
        self.0[ix(field)] = value.to_string();
        self
    }
    pub fn address(self, label: &str, line1: &str, city: &str, postcode: &str) -> Row {
        self.set(Field::DetailType, "Address")
            .set(Field::Label, label)
            .set(Field::AddressLine1, line1)
            .set(Field::City, city)
            .set(Field::Region, "MA")
            .set(Field::Postcode, postcode)
            .set(Field::Country, "US")
    }
    pub fn phone(self, label: &str, number: &str) -> Row {
        self.set(Field::DetailType, "Phone").set(Field::Label, label).set(Field::Phone, number)
    }
    pub fn email(self, label: &str, email: &str) -> Row {
        self.set(Field::DetailType, "Email").set(Field::Label, label).set(Field::Email, email)
    }
    pub fn primary(self, yes_no: &str) -> Row {
        self.set(Field::Primary, yes_no)
    }
    pub fn public_id(self, id: &str) -> Row {
        self.set(Field::PublicId, id)
    }
    pub fn dob(self, iso: &str) -> Row {
        self.set(Field::DateOfBirth, iso)
    }
}

pub fn text_cell(s: &str) -> RawCell {
    if s.is_empty() {
        RawCell::Empty
    } else {
        RawCell::Text(s.into())
    }
}

/// A sheet with the template's headers in order; data rows start at sheet row 2.
pub fn sheet(rows: &[Row]) -> Sheet {
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
pub fn sheet_in_order(rows: &[Row], order: &[usize]) -> Sheet {
    let mut s = sheet(rows);
    s.header = order.iter().map(|&t| T.columns[t].header.to_string()).collect();
    for (row, src) in s.rows.iter_mut().zip(rows) {
        row.cells = order.iter().map(|&t| text_cell(&src.0[t])).collect();
    }
    s
}

pub fn mapping(sheet: &Sheet) -> HeaderMapping {
    let m = map_headers(&T, &sheet.header, &BTreeMap::new());
    assert!(m.is_usable(), "fixture headers must map: {:?}", m.missing_required);
    m
}

pub fn validate(crm: &Crm, sheet: &Sheet) -> Validated {
    let m = mapping(sheet);
    let index = CrmIndex::new(crm);
    Validator::new(&T, &m, &index, ValidationOptions::default()).all(&sheet.rows)
}

pub fn match_rows(crm: &Crm, validated: &Validated) -> Matches {
    let index = CrmIndex::new(crm);
    Matcher::new(&T, &index).all(&validated.rows)
}

/// Validation, matching and planning of a sheet against a CRM.
pub struct Run {
    pub validated: Validated,
    pub matches: Matches,
    pub plan: ImportPlan,
}

pub fn run(crm: &Crm, sheet: &Sheet, choices: &[Option<GroupChoice>]) -> Run {
    let validated = validate(crm, sheet);
    let matches = match_rows(crm, &validated);
    let plan = plan(crm, &T, &validated, &matches, choices);
    Run { validated, matches, plan }
}

pub fn ctx() -> ApplyContext {
    ApplyContext {
        template_id: T.id.into(),
        operator_login: "ops".into(),
        applied_at_ms: 1_700_000_000_000,
        file_name: "test.xlsx".into(),
        sha256: "ab".repeat(32),
    }
}

/// Applies a plan to the CRM the way the store does (one batch).
pub fn apply_plan(crm: &mut Crm, plan: &ImportPlan) -> ImportRecord {
    let (changes, record) = apply(crm, plan, &ctx()).expect("apply");
    assert!(changes.deletes.is_empty(), "an import never deletes");
    crm.apply_changes(&changes).expect("batch keeps uniqueness");
    record
}

pub fn detail(crm: &Crm, n: u32) -> &ContactDetail {
    &crm.details[&public_id_for(n)]
}

pub fn change(field: &str, before: &str, after: &str) -> FieldChange {
    FieldChange { field: field.into(), before: before.into(), after: after.into() }
}

pub fn put_entries(plan: &ImportPlan) -> Vec<&CrmEntry> {
    plan.changes.puts.iter().filter_map(|r| if let Record::Entry(e) = r { Some(e) } else { None }).collect()
}

pub fn put_details(plan: &ImportPlan) -> Vec<&ContactDetail> {
    plan.changes.puts.iter().filter_map(|r| if let Record::Detail(d) = r { Some(d) } else { None }).collect()
}

pub fn put_insureds(plan: &ImportPlan) -> Vec<&Insured> {
    plan.changes.puts.iter().filter_map(|r| if let Record::Insured(i) = r { Some(i) } else { None }).collect()
}

pub fn matched(tier: MatchTier, entry: EntryId, detail: Option<u32>) -> RowMatch {
    RowMatch::Matched { tier, entry, detail: detail.map(public_id_for) }
}

/// The unchanged export row of José's address (CD-0000001).
pub fn jose_address() -> Row {
    Row::person("CASE-001", "INS-1", "José", "Álvarez", "CR-001", "123-45-6789")
        .dob("1980-05-17")
        .address("Home", "1 Main St", "Springfield", "02134")
        .primary("Yes")
        .public_id("CD-0000001")
}

/// A file touching every kind of change: an update by Public ID, a detail added by Client
/// Reference, one added through tier 3, a new person on an unlinked insured, an existing
/// entry getting its Client Reference.
pub fn mixed_file() -> Vec<Row> {
    vec![
        jose_address().set(Field::AddressLine2, "Apt 4B"),
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
