//! A shop project with tab-separated files: a fixed `assay.toml` maps every field; the input is
//! `items.tsv`, `users.tsv` and `events.tsv`, separated by the record separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOML: &str = r#"name = "fuzz-shop"

[items]
path = "items.tsv"
id = "sku"
title = "name"
description = "desc"
category = "category_path"
brand = "brand"
price = "price"
attributes = ["color"]

[users]
path = "users.tsv"
id = "customer_id"
attributes = ["segment"]

[[events]]
path = "events.tsv"
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
        "project_tsv",
        TOML,
        ["items.tsv", "users.tsv", "events.tsv"],
        data,
    );
});
