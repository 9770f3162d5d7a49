//! The reader's fuzzing tier (issue 11): valid XLSX workbooks, CSV texts and CRM snapshots
//! are mutated — structurally (zip header fields, parts swapped, declared counts, dimensions,
//! spans and cell positions made huge, XML and CSV snippets inserted) and byte by byte
//! (truncation, bit flips, stray bytes) — and fed to `read_sheet` and `read_snapshot`. Every
//! case must return `Ok` or a refusal naming the file, within 2 s, and the whole tier runs
//! under an address-space limit (`common::limit_address_space`, 3 GiB) so that a reader
//! allocating what a file declares aborts the test binary instead of exhausting the machine.
//! A second property writes random sheets with rust_xlsxwriter and checks that the reader
//! gives back exactly what was written.
//!
//! `ROUNDTRIP_FUZZ_CASES=100000 cargo test --release --test read_fuzz` runs more cases (the
//! default, a few thousand, takes about a minute in a debug build); `ROUNDTRIP_FUZZ_SEED=n`
//! explores other cases than the default, fixed, seed. A failing case prints its mutations.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use roundtrip::core::demo::{demo_crm, DEMO_SEED};
use roundtrip::core::model::Crm;
use roundtrip::core::read::read_sheet;
use roundtrip::core::sheet::{RawCell, SourceFormat};
use roundtrip::core::snapshot::{read_snapshot, write_snapshot};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// The time one case may take.
const CASE_BUDGET: Duration = Duration::from_secs(2);

/// How many cases, from `ROUNDTRIP_FUZZ_CASES` or the default.
fn cases(default: u32) -> u32 {
    std::env::var("ROUNDTRIP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A runner with a fixed seed (or `ROUNDTRIP_FUZZ_SEED`), so that a default run is the same
/// every time and a failure can be replayed.
fn runner(cases: u32) -> TestRunner {
    let seed: u64 =
        std::env::var("ROUNDTRIP_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(20_240_917);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 200, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// A file to mutate, and which reader takes it.
struct Base {
    name: &'static str,
    bytes: Vec<u8>,
}

/// A CRM small enough to read in a few milliseconds, with every kind of record: the demo at
/// scale 1 cut down to records that only refer to each other.
fn small_crm() -> Crm {
    let mut crm = demo_crm(DEMO_SEED, 1);
    crm.entries.retain(|id, _| *id <= 6);
    crm.details.retain(|_, d| d.entry_id <= 6);
    crm.cases.retain(|id, _| *id <= 4);
    crm.insureds.retain(|_, i| i.case_id <= 4);
    for insured in crm.insureds.values_mut() {
        insured.entry_id = insured.entry_id.filter(|e| *e <= 6);
    }
    for portfolio in crm.portfolios.values_mut() {
        portfolio.case_ids.retain(|c| *c <= 4);
    }
    let accounts: Vec<String> = crm.accounts.keys().take(3).cloned().collect();
    crm.accounts.retain(|number, _| accounts.contains(number));
    crm.account_contacts.retain(|_, c| accounts.contains(&c.account_number));
    let users: Vec<String> = crm.school_users.keys().take(3).cloned().collect();
    crm.school_users.retain(|id, _| users.contains(id));
    let devices: Vec<String> = crm.devices.keys().take(3).cloned().collect();
    crm.devices.retain(|serial, _| devices.contains(serial));
    crm
}

/// The workbooks and texts every mutation starts from.
fn bases() -> &'static [Base] {
    static BASES: OnceLock<Vec<Base>> = OnceLock::new();
    BASES.get_or_init(|| {
        let mut wb = Workbook::new();
        let sheet = wb.add_worksheet();
        sheet.set_name("Contacts").expect("a name");
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for (col, header) in ["Public ID", "Name", "Amount", "Born", "Primary", "Note"].iter().enumerate() {
            sheet.write_string(0, col as u16, *header).expect("a header");
        }
        for row in 1..25u32 {
            sheet.write_string(row, 0, format!("CD-{row:08}")).expect("text");
            sheet.write_string(row, 1, ["Zoë", " padded ", "a\r\nb", "_x0041_", "<&>"][row as usize % 5]).expect("text");
            sheet.write_number(row, 2, f64::from(row) * 1.25).expect("a number");
            let born = ExcelDateTime::from_ymd(1950 + row as u16, 1 + (row % 12) as u8, 1).expect("a date");
            sheet.write_datetime_with_format(row, 3, &born, &date).expect("a date");
            sheet.write_boolean(row, 4, row % 2 == 0).expect("a flag");
            if row % 3 == 0 {
                sheet.write_formula(row, 5, "=C2*2").expect("a formula");
            }
        }
        wb.add_worksheet().set_name("Second").expect("a name").write_string(0, 0, "x").expect("text");
        let export = wb.save_to_buffer().expect("a workbook");

        let by_hand = workbook(
            &sheet_xml(
                "A1:E4",
                r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><r><t xml:space="preserve"> In</t></r><r><t>line</t></r></is></c><c r="C1" t="str"><f>1+1</f><v>x_x000D_y</v></c></row><row r="2" spans="1:5"><c r="A2" t="e"><v>#N/A</v></c><c r="B2" t="b"><v>1</v></c><c r="C2"><v>1.5E3</v></c><c t="d"><v>2024-01-02</v></c><c r="E2" s="0"><v> 7 </v></c></row><row><c r="A3" t="s"><v>1</v></c></row><!-- note --><row r="4"><c r="A4"><v><![CDATA[12]]></v></c></row>"#,
            ),
            &shared_strings_xml("2", &["Name &amp; ID", "multi&#10;line"]),
        );
        vec![
            Base { name: "export.xlsx", bytes: export },
            Base { name: "hand.xlsx", bytes: by_hand },
            Base { name: "snapshot.xlsx", bytes: write_snapshot(&small_crm()).expect("a snapshot") },
            Base { name: "comma.csv", bytes: b"ID,Name,Note\n001,Ann,\"a, b\"\n002,Bob,\"line\nbreak\"\n\n003,\"Cy \"\"Q\"\"\",x\n".to_vec() },
            Base { name: "semicolon.csv", bytes: "\u{FEFF}ID;Name\r\n1;Zoë\r\n2;\"x;y\"\r\n".as_bytes().to_vec() },
            Base {
                name: "utf16.csv",
                bytes: [0xFF, 0xFE].into_iter().chain("ID\tName\n1\tAnn\n".encode_utf16().flat_map(u16::to_le_bytes)).collect(),
            },
            Base { name: "latin1.csv", bytes: b"Name,City\nJos\xE9,S\xE3o Paulo\n".to_vec() },
        ]
    })
}

/// Numbers that break readers that trust them.
const HUGE: [&str; 8] =
    ["4000000000", "18446744073709551615", "99999999999999999999999", "-1", "0", "1e9", "", "x"];
/// Cell references past, at and before Excel's grid, and not references at all.
const REFS: [&str; 7] = ["XFD1048576", "XFE1", "A1048577", "A0", "ZZZZZZZZ99999999999", "1A", ""];
/// Snippets that break XML and CSV readers.
const SNIPPETS: [&str; 14] = [
    "<",
    "&",
    "&#0;",
    "&#x110000;",
    "<!--",
    "]]>",
    "<![CDATA[",
    "<!DOCTYPE x [<!ENTITY e \"e\">]>",
    "\"",
    "\0",
    "\r",
    "\n\n\n",
    "\u{FEFF}",
    "<c r=\"A1\"><v>1</v></c>",
];

/// A change made to a valid file while it is still valid zip (the parts are rewritten).
#[derive(Debug, Clone)]
enum Structural {
    None,
    /// Two parts exchange their contents.
    SwapParts(u8, u8),
    /// `attribute="…"` (its first occurrence in a part that has one) set to a hostile value.
    Attribute {
        part: u8,
        attribute: &'static str,
        value: &'static str,
    },
    /// A snippet inserted into a part (or a CSV text) at a fraction of its length.
    Insert {
        part: u8,
        permille: u16,
        snippet: &'static str,
    },
}

/// A change made to the bytes themselves.
#[derive(Debug, Clone)]
enum Bytes {
    Truncate {
        permille: u16,
    },
    FlipBit {
        at: u32,
        bit: u8,
    },
    SetByte {
        at: u32,
        value: u8,
    },
    /// A 32-bit field of a zip record (which record, which offset in it) set to a value.
    ZipField {
        local: bool,
        record: u8,
        field: u8,
        value: u32,
    },
}

fn structural() -> impl Strategy<Value = Structural> {
    let attributes = prop_oneof![
        Just("uniqueCount"),
        Just("count"),
        Just("<dimension ref"),
        Just("spans"),
        Just(" r"),
        Just(" s"),
        Just(" t"),
        Just("numFmtId"),
        Just("Target"),
        Just("date1904"),
    ];
    let values = prop_oneof![
        prop::sample::select(&HUGE[..]),
        prop::sample::select(&REFS[..]),
        Just("A1:XFD1048576"),
        Just("1:16384")
    ];
    prop_oneof![
        2 => Just(Structural::None),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Structural::SwapParts(a, b)),
        4 => (any::<u8>(), attributes, values).prop_map(|(part, attribute, value)| Structural::Attribute { part, attribute, value }),
        3 => (any::<u8>(), 0..1000u16, prop::sample::select(&SNIPPETS[..])).prop_map(|(part, permille, snippet)| Structural::Insert { part, permille, snippet }),
    ]
}

fn bytes_mutation() -> impl Strategy<Value = Bytes> {
    // Offsets of the 32-bit fields of a local header (CRC, sizes) and of a central record
    // (CRC, sizes, local header offset); 8 and 10 hold the flags and the method.
    let fields = prop::sample::select(vec![8u8, 10, 14, 16, 18, 20, 22, 24, 26, 28, 42]);
    let values = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0xFFFF_FFFF),
        Just(0x7FFF_FFFF),
        Just(12),
        Just(99),
        any::<u32>()
    ];
    prop_oneof![
        1 => (0..1000u16).prop_map(|permille| Bytes::Truncate { permille }),
        3 => (any::<u32>(), 0..8u8).prop_map(|(at, bit)| Bytes::FlipBit { at, bit }),
        2 => (any::<u32>(), any::<u8>()).prop_map(|(at, value)| Bytes::SetByte { at, value }),
        3 => (any::<bool>(), any::<u8>(), fields, values).prop_map(|(local, record, field, value)| Bytes::ZipField { local, record, field, value }),
    ]
}

/// The parts of a zip, in order, or `None` for a CSV text.
fn parts_of(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).ok()?;
            let mut content = Vec::new();
            entry.read_to_end(&mut content).ok()?;
            Some((entry.name().ok()?.to_string(), content))
        })
        .collect()
}

fn rezip(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in parts {
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).expect("a part");
        out.write_all(content).expect("written");
    }
    out.finish().expect("a zip").into_inner()
}

fn insert(text: &mut Vec<u8>, permille: u16, snippet: &str) {
    let at = text.len() * usize::from(permille) / 1000;
    text.splice(at..at, snippet.bytes());
}

fn set_attribute(text: &mut Vec<u8>, attribute: &str, value: &str) {
    let key = format!("{attribute}=\"");
    let Some(start) = text.windows(key.len()).position(|w| w == key.as_bytes()).map(|i| i + key.len()) else {
        return;
    };
    let Some(len) = text[start..].iter().position(|b| *b == b'"') else { return };
    text.splice(start..start + len, value.bytes());
}

/// The base after its structural change.
fn restructure(base: &[u8], change: &Structural) -> Vec<u8> {
    let Some(mut parts) = parts_of(base) else {
        let mut text = base.to_vec();
        if let Structural::Insert { permille, snippet, .. } = change {
            insert(&mut text, *permille, snippet);
        }
        return text;
    };
    let count = parts.len();
    let pick = |i: u8| usize::from(i) % count;
    match change {
        Structural::None => return base.to_vec(),
        Structural::SwapParts(a, b) => {
            let (a, b) = (pick(*a), pick(*b));
            let content = std::mem::take(&mut parts[a].1);
            parts[a].1 = std::mem::replace(&mut parts[b].1, content);
        }
        Structural::Attribute { part, attribute, value } => {
            // The part is picked among those that hold the attribute.
            let key = format!("{attribute}=\"");
            let holding: Vec<usize> =
                (0..count).filter(|&i| parts[i].1.windows(key.len()).any(|w| w == key.as_bytes())).collect();
            if let Some(&i) = holding.get(usize::from(*part) % holding.len().max(1)) {
                set_attribute(&mut parts[i].1, attribute, value);
            }
        }
        Structural::Insert { part, permille, snippet } => {
            insert(&mut parts[pick(*part)].1, *permille, snippet)
        }
    }
    rezip(&parts)
}

fn mutate(bytes: &mut Vec<u8>, change: &Bytes) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *change {
        Bytes::Truncate { permille } => bytes.truncate(len * usize::from(permille) / 1000),
        Bytes::FlipBit { at, bit } => bytes[at as usize % len] ^= 1 << bit,
        Bytes::SetByte { at, value } => bytes[at as usize % len] = value,
        Bytes::ZipField { local, record, field, value } => {
            let found = records(bytes, if local { LOCAL } else { CENTRAL });
            if let Some(&at) = found.get(usize::from(record) % found.len().max(1)) {
                let at = at + usize::from(field);
                if at + 4 <= len {
                    put_u32(bytes, at, value);
                }
            }
        }
    }
}

/// How the cases ended: read, or refused (by the refusal's kind), for the summary printed
/// at the end (`--nocapture` shows it).
static OUTCOMES: std::sync::Mutex<std::collections::BTreeMap<String, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn count(outcome: String) {
    if let Ok(mut outcomes) = OUTCOMES.lock() {
        *outcomes.entry(outcome).or_default() += 1;
    }
}

/// Reads one mutated file with the reader its base calls for; the case fails on a panic, on
/// a refusal that does not name the file, or past the time budget.
fn check(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let snapshot = name.starts_with("snapshot");
    let kind = |debug: String| debug.split([' ', '{', '(']).next().unwrap_or_default().to_string();
    let (refusal, took) = timed(|| {
        if snapshot {
            read_snapshot(name, bytes)
                .err()
                .map(|e| (e.to_string(), format!("Snapshot \"{name}\""), kind(format!("{e:?}"))))
        } else {
            read_sheet(name, bytes).err().map(|e| (e.to_string(), name.to_string(), kind(format!("{e:?}"))))
        }
    });
    prop_assert!(took < CASE_BUDGET, "{name}: {took:?}");
    let reader = if snapshot { "read_snapshot" } else { "read_sheet" };
    count(match &refusal {
        None => format!("{reader}: read"),
        Some((_, _, kind)) => format!("{reader}: refused, {kind}"),
    });
    if let Some((message, prefix, _)) = refusal {
        prop_assert!(message.starts_with(&prefix), "the message does not name the file: {message}");
    }
    Ok(())
}

#[test]
fn mutated_workbooks_texts_and_snapshots_are_read_or_refused_in_time_and_memory() {
    limit_address_space();
    let strategy = (0..bases().len(), structural(), prop::collection::vec(bytes_mutation(), 0..4));
    let mut runner = runner(cases(5000));
    let outcome = runner.run(&strategy, |(base, change, mutations)| {
        let base = &bases()[base];
        let mut bytes = restructure(&base.bytes, &change);
        for mutation in &mutations {
            mutate(&mut bytes, mutation);
        }
        check(base.name, &bytes)
    });
    if let Ok(outcomes) = OUTCOMES.lock() {
        for (outcome, n) in outcomes.iter() {
            eprintln!("{n:>8}  {outcome}");
        }
    }
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn the_unmutated_bases_are_read() {
    limit_address_space();
    for base in bases() {
        if base.name.starts_with("snapshot") {
            assert_eq!(read_snapshot(base.name, &base.bytes).expect("read"), small_crm());
        } else {
            let sheet = read_sheet(base.name, &base.bytes).unwrap_or_else(|e| panic!("{e}"));
            assert!(!sheet.rows.is_empty(), "{}", base.name);
        }
    }
}

/// A cell written by rust_xlsxwriter, and what the reader must give back for it.
#[derive(Debug, Clone)]
enum Written {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    Date(u16, u8, u8),
}

fn written() -> impl Strategy<Value = Written> {
    let text = prop::collection::vec(
        prop::sample::select(vec![
            "a", "Z", "é", "😀", " ", "\t", "\r\n", "\n", "_x000D_", "_", "<", "&", "\"", "'", "0", "=", "+",
            "\u{1}",
        ]),
        1..8,
    )
    .prop_map(|pieces| pieces.concat());
    prop_oneof![
        1 => Just(Written::Empty),
        4 => text.prop_map(Written::Text),
        2 => prop_oneof![any::<i32>().prop_map(f64::from), (-1e12..1e12f64), Just(0.1), Just(1e-300), Just(123_456_789_012_345.0)].prop_map(Written::Number),
        1 => any::<bool>().prop_map(Written::Bool),
        1 => (1901..9999u16, 1..=12u8, 1..=28u8).prop_map(|(y, m, d)| Written::Date(y, m, d)),
    ]
}

#[test]
fn random_sheets_written_by_rust_xlsxwriter_read_back_exactly() {
    limit_address_space();
    let strategy = prop::collection::vec(prop::collection::vec(written(), 1..7), 1..20);
    let mut runner = runner(cases(200).min(2000));
    let outcome = runner.run(&strategy, |rows| {
        let mut wb = Workbook::new();
        let sheet = wb.add_worksheet();
        let date = Format::new().set_num_format("dd/mm/yyyy");
        sheet.write_string(0, 0, "ID").expect("a header");
        let mut expected = Vec::new();
        for (r, cells) in rows.iter().enumerate() {
            let row = r as u32 + 1;
            // Column A holds a row ID, so that no row is blank.
            sheet.write_string(row, 0, format!("R{row}")).expect("an ID");
            let mut values = vec![RawCell::Text(format!("R{row}").into())];
            for (c, cell) in cells.iter().enumerate() {
                let col = c as u16 + 1;
                values.push(match cell {
                    Written::Empty => RawCell::Empty,
                    Written::Text(t) => {
                        sheet.write_string(row, col, t).expect("text");
                        RawCell::Text(t.as_str().into())
                    }
                    Written::Number(n) => {
                        sheet.write_number(row, col, *n).expect("a number");
                        RawCell::Number(*n)
                    }
                    Written::Bool(b) => {
                        sheet.write_boolean(row, col, *b).expect("a flag");
                        RawCell::Bool(*b)
                    }
                    Written::Date(y, m, d) => {
                        let when = ExcelDateTime::from_ymd(*y, *m, *d).expect("a date");
                        sheet.write_datetime_with_format(row, col, &when, &date).expect("a date");
                        RawCell::DateSerial(when.to_excel())
                    }
                });
            }
            while values.last() == Some(&RawCell::Empty) {
                values.pop();
            }
            expected.push((row as usize + 1, values));
        }
        let bytes = wb.save_to_buffer().expect("a workbook");
        let sheet = read_sheet("random.xlsx", &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(sheet.format, SourceFormat::Xlsx);
        prop_assert_eq!(sheet.header, vec!["ID".to_string()]);
        let got: Vec<(usize, Vec<RawCell>)> =
            sheet.rows.into_iter().map(|r| (r.sheet_row, r.cells)).collect();
        prop_assert_eq!(got, expected);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
