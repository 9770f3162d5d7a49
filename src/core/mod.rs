//! The pure core of Roundtrip: the CRM model, templates, and every pipeline stage from file
//! bytes to export bytes. It is a function of bytes and data: it names no browser crate and
//! does no I/O, so it is tested natively with `cargo test`.
//!
//! - The stages every workflow shares: [`sheet`] and [`read`] (bytes → `Sheet`), [`headers`]
//!   (which template, which column), [`validate`] (rows + issues), [`plan`] (the one
//!   `ImportPlan` shape, the import history with undo, the verification sample).
//! - The workflows, each a module implementing [`workflow::Workflow`] (its templates, its
//!   planner, how its rows read) and listed once in [`workflows`]: [`insured`] (contact
//!   details of the insureds on cases, matched by a 4-tier cascade), [`insurance`] (bulk
//!   insurance of school users and devices), [`accounts`] (accounts and account contacts).
//! - Workbook writing: [`xlsx`] (the shared writing rules), [`report`] (error and plan
//!   reports), [`snapshot`] (the CRM snapshot and its reader), the templates' own workbooks.
//! - Data and support: [`model`], [`kinds`], [`unique`], [`template`], [`date`], [`text`], [`cnpj`],
//!   [`random`], [`index`], [`digest`], [`demo`].
//! - [`ledger`]: the PII ledger (every Reveal and every file written with full SSNs).
//! - [`privacy`]: the `Ssn` type (masked unless exposed on purpose) and the keyed digests
//!   under the CRM's secret.
//! - [`lock`]: the idle time after which an encrypted copy locks, and a new passphrase typed
//!   twice.

pub mod accounts;
pub mod cnpj;
pub mod date;
pub mod demo;
pub mod digest;
pub mod headers;
pub mod index;
pub mod insurance;
pub mod insured;
pub mod kinds;
pub mod ledger;
pub mod lock;
pub mod model;
pub mod plan;
pub mod privacy;
pub mod random;
pub mod read;
pub mod report;
pub mod revision;
pub mod sheet;
pub mod snapshot;
pub mod template;
pub mod text;
pub mod unique;
pub mod validate;
pub mod workflow;
pub mod workflows;
pub mod xlsx;
