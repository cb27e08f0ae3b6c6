use std::path::Path;

use assay_core::{Items, Judgment};

use crate::error::ImportError;
use crate::parse;
use crate::table::{Table, TableFormat};
use crate::{DropReason, Dropped, Drops, FileReport, LoadOptions, UnknownRefs};

/// Judgments read from one file.
#[derive(Debug, Clone)]
pub struct LoadedJudgments {
    /// The judgments, in file order.
    pub judgments: Vec<Judgment>,
    /// The file and its row count.
    pub file: FileReport,
    /// Rows naming unknown items, when [`UnknownRefs::Drop`] applies.
    pub dropped: Vec<Dropped>,
}

/// Reads relevance judgments: a table with columns `query_id`, `query`, `item_id` and `grade`
/// (a finite number; fractions allowed), resolving items against `items`.
///
/// The file is tab-separated unless its extension says `.csv` or `.jsonl`. Rows naming items not
/// in `items` fail or are dropped per `options.unknown_refs` (`None` means fail).
pub fn read_judgments(
    path: &Path,
    items: &Items,
    options: &LoadOptions,
) -> Result<LoadedJudgments, ImportError> {
    let mut drops = Drops::default();
    let unknown_refs = options.unknown_refs.unwrap_or(UnknownRefs::Fail);
    let (judgments, file) = read(path, items, unknown_refs, &mut drops)?;
    Ok(LoadedJudgments {
        judgments,
        file,
        dropped: drops.into_vec(),
    })
}

pub(crate) fn read(
    path: &Path,
    items: &Items,
    unknown_refs: UnknownRefs,
    drops: &mut Drops,
) -> Result<(Vec<Judgment>, FileReport), ImportError> {
    let mut table = Table::open(path, TableFormat::tab_unless_named(path))?;
    const WHY: &str = "(a judgment file has query_id, query, item_id and grade)";
    let query_id = table.require("query_id", WHY)?;
    let query = table.require("query", WHY)?;
    let item_id = table.require("item_id", WHY)?;
    let grade = table.require("grade", WHY)?;
    let mut judgments = Vec::new();
    while table.next_row()? {
        let id = table.get(query_id);
        if id.is_empty() {
            return Err(table.error(query_id, "expected a query id, found an empty cell"));
        }
        let item_text = table.get(item_id);
        let item = match items.ids.get(item_text) {
            Some(item) => item,
            None if unknown_refs == UnknownRefs::Drop => {
                drops.add(DropReason::UnknownItem, table.path(), table.line());
                continue;
            }
            None => {
                return Err(table.error(
                    item_id,
                    format!(
                        "unknown item {}: not in the catalog; set unknown_refs = \"drop\" to skip such rows",
                        parse::quoted(item_text)
                    ),
                ))
            }
        };
        let value = parse::finite(table.get(grade)).map_err(|m| table.error(grade, m))?;
        judgments.push(Judgment {
            query_id: id.to_owned(),
            query: table.get(query).to_owned(),
            item,
            grade: value,
        });
    }
    let file = FileReport {
        path: path.to_owned(),
        rows: table.rows(),
    };
    Ok((judgments, file))
}
