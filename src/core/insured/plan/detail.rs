//! A contact detail as the planner reads it from a row and compares it with the CRM's: the
//! detail a row describes, the field-level changes between two details (made only for the
//! fields that differ), the value that identifies a detail regardless of its label, and the
//! three-way merge of a detail with its export base.

use std::borrow::Cow;

use crate::core::model::{DetailFields, DetailKind};
use crate::core::plan::{FieldChange, StaleConflict};
use crate::core::template::Field;
use crate::core::text::fold;
use crate::core::validate::RowFields;

use super::super::base::{three_way, ExportedDetail, Merged};

type Get = fn(&DetailFields) -> Cow<'_, str>;
type Set = fn(&mut DetailFields, String);

/// "Yes" or "No".
fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// The merged fields of a detail, by report name.
fn detail_accessors() -> [(&'static str, Get, Set); 10] {
    [
        ("Label", |f| Cow::Borrowed(&f.label), |f, v| f.label = v),
        ("Primary", |f| Cow::Borrowed(yes_no(f.primary)), |f, v| f.primary = v == "Yes"),
        ("Address Line 1", |f| Cow::Borrowed(&f.address_line1), |f, v| f.address_line1 = v),
        ("Address Line 2", |f| Cow::Borrowed(&f.address_line2), |f, v| f.address_line2 = v),
        ("City", |f| Cow::Borrowed(&f.city), |f, v| f.city = v),
        ("Region", |f| Cow::Borrowed(&f.region), |f, v| f.region = v),
        ("Postcode", |f| Cow::Borrowed(&f.postcode), |f, v| f.postcode = v),
        ("Country", |f| Cow::Borrowed(&f.country), |f, v| f.country = v),
        ("Phone", |f| Cow::Borrowed(&f.phone), |f, v| f.phone = v),
        ("Email", |f| Cow::Borrowed(&f.email), |f, v| f.email = v),
    ]
}

/// One field merged three ways: the value to keep, with a conflict recorded when both sides
/// changed it (the file's value only when `take_file`). `as_exported` compares a value with
/// the export base's digest of the field.
pub(super) fn merge_value(
    field: &str,
    as_exported: impl Fn(&str) -> bool,
    crm: &str,
    file: &str,
    take_file: bool,
    conflicts: &mut Vec<StaleConflict>,
) -> Option<String> {
    match three_way(as_exported, crm, file) {
        Merged::Crm => None,
        Merged::File => Some(file.to_string()),
        Merged::Conflict => {
            conflicts.push(StaleConflict {
                field: field.to_string(),
                crm_now: crm.to_string(),
                file: file.to_string(),
                file_applies: take_file,
            });
            take_file.then(|| file.to_string())
        }
    }
}

/// A detail the file describes, merged with its export base and the CRM's detail: the kind and
/// fields to keep (only the fields of that kind).
pub(super) fn merge_detail(
    base: &ExportedDetail<'_>,
    (crm_kind, crm): (DetailKind, &DetailFields),
    (file_kind, file): (DetailKind, &DetailFields),
    take_file: bool,
    conflicts: &mut Vec<StaleConflict>,
) -> (DetailKind, DetailFields) {
    let kind = merge_value(
        "Detail Type",
        |v| base.holds("Detail Type", v),
        crm_kind.label(),
        file_kind.label(),
        take_file,
        conflicts,
    )
    .and_then(|k| DetailKind::parse(&k))
    .unwrap_or(crm_kind);
    let mut out = crm.clone();
    for (name, get, set) in detail_accessors() {
        let as_exported = |v: &str| base.holds(name, v);
        if let Some(v) = merge_value(name, as_exported, &get(crm), &get(file), take_file, conflicts) {
            set(&mut out, v);
        }
    }
    // Only the fields of the kept kind, as a row describes a detail.
    let mut kept = DetailFields { label: out.label.clone(), primary: out.primary, ..Default::default() };
    match kind {
        DetailKind::Address => {
            kept = DetailFields { phone: String::new(), email: String::new(), ..out };
        }
        DetailKind::Phone => kept.phone = out.phone,
        DetailKind::Email => kept.email = out.email,
    }
    (kind, kept)
}

/// The Primary flag a row gives: its cell, else the stored detail's, else No.
fn row_primary(row: &RowFields<'_>, base: Option<&DetailFields>) -> bool {
    row.bool(Field::Primary).unwrap_or(base.map(|b| b.primary).unwrap_or(false))
}

/// The value fields a row of `kind` gives, in the order of [`DetailFields`]: the address
/// lines, city, region, postcode, country, phone and email, empty where the kind has none.
fn row_values<'r>(row: &RowFields<'r>, kind: DetailKind) -> [&'r str; 8] {
    let t = |field: Field| row.text(field);
    match kind {
        DetailKind::Address => [
            t(Field::AddressLine1),
            t(Field::AddressLine2),
            t(Field::City),
            t(Field::Region),
            t(Field::Postcode),
            t(Field::Country),
            "",
            "",
        ],
        DetailKind::Phone => ["", "", "", "", "", "", t(Field::Phone), ""],
        DetailKind::Email => ["", "", "", "", "", "", "", t(Field::Email)],
    }
}

/// A detail's value fields in the order of [`row_values`].
fn stored_values(f: &DetailFields) -> [&str; 8] {
    [&f.address_line1, &f.address_line2, &f.city, &f.region, &f.postcode, &f.country, &f.phone, &f.email]
}

/// The detail a row describes. The row is the whole detail: an empty cell is an empty
/// field. Only Primary falls back to the stored value when its cell is empty.
pub(super) fn detail_from_row(
    row: &RowFields<'_>,
    kind: DetailKind,
    base: Option<&DetailFields>,
) -> DetailFields {
    let [address_line1, address_line2, city, region, postcode, country, phone, email] =
        row_values(row, kind).map(str::to_string);
    DetailFields {
        label: row.text(Field::Label).to_string(),
        primary: row_primary(row, base),
        address_line1,
        address_line2,
        city,
        region,
        postcode,
        country,
        phone,
        email,
    }
}

/// True when the row describes exactly the stored detail (the same kind and every field the
/// same): [`detail_from_row`] would make a copy equal to it. Allocates nothing.
pub(super) fn row_is_detail(
    row: &RowFields<'_>,
    kind: DetailKind,
    stored_kind: DetailKind,
    stored: &DetailFields,
) -> bool {
    kind == stored_kind
        && row.text(Field::Label) == stored.label
        && row_primary(row, Some(stored)) == stored.primary
        && row_values(row, kind) == stored_values(stored)
}

/// The changes from one detail to another, field by field, for the fields that differ.
pub(super) fn field_changes(
    before_kind: DetailKind,
    before: &DetailFields,
    after_kind: DetailKind,
    after: &DetailFields,
) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    let mut change = |field: &str, b: &str, a: &str| {
        if b != a {
            changes.push(FieldChange {
                field: field.to_string(),
                before: b.to_string(),
                after: a.to_string(),
            });
        }
    };
    change("Detail Type", before_kind.label(), after_kind.label());
    change("Label", &before.label, &after.label);
    change("Primary", yes_no(before.primary), yes_no(after.primary));
    const NAMES: [&str; 8] =
        ["Address Line 1", "Address Line 2", "City", "Region", "Postcode", "Country", "Phone", "Email"];
    for ((name, b), a) in NAMES.iter().zip(stored_values(before)).zip(stored_values(after)) {
        change(name, b, a);
    }
    changes
}

/// The fields of a new detail as changes from nothing: each field that holds a value (a No in
/// Primary is no value), in the order of [`field_changes`].
pub(super) fn new_detail_changes(new: &DetailFields) -> Vec<FieldChange> {
    const NAMES: [&str; 8] =
        ["Address Line 1", "Address Line 2", "City", "Region", "Postcode", "Country", "Phone", "Email"];
    let fields = [("Label", new.label.as_str()), ("Primary", yes_no(new.primary))]
        .into_iter()
        .chain(NAMES.into_iter().zip(stored_values(new)));
    fields
        .filter(|(_, value)| !value.is_empty() && *value != "No")
        .map(|(field, value)| FieldChange {
            field: field.to_string(),
            before: String::new(),
            after: value.to_string(),
        })
        .collect()
}

/// The value that identifies a detail regardless of label (for "already present" checks).
pub(super) fn detail_value_key(kind: DetailKind, f: &DetailFields) -> String {
    match kind {
        DetailKind::Address => {
            format!("a|{}|{}|{}", fold(&f.address_line1), fold(&f.address_line2), fold(&f.postcode))
        }
        DetailKind::Phone => {
            format!("p|{}", f.phone.chars().filter(char::is_ascii_digit).collect::<String>())
        }
        DetailKind::Email => format!("e|{}", f.email.trim().to_lowercase()),
    }
}
