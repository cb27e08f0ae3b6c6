//! A shop project with tab-separated files: a fixed `assay.toml` maps every field; the input is
//! `items.tsv`, `users.tsv` and `events.tsv`, separated by the record separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assay_fuzz::fuzz_project("project_tsv", "tsv", data);
});
