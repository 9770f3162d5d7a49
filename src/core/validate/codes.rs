//! The codes of validation, matching and planning issues. Each [`IssueCode`] names one rule; its text
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
    /// The cell holds more than Excel's 32,767 characters: no workbook could hold it.
    CellTooLong,
    /// An SSN that is not nine digits.
    SsnFormat,
    /// Nine digits that are not a valid SSN (area, group or serial).
    SsnInvalid,
    /// An SSN cell masked as the app shows it (`XXX-XX-6789`, as in an error report written
    /// without full SSNs): not read; the CRM keeps its own (a warning).
    SsnMasked,
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
    /// An Address row without any address value.
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
    /// A cell needed only to create a record is empty on a row that another key matches; the
    /// CRM keeps its stored value (a warning).
    EmptyKept,
    /// A cell needed to find or create the record is empty and no other key is given.
    NeededToIdentify,
    /// An Address row without Address Line 1 but with other address values; it is taken as
    /// given (a warning).
    AddressIncomplete,
    /// A cell needed to create a record is empty on a row the operator chose to create one for.
    NeededToCreate,
    /// An Account Number that is not what the row's Kind requires (CRM registration, CNPJ).
    AccountNumber,
    /// A Portfolio that is neither an operator's login nor "Without Portfolio".
    PortfolioUnknown,
    /// Active disagrees with the Portfolio.
    ActiveMismatch,
    /// Contact columns filled without a Contact Name.
    ContactNameMissing,
    /// An account repeated in the file.
    AccountRepeated,
    /// An Account Number that does not exist (a contact needs its account).
    AccountUnknown,
    /// An Identifier that does not repeat the Account Number.
    IdentifierMismatch,
    /// A qualification that is not in the specialty registry.
    QualificationUnknown,
    /// A contact repeated in the file.
    ContactRepeated,
    /// A row the planner cannot use although no single cell is wrong.
    RowIncomplete,
}

impl IssueCode {
    pub const ALL: [IssueCode; 39] = [
        IssueCode::Required,
        IssueCode::IdentifierAsDate,
        IssueCode::CellError,
        IssueCode::CellTooLong,
        IssueCode::SsnFormat,
        IssueCode::SsnInvalid,
        IssueCode::SsnMasked,
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
        IssueCode::EmptyKept,
        IssueCode::NeededToIdentify,
        IssueCode::AddressIncomplete,
        IssueCode::NeededToCreate,
        IssueCode::AccountNumber,
        IssueCode::PortfolioUnknown,
        IssueCode::ActiveMismatch,
        IssueCode::ContactNameMissing,
        IssueCode::AccountRepeated,
        IssueCode::AccountUnknown,
        IssueCode::IdentifierMismatch,
        IssueCode::QualificationUnknown,
        IssueCode::ContactRepeated,
        IssueCode::RowIncomplete,
    ];

    /// The code as reports and the page show it.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueCode::Required => "required",
            IssueCode::IdentifierAsDate => "identifier-as-date",
            IssueCode::CellError => "cell-error",
            IssueCode::CellTooLong => "cell-too-long",
            IssueCode::SsnFormat => "ssn-format",
            IssueCode::SsnInvalid => "ssn-invalid",
            IssueCode::SsnMasked => "ssn-masked",
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
            IssueCode::EmptyKept => "empty-kept",
            IssueCode::NeededToIdentify => "needed-to-identify",
            IssueCode::AddressIncomplete => "address-incomplete",
            IssueCode::NeededToCreate => "needed-to-create",
            IssueCode::AccountNumber => "account-number",
            IssueCode::PortfolioUnknown => "portfolio-unknown",
            IssueCode::ActiveMismatch => "active-mismatch",
            IssueCode::ContactNameMissing => "contact-name-missing",
            IssueCode::AccountRepeated => "account-repeated",
            IssueCode::AccountUnknown => "account-unknown",
            IssueCode::IdentifierMismatch => "identifier-mismatch",
            IssueCode::QualificationUnknown => "qualification-unknown",
            IssueCode::ContactRepeated => "contact-repeated",
            IssueCode::RowIncomplete => "row-incomplete",
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
