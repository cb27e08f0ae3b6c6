//! What the fuzz targets share: splitting one input into several files, a scratch folder the
//! files are written to, and the invariants every loaded dataset must satisfy.
//!
//! A target never catches a panic: libFuzzer reports any panic as a crash. Readers may refuse an
//! input (an `Err`), but what they accept must be consistent, so the checks here panic with a
//! message naming the broken invariant.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use assay_core::{Dataset, NO_QUERY, NO_SESSION};
use assay_import::{ImportError, LoadOptions, Loaded, UnknownRefs};

/// The byte that separates the files of one input (ASCII "record separator"); a file's text
/// never holds it, every other byte is fair game.
pub const SEPARATOR: u8 = 0x1e;

/// Splits `data` at [`SEPARATOR`] into at most `n` parts; the last part keeps any further
/// separators. Parts that the input does not reach are `None` (the file is absent).
pub fn split(data: &[u8], n: usize) -> Vec<Option<&[u8]>> {
    let mut parts: Vec<Option<&[u8]>> = data.splitn(n, |&b| b == SEPARATOR).map(Some).collect();
    parts.resize(n, None);
    parts
}

/// A fresh, empty folder for one execution, under the system's temporary directory (`TMPDIR`;
/// `run.sh` points it at a memory-backed folder). The previous execution's folder is removed
/// first, so a long run holds one folder at a time.
pub fn scratch(target: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = std::env::temp_dir().join(format!("assay-fuzz-{target}-{}", std::process::id()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    if n > 0 {
        let _ = std::fs::remove_dir_all(base.join((n - 1).to_string()));
    }
    let dir = base.join(n.to_string());
    std::fs::create_dir_all(&dir).expect("create the scratch folder");
    dir
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write a fuzz input file");
    path
}

/// Writes the parts that are present as files named `names` (in order) in `dir`.
pub fn write_parts(dir: &Path, names: &[&str], parts: &[Option<&[u8]>]) {
    for (name, part) in names.iter().zip(parts) {
        if let Some(bytes) = part {
            write(dir, name, bytes);
        }
    }
}

/// Checks what every error must carry: a message that names something, and no panic while
/// formatting it.
pub fn check_error(error: &ImportError) {
    let message = error.to_string();
    assert!(!message.trim().is_empty(), "an error with an empty message");
}

/// The invariants of a dataset any reader returns: every column as long as its table, every
/// index in range, every sentinel where the schema allows it.
pub fn check_dataset(data: &Dataset) {
    let items = &data.items;
    let n_items = items.len();
    assert_eq!(items.title.len(), n_items, "item titles");
    assert_eq!(items.description.len(), n_items, "item descriptions");
    assert_eq!(items.category.len(), n_items, "item categories");
    assert_eq!(items.brand.len(), n_items, "item brands");
    assert_eq!(items.price.len(), n_items, "item prices");
    for &price in &items.price {
        assert!(
            price.is_nan() || (price.is_finite() && price >= 0.0),
            "price {price}"
        );
    }
    assert_eq!(
        items.attributes.names.len(),
        items.attributes.values.len(),
        "item attribute columns"
    );
    for column in &items.attributes.values {
        assert_eq!(column.len(), n_items, "an item attribute column");
    }
    assert_eq!(
        items.features.data.len(),
        n_items * items.features.dim(),
        "item features"
    );
    // A missing feature is NaN; no feature is infinite.
    assert!(
        !items.features.data.iter().any(|x| x.is_infinite()),
        "an infinite item feature"
    );

    let users = &data.users;
    let n_users = users.len();
    assert_eq!(
        users.attributes.names.len(),
        users.attributes.values.len(),
        "user attribute columns"
    );
    for column in &users.attributes.values {
        assert_eq!(column.len(), n_users, "a user attribute column");
    }
    assert_eq!(
        users.features.data.len(),
        n_users * users.features.dim(),
        "user features"
    );
    assert!(
        !users.features.data.iter().any(|x| x.is_infinite()),
        "an infinite user feature"
    );

    let e = &data.events;
    let n = e.len();
    for (name, len) in [
        ("item", e.item.len()),
        ("kind", e.kind.len()),
        ("value", e.value.len()),
        ("timestamp", e.timestamp.len()),
        ("session", e.session.len()),
        ("query", e.query.len()),
        ("position", e.position.len()),
        ("propensity", e.propensity.len()),
        ("source", e.source.len()),
    ] {
        assert_eq!(len, n, "event column {name}");
    }
    for row in 0..n {
        assert!((e.user[row] as usize) < n_users, "event {row}: user index");
        assert!((e.item[row] as usize) < n_items, "event {row}: item index");
        assert!(
            e.session[row] == NO_SESSION || (e.session[row] as usize) < data.sessions.len(),
            "event {row}: session index"
        );
        assert!(
            e.query[row] == NO_QUERY || (e.query[row] as usize) < data.queries.len(),
            "event {row}: query index"
        );
        assert!(
            (e.source[row] as usize) < data.sources.len(),
            "event {row}: source index"
        );
        let value = e.value[row];
        assert!(
            value.is_nan() || value.is_finite(),
            "event {row}: value {value}"
        );
        let p = e.propensity[row];
        assert!(
            p.is_nan() || (p > 0.0 && p <= 1.0),
            "event {row}: propensity {p}"
        );
    }
    for judgment in &data.judgments {
        assert!((judgment.item as usize) < n_items, "judgment item index");
        assert!(
            judgment.grade.is_finite(),
            "judgment grade {}",
            judgment.grade
        );
        assert!(
            !judgment.query_id.is_empty(),
            "judgment with an empty query id"
        );
    }
    for (map, what) in [(&items.ids, "item"), (&users.ids, "user")] {
        for id in map.names() {
            assert!(!id.is_empty(), "an empty {what} id");
            assert!(
                !id.chars().any(char::is_control),
                "{what} id {id:?} has a control character"
            );
        }
    }
    for (map, what) in [
        (&items.ids, "item"),
        (&users.ids, "user"),
        (&data.sources, "source"),
        (&data.sessions, "session"),
        (&data.queries, "query"),
    ] {
        for (index, name) in map.names().iter().enumerate() {
            assert_eq!(
                map.get(name),
                Some(index as u32),
                "{what} id {name:?} maps back"
            );
        }
    }
}

/// Rows of `file` that were kept: its data rows less those dropped.
pub fn kept_rows(loaded: &Loaded, file: &Path) -> u64 {
    let report = &loaded.report;
    let rows = report
        .files
        .iter()
        .find(|f| f.path == file)
        .unwrap_or_else(|| panic!("{} is not in the report", file.display()))
        .rows;
    let dropped: u64 = report
        .dropped
        .iter()
        .filter(|d| d.file == file)
        .map(|d| d.count)
        .sum();
    assert!(dropped <= rows, "{} rows dropped of {rows}", dropped);
    rows - dropped
}

/// An `assay.toml` that maps every field of `items.EXT`, `users.EXT` and `events.EXT`.
fn project_toml(extension: &str) -> String {
    format!(
        r#"name = "fuzz-shop"

[items]
path = "items.{extension}"
id = "sku"
title = "name"
description = "desc"
category = "category_path"
brand = "brand"
price = "price"
attributes = ["color"]

[users]
path = "users.{extension}"
id = "customer_id"
attributes = ["segment"]

[[events]]
path = "events.{extension}"
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
"#
    )
}

/// Loads a project of `items.EXT`, `users.EXT` and `events.EXT` (the three parts of `data`)
/// beside a fixed `assay.toml` that maps every field, under both settings of `unknown_refs`,
/// and checks what it accepts.
pub fn fuzz_project(target: &str, extension: &str, data: &[u8]) {
    let dir = scratch(target);
    write(
        &dir,
        assay_import::PROJECT_FILE,
        project_toml(extension).as_bytes(),
    );
    let files = ["items", "users", "events"].map(|stem| format!("{stem}.{extension}"));
    let files = [files[0].as_str(), files[1].as_str(), files[2].as_str()];
    let parts = split(data, 3);
    write_parts(&dir, &files, &parts);
    let mut accepted = [None, None];
    for (k, refs) in [UnknownRefs::Fail, UnknownRefs::Drop]
        .into_iter()
        .enumerate()
    {
        match assay_import::load(&dir, &LoadOptions::new(refs)) {
            Ok(loaded) => {
                let data = &loaded.dataset;
                check_dataset(data);
                let [items, users, events] = files.map(|name| dir.join(name));
                assert_eq!(
                    data.items.len() as u64,
                    kept_rows(&loaded, &items),
                    "one item per row"
                );
                assert_eq!(
                    data.users.len() as u64,
                    kept_rows(&loaded, &users),
                    "one user per row"
                );
                assert_eq!(
                    data.events.len() as u64,
                    kept_rows(&loaded, &events),
                    "one event per kept row"
                );
                if refs == UnknownRefs::Fail {
                    assert!(
                        loaded.report.dropped.is_empty(),
                        "dropped under unknown_refs=fail"
                    );
                }
                accepted[k] = Some(data.events.len());
            }
            Err(error) => check_error(&error),
        }
    }
    if let [Some(strict), lenient] = accepted {
        assert_eq!(
            Some(strict),
            lenient,
            "dropping changed a file that needed no drops"
        );
    }
}
