//! End-to-end tests of `assay ctr` on a shop written here, whose clicks are known by
//! construction.

use std::path::{Path, PathBuf};

mod common;

use common::{assay, text};

/// 60 users, each shown all six items once; every user clicks items a, b and c and never
/// d, e or f. `clicks` false writes the impressions alone.
fn shown_and_clicked(dir: &Path, clicks: bool) -> PathBuf {
    let shop = dir.join(if clicks { "shop" } else { "no-clicks" });
    std::fs::create_dir_all(&shop).unwrap();
    std::fs::write(
        shop.join("assay.toml"),
        "[items]\npath = \"items.csv\"\nid = \"sku\"\ntitle = \"name\"\n\n\
         [[events]]\npath = \"events.csv\"\nuser = \"user\"\nitem = \"sku\"\nkind = \"kind\"\n\
         timestamp = \"ts\"\n",
    )
    .unwrap();
    let mut items = String::from("sku,name\n");
    for (sku, name) in [
        ("a", "red dress"),
        ("b", "blue shirt"),
        ("c", "green hat"),
        ("d", "oak table"),
        ("e", "steel pan"),
        ("f", "wool rug"),
    ] {
        items.push_str(&format!("{sku},{name}\n"));
    }
    std::fs::write(shop.join("items.csv"), items).unwrap();
    let mut events = String::from("user,sku,kind,ts\n");
    for u in 0..60 {
        for (k, sku) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            let ts = 1_700_000_000 + u * 1_000 + k * 10;
            events.push_str(&format!("u{u},{sku},impression,{ts}\n"));
            if clicks && k < 3 {
                events.push_str(&format!("u{u},{sku},click,{ts}\n"));
            }
        }
    }
    std::fs::write(shop.join("events.csv"), events).unwrap();
    shop
}

/// The JSON output without the one field that measures the clock.
fn without_times(stdout: &[u8]) -> serde_json::Value {
    let mut json: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    for model in json["models"].as_array_mut().unwrap() {
        model.as_object_mut().unwrap().remove("train_seconds");
    }
    json
}

#[test]
fn ctr_separates_clicked_items_and_repeats_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    shown_and_clicked(dir, true);
    let args = ["ctr", "shop", "--seed", "3", "--json"];
    let first = assay(dir, &args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let json = without_times(&first.stdout);
    // 60 users x 6 impressions, half of them clicked.
    assert_eq!(json["label"], "clicks");
    assert_eq!(json["rows"], 360);
    assert_eq!(json["positive_rate"], 0.5);
    let split: Vec<u64> = json["split"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(split.iter().sum::<u64>(), 360);
    // Half the rows are clicks; the positives of the three parts add up to them.
    let positives: u64 = json["positives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(positives, 180);
    // The item alone decides the click, so every fitted model ranks each clicked test row
    // above each unclicked one, and beats the constant 0.5 (log loss ln 2).
    let models = json["models"].as_array().unwrap();
    let names: Vec<&str> = models
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lr", "deepfm", "ctr-gru"]);
    for model in models {
        assert_eq!(model["test_auc"], 1.0, "{model}");
        assert!(
            model["test_logloss"].as_f64().unwrap() < std::f64::consts::LN_2,
            "{model}"
        );
    }
    // The same seed gives the same model and numbers.
    let again = assay(dir, &args);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(without_times(&again.stdout), json);
    // The table says how many positives each part holds, and that an AUC on fewer than a
    // hundred is noise (validation and test hold 36 rows each).
    let table = assay(dir, &["ctr", "shop", "--seed", "3", "--models", "lr"]);
    let out = text(&table.stdout);
    assert!(
        out.contains("positive") && out.contains("mostly noise"),
        "{out}"
    );
}

#[test]
fn ctr_curves_are_drawn_on_one_page_beside_the_csv_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    shown_and_clicked(dir, true);
    let out = assay(
        dir,
        &[
            "ctr",
            "shop",
            "--models",
            "lr,deepfm",
            "--epochs",
            "3",
            "--seed",
            "3",
            "--curves",
            "curves",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let html = std::fs::read_to_string(dir.join("curves/training.html")).unwrap();
    // Two models, each with a loss chart and a validation chart, every chart closed.
    assert_eq!(html.matches("<svg").count(), 4);
    assert_eq!(html.matches("</svg>").count(), 4);
    assert!(!html.contains("<script"));
    for model in json["models"].as_array().unwrap() {
        let name = model["model"].as_str().unwrap();
        let csv = std::fs::read_to_string(dir.join(format!("curves/{name}/curves.csv"))).unwrap();
        // Epoch 0 (before training) and one row per epoch run.
        let epochs = csv.lines().filter(|l| l.starts_with("epoch,")).count();
        assert_eq!(epochs, model["epochs"].as_u64().unwrap() as usize + 1);
        assert!(html.contains(&format!("<h2>{name}, seed 3</h2>")), "{html}");
        assert!(html.contains(&format!("{name}/curves.csv")));
        if let Some(best) = model["best_epoch"].as_u64() {
            assert!(
                html.contains(&format!("best epoch {best} (validation valid_auc")),
                "{html}"
            );
        }
    }
}

#[test]
fn ctr_refuses_bad_input_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    shown_and_clicked(dir, true);
    shown_and_clicked(dir, false);
    for (args, expected) in [
        (
            vec!["ctr", "shop", "--models", "lr,svm"],
            "unknown click model `svm`",
        ),
        (
            vec!["ctr", "shop", "--valid-metric", "mse"],
            "expected auc or logloss",
        ),
        (vec!["ctr", "shop", "--max-seconds", "0"], "must be > 0"),
        (
            vec!["ctr", "shop", "--models", "lr", "--epochs", "0"],
            "epochs",
        ),
        (vec!["ctr", "no-such-shop"], "unknown dataset"),
        (
            vec!["ctr", "shop", "--models", "deepfm", "--hidden", "64,x"],
            "`x` is not a layer size",
        ),
        (
            vec!["ctr", "shop", "--models", "deepfm", "--dropout", "1.5"],
            "dropout",
        ),
        (
            vec!["ctr", "shop", "--models", "lr", "--lr", "0"],
            "--lr: must be > 0",
        ),
        // Nothing was clicked: there is no click to learn, and AUC is undefined.
        (
            vec!["ctr", "no-clicks", "--models", "lr"],
            "both clicked and unclicked",
        ),
    ] {
        let out = assay(dir, &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
