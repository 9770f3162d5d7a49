//! The benchmark's import file: the Insured CRM Export of every case of the CRM, edited the
//! way an operator edits one — 1 row in 10 changes its address line, 1 in 25 becomes a new
//! phone without Public ID, 1 in 50 a new person with a new Client Reference, 1 in 100 gets a
//! typo in the first name — and, past the export's own rows, more rows of the same persons
//! adding new phone numbers (a file of 1,000,000 rows against a CRM of 100,000 entries).
//!
//! Up to [`EXPORT_WRITER_ROWS`] rows the file is written by the export's own writer; a larger
//! file by [`write_streaming`], which writes the same sheet, columns and cell types (shared
//! strings, text cells, dates as dates) row by row instead of holding every cell.

use std::io::{Cursor, Write};

use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::export::{insured_export_rows, write_insured_export, InsuredExportRow};
use roundtrip::core::insured::INSURED_CONTACT_DETAILS;
use roundtrip::core::model::Crm;
use roundtrip::core::template::ValueKind;

/// The largest file the export's writer writes here (it keeps every cell in memory).
pub const EXPORT_WRITER_ROWS: usize = 200_000;

/// Row `i` of the file: the export's row `i` (cycling), edited.
fn edited(base: &InsuredExportRow, i: usize, cycle: usize) -> InsuredExportRow {
    let mut r = base.clone();
    if cycle > 0 {
        // Past the export's rows: the same person adds a new phone number.
        r.detail_type = "Phone".into();
        r.public_id.clear();
        r.label = "Mobile".into();
        r.primary = "No".into();
        for f in [
            &mut r.address_line1,
            &mut r.address_line2,
            &mut r.city,
            &mut r.region,
            &mut r.postcode,
            &mut r.country,
        ] {
            f.clear();
        }
        r.email.clear();
        r.phone = format!("+1 {:03} {:03} {:04}", 200 + cycle, (i / 10_000) % 1000, i % 10_000);
        return r;
    }
    if i.is_multiple_of(10) && r.detail_type == "Address" {
        r.address_line1 = format!("{} (moved)", r.address_line1);
    } else if i % 25 == 1 {
        r.detail_type = "Phone".into();
        r.public_id.clear();
        for f in [
            &mut r.address_line1,
            &mut r.address_line2,
            &mut r.city,
            &mut r.region,
            &mut r.postcode,
            &mut r.country,
            &mut r.email,
        ] {
            f.clear();
        }
        r.phone = format!("+1 617 555 {:04}", i % 10_000);
    } else if i % 50 == 2 {
        r.client_reference = format!("CR-NEW-{i:07}");
        r.ssn = None;
        r.public_id.clear();
        r.first_name = format!("New{}", i % 997);
        if r.detail_type.is_empty() {
            r.detail_type = "Email".into();
            r.email = format!("new{i}@example.com");
        }
    } else if i % 100 == 3 && r.first_name.len() > 3 {
        r.client_reference.clear();
        r.ssn = None;
        r.public_id.clear();
        let at = r.first_name.char_indices().nth(2).map(|(i, _)| i).unwrap_or(0);
        r.first_name.insert(at, 'x');
        if r.detail_type.is_empty() {
            r.detail_type = "Email".into();
            r.email = format!("typo{i}@example.com");
        }
    }
    r
}

/// The edited import file of `rows` rows, as XLSX bytes.
pub fn import_file(crm: &Crm, rows: usize) -> Vec<u8> {
    let case_ids: Vec<u32> = crm.cases.keys().copied().collect();
    let export = {
        let index = CrmIndex::new(crm);
        insured_export_rows(&index, &case_ids)
    };
    let row = |i: usize| edited(&export[i % export.len()], i, i / export.len());
    if rows <= EXPORT_WRITER_ROWS {
        let edited: Vec<InsuredExportRow> = (0..rows).map(row).collect();
        return write_insured_export(&edited).expect("the export writes the file");
    }
    write_streaming(rows, row)
}

/// Escapes text for XML.
fn escape(text: &str, out: &mut Vec<u8>) {
    for b in text.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
}

/// "A", "B", …, "AA": a column's letters.
fn column_letters(col: usize) -> String {
    let mut n = col + 1;
    let mut s = Vec::new();
    while n > 0 {
        s.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// Writes `rows` rows of the Insured CRM Export's sheet, streaming: the sheet part row by row
/// into the zip, then the shared strings it used.
pub fn write_streaming(rows: usize, row: impl Fn(usize) -> InsuredExportRow) -> Vec<u8> {
    let columns = INSURED_CONTACT_DETAILS.columns;
    let letters: Vec<String> = (0..columns.len()).map(column_letters).collect();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(3));
    let part = |zip: &mut zip::ZipWriter<Cursor<Vec<u8>>>, name: &str, text: &str| {
        zip.start_file(name, options).expect("a part");
        zip.write_all(text.as_bytes()).expect("written");
    };
    part(
        &mut zip,
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
    );
    part(
        &mut zip,
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    part(
        &mut zip,
        "xl/workbook.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Insured CRM Export" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    );
    part(
        &mut zip,
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
    );
    // Style 1: text ("@"); style 2: a date (yyyy-mm-dd); style 3: the bold header.
    part(
        &mut zip,
        "xl/styles.xml",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs></styleSheet>"#,
    );

    let mut strings: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut intern = |text: &str| -> u32 {
        if let Some(&n) = strings.get(text) {
            return n;
        }
        let n = order.len() as u32;
        strings.insert(text.to_string(), n);
        order.push(text.to_string());
        n
    };
    zip.start_file("xl/worksheets/sheet1.xml", options).expect("the sheet");
    let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
    out.extend_from_slice(
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    );
    out.extend_from_slice(
        format!("<dimension ref=\"A1:{}{}\"/>", letters[columns.len() - 1], rows + 1).as_bytes(),
    );
    out.extend_from_slice(b"<sheetData><row r=\"1\">");
    for (c, spec) in columns.iter().enumerate() {
        let n = intern(spec.header);
        out.extend_from_slice(format!("<c r=\"{}1\" s=\"3\" t=\"s\"><v>{n}</v></c>", letters[c]).as_bytes());
    }
    out.extend_from_slice(b"</row>");
    for i in 0..rows {
        let r = row(i);
        let n = i + 2;
        out.extend_from_slice(format!("<row r=\"{n}\">").as_bytes());
        for (c, spec) in columns.iter().enumerate() {
            if spec.kind == ValueKind::Date {
                if let Some(d) = r.date_of_birth {
                    out.extend_from_slice(
                        format!("<c r=\"{}{n}\" s=\"2\"><v>{}</v></c>", letters[c], d.to_excel_serial())
                            .as_bytes(),
                    );
                }
                continue;
            }
            let text = r.cell(spec.field);
            if text.is_empty() {
                continue;
            }
            let s = intern(&text);
            out.extend_from_slice(
                format!("<c r=\"{}{n}\" s=\"1\" t=\"s\"><v>{s}</v></c>", letters[c]).as_bytes(),
            );
        }
        out.extend_from_slice(b"</row>");
        if out.len() > (1 << 20) {
            zip.write_all(&out).expect("written");
            out.clear();
        }
    }
    out.extend_from_slice(b"</sheetData></worksheet>");
    zip.write_all(&out).expect("written");
    out.clear();

    zip.start_file("xl/sharedStrings.xml", options).expect("the shared strings");
    out.extend_from_slice(
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"{0}\" uniqueCount=\"{0}\">",
            order.len()
        )
        .as_bytes(),
    );
    for s in &order {
        out.extend_from_slice(b"<si><t xml:space=\"preserve\">");
        escape(s, &mut out);
        out.extend_from_slice(b"</t></si>");
        if out.len() > (1 << 20) {
            zip.write_all(&out).expect("written");
            out.clear();
        }
    }
    out.extend_from_slice(b"</sst>");
    zip.write_all(&out).expect("written");
    zip.finish().expect("the zip").into_inner()
}
