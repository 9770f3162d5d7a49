//! The import pipeline, stage by stage and whole, as one test binary: headers → validation →
//! the 4-tier matching cascade → grouping and ranking → plan → apply → undo → export →
//! re-import for the insured contact details template, the plan's reads, and a fourth template
//! declared in the test itself run through the same stages. Fixtures are built in code
//! ([`fixtures`]): a small hand-made CRM (cases, insureds, entries with and without Client
//! Reference and SSN, accented names, details), sheets of raw cells, and XLSX bytes written
//! with rust_xlsxwriter and read back with calamine. Every test is named after the behaviour it
//! pins.

use std::collections::BTreeMap;

use roundtrip::core::date::Date;
use roundtrip::core::headers::{map_headers, HeaderMapping};
use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::matching::{GroupChoice, GroupKind, Matcher, Matches, RowMatch};
use roundtrip::core::insured::plan::plan;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS as T;
use roundtrip::core::model::*;
use roundtrip::core::plan::history::{apply, undo, ApplyContext, ApplyRefusal};
use roundtrip::core::plan::{FieldChange, ImportPlan, PlannedRow, RowAction};
use roundtrip::core::privacy::{CrmSecret, Ssn};
use roundtrip::core::sheet::{RawCell, Sheet, SheetRow, SourceFormat};
use roundtrip::core::template::{Field, MatchTier};
use roundtrip::core::validate::{IssueCode, Severity, Validated, ValidationOptions, Validator};

mod fixtures;
use fixtures::*;

mod apply_and_undo;
mod create;
mod files;
mod fourth_template;
mod grouping;
mod headers;
mod identity;
mod missing_fields;
mod overrides;
mod ranking;
mod reads;
mod reports;
mod search_and_bulk;
mod stale_export;
mod template_workbook;
mod tier1_public_id;
mod tier2_client_reference_and_ssn;
mod tier3_insured_reference;
mod validation;
mod whole_pipeline;
