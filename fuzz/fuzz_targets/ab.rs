//! The A/B test file (`variant,metric[,pre_metric][,day]`), read from disk and, when it is
//! UTF-8, also parsed from memory; both must agree.
#![no_main]

use assay_fuzz::{check_error, scratch, write};
use assay_import::{parse_ab_csv, read_ab_csv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch("ab");
    let path = write(&dir, "ab.csv", data);
    let read = read_ab_csv(&path);
    match &read {
        Ok(table) => {
            let n = table.arm.len();
            assert_eq!(table.metric.len(), n, "one metric per unit");
            assert!(
                table.pre_metric.as_ref().is_none_or(|p| p.len() == n),
                "pre_metric"
            );
            assert!(table.day.as_ref().is_none_or(|d| d.len() == n), "day");
            assert!(table.arm.iter().all(|&a| a < 2), "arm index");
            for arm in 0..2u8 {
                let units = table.arm.iter().filter(|&&a| a == arm).count();
                assert!(units >= 2, "arm {arm} has {units} units");
            }
            assert_ne!(table.arm_names[0], table.arm_names[1], "two distinct arms");
            assert!(
                table.metric.iter().all(|x| x.is_finite()),
                "metric is finite"
            );
            let pre = table.pre_metric.iter().flatten();
            assert!(pre.clone().all(|x| x.is_finite()), "pre_metric is finite");
        }
        Err(error) => check_error(error),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let parsed = parse_ab_csv(&path, text);
        match (&read, &parsed) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "file and memory disagree"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "different errors"),
            _ => panic!("file and memory disagree: {read:?} vs {parsed:?}"),
        }
    }
});
