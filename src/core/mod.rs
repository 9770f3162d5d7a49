//! The pure core of Roundtrip: the CRM model, templates, and every pipeline stage from file
//! bytes to export bytes. It is a function of bytes and data: it names no browser crate and
//! does no I/O, so it is tested natively with `cargo test`.

pub mod accounts;
pub mod cnpj;
pub mod date;
pub mod demo;
pub mod export;
pub mod headers;
pub mod index;
pub mod insurance;
pub mod matching;
pub mod model;
pub mod plan;
pub mod random;
pub mod read;
pub mod report;
pub mod revision;
pub mod sheet;
pub mod snapshot;
pub mod template;
pub mod text;
pub mod validate;
pub mod xlsx;
