//! A worksheet, streamed: the scanner's tokens turned straight into rows of [`RawCell`]s.
//! The common shape of a cell — `<c r="B7" s="3" t="s"><v>42</v></c>` — is read on a fast
//! path that looks at each byte once; anything else (formulas, inline strings, comments,
//! prefixes, odd spacing) goes through the general tokens and gives the same cells. A cell
//! holds its value only: a shared string is the table's own `Arc<str>`, a number is an
//! `f64`, and positions are checked against Excel's grid as cells arrive. The `<dimension>`
//! is checked and row `spans` are ignored: nothing the sheet declares sizes anything.

use std::sync::Arc;

use super::guard::{ReadError, MAX_CELLS, MAX_COLUMNS, MAX_PART_BYTES, MAX_ROWS};
use super::xlsx::{rich_text, Book, NumberKind, RowsError, SheetInfo};
use super::xml::{
    attribute, attributes, local, parse_cell_ref, parse_count, push_text, starts_with, trim_xml,
    unescape_excel, Context, Scanner, Token,
};
use crate::core::sheet::RawCell;

/// Days between Excel's 1900 and 1904 date systems.
const EPOCH_1904_OFFSET: f64 = 1462.0;
/// How many bytes are kept in the scanner's window for the fast path to see a whole cell.
const FAST_WINDOW: usize = 512;

impl Book<'_> {
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
        let mut xml = Scanner::new(part, self.file, Some(&sheet.name));
        let ctx = xml.context();

        // Up to <sheetData>: the dimension is checked, never used.
        loop {
            match xml.next()? {
                Token::Start { name, attributes, empty } => match local(name) {
                    b"dimension" => {
                        let range = attribute(attributes, b"ref").map_err(|d| ctx.malformed(d))?;
                        check_dimension(ctx, &sheet.name, &range.unwrap_or_default())?;
                    }
                    b"sheetData" if empty => return Ok(xml.finish()?),
                    b"sheetData" => break,
                    _ => {}
                },
                Token::Eof => return Ok(()),
                _ => {}
            }
        }

        let mut stream = RowStream {
            book: self,
            sheet: &sheet.name,
            cells: Vec::new(),
            row: 0,
            column: 0,
            spanned: 0,
            text: String::new(),
        };
        let mut row_element = 0u64;
        loop {
            xml.fill(FAST_WINDOW)?;
            if let Some(fast) = fast_cell(xml.window()) {
                let cell = stream.position(ctx, fast.position, fast.style, fast.kind, row_element)?;
                if let Some(raw) = fast.value {
                    let value = match (cell.kind, fast.digits) {
                        (CellType::Shared, Some(i)) => match stream.book.strings.get(i as usize) {
                            Some(s) => RawCell::Text(Arc::clone(s)),
                            None => stream.value(ctx, &cell, raw, None)?,
                        },
                        (CellType::Number, Some(n)) => stream.number(&cell, n as f64),
                        _ => stream.value(ctx, &cell, raw, None)?,
                    };
                    stream.place(&cell, value, &mut on_row)?;
                }
                let len = fast.len;
                xml.advance(len);
                continue;
            }
            let (cell, empty) = match xml.next()? {
                Token::Start { name, attributes, empty } => match local(name) {
                    b"c" => (stream.cell_start(ctx, attributes, row_element)?, empty),
                    b"row" => {
                        row_element = match attribute(attributes, b"r").map_err(|d| ctx.malformed(d))? {
                            Some(r) => parse_count(r.as_bytes()).filter(|n| *n >= 1).ok_or_else(|| {
                                ctx.malformed(format!("a row is numbered \"{}\"", short(&r)))
                            })?,
                            None => row_element.max(stream.row) + 1,
                        };
                        stream.column = 0;
                        continue;
                    }
                    _ => continue,
                },
                Token::End { name } if local(name) == b"sheetData" => break,
                Token::Eof => return Err(xml.ended_early("sheetData").into()),
                _ => continue,
            };
            // A cell with a style and no value (`<c r="B2" s="1"/>`) only moves the column on.
            if !empty {
                let value = stream.read_value(&mut xml, &cell)?;
                stream.place(&cell, value, &mut on_row)?;
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
fn check_dimension(xml: Context<'_>, sheet: &str, range: &str) -> Result<(), ReadError> {
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
            file: xml.file.to_string(),
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

/// The type a `t` attribute names.
fn cell_type(t: &[u8]) -> Option<CellType> {
    Some(match t {
        b"n" => CellType::Number,
        b"s" => CellType::Shared,
        b"str" => CellType::Formula,
        b"inlineStr" => CellType::Inline,
        b"b" => CellType::Bool,
        b"e" => CellType::Error,
        b"d" => CellType::IsoDate,
        _ => return None,
    })
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
}

impl RowStream<'_> {
    /// Reads a `<c>` tag's position, type and style from its attributes.
    fn cell_start(&mut self, xml: Context<'_>, raw: &[u8], row_element: u64) -> Result<CellStart, ReadError> {
        let (mut r, mut s, mut t) = (None, None, None);
        for attr in attributes(raw) {
            let (key, value) = attr.map_err(|d| xml.malformed(d))?;
            match key {
                b"r" => r = Some(value),
                b"s" => s = Some(value),
                b"t" => t = Some(value),
                _ => {}
            }
        }
        self.cell_at(xml, r, s, t, row_element)
    }

    /// A cell's position (from its reference, or the next column of its row), type and number
    /// kind, checked against Excel's grid.
    fn cell_at(
        &mut self,
        xml: Context<'_>,
        r: Option<&[u8]>,
        s: Option<&[u8]>,
        t: Option<&[u8]>,
        row_element: u64,
    ) -> Result<CellStart, ReadError> {
        let shown = |raw: &[u8]| short(&String::from_utf8_lossy(raw));
        let position = match r {
            Some(r) => Some(parse_cell_ref(r).ok_or_else(|| {
                xml.malformed(format!("the cell reference \"{}\" is not a cell", shown(r)))
            })?),
            None => None,
        };
        let kind = match t {
            None => None,
            Some(t) => Some(
                cell_type(t)
                    .ok_or_else(|| xml.malformed(format!("a cell has the unknown type \"{}\"", shown(t))))?,
            ),
        };
        let style = s.and_then(parse_count);
        self.position(xml, position, style, kind, row_element)
    }

    /// Places a cell on Excel's grid: at its reference, or after the last cell of its row.
    fn position(
        &mut self,
        xml: Context<'_>,
        position: Option<(Option<u64>, u64)>,
        style: Option<u64>,
        kind: Option<CellType>,
        row_element: u64,
    ) -> Result<CellStart, ReadError> {
        let number = style
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.book.formats.get(i).copied())
            .unwrap_or(NumberKind::Plain);
        let (row, column) = match position {
            Some((row, column)) => (row.unwrap_or(row_element.max(1)), column),
            None => (row_element.max(1), self.column + 1),
        };
        if row > MAX_ROWS {
            return Err(ReadError::TooManyRows {
                file: xml.file.to_string(),
                sheet: Some(self.sheet.to_string()),
                rows: row,
            });
        }
        if column > MAX_COLUMNS {
            return Err(ReadError::TooManyColumns {
                file: xml.file.to_string(),
                sheet: Some(self.sheet.to_string()),
                row,
                columns: column,
            });
        }
        self.column = column;
        Ok(CellStart { row, column, kind: kind.unwrap_or(CellType::Number), typed: kind.is_some(), number })
    }

    /// Reads a cell's content up to `</c>` and makes its value.
    fn read_value(&mut self, xml: &mut Scanner<'_>, cell: &CellStart) -> Result<RawCell, ReadError> {
        self.text.clear();
        let mut inline = None;
        // The common shape first: <v>text</v></c>.
        if cell.kind != CellType::Inline && xml.eat(b"<v>")? {
            match xml.text_then_end(b"v")? {
                Some(raw) => push_text(raw, &mut self.text).map_err(|d| xml.context().malformed(d))?,
                None => xml.text_into("v", &mut self.text)?,
            }
            if xml.eat(b"</c>")? {
                return self.value(xml.context(), cell, self.text.as_bytes(), None);
            }
        }
        loop {
            match xml.next()? {
                Token::Start { name, empty: false, .. } => match local(name) {
                    b"v" if cell.kind != CellType::Inline => xml.text_into("v", &mut self.text)?,
                    b"is" => {
                        let mut text = String::new();
                        rich_text(xml, "is", &mut text)?;
                        inline = Some(text);
                    }
                    other => {
                        let name = String::from_utf8_lossy(other).into_owned();
                        xml.skip(&name)?;
                    }
                },
                Token::End { .. } => break,
                Token::Eof => return Err(xml.ended_early("c")),
                _ => {}
            }
        }
        self.value(xml.context(), cell, self.text.as_bytes(), inline)
    }

    /// The value of a cell from its type, style and raw text (references resolved).
    fn value(
        &self,
        xml: Context<'_>,
        cell: &CellStart,
        raw: &[u8],
        inline: Option<String>,
    ) -> Result<RawCell, ReadError> {
        // An inline string (`<is>`) is the value whatever the type says, as in calamine.
        if let Some(inline) = inline {
            return Ok(RawCell::Text(Arc::from(inline)));
        }
        // Shared-string indexes and plain numbers, the bulk of any sheet, need no UTF-8 check.
        match cell.kind {
            CellType::Shared => {
                if let Some(s) =
                    parse_count(raw).and_then(|i| self.book.strings.get(usize::try_from(i).ok()?))
                {
                    return Ok(RawCell::Text(Arc::clone(s)));
                }
            }
            CellType::Number => {
                if let Some(n) = parse_digits(raw) {
                    return Ok(self.number(cell, n));
                }
            }
            _ => {}
        }
        let text =
            std::str::from_utf8(raw).map_err(|_| xml.malformed("a value is not valid UTF-8".into()))?;
        let bad = |what: &str| {
            let at = crate::core::text::cell_name((cell.column - 1) as usize, cell.row as usize);
            xml.malformed(format!("cell {at} {what}"))
        };
        Ok(match cell.kind {
            CellType::Inline => RawCell::Empty,
            CellType::Shared if trim_xml(text).is_empty() => RawCell::Empty,
            CellType::Shared => {
                return Err(bad(&format!(
                    "refers to shared string \"{}\" but the table holds {}",
                    short(text),
                    self.book.strings.len()
                )))
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
            CellType::Number if text.is_empty() => RawCell::Empty,
            CellType::Number => match trim_xml(text).parse::<f64>().ok().filter(|n| n.is_finite()) {
                Some(n) => self.number(cell, n),
                None if !cell.typed => RawCell::Text(Arc::from(text)),
                None => return Err(bad(&format!("holds \"{}\", not a number", short(text)))),
            },
        })
    }

    /// A number as its cell's format shows it: a date serial (in the 1900 system) or a number.
    fn number(&self, cell: &CellStart, n: f64) -> RawCell {
        match cell.number {
            NumberKind::Plain | NumberKind::Duration => RawCell::Number(n),
            NumberKind::Date => {
                RawCell::DateSerial(if self.book.is_1904 { n + EPOCH_1904_OFFSET } else { n })
            }
        }
    }

    /// Puts a value into the row being built, handing the previous row over first when the
    /// cell belongs to another one.
    fn place<E>(
        &mut self,
        cell: &CellStart,
        value: RawCell,
        on_row: &mut impl FnMut(usize, &mut Vec<RawCell>) -> Result<(), E>,
    ) -> Result<(), RowsError<E>> {
        if matches!(value, RawCell::Empty) {
            return Ok(());
        }
        if cell.row != self.row {
            self.flush(on_row)?;
            self.row = cell.row;
        }
        let col = (cell.column - 1) as usize;
        if col == self.cells.len() && self.spanned + (col as u64) < MAX_CELLS {
            self.cells.push(value);
            return Ok(());
        }
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

/// A whole number of at most 15 digits (every one exact in an `f64`), the common case of a
/// numeric cell; anything else goes through the standard parser.
fn parse_digits(raw: &[u8]) -> Option<f64> {
    if raw.is_empty() || raw.len() > 15 {
        return None;
    }
    let mut n = 0u64;
    for &b in raw {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n = n * 10 + u64::from(digit);
    }
    Some(n as f64)
}

/// A cell in its most common shape, read straight from the window in one pass.
struct FastCell<'w> {
    /// (row, column) from `r`, 1-based.
    position: Option<(Option<u64>, u64)>,
    /// The cell format index (`s`).
    style: Option<u64>,
    /// The type (`t`), when given.
    kind: Option<CellType>,
    /// The `<v>` text; `None` for a cell without content (`<c … />`).
    value: Option<&'w [u8]>,
    /// The value as a number when it is nothing but 1 to 15 digits.
    digits: Option<u64>,
    /// Bytes the cell takes.
    len: usize,
}

/// Reads `<c r="B7" s="3" t="s"><v>text</v></c>` (any of the three attributes, in any order,
/// separated by plain spaces; no references in the text) or `<c …/>` from the start of `w`,
/// parsing the reference, style and type as it goes. `None` when the bytes take any other
/// shape, or the cell is not whole in `w`: the general path reads it then, with the same
/// result. Plain indexing only — this runs once per cell, in a size-optimised build.
fn fast_cell(w: &[u8]) -> Option<FastCell<'_>> {
    let n = w.len();
    if n < 4 || w[0] != b'<' || w[1] != b'c' || w[2] != b' ' {
        return None;
    }
    let mut i = 3;
    let mut cell = FastCell { position: None, style: None, kind: None, value: None, digits: None, len: 0 };
    loop {
        while i < n && w[i] == b' ' {
            i += 1;
        }
        if i + 3 >= n {
            return None;
        }
        match w[i] {
            b'>' => {
                i += 1;
                break;
            }
            b'/' if w[i + 1] == b'>' => {
                cell.len = i + 2;
                return Some(cell);
            }
            _ => {}
        }
        // One attribute: a one-letter name and `="`. Longer names (`cm`, `vm`, `ph`) are
        // rare; the general path reads them.
        if w[i + 1] != b'=' || w[i + 2] != b'"' {
            return None;
        }
        let name = w[i];
        i += 3;
        match name {
            b'r' => {
                let mut column = 0u64;
                let mut letters = 0;
                while i < n && (w[i] | 0x20).is_ascii_lowercase() && letters < 4 {
                    column = column * 26 + u64::from((w[i] | 0x20) - b'a' + 1);
                    letters += 1;
                    i += 1;
                }
                let (row, digits) = digits_at(w, &mut i, 10);
                if letters == 0 || i >= n || w[i] != b'"' || (digits > 0 && row == 0) {
                    return None;
                }
                cell.position = Some(((digits > 0).then_some(row), column));
            }
            b's' => {
                let (style, digits) = digits_at(w, &mut i, 9);
                if digits == 0 || i >= n || w[i] != b'"' {
                    return None;
                }
                cell.style = Some(style);
            }
            b't' => {
                let start = i;
                while i < n && i - start < 10 && w[i] != b'"' {
                    i += 1;
                }
                if i >= n || w[i] != b'"' {
                    return None;
                }
                cell.kind = Some(cell_type(&w[start..i])?);
            }
            _ => return None,
        }
        i += 1;
    }
    // The value: <v>text</v></c>.
    if i + 3 > n || w[i] != b'<' || w[i + 1] != b'v' || w[i + 2] != b'>' {
        return None;
    }
    i += 3;
    let start = i;
    let (number, digits) = digits_at(w, &mut i, 15);
    while i < n && w[i] != b'<' {
        if w[i] == b'&' || w[i] == b'\r' {
            return None;
        }
        i += 1;
    }
    if i + 8 > n || !starts_with(&w[i..], b"</v></c>") {
        return None;
    }
    if digits > 0 && i - start == digits {
        cell.digits = Some(number);
    }
    cell.value = Some(&w[start..i]);
    cell.len = i + 8;
    Some(cell)
}

/// Up to `max` ASCII digits from `w[*i]` on, as a number and their count; `*i` moves past them.
#[inline(always)]
fn digits_at(w: &[u8], i: &mut usize, max: usize) -> (u64, usize) {
    let (mut value, start) = (0u64, *i);
    while *i < w.len() && *i - start < max {
        let digit = w[*i].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + u64::from(digit);
        *i += 1;
    }
    (value, *i - start)
}
