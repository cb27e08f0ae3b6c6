//! Helpers shared by the integration tests: fixtures written to a temporary directory, and
//! error messages with that directory's prefix removed so they read like `events.csv:2: ...`.

#![allow(dead_code)]

use std::path::Path;

use assay_import::{load, ImportError, LoadOptions, Loaded};

pub const TOML: &str = r#"[items]
path = "items.csv"
id = "sku"
title = "name"
price = "price"

[[events]]
path = "events.csv"
user = "customer_id"
item = "sku"
kind = "event_type"
value = "amount"
timestamp = "ts"
position = "pos"
propensity = "p_log"
"#;

pub const ITEMS: &str = "sku,name,price
A1,Red dress,19.90
B2,Blue shirt,
";

pub const EVENTS: &str = "customer_id,sku,event_type,amount,ts,pos,p_log
u1,A1,click,,2024-01-01T10:00:00Z,1,0.5
u2,B2,purchase,25.5,1704103200,,
";

/// A temporary directory holding `files` (name, contents).
pub fn write_dir(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).expect("write fixture");
    }
    dir
}

/// The base project with some files replaced or added.
pub fn project(replace: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files: Vec<(&str, &str)> = vec![
        ("assay.toml", TOML),
        ("items.csv", ITEMS),
        ("events.csv", EVENTS),
    ];
    for &(name, contents) in replace {
        match files.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = contents,
            None => files.push((name, contents)),
        }
    }
    let bytes: Vec<(&str, &[u8])> = files.iter().map(|(n, c)| (*n, c.as_bytes())).collect();
    write_dir(&bytes)
}

/// The message of `error` with `dir/` removed.
pub fn message(error: &ImportError, dir: &Path) -> String {
    let prefix = format!("{}/", dir.display());
    error.to_string().replace(&prefix, "")
}

/// Loads `dir` and returns the error message, relative to `dir`.
#[track_caller]
pub fn load_err(dir: &Path, options: &LoadOptions) -> String {
    match load(dir, options) {
        Ok(loaded) => panic!(
            "expected an error, loaded {} events",
            loaded.dataset.events.len()
        ),
        Err(error) => message(&error, dir),
    }
}

/// Loads `dir`, failing the test with the relative message on error.
#[track_caller]
pub fn load_ok(dir: &Path, options: &LoadOptions) -> Loaded {
    match load(dir, options) {
        Ok(loaded) => loaded,
        Err(error) => panic!("{}", message(&error, dir)),
    }
}

/// Asserts that the project made of the base files with `replace` fails with `expected`.
#[track_caller]
pub fn check_project(replace: &[(&str, &str)], expected: &str) {
    let dir = project(replace);
    assert_eq!(load_err(dir.path(), &LoadOptions::default()), expected);
}
