//! Brazilian company registry numbers (CNPJ): the two check digits, validation and the
//! `12.345.678/0001-95` display form. Company and insurer accounts are numbered by CNPJ; the
//! demo CRM generates valid ones and the account-contact import refuses invalid ones.
//!
//! A CNPJ is 12 base characters followed by two check digits. Until July 2026 the base is all
//! digits; from then the Receita Federal also issues *alphanumeric* CNPJs whose base may hold
//! upper-case letters (the check digits stay digits). Both are computed the same way: every
//! character is worth its ASCII code minus 48 (`'0'` → 0, `'A'` → 17), weighted 2..9 from the
//! right and taken modulo 11. This module accepts both.

/// Number of base characters before the two check digits.
pub const BASE_LEN: usize = 12;

/// Number of characters of a CNPJ without punctuation.
pub const LEN: usize = 14;

/// The value a base character carries in the check-digit sum, if it may appear in a base.
fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' | b'A'..=b'Z' => Some(u32::from(c - b'0')),
        _ => None,
    }
}

/// One check digit over `chars` (weights 2, 3, …, 9, 2, 3, … from the right).
fn check_digit(chars: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, &c) in chars.iter().rev().enumerate() {
        let weight = 2 + (i as u32 % 8);
        sum += char_value(c)? * weight;
    }
    let remainder = sum % 11;
    Some(if remainder < 2 { 0 } else { (11 - remainder) as u8 })
}

/// The two check digits of a 12-character base (digits, or digits and upper-case letters),
/// given as ASCII bytes. `None` when the base has the wrong length or a character that a CNPJ
/// base cannot hold.
pub fn check_digits(base: &[u8]) -> Option<[u8; 2]> {
    if base.len() != BASE_LEN {
        return None;
    }
    let first = check_digit(base)?;
    let mut thirteen = [0u8; BASE_LEN + 1];
    thirteen[..BASE_LEN].copy_from_slice(base);
    thirteen[BASE_LEN] = b'0' + first;
    let second = check_digit(&thirteen)?;
    Some([first, second])
}

/// The 14 characters of a CNPJ written with or without its usual punctuation (`.`, `/`, `-`,
/// spaces), upper-cased; `None` when anything else is in the text or the length is wrong.
/// Does not check the check digits.
pub fn compact(text: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in text.trim().chars() {
        match c {
            '.' | '/' | '-' | ' ' => {}
            c if c.is_ascii_digit() => out.push(c),
            c if c.is_ascii_alphabetic() => out.push(c.to_ascii_uppercase()),
            _ => return None,
        }
    }
    let bytes = out.as_bytes();
    let shape_ok = bytes.len() == LEN && bytes[BASE_LEN..].iter().all(u8::is_ascii_digit);
    shape_ok.then_some(out)
}

/// True when `text` is a CNPJ whose check digits are right. A number made of one repeated
/// digit (`00.000.000/0000-00`, `11.111.111/1111-11`, …) passes the arithmetic but is never
/// issued, so it is refused.
pub fn is_valid(text: &str) -> bool {
    let Some(chars) = compact(text) else {
        return false;
    };
    let bytes = chars.as_bytes();
    if bytes.iter().all(|&b| b == bytes[0]) {
        return false;
    }
    match check_digits(&bytes[..BASE_LEN]) {
        Some([first, second]) => bytes[BASE_LEN] == b'0' + first && bytes[BASE_LEN + 1] == b'0' + second,
        None => false,
    }
}

/// The display form `12.345.678/0001-95` of 14 CNPJ characters (punctuation in the input is
/// ignored); `None` when the text is not CNPJ-shaped. Does not check the check digits.
pub fn format(text: &str) -> Option<String> {
    let c = compact(text)?;
    Some(format!("{}.{}.{}/{}-{}", &c[0..2], &c[2..5], &c[5..8], &c[8..12], &c[12..14]))
}

/// The formatted CNPJ made of a 12-character base and its check digits.
pub fn with_check_digits(base: &str) -> Option<String> {
    let [first, second] = check_digits(base.as_bytes())?;
    format(&format!("{base}{first}{second}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_a_known_numeric_cnpj() {
        // 11.222.333/0001-81 is the textbook example.
        assert_eq!(check_digits(b"112223330001"), Some([8, 1]));
        assert!(is_valid("11.222.333/0001-81"));
        assert!(is_valid("11222333000181"));
    }

    #[test]
    fn check_digits_of_the_receita_alphanumeric_example() {
        // The Receita Federal's published example of an alphanumeric CNPJ: 12.ABC.345/01DE-35.
        assert_eq!(check_digits(b"12ABC34501DE"), Some([3, 5]));
        assert!(is_valid("12.ABC.345/01DE-35"));
        assert!(is_valid("12.abc.345/01de-35"));
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        assert!(!is_valid("11.222.333/0001-82"));
        assert!(!is_valid("11.222.333/0001-91"));
    }

    #[test]
    fn repeated_digits_are_refused_although_the_arithmetic_passes() {
        assert!(!is_valid("00.000.000/0000-00"));
        assert!(!is_valid("11111111111111"));
    }

    #[test]
    fn malformed_text_is_refused() {
        for text in [
            "",
            "1122233300018",
            "112223330001811",
            "11.222.333/0001-8X",
            "11;222;333/0001-81",
            "１１222333000181",
        ] {
            assert!(!is_valid(text), "{text:?}");
        }
        assert_eq!(check_digits(b"11222333000"), None);
        assert_eq!(check_digits(b"11222333000a"), None);
    }

    #[test]
    fn formatting_inserts_the_usual_punctuation() {
        assert_eq!(format("11222333000181").as_deref(), Some("11.222.333/0001-81"));
        assert_eq!(format("11.222.333/0001-81").as_deref(), Some("11.222.333/0001-81"));
        assert_eq!(format("1122233300018"), None);
        assert_eq!(with_check_digits("112223330001").as_deref(), Some("11.222.333/0001-81"));
        assert_eq!(with_check_digits("01234567000"), None);
    }

    #[test]
    fn every_base_gets_check_digits_that_validate() {
        let mut state = 7u64;
        for _ in 0..2000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let base = format!("{:012}", (state >> 16) % 1_000_000_000_000);
            let cnpj = with_check_digits(&base).unwrap_or_default();
            assert!(is_valid(&cnpj) || base.bytes().all(|b| b == base.as_bytes()[0]), "{cnpj}");
        }
    }
}
