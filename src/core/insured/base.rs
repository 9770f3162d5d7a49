//! The export base: what an Insured CRM Export held when it was written, kept in the file
//! itself on a very hidden worksheet ([`BASE_SHEET`]) so that a re-import can tell a value the
//! operator changed in Excel from a stale value the CRM has changed since (a three-way merge:
//! file against base against the CRM now). The base is keyed by Public ID (each exported
//! detail's fields) and by CRM entry (names, Client Reference, SSN as a SHA-256 digest — the
//! SSN itself is never stored here —, date of birth), never by row position, so sorting,
//! filtering and deleting rows in Excel do not disturb it. [`ExportBase::of_export`] builds it
//! from the export's rows, [`write_base_sheet`] writes it, [`read_export_base`] reads it back
//! from a file's bytes: a missing or damaged base is a value ([`ExportBaseRead`]), never an
//! error that stops an import. [`three_way`] is the merge rule the planner applies per field.

use std::collections::BTreeMap;

use rust_xlsxwriter::{Workbook, Worksheet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::digest::sha256_hex;
use crate::core::index::CrmIndex;
use crate::core::model::{DetailFields, DetailKind, EntityKind, EntryId};
use crate::core::plan::key;
use crate::core::read::read_named_sheet;
use crate::core::revision::{Revision, Revisions};
use crate::core::sheet::SheetRow;
use crate::core::text::ssn_digits;
use crate::core::xlsx::ExportError;

use super::export::InsuredExportRow;

/// The name of the very hidden worksheet that holds the base.
pub const BASE_SHEET: &str = "Roundtrip Export Base";

/// The first cell of the base sheet: what it is and its layout's version.
const MARKER: &str = "Roundtrip export base v1";

/// The base sheet's table header, in column order.
const HEADER: [&str; 19] = [
    "Kind",
    "Key",
    "Entry",
    "Revision",
    "First Name",
    "Last Name",
    "Client Reference",
    "SSN SHA-256",
    "Date of Birth",
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
];

/// The last column (after [`HEADER`]).
const EMAIL: &str = "Email";

/// A CRM entry's identity fields as exported.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BaseEntry {
    /// The entry's record revision at export time, when the exporter knew it.
    pub revision: Option<Revision>,
    pub first_name: String,
    pub last_name: String,
    pub client_reference: String,
    /// [`ssn_digest`] of the exported SSN ("" for none).
    pub ssn_sha256: String,
    /// ISO date ("" for none).
    pub date_of_birth: String,
}

/// A contact detail as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseDetail {
    /// The detail's record revision at export time, when the exporter knew it.
    pub revision: Option<Revision>,
    /// The entry the detail belonged to.
    pub entry_id: EntryId,
    pub kind: DetailKind,
    pub fields: DetailFields,
}

/// What an Insured CRM Export held when it was written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExportBase {
    /// A digest of the portfolio and the export time: names this export.
    pub export_id: String,
    /// When the export was written (Unix milliseconds, as the caller passed it).
    pub exported_at_ms: i64,
    /// Exported entries by id.
    pub entries: BTreeMap<EntryId, BaseEntry>,
    /// Exported details by Public ID.
    pub details: BTreeMap<String, BaseDetail>,
}

/// Lower-case hex SHA-256 of an SSN's nine digits ("" when the text is no SSN).
pub fn ssn_digest(ssn: &str) -> String {
    ssn_digits(ssn).map(|d| sha256_hex(d.as_bytes())).unwrap_or_default()
}

/// The three-way merge of one field: whose value the import keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    /// The file still says what was exported (or agrees with the CRM): the CRM's value stays.
    Crm,
    /// The CRM still holds what was exported: the file's value applies.
    File,
    /// Both changed since the export, to different values.
    Conflict,
}

/// The merge rule: file == base → the CRM's; CRM == base (or CRM == file) → the file's;
/// otherwise a conflict.
pub fn three_way(base: &str, crm: &str, file: &str) -> Merged {
    if file == base || file == crm {
        Merged::Crm
    } else if crm == base {
        Merged::File
    } else {
        Merged::Conflict
    }
}

impl ExportBase {
    /// The base of an export's rows: every entry and detail they show, with the revisions
    /// the caller knows (`None`: values only). The id digests the portfolio and the time.
    pub fn of_export(
        index: &CrmIndex<'_>,
        rows: &[InsuredExportRow],
        portfolio_id: u32,
        now_ms: i64,
        revisions: Option<&Revisions>,
    ) -> ExportBase {
        let id_digest = sha256_hex(format!("insured-crm-export|{portfolio_id}|{now_ms}").as_bytes());
        let mut base = ExportBase {
            export_id: id_digest[..16].to_string(),
            exported_at_ms: now_ms,
            ..Default::default()
        };
        let revision = |kind, id: &dyn ToString| revisions.and_then(|r| r.get(&key(kind, id.to_string())));
        for row in rows {
            let Some(entry_id) = row.entry_id else { continue };
            base.entries.entry(entry_id).or_insert_with(|| BaseEntry {
                revision: revision(EntityKind::Entry, &entry_id),
                first_name: row.first_name.clone(),
                last_name: row.last_name.clone(),
                client_reference: row.client_reference.clone(),
                ssn_sha256: ssn_digest(&row.ssn),
                date_of_birth: row.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            });
            if row.public_id.is_empty() {
                continue;
            }
            if let Some(d) = index.crm.details.get(&row.public_id) {
                base.details.insert(
                    d.public_id.clone(),
                    BaseDetail {
                        revision: revision(EntityKind::Detail, &d.public_id),
                        entry_id: d.entry_id,
                        kind: d.kind,
                        fields: d.fields.clone(),
                    },
                );
            }
        }
        base
    }

    /// The table rows of the base sheet, as text (the checksum covers exactly these).
    fn table(&self) -> Vec<Vec<String>> {
        let rev = |r: Option<Revision>| r.map(|r| r.to_string()).unwrap_or_default();
        let mut rows = Vec::with_capacity(self.entries.len() + self.details.len());
        for (id, e) in &self.entries {
            let mut row = vec![
                "Entry".to_string(),
                id.to_string(),
                id.to_string(),
                rev(e.revision),
                e.first_name.clone(),
                e.last_name.clone(),
                e.client_reference.clone(),
                e.ssn_sha256.clone(),
                e.date_of_birth.clone(),
            ];
            row.resize(HEADER.len() + 1, String::new());
            rows.push(row);
        }
        for (pid, d) in &self.details {
            let f = &d.fields;
            let mut row = vec!["Detail".to_string(), pid.clone(), d.entry_id.to_string(), rev(d.revision)];
            row.resize(9, String::new());
            row.extend([
                d.kind.label().to_string(),
                f.label.clone(),
                if f.primary { "Yes" } else { "No" }.to_string(),
                f.address_line1.clone(),
                f.address_line2.clone(),
                f.city.clone(),
                f.region.clone(),
                f.postcode.clone(),
                f.country.clone(),
                f.phone.clone(),
                f.email.clone(),
            ]);
            rows.push(row);
        }
        rows
    }
}

/// A digest of the table, so that a base edited by hand reads as damaged.
fn checksum(export_id: &str, at: &str, table: &[Vec<String>]) -> String {
    let mut h = Sha256::new();
    for cell in [export_id, at].into_iter().chain(table.iter().flatten().map(String::as_str)) {
        h.update((cell.len() as u64).to_le_bytes());
        h.update(cell.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds the base as a very hidden worksheet (every cell text) to an export workbook.
pub fn write_base_sheet(workbook: &mut Workbook, base: &ExportBase) -> Result<(), ExportError> {
    let sheet: &mut Worksheet = workbook.add_worksheet();
    sheet.set_name(BASE_SHEET)?;
    sheet.set_very_hidden(true);
    let table = base.table();
    let at = base.exported_at_ms.to_string();
    let meta = [
        [MARKER, ""],
        ["Export ID", base.export_id.as_str()],
        ["Exported at", at.as_str()],
        ["Checksum", &checksum(&base.export_id, &at, &table)],
    ];
    for (r, pair) in meta.iter().enumerate() {
        for (c, v) in pair.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32, c as u16, *v)?;
            }
        }
    }
    let header_row = meta.len() as u32;
    for (c, h) in HEADER.iter().chain([&EMAIL]).enumerate() {
        sheet.write_string(header_row, c as u16, *h)?;
    }
    for (i, row) in table.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(header_row + 1 + i as u32, c as u16, v)?;
            }
        }
    }
    Ok(())
}

/// What a file says of its export base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportBaseRead {
    /// The file carries its base.
    Present(ExportBase),
    /// No base sheet: a third party's file, a CSV, an export of an older version, or a copy
    /// whose sheet was deleted.
    Absent,
    /// A base sheet that cannot be used, and why.
    Damaged(String),
}

impl ExportBaseRead {
    /// The base, when the file carries a usable one.
    pub fn base(&self) -> Option<&ExportBase> {
        match self {
            ExportBaseRead::Present(b) => Some(b),
            _ => None,
        }
    }

    /// The plan notice of a file without a usable base (`None` when it has one).
    pub fn notice(&self) -> Option<String> {
        match self {
            ExportBaseRead::Present(_) => None,
            ExportBaseRead::Absent => Some(
                "This file carries no export base: changes made in the CRM since it was exported cannot be detected."
                    .into(),
            ),
            ExportBaseRead::Damaged(why) => Some(format!(
                "This file's export base is damaged ({why}): changes made in the CRM since it was exported cannot be detected."
            )),
        }
    }
}

/// Reads the export base of a file's bytes (the same bytes [`crate::core::read::read_sheet`]
/// reads), bounded like every read. Never fails: a file without the sheet is
/// [`ExportBaseRead::Absent`], one that cannot be read or parsed is
/// [`ExportBaseRead::Damaged`] with the reason.
pub fn read_export_base(file_name: &str, bytes: &[u8]) -> ExportBaseRead {
    match read_named_sheet(file_name, bytes, BASE_SHEET) {
        Ok(None) => ExportBaseRead::Absent,
        Ok(Some(rows)) => match parse_base(&rows) {
            Ok(base) => ExportBaseRead::Present(base),
            Err(why) => ExportBaseRead::Damaged(why),
        },
        Err(e) => ExportBaseRead::Damaged(format!("its sheet cannot be read: {e}")),
    }
}

/// The base from its sheet's rows.
fn parse_base(rows: &[SheetRow]) -> Result<ExportBase, String> {
    let text = |r: &SheetRow, c: usize| r.cells.get(c).map(|x| x.as_text()).unwrap_or_default();
    let mut rows = rows.iter().filter(|r| !r.is_blank());
    let mut meta = |label: &str| -> Result<String, String> {
        let row = rows.next().ok_or_else(|| format!("the {label} row is missing"))?;
        if text(row, 0) != label {
            return Err(format!("row {} should be the {label} row", row.sheet_row));
        }
        Ok(text(row, 1))
    };
    meta(MARKER).map_err(|_| "it is not a base this version of Roundtrip wrote".to_string())?;
    let export_id = meta("Export ID")?;
    let at = meta("Exported at")?;
    let exported_at_ms = at.parse::<i64>().map_err(|_| format!("the export time {at:?} is not a time"))?;
    let expected_sum = meta("Checksum")?;
    let header = rows.next().ok_or("the table header is missing")?;
    let wanted: Vec<&str> = HEADER.iter().copied().chain([EMAIL]).collect();
    if (0..wanted.len()).any(|c| text(header, c) != wanted[c]) {
        return Err(format!("row {} is not the table header", header.sheet_row));
    }
    let mut base = ExportBase { export_id, exported_at_ms, ..Default::default() };
    for row in rows {
        let cells: Vec<String> = (0..wanted.len()).map(|c| text(row, c)).collect();
        let at_row = |what: &str| format!("row {}: {what}", row.sheet_row);
        let revision = match cells[3].as_str() {
            "" => None,
            r => Some(r.parse::<Revision>().map_err(|_| at_row("the revision is not a number"))?),
        };
        let entry_id: EntryId = cells[2].parse().map_err(|_| at_row("the entry is not a number"))?;
        match cells[0].as_str() {
            "Entry" => {
                let e = BaseEntry {
                    revision,
                    first_name: cells[4].clone(),
                    last_name: cells[5].clone(),
                    client_reference: cells[6].clone(),
                    ssn_sha256: cells[7].clone(),
                    date_of_birth: cells[8].clone(),
                };
                if base.entries.insert(entry_id, e).is_some() {
                    return Err(at_row("the entry is listed twice"));
                }
            }
            "Detail" => {
                let kind =
                    DetailKind::parse(&cells[9]).ok_or_else(|| at_row("the detail type is unknown"))?;
                let fields = DetailFields {
                    label: cells[10].clone(),
                    primary: cells[11] == "Yes",
                    address_line1: cells[12].clone(),
                    address_line2: cells[13].clone(),
                    city: cells[14].clone(),
                    region: cells[15].clone(),
                    postcode: cells[16].clone(),
                    country: cells[17].clone(),
                    phone: cells[18].clone(),
                    email: cells[19].clone(),
                };
                let d = BaseDetail { revision, entry_id, kind, fields };
                if base.details.insert(cells[1].clone(), d).is_some() {
                    return Err(at_row("the Public ID is listed twice"));
                }
            }
            other => return Err(at_row(&format!("unknown kind {other:?}"))),
        }
    }
    // The checksum is over the table as written: rebuild it from what was parsed.
    if checksum(&base.export_id, &at, &base.table()) != expected_sum {
        return Err("its checksum does not match its contents".into());
    }
    Ok(base)
}
