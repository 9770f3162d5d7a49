//! The account rules that need the CRM or another cell: an Account Number is a CRM
//! registration (`123456/SP`) for a Medical account and a CNPJ with valid check digits for a
//! Company or Insurance account; a Portfolio is an operator's login or "Without Portfolio"; a
//! contact's Identifier repeats its Account Number; Qualifications are names from the
//! specialty registry. Each broken rule is an [`AccountRuleError`] whose text is the message
//! the read summary shows.

use crate::core::cnpj;
use crate::core::model::{Account, AccountKind, Crm};
use crate::core::text::fold;

use super::WITHOUT_PORTFOLIO;

/// The Brazilian states (UF) a CRM registration may name.
pub const BR_STATES: &[&str] = &[
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE",
    "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
];

/// A value an account rule refuses. `text` is the value as the file gives it (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRuleError {
    /// A CRM registration without a `/` or `-` between number and state.
    #[error("\"{text}\" is not a CRM registration — expected the number and the state, like 123456/SP")]
    NotARegistration { text: String },
    /// A CRM registration whose number is not 1–8 digits.
    #[error("\"{text}\" is not a CRM registration — the number before the state must be 1–8 digits, like 123456/SP")]
    RegistrationNumber { text: String },
    /// A CRM registration whose state is not a Brazilian UF.
    #[error("\"{text}\": {state} is not a Brazilian state (UF) — expected one of {}", BR_STATES.join(", "))]
    UnknownState { text: String, state: String },
    /// Not 14 CNPJ characters.
    #[error("\"{text}\" is not a CNPJ — expected 14 digits like 12.345.678/0001-95 or 12345678000195")]
    NotACnpj { text: String },
    /// A CNPJ whose check digits are wrong.
    #[error("CNPJ \"{text}\" has invalid check digits")]
    CnpjCheckDigits { text: String },
    /// A Portfolio that is neither an operator's login nor "Without Portfolio".
    #[error("Portfolio \"{text}\" is not an operator's login — expected one of {}", .expected.join(", "))]
    UnknownPortfolio { text: String, expected: Vec<String> },
    /// A qualification that is not in the specialty registry.
    #[error("Qualification \"{text}\" is not in the specialty registry — closest registered: {}", .closest.join(", "))]
    UnknownSpecialty { text: String, closest: Vec<String> },
    /// An Identifier that does not repeat its Account Number.
    #[error("Identifier \"{identifier}\" does not repeat the Account Number \"{account_number}\" — the Identifier must be the account number")]
    IdentifierMismatch { identifier: String, account_number: String },
}

/// A CRM registration `digits/UF` (a `-` or spaces around the slash accepted, state in any
/// case), stored as `123456/SP`.
pub fn parse_crm_registration(text: &str) -> Result<String, AccountRuleError> {
    let t = text.trim();
    let Some((num, uf)) = t.rsplit_once(['/', '-']) else {
        return Err(AccountRuleError::NotARegistration { text: t.to_string() });
    };
    let (num, uf) = (num.trim(), uf.trim().to_uppercase());
    if num.is_empty() || num.len() > 8 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AccountRuleError::RegistrationNumber { text: t.to_string() });
    }
    if !BR_STATES.contains(&uf.as_str()) {
        return Err(AccountRuleError::UnknownState { text: t.to_string(), state: uf });
    }
    Ok(format!("{num}/{uf}"))
}

/// A CNPJ with valid check digits (punctuation optional), stored formatted.
pub fn parse_cnpj(text: &str) -> Result<String, AccountRuleError> {
    let t = text.trim();
    if cnpj::compact(t).is_none() {
        return Err(AccountRuleError::NotACnpj { text: t.to_string() });
    }
    if !cnpj::is_valid(t) {
        return Err(AccountRuleError::CnpjCheckDigits { text: t.to_string() });
    }
    Ok(cnpj::format(t).unwrap_or_else(|| t.to_string()))
}

/// The stored form of an account number for its kind.
pub fn parse_account_number(kind: AccountKind, text: &str) -> Result<String, AccountRuleError> {
    match kind {
        AccountKind::Medical => parse_crm_registration(text),
        AccountKind::Company | AccountKind::Insurance => parse_cnpj(text),
    }
}

/// The stored form of an account number of unknown kind: a CNPJ when it is one, else a CRM
/// registration; the text itself when neither.
pub fn normalize_account_number(text: &str) -> String {
    parse_cnpj(text).or_else(|_| parse_crm_registration(text)).unwrap_or_else(|_| text.trim().to_string())
}

/// A Portfolio cell: `Ok(None)` for "Without Portfolio", `Ok(Some(login))` for an existing
/// operator's login (case-insensitive; the stored login's spelling is kept).
pub fn parse_portfolio(crm: &Crm, text: &str) -> Result<Option<String>, AccountRuleError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case(WITHOUT_PORTFOLIO) {
        return Ok(None);
    }
    crm.operators.keys().find(|l| l.eq_ignore_ascii_case(t)).map(|l| Some(l.clone())).ok_or_else(|| {
        let mut expected: Vec<String> = crm.operators.keys().cloned().collect();
        expected.push(WITHOUT_PORTFOLIO.to_string());
        AccountRuleError::UnknownPortfolio { text: t.to_string(), expected }
    })
}

/// The Portfolio text of an account.
pub fn portfolio_text(a: &Account) -> &str {
    a.portfolio_login.as_deref().unwrap_or(WITHOUT_PORTFOLIO)
}

/// The registered specialty whose folded spelling (case, accents) is `name`'s.
pub fn match_specialty(crm: &Crm, name: &str) -> Result<String, AccountRuleError> {
    let f = fold(name);
    if let Some(s) = crm.specialties.keys().find(|s| fold(s) == f) {
        return Ok(s.clone());
    }
    let mut scored: Vec<(f64, &String)> =
        crm.specialties.keys().map(|s| (strsim::jaro_winkler(&fold(s), &f), s)).collect();
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(b.1)));
    let closest = scored.iter().take(3).map(|(_, s)| s.to_string()).collect();
    Err(AccountRuleError::UnknownSpecialty { text: name.trim().to_string(), closest })
}

/// A `;`-separated Qualifications cell, each matched to the registry; all errors together.
pub fn parse_qualifications(crm: &Crm, text: &str) -> Result<Vec<String>, Vec<AccountRuleError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match match_specialty(crm, part) {
            Ok(s) if !out.contains(&s) => out.push(s),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The Identifier rule: the Identifier repeats the Account Number (compared in stored form).
pub fn check_identifier(account_number: &str, identifier: &str) -> Result<(), AccountRuleError> {
    if normalize_account_number(account_number) == normalize_account_number(identifier) {
        Ok(())
    } else {
        Err(AccountRuleError::IdentifierMismatch {
            identifier: identifier.trim().to_string(),
            account_number: account_number.trim().to_string(),
        })
    }
}
