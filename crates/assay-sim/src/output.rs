//! Writing tables: CSV/TSV writers that count rows and attach the path to every error, the
//! all-or-nothing output directory, and the manifest that tells a shop the simulator wrote
//! from a folder of someone else's files.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{SimError, MANIFEST_FILE};

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

/// What [`MANIFEST_FILE`] holds: every other file of the shop, by `/`-separated path relative
/// to the shop folder, with its size in bytes.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Manifest {
    written_by: String,
    files: BTreeMap<String, u64>,
}

const WRITTEN_BY: &str = "assay simulate";

/// Writes the manifest of the shop in `dir`, whose other files are all written.
pub(crate) fn write_manifest(dir: &Path) -> Result<(), SimError> {
    let files = match list_files(dir).map_err(|source| io_error(dir, source))? {
        Some(files) => files,
        None => {
            return Err(SimError::InvalidOutput {
                path: dir.to_owned(),
                reason: "the staging folder holds something other than files and folders".into(),
            })
        }
    };
    let manifest = Manifest {
        written_by: WRITTEN_BY.to_owned(),
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
    write_file(&dir.join(MANIFEST_FILE), &json)
}

/// What a folder the simulator is asked to write holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Nothing: no folder, or an empty one.
    Nothing,
    /// A shop the simulator wrote: its manifest, and no file but the ones it lists, each of the
    /// listed size (a listed file may be gone).
    Shop,
    /// Anything else: files that are not the simulator's to replace.
    Other,
}

/// What `dir` holds.
pub(crate) fn existing(dir: &Path) -> Result<Existing, SimError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_none() {
                return Ok(Existing::Nothing);
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(error) => return Err(io_error(dir, error)),
    }
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest: Manifest = match fs::read(&manifest_path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(manifest) => manifest,
            Err(_) => return Ok(Existing::Other),
        },
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Existing::Other),
        Err(error) => return Err(io_error(&manifest_path, error)),
    };
    let Some(mut found) = list_files(dir).map_err(|source| io_error(dir, source))? else {
        return Ok(Existing::Other);
    };
    found.remove(MANIFEST_FILE);
    let ours = manifest.written_by == WRITTEN_BY
        && found
            .iter()
            .all(|(name, size)| manifest.files.get(name) == Some(size));
    Ok(if ours {
        Existing::Shop
    } else {
        Existing::Other
    })
}

/// Every file under `dir` by `/`-separated relative path, with its size; `None` when there is
/// anything but files and folders (a symbolic link, say).
fn list_files(dir: &Path) -> io::Result<Option<BTreeMap<String, u64>>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, u64>) -> io::Result<bool> {
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Ok(false);
            };
            let kind = entry.file_type()?;
            let path = format!("{prefix}{name}");
            if kind.is_dir() {
                if !walk(&entry.path(), &format!("{path}/"), out)? {
                    return Ok(false);
                }
            } else if kind.is_file() {
                out.insert(path, entry.metadata()?.len());
            } else {
                return Ok(false);
            }
        }
        Ok(true)
    }
    let mut files = BTreeMap::new();
    Ok(walk(dir, "", &mut files)?.then_some(files))
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
