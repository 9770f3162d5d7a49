//! The whole pipeline on the demo CRM: export, edit, import, apply, export again, re-import.

use super::files::{read_xlsx, write_xlsx};
use super::*;
use roundtrip::core::demo::demo_crm;
use roundtrip::core::insured::export::{insured_export_rows, portfolio_case_ids, write_insured_export};

fn export_bytes(crm: &Crm, case_ids: &[u32]) -> Vec<u8> {
    let index = CrmIndex::new(crm);
    write_insured_export(&insured_export_rows(&index, case_ids)).unwrap()
}

/// The cells of an export workbook as text rows (dates as ISO), header excluded.
fn export_cells(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let s = read_xlsx(bytes, "export.xlsx");
    let rows = s
        .rows
        .iter()
        .map(|r| {
            (0..s.header.len())
                .map(|col| match r.cell(col) {
                    RawCell::DateSerial(x) => Date::from_excel_serial(*x).unwrap().to_string(),
                    other => other.as_text(),
                })
                .collect()
        })
        .collect();
    (s.header, rows)
}

fn import(crm: &Crm, bytes: &[u8], choose: impl Fn(&Matches) -> Vec<Option<GroupChoice>>) -> Run {
    let s = read_xlsx(bytes, "import.xlsx");
    let m = map_headers(&T, &s.header, &BTreeMap::new());
    assert!(m.is_usable() && !m.needs_confirmation() && m.ignored.is_empty());
    let index = CrmIndex::new(crm);
    let validated =
        Validator { template: &T, mapping: &m, index: &index, options: ValidationOptions::default() }
            .all(&s.rows);
    let matches = Matcher::new(&T, &index).all(&validated.rows);
    let choices = choose(&matches);
    let plan = plan(crm, &T, &validated, &matches, &choices);
    Run { validated, matches, plan }
}

#[test]
fn demo_export_edited_imported_applied_and_exported_again_reimports_with_zero_changes() {
    let mut crm = demo_crm(7, 1);
    let portfolio = *crm.portfolios.keys().next().unwrap();
    let case_ids = portfolio_case_ids(&crm, portfolio);
    let (header, mut rows) = export_cells(&export_bytes(&crm, &case_ids));
    assert_eq!(header, T.headers().iter().map(|h| h.to_string()).collect::<Vec<_>>());
    assert!(rows.len() > 20, "a portfolio with some work in it");

    // The unedited export, imported as it is with every dropdown left alone, is valid and
    // changes nothing: rows of insureds linked to no entry carry nothing to import.
    let pristine = import(&crm, &export_bytes(&crm, &case_ids), |m| vec![None; m.groups.len()]);
    let open: Vec<_> = pristine.matches.open_groups().collect();
    assert!(open.is_empty(), "{open:#?}");
    assert!(!pristine.matches.groups.is_empty(), "every person is listed, decided by a tier");
    assert_eq!(pristine.validated.error_count(), 0, "{:#?}", pristine.validated.issues);
    assert_eq!(
        pristine.plan.change_count(),
        0,
        "{:#?}",
        pristine.plan.rows.iter().filter(|r| !r.changes.is_empty()).collect::<Vec<_>>()
    );

    // Edit 1: change the address line of a row that has a Public ID.
    let col = |name: &str| T.column(name).unwrap();
    let a = rows
        .iter()
        .position(|r| r[col("Detail Type")] == "Address" && !r[col("Public ID")].is_empty())
        .unwrap();
    let changed_pid = rows[a][col("Public ID")].clone();
    rows[a][col("Address Line 1")] = "742 Evergreen Terrace".into();

    // Edit 2: a phone row without Public ID for an existing person (by Client Reference).
    let p = rows
        .iter()
        .position(|r| !r[col("Client Reference")].is_empty() && !r[col("Public ID")].is_empty())
        .unwrap();
    let mut phone_row = rows[p].clone();
    for cell in &mut phone_row[col("Detail Type")..=col("Public ID")] {
        cell.clear();
    }
    phone_row[col("Detail Type")] = "Phone".into();
    phone_row[col("Label")] = "Work".into();
    phone_row[col("Primary")] = "No".into();
    phone_row[col("Phone")] = "+1 617 555 0199".into();
    let phone_cref = phone_row[col("Client Reference")].clone();
    rows.push(phone_row);

    // Edit 3: a new person with a new Client Reference on an existing case and insured —
    // an insured linked to no entry yet, so the other edits' entries keep their links.
    let host_insured = crm
        .insureds
        .values()
        .find(|i| i.entry_id.is_none() && case_ids.contains(&i.case_id))
        .expect("the demo portfolio has an insured without entry")
        .clone();
    let host_case = crm.cases[&host_insured.case_id].reference.clone();
    let host = rows
        .iter()
        .find(|r| {
            r[col("Case Reference")] == host_case && r[col("Insured Reference")] == host_insured.reference
        })
        .unwrap()
        .clone();
    let mut new_row = vec![String::new(); 19];
    new_row[col("Case Reference")] = host[col("Case Reference")].clone();
    new_row[col("Insured Reference")] = host[col("Insured Reference")].clone();
    new_row[col("First Name")] = "Zélie".into();
    new_row[col("Last Name")] = "Brandvold".into();
    new_row[col("Client Reference")] = "CR-NEW-0001".into();
    new_row[col("Detail Type")] = "Email".into();
    new_row[col("Label")] = "Home".into();
    new_row[col("Primary")] = "Yes".into();
    new_row[col("Email")] = "zelie@example.org".into();
    rows.push(new_row);

    // Edit 4: a typo'd name of an existing person, without Client Reference or SSN or case.
    let victim_id = crm
        .entries
        .values()
        .find(|e| {
            e.first_name.len() >= 5
                && e.last_name.len() >= 5
                && e.first_name.is_ascii()
                && e.last_name.is_ascii()
                && crm
                    .entries
                    .values()
                    .filter(|o| o.first_name == e.first_name && o.last_name == e.last_name)
                    .count()
                    == 1
                && crm.insureds.values().any(|i| i.entry_id == Some(e.id) && case_ids.contains(&i.case_id))
        })
        .map(|e| e.id)
        .unwrap();
    let victim = crm.entries[&victim_id].clone();
    let typo = |s: &str| {
        let mut ch: Vec<char> = s.chars().collect();
        let n = ch.len();
        ch.swap(n - 2, n - 1);
        ch.into_iter().collect::<String>()
    };
    let mut typo_row = vec![String::new(); 19];
    typo_row[col("First Name")] = typo(&victim.first_name);
    typo_row[col("Last Name")] = typo(&victim.last_name);
    typo_row[col("Detail Type")] = "Email".into();
    typo_row[col("Label")] = "Work".into();
    typo_row[col("Primary")] = "No".into();
    typo_row[col("Email")] = "typo.person@example.org".into();
    rows.push(typo_row);

    let edited = write_xlsx(&T.headers(), &rows);
    let r = import(&crm, &edited, |m| {
        m.groups
            .iter()
            .map(|g| {
                if g.client_reference == "CR-NEW-0001" || !g.is_open() {
                    None // left on the default: Create new, or the tier's entry
                } else if g.first_name == typo(&victim.first_name) {
                    Some(GroupChoice::Existing(g.candidates[0].entry))
                } else {
                    Some(GroupChoice::Skip) // insureds without an entry
                }
            })
            .collect()
    });
    assert_eq!(r.validated.error_count(), 0, "{:#?}", r.validated.issues);
    let typo_group = r.matches.groups.iter().find(|g| g.first_name == typo(&victim.first_name)).unwrap();
    assert_eq!(typo_group.candidates[0].entry, victim_id, "{:?}", typo_group.candidates);
    let t = r.plan.counts;
    assert_eq!(
        (t.created, t.updated, t.added),
        (1, 1, 3),
        "{:#?}",
        r.plan.rows.iter().filter(|p| p.action != RowAction::Unchanged).collect::<Vec<_>>()
    );
    assert_eq!(r.plan.pending_conflicts, 0);

    apply_plan(&mut crm, &r.plan);
    let new_entry =
        crm.entries.values().find(|e| e.client_reference.as_deref() == Some("CR-NEW-0001")).unwrap().clone();
    assert_eq!((new_entry.first_name.as_str(), new_entry.last_name.as_str()), ("Zélie", "Brandvold"));

    // Export again and check each change in its cells.
    let after_bytes = export_bytes(&crm, &case_ids);
    let (_, after) = export_cells(&after_bytes);
    let changed = after.iter().find(|r| r[col("Public ID")] == changed_pid).unwrap();
    assert_eq!(changed[col("Address Line 1")], "742 Evergreen Terrace");
    assert!(after.iter().any(|r| r[col("Client Reference")] == phone_cref
        && r[col("Detail Type")] == "Phone"
        && r[col("Phone")] == "+1 617 555 0199"
        && !r[col("Public ID")].is_empty()));
    let new_rows: Vec<&Vec<String>> =
        after.iter().filter(|r| r[col("Client Reference")] == "CR-NEW-0001").collect();
    assert_eq!(new_rows.len(), 1, "the new person is linked to the insured and exported");
    assert_eq!(new_rows[0][col("First Name")], "Zélie");
    assert_eq!(new_rows[0][col("Email")], "zelie@example.org");
    assert_eq!(new_rows[0][col("Insured Reference")], host[col("Insured Reference")]);
    let victim_detail = crm.details.values().find(|d| d.fields.email == "typo.person@example.org").unwrap();
    assert_eq!(victim_detail.entry_id, victim_id, "the typo'd row went to the chosen existing entry");
    assert!(after
        .iter()
        .any(|r| r[col("Email")] == "typo.person@example.org" && r[col("Last Name")] == victim.last_name));

    // Re-import the new export: nothing to do.
    // Open groups (if any) skipped; every person a tier decided left on its entry.
    let again = import(&crm, &after_bytes, |m| {
        m.groups.iter().map(|g| g.is_open().then_some(GroupChoice::Skip)).collect()
    });
    assert_eq!(again.validated.error_count(), 0, "{:#?}", again.validated.issues);
    assert_eq!(
        again.plan.change_count(),
        0,
        "{:#?}",
        again.plan.rows.iter().filter(|p| !p.changes.is_empty()).collect::<Vec<_>>()
    );
    assert!(again.plan.changes.is_empty());
    // Every row is decided by a tier (the only groups left are insureds with no entry).
    for (m, row) in again.matches.rows.iter().zip(&again.validated.rows) {
        if let RowMatch::Group(g) = m {
            let g = &again.matches.groups[*g];
            assert!(
                row.fields(&T).text(Field::ClientReference).is_empty()
                    && row.fields(&T).text(Field::DetailType).is_empty(),
                "{g:?}"
            );
        }
    }
}
