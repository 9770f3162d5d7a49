//! Export profiles: named, saved column sets (order included) with default filters, one kind
//! for accounts and one for contacts. They live in the browser's local storage and travel as
//! small JSON files; a profile read back keeps only the columns its template has.

use serde::{Deserialize, Serialize};

use crate::core::model::{Account, AccountKind};
use crate::core::template::{ColumnSpec, Template};

use super::{ACCOUNTS, ACCOUNT_CONTACTS, WITHOUT_PORTFOLIO};

/// Why a JSON file is not an export profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// The file is not the JSON of a profile.
    #[error("Not an export profile: {0}")]
    NotAProfile(String),
    /// The profile's name is empty.
    #[error("The profile has no name")]
    NoName,
    /// None of the profile's columns is its template's.
    #[error("The profile names none of the {0} columns")]
    NoColumns(&'static str),
}

/// What an export profile exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProfileKind {
    Accounts,
    Contacts,
}

impl ProfileKind {
    pub fn template(self) -> &'static Template {
        match self {
            ProfileKind::Accounts => &ACCOUNTS,
            ProfileKind::Contacts => &ACCOUNT_CONTACTS,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ProfileKind::Accounts => "Accounts",
            ProfileKind::Contacts => "Contacts",
        }
    }
}

/// Which accounts an export takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFilters {
    /// `None` = every portfolio; `Some("Without Portfolio")` = inactive accounts; else a login.
    pub portfolio: Option<String>,
    /// `None` = every kind.
    pub kind: Option<AccountKind>,
}

impl AccountFilters {
    pub fn accepts(&self, a: &Account) -> bool {
        let portfolio_ok = match &self.portfolio {
            None => true,
            Some(p) if p.eq_ignore_ascii_case(WITHOUT_PORTFOLIO) => a.portfolio_login.is_none(),
            Some(p) => a.portfolio_login.as_deref() == Some(p.as_str()),
        };
        portfolio_ok && self.kind.is_none_or(|k| a.kind == k)
    }
}

/// A named export profile: which template columns, in which order, and default filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProfile {
    pub name: String,
    pub kind: ProfileKind,
    /// An ordered subset of the template's headers.
    pub columns: Vec<String>,
    #[serde(default)]
    pub filters: AccountFilters,
}

impl ExportProfile {
    /// A profile with every column of its template.
    pub fn full(name: &str, kind: ProfileKind) -> Self {
        ExportProfile {
            name: name.into(),
            kind,
            columns: kind.template().headers().into_iter().map(String::from).collect(),
            filters: AccountFilters::default(),
        }
    }
    /// The profile's columns that are the template's (unknown ones dropped, repeats once).
    pub fn valid_columns(&self) -> Vec<&'static str> {
        self.specs().into_iter().map(|c| c.header).collect()
    }
    /// The template columns of [`ExportProfile::valid_columns`], in the profile's order.
    pub fn specs(&self) -> Vec<&'static ColumnSpec> {
        let mut out: Vec<&'static ColumnSpec> = Vec::new();
        for c in &self.columns {
            if let Some(spec) =
                self.kind.template().columns.iter().find(|s| s.header.eq_ignore_ascii_case(c.trim()))
            {
                if !out.iter().any(|o| o.header == spec.header) {
                    out.push(spec);
                }
            }
        }
        out
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
    /// A profile read from JSON, its columns checked against its template.
    pub fn from_json(text: &str) -> Result<ExportProfile, ProfileError> {
        let mut p: ExportProfile =
            serde_json::from_str(text).map_err(|e| ProfileError::NotAProfile(e.to_string()))?;
        if p.name.trim().is_empty() {
            return Err(ProfileError::NoName);
        }
        let valid: Vec<String> = p.valid_columns().into_iter().map(String::from).collect();
        if valid.is_empty() {
            return Err(ProfileError::NoColumns(p.kind.label()));
        }
        p.columns = valid;
        Ok(p)
    }
}
