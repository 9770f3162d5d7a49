//! The Insured CRM Export: one row per contact detail per insured on the chosen cases, in the
//! columns of the [`INSURED_CONTACT_DETAILS`] template, so the file reads back as an import. Rows are computed as data first
//! ([`insured_export_rows`]) so the page can show what the file will hold, then written
//! ([`write_insured_export`]).

use rust_xlsxwriter::Workbook;

use crate::core::date::Date;
use crate::core::index::CrmIndex;
use crate::core::model::{ContactDetail, Crm, EntryId};
use crate::core::privacy::{FullSsns, Ssn};
use crate::core::template::{ColumnSpec, Field, ValueKind};
use crate::core::text::slug;

use super::base::{write_base_sheet, ExportBase};
use super::INSURED_CONTACT_DETAILS;
use crate::core::xlsx::{
    check_rows_fit, save, set_date_column, set_text_columns, write_header, write_in_date_column,
    write_in_text_column, ExportError, Formats,
};

/// The export's column widths, by field.
fn width(field: Field) -> f64 {
    match field {
        Field::CaseReference | Field::ClientReference | Field::FirstName | Field::City => 16.0,
        Field::InsuredReference => 17.0,
        Field::LastName | Field::AddressLine2 | Field::Phone => 18.0,
        Field::Ssn | Field::DateOfBirth => 13.0,
        Field::DetailType | Field::PublicId => 12.0,
        Field::Label | Field::Region | Field::Postcode => 10.0,
        Field::Primary => 9.0,
        Field::AddressLine1 | Field::Email => 28.0,
        Field::Country => 14.0,
        _ => 14.0,
    }
}

/// One row of the export, as text (dates kept typed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InsuredExportRow {
    pub case_reference: String,
    pub insured_reference: String,
    pub first_name: String,
    pub last_name: String,
    pub client_reference: String,
    /// The entry's SSN: the export is a file the operator asked for, so its SSN column holds
    /// it in full.
    pub ssn: Option<Ssn>,
    pub date_of_birth: Option<Date>,
    pub detail_type: String,
    pub label: String,
    pub primary: String,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub region: String,
    pub postcode: String,
    pub country: String,
    pub phone: String,
    pub email: String,
    pub public_id: String,
    /// The CRM entry the row shows (not a column: the export base keys entries by it).
    pub entry_id: Option<EntryId>,
}

impl InsuredExportRow {
    /// The row's cell under a column of the insured contact details template, as the export
    /// writes it: the date as ISO text, the SSN in full.
    pub fn cell(&self, field: Field) -> String {
        match field {
            Field::Ssn => self.ssn.map(|s| s.expose_full().to_string()).unwrap_or_default(),
            Field::DateOfBirth => self.date_of_birth.map(|d| d.to_string()).unwrap_or_default(),
            other => self.text(other).to_string(),
        }
    }

    /// The row's text under a column of the insured contact details template, without a copy
    /// (`""` for the date, for the SSN — only [`Self::cell`] shows it in full — and for a field
    /// the export has no column for).
    pub fn text(&self, field: Field) -> &str {
        match field {
            Field::CaseReference => &self.case_reference,
            Field::InsuredReference => &self.insured_reference,
            Field::FirstName => &self.first_name,
            Field::LastName => &self.last_name,
            Field::ClientReference => &self.client_reference,
            Field::DetailType => &self.detail_type,
            Field::Label => &self.label,
            Field::Primary => &self.primary,
            Field::AddressLine1 => &self.address_line1,
            Field::AddressLine2 => &self.address_line2,
            Field::City => &self.city,
            Field::Region => &self.region,
            Field::Postcode => &self.postcode,
            Field::Country => &self.country,
            Field::Phone => &self.phone,
            Field::Email => &self.email,
            Field::PublicId => &self.public_id,
            _ => "",
        }
    }

    /// The row's cells in the export's column order (the date as ISO text).
    pub fn cells(&self) -> Vec<String> {
        INSURED_CONTACT_DETAILS.columns.iter().map(|c| self.cell(c.field)).collect()
    }

    fn fill_detail(&mut self, d: &ContactDetail) {
        self.detail_type = d.kind.label().to_string();
        self.label = d.fields.label.clone();
        self.primary = if d.fields.primary { "Yes" } else { "No" }.to_string();
        self.address_line1 = d.fields.address_line1.clone();
        self.address_line2 = d.fields.address_line2.clone();
        self.city = d.fields.city.clone();
        self.region = d.fields.region.clone();
        self.postcode = d.fields.postcode.clone();
        self.country = d.fields.country.clone();
        self.phone = d.fields.phone.clone();
        self.email = d.fields.email.clone();
        self.public_id = d.public_id.clone();
    }
}

/// The case ids of a portfolio, ordered by case reference.
pub fn portfolio_case_ids(crm: &Crm, portfolio_id: u32) -> Vec<u32> {
    let mut ids: Vec<u32> = crm
        .portfolios
        .get(&portfolio_id)
        .map(|p| p.case_ids.iter().copied().filter(|c| crm.cases.contains_key(c)).collect())
        .unwrap_or_default();
    ids.sort_by(|a, b| crm.cases[a].reference.cmp(&crm.cases[b].reference));
    ids.dedup();
    ids
}

/// Rows of the export for these cases: per case (in the given order), per insured (by
/// reference), one row per detail of the insured's CRM entry, or one row with empty detail
/// columns when the entry has no details or no entry is linked.
pub fn insured_export_rows(index: &CrmIndex<'_>, case_ids: &[u32]) -> Vec<InsuredExportRow> {
    let mut rows = Vec::new();
    for case_id in case_ids {
        let Some(case) = index.crm.cases.get(case_id) else { continue };
        for insured in index.insureds_of_case(*case_id) {
            let mut base = InsuredExportRow {
                case_reference: case.reference.clone(),
                insured_reference: insured.reference.clone(),
                first_name: insured.first_name.clone(),
                last_name: insured.last_name.clone(),
                ..Default::default()
            };
            let entry = insured.entry_id.and_then(|e| index.entry(e));
            let Some(entry) = entry else {
                rows.push(base);
                continue;
            };
            base.first_name = entry.first_name.clone();
            base.last_name = entry.last_name.clone();
            base.client_reference = entry.client_reference.clone().unwrap_or_default();
            base.ssn = entry.ssn;
            base.date_of_birth = entry.date_of_birth;
            base.entry_id = Some(entry.id);
            let details = index.details_of(entry.id);
            if details.is_empty() {
                rows.push(base);
                continue;
            }
            for d in details {
                let mut row = base.clone();
                row.fill_detail(d);
                rows.push(row);
            }
        }
    }
    rows
}

/// Writes export rows as the Insured CRM Export workbook, without an export base (a re-import
/// of it cannot detect changes made in the CRM since; see [`write_insured_export_with_base`]).
pub fn write_insured_export(rows: &[InsuredExportRow]) -> Result<Vec<u8>, ExportError> {
    write_insured_export_with_base(rows, None)
}

/// Writes export rows as the Insured CRM Export workbook; with a base, its very hidden
/// [`super::base::BASE_SHEET`] follows the visible sheet (whose columns stay the same).
pub fn write_insured_export_with_base(
    rows: &[InsuredExportRow],
    base: Option<&ExportBase>,
) -> Result<Vec<u8>, ExportError> {
    write_insured_export_counted(rows, base).map(|f| f.bytes)
}

/// [`write_insured_export_with_base`], with how many distinct full SSNs the file holds.
pub fn write_insured_export_counted(
    rows: &[InsuredExportRow],
    base: Option<&ExportBase>,
) -> Result<FullSsns, ExportError> {
    const SHEET: &str = "Insured CRM Export";
    check_rows_fit(SHEET, rows.len())?;
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    // Deflate level 3 instead of 6, as the snapshot: a third faster for a file about a fifth
    // larger.
    workbook.set_zip_compression_level(3);
    let sheet = workbook.add_worksheet();
    sheet.set_name(SHEET)?;
    let columns = INSURED_CONTACT_DETAILS.columns;
    let headers: Vec<&str> = columns.iter().map(|c| c.header).collect();
    let widths: Vec<f64> = columns.iter().map(|c| width(c.field)).collect();
    write_header(sheet, &formats, &headers, &[], &widths, rows.len())?;
    // Every column in the text format (the date column in the date format), set once: the
    // cells are written without a format of their own.
    let is_date = |c: &ColumnSpec| c.kind == ValueKind::Date;
    let date_cols = columns.iter().enumerate().filter(|(_, c)| is_date(c)).map(|(i, _)| i as u16);
    let text_cols = columns.iter().enumerate().filter(|(_, c)| !is_date(c)).map(|(i, _)| i as u16);
    set_text_columns(sheet, &formats, text_cols)?;
    for col in date_cols {
        set_date_column(sheet, &formats, col)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 1) as u32;
        for (col, spec) in columns.iter().enumerate() {
            if is_date(spec) {
                if let Some(d) = r.date_of_birth {
                    write_in_date_column(sheet, row, col as u16, d)?;
                }
                continue;
            }
            if spec.field == Field::Ssn {
                if let Some(ssn) = r.ssn {
                    write_in_text_column(sheet, &formats, row, col as u16, ssn.expose_full())?;
                }
                continue;
            }
            write_in_text_column(sheet, &formats, row, col as u16, r.text(spec.field))?;
        }
    }
    if let Some(base) = base {
        write_base_sheet(&mut workbook, base)?;
    }
    let ssns = rows.iter().filter_map(|r| r.ssn).collect::<std::collections::BTreeSet<Ssn>>().len();
    Ok(FullSsns { bytes: save(workbook)?, ssns })
}

/// `insured-crm-export-<portfolio>-<date>.xlsx`
pub fn insured_export_file_name(portfolio_name: &str, date: Date) -> String {
    let s = slug(portfolio_name);
    format!("insured-crm-export-{}-{date}.xlsx", if s.is_empty() { "portfolio" } else { &s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    fn small_crm() -> Crm {
        let mut crm = Crm::default();
        crm.put(Record::Case(Case { id: 1, reference: "CASE-0001".into(), title: "t".into() }));
        crm.put(Record::Case(Case { id: 2, reference: "CASE-0002".into(), title: "t".into() }));
        crm.put(Record::Portfolio(Portfolio {
            id: 1,
            name: "North Côte".into(),
            owner_login: None,
            temporary: false,
            case_ids: vec![2, 1],
        }));
        crm.put(Record::Entry(CrmEntry {
            id: 7,
            client_reference: Some("00042".into()),
            ssn: Ssn::parse("012-34-5678"),
            first_name: "José".into(),
            last_name: "=HYPERLINK(\"x\")".into(),
            date_of_birth: Date::new(1980, 5, 17),
        }));
        crm.put(Record::Entry(CrmEntry {
            id: 8,
            client_reference: None,
            ssn: None,
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            date_of_birth: None,
        }));
        crm.put(Record::Insured(Insured {
            id: 1,
            case_id: 1,
            reference: "INS-1".into(),
            first_name: "José".into(),
            last_name: "x".into(),
            entry_id: Some(7),
        }));
        crm.put(Record::Insured(Insured {
            id: 2,
            case_id: 1,
            reference: "INS-2".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            entry_id: Some(8),
        }));
        crm.put(Record::Insured(Insured {
            id: 3,
            case_id: 2,
            reference: "INS-3".into(),
            first_name: "Unlinked".into(),
            last_name: "Person".into(),
            entry_id: None,
        }));
        for (n, kind, f) in [
            (
                1,
                DetailKind::Address,
                DetailFields {
                    label: "Home".into(),
                    primary: true,
                    address_line1: "1 Main St".into(),
                    postcode: "02134".into(),
                    ..Default::default()
                },
            ),
            (
                2,
                DetailKind::Phone,
                DetailFields {
                    label: "Mobile".into(),
                    phone: "+1 617 555 0142".into(),
                    ..Default::default()
                },
            ),
            (
                3,
                DetailKind::Email,
                DetailFields {
                    label: "@work".into(),
                    email: "jose@example.com".into(),
                    ..Default::default()
                },
            ),
        ] {
            crm.put(Record::Detail(ContactDetail {
                public_id: public_id_for(n),
                entry_id: 7,
                kind,
                fields: f,
            }));
        }
        crm
    }

    fn read_back(bytes: &[u8]) -> Vec<Vec<Data>> {
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
        let range = wb.worksheet_range("Insured CRM Export").unwrap();
        range.rows().map(|r| r.to_vec()).collect()
    }

    #[test]
    fn one_row_per_detail_and_one_for_insureds_without_details() {
        let crm = small_crm();
        let index = CrmIndex::new(&crm);
        let rows = insured_export_rows(&index, &portfolio_case_ids(&crm, 1));
        // José: 3 details; Ann: no details → 1; unlinked insured → 1.
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].case_reference, "CASE-0001");
        assert_eq!(rows[3].first_name, "Ann");
        assert_eq!(rows[3].detail_type, "");
        assert_eq!(rows[4].insured_reference, "INS-3");
        assert_eq!(rows[4].client_reference, "");
        assert_eq!(rows[4].first_name, "Unlinked");
    }

    #[test]
    fn export_reads_back_cell_by_cell_with_formula_text_and_leading_zeros_intact() {
        let crm = small_crm();
        let index = CrmIndex::new(&crm);
        let rows = insured_export_rows(&index, &portfolio_case_ids(&crm, 1));
        let bytes = write_insured_export(&rows).unwrap();
        let cells = read_back(&bytes);
        assert_eq!(cells.len(), rows.len() + 1);
        for (col, h) in INSURED_CONTACT_DETAILS.headers().iter().enumerate() {
            assert_eq!(cells[0][col], Data::String(h.to_string()));
        }
        for (i, r) in rows.iter().enumerate() {
            let got = &cells[i + 1];
            for (col, expected) in r.cells().iter().enumerate() {
                let cell = got.get(col).cloned().unwrap_or(Data::Empty);
                if INSURED_CONTACT_DETAILS.col(Field::DateOfBirth) == Some(col) {
                    match (&cell, r.date_of_birth) {
                        (Data::DateTime(dt), Some(d)) => assert_eq!(dt.as_f64(), d.to_excel_serial()),
                        (Data::Empty, None) => {}
                        other => panic!("row {i} date cell: {other:?}"),
                    }
                    continue;
                }
                if expected.is_empty() {
                    assert_eq!(cell, Data::Empty, "row {i} col {col}");
                } else {
                    assert_eq!(cell, Data::String(expected.clone()), "row {i} col {col}");
                }
            }
        }
        // The formula-like last name and label stay text and carry the quote prefix.
        assert_eq!(cells[1][3], Data::String("=HYPERLINK(\"x\")".into()));
        assert_eq!(cells[1][4], Data::String("00042".into()));
        assert_eq!(cells[1][14], Data::String("02134".into()));
        let sheet_xml = unzip_entry(&bytes, "xl/worksheets/sheet1.xml");
        assert!(!sheet_xml.contains("<f>"), "no formula may be written");
        let styles = unzip_entry(&bytes, "xl/styles.xml");
        assert!(styles.contains("quotePrefix=\"1\""), "formula-like text must use the quote prefix");
    }

    fn unzip_entry(bytes: &[u8], name: &str) -> String {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn file_name_carries_portfolio_and_date() {
        assert_eq!(
            insured_export_file_name("North Côte", Date::new(2026, 11, 23).unwrap()),
            "insured-crm-export-north-cote-2026-11-23.xlsx"
        );
    }
}
