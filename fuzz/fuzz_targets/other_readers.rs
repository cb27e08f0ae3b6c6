//! The smaller readers of users' files: a plain catalog (CSV or JSON Lines), labelled queries,
//! a FAQ (TSV, CSV or JSON Lines) and a training run's curves. The first byte picks the reader
//! and the file name; the rest is the file.
#![no_main]

use std::collections::HashSet;

use assay_fuzz::{check_dataset, check_error, scratch, write};
use assay_import::{read_catalog, read_faq, read_intent_labels, read_training_curves};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 7] = [
    "catalog.csv",
    "catalog.jsonl",
    "queries.csv",
    "faq.tsv",
    "faq.csv",
    "faq.jsonl",
    "curves.csv",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let which = selector as usize % NAMES.len();
    let dir = scratch("other_readers");
    let path = write(&dir, NAMES[which], file);
    match which {
        0 | 1 => match read_catalog(&path) {
            Ok(data) => {
                check_dataset(&data);
                assert!(
                    data.events.is_empty() && data.users.is_empty(),
                    "only items"
                );
            }
            Err(error) => check_error(&error),
        },
        2 => match read_intent_labels(&path) {
            Ok(pairs) => {
                for (query, category) in &pairs {
                    assert!(query.chars().any(char::is_alphanumeric), "query {query:?}");
                    assert_eq!(query.trim(), query, "query is trimmed");
                    assert!(!category.is_empty(), "empty category");
                    assert_eq!(category.trim(), category, "category is trimmed");
                }
            }
            Err(error) => check_error(&error),
        },
        3..=5 => match read_faq(&path) {
            Ok(faq) => {
                assert_eq!(faq.entries.len() as u64, faq.file.rows, "one entry per row");
                let ids: HashSet<&str> = faq.entries.iter().map(|e| e.id.as_str()).collect();
                assert_eq!(ids.len(), faq.entries.len(), "unique ids");
                for entry in &faq.entries {
                    assert!(!entry.question.trim().is_empty(), "empty question");
                    assert!(!entry.answer.trim().is_empty(), "empty answer");
                }
            }
            Err(error) => check_error(&error),
        },
        _ => match read_training_curves(&path) {
            Ok(curves) => {
                for point in &curves.steps {
                    assert!(
                        point.lr.is_finite() && point.loss.is_finite(),
                        "step values"
                    );
                }
                for point in &curves.epochs {
                    assert_eq!(
                        point.values.len(),
                        curves.metrics.len(),
                        "one value per metric"
                    );
                }
            }
            Err(error) => check_error(&error),
        },
    }
});
