//! Reading a snapshot: the workbook is opened by the bounded reader of
//! [`crate::core::read`], the About sheet first (so that a foreign workbook is named as such),
//! then every entity sheet in an order where references point back to what is already read.
//! Each identity and unique value is claimed once, each reference is checked, and the About
//! sheet's row counts and identity counters are checked last; the first problem refuses the
//! whole file with the sheet and cell that hold it.

use std::collections::{BTreeMap, HashMap};

use super::layout::*;
use super::row::{describe, quoted, read_rows, whole_number, FirstRows, Row};
use super::{CellRef, SnapshotError};
use crate::core::ledger::{LedgerEntry, LedgerEvent, LedgerFile};
use crate::core::model::{
    Account, AccountContact, AccountKind, BeforeImage, Case, ContactDetail, ContactType, Counters, Crm,
    CrmEntry, DetailFields, DetailKind, Device, ImportCounts, ImportRecord, Insured, Operator, Portfolio,
    Role, SchoolRole, SchoolUser,
};
use crate::core::privacy::CrmSecret;
use crate::core::read::{Book, ReadError, MAX_FILE_BYTES};
use crate::core::sheet::RawCell;

/// The PII ledger (layout version 2 on): a Reveal names its entry (which need not exist any more:
/// the entry may have been undone since), a file its name, digest and count.
fn read_ledger(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&PII_LEDGER, &mut |row| {
        let id = row.required_text(0, "a ledger entry ID")?;
        first_rows.claim(row, 0, "Ledger entry ID", || quoted(&id), row.key(0))?;
        let what = row.str(3)?;
        let event = if what == "Reveal of an SSN" {
            LedgerEvent::Reveal { entry_id: row.id(4)?, entry_label: row.text(5)? }
        } else {
            let kind = LedgerFile::parse(&what).ok_or_else(|| {
                row.bad(
                    3,
                    "Reveal of an SSN, Insured CRM Export, CRM snapshot or Error report with full SSNs",
                )
            })?;
            let sha256 = row.required_text(7, "the file's SHA-256 (64 hexadecimal characters)")?;
            if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(row.bad(7, "the file's SHA-256 (64 hexadecimal characters)"));
            }
            let ssns = usize::try_from(row.integer(8)?).map_err(|_| row.bad(8, "a count of zero or more"))?;
            LedgerEvent::File { kind, file_name: row.text(6)?, sha256, ssns }
        };
        let entry =
            LedgerEntry { id: id.clone(), operator_login: row.text(1)?, at_ms: row.integer(2)?, event };
        crm.ledger.insert(id, entry);
        Ok(())
    })?;
    Ok(())
}

/// Reads a snapshot workbook into a new CRM, or refuses it whole. Nothing outside the returned
/// value is touched.
pub fn read_snapshot(file_name: &str, bytes: &[u8]) -> Result<Crm, SnapshotError> {
    let file = file_name;
    if bytes.len() > MAX_FILE_BYTES {
        let e = ReadError::TooLarge { file: file.to_string(), size: bytes.len() };
        return Err(SnapshotError::Refused { file: file.to_string(), reason: e.to_string() });
    }
    let book = Book::open(file, bytes).map_err(|e| match e {
        ReadError::NotAWorkbook { detail, .. } => {
            SnapshotError::NotAWorkbook { file: file.to_string(), reason: detail }
        }
        other => SnapshotError::Refused { file: file.to_string(), reason: other.to_string() },
    })?;
    if book.sheet(ABOUT.name).is_none() {
        return Err(SnapshotError::NotASnapshot {
            file: file.to_string(),
            reason: "it has no sheet \"About\"".to_string(),
        });
    }
    // About first, so that a foreign workbook is named as such before a missing sheet is.
    let about = read_about(&book, file)?;
    if let Some(layout) = sheets_of_version(about.version).iter().find(|l| book.sheet(l.name).is_none()) {
        return Err(SnapshotError::MissingSheet { file: file.to_string(), sheet: layout.name });
    }

    let mut source = SnapshotSource { file, book, found_rows: Vec::new() };
    let mut crm = Crm { counters: about.counters, ..Crm::default() };
    read_operators(&mut source, &mut crm)?;
    read_cases_and_portfolios(&mut source, &mut crm)?;
    read_entries_and_details(&mut source, &mut crm)?;
    read_insureds(&mut source, &mut crm)?;
    read_accounts(&mut source, &mut crm)?;
    read_enrollees(&mut source, &mut crm)?;
    read_imports(&mut source, &mut crm)?;
    if about.version >= 2 {
        read_ledger(&mut source, &mut crm)?;
    }
    check_row_counts(file, &about, &source.found_rows)?;
    check_counters(file, &about, &crm)?;
    Ok(crm)
}

/// The workbook being read, and how many data rows each sheet held.
struct SnapshotSource<'b> {
    file: &'b str,
    book: Book<'b>,
    found_rows: Vec<(&'static str, usize)>,
}

impl SnapshotSource<'_> {
    /// Hands every data row of one sheet to `on_row`, after checking its header.
    fn each_row(
        &mut self,
        layout: &'static SheetLayout,
        on_row: &mut dyn FnMut(&Row<'_>) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        let n = read_rows(&self.book, self.file, layout, on_row)?;
        self.found_rows.push((layout.name, n));
        Ok(())
    }
}

/// The operators.
fn read_operators(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&OPERATORS, &mut |row| {
        let login = row.required_text(0, "a login")?;
        first_rows.claim(row, 0, "Login", || quoted(&login), row.key(0))?;
        let mut roles = Vec::new();
        for label in row.str(2)?.split(';').map(str::trim).filter(|l| !l.is_empty()) {
            roles.push(Role::parse(label).ok_or_else(|| {
                row.bad(2, "roles from ManageSettings, Import, Export separated by \"; \"")
            })?);
        }
        crm.operators.insert(login.clone(), Operator { login, name: row.text(1)?, roles });
        Ok(())
    })?;
    Ok(())
}

/// Cases, portfolios and the cases each portfolio holds.
fn read_cases_and_portfolios(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    let mut first_references = FirstRows::default();
    source.each_row(&CASES, &mut |row| {
        let id = row.id(0)?;
        first_rows.claim(row, 0, "Case ID", || id.to_string(), id)?;
        let reference = row.required_text(1, "a case reference")?;
        first_references.claim(row, 1, "Case reference", || quoted(&reference), row.key(1))?;
        crm.cases.insert(id, Case { id, reference, title: row.text(2)? });
        Ok(())
    })?;

    let mut first_rows = FirstRows::default();
    source.each_row(&PORTFOLIOS, &mut |row| {
        let id = row.id(0)?;
        first_rows.claim(row, 0, "Portfolio ID", || id.to_string(), id)?;
        let owner_login = row.opt_text(2)?;
        if let Some(login) = owner_login.as_deref().filter(|l| !crm.operators.contains_key(*l)) {
            return Err(row.missing(2, "Owner Login", &quoted(login), OPERATORS.name));
        }
        let portfolio = Portfolio {
            id,
            name: row.text(1)?,
            owner_login,
            temporary: row.yes_no(3)?,
            case_ids: Vec::new(),
        };
        crm.portfolios.insert(id, portfolio);
        Ok(())
    })?;
    source.each_row(&PORTFOLIO_CASES, &mut |row| {
        let portfolio_id = row.id(0)?;
        let case_id = row.id(1)?;
        if !crm.cases.contains_key(&case_id) {
            return Err(row.missing(1, "Case ID", &case_id.to_string(), CASES.name));
        }
        match crm.portfolios.get_mut(&portfolio_id) {
            Some(p) => p.case_ids.push(case_id),
            None => return Err(row.missing(0, "Portfolio ID", &portfolio_id.to_string(), PORTFOLIOS.name)),
        }
        Ok(())
    })?;
    Ok(())
}

/// CRM entries and their contact details.
fn read_entries_and_details(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    let mut first_client_references = FirstRows::default();
    let mut first_ssns = FirstRows::default();
    source.each_row(&CRM_ENTRIES, &mut |row| {
        let id = row.id(0)?;
        first_rows.claim(row, 0, "CRM Entry ID", || id.to_string(), id)?;
        let client_reference = row.opt_text(1)?;
        if let Some(r) = &client_reference {
            first_client_references.claim(row, 1, "Client Reference", || quoted(r), row.key(1))?;
        }
        let ssn = row.ssn(2)?;
        if let Some(s) = ssn {
            first_ssns.claim(row, 2, "SSN", || s.to_string(), s)?;
        }
        let entry = CrmEntry {
            id,
            client_reference,
            ssn,
            first_name: row.text(3)?,
            last_name: row.text(4)?,
            date_of_birth: row.date(5)?,
        };
        crm.entries.insert(id, entry);
        Ok(())
    })?;
    let mut first_rows = FirstRows::default();
    // Gathered in file order (a snapshot writes them by Public ID) and built into the ordered
    // map at once: an already ordered list costs one pass, not a search per detail.
    let mut details: Vec<(String, ContactDetail)> = Vec::new();
    source.each_row(&CONTACT_DETAILS, &mut |row| {
        let public_id = row.required_text(0, "a Public ID")?;
        first_rows.claim(row, 0, "Public ID", || quoted(&public_id), row.key(0))?;
        let entry_id = row.id(1)?;
        if !crm.entries.contains_key(&entry_id) {
            return Err(row.missing(1, "CRM Entry ID", &entry_id.to_string(), CRM_ENTRIES.name));
        }
        let kind = DetailKind::parse(&row.str(2)?).ok_or_else(|| row.bad(2, "Address, Phone or Email"))?;
        let fields = DetailFields {
            label: row.text(3)?,
            primary: row.yes_no(4)?,
            address_line1: row.text(5)?,
            address_line2: row.text(6)?,
            city: row.text(7)?,
            region: row.text(8)?,
            postcode: row.text(9)?,
            country: row.text(10)?,
            phone: row.text(11)?,
            email: row.text(12)?,
        };
        details.push((public_id.clone(), ContactDetail { public_id, entry_id, kind, fields }));
        Ok(())
    })?;
    // Every Public ID was claimed once above, so no detail replaces another.
    crm.details = details.into_iter().collect();
    Ok(())
}

/// Insureds, which refer to cases and CRM entries (so are read after both).
fn read_insureds(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&INSUREDS, &mut |row| {
        let id = row.id(0)?;
        first_rows.claim(row, 0, "Insured ID", || id.to_string(), id)?;
        let case_id = row.id(1)?;
        if !crm.cases.contains_key(&case_id) {
            return Err(row.missing(1, "Case ID", &case_id.to_string(), CASES.name));
        }
        let entry_id = row.opt_id(5)?;
        if let Some(e) = entry_id.filter(|e| !crm.entries.contains_key(e)) {
            return Err(row.missing(5, "CRM Entry ID", &e.to_string(), CRM_ENTRIES.name));
        }
        let insured = Insured {
            id,
            case_id,
            reference: row.required_text(2, "an insured reference")?,
            first_name: row.text(3)?,
            last_name: row.text(4)?,
            entry_id,
        };
        crm.insureds.insert(id, insured);
        Ok(())
    })?;
    Ok(())
}

/// Accounts, their contacts and the specialty registry.
fn read_accounts(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&ACCOUNTS, &mut |row| {
        let number = row.required_text(0, "an account number")?;
        first_rows.claim(row, 0, "Account Number", || quoted(&number), row.key(0))?;
        let kind =
            AccountKind::parse(&row.str(2)?).ok_or_else(|| row.bad(2, "Medical, Company or Insurance"))?;
        let portfolio = row.text(3)?;
        let portfolio_login =
            if portfolio.trim().is_empty() || portfolio.trim().eq_ignore_ascii_case(WITHOUT_PORTFOLIO) {
                None
            } else {
                Some(portfolio)
            };
        if let Some(login) = portfolio_login.as_deref().filter(|l| !crm.operators.contains_key(*l)) {
            return Err(row.missing(3, "Portfolio", &quoted(login), OPERATORS.name));
        }
        crm.accounts.insert(number.clone(), Account { number, name: row.text(1)?, kind, portfolio_login });
        Ok(())
    })?;
    let mut first_rows = FirstRows::default();
    source.each_row(&ACCOUNT_CONTACTS, &mut |row| {
        let id = row.id(0)?;
        first_rows.claim(row, 0, "Account contact ID", || id.to_string(), id)?;
        let account_number = row.required_text(1, "an account number")?;
        if !crm.accounts.contains_key(&account_number) {
            return Err(row.missing(1, "Account Number", &quoted(&account_number), ACCOUNTS.name));
        }
        let contact_type =
            ContactType::parse(&row.str(4)?).ok_or_else(|| row.bad(4, "DOCTOR, SECRETARY or OTHERS"))?;
        let qualifications =
            row.str(5)?.split(';').map(str::trim).filter(|q| !q.is_empty()).map(str::to_string).collect();
        let contact = AccountContact {
            id,
            account_number,
            identifier: row.text(2)?,
            name: row.text(3)?,
            contact_type,
            qualifications,
            phone: row.text(6)?,
            email: row.text(7)?,
        };
        crm.account_contacts.insert(id, contact);
        Ok(())
    })?;
    let mut first_rows = FirstRows::default();
    source.each_row(&SPECIALTIES, &mut |row| {
        let name = row.required_text(0, "a specialty name")?;
        first_rows.claim(row, 0, "Specialty", || quoted(&name), row.key(0))?;
        crm.specialties.insert(name, ());
        Ok(())
    })?;
    Ok(())
}

/// School users and devices.
fn read_enrollees(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&SCHOOL_USERS, &mut |row| {
        let user_id = row.required_text(0, "a user ID")?;
        first_rows.claim(row, 0, "User ID", || quoted(&user_id), row.key(0))?;
        let role = SchoolRole::parse(&row.str(2)?).ok_or_else(|| row.bad(2, "Student or Staff"))?;
        let user =
            SchoolUser { user_id: user_id.clone(), name: row.text(1)?, role, insurance: row.insurance(3)? };
        crm.school_users.insert(user_id, user);
        Ok(())
    })?;
    let mut first_rows = FirstRows::default();
    source.each_row(&DEVICES, &mut |row| {
        let serial = row.required_text(0, "a device serial")?;
        first_rows.claim(row, 0, "Device Serial", || quoted(&serial), row.key(0))?;
        let device = Device { serial: serial.clone(), model: row.text(1)?, insurance: row.insurance(2)? };
        crm.devices.insert(serial, device);
        Ok(())
    })?;
    Ok(())
}

/// The import history and the before-images undo needs.
fn read_imports(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&IMPORT_HISTORY, &mut |row| {
        let id = row.id(0)?;
        first_rows.claim(row, 0, "Import ID", || id.to_string(), id)?;
        let count = |col: usize| -> Result<usize, SnapshotError> {
            usize::try_from(row.integer(col)?).map_err(|_| row.bad(col, "a count of zero or more"))
        };
        let record = ImportRecord {
            id,
            template_id: row.text(1)?,
            operator_login: row.text(2)?,
            applied_at_ms: row.integer(3)?,
            file_name: row.text(4)?,
            sha256: row.text(5)?,
            counts: ImportCounts {
                created: count(6)?,
                updated: count(7)?,
                added: count(8)?,
                unchanged: count(9)?,
                skipped: count(10)?,
                errors: count(11)?,
            },
            before_images: Vec::new(),
            undone: row.yes_no(12)?,
        };
        crm.imports.insert(id, record);
        Ok(())
    })?;
    // Parts of each import's JSON, in order, with the cell of the first part.
    let mut json_by_import: BTreeMap<u32, (CellRef, u32, String)> = BTreeMap::new();
    source.each_row(&IMPORT_BEFORE_IMAGES, &mut |row| {
        let import_id = row.id(0)?;
        if !crm.imports.contains_key(&import_id) {
            return Err(row.missing(0, "Import ID", &import_id.to_string(), IMPORT_HISTORY.name));
        }
        let part = row.id(1)?;
        let slot = json_by_import.entry(import_id).or_insert_with(|| (row.cell_ref(2), 0, String::new()));
        if part != slot.1 + 1 {
            return Err(row.bad(1, &format!("part {} of import {import_id}", slot.1 + 1)));
        }
        slot.1 = part;
        slot.2.push_str(&row.text(2)?);
        Ok(())
    })?;
    for (import_id, (first_cell, _, json)) in json_by_import {
        let images: Vec<BeforeImage> = serde_json::from_str(&json).map_err(|e| SnapshotError::BadCell {
            file: source.file.to_string(),
            sheet: IMPORT_BEFORE_IMAGES.name,
            cell: first_cell,
            expected: format!("the before-images of import {import_id} as JSON ({e})"),
            found: quoted(&json),
        })?;
        if let Some(record) = crm.imports.get_mut(&import_id) {
            record.before_images = images;
        }
    }
    Ok(())
}

/// What the About sheet says: counters, declared row counts and where each item stands.
struct About {
    /// The layout version the file was written in.
    version: u32,
    counters: Counters,
    /// Sheet name → (declared rows, cell of the declaration).
    declared_rows: HashMap<String, (usize, CellRef)>,
    /// Counter item → its cell.
    counter_cells: HashMap<&'static str, CellRef>,
}

fn read_about(book: &Book<'_>, file: &str) -> Result<About, SnapshotError> {
    // Item → (value cell, value); the first row of an item counts.
    let mut items: HashMap<String, (CellRef, RawCell)> = HashMap::new();
    let mut rows: Vec<(String, CellRef, RawCell)> = Vec::new();
    let read = read_rows(book, file, &ABOUT, &mut |row| {
        let item = row.text(0)?.trim().to_string();
        rows.push((item, row.cell_ref(1), row.cells.get(1).cloned().unwrap_or_default()));
        Ok(())
    });
    match read {
        Ok(_) => {}
        // Another program's "About" sheet: the workbook is not a snapshot at all.
        Err(SnapshotError::WrongHeader { cell, expected, found, .. }) => {
            return Err(SnapshotError::NotASnapshot {
                file: file.to_string(),
                reason: format!("About!{cell} is {found}, not the header \"{expected}\""),
            });
        }
        Err(other) => return Err(other),
    }
    for (item, cell, value) in rows {
        items.entry(item).or_insert((cell, value));
    }
    let format = items.get(ITEM_FORMAT).map(|(_, v)| v.as_text());
    if format.as_deref() != Some(FORMAT_NAME) {
        let reason = match items.get(ITEM_FORMAT) {
            Some((cell, v)) => format!("About!{cell} is {}, not \"{FORMAT_NAME}\"", describe(v)),
            None => format!("its About sheet has no \"{ITEM_FORMAT}\" row"),
        };
        return Err(SnapshotError::NotASnapshot { file: file.to_string(), reason });
    }
    let missing =
        |item: &str| SnapshotError::MissingAboutItem { file: file.to_string(), item: item.to_string() };
    let bad = |cell: CellRef, expected: &str, value: &RawCell| SnapshotError::BadCell {
        file: file.to_string(),
        sheet: ABOUT.name,
        cell,
        expected: expected.to_string(),
        found: describe(value),
    };
    let (version_cell, version) = items.get(ITEM_VERSION).ok_or_else(|| missing(ITEM_VERSION))?;
    let version = match whole_number(version).and_then(|v| u32::try_from(v).ok()) {
        Some(v) if (OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&v) => v,
        _ => {
            return Err(SnapshotError::UnsupportedVersion {
                file: file.to_string(),
                cell: *version_cell,
                found: describe(version),
            })
        }
    };

    let mut declared_rows = HashMap::new();
    for layout in sheets_of_version(version).iter().skip(1) {
        let item = rows_item(layout.name);
        let (cell, value) = items.get(&item).ok_or_else(|| missing(&item))?;
        let n = whole_number(value)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad(*cell, "a row count", value))?;
        declared_rows.insert(layout.name.to_string(), (n, *cell));
    }
    let mut values = [0u32; 7];
    let mut counter_cells = HashMap::new();
    for (slot, item) in values.iter_mut().zip(COUNTER_ITEMS) {
        let (cell, value) = items.get(item).ok_or_else(|| missing(item))?;
        *slot = whole_number(value)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad(*cell, "a whole number from 0 to 4294967295", value))?;
        counter_cells.insert(item, *cell);
    }
    // The digest secret: absent from snapshots written before digest secrets (the CRM then
    // gets a new one where it is loaded).
    let secret = match items.get(ITEM_SECRET) {
        None => None,
        Some((cell, value)) => Some(
            CrmSecret::from_hex(&value.as_text())
                .ok_or_else(|| bad(*cell, "the digest secret: 64 hexadecimal characters", value))?,
        ),
    };
    let counters = Counters {
        next_entry_id: values[0],
        next_detail_number: values[1],
        next_case_id: values[2],
        next_insured_id: values[3],
        next_portfolio_id: values[4],
        next_account_contact_id: values[5],
        next_import_id: values[6],
        secret,
    };
    Ok(About { version, counters, declared_rows, counter_cells })
}

fn check_row_counts(
    file: &str,
    about: &About,
    found_rows: &[(&'static str, usize)],
) -> Result<(), SnapshotError> {
    for &(sheet, found) in found_rows {
        if let Some((declared, cell)) = about.declared_rows.get(sheet) {
            if *declared != found {
                return Err(SnapshotError::RowCountMismatch {
                    file: file.to_string(),
                    cell: *cell,
                    sheet,
                    declared: *declared,
                    found,
                });
            }
        }
    }
    Ok(())
}

/// Every counter must be past the largest identity it has handed out, or the next record
/// would take an existing one (and a Public ID would be reused).
fn check_counters(file: &str, about: &About, crm: &Crm) -> Result<(), SnapshotError> {
    let detail_number = |public_id: &str| public_id.strip_prefix("CD-").and_then(|n| n.parse::<u32>().ok());
    let largest: [(Option<u32>, &str); 7] = [
        (crm.entries.keys().max().copied(), "CRM entry"),
        (crm.details.keys().filter_map(|p| detail_number(p)).max(), "Public ID number"),
        (crm.cases.keys().max().copied(), "case"),
        (crm.insureds.keys().max().copied(), "insured"),
        (crm.portfolios.keys().max().copied(), "portfolio"),
        (crm.account_contacts.keys().max().copied(), "account contact"),
        (crm.imports.keys().max().copied(), "import"),
    ];
    for ((item, value), (max, what)) in COUNTER_ITEMS.iter().zip(counter_values(&crm.counters)).zip(largest) {
        if let Some(max) = max {
            if value <= max {
                return Err(SnapshotError::CounterBehind {
                    file: file.to_string(),
                    cell: about.counter_cells.get(item).copied().unwrap_or(CellRef { column: 1, row: 1 }),
                    counter: item,
                    found: value,
                    minimum: max.saturating_add(1),
                    record: format!("{what} {max}"),
                });
            }
        }
    }
    Ok(())
}
