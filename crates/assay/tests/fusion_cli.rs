//! End-to-end test of the fusion recommenders' item text embeddings
//! (`--item-text-encoder`), with the hash encoder (no download).

mod common;

use common::{assay, text};

#[test]
fn item_text_embeddings_feed_the_fusion_text_modality() {
    let tmp = tempfile::tempdir().unwrap();
    let shop = tmp.path().join("shop");
    let shop = shop.to_str().unwrap();
    let sim = assay(
        tmp.path(),
        &["simulate", "--out", shop, "--seed", "3", "--events", "6000"],
    );
    assert_eq!(sim.status.code(), Some(0), "{}", text(&sim.stderr));
    let valid_ndcg = |extra: &[&str]| -> f64 {
        let mut args = vec!["eval", shop, "--models", "fusion-text:epochs=2", "--json"];
        args.extend_from_slice(extra);
        let run = assay(tmp.path(), &args);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        let rows: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        rows[0]["valid"]["mean"]["ndcg"].as_f64().unwrap()
    };
    // The encoder's vectors replace the fusion's own hashed words: another input, another
    // model (same seed, same split).
    let own = valid_ndcg(&[]);
    let embedded = valid_ndcg(&["--item-text-encoder", "hash"]);
    assert_ne!(own, embedded);
    assert_eq!(embedded, valid_ndcg(&["--item-text-encoder", "hash"]));
    let run = assay(
        tmp.path(),
        &[
            "eval",
            shop,
            "--models",
            "ease",
            "--item-text-encoder",
            "bert",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    let err = text(&run.stderr);
    assert!(err.contains("--item-text-encoder"), "{err}");
}
