//! A tiny private reader of RecBole's ml-100k atomic files for tests, examples and benches.
//! Items are interned from `ml-100k.item` first (as the importer does), then users and events
//! from `ml-100k.inter` in file order; every line is a rating event.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};

/// `$ASSAY_ML100K_DIR` when it holds `ml-100k.inter`, else the `ml-100k` sample pack
/// (`assay_fetch::samples`), if present.
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("ASSAY_ML100K_DIR") {
        Some(dir) => Some(PathBuf::from(dir)).filter(|d| d.join("ml-100k.inter").is_file()),
        None => assay_fetch::samples::sample_data(assay_fetch::Pack::Ml100k),
    }
}

/// Reads ml-100k from `dir`; panics with a message on malformed lines (test data only).
pub fn load(dir: &Path) -> Dataset {
    let mut data = Dataset {
        name: "ml-100k".into(),
        ..Dataset::default()
    };
    let source = data.sources.intern("ml-100k") as u16;
    data.items.attributes.names.push("class".into());
    data.items.attributes.values.push(Vec::new());
    if let Ok(text) = std::fs::read_to_string(dir.join("ml-100k.item")) {
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            let idx = data.items.intern(fields[0]) as usize;
            data.items.title[idx] = fields.get(1).unwrap_or(&"").to_string();
            data.items.attributes.values[0][idx] = fields.get(3).unwrap_or(&"").to_string();
        }
    }
    let text = std::fs::read_to_string(dir.join("ml-100k.inter")).expect("read ml-100k.inter");
    for (n, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert!(fields.len() >= 4, "ml-100k.inter line {}: {line}", n + 1);
        let user = data.users.intern(fields[0]);
        let item = data.items.intern(fields[1]);
        let rating: f64 = fields[2].parse().expect("rating");
        let time: f64 = fields[3].parse().expect("timestamp");
        data.events.push(
            user,
            item,
            EventKind::Rating,
            rating,
            time as i64,
            NO_SESSION,
            NO_QUERY,
            NO_POSITION,
            f64::NAN,
            source,
        );
    }
    data
}
