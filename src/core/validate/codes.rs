//! The codes of validation and matching issues. Each [`IssueCode`] names one rule; its text
//! form (`public-id-unknown`, `ssn-invalid`, …) is what reports, the review table and the import
//! benchmark show, and what serialized issues carry.

use serde::{Deserialize, Serialize};

/// Which rule an [`Issue`](super::Issue) reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueCode {
    /// A required cell is empty.
    Required,
    /// Excel turned an identifier into a date.
    IdentifierAsDate,
    /// The cell holds an Excel error such as `#N/A`.
    CellError,
    /// An SSN that is not nine digits.
    SsnFormat,
    /// Nine digits that are not a valid SSN (area, group or serial).
    SsnInvalid,
    EmailSyntax,
    PhoneSyntax,
    /// Not a date (or not in the chosen day/month order).
    Date,
    /// Not Yes or No.
    YesNo,
    /// Not Yes/Enrolled or No/Not Enrolled.
    InsuranceStatus,
    /// Not an amount with at most two decimals.
    Amount,
    /// Not one of the column's allowed values.
    NotAllowed,
    /// Detail values without a Detail Type.
    DetailTypeMissing,
    /// An Address row without Address Line 1.
    AddressMissing,
    /// A Phone row without a phone number.
    PhoneMissing,
    /// An Email row without an email address.
    EmailMissing,
    /// A value of another detail kind on the row; it is ignored.
    ValueIgnored,
    /// An Insured Reference without a Case Reference.
    CaseMissing,
    /// A Case Reference that does not exist.
    CaseUnknown,
    /// An Insured Reference that is not an insured of the row's case.
    InsuredUnknown,
    /// A Public ID repeated in the file with other values.
    PublicIdRepeated,
    /// A Public ID repeated in the file with the same values (an entry shared by two insureds).
    PublicIdRepeatedSame,
    /// A Public ID that exists nowhere in the CRM (matching).
    PublicIdUnknown,
}

impl IssueCode {
    pub const ALL: [IssueCode; 23] = [
        IssueCode::Required,
        IssueCode::IdentifierAsDate,
        IssueCode::CellError,
        IssueCode::SsnFormat,
        IssueCode::SsnInvalid,
        IssueCode::EmailSyntax,
        IssueCode::PhoneSyntax,
        IssueCode::Date,
        IssueCode::YesNo,
        IssueCode::InsuranceStatus,
        IssueCode::Amount,
        IssueCode::NotAllowed,
        IssueCode::DetailTypeMissing,
        IssueCode::AddressMissing,
        IssueCode::PhoneMissing,
        IssueCode::EmailMissing,
        IssueCode::ValueIgnored,
        IssueCode::CaseMissing,
        IssueCode::CaseUnknown,
        IssueCode::InsuredUnknown,
        IssueCode::PublicIdRepeated,
        IssueCode::PublicIdRepeatedSame,
        IssueCode::PublicIdUnknown,
    ];

    /// The code as reports and the page show it.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Required => "required",
            IssueCode::IdentifierAsDate => "identifier-as-date",
            IssueCode::CellError => "cell-error",
            IssueCode::SsnFormat => "ssn-format",
            IssueCode::SsnInvalid => "ssn-invalid",
            IssueCode::EmailSyntax => "email-syntax",
            IssueCode::PhoneSyntax => "phone-syntax",
            IssueCode::Date => "date",
            IssueCode::YesNo => "yes-no",
            IssueCode::InsuranceStatus => "insurance-status",
            IssueCode::Amount => "amount",
            IssueCode::NotAllowed => "not-allowed",
            IssueCode::DetailTypeMissing => "detail-type-missing",
            IssueCode::AddressMissing => "address-missing",
            IssueCode::PhoneMissing => "phone-missing",
            IssueCode::EmailMissing => "email-missing",
            IssueCode::ValueIgnored => "value-ignored",
            IssueCode::CaseMissing => "case-missing",
            IssueCode::CaseUnknown => "case-unknown",
            IssueCode::InsuredUnknown => "insured-unknown",
            IssueCode::PublicIdRepeated => "public-id-repeated",
            IssueCode::PublicIdRepeatedSame => "public-id-repeated-same",
            IssueCode::PublicIdUnknown => "public-id-unknown",
        }
    }
}

impl std::fmt::Display for IssueCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_the_text_reports_show() {
        let mut seen = std::collections::HashSet::new();
        for code in IssueCode::ALL {
            assert!(seen.insert(code.as_str()), "{code:?} text is unique");
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{}\"", code.as_str()));
            assert_eq!(serde_json::from_str::<IssueCode>(&format!("\"{code}\"")).unwrap(), code);
        }
        assert_eq!(IssueCode::PublicIdRepeatedSame.to_string(), "public-id-repeated-same");
    }
}
