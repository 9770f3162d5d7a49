//! What the export base costs: the Insured CRM Export of every portfolio of the demo CRM at a
//! scale, written with and without its very hidden base sheet; prints the rows, the entries
//! and details the base holds, the time its keyed digests take, the file's size both ways and
//! the base's share (zipped, and unzipped: its sheet part plus the shared strings it adds). Not
//! a test: it decides nothing.
//!
//! `cargo run --release --example export_base_size -- [scale]` (default 100).

use std::io::{Cursor, Read};

use roundtrip::core::demo::{demo_crm, DEMO_SEED};
use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::base::ExportBase;
use roundtrip::core::insured::export::{
    insured_export_rows, portfolio_case_ids, write_insured_export_with_base,
};
use roundtrip::core::privacy::CrmSecret;

/// Bytes of every part of a zip once inflated.
fn unzipped(bytes: &[u8]) -> usize {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut part = Vec::new();
            zip.by_index(i).expect("a part").read_to_end(&mut part).expect("inflated");
            part.len()
        })
        .sum()
}

fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

fn main() {
    let scale: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    let mut crm = demo_crm(DEMO_SEED, scale);
    // A fixed secret: the sizes do not depend on it.
    crm.counters.secret = Some(CrmSecret::from_bytes([7; 32]));
    let index = CrmIndex::new(&crm);
    println!("Demo CRM at scale {scale}: {} entries, {} details", crm.entries.len(), crm.details.len());
    let (mut with_total, mut without_total, mut unzipped_delta) = (0, 0, 0);
    for p in crm.portfolios.values() {
        let rows = insured_export_rows(&index, &portfolio_case_ids(&crm, p.id));
        let started = std::time::Instant::now();
        let base = ExportBase::of_export(&index, &rows, p.id, 1_700_000_000_000, None).expect("a secret");
        let digested = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let with = write_insured_export_with_base(&rows, Some(&base)).expect("written");
        let written = started.elapsed().as_secs_f64();
        let without = write_insured_export_with_base(&rows, None).expect("written");
        let delta = unzipped(&with) - unzipped(&without);
        println!(
            "{:<24} {:>7} rows; base: {:>6} entries, {:>6} details (digested in {:.2} s, the file written in {:.2} s); file {} with, {} without: base {} zipped, {} unzipped",
            p.name,
            rows.len(),
            base.entries.len(),
            base.details.len(),
            digested,
            written,
            kib(with.len()),
            kib(without.len()),
            kib(with.len() - without.len()),
            kib(delta)
        );
        with_total += with.len();
        without_total += without.len();
        unzipped_delta += delta;
    }
    println!(
        "All portfolios: {} with, {} without: the bases cost {} zipped ({:.0}% of the files), {} unzipped",
        kib(with_total),
        kib(without_total),
        kib(with_total - without_total),
        100.0 * (with_total - without_total) as f64 / with_total as f64,
        kib(unzipped_delta)
    );
}
