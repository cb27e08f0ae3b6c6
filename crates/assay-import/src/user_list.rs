//! A list of user ids known to be bad (bots, fraud, test accounts), to judge user values by.

use std::path::Path;

use crate::ImportError;

/// Reads the user ids of a CSV file with a header and a `user_id` column (the simulator's
/// `truth/bots.csv`), or a single column under any header. Ids are trimmed; empty cells are
/// skipped; an id listed twice is kept once, in order of first appearance. Errors name the
/// file, the line and the field.
pub fn read_user_list(path: &Path) -> Result<Vec<String>, ImportError> {
    let mut reader = csv::Reader::from_reader(crate::capped::open(path)?);
    let headers = reader
        .headers()
        .map_err(|e| crate::table::row_error(path, 1, "header", e))?
        .clone();
    let column = match headers.iter().position(|h| h.trim() == "user_id") {
        Some(column) => column,
        None if headers.len() == 1 => 0,
        None => {
            return Err(ImportError::field(
                path,
                1,
                "header",
                "expected a `user_id` column (or a file of one column)",
            ))
        }
    };
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            if let Some(error) = crate::capped::csv_line_error(path, &e) {
                return error;
            }
            let line = e.position().map_or(0, |p| p.line());
            ImportError::field(path, line, "row", format!("unreadable row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let Some(id) = record.get(column) else {
            return Err(ImportError::field(path, line, "user_id", "missing cell"));
        };
        let id = id.trim();
        if !id.is_empty() && seen.insert(id.to_owned()) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_id_column_or_a_lone_column() {
        let dir = tempfile::tempdir().unwrap();
        let bots = dir.path().join("bots.csv");
        std::fs::write(
            &bots,
            "user_id,kind\nu3,farm\n u9 ,scraper\nu3,farm\n,farm\n",
        )
        .unwrap();
        assert_eq!(read_user_list(&bots).unwrap(), ["u3", "u9"]);
        let plain = dir.path().join("plain.csv");
        std::fs::write(&plain, "customer\nc1\nc2\n").unwrap();
        assert_eq!(read_user_list(&plain).unwrap(), ["c1", "c2"]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bots.csv");
        std::fs::write(&path, "id,kind\nu1,farm\n").unwrap();
        let err = read_user_list(&path).unwrap_err().to_string();
        assert!(
            err.contains("bots.csv:1: field `header`") && err.contains("`user_id`"),
            "{err}"
        );
        std::fs::write(&path, "user_id,kind\nu1,farm\nu2\n").unwrap();
        let err = read_user_list(&path).unwrap_err().to_string();
        assert!(err.contains("bots.csv:3: field `row`"), "{err}");
        let err = read_user_list(&dir.path().join("missing.csv")).unwrap_err();
        assert!(matches!(err, ImportError::Io { .. }), "{err}");
    }
}
