//! A shop project with comma-separated files: a fixed `assay.toml` maps every field; the input is
//! `items.csv`, `users.csv` and `events.csv`, separated by the record separator byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TOML: &str = r#"name = "fuzz-shop"

[items]
path = "items.csv"
id = "sku"
title = "name"
description = "desc"
category = "category_path"
brand = "brand"
price = "price"
attributes = ["color"]

[users]
path = "users.csv"
id = "customer_id"
attributes = ["segment"]

[[events]]
path = "events.csv"
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
        "project_csv",
        TOML,
        ["items.csv", "users.csv", "events.csv"],
        data,
    );
});
