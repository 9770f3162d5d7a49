//! The XML scanner's tests: tokens cut anywhere by the inflater's chunks read the same,
//! references and escapes resolve in one pass, and an over-long token is refused.

use std::io::{Cursor, Write};

use super::super::zip::Archive;
use super::*;
use crate::core::read::MAX_PART_BYTES;

/// A zip holding one part, deflated.
fn zip_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut out = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    out.start_file(name, ::zip::write::SimpleFileOptions::default()).unwrap();
    out.write_all(content).unwrap();
    out.finish().unwrap().into_inner()
}

/// Every token of a part, as owned text, in order.
fn tokens_of(xml: &[u8]) -> Result<Vec<String>, ReadError> {
    let bytes = zip_of("part.xml", xml);
    let archive = Archive::open("t.xlsx", &bytes)?;
    let entry = archive.find("part.xml").unwrap();
    let mut scanner = Scanner::new(archive.open_part(entry, MAX_PART_BYTES)?, "t.xlsx", None);
    let ctx = scanner.context();
    let mut out = Vec::new();
    loop {
        let shown = match scanner.next()? {
            Token::Start { name, attributes: raw, empty } => {
                let mut shown = format!("<{}", String::from_utf8_lossy(name));
                for attr in attributes(raw) {
                    let (key, value) = attr.map_err(|d| ctx.malformed(d))?;
                    let value = attribute_text(value).map_err(|d| ctx.malformed(d))?;
                    shown.push_str(&format!(" {}={value}", String::from_utf8_lossy(key)));
                }
                shown + if empty { "/>" } else { ">" }
            }
            Token::End { name } => format!("</{}>", String::from_utf8_lossy(name)),
            Token::Text(t) => {
                let mut text = String::new();
                push_text(t, &mut text).map_err(|d| ctx.malformed(d))?;
                text
            }
            Token::CData(t) => format!("CDATA:{}", String::from_utf8_lossy(t)),
            Token::Eof => break,
        };
        out.push(shown);
    }
    scanner.finish()?;
    Ok(out)
}

#[test]
fn tokens_cut_by_chunk_boundaries_read_the_same() {
    // A 37-byte-odd pattern repeated past several 64 KiB chunks puts every kind of token
    // across a boundary at some offset.
    let unit = "<x:c r=\"A1\" q='a>b' t = \"s\"><v>1 &amp; 2\r\n</v></x:c><!-- <c> -- x --><![CDATA[<&]]><e/><?pi x?>";
    let mut xml = String::from("<?xml version=\"1.0\"?><root>");
    for _ in 0..3000 {
        xml.push_str(unit);
    }
    xml.push_str("</root>");
    let tokens = tokens_of(xml.as_bytes()).unwrap();
    let expected_unit = ["<x:c r=A1 q=a>b t=s>", "<v>", "1 & 2\n", "</v>", "</x:c>", "CDATA:<&", "<e/>"];
    assert_eq!(tokens.len(), 2 + 3000 * expected_unit.len());
    assert_eq!(tokens[0], "<root>");
    for (i, chunk) in tokens[1..tokens.len() - 1].chunks(expected_unit.len()).enumerate() {
        assert_eq!(chunk, expected_unit, "unit {i}");
    }
    assert_eq!(tokens.last().unwrap(), "</root>");
}

#[test]
fn a_doctype_and_unfinished_tags_are_refused() {
    let err = tokens_of(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>").unwrap_err();
    assert!(err.to_string().contains("document type declaration"), "{err}");
    for cut in [&b"<x a=\"1"[..], b"<x><!-- never", b"<x><![CDATA[ never", b"</x"] {
        let err = tokens_of(cut).unwrap_err();
        assert!(matches!(err, ReadError::MalformedWorkbook { .. }), "{err:?}");
        assert!(err.to_string().contains("part.xml") && err.to_string().contains("t.xlsx"), "{err}");
    }
    let err = tokens_of(b"<x a=1/>").unwrap_err();
    assert!(err.to_string().contains("without quotes"), "{err}");
}

#[test]
fn a_token_longer_than_32_mib_is_refused() {
    // Text that does not compress much (so no zip-bomb refusal comes first).
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut xml = b"<x>".to_vec();
    xml.extend((0..(33usize << 20)).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        b'a' + (state % 26) as u8
    }));
    xml.extend_from_slice(b"</x>");
    let err = tokens_of(&xml).unwrap_err();
    assert!(matches!(err, ReadError::XmlTokenTooLarge { .. }), "{err:?}");
}

#[test]
fn references_in_attributes_are_resolved_in_one_pass() {
    assert_eq!(unescape_attribute("A &amp; B &#65;&#x42; &lt;x&gt;"), "A & B AB <x>");
    assert_eq!(unescape_attribute("&unknown; & &;"), "&unknown; & &;");
    assert_eq!(unescape_attribute("a\r\nb\tc"), "a b c");
    let ampersands = "&".repeat(1_000_000);
    #[cfg(not(target_arch = "wasm32"))]
    let started = std::time::Instant::now();
    assert_eq!(unescape_attribute(&ampersands).len(), 1_000_000);
    #[cfg(not(target_arch = "wasm32"))]
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(resolve_reference("#0"), None);
    assert_eq!(resolve_reference("#x110000"), None);
    let mut text = String::new();
    push_text("&amp;&&#x41;&lt&gt;".as_bytes(), &mut text).unwrap();
    assert_eq!(text, "&&A&lt>");
}

#[test]
fn excel_escapes_are_undone_and_underscores_kept() {
    assert_eq!(unescape_excel("a_x000D_b"), "a\rb");
    assert_eq!(unescape_excel("_x005F_x0041_"), "_x0041_");
    assert_eq!(unescape_excel("_xD83D__xDE00_"), "😀");
    assert_eq!(unescape_excel("_xD83D_"), "\u{FFFD}");
    assert_eq!(unescape_excel("snake_case_x"), "snake_case_x");
    assert!(matches!(unescape_excel("plain"), Cow::Borrowed(_)));
}

#[test]
fn cell_references_and_counts_parse_without_overflow() {
    assert_eq!(parse_cell_ref(b"xfd1048576"), Some((Some(1_048_576), 16_384)));
    assert_eq!(parse_cell_ref(b"B"), Some((None, 2)));
    assert_eq!(parse_cell_ref(b"A0"), None);
    assert_eq!(parse_cell_ref(b"1A"), None);
    assert_eq!(parse_cell_ref(b"ZZZZZZZZZZZZZZZ99999999999999999999999"), Some((Some(u64::MAX), u64::MAX)));
    assert_eq!(parse_count(b" 4000000000 "), Some(4_000_000_000));
    assert_eq!(parse_count(b"99999999999999999999999"), Some(u64::MAX));
    assert_eq!(parse_count(b"-1"), None);
    assert_eq!(parse_count(b""), None);
    let mut out = String::new();
    push_text(b"a\r\nb\rc", &mut out).unwrap();
    assert_eq!(out, "a\nb\nc");
    assert_eq!(local(b"x:sheet"), b"sheet");
}
