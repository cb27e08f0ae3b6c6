//! One rule for impressions, end to end: every command that fits a recommender leaves them out
//! unless `--learn-from-impressions` is given.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn assay(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .env("ASSAY_HOME", home.join("cache"))
        .env("ASSAY_SHARED_DATA", home.join("no-shared-data"))
        .output()
        .expect("the assay binary runs")
}

#[track_caller]
fn stdout_of(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = assay(home, args);
    assert!(
        out.status.success(),
        "assay {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// One rule for impressions: models learn from them only with `--learn-from-impressions`.
#[test]
fn models_learn_from_impressions_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("shop");
    write(
        &shop.join("assay.toml"),
        "[items]\npath = \"items.csv\"\nid = \"sku\"\ntitle = \"name\"\n\
         [[events]]\npath = \"events.csv\"\nuser = \"user\"\nitem = \"sku\"\nkind = \"kind\"\n",
    );
    write(&shop.join("items.csv"), "sku,name\na,A\nb,B\nc,C\n");
    // Clicks: a by u1, u2, u4; b by u3, u4. Every user but u1 (u5 too) was shown c.
    let mut events = String::from("user,sku,kind\n");
    for (user, item) in [
        ("u1", "a"),
        ("u2", "a"),
        ("u4", "a"),
        ("u3", "b"),
        ("u4", "b"),
    ] {
        events.push_str(&format!("{user},{item},click\n"));
    }
    for user in ["u2", "u3", "u4", "u5"] {
        events.push_str(&format!("{user},c,impression\n"));
    }
    write(&shop.join("events.csv"), &events);
    let shop = shop.to_str().unwrap();
    let fit = |out: &str, extra: &[&str]| -> (serde_json::Value, String) {
        let model = tmp.path().join(out);
        let model = model.to_str().unwrap();
        let mut args = vec!["train", shop, "--model", "pop", "--out", model, "--json"];
        args.extend_from_slice(extra);
        let trained = stdout_of(tmp.path(), &args);
        let top = stdout_of(
            tmp.path(),
            &[
                "recommend",
                "--model",
                model,
                "--user",
                "u1",
                "-k",
                "1",
                "--json",
            ],
        );
        (trained, top[0]["item"].as_str().unwrap().to_owned())
    };
    // By default: the 5 clicked pairs; u1 has a, so b (2 buyers) beats c (0).
    let (trained, top) = fit("clicks", &[]);
    assert_eq!(trained["interactions"], 5);
    assert_eq!(top, "b");
    // With impressions: 4 more pairs, and c (shown to 4 users) beats b.
    let (trained, top) = fit("shown", &["--learn-from-impressions"]);
    assert_eq!(trained["interactions"], 9);
    assert_eq!(top, "c");

    // A log of impressions alone has nothing to learn from, unless asked.
    write(
        &tmp.path().join("shop/events.csv"),
        "user,sku,kind\nu1,a,impression\nu2,b,impression\n",
    );
    let run = assay(tmp.path(), &["eval", shop, "--models", "pop"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--learn-from-impressions"), "{stderr}");
}
