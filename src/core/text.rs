//! Text helpers shared by every stage: name folding for comparisons (case, accents,
//! whitespace), Excel cell names and the formula-injection guard. (SSNs: `core::privacy`.)

/// Folds one character to its unaccented lower-case ASCII form where one exists.
fn fold_char(c: char, out: &mut String) {
    let base = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' | 'ć' | 'č' | 'Č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' | 'ě' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'ů' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'š' | 'Š' | 'ś' => 's',
        'ž' | 'Ž' | 'ź' | 'ż' => 'z',
        'ł' | 'Ł' => 'l',
        'ř' | 'Ř' => 'r',
        'ß' => {
            out.push_str("ss");
            return;
        }
        'æ' | 'Æ' => {
            out.push_str("ae");
            return;
        }
        'œ' | 'Œ' => {
            out.push_str("oe");
            return;
        }
        other => other,
    };
    for l in base.to_lowercase() {
        out.push(l);
    }
}

/// A name folded for comparison: lower case, accents removed, runs of whitespace made one
/// space, trimmed. `"  José  de la Cruz"` and `"jose DE LA cruz"` fold alike.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        fold_char(c, &mut out);
    }
    out
}

/// Folds and drops everything but letters and digits (for hyphen-insensitive similarity).
pub fn fold_compact(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Excel column letters for a zero-based column index (0 → A, 26 → AA).
pub fn column_letters(mut col: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Excel-style cell name for zero-based column and one-based sheet row (`B12`).
pub fn cell_name(col: usize, sheet_row: usize) -> String {
    format!("{}{}", column_letters(col), sheet_row)
}

/// True when Excel (or another spreadsheet) would evaluate this text as a formula or
/// control sequence if written as a plain string.
pub fn looks_like_formula(text: &str) -> bool {
    matches!(text.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// A file-name-safe slug of a display name.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in fold(text).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A file name without its extension (`contacts.xlsx` → `contacts`).
pub fn file_stem(file_name: &str) -> &str {
    file_name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(file_name)
}

/// `1234567` → `"1,234,567"`, for messages.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_whitespace() {
        assert_eq!(fold("  José   DE la Cruz "), "jose de la cruz");
        assert_eq!(fold("Zoë Müller-Åberg"), "zoe muller-aberg");
        assert_eq!(fold_compact("Müller-Åberg"), "mulleraberg");
    }

    #[test]
    fn cell_names_follow_excel() {
        assert_eq!(cell_name(0, 1), "A1");
        assert_eq!(cell_name(1, 12), "B12");
        assert_eq!(cell_name(25, 2), "Z2");
        assert_eq!(cell_name(26, 2), "AA2");
        assert_eq!(cell_name(701, 3), "ZZ3");
        assert_eq!(cell_name(702, 3), "AAA3");
    }

    #[test]
    fn formula_like_text_is_detected() {
        for t in ["=1+1", "+44 20", "-3", "@SUM(A1)", "\tx", "\rx"] {
            assert!(looks_like_formula(t), "{t:?}");
        }
        assert!(!looks_like_formula("plain"));
        assert!(!looks_like_formula(""));
    }

    #[test]
    fn slugs_are_file_safe() {
        assert_eq!(slug("North Côte Portfolio #2"), "north-cote-portfolio-2");
    }
}
