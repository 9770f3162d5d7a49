//! A third-party-style insured contact details file against a demo CRM, with the truth kept:
//! which CRM entry each row belongs to (or none, for a person the CRM does not know).
//!
//! The corruption follows FEBRL's habits for synthetic record linkage data: names with typos
//! (a letter substituted, dropped, doubled or two swapped), first and last names swapped,
//! accents dropped, nicknames, names in capitals; dates of birth with day and month swapped or
//! left out; street words abbreviated, cities in capitals, phones as bare digits; a few names
//! missing while the SSN or Client Reference remains; some rows with no identifier at all;
//! stale rows (people not in the CRM); a few rows with nothing to identify anyone.
//!
//! Deterministic: the same CRM, seed and size give the same file. It uses only the public
//! API of the core that every version of it has (the template's columns by `Field`, the CRM
//! model, `SeededRandom`), so the same generator measures any version of the matcher.

use std::collections::HashSet;

use roundtrip::core::date::Date;
use roundtrip::core::index::CrmIndex;
use roundtrip::core::insured::INSURED_CONTACT_DETAILS as T;
use roundtrip::core::model::{Crm, CrmEntry, DetailKind, EntryId};
use roundtrip::core::random::SeededRandom;
use roundtrip::core::template::Field;
use roundtrip::core::text::fold;

/// How often each corruption happens, in percent.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// Persons not in the CRM.
    pub stale: u32,
    /// The Client Reference is given (when the entry has one).
    pub client_reference: u32,
    /// The SSN is given (when the entry has one).
    pub ssn: u32,
    /// Case Reference and Insured Reference are given (when the entry is insured).
    pub insured: u32,
    pub accents_dropped: u32,
    pub typo: u32,
    pub swapped: u32,
    pub nickname: u32,
    pub capitals: u32,
    /// A first or last name (or both) missing, on a person that keeps an identifier.
    pub name_missing: u32,
    /// A person with no Client Reference, SSN or insured at all.
    pub no_identifier: u32,
    /// The date of birth is given (when the entry has one).
    pub date_of_birth: u32,
    /// Of the dates given, day and month swapped (when that is another valid date).
    pub day_month_swapped: u32,
    pub street_abbreviated: u32,
    pub address_line_missing: u32,
    /// Rows with a detail and nothing else: no name, no identifier.
    pub nothing_to_identify: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            stale: 8,
            client_reference: 55,
            ssn: 50,
            insured: 25,
            accents_dropped: 20,
            typo: 12,
            swapped: 4,
            nickname: 4,
            capitals: 8,
            name_missing: 7,
            no_identifier: 15,
            date_of_birth: 70,
            day_month_swapped: 6,
            street_abbreviated: 30,
            address_line_missing: 1,
            nothing_to_identify: 1,
        }
    }
}

/// One generated row: its cells in template column order and the entry it belongs to.
#[derive(Debug, Clone)]
pub struct TruthRow {
    pub cells: Vec<String>,
    /// The CRM entry the row describes; `None` for a person the CRM does not know.
    pub entry: Option<EntryId>,
}

const NICKNAMES: &[(&str, &str)] = &[
    ("William", "Bill"),
    ("Robert", "Bob"),
    ("Richard", "Rick"),
    ("James", "Jim"),
    ("Michael", "Mike"),
    ("Elizabeth", "Liz"),
    ("Patricia", "Pat"),
    ("Jennifer", "Jen"),
    ("Thomas", "Tom"),
    ("Daniel", "Dan"),
    ("Joseph", "Joe"),
    ("Christopher", "Chris"),
    ("Margaret", "Peggy"),
    ("Katherine", "Kate"),
    ("Susan", "Sue"),
    ("Jessica", "Jess"),
    ("Matthew", "Matt"),
    ("Anthony", "Tony"),
    ("Barbara", "Barb"),
    ("Charles", "Charlie"),
    ("Francisco", "Paco"),
    ("José", "Pepe"),
    ("Alexander", "Alex"),
    ("Samuel", "Sam"),
    ("Benjamin", "Ben"),
    ("Nicholas", "Nick"),
    ("Rebecca", "Becky"),
    ("Victoria", "Vicky"),
];

const ABBREVIATIONS: &[(&str, &str)] = &[
    ("Street", "St"),
    ("Avenue", "Ave"),
    ("Road", "Rd"),
    ("Lane", "Ln"),
    ("Drive", "Dr"),
    ("Place", "Pl"),
    ("Boulevard", "Blvd"),
    ("Rua", "R."),
];

/// Accents dropped, case kept where the letter had one (`José` → `Jose`).
fn unaccent(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            let folded = fold(word);
            let mut out = String::new();
            for (i, c) in folded.chars().enumerate() {
                let upper = word.chars().nth(i).map(char::is_uppercase).unwrap_or(false);
                if upper {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One typing mistake: a letter substituted, dropped, doubled, or two neighbours swapped.
fn typo(random: &mut SeededRandom, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        return name.to_string();
    }
    // Never the first letter: typists rarely get it wrong, and FEBRL keeps it too.
    let at = 1 + random.below(chars.len() - 1);
    match random.below(4) {
        0 => chars[at] = *random.pick(&['a', 'e', 'i', 'o', 'n', 'r', 's', 't']),
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, chars[at]),
        _ if at + 1 < chars.len() => chars.swap(at, at + 1),
        _ => chars.swap(at - 1, at),
    }
    chars.into_iter().collect()
}

fn nickname(first: &str) -> Option<&'static str> {
    NICKNAMES.iter().find(|(full, _)| *full == first).map(|(_, nick)| *nick)
}

fn abbreviate(line: &str) -> String {
    let mut out = line.to_string();
    for (long, short) in ABBREVIATIONS {
        if out.contains(long) {
            out = out.replacen(long, short, 1);
            break;
        }
    }
    out
}

fn swapped_day_month(d: Date) -> Option<Date> {
    (d.day != d.month).then(|| Date::new(d.year, d.day, d.month)).flatten()
}

/// A valid SSN that no entry of the CRM carries.
fn new_ssn(random: &mut SeededRandom, taken: &mut HashSet<String>) -> String {
    loop {
        let area = 1 + random.below(899);
        let group = 1 + random.below(99);
        let serial = 1 + random.below(9999);
        if area == 666 {
            continue;
        }
        let ssn = format!("{area:03}-{group:02}-{serial:04}");
        if taken.insert(ssn.clone()) {
            return ssn;
        }
    }
}

/// `persons` persons' rows (1–3 each, about 1.3 on average), drawn from the CRM's entries
/// (and `rates.stale` percent made up), in a shuffled order.
pub fn third_party_rows(crm: &Crm, seed: u64, persons: usize, rates: Rates) -> Vec<TruthRow> {
    let index = CrmIndex::new(crm);
    let mut random = SeededRandom::new(seed);
    let entries: Vec<&CrmEntry> = crm.entries.values().collect();
    let mut taken_ssns: HashSet<String> =
        entries.iter().filter_map(|e| e.ssn.map(|s| s.expose_full().to_string())).collect();
    let known = persons.min(entries.len());
    let picked = random.sample_indices(entries.len(), known);
    let mut order: Vec<usize> = picked;
    // Shuffle the persons so the file is not in CRM order.
    for i in (1..order.len()).rev() {
        order.swap(i, random.below(i + 1));
    }
    let col = |f: Field| T.col(f).expect("an insured contact details column");
    let width = T.columns.len();
    let mut out: Vec<TruthRow> = Vec::new();
    let mut stale_number = 0u32;
    for &k in &order {
        let stale = random.chance(rates.stale);
        // A stale person: a name made from two other entries' names, new identifiers.
        let (entry, first, last, cref, ssn, dob) = if stale {
            stale_number += 1;
            let a = entries[random.below(entries.len())];
            let b = entries[random.below(entries.len())];
            let cref = random.chance(40).then(|| format!("CR-9{stale_number:07}"));
            let ssn = random.chance(40).then(|| new_ssn(&mut random, &mut taken_ssns));
            let dob = Date::new(
                1940 + random.below(65) as i32,
                1 + random.below(12) as u8,
                1 + random.below(28) as u8,
            );
            (None, a.first_name.clone(), b.last_name.clone(), cref, ssn, dob)
        } else {
            let e = entries[k];
            (
                Some(e),
                e.first_name.clone(),
                e.last_name.clone(),
                e.client_reference.clone(),
                e.ssn.map(|s| s.expose_full().to_string()),
                e.date_of_birth,
            )
        };
        let no_identifier = random.chance(rates.no_identifier);
        let mut cref = cref.filter(|_| !no_identifier && (stale || random.chance(rates.client_reference)));
        let mut ssn = ssn.filter(|_| !no_identifier && (stale || random.chance(rates.ssn)));
        let insured = entry
            .filter(|_| !no_identifier && random.chance(rates.insured))
            .and_then(|e| index.insureds_of_entry(e.id).first().copied())
            .map(|i| (crm.cases[&i.case_id].reference.clone(), i.reference.clone()));

        // Names.
        let (mut first, mut last) = (first, last);
        if random.chance(rates.accents_dropped) {
            first = unaccent(&first);
            last = unaccent(&last);
        }
        if random.chance(rates.nickname) {
            if let Some(n) = nickname(&first) {
                first = n.to_string();
            }
        }
        if random.chance(rates.typo) {
            if random.chance(50) {
                first = typo(&mut random, &first);
            } else {
                last = typo(&mut random, &last);
            }
        }
        if random.chance(rates.swapped) {
            std::mem::swap(&mut first, &mut last);
        }
        if random.chance(rates.capitals) {
            first = first.to_uppercase();
            last = last.to_uppercase();
        }
        if random.chance(rates.name_missing) {
            // The SSN or Client Reference remains: whatever the entry has is given.
            if let Some(e) = entry {
                if cref.is_none() && ssn.is_none() {
                    cref = e.client_reference.clone();
                    ssn = if cref.is_none() { e.ssn.map(|s| s.expose_full().to_string()) } else { None };
                }
            }
            match random.below(5) {
                0 => {
                    first.clear();
                    last.clear();
                }
                1 | 2 => first.clear(),
                _ => last.clear(),
            }
        }
        let dob = dob.filter(|_| random.chance(rates.date_of_birth)).map(|d| {
            if random.chance(rates.day_month_swapped) {
                swapped_day_month(d).unwrap_or(d)
            } else {
                d
            }
        });

        // The details: the entry's own (as the third party knows them), or made-up ones.
        let mut details: Vec<(DetailKind, [String; 8])> = Vec::new();
        let own = entry.map(|e| index.details_of(e.id)).unwrap_or_default();
        let n = match random.below(10) {
            0..=6 => 1,
            7 | 8 => 2,
            _ => 3,
        };
        for d in 0..n {
            let source =
                if own.is_empty() { None } else { Some(own[(d + random.below(own.len())) % own.len()]) };
            let (kind, f) = match source {
                Some(detail) => (detail.kind, detail.fields.clone()),
                None => {
                    let mut f = roundtrip::core::model::DetailFields::default();
                    let kind = if random.chance(60) { DetailKind::Phone } else { DetailKind::Email };
                    f.label = "Home".into();
                    f.phone = format!("+1 617 555 {:04}", random.below(10_000));
                    f.email = format!("person{}@example.net", random.below(1_000_000));
                    (kind, f)
                }
            };
            let mut line1 = f.address_line1.clone();
            let mut city = f.city.clone();
            let mut phone = f.phone.clone();
            if kind == DetailKind::Address {
                if random.chance(rates.street_abbreviated) {
                    line1 = abbreviate(&line1);
                }
                if random.chance(10) {
                    city = city.to_uppercase();
                }
                if random.chance(rates.address_line_missing) {
                    line1.clear();
                }
            }
            if kind == DetailKind::Phone && random.chance(30) {
                phone = phone.chars().filter(char::is_ascii_digit).collect();
            }
            let label = if random.chance(50) { f.label.clone() } else { String::new() };
            let value = [
                label,
                line1,
                f.address_line2.clone(),
                city,
                f.postcode.clone(),
                f.country.clone(),
                phone,
                f.email.to_lowercase(),
            ];
            if !details.iter().any(|(k, v)| *k == kind && *v == value) {
                details.push((kind, value));
            }
        }

        for (kind, v) in details {
            let mut cells = vec![String::new(); width];
            let nothing = random.chance(rates.nothing_to_identify);
            if !nothing {
                cells[col(Field::FirstName)] = first.clone();
                cells[col(Field::LastName)] = last.clone();
                cells[col(Field::ClientReference)] = cref.clone().unwrap_or_default();
                cells[col(Field::Ssn)] = ssn.clone().unwrap_or_default();
                cells[col(Field::DateOfBirth)] = dob.map(|d| d.to_string()).unwrap_or_default();
                if let Some((case, ins)) = &insured {
                    cells[col(Field::CaseReference)] = case.clone();
                    cells[col(Field::InsuredReference)] = ins.clone();
                }
            }
            cells[col(Field::DetailType)] = kind.label().to_string();
            cells[col(Field::Label)] = v[0].clone();
            match kind {
                DetailKind::Address => {
                    cells[col(Field::AddressLine1)] = v[1].clone();
                    cells[col(Field::AddressLine2)] = v[2].clone();
                    cells[col(Field::City)] = v[3].clone();
                    cells[col(Field::Postcode)] = v[4].clone();
                    cells[col(Field::Country)] = v[5].clone();
                }
                DetailKind::Phone => cells[col(Field::Phone)] = v[6].clone(),
                DetailKind::Email => cells[col(Field::Email)] = v[7].clone(),
            }
            out.push(TruthRow { cells, entry: entry.map(|e| e.id) });
        }
    }
    out
}
