//! Benchmark of the import pipeline at size: a 100,000-row Insured CRM Export file, edited
//! (address changes, new details without Public ID, new persons, typo'd names), imported
//! against a CRM of about 100,000 entries. Prints the time of each stage and the peak memory.
//!
//! `cargo run --release --example bench_import -- [rows] [scale] [file.xlsx]` (defaults 100000
//! and 112; with a file path, the edited import file is also written there for the browser
//! benchmark).

use std::time::Instant;

use roundtrip::core::demo::{demo_crm, DEMO_SEED};
use roundtrip::core::headers::map_headers;
use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::export::{insured_export_rows, write_insured_export, InsuredExportRow};
use roundtrip::core::insured::matching::Matcher;
use roundtrip::core::insured::plan::plan;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS;
use roundtrip::core::plan::history::{apply, ApplyContext};
use roundtrip::core::read::read_sheet;
use roundtrip::core::validate::{ValidationOptions, Validator};

/// CPU time (user + system) this process has used so far, in seconds, on Linux: what to
/// compare on a busy machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn peak_memory_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.to_string()))
        .map(|l| {
            let kb: f64 = l.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0.0);
            format!("{:.0} MiB", kb / 1024.0)
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows_wanted: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let scale: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(112);

    let t = Instant::now();
    let mut crm = demo_crm(DEMO_SEED, scale);
    println!(
        "CRM at scale {scale}: {} entries, {} details, {} insureds ({:.2} s)",
        crm.entries.len(),
        crm.details.len(),
        crm.insureds.len(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let case_ids: Vec<u32> = crm.cases.keys().copied().collect();
    let mut rows: Vec<InsuredExportRow> = {
        let index = CrmIndex::new(&crm);
        insured_export_rows(&index, &case_ids)
    };
    rows.truncate(rows_wanted);
    // Edits: 1 row in 10 changes its address line, 1 in 25 becomes a new phone without Public
    // ID, 1 in 50 becomes a new person with a new Client Reference, 1 in 100 gets a typo.
    for (i, r) in rows.iter_mut().enumerate() {
        if i % 10 == 0 && r.detail_type == "Address" {
            r.address_line1 = format!("{} (moved)", r.address_line1);
        } else if i % 25 == 1 {
            r.detail_type = "Phone".into();
            r.public_id.clear();
            r.address_line1.clear();
            r.address_line2.clear();
            r.city.clear();
            r.region.clear();
            r.postcode.clear();
            r.country.clear();
            r.email.clear();
            r.phone = format!("+1 617 555 {:04}", i % 10_000);
        } else if i % 50 == 2 {
            r.client_reference = format!("CR-NEW-{i:07}");
            r.ssn = None;
            r.public_id.clear();
            r.first_name = format!("New{}", i % 997);
            if r.detail_type.is_empty() {
                r.detail_type = "Email".into();
                r.email = format!("new{i}@example.com");
            }
        } else if i % 100 == 3 && r.first_name.len() > 3 {
            r.client_reference.clear();
            r.ssn = None;
            r.public_id.clear();
            let at = r.first_name.char_indices().nth(2).map(|(i, _)| i).unwrap_or(0);
            r.first_name.insert(at, 'x');
            if r.detail_type.is_empty() {
                r.detail_type = "Email".into();
                r.email = format!("typo{i}@example.com");
            }
        }
    }
    let bytes = write_insured_export(&rows).expect("write");
    if let Some(path) = args.get(3) {
        std::fs::write(path, &bytes).expect("write the import file");
    }
    println!(
        "file: {} rows, {:.1} MiB, written in {:.2} s",
        rows.len(),
        bytes.len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let total = Instant::now();
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let sheet = read_sheet("bench.xlsx", &bytes).expect("read");
    println!(
        "read       {:>7.2} s  (CPU {:.2} s; {} rows)",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu,
        sheet.rows.len()
    );

    let t = Instant::now();
    let mapping = map_headers(&INSURED_CONTACT_DETAILS, &sheet.header, &Default::default());
    let index = CrmIndex::new(&crm);
    let validator = Validator::new(&INSURED_CONTACT_DETAILS, &mapping, &index, ValidationOptions::default());
    let validated = validator.all(&sheet.rows);
    let mut codes = std::collections::BTreeMap::<&str, usize>::new();
    for i in &validated.issues {
        *codes.entry(i.code.as_str()).or_default() += 1;
    }
    println!(
        "validate   {:>7.2} s  ({} errors, {} warnings: {codes:?})",
        t.elapsed().as_secs_f64(),
        validated.error_count(),
        validated.warning_count()
    );

    let t = Instant::now();
    let matcher = Matcher::new(&INSURED_CONTACT_DETAILS, &index);
    let prepared = t.elapsed().as_secs_f64();
    let mut outcomes = Vec::with_capacity(validated.rows.len());
    let mut notes = Vec::new();
    for r in &validated.rows {
        let (o, n) = matcher.row(r);
        outcomes.push(o);
        notes.extend(n);
    }
    let cascaded = t.elapsed().as_secs_f64();
    let matches = matcher.finish(&validated.rows, outcomes, notes);
    println!(
        "match      {:>7.2} s  (index {prepared:.2} s, cascade {:.2} s, grouping and ranking {:.2} s; {:?}, {} detected persons)",
        t.elapsed().as_secs_f64(),
        cascaded - prepared,
        t.elapsed().as_secs_f64() - cascaded,
        matches.tier_counts(),
        matches.groups.len()
    );

    let t = Instant::now();
    let choices = matches.default_choices();
    let plan = plan(&crm, &INSURED_CONTACT_DETAILS, &validated, &matches, &choices);
    println!("plan       {:>7.2} s  ({:?})", t.elapsed().as_secs_f64(), plan.counts);
    drop(index);

    let t = Instant::now();
    let ctx = ApplyContext {
        template_id: INSURED_CONTACT_DETAILS.id.into(),
        operator_login: "amartin".into(),
        applied_at_ms: 0,
        file_name: "bench.xlsx".into(),
        sha256: "0".repeat(64),
    };
    let (changes, _record) = apply(&crm, &plan, &ctx).expect("apply");
    crm.apply_changes(&changes).expect("unique");
    println!(
        "apply      {:>7.2} s  ({} records written in memory)",
        t.elapsed().as_secs_f64(),
        changes.puts.len()
    );

    let t = Instant::now();
    let index = CrmIndex::new(&crm);
    let out = write_insured_export(&insured_export_rows(&index, &plan.affected_case_ids())).expect("export");
    println!("export     {:>7.2} s  ({:.1} MiB)", t.elapsed().as_secs_f64(), out.len() as f64 / 1048576.0);
    println!("total      {:>7.2} s; peak memory {}", total.elapsed().as_secs_f64(), peak_memory_mib());
}
