//! The memory a validation holds is bounded: a workbook of about 5 MB whose 1,000,000 rows all
//! use one 32,000-character shared string as their Label (the reader shares it; a validation
//! that copied it per cell would need 64 GB) is validated, in slices as the service does, or
//! refused with a message naming the file and the bound — and the bytes this process allocates
//! meanwhile, counted by the global allocator, stay under a stated bound.
//!
//! The test binary holds this one test, so nothing else allocates while it counts.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{sheet_xml, workbook};
use peak_alloc::PeakAlloc;
use roundtrip::core::headers::map_headers;
use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS as T;
use roundtrip::core::model::Crm;
use roundtrip::core::read::read_sheet;
use roundtrip::core::template::Field;
use roundtrip::core::text::column_letters;
use roundtrip::core::validate::{ValidationOptions, ValidationRun, Validator, MAX_VALIDATION_BYTES};

#[global_allocator]
static MEMORY: PeakAlloc = PeakAlloc;

const ROWS: usize = 1_000_000;
const LABEL_CHARS: usize = 32_000;

/// What reading the file may hold besides the validation: its rows of cells (the shared
/// label once).
const SHEET_BOUND: usize = 320 << 20;

/// The workbook: the template's headers, then `rows` rows whose only cell is the Label, every
/// one the same shared string.
fn amplified_workbook(rows: usize) -> Vec<u8> {
    let headers = T.headers();
    let label_col = T.col(Field::Label).expect("the template has a Label column");
    let label_letters = column_letters(label_col);
    let mut strings: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    strings.push("L".repeat(LABEL_CHARS));
    let label = strings.len() - 1;
    let mut xml = String::with_capacity(rows * 48);
    xml.push_str("<row r=\"1\">");
    for c in 0..headers.len() {
        xml.push_str(&format!("<c r=\"{}1\" t=\"s\"><v>{c}</v></c>", column_letters(c)));
    }
    xml.push_str("</row>");
    for r in 2..rows + 2 {
        xml.push_str(&format!("<row r=\"{r}\"><c r=\"{label_letters}{r}\" t=\"s\"><v>{label}</v></c></row>"));
    }
    let items: String = strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect();
    let sst = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{}" uniqueCount="{}">{items}</sst>"#,
        rows + headers.len(),
        strings.len()
    );
    let last = column_letters(headers.len() - 1);
    workbook(&sheet_xml(&format!("A1:{last}{}", rows + 1), &xml), &sst)
}

#[test]
fn a_million_rows_sharing_one_long_label_are_validated_or_refused_within_a_stated_bound() {
    let bytes = amplified_workbook(ROWS);
    assert!(bytes.len() < 8 << 20, "a small file: {} bytes", bytes.len());
    let start = MEMORY.current_usage();
    MEMORY.reset_peak_usage();

    let sheet = read_sheet("amplified.xlsx", &bytes).expect("the reader takes it");
    drop(bytes);
    assert_eq!(sheet.rows.len(), ROWS);
    let crm = Crm::default();
    let index = CrmIndex::new(&crm);
    let mapping = map_headers(&T, &sheet.header, &Default::default());
    let validator = Validator::new(&T, &mapping, &index, ValidationOptions::default());
    let outcome = ValidationRun::new(validator, "amplified.xlsx", sheet.rows.len()).and_then(|mut run| {
        for slice in sheet.rows.chunks(1_000) {
            run.rows(slice)?;
        }
        Ok(run.finish())
    });
    let peak = MEMORY.peak_usage() - start;

    let bound = SHEET_BOUND + MAX_VALIDATION_BYTES + (32 << 20);
    eprintln!(
        "peak {} MiB of the {} MiB stated; {}",
        peak >> 20,
        bound >> 20,
        match &outcome {
            Ok(v) => format!("validated: {} rows, {} issues", v.rows.len(), v.issues.len()),
            Err(e) => format!("refused: {e}"),
        }
    );
    assert!(
        peak <= bound,
        "reading and validating held {} MiB at their peak, more than the {} MiB stated",
        peak >> 20,
        bound >> 20
    );
    match outcome {
        Ok(validated) => {
            assert_eq!(validated.rows.len(), ROWS);
            let label = T.col(Field::Label).expect("a Label column");
            assert_eq!(validated.rows[ROWS - 1].text(label).chars().count(), LABEL_CHARS);
        }
        Err(refusal) => {
            let message = refusal.to_string();
            assert!(message.starts_with("amplified.xlsx: "), "{message}");
            assert!(message.contains(&format!("{} MiB", MAX_VALIDATION_BYTES >> 20)), "{message}");
            assert!(message.len() < 600, "the refusal quotes no long value: {message}");
        }
    }
}
