//! The PII ledger: a record, kept in the CRM, of every time a full SSN was shown or left the
//! app in a file — each Reveal of an entry's SSN (who, which entry, when; never the SSN) and
//! each file written with full SSNs in it (who, when, the file's name, the SHA-256 of its
//! bytes and how many full SSNs it holds). It answers "which files that left this machine
//! hold SSNs, and whose?". Entries are records like any other ([`crate::core::model::Record`]),
//! written by checked commits and carried in snapshots; this module makes them and writes the
//! ledger workbook, which holds no SSN.

use rust_xlsxwriter::Workbook;
use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::digest::sha256_hex;
use crate::core::privacy::FullSsns;
use crate::core::xlsx::{check_rows_fit, save, write_header, write_text, ExportError, Formats};

/// A file the app writes with full SSNs in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LedgerFile {
    /// The Insured CRM Export.
    InsuredExport,
    /// The CRM snapshot.
    Snapshot,
    /// An error report written with "Include full SSNs".
    ErrorReport,
}

impl LedgerFile {
    pub const ALL: [LedgerFile; 3] =
        [LedgerFile::InsuredExport, LedgerFile::Snapshot, LedgerFile::ErrorReport];

    /// How the ledger names the file (also its text in a snapshot).
    pub fn label(self) -> &'static str {
        match self {
            LedgerFile::InsuredExport => "Insured CRM Export",
            LedgerFile::Snapshot => "CRM snapshot",
            LedgerFile::ErrorReport => "Error report with full SSNs",
        }
    }

    /// The file kind a label names.
    pub fn parse(label: &str) -> Option<LedgerFile> {
        LedgerFile::ALL.into_iter().find(|k| k.label() == label)
    }
}

/// What one ledger entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerEvent {
    /// The full SSN of one CRM entry (by its `EntryId`) was revealed on screen. The entry's
    /// label (its name as the CRM showed it) is kept so the line still reads after the entry
    /// changes.
    Reveal { entry_id: u32, entry_label: String },
    /// A file holding full SSNs was written and given to the operator.
    File { kind: LedgerFile, file_name: String, sha256: String, ssns: usize },
}

/// One line of the PII ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The record's identity: the time, zero-padded so that ids sort by time, and what
    /// happened (the entry revealed, or the start of the file's digest).
    pub id: String,
    /// The login of the operator working when it happened.
    pub operator_login: String,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub event: LedgerEvent,
}

impl LedgerEntry {
    /// The Reveal of an entry's SSN by `operator_login` at `at_ms`.
    pub fn reveal(operator_login: &str, at_ms: i64, entry_id: u32, entry_label: &str) -> LedgerEntry {
        LedgerEntry {
            id: format!("{}-reveal-{entry_id}", time_key(at_ms)),
            operator_login: operator_login.to_string(),
            at_ms,
            event: LedgerEvent::Reveal { entry_id, entry_label: entry_label.to_string() },
        }
    }

    /// A file written with full SSNs; `None` when it holds none (nothing to record).
    pub fn file(
        operator_login: &str,
        at_ms: i64,
        kind: LedgerFile,
        file_name: &str,
        file: &FullSsns,
    ) -> Option<LedgerEntry> {
        if file.ssns == 0 {
            return None;
        }
        let sha256 = sha256_hex(&file.bytes);
        Some(LedgerEntry {
            id: format!("{}-file-{}", time_key(at_ms), &sha256[..16]),
            operator_login: operator_login.to_string(),
            at_ms,
            event: LedgerEvent::File { kind, file_name: file_name.to_string(), sha256, ssns: file.ssns },
        })
    }

    /// What happened, in words: `Reveal of an SSN` or the file's kind.
    pub fn what(&self) -> &'static str {
        match &self.event {
            LedgerEvent::Reveal { .. } => "Reveal of an SSN",
            LedgerEvent::File { kind, .. } => kind.label(),
        }
    }

    /// The time as a person reads it, in UTC: `2026-12-02 15:39:14 UTC`.
    pub fn time_text(&self) -> String {
        time_text(self.at_ms)
    }
}

/// `at_ms` as text that sorts like the number (13 digits cover the years 2001 to 2286).
fn time_key(at_ms: i64) -> String {
    format!("{:013}", at_ms.max(0))
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn time_text(at_ms: i64) -> String {
    let day_ms = at_ms.rem_euclid(86_400_000);
    let seconds = day_ms / 1000;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        Date::from_unix_ms(at_ms),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The ledger's columns in the downloadable workbook.
const LEDGER_COLUMNS: [&str; 9] = [
    "Time (UTC)",
    "Operator",
    "What",
    "CRM Entry ID",
    "Entry",
    "File Name",
    "SHA-256",
    "Full SSNs Held",
    "Time (ms since 1970)",
];
const LEDGER_WIDTHS: [f64; 9] = [22.0, 14.0, 26.0, 13.0, 28.0, 40.0, 66.0, 15.0, 20.0];

/// The ledger as a workbook, newest first. It holds no SSN: a Reveal names the entry, a file
/// its name, digest and count.
pub fn write_ledger<'a>(entries: impl IntoIterator<Item = &'a LedgerEntry>) -> Result<Vec<u8>, ExportError> {
    let mut rows: Vec<&LedgerEntry> = entries.into_iter().collect();
    rows.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| b.id.cmp(&a.id)));
    check_rows_fit("PII Ledger", rows.len())?;
    let formats = Formats::default();
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("PII Ledger")?;
    write_header(sheet, &formats, &LEDGER_COLUMNS, &[], &LEDGER_WIDTHS, rows.len())?;
    for (i, entry) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        write_text(sheet, &formats, row, 0, &entry.time_text())?;
        write_text(sheet, &formats, row, 1, &entry.operator_login)?;
        write_text(sheet, &formats, row, 2, entry.what())?;
        match &entry.event {
            LedgerEvent::Reveal { entry_id, entry_label } => {
                sheet.write_number(row, 3, f64::from(*entry_id))?;
                write_text(sheet, &formats, row, 4, entry_label)?;
            }
            LedgerEvent::File { file_name, sha256, ssns, .. } => {
                write_text(sheet, &formats, row, 5, file_name)?;
                write_text(sheet, &formats, row, 6, sha256)?;
                sheet.write_number(row, 7, *ssns as f64)?;
            }
        }
        sheet.write_number(row, 8, entry.at_ms as f64)?;
    }
    save(workbook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_full_ssns_is_not_recorded() {
        let file = FullSsns { bytes: b"no ssn".to_vec(), ssns: 0 };
        assert_eq!(LedgerEntry::file("ana", 1, LedgerFile::ErrorReport, "errors.xlsx", &file), None);
    }

    #[test]
    fn a_file_entry_holds_the_digest_and_count() {
        let file = FullSsns { bytes: b"abc".to_vec(), ssns: 3 };
        let e = LedgerEntry::file("ana", 1_764_689_954_000, LedgerFile::Snapshot, "s.xlsx", &file).unwrap();
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            e.event,
            LedgerEvent::File {
                kind: LedgerFile::Snapshot,
                file_name: "s.xlsx".into(),
                sha256: sha.into(),
                ssns: 3
            }
        );
        assert_eq!(e.id, "1764689954000-file-ba7816bf8f01cfea");
        assert_eq!(e.time_text(), "2025-12-02 15:39:14 UTC");
    }

    #[test]
    fn labels_read_back() {
        for kind in LedgerFile::ALL {
            assert_eq!(LedgerFile::parse(kind.label()), Some(kind));
        }
    }
}
