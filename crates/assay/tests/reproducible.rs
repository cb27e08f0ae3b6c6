//! The reproducibility contract, end to end: the same input, flags and seed give the same
//! bytes, run after run (each run is a new process, so a new hash-map seed and new thread
//! timings). Only measured durations may differ: JSON fields named `seconds` (an epoch's, in
//! a training log), `*_seconds` or `*_ms`, and the report footer's "N model fits in T s".

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs the binary; panics with its output unless it exits 0; returns stdout.
fn assay(home: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(home)
        .env("ASSAY_HOME", home.join("home"))
        .env("ASSAY_SHARED_DATA", home.join("no-shared-data"))
        .output()
        .expect("run assay");
    assert!(
        output.status.success(),
        "assay {}\n--- stderr\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The JSON with every measured duration removed.
fn without_durations(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| {
                    key != "seconds" && !key.ends_with("_seconds") && !key.ends_with("_ms")
                })
                .map(|(key, v)| (key, without_durations(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_durations).collect()),
        other => other,
    }
}

/// Runs `args` (which ask for `--json`) twice and asserts the same JSON, durations aside.
#[track_caller]
fn same_json_twice(home: &Path, args: &[&str]) -> Value {
    let parse = |bytes: Vec<u8>| -> Value {
        without_durations(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!("assay {}: not JSON ({e})", args.join(" "));
        }))
    };
    let first = parse(assay(home, args));
    let again = parse(assay(home, args));
    assert_eq!(first, again, "assay {}: two runs differ", args.join(" "));
    first
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    assay(
        home,
        &[
            "simulate",
            "--out",
            "shop",
            "--events",
            "8000",
            "--seed",
            "3",
            "--bad-data",
        ],
    );

    // Recommenders, including the ones that sum in parallel (ALS's Gram matrix, the metrics).
    let eval = same_json_twice(
        home,
        &[
            "eval",
            "shop",
            "--models",
            "pop,itemknn,ease,als,bpr",
            "--json",
        ],
    );
    assert_eq!(eval.as_array().map(Vec::len), Some(5));

    // Saved models: the same tensors, byte for byte.
    for model in ["als", "bpr", "ease"] {
        let tensors = |out: &str| {
            assay(home, &["train", "shop", "--model", model, "--out", out]);
            std::fs::read(home.join(out).join("tensors.safetensors")).unwrap()
        };
        let first = tensors(&format!("{model}-a"));
        assert!(
            first == tensors(&format!("{model}-b")),
            "{model}: tensors differ"
        );
    }

    // Business metrics: per-unit sums kept in a hash map.
    same_json_twice(home, &["business", "shop", "--json"]);

    // Valuation of sources and of users (sampled semivalues run their samples in parallel).
    same_json_twice(home, &["value", "shop", "--players", "sources", "--json"]);
    same_json_twice(
        home,
        &[
            "value",
            "shop",
            "--players",
            "users",
            "--max-samples",
            "64",
            "--json",
        ],
    );

    // Search: two indexes built from the same shop answer every judged query alike. (The
    // lexical index's files are not byte-identical: tantivy names its segments at random.)
    for index in ["index-a", "index-b"] {
        assay(
            home,
            &["index", "shop", "--encoder", "hash", "--index", index],
        );
    }
    let search = |index: &str| {
        let mut answers = without_durations(
            serde_json::from_slice(&assay(
                home,
                &[
                    "eval-search",
                    "shop",
                    "--encoder",
                    "hash",
                    "--index",
                    index,
                    "--json",
                ],
            ))
            .unwrap(),
        );
        // The one field that names the index.
        assert_eq!(answers["index"], format!("saved index {index}"));
        answers["index"] = Value::Null;
        answers
    };
    assert_eq!(search("index-a"), search("index-b"));

    // The report page, byte for byte but for the footer's duration.
    let report = |out: &str| {
        assay(home, &["report", "shop", "--out", out, "--seed", "1"]);
        without_fit_time(&std::fs::read_to_string(home.join(out)).unwrap())
    };
    let page = report("a.html");
    assert!(page.len() > 10_000);
    assert!(page == report("b.html"), "two report pages differ");
}

/// The page with the seconds of "N model fits in T s" blanked out.
fn without_fit_time(page: &str) -> String {
    let marker = " model fits in ";
    let start = page.find(marker).expect("the footer names the fit time") + marker.len();
    let end = start + page[start..].find(" s").expect("seconds follow");
    format!("{}{}", &page[..start], &page[end..])
}

/// Every file under `dir`, by relative path, with its bytes.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_other_seeded_commands_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // A shop written twice: the same files, byte for byte.
    for out in ["shop", "shop-again"] {
        assay(
            home,
            &["simulate", "--out", out, "--events", "6000", "--seed", "4"],
        );
    }
    let shop = files_of(&home.join("shop"));
    assert!(shop.len() >= 5);
    assert!(
        shop == files_of(&home.join("shop-again")),
        "two shops differ"
    );

    // A split written twice.
    for out in ["split-a", "split-b"] {
        assay(
            home,
            &["data", "split", "shop", "--out", out, "--seed", "2"],
        );
    }
    assert!(files_of(&home.join("split-a")) == files_of(&home.join("split-b")));

    same_json_twice(
        home,
        &[
            "tune",
            "shop",
            "--grid",
            "itemknn:k=20|50;shrink=0|10",
            "--json",
        ],
    );
    same_json_twice(home, &["ope", "shop", "--policy", "uniform", "--json"]);
    same_json_twice(
        home,
        &[
            "bandit", "coverage", "--logs", "2", "--rounds", "300", "--json",
        ],
    );
    same_json_twice(home, &["bandit", "simulate", "--rounds", "500", "--json"]);
    same_json_twice(
        home,
        &["ctr", "shop", "--models", "lr", "--epochs", "5", "--json"],
    );

    // An A/B file's bootstrap interval.
    let mut csv = String::from("variant,metric\n");
    for i in 0..200 {
        csv.push_str(&format!(
            "A,{}\nB,{}\n",
            u8::from(i % 3 == 0),
            u8::from(i % 2 == 0)
        ));
    }
    std::fs::write(home.join("ab.csv"), csv).unwrap();
    same_json_twice(home, &["ab", "ab.csv", "--json"]);
}
