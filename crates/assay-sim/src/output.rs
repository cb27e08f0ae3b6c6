//! Writing tables: CSV/TSV writers that count rows and attach the path to every error, and
//! the all-or-nothing output directory.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::SimError;

/// A delimited table being written, with its header already out.
pub(crate) struct Table {
    path: PathBuf,
    writer: csv::Writer<File>,
    rows: u64,
}

impl Table {
    /// Creates `dir/name` and writes the header row.
    pub(crate) fn create(dir: &Path, name: &str, header: &[&str]) -> Result<Table, SimError> {
        let delimiter = if name.ends_with(".tsv") { b'\t' } else { b',' };
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| io_error(&path, source))?;
        let writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_writer(file);
        let mut table = Table {
            path,
            writer,
            rows: 0,
        };
        table.write(header)?;
        table.rows = 0;
        Ok(table)
    }

    /// Writes one row.
    pub(crate) fn write<I, T>(&mut self, fields: I) -> Result<(), SimError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.rows += 1;
        self.writer
            .write_record(fields)
            .map_err(|source| io_error(&self.path, source.into()))
    }

    /// Writes one field of the current row; [`Table::end_record`] ends the row.
    pub(crate) fn write_field(&mut self, field: impl AsRef<[u8]>) -> Result<(), SimError> {
        self.writer
            .write_field(field)
            .map_err(|source| io_error(&self.path, source.into()))
    }

    /// Ends the row started by [`Table::write_field`].
    pub(crate) fn end_record(&mut self) -> Result<(), SimError> {
        self.rows += 1;
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(|source| io_error(&self.path, source.into()))
    }

    /// Data rows written so far (the header not counted).
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes the table to disk and returns its number of data rows.
    pub(crate) fn finish(mut self) -> Result<u64, SimError> {
        self.writer
            .flush()
            .map_err(|source| io_error(&self.path, source))?;
        let file = self
            .writer
            .into_inner()
            .map_err(|error| io_error(&self.path, error.into_error()))?;
        file.sync_all()
            .map_err(|source| io_error(&self.path, source))?;
        Ok(self.rows)
    }
}

/// Writes a small whole file (and syncs it).
pub(crate) fn write_file(path: &Path, contents: &[u8]) -> Result<(), SimError> {
    let result = fs::write(path, contents).and_then(|()| File::open(path)?.sync_all());
    result.map_err(|source| io_error(path, source))
}

/// Attaches a path to an IO error.
pub(crate) fn io_error(path: &Path, source: io::Error) -> SimError {
    SimError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Runs `fill` on a fresh, uniquely named staging directory next to `out_dir` and renames it to
/// `out_dir` only when `fill` succeeds, so a reader never sees a partial dataset: either
/// `out_dir` does not exist (or keeps its old, empty self) or it is complete.
///
/// A non-empty `out_dir` is refused rather than replaced, so the simulator never deletes a
/// user's files; a leftover staging directory from a crashed run is ours and is removed.
pub(crate) fn write_atomically<T>(
    out_dir: &Path,
    fill: impl FnOnce(&Path) -> Result<T, SimError>,
) -> Result<T, SimError> {
    if out_dir.file_name().is_none() {
        return Err(SimError::InvalidOutput {
            path: out_dir.to_owned(),
            reason: "the output path has no final directory name".into(),
        });
    }
    match fs::read_dir(out_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(SimError::InvalidOutput {
                    path: out_dir.to_owned(),
                    reason: "the directory exists and is not empty".into(),
                });
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(out_dir, error)),
    }
    assay_fetch::replace_dir_atomically(out_dir, fill, io_error)
}
