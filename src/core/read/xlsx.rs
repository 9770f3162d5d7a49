//! XLSX workbooks, streamed: the package and workbook relationships lead to the workbook
//! part (its sheets in order, their visibility, the 1904 date system), the styles give which
//! cell formats are dates, and the shared-string table is read once into interned strings
//! that cells share. A worksheet is then read straight from the inflating part reader into
//! rows of [`RawCell`]s — XML events to cells with no tree, no dense grid and no copy of a
//! shared string — so its size in memory is the size of the cells it actually holds. Nothing
//! a part declares (`uniqueCount`, `<dimension>`, row `spans`, cell positions) sizes an
//! allocation; positions are checked against Excel's grid as cells arrive (see `rows.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use super::guard::{
    ReadError, MAX_CELLS, MAX_METADATA_PART_BYTES, MAX_PART_BYTES, MAX_SHARED_STRINGS,
    MAX_SHARED_STRING_BYTES,
};
use super::xml::{
    attribute, attribute_text, attributes, local, parse_count, starts_with, trim_xml, unescape_excel,
    Scanner, Token,
};
use super::zip::{Archive, Entry};

/// What a cell's number format makes of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberKind {
    Plain,
    Date,
    Duration,
}

/// One sheet of the workbook, in workbook order.
#[derive(Debug, Clone)]
pub(crate) struct SheetInfo {
    pub name: String,
    /// The sheet's part, when its relationship leads to one.
    pub(super) path: Option<String>,
    pub is_worksheet: bool,
    pub visible: bool,
}

/// An opened workbook: its sheets, date system, cell formats and shared strings.
pub(crate) struct Book<'a> {
    pub(super) file: &'a str,
    pub(super) archive: Archive<'a>,
    pub sheets: Vec<SheetInfo>,
    pub(super) is_1904: bool,
    /// Number kind by cell format index (`s` attribute).
    pub(super) formats: Vec<NumberKind>,
    /// The shared strings, each once; cells hold clones of these.
    pub(super) strings: Vec<Arc<str>>,
}

/// A reading error, or the error a row handler returned.
pub(crate) enum RowsError<E> {
    Read(ReadError),
    Row(E),
}

impl<E> From<ReadError> for RowsError<E> {
    fn from(e: ReadError) -> Self {
        RowsError::Read(e)
    }
}

/// Joins a relationship target to the folder of the part that declares it.
pub(crate) fn resolve_target(folder: &str, target: &str) -> String {
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_string(),
        None => format!("{folder}{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

impl<'a> Book<'a> {
    /// Opens a workbook: its directory, relationships, sheets, styles and shared strings.
    pub fn open(file: &'a str, bytes: &'a [u8]) -> Result<Book<'a>, ReadError> {
        let archive = Archive::open(file, bytes)?;
        let not_a_workbook =
            |detail: &str| ReadError::NotAWorkbook { file: file.to_string(), detail: detail.to_string() };

        // The workbook part, from the package relationships (or where Excel puts it).
        let package_rels = match archive.find("_rels/.rels") {
            Some(entry) => relationships(&archive, file, entry)?,
            None => Vec::new(),
        };
        let workbook_path = package_rels
            .iter()
            .find(|r| r.kind.ends_with("/officeDocument"))
            .map(|r| resolve_target("", &r.target))
            .unwrap_or_else(|| "xl/workbook.xml".to_string());
        let workbook_entry =
            archive.find(&workbook_path).ok_or_else(|| not_a_workbook("it has no workbook part"))?;
        let folder = workbook_path.rfind('/').map_or(String::new(), |i| workbook_path[..=i].to_string());
        let workbook_file = &workbook_path[folder.len()..];
        let rels = match archive.find(&format!("{folder}_rels/{workbook_file}.rels")) {
            Some(entry) => relationships(&archive, file, entry)?,
            None => return Err(not_a_workbook("its workbook has no relationships part")),
        };
        let by_id: HashMap<&str, &Relationship> = rels.iter().map(|r| (r.id.as_str(), r)).collect();
        let (declared, is_1904) = read_workbook(&archive, file, workbook_entry)?;
        let sheets = declared
            .into_iter()
            .map(|(name, id, visible)| {
                let rel = by_id.get(id.as_str());
                SheetInfo {
                    name,
                    path: rel.map(|r| resolve_target(&folder, &r.target)),
                    is_worksheet: rel.is_some_and(|r| r.kind.ends_with("/worksheet")),
                    visible,
                }
            })
            .collect();

        let related = |kind: &str, default: &str| {
            rels.iter()
                .find(|r| r.kind.ends_with(kind))
                .map(|r| resolve_target(&folder, &r.target))
                .unwrap_or_else(|| format!("{folder}{default}"))
        };
        let formats = match archive.find(&related("/styles", "styles.xml")) {
            Some(entry) => read_styles(&archive, file, entry)?,
            None => Vec::new(),
        };
        let strings = match archive.find(&related("/sharedStrings", "sharedStrings.xml")) {
            Some(entry) => read_shared_strings(&archive, file, entry)?,
            None => Vec::new(),
        };
        Ok(Book { file, archive, sheets, is_1904, formats, strings })
    }

    /// The first visible worksheet in workbook order (the first worksheet when all are
    /// hidden).
    pub fn first_worksheet(&self) -> Option<&SheetInfo> {
        let mut worksheets = self.sheets.iter().filter(|s| s.is_worksheet);
        worksheets.clone().find(|s| s.visible).or_else(|| worksheets.next())
    }

    /// The sheet named `name`.
    pub fn sheet(&self, name: &str) -> Option<&SheetInfo> {
        self.sheets.iter().find(|s| s.name == name)
    }
}

/// Gathers the text of a shared string or an inline string (`<si>`, `<is>`): the `<t>` runs
/// in order, rich-text runs joined, phonetic guides (`<rPh>`) left out; each run trimmed of
/// XML white space unless it keeps its spaces (`xml:space="preserve"`), then unescaped.
pub(super) fn rich_text(xml: &mut Scanner<'_>, closing: &str, out: &mut String) -> Result<(), ReadError> {
    let ctx = xml.context();
    let mut depth = 0usize;
    let mut run = String::new();
    loop {
        let preserve = match xml.next()? {
            Token::Start { name, attributes, empty: false } => match local(name) {
                b"t" => {
                    attribute(attributes, b"space").map_err(|d| ctx.malformed(d))?.as_deref()
                        == Some("preserve")
                }
                b"rPh" => {
                    xml.skip("rPh")?;
                    continue;
                }
                _ => {
                    depth += 1;
                    continue;
                }
            },
            Token::End { .. } => {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
                continue;
            }
            Token::Eof => return Err(xml.ended_early(closing)),
            _ => continue,
        };
        run.clear();
        match xml.text_then_end(b"t")? {
            Some(raw) => super::xml::push_text(raw, &mut run).map_err(|d| ctx.malformed(d))?,
            None => xml.text_into("t", &mut run)?,
        }
        let text = if preserve { run.as_str() } else { trim_xml(&run) };
        out.push_str(&unescape_excel(text));
    }
}

/// One relationship of a `.rels` part.
struct Relationship {
    id: String,
    target: String,
    kind: String,
}

/// The relationships declared by a `.rels` part.
fn relationships(archive: &Archive<'_>, file: &str, entry: &Entry) -> Result<Vec<Relationship>, ReadError> {
    let mut xml = Scanner::new(archive.open_part(entry, MAX_METADATA_PART_BYTES)?, file, None);
    let ctx = xml.context();
    let mut found = Vec::new();
    loop {
        match xml.next()? {
            Token::Start { name, attributes: raw, .. } if local(name) == b"Relationship" => {
                let mut relationship =
                    Relationship { id: String::new(), target: String::new(), kind: String::new() };
                for attr in attributes(raw) {
                    let (key, value) = attr.map_err(|d| ctx.malformed(d))?;
                    let slot = match key {
                        b"Id" => &mut relationship.id,
                        b"Target" => &mut relationship.target,
                        b"Type" => &mut relationship.kind,
                        _ => continue,
                    };
                    *slot = attribute_text(value).map_err(|d| ctx.malformed(d))?;
                }
                found.push(relationship);
            }
            Token::Eof => return Ok(found),
            _ => {}
        }
    }
}

/// The sheets of the workbook part — (name, relationship id, visible) in workbook order.
type DeclaredSheets = Vec<(String, String, bool)>;

/// The workbook part: its sheets, and whether it uses the 1904 date system.
fn read_workbook(
    archive: &Archive<'_>,
    file: &str,
    entry: &Entry,
) -> Result<(DeclaredSheets, bool), ReadError> {
    let mut xml = Scanner::new(archive.open_part(entry, MAX_METADATA_PART_BYTES)?, file, None);
    let ctx = xml.context();
    let mut sheets = Vec::new();
    let mut is_1904 = false;
    loop {
        match xml.next()? {
            Token::Start { name, attributes: raw, .. } => match local(name) {
                b"sheet" => {
                    let (mut name, mut id, mut visible) = (String::new(), String::new(), true);
                    for attr in attributes(raw) {
                        let (key, value) = attr.map_err(|d| ctx.malformed(d))?;
                        let value = attribute_text(value).map_err(|d| ctx.malformed(d))?;
                        match key {
                            b"name" => name = value,
                            b"id" => id = value,
                            b"state" => visible = value == "visible",
                            _ => {}
                        }
                    }
                    sheets.push((name, id, visible));
                }
                b"workbookPr" => {
                    if let Some(v) = attribute(raw, b"date1904").map_err(|d| ctx.malformed(d))? {
                        is_1904 = v == "1" || v == "true";
                    }
                }
                _ => {}
            },
            Token::Eof => return Ok((sheets, is_1904)),
            _ => {}
        }
    }
}

/// The number kind of every cell format (`<cellXfs>`), by index.
fn read_styles(archive: &Archive<'_>, file: &str, entry: &Entry) -> Result<Vec<NumberKind>, ReadError> {
    let mut xml = Scanner::new(archive.open_part(entry, MAX_METADATA_PART_BYTES)?, file, None);
    let ctx = xml.context();
    let mut custom: HashMap<u64, NumberKind> = HashMap::new();
    let mut formats = Vec::new();
    let mut in_cell_xfs = false;
    loop {
        match xml.next()? {
            Token::Start { name, attributes: raw, empty } => match local(name) {
                b"numFmt" => {
                    let id = attribute(raw, b"numFmtId").map_err(|d| ctx.malformed(d))?;
                    let code = attribute(raw, b"formatCode").map_err(|d| ctx.malformed(d))?;
                    if let (Some(id), Some(code)) = (id.and_then(|i| parse_count(i.as_bytes())), code) {
                        custom.insert(id, custom_format_kind(&code));
                    }
                }
                b"cellXfs" => in_cell_xfs = !empty,
                b"xf" if in_cell_xfs => {
                    let id = attribute(raw, b"numFmtId").map_err(|d| ctx.malformed(d))?;
                    let kind = match id.and_then(|i| parse_count(i.as_bytes())) {
                        Some(id) => custom.get(&id).copied().unwrap_or_else(|| builtin_format_kind(id)),
                        None => NumberKind::Plain,
                    };
                    formats.push(kind);
                }
                _ => {}
            },
            Token::End { name } if local(name) == b"cellXfs" => in_cell_xfs = false,
            Token::Eof => return Ok(formats),
            _ => {}
        }
    }
}

/// What Excel's built-in number formats make of a number.
fn builtin_format_kind(id: u64) -> NumberKind {
    match id {
        14..=22 | 27..=36 | 45 | 47 | 50..=58 => NumberKind::Date,
        46 => NumberKind::Duration,
        _ => NumberKind::Plain,
    }
}

/// Whether a custom number format shows a date or time (`yyyy-mm-dd`, `h:mm`), an elapsed
/// duration (`[h]:mm`), or a plain number. Only the first section counts; quoted text,
/// escaped characters and bracketed colours and conditions are not format tokens.
fn custom_format_kind(format: &str) -> NumberKind {
    // The same scan as calamine's, so that both readers agree on which cells are dates.
    let mut escaped = false;
    let mut quoted = false;
    let mut brackets = 0u8;
    let mut previous = ' ';
    let mut elapsed = false;
    let mut am_pm = false;
    for c in format.chars() {
        match (c, escaped, quoted, am_pm, brackets) {
            (_, true, ..) => escaped = false,
            ('_' | '\\' | '*', ..) => escaped = true,
            ('"', _, true, _, _) => quoted = false,
            (_, _, true, _, _) => {}
            ('"', ..) => quoted = true,
            (';', ..) => return NumberKind::Plain,
            ('[', ..) => brackets = brackets.saturating_add(1),
            (']', .., 1) if elapsed => return NumberKind::Duration,
            (']', ..) => brackets = brackets.saturating_sub(1),
            ('a' | 'A', _, _, false, 0) => am_pm = true,
            ('p' | 'm' | '/' | 'P' | 'M', _, _, true, 0) => return NumberKind::Date,
            ('d' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S', _, _, false, 0) => {
                return NumberKind::Date
            }
            _ => {
                if !(elapsed && c.eq_ignore_ascii_case(&previous)) {
                    elapsed = previous == '[' && matches!(c, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                }
            }
        }
        previous = c;
    }
    NumberKind::Plain
}

/// The shared-string table: every string once, for cells to share. Its declared counts are
/// checked wherever the `<sst>` tag stands and size nothing; what it actually holds is held
/// to [`MAX_SHARED_STRINGS`] strings and [`MAX_SHARED_STRING_BYTES`] of text.
fn read_shared_strings(archive: &Archive<'_>, file: &str, entry: &Entry) -> Result<Vec<Arc<str>>, ReadError> {
    let mut xml = Scanner::new(archive.open_part(entry, MAX_PART_BYTES)?, file, None);
    let ctx = xml.context();
    let mut strings: Vec<Arc<str>> = Vec::new();
    let mut text = String::new();
    let mut bytes = 0u64;
    let empty: Arc<str> = Arc::from("");
    let mut closed = false;
    let too_large = |what: &str| ReadError::SharedStringsTooLarge {
        file: file.to_string(),
        part: ctx.part.to_string(),
        what: what.to_string(),
    };
    loop {
        xml.fill(FAST_WINDOW)?;
        if let Some((raw, preserve, len)) = fast_shared_string(xml.window()) {
            let run =
                std::str::from_utf8(raw).map_err(|_| ctx.malformed("a string is not valid UTF-8".into()))?;
            let run = if preserve { run } else { trim_xml(run) };
            let text = unescape_excel(run);
            bytes += text.len() as u64;
            if bytes > MAX_SHARED_STRING_BYTES {
                return Err(too_large("256 MiB of text"));
            }
            strings.push(if text.is_empty() { Arc::clone(&empty) } else { Arc::from(text.as_ref()) });
            xml.advance(len);
            if strings.len() as u64 > MAX_SHARED_STRINGS {
                return Err(too_large("20,000,000 strings"));
            }
            continue;
        }
        match xml.next()? {
            Token::Start { name, attributes: raw, empty: is_empty } => match local(name) {
                b"si" if is_empty => strings.push(Arc::clone(&empty)),
                b"si" => {
                    text.clear();
                    rich_text(&mut xml, "si", &mut text)?;
                    bytes += text.len() as u64;
                    if bytes > MAX_SHARED_STRING_BYTES {
                        return Err(too_large("256 MiB of text"));
                    }
                    strings.push(if text.is_empty() { Arc::clone(&empty) } else { Arc::from(text.as_str()) });
                }
                b"sst" => {
                    let limits = [
                        (&b"uniqueCount"[..], MAX_SHARED_STRINGS.min(entry.size / 4 + 1000)),
                        (&b"count"[..], MAX_CELLS),
                    ];
                    for (attribute_name, limit) in limits {
                        let declared = attribute(raw, attribute_name).map_err(|d| ctx.malformed(d))?;
                        if let Some(declared) = declared.and_then(|d| parse_count(d.as_bytes())) {
                            if declared > limit {
                                return Err(ReadError::TooManySharedStrings {
                                    file: file.to_string(),
                                    attribute: String::from_utf8_lossy(attribute_name).into_owned(),
                                    declared,
                                    limit,
                                });
                            }
                        }
                    }
                    closed = is_empty;
                }
                _ => {}
            },
            Token::End { name } if local(name) == b"sst" => closed = true,
            Token::Eof if closed => return Ok(strings),
            Token::Eof => return Err(xml.ended_early("sst")),
            _ => {}
        }
        if strings.len() as u64 > MAX_SHARED_STRINGS {
            return Err(too_large("20,000,000 strings"));
        }
    }
}

/// How many bytes are kept in the scanner's window for the fast path to see a whole string.
const FAST_WINDOW: usize = 512;

/// Reads `<si><t>text</t></si>` (or with `xml:space="preserve"`, and no references or
/// carriage returns in the text) from the start of `w`: the raw text, whether it keeps its
/// spaces, and the bytes it takes. `None` for any other shape, which the general path reads.
fn fast_shared_string(w: &[u8]) -> Option<(&[u8], bool, usize)> {
    let (preserve, start) = if starts_with(w, b"<si><t>") {
        (false, 7)
    } else if starts_with(w, b"<si><t xml:space=\"preserve\">") {
        (true, 28)
    } else {
        return None;
    };
    let mut i = start;
    loop {
        match *w.get(i)? {
            b'<' => break,
            b'&' | b'\r' => return None,
            _ => i += 1,
        }
    }
    starts_with(&w[i..], b"</t></si>").then_some((&w[start..i], preserve, i + 9))
}
