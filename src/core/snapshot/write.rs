//! Writing a snapshot: the CRM, sheet by sheet in the layout's order, with rust_xlsxwriter —
//! identifiers as text, dates as real dates, amounts to the cent, formula-like text
//! quote-prefixed, and lists too long for a cell (before-images) cut into parts.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::layout::*;
use crate::core::date::Date;
use crate::core::ledger::LedgerEvent;
use crate::core::model::{Crm, Insurance, InsuranceStatus};
use crate::core::privacy::{FullSsns, Ssn};
use crate::core::text::looks_like_formula;
use crate::core::xlsx::{
    check_rows_fit, save, set_date_column, set_text_columns, write_date, write_header, write_in_date_column,
    write_in_text_column, write_text, ExportError, Formats,
};

/// Writes the whole CRM as a snapshot workbook: a file the operator asks for, so it holds
/// every SSN in full and the CRM's digest secret (the About sheet's last item).
pub fn write_snapshot(crm: &Crm) -> Result<Vec<u8>, ExportError> {
    write_snapshot_counted(crm).map(|f| f.bytes)
}

/// [`write_snapshot`], with how many full SSNs the file holds (the CRM entries' SSNs; the
/// before-images of the import history may hold earlier values of some of them).
pub fn write_snapshot_counted(crm: &Crm) -> Result<FullSsns, ExportError> {
    let formats =
        SnapshotFormats { shared: Formats::default(), amount: Format::new().set_num_format("0.00") };
    let mut workbook = Workbook::new();
    // Deflate level 3 instead of 6: at scale 100 level 6 spends about a third of the write in
    // compression; level 3 saves about a third of that for a file about 13% larger.
    workbook.set_zip_compression_level(3);
    let before_image_parts = before_image_parts(crm)?;
    write_about(&mut workbook, &formats, crm, &row_counts(crm, before_image_parts.len()))?;
    write_cases(&mut workbook, &formats, crm)?;
    write_entries(&mut workbook, &formats, crm)?;
    write_accounts(&mut workbook, &formats, crm)?;
    write_enrollees(&mut workbook, &formats, crm)?;
    write_history(&mut workbook, &formats, crm, &before_image_parts)?;
    write_ledger_sheet(&mut workbook, &formats, crm)?;
    let ssns = crm.entries.values().filter(|e| e.ssn.is_some()).count();
    Ok(FullSsns { bytes: save(workbook)?, ssns })
}

/// The About sheet: the format, the rows of every sheet, the counters.
fn write_about(
    workbook: &mut Workbook,
    formats: &SnapshotFormats,
    crm: &Crm,
    row_counts: &[(&'static str, usize)],
) -> Result<(), ExportError> {
    let about_rows = 2 + row_counts.len() + COUNTER_ITEMS.len() + usize::from(crm.secret().is_some());
    let mut w = SheetWriter::begin(workbook, formats, &ABOUT, about_rows)?;
    w.next_row();
    w.text(0, ITEM_FORMAT)?;
    w.text(1, FORMAT_NAME)?;
    w.next_row();
    w.text(0, ITEM_VERSION)?;
    w.number(1, f64::from(FORMAT_VERSION))?;
    for (sheet, count) in row_counts {
        w.next_row();
        w.text(0, &rows_item(sheet))?;
        w.number(1, *count as f64)?;
    }
    for (item, value) in COUNTER_ITEMS.iter().zip(counter_values(&crm.counters)) {
        w.next_row();
        w.text(0, item)?;
        w.number(1, f64::from(value))?;
    }
    if let Some(secret) = crm.secret() {
        w.next_row();
        w.text(0, ITEM_SECRET)?;
        w.identifier(1, &secret.expose_hex())?;
    }
    Ok(())
}

/// Operators, portfolios and their cases, cases and their insureds.
fn write_cases(workbook: &mut Workbook, formats: &SnapshotFormats, crm: &Crm) -> Result<(), ExportError> {
    let mut w = SheetWriter::begin(workbook, formats, &OPERATORS, crm.operators.len())?;
    for op in crm.operators.values() {
        w.next_row();
        w.text(0, &op.login)?;
        w.text(1, &op.name)?;
        let roles: Vec<&str> = op.roles.iter().map(|r| r.label()).collect();
        w.text(2, &roles.join("; "))?;
    }

    let mut w = SheetWriter::begin(workbook, formats, &PORTFOLIOS, crm.portfolios.len())?;
    for p in crm.portfolios.values() {
        w.next_row();
        w.id(0, p.id)?;
        w.text(1, &p.name)?;
        w.opt_text(2, p.owner_login.as_deref())?;
        w.yes_no(3, p.temporary)?;
    }

    let portfolio_cases: usize = crm.portfolios.values().map(|p| p.case_ids.len()).sum();
    let mut w = SheetWriter::begin(workbook, formats, &PORTFOLIO_CASES, portfolio_cases)?;
    for p in crm.portfolios.values() {
        for &case_id in &p.case_ids {
            w.next_row();
            w.id(0, p.id)?;
            w.id(1, case_id)?;
        }
    }

    let mut w = SheetWriter::begin(workbook, formats, &CASES, crm.cases.len())?;
    w.text_columns(&[1])?;
    for c in crm.cases.values() {
        w.next_row();
        w.id(0, c.id)?;
        w.identifier(1, &c.reference)?;
        w.text(2, &c.title)?;
    }

    let mut w = SheetWriter::begin(workbook, formats, &INSUREDS, crm.insureds.len())?;
    w.text_columns(&[2])?;
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
    Ok(())
}

/// CRM entries and their contact details.
fn write_entries(workbook: &mut Workbook, formats: &SnapshotFormats, crm: &Crm) -> Result<(), ExportError> {
    let mut w = SheetWriter::begin(workbook, formats, &CRM_ENTRIES, crm.entries.len())?;
    w.text_columns(&[1, 2])?;
    w.date_column(5)?;
    for e in crm.entries.values() {
        w.next_row();
        w.id(0, e.id)?;
        w.opt_identifier(1, e.client_reference.as_deref())?;
        w.opt_identifier(2, e.ssn.as_ref().map(Ssn::expose_full))?;
        w.text(3, &e.first_name)?;
        w.text(4, &e.last_name)?;
        w.date(5, e.date_of_birth)?;
    }

    let mut w = SheetWriter::begin(workbook, formats, &CONTACT_DETAILS, crm.details.len())?;
    w.text_columns(&[0, 9, 11])?;
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
    Ok(())
}

/// Accounts, account contacts and the specialty registry.
fn write_accounts(workbook: &mut Workbook, formats: &SnapshotFormats, crm: &Crm) -> Result<(), ExportError> {
    let mut w = SheetWriter::begin(workbook, formats, &ACCOUNTS, crm.accounts.len())?;
    w.text_columns(&[0])?;
    for a in crm.accounts.values() {
        w.next_row();
        w.identifier(0, &a.number)?;
        w.text(1, &a.name)?;
        w.text(2, a.kind.label())?;
        w.text(3, a.portfolio_login.as_deref().unwrap_or(WITHOUT_PORTFOLIO))?;
    }

    let mut w = SheetWriter::begin(workbook, formats, &ACCOUNT_CONTACTS, crm.account_contacts.len())?;
    w.text_columns(&[1, 2, 6])?;
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

    let mut w = SheetWriter::begin(workbook, formats, &SPECIALTIES, crm.specialties.len())?;
    for name in crm.specialties.keys() {
        w.next_row();
        w.text(0, name)?;
    }
    Ok(())
}

/// School users and devices with their insurance.
fn write_enrollees(workbook: &mut Workbook, formats: &SnapshotFormats, crm: &Crm) -> Result<(), ExportError> {
    let mut w = SheetWriter::begin(workbook, formats, &SCHOOL_USERS, crm.school_users.len())?;
    w.text_columns(&[0, 4])?;
    for u in crm.school_users.values() {
        w.next_row();
        w.identifier(0, &u.user_id)?;
        w.text(1, &u.name)?;
        w.text(2, u.role.label())?;
        w.insurance(3, &u.insurance)?;
    }

    let mut w = SheetWriter::begin(workbook, formats, &DEVICES, crm.devices.len())?;
    w.text_columns(&[0, 3])?;
    for d in crm.devices.values() {
        w.next_row();
        w.identifier(0, &d.serial)?;
        w.text(1, &d.model)?;
        w.insurance(2, &d.insurance)?;
    }
    Ok(())
}

/// The import history and the before-images undo needs, cut into parts.
fn write_history(
    workbook: &mut Workbook,
    formats: &SnapshotFormats,
    crm: &Crm,
    before_image_parts: &[(u32, u32, String)],
) -> Result<(), ExportError> {
    let mut w = SheetWriter::begin(workbook, formats, &IMPORT_HISTORY, crm.imports.len())?;
    w.text_columns(&[5])?;
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

    let mut w = SheetWriter::begin(workbook, formats, &IMPORT_BEFORE_IMAGES, before_image_parts.len())?;
    for (import_id, part, json) in before_image_parts {
        w.next_row();
        w.id(0, *import_id)?;
        w.id(1, *part)?;
        w.text(2, json)?;
    }
    Ok(())
}

/// The PII ledger: one row per entry, the columns of a Reveal or of a file filled.
fn write_ledger_sheet(
    workbook: &mut Workbook,
    formats: &SnapshotFormats,
    crm: &Crm,
) -> Result<(), ExportError> {
    let mut w = SheetWriter::begin(workbook, formats, &PII_LEDGER, crm.ledger.len())?;
    w.text_columns(&[0, 7])?;
    for e in crm.ledger.values() {
        w.next_row();
        w.identifier(0, &e.id)?;
        w.text(1, &e.operator_login)?;
        w.integer(2, e.at_ms)?;
        w.text(3, e.what())?;
        match &e.event {
            LedgerEvent::Reveal { entry_id, entry_label } => {
                w.id(4, *entry_id)?;
                w.text(5, entry_label)?;
            }
            LedgerEvent::File { file_name, sha256, ssns, .. } => {
                w.text(6, file_name)?;
                w.identifier(7, sha256)?;
                w.integer(8, *ssns as i64)?;
            }
        }
    }
    Ok(())
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
        (PII_LEDGER.name, crm.ledger.len()),
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
pub(crate) fn split_for_cells(text: &str, max_units: usize) -> Vec<&str> {
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
    /// The columns in the text format, whose identifiers are written without a format of their
    /// own (bit `c` for column `c`).
    text_columns: u64,
    /// The column in the date format, whose dates are written without a format of their own.
    date_column: Option<u16>,
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
        Ok(SheetWriter { sheet, formats, row: 0, text_columns: 0, date_column: None })
    }

    /// Puts these columns in the text format: their identifiers are written without a format
    /// of their own (looking one up for every cell is the writer's largest cost after
    /// compression).
    fn text_columns(&mut self, cols: &[u16]) -> Result<(), ExportError> {
        set_text_columns(self.sheet, &self.formats.shared, cols.iter().copied())?;
        for c in cols {
            self.text_columns |= 1 << c;
        }
        Ok(())
    }

    /// Puts this column in the date format: its dates are written without a format of their
    /// own.
    fn date_column(&mut self, col: u16) -> Result<(), ExportError> {
        set_date_column(self.sheet, &self.formats.shared, col)?;
        self.date_column = Some(col);
        Ok(())
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
        if col < 64 && self.text_columns & (1 << col) != 0 {
            return write_in_text_column(self.sheet, &self.formats.shared, self.row, col, text);
        }
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
            Some(d) if d.year >= 1900 && self.date_column == Some(col) => {
                write_in_date_column(self.sheet, self.row, col, d)
            }
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

pub(crate) fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}
