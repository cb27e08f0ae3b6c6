//! A shop project with comma-separated files: a fixed `assay.toml` maps every field; the input is
//! `items.csv`, `users.csv` and `events.csv`, separated by the record separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assay_fuzz::fuzz_project("project_csv", "csv", data);
});
