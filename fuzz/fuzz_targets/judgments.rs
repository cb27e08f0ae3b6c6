//! Relevance judgments against a fixed three-item catalog. The first byte picks the file's
//! name and so its format (`.tsv`, `.csv`, `.jsonl`, or no extension: tab-separated); the rest
//! is the file.
#![no_main]

use assay_core::Items;
use assay_fuzz::{check_error, scratch, write};
use assay_import::{read_judgments, LoadOptions, UnknownRefs};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 4] = [
    "judgments.tsv",
    "judgments.csv",
    "judgments.jsonl",
    "judgments",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let mut items = Items::default();
    for id in ["A1", "B2", "C3"] {
        items.intern(id);
    }
    let dir = scratch("judgments");
    let path = write(&dir, NAMES[selector as usize % NAMES.len()], file);
    let mut accepted = Vec::new();
    for refs in [UnknownRefs::Fail, UnknownRefs::Drop] {
        match read_judgments(&path, &items, &LoadOptions::new(refs)) {
            Ok(loaded) => {
                let dropped: u64 = loaded.dropped.iter().map(|d| d.count).sum();
                assert_eq!(
                    loaded.judgments.len() as u64 + dropped,
                    loaded.file.rows,
                    "every row kept or dropped"
                );
                for j in &loaded.judgments {
                    assert!((j.item as usize) < items.len(), "item index");
                    assert!(j.grade.is_finite(), "grade {}", j.grade);
                    assert!(!j.query_id.is_empty(), "empty query id");
                }
                if refs == UnknownRefs::Fail {
                    assert_eq!(dropped, 0, "dropped under unknown_refs=fail");
                }
                accepted.push(loaded.judgments);
            }
            Err(error) => check_error(&error),
        }
    }
    if accepted.len() == 2 {
        assert_eq!(
            accepted[0], accepted[1],
            "dropping changed a file that needed no drops"
        );
    }
});
