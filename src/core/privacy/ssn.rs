//! The SSN as a type. [`Ssn`] holds one SSN in its canonical form (`123-45-6789`), and
//! everything that turns it into text masks it: `Display` and `Debug` print `XXX-XX-6789`,
//! [`Ssn::masked`] makes the [`MaskedSsn`] views carry. The full value comes out through one
//! door only, [`Ssn::expose_full`], which the files the operator asks for (the Insured CRM
//! Export, the snapshot), the store's persistence ([`stored`]), the keyed digest
//! ([`super::keyed`]) and the Reveal of one entry use — nothing else.
//!
//! `Ssn` implements neither `Serialize` nor `Deserialize`: a record that must keep the full
//! value (a CRM entry) names [`stored`] for its field, so a view or message type cannot carry
//! one by accident — it does not compile.
//!
//! Cell text that is not (yet) an `Ssn` — a file's SSN cell, valid or not — is shown through
//! [`mask_text`] or described by [`describe_cell`], never quoted.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One SSN: nine digits, kept as `AAA-GG-SSSS`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssn([u8; 11]);

/// Why nine digits are not an SSN that can be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsnProblem {
    /// Area 000 is never issued.
    Area000,
    /// Area 666 is never issued.
    Area666,
    /// Areas 900–999 are never issued.
    Area9xx,
    /// Group 00 is never issued.
    Group00,
    /// Serial 0000 is never issued.
    Serial0000,
}

impl SsnProblem {
    /// What is wrong, in words that quote no digit of the SSN but the rule's own.
    pub fn text(self) -> &'static str {
        match self {
            SsnProblem::Area000 => "area 000 is never issued",
            SsnProblem::Area666 => "area 666 is never issued",
            SsnProblem::Area9xx => "areas 900–999 are never issued",
            SsnProblem::Group00 => "group 00 is never issued",
            SsnProblem::Serial0000 => "serial 0000 is never issued",
        }
    }
}

/// The digits of `text` when it is written as nine digits, with or without the usual dashes
/// or spaces.
fn nine_digits(text: &str) -> Option<[u8; 9]> {
    let t = text.trim();
    if !t.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ') {
        return None;
    }
    let mut out = [0u8; 9];
    let mut n = 0;
    for b in t.bytes().filter(u8::is_ascii_digit) {
        if n == 9 {
            return None;
        }
        out[n] = b;
        n += 1;
    }
    (n == 9).then_some(out)
}

impl Ssn {
    /// An SSN written as nine digits, with or without dashes or spaces (`123-45-6789`,
    /// `123456789`, `123 45 6789`); `None` for anything else. Whether the SSN can be issued
    /// is [`Ssn::problem`]'s question.
    pub fn parse(text: &str) -> Option<Ssn> {
        let d = nine_digits(text)?;
        Some(Ssn([d[0], d[1], d[2], b'-', d[3], d[4], b'-', d[5], d[6], d[7], d[8]]))
    }

    /// The full SSN, `123-45-6789`. The one way to the full value: only the files the
    /// operator asks for (exports, snapshots, the error report with full SSNs), the store's
    /// persistence, the keyed digest and the Reveal of one entry call it.
    pub fn expose_full(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The SSN as it is shown everywhere: `XXX-XX-6789`.
    pub fn masked(&self) -> MaskedSsn {
        MaskedSsn(format!("XXX-XX-{}", self.last_four()))
    }

    /// The last four digits (what the masked form shows).
    pub fn last_four(&self) -> &str {
        std::str::from_utf8(&self.0[7..]).unwrap_or_default()
    }

    /// True when `digits` are this SSN's nine digits (a search by the whole SSN).
    pub fn has_digits(&self, digits: &str) -> bool {
        digits.len() == 9 && self.0.iter().copied().filter(u8::is_ascii_digit).eq(digits.bytes())
    }

    /// Why this SSN cannot have been issued, if so: area 000, 666 or 900–999, group 00,
    /// serial 0000.
    pub fn problem(&self) -> Option<SsnProblem> {
        let s = &self.0;
        match (&s[0..3], &s[4..6], &s[7..11]) {
            (b"000", _, _) => Some(SsnProblem::Area000),
            (b"666", _, _) => Some(SsnProblem::Area666),
            ([b'9', _, _], _, _) => Some(SsnProblem::Area9xx),
            (_, b"00", _) => Some(SsnProblem::Group00),
            (_, _, b"0000") => Some(SsnProblem::Serial0000),
            _ => None,
        }
    }
}

impl fmt::Display for Ssn {
    /// Masked: `XXX-XX-6789`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XXX-XX-{}", self.last_four())
    }
}

impl fmt::Debug for Ssn {
    /// Masked: `Ssn(XXX-XX-6789)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ssn(XXX-XX-{})", self.last_four())
    }
}

/// An SSN as views, messages and reports carry it: `XXX-XX-6789`. Made only by
/// [`Ssn::masked`] (or [`mask_text`] for a cell); serializes as that text and reads back only
/// in that shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MaskedSsn(String);

impl MaskedSsn {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for MaskedSsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MaskedSsn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Read back only in its masked shape (`XXX-XX-` and four digits, or `XXX-XX-XXXX`), so no
/// full SSN can pass for a masked one.
impl<'de> Deserialize<'de> for MaskedSsn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MaskedSsn, D::Error> {
        let text = String::deserialize(deserializer)?;
        let masked_shape = text.strip_prefix("XXX-XX-").is_some_and(|tail| {
            tail == "XXXX" || (tail.len() == 4 && tail.bytes().all(|b| b.is_ascii_digit()))
        });
        if masked_shape {
            Ok(MaskedSsn(text))
        } else {
            Err(serde::de::Error::custom("a masked SSN is XXX-XX- and four digits"))
        }
    }
}

/// The masked form of a cell that should hold an SSN, whatever it holds: `XXX-XX-` and its
/// last four digits, or `XXX-XX-XXXX` when it has fewer than four.
pub fn mask_text(text: &str) -> MaskedSsn {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_digit).collect();
    if digits.len() >= 4 {
        MaskedSsn(format!("XXX-XX-{}", String::from_utf8_lossy(&digits[digits.len() - 4..])))
    } else {
        MaskedSsn("XXX-XX-XXXX".to_string())
    }
}

/// What a message may say of an SSN cell's content without quoting it: the masked SSN for
/// nine digits, else how many digits it holds (and whether anything else), else its length.
pub fn describe_cell(text: &str) -> String {
    let t = text.trim();
    if let Some(ssn) = Ssn::parse(t) {
        return ssn.to_string();
    }
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    let other = t.chars().any(|c| !(c.is_ascii_digit() || c == '-' || c == ' '));
    match (digits, other) {
        (0, _) => format!("text of {} characters", t.chars().count()),
        (1, false) => "1 digit".to_string(),
        (n, false) => format!("{n} digits"),
        (1, true) => "1 digit among other characters".to_string(),
        (n, true) => format!("{n} digits among other characters"),
    }
}

/// Masks every run of text shaped like an SSN (nine digits alone, or `AAA-GG-SSSS` /
/// `AAA GG SSSS`, not part of a longer run of digits) as `XXX-XX-6789`. For text a message
/// or a view shows but that may hold an SSN where none was expected: a header row that is
/// really a data row, a cell quoted in an issue, a snapshot cell quoted in a refusal.
pub fn mask_ssn_like(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let starts_run = b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit());
        if let Some(len) = starts_run.then(|| ssn_shape_at(b, i)).flatten() {
            out.push_str(&text[copied..i]);
            out.push_str("XXX-XX-");
            out.push_str(&text[i + len - 4..i + len]);
            i += len;
            copied = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The length of an SSN-shaped run starting at `i`, when one does and no digit follows it.
fn ssn_shape_at(b: &[u8], i: usize) -> Option<usize> {
    let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    if (i..i + 9).all(digit) && !digit(i + 9) {
        return Some(9);
    }
    let sep = *b.get(i + 3)?;
    let grouped = (sep == b'-' || sep == b' ')
        && (i..i + 3).all(digit)
        && (i + 4..i + 6).all(digit)
        && b.get(i + 6) == Some(&sep)
        && (i + 7..i + 11).all(digit)
        && !digit(i + 11);
    grouped.then_some(11)
}

/// Serde for a record field that keeps the full SSN (the store's persistence, a snapshot's
/// before-images): `#[serde(with = "crate::core::privacy::ssn::stored")]` on an
/// `Option<Ssn>`. Reading refuses text that is not nine digits.
pub mod stored {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Ssn;

    pub fn serialize<S: Serializer>(value: &Option<Ssn>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(ssn) => serializer.serialize_some(ssn.expose_full()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Ssn>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => Ssn::parse(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("a stored SSN is not nine digits")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ssn_parses_from_its_usual_spellings_and_nothing_else() {
        for text in ["123-45-6789", "123456789", "123 45 6789", " 123-45-6789 "] {
            assert_eq!(Ssn::parse(text).map(|s| s.expose_full().to_string()).as_deref(), Some("123-45-6789"));
        }
        for text in ["12345678", "1234567890", "12a-45-6789", "", "123-45-678x"] {
            assert_eq!(Ssn::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn display_and_debug_mask_and_only_expose_full_shows_the_ssn() {
        let ssn = Ssn::parse("123-45-6789").unwrap();
        assert_eq!(ssn.to_string(), "XXX-XX-6789");
        assert_eq!(format!("{ssn:?}"), "Ssn(XXX-XX-6789)");
        assert_eq!(format!("{:?}", Some(ssn)), "Some(Ssn(XXX-XX-6789))");
        assert_eq!(format!("{ssn:#?}"), "Ssn(XXX-XX-6789)");
        assert_eq!(ssn.masked().as_str(), "XXX-XX-6789");
        assert_eq!(ssn.expose_full(), "123-45-6789");
        assert_eq!(ssn.last_four(), "6789");
        assert!(ssn.has_digits("123456789"));
        assert!(!ssn.has_digits("123456788"));
    }

    #[test]
    fn the_masked_form_serializes_masked_and_the_stored_form_keeps_the_ssn() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Stored {
            #[serde(with = "stored")]
            ssn: Option<Ssn>,
        }
        #[derive(serde::Serialize)]
        struct View {
            ssn: MaskedSsn,
        }
        let ssn = Ssn::parse("123-45-6789").unwrap();
        let view = serde_json::to_string(&View { ssn: ssn.masked() }).unwrap();
        assert_eq!(view, r#"{"ssn":"XXX-XX-6789"}"#);
        let stored = serde_json::to_string(&Stored { ssn: Some(ssn) }).unwrap();
        assert_eq!(stored, r#"{"ssn":"123-45-6789"}"#);
        assert_eq!(serde_json::from_str::<Stored>(&stored).unwrap(), Stored { ssn: Some(ssn) });
        assert_eq!(serde_json::from_str::<Stored>(r#"{"ssn":null}"#).unwrap(), Stored { ssn: None });
        assert!(serde_json::from_str::<Stored>(r#"{"ssn":"12-34"}"#).is_err());
        let back: MaskedSsn = serde_json::from_str(r#""XXX-XX-6789""#).unwrap();
        assert_eq!(back, ssn.masked());
        assert!(
            serde_json::from_str::<MaskedSsn>(r#""123-45-6789""#).is_err(),
            "a full SSN is no masked one"
        );
    }

    #[test]
    fn problems_name_the_rule_not_the_digits() {
        let p = |t: &str| Ssn::parse(t).unwrap().problem();
        assert_eq!(p("912-34-5678"), Some(SsnProblem::Area9xx));
        assert_eq!(p("666-12-3456"), Some(SsnProblem::Area666));
        assert_eq!(p("000-12-3456"), Some(SsnProblem::Area000));
        assert_eq!(p("123-00-3456"), Some(SsnProblem::Group00));
        assert_eq!(p("123-45-0000"), Some(SsnProblem::Serial0000));
        assert_eq!(p("123-45-6789"), None);
        assert!(!SsnProblem::Area9xx.text().contains("912"));
    }

    #[test]
    fn cells_are_masked_or_described_never_quoted() {
        assert_eq!(mask_text("912-34-5678").as_str(), "XXX-XX-5678");
        assert_eq!(mask_text("12").as_str(), "XXX-XX-XXXX");
        assert_eq!(describe_cell("912 34 5678"), "XXX-XX-5678");
        assert_eq!(describe_cell("12345678"), "8 digits");
        assert_eq!(describe_cell("123-45-67890"), "10 digits");
        assert_eq!(describe_cell("n/a"), "text of 3 characters");
        assert_eq!(describe_cell("123-45-678x"), "8 digits among other characters");
    }

    #[test]
    fn ssn_shaped_runs_are_masked_inside_any_text() {
        assert_eq!(mask_ssn_like("123-45-6789"), "XXX-XX-6789");
        assert_eq!(mask_ssn_like("ssn 123456789, next 123 45 6789."), "ssn XXX-XX-6789, next XXX-XX-6789.");
        // Not SSNs: longer runs, phone numbers, dates, references.
        for text in
            ["1234567890", "+1 617 555 0100", "555-123-4567", "1944-12-01", "CR-00023410", "12-345-6789"]
        {
            assert_eq!(mask_ssn_like(text), text);
        }
        assert_eq!(mask_ssn_like("José 666-12-3456 Müller"), "José XXX-XX-3456 Müller");
    }
}
