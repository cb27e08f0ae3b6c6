//! End-to-end tests of `assay index`, `assay search` and `assay eval-search` on a committed
//! seven-item catalog, with the hash encoder so no model is needed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Run {
    args: Vec<String>,
    output: Output,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.output.status.code(),
            Some(code),
            "assay {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.stdout(),
            self.stderr()
        );
        assert!(!self.stderr().contains("panicked"), "{}", self.stderr());
        self
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout()).expect("stdout is JSON")
    }
}

/// Runs the binary with an isolated cache and no shared data.
fn assay(home: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .env("ASSAY_HOME", home.join("cache"))
        .env("ASSAY_SHARED_DATA", home.join("no-shared-data"))
        .output()
        .expect("the assay binary runs");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/search")
        .join(name)
}

/// A copy of the fixture catalog in `dir`, so tests may change it.
fn catalog_copy(dir: &Path) -> String {
    let path = dir.join("catalog.csv");
    fs::copy(fixture("catalog.csv"), &path).unwrap();
    path.display().to_string()
}

fn hit_ids(json: &serde_json::Value) -> Vec<String> {
    json["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn index_then_search_reuses_the_saved_index_and_applies_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = catalog_copy(tmp.path());
    let dir = tmp.path().join("idx");
    let dir_arg = dir.to_str().unwrap();
    let base = ["--encoder", "hash", "--index", dir_arg];

    let mut args = vec!["index", catalog.as_str()];
    args.extend(base);
    args.push("--json");
    let run = assay(tmp.path(), &args);
    let json = run.expect_code(0).json();
    assert_eq!(json["items"], 7);
    assert_eq!(json["encoder"], "hash");
    assert!(dir.join("assay-source.json").is_file());

    let search = |query: &str, extra: &[&str]| {
        let mut args = vec!["search", catalog.as_str(), query];
        args.extend(base);
        args.extend(extra);
        args.push("--json");
        assay(tmp.path(), &args)
    };
    // Only d1 has both words; the saved index is used, so nothing is rebuilt.
    let run = search("red dress", &["--mode", "bm25"]);
    let json = run.expect_code(0).json();
    assert!(!run.stderr().contains("building"), "{}", run.stderr());
    let ids = hit_ids(&json);
    assert_eq!(
        ids,
        ["d1", "d2"],
        "only the two dresses contain a query term"
    );
    assert!(json["index"].as_str().unwrap().starts_with("saved index"));

    // brand=Acme keeps c1, c2, d2; of those only d2 matches "dress".
    let run = search("red dress", &["--mode", "bm25", "--filter", "brand=Acme"]);
    assert_eq!(hit_ids(&run.expect_code(0).json()), ["d2"]);
    // category prefix and price range: d2 (120) is out, d1 (59) in.
    let run = search(
        "dress",
        &["--mode", "bm25", "--filter", "category=Women;price=..100"],
    );
    assert_eq!(hit_ids(&run.expect_code(0).json()), ["d1"]);

    // Hybrid with explanations: the top hit matched both terms in the title.
    let run = search("red dress", &["--explain", "-k", "3"]);
    let json = run.expect_code(0).json();
    let top = &json["hits"][0];
    assert_eq!(top["id"], "d1");
    let e = &top["explanation"];
    assert_eq!(e["bm25_rank"], 1);
    let terms: Vec<&str> = e["matched_terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["red", "dress"]);
    // RRF at ratio 0.5 with the intent boost off: each side adds 0.5 * 2 / (60 + rank).
    let run = search(
        "red dress",
        &["--explain", "--intent-boost", "0", "--fusion", "rrf"],
    );
    let json = run.expect_code(0).json();
    let e = &json["hits"][0]["explanation"];
    let lexical = e["lexical_contribution"].as_f64().unwrap();
    assert!((lexical - 1.0 / 61.0).abs() < 1e-6, "{lexical}");
    assert!(json["hits"].as_array().unwrap().len() <= 10);

    // The table output names the columns and the explanation parts.
    let mut args = vec!["search", catalog.as_str(), "red dress", "--explain"];
    args.extend(base);
    let run = assay(tmp.path(), &args);
    let out = run.expect_code(0).stdout().to_string();
    assert!(
        out.contains("rank") && out.contains("d1") && out.contains("Red Dress"),
        "{out}"
    );
    assert!(out.contains("dress:title"), "{out}");

    // A changed catalog no longer matches the saved index: built in memory, and said so.
    fs::write(
        &catalog,
        fs::read_to_string(&catalog).unwrap() + "d3,Green Dress,,Women/Dresses,Acme,40\n",
    )
    .unwrap();
    let run = search("green dress", &["--mode", "bm25"]);
    let json = run.expect_code(0).json();
    assert!(
        run.stderr().contains("built from other items"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("building the index in memory"));
    assert_eq!(hit_ids(&json)[0], "d3");
}

#[test]
fn without_a_saved_index_search_builds_in_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = fixture("catalog.csv");
    let run = assay(
        tmp.path(),
        &[
            "search",
            catalog.to_str().unwrap(),
            "cotton",
            "--encoder",
            "hash",
            "--mode",
            "bm25",
        ],
    );
    run.expect_code(0);
    assert!(run.stderr().contains("no saved index"), "{}", run.stderr());
    // The default location is under $ASSAY_HOME/index and is documented in --help.
    assert!(
        run.stderr().contains("cache/index/catalog.csv-"),
        "{}",
        run.stderr()
    );
    let out = run.stdout();
    assert!(out.contains("c1") && out.contains("c2"), "{out}");
    assert!(!out.contains("d1"), "{out}");
}

#[test]
fn eval_search_on_hand_checked_judgments() {
    let tmp = tempfile::tempdir().unwrap();
    let run = assay(
        tmp.path(),
        &[
            "eval-search",
            fixture("catalog.csv").to_str().unwrap(),
            "--judgments",
            fixture("judgments.tsv").to_str().unwrap(),
            "--encoder",
            "hash",
            "--json",
        ],
    );
    let json = run.expect_code(0).json();
    assert_eq!(json["judgments"], 5);
    let modes = json["modes"].as_array().unwrap();
    let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "bm25",
            "vector",
            "hybrid-convex",
            "hybrid-rrf",
            "hybrid-rrf+intent"
        ]
    );
    // q3 judges only grade 0, so two queries count.
    assert!(modes.iter().all(|m| m["queries"] == 2));
    // BM25 by hand. q1 "wool scarf": only s1 (grade 2) contains a query word, s2 (grade 1) is
    // not retrieved: DCG = 2, IDCG = 2 + 1/log2(3), MRR = 1, recall 1/2.
    // q2 "cotton shirt": c1 (0.5, both words) before c2 (1.5, one word):
    // DCG = 0.5 + 1.5/log2(3), IDCG = 1.5 + 0.5/log2(3), MRR = 1, recall 1.
    let l3 = 3f64.log2();
    let ndcg_q1 = 2.0 / (2.0 + 1.0 / l3);
    let ndcg_q2 = (0.5 + 1.5 / l3) / (1.5 + 0.5 / l3);
    let bm25 = &modes[0];
    let close = |v: &serde_json::Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-9;
    assert!(
        close(&bm25["ndcg_at_10"], (ndcg_q1 + ndcg_q2) / 2.0),
        "{bm25}"
    );
    assert!(close(&bm25["mrr_at_10"], 1.0), "{bm25}");
    assert!(close(&bm25["recall_at_100"], 0.75), "{bm25}");
    // The vector side scans all seven items exactly, so every relevant item is in its top 100,
    // and so in every hybrid list (the union of both).
    for m in &modes[1..] {
        assert!(close(&m["recall_at_100"], 1.0), "{m}");
    }

    // The table names every mode.
    let run = assay(
        tmp.path(),
        &[
            "eval-search",
            fixture("catalog.csv").to_str().unwrap(),
            "--judgments",
            fixture("judgments.tsv").to_str().unwrap(),
            "--encoder",
            "hash",
        ],
    );
    let out = run.expect_code(0).stdout().to_string();
    for word in ["nDCG@10", "MRR@10", "Recall@100", "hybrid-rrf+intent"] {
        assert!(out.contains(word), "{out}");
    }
}

#[test]
fn bad_queries_filters_and_judgments_exit_2_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = fixture("catalog.csv");
    let catalog = catalog.to_str().unwrap();
    let search = |query: &str, extra: &[&str]| {
        let mut args = vec!["search", catalog, query, "--encoder", "hash"];
        args.extend(extra);
        assay(tmp.path(), &args)
    };
    let expect = |run: Run, words: &[&str]| {
        run.expect_code(2);
        let stderr = run.stderr();
        for w in words {
            assert!(stderr.contains(w), "missing `{w}` in: {stderr}");
        }
    };
    expect(search("", &[]), &["empty query"]);
    expect(search("  ?! ", &[]), &["empty query"]);
    let long = "dress ".repeat(100 * 1024 / 6);
    expect(search(&long, &[]), &["query too long", "4096"]);
    expect(
        search("dress", &["--filter", "price=cheap"]),
        &["--filter", "price=cheap", "expected a range like 10..50"],
    );
    expect(
        search("dress", &["--filter", "price=cheap..50"]),
        &["--filter", "`cheap` is not a number"],
    );
    expect(
        search("dress", &["--filter", "brand"]),
        &["--filter", "expected field=value"],
    );
    expect(
        search("dress", &["--filter", "colour=red"]),
        &["--filter", "unknown field `colour`"],
    );
    expect(
        search("dress", &["--semantic-ratio", "2"]),
        &["semantic_ratio"],
    );
    expect(search("dress", &["-k", "0"]), &["k must be"]);

    // Judgments: a bad grade, an unknown item, a missing column; each names file and line.
    let judgments = tmp.path().join("j.tsv");
    let eval = |text: &str| {
        fs::write(&judgments, text).unwrap();
        assay(
            tmp.path(),
            &[
                "eval-search",
                catalog,
                "--judgments",
                judgments.to_str().unwrap(),
                "--encoder",
                "hash",
            ],
        )
    };
    expect(
        eval("query_id\tquery\titem_id\tgrade\nq1\tdress\td1\t2\nq1\tdress\td2\thigh\n"),
        &["j.tsv:3", "grade"],
    );
    expect(
        eval("query_id\tquery\titem_id\tgrade\nq1\tdress\tnope\t1\n"),
        &["j.tsv:2", "unknown item"],
    );
    expect(
        eval("query_id\tquery\titem_id\nq1\tdress\td1\n"),
        &["grade"],
    );
    // A plain catalog has no judgments of its own.
    let run = assay(tmp.path(), &["eval-search", catalog, "--encoder", "hash"]);
    expect(run, &["no judgments", "--judgments"]);
    // A catalog file without a title column.
    let bad = tmp.path().join("bad.csv");
    fs::write(&bad, "id,name\na,Red Dress\n").unwrap();
    let run = assay(
        tmp.path(),
        &["index", bad.to_str().unwrap(), "--encoder", "hash"],
    );
    expect(run, &["bad.csv:1", "`title`"]);
}
