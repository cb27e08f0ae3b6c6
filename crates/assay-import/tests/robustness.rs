//! Whatever bytes the input files hold, `load` returns `Ok` or `Err` and never panics.

mod common;

use std::path::Path;

use assay_import::{load, LoadOptions, UnknownRefs};
use proptest::prelude::*;

/// A valid file of each kind, with the name it is loaded under.
const VALID: &[(&str, &str)] = &[
    ("assay.toml", common::TOML),
    ("items.csv", common::ITEMS),
    ("events.csv", common::EVENTS),
    (
        "events.jsonl",
        "{\"customer_id\":\"u1\",\"sku\":\"A1\",\"event_type\":\"click\",\"amount\":1,\"ts\":\"2024-01-01T00:00:00Z\",\"pos\":1,\"p_log\":0.5}\n",
    ),
    (
        "shop.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\nu1\ti1\t4\t100\n",
    ),
    ("shop.item", "item_id:token\ttitle:token_seq\tclass:token_seq\ni1\tUp\tAnimation\n"),
    ("shop.user", "user_id:token\tage:float\nu1\t30\n"),
    (
        "item_context.csv",
        ",item_id,item_feature_0,item_feature_1\n0,0,0.5,a\n1,1,-0.5,b\n",
    ),
    (
        "all.csv",
        ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0\n0,2019-11-24 00:00:34+00:00,1,1,1,0.5,x,0.0\n",
    ),
];

/// Writes the dataset that `target` belongs to, with `target` replaced by `bytes`, and loads it.
fn load_with(target: usize, bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("temporary directory");
    write_family(dir.path(), target, bytes);
    for options in [LoadOptions::default(), LoadOptions::new(UnknownRefs::Drop)] {
        // Only the absence of a panic matters; both outcomes are fine.
        let _ = load(dir.path(), &options);
    }
}

/// Writes the files of `target`'s dataset into `dir`, `target` itself holding `bytes`.
fn write_family(dir: &Path, target: usize, bytes: &[u8]) {
    let (name, _) = VALID[target];
    let family: &[usize] = match name {
        "shop.inter" | "shop.item" | "shop.user" => &[4, 5, 6],
        "item_context.csv" | "all.csv" => &[7, 8],
        "events.jsonl" => &[0, 1, 3],
        _ => &[0, 1, 2],
    };
    for &index in family {
        let (file, valid) = VALID[index];
        let contents = if index == target {
            bytes
        } else {
            valid.as_bytes()
        };
        write(dir, file, contents);
    }
    if name == "events.jsonl" {
        let toml = common::TOML.replace("events.csv", "events.jsonl");
        write(dir, "assay.toml", toml.as_bytes());
    }
}

fn write(dir: &Path, name: &str, contents: &[u8]) {
    std::fs::write(dir.join(name), contents).expect("write fixture");
}

/// An edit of a valid file: flip, insert or delete a byte, or cut the file short.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the formats are drawn more often than others.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b",\t\n\r\";:{}[]0-.eE \xff\xc3".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len().max(1);
    match *edit {
        Edit::Set(at, b) if !bytes.is_empty() => bytes[at % len] = b,
        Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
        Edit::Delete(at) if !bytes.is_empty() => {
            bytes.remove(at % len);
        }
        Edit::Truncate(at) => bytes.truncate(at % len),
        _ => {}
    }
}

#[test]
fn the_unmutated_files_load() {
    for target in [0, 3, 4, 7] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let bytes = VALID[target].1.as_bytes();
        write_family(dir.path(), target, bytes);
        if let Err(error) = load(dir.path(), &LoadOptions::default()) {
            panic!("{}: {error}", VALID[target].0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        target in 0..VALID.len(),
        bytes in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        load_with(target, &bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        target in 0..VALID.len(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut bytes = VALID[target].1.as_bytes().to_vec();
        for edit in &edits {
            apply(&mut bytes, edit);
        }
        load_with(target, &bytes);
    }
}
