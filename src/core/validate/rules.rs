//! The checks that span several cells of a row or several rows of a file, declared by a
//! template's [`RowRule`]s: a detail's values must match its Detail Type, a Case Reference
//! and Insured Reference must exist, and a Public ID may appear on one row of the file only.
//! Columns are found by [`Field`], so any template that declares the rule and has the
//! columns gets the check.

use std::collections::HashMap;

use crate::core::model::DetailKind;
use crate::core::privacy::shown::excerpt;
use crate::core::template::{Field, RowRule};

use super::{Issue, IssueCode, Severity, ValidatedRow, Validator};

impl Validator<'_> {
    /// Runs one row rule on a validated row.
    pub(super) fn row_rule(&self, rule: RowRule, row: &ValidatedRow, issues: &mut Vec<Issue>) {
        match rule {
            RowRule::DetailValuesMatchType => self.detail_values_match_type(row, issues),
            RowRule::PublicIdUniqueInFile => {}
            RowRule::CaseAndInsuredExist => self.case_and_insured_exist(row, issues),
        }
    }

    /// The row's detail values are those of its Detail Type (an Address has an address, a
    /// Phone a number, an Email an address; values of another kind are ignored, with a
    /// warning).
    fn detail_values_match_type(&self, row: &ValidatedRow, issues: &mut Vec<Issue>) {
        let r = row.sheet_row;
        let f = row.fields(self.template);
        let kind = DetailKind::parse(f.text(Field::DetailType));
        let has_address = [
            Field::AddressLine1,
            Field::AddressLine2,
            Field::City,
            Field::Region,
            Field::Postcode,
            Field::Country,
        ]
        .iter()
        .any(|&k| !f.text(k).is_empty());
        let has_phone = !f.text(Field::Phone).is_empty();
        let has_email = !f.text(Field::Email).is_empty();
        let type_header = self.template.spec(Field::DetailType).map(|c| c.header);
        let type_cell_bad = issues.iter().any(|i| i.column.as_deref() == type_header);
        match kind {
            None if f.text(Field::DetailType).is_empty() => {
                if has_address || has_phone || has_email || !f.text(Field::PublicId).is_empty() {
                    issues.push(self.issue(
                        r,
                        self.template.col(Field::DetailType),
                        IssueCode::DetailTypeMissing,
                        Severity::Error,
                        "Detail Type is empty but the row has detail values — expected Address, Phone or Email".into(),
                    ));
                }
            }
            None => debug_assert!(type_cell_bad),
            Some(DetailKind::Address) => {
                // An address with some values but no first line is taken as given;
                // one with no value at all is nothing to write.
                if f.text(Field::AddressLine1).is_empty() && has_address {
                    issues.push(
                        self.issue(
                            r,
                            self.template.col(Field::AddressLine1),
                            IssueCode::AddressIncomplete,
                            Severity::Warning,
                            "Address Line 1 is empty — the address is taken as given, without a first line"
                                .into(),
                        ),
                    );
                } else if !has_address {
                    issues.push(self.issue(
                        r,
                        self.template.col(Field::AddressLine1),
                        IssueCode::AddressMissing,
                        Severity::Error,
                        "The Address row has no address values — expected at least Address Line 1".into(),
                    ));
                }
                self.ignored_values(
                    r,
                    "Address",
                    &[(Field::Phone, has_phone), (Field::Email, has_email)],
                    issues,
                );
            }
            Some(DetailKind::Phone) => {
                if !has_phone {
                    issues.push(self.issue(
                        r,
                        self.template.col(Field::Phone),
                        IssueCode::PhoneMissing,
                        Severity::Error,
                        "Phone is empty — a Phone row needs a number".into(),
                    ));
                }
                self.ignored_values(
                    r,
                    "Phone",
                    &[(Field::AddressLine1, has_address), (Field::Email, has_email)],
                    issues,
                );
            }
            Some(DetailKind::Email) => {
                if !has_email {
                    issues.push(self.issue(
                        r,
                        self.template.col(Field::Email),
                        IssueCode::EmailMissing,
                        Severity::Error,
                        "Email is empty — an Email row needs an address".into(),
                    ));
                }
                self.ignored_values(
                    r,
                    "Email",
                    &[(Field::AddressLine1, has_address), (Field::Phone, has_phone)],
                    issues,
                );
            }
        }
    }

    /// The row's case exists, and its insured is on that case.
    fn case_and_insured_exist(&self, row: &ValidatedRow, issues: &mut Vec<Issue>) {
        let r = row.sheet_row;
        let f = row.fields(self.template);
        let case_ref = f.text(Field::CaseReference);
        let insured_ref = f.text(Field::InsuredReference);
        if case_ref.is_empty() {
            if !insured_ref.is_empty() {
                issues.push(self.issue(
                    r,
                    self.template.col(Field::CaseReference),
                    IssueCode::CaseMissing,
                    Severity::Error,
                    format!(
                        "Insured Reference {} is given without a Case Reference — expected the case it is on",
                        excerpt(insured_ref)
                    ),
                ));
            }
            return;
        }
        match self.index.case_id(case_ref) {
            None => issues.push(self.issue(
                r,
                self.template.col(Field::CaseReference),
                IssueCode::CaseUnknown,
                Severity::Error,
                format!(
                    "Case Reference {} does not exist in the CRM — expected an existing case",
                    excerpt(case_ref)
                ),
            )),
            Some(case_id) => {
                if !insured_ref.is_empty() && self.index.insured_on_case(case_id, insured_ref).is_none() {
                    issues.push(self.issue(
                        r,
                        self.template.col(Field::InsuredReference),
                        IssueCode::InsuredUnknown,
                        Severity::Error,
                        format!(
                            "Insured Reference {} is not an insured on case {} — expected an insured of that case",
                            excerpt(insured_ref),
                            excerpt(case_ref)
                        ),
                    ));
                }
            }
        }
    }

    /// Warns about values of another detail kind on the row (they are ignored).
    fn ignored_values(&self, r: usize, kind: &str, others: &[(Field, bool)], issues: &mut Vec<Issue>) {
        for (field, present) in others {
            let Some(col) = self.template.col(*field).filter(|_| *present) else { continue };
            {
                let header = self.template.columns[col].header;
                issues.push(self.issue(
                    r,
                    Some(col),
                    IssueCode::ValueIgnored,
                    Severity::Warning,
                    format!("{header} is filled on an {kind} row; it is ignored"),
                ));
            }
        }
    }

    /// Checks that span rows (a Public ID repeated in the file). Updates row counts.
    ///
    /// A repeated Public ID is an error, unless the later row says exactly what the first one
    /// says apart from its case and insured: the Insured CRM Export writes the details of an
    /// entry shared by two insureds once per insured, and such a file must re-import cleanly.
    /// That repetition is a warning; both rows agree, so applying them is applying one.
    pub fn finish(&self, rows: &mut [ValidatedRow], issues: &mut Vec<Issue>) {
        if !self.template.row_rules.contains(&RowRule::PublicIdUniqueInFile) {
            return;
        }
        let same_detail = |a: &ValidatedRow, b: &ValidatedRow| {
            (0..self.template.columns.len())
                .filter(|&k| {
                    !matches!(self.template.columns[k].field, Field::CaseReference | Field::InsuredReference)
                })
                .all(|k| a.values.get(k) == b.values.get(k))
        };
        // Public ID → (sheet row, index) of its first row.
        let mut first_seen: HashMap<String, (usize, usize)> = HashMap::new();
        for i in 0..rows.len() {
            let row = &rows[i];
            let public_id = row.fields(self.template).text(Field::PublicId);
            let id = public_id.trim().to_uppercase();
            if id.is_empty() {
                continue;
            }
            match first_seen.get(&id).copied() {
                Some((first, k)) if same_detail(&rows[k], row) => {
                    issues.push(self.issue(
                        row.sheet_row,
                        self.template.col(Field::PublicId),
                        IssueCode::PublicIdRepeatedSame,
                        Severity::Warning,
                        format!(
                            "Public ID {} is also on row {first} of this file with the same values (an entry shared by two insureds); it is applied once",
                            excerpt(public_id)
                        ),
                    ));
                    rows[i].warnings += 1;
                }
                Some((first, _)) => {
                    issues.push(self.issue(
                        row.sheet_row,
                        self.template.col(Field::PublicId),
                        IssueCode::PublicIdRepeated,
                        Severity::Error,
                        format!(
                            "Public ID {} is already used on row {first} of this file — expected each Public ID once",
                            excerpt(public_id)
                        ),
                    ));
                    rows[i].errors += 1;
                }
                None => {
                    first_seen.insert(id, (row.sheet_row, i));
                }
            }
        }
    }
}
