//! RecBole's protocol on MovieLens-100k, when the `ml-100k` sample pack is here (a `SKIPPED:`
//! line on the terminal otherwise).

#[path = "support/ml100k.rs"]
mod ml100k;

use assay_fetch::samples::sample_data_or_skip;
use assay_fetch::Pack;
use assay_recommend::eval::{evaluate, prepare, run_once, Protocol};
use assay_recommend::{load_model, ModelSpec};

#[test]
fn recbole_protocol_lands_near_recbole_numbers() {
    let Some(dir) = sample_data_or_skip(Pack::Ml100k) else {
        return;
    };
    let data = ml100k::load(&dir);
    assert_eq!(
        (data.users.len(), data.items.len(), data.events.len()),
        (943, 1682, 100_000)
    );
    let models = ModelSpec::parse_list("pop,itemknn,ease,pop:batch=2048;negatives=1").unwrap();
    // Five splits: their spread says how far one split's number (RecBole's) may fall from our
    // mean, so the tolerance comes from the data, not from a measured result.
    let seeds = [2020, 2021, 2022, 2023, 2024];
    let rows = evaluate(&data, &Protocol::recbole(), &models, &seeds, &|_| {}).unwrap();
    // Per user, recall, precision, NDCG, MRR and MAP are 0 without a hit and at most 1 with
    // one, so their means lie in [0, hit rate].
    for row in &rows {
        let m = &row.test.mean;
        for v in [m.recall, m.precision, m.ndcg, m.mrr, m.map] {
            assert!(v >= 0.0 && v <= m.hit, "{}: {m:?}", row.model);
        }
        assert!(m.hit <= 1.0, "{}: {m:?}", row.model);
    }
    // Pop: RecBole's Pop counts mini-batches, not interactions (see `PopParams::batch`), and
    // ranks below true popularity; true popularity must do at least as well as RecBole's 0.1005.
    assert!(
        rows[0].test.mean.ndcg > 0.1005,
        "pop {}",
        rows[0].test.mean.ndcg
    );
    // RecBole 1.2.1, seed 2020, test NDCG@10 (one split of RecBole's own shuffle). The
    // difference of our 5-split mean and one RecBole split has a standard deviation of about
    // sigma * sqrt(1 + 1/5), sigma the spread of one split: allow three of those.
    for (row, want) in rows.iter().skip(1).zip([0.2834, 0.3295, 0.1005]) {
        let got = row.test.mean.ndcg;
        let sigma = row.test.std.ndcg;
        let tolerance = 3.0 * sigma * (1.0 + 1.0 / seeds.len() as f64).sqrt();
        eprintln!(
            "{}: test ndcg@10 {got:.4} ± {sigma:.4} (RecBole {want}, allowed ±{tolerance:.4})",
            row.model
        );
        assert!(sigma > 0.0, "{}: five splits gave one number", row.model);
        assert!(
            (got - want).abs() <= tolerance,
            "{}: {got} vs RecBole {want} (allowed {tolerance})",
            row.model
        );
    }
}

#[test]
fn reloaded_ease_gives_identical_top_10_on_ml100k() {
    let Some(dir) = sample_data_or_skip(Pack::Ml100k) else {
        return;
    };
    let data = ml100k::load(&dir);
    let protocol = Protocol::recbole();
    let prepared = prepare(&data, &protocol, 7).unwrap();
    let spec = ModelSpec::parse("ease").unwrap();
    let (model, _) = run_once(&data, &prepared, &protocol, &spec, 7, &|_, _| {}).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    model.save(tmp.path()).unwrap();
    let loaded = load_model(tmp.path()).unwrap();
    for u in 0..data.users.len() as u32 {
        let exclude = prepared.valid.items_of(u);
        assert_eq!(model.top_k(u, 10, exclude), loaded.top_k(u, 10, exclude));
    }
}
