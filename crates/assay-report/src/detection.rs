//! How well a report's user values find users known to be bad (a list of bots, fraud or test
//! accounts): the AUC of "low value" against the list, and how many of the users called
//! harmful at the report's false discovery rate are on it.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::advice::{harmful_at_fdr, FDR};
use crate::model::{ValueReport, ValueTable};

/// User values judged against a list of known-bad users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Users with a value.
    pub valued: u64,
    /// Of them, on the known-bad list.
    pub known: u64,
    /// Ids on the list that have no value (no training data, or not in the dataset).
    pub unvalued: u64,
    /// Probability that a random known-bad user has a lower value than a random other user
    /// (ties count half); NaN when either group is empty.
    pub auc: f64,
    /// Users harmful at the 5% false discovery rate ([`harmful_at_fdr`]).
    pub flagged: u64,
    /// Of them, on the known-bad list.
    pub flagged_known: u64,
}

/// Judges the report's user values against `known_bad` (user ids as the data names them);
/// `None` when the report has no user values.
pub fn detect(report: &ValueReport, known_bad: &[String]) -> Option<Detection> {
    let table = report.points.iter().find(|t| t.kind == "user")?;
    Some(detect_table(table, known_bad))
}

/// Judges one table of user values (rows named `user=ID` or `ID`) against `known_bad`.
pub fn detect_table(table: &ValueTable, known_bad: &[String]) -> Detection {
    let known: HashSet<&str> = known_bad.iter().map(String::as_str).collect();
    let bad: Vec<bool> = table
        .rows
        .iter()
        .map(|r| known.contains(r.name.strip_prefix("user=").unwrap_or(&r.name)))
        .collect();
    let values: Vec<f64> = table.rows.iter().map(|r| r.value).collect();
    let errors: Vec<f64> = table.rows.iter().map(|r| r.std_error).collect();
    let flags = harmful_at_fdr(&values, &errors, FDR);
    let n_known = bad.iter().filter(|&&b| b).count() as u64;
    Detection {
        valued: table.rows.len() as u64,
        known: n_known,
        unvalued: known.len() as u64 - n_known,
        auc: assay_value::assess::auc_of_low_values(&values, &bad),
        flagged: flags.iter().filter(|&&f| f).count() as u64,
        flagged_known: flags.iter().zip(&bad).filter(|(&f, &b)| f && b).count() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ValueRow;

    fn table(rows: &[(&str, f64, f64)]) -> ValueTable {
        ValueTable {
            kind: "user".into(),
            title: "Users".into(),
            method: String::new(),
            uncertainty: String::new(),
            rows: rows
                .iter()
                .map(|&(name, value, std_error)| ValueRow {
                    name: name.into(),
                    value,
                    std_error,
                    rows: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn counts_and_auc_by_hand() {
        // Known bad: b1 (-5) and b2 (0.5); others: h1 (1), h2 (-1), h3 (2).
        // Pairs (bad, other) with bad lower: b1 beats all 3, b2 beats h1 and h3: 5 of 6.
        let t = table(&[
            ("user=b1", -5.0, 1.0),
            ("user=h1", 1.0, 1.0),
            ("user=b2", 0.5, 1.0),
            ("user=h2", -1.0, 1.0),
            ("user=h3", 2.0, 1.0),
        ]);
        let known = ["b1".to_owned(), "b2".to_owned(), "ghost".to_owned()];
        let d = detect_table(&t, &known);
        assert_eq!((d.valued, d.known, d.unvalued), (5, 2, 1));
        assert!((d.auc - 5.0 / 6.0).abs() < 1e-12, "{}", d.auc);
        // One-sided p-values: b1 Phi(-5) = 2.9e-7, h2 Phi(-1) = 0.159, the rest above 0.5.
        // Benjamini-Hochberg at 5% over 5 tests: p(1) <= 0.01 is called, p(2) = 0.159 >
        // 0.02 is not.
        assert_eq!((d.flagged, d.flagged_known), (1, 1));
    }
}
