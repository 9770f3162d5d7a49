//! Headers: which template a file is, and which file column feeds which template column.
//! [`recognise`] is the one header check of every workflow: it applies each candidate
//! template's [`HeaderPolicy`] — suggest-and-confirm (exact headers, ignoring case and
//! surrounding space, map by themselves; others are suggested by similarity for the operator
//! to confirm, and a confirmed pair is remembered for next time, the caller keeping the
//! memory), exact, or required subset — and returns the template with its [`HeaderMapping`],
//! or a [`HeaderProblem`] saying what is missing, extra or repeated, or which other template
//! the file is. Missing required columns and ignored extra columns are reported on the mapping.
//!
//! Headers are shown and remembered as header names only. A file whose first row is data
//! (no header row) shows that row's cells as its headers: [`shown_headers`] masks any
//! SSN-shaped one, and [`HeaderMapping::to_remember`] teaches the memory nothing from a header
//! row that holds values ([`looks_like_a_value`]), so no cell of a data row is ever kept in the
//! browser's local storage.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::core::date::Date;
use crate::core::privacy::shown::shown_header;
use crate::core::privacy::Ssn;
use crate::core::template::{HeaderPolicy, Template};
use crate::core::text::{column_letters, fold_compact};

/// How a template column found its file column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeaderSource {
    Exact,
    /// Remembered from an earlier confirmed mapping.
    Remembered,
    /// Suggested by similarity; needs the operator's confirmation.
    Suggested,
}

/// One template column mapped to a file column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappedColumn {
    pub template_column: usize,
    pub file_column: usize,
    pub file_header: String,
    pub source: HeaderSource,
    /// Similarity 0..1 for suggestions.
    pub score: f64,
}

/// The result of mapping a file's header row onto a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderMapping {
    /// For each template column, the file column feeding it.
    pub columns: Vec<Option<usize>>,
    pub mapped: Vec<MappedColumn>,
    /// Required template columns with no file column (headers).
    pub missing_required: Vec<String>,
    /// Optional template columns with no file column.
    pub missing_optional: Vec<String>,
    /// File headers that feed nothing and are ignored.
    pub ignored: Vec<String>,
}

impl HeaderMapping {
    /// True while a suggestion waits for the operator.
    pub fn needs_confirmation(&self) -> bool {
        self.mapped.iter().any(|m| m.source == HeaderSource::Suggested)
    }

    /// True when rows can be validated (every required column has a source).
    pub fn is_usable(&self) -> bool {
        self.missing_required.is_empty()
    }

    /// Confirmed pairs to remember: folded file header → template header. Header names only:
    /// nothing when the file's header row holds a value ([`looks_like_a_value`]: it is a data
    /// row, and every cell of it — names included — is a person's data), and never a header
    /// that is itself a value.
    pub fn to_remember(&self, template: &Template) -> Vec<(String, String)> {
        let every_header =
            self.mapped.iter().map(|m| m.file_header.as_str()).chain(self.ignored.iter().map(String::as_str));
        if header_row_holds_values(every_header) {
            return Vec::new();
        }
        self.mapped
            .iter()
            .filter(|m| m.source != HeaderSource::Exact && !looks_like_a_value(&m.file_header))
            .map(|m| (fold_compact(&m.file_header), template.columns[m.template_column].header.to_string()))
            .collect()
    }

    /// Marks every suggestion as confirmed.
    pub fn confirm(&mut self) {
        for m in &mut self.mapped {
            if m.source == HeaderSource::Suggested {
                m.source = HeaderSource::Remembered;
            }
        }
    }
}

/// True when a header cell looks like a value rather than a column's name: an email address,
/// an SSN, a date, a run of three or more digits (identifiers, phone numbers, postcodes,
/// amounts), or longer than any header (over 60 characters). A header such as "Address Line
/// 2" or "Phone 2" is a name.
pub fn looks_like_a_value(header: &str) -> bool {
    let h = header.trim();
    if h.is_empty() {
        return false;
    }
    let mut run = 0;
    let long_digit_run = h.chars().any(|c| {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        run >= 3
    });
    h.contains('@')
        || Ssn::parse(h).is_some()
        || Date::parse_iso(h).is_some()
        || long_digit_run
        || h.chars().count() > 60
}

/// Whether the header memory keeps a remembered pair (its folded file header): never one
/// that is a value. The page prunes its stored memory with it.
pub fn memory_keeps(folded_header: &str) -> bool {
    !looks_like_a_value(folded_header)
}

/// True when a file's header row holds a value in any cell: the file has no header row and
/// its first row is data.
pub fn header_row_holds_values<'a>(headers: impl IntoIterator<Item = &'a str>) -> bool {
    headers.into_iter().any(looks_like_a_value)
}

/// A file's header cells as the page shows them (the column dropdowns, the ignored columns):
/// an SSN-shaped cell masked, a long one cut, an empty one named by its column ("Column F (no
/// header)").
pub fn shown_headers(header: &[String]) -> Vec<String> {
    header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.trim().is_empty() {
                format!("Column {} (no header)", column_letters(i))
            } else {
                shown_header(h)
            }
        })
        .collect()
}

/// The similarity below which no suggestion is made.
pub const SUGGESTION_THRESHOLD: f64 = 0.78;

fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (fold_compact(a), fold_compact(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let jw = strsim::jaro_winkler(&a, &b);
    let lev = strsim::normalized_damerau_levenshtein(&a, &b);
    let contains = if a.contains(&b) || b.contains(&a) { 0.85 } else { 0.0 };
    jw.max(lev).max(contains)
}

/// Maps `header` (the file's header cells) onto `template`. `remembered` holds confirmed
/// pairs from earlier files: folded file header → template header.
pub fn map_headers(
    template: &Template,
    header: &[String],
    remembered: &BTreeMap<String, String>,
) -> HeaderMapping {
    let n = template.columns.len();
    let mut columns: Vec<Option<usize>> = vec![None; n];
    let mut mapped = Vec::new();
    let mut used = vec![false; header.len()];

    // Exact (case- and space-insensitive).
    for (t, spec) in template.columns.iter().enumerate() {
        if let Some(f) = header
            .iter()
            .enumerate()
            .position(|(f, h)| !used[f] && h.trim().eq_ignore_ascii_case(spec.header))
        {
            columns[t] = Some(f);
            used[f] = true;
            mapped.push(MappedColumn {
                template_column: t,
                file_column: f,
                file_header: header[f].clone(),
                source: HeaderSource::Exact,
                score: 1.0,
            });
        }
    }
    // Remembered.
    for (f, h) in header.iter().enumerate() {
        if used[f] || h.trim().is_empty() {
            continue;
        }
        // A remembered "header" that is a value (a memory written before values were kept out
        // of it) is never applied.
        if let Some(target) = remembered.get(&fold_compact(h)).filter(|_| !looks_like_a_value(h)) {
            if let Some(t) = template.column(target) {
                if columns[t].is_none() {
                    columns[t] = Some(f);
                    used[f] = true;
                    mapped.push(MappedColumn {
                        template_column: t,
                        file_column: f,
                        file_header: h.clone(),
                        source: HeaderSource::Remembered,
                        score: 1.0,
                    });
                }
            }
        }
    }
    // Suggestions: best pairs first.
    let mut pairs = Vec::new();
    for (t, spec) in template.columns.iter().enumerate() {
        if columns[t].is_some() {
            continue;
        }
        for (f, h) in header.iter().enumerate() {
            if used[f] || h.trim().is_empty() {
                continue;
            }
            let s = similarity(spec.header, h);
            if s >= SUGGESTION_THRESHOLD {
                pairs.push((s, t, f));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (s, t, f) in pairs {
        if columns[t].is_some() || used[f] {
            continue;
        }
        columns[t] = Some(f);
        used[f] = true;
        mapped.push(MappedColumn {
            template_column: t,
            file_column: f,
            file_header: header[f].clone(),
            source: HeaderSource::Suggested,
            score: s,
        });
    }
    mapped.sort_by_key(|m| m.template_column);
    let missing_required = template
        .columns
        .iter()
        .zip(&columns)
        .filter(|(c, m)| c.header_required() && m.is_none())
        .map(|(c, _)| c.header.to_string())
        .collect();
    let missing_optional = template
        .columns
        .iter()
        .zip(&columns)
        .filter(|(c, m)| !c.header_required() && m.is_none())
        .map(|(c, _)| c.header.to_string())
        .collect();
    let ignored = header
        .iter()
        .enumerate()
        .filter(|(f, h)| !used[*f] && !h.trim().is_empty())
        .map(|(_, h)| h.clone())
        .collect();
    HeaderMapping { columns, mapped, missing_required, missing_optional, ignored }
}

/// A file's template and how its columns map onto it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    pub template: &'static Template,
    pub mapping: HeaderMapping,
}

/// Why a candidate template does not fit a file's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub template: &'static Template,
    /// Template headers the file lacks (every one for [`HeaderPolicy::Exact`], the required
    /// ones otherwise).
    pub missing: Vec<String>,
    /// File headers the template does not have.
    pub extra: Vec<String>,
    /// File headers given more than once.
    pub repeated: Vec<String>,
}

/// Why a file's headers are not a template's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The headers are not the chosen template's but exactly another candidate's.
    OtherTemplate { chosen: &'static Template, found: &'static Template },
    /// The headers are not exactly the chosen template's: what is missing, extra or repeated.
    Mismatch { template: &'static Template, missing: Vec<String>, extra: Vec<String>, repeated: Vec<String> },
    /// No template was chosen and the headers fit none of the candidates.
    Unrecognised { header: Vec<String>, misfits: Vec<Misfit> },
}

/// File headers as a message lists them: each as [`shown_header`] shows it.
fn shown(headers: &[String]) -> String {
    headers.iter().map(|h| shown_header(h)).collect::<Vec<_>>().join(", ")
}

/// "user insurance file": how a template's files are named in messages.
fn file_phrase(t: &Template) -> String {
    format!("{} file", t.name.to_lowercase())
}

impl std::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderProblem::OtherTemplate { chosen, found } => write!(
                f,
                "This is a {} ({}), not a {}. Choose {} or upload the {} ({}).",
                file_phrase(found),
                found.headers().join(", "),
                file_phrase(chosen),
                found.name,
                file_phrase(chosen),
                chosen.headers().join(", ")
            ),
            HeaderProblem::Mismatch { template, missing, extra, repeated } => {
                write!(f, "The headers do not match the {} exactly.", template.name)?;
                if !missing.is_empty() {
                    write!(f, " Missing: {}.", missing.join(", "))?;
                }
                if !extra.is_empty() {
                    write!(f, " Not in the template: {}.", shown(extra))?;
                }
                if !repeated.is_empty() {
                    write!(f, " Repeated: {}.", shown(repeated))?;
                }
                write!(f, " Expected exactly: {}.", template.headers().join(", "))
            }
            HeaderProblem::Unrecognised { header, misfits }
                if misfits.iter().all(|m| m.template.header_policy == HeaderPolicy::Exact) =>
            {
                let given: Vec<String> =
                    header.iter().filter(|h| !h.trim().is_empty()).map(|h| shown_header(h)).collect();
                let each: Vec<String> = misfits
                    .iter()
                    .map(|m| format!("a {} ({})", file_phrase(m.template), m.template.headers().join(", ")))
                    .collect();
                let what = match each.as_slice() {
                    [one] => format!("not {one}"),
                    [a, b] => format!("neither {a} nor {b}"),
                    many => format!("none of {}", many.join(", ")),
                };
                write!(
                    f,
                    "These headers ({}) are {what}. Download a template and keep its headers exactly.",
                    given.join(", ")
                )
            }
            HeaderProblem::Unrecognised { misfits, .. } => {
                let each: Vec<String> = misfits
                    .iter()
                    .map(|m| {
                        let missing =
                            if m.missing.is_empty() { "nothing".to_string() } else { m.missing.join(", ") };
                        let extra = match (m.extra.is_empty(), m.repeated.is_empty()) {
                            (false, _) => shown(&m.extra),
                            (true, false) => "a repeated header".to_string(),
                            (true, true) => "nothing".to_string(),
                        };
                        format!(
                            "not an {} (missing: {missing}; not in the template: {extra})",
                            file_phrase(m.template)
                        )
                    })
                    .collect();
                write!(
                    f,
                    "The headers do not fit a template: {}. Download a model spreadsheet and keep its headers.",
                    each.join("; ")
                )
            }
        }
    }
}

/// Folded header for exact comparison: trimmed, case-insensitive.
fn fold_header(h: &str) -> String {
    h.trim().to_lowercase()
}

/// How `header` misses `template` under the template's policy; `None` when it fits.
fn misfit(template: &'static Template, header: &[String]) -> Option<Misfit> {
    let file: Vec<String> = header.iter().map(|h| fold_header(h)).filter(|h| !h.is_empty()).collect();
    let known: Vec<String> = template.columns.iter().map(|c| fold_header(c.header)).collect();
    match template.header_policy {
        HeaderPolicy::Exact => {
            let (mut have, mut want) = (file.clone(), known.clone());
            have.sort();
            want.sort();
            if have == want {
                return None;
            }
            let missing = template
                .columns
                .iter()
                .filter(|c| !file.contains(&fold_header(c.header)))
                .map(|c| c.header.to_string())
                .collect();
            let extra = header
                .iter()
                .filter(|h| !h.trim().is_empty() && !known.contains(&fold_header(h)))
                .map(|h| h.trim().to_string())
                .collect();
            let mut counts: BTreeMap<String, (usize, String)> = BTreeMap::new();
            for h in header.iter().filter(|h| !h.trim().is_empty()) {
                counts.entry(fold_header(h)).or_insert((0, h.trim().to_string())).0 += 1;
            }
            let repeated = counts.into_values().filter(|(n, _)| *n > 1).map(|(_, h)| h).collect();
            Some(Misfit { template, missing, extra, repeated })
        }
        HeaderPolicy::RequiredSubset => {
            let extra: Vec<String> = file.iter().filter(|h| !known.contains(h)).cloned().collect();
            let missing: Vec<String> = template
                .columns
                .iter()
                .filter(|c| c.header_required() && !file.contains(&fold_header(c.header)))
                .map(|c| c.header.to_string())
                .collect();
            let mut seen = HashSet::new();
            let repeated: Vec<String> = file.iter().filter(|h| !seen.insert(h.as_str())).cloned().collect();
            if extra.is_empty() && missing.is_empty() && repeated.is_empty() {
                return None;
            }
            Some(Misfit { template, missing, extra, repeated })
        }
        HeaderPolicy::SuggestAndConfirm => {
            let mapping = map_headers(template, header, &BTreeMap::new());
            if mapping.is_usable() {
                return None;
            }
            Some(Misfit {
                template,
                missing: mapping.missing_required,
                extra: mapping.ignored,
                repeated: Vec::new(),
            })
        }
    }
}

/// Recognises a file's template by its header row. With `chosen`, the file must fit that
/// template under its policy (a [`HeaderPolicy::SuggestAndConfirm`] template always does: its
/// mapping says what is missing or waits for confirmation); a file that instead fits another
/// of the `candidates` is named as such. Without `chosen`, the first candidate the headers fit
/// is the file's template. `remembered` holds the confirmed pairs of earlier files (folded file
/// header → template header) for suggest-and-confirm templates.
pub fn recognise(
    candidates: &[&'static Template],
    chosen: Option<&'static Template>,
    header: &[String],
    remembered: &BTreeMap<String, String>,
) -> Result<Recognised, HeaderProblem> {
    let none = BTreeMap::new();
    let recognised = |t: &'static Template| {
        let memory = if t.header_policy == HeaderPolicy::SuggestAndConfirm { remembered } else { &none };
        Recognised { template: t, mapping: map_headers(t, header, memory) }
    };
    match chosen {
        Some(t) if t.header_policy == HeaderPolicy::SuggestAndConfirm => Ok(recognised(t)),
        Some(t) => match misfit(t, header) {
            None => Ok(recognised(t)),
            Some(m) => {
                if let Some(found) =
                    candidates.iter().copied().find(|c| c.id != t.id && misfit(c, header).is_none())
                {
                    return Err(HeaderProblem::OtherTemplate { chosen: t, found });
                }
                match t.header_policy {
                    HeaderPolicy::Exact => Err(HeaderProblem::Mismatch {
                        template: t,
                        missing: m.missing,
                        extra: m.extra,
                        repeated: m.repeated,
                    }),
                    _ => Err(HeaderProblem::Unrecognised { header: header.to_vec(), misfits: vec![m] }),
                }
            }
        },
        None => {
            let mut misfits = Vec::new();
            for t in candidates.iter().copied() {
                match misfit(t, header) {
                    None => return Ok(recognised(t)),
                    Some(m) => misfits.push(m),
                }
            }
            Err(HeaderProblem::Unrecognised { header: header.to_vec(), misfits })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::insured::INSURED_CONTACT_DETAILS as T;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_headers_map_silently_in_any_order_and_case() {
        let m = map_headers(&T, &h(&["last name", "FIRST NAME", "Public ID"]), &BTreeMap::new());
        assert_eq!(m.columns[2], Some(1));
        assert_eq!(m.columns[3], Some(0));
        assert_eq!(m.columns[18], Some(2));
        assert!(!m.needs_confirmation());
        assert!(m.is_usable());
    }

    #[test]
    fn missing_required_column_is_named() {
        let m = map_headers(&T, &h(&["First Name", "Email"]), &BTreeMap::new());
        assert_eq!(m.missing_required, vec!["Last Name".to_string()]);
        assert!(!m.is_usable());
    }

    #[test]
    fn similar_headers_are_suggested_and_unknown_ones_ignored() {
        let m =
            map_headers(&T, &h(&["First Name", "Lastname", "E-mail", "Favourite Colour"]), &BTreeMap::new());
        assert_eq!(m.columns[3], Some(1));
        assert_eq!(m.columns[17], Some(2));
        assert!(m.needs_confirmation());
        assert_eq!(m.ignored, vec!["Favourite Colour".to_string()]);
    }

    #[test]
    fn a_confirmed_mapping_is_remembered_next_time() {
        let mut m = map_headers(&T, &h(&["First Name", "Surname"]), &BTreeMap::new());
        // "Surname" is not similar enough by spelling; nothing is suggested.
        assert_eq!(m.columns[3], None);
        m = map_headers(&T, &h(&["First Name", "Family name"]), &BTreeMap::new());
        assert_eq!(m.columns[3], None);
        let mut memory = BTreeMap::new();
        memory.insert(fold_compact("Surname"), "Last Name".to_string());
        let m = map_headers(&T, &h(&["First Name", "Surname"]), &memory);
        assert_eq!(m.columns[3], Some(1));
        assert!(!m.needs_confirmation());
        let mut s = map_headers(&T, &h(&["First Name", "Last nme"]), &BTreeMap::new());
        assert!(s.needs_confirmation());
        s.confirm();
        assert_eq!(s.to_remember(&T), vec![(fold_compact("Last nme"), "Last Name".to_string())]);
    }

    #[test]
    fn a_data_row_read_as_headers_teaches_the_memory_nothing() {
        // A file without a header row: its first row is a person's data.
        let row = h(&[
            "CASE-000100",
            "INS-0001000",
            "Karen",
            "Rossi",
            "CR-00023410",
            "513-14-0617",
            "1944-12-01",
            "Email",
            "Work",
            "Yes",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "karen.rossi@northwind.example",
            "CD-0001586",
        ]);
        let mut m = map_headers(&T, &row, &BTreeMap::new());
        // The operator maps every column by hand and confirms.
        for (t, f) in [(2, 2), (3, 3), (5, 5), (17, 17)] {
            m.columns[t] = Some(f);
            m.mapped.retain(|x| x.template_column != t && x.file_column != f);
            m.mapped.push(MappedColumn {
                template_column: t,
                file_column: f,
                file_header: row[f].clone(),
                source: HeaderSource::Remembered,
                score: 1.0,
            });
        }
        m.confirm();
        assert_eq!(m.to_remember(&T), vec![], "nothing of a data row is remembered, not even its names");
        assert!(header_row_holds_values(row.iter().map(String::as_str)));
    }

    #[test]
    fn header_names_are_remembered_and_values_never() {
        for name in ["Surname", "Address Line 2", "Phone 2", "E-mail", "Date of birth", "N° client"] {
            assert!(!looks_like_a_value(name), "{name}");
        }
        for value in [
            "513-14-0617",
            "513140617",
            "karen@example.org",
            "1944-12-01",
            "CR-00023410",
            "+1 617 555 0100",
            &"x".repeat(61),
        ] {
            assert!(looks_like_a_value(value), "{value}");
        }
        // A header row of names with one value among them is a data row: nothing is kept.
        let mut m = map_headers(&T, &h(&["First Name", "Surname", "Rossi 2024"]), &BTreeMap::new());
        m.columns[3] = Some(1);
        m.mapped.push(MappedColumn {
            template_column: 3,
            file_column: 1,
            file_header: "Surname".into(),
            source: HeaderSource::Remembered,
            score: 1.0,
        });
        assert_eq!(m.to_remember(&T), vec![]);
        let mut m = map_headers(&T, &h(&["First Name", "Surname"]), &BTreeMap::new());
        m.columns[3] = Some(1);
        m.mapped.push(MappedColumn {
            template_column: 3,
            file_column: 1,
            file_header: "Surname".into(),
            source: HeaderSource::Remembered,
            score: 1.0,
        });
        assert_eq!(m.to_remember(&T), vec![(fold_compact("Surname"), "Last Name".to_string())]);
    }

    #[test]
    fn a_value_in_an_old_memory_is_never_applied_and_is_pruned() {
        let mut memory = BTreeMap::new();
        memory.insert(fold_compact("513-14-0617"), "SSN".to_string());
        memory.insert(fold_compact("Surname"), "Last Name".to_string());
        let m = map_headers(&T, &h(&["First Name", "Surname", "513-14-0617"]), &memory);
        assert_eq!((m.columns[3], m.columns[5]), (Some(1), None));
        memory.retain(|k, _| memory_keeps(k));
        assert_eq!(memory.keys().collect::<Vec<_>>(), [&fold_compact("Surname")]);
    }

    #[test]
    fn headers_are_shown_masked_and_empty_ones_by_their_column() {
        let shown = shown_headers(&h(&["Karen", "513-14-0617", "", "513140617"]));
        assert_eq!(shown, vec!["Karen", "XXX-XX-0617", "Column C (no header)", "XXX-XX-0617"]);
        let problem = HeaderProblem::Mismatch {
            template: &T,
            missing: vec![],
            extra: h(&["513-14-0617"]),
            repeated: vec![],
        };
        let text = problem.to_string();
        assert!(text.contains("XXX-XX-0617") && !text.contains("513-14-0617"), "{text}");
    }
}
