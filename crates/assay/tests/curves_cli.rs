//! End-to-end tests of `--curves DIR`: `assay eval` on a small simulated shop writes each deep
//! model's `curves.csv` (the training stack's format) and one `training.html`, both agreeing
//! with the JSON output; a bad target is refused with exit 2; other files in DIR are kept.

use std::path::Path;

mod common;

use common::{assay, text};

/// A shop of 80 users and 60 items with about 4,000 events, seed 7.
fn simulated_shop(dir: &Path) {
    let out = assay(
        dir,
        &[
            "simulate", "--out", "shop", "--seed", "7", "--events", "4000", "--users", "80",
            "--items", "60",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The rows of a `curves.csv`: header, then each row's cells.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// Checks that every `<svg` opens one chart that is closed, in order, and the page is whole.
fn assert_well_formed(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.to_lowercase().contains("<script"));
    let mut depth = 0i32;
    let mut rest = html;
    while let Some(at) = rest
        .find("<svg")
        .into_iter()
        .chain(rest.find("</svg>"))
        .min()
    {
        if rest[at..].starts_with("</svg>") {
            depth -= 1;
            rest = &rest[at + 6..];
        } else {
            depth += 1;
            rest = &rest[at + 4..];
        }
        assert!((0..=1).contains(&depth), "nested or unopened <svg>");
    }
    assert_eq!(depth, 0, "an <svg> is not closed");
}

#[test]
fn eval_writes_curves_that_match_its_json_and_a_page_that_draws_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    simulated_shop(dir);
    // DIR exists and holds a file of the user's: it must survive.
    std::fs::create_dir_all(dir.join("curves")).unwrap();
    std::fs::write(dir.join("curves/notes.txt"), "mine").unwrap();
    let out = assay(
        dir,
        &[
            "eval",
            "shop",
            "--protocol",
            "loo",
            "--models",
            "gru4rec:embedding=16;hidden=16;epochs=6;patience=2;batch=64",
            "--seed",
            "3",
            "--curves",
            "curves",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(dir.join("curves/notes.txt")).unwrap(),
        "mine"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let log = &json[0]["runs"][0]["training"];
    let epochs = log["epochs"].as_array().unwrap();
    let best = log["best_epoch"].as_u64().unwrap() as usize;
    assert!(!epochs.is_empty() && epochs.len() <= 6);

    let (header, rows) = read_csv(
        &dir.join("curves/gru4rec_batch=64_embedding=16_epochs=6_hidden=16_patience=2/curves.csv"),
    );
    assert_eq!(
        header,
        ["kind", "epoch", "step", "lr", "loss", "valid_mrr@10"]
    );
    let epoch_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "epoch").collect();
    let step_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "step").collect();
    assert_eq!(epoch_rows.len() + step_rows.len(), rows.len());
    // LOO validates on MRR@10. One epoch row per epoch the JSON reports, carrying the same validation value.
    assert_eq!(epoch_rows.len(), epochs.len());
    for (row, epoch) in epoch_rows.iter().zip(epochs) {
        assert_eq!(row[1], epoch["epoch"].to_string());
        let valid: f64 = row[5].parse().unwrap();
        assert_eq!(valid, epoch["valid"].as_f64().unwrap(), "{row:?}");
    }
    // Steps count from 1 without gaps, each in an epoch that ran, at gru4rec's learning rate;
    // an epoch row's step count is the steps up to it.
    for (k, row) in step_rows.iter().enumerate() {
        assert_eq!(row[2], (k + 1).to_string());
        // The learning rate is the f32 0.001 widened.
        assert_eq!(row[3].parse::<f64>().unwrap(), f64::from(0.001f32));
        assert!(row[4].parse::<f64>().unwrap() > 0.0);
    }
    let mut seen_steps = 0;
    for row in &rows {
        if row[0] == "step" {
            seen_steps += 1;
        } else {
            assert_eq!(row[2], seen_steps.to_string());
        }
    }
    // The cross-entropy over 60 items starts near ln 60 = 4.09 and is the same mean the JSON
    // reports per epoch, up to each batch's weight (positions scored).
    let first_epoch: Vec<f64> = step_rows
        .iter()
        .filter(|r| r[1] == "1")
        .map(|r| r[4].parse().unwrap())
        .collect();
    let mean = first_epoch.iter().sum::<f64>() / first_epoch.len() as f64;
    assert!((mean - 60f64.ln()).abs() < 0.5, "{mean}");
    let json_loss = epochs[0]["loss"].as_f64().unwrap();
    let (lo, hi) = first_epoch
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| {
            (l.min(x), h.max(x))
        });
    assert!(
        lo <= json_loss && json_loss <= hi,
        "{json_loss} outside {lo}..{hi}"
    );

    let html = std::fs::read_to_string(dir.join("curves/training.html")).unwrap();
    assert_well_formed(&html);
    // One chart of the loss and one of the validation metric.
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(
        html.contains(&format!("best epoch {best} (validation valid_mrr@10")),
        "{html}"
    );
    let last = epochs.len();
    match log["stop"].as_str().unwrap() {
        "patience" => assert!(html.contains(&format!("early stopping fired at epoch {last}"))),
        "max_epochs" => assert!(html.contains("every allowed epoch ran")),
        other => panic!("unexpected stop {other}"),
    }
    assert!(html.contains("gru4rec_batch=64_embedding=16_epochs=6_hidden=16_patience=2/curves.csv"));

    // The text output prints the same epochs.
    let out = assay(
        dir,
        &[
            "eval",
            "shop",
            "--protocol",
            "loo",
            "--models",
            "gru4rec:embedding=16;hidden=16;epochs=6;patience=2;batch=64",
            "--seed",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("seed 3: {last} epochs, best epoch {best}")),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_file_where_the_curves_folder_should_be_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("taken"), "a file").unwrap();
    for command in ["eval", "ctr", "train"] {
        let mut args = vec![command, "ml-100k", "--curves", "taken"];
        if command == "train" {
            args.extend(["--out", "model"]);
        }
        let out = assay(dir, &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("--curves") && stderr.contains("taken exists and is not a directory"),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(dir.join("taken")).unwrap(),
            "a file"
        );
    }
}
