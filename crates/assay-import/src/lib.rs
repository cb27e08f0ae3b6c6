//! Reading shop data from files into an [`assay_core::Dataset`], with validation.
//!
//! This is the only crate of assay that reads input files. [`load`] takes a directory, finds out
//! which of three formats it holds ([`Format`]: RecBole atomic files, an Open Bandit Dataset
//! campaign, or a shop's own files described by an `assay.toml`), and returns the dataset with an
//! [`ImportReport`] of what was read and what was dropped. The files read on their own come here
//! too: relevance judgments ([`read_judgments`]), a plain catalog ([`read_catalog`]), labelled
//! queries ([`read_intent_labels`]), an A/B test ([`read_ab_csv`]), an evaluation policy's action
//! distribution ([`read_action_dist`]), a Bernoulli TS prior ([`BetaPrior::from_yaml_file`]), a
//! labelled feature table ([`LabelledTable::read_csv`]) and a list of known-bad users
//! ([`read_user_list`]); each gives plain, checked data that the
//! crate using it wraps in its own types. Writing is not here: `assay_fetch::write_atomically`
//! is the one way assay writes a file, so that nothing is ever half-written.
//!
//! Key design decision: reading streams. Each file is read one row at a time into a reused
//! record buffer and turned into columns at once; rows are never kept and external ids are
//! interned, so a million events import in well under a second of parsing and the memory is the
//! columnar dataset itself. The price is that checks needing two passes (such as "every event's
//! item exists") rely on the catalog and user files being read before the event files.
//!
//! Every rule that a file can break gives an [`ImportError`] whose message names the file, the
//! 1-based line (the header is line 1) or the `assay.toml` key, the field, and what was expected,
//! for example `events.csv:17: field 'ts': expected a timestamp (RFC 3339 or unix seconds), found
//! "yesterday"`. Nothing panics on bad input.

#![warn(missing_docs)]

mod ab;
mod action_dist;
mod capped;
mod catalog;
mod curves;
mod error;
mod faq;
mod image_file;
mod intent;
mod judgments;
mod labelled;
mod obd;
mod parse;
mod prior;
mod project;
mod recbole;
mod refs;
mod table;
mod user_list;

use std::fmt;
use std::path::{Path, PathBuf};

use assay_core::Dataset;

pub use ab::{parse_ab_csv, read_ab_csv, AbTable};
pub use action_dist::{parse_action_dist, read_action_dist, ActionDistTable, SUM_TOLERANCE};
/// Writing stays in assay-fetch, the lowest layer with IO; re-exported for existing callers.
pub use capped::{MAX_LINE_BYTES, MAX_WHOLE_FILE_BYTES};
pub use catalog::read_catalog;
pub use curves::read_training_curves;
pub use error::ImportError;
pub use faq::{read_faq, read_faq_questions, read_project_faq, FaqEntry, FaqQuestion, LoadedFaq};
pub use intent::read_intent_labels;
pub use judgments::{read_judgments, LoadedJudgments};
pub use labelled::LabelledTable;
pub use prior::BetaPrior;
pub use user_list::read_user_list;

/// The name of the file that marks a directory as a shop project.
pub const PROJECT_FILE: &str = "assay.toml";

/// What to do with events (and judgments) that name an item or user missing from the catalog or
/// user file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownRefs {
    /// Stop with an error at the first one.
    Fail,
    /// Skip them and count them in [`ImportReport::dropped`].
    Drop,
}

/// Choices that change how files are read.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides the dataset's own setting (`[options] unknown_refs` in `assay.toml`); when
    /// `None`, that setting applies, and [`UnknownRefs::Fail`] where there is none.
    pub unknown_refs: Option<UnknownRefs>,
}

impl LoadOptions {
    /// Options that force `unknown_refs`.
    pub fn new(unknown_refs: UnknownRefs) -> LoadOptions {
        LoadOptions {
            unknown_refs: Some(unknown_refs),
        }
    }
}

/// The on-disk format of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RecBole atomic files: `<name>.inter`, optional `<name>.item` and `<name>.user`.
    RecBole,
    /// An Open Bandit Dataset campaign: `<campaign>.csv` and `item_context.csv`.
    Obd,
    /// A shop's own CSV/TSV/JSONL files, mapped by an `assay.toml`.
    Project,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::RecBole => "RecBole atomic files",
            Format::Obd => "Open Bandit Dataset",
            Format::Project => "assay.toml project",
        })
    }
}

/// A dataset and the account of how it was read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The data.
    pub dataset: Dataset,
    /// What was read and what was dropped.
    pub report: ImportReport,
}

/// What an import read and what it dropped.
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// The detected format.
    pub format: Format,
    /// Every file read, in reading order.
    pub files: Vec<FileReport>,
    /// Rows skipped under [`UnknownRefs::Drop`], one entry per reason and file.
    pub dropped: Vec<Dropped>,
}

/// One file that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file, as its path was built from the path given to [`load`].
    pub path: PathBuf,
    /// Data rows read (the header is not counted), including dropped ones.
    pub rows: u64,
}

/// Why rows were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The row names an item that is not in the catalog.
    UnknownItem,
    /// The row names a user that is not in the user file.
    UnknownUser,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::UnknownItem => "unknown item",
            DropReason::UnknownUser => "unknown user",
        })
    }
}

/// Rows of one file dropped for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Why.
    pub reason: DropReason,
    /// The file the rows were in.
    pub file: PathBuf,
    /// How many rows.
    pub count: u64,
    /// The first such row, as `file:line`.
    pub first: String,
}

/// Loads the dataset in directory `path`, detecting its format.
///
/// `path` may also be an `assay.toml` file. Detection, in order: a directory holding `assay.toml`
/// is a [`Format::Project`]; one holding a `*.inter` file is [`Format::RecBole`] (the dataset name
/// is the file stem); one holding `item_context.csv` and one other `*.csv` is [`Format::Obd`].
/// Messages name files as `path` joined with the file name.
///
/// ```no_run
/// use assay_import::{load, LoadOptions, UnknownRefs};
///
/// let loaded = load("data/ml-100k".as_ref(), &LoadOptions::new(UnknownRefs::Fail))?;
/// println!("{} events from {}", loaded.dataset.events.len(), loaded.report.format);
/// # Ok::<(), assay_import::ImportError>(())
/// ```
pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, ImportError> {
    if path.is_file() {
        if path.file_name().is_some_and(|name| name == PROJECT_FILE) {
            return project::load(path, options);
        }
        return Err(ImportError::Unrecognized {
            path: path.to_owned(),
            message: format!("not a dataset: expected a directory, or its {PROJECT_FILE}"),
        });
    }
    let entries = std::fs::read_dir(path).map_err(|e| ImportError::io(path, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::io(path, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    names.sort();
    if names.iter().any(|name| name == PROJECT_FILE) {
        return project::load(&path.join(PROJECT_FILE), options);
    }
    let inter: Vec<&String> = names.iter().filter(|n| n.ends_with(".inter")).collect();
    match inter.as_slice() {
        [one] => {
            let name = one.trim_end_matches(".inter");
            return recbole::load(path, name, options);
        }
        [] => {}
        several => {
            return Err(ImportError::Unrecognized {
                path: path.to_owned(),
                message: format!(
                    "several RecBole interaction files ({}): expected one",
                    list(several.iter().map(|s| s.as_str()))
                ),
            })
        }
    }
    if names.iter().any(|name| name == obd::ITEM_CONTEXT) {
        let campaigns: Vec<&String> = names
            .iter()
            .filter(|n| n.ends_with(".csv") && *n != obd::ITEM_CONTEXT)
            .collect();
        if let [campaign] = campaigns.as_slice() {
            return obd::load(path, campaign, options);
        }
        return Err(ImportError::Unrecognized {
            path: path.to_owned(),
            message: format!(
                "an Open Bandit Dataset directory holds item_context.csv and exactly one campaign \
                 .csv file; found {}",
                if campaigns.is_empty() {
                    "none".to_owned()
                } else {
                    list(campaigns.iter().map(|s| s.as_str()))
                }
            ),
        });
    }
    let found = if names.is_empty() {
        "an empty directory".to_owned()
    } else {
        const SHOWN: usize = 10;
        let mut found = list(names.iter().take(SHOWN).map(String::as_str));
        if names.len() > SHOWN {
            found.push_str(&format!(" and {} more", names.len() - SHOWN));
        }
        found
    };
    Err(ImportError::Unrecognized {
        path: path.to_owned(),
        message: format!(
            "not a dataset: expected a directory holding {PROJECT_FILE} (a shop project), a \
             RecBole <name>.inter file, or item_context.csv plus one campaign .csv (Open Bandit \
             Dataset); found {found}"
        ),
    })
}

fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// Counts dropped rows per reason and file, remembering the first.
#[derive(Debug, Default)]
pub(crate) struct Drops {
    entries: Vec<Dropped>,
}

impl Drops {
    pub(crate) fn add(&mut self, reason: DropReason, file: &Path, line: u64) {
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.reason == reason && e.file == file)
        {
            entry.count += 1;
            return;
        }
        self.entries.push(Dropped {
            reason,
            file: file.to_owned(),
            count: 1,
            first: format!("{}:{line}", file.display()),
        });
    }

    pub(crate) fn into_vec(self) -> Vec<Dropped> {
        self.entries
    }
}
