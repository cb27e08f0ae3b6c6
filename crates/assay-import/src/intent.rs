//! Labelled shopper queries: which category each query is after.

use std::path::Path;

use crate::ImportError;

/// Reads (query, category path) pairs from a CSV with columns `query` and `intent_category`
/// (the simulator's `truth/queries.csv`) or `category`.
///
/// Rows whose query has no letter or digit, or whose category is empty, are skipped; both
/// cells are trimmed. Errors name the file, the line and the field.
pub fn read_intent_labels(path: &Path) -> Result<Vec<(String, String)>, ImportError> {
    let mut reader = csv::Reader::from_reader(crate::capped::open(path)?);
    let headers = reader
        .headers()
        .map_err(|e| crate::table::row_error(path, 1, "header", e))?
        .clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let (Some(query), Some(category)) =
        (column(&["query"]), column(&["intent_category", "category"]))
    else {
        return Err(ImportError::field(
            path,
            1,
            "header",
            "expected columns `query` and `intent_category` (or `category`)",
        ));
    };
    let mut labelled = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            if let Some(error) = crate::capped::csv_line_error(path, &e) {
                return error;
            }
            let line = e.position().map_or(0, |p| p.line());
            ImportError::field(path, line, "row", format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let (Some(q), Some(c)) = (record.get(query), record.get(category)) else {
            let field = if record.get(query).is_none() {
                "query"
            } else {
                "category"
            };
            return Err(ImportError::field(path, line, field, "missing cell"));
        };
        if q.chars().any(char::is_alphanumeric) && !c.trim().is_empty() {
            labelled.push((q.trim().to_owned(), c.trim().to_owned()));
        }
    }
    Ok(labelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_either_category_column_and_skips_empty_rows() {
        let dir = tempfile::tempdir().unwrap();
        let truth = dir.path().join("queries.csv");
        std::fs::write(
            &truth,
            "query_id,query,intent_category\nq1, red dress ,Women/Dresses\nq2,??,Men\nq3,lamp,\n",
        )
        .unwrap();
        assert_eq!(
            read_intent_labels(&truth).unwrap(),
            [("red dress".to_owned(), "Women/Dresses".to_owned())]
        );
        let plain = dir.path().join("labels.csv");
        std::fs::write(&plain, "category,query\nHome/Lamps,desk lamp\n").unwrap();
        assert_eq!(
            read_intent_labels(&plain).unwrap(),
            [("desk lamp".to_owned(), "Home/Lamps".to_owned())]
        );
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(&path, "q,category\nx,y\n").unwrap();
        let err = read_intent_labels(&path).unwrap_err().to_string();
        assert!(
            err.contains("labels.csv:1: field `header`") && err.contains("`query`"),
            "{err}"
        );
        std::fs::write(&path, "query,category\nok,A\nshort\n").unwrap();
        let err = read_intent_labels(&path).unwrap_err().to_string();
        assert!(err.contains("labels.csv:3: field `row`"), "{err}");
        let missing = dir.path().join("missing.csv");
        let err = read_intent_labels(&missing).unwrap_err();
        assert!(matches!(err, ImportError::Io { .. }), "{err}");
    }
}
