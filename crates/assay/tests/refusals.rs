//! End-to-end tests of what the `assay` binary refuses: input that would give a wrong answer
//! with exit 0 is an error with exit 2, and files that assay did not write are never deleted
//! or replaced.

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
        self
    }
    /// Exit 2, and standard error names every one of `words`.
    #[track_caller]
    fn expect_refused(&self, words: &[&str]) {
        self.expect_code(2);
        let stderr = self.stderr();
        for word in words {
            assert!(
                stderr.contains(word),
                "assay {}: stderr lacks `{word}`:\n{stderr}",
                self.args.join(" ")
            );
        }
    }
}

/// Runs the binary in `dir` with its own cache.
fn assay(dir: &Path, args: &[&str]) -> Run {
    assay_with(dir, None, args)
}

/// Runs the binary in `dir` with its own cache and, when given, `ASSAY_MEMORY_LIMIT`.
fn assay_with(dir: &Path, memory_limit: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_assay"));
    command
        .args(args)
        .current_dir(dir)
        .env("ASSAY_HOME", dir.join("home"))
        .env("ASSAY_SHARED_DATA", dir.join("no-shared-data"))
        .env_remove("ASSAY_MEMORY_LIMIT")
        .env_remove("ASSAY_TIME_LIMIT");
    if let Some(limit) = memory_limit {
        command.env("ASSAY_MEMORY_LIMIT", limit);
    }
    let output = command.output().expect("the assay binary runs");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        output,
    }
}

/// A small simulated shop at `dir/shop`.
fn shop(dir: &Path) -> PathBuf {
    let shop = dir.join("shop");
    assay(
        dir,
        &[
            "simulate",
            "--out",
            shop.to_str().unwrap(),
            "--events",
            "3000",
            "--seed",
            "1",
        ],
    )
    .expect_code(0);
    shop
}

#[test]
fn model_parameters_out_of_range_are_refused_with_their_range() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    for (command, model, words) in [
        ("value", "bpr:lr=-1", ["--model", "lr", "positive"]),
        ("value", "ease:dropout=1", ["--model", "dropout", "[0, 1)"]),
        ("report", "itemknn:k=0", ["--model", "k", "at least 1"]),
        ("train", "als:reg=-1", ["--model", "reg", "non-negative"]),
    ] {
        let mut args = vec![command, shop, "--model", model];
        if command == "train" {
            args.extend(["--out", "model"]);
        }
        assay(tmp.path(), &args).expect_refused(&words);
    }
    let run = assay(tmp.path(), &["eval", shop, "--models", "pop,bpr:factors=0"]);
    run.expect_refused(&["--models", "factors", "at least 1"]);
    assert!(!tmp.path().join("model").exists());
}

#[test]
fn value_refuses_flags_the_method_does_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let oob = ["--players", "users", "--method", "oob", "--bags", "2"];
    for (extra, words) in [
        (&["--rtol", "0.5"][..], &["--rtol", "--method oob"][..]),
        (&["--min-samples", "4"], &["--min-samples", "sampling"]),
        (&["--max-samples", "4"], &["--max-samples", "sampling"]),
        (&["--scorers", "buyers"], &["--scorers", "--method oob"]),
        (&["--total"], &["--total", "--method oob"]),
        (&["--utility", "recall@5"], &["--utility", "--method oob"]),
        (&["--epsilon", "0.2"], &["--epsilon", "--method oob"]),
        (&["--k", "3"], &["--k", "knn-shapley"]),
    ] {
        let mut args = vec!["value", shop];
        args.extend(oob);
        args.extend(extra);
        assay(tmp.path(), &args).expect_refused(words);
    }
    for (extra, words) in [
        // Exact methods draw no samples.
        (
            &["--method", "shapley", "--rtol", "0.1"][..],
            &["--rtol", "--method shapley"][..],
        ),
        (
            &["--method", "loo", "--bags", "3"],
            &["--bags", "--method loo"],
        ),
        // What only one utility, or one kind of player, reads.
        (&["--epsilon", "0.2"], &["--epsilon", "--utility ndcg@10"]),
        (
            &["--utility", "ctr-ope", "--scorers", "all"],
            &["--scorers", "--utility ctr-ope@10"],
        ),
        (
            &["--utility", "ctr-ope", "--total"],
            &["--total", "--utility ctr-ope@10"],
        ),
        (&["--windows", "3"], &["--windows", "--players sources"]),
        (
            &["--segment-attribute", "region"],
            &["--segment-attribute", "--players sources"],
        ),
    ] {
        let mut args = vec!["value", shop];
        args.extend(extra);
        assay(tmp.path(), &args).expect_refused(words);
    }
    // KNN-Shapley values a labelled table: the dataset flags are not its own.
    let run = assay(
        tmp.path(),
        &[
            "value",
            shop,
            "--method",
            "knn-shapley",
            "--train",
            "a.csv",
            "--test",
            "b.csv",
            "--label",
            "y",
        ],
    );
    run.expect_refused(&["DATASET", "--method knn-shapley"]);
    // What the method does read is accepted.
    let mut args = vec!["value", shop];
    args.extend(oob);
    args.extend(["--model", "itemknn", "--seed", "3", "--json"]);
    assay(tmp.path(), &args).expect_code(0);
    assay(
        tmp.path(),
        &[
            "value",
            shop,
            "--method",
            "tmc",
            "--rtol",
            "0.5",
            "--min-samples",
            "2",
            "--max-samples",
            "4",
            "--utility",
            "ctr-ope",
            "--epsilon",
            "0.3",
            "--json",
        ],
    )
    .expect_code(0);
}

#[test]
fn a_bad_known_bad_list_is_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let missing = tmp.path().join("missing.csv");
    let missing = missing.to_str().unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "id,kind\nu1,farm\n").unwrap();
    let bad = bad.to_str().unwrap();
    let value = ["value", shop, "--players", "users", "--known-bad"];
    assay(tmp.path(), &[&value[..], &[missing]].concat()).expect_refused(&[
        "--known-bad",
        "missing.csv",
        "cannot read",
    ]);
    assay(tmp.path(), &[&value[..], &[bad]].concat()).expect_refused(&[
        "--known-bad",
        "bad.csv:1",
        "`user_id`",
    ]);
    // Only users are judged against a list of users.
    assay(tmp.path(), &["value", shop, "--known-bad", bad])
        .expect_refused(&["--known-bad does not apply to --players sources"]);
    let report = ["report", shop, "--out", "r.html", "--known-bad", bad];
    assay(tmp.path(), &report).expect_refused(&["--known-bad", "bad.csv:1"]);
    assert!(!tmp.path().join("r.html").exists());
}

#[test]
fn zero_time_windows_are_refused_by_value_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let value = ["value", shop, "--players", "windows", "--windows", "0"];
    assay(tmp.path(), &value).expect_refused(&["--windows", "at least 1"]);
    let report = ["report", shop, "--windows", "0", "--out", "r.html"];
    assay(tmp.path(), &report).expect_refused(&["--windows", "at least 1"]);
    assert!(!tmp.path().join("r.html").exists());
}

#[test]
fn simulate_into_a_folder_of_other_files_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("notes.txt"), "keep me").unwrap();
    let run = assay(
        tmp.path(),
        &["simulate", "--out", "mine", "--events", "100"],
    );
    run.expect_refused(&["mine", "not empty"]);
    assert_eq!(
        fs::read_to_string(mine.join("notes.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn the_quickstart_refuses_a_shop_folder_of_other_files_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("qs").join("shop");
    fs::create_dir_all(&shop).unwrap();
    fs::write(shop.join("notes.txt"), "keep me").unwrap();
    let run = assay(tmp.path(), &["quickstart", "--out", "qs"]);
    run.expect_refused(&["shop", "did not write"]);
    assert_eq!(
        fs::read_to_string(shop.join("notes.txt")).unwrap(),
        "keep me"
    );
    // Refused first: no step ran, so nothing else is in the folder.
    let written: Vec<_> = fs::read_dir(tmp.path().join("qs")).unwrap().collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(!run.stdout().contains("1. public sample data"));
}

#[test]
fn a_nul_byte_in_a_recbole_id_is_refused_with_its_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rb");
    fs::create_dir(&dir).unwrap();
    fs::write(
        dir.join("rb.inter"),
        b"user_id:token\titem_id:token\n1\t2\n1\ta\0b\n",
    )
    .unwrap();
    let run = assay(tmp.path(), &["data", "stats", dir.to_str().unwrap()]);
    run.expect_refused(&["rb.inter:3", "'item_id'", "control characters"]);
}

#[test]
fn index_refuses_a_lexical_folder_it_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let lexical = tmp.path().join("idx").join("lexical");
    fs::create_dir_all(&lexical).unwrap();
    fs::write(lexical.join("meta.json"), "{}").unwrap();
    fs::write(lexical.join("notes.txt"), "keep me").unwrap();
    let index = [
        "index",
        shop.to_str().unwrap(),
        "--encoder",
        "hash",
        "--index",
        "idx",
    ];
    assay(tmp.path(), &index).expect_refused(&["lexical", "not a search index"]);
    assert_eq!(
        fs::read_to_string(lexical.join("notes.txt")).unwrap(),
        "keep me"
    );
    // Once the folder is gone, the index is built, and rebuilt over itself.
    fs::remove_dir_all(&lexical).unwrap();
    assay(tmp.path(), &index).expect_code(0);
    assay(tmp.path(), &index).expect_code(0);
}

/// Runs the binary under umask 077, through `sh`.
#[cfg(unix)]
fn assay_private(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(dir)
        .env("ASSAY_HOME", dir.join("home"))
        .env("ASSAY_SHARED_DATA", dir.join("no-shared-data"))
        .output()
        .expect("sh runs the assay binary");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        output,
    }
}

#[cfg(unix)]
#[test]
fn written_files_follow_the_umask_and_replaced_files_keep_their_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    let tmp = tempfile::tempdir().unwrap();
    // Under umask 077 nothing new is readable by others: files 0600, folders 0700.
    assay_private(
        tmp.path(),
        &["simulate", "--out", "shop", "--events", "500"],
    )
    .expect_code(0);
    let shop = tmp.path().join("shop");
    assert_eq!(mode(&shop), 0o700);
    assert_eq!(mode(&shop.join("events.csv")), 0o600);
    let split = ["data", "split", "shop", "--out", "parts"];
    assay_private(tmp.path(), &split).expect_code(0);
    assert_eq!(mode(&tmp.path().join("parts/train.csv")), 0o600);
    // A file the user made private stays private when rewritten under any umask, and a
    // shared one stays shared.
    let train = tmp.path().join("parts/train.csv");
    let test = tmp.path().join("parts/test.csv");
    fs::set_permissions(&test, fs::Permissions::from_mode(0o640)).unwrap();
    assay(tmp.path(), &split).expect_code(0);
    assert_eq!(mode(&train), 0o600);
    assert_eq!(mode(&test), 0o640);
}

#[test]
fn train_replaces_a_saved_model_whole_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let train = |model: &str, out: &str| {
        assay(tmp.path(), &["train", shop, "--model", model, "--out", out])
    };
    train("hybrid:pop+itemknn", "model").expect_code(0);
    train("ease", "model").expect_code(0);
    let model = tmp.path().join("model");
    let mut names: Vec<String> = fs::read_dir(&model)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["ids.json", "meta.json", "tensors.safetensors"]);
    let theirs = tmp.path().join("theirs");
    fs::create_dir(&theirs).unwrap();
    fs::write(theirs.join("notes.txt"), "keep me").unwrap();
    train("pop", "theirs").expect_refused(&["theirs", "not a saved model"]);
    assert_eq!(fs::read_dir(&theirs).unwrap().count(), 1);
}

#[test]
fn dense_models_over_the_memory_limit_are_refused_or_replaced_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    // 200 items: EASE's three 200 x 200 f32 matrices need 468.8 KiB.
    let small = Some("100KiB");
    let run = |args: &[&str]| assay_with(tmp.path(), small, args);
    // A model the user names is refused, with the need, the limit, the way out and the flag.
    let refusal = [
        "ease on 100 users x 200 items needs three dense 200 x 200 matrices: 468.8 KiB",
        "over the memory limit of 100.0 KiB",
        "use itemknn, rp3beta or als instead",
        "--memory-limit SIZE or ASSAY_MEMORY_LIMIT",
    ];
    run(&["train", shop, "--model", "ease", "--out", "m"]).expect_refused(&refusal);
    assert!(!tmp.path().join("m").exists());
    run(&["value", shop, "--model", "ease"]).expect_refused(&["ease on", "100.0 KiB"]);
    run(&["report", shop, "--model", "ease", "--out", "r.html"])
        .expect_refused(&["ease on", "100.0 KiB"]);
    assert!(!tmp.path().join("r.html").exists());
    // The default model gives way to ItemKNN and says so.
    let trained = run(&["train", shop, "--out", "m"]);
    trained.expect_code(0);
    assert!(trained
        .stderr()
        .contains("468.8 KiB, over the memory limit of 100.0 KiB; fitting itemknn instead"));
    let meta = fs::read_to_string(tmp.path().join("m/meta.json")).unwrap();
    assert!(meta.contains("\"kind\": \"itemknn\""), "{meta}");
    let report = run(&[
        "report",
        shop,
        "--out",
        "r.html",
        "--user-samples",
        "2",
        "--item-samples",
        "0",
    ]);
    report.expect_code(0);
    assert!(report
        .stderr()
        .contains("; the report fits itemknn instead"));
    let html = fs::read_to_string(tmp.path().join("r.html")).unwrap();
    assert!(html.contains("the report fits itemknn instead"));
    // The default list of eval leaves out what does not fit.
    let eval = run(&["eval", shop, "--json"]);
    eval.expect_code(0);
    assert!(eval
        .stderr()
        .contains("468.8 KiB, over the memory limit of 100.0 KiB; left out"));
    let rows: serde_json::Value = serde_json::from_str(&eval.stdout()).unwrap();
    let models: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["model"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"itemknn") && !models.contains(&"ease"),
        "{models:?}"
    );
    // The flag outranks the environment.
    let big = [
        "--memory-limit",
        "1GiB",
        "train",
        shop,
        "--model",
        "ease",
        "--out",
        "m",
    ];
    run(&big).expect_code(0);
}

#[test]
fn sizes_that_fit_no_machine_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let values = "1|2|3|4|5|6|7|8|9|10";
    let grid = format!("itemknn:k={values};shrink={values};k={values};shrink={values};k={values}");
    assay(tmp.path(), &["tune", shop, "--grid", &grid])
        .expect_refused(&["--grid", "100000 combinations, over the limit of 10000"]);
    let simulate = [
        "bandit",
        "simulate",
        "--actions",
        "100000",
        "--dim",
        "1000",
        "--rounds",
        "10",
    ];
    assay(tmp.path(), &simulate).expect_refused(&[
        "100,000 actions with 1,000-dimensional contexts",
        "linucb's state",
        "over the memory limit of 8.0 GiB",
        "--memory-limit",
    ]);
    assay_with(tmp.path(), Some("lots"), &["data", "stats", shop])
        .expect_refused(&["ASSAY_MEMORY_LIMIT", "expected a size such as 16GiB"]);
    assay(tmp.path(), &["data", "stats", shop, "--memory-limit", "0"])
        .expect_refused(&["--memory-limit", "expected a size"]);
}

#[test]
fn recommend_refuses_ids_that_do_not_match_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let train = [
        "train",
        shop.to_str().unwrap(),
        "--model",
        "pop",
        "--out",
        "m",
    ];
    assay(tmp.path(), &train).expect_code(0);
    // An ids file with one user more than the model: that user's index is past the model's.
    let ids_path = tmp.path().join("m/ids.json");
    let mut ids: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&ids_path).unwrap()).unwrap();
    ids["users"].as_array_mut().unwrap().push("ghost".into());
    fs::write(&ids_path, ids.to_string()).unwrap();
    let run = assay(
        tmp.path(),
        &["recommend", "--model", "m", "--user", "ghost"],
    );
    run.expect_refused(&["ids.json", "it lists 101 users, the model has 100"]);
}

#[test]
fn the_largest_seed_is_a_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let max = u64::MAX.to_string();
    let args = [
        "eval",
        shop.to_str().unwrap(),
        "--models",
        "pop",
        "--seeds",
        "2",
    ];
    let run = assay(
        tmp.path(),
        &[&args[..], &["--seed", &max, "--json"]].concat(),
    );
    run.expect_code(0);
    let rows: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    // Seeds wrap around: u64::MAX, then 0.
    assert_eq!(rows[0]["seeds"], serde_json::json!([u64::MAX, 0]));
}

#[test]
fn steps_past_the_time_limit_are_refused_with_their_estimate() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = shop(tmp.path());
    let shop = shop.to_str().unwrap();
    let run = |args: &[&str]| assay(tmp.path(), args);
    // Any evaluation takes more than a millisecond: refused before the split, with the
    // estimate per model and the ways out.
    run(&["--time-limit", "0.001", "eval", shop, "--models", "pop,als"]).expect_refused(&[
        "eval of pop,als on",
        "would take about",
        "pop: 2 ranking passes",
        "als: 17 ranking passes",
        "over the time limit of 0 s",
        "leave out als",
        "--time-limit none",
    ]);
    run(&["--time-limit", "0.001", "report", shop, "--out", "r.html"]).expect_refused(&[
        "the report on",
        "fits of",
        "validation users",
        "--time-limit",
    ]);
    assert!(!tmp.path().join("r.html").exists());
    // The environment sets it too, and a bad value is named.
    let mut command = Command::new(env!("CARGO_BIN_EXE_assay"));
    let output = command
        .args(["eval", shop, "--models", "pop"])
        .current_dir(tmp.path())
        .env("ASSAY_HOME", tmp.path().join("home"))
        .env("ASSAY_TIME_LIMIT", "soon")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ASSAY_TIME_LIMIT: expected a duration such as 90s, 45m or 4h"),
        "{stderr}"
    );
    run(&["--time-limit", "soon", "eval", shop]).expect_refused(&["--time-limit", "soon"]);
    // Within the default hour, the same evaluation runs.
    run(&["eval", shop, "--models", "pop"]).expect_code(0);
}
