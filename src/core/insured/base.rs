//! The export base: what an Insured CRM Export held when it was written, kept in the file
//! itself on a very hidden worksheet ([`BASE_SHEET`]) so that a re-import can tell a value the
//! operator changed in Excel from a stale value the CRM has changed since (a three-way merge:
//! file against base against the CRM now). The base is keyed by Public ID (each exported
//! detail) and by CRM entry, never by row position, so sorting, filtering and deleting rows in
//! Excel do not disturb it.
//!
//! The sheet travels with the file the operator sends away, so it holds nothing personal in
//! plain: each personal value — names, Client Reference, SSN, date of birth, every address
//! field, phone, email — is a keyed digest ([`CrmSecret::base_digest`]) of the exported value
//! under the CRM's secret, bound to its export, record and field. That is all the merge needs
//! ("is the file's value, or the CRM's, still what was exported?"); a conflict shows the CRM's
//! and the file's values, never the exported one. In plain stay only the record keys (entry
//! number, Public ID), revisions, the detail type, label and primary flag. A check digest of
//! the export id tells whether the CRM importing the file holds the secret that wrote it. A
//! record's digests share one cell, 8 base64url characters (48 bits) each in field order.
//!
//! [`ExportBase::of_export`] builds the base from the export's rows, [`write_base_sheet`]
//! writes it, [`read_export_base`] reads it back from a file's bytes: a missing or damaged
//! base is a value ([`ExportBaseRead`]), never an error that stops an import.
//! [`ExportBase::under`] opens a base under the importing CRM's secret ([`AsExported`]), and
//! [`three_way`] is the merge rule the planner applies per field.

use std::collections::BTreeMap;

use rust_xlsxwriter::{Workbook, Worksheet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::digest::sha256_hex;
use crate::core::index::{client_reference_key, CrmIndex};
use crate::core::model::{Crm, DetailFields, DetailKind, EntityKind, EntryId};
use crate::core::plan::key;
use crate::core::privacy::keyed::BaseDigester;
use crate::core::privacy::Ssn;
use crate::core::read::read_named_sheet;
use crate::core::revision::{Revision, Revisions};
use crate::core::sheet::SheetRow;
use crate::core::xlsx::ExportError;

use super::export::InsuredExportRow;

/// The name of the very hidden worksheet that holds the base.
pub const BASE_SHEET: &str = "Roundtrip Export Base";

/// The first cell of the base sheet: what it is and its layout's version (version 1 held
/// values in plain and is read as a base this version did not write).
const MARKER: &str = "Roundtrip export base v2";

/// The base sheet's table header: one column, one cell per exported record, its parts
/// separated by `|` (one cell instead of eight keeps the sheet small):
/// `Entry|<entry>|<revision>|<digests>` and
/// `Detail|<Public ID>|<entry>|<revision>|<type>|<Yes/No primary>|<digests>|<label>`, the
/// digests one after the other, 8 characters each: an entry's [`ENTRY_FIELDS`], a detail's
/// [`DETAIL_FIELDS`] (an empty field of another kind as [`NOT_OF_KIND`]).
const HEADER: [&str; 1] = ["Record"];

/// The characters of one digest in a record's digests.
const DIGEST_CHARS: usize = 8;

/// The slot of a detail's field of another kind that was empty (no digest: nothing to hide).
const NOT_OF_KIND: &str = "........";

/// The fields of an entry the base holds as digests, in column order.
pub const ENTRY_FIELDS: [&str; 5] = ["First Name", "Last Name", "Client Reference", "SSN", "Date of Birth"];

/// The value fields of a detail the base holds as digests, in column order.
pub const DETAIL_FIELDS: [&str; 8] =
    ["Address Line 1", "Address Line 2", "City", "Region", "Postcode", "Country", "Phone", "Email"];

/// A CRM entry's identity fields as exported: digests in [`ENTRY_FIELDS`] order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BaseEntry {
    /// The entry's record revision at export time, when the exporter knew it.
    pub revision: Option<Revision>,
    pub digests: [String; 5],
}

/// A contact detail as exported: its kind, label and primary flag, and digests of its value
/// fields in [`DETAIL_FIELDS`] order ("" for an empty field of another kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseDetail {
    /// The detail's record revision at export time, when the exporter knew it.
    pub revision: Option<Revision>,
    /// The entry the detail belonged to.
    pub entry_id: EntryId,
    pub kind: DetailKind,
    pub label: String,
    pub primary: bool,
    pub digests: [String; 8],
}

/// What an Insured CRM Export held when it was written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExportBase {
    /// A digest of the portfolio and the export time: names this export.
    pub export_id: String,
    /// When the export was written (Unix milliseconds, as the caller passed it).
    pub exported_at_ms: i64,
    /// [`CrmSecret::base_check`] of the export id under the secret that wrote the digests.
    pub secret_check: String,
    /// Exported entries by id.
    pub entries: BTreeMap<EntryId, BaseEntry>,
    /// Exported details by Public ID.
    pub details: BTreeMap<String, BaseDetail>,
}

/// The record part of a digest: which entry or detail the value belongs to.
fn entry_record(id: EntryId) -> String {
    format!("entry {id}")
}

fn detail_record(public_id: &str) -> String {
    format!("detail {public_id}")
}

/// An entry field's value as it is digested: a Client Reference without case or surrounding
/// space, an SSN in its canonical form (any spelling of the same nine digits digests alike;
/// text that is no SSN digests as itself), the rest as it is.
fn entry_value(field: &str, value: &str) -> String {
    match field {
        "Client Reference" => client_reference_key(value),
        "SSN" => {
            Ssn::parse(value).map(|s| s.expose_full().to_string()).unwrap_or_else(|| value.trim().to_string())
        }
        _ => value.to_string(),
    }
}

/// A detail's value fields in [`DETAIL_FIELDS`] order.
pub fn detail_values(f: &DetailFields) -> [&str; 8] {
    [&f.address_line1, &f.address_line2, &f.city, &f.region, &f.postcode, &f.country, &f.phone, &f.email]
}

/// Whether a value field belongs to a kind of detail (an Address has six, a Phone its
/// number, an Email its address).
fn field_of_kind(kind: DetailKind, field: usize) -> bool {
    match kind {
        DetailKind::Address => field < 6,
        DetailKind::Phone => field == 6,
        DetailKind::Email => field == 7,
    }
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

/// The merge rule: file as exported (or file == CRM) → the CRM's; CRM as exported → the
/// file's; otherwise a conflict. `as_exported` says whether a value is the exported one (a
/// keyed digest comparison: the base never holds the value itself).
pub fn three_way(as_exported: impl Fn(&str) -> bool, crm: &str, file: &str) -> Merged {
    if file == crm || as_exported(file) {
        Merged::Crm
    } else if as_exported(crm) {
        Merged::File
    } else {
        Merged::Conflict
    }
}

impl ExportBase {
    /// The base of an export's rows: every entry and detail they show, each personal value
    /// digested under the CRM's secret, with the revisions the caller knows (`None`: values
    /// only). The id digests the portfolio and the time. `None` when the CRM has no digest
    /// secret yet (the export is then written without a base).
    pub fn of_export(
        index: &CrmIndex<'_>,
        rows: &[InsuredExportRow],
        portfolio_id: u32,
        now_ms: i64,
        revisions: Option<&Revisions>,
    ) -> Option<ExportBase> {
        let secret = index.crm.secret()?;
        let id_digest = sha256_hex(format!("insured-crm-export|{portfolio_id}|{now_ms}").as_bytes());
        let export_id = id_digest[..16].to_string();
        let digester = secret.base_digester(&export_id);
        let mut base = ExportBase {
            secret_check: secret.base_check(&export_id),
            export_id,
            exported_at_ms: now_ms,
            ..Default::default()
        };
        let revision = |kind, id: &dyn ToString| revisions.and_then(|r| r.get(&key(kind, id.to_string())));
        for row in rows {
            let Some(entry_id) = row.entry_id else { continue };
            if let std::collections::btree_map::Entry::Vacant(slot) = base.entries.entry(entry_id) {
                let ssn = row.ssn.map(|s| s.expose_full().to_string()).unwrap_or_default();
                let dob = row.date_of_birth.map(|d| d.to_string()).unwrap_or_default();
                let values = [&row.first_name, &row.last_name, &row.client_reference, &ssn, &dob];
                let record = entry_record(entry_id);
                let digests = std::array::from_fn(|i| {
                    let field = ENTRY_FIELDS[i];
                    digester.digest(&record, field, &entry_value(field, values[i]))
                });
                slot.insert(BaseEntry { revision: revision(EntityKind::Entry, &entry_id), digests });
            }
            if row.public_id.is_empty() {
                continue;
            }
            if let Some(d) = index.crm.details.get(&row.public_id) {
                let record = detail_record(&d.public_id);
                let values = detail_values(&d.fields);
                let digests = std::array::from_fn(|i| {
                    if values[i].is_empty() && !field_of_kind(d.kind, i) {
                        String::new()
                    } else {
                        digester.digest(&record, DETAIL_FIELDS[i], values[i])
                    }
                });
                base.details.insert(
                    d.public_id.clone(),
                    BaseDetail {
                        revision: revision(EntityKind::Detail, &d.public_id),
                        entry_id: d.entry_id,
                        kind: d.kind,
                        label: d.fields.label.clone(),
                        primary: d.fields.primary,
                        digests,
                    },
                );
            }
        }
        Some(base)
    }

    /// The base opened under a CRM's secret, when that secret wrote it (else its digests
    /// compare to nothing: the file was exported from another CRM copy, or before this copy
    /// had its secret).
    pub fn under<'a>(&'a self, crm: &'a Crm) -> Option<AsExported<'a>> {
        let secret = crm.secret()?;
        (secret.base_check(&self.export_id) == self.secret_check)
            .then(|| AsExported { base: self, digester: secret.base_digester(&self.export_id) })
    }

    /// The table rows of the base sheet, as text (the checksum covers exactly these).
    fn table(&self) -> Vec<Vec<String>> {
        let rev = |r: Option<Revision>| r.map(|r| r.to_string()).unwrap_or_default();
        let mut rows = Vec::with_capacity(self.entries.len() + self.details.len());
        for (id, e) in &self.entries {
            rows.push(vec![format!("Entry|{id}|{}|{}", rev(e.revision), e.digests.concat())]);
        }
        for (pid, d) in &self.details {
            let slots: String =
                d.digests.iter().map(|x| if x.is_empty() { NOT_OF_KIND } else { x.as_str() }).collect();
            rows.push(vec![format!(
                "Detail|{pid}|{}|{}|{}|{}|{slots}|{}",
                d.entry_id,
                rev(d.revision),
                d.kind.label(),
                if d.primary { "Yes" } else { "No" },
                d.label
            )]);
        }
        rows
    }
}

/// An export base opened under the secret that wrote it: says whether a value is the one
/// exported, field by field, without ever holding it.
#[derive(Debug, Clone)]
pub struct AsExported<'a> {
    base: &'a ExportBase,
    digester: BaseDigester,
}

impl<'a> AsExported<'a> {
    pub fn base(&self) -> &'a ExportBase {
        self.base
    }

    /// The exported entry, when the export held it.
    pub fn entry(&self, id: EntryId) -> Option<ExportedEntry<'_>> {
        self.base.entries.get(&id).map(|entry| ExportedEntry { at: self, id, entry })
    }

    /// The exported detail, when the export held it.
    pub fn detail(&self, public_id: &str) -> Option<ExportedDetail<'_>> {
        self.base.details.get(public_id).map(|detail| ExportedDetail {
            at: self,
            record: detail_record(public_id),
            detail,
        })
    }

    fn digest(&self, record: &str, field: &str, value: &str) -> String {
        self.digester.digest(record, field, value)
    }
}

/// One exported entry: [`ExportedEntry::holds`] compares a value with what was exported.
#[derive(Debug, Clone, Copy)]
pub struct ExportedEntry<'a> {
    at: &'a AsExported<'a>,
    id: EntryId,
    entry: &'a BaseEntry,
}

impl ExportedEntry<'_> {
    /// True when `value` is what the export held in `field` (one of [`ENTRY_FIELDS`]; a Client
    /// Reference compared without case or surrounding space, an SSN in any spelling).
    pub fn holds(&self, field: &str, value: &str) -> bool {
        let Some(i) = ENTRY_FIELDS.iter().position(|f| *f == field) else { return false };
        let digest = &self.entry.digests[i];
        !digest.is_empty()
            && *digest == self.at.digest(&entry_record(self.id), field, &entry_value(field, value))
    }
}

/// One exported detail: its kind, label and primary flag in plain, its value fields as
/// digests ([`ExportedDetail::holds`]).
#[derive(Debug, Clone)]
pub struct ExportedDetail<'a> {
    at: &'a AsExported<'a>,
    record: String,
    detail: &'a BaseDetail,
}

impl<'a> ExportedDetail<'a> {
    pub fn kind(&self) -> DetailKind {
        self.detail.kind
    }

    pub fn detail(&self) -> &'a BaseDetail {
        self.detail
    }

    /// True when `value` is what the export held in `field`: "Detail Type", "Label",
    /// "Primary" (`Yes`/`No`) or one of [`DETAIL_FIELDS`].
    pub fn holds(&self, field: &str, value: &str) -> bool {
        match field {
            "Detail Type" => self.detail.kind.label() == value,
            "Label" => self.detail.label == value,
            "Primary" => (if self.detail.primary { "Yes" } else { "No" }) == value,
            _ => {
                let Some(i) = DETAIL_FIELDS.iter().position(|f| *f == field) else { return false };
                match self.detail.digests[i].as_str() {
                    // A field of another kind, empty at export.
                    "" => value.is_empty(),
                    digest => digest == self.at.digest(&self.record, field, value),
                }
            }
        }
    }
}

/// A digest of the table, so that a base edited by hand reads as damaged.
fn checksum(meta: &[&str], table: &[Vec<String>]) -> String {
    let mut h = Sha256::new();
    for cell in meta.iter().copied().chain(table.iter().flatten().map(String::as_str)) {
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
    let sum = checksum(&[&base.export_id, &at, &base.secret_check], &table);
    let meta = [
        [MARKER, ""],
        ["Export ID", base.export_id.as_str()],
        ["Exported at", at.as_str()],
        ["Secret check", base.secret_check.as_str()],
        ["Checksum", sum.as_str()],
    ];
    for (r, pair) in meta.iter().enumerate() {
        for (c, v) in pair.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(r as u32, c as u16, *v)?;
            }
        }
    }
    let header_row = meta.len() as u32;
    for (c, h) in HEADER.iter().enumerate() {
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

/// The plan notice of a file whose base another CRM's secret wrote.
pub const OTHER_SECRET: &str =
    "This file's export base was written by another copy of the CRM (its digests do not match this \
     CRM's secret): changes made in the CRM since it was exported cannot be detected.";

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

    /// The plan notice of a file importing into `crm`: [`ExportBaseRead::notice`], or
    /// [`OTHER_SECRET`] for a base the CRM's secret did not write.
    pub fn notice_for(&self, crm: &Crm) -> Option<String> {
        match self {
            ExportBaseRead::Present(b) if b.under(crm).is_none() => Some(OTHER_SECRET.to_string()),
            other => other.notice(),
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
    let secret_check = meta("Secret check")?;
    let expected_sum = meta("Checksum")?;
    let header = rows.next().ok_or("the table header is missing")?;
    if (0..HEADER.len()).any(|c| text(header, c) != HEADER[c]) {
        return Err(format!("row {} is not the table header", header.sheet_row));
    }
    let mut base = ExportBase { export_id, exported_at_ms, secret_check, ..Default::default() };
    for row in rows {
        let record = text(row, 0);
        let at_row = |what: &str| format!("row {}: {what}", row.sheet_row);
        let parts: Vec<&str> = record.splitn(8, '|').collect();
        let revision = |part: &str| match part {
            "" => Ok(None),
            r => r.parse::<Revision>().map(Some).map_err(|_| at_row("the revision is not a number")),
        };
        let entry_id = |part: &str| part.parse::<EntryId>().map_err(|_| at_row("the entry is not a number"));
        let digests = |cell: &str, n: usize| -> Result<Vec<String>, String> {
            if cell.len() != n * DIGEST_CHARS || !cell.is_ascii() {
                return Err(at_row(&format!("the digests are not {n} of {DIGEST_CHARS} characters")));
            }
            Ok((0..n)
                .map(|i| &cell[i * DIGEST_CHARS..(i + 1) * DIGEST_CHARS])
                .map(|d| if d == NOT_OF_KIND { String::new() } else { d.to_string() })
                .collect())
        };
        match parts.as_slice() {
            ["Entry", id, rev, cell] => {
                let found = digests(cell, ENTRY_FIELDS.len())?;
                let e = BaseEntry {
                    revision: revision(rev)?,
                    digests: std::array::from_fn(|i| found[i].clone()),
                };
                if base.entries.insert(entry_id(id)?, e).is_some() {
                    return Err(at_row("the entry is listed twice"));
                }
            }
            ["Detail", pid, entry, rev, kind, primary, cell, label] => {
                let kind = DetailKind::parse(kind).ok_or_else(|| at_row("the detail type is unknown"))?;
                let found = digests(cell, DETAIL_FIELDS.len())?;
                let d = BaseDetail {
                    revision: revision(rev)?,
                    entry_id: entry_id(entry)?,
                    kind,
                    label: label.to_string(),
                    primary: *primary == "Yes",
                    digests: std::array::from_fn(|i| found[i].clone()),
                };
                if base.details.insert(pid.to_string(), d).is_some() {
                    return Err(at_row("the Public ID is listed twice"));
                }
            }
            _ => return Err(at_row("it is not an entry or a detail of the base")),
        }
    }
    // The checksum is over the table as written: rebuild it from what was parsed.
    if checksum(&[&base.export_id, &at, &base.secret_check], &base.table()) != expected_sum {
        return Err("its checksum does not match its contents".into());
    }
    Ok(base)
}
