//! A plain labelled table: numeric feature columns and one label column, read from CSV.

use std::collections::HashMap;
use std::path::Path;

use crate::ImportError;

type Result<T> = std::result::Result<T, ImportError>;

/// Rows of numeric features with a class label each.
///
/// Labels are kept as text in `classes`; `labels[r]` indexes that list. Features are stored
/// row-major: row `r` is `features[r * dim..(r + 1) * dim]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledTable {
    /// Feature column names, in file order.
    pub feature_names: Vec<String>,
    /// Row-major features.
    pub features: Vec<f64>,
    /// Class index of every row.
    pub labels: Vec<u32>,
    /// Class names; `labels` index this.
    pub classes: Vec<String>,
}

impl LabelledTable {
    /// Builds a table from rows and integer labels (class names are the numbers).
    ///
    /// # Panics
    /// When a row's length differs from the first row's: a bug in the caller.
    pub fn from_rows(rows: &[Vec<f64>], labels: &[u32]) -> LabelledTable {
        assert_eq!(rows.len(), labels.len(), "one label per row");
        let dim = rows.first().map_or(0, Vec::len);
        let mut features = Vec::with_capacity(rows.len() * dim);
        for row in rows {
            assert_eq!(row.len(), dim, "rows of equal length");
            features.extend_from_slice(row);
        }
        let n_classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
        LabelledTable {
            feature_names: (0..dim).map(|j| format!("x{j}")).collect(),
            features,
            labels: labels.to_vec(),
            classes: (0..n_classes).map(|c| c.to_string()).collect(),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features per row.
    pub fn dim(&self) -> usize {
        self.feature_names.len()
    }

    /// The features of row `row`.
    pub fn row(&self, row: usize) -> &[f64] {
        let dim = self.dim();
        &self.features[row * dim..(row + 1) * dim]
    }

    /// Reads a CSV file with a header: the column named `label` is the class (any text), every
    /// other column must hold finite numbers. Class indices are assigned in order of first
    /// appearance.
    pub fn read_csv(path: &Path, label: &str) -> Result<LabelledTable> {
        read_csv(path, label, None)
    }

    /// Reads a second file (a test set) against this one: same label column, the same feature
    /// columns by name (in any order), and labels mapped onto this table's classes (a label
    /// this table lacks gets a new class index, which no training row has).
    pub fn read_csv_like(&self, path: &Path, label: &str) -> Result<LabelledTable> {
        read_csv(path, label, Some(self))
    }
}

fn read_csv(path: &Path, label: &str, like: Option<&LabelledTable>) -> Result<LabelledTable> {
    let table_error =
        |line: u64, field: &str, reason: String| ImportError::field(path, line, field, reason);
    let (mut reader, header) = crate::table::trimmed_csv(path, crate::capped::open(path)?)?;
    let header: Vec<String> = header.iter().map(str::to_owned).collect();
    let Some(label_col) = header.iter().position(|h| h == label) else {
        return Err(table_error(
            1,
            &header.join(","),
            format!("no label column `{label}`"),
        ));
    };
    let file_features: Vec<usize> = (0..header.len()).filter(|&c| c != label_col).collect();
    if file_features.is_empty() {
        return Err(table_error(
            1,
            &header.join(","),
            "expected at least one feature column besides the label".into(),
        ));
    }
    // Feature j of the output is file column `columns[j]`.
    let (feature_names, columns): (Vec<String>, Vec<usize>) = match like {
        None => file_features
            .iter()
            .map(|&c| (header[c].clone(), c))
            .unzip(),
        Some(reference) => {
            let mut columns = Vec::with_capacity(reference.dim());
            for name in &reference.feature_names {
                match header.iter().position(|h| h == name) {
                    Some(c) if c != label_col => columns.push(c),
                    _ => {
                        return Err(table_error(
                            1,
                            name,
                            "feature column of the training file is missing".into(),
                        ))
                    }
                }
            }
            if file_features.len() != columns.len() {
                let extra = file_features
                    .iter()
                    .find(|c| !columns.contains(c))
                    .map_or(String::new(), |&c| header[c].clone());
                return Err(table_error(
                    1,
                    &extra,
                    "column not in the training file".into(),
                ));
            }
            (reference.feature_names.clone(), columns)
        }
    };
    let mut classes: Vec<String> = like.map_or_else(Vec::new, |t| t.classes.clone());
    let mut class_index: HashMap<String, u32> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.clone(), i as u32))
        .collect();
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| crate::table::row_error(path, 0, "record", e))?;
        let line = record.position().map_or(0, |p| p.line());
        let text = &record[label_col];
        if text.is_empty() {
            return Err(table_error(
                line,
                label,
                "expected a label, found nothing".into(),
            ));
        }
        let class = match class_index.get(text) {
            Some(&c) => c,
            None => {
                let c = classes.len() as u32;
                classes.push(text.to_owned());
                class_index.insert(text.to_owned(), c);
                c
            }
        };
        labels.push(class);
        for &c in &columns {
            let field = &record[c];
            match field.parse::<f64>() {
                Ok(x) if x.is_finite() => features.push(x),
                _ => {
                    return Err(table_error(
                        line,
                        &header[c],
                        format!("expected a finite number, found `{field}`"),
                    ))
                }
            }
        }
    }
    if labels.is_empty() {
        return Err(table_error(2, label, "the file has no data rows".into()));
    }
    Ok(LabelledTable {
        feature_names,
        features,
        labels,
        classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.path().join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        path
    }

    #[test]
    fn reads_and_maps_columns_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let train = write(&dir, "a.csv", "x,y,label\n1,2,cat\n3,4,dog\n5,6,cat\n");
        let test = write(&dir, "b.csv", "label,y,x\nbird,1,0\ndog,2,3\n");
        let t = LabelledTable::read_csv(&train, "label").unwrap();
        assert_eq!(t.feature_names, vec!["x", "y"]);
        assert_eq!(t.labels, vec![0, 1, 0]);
        assert_eq!(t.row(1), &[3.0, 4.0]);
        let s = t.read_csv_like(&test, "label").unwrap();
        assert_eq!(s.row(0), &[0.0, 1.0]);
        assert_eq!(s.labels, vec![2, 1]);
        assert_eq!(s.classes, vec!["cat", "dog", "bird"]);
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(&dir, "bad.csv", "x,y,label\n1,2,a\n1,oops,b\n");
        let msg = LabelledTable::read_csv(&bad, "label")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("bad.csv:3: field `y`"), "{msg}");
        assert!(msg.contains("finite number"), "{msg}");
        let msg = LabelledTable::read_csv(&bad, "class")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(":1:") && msg.contains("no label column `class`"),
            "{msg}"
        );
        let short = write(&dir, "short.csv", "x,y,label\n1,2\n");
        let msg = LabelledTable::read_csv(&short, "label")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("short.csv:2"), "{msg}");
        let train = write(&dir, "t.csv", "x,y,label\n1,2,a\n");
        let t = LabelledTable::read_csv(&train, "label").unwrap();
        let other = write(&dir, "o.csv", "x,z,label\n1,2,a\n");
        let msg = t.read_csv_like(&other, "label").unwrap_err().to_string();
        assert!(
            msg.contains("field `y`") && msg.contains("missing"),
            "{msg}"
        );
        let missing = dir.path().join("nope.csv");
        assert!(LabelledTable::read_csv(&missing, "label").is_err());
    }
}
