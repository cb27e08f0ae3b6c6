//! Search quality on the simulator's judged queries with the real sentence encoder.
//! Slow (encodes the catalog): runs with ASSAY_SLOW_TESTS=1 and the `minilm` sample pack.

use std::sync::Arc;

use assay_encoder::{BertEncoder, Encoder, EncoderOptions};
use assay_fetch::{samples, Pack};
use assay_search::{build_index, eval_search, IndexConfig};

#[test]
fn hybrid_is_at_least_as_good_as_either_mode() {
    if !samples::slow_tests_enabled() {
        return;
    }
    let Some(model) = samples::sample_data_or_skip(Pack::Minilm) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assay_sim::simulate(&assay_sim::SimConfig::small(7), dir.path()).unwrap();
    let dataset = assay_import::load(dir.path(), &assay_import::LoadOptions::default())
        .unwrap()
        .dataset;
    assert!(!dataset.judgments.is_empty());
    let encoder: Arc<dyn Encoder> =
        Arc::new(BertEncoder::load(&model, &EncoderOptions::default()).unwrap());
    let index = build_index(&dataset, encoder, &IndexConfig::default()).unwrap();
    let table = eval_search(&index, &dataset.judgments).unwrap();
    for m in &table {
        eprintln!(
            "{:<18} nDCG@10 {:.4}  MRR@10 {:.4}  Recall@100 {:.4}  ({} queries)",
            m.mode, m.ndcg_at_10, m.mrr_at_10, m.recall_at_100, m.queries
        );
    }
    let get = |name: &str| table.iter().find(|m| m.mode == name).unwrap().ndcg_at_10;
    let best_single = get("bm25").max(get("vector"));
    assert!(get("hybrid-rrf") >= best_single, "{table:?}");
}
