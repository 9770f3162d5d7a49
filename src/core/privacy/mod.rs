//! Privacy by construction. A full SSN lives only in an entry's SSN field, in the files the
//! operator asks for (the Insured CRM Export, the snapshot, the error report with full SSNs)
//! and in the Reveal of one entry; anything that compares personal values without holding
//! them uses a keyed digest under the CRM's own secret. The types here make that the easy way:
//!
//! - [`ssn`]: the [`Ssn`] type (masked when displayed or debugged; the full value through
//!   [`Ssn::expose_full`] only; no `Serialize` but the store's explicit [`ssn::stored`]) and
//!   the masking of SSN cells and SSN-shaped text;
//! - [`keyed`]: the [`CrmSecret`] and the HMAC-SHA-256 digests made with it (detected
//!   persons' keys, the export base);
//! - [`shown`]: what an issue may quote of a cell (masked, at most 80 characters) and how a
//!   file's header cells are shown;
//! - [`FullSsns`]: a file written with full SSNs and how many it holds, so the writers of such
//!   files can be recorded.

pub mod keyed;
pub mod shown;
pub mod ssn;

pub use keyed::CrmSecret;
pub use ssn::{MaskedSsn, Ssn};

/// A file written with full SSNs in it (an export, a snapshot, an error report with "Include
/// full SSNs"), with how many distinct SSNs it holds: what a record of the files that left
/// the machine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullSsns {
    pub bytes: Vec<u8>,
    /// Distinct full SSNs written in the file.
    pub ssns: usize,
}
