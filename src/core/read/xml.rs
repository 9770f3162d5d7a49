//! The XML layer between a zip part and the workbook reader: a `quick-xml` reader over a
//! [`PartReader`], one event at a time, with every error turned into a [`ReadError`] that
//! names the file, the part and (where there is one) the sheet. Text is gathered the way
//! Excel writes it: XML line endings normalised, the five predefined entities and character
//! references resolved, Excel's own `_xHHHH_` escapes undone. Every scan here is linear:
//! a reference is looked for within a few bytes of its `&`, never across the whole text.

use std::borrow::Cow;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::guard::ReadError;
use super::zip::PartReader;

/// A part being read as XML, with what its errors need to say where they are.
pub(crate) struct Xml<'a> {
    reader: Reader<PartReader<'a>>,
    file: &'a str,
    sheet: Option<&'a str>,
}

impl<'a> Xml<'a> {
    pub fn new(part: PartReader<'a>, file: &'a str, sheet: Option<&'a str>) -> Xml<'a> {
        let mut reader = Reader::from_reader(part);
        let config = reader.config_mut();
        config.trim_text(false);
        config.expand_empty_elements = false;
        config.check_end_names = true;
        Xml { reader, file, sheet }
    }

    /// The next event; `buf` is cleared first and holds the event's bytes.
    #[inline]
    pub fn next<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<Event<'b>, ReadError> {
        buf.clear();
        self.reader.get_mut().mark();
        match self.reader.read_event_into(buf) {
            Ok(event) => Ok(event),
            Err(quick_xml::Error::Io(e)) => {
                let e = std::io::Error::new(e.kind(), e.to_string());
                Err(self.reader.get_mut().error(e))
            }
            Err(e) => Err(self.malformed(format!("{e} (at byte {})", self.reader.error_position()))),
        }
    }

    /// A malformed-workbook error about this part.
    pub fn malformed(&self, detail: String) -> ReadError {
        ReadError::MalformedWorkbook {
            file: self.file.to_string(),
            sheet: self.sheet.map(str::to_string),
            part: self.reader.get_ref().part_name().to_string(),
            detail,
        }
    }

    /// The error for a part that ends before the element `open` is closed.
    pub fn ended_early(&self, open: &str) -> ReadError {
        self.malformed(format!("the XML ends before </{open}>"))
    }

    pub fn file(&self) -> &'a str {
        self.file
    }

    pub fn part_name(&self) -> &str {
        self.reader.get_ref().part_name()
    }

    /// Skips the content of an element whose start tag was just read, up to its end tag.
    pub fn skip(&mut self, buf: &mut Vec<u8>, name: &str) -> Result<(), ReadError> {
        let mut depth = 1usize;
        loop {
            match self.next(buf)? {
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Event::Eof => return Err(self.ended_early(name)),
                _ => {}
            }
        }
    }

    /// Appends the text content of an element whose start tag was just read, up to its end
    /// tag, to `out` (raw, still carrying Excel's `_xHHHH_` escapes). Nested elements are
    /// skipped.
    pub fn text_into(&mut self, buf: &mut Vec<u8>, name: &str, out: &mut String) -> Result<(), ReadError> {
        loop {
            match self.next(buf)? {
                Event::Text(t) => push_text(&t, out),
                Event::CData(t) => push_text(&t, out),
                Event::GeneralRef(r) => push_reference(&r, out),
                Event::Start(e) => {
                    let inner = e.local_name().into_inner().to_string();
                    self.skip(buf, &inner)?;
                }
                Event::End(_) => return Ok(()),
                Event::Eof => return Err(self.ended_early(name)),
                _ => {}
            }
        }
    }

    /// Reads what is left of the part, so that its size and checksum are checked.
    pub fn finish(mut self) -> Result<(), ReadError> {
        self.reader.get_mut().drain()
    }
}

/// Appends raw (reference-free) XML text to `out`, normalising line endings as XML 1.0 does
/// (`\r\n` and a lone `\r` become `\n`).
pub(crate) fn push_text(text: &str, out: &mut String) {
    if !text.contains('\r') {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

/// Resolves `&name;` (already split out by the XML reader) onto `out`. An unknown entity is
/// kept as written: nothing in a workbook defines entities, and none is ever expanded.
pub(crate) fn push_reference(name: &str, out: &mut String) {
    match resolve_reference(name) {
        Some(c) => out.push(c),
        None => {
            out.push('&');
            out.push_str(name);
            out.push(';');
        }
    }
}

/// The character of a predefined entity or a character reference (`amp`, `#65`, `#x41`).
fn resolve_reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let value = match number.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.len() <= 8 => u32::from_str_radix(hex, 16).ok()?,
                None if !number.is_empty() && number.len() <= 10 => number.parse().ok()?,
                _ => return None,
            };
            char::from_u32(value).filter(|c| *c != '\0')
        }
    }
}

/// Unescapes an attribute value in one pass: a reference is a name or number of at most 10
/// bytes right after its `&`, so each `&` costs a few steps and a value made of a million
/// `&` takes a million steps, not a million squared. A `&` that starts no reference is kept
/// as written; white space characters become spaces, as XML normalises attribute values.
pub(crate) fn unescape_attribute(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'&' => {
                let end = (i + 12).min(bytes.len());
                let mut j = i + 1;
                while j < end && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'#') {
                    j += 1;
                }
                let reference = (j > i + 1 && bytes.get(j) == Some(&b';'))
                    .then(|| resolve_reference(&text[i + 1..j]))
                    .flatten();
                match reference {
                    Some(c) => {
                        out.push_str(&text[copied..i]);
                        out.push(c);
                        i = j + 1;
                        copied = i;
                    }
                    None => i += 1,
                }
            }
            b'\r' | b'\n' | b'\t' => {
                out.push_str(&text[copied..i]);
                out.push(' ');
                i += if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The value of the attribute with local name `name`, unescaped.
pub(crate) fn attribute(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for attr in e.attributes().with_checks(false) {
        let attr: Attribute<'_> = attr.map_err(|e| e.to_string())?;
        if attr.key.local_name().into_inner() == name {
            return Ok(Some(unescape_attribute(&attr.value)));
        }
    }
    Ok(None)
}

/// Undoes Excel's escaping of characters XML cannot hold: `_x000D_` is a carriage return
/// (four hex digits, one UTF-16 unit; surrogate pairs come as two escapes) and `_x005F_`
/// escapes a literal underscore, so `_x005F_x000D_` reads `_x000D_`. Linear: each `_` is
/// looked at once.
pub(crate) fn unescape_excel(text: &str) -> Cow<'_, str> {
    let Some(first) = find_escape(text, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut next = Some(first);
    while let Some((at, unit)) = next {
        out.push_str(&text[copied..at]);
        let mut end = at + 7;
        let c = match unit {
            0xD800..=0xDBFF => match parse_escape(text, end) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    end += 7;
                    char::from_u32(0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00))
                }
                _ => None,
            },
            _ => char::from_u32(u32::from(unit)),
        };
        out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
        copied = end;
        next = find_escape(text, end);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

fn find_escape(text: &str, mut from: usize) -> Option<(usize, u16)> {
    while let Some(offset) = text.get(from..)?.find('_') {
        let at = from + offset;
        if let Some(unit) = parse_escape(text, at) {
            return Some((at, unit));
        }
        from = at + 1;
    }
    None
}

fn parse_escape(text: &str, at: usize) -> Option<u16> {
    let b = text.as_bytes().get(at..at + 7)?;
    if b[0] != b'_' || b[1] != b'x' || b[6] != b'_' || !b[2..6].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u16::from_str_radix(std::str::from_utf8(&b[2..6]).ok()?, 16).ok()
}

/// Trims the white space XML knows (space, tab, CR, LF) — not Unicode spaces such as U+00A0.
pub(crate) fn trim_xml(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\r', '\n'])
}

/// A cell reference such as `XFD1048576` as 1-based (row, column); the row is `None` when
/// the reference has only letters. Saturates on absurd numbers so that a hostile reference
/// reads as "too large", never as an overflow; `None` when it is not a reference at all.
pub(crate) fn parse_cell_ref(r: &[u8]) -> Option<(Option<u64>, u64)> {
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let digits = &r[letters..];
    if letters == 0 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let column = r[..letters].iter().fold(0u64, |acc, b| {
        acc.saturating_mul(26).saturating_add(u64::from(b.to_ascii_uppercase() - b'A' + 1))
    });
    if digits.is_empty() {
        return Some((None, column));
    }
    let row = digits.iter().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0')));
    (row >= 1).then_some((Some(row), column))
}

/// A whole number written in ASCII digits (surrounding XML white space allowed), saturating.
pub(crate) fn parse_count(raw: &[u8]) -> Option<u64> {
    let t = trim_xml(std::str::from_utf8(raw).ok()?);
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.bytes().fold(0u64, |acc, b| acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            parse_cell_ref(b"ZZZZZZZZZZZZZZZ99999999999999999999999"),
            Some((Some(u64::MAX), u64::MAX))
        );
        assert_eq!(parse_count(b" 4000000000 "), Some(4_000_000_000));
        assert_eq!(parse_count(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(parse_count(b"-1"), None);
        let mut out = String::new();
        push_text("a\r\nb\rc", &mut out);
        assert_eq!(out, "a\nb\nc");
    }
}
