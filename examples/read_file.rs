//! Reads one file the way the app does and reports the outcome, the time it took and the
//! peak memory: `cargo run --release --example read_file -- [sheet|snapshot] <file> [repeats]`.
//! Used to measure the reader on benchmark exports and on hostile files (run it under
//! `/usr/bin/time -v` for the maximum resident set size).

use std::process::ExitCode;
use std::time::Instant;

use roundtrip::core::read::read_sheet;
use roundtrip::core::snapshot::read_snapshot;

/// The peak resident memory of this process so far (`VmHWM`), on Linux.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// CPU time (user + system) this process has used so far, in seconds, on Linux: what to
/// compare on a busy machine.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: read_file <sheet|snapshot> <file> [repeats]");
        return ExitCode::from(2);
    };
    let repeats: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(1).max(1);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("could not read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let name =
        std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..repeats {
        let (started, cpu) = (Instant::now(), cpu_seconds());
        // The time to read, not to free what was read: the value is dropped after the clock.
        let (outcome, kept): (Result<String, String>, Box<dyn std::any::Any>) = match kind.as_str() {
            "snapshot" => match read_snapshot(&name, &bytes) {
                Ok(crm) => (Ok(format!("{} CRM entries", crm.entries.len())), Box::new(crm)),
                Err(e) => (Err(e.to_string()), Box::new(())),
            },
            _ => match read_sheet(&name, &bytes) {
                Ok(sheet) => (Ok(format!("{} rows", sheet.rows.len())), Box::new(sheet)),
                Err(e) => (Err(e.to_string()), Box::new(())),
            },
        };
        let took = started.elapsed().as_secs_f64();
        let cpu = match (cpu, cpu_seconds()) {
            (Some(before), Some(after)) => after - before,
            _ => took,
        };
        best = best.min(took);
        best_cpu = best_cpu.min(cpu);
        match outcome {
            Ok(summary) => println!("ok in {took:.3} s (CPU {cpu:.2} s): {summary}"),
            Err(message) => println!("refused in {took:.3} s (CPU {cpu:.2} s): {message}"),
        }
        drop(kept);
    }
    println!("best {best:.3} s (CPU {best_cpu:.2} s); peak memory {}", peak_memory());
    ExitCode::SUCCESS
}
