use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::ImportError;
use crate::table::{Table, TableFormat};
use crate::{project, FileReport, PROJECT_FILE};

/// One question-answer pair of a shop's FAQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqEntry {
    /// The entry's id: the `id` column, or the 1-based row number when the file has none.
    pub id: String,
    /// The question as the shop wrote it.
    pub question: String,
    /// The answer.
    pub answer: String,
}

/// FAQ entries read from one file.
#[derive(Debug, Clone)]
pub struct LoadedFaq {
    /// The entries, in file order.
    pub entries: Vec<FaqEntry>,
    /// The file and its row count.
    pub file: FileReport,
}

/// Reads a FAQ: a table with columns `question` and `answer`, and optionally `id` (unique).
///
/// The file is tab-separated unless its extension says `.csv` or `.jsonl`, as for judgments.
pub fn read_faq(path: &Path) -> Result<LoadedFaq, ImportError> {
    let mut table = Table::open(path, TableFormat::tab_unless_named(path))?;
    const WHY: &str = "(a FAQ file has question and answer, and optionally id)";
    let question = table.require("question", WHY)?;
    let answer = table.require("answer", WHY)?;
    let id = table.column("id");
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    while table.next_row()? {
        let entry_id = match id {
            Some(column) => {
                let text = table.get(column);
                if text.is_empty() {
                    return Err(table.error(column, "expected an entry id, found an empty cell"));
                }
                text.to_owned()
            }
            None => table.rows().to_string(),
        };
        if !seen.insert(entry_id.clone()) {
            // Only reachable through the id column: row numbers are unique.
            let column = id.unwrap_or(question);
            return Err(table.error(column, format!("duplicate id '{entry_id}'")));
        }
        for (column, what) in [(question, "a question"), (answer, "an answer")] {
            if table.get(column).trim().is_empty() {
                return Err(table.error(column, format!("expected {what}, found an empty cell")));
            }
        }
        entries.push(FaqEntry {
            id: entry_id,
            question: table.get(question).to_owned(),
            answer: table.get(answer).to_owned(),
        });
    }
    Ok(LoadedFaq {
        entries,
        file: table.report(),
    })
}

/// Reads the FAQ that a shop project declares under `[faq]` in its `assay.toml`; `path` is the
/// project directory or its `assay.toml`.
pub fn read_project_faq(path: &Path) -> Result<LoadedFaq, ImportError> {
    let toml_path: PathBuf = if path.is_file() {
        path.to_owned()
    } else {
        path.join(PROJECT_FILE)
    };
    if !toml_path.is_file() {
        return Err(ImportError::Unrecognized {
            path: path.to_owned(),
            message: format!("not a shop project: expected a directory holding {PROJECT_FILE}"),
        });
    }
    match project::faq_path(&toml_path)? {
        Some(faq) => read_faq(&faq),
        None => Err(ImportError::Config {
            path: toml_path,
            key: Some("faq".to_owned()),
            message: "no [faq] table: declare one with `[faq] path = \"faq.csv\"` (columns \
                      question, answer and optionally id)"
                .to_owned(),
        }),
    }
}

/// One test question for a FAQ: what a shopper asked, and the entry that answers it (none
/// when the FAQ has no answer and the right reply is to abstain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaqQuestion {
    /// The question as asked.
    pub question: String,
    /// The id of the entry that answers it; `None` for a question the FAQ cannot answer.
    pub entry: Option<String>,
    /// A free label the results are broken down by (`kind` column), such as `paraphrase`.
    pub kind: Option<String>,
}

/// Reads test questions for a FAQ: columns `question` and `faq_id` (empty for a question
/// the FAQ cannot answer), and optionally `kind`. Tab-separated unless the extension says
/// `.csv` or `.jsonl`. A `faq_id` that is not one of `entries`' ids is an error naming the row.
pub fn read_faq_questions(
    path: &Path,
    entries: &[FaqEntry],
) -> Result<Vec<FaqQuestion>, ImportError> {
    let mut table = Table::open(path, TableFormat::tab_unless_named(path))?;
    const WHY: &str = "(FAQ test questions have question and faq_id, and optionally kind)";
    let question = table.require("question", WHY)?;
    let faq_id = table.require("faq_id", WHY)?;
    let kind = table.column("kind");
    let ids: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let mut questions = Vec::new();
    while table.next_row()? {
        if table.get(question).trim().is_empty() {
            return Err(table.error(question, "expected a question, found an empty cell"));
        }
        let id = table.get(faq_id).trim();
        if !id.is_empty() && !ids.contains(id) {
            return Err(table.error(
                faq_id,
                format!("'{id}' is not an id of the FAQ (leave it empty for a question the FAQ cannot answer)"),
            ));
        }
        questions.push(FaqQuestion {
            question: table.get(question).to_owned(),
            entry: (!id.is_empty()).then(|| id.to_owned()),
            kind: kind
                .map(|c| table.get(c).trim().to_owned())
                .filter(|k| !k.is_empty()),
        });
    }
    Ok(questions)
}
