//! The item and user ids an event row names, checked against the catalog and user files: shared
//! by every reader of event files.

use std::path::Path;

use assay_core::IdMap;

use crate::parse;
use crate::table::Table;
use crate::{DropReason, Drops, ImportError};

/// Which id of an event row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ref {
    /// The item id.
    Item,
    /// The user id.
    User,
}

impl Ref {
    fn noun(self) -> &'static str {
        match self {
            Ref::Item => "item",
            Ref::User => "user",
        }
    }
}

/// The id in `column` of the current row of a catalog or user file: not empty and not in `ids`
/// yet. `lines` holds the line of each earlier row, to name the first of a duplicate.
pub(crate) fn new_id<'t>(
    table: &'t Table,
    column: usize,
    which: Ref,
    ids: &IdMap,
    lines: &[u64],
) -> Result<&'t str, ImportError> {
    let text = required_id(table, column, which)?;
    if let Some(first) = ids.get(text) {
        return Err(table.error(
            column,
            format!(
                "duplicate {} id {}, first on line {}",
                which.noun(),
                parse::quoted(text),
                lines[first as usize]
            ),
        ));
    }
    Ok(text)
}

/// The id in `column` of the current row; an empty cell, or one with a control character
/// (a NUL byte, say: a damaged file, and an id other tools would cut short), is an error.
pub(crate) fn required_id(table: &Table, column: usize, which: Ref) -> Result<&str, ImportError> {
    let text = table.get(column);
    let article = if which == Ref::Item { "an" } else { "a" };
    if text.is_empty() {
        return Err(table.error(
            column,
            format!(
                "expected {article} {} id, found an empty cell",
                which.noun()
            ),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(table.error(
            column,
            format!(
                "expected {article} {} id without control characters, found {}",
                which.noun(),
                parse::quoted(text)
            ),
        ));
    }
    Ok(text)
}

/// Checks the ids of one events file's rows, dropping or refusing unknown ones.
pub(crate) struct RefCheck<'a> {
    /// The events file, where dropped rows are counted.
    pub(crate) events: &'a Path,
    /// Skip rows with unknown ids (and count them) instead of failing.
    pub(crate) drop_unknown: bool,
    /// Appended to the unknown-id message: how to skip such rows, or nothing.
    pub(crate) hint: &'static str,
    /// The count of dropped rows.
    pub(crate) drops: &'a mut Drops,
}

impl RefCheck<'_> {
    /// Whether the current row may be kept: its id `text` is known, or there is no `file` to
    /// check it against. An unknown id drops the row (`Ok(false)`, counted) or is an error
    /// naming the file that lacks it.
    pub(crate) fn keep(
        &mut self,
        table: &Table,
        column: usize,
        which: Ref,
        known: bool,
        file: Option<&Path>,
    ) -> Result<bool, ImportError> {
        let Some(file) = file.filter(|_| !known) else {
            return Ok(true);
        };
        if self.drop_unknown {
            let reason = match which {
                Ref::Item => DropReason::UnknownItem,
                Ref::User => DropReason::UnknownUser,
            };
            self.drops.add(reason, self.events, table.line());
            return Ok(false);
        }
        Err(table.error(
            column,
            format!(
                "unknown {} {}: not in {}{}",
                which.noun(),
                parse::quoted(table.get(column)),
                file.display(),
                self.hint
            ),
        ))
    }
}
