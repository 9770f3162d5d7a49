//! The command line (`roundtrip-cli`): the app's workflows on a CRM snapshot file instead of
//! the browser's copy. Each run loads the snapshot into a [`MemoryStore`], drives the very
//! same [`Service`] the pipeline worker drives (stage → headers → review → match → choices →
//! plan → apply, exports, the demo, the snapshot), and writes what the app would offer as
//! downloads: the plan and error reports, the updated snapshot (history record and
//! before-images included), the Insured CRM Export. No workflow logic lives here: this module
//! turns arguments into service calls and views into text, JSON and exit codes.
//!
//! Exit codes: [`EXIT_DONE`] 0, [`EXIT_FILE_ERRORS`] 1 (rows with errors; nothing applied
//! unless `--valid-rows-only`), [`EXIT_UNREADABLE`] 2 (a file could not be read or written;
//! also clap's code for a usage error), [`EXIT_DECISIONS`] 3 (detected persons need a
//! decision, suggested headers need confirming, or the file was applied before).

mod import;
mod progress;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use futures::executor::block_on;
use serde::Serialize;

use crate::core::insured::matching::{GroupChoice, KeyedChoices};
use crate::core::model::{Crm, ImportCounts};
use crate::core::privacy::CrmSecret;
use crate::core::snapshot::read_snapshot;
use crate::core::workflows;
use crate::protocol::{ExportFigures, ExportPreview, InsuredExport, LoadDemo, SnapshotDownload};
use crate::service::{Call, Failure, SecretSource, Service};
use crate::store::memory::MemoryStore;

pub use progress::Progress;

/// Done.
pub const EXIT_DONE: i32 = 0;
/// The file has rows with errors; nothing was applied.
pub const EXIT_FILE_ERRORS: i32 = 1;
/// A file could not be read (or written).
pub const EXIT_UNREADABLE: i32 = 2;
/// Decisions are needed before anything can be applied.
pub const EXIT_DECISIONS: i32 = 3;

/// The template ids `--template` takes: every template of the app's workflows.
fn template_ids() -> Vec<&'static str> {
    workflows::templates(&workflows::ALL).map(|t| t.id).collect()
}

/// Roundtrip's CRM imports and exports on a CRM snapshot file.
#[derive(Debug, Parser)]
#[command(
    name = "roundtrip-cli",
    version,
    about = "Roundtrip's imports and exports on a CRM snapshot file: plan, apply, export, demo.",
    after_help = "Exit codes: 0 done; 1 the file has errors (nothing applied unless --valid-rows-only); 2 a file \
                  could not be read or written; 3 decisions needed (open persons, suggested headers, a file applied \
                  before)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print one JSON summary object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The time to record and to name files by, in ms since the Unix epoch (default: now).
    #[arg(long, global = true, value_name = "MS")]
    pub now_ms: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the app's demo CRM as a snapshot file.
    Demo {
        /// The snapshot to write.
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write a portfolio's Insured CRM Export.
    Export {
        /// The CRM snapshot to read.
        #[arg(long, value_name = "FILE")]
        crm: PathBuf,
        /// The portfolio's name (as the app lists it).
        #[arg(long, value_name = "NAME")]
        portfolio: String,
        /// The export to write.
        #[arg(short, long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Read, validate, match and plan an import; nothing is written but the reports.
    Plan(ImportArgs),
    /// Plan an import, then apply it and write the updated CRM snapshot.
    Apply {
        #[command(flatten)]
        import: ImportArgs,
        /// The updated CRM snapshot to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Apply a file applied before (same SHA-256) without stopping.
        #[arg(long)]
        again: bool,
        /// The operator login recorded in the import's history.
        #[arg(long, value_name = "LOGIN", default_value = CLI_OPERATOR)]
        operator: String,
    },
}

/// What `plan` and `apply` share.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CRM snapshot to import into.
    #[arg(long, value_name = "FILE")]
    pub crm: PathBuf,
    /// The template the file is.
    #[arg(long, value_name = "ID", value_parser = clap::builder::PossibleValuesParser::new(template_ids()))]
    pub template: String,
    /// The file to import (XLSX or CSV).
    pub file: PathBuf,
    /// Write the plan report (XLSX).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write the error report (XLSX). Its SSN column is masked (XXX-XX-6789) unless
    /// --include-full-ssns.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
    /// Write the error report's SSN column in full, as the file had it (to fix and re-upload
    /// a file with SSNs). The report then holds SSNs: keep it on this machine.
    #[arg(long, requires = "errors")]
    pub include_full_ssns: bool,
    /// Choices for detected persons: a JSON object of person key → "new", "skip" or an entry id.
    #[arg(long, value_name = "FILE")]
    pub choices: Option<PathBuf>,
    /// Every open person not decided otherwise gets a new CRM entry (persons without names are
    /// skipped).
    #[arg(long)]
    pub create_new: bool,
    /// Every unmatched person not decided otherwise whose top candidate scores at least N gets
    /// that entry; the rest take the app's default (a new entry, or skip without names).
    #[arg(long, value_name = "N")]
    pub accept_top: Option<u32>,
    /// Apply the valid rows of a file with errors (the rows with errors are left out).
    #[arg(long)]
    pub valid_rows_only: bool,
    /// Accept the suggested mapping of headers that are not the template's exactly.
    #[arg(long)]
    pub accept_headers: bool,
    /// Insurance: an empty optional cell clears the stored value (otherwise it keeps it).
    #[arg(long)]
    pub clear_empty_cells: bool,
    /// A field changed both in the file and in the CRM since the file was exported takes the
    /// file's value (insured contact details; by default the CRM's value is kept).
    #[arg(long)]
    pub take_file_values: bool,
}

/// Why a command stopped: its exit code and what to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub code: i32,
    pub message: String,
}

impl Stop {
    pub fn unreadable(message: impl Into<String>) -> Stop {
        Stop { code: EXIT_UNREADABLE, message: message.into() }
    }

    /// The service failed: the run stops with the app's words for it.
    pub fn failed(failure: Failure) -> Stop {
        Stop::unreadable(failure.to_string())
    }
}

/// The summary of a run: the `--json` object, and what the text output is made of.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub command: &'static str,
    pub exit_code: i32,
    /// "done", "errors", "unreadable", "decisions needed".
    pub status: &'static str,
    /// What happened, or why it stopped.
    pub message: String,
    pub file: Option<FileSummary>,
    /// Validation's figures (workflows that review before matching).
    pub review: Option<ReviewSummary>,
    /// The plan's totals.
    pub counts: Option<ImportCounts>,
    /// Account contacts created and updated (accounts).
    pub contacts: Option<(usize, usize)>,
    /// Detected persons no tier settled.
    pub open_persons: usize,
    /// Open persons still waiting for a decision.
    pub undecided: Vec<PersonSummary>,
    /// Keys of the choices file that name no person of this run (not applied).
    pub unknown_choice_keys: Vec<String>,
    /// The first rows with errors: "row 12: why".
    pub error_rows: Vec<String>,
    pub import_id: Option<u32>,
    /// Files written.
    pub written: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    pub name: String,
    pub template: String,
    pub rows: usize,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReviewSummary {
    pub errors: usize,
    pub warnings: usize,
}

/// An open detected person waiting for a decision.
#[derive(Debug, Clone, Serialize)]
pub struct PersonSummary {
    pub key: String,
    pub name: String,
    /// "Not matched" or "Conflict".
    pub kind: String,
    pub reason: Option<String>,
    pub sheet_rows: Vec<usize>,
    pub can_create: bool,
    /// Ranked candidates: (entry id, label).
    pub candidates: Vec<(u32, String)>,
}

fn status_of(code: i32) -> &'static str {
    match code {
        EXIT_DONE => "done",
        EXIT_FILE_ERRORS => "errors",
        EXIT_DECISIONS => "decisions needed",
        _ => "unreadable",
    }
}

/// The operator login the command line records when none is given (`apply --operator`).
pub const CLI_OPERATOR: &str = "roundtrip-cli";

/// Runs a parsed command line; returns the process's exit code.
pub fn run(cli: Cli) -> i32 {
    let now_ms = cli.now_ms.unwrap_or_else(now_ms);
    let progress = Progress::on_stderr();
    let (command, mut summary) = match &cli.command {
        Command::Demo { out } => ("demo", stopped(demo(out, now_ms, &progress))),
        Command::Export { crm, portfolio, out } => {
            ("export", stopped(export(crm, portfolio, out, now_ms, &progress)))
        }
        Command::Plan(args) => ("plan", import::run(args, None, now_ms, &progress)),
        Command::Apply { import: args, out, again, operator } => {
            let apply = import::ApplyArgs { out, again: *again, operator };
            ("apply", import::run(args, Some(apply), now_ms, &progress))
        }
    };
    progress.finish();
    summary.command = command;
    summary.status = status_of(summary.exit_code);
    if cli.json {
        match serde_json::to_string_pretty(&summary) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("roundtrip-cli: the summary could not be written as JSON: {e}"),
        }
        if summary.exit_code != EXIT_DONE {
            eprintln!("{}", summary.message);
        }
    } else {
        print_text(&summary);
    }
    summary.exit_code
}

/// The summary of a command that returns one or stops.
fn stopped(result: Result<Summary, Stop>) -> Summary {
    result.unwrap_or_else(|stop| Summary {
        exit_code: stop.code,
        message: stop.message,
        ..Summary::default()
    })
}

/// The time now, in ms since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The summary as text: figures on stdout, the reason for stopping on stderr.
fn print_text(s: &Summary) {
    if let Some(f) = &s.file {
        println!("{}: {} rows, read as {}", f.name, f.rows, f.template);
    }
    if let Some(r) = s.review {
        println!("Review: {} errors, {} warnings", r.errors, r.warnings);
    }
    if s.open_persons > 0 {
        println!("Open persons: {} ({} waiting for a decision)", s.open_persons, s.undecided.len());
    }
    if let Some(c) = s.counts {
        println!(
            "Plan: {} created, {} updated, {} added, {} unchanged, {} skipped, {} errors",
            c.created, c.updated, c.added, c.unchanged, c.skipped, c.errors
        );
    }
    if let Some((created, updated)) = s.contacts.filter(|c| *c != (0, 0)) {
        println!("Account contacts: {created} created, {updated} updated");
    }
    for key in &s.unknown_choice_keys {
        println!("Not applied (no such person in this run): {key}");
    }
    for row in &s.error_rows {
        println!("  {row}");
    }
    for p in &s.undecided {
        let rows: Vec<String> = p.sheet_rows.iter().map(|r| r.to_string()).collect();
        let reason = p.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        println!("  {} — {}, {}{reason}, rows {}", p.key, p.name.trim(), p.kind, rows.join(", "));
        for (entry, label) in p.candidates.iter().take(3) {
            println!("      candidate {entry}: {label}");
        }
    }
    for w in &s.written {
        println!("Wrote {w}");
    }
    if s.exit_code == EXIT_DONE {
        if !s.message.is_empty() {
            println!("{}", s.message);
        }
    } else {
        eprintln!("{}", s.message);
    }
}

/// Reads a CRM snapshot file into a service over a memory store, as the app loads one. The
/// digest secret comes from the snapshot; a snapshot written before digest secrets gets a new
/// one for this run (and says so on stderr: its SSN-based person keys change from run to run
/// until a snapshot with the secret is written, as `apply --out` does).
pub fn open_crm(path: &Path) -> Result<Service<MemoryStore>, Stop> {
    let crm = read_crm(path)?;
    let svc = Service::new(MemoryStore::with_crm(crm), os_secrets());
    if block_on(svc.ensure_secret()).map_err(Stop::failed)? {
        eprintln!(
            "{}: this snapshot carries no digest secret (it was written before Roundtrip kept one); a new one was \
             made for this run, so detected persons keyed by SSN get other keys in each run until a snapshot with \
             it is written (apply --out, or download one in the app).",
            path.display()
        );
    }
    Ok(svc)
}

/// Digest secrets from the operating system's random source.
pub fn os_secrets() -> SecretSource {
    SecretSource::new(|| {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
        Ok(CrmSecret::from_bytes(bytes))
    })
}

/// Reads a CRM snapshot file with the app's snapshot reader.
pub fn read_crm(path: &Path) -> Result<Crm, Stop> {
    let bytes = read_file(path)?;
    read_snapshot(&path.display().to_string(), &bytes).map_err(|e| Stop::unreadable(e.to_string()))
}

fn read_file(path: &Path) -> Result<Vec<u8>, Stop> {
    std::fs::read(path).map_err(|e| Stop::unreadable(format!("{}: could not be read: {e}.", path.display())))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<String, Stop> {
    std::fs::write(path, bytes)
        .map_err(|e| Stop::unreadable(format!("{}: could not be written: {e}.", path.display())))?;
    Ok(path.display().to_string())
}

fn demo(out: &Path, now_ms: i64, progress: &Progress) -> Result<Summary, Stop> {
    let svc = Service::new(MemoryStore::new(), os_secrets());
    let call = Call::new(progress, now_ms);
    let message = block_on(svc.run(LoadDemo, &call)).map_err(Stop::failed)?;
    let snapshot = block_on(svc.run(SnapshotDownload { operator_login: CLI_OPERATOR.into() }, &call))
        .map_err(Stop::failed)?;
    let written = write_file(out, &snapshot.bytes)?;
    Ok(Summary { message, written: vec![written], ..Summary::default() })
}

fn export(
    crm: &Path,
    portfolio: &str,
    out: &Path,
    now_ms: i64,
    progress: &Progress,
) -> Result<Summary, Stop> {
    let svc = open_crm(crm)?;
    let call = Call::new(progress, now_ms);
    let summary = block_on(svc.run(crate::protocol::Summary, &call)).map_err(Stop::failed)?;
    let wanted = portfolio.trim();
    let Some(p) = summary.portfolios.iter().find(|p| p.name.eq_ignore_ascii_case(wanted)) else {
        let names: Vec<&str> = summary.portfolios.iter().map(|p| p.name.as_str()).collect();
        return Err(Stop::unreadable(format!(
            "{}: there is no portfolio \"{wanted}\". Its portfolios: {}.",
            crm.display(),
            names.join(", ")
        )));
    };
    let ExportFigures { cases, insureds, rows } =
        block_on(svc.run(ExportPreview { portfolio_id: p.id }, &call)).map_err(Stop::failed)?;
    // The export's ledger entry is made in the CRM held here and not written back: `export`
    // writes no snapshot.
    let op = InsuredExport { portfolio_id: p.id, operator_login: CLI_OPERATOR.into() };
    let file = block_on(svc.run(op, &call)).map_err(Stop::failed)?;
    let written = write_file(out, &file.bytes)?;
    let message = format!(
        "Insured CRM Export of {}: {cases} cases, {insureds} insureds, {rows} rows (the app names it {}).",
        p.name, file.name
    );
    Ok(Summary { message, written: vec![written], ..Summary::default() })
}

/// Parses a choices file: person key → "new", "skip" or an entry id (a number or its text).
pub fn parse_choices(path: &Path, bytes: &[u8]) -> Result<KeyedChoices, Stop> {
    let bad = |why: String| Stop::unreadable(format!("{}: {why}", path.display()));
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("not a JSON object of person key → choice ({e}).")))?;
    map.into_iter()
        .map(|(key, value)| {
            let entry = match &value {
                serde_json::Value::String(s) if s.eq_ignore_ascii_case("new") => {
                    return Ok((key, GroupChoice::CreateNew))
                }
                serde_json::Value::String(s) if s.eq_ignore_ascii_case("skip") => {
                    return Ok((key, GroupChoice::Skip))
                }
                serde_json::Value::String(s) => s.trim().parse::<u32>().ok(),
                serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                _ => None,
            };
            entry.map(|e| (key.clone(), GroupChoice::Existing(e))).ok_or_else(|| {
                bad(format!(
                    "the choice for \"{key}\" is {value}; expected \"new\", \"skip\" or an entry id."
                ))
            })
        })
        .collect()
}
