//! A shop project with JSON Lines files: a fixed `assay.toml` maps every field; the input is
//! `items.jsonl`, `users.jsonl` and `events.jsonl`, separated by the record separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOML: &str = r#"name = "fuzz-shop"

[items]
path = "items.jsonl"
id = "sku"
title = "name"
description = "desc"
category = "category_path"
brand = "brand"
price = "price"
attributes = ["color"]

[users]
path = "users.jsonl"
id = "customer_id"
attributes = ["segment"]

[[events]]
path = "events.jsonl"
user = "customer_id"
item = "sku"
kind = "event_type"
value = "amount"
timestamp = "ts"
session = "session_id"
query = "query"
position = "pos"
propensity = "p_log"
source = "channel"
"#;

fuzz_target!(|data: &[u8]| {
    assay_fuzz::fuzz_project(
        "project_jsonl",
        TOML,
        ["items.jsonl", "users.jsonl", "events.jsonl"],
        data,
    );
});
