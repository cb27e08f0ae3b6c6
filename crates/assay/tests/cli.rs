//! End-to-end tests of the `assay` binary: one temporary directory per test, and failure
//! messages that show the command, its status, stdout and stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assay_fetch::samples::sample_dirs_or_skip;
use assay_fetch::Pack;

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
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            Some(code),
            "assay {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// Runs the binary with an isolated cache and no shared data unless the test provides it.
fn assay(home: &Path, args: &[&str]) -> Run {
    assay_with_shared(home, &home.join("no-shared-data"), args)
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A tiny shop project with two sources.
fn tiny_shop(dir: &Path) -> PathBuf {
    let shop = dir.join("shop");
    write(
        &shop.join("assay.toml"),
        r#"
[items]
path = "items.csv"
id = "sku"
title = "name"
price = "price"

[[events]]
path = "events.csv"
user = "user"
item = "sku"
kind = "kind"
timestamp = "ts"
source = "channel"
"#,
    );
    write(
        &shop.join("items.csv"),
        "sku,name,price\na,Red dress,40\nb,Blue shirt,25\nc,Green hat,10\n",
    );
    let mut events = String::from("user,sku,kind,ts,channel\n");
    for (u, items) in [("u1", "abc"), ("u2", "ab"), ("u3", "bc"), ("u4", "a")] {
        for (k, item) in items.chars().enumerate() {
            events.push_str(&format!(
                "{u},{item},click,{},app\n",
                1_700_000_000 + k * 86_400
            ));
            events.push_str(&format!(
                "{u},{item},impression,{},web\n",
                1_700_000_000 + k * 86_400
            ));
        }
    }
    write(&shop.join("events.csv"), &events);
    shop
}

#[test]
fn stats_of_a_project_directory_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tiny_shop(tmp.path());
    let run = assay(
        tmp.path(),
        &["data", "stats", shop.to_str().unwrap(), "--json"],
    );
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    // 8 (user, item) pairs, each with one click and one impression.
    assert_eq!(json["items"], 3);
    assert_eq!(json["users"], 4);
    assert_eq!(json["events"], 16);
    assert_eq!(json["by_kind"]["click"], 8);
    assert_eq!(json["ctr"], 1.0);
    assert_eq!(json["interactions"], 8);
    assert_eq!(json["per_source"][0]["key"], "app");
    assert_eq!(json["per_source"][1]["impressions"], 8);
}

#[test]
fn bad_input_exits_2_with_a_located_message() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tiny_shop(tmp.path());
    write(
        &shop.join("items.csv"),
        "sku,name,price\na,Red dress,40\nb,Blue shirt,-3\n",
    );
    let run = assay(tmp.path(), &["data", "stats", shop.to_str().unwrap()]);
    run.expect_code(2);
    let stderr = run.stderr();
    assert!(stderr.contains("items.csv:3"), "{stderr}");
    assert!(stderr.contains("price"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let run = assay(tmp.path(), &["data", "stats", "no-such-dataset"]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("unknown dataset 'no-such-dataset'"),
        "{}",
        run.stderr()
    );

    let run = assay(tmp.path(), &["data", "stats", "ml-100k"]);
    run.expect_code(2);
    assert!(
        run.stderr()
            .contains("run `assay data fetch ml-100k` first"),
        "{}",
        run.stderr()
    );

    // A flag value clap cannot parse is a usage error, also exit 2.
    assay(tmp.path(), &["simulate", "--out", "x", "--events", "many"]).expect_code(2);
    let run = assay(tmp.path(), &["simulate", "--out", "x", "--bots", "1.5"]);
    run.expect_code(2);
    assert!(run.stderr().contains("bot_fraction"), "{}", run.stderr());
}

#[test]
fn split_is_seeded_and_writes_three_files() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tiny_shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let out_a = tmp.path().join("a");
    let out_b = tmp.path().join("b");
    for out in [&out_a, &out_b] {
        assay(
            tmp.path(),
            &[
                "data",
                "split",
                shop,
                "--seed",
                "7",
                "--out",
                out.to_str().unwrap(),
                "--json",
            ],
        )
        .expect_code(0);
    }
    for name in ["train.csv", "valid.csv", "test.csv"] {
        assert_eq!(
            fs::read(out_a.join(name)).unwrap(),
            fs::read(out_b.join(name)).unwrap(),
            "{name}"
        );
    }
    let lines = |name: &str| {
        fs::read_to_string(out_a.join(name))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    assert_eq!(
        lines("train.csv") + lines("valid.csv") + lines("test.csv"),
        16
    );
}

#[test]
fn simulate_twice_with_one_seed_gives_identical_bytes_that_import_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = ["s1", "s2"].iter().map(|d| tmp.path().join(d)).collect();
    for dir in &dirs {
        assay(
            tmp.path(),
            &[
                "simulate",
                "--out",
                dir.to_str().unwrap(),
                "--events",
                "5000",
                "--seed",
                "9",
                "--json",
            ],
        )
        .expect_code(0);
    }
    let mut files: Vec<PathBuf> = Vec::new();
    collect_files(&dirs[0], &mut files);
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let twin = dirs[1].join(file.strip_prefix(&dirs[0]).unwrap());
        assert_eq!(
            fs::read(file).unwrap(),
            fs::read(&twin).unwrap(),
            "{}",
            file.display()
        );
    }
    let run = assay(
        tmp.path(),
        &["data", "stats", dirs[0].to_str().unwrap(), "--json"],
    );
    run.expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert!(json["events"].as_u64().unwrap() > 1000);
    assert!(json["judgments"].as_u64().unwrap() > 0);
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// For each sample pack, the folder holding it (a shared copy or the fetch cache, where every
/// pack has the same directory name), for the binary's `ASSAY_SHARED_DATA`; `None` after a
/// `SKIPPED:` line.
fn sample_folders(packs: &[Pack]) -> Option<Vec<PathBuf>> {
    let dirs = sample_dirs_or_skip(packs)?;
    Some(
        dirs.iter()
            .map(|d| d.parent().unwrap().to_path_buf())
            .collect(),
    )
}

/// Runs the binary with an isolated cache, reading sample data from `shared`.
fn assay_with_shared(home: &Path, shared: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .env("ASSAY_HOME", home.join("cache"))
        .env("ASSAY_SHARED_DATA", shared)
        .output()
        .expect("the assay binary runs");
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        output,
    }
}

#[test]
fn stats_of_the_public_samples_match_their_known_counts() {
    let Some(folders) = sample_folders(&[Pack::Ml100k, Pack::Obd]) else {
        return;
    };
    let (ml100k, obd) = (&folders[0], &folders[1]);
    let tmp = tempfile::tempdir().unwrap();
    let run = assay_with_shared(tmp.path(), ml100k, &["data", "stats", "ml-100k", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    assert_eq!(
        (json["users"].as_u64(), json["items"].as_u64()),
        (Some(943), Some(1682))
    );
    assert_eq!(json["by_kind"]["rating"], 100_000);
    let run = assay_with_shared(
        tmp.path(),
        obd,
        &["data", "stats", "obd/random/all", "--json"],
    );
    let json: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    assert_eq!(json["by_kind"]["impression"], 10_000);
    assert_eq!(json["by_kind"]["click"], 38);
    assert_eq!(json["items"], 80);
    assert_eq!(json["positions"], 3);
}

#[test]
fn ope_on_obd_matches_open_bandit_pipeline() {
    let Some(folders) = sample_folders(&[Pack::Obd]) else {
        return;
    };
    let shared = &folders[0];
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "ope",
        "obd/random/all",
        "--estimators",
        "ipw,snipw",
        "--bootstrap",
        "0",
        "--json",
    ];
    let run = assay_with_shared(tmp.path(), shared, &args);
    let json: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    assert_eq!(json["ground_truth"], 0.0042);
    // OBP 0.4.1's IPW and SNIPW on the same logs with its own BTS distribution.
    for (row, reference) in [(0, 0.004553), (1, 0.004776)] {
        let value = json["estimates"][row]["value"].as_f64().unwrap();
        assert!(
            (value - reference).abs() / reference < 0.02,
            "{value} vs {reference}"
        );
    }
    // A policy file whose probabilities do not sum to 1 is bad input, named by file and line.
    let bad = tmp.path().join("pi.csv");
    write(&bad, "action,position,prob\n0,1,0.5\n");
    let run = assay_with_shared(
        tmp.path(),
        shared,
        &["ope", "obd/random/all", "--policy", bad.to_str().unwrap()],
    );
    run.expect_code(2);
    assert!(run.stderr().contains("pi.csv"), "{}", run.stderr());
    // OBD's items have no titles: the text reward model has nothing to read.
    let run = assay_with_shared(
        tmp.path(),
        shared,
        &[
            "ope",
            "obd/random/all",
            "--estimators",
            "dm",
            "--reward-model",
            "ctr-gru",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stderr().contains("reads the items' titles"),
        "{}",
        run.stderr()
    );
}

#[test]
fn train_then_recommend_leaves_out_what_the_user_has() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tiny_shop(tmp.path());
    let model = tmp.path().join("model");
    let args = [
        "train",
        shop.to_str().unwrap(),
        "--model",
        "pop",
        "--out",
        model.to_str().unwrap(),
        "--json",
    ];
    assay(tmp.path(), &args).expect_code(0);
    // Item popularity over all events: a and b have 3 users each, c has 2. User u4 has a.
    let run = assay(
        tmp.path(),
        &[
            "recommend",
            "--model",
            model.to_str().unwrap(),
            "--user",
            "u4",
            "-k",
            "2",
            "--json",
        ],
    );
    let list: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    assert_eq!(list[0]["item"], "b");
    assert_eq!(list[0]["title"], "Blue shirt");
    assert_eq!(list[1]["item"], "c");
    let run = assay(
        tmp.path(),
        &[
            "recommend",
            "--model",
            model.to_str().unwrap(),
            "--user",
            "nobody",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stderr().contains("no user 'nobody'"),
        "{}",
        run.stderr()
    );
}

#[test]
fn ab_reads_a_test_and_computes_the_z_test_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    // 200 of 1000 control users converted, 250 of 1000 treatment users.
    let mut csv = String::from("variant,metric\n");
    for (arm, hits) in [("control", 200), ("treatment", 250)] {
        for i in 0..1000 {
            csv.push_str(&format!("{arm},{}\n", u8::from(i < hits)));
        }
    }
    let file = tmp.path().join("ab.csv");
    write(&file, &csv);
    let run = assay(tmp.path(), &["ab", file.to_str().unwrap(), "--json"]);
    let report: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    // Pooled p = 0.225, se = sqrt(0.225 * 0.775 * (2 / 1000)) = 0.0186748, z = 0.05 / se = 2.677398,
    // two-sided p = 2 * (1 - Phi(2.677398)) = 0.0074196.
    let z = report["test"]["statistic"].as_f64().unwrap();
    let p = report["test"]["p_value"].as_f64().unwrap();
    assert!((z - 2.677398).abs() < 1e-5, "{z}");
    assert!((p - 0.0074196).abs() < 1e-6, "{p}");
    // The table names the interval's real level: difference +- z(1 - alpha/2) * unpooled se,
    // se = sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000) = 0.0186414.
    for (alpha, level, interval) in [
        ("0.1", "90% CI", "[0.019338, 0.080662]"),
        ("0.01", "99% CI", "[0.001983, 0.098017]"),
        ("0.025", "97.5% CI", "["),
    ] {
        let run = assay(
            tmp.path(),
            &["ab", file.to_str().unwrap(), "--alpha", alpha],
        );
        let text = run.expect_code(0).stdout();
        assert!(text.contains(&format!("{level} {interval}")), "{text}");
        assert_eq!(
            text.matches(level).count(),
            2,
            "difference and lift: {text}"
        );
        assert!(!text.contains("95%"), "{text}");
    }
}

#[test]
fn contextual_bandits_regret_less_than_random_and_runs_repeat() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "bandit",
        "simulate",
        "--rounds",
        "2000",
        "--policies",
        "uniform,linucb",
        "--json",
    ];
    let first = assay(tmp.path(), &args);
    let curves: serde_json::Value = serde_json::from_str(&first.expect_code(0).stdout()).unwrap();
    let uniform = curves[0]["final_regret"].as_f64().unwrap();
    let linucb = curves[1]["final_regret"].as_f64().unwrap();
    assert!(
        linucb < 0.7 * uniform,
        "linucb {linucb} vs uniform {uniform}"
    );
    // Regret is cumulative, so it never decreases.
    let regret: Vec<f64> = curves[1]["regret"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(regret.windows(2).all(|w| w[1] >= w[0]));
    assert_eq!(assay(tmp.path(), &args).stdout(), first.stdout());
}

#[test]
fn knn_shapley_of_a_labelled_csv_matches_pydvl() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assay-value/tests/fixtures/pydvl-knn");
    let (train, test) = (fixture.join("train.csv"), fixture.join("test.csv"));
    let args = [
        "value",
        "--method",
        "knn-shapley",
        "--train",
        train.to_str().unwrap(),
        "--test",
        test.to_str().unwrap(),
        "--label",
        "label",
        "--k",
        "5",
        "--json",
    ];
    let run = assay(tmp.path(), &args);
    let values: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    // pyDVL 0.10's KNNShapleyValuation on the same files (see the fixture's README).
    let reference = fs::read_to_string(fixture.join("pydvl_values.csv")).unwrap();
    let players = values["players"].as_array().unwrap();
    let mut compared = 0;
    for line in reference.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let row: usize = cells[0].parse().unwrap();
        let expected: f64 = cells[3].parse().unwrap();
        let actual = players[row]["value"].as_f64().unwrap();
        assert!(
            (actual - expected).abs() < 1e-9,
            "row {row}: {actual} vs pyDVL {expected}"
        );
        compared += 1;
    }
    assert_eq!(compared, players.len());
    let run = assay(
        tmp.path(),
        &[
            "value",
            "--method",
            "knn-shapley",
            "--train",
            train.to_str().unwrap(),
        ],
    );
    run.expect_code(2);
}

#[test]
fn report_writes_a_self_contained_page_and_refuses_bad_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("shop");
    assay(
        tmp.path(),
        &[
            "simulate",
            "--out",
            shop.to_str().unwrap(),
            "--events",
            "4000",
            "--bad-data",
        ],
    )
    .expect_code(0);
    let page = tmp.path().join("out").join("report.html");
    fs::create_dir_all(page.parent().unwrap()).unwrap();
    let args = [
        "report",
        shop.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
        "--model",
        "itemknn",
        "--user-samples",
        "4",
        "--item-samples",
        "0",
        "--seed",
        "3",
    ];
    let run = assay(tmp.path(), &args);
    run.expect_code(0);
    assert!(run.stdout().contains("report: "), "{}", run.stdout());
    let html = fs::read_to_string(&page).unwrap();
    let svgs = html.matches("<svg").count();
    // Sources, segments, windows, categories, users, removal, two learning charts.
    assert_eq!(svgs, 8, "charts");
    assert_eq!(html.matches("</svg>").count(), svgs);
    assert!(html.contains("Summary: what to keep, fix, buy or drop"));
    assert!(!html.contains("<script") && !html.contains("<link"));
    // --json prints the same numbers the page shows.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let run = assay(tmp.path(), &json_args);
    let report: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
    let valid = report["baseline"]["valid"].as_f64().unwrap();
    assert!(html.contains(&format!("{valid:.4}")), "{valid}");
    assert_eq!(report["groups"][0]["kind"], "source");
    // Bad input: exit 2 with the flag named.
    let bad = assay(
        tmp.path(),
        &["report", shop.to_str().unwrap(), "--utility", "ndcg"],
    );
    bad.expect_code(2);
    assert!(bad.stderr().contains("--utility"), "{}", bad.stderr());
    let bad = assay(tmp.path(), &["report", "no/such/shop"]);
    bad.expect_code(2);
    let bad = assay(
        tmp.path(),
        &[
            "report",
            shop.to_str().unwrap(),
            "--out",
            tmp.path().to_str().unwrap(),
        ],
    );
    bad.expect_code(2);
    assert!(bad.stderr().contains("is a directory"), "{}", bad.stderr());
}

#[test]
fn value_by_off_policy_ctr_and_fast_ease() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("sim");
    let shop_arg = shop.to_str().unwrap();
    assay(
        tmp.path(),
        &[
            "simulate", "--out", shop_arg, "--events", "5000", "--items", "200", "--seed", "3",
        ],
    )
    .expect_code(0);
    // Exact Shapley values of the three sources, by name, under `model` and `utility`.
    let source_values = |model: &str, utility: &str| -> Vec<(String, f64)> {
        let run = assay(
            tmp.path(),
            &[
                "value",
                shop_arg,
                "--players",
                "sources",
                "--method",
                "shapley",
                "--model",
                model,
                "--utility",
                utility,
                "--json",
            ],
        );
        let json: serde_json::Value = serde_json::from_str(&run.expect_code(0).stdout()).unwrap();
        json["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let name = p["name"].as_str().unwrap().to_owned();
                (name, p["value"].as_f64().unwrap())
            })
            .collect()
    };
    for utility in ["ctr-ope", "gmv-ope@5"] {
        let players = source_values("ease", utility);
        assert_eq!(players.len(), 3, "{utility}");
        assert!(players.iter().all(|(_, v)| v.is_finite()));
    }
    // EASE's values come from its fast path (no refits); a one-model hybrid of EASE ranks the
    // same lists but has no fast path, so it refits on every subset: the values must agree.
    let fast = source_values("ease", "ndcg@10");
    assert!(fast.iter().all(|(_, v)| v.is_finite()));
    let refit = source_values("hybrid:ease*1", "ndcg@10");
    assert_eq!(fast.len(), 3);
    assert!(fast.iter().any(|(_, v)| v.abs() > 1e-4), "{fast:?}");
    for ((name, a), (other, b)) in fast.iter().zip(&refit) {
        assert_eq!(name, other);
        assert!((a - b).abs() < 1e-12, "{name}: fast path {a}, refits {b}");
    }
    for bad in ["ctr-ope@0", "ctr-ope@x"] {
        let run = assay(tmp.path(), &["value", shop_arg, "--utility", bad]);
        run.expect_code(2);
        assert!(run.stderr().contains("--utility"), "{}", run.stderr());
    }
    let run = assay(
        tmp.path(),
        &["value", shop_arg, "--utility", "ctr-ope", "--epsilon", "0"],
    );
    run.expect_code(2);
}

#[test]
fn value_users_in_halves_by_buyers_and_by_data_oob() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("sim");
    let shop_arg = shop.to_str().unwrap();
    assay(
        tmp.path(),
        &[
            "simulate", "--out", shop_arg, "--events", "20000", "--items", "150", "--users", "120",
            "--bots", "0.05", "--seed", "5",
        ],
    )
    .expect_code(0);
    let value = |extra: &[&str]| {
        let mut args = vec!["value", shop_arg, "--players", "users", "--model", "ease"];
        args.extend(extra);
        args.push("--json");
        let run = assay(tmp.path(), &args);
        let stdout = run.expect_code(0).stdout();
        let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        (stdout, json)
    };
    // Value to others with every user a player: each half scored by the other half.
    for scorers in ["all", "buyers"] {
        let (first, json) = value(&["--method", "loo", "--scorers", scorers]);
        assert!(
            json["utility"].as_str().unwrap().contains("each half"),
            "{json}"
        );
        let players = json["players"].as_array().unwrap();
        assert!(players.len() > 60, "{}", players.len());
        // Both halves land in one table, in player order, every player once.
        for (i, p) in players.iter().enumerate() {
            assert_eq!(p["player"].as_u64().unwrap() as usize, i);
            assert!(p["value"].as_f64().unwrap().is_finite());
        }
        let (again, _) = value(&["--method", "loo", "--scorers", scorers]);
        assert_eq!(first, again, "same seed, same bytes");
    }
    // Data-OOB: a mean percentile rank per user, in [0, 1].
    let (_, json) = value(&["--method", "oob", "--bags", "8"]);
    let players = json["players"].as_array().unwrap();
    assert!(players.len() > 60);
    assert!(players.iter().all(|p| {
        let v = p["value"].as_f64().unwrap();
        (0.0..=1.0).contains(&v)
    }));
    assert_eq!(json["utility_evals"].as_u64(), Some(8));
    for (args, words) in [
        (
            vec!["--players", "sources", "--method", "oob"],
            "users or interactions",
        ),
        (
            vec!["--players", "users", "--method", "oob", "--bags", "0"],
            "--bags",
        ),
        (
            vec![
                "--players",
                "sources",
                "--utility",
                "ctr-ope",
                "--scorers",
                "buyers",
            ],
            "--scorers does not apply to --utility ctr-ope",
        ),
        (vec!["--players", "users", "--method", "nope"], "oob"),
    ] {
        let mut full = vec!["value", shop_arg];
        full.extend(args);
        let run = assay(tmp.path(), &full);
        run.expect_code(2);
        assert!(run.stderr().contains(words), "{}", run.stderr());
    }
}

#[test]
fn finetune_refuses_bad_flags_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tiny_shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let out = tmp.path().join("enc");
    let out = out.to_str().unwrap();
    for (flags, says) in [
        (&["--freeze", "middle"][..], "--freeze middle"),
        (
            &["--sources", "judgments,views"][..],
            "unknown source `views`",
        ),
        (&["--lr", "0"][..], "learning rate"),
        (&["--batch", "1"][..], "--batch must be at least 2"),
        (&["--validation", "1.5"][..], "--validation"),
        (
            &["--base-model", "no-such-model"][..],
            "no model.safetensors",
        ),
    ] {
        let mut args = vec!["finetune", shop, "--out", out];
        args.extend_from_slice(flags);
        let run = assay(tmp.path(), &args);
        run.expect_code(2);
        assert!(run.stderr().contains(says), "{flags:?}: {}", run.stderr());
    }
    assert!(!Path::new(out).exists(), "nothing is written on bad flags");
}
