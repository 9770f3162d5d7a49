//! XLSX workbooks, streamed: the package and workbook relationships lead to the workbook
//! part (its sheets in order, their visibility, the 1904 date system), the styles give which
//! cell formats are dates, and the shared-string table is read once into interned strings
//! that cells share. A worksheet is then read straight from the inflating part reader into
//! rows of [`RawCell`]s — XML events to cells with no tree, no dense grid and no copy of a
//! shared string — so its size in memory is the size of the cells it actually holds. Nothing
//! a part declares (`uniqueCount`, `<dimension>`, row `spans`, cell positions) sizes an
//! allocation; positions are checked against Excel's grid as cells arrive.

use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};

use super::guard::{
    ReadError, MAX_CELLS, MAX_COLUMNS, MAX_METADATA_PART_BYTES, MAX_PART_BYTES, MAX_ROWS, MAX_SHARED_STRINGS,
    MAX_SHARED_STRING_BYTES,
};
use super::xml::{attribute, parse_cell_ref, parse_count, trim_xml, unescape_attribute, unescape_excel, Xml};
use super::zip::{Archive, Entry};
use crate::core::sheet::RawCell;

/// Days between Excel's 1900 and 1904 date systems.
const EPOCH_1904_OFFSET: f64 = 1462.0;

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
    path: Option<String>,
    pub is_worksheet: bool,
    pub visible: bool,
}

/// An opened workbook: its sheets, date system, cell formats and shared strings.
pub(crate) struct Book<'a> {
    file: &'a str,
    archive: Archive<'a>,
    pub sheets: Vec<SheetInfo>,
    is_1904: bool,
    /// Number kind by cell format index (`s` attribute).
    formats: Vec<NumberKind>,
    strings: Vec<Arc<str>>,
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

/// The local name of a start tag (without its namespace prefix).
fn name_of<'e>(e: &'e BytesStart<'_>) -> &'e str {
    e.local_name().into_inner()
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

    /// Streams a worksheet's rows in file order: `on_row(row, cells)` gets each row that
    /// holds at least one non-empty cell, with its 1-based number and its cells by column
    /// (index 0 is column A; the row is as wide as its last non-empty cell). The handler may
    /// take the vector. Consecutive `<row>` elements with one number make one row; rows out
    /// of order are handed over as they come.
    pub fn rows<E>(
        &self,
        sheet: &SheetInfo,
        mut on_row: impl FnMut(usize, &mut Vec<RawCell>) -> Result<(), E>,
    ) -> Result<(), RowsError<E>> {
        let missing = || ReadError::MalformedWorkbook {
            file: self.file.to_string(),
            sheet: Some(sheet.name.clone()),
            part: sheet.path.clone().unwrap_or_default(),
            detail: "the sheet's part is missing".to_string(),
        };
        let entry = sheet.path.as_deref().and_then(|p| self.archive.find(p)).ok_or_else(missing)?;
        let part = self.archive.open_part(entry, MAX_PART_BYTES)?;
        let mut xml = Xml::new(part, self.file, Some(&sheet.name));
        let mut stream = RowStream {
            book: self,
            sheet: &sheet.name,
            cells: Vec::new(),
            row: 0,
            column: 0,
            spanned: 0,
            text: String::new(),
            inline: String::new(),
        };
        let mut buf = Vec::with_capacity(1024);

        // Up to <sheetData>: the dimension is checked, never used.
        loop {
            match xml.next(&mut buf)? {
                Event::Start(e) | Event::Empty(e) if name_of(&e) == "dimension" => {
                    let range = attribute(&e, "ref").map_err(|d| xml.malformed(d))?.unwrap_or_default();
                    check_dimension(&xml, &sheet.name, &range)?;
                }
                Event::Start(e) if name_of(&e) == "sheetData" => break,
                Event::Empty(e) if name_of(&e) == "sheetData" => return Ok(xml.finish()?),
                Event::Eof => return Ok(()),
                _ => {}
            }
        }
        let mut row_element = 0u64;
        loop {
            match xml.next(&mut buf)? {
                Event::Start(e) if name_of(&e) == "c" => {
                    let cell = stream.cell_start(&xml, &e, row_element)?;
                    let value = stream.read_value(&mut xml, &mut buf, &cell)?;
                    stream.place(&cell, value, &mut on_row)?;
                }
                Event::Empty(e) if name_of(&e) == "c" => {
                    // A cell with a style and no value: it only moves the column on.
                    stream.cell_start(&xml, &e, row_element)?;
                }
                Event::Start(e) | Event::Empty(e) if name_of(&e) == "row" => {
                    row_element = match attribute(&e, "r").map_err(|d| xml.malformed(d))? {
                        Some(r) => parse_count(r.as_bytes())
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| xml.malformed(format!("a row is numbered \"{}\"", short(&r))))?,
                        None => row_element.max(stream.row) + 1,
                    };
                    stream.column = 0;
                }
                Event::End(e) if e.local_name().as_ref() == "sheetData" => break,
                Event::Eof => return Err(xml.ended_early("sheetData").into()),
                _ => {}
            }
        }
        stream.flush(&mut on_row)?;
        Ok(xml.finish()?)
    }
}

/// At most 40 characters of a value, for messages.
fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Checks a worksheet's declared `<dimension ref="…">`: it must be a range within Excel's
/// grid. It sizes nothing.
fn check_dimension(xml: &Xml<'_>, sheet: &str, range: &str) -> Result<(), ReadError> {
    let shown = short(range);
    let mut corners = range.trim().split(':');
    let first = corners.next().and_then(|r| parse_cell_ref(r.as_bytes()));
    let last = match corners.next() {
        Some(r) => parse_cell_ref(r.as_bytes()),
        None => first,
    };
    let (Some((Some(row1), col1)), Some((Some(row2), col2)), None) = (first, last, corners.next()) else {
        return Err(xml.malformed(format!("its dimension \"{shown}\" is not a cell range")));
    };
    if row2 < row1 || col2 < col1 {
        return Err(xml.malformed(format!("its dimension \"{shown}\" ends before it starts")));
    }
    if row2 > MAX_ROWS || col2 > MAX_COLUMNS {
        return Err(ReadError::DeclaredDimensionsTooLarge {
            file: xml.file().to_string(),
            sheet: sheet.to_string(),
            range: shown,
            rows: row2 - row1 + 1,
            columns: col2 - col1 + 1,
        });
    }
    Ok(())
}

/// A cell's declared type (`t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellType {
    Number,
    Shared,
    Formula,
    Inline,
    Bool,
    Error,
    IsoDate,
}

/// Where a cell goes and how to read its value.
struct CellStart {
    /// 1-based row and column.
    row: u64,
    column: u64,
    kind: CellType,
    /// Whether the type was given (a number that does not parse is then an error, not text).
    typed: bool,
    number: NumberKind,
}

/// The row being built while a worksheet streams by.
struct RowStream<'b> {
    book: &'b Book<'b>,
    sheet: &'b str,
    cells: Vec<RawCell>,
    /// The number of the row being built (0 before the first).
    row: u64,
    /// The column of the last cell of the current `<row>` element (0 before the first).
    column: u64,
    /// Cells held or spanned by the rows handed over so far.
    spanned: u64,
    text: String,
    inline: String,
}

impl RowStream<'_> {
    /// Reads a `<c>` tag's position, type and style.
    fn cell_start(
        &mut self,
        xml: &Xml<'_>,
        e: &BytesStart<'_>,
        row_element: u64,
    ) -> Result<CellStart, ReadError> {
        let mut position = None;
        let mut kind = (CellType::Number, false);
        let mut number = NumberKind::Plain;
        for attr in e.attributes().with_checks(false) {
            let attr = attr.map_err(|err| xml.malformed(err.to_string()))?;
            let value: &str = &attr.value;
            match attr.key.local_name().into_inner() {
                "r" => {
                    position = Some(parse_cell_ref(value.as_bytes()).ok_or_else(|| {
                        xml.malformed(format!("the cell reference \"{}\" is not a cell", short(value)))
                    })?);
                }
                "t" => {
                    kind = match value {
                        "n" => (CellType::Number, true),
                        "s" => (CellType::Shared, true),
                        "str" => (CellType::Formula, true),
                        "inlineStr" => (CellType::Inline, true),
                        "b" => (CellType::Bool, true),
                        "e" => (CellType::Error, true),
                        "d" => (CellType::IsoDate, true),
                        other => {
                            return Err(
                                xml.malformed(format!("a cell has the unknown type \"{}\"", short(other)))
                            )
                        }
                    }
                }
                "s" => {
                    let index = parse_count(value.as_bytes()).and_then(|i| usize::try_from(i).ok());
                    number =
                        index.and_then(|i| self.book.formats.get(i).copied()).unwrap_or(NumberKind::Plain);
                }
                _ => {}
            }
        }
        let (row, column) = match position {
            Some((row, column)) => (row.unwrap_or(row_element.max(1)), column),
            None => (row_element.max(1), self.column + 1),
        };
        if row > MAX_ROWS {
            return Err(ReadError::TooManyRows {
                file: xml.file().to_string(),
                sheet: Some(self.sheet.to_string()),
                rows: row,
            });
        }
        if column > MAX_COLUMNS {
            return Err(ReadError::TooManyColumns {
                file: xml.file().to_string(),
                sheet: Some(self.sheet.to_string()),
                row,
                columns: column,
            });
        }
        self.column = column;
        Ok(CellStart { row, column, kind: kind.0, typed: kind.1, number })
    }

    /// Reads a cell's content up to `</c>` and makes its value.
    fn read_value(
        &mut self,
        xml: &mut Xml<'_>,
        buf: &mut Vec<u8>,
        cell: &CellStart,
    ) -> Result<RawCell, ReadError> {
        self.text.clear();
        let mut inline = false;
        loop {
            match xml.next(buf)? {
                Event::Start(e) => match name_of(&e) {
                    "v" if cell.kind != CellType::Inline => xml.text_into(buf, "v", &mut self.text)?,
                    "is" => {
                        self.inline.clear();
                        rich_text(xml, buf, "is", &mut self.inline)?;
                        inline = true;
                    }
                    other => {
                        let name = other.to_string();
                        xml.skip(buf, &name)?;
                    }
                },
                Event::End(_) => break,
                Event::Eof => return Err(xml.ended_early("c")),
                _ => {}
            }
        }
        let text = self.text.as_str();
        let bad = |what: &str| {
            let at = crate::core::text::cell_name((cell.column - 1) as usize, cell.row as usize);
            xml.malformed(format!("cell {at} {what}"))
        };
        Ok(match cell.kind {
            CellType::Inline if inline => RawCell::Text(Arc::from(self.inline.as_str())),
            CellType::Inline => RawCell::Empty,
            CellType::Shared => {
                if trim_xml(text).is_empty() {
                    return Ok(RawCell::Empty);
                }
                let index = parse_count(text.as_bytes()).and_then(|i| usize::try_from(i).ok());
                match index.and_then(|i| self.book.strings.get(i)) {
                    Some(s) => RawCell::Text(Arc::clone(s)),
                    None => {
                        return Err(bad(&format!(
                            "refers to shared string \"{}\" but the table holds {}",
                            short(text),
                            self.book.strings.len()
                        )))
                    }
                }
            }
            CellType::Formula => RawCell::Text(Arc::from(unescape_excel(text).as_ref())),
            CellType::IsoDate => RawCell::Text(Arc::from(text)),
            CellType::Error if trim_xml(text).is_empty() => RawCell::Empty,
            CellType::Error => RawCell::Error(trim_xml(text).to_string()),
            CellType::Bool => match trim_xml(text) {
                "" => RawCell::Empty,
                "0" => RawCell::Bool(false),
                "1" => RawCell::Bool(true),
                t if t.eq_ignore_ascii_case("false") => RawCell::Bool(false),
                t if t.eq_ignore_ascii_case("true") => RawCell::Bool(true),
                t => return Err(bad(&format!("holds \"{}\", not a logical value", short(t)))),
            },
            CellType::Number => {
                if text.is_empty() {
                    return Ok(RawCell::Empty);
                }
                match parse_number(text) {
                    Some(n) => match cell.number {
                        NumberKind::Plain | NumberKind::Duration => RawCell::Number(n),
                        NumberKind::Date => {
                            RawCell::DateSerial(if self.book.is_1904 { n + EPOCH_1904_OFFSET } else { n })
                        }
                    },
                    None if !cell.typed => RawCell::Text(Arc::from(text)),
                    None => return Err(bad(&format!("holds \"{}\", not a number", short(text)))),
                }
            }
        })
    }

    /// Puts a value into the row being built, handing the previous row over first when the
    /// cell belongs to another one.
    fn place<E>(
        &mut self,
        cell: &CellStart,
        value: RawCell,
        on_row: &mut impl FnMut(usize, &mut Vec<RawCell>) -> Result<(), E>,
    ) -> Result<(), RowsError<E>> {
        if value == RawCell::Empty {
            return Ok(());
        }
        if cell.row != self.row {
            self.flush(on_row)?;
            self.row = cell.row;
        }
        let col = (cell.column - 1) as usize;
        if col >= self.cells.len() {
            let spanned = self.spanned + col as u64 + 1;
            if spanned > MAX_CELLS {
                return Err(RowsError::Read(ReadError::TooManyCells {
                    file: self.book.file.to_string(),
                    sheet: Some(self.sheet.to_string()),
                    cells: spanned,
                }));
            }
            self.cells.resize(col + 1, RawCell::Empty);
        }
        self.cells[col] = value;
        Ok(())
    }

    /// Hands the row being built over, if it holds anything.
    fn flush<E>(
        &mut self,
        on_row: &mut impl FnMut(usize, &mut Vec<RawCell>) -> Result<(), E>,
    ) -> Result<(), RowsError<E>> {
        if self.cells.is_empty() {
            return Ok(());
        }
        let width = self.cells.len();
        self.spanned += width as u64;
        on_row(self.row as usize, &mut self.cells).map_err(RowsError::Row)?;
        self.cells.clear();
        self.cells.reserve(width);
        Ok(())
    }
}

/// A number as Excel writes it in `<v>`: digits fast, anything else through the standard
/// parser; `None` for what is not a finite number.
fn parse_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    if !b.is_empty() && b.len() <= 15 && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')) as f64);
    }
    trim_xml(text).parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Gathers the text of a shared string or an inline string (`<si>`, `<is>`): the `<t>` runs
/// in order, rich-text runs joined, phonetic guides (`<rPh>`) left out; each run trimmed of
/// XML white space unless it keeps its spaces (`xml:space="preserve"`), then unescaped.
fn rich_text(xml: &mut Xml<'_>, buf: &mut Vec<u8>, closing: &str, out: &mut String) -> Result<(), ReadError> {
    let mut depth = 0usize;
    let mut run = String::new();
    loop {
        match xml.next(buf)? {
            Event::Start(e) => match name_of(&e) {
                "t" => {
                    let preserve =
                        attribute(&e, "space").map_err(|d| xml.malformed(d))?.as_deref() == Some("preserve");
                    run.clear();
                    xml.text_into(buf, "t", &mut run)?;
                    let text = if preserve { run.as_str() } else { trim_xml(&run) };
                    out.push_str(&unescape_excel(text));
                }
                "rPh" => xml.skip(buf, "rPh")?,
                _ => depth += 1,
            },
            Event::End(_) => {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
            }
            Event::Eof => return Err(xml.ended_early(closing)),
            _ => {}
        }
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
    let mut xml = Xml::new(archive.open_part(entry, MAX_METADATA_PART_BYTES)?, file, None);
    let mut buf = Vec::new();
    let mut found = Vec::new();
    loop {
        match xml.next(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if name_of(&e) == "Relationship" => {
                let get = |name: &str| attribute(&e, name).map(Option::unwrap_or_default);
                let relationship = (|| {
                    Ok::<_, String>(Relationship {
                        id: get("Id")?,
                        target: get("Target")?,
                        kind: get("Type")?,
                    })
                })()
                .map_err(|d| xml.malformed(d))?;
                found.push(relationship);
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
    }
}

/// The sheets of the workbook part — (name, relationship id, visible) in workbook order —
/// and whether it uses the 1904 date system.
type DeclaredSheets = Vec<(String, String, bool)>;

fn read_workbook(
    archive: &Archive<'_>,
    file: &str,
    entry: &Entry,
) -> Result<(DeclaredSheets, bool), ReadError> {
    let mut xml = Xml::new(archive.open_part(entry, MAX_METADATA_PART_BYTES)?, file, None);
    let mut buf = Vec::new();
    let mut sheets = Vec::new();
    let mut is_1904 = false;
    loop {
        match xml.next(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if name_of(&e) == "sheet" => {
                let mut name = String::new();
                let mut id = String::new();
                let mut visible = true;
                for attr in e.attributes().with_checks(false) {
                    let attr = attr.map_err(|err| xml.malformed(err.to_string()))?;
                    let value = unescape_attribute(&attr.value);
                    match attr.key.local_name().into_inner() {
                        "name" => name = value,
                        "id" => id = value,
                        "state" => visible = value == "visible",
                        _ => {}
                    }
                }
                sheets.push((name, id, visible));
            }
            Event::Start(e) | Event::Empty(e) if name_of(&e) == "workbookPr" => {
                if let Some(v) = attribute(&e, "date1904").map_err(|d| xml.malformed(d))? {
                    is_1904 = v == "1" || v == "true";
                }
            }
            Event::Eof => return Ok((sheets, is_1904)),
            _ => {}
        }
    }
}

/// The number kind of every cell format (`<cellXfs>`), by index.
fn read_styles(archive: &Archive<'_>, file: &str, entry: &Entry) -> Result<Vec<NumberKind>, ReadError> {
    let mut xml = Xml::new(archive.open_part(entry, MAX_METADATA_PART_BYTES)?, file, None);
    let mut buf = Vec::new();
    let mut custom: HashMap<u64, NumberKind> = HashMap::new();
    let mut formats = Vec::new();
    let mut in_cell_xfs = false;
    loop {
        match xml.next(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if name_of(&e) == "numFmt" => {
                let id = attribute(&e, "numFmtId").map_err(|d| xml.malformed(d))?;
                let code = attribute(&e, "formatCode").map_err(|d| xml.malformed(d))?;
                if let (Some(id), Some(code)) = (id.and_then(|i| parse_count(i.as_bytes())), code) {
                    custom.insert(id, custom_format_kind(&code));
                }
            }
            Event::Start(e) if name_of(&e) == "cellXfs" => in_cell_xfs = true,
            Event::End(e) if e.local_name().as_ref() == "cellXfs" => in_cell_xfs = false,
            Event::Start(e) | Event::Empty(e) if in_cell_xfs && name_of(&e) == "xf" => {
                let id = attribute(&e, "numFmtId").map_err(|d| xml.malformed(d))?;
                let kind = match id.and_then(|i| parse_count(i.as_bytes())) {
                    Some(id) => custom.get(&id).copied().unwrap_or_else(|| builtin_format_kind(id)),
                    None => NumberKind::Plain,
                };
                formats.push(kind);
            }
            Event::Eof => return Ok(formats),
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
    let mut xml = Xml::new(archive.open_part(entry, MAX_PART_BYTES)?, file, None);
    let mut buf = Vec::with_capacity(1024);
    let mut strings: Vec<Arc<str>> = Vec::new();
    let mut text = String::new();
    let mut bytes = 0u64;
    let empty: Arc<str> = Arc::from("");
    let mut closed = false;
    let too_large = |xml: &Xml<'_>, what: String| ReadError::SharedStringsTooLarge {
        file: file.to_string(),
        part: xml.part_name().to_string(),
        what,
    };
    loop {
        match xml.next(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if name_of(&e) == "sst" => {
                let limits =
                    [("uniqueCount", MAX_SHARED_STRINGS.min(entry.size / 4 + 1000)), ("count", MAX_CELLS)];
                for (attribute_name, limit) in limits {
                    let declared = attribute(&e, attribute_name).map_err(|d| xml.malformed(d))?;
                    if let Some(declared) = declared.and_then(|d| parse_count(d.as_bytes())) {
                        if declared > limit {
                            return Err(ReadError::TooManySharedStrings {
                                file: file.to_string(),
                                attribute: attribute_name.to_string(),
                                declared,
                                limit,
                            });
                        }
                    }
                }
            }
            Event::End(e) if e.local_name().as_ref() == "sst" => closed = true,
            Event::Start(e) if name_of(&e) == "si" => {
                text.clear();
                rich_text(&mut xml, &mut buf, "si", &mut text)?;
                bytes += text.len() as u64;
                if bytes > MAX_SHARED_STRING_BYTES {
                    return Err(too_large(&xml, "256 MiB of text".to_string()));
                }
                strings.push(if text.is_empty() { Arc::clone(&empty) } else { Arc::from(text.as_str()) });
            }
            Event::Empty(e) if name_of(&e) == "si" => strings.push(Arc::clone(&empty)),
            Event::Eof if closed => return Ok(strings),
            Event::Eof => return Err(xml.ended_early("sst")),
            _ => {}
        }
        if strings.len() as u64 > MAX_SHARED_STRINGS {
            return Err(too_large(&xml, "20,000,000 strings".to_string()));
        }
    }
}
