//! Open Bandit Dataset campaigns: the input is the campaign CSV (`all.csv`), then
//! `item_context.csv`, separated by the record separator byte.
#![no_main]

use assay_core::EventKind;
use assay_fuzz::{check_dataset, check_error, kept_rows, scratch, split, write_parts};
use assay_import::{load, LoadOptions, UnknownRefs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch("obd");
    let parts = split(data, 2);
    write_parts(&dir, &["all.csv", "item_context.csv"], &parts);
    for refs in [UnknownRefs::Fail, UnknownRefs::Drop] {
        match load(&dir, &LoadOptions::new(refs)) {
            Ok(loaded) => {
                let data = &loaded.dataset;
                check_dataset(data);
                let log = dir.join("all.csv");
                let rows = loaded
                    .report
                    .files
                    .iter()
                    .find(|f| f.path == log)
                    .expect("the log is reported")
                    .rows;
                let kept = kept_rows(&loaded, &log);
                // Row r is user r and session r, kept or not.
                assert_eq!(data.users.len() as u64, rows, "one user per round");
                assert_eq!(data.sessions.len() as u64, rows, "one session per round");
                let kinds = &data.events.kind;
                let impressions = kinds
                    .iter()
                    .filter(|&&k| k == EventKind::Impression)
                    .count();
                let clicks = kinds.iter().filter(|&&k| k == EventKind::Click).count();
                assert_eq!(impressions as u64, kept, "one impression per kept round");
                assert_eq!(
                    impressions + clicks,
                    kinds.len(),
                    "only impressions and clicks"
                );
                assert!(clicks <= impressions, "a click without its impression");
                for row in 0..kinds.len() {
                    let p = data.events.propensity[row];
                    assert!(p > 0.0 && p <= 1.0, "propensity {p}");
                    assert_eq!(
                        data.events.session[row], data.events.user[row],
                        "session = round"
                    );
                }
                if refs == UnknownRefs::Fail {
                    assert!(
                        loaded.report.dropped.is_empty(),
                        "dropped under unknown_refs=fail"
                    );
                }
            }
            Err(error) => check_error(&error),
        }
    }
});
