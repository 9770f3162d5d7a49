//! The planner in slices gives the plan it gives in one go: on an edited export of the demo
//! CRM (addresses changed, new phones, new persons, typo'd names), with and without the
//! export's base (the CRM changed since the export: three-way merges and conflicts), in
//! slices of one row, of a few rows and of the whole file.

use std::sync::Arc;

use super::*;
use crate::core::demo::{demo_crm, DEMO_SEED};
use crate::core::headers::map_headers;
use crate::core::insured::base::ExportBase;
use crate::core::insured::export::{insured_export_rows, InsuredExportRow};
use crate::core::insured::matching::Matcher;
use crate::core::insured::INSURED_CONTACT_DETAILS as T;
use crate::core::model::Record;
use crate::core::privacy::CrmSecret;
use crate::core::sheet::{RawCell, SheetRow};
use crate::core::validate::{ValidationOptions, Validator};

/// The demo's export, edited as an operator would.
fn edited_export(crm: &Crm) -> Vec<InsuredExportRow> {
    let index = CrmIndex::new(crm);
    let case_ids: Vec<u32> = crm.cases.keys().copied().collect();
    let mut rows = insured_export_rows(&index, &case_ids);
    for (i, r) in rows.iter_mut().enumerate() {
        if i.is_multiple_of(7) && r.detail_type == "Address" {
            r.address_line1 = format!("{} (moved)", r.address_line1);
        } else if i % 11 == 1 {
            r.detail_type = "Phone".into();
            r.public_id.clear();
            r.address_line1.clear();
            r.postcode.clear();
            r.email.clear();
            r.phone = format!("+1 617 555 {:04}", i % 10_000);
        } else if i % 13 == 2 {
            r.client_reference = format!("CR-NEW-{i:05}");
            r.ssn = None;
            r.public_id.clear();
            r.first_name = format!("New{}", i % 5);
        } else if i % 17 == 3 && r.first_name.len() > 3 {
            r.client_reference.clear();
            r.ssn = None;
            r.public_id.clear();
            let at = r.first_name.char_indices().nth(2).map(|(at, _)| at).unwrap_or(0);
            r.first_name.insert(at, 'x');
        } else if i % 19 == 4 {
            r.label = "Changed in the file".into();
        }
    }
    rows
}

fn planned(crm: &Crm, rows: &[InsuredExportRow], base: &ExportBaseRead, slice: usize) -> ImportPlan {
    let header: Vec<String> = T.headers().iter().map(|h| h.to_string()).collect();
    let sheet_rows: Vec<SheetRow> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| SheetRow {
            sheet_row: i + 2,
            cells: r.cells().into_iter().map(|c| RawCell::Text(Arc::from(c))).collect(),
        })
        .collect();
    let index = CrmIndex::new(crm);
    let mapping = map_headers(&T, &header, &Default::default());
    let validated = Validator::new(&T, &mapping, &index, ValidationOptions::default()).all(&sheet_rows);
    let matches = Matcher::new(&T, &index).with_base(base.base()).all(&validated.rows);
    let mut choices = matches.default_choices();
    // Settle every conflict on its first entry, so that the plan has no pending rows.
    for (g, group) in matches.groups.iter().enumerate() {
        if let GroupKind::Conflict { entries, .. } = &group.kind {
            choices[g] = Some(GroupChoice::Existing(entries[0]));
        }
    }
    let take = TakeFile::Rows((0..rows.len()).step_by(3).collect());
    let mut slices = PlanSlices::new(crm, &T, &validated, &matches, &choices).with_base(base, &take);
    while !slices.is_done() {
        let before = slices.planned();
        assert!(slices.plan_rows(slice) > before, "a slice plans at least one row");
    }
    assert_eq!(slices.planned(), slices.total());
    slices.finish()
}

#[test]
fn a_plan_in_slices_is_the_plan_in_one_go() {
    let crm = demo_crm(DEMO_SEED, 1);
    let rows = edited_export(&crm);
    let whole = planned(&crm, &rows, &ExportBaseRead::Absent, usize::MAX);
    assert!(
        whole.counts.updated > 0 && whole.counts.added > 0 && whole.counts.created > 0,
        "{:?}",
        whole.counts
    );
    for slice in [1, 7, 250] {
        assert_eq!(planned(&crm, &rows, &ExportBaseRead::Absent, slice), whole, "slices of {slice}");
    }
}

#[test]
fn a_plan_with_its_export_base_in_slices_is_the_plan_in_one_go() {
    let mut exported = demo_crm(DEMO_SEED, 1);
    exported.counters.secret = Some(CrmSecret::from_bytes([7; 32]));
    let rows = edited_export(&exported);
    let base = {
        let index = CrmIndex::new(&exported);
        let original = insured_export_rows(&index, &exported.cases.keys().copied().collect::<Vec<_>>());
        ExportBase::of_export(&index, &original, 1, 0, None).expect("the CRM has a secret")
    };
    // The CRM moves on after the export: labels of some details change there too.
    let mut crm = exported.clone();
    let changed: Vec<ContactDetail> = crm.details.values().step_by(5).cloned().collect();
    for mut d in changed {
        d.fields.label = "Changed in the CRM".into();
        crm.put(Record::Detail(d));
    }
    let base = ExportBaseRead::Present(base);
    let whole = planned(&crm, &rows, &base, usize::MAX);
    assert!(whole.stale_conflict_rows().next().is_some(), "the edits meet the CRM's changes");
    for slice in [1, 13] {
        assert_eq!(planned(&crm, &rows, &base, slice), whole, "slices of {slice}");
    }
}
