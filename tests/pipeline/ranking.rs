//! Ranking the candidates of a detected person, each with why it is suggested.

use roundtrip::core::demo::{demo_crm, DEMO_SEED};
use roundtrip::core::random::SeededRandom;

use super::*;

fn candidates_for(row: Row) -> Vec<roundtrip::core::insured::matching::Candidate> {
    let crm = crm();
    let r = run(&crm, &sheet(&[row]), &[]);
    assert_eq!(r.matches.groups.len(), 1, "{:?}", r.matches.rows);
    r.matches.groups[0].candidates.clone()
}

#[test]
fn the_true_entry_ranks_first_for_a_typod_name() {
    for (first, last) in [("Jonh", "Smiht"), ("Jhon", "Smith"), ("john", "smyth"), ("John", "Smth")] {
        let c = candidates_for(Row::person("", "", first, last, "", "").phone("Home", "+1 617 555 0111"));
        assert!(!c.is_empty(), "{first} {last}");
        assert_eq!(c[0].entry, 2, "{first} {last}: {c:?}");
        assert!(c[0].reasons.iter().any(|r| r.contains("alike")), "{:?}", c[0].reasons);
    }
}

#[test]
fn the_true_entry_ranks_first_for_swapped_first_and_last_names() {
    let c = candidates_for(Row::person("", "", "Johnson", "Mary", "", "").phone("Home", "+1 617 555 0111"));
    assert_eq!(c[0].entry, 3, "{c:?}");
    assert!(c[0].reasons.iter().any(|r| r.contains("swapped")), "{:?}", c[0].reasons);
    // The near-namesake Mary Johnston is suggested too, but below.
    let johnston = c.iter().position(|k| k.entry == 7).expect("Mary Johnston is a candidate");
    assert!(johnston > 0);
    assert!(c[0].score > c[johnston].score);
    let c = candidates_for(Row::person("", "", "Smiht", "Jonh", "", "").phone("Home", "+1 617 555 0111"));
    assert_eq!(c[0].entry, 2, "{c:?}");
}

#[test]
fn candidates_carry_why_they_are_suggested() {
    // A typo'd name on John's insured (tier 3 refuses it), with his date of birth and postcode.
    let row = Row::person("CASE-001", "INS-2", "Jonh", "Smiht", "", "")
        .dob("1975-03-02")
        .address("Home", "7 Elm St", "Boston", "02110");
    let c = candidates_for(row);
    assert_eq!(c[0].entry, 2, "{c:?}");
    let reasons = c[0].reasons.join(" | ");
    for expected in [
        "alike",
        "same date of birth 1975-03-02",
        "same postcode 02110",
        "linked to insured INS-2 on CASE-001",
    ] {
        assert!(reasons.contains(expected), "missing {expected:?} in {reasons}");
    }
    // Joan Smyth shares the date of birth but not the insured or the postcode.
    if let Some(joan) = c.iter().find(|k| k.entry == 6) {
        assert!(joan.score < c[0].score);
        assert!(joan.reasons.iter().any(|r| r.contains("date of birth")));
        assert!(!joan.reasons.iter().any(|r| r.contains("insured") || r.contains("postcode")));
    }
    assert!(c.windows(2).all(|w| w[0].score >= w[1].score), "ranked by score: {c:?}");
}

#[test]
fn an_unrelated_name_gets_no_candidates() {
    let c = candidates_for(
        Row::person("", "", "Zbigniew", "Quarrington", "", "").phone("Home", "+1 617 555 0111"),
    );
    assert!(c.is_empty(), "{c:?}");
}

/// A FEBRL-style typo: a letter inserted, dropped, replaced or two swapped, or the name cut
/// short as a nickname would be (the scorer knows no nicknames, so this is a typo to it too).
fn typo(random: &mut SeededRandom, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        return name.to_string();
    }
    let at = random.below(chars.len() - 1);
    let letter = char::from(b'a' + random.below(26) as u8);
    match random.below(5) {
        0 => chars.insert(at, letter),
        1 => {
            chars.remove(at);
        }
        2 => chars[at] = letter,
        3 => chars.swap(at, at + 1),
        _ => chars.truncate(3 + random.below(2)),
    }
    chars.into_iter().collect()
}

/// Accents added where the folding takes them off again, or the case changed.
fn accents_or_case(random: &mut SeededRandom, name: &str) -> String {
    match random.below(3) {
        0 => name.replace('e', "é").replace('a', "á").replace('o', "ô"),
        1 => name.to_uppercase(),
        _ => name.to_lowercase(),
    }
}

/// A person as a file might write an entry: names with typos, swapped, accented or from two
/// entries mixed; the date of birth kept, changed or left out; an address at one of the
/// entry's postcodes or another, or a phone; sometimes the entry's insured on its case.
fn corrupted_row(crm: &Crm, random: &mut SeededRandom, entries: &[&CrmEntry], i: usize) -> Row {
    let e = *random.pick(entries);
    let (mut first, mut last) = (e.first_name.clone(), e.last_name.clone());
    match random.below(8) {
        0 => first = typo(random, &first),
        1 => last = typo(random, &last),
        2 => (first, last) = (typo(random, &first), typo(random, &last)),
        3 => (first, last) = (last, first),
        4 => (first, last) = (typo(random, &last), first),
        5 => (first, last) = (accents_or_case(random, &first), accents_or_case(random, &last)),
        6 => last = random.pick(entries).last_name.clone(),
        _ => {}
    }
    let (mut case, mut insured) = (String::new(), String::new());
    if random.chance(15) {
        if let Some(ins) = crm.insureds.values().find(|ins| ins.entry_id == Some(e.id)) {
            case = crm.cases[&ins.case_id].reference.clone();
            insured = ins.reference.clone();
        }
    }
    let mut row = Row::person(&case, &insured, &first, &last, "", "");
    if random.chance(60) {
        let other = random.pick(entries).date_of_birth;
        if let Some(d) = if random.chance(80) { e.date_of_birth } else { other } {
            row = row.dob(&d.to_string());
        }
    }
    let postcodes: Vec<&str> = crm
        .details
        .values()
        .filter(|d| d.entry_id == e.id && d.kind == DetailKind::Address)
        .map(|d| d.fields.postcode.as_str())
        .collect();
    if random.chance(50) && !postcodes.is_empty() {
        let postcode = if random.chance(80) { *random.pick(&postcodes) } else { "02116" };
        row.address("Home", &format!("{i} Elm St"), "Boston", postcode)
    } else {
        row.phone("Home", &format!("+1 617 555 {:04}", i % 10_000))
    }
}

#[test]
fn the_indexed_ranking_equals_scoring_every_entry() {
    // 2,700 entries on the demo's name lists: many namesakes, so many ties at the bottom.
    let crm = demo_crm(DEMO_SEED, 3);
    let entries: Vec<&CrmEntry> = crm.entries.values().collect();
    let mut random = SeededRandom::new(20_240_610);
    let rows: Vec<Row> = (0..400).map(|i| corrupted_row(&crm, &mut random, &entries, i)).collect();
    let validated = validate(&crm, &sheet(&rows));
    let index = CrmIndex::new(&crm);
    let matcher = Matcher::new(&T, &index);
    let matches = matcher.all(&validated.rows);
    let (mut compared, mut full, mut linked) = (0, 0, 0);
    for person in &matches.groups {
        if person.first_name.trim().is_empty() || person.last_name.trim().is_empty() {
            continue;
        }
        let indexed = matcher.rank(person, &validated.rows);
        let exhaustive = matcher.rank_exhaustive(person, &validated.rows);
        assert_eq!(
            indexed, exhaustive,
            "{} {} ({:?})",
            person.first_name, person.last_name, person.date_of_birth
        );
        compared += 1;
        full += usize::from(indexed.len() == 5);
        linked += usize::from(indexed.iter().any(|c| c.reasons.iter().any(|r| r.contains("linked"))));
    }
    assert!(compared > 300, "{compared} persons compared");
    assert!(full > 100 && linked > 10, "{full} full rankings, {linked} with a linked insured");
}
