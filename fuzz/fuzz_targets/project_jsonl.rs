//! A shop project with JSON Lines files: a fixed `assay.toml` maps every field; the input is
//! `items.jsonl`, `users.jsonl` and `events.jsonl`, separated by the record separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assay_fuzz::fuzz_project("project_jsonl", "jsonl", data);
});
