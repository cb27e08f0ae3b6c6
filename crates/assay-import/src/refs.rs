//! The item and user ids an event row names, checked against the catalog and user files: shared
//! by every reader of event files.

use std::path::Path;

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
    /// The id in `column` of the current row; an empty cell is an error.
    pub(crate) fn id<'t>(
        &self,
        table: &'t Table,
        column: usize,
        which: Ref,
    ) -> Result<&'t str, ImportError> {
        let text = table.get(column);
        if text.is_empty() {
            let article = if which == Ref::Item { "an" } else { "a" };
            return Err(table.error(
                column,
                format!(
                    "expected {article} {} id, found an empty cell",
                    which.noun()
                ),
            ));
        }
        Ok(text)
    }

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
