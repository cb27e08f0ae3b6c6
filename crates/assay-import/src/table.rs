//! A streaming reader of tabular files: comma- or tab-separated text with a header, or JSON Lines.
//!
//! One row is held at a time, in a reused buffer, so reading a million rows allocates nothing per
//! row. Every error it raises carries the file, the 1-based line and the column.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::capped::{self, CappedLines};
use crate::error::ImportError;
use crate::FileReport;

/// How a table file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableFormat {
    /// Delimited text with a header line; quotes are honoured as in RFC 4180.
    Delimited(u8),
    /// One JSON object per line; the first object's keys are the columns.
    JsonLines,
}

impl TableFormat {
    /// The format a file's extension implies: `.tsv`/`.tab` tabs, `.jsonl`/`.ndjson` JSON Lines,
    /// anything else commas.
    pub(crate) fn from_extension(path: &Path) -> TableFormat {
        let ext = path
            .extension()
            .and_then(|ext| ext.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "tsv" | "tab" => TableFormat::Delimited(b'\t'),
            "jsonl" | "ndjson" => TableFormat::JsonLines,
            _ => TableFormat::Delimited(b','),
        }
    }

    /// As [`TableFormat::from_extension`], but tab-separated unless the extension says `.csv`
    /// or `.jsonl`: the default of the files that come as TSV (judgments, FAQs).
    pub(crate) fn tab_unless_named(path: &Path) -> TableFormat {
        match TableFormat::from_extension(path) {
            TableFormat::Delimited(b',')
                if !path
                    .extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("csv")) =>
            {
                TableFormat::Delimited(b'\t')
            }
            format => format,
        }
    }
}

/// A CSV reader over `input` with trimmed fields, and its header row; an unreadable header is
/// an error on line 1 of `path`.
pub(crate) fn trimmed_csv<R: std::io::Read>(
    path: &Path,
    input: R,
) -> Result<(csv::Reader<R>, csv::StringRecord), ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| row_error(path, 1, "header", e))?
        .clone();
    Ok((reader, headers))
}

/// The error of a CSV row of `path` that could not be read: a line over the cap, or `field`'s
/// error at `line` (the error's own line when it has one).
pub(crate) fn row_error(path: &Path, line: u64, field: &str, error: csv::Error) -> ImportError {
    if let Some(error) = capped::csv_line_error(path, &error) {
        return error;
    }
    let line = error.position().map_or(line, |p| p.line());
    ImportError::field(path, line, field, error.to_string())
}

/// An open table, positioned before its first row.
pub(crate) struct Table {
    path: PathBuf,
    header: Vec<String>,
    /// Line of the header (CSV) or of the first object (JSON Lines).
    header_line: u64,
    line: u64,
    rows: u64,
    inner: Inner,
}

enum Inner {
    Csv {
        reader: csv::Reader<CappedLines<File>>,
        record: csv::StringRecord,
    },
    Json {
        reader: BufReader<CappedLines<File>>,
        buf: Vec<u8>,
        /// Cells of the current row, by column; only columns in `used` are filled.
        cells: Vec<String>,
        used: Vec<bool>,
        /// Whether any object so far had the column's key.
        seen: Vec<bool>,
        /// Required columns the first object lacked, with why they are required: objects may
        /// leave out keys, so such a column is an error only if no object in the file has it.
        absent: Vec<(usize, String)>,
        /// Number of keys of the first object (the leading columns of `header`).
        first_keys: usize,
        /// The first object, read while opening to learn the columns.
        pending: Option<serde_json::Map<String, serde_json::Value>>,
        next_line: u64,
    },
}

impl Table {
    /// Opens `path` and reads its header.
    ///
    /// Fails on an unreadable file, an empty file, a header that is not UTF-8 and a header that
    /// looks like another delimiter was used.
    pub(crate) fn open(path: &Path, format: TableFormat) -> Result<Table, ImportError> {
        let file = capped::open(path)?;
        match format {
            TableFormat::Delimited(delimiter) => Table::open_csv(path, file, delimiter),
            TableFormat::JsonLines => Table::open_json(path, file),
        }
    }

    fn open_csv(path: &Path, file: CappedLines<File>, delimiter: u8) -> Result<Table, ImportError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let byte_header = reader
            .byte_headers()
            .map_err(|e| csv_error(path, &[], e))?
            .clone();
        if byte_header.is_empty() || (byte_header.len() == 1 && byte_header[0].is_empty()) {
            return Err(ImportError::data(
                path,
                None,
                None,
                "empty file: expected a header line",
            ));
        }
        let mut header = Vec::with_capacity(byte_header.len());
        for (column, bytes) in byte_header.iter().enumerate() {
            match std::str::from_utf8(bytes) {
                Ok(name) => header.push(name.to_owned()),
                Err(e) => {
                    return Err(ImportError::data(
                        path,
                        Some(1),
                        None,
                        format!(
                            "invalid UTF-8 in the header, column {} at byte {} of the name",
                            column + 1,
                            e.valid_up_to()
                        ),
                    ))
                }
            }
        }
        if header.len() == 1 {
            check_delimiter(path, &header[0], delimiter)?;
        }
        Ok(Table {
            path: path.to_owned(),
            header,
            header_line: 1,
            line: 1,
            rows: 0,
            inner: Inner::Csv {
                reader,
                record: csv::StringRecord::new(),
            },
        })
    }

    fn open_json(path: &Path, file: CappedLines<File>) -> Result<Table, ImportError> {
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut buf = Vec::new();
        let mut line = 0u64;
        let Some(first) = next_json_object(path, &mut reader, &mut buf, &mut line)? else {
            return Err(ImportError::data(
                path,
                None,
                None,
                "empty file: expected JSON objects, one per line",
            ));
        };
        let header: Vec<String> = first.keys().cloned().collect();
        let width = header.len();
        Ok(Table {
            path: path.to_owned(),
            header,
            header_line: line,
            line,
            rows: 0,
            inner: Inner::Json {
                reader,
                buf,
                cells: vec![String::new(); width],
                used: vec![false; width],
                seen: vec![true; width],
                absent: Vec::new(),
                first_keys: width,
                pending: Some(first),
                next_line: line,
            },
        })
    }

    /// The file, as its path was given.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Column names, in file order.
    pub(crate) fn header(&self) -> &[String] {
        &self.header
    }

    /// Replaces the column names used in messages and look-ups (RecBole strips `:type`).
    pub(crate) fn rename_columns(&mut self, names: Vec<String>) {
        debug_assert_eq!(names.len(), self.header.len());
        self.header = names;
    }

    /// Line of the current row (1-based; the header is line 1).
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// Rows read so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// The index of column `name`, marking it as read.
    pub(crate) fn column(&mut self, name: &str) -> Option<usize> {
        let column = self.header.iter().position(|n| n == name)?;
        self.use_column(column);
        Some(column)
    }

    /// Marks column `column` as read (JSON Lines fills only the columns that are read).
    pub(crate) fn use_column(&mut self, column: usize) {
        if let Inner::Json { used, .. } = &mut self.inner {
            used[column] = true;
        }
    }

    /// The index of column `name`, or an error naming it, saying `why` it is needed and listing the
    /// columns found.
    ///
    /// In JSON Lines the column may first appear in a later object; the check is then made at the
    /// end of the file.
    pub(crate) fn require(&mut self, name: &str, why: &str) -> Result<usize, ImportError> {
        if let Some(column) = self.column(name) {
            return Ok(column);
        }
        if let Inner::Json {
            cells,
            used,
            seen,
            absent,
            ..
        } = &mut self.inner
        {
            let column = self.header.len();
            self.header.push(name.to_owned());
            cells.push(String::new());
            used.push(true);
            seen.push(false);
            absent.push((column, why.to_owned()));
            return Ok(column);
        }
        let found = quoted_list(&self.header);
        Err(ImportError::data(
            &self.path,
            Some(self.header_line),
            None,
            format!("missing column '{name}' {why}; columns found: {found}"),
        ))
    }

    /// An error at the current row in column `column`.
    pub(crate) fn error(&self, column: usize, message: impl Into<String>) -> ImportError {
        ImportError::data(
            &self.path,
            Some(self.line),
            Some(&self.header[column]),
            message,
        )
    }

    /// Advances to the next row; `false` at the end of the file.
    ///
    /// Fails on malformed rows, and at the end when the file had no rows at all.
    pub(crate) fn next_row(&mut self) -> Result<bool, ImportError> {
        let more = match &mut self.inner {
            Inner::Csv { reader, record } => match reader.read_record(record) {
                Ok(more) => {
                    if more {
                        self.line = record.position().map_or(self.line + 1, |p| p.line());
                    }
                    more
                }
                Err(e) => return Err(csv_error(&self.path, &self.header, e)),
            },
            Inner::Json {
                reader,
                buf,
                cells,
                used,
                seen,
                absent,
                first_keys,
                pending,
                next_line,
            } => {
                let object = match pending.take() {
                    Some(object) => Some(object),
                    None => next_json_object(&self.path, reader, buf, next_line)?,
                };
                match object {
                    Some(object) => {
                        self.line = *next_line;
                        let row = Row {
                            header: &self.header,
                            used,
                            seen,
                            cells,
                        };
                        fill_cells(&self.path, self.line, row, &object)?;
                        true
                    }
                    None => {
                        if let Some((column, why)) = absent.iter().find(|(c, _)| !seen[*c]) {
                            let found = quoted_list(&self.header[..*first_keys]);
                            return Err(ImportError::data(
                                &self.path,
                                None,
                                None,
                                format!(
                                    "missing column '{}' {why}: no object has this key; keys \
                                     of the first object: {found}",
                                    self.header[*column]
                                ),
                            ));
                        }
                        false
                    }
                }
            }
        };
        if more {
            self.rows += 1;
        } else if self.rows == 0 {
            return Err(ImportError::data(
                &self.path,
                None,
                None,
                "no rows after the header",
            ));
        }
        Ok(more)
    }

    /// The text of `column` in the current row; empty when the file has no such column.
    pub(crate) fn text(&self, column: Option<usize>) -> String {
        column.map_or_else(String::new, |c| self.get(c).to_owned())
    }

    /// `column` of the current row parsed by `parser`, or `absent` when the file has no such
    /// column; a parse error names the cell.
    pub(crate) fn parse<T>(
        &self,
        column: Option<usize>,
        absent: T,
        parser: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ImportError> {
        match column {
            Some(column) => parser(self.get(column)).map_err(|m| self.error(column, m)),
            None => Ok(absent),
        }
    }

    /// Appends the text of each of `columns` in the current row to the matching list of `values`
    /// (a catalog's or user file's attribute columns).
    pub(crate) fn push_texts(&self, columns: &[usize], values: &mut [Vec<String>]) {
        for (values, &column) in values.iter_mut().zip(columns) {
            values.push(self.get(column).to_owned());
        }
    }

    /// What was read from this file so far.
    pub(crate) fn report(&self) -> FileReport {
        FileReport {
            path: self.path.clone(),
            rows: self.rows,
        }
    }

    /// The text of column `column` in the current row (empty when missing).
    pub(crate) fn get(&self, column: usize) -> &str {
        match &self.inner {
            Inner::Csv { record, .. } => record.get(column).unwrap_or(""),
            Inner::Json { cells, .. } => &cells[column],
        }
    }
}

/// `'a', 'b'`.
fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Says which delimiter a one-column header seems to use, if it is not `delimiter`.
fn check_delimiter(path: &Path, header: &str, delimiter: u8) -> Result<(), ImportError> {
    let candidates: [(char, &str, &str); 4] = [
        (',', "commas", "comma"),
        ('\t', "tabs", "tab"),
        (';', "semicolons", "semicolon"),
        ('|', "'|' characters", "pipe"),
    ];
    let expected = candidates
        .iter()
        .find(|(c, _, _)| *c as u32 == u32::from(delimiter))
        .map_or("delimiter", |(_, _, name)| name);
    for (c, plural, name) in candidates {
        if c as u32 != u32::from(delimiter) && header.contains(c) {
            return Err(ImportError::data(
                path,
                Some(1),
                None,
                format!(
                    "the header is a single field containing {plural}: the file seems to be \
                     {name}-separated, expected {expected}-separated values"
                ),
            ));
        }
    }
    Ok(())
}

/// Turns a csv crate error into a located message.
fn csv_error(path: &Path, header: &[String], error: csv::Error) -> ImportError {
    let field_name = |index: usize| -> Option<&str> { header.get(index).map(String::as_str) };
    match error.into_kind() {
        csv::ErrorKind::Io(e) => capped::io_error(path, e),
        csv::ErrorKind::Utf8 { pos, err } => {
            let line = pos.as_ref().map(|p| p.line());
            let row_start = pos.as_ref().map_or(0, |p| p.byte());
            ImportError::data(
                path,
                line,
                field_name(err.field()),
                format!(
                    "invalid UTF-8 at byte {} of the field (the row starts at byte {} of the file)",
                    err.valid_up_to(),
                    row_start
                ),
            )
        }
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => ImportError::data(
            path,
            pos.as_ref().map(|p| p.line()),
            None,
            format!("expected {expected_len} fields as in the header, found {len}"),
        ),
        other => ImportError::data(path, None, None, format!("{other:?}")),
    }
}

/// Reads lines until a non-blank one and parses it as a JSON object; `None` at the end.
fn next_json_object(
    path: &Path,
    reader: &mut BufReader<CappedLines<File>>,
    buf: &mut Vec<u8>,
    line: &mut u64,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ImportError> {
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', buf)
            .map_err(|e| capped::io_error(path, e))?;
        if read == 0 {
            return Ok(None);
        }
        *line += 1;
        let text = match std::str::from_utf8(buf) {
            Ok(text) => text,
            Err(e) => {
                return Err(ImportError::data(
                    path,
                    Some(*line),
                    None,
                    format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                ))
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
        if text.is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                let message = e.to_string();
                // serde_json appends "at line 1 column N"; the line is ours, the column is useful.
                let reason = message
                    .rfind(" at line ")
                    .map_or(message.as_str(), |cut| &message[..cut]);
                return Err(ImportError::data(
                    path,
                    Some(*line),
                    None,
                    format!("malformed JSON at column {}: {reason}", e.column()),
                ));
            }
        };
        return match value {
            serde_json::Value::Object(object) => Ok(Some(object)),
            other => Err(ImportError::data(
                path,
                Some(*line),
                None,
                format!("expected a JSON object, found {}", json_kind(&other)),
            )),
        };
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The current JSON row's buffers.
struct Row<'a> {
    header: &'a [String],
    used: &'a [bool],
    seen: &'a mut [bool],
    cells: &'a mut [String],
}

/// Copies the used columns of `object` into the row's cells as text; missing keys and `null`
/// give "".
fn fill_cells(
    path: &Path,
    line: u64,
    row: Row<'_>,
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ImportError> {
    let Row {
        header,
        used,
        seen,
        cells,
    } = row;
    for (column, name) in header.iter().enumerate() {
        if !used[column] {
            continue;
        }
        let cell = &mut cells[column];
        cell.clear();
        let value = object.get(name);
        if value.is_some() {
            seen[column] = true;
        }
        match value {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(text)) => cell.push_str(text),
            Some(serde_json::Value::Number(number)) => {
                let _ = write!(cell, "{number}");
            }
            Some(serde_json::Value::Bool(flag)) => {
                cell.push_str(if *flag { "true" } else { "false" })
            }
            Some(other) => {
                return Err(ImportError::data(
                    path,
                    Some(line),
                    Some(name),
                    format!(
                        "expected a string, a number or a boolean, found {}",
                        json_kind(other)
                    ),
                ))
            }
        }
    }
    Ok(())
}
