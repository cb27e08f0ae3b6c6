//! Labelled feature tables (KNN-Shapley's train and test CSVs, label column `label`): the input
//! is the training file, then the test file, separated by the record separator byte; the test
//! file is read against the training one.
#![no_main]

use assay_fuzz::{check_error, scratch, split, write_parts};
use assay_import::LabelledTable;
use libfuzzer_sys::fuzz_target;

fn check(table: &LabelledTable) {
    let (n, dim) = (table.len(), table.dim());
    assert!(dim > 0, "a table without features");
    assert_eq!(table.features.len(), n * dim, "features are rows x columns");
    assert_eq!(table.labels.len(), n, "one label per row");
    assert!(
        table.features.iter().all(|x| x.is_finite()),
        "features are finite"
    );
    assert!(
        table
            .labels
            .iter()
            .all(|&c| (c as usize) < table.classes.len()),
        "label index"
    );
    for row in 0..n {
        assert_eq!(table.row(row).len(), dim);
    }
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch("knn_table");
    let parts = split(data, 2);
    write_parts(&dir, &["train.csv", "test.csv"], &parts);
    match LabelledTable::read_csv(&dir.join("train.csv"), "label") {
        Ok(train) => {
            check(&train);
            if parts[1].is_some() {
                match train.read_csv_like(&dir.join("test.csv"), "label") {
                    Ok(test) => {
                        check(&test);
                        assert_eq!(test.feature_names, train.feature_names, "same features");
                        assert!(
                            test.classes.starts_with(&train.classes),
                            "the training classes keep their indices"
                        );
                    }
                    Err(error) => check_error(&error),
                }
            }
        }
        Err(error) => check_error(&error),
    }
});
