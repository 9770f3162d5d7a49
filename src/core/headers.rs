//! Header mapping: which file column feeds which template column. Exact headers (ignoring
//! case and surrounding space) map by themselves; other headers are suggested by similarity
//! for the operator to confirm, and a confirmed pair is remembered for next time (the caller
//! keeps the memory). Missing required columns and ignored extra columns are reported.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::template::Template;
use crate::core::text::fold_compact;

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

    /// Confirmed pairs to remember: folded file header → template header.
    pub fn to_remember(&self, template: &Template) -> Vec<(String, String)> {
        self.mapped
            .iter()
            .filter(|m| m.source != HeaderSource::Exact)
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
        if let Some(target) = remembered.get(&fold_compact(h)) {
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
        .filter(|(c, m)| c.required && m.is_none())
        .map(|(c, _)| c.header.to_string())
        .collect();
    let missing_optional = template
        .columns
        .iter()
        .zip(&columns)
        .filter(|(c, m)| !c.required && m.is_none())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::template::INSURED_CONTACT_DETAILS as T;

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
}
