//! Ranking the candidates of a detected person, each with why it is suggested.

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
