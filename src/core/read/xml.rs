//! The XML layer between a zip part and the workbook reader: a small pull scanner over the
//! part's inflated bytes. It keeps a window of the part — never the whole part — holding at
//! most one token (a tag, a run of text, a comment) past what has been read, refuses a token
//! longer than [`MAX_XML_TOKEN_BYTES`], and resumes every search where the last one stopped,
//! so each byte is looked at a bounded number of times however the part is cut into chunks.
//! Spreadsheet parts need no more of XML than this: tags, attributes, text, CDATA; comments
//! and processing instructions are skipped and a document type declaration is refused
//! (nothing in a workbook defines entities, and none is ever expanded). Text is gathered the
//! way Excel writes it: line endings normalised as XML 1.0 does, the five predefined
//! entities and character references resolved (each `&` looks no further than 12 bytes for
//! its `;`), Excel's own `_xHHHH_` escapes undone.

use std::borrow::Cow;

use super::guard::{ReadError, MAX_XML_TOKEN_BYTES};
use super::zip::PartReader;

/// One piece of XML, borrowed from the scanner's window.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Token<'s> {
    /// `<name attributes>`, or `<name attributes/>` when `empty`.
    Start {
        name: &'s [u8],
        attributes: &'s [u8],
        empty: bool,
    },
    /// `</name>`.
    End {
        name: &'s [u8],
    },
    /// Raw text up to the next tag: references not yet resolved.
    Text(&'s [u8]),
    /// The content of `<![CDATA[…]]>`, taken literally.
    CData(&'s [u8]),
    Eof,
}

/// The local part of a tag or attribute name (`x:sheet` → `sheet`).
#[inline]
pub(crate) fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(at) => &name[at + 1..],
        None => name,
    }
}

/// `haystack.starts_with(prefix)` for the few bytes of a tag, without a call to `memcmp`.
#[inline(always)]
pub(crate) fn starts_with(haystack: &[u8], prefix: &[u8]) -> bool {
    if haystack.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if haystack[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// What an error about a part needs to say where it is: the file, the sheet, the part.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub file: &'a str,
    pub sheet: Option<&'a str>,
    pub part: &'a str,
}

impl Context<'_> {
    /// A malformed-workbook error about this part.
    pub fn malformed(&self, detail: String) -> ReadError {
        ReadError::MalformedWorkbook {
            file: self.file.to_string(),
            sheet: self.sheet.map(str::to_string),
            part: self.part.to_string(),
            detail,
        }
    }
}

/// A part being read as XML, with what its errors need to say where they are.
pub(crate) struct Scanner<'a> {
    part: PartReader<'a>,
    file: &'a str,
    sheet: Option<&'a str>,
    /// The window: `buf[pos..]` is not read yet.
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// Bytes of the part before `buf[0]`, for positions in messages.
    offset: u64,
}

impl<'a> Scanner<'a> {
    pub fn new(part: PartReader<'a>, file: &'a str, sheet: Option<&'a str>) -> Scanner<'a> {
        Scanner { part, file, sheet, buf: Vec::with_capacity(128 * 1024), pos: 0, eof: false, offset: 0 }
    }

    /// Where this scanner reads, for errors built while a token is borrowed.
    pub fn context(&self) -> Context<'a> {
        Context { file: self.file, sheet: self.sheet, part: self.part.part_name() }
    }

    /// A malformed-workbook error about this part.
    pub fn malformed(&self, detail: String) -> ReadError {
        self.context().malformed(detail)
    }

    /// The error for a part that ends before the element `open` is closed.
    pub fn ended_early(&self, open: &str) -> ReadError {
        self.malformed(format!("the XML ends before </{open}>"))
    }

    fn malformed_here(&self, what: &str) -> ReadError {
        self.malformed(format!("{what} at byte {}", self.offset + self.pos as u64))
    }

    /// Moves what is not read yet to the front of the window and unpacks the next chunk
    /// after it; `false` at the end of the part.
    fn refill(&mut self) -> Result<bool, ReadError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.offset += self.pos as u64;
            self.pos = 0;
        }
        if self.buf.len() as u64 > MAX_XML_TOKEN_BYTES {
            return Err(ReadError::XmlTokenTooLarge {
                file: self.file.to_string(),
                part: self.part.part_name().to_string(),
            });
        }
        let n = self.part.append_to(&mut self.buf)?;
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// Whether at least `n` bytes are left to read (unpacking more as needed).
    #[inline]
    fn ensure(&mut self, n: usize) -> Result<bool, ReadError> {
        if self.buf.len() - self.pos >= n {
            return Ok(true);
        }
        self.ensure_slow(n)
    }

    fn ensure_slow(&mut self, n: usize) -> Result<bool, ReadError> {
        while self.buf.len() - self.pos < n {
            if !self.refill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs `find` over the unread bytes until it finds the end of a token, unpacking more
    /// between tries. `find(window, from)` looks from `from` on and returns the end (an
    /// offset in the window) or where to resume; its own state carries over between tries.
    fn scan(
        &mut self,
        mut find: impl FnMut(&[u8], usize) -> Result<usize, usize>,
    ) -> Result<Option<usize>, ReadError> {
        let mut from = 0;
        loop {
            match find(&self.buf[self.pos..], from) {
                Ok(end) => return Ok(Some(end)),
                Err(resume) => from = resume,
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    /// The offset of the next `<` in the unread bytes (`None` at the end of the part).
    fn next_lt(&mut self) -> Result<Option<usize>, ReadError> {
        self.scan(|w, from| memchr::memchr(b'<', &w[from..]).map(|i| from + i).ok_or(w.len()))
    }

    /// The end (one past `>`) of the tag starting the unread bytes, stepping over quoted
    /// attribute values, which may hold `>`.
    fn tag_end(&mut self) -> Result<Option<usize>, ReadError> {
        let mut quote = 0u8;
        self.scan(|w, from| {
            let mut i = from;
            while i < w.len() {
                let b = w[i];
                if quote != 0 {
                    if b == quote {
                        quote = 0;
                    }
                } else if b == b'>' {
                    return Ok(i + 1);
                } else if b == b'"' || b == b'\'' {
                    quote = b;
                }
                i += 1;
            }
            Err(w.len())
        })
    }

    /// The end (one past the terminator) of a construct that ends with `terminator`, looked
    /// for from `start` on.
    fn ends_with(&mut self, start: usize, terminator: &'static [u8]) -> Result<Option<usize>, ReadError> {
        let last = terminator[terminator.len() - 1];
        self.scan(|w, from| {
            let mut at = from.max(start + terminator.len() - 1);
            while let Some(i) = memchr::memchr(last, w.get(at..).unwrap_or(&[])) {
                let end = at + i + 1;
                if w[..end].ends_with(terminator) && end - terminator.len() >= start {
                    return Ok(end);
                }
                at = end;
            }
            Err(w.len().max(from))
        })
    }

    /// The next token.
    pub fn next(&mut self) -> Result<Token<'_>, ReadError> {
        loop {
            if !self.ensure(1)? {
                return Ok(Token::Eof);
            }
            if self.buf[self.pos] != b'<' {
                let end = match self.next_lt()? {
                    Some(end) => end,
                    None => self.buf.len() - self.pos,
                };
                let start = self.pos;
                self.pos += end;
                return Ok(Token::Text(&self.buf[start..start + end]));
            }
            self.ensure(9)?;
            let w = &self.buf[self.pos..];
            if w.starts_with(b"</") {
                let end =
                    self.tag_end()?.ok_or_else(|| self.malformed_here("the XML ends inside an end tag"))?;
                let start = self.pos;
                self.pos += end;
                let name = &self.buf[start + 2..start + end - 1];
                let trimmed = name.iter().rposition(|b| !is_space(*b)).map_or(0, |i| i + 1);
                return Ok(Token::End { name: &name[..trimmed] });
            }
            if w.starts_with(b"<?") {
                let end = self
                    .ends_with(2, b"?>")?
                    .ok_or_else(|| self.malformed_here("the XML ends inside <?…?>"))?;
                self.pos += end;
                continue;
            }
            if w.starts_with(b"<!--") {
                let end = self
                    .ends_with(4, b"-->")?
                    .ok_or_else(|| self.malformed_here("the XML ends inside a comment"))?;
                self.pos += end;
                continue;
            }
            if w.starts_with(b"<![CDATA[") {
                let end = self
                    .ends_with(9, b"]]>")?
                    .ok_or_else(|| self.malformed_here("the XML ends inside a CDATA section"))?;
                let start = self.pos;
                self.pos += end;
                return Ok(Token::CData(&self.buf[start + 9..start + end - 3]));
            }
            if w.starts_with(b"<!") {
                return Err(self.malformed_here("a document type declaration (not read in a workbook)"));
            }
            let end = self.tag_end()?.ok_or_else(|| self.malformed_here("the XML ends inside a tag"))?;
            let start = self.pos;
            self.pos += end;
            let mut inner = &self.buf[start + 1..start + end - 1];
            let empty = inner.last() == Some(&b'/');
            if empty {
                inner = &inner[..inner.len() - 1];
            }
            let name_len = inner.iter().position(|b| is_space(*b)).unwrap_or(inner.len());
            if name_len == 0 {
                self.pos = start;
                return Err(self.malformed_here("a tag without a name"));
            }
            return Ok(Token::Start { name: &inner[..name_len], attributes: &inner[name_len..], empty });
        }
    }

    /// Consumes `literal` if the unread bytes start with it.
    #[inline]
    pub fn eat(&mut self, literal: &[u8]) -> Result<bool, ReadError> {
        if !self.ensure(literal.len())? || !starts_with(&self.buf[self.pos..], literal) {
            return Ok(false);
        }
        self.pos += literal.len();
        Ok(true)
    }

    /// The unread bytes of the window, for a caller that reads a common shape directly.
    #[inline]
    pub fn window(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Marks `n` bytes of [`Scanner::window`] as read.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        self.pos += n;
    }

    /// Makes at least `n` bytes readable in the window when the part has that many left.
    #[inline]
    pub fn fill(&mut self, n: usize) -> Result<(), ReadError> {
        self.ensure(n).map(|_| ())
    }

    /// When the unread bytes are text (maybe none) followed by `</name>`, consumes both and
    /// returns the raw text; otherwise consumes nothing.
    pub fn text_then_end(&mut self, name: &[u8]) -> Result<Option<&[u8]>, ReadError> {
        let Some(lt) = self.next_lt()? else { return Ok(None) };
        if !self.ensure(lt + name.len() + 3)? {
            return Ok(None);
        }
        let w = &self.buf[self.pos + lt..];
        if !(starts_with(w, b"</") && starts_with(&w[2..], name) && w[2 + name.len()] == b'>') {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += lt + name.len() + 3;
        Ok(Some(&self.buf[start..start + lt]))
    }

    /// Skips the content of an element whose start tag was just read, up to its end tag.
    pub fn skip(&mut self, name: &str) -> Result<(), ReadError> {
        let mut depth = 1usize;
        loop {
            match self.next()? {
                Token::Start { empty: false, .. } => depth += 1,
                Token::End { .. } => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                Token::Eof => return Err(self.ended_early(name)),
                _ => {}
            }
        }
    }

    /// Appends the text content of an element whose start tag was just read, up to its end
    /// tag, to `out` (references resolved, still carrying Excel's `_xHHHH_` escapes). Nested
    /// elements are skipped.
    pub fn text_into(&mut self, name: &str, out: &mut String) -> Result<(), ReadError> {
        loop {
            let problem = match self.next()? {
                Token::Text(t) => push_text(t, out).err(),
                Token::CData(t) => push_cdata(t, out).err(),
                Token::Start { name: inner, empty: false, .. } => {
                    let inner = String::from_utf8_lossy(local(inner)).into_owned();
                    self.skip(&inner)?;
                    None
                }
                Token::End { .. } => return Ok(()),
                Token::Eof => return Err(self.ended_early(name)),
                Token::Start { .. } => None,
            };
            if let Some(detail) = problem {
                return Err(self.malformed(detail));
            }
        }
    }

    /// Reads what is left of the part, so that its size and checksum are checked.
    pub fn finish(mut self) -> Result<(), ReadError> {
        while !self.eof {
            self.pos = self.buf.len();
            self.refill()?;
        }
        Ok(())
    }
}

/// The attributes of a start tag: (local name, raw value) pairs.
pub(crate) struct Attributes<'s> {
    rest: &'s [u8],
}

pub(crate) fn attributes(raw: &[u8]) -> Attributes<'_> {
    Attributes { rest: raw }
}

impl<'s> Iterator for Attributes<'s> {
    type Item = Result<(&'s [u8], &'s [u8]), String>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest;
        let start = s.iter().position(|b| !is_space(*b))?;
        let s = &s[start..];
        self.rest = &[];
        let name_end = s.iter().position(|b| *b == b'=' || is_space(*b)).unwrap_or(s.len());
        let mut at = name_end;
        while s.get(at).is_some_and(|b| is_space(*b)) {
            at += 1;
        }
        if s.get(at) != Some(&b'=') || name_end == 0 {
            return Some(Err(format!("a malformed attribute \"{}\"", short(s))));
        }
        at += 1;
        while s.get(at).is_some_and(|b| is_space(*b)) {
            at += 1;
        }
        let quote = match s.get(at) {
            Some(q @ (b'"' | b'\'')) => *q,
            _ => return Some(Err(format!("an attribute value without quotes \"{}\"", short(s)))),
        };
        let Some(len) = memchr::memchr(quote, &s[at + 1..]) else {
            return Some(Err(format!("an attribute value without its closing quote \"{}\"", short(s))));
        };
        self.rest = &s[at + 1 + len + 1..];
        Some(Ok((local(&s[..name_end]), &s[at + 1..at + 1 + len])))
    }
}

/// At most 40 bytes of raw XML, for messages.
fn short(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(40)]).into_owned()
}

/// The value of the attribute with local name `name`, unescaped.
pub(crate) fn attribute(raw: &[u8], name: &[u8]) -> Result<Option<String>, String> {
    for attr in attributes(raw) {
        let (key, value) = attr?;
        if key == name {
            return attribute_text(value).map(Some);
        }
    }
    Ok(None)
}

/// An attribute's raw value as text, unescaped.
pub(crate) fn attribute_text(value: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(value).map_err(|_| "an attribute is not valid UTF-8".to_string())?;
    Ok(unescape_attribute(text))
}

/// Appends raw XML text to `out`: UTF-8 checked, references resolved, line endings
/// normalised as XML 1.0 does (`\r\n` and a lone `\r` become `\n`).
pub(crate) fn push_text(raw: &[u8], out: &mut String) -> Result<(), String> {
    let text = std::str::from_utf8(raw).map_err(|_| "the text is not valid UTF-8".to_string())?;
    if memchr::memchr2(b'&', b'\r', raw).is_none() {
        out.push_str(text);
        return Ok(());
    }
    let (mut copied, mut i) = (0, 0);
    while let Some(offset) = memchr::memchr2(b'&', b'\r', &raw[i..]) {
        let at = i + offset;
        out.push_str(&text[copied..at]);
        if raw[at] == b'\r' {
            out.push('\n');
            i = at + if raw.get(at + 1) == Some(&b'\n') { 2 } else { 1 };
        } else {
            match reference_at(text, at) {
                Some((c, end)) => {
                    out.push(c);
                    i = end;
                }
                None => {
                    out.push('&');
                    i = at + 1;
                }
            }
        }
        copied = i;
    }
    out.push_str(&text[copied..]);
    Ok(())
}

/// Appends CDATA content: taken literally, line endings normalised.
fn push_cdata(raw: &[u8], out: &mut String) -> Result<(), String> {
    let text = std::str::from_utf8(raw).map_err(|_| "the text is not valid UTF-8".to_string())?;
    out.push_str(&text.replace("\r\n", "\n").replace('\r', "\n"));
    Ok(())
}

/// The reference starting at the `&` at `at` — a name or number of at most 10 bytes and its
/// `;` — and the offset after it.
fn reference_at(text: &str, at: usize) -> Option<(char, usize)> {
    let bytes = text.as_bytes();
    let end = (at + 12).min(bytes.len());
    let mut j = at + 1;
    while j < end && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'#') {
        j += 1;
    }
    (j > at + 1 && bytes.get(j) == Some(&b';'))
        .then(|| resolve_reference(&text[at + 1..j]).map(|c| (c, j + 1)))?
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

/// Unescapes an attribute value in one pass: each `&` costs a few steps (see
/// [`reference_at`]), so a value made of a million `&` takes a million steps, not a million
/// squared. A `&` that starts no reference is kept as written; white space characters
/// become spaces, as XML normalises attribute values.
pub(crate) fn unescape_attribute(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'&' => match reference_at(text, i) {
                Some((c, end)) => {
                    out.push_str(&text[copied..i]);
                    out.push(c);
                    i = end;
                    copied = i;
                }
                None => i += 1,
            },
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
    while let Some(offset) = memchr::memchr(b'_', text.as_bytes().get(from..)?) {
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
    let b = text.as_bytes();
    let (mut start, mut end) = (0, b.len());
    while start < end && is_space(b[start]) {
        start += 1;
    }
    while end > start && is_space(b[end - 1]) {
        end -= 1;
    }
    // Both ends sit next to ASCII bytes, so they are character boundaries.
    &text[start..end]
}

/// A cell reference such as `XFD1048576` as 1-based (row, column); the row is `None` when
/// the reference has only letters. Saturates on absurd numbers so that a hostile reference
/// reads as "too large", never as an overflow; `None` when it is not a reference at all.
pub(crate) fn parse_cell_ref(r: &[u8]) -> Option<(Option<u64>, u64)> {
    let n = r.len();
    let mut i = 0;
    let mut column = 0u64;
    while i < n {
        let letter = r[i] | 0x20;
        if !letter.is_ascii_lowercase() {
            break;
        }
        column = column.saturating_mul(26).saturating_add(u64::from(letter - b'a' + 1));
        i += 1;
    }
    if i == 0 {
        return None;
    }
    if i == n {
        return Some((None, column));
    }
    let mut row = 0u64;
    while i < n {
        let digit = r[i].wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        row = row.saturating_mul(10).saturating_add(u64::from(digit));
        i += 1;
    }
    (row >= 1).then_some((Some(row), column))
}

/// A whole number written in ASCII digits (surrounding XML white space allowed), saturating.
pub(crate) fn parse_count(raw: &[u8]) -> Option<u64> {
    // The common case first: nothing but a few digits.
    if !raw.is_empty() && raw.len() <= 18 {
        let mut n = 0u64;
        let mut all_digits = true;
        for &b in raw {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                all_digits = false;
                break;
            }
            n = n * 10 + u64::from(digit);
        }
        if all_digits {
            return Some(n);
        }
    }
    let (mut start, mut end) = (0, raw.len());
    while start < end && is_space(raw[start]) {
        start += 1;
    }
    while end > start && is_space(raw[end - 1]) {
        end -= 1;
    }
    if start == end {
        return None;
    }
    let mut n = 0u64;
    while start < end {
        let digit = raw[start].wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n.saturating_mul(10).saturating_add(u64::from(digit));
        start += 1;
    }
    Some(n)
}

#[cfg(test)]
#[path = "tests_xml.rs"]
mod tests;
