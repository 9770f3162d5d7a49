//! Writes the demo CRM as a snapshot workbook and reports how long each step took:
//! `cargo run --release --example make_demo_snapshot -- <scale> <out.xlsx> [seed]`.
//! It generates the demo CRM at the scale, writes the snapshot, reads it back, checks that
//! the round trip is exact, and prints wall-clock and CPU times and the file size (CPU time
//! is what to compare on a busy machine; it is read from `/proc` where there is one).

use std::process::ExitCode;
use std::time::Instant;

use roundtrip::core::demo::{demo_crm, DEMO_SEED};
use roundtrip::core::model::EntityKind;
use roundtrip::core::snapshot::{read_snapshot, write_snapshot};

/// CPU time (user + system) this process has used so far, in seconds, on Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Runs `step`, returning its result and "N.NN s (CPU N.NN s)".
fn timed<T>(step: impl FnOnce() -> T) -> (T, String) {
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let result = step();
    let wall = wall.elapsed().as_secs_f64();
    let took = match (cpu, cpu_seconds()) {
        (Some(before), Some(after)) => format!("{wall:.2} s (CPU {:.2} s)", after - before),
        _ => format!("{wall:.2} s"),
    };
    (result, took)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(scale), Some(out)) = (args.first().and_then(|s| s.parse::<u32>().ok()), args.get(1)) else {
        eprintln!("usage: make_demo_snapshot <scale> <out.xlsx> [seed]");
        return ExitCode::from(2);
    };
    let seed = args.get(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(DEMO_SEED);

    let (crm, took) = timed(|| demo_crm(seed, scale));
    println!("generated the demo CRM (seed {seed}, scale {scale}) in {took}");
    for kind in EntityKind::ALL {
        if kind != EntityKind::Counters {
            println!("  {:<18} {:>9}", kind.store_name(), crm.count(kind));
        }
    }

    let (written, took) = timed(|| write_snapshot(&crm));
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("wrote the snapshot in {took}: {:.1} MiB", bytes.len() as f64 / 1_048_576.0);
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("could not write {out}: {e}");
        return ExitCode::FAILURE;
    }

    let name =
        std::path::Path::new(out).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (read, took) = timed(|| read_snapshot(&name, &bytes));
    let back = match read {
        Ok(crm) => crm,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("read the snapshot back in {took}");
    if back != crm {
        eprintln!("the snapshot read back differs from the CRM written");
        return ExitCode::FAILURE;
    }
    println!("round trip exact; saved {out}");
    ExitCode::SUCCESS
}
