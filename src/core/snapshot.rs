//! The CRM snapshot workbook: the whole local CRM as one XLSX file, one sheet per entity, that
//! a person can open in Excel and that the app reads back exactly. It is how a CRM gets into
//! the browser besides the demo, and the backup the app writes. [`write_snapshot`] turns a
//! [`Crm`] into bytes; [`read_snapshot`] turns bytes back into a new `Crm` or refuses the file
//! with a [`SnapshotError`] that names the sheet, the cell and what was expected there.
//!
//! The layout is [`SNAPSHOT_SHEETS`]: an `About` sheet (format name, format version, the row
//! count of every other sheet and the identity counters), then one sheet per entity with a
//! bold frozen header. Identifiers are text (leading zeros kept), internal IDs and counts are
//! numbers, dates are real Excel dates, yes/no flags are `Yes`/`No`, and formula-like text is
//! quote-prefixed so Excel never evaluates it. Lists that could outgrow one cell (a
//! portfolio's cases, an import's before-images) get their own sheets, one row per item or
//! per part.
//!
//! A snapshot is trusted as little as any upload: the zip's declared uncompressed size is
//! capped before calamine opens it, cells are streamed rather than loaded as a grid, and every
//! identity, uniqueness rule, reference and counter is checked before a `Crm` is returned.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::core::date::Date;
use crate::core::model::{
    Account, AccountContact, AccountKind, BeforeImage, Case, ContactDetail, ContactType, Counters, Crm,
    CrmEntry, DetailFields, DetailKind, Device, ImportCounts, ImportRecord, Insurance, InsuranceStatus,
    Insured, Operator, Portfolio, Role, SchoolRole, SchoolUser,
};
use crate::core::sheet::{format_number, RawCell};
use crate::core::text::{cell_name, looks_like_formula};
use crate::core::xlsx::{check_rows_fit, save, write_date, write_header, write_text, ExportError, Formats};

/// The format name written in `About!B2`; a workbook without it is not a snapshot.
pub const FORMAT_NAME: &str = "Roundtrip CRM snapshot";

/// The layout version written in `About!B3`; this code reads and writes version 1 only.
pub const FORMAT_VERSION: u32 = 1;

/// The longest JSON part written in one cell, in UTF-16 code units (Excel's cell limit is
/// 32,767 characters).
pub const JSON_PART_LENGTH: usize = 32_000;

/// The portfolio of an account without one, as the account template spells it.
pub const WITHOUT_PORTFOLIO: &str = "Without Portfolio";

/// One sheet of the snapshot: its name and its header row, in column order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SheetLayout {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    widths: &'static [f64],
}

const ABOUT: SheetLayout = SheetLayout { name: "About", columns: &["Item", "Value"], widths: &[28.0, 28.0] };
const OPERATORS: SheetLayout =
    SheetLayout { name: "Operators", columns: &["Login", "Name", "Roles"], widths: &[14.0, 24.0, 32.0] };
const PORTFOLIOS: SheetLayout = SheetLayout {
    name: "Portfolios",
    columns: &["ID", "Name", "Owner Login", "Temporary"],
    widths: &[8.0, 28.0, 14.0, 11.0],
};
const PORTFOLIO_CASES: SheetLayout =
    SheetLayout { name: "Portfolio Cases", columns: &["Portfolio ID", "Case ID"], widths: &[13.0, 10.0] };
const CASES: SheetLayout =
    SheetLayout { name: "Cases", columns: &["ID", "Reference", "Title"], widths: &[8.0, 14.0, 44.0] };
const INSUREDS: SheetLayout = SheetLayout {
    name: "Insureds",
    columns: &["ID", "Case ID", "Insured Reference", "First Name", "Last Name", "CRM Entry ID"],
    widths: &[8.0, 9.0, 17.0, 16.0, 18.0, 13.0],
};
const CRM_ENTRIES: SheetLayout = SheetLayout {
    name: "CRM Entries",
    columns: &["ID", "Client Reference", "SSN", "First Name", "Last Name", "Date of Birth"],
    widths: &[8.0, 16.0, 13.0, 16.0, 18.0, 13.0],
};
const CONTACT_DETAILS: SheetLayout = SheetLayout {
    name: "Contact Details",
    columns: &[
        "Public ID",
        "CRM Entry ID",
        "Detail Type",
        "Label",
        "Primary",
        "Address Line 1",
        "Address Line 2",
        "City",
        "Region",
        "Postcode",
        "Country",
        "Phone",
        "Email",
    ],
    widths: &[12.0, 13.0, 11.0, 10.0, 9.0, 28.0, 16.0, 16.0, 14.0, 10.0, 15.0, 18.0, 30.0],
};
const ACCOUNTS: SheetLayout = SheetLayout {
    name: "Accounts",
    columns: &["Account Number", "Account Name", "Account Type", "Portfolio"],
    widths: &[20.0, 34.0, 13.0, 18.0],
};
const ACCOUNT_CONTACTS: SheetLayout = SheetLayout {
    name: "Account Contacts",
    columns: &[
        "ID",
        "Account Number",
        "Identifier",
        "Contact Name",
        "Type",
        "Qualifications",
        "Phone",
        "Email",
    ],
    widths: &[8.0, 20.0, 20.0, 24.0, 11.0, 30.0, 18.0, 32.0],
};
const SPECIALTIES: SheetLayout =
    SheetLayout { name: "Specialties", columns: &["Specialty"], widths: &[24.0] };
const SCHOOL_USERS: SheetLayout = SheetLayout {
    name: "School Users",
    columns: &[
        "User ID",
        "Name",
        "Role",
        "Insurance Status",
        "Policy Number",
        "Coverage Amount",
        "Coverage Type",
        "Coverage Start",
        "Coverage End",
    ],
    widths: &[10.0, 24.0, 9.0, 15.0, 16.0, 16.0, 22.0, 14.0, 14.0],
};
const DEVICES: SheetLayout = SheetLayout {
    name: "Devices",
    columns: &[
        "Device Serial",
        "Model",
        "Insurance Status",
        "Policy Number",
        "Coverage Amount",
        "Coverage Type",
        "Coverage Start",
        "Coverage End",
    ],
    widths: &[15.0, 30.0, 15.0, 16.0, 16.0, 26.0, 14.0, 14.0],
};
const IMPORT_HISTORY: SheetLayout = SheetLayout {
    name: "Import History",
    columns: &[
        "ID",
        "Template",
        "Operator",
        "Applied At (ms)",
        "File Name",
        "SHA-256",
        "Created",
        "Updated",
        "Added",
        "Unchanged",
        "Skipped",
        "Errors",
        "Undone",
    ],
    widths: &[8.0, 22.0, 12.0, 16.0, 30.0, 66.0, 9.0, 9.0, 9.0, 11.0, 9.0, 9.0, 9.0],
};
const IMPORT_BEFORE_IMAGES: SheetLayout = SheetLayout {
    name: "Import Before Images",
    columns: &["Import ID", "Part", "JSON"],
    widths: &[11.0, 7.0, 100.0],
};

/// Every sheet of a snapshot, in workbook order.
pub const SNAPSHOT_SHEETS: [SheetLayout; 15] = [
    ABOUT,
    OPERATORS,
    PORTFOLIOS,
    PORTFOLIO_CASES,
    CASES,
    INSUREDS,
    CRM_ENTRIES,
    CONTACT_DETAILS,
    ACCOUNTS,
    ACCOUNT_CONTACTS,
    SPECIALTIES,
    SCHOOL_USERS,
    DEVICES,
    IMPORT_HISTORY,
    IMPORT_BEFORE_IMAGES,
];

/// The About sheet's items, in order (after the row counts, which are `Rows in <sheet>`).
const ITEM_FORMAT: &str = "Format";
const ITEM_VERSION: &str = "Format Version";
const COUNTER_ITEMS: [&str; 7] = [
    "Next CRM Entry ID",
    "Next Detail Number",
    "Next Case ID",
    "Next Insured ID",
    "Next Portfolio ID",
    "Next Account Contact ID",
    "Next Import ID",
];

fn counter_values(c: &Counters) -> [u32; 7] {
    [
        c.next_entry_id,
        c.next_detail_number,
        c.next_case_id,
        c.next_insured_id,
        c.next_portfolio_id,
        c.next_account_contact_id,
        c.next_import_id,
    ]
}

fn rows_item(sheet: &str) -> String {
    format!("Rows in {sheet}")
}

/// Where a cell is: Excel's `F12`, kept as numbers so the page can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellRef {
    /// Zero-based column (0 is A).
    pub column: u32,
    /// One-based row, as Excel shows it.
    pub row: u32,
}

impl CellRef {
    fn new(column: usize, row: usize) -> CellRef {
        CellRef { column: column as u32, row: row as u32 }
    }
}

impl std::fmt::Display for CellRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&cell_name(self.column as usize, self.row as usize))
    }
}

/// Why a snapshot was refused. Every message starts with the file name and, where there is
/// one, names the sheet and the Excel cell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a zip, or calamine cannot open the workbook in them.
    #[error("Snapshot \"{file}\" is not a readable XLSX workbook: {reason}")]
    NotAWorkbook { file: String, reason: String },
    /// The workbook failed the checks every upload gets before calamine reads it (zip bombs,
    /// over 400 MiB unpacked, unbelievable shared-string counts or dimensions): see
    /// [`crate::core::read::ReadError`].
    #[error("Snapshot \"{file}\" was refused before reading: {reason}")]
    Refused { file: String, reason: String },
    /// The workbook is not a Roundtrip CRM snapshot (no About sheet, or another format name).
    #[error("Snapshot \"{file}\" is not a Roundtrip CRM snapshot: {reason}")]
    NotASnapshot { file: String, reason: String },
    /// The About sheet names a format version this code does not read.
    #[error(
        "Snapshot \"{file}\", sheet \"About\", cell {cell}: format version {found} is not supported; this version of Roundtrip reads version 1"
    )]
    UnsupportedVersion { file: String, cell: CellRef, found: String },
    /// A sheet of the layout is absent.
    #[error("Snapshot \"{file}\" has no sheet \"{sheet}\"")]
    MissingSheet { file: String, sheet: &'static str },
    /// The About sheet lacks one of its items.
    #[error("Snapshot \"{file}\", sheet \"About\": expected a row \"{item}\" in column A")]
    MissingAboutItem { file: String, item: String },
    /// The sheet's XML could not be read (malformed, or rows out of order).
    #[error("Snapshot \"{file}\", sheet \"{sheet}\" could not be read: {reason}")]
    UnreadableSheet { file: String, sheet: &'static str, reason: String },
    /// A header cell differs from the layout.
    #[error("Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: expected the header \"{expected}\", found {found}")]
    WrongHeader { file: String, sheet: &'static str, cell: CellRef, expected: &'static str, found: String },
    /// A cell holds something other than what its column takes.
    #[error("Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: expected {expected}, found {found}")]
    BadCell { file: String, sheet: &'static str, cell: CellRef, expected: String, found: String },
    /// An identity or a unique value appears twice.
    #[error("Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: {what} {value} is already used in cell {first_cell}")]
    Duplicate {
        file: String,
        sheet: &'static str,
        cell: CellRef,
        what: &'static str,
        value: String,
        first_cell: CellRef,
    },
    /// A reference names a record that the snapshot does not hold.
    #[error(
        "Snapshot \"{file}\", sheet \"{sheet}\", cell {cell}: {what} {value} matches no row of sheet \"{target_sheet}\""
    )]
    MissingReference {
        file: String,
        sheet: &'static str,
        cell: CellRef,
        what: &'static str,
        value: String,
        target_sheet: &'static str,
    },
    /// A sheet holds another number of rows than About declares (a truncated or edited file).
    #[error(
        "Snapshot \"{file}\", sheet \"About\", cell {cell}: expected {declared} rows in sheet \"{sheet}\", found {found}"
    )]
    RowCountMismatch { file: String, cell: CellRef, sheet: &'static str, declared: usize, found: usize },
    /// A counter would hand out an identity that a record already has.
    #[error(
        "Snapshot \"{file}\", sheet \"About\", cell {cell}: expected \"{counter}\" to be at least {minimum} because {record} exists, found {found}"
    )]
    CounterBehind {
        file: String,
        cell: CellRef,
        counter: &'static str,
        found: u32,
        minimum: u32,
        record: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes the whole CRM as a snapshot workbook.
pub fn write_snapshot(crm: &Crm) -> Result<Vec<u8>, ExportError> {
    let formats =
        SnapshotFormats { shared: Formats::default(), amount: Format::new().set_num_format("0.00") };
    let mut workbook = Workbook::new();
    // Deflate level 3 instead of 6: at scale 100 level 6 spends about a third of the write in
    // compression; level 3 saves about a third of that for a file about 13% larger.
    workbook.set_zip_compression_level(3);

    let before_image_parts = before_image_parts(crm)?;
    let row_counts = row_counts(crm, before_image_parts.len());

    let mut w =
        SheetWriter::begin(&mut workbook, &formats, &ABOUT, 2 + row_counts.len() + COUNTER_ITEMS.len())?;
    w.next_row();
    w.text(0, ITEM_FORMAT)?;
    w.text(1, FORMAT_NAME)?;
    w.next_row();
    w.text(0, ITEM_VERSION)?;
    w.number(1, f64::from(FORMAT_VERSION))?;
    for (sheet, count) in &row_counts {
        w.next_row();
        w.text(0, &rows_item(sheet))?;
        w.number(1, *count as f64)?;
    }
    for (item, value) in COUNTER_ITEMS.iter().zip(counter_values(&crm.counters)) {
        w.next_row();
        w.text(0, item)?;
        w.number(1, f64::from(value))?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &OPERATORS, crm.operators.len())?;
    for op in crm.operators.values() {
        w.next_row();
        w.text(0, &op.login)?;
        w.text(1, &op.name)?;
        let roles: Vec<&str> = op.roles.iter().map(|r| r.label()).collect();
        w.text(2, &roles.join("; "))?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &PORTFOLIOS, crm.portfolios.len())?;
    for p in crm.portfolios.values() {
        w.next_row();
        w.id(0, p.id)?;
        w.text(1, &p.name)?;
        w.opt_text(2, p.owner_login.as_deref())?;
        w.yes_no(3, p.temporary)?;
    }

    let portfolio_cases: usize = crm.portfolios.values().map(|p| p.case_ids.len()).sum();
    let mut w = SheetWriter::begin(&mut workbook, &formats, &PORTFOLIO_CASES, portfolio_cases)?;
    for p in crm.portfolios.values() {
        for &case_id in &p.case_ids {
            w.next_row();
            w.id(0, p.id)?;
            w.id(1, case_id)?;
        }
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &CASES, crm.cases.len())?;
    for c in crm.cases.values() {
        w.next_row();
        w.id(0, c.id)?;
        w.identifier(1, &c.reference)?;
        w.text(2, &c.title)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &INSUREDS, crm.insureds.len())?;
    for i in crm.insureds.values() {
        w.next_row();
        w.id(0, i.id)?;
        w.id(1, i.case_id)?;
        w.identifier(2, &i.reference)?;
        w.text(3, &i.first_name)?;
        w.text(4, &i.last_name)?;
        if let Some(entry_id) = i.entry_id {
            w.id(5, entry_id)?;
        }
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &CRM_ENTRIES, crm.entries.len())?;
    for e in crm.entries.values() {
        w.next_row();
        w.id(0, e.id)?;
        w.opt_identifier(1, e.client_reference.as_deref())?;
        w.opt_identifier(2, e.ssn.as_deref())?;
        w.text(3, &e.first_name)?;
        w.text(4, &e.last_name)?;
        w.date(5, e.date_of_birth)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &CONTACT_DETAILS, crm.details.len())?;
    for d in crm.details.values() {
        let f = &d.fields;
        w.next_row();
        w.identifier(0, &d.public_id)?;
        w.id(1, d.entry_id)?;
        w.text(2, d.kind.label())?;
        w.text(3, &f.label)?;
        w.yes_no(4, f.primary)?;
        for (col, value) in [
            &f.address_line1,
            &f.address_line2,
            &f.city,
            &f.region,
            &f.postcode,
            &f.country,
            &f.phone,
            &f.email,
        ]
        .into_iter()
        .enumerate()
        {
            // Postcode and Phone are identifiers: a person editing them must keep the zeros.
            if col == 4 || col == 6 {
                w.identifier(5 + col as u16, value)?;
            } else {
                w.text(5 + col as u16, value)?;
            }
        }
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &ACCOUNTS, crm.accounts.len())?;
    for a in crm.accounts.values() {
        w.next_row();
        w.identifier(0, &a.number)?;
        w.text(1, &a.name)?;
        w.text(2, a.kind.label())?;
        w.text(3, a.portfolio_login.as_deref().unwrap_or(WITHOUT_PORTFOLIO))?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &ACCOUNT_CONTACTS, crm.account_contacts.len())?;
    for c in crm.account_contacts.values() {
        w.next_row();
        w.id(0, c.id)?;
        w.identifier(1, &c.account_number)?;
        w.identifier(2, &c.identifier)?;
        w.text(3, &c.name)?;
        w.text(4, c.contact_type.label())?;
        w.text(5, &c.qualifications.join("; "))?;
        w.identifier(6, &c.phone)?;
        w.text(7, &c.email)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &SPECIALTIES, crm.specialties.len())?;
    for name in crm.specialties.keys() {
        w.next_row();
        w.text(0, name)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &SCHOOL_USERS, crm.school_users.len())?;
    for u in crm.school_users.values() {
        w.next_row();
        w.identifier(0, &u.user_id)?;
        w.text(1, &u.name)?;
        w.text(2, u.role.label())?;
        w.insurance(3, &u.insurance)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &DEVICES, crm.devices.len())?;
    for d in crm.devices.values() {
        w.next_row();
        w.identifier(0, &d.serial)?;
        w.text(1, &d.model)?;
        w.insurance(2, &d.insurance)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &IMPORT_HISTORY, crm.imports.len())?;
    for r in crm.imports.values() {
        w.next_row();
        w.id(0, r.id)?;
        w.text(1, &r.template_id)?;
        w.text(2, &r.operator_login)?;
        w.integer(3, r.applied_at_ms)?;
        w.text(4, &r.file_name)?;
        w.identifier(5, &r.sha256)?;
        let c = &r.counts;
        for (col, n) in
            [c.created, c.updated, c.added, c.unchanged, c.skipped, c.errors].into_iter().enumerate()
        {
            w.integer(6 + col as u16, n as i64)?;
        }
        w.yes_no(12, r.undone)?;
    }

    let mut w = SheetWriter::begin(&mut workbook, &formats, &IMPORT_BEFORE_IMAGES, before_image_parts.len())?;
    for (import_id, part, json) in &before_image_parts {
        w.next_row();
        w.id(0, *import_id)?;
        w.id(1, *part)?;
        w.text(2, json)?;
    }

    save(workbook)
}

/// The number of data rows of every sheet after About, in workbook order.
fn row_counts(crm: &Crm, before_image_parts: usize) -> Vec<(&'static str, usize)> {
    vec![
        (OPERATORS.name, crm.operators.len()),
        (PORTFOLIOS.name, crm.portfolios.len()),
        (PORTFOLIO_CASES.name, crm.portfolios.values().map(|p| p.case_ids.len()).sum()),
        (CASES.name, crm.cases.len()),
        (INSUREDS.name, crm.insureds.len()),
        (CRM_ENTRIES.name, crm.entries.len()),
        (CONTACT_DETAILS.name, crm.details.len()),
        (ACCOUNTS.name, crm.accounts.len()),
        (ACCOUNT_CONTACTS.name, crm.account_contacts.len()),
        (SPECIALTIES.name, crm.specialties.len()),
        (SCHOOL_USERS.name, crm.school_users.len()),
        (DEVICES.name, crm.devices.len()),
        (IMPORT_HISTORY.name, crm.imports.len()),
        (IMPORT_BEFORE_IMAGES.name, before_image_parts),
    ]
}

/// Each import's before-images as JSON, cut into parts that fit a cell: (import ID, part
/// number from 1, text). An import without before-images has no part.
fn before_image_parts(crm: &Crm) -> Result<Vec<(u32, u32, String)>, ExportError> {
    let mut parts = Vec::new();
    for r in crm.imports.values() {
        if r.before_images.is_empty() {
            continue;
        }
        let json = serde_json::to_string(&r.before_images).map_err(|e| {
            ExportError::Xlsx(XlsxError::ParameterError(format!("import {} before-images: {e}", r.id)))
        })?;
        for (i, part) in split_for_cells(&json, JSON_PART_LENGTH).into_iter().enumerate() {
            parts.push((r.id, i as u32 + 1, part.to_string()));
        }
    }
    Ok(parts)
}

/// Cuts text into pieces of at most `max_units` UTF-16 code units each (the unit Excel counts),
/// never inside a character.
fn split_for_cells(text: &str, max_units: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut units = 0;
    for (at, c) in text.char_indices() {
        if units + c.len_utf16() > max_units {
            parts.push(&text[start..at]);
            start = at;
            units = 0;
        }
        units += c.len_utf16();
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

struct SnapshotFormats {
    shared: Formats,
    amount: Format,
}

/// Writes one sheet's rows below its header.
struct SheetWriter<'a> {
    sheet: &'a mut Worksheet,
    formats: &'a SnapshotFormats,
    row: u32,
}

impl<'a> SheetWriter<'a> {
    fn begin(
        workbook: &'a mut Workbook,
        formats: &'a SnapshotFormats,
        layout: &SheetLayout,
        data_rows: usize,
    ) -> Result<SheetWriter<'a>, ExportError> {
        check_rows_fit(layout.name, data_rows)?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(layout.name)?;
        write_header(sheet, &formats.shared, layout.columns, &[], layout.widths, data_rows)?;
        Ok(SheetWriter { sheet, formats, row: 0 })
    }

    fn next_row(&mut self) {
        self.row += 1;
    }

    /// Text such as a name or a label, stored as a string cell (formula-like text is
    /// quote-prefixed). Written without a cell format: looking one up for every cell is the
    /// writer's largest cost after compression.
    fn text(&mut self, col: u16, text: &str) -> Result<(), ExportError> {
        if text.is_empty() {
            return Ok(());
        }
        if looks_like_formula(text) {
            return self.identifier(col, text);
        }
        self.sheet.write_string(self.row, col, text)?;
        Ok(())
    }

    fn opt_text(&mut self, col: u16, text: Option<&str>) -> Result<(), ExportError> {
        self.text(col, text.unwrap_or(""))
    }

    /// An identifier (reference, SSN, postcode, phone…) in Excel's text format, so that a
    /// person editing it in Excel keeps its leading zeros.
    fn identifier(&mut self, col: u16, text: &str) -> Result<(), ExportError> {
        write_text(self.sheet, &self.formats.shared, self.row, col, text)
    }

    fn opt_identifier(&mut self, col: u16, text: Option<&str>) -> Result<(), ExportError> {
        self.identifier(col, text.unwrap_or(""))
    }

    fn number(&mut self, col: u16, value: f64) -> Result<(), ExportError> {
        self.sheet.write_number(self.row, col, value)?;
        Ok(())
    }

    fn id(&mut self, col: u16, id: u32) -> Result<(), ExportError> {
        self.number(col, f64::from(id))
    }

    /// A whole number; beyond what a double holds exactly it is written as text.
    fn integer(&mut self, col: u16, value: i64) -> Result<(), ExportError> {
        if value.unsigned_abs() <= MAX_EXACT_INTEGER {
            self.number(col, value as f64)
        } else {
            self.identifier(col, &value.to_string())
        }
    }

    fn yes_no(&mut self, col: u16, value: bool) -> Result<(), ExportError> {
        self.text(col, if value { "Yes" } else { "No" })
    }

    /// A real Excel date; a date Excel cannot show (before 1900) is written as ISO text,
    /// which the reader also takes.
    fn date(&mut self, col: u16, date: Option<Date>) -> Result<(), ExportError> {
        match date {
            None => Ok(()),
            Some(d) if d.year >= 1900 => write_date(self.sheet, &self.formats.shared, self.row, col, d),
            Some(d) => self.identifier(col, &d.to_string()),
        }
    }

    /// An amount in cents as a number with two decimals (as text beyond what a double holds
    /// to the cent).
    fn amount(&mut self, col: u16, cents: Option<i64>) -> Result<(), ExportError> {
        let Some(cents) = cents else {
            return Ok(());
        };
        if cents.unsigned_abs() < MAX_EXACT_CENTS {
            self.sheet.write_number_with_format(self.row, col, cents as f64 / 100.0, &self.formats.amount)?;
            Ok(())
        } else {
            self.identifier(col, &format_cents(cents))
        }
    }

    /// Insurance Status, Policy Number, Coverage Amount, Coverage Type, Coverage Start and
    /// Coverage End from `col` on.
    fn insurance(&mut self, col: u16, insurance: &Insurance) -> Result<(), ExportError> {
        self.opt_text(col, insurance.status.map(InsuranceStatus::label))?;
        self.opt_identifier(col + 1, insurance.policy_number.as_deref())?;
        self.amount(col + 2, insurance.coverage_amount_cents)?;
        self.opt_text(col + 3, insurance.coverage_type.as_deref())?;
        self.date(col + 4, insurance.start)?;
        self.date(col + 5, insurance.end)
    }
}

/// 2^53: every integer up to this is exact in a double.
const MAX_EXACT_INTEGER: u64 = 1 << 53;
/// Amounts below this many cents survive `cents / 100` and `round(x * 100)` exactly.
const MAX_EXACT_CENTS: u64 = 1 << 50;

fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Reads a snapshot workbook into a new CRM, or refuses it whole. Nothing outside the returned
/// value is touched.
pub fn read_snapshot(file_name: &str, bytes: &[u8]) -> Result<Crm, SnapshotError> {
    let file = file_name;
    crate::core::read::check_workbook_declarations(file, bytes).map_err(|e| match e {
        crate::core::read::ReadError::NotAWorkbook { detail, .. } => {
            SnapshotError::NotAWorkbook { file: file.to_string(), reason: detail }
        }
        other => SnapshotError::Refused { file: file.to_string(), reason: other.to_string() },
    })?;
    let mut xlsx: Xlsx<Cursor<&[u8]>> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| SnapshotError::NotAWorkbook { file: file.to_string(), reason: e.to_string() })?;
    let sheet_names = xlsx.sheet_names();
    if !sheet_names.iter().any(|n| n == ABOUT.name) {
        return Err(SnapshotError::NotASnapshot {
            file: file.to_string(),
            reason: "it has no sheet \"About\"".to_string(),
        });
    }
    // About first, so that a foreign workbook is named as such before a missing sheet is.
    let about = read_about(&mut xlsx, file)?;
    if let Some(layout) = SNAPSHOT_SHEETS.iter().find(|l| !sheet_names.iter().any(|n| n == l.name)) {
        return Err(SnapshotError::MissingSheet { file: file.to_string(), sheet: layout.name });
    }

    let mut source = SnapshotSource { file, xlsx, found_rows: Vec::new() };
    let mut crm = Crm { counters: about.counters, ..Crm::default() };
    read_operators(&mut source, &mut crm)?;
    read_cases_and_portfolios(&mut source, &mut crm)?;
    read_entries_and_details(&mut source, &mut crm)?;
    read_insureds(&mut source, &mut crm)?;
    read_accounts(&mut source, &mut crm)?;
    read_enrollees(&mut source, &mut crm)?;
    read_imports(&mut source, &mut crm)?;
    check_row_counts(file, &about, &source.found_rows)?;
    check_counters(file, &about, &crm)?;
    Ok(crm)
}

/// The workbook being read, and how many data rows each sheet held.
struct SnapshotSource<'b> {
    file: &'b str,
    xlsx: Xlsx<Cursor<&'b [u8]>>,
    found_rows: Vec<(&'static str, usize)>,
}

impl SnapshotSource<'_> {
    /// Hands every data row of one sheet to `on_row`, after checking its header.
    fn each_row(
        &mut self,
        layout: &'static SheetLayout,
        on_row: &mut dyn FnMut(&Row<'_>) -> Result<(), SnapshotError>,
    ) -> Result<(), SnapshotError> {
        let n = read_rows(&mut self.xlsx, self.file, layout, on_row)?;
        self.found_rows.push((layout.name, n));
        Ok(())
    }
}

/// The operators.
fn read_operators(source: &mut SnapshotSource<'_>, crm: &mut Crm) -> Result<(), SnapshotError> {
    let mut first_rows = FirstRows::default();
    source.each_row(&OPERATORS, &mut |row| {
        let login = row.required_text(0, "a login")?;
        first_rows.claim(row, 0, "Login", || quoted(&login), login.clone())?;
        let mut roles = Vec::new();
        for label in row.text(2)?.split(';').map(str::trim).filter(|l| !l.is_empty()) {
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
        first_references.claim(row, 1, "Case reference", || quoted(&reference), reference.clone())?;
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
            first_client_references.claim(row, 1, "Client Reference", || quoted(r), r.clone())?;
        }
        let ssn = row.opt_text(2)?;
        if let Some(s) = &ssn {
            first_ssns.claim(row, 2, "SSN", || quoted(s), s.clone())?;
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
    source.each_row(&CONTACT_DETAILS, &mut |row| {
        let public_id = row.required_text(0, "a Public ID")?;
        first_rows.claim(row, 0, "Public ID", || quoted(&public_id), public_id.clone())?;
        let entry_id = row.id(1)?;
        if !crm.entries.contains_key(&entry_id) {
            return Err(row.missing(1, "CRM Entry ID", &entry_id.to_string(), CRM_ENTRIES.name));
        }
        let kind = DetailKind::parse(&row.text(2)?).ok_or_else(|| row.bad(2, "Address, Phone or Email"))?;
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
        crm.details.insert(public_id.clone(), ContactDetail { public_id, entry_id, kind, fields });
        Ok(())
    })?;
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
        first_rows.claim(row, 0, "Account Number", || quoted(&number), number.clone())?;
        let kind =
            AccountKind::parse(&row.text(2)?).ok_or_else(|| row.bad(2, "Medical, Company or Insurance"))?;
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
            ContactType::parse(&row.text(4)?).ok_or_else(|| row.bad(4, "DOCTOR, SECRETARY or OTHERS"))?;
        let qualifications =
            row.text(5)?.split(';').map(str::trim).filter(|q| !q.is_empty()).map(str::to_string).collect();
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
        first_rows.claim(row, 0, "Specialty", || quoted(&name), name.clone())?;
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
        first_rows.claim(row, 0, "User ID", || quoted(&user_id), user_id.clone())?;
        let role = SchoolRole::parse(&row.text(2)?).ok_or_else(|| row.bad(2, "Student or Staff"))?;
        let user =
            SchoolUser { user_id: user_id.clone(), name: row.text(1)?, role, insurance: row.insurance(3)? };
        crm.school_users.insert(user_id, user);
        Ok(())
    })?;
    let mut first_rows = FirstRows::default();
    source.each_row(&DEVICES, &mut |row| {
        let serial = row.required_text(0, "a device serial")?;
        first_rows.claim(row, 0, "Device Serial", || quoted(&serial), serial.clone())?;
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
    counters: Counters,
    /// Sheet name → (declared rows, cell of the declaration).
    declared_rows: HashMap<String, (usize, CellRef)>,
    /// Counter item → its cell.
    counter_cells: HashMap<&'static str, CellRef>,
}

fn read_about(xlsx: &mut Xlsx<Cursor<&[u8]>>, file: &str) -> Result<About, SnapshotError> {
    // Item → (value cell, value); the first row of an item counts.
    let mut items: HashMap<String, (CellRef, RawCell)> = HashMap::new();
    let mut rows: Vec<(String, CellRef, RawCell)> = Vec::new();
    let read = read_rows(xlsx, file, &ABOUT, &mut |row| {
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
    if whole_number(version) != Some(i64::from(FORMAT_VERSION)) {
        return Err(SnapshotError::UnsupportedVersion {
            file: file.to_string(),
            cell: *version_cell,
            found: describe(version),
        });
    }

    let mut declared_rows = HashMap::new();
    for layout in SNAPSHOT_SHEETS.iter().skip(1) {
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
    let counters = Counters {
        next_entry_id: values[0],
        next_detail_number: values[1],
        next_case_id: values[2],
        next_insured_id: values[3],
        next_portfolio_id: values[4],
        next_account_contact_id: values[5],
        next_import_id: values[6],
    };
    Ok(About { counters, declared_rows, counter_cells })
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

/// The row where each identity or unique value was first seen, to refuse a second one.
struct FirstRows<K> {
    seen: HashMap<K, CellRef>,
}

impl<K> Default for FirstRows<K> {
    fn default() -> Self {
        FirstRows { seen: HashMap::new() }
    }
}

impl<K: Eq + Hash> FirstRows<K> {
    fn claim(
        &mut self,
        row: &Row<'_>,
        col: usize,
        what: &'static str,
        shown: impl FnOnce() -> String,
        key: K,
    ) -> Result<(), SnapshotError> {
        match self.seen.get(&key) {
            Some(first_cell) => Err(SnapshotError::Duplicate {
                file: row.file.to_string(),
                sheet: row.sheet,
                cell: row.cell_ref(col),
                what,
                value: shown(),
                first_cell: *first_cell,
            }),
            None => {
                self.seen.insert(key, row.cell_ref(col));
                Ok(())
            }
        }
    }
}

/// One data row being read, with what its cells' errors need to say where they are.
struct Row<'a> {
    file: &'a str,
    sheet: &'static str,
    /// 1-based row number as Excel shows it.
    sheet_row: usize,
    cells: &'a [RawCell],
}

impl Row<'_> {
    fn cell(&self, col: usize) -> &RawCell {
        static EMPTY: RawCell = RawCell::Empty;
        self.cells.get(col).unwrap_or(&EMPTY)
    }

    fn cell_ref(&self, col: usize) -> CellRef {
        CellRef::new(col, self.sheet_row)
    }

    fn bad(&self, col: usize, expected: &str) -> SnapshotError {
        SnapshotError::BadCell {
            file: self.file.to_string(),
            sheet: self.sheet,
            cell: self.cell_ref(col),
            expected: expected.to_string(),
            found: describe(self.cell(col)),
        }
    }

    fn missing(
        &self,
        col: usize,
        what: &'static str,
        value: &str,
        target_sheet: &'static str,
    ) -> SnapshotError {
        SnapshotError::MissingReference {
            file: self.file.to_string(),
            sheet: self.sheet,
            cell: self.cell_ref(col),
            what,
            value: value.to_string(),
            target_sheet,
        }
    }

    /// The cell's text exactly as written (a number typed into a text column reads as its
    /// digits); empty for an empty cell.
    fn text(&self, col: usize) -> Result<String, SnapshotError> {
        match self.cell(col) {
            RawCell::Empty => Ok(String::new()),
            RawCell::Text(t) => Ok(t.clone()),
            RawCell::Number(n) => Ok(format_number(*n)),
            _ => Err(self.bad(col, "text")),
        }
    }

    fn opt_text(&self, col: usize) -> Result<Option<String>, SnapshotError> {
        Ok(Some(self.text(col)?).filter(|t| !t.is_empty()))
    }

    fn required_text(&self, col: usize, expected: &str) -> Result<String, SnapshotError> {
        self.opt_text(col)?.filter(|t| !t.trim().is_empty()).ok_or_else(|| self.bad(col, expected))
    }

    fn integer(&self, col: usize) -> Result<i64, SnapshotError> {
        whole_number(self.cell(col)).ok_or_else(|| self.bad(col, "a whole number"))
    }

    fn id(&self, col: usize) -> Result<u32, SnapshotError> {
        whole_number(self.cell(col))
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.bad(col, "a whole-number ID"))
    }

    fn opt_id(&self, col: usize) -> Result<Option<u32>, SnapshotError> {
        if self.cell(col).is_empty() {
            return Ok(None);
        }
        self.id(col).map(Some)
    }

    fn yes_no(&self, col: usize) -> Result<bool, SnapshotError> {
        match self.cell(col) {
            RawCell::Bool(b) => Ok(*b),
            RawCell::Text(t) if t.trim().eq_ignore_ascii_case("yes") => Ok(true),
            RawCell::Text(t) if t.trim().eq_ignore_ascii_case("no") => Ok(false),
            _ => Err(self.bad(col, "Yes or No")),
        }
    }

    /// A real Excel date, a serial number, or ISO `YYYY-MM-DD` text; `None` when empty.
    fn date(&self, col: usize) -> Result<Option<Date>, SnapshotError> {
        let date = match self.cell(col) {
            c if c.is_empty() => return Ok(None),
            RawCell::DateSerial(s) | RawCell::Number(s) => Date::from_excel_serial(*s),
            RawCell::Text(t) => Date::parse_iso(t),
            _ => None,
        };
        date.map(Some).ok_or_else(|| self.bad(col, "a date"))
    }

    /// An amount with at most two decimals, as cents; `None` when empty.
    fn amount(&self, col: usize) -> Result<Option<i64>, SnapshotError> {
        let cents = match self.cell(col) {
            c if c.is_empty() => return Ok(None),
            RawCell::Number(n) => {
                let cents = (n * 100.0).round();
                ((n * 100.0 - cents).abs() < 1e-6 && cents.abs() < MAX_EXACT_CENTS as f64)
                    .then_some(cents as i64)
            }
            RawCell::Text(t) => parse_cents(t),
            _ => None,
        };
        cents.map(Some).ok_or_else(|| self.bad(col, "an amount with at most two decimals"))
    }

    fn insurance(&self, col: usize) -> Result<Insurance, SnapshotError> {
        let status = match self.text(col)?.trim() {
            "" => None,
            s if s.eq_ignore_ascii_case(InsuranceStatus::Enrolled.label()) => Some(InsuranceStatus::Enrolled),
            s if s.eq_ignore_ascii_case(InsuranceStatus::NotEnrolled.label()) => {
                Some(InsuranceStatus::NotEnrolled)
            }
            _ => return Err(self.bad(col, "Enrolled, Not Enrolled or an empty cell")),
        };
        Ok(Insurance {
            status,
            policy_number: self.opt_text(col + 1)?,
            coverage_amount_cents: self.amount(col + 2)?,
            coverage_type: self.opt_text(col + 3)?,
            start: self.date(col + 4)?,
            end: self.date(col + 5)?,
        })
    }
}

/// `123`, `-4.5`, `1099.00` as cents; at most two decimals, no thousands separators.
fn parse_cents(text: &str) -> Option<i64> {
    let t = text.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 2 {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<2}").parse().ok()? };
    let cents = whole.checked_mul(100)?.checked_add(fraction)?;
    Some(if negative { -cents } else { cents })
}

/// A whole number from a numeric cell or from digits written as text.
fn whole_number(cell: &RawCell) -> Option<i64> {
    match cell {
        RawCell::Number(n) if n.fract() == 0.0 && n.abs() <= MAX_EXACT_INTEGER as f64 => Some(*n as i64),
        RawCell::Text(t) => {
            let t = t.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        }
        _ => None,
    }
}

/// How a cell is shown in a message: quoted text, or what kind of cell it is.
fn describe(cell: &RawCell) -> String {
    match cell {
        c if c.is_empty() => "an empty cell".to_string(),
        RawCell::Error(e) => format!("the error {e}"),
        RawCell::DateSerial(s) => match Date::from_excel_serial(*s) {
            Some(d) => format!("the date {d}"),
            None => format!("the date serial {}", format_number(*s)),
        },
        RawCell::Bool(b) => format!("the logical value {}", if *b { "TRUE" } else { "FALSE" }),
        other => quoted(&other.as_text()),
    }
}

/// Text in quotes for a message, cut after 60 characters.
fn quoted(text: &str) -> String {
    const LIMIT: usize = 60;
    match text.char_indices().nth(LIMIT) {
        Some((at, _)) => format!("\"{}…\"", &text[..at]),
        None => format!("\"{text}\""),
    }
}

/// A calamine cell as a [`RawCell`]: dates become 1900-system serials of their day.
fn raw_cell(value: DataRef<'_>) -> RawCell {
    match value {
        DataRef::Empty => RawCell::Empty,
        DataRef::String(s) => RawCell::Text(s),
        DataRef::SharedString(s) => RawCell::Text(s.to_string()),
        DataRef::Int(i) => RawCell::Number(i as f64),
        DataRef::Float(f) => RawCell::Number(f),
        DataRef::Bool(b) => RawCell::Bool(b),
        DataRef::DateTime(dt) => {
            let serial = dt.as_f64();
            if !dt.is_datetime() || !serial.is_finite() || serial < 0.0 {
                return RawCell::Number(serial);
            }
            // `to_ymd_hms_milli` knows both the 1900 and the 1904 date systems.
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            match Date::new(i32::from(y), m, d) {
                Some(date) => RawCell::DateSerial(date.to_excel_serial()),
                None => RawCell::Text(format!("{y:04}-{m:02}-{d:02}")),
            }
        }
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => RawCell::Text(s),
        DataRef::Error(e) => RawCell::Error(e.to_string()),
    }
}

/// Streams one sheet's cells row by row: checks the header row against the layout, refuses a
/// value outside the layout's columns, skips blank rows, and hands every other row to
/// `on_row`. Returns the number of data rows handed over.
fn read_rows(
    xlsx: &mut Xlsx<Cursor<&[u8]>>,
    file: &str,
    layout: &'static SheetLayout,
    on_row: &mut dyn FnMut(&Row<'_>) -> Result<(), SnapshotError>,
) -> Result<usize, SnapshotError> {
    let unreadable = |reason: String| SnapshotError::UnreadableSheet {
        file: file.to_string(),
        sheet: layout.name,
        reason,
    };
    let mut reader = xlsx.worksheet_cells_reader(layout.name).map_err(|e| match e {
        calamine::XlsxError::WorksheetNotFound(_) => {
            SnapshotError::MissingSheet { file: file.to_string(), sheet: layout.name }
        }
        other => unreadable(other.to_string()),
    })?;
    let width = layout.columns.len();
    let mut cells: Vec<RawCell> = vec![RawCell::Empty; width];
    let mut current: Option<u32> = None;
    let mut header_checked = false;
    let mut data_rows = 0usize;

    let mut flush = |row_index: u32, cells: &mut Vec<RawCell>, header_checked: &mut bool| {
        let row = Row { file, sheet: layout.name, sheet_row: row_index as usize + 1, cells };
        let result = if !*header_checked {
            *header_checked = true;
            check_header(file, layout, if row_index == 0 { &cells[..] } else { &[] }).and_then(|()| {
                if row_index == 0 {
                    Ok(())
                } else {
                    handle_data_row(&row, on_row, &mut data_rows)
                }
            })
        } else {
            handle_data_row(&row, on_row, &mut data_rows)
        };
        cells.iter_mut().for_each(|c| *c = RawCell::Empty);
        result
    };

    loop {
        let next = reader.next_cell().map_err(|e| unreadable(e.to_string()))?;
        let Some(cell) = next else {
            break;
        };
        let (row_index, col) = cell.get_position();
        let value = raw_cell(cell.get_value().clone());
        match current {
            Some(r) if r == row_index => {}
            Some(r) if r > row_index => {
                return Err(unreadable(format!("row {} comes after row {}", row_index + 1, r + 1)));
            }
            Some(r) => {
                flush(r, &mut cells, &mut header_checked)?;
                current = Some(row_index);
            }
            None => current = Some(row_index),
        }
        let col = col as usize;
        if col < width {
            cells[col] = value;
        } else if !value.is_empty() {
            return Err(SnapshotError::BadCell {
                file: file.to_string(),
                sheet: layout.name,
                cell: CellRef::new(col, row_index as usize + 1),
                expected: format!("nothing after the last column \"{}\"", layout.columns[width - 1]),
                found: describe(&value),
            });
        }
    }
    match current {
        Some(r) => flush(r, &mut cells, &mut header_checked)?,
        None => check_header(file, layout, &[])?,
    }
    Ok(data_rows)
}

fn handle_data_row(
    row: &Row<'_>,
    on_row: &mut dyn FnMut(&Row<'_>) -> Result<(), SnapshotError>,
    data_rows: &mut usize,
) -> Result<(), SnapshotError> {
    // Only truly empty cells make a blank row: a cell holding spaces is a value.
    if row.cells.iter().all(|c| matches!(c, RawCell::Empty) || matches!(c, RawCell::Text(t) if t.is_empty()))
    {
        return Ok(());
    }
    *data_rows += 1;
    on_row(row)
}

fn check_header(file: &str, layout: &SheetLayout, cells: &[RawCell]) -> Result<(), SnapshotError> {
    static EMPTY: RawCell = RawCell::Empty;
    for (col, expected) in layout.columns.iter().enumerate() {
        let cell = cells.get(col).unwrap_or(&EMPTY);
        if cell.as_text().trim() != *expected {
            return Err(SnapshotError::WrongHeader {
                file: file.to_string(),
                sheet: layout.name,
                cell: CellRef::new(col, 1),
                expected,
                found: describe(cell),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use calamine::Data;

    use super::*;
    use crate::core::demo::{demo_crm, DEMO_SEED};
    use crate::core::model::{public_id_for, Record, RecordKey};

    fn demo() -> Crm {
        demo_crm(DEMO_SEED, 1)
    }

    fn round_trip(crm: &Crm) -> Crm {
        let bytes = write_snapshot(crm).expect("the snapshot is written");
        read_snapshot("round-trip.xlsx", &bytes).expect("the snapshot is read back")
    }

    /// The demo CRM with the values most likely to be mangled on the way through Excel.
    fn crm_with_awkward_values() -> Crm {
        let mut crm = demo();
        let entry = crm.entries.get_mut(&1).expect("entry 1");
        entry.first_name = "Zoë José".to_string();
        entry.last_name = "Müller-Åberg O'Brien Nguyễn".to_string();
        entry.client_reference = Some("CR-00000042".to_string());
        entry.ssn = Some("012-34-5678".to_string());
        entry.date_of_birth = Date::new(1899, 12, 31);
        let detail = crm.details.get_mut(&public_id_for(1)).expect("detail 1");
        detail.kind = DetailKind::Address;
        detail.fields.label = "=1+1".to_string();
        detail.fields.postcode = "02134".to_string();
        detail.fields.address_line2 = "-5th floor".to_string();
        detail.fields.city = "@Boston\r\nMA\t ".to_string();
        detail.fields.phone = "+1 617 555 0142".to_string();
        crm.portfolios.insert(
            5,
            Portfolio {
                id: 5,
                name: "Temp — export".to_string(),
                owner_login: None,
                temporary: true,
                case_ids: vec![3, 1, 2],
            },
        );
        crm.counters.next_portfolio_id = 9;
        crm.operators.insert(
            "dnoroles".to_string(),
            Operator { login: "dnoroles".to_string(), name: "Dana No-Roles".to_string(), roles: Vec::new() },
        );
        let device = crm.devices.values_mut().next().expect("a device");
        device.insurance = Insurance {
            status: Some(InsuranceStatus::Enrolled),
            policy_number: Some("0007".to_string()),
            coverage_amount_cents: Some(123_456_789),
            coverage_type: Some("Theft".to_string()),
            start: Date::new(2024, 2, 29),
            end: Date::new(2025, 2, 28),
        };
        let user = crm.school_users.values_mut().next().expect("a user");
        user.insurance.coverage_amount_cents = Some(-5);
        // An import whose before-images do not fit one cell: a portfolio with many cases.
        let big_portfolio = Portfolio {
            id: 1,
            name: "North East Individual".to_string(),
            owner_login: Some("amartin".to_string()),
            temporary: false,
            case_ids: (1..=12_000).collect(),
        };
        let entry_before = crm.entries[&2].clone();
        crm.imports.insert(
            1,
            ImportRecord {
                id: 1,
                template_id: "insured-contact-details".to_string(),
                operator_login: "bsilva".to_string(),
                applied_at_ms: 1_726_567_890_123,
                file_name: "Insured CRM Export — José.xlsx".to_string(),
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string(),
                counts: ImportCounts {
                    created: 1,
                    updated: 2,
                    added: 3,
                    unchanged: 4,
                    skipped: 5,
                    errors: 6,
                },
                before_images: vec![
                    BeforeImage {
                        key: RecordKey { kind: crate::core::model::EntityKind::Entry, id: "2".to_string() },
                        before: Some(Record::Entry(entry_before)),
                    },
                    BeforeImage {
                        key: RecordKey {
                            kind: crate::core::model::EntityKind::Portfolio,
                            id: "1".to_string(),
                        },
                        before: Some(Record::Portfolio(big_portfolio)),
                    },
                    BeforeImage {
                        key: RecordKey {
                            kind: crate::core::model::EntityKind::Detail,
                            id: public_id_for(99_999),
                        },
                        before: None,
                    },
                ],
                undone: false,
            },
        );
        crm.imports.insert(
            2,
            ImportRecord {
                id: 2,
                template_id: "device-insurance".to_string(),
                operator_login: "amartin".to_string(),
                applied_at_ms: 1_726_600_000_000,
                file_name: "devices.csv".to_string(),
                sha256: "00".repeat(32),
                counts: ImportCounts::default(),
                before_images: Vec::new(),
                undone: true,
            },
        );
        crm.counters.next_import_id = 3;
        crm
    }

    type Grid = Vec<Vec<Data>>;

    /// Every sheet of a workbook as a grid of calamine cells (tests only).
    fn grids_of(bytes: &[u8]) -> Vec<(String, Grid)> {
        let mut xlsx: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("a workbook");
        let names = xlsx.sheet_names();
        names
            .into_iter()
            .map(|name| {
                let range = xlsx.worksheet_range(&name).expect("a sheet");
                let grid = range.rows().map(<[Data]>::to_vec).collect();
                (name, grid)
            })
            .collect()
    }

    /// Writes grids back as a workbook, plainly (tests only).
    fn workbook_of(grids: &[(String, Grid)]) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for (name, grid) in grids {
            let sheet = workbook.add_worksheet();
            sheet.set_name(name).expect("a sheet name");
            for (r, row) in grid.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (r, c) = (r as u32, c as u16);
                    let written = match cell {
                        Data::String(s) => sheet.write_string(r, c, s).map(|_| ()),
                        Data::Float(f) => sheet.write_number(r, c, *f).map(|_| ()),
                        Data::Int(i) => sheet.write_number(r, c, *i as f64).map(|_| ()),
                        Data::Bool(b) => sheet.write_boolean(r, c, *b).map(|_| ()),
                        Data::DateTime(d) => {
                            sheet.write_number_with_format(r, c, d.as_f64(), &date).map(|_| ())
                        }
                        _ => Ok(()),
                    };
                    written.expect("a cell");
                }
            }
        }
        workbook.save_to_buffer().expect("a workbook")
    }

    fn grid<'a>(grids: &'a mut [(String, Grid)], sheet: &str) -> &'a mut Grid {
        &mut grids.iter_mut().find(|(n, _)| n == sheet).expect("the sheet").1
    }

    /// Sets one cell, named like `F12`, growing the grid as needed.
    fn set(grids: &mut [(String, Grid)], sheet: &str, cell: &str, value: Data) {
        let col = (cell.as_bytes()[0] - b'A') as usize;
        let row: usize = cell[1..].parse::<usize>().expect("a row number") - 1;
        let g = grid(grids, sheet);
        while g.len() <= row {
            g.push(Vec::new());
        }
        while g[row].len() <= col {
            g[row].push(Data::Empty);
        }
        g[row][col] = value;
    }

    /// The demo snapshot's grids, written and read once for all the refusal tests.
    fn demo_grids() -> Vec<(String, Grid)> {
        static GRIDS: std::sync::OnceLock<Vec<(String, Grid)>> = std::sync::OnceLock::new();
        GRIDS.get_or_init(|| grids_of(&write_snapshot(&demo()).expect("the snapshot is written"))).clone()
    }

    /// The message read_snapshot refuses the edited demo snapshot with.
    fn refusal(edit: impl FnOnce(&mut Vec<(String, Grid)>)) -> String {
        let mut grids = demo_grids();
        edit(&mut grids);
        match read_snapshot("x.xlsx", &workbook_of(&grids)) {
            Ok(_) => panic!("the edited snapshot was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_demo_crm_survives_a_round_trip_exactly() {
        let crm = demo();
        assert_eq!(round_trip(&crm), crm);
        let crm = demo_crm(7, 2);
        assert_eq!(round_trip(&crm), crm);
    }

    #[test]
    fn accents_formula_like_text_leading_zeros_and_before_images_survive_a_round_trip() {
        let crm = crm_with_awkward_values();
        assert_eq!(round_trip(&crm), crm);
    }

    #[test]
    fn an_empty_crm_survives_a_round_trip() {
        let crm = Crm::default();
        assert_eq!(round_trip(&crm), crm);
    }

    #[test]
    fn line_breaks_control_characters_and_excel_escapes_survive_a_round_trip() {
        let awkward = [
            "a\r\nb",
            "\tx",
            "x\ry",
            "line\nbreak",
            "_x0041_",
            "_x005F_x0041_",
            "  leading",
            "trailing  ",
            " ",
            "<&>\"'",
            "emoji 😀",
            "control\u{1}char",
            "\u{FEFF}bom",
            "a\u{2028}b",
            "=1+1",
            "+44",
            "-3",
            "@SUM(A1)",
        ];
        let mut crm = Crm::default();
        for (i, text) in awkward.iter().enumerate() {
            let id = i as u32 + 1;
            crm.cases.insert(id, Case { id, reference: format!("CASE-{id:06}"), title: text.to_string() });
        }
        crm.counters.next_case_id = 100;
        assert_eq!(round_trip(&crm), crm);
    }

    #[test]
    fn identifiers_are_text_dates_are_real_dates_and_formula_like_text_stays_text() {
        let grids = grids_of(&write_snapshot(&crm_with_awkward_values()).expect("written"));
        let sheet = |name: &str| &grids.iter().find(|(n, _)| n == name).expect("the sheet").1;
        let names: Vec<&str> = grids.iter().map(|(n, _)| n.as_str()).collect();
        let expected: Vec<&str> = SNAPSHOT_SHEETS.iter().map(|l| l.name).collect();
        assert_eq!(names, expected);
        let about = sheet("About");
        assert_eq!(about[1], vec![Data::String("Format".into()), Data::String(FORMAT_NAME.into())]);
        let entries = sheet("CRM Entries");
        assert_eq!(entries[1][1], Data::String("CR-00000042".into()));
        assert!(matches!(entries[2][5], Data::DateTime(_)), "{:?}", entries[2][5]);
        // A date Excel cannot show is ISO text.
        assert_eq!(entries[1][5], Data::String("1899-12-31".into()));
        let details = sheet("Contact Details");
        assert_eq!(details[1][3], Data::String("=1+1".into()));
        assert_eq!(details[1][9], Data::String("02134".into()));
        // The big before-image is cut into parts that each fit a cell.
        let parts = sheet("Import Before Images");
        assert!(parts.len() >= 3, "{} rows", parts.len());
        for row in &parts[1..] {
            let Data::String(json) = &row[2] else { panic!("JSON part is not text: {:?}", row[2]) };
            assert!(json.encode_utf16().count() <= JSON_PART_LENGTH);
        }
    }

    #[test]
    fn json_parts_never_split_a_character() {
        let text = "aé😀".repeat(1000);
        for max in [1, 2, 3, 7, 100] {
            let parts = split_for_cells(&text, max.max(2));
            assert_eq!(parts.concat(), text);
            assert!(parts.iter().all(|p| p.encode_utf16().count() <= max.max(2)));
        }
        assert!(split_for_cells("", 10).is_empty());
    }

    #[test]
    fn amounts_parse_with_at_most_two_decimals() {
        assert_eq!(parse_cents("1099"), Some(109_900));
        assert_eq!(parse_cents("1099.5"), Some(109_950));
        assert_eq!(parse_cents("-0.05"), Some(-5));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(parse_cents("1,099.00"), None);
        assert_eq!(parse_cents("."), None);
        assert_eq!(format_cents(-5), "-0.05");
        assert_eq!(format_cents(123_456), "1234.56");
    }

    #[test]
    fn reading_is_pure_and_repeatable() {
        let bytes = write_snapshot(&demo()).expect("written");
        let copy = bytes.clone();
        let first = read_snapshot("a.xlsx", &bytes).expect("read");
        let second = read_snapshot("a.xlsx", &bytes).expect("read");
        assert_eq!(first, second);
        assert_eq!(bytes, copy);
    }

    #[test]
    fn the_test_harness_round_trips_an_unedited_snapshot() {
        let grids = demo_grids();
        assert_eq!(read_snapshot("x.xlsx", &workbook_of(&grids)).expect("read"), demo());
    }

    #[test]
    fn a_bad_date_is_refused_naming_the_sheet_and_cell() {
        let message = refusal(|g| set(g, "CRM Entries", "F12", Data::String("31/02/1990".into())));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx", sheet "CRM Entries", cell F12: expected a date, found "31/02/1990""#
        );
    }

    #[test]
    fn a_wrong_header_is_refused_naming_the_header_cell_and_the_expected_header() {
        let message = refusal(|g| set(g, "Contact Details", "J1", Data::String("Zip".into())));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx", sheet "Contact Details", cell J1: expected the header "Postcode", found "Zip""#
        );
    }

    #[test]
    fn a_missing_sheet_is_refused() {
        let message = refusal(|g| g.retain(|(name, _)| name != "Devices"));
        assert_eq!(message, r#"Snapshot "x.xlsx" has no sheet "Devices""#);
    }

    #[test]
    fn a_duplicate_id_is_refused_naming_both_cells() {
        let message = refusal(|g| set(g, "Cases", "A3", Data::Float(1.0)));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx", sheet "Cases", cell A3: Case ID 1 is already used in cell A2"#
        );
    }

    #[test]
    fn a_duplicate_ssn_or_client_reference_is_refused() {
        let crm = demo();
        let with_ssn: Vec<&CrmEntry> = crm.entries.values().filter(|e| e.ssn.is_some()).take(2).collect();
        let first_row = with_ssn[0].id + 1;
        let second_row = with_ssn[1].id + 1;
        let ssn = with_ssn[0].ssn.clone().unwrap_or_default();
        let message =
            refusal(|g| set(g, "CRM Entries", &format!("C{second_row}"), Data::String(ssn.clone())));
        assert_eq!(
            message,
            format!(
                r#"Snapshot "x.xlsx", sheet "CRM Entries", cell C{second_row}: SSN "{ssn}" is already used in cell C{first_row}"#
            )
        );
        let message = refusal(|g| {
            set(g, "CRM Entries", "B2", Data::String("CR-1".into()));
            set(g, "CRM Entries", "B900", Data::String("CR-1".into()));
        });
        assert!(
            message.contains(r#"cell B900: Client Reference "CR-1" is already used in cell B2"#),
            "{message}"
        );
    }

    #[test]
    fn an_insureds_entry_that_no_entry_has_is_refused() {
        let message = refusal(|g| set(g, "Insureds", "F2", Data::Float(99_999.0)));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx", sheet "Insureds", cell F2: CRM Entry ID 99999 matches no row of sheet "CRM Entries""#
        );
    }

    #[test]
    fn other_missing_references_are_refused() {
        let message = refusal(|g| set(g, "Contact Details", "B2", Data::Float(12_345.0)));
        assert!(
            message.contains(r#"cell B2: CRM Entry ID 12345 matches no row of sheet "CRM Entries""#),
            "{message}"
        );
        let message = refusal(|g| set(g, "Portfolio Cases", "B2", Data::Float(4_000.0)));
        assert!(message.contains(r#"cell B2: Case ID 4000 matches no row of sheet "Cases""#), "{message}");
        let message =
            refusal(|g| set(g, "Account Contacts", "B2", Data::String("00.000.000/0001-00".into())));
        assert!(
            message.contains(r#"Account Number "00.000.000/0001-00" matches no row of sheet "Accounts""#),
            "{message}"
        );
        let message = refusal(|g| set(g, "Accounts", "D2", Data::String("zz-nobody".into())));
        assert!(
            message.contains(r#"cell D2: Portfolio "zz-nobody" matches no row of sheet "Operators""#),
            "{message}"
        );
        let message = refusal(|g| set(g, "Portfolios", "C2", Data::String("zz-nobody".into())));
        assert!(
            message.contains(r#"cell C2: Owner Login "zz-nobody" matches no row of sheet "Operators""#),
            "{message}"
        );
    }

    #[test]
    fn a_workbook_without_an_about_sheet_is_foreign() {
        let grids = vec![("Sheet1".to_string(), vec![vec![Data::String("Name".into())]])];
        let message = read_snapshot("book.xlsx", &workbook_of(&grids)).map(|_| ()).unwrap_err().to_string();
        assert_eq!(
            message,
            r#"Snapshot "book.xlsx" is not a Roundtrip CRM snapshot: it has no sheet "About""#
        );
    }

    #[test]
    fn a_workbook_with_another_format_name_is_foreign() {
        let message = refusal(|g| set(g, "About", "B2", Data::String("Someone else's backup".into())));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx" is not a Roundtrip CRM snapshot: About!B2 is "Someone else's backup", not "Roundtrip CRM snapshot""#
        );
    }

    #[test]
    fn another_programs_about_sheet_is_foreign() {
        let message = refusal(|g| set(g, "About", "A1", Data::String("Title".into())));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx" is not a Roundtrip CRM snapshot: About!A1 is "Title", not the header "Item""#
        );
    }

    #[test]
    fn a_newer_format_version_is_refused() {
        let message = refusal(|g| set(g, "About", "B3", Data::Float(2.0)));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx", sheet "About", cell B3: format version "2" is not supported; this version of Roundtrip reads version 1"#
        );
    }

    #[test]
    fn a_sheet_shorter_than_about_declares_is_refused() {
        let message = refusal(|g| {
            grid(g, "Contact Details").pop();
        });
        assert!(message.starts_with(r#"Snapshot "x.xlsx", sheet "About", cell B10: expected "#), "{message}");
        assert!(message.contains(r#"rows in sheet "Contact Details", found "#), "{message}");
    }

    #[test]
    fn a_counter_behind_its_records_is_refused() {
        let message = refusal(|g| set(g, "About", "B19", Data::Float(5.0)));
        assert!(
            message.starts_with(
                r#"Snapshot "x.xlsx", sheet "About", cell B19: expected "Next Detail Number" to be at least "#
            ),
            "{message}"
        );
    }

    #[test]
    fn a_value_beyond_the_last_column_is_refused() {
        let message = refusal(|g| set(g, "Cases", "D5", Data::String("note".into())));
        assert_eq!(
            message,
            r#"Snapshot "x.xlsx", sheet "Cases", cell D5: expected nothing after the last column "Title", found "note""#
        );
    }

    #[test]
    fn unknown_kinds_flags_and_ids_are_refused() {
        let message = refusal(|g| set(g, "Contact Details", "C2", Data::String("Fax".into())));
        assert!(message.ends_with(r#"cell C2: expected Address, Phone or Email, found "Fax""#), "{message}");
        let message = refusal(|g| set(g, "Contact Details", "E2", Data::String("Maybe".into())));
        assert!(message.ends_with(r#"cell E2: expected Yes or No, found "Maybe""#), "{message}");
        let message = refusal(|g| set(g, "Cases", "A2", Data::Float(1.5)));
        assert!(message.ends_with(r#"cell A2: expected a whole-number ID, found "1.5""#), "{message}");
        let message = refusal(|g| set(g, "Operators", "C2", Data::String("Admin".into())));
        assert!(message.contains("cell C2: expected roles from ManageSettings, Import, Export"), "{message}");
    }

    #[test]
    fn broken_before_image_json_is_refused() {
        let crm = crm_with_awkward_values();
        let mut grids = grids_of(&write_snapshot(&crm).expect("written"));
        set(&mut grids, "Import Before Images", "C3", Data::String("{not json".into()));
        let message = read_snapshot("x.xlsx", &workbook_of(&grids)).map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with(r#"Snapshot "x.xlsx", sheet "Import Before Images", cell C2: expected the before-images of import 1 as JSON"#),
            "{message}"
        );
    }

    #[test]
    fn a_shared_string_table_declaring_billions_of_strings_is_refused_before_calamine() {
        use std::io::Read;
        const SHARED_STRINGS_PART: &str = "xl/sharedStrings.xml";
        let bytes = write_snapshot(&demo()).expect("written");
        let mut archive = zip::ZipArchive::new(Cursor::new(&bytes[..])).expect("a zip");
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let entry = archive.by_index(i).expect("an entry");
            if !entry.name().is_ok_and(|n| n == SHARED_STRINGS_PART) {
                out.raw_copy_file(entry).expect("copied");
                continue;
            }
            let mut xml = String::new();
            let mut entry = entry;
            entry.read_to_string(&mut xml).expect("read");
            let at = xml.find("uniqueCount=\"").expect("a uniqueCount") + "uniqueCount=\"".len();
            let end = at + xml[at..].find('"').expect("a closing quote");
            xml.replace_range(at..end, "4000000000");
            out.start_file(SHARED_STRINGS_PART, zip::write::SimpleFileOptions::default()).expect("started");
            std::io::Write::write_all(&mut out, xml.as_bytes()).expect("written");
        }
        let bomb = out.finish().expect("finished").into_inner();
        let message = read_snapshot("strings.xlsx", &bomb).map(|_| ()).unwrap_err().to_string();
        assert!(message.starts_with(r#"Snapshot "strings.xlsx" was refused before reading: "#), "{message}");
        assert!(message.contains(r#"uniqueCount="4,000,000,000""#), "{message}");
    }

    #[test]
    fn bytes_that_are_not_a_zip_are_refused() {
        let message = read_snapshot("notes.txt", b"just some text").map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with(r#"Snapshot "notes.txt" is not a readable XLSX workbook: "#),
            "{message}"
        );
    }

    #[test]
    fn a_zip_declaring_more_than_400_mib_is_refused_before_calamine() {
        let mut bytes = write_snapshot(&demo()).expect("written");
        // Declare 450 MiB uncompressed in the first central-directory record.
        let at = bytes.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).expect("a central directory");
        bytes[at + 24..at + 28].copy_from_slice(&(450u32 << 20).to_le_bytes());
        let message = read_snapshot("bomb.xlsx", &bytes).map(|_| ()).unwrap_err().to_string();
        assert!(message.starts_with(r#"Snapshot "bomb.xlsx" was refused before reading: "#), "{message}");
        assert!(message.contains("zip bomb"), "{message}");
    }
}
