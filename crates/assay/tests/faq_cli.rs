//! End-to-end tests of `assay faq` on a simulated shop, with the hash encoder.

mod common;

use common::{assay, text};

#[test]
fn faq_answers_abstains_and_refuses_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sim = assay(dir, &["simulate", "--out", "shop", "--seed", "3"]);
    assert!(sim.status.success(), "{}", text(&sim.stderr));

    // A FAQ question as written: its answer, from the simulator's fixed FAQ.
    let out = assay(
        dir,
        &[
            "faq",
            "shop",
            "How long does shipping take?",
            "--encoder",
            "hash",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["answers"][0]["id"], "ship-time");
    assert_eq!(reply["confident"], true);

    // An off-topic question: exit 0, and it says so plainly.
    let out = assay(
        dir,
        &[
            "faq",
            "shop",
            "Who won the football match yesterday?",
            "--encoder",
            "hash",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("No confident answer"),
        "{}",
        text(&out.stdout)
    );

    // The simulator's test questions: one row per kind and one for all, which adds them up.
    let out = assay(
        dir,
        &[
            "faq",
            "shop",
            "--eval",
            "shop/truth/faq_questions.csv",
            "--encoder",
            "hash",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds = eval["kinds"].as_array().unwrap();
    let all = kinds.last().unwrap();
    assert_eq!(all["kind"], "all");
    let sum = |field: &str| -> u64 {
        kinds[..kinds.len() - 1]
            .iter()
            .map(|k| k[field].as_u64().unwrap())
            .sum()
    };
    for field in [
        "asked",
        "answerable",
        "top1_right",
        "abstained_unanswerable",
    ] {
        assert_eq!(all[field].as_u64().unwrap(), sum(field), "{field}");
    }
    // Every FAQ entry is asked as written and found.
    let exact = kinds.iter().find(|k| k["kind"] == "exact").unwrap();
    assert_eq!(exact["top1_accuracy"], 1.0);

    // Bad input: exit 2 with the reason.
    std::fs::write(
        dir.join("questions.csv"),
        "question,faq_id
where is it,no-such-entry
",
    )
    .unwrap();
    let out = assay(
        dir,
        &[
            "faq",
            "shop",
            "--eval",
            "questions.csv",
            "--encoder",
            "hash",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("questions.csv:2") && err.contains("no-such-entry"),
        "{err}"
    );
    let out = assay(dir, &["faq", "shop", "--encoder", "hash"]);
    assert_eq!(out.status.code(), Some(2));
    let out = assay(
        dir,
        &["faq", "shop", "q", "--encoder", "hash", "--threshold", "2"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--threshold"),
        "{}",
        text(&out.stderr)
    );
    let out = assay(dir, &["faq", "nowhere", "q", "--encoder", "hash"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nowhere"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(dir.join("shop/faq.csv"), "id,question\nx,Q\n").unwrap();
    let out = assay(dir, &["faq", "shop", "q", "--encoder", "hash"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("faq.csv") && err.contains("answer"), "{err}");
}
