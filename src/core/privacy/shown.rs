//! What a message may quote of a cell: [`excerpt`] masks any SSN-shaped run (a value in the
//! wrong column, a data row read as headers) and cuts a long value to its first characters
//! with an ellipsis and its length, so an issue stays one readable line whatever the file
//! holds. Header texts shown to the operator go through [`shown_header`].

use super::ssn::mask_ssn_like;
use crate::core::text::thousands;

/// The most characters of a value an issue quotes.
pub const EXCERPT_CHARS: usize = 80;

/// A value as an issue or message quotes it (without quotes): SSN-shaped runs masked, and
/// past [`EXCERPT_CHARS`] characters its beginning, an ellipsis and its length —
/// `"Main Street …" (1,204 characters)` is written `Main Street … (1,204 characters)`.
pub fn excerpt(text: &str) -> String {
    cut(&mask_ssn_like(text), EXCERPT_CHARS)
}

/// A file's header cell as the page shows it (dropdowns, ignored columns, header problems):
/// SSN-shaped runs masked (a file whose first row is data shows that row here), at most 60
/// characters.
pub fn shown_header(header: &str) -> String {
    cut(&mask_ssn_like(header), 60)
}

fn cut(text: &str, limit: usize) -> String {
    let chars = text.chars().count();
    if chars <= limit {
        return text.to_string();
    }
    let head: String = text.chars().take(limit.saturating_sub(1)).collect();
    format!("{}… ({} characters)", head.trim_end(), thousands(chars as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole_and_long_ones_cut_with_their_length() {
        assert_eq!(excerpt("CASE-000100"), "CASE-000100");
        let long = "x".repeat(1204);
        let e = excerpt(&long);
        assert!(e.ends_with("… (1,204 characters)"), "{e}");
        assert_eq!(e.chars().filter(|c| *c == 'x').count(), EXCERPT_CHARS - 1);
        assert_eq!(excerpt(&"é".repeat(81)).chars().count(), 79 + "… (81 characters)".chars().count());
    }

    #[test]
    fn ssns_are_masked_in_excerpts_and_headers() {
        assert_eq!(excerpt("see 912-34-5678"), "see XXX-XX-5678");
        assert_eq!(shown_header("513140617"), "XXX-XX-0617");
        assert_eq!(shown_header("Last Name"), "Last Name");
    }
}
