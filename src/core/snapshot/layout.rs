//! The snapshot's layout: its sheets and their columns in order, the About sheet's items, and
//! the numeric bounds both the writer and the reader hold values to. Writing and reading
//! share these definitions, so a snapshot the app writes is always one it reads.

use crate::core::model::Counters;

/// The format name written in `About!B2`; a workbook without it is not a snapshot.
pub const FORMAT_NAME: &str = "Roundtrip CRM snapshot";

/// The layout version written in `About!B3`. Version 2 added the sheet "PII Ledger"; this
/// code writes version 2 and reads versions 1 and 2 (a version-1 file loads with an empty
/// ledger).
pub const FORMAT_VERSION: u32 = 2;

/// The oldest layout version this code reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

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
    pub(crate) widths: &'static [f64],
}

pub(crate) const ABOUT: SheetLayout =
    SheetLayout { name: "About", columns: &["Item", "Value"], widths: &[28.0, 28.0] };
pub(crate) const OPERATORS: SheetLayout =
    SheetLayout { name: "Operators", columns: &["Login", "Name", "Roles"], widths: &[14.0, 24.0, 32.0] };
pub(crate) const PORTFOLIOS: SheetLayout = SheetLayout {
    name: "Portfolios",
    columns: &["ID", "Name", "Owner Login", "Temporary"],
    widths: &[8.0, 28.0, 14.0, 11.0],
};
pub(crate) const PORTFOLIO_CASES: SheetLayout =
    SheetLayout { name: "Portfolio Cases", columns: &["Portfolio ID", "Case ID"], widths: &[13.0, 10.0] };
pub(crate) const CASES: SheetLayout =
    SheetLayout { name: "Cases", columns: &["ID", "Reference", "Title"], widths: &[8.0, 14.0, 44.0] };
pub(crate) const INSUREDS: SheetLayout = SheetLayout {
    name: "Insureds",
    columns: &["ID", "Case ID", "Insured Reference", "First Name", "Last Name", "CRM Entry ID"],
    widths: &[8.0, 9.0, 17.0, 16.0, 18.0, 13.0],
};
pub(crate) const CRM_ENTRIES: SheetLayout = SheetLayout {
    name: "CRM Entries",
    columns: &["ID", "Client Reference", "SSN", "First Name", "Last Name", "Date of Birth"],
    widths: &[8.0, 16.0, 13.0, 16.0, 18.0, 13.0],
};
pub(crate) const CONTACT_DETAILS: SheetLayout = SheetLayout {
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
pub(crate) const ACCOUNTS: SheetLayout = SheetLayout {
    name: "Accounts",
    columns: &["Account Number", "Account Name", "Account Type", "Portfolio"],
    widths: &[20.0, 34.0, 13.0, 18.0],
};
pub(crate) const ACCOUNT_CONTACTS: SheetLayout = SheetLayout {
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
pub(crate) const SPECIALTIES: SheetLayout =
    SheetLayout { name: "Specialties", columns: &["Specialty"], widths: &[24.0] };
pub(crate) const SCHOOL_USERS: SheetLayout = SheetLayout {
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
pub(crate) const DEVICES: SheetLayout = SheetLayout {
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
pub(crate) const IMPORT_HISTORY: SheetLayout = SheetLayout {
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
pub(crate) const IMPORT_BEFORE_IMAGES: SheetLayout = SheetLayout {
    name: "Import Before Images",
    columns: &["Import ID", "Part", "JSON"],
    widths: &[11.0, 7.0, 100.0],
};

pub(crate) const PII_LEDGER: SheetLayout = SheetLayout {
    name: "PII Ledger",
    columns: &[
        "ID",
        "Operator",
        "At (ms)",
        "What",
        "CRM Entry ID",
        "Entry Label",
        "File Name",
        "SHA-256",
        "Full SSNs",
    ],
    widths: &[32.0, 12.0, 16.0, 26.0, 13.0, 26.0, 36.0, 66.0, 10.0],
};

/// Every sheet of a snapshot, in workbook order.
pub const SNAPSHOT_SHEETS: [SheetLayout; 16] = [
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
    PII_LEDGER,
];

/// The sheets a snapshot of layout `version` has: version 1 had no "PII Ledger".
pub fn sheets_of_version(version: u32) -> &'static [SheetLayout] {
    if version < 2 {
        &SNAPSHOT_SHEETS[..SNAPSHOT_SHEETS.len() - 1]
    } else {
        &SNAPSHOT_SHEETS
    }
}

/// The About sheet's items, in order (after the row counts, which are `Rows in <sheet>`).
pub(crate) const ITEM_FORMAT: &str = "Format";
pub(crate) const ITEM_VERSION: &str = "Format Version";
pub(crate) const COUNTER_ITEMS: [&str; 7] = [
    "Next CRM Entry ID",
    "Next Detail Number",
    "Next Case ID",
    "Next Insured ID",
    "Next Portfolio ID",
    "Next Account Contact ID",
    "Next Import ID",
];

/// The About item holding the CRM's digest secret (64 hex characters), after the counters. A
/// snapshot written before digest secrets has none; whoever loads it gives the CRM a new one.
pub(crate) const ITEM_SECRET: &str = "Digest Secret";

pub(crate) fn counter_values(c: &Counters) -> [u32; 7] {
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

pub(crate) fn rows_item(sheet: &str) -> String {
    format!("Rows in {sheet}")
}

/// 2^53: every integer up to this is exact in a double.
pub(crate) const MAX_EXACT_INTEGER: u64 = 1 << 53;
/// Amounts below this many cents survive `cents / 100` and `round(x * 100)` exactly.
pub(crate) const MAX_EXACT_CENTS: u64 = 1 << 50;
