//! The bound on what a validation holds. A [`ValidationRun`] validates a file in slices (the
//! service ticks progress and may cancel between two) and counts what it keeps: each row's
//! values, the text typing had to make (trimmed or canonical copies; text the cell already
//! holds is shared and costs nothing) and the issues. Before it starts it estimates what the
//! rows will need from their count and the template's columns, and refuses a file whose rows
//! alone would pass [`MAX_VALIDATION_BYTES`]; while it runs it refuses as soon as what it
//! holds passes it (a file whose every row has a problem). Either way the refusal says what
//! the file holds, the bound, and what to do — never a crashed worker.

use std::mem::size_of;

use crate::core::sheet::SheetRow;

use super::{FieldValue, Issue, SharedTexts, Validated, ValidatedRow, Validator, TEXT_OVERHEAD};

/// The memory a validation may hold: its rows' values, the text it made and its issues.
pub const MAX_VALIDATION_BYTES: usize = 640 << 20;

/// Why a file was not validated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationRefused {
    /// The rows alone would need more than the bound.
    #[error(
        "{file}: {rows} rows of {columns} columns need about {needed_mib} MiB to validate, more than the \
         {bound_mib} MiB a validation may hold. Split the file into parts of at most {rows_that_fit} rows."
    )]
    TooManyRows {
        file: String,
        rows: usize,
        columns: usize,
        needed_mib: usize,
        bound_mib: usize,
        rows_that_fit: usize,
    },
    /// The rows validated so far, with their problems, reached the bound.
    #[error(
        "{file}: validation stopped at row {sheet_row}: the rows so far and their {issues} problems hold \
         {held_mib} MiB, the most a validation may hold is {bound_mib} MiB. The first problem: {first}. \
         Fix what repeats on every row, or split the file."
    )]
    TooMuchHeld {
        file: String,
        sheet_row: usize,
        issues: usize,
        held_mib: usize,
        bound_mib: usize,
        first: String,
    },
}

/// What one validated row of `columns` values holds besides its text.
pub fn row_bytes(columns: usize) -> usize {
    size_of::<ValidatedRow>() + columns * size_of::<FieldValue>()
}

/// What an issue holds: the value, its texts, and what allocating them costs.
fn issue_bytes(issue: &Issue) -> usize {
    let text = |s: &str| s.len() + TEXT_OVERHEAD;
    size_of::<Issue>()
        + text(&issue.message)
        + issue.column.as_deref().map(text).unwrap_or(0)
        + issue.cell.as_deref().map(text).unwrap_or(0)
}

/// A validation of one file in slices, within [`MAX_VALIDATION_BYTES`] (or a bound of the
/// caller's: [`ValidationRun::with_bound`]).
#[derive(Debug)]
pub struct ValidationRun<'a> {
    validator: Validator<'a>,
    file: String,
    bound: usize,
    texts: SharedTexts,
    rows: Vec<ValidatedRow>,
    issues: Vec<Issue>,
    /// Bytes held by the rows (their values) and the issues; the made text is in `texts`.
    held: usize,
}

impl<'a> ValidationRun<'a> {
    /// A run over `total_rows` rows of `file`, refused at once when the rows alone would need
    /// more than [`MAX_VALIDATION_BYTES`].
    pub fn new(validator: Validator<'a>, file: &str, total_rows: usize) -> Result<Self, ValidationRefused> {
        Self::with_bound(validator, file, total_rows, MAX_VALIDATION_BYTES)
    }

    /// [`ValidationRun::new`] with another bound.
    pub fn with_bound(
        validator: Validator<'a>,
        file: &str,
        total_rows: usize,
        bound: usize,
    ) -> Result<Self, ValidationRefused> {
        let columns = validator.template.columns.len();
        let per_row = row_bytes(columns);
        let needed = total_rows.saturating_mul(per_row);
        if needed > bound {
            return Err(ValidationRefused::TooManyRows {
                file: file.to_string(),
                rows: total_rows,
                columns,
                needed_mib: needed.div_ceil(1 << 20),
                bound_mib: bound >> 20,
                rows_that_fit: bound / per_row,
            });
        }
        Ok(ValidationRun {
            validator,
            file: file.to_string(),
            bound,
            texts: SharedTexts::default(),
            rows: Vec::with_capacity(total_rows),
            issues: Vec::new(),
            held: 0,
        })
    }

    /// What the run holds so far, in bytes.
    pub fn held(&self) -> usize {
        self.held + self.texts.made
    }

    /// Rows validated so far.
    pub fn done(&self) -> usize {
        self.rows.len()
    }

    /// Validates the next rows of the file.
    pub fn rows(&mut self, rows: &[SheetRow]) -> Result<(), ValidationRefused> {
        for row in rows {
            let (validated, issues) = self.validator.row_sharing(row, &mut self.texts);
            self.held += row_bytes(validated.values.len())
                + validated.raw_differs.len() * size_of::<(usize, crate::core::sheet::RawCell)>()
                + issues.iter().map(issue_bytes).sum::<usize>();
            self.rows.push(validated);
            self.issues.extend(issues);
            if self.held() > self.bound {
                return Err(ValidationRefused::TooMuchHeld {
                    file: self.file.clone(),
                    sheet_row: row.sheet_row,
                    issues: self.issues.len(),
                    held_mib: self.held() >> 20,
                    bound_mib: self.bound >> 20,
                    first: self
                        .issues
                        .first()
                        .map(|i| match &i.cell {
                            Some(cell) => format!("{cell}: {}", i.message),
                            None => i.message.clone(),
                        })
                        .unwrap_or_else(|| "none".into()),
                });
            }
        }
        Ok(())
    }

    /// The checks that span rows, and the file's rows and issues.
    pub fn finish(mut self) -> Validated {
        self.validator.finish(&mut self.rows, &mut self.issues);
        self.validator.validated(self.rows, self.issues)
    }
}

impl Validator<'_> {
    /// Validates a whole file within [`MAX_VALIDATION_BYTES`]: [`ValidationRun`] in one slice.
    pub fn bounded(&self, file: &str, rows: &[SheetRow]) -> Result<Validated, ValidationRefused> {
        let mut run = ValidationRun::new(*self, file, rows.len())?;
        run.rows(rows)?;
        Ok(run.finish())
    }
}
