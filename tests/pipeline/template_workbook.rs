//! The downloadable template workbook: headers, instructions, dropdowns, required headers red.

use super::*;
use calamine::{Data, Reader, Xlsx};
use roundtrip::core::template::write_template_workbook;
use std::io::{Cursor, Read};

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn the_template_has_the_export_headers_in_order_and_an_instructions_sheet() {
    let bytes = write_template_workbook(&T).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), vec![T.sheet_name.to_string(), "Instructions".to_string()]);
    let data = wb.worksheet_range(T.sheet_name).unwrap();
    let header: Vec<Data> = data.rows().next().unwrap().to_vec();
    let expected: Vec<Data> = T.headers().iter().map(|h| Data::String(h.to_string())).collect();
    assert_eq!(header, expected);
    assert_eq!(data.height(), 1, "no data rows");
    let instructions = wb.worksheet_range("Instructions").unwrap();
    let rows: Vec<Vec<Data>> = instructions.rows().map(|r| r.to_vec()).collect();
    for (i, spec) in T.columns.iter().enumerate() {
        assert_eq!(rows[i + 1][0], Data::String(spec.header.to_string()));
        assert_eq!(rows[i + 1][1], Data::String(spec.requirement.label().to_string()));
    }
}

#[test]
fn detail_type_and_primary_carry_dropdown_validation() {
    let bytes = write_template_workbook(&T).unwrap();
    let xml = unzip(&bytes, "xl/worksheets/sheet1.xml");
    assert!(xml.contains("<dataValidations"), "{xml}");
    let validations: Vec<&str> = xml.split("<dataValidation ").skip(1).collect();
    let find = |col: &str| {
        validations
            .iter()
            .find(|v| v.contains(&format!("sqref=\"{col}2:{col}1048576\"")))
            .unwrap_or_else(|| panic!("no validation on column {col}: {xml}"))
            .to_string()
    };
    let detail_type = find("H");
    assert!(detail_type.contains("type=\"list\""));
    assert!(detail_type.contains("Address,Phone,Email"), "{detail_type}");
    let primary = find("J");
    assert!(primary.contains("type=\"list\""));
    assert!(primary.contains("Yes,No"), "{primary}");
    assert_eq!(validations.len(), 2, "only the enumerated columns have dropdowns");
}

/// The fill colour of the cell `cell` on sheet 1 (via cellXfs → fills).
fn fill_of(bytes: &[u8], cell: &str) -> Option<String> {
    let sheet = unzip(bytes, "xl/worksheets/sheet1.xml");
    let styles = unzip(bytes, "xl/styles.xml");
    let tag = sheet.split(&format!("<c r=\"{cell}\"")).nth(1)?;
    let tag = &tag[..tag.find('>')?];
    let s: usize = tag.split("s=\"").nth(1)?.split('"').next()?.parse().ok()?;
    let xfs = styles.split("<cellXfs").nth(1)?.split("</cellXfs>").next()?;
    let xf = xfs.split("<xf ").nth(s + 1)?;
    let fill_id: usize = xf.split("fillId=\"").nth(1)?.split('"').next()?.parse().ok()?;
    let fills = styles.split("<fills").nth(1)?.split("</fills>").next()?;
    let fill = fills.split("<fill>").nth(fill_id + 1)?;
    Some(
        fill.split("fgColor rgb=\"")
            .nth(1)
            .map(|c| c.split('"').next().unwrap_or("").to_string())
            .unwrap_or_default(),
    )
}

#[test]
fn required_headers_are_filled_red_and_the_others_are_not() {
    let bytes = write_template_workbook(&T).unwrap();
    let styles = unzip(&bytes, "xl/styles.xml");
    assert!(styles.contains("FFC0392B"), "{styles}");
    for (i, spec) in T.columns.iter().enumerate() {
        let cell = format!("{}1", roundtrip::core::text::column_letters(i));
        let fill = fill_of(&bytes, &cell).unwrap_or_else(|| panic!("no style on {cell}"));
        assert_eq!(fill == "FFC0392B", spec.header_required(), "{} ({cell}) fill {fill}", spec.header);
    }
    assert!(T.columns.iter().any(|c| c.header_required()));
}
