//! How many rows of a third-party-style insured contact details file reach a correct decision
//! without the operator editing anything: a file generated against the demo CRM with FEBRL-
//! style corruption (see `generator.rs`), the truth kept, run through validation, matching and
//! the plan with every dropdown left alone. Not a test: it prints figures and decides nothing.
//!
//! `cargo run --release --example third_party_file -- [persons] [scale] [seed] [out.csv]`
//! (defaults 5000 persons against the demo CRM at scale 6, about 5,400 entries; seed 12).
//!
//! A row reaches a correct decision when a tier matched it to its true entry and the plan
//! applies it, or it is in an open group whose top candidate is its true entry (one click, or
//! the bulk "accept every top candidate"), or it belongs to a person the CRM does not know and
//! the plan creates a new entry for it. The measurement reads only what every version of the
//! core has (`Matches::rows`, a group's candidates and default choice, the plan's actions), so
//! the same example measures the code before and after a change of the matcher.

mod generator;

use std::collections::{BTreeMap, HashMap};

use roundtrip::core::demo::demo_crm;
use roundtrip::core::headers::map_headers;
use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::matching::{GroupChoice, Matcher, RowMatch};
use roundtrip::core::insured::plan::plan;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS as T;
use roundtrip::core::plan::RowAction;
use roundtrip::core::sheet::{RawCell, Sheet, SheetRow, SourceFormat};
use roundtrip::core::validate::{Severity, ValidationOptions, Validator};

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let persons: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let scale: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(6);
    let seed: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(12);
    let out = args.get(4);

    let crm = demo_crm(20_240_917, scale);
    let rows = generator::third_party_rows(&crm, seed, persons, generator::Rates::default());
    if let Some(path) = out {
        let mut text = T.headers().join(",");
        text.push('\n');
        for r in &rows {
            text.push_str(&r.cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        std::fs::write(path, text).expect("write the CSV file");
    }

    let header: Vec<String> = T.headers().iter().map(|h| h.to_string()).collect();
    let sheet = Sheet {
        file_name: "third-party.csv".into(),
        sheet_name: "third-party".into(),
        format: SourceFormat::Csv { delimiter: b',' },
        header: header.clone(),
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, r)| SheetRow {
                sheet_row: i + 2,
                cells: r
                    .cells
                    .iter()
                    .map(|c| if c.is_empty() { RawCell::Empty } else { RawCell::Text(c.as_str().into()) })
                    .collect(),
            })
            .collect(),
        warnings: Vec::new(),
    };
    let started = std::time::Instant::now();
    let mapping = map_headers(&T, &header, &BTreeMap::new());
    let index = CrmIndex::new(&crm);
    let validated = Validator::new(&T, &mapping, &index, ValidationOptions::default()).all(&sheet.rows);
    let matches = Matcher::new(&T, &index).all(&validated.rows);
    let choices: Vec<Option<GroupChoice>> = vec![None; matches.groups.len()];
    let planned = plan(&crm, &T, &validated, &matches, &choices);
    let elapsed = started.elapsed();

    // Why rows were blocked: the codes of their errors.
    let mut blocked_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut codes_of_row: HashMap<usize, Vec<String>> = HashMap::new();
    for i in validated.issues.iter().filter(|i| i.severity == Severity::Error) {
        codes_of_row.entry(i.row).or_default().push(format!(
            "{}:{}",
            i.code,
            i.column.clone().unwrap_or_default()
        ));
    }

    #[derive(Default)]
    struct Tally {
        tier_correct: usize,
        tier_correct_not_applied: usize,
        tier_wrong: usize,
        stale_matched: usize,
        top_candidate_correct: usize,
        open_without_true_top: usize,
        open_conflict: usize,
        created_correct: usize,
        stale_not_created: usize,
        blocked_known: usize,
        blocked_stale: usize,
        nothing_to_import: usize,
    }
    let mut t = Tally::default();
    for (i, truth) in rows.iter().enumerate() {
        let action = &planned.rows[i].action;
        match &matches.rows[i] {
            RowMatch::Blocked => {
                if truth.entry.is_some() {
                    t.blocked_known += 1;
                } else {
                    t.blocked_stale += 1;
                }
                let mut codes = codes_of_row.remove(&validated.rows[i].sheet_row).unwrap_or_default();
                codes.sort();
                codes.dedup();
                *blocked_by.entry(codes.join(" + ")).or_default() += 1;
            }
            RowMatch::NothingToImport => t.nothing_to_import += 1,
            RowMatch::Matched { entry, .. } => match truth.entry {
                Some(e) if e == *entry => {
                    if matches!(action, RowAction::Skip(_) | RowAction::Error) {
                        t.tier_correct_not_applied += 1;
                    } else {
                        t.tier_correct += 1;
                    }
                }
                Some(_) => t.tier_wrong += 1,
                None => t.stale_matched += 1,
            },
            RowMatch::Group(g) => {
                let group = &matches.groups[*g];
                match truth.entry {
                    Some(e) => {
                        if group.candidates.first().map(|c| c.entry) == Some(e) {
                            t.top_candidate_correct += 1;
                        } else if group.default_choice().is_none() {
                            t.open_conflict += 1;
                        } else {
                            t.open_without_true_top += 1;
                        }
                    }
                    None => {
                        if *action == RowAction::Create {
                            t.created_correct += 1;
                        } else {
                            t.stale_not_created += 1;
                        }
                    }
                }
            }
        }
    }
    let total = rows.len();
    let known = rows.iter().filter(|r| r.entry.is_some()).count();
    let correct = t.tier_correct + t.top_candidate_correct + t.created_correct;
    let pct = |n: usize| 100.0 * n as f64 / total.max(1) as f64;
    println!(
        "Third-party file: {} persons, {total} rows ({known} of known entries, {} of people not in the CRM) against {} CRM entries; seed {seed}",
        persons,
        total - known,
        crm.entries.len()
    );
    println!("Validated, matched and planned in {:.2} s", elapsed.as_secs_f64());
    println!();
    println!(
        "Rows reaching a correct decision without editing: {correct} of {total} ({:.1} %)",
        pct(correct)
    );
    println!("  matched by a tier to the true entry, applied:      {:>6}", t.tier_correct);
    println!("  open group, true entry is the top candidate:       {:>6}", t.top_candidate_correct);
    println!("  not in the CRM, a new entry is created:            {:>6}", t.created_correct);
    println!("Rows not reaching one:");
    println!("  blocked before matching (errors), known person:    {:>6}", t.blocked_known);
    println!("  blocked before matching (errors), not in the CRM:  {:>6}", t.blocked_stale);
    println!("  matched to the true entry but skipped or refused:  {:>6}", t.tier_correct_not_applied);
    println!("  matched by a tier to a wrong entry:                {:>6}", t.tier_wrong);
    println!("  not in the CRM but matched to an entry:            {:>6}", t.stale_matched);
    println!("  open group, true entry not the top candidate:      {:>6}", t.open_without_true_top);
    println!("  conflict whose top entry is not the true one:      {:>6}", t.open_conflict);
    println!("  not in the CRM, not created (skipped or error):    {:>6}", t.stale_not_created);
    println!("  nothing to import:                                 {:>6}", t.nothing_to_import);
    println!();
    println!(
        "Groups: {} ({} open)",
        matches.groups.len(),
        matches
            .rows
            .iter()
            .filter_map(|m| if let RowMatch::Group(g) = m { Some(*g) } else { None })
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    println!("Blocked rows by error (code:column):");
    let mut by: Vec<(String, usize)> = blocked_by.into_iter().collect();
    by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (codes, n) in by {
        println!("  {n:>6}  {codes}");
    }
}
