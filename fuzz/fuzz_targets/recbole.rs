//! RecBole atomic files: the input is `<name>.inter`, then optionally `<name>.item` and
//! `<name>.user`, separated by the record separator byte.
#![no_main]

use assay_fuzz::{check_dataset, check_error, kept_rows, scratch, split, write_parts};
use assay_import::{load, LoadOptions, UnknownRefs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch("recbole");
    let parts = split(data, 3);
    write_parts(&dir, &["shop.inter", "shop.item", "shop.user"], &parts);
    let strict = load(&dir, &LoadOptions::new(UnknownRefs::Fail));
    let lenient = load(&dir, &LoadOptions::new(UnknownRefs::Drop));
    for result in [&strict, &lenient] {
        match result {
            Ok(loaded) => {
                check_dataset(&loaded.dataset);
                let kept = kept_rows(loaded, &dir.join("shop.inter"));
                assert_eq!(
                    loaded.dataset.events.len() as u64,
                    kept,
                    "one event per kept row"
                );
            }
            Err(error) => check_error(error),
        }
    }
    match (&strict, &lenient) {
        (Ok(strict), Ok(lenient)) => {
            assert!(
                strict.report.dropped.is_empty(),
                "dropped rows under unknown_refs=fail"
            );
            assert_eq!(strict.dataset.events.len(), lenient.dataset.events.len());
        }
        // Dropping accepts everything failing accepts.
        (Ok(_), Err(error)) => {
            panic!("accepted when failing on unknown ids, refused when dropping them: {error}")
        }
        _ => {}
    }
});
