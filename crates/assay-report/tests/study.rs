//! The study on a small simulated shop with bad data: its numbers agree with assay-value's
//! own utility, Shapley efficiency holds, and the page draws every chart.

use assay_core::split::{by_ratio, Order};
use assay_core::{clean, EventKind};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_report::{render_html, study, StudyConfig};
use assay_value::recommend::{Audience, RecConfig, RecommenderUtility};

#[test]
fn study_of_a_small_shop() {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let mut sim = assay_sim::SimConfig::small_with_bad_data(5);
    sim.n_events_target = 6_000;
    assay_sim::simulate(&sim, &shop).unwrap();
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .unwrap()
    .dataset;
    let model = ModelSpec::parse("itemknn").unwrap();
    let mut config = StudyConfig::new(model.clone(), Metric::Ndcg, 10, 11);
    config.user_samples = 6;
    config.item_samples = 4;
    config.removal_fractions = vec![0.1, 0.3];
    config.random_draws = 2;
    config.learning_fractions = vec![0.25, 0.5];
    let report = study(&data, "small shop", &config, &|_| {}).unwrap();

    // The same split and utility, computed by assay-value's RecommenderUtility.
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let kinds: Vec<EventKind> = EventKind::ALL
        .into_iter()
        .filter(|&k| k != EventKind::Impression)
        .collect();
    let rows = clean::of_kinds(&data, &all, &kinds);
    let split = by_ratio(&data, &rows, [0.8, 0.1, 0.1], Order::Random { seed: 11 });
    let rec = RecConfig {
        model,
        metric: Metric::Ndcg,
        k: 10,
        audience: Audience::Total,
    };
    let utility =
        RecommenderUtility::new(&data, &split.train, &split.valid, Vec::new(), rec.clone())
            .unwrap();
    let full = utility.score_rows(&split.train);
    assert!(
        (report.baseline.valid - full).abs() < 1e-12,
        "{} vs {full}",
        report.baseline.valid
    );
    let test = RecommenderUtility::new(&data, &split.train, &split.test, Vec::new(), rec).unwrap();
    assert!((report.baseline.test - test.score_rows(&split.train)).abs() < 1e-12);
    assert_eq!(report.dataset.train_rows, split.train.len() as u64);

    // Efficiency: every training row belongs to one source, so the source values add up to
    // U(all) - U(nothing).
    let sources = report.groups.iter().find(|t| t.kind == "source").unwrap();
    assert_eq!(sources.rows.len(), 3);
    let sum: f64 = sources.rows.iter().map(|r| r.value).sum();
    let empty = utility.score_rows(&[]);
    assert!(
        (sum - (full - empty)).abs() < 1e-9,
        "{sum} vs {}",
        full - empty
    );
    assert!(sources
        .rows
        .iter()
        .all(|r| r.std_error.is_finite() && r.std_error >= 0.0));
    assert_eq!(
        sources.rows.iter().map(|r| r.rows).sum::<u64>(),
        split.train.len() as u64
    );

    // Users: one row per training user; removal and learning curves have their shapes.
    let users = &report.points[0];
    assert_eq!(users.kind, "user");
    let mut owners: Vec<u32> = split
        .train
        .iter()
        .map(|&r| data.events.user[r as usize])
        .collect();
    owners.sort_unstable();
    owners.dedup();
    assert_eq!(users.rows.len(), owners.len());
    let removal = report.removal.as_ref().unwrap();
    assert_eq!(removal.fractions, vec![0.0, 0.1, 0.3]);
    assert_eq!(removal.low_first[0], report.baseline.test);
    assert_eq!(removal.high_first[0], report.baseline.test);
    let learning = report.learning.as_ref().unwrap();
    assert_eq!(learning.overall.fractions, vec![0.25, 0.5, 1.0]);
    assert_eq!(learning.overall.scores[2], report.baseline.test);
    assert_eq!(learning.per_source.len(), 3);

    // The page: one chart per group kind, per point kind, the removal curves and two learning
    // charts; every SVG closed.
    let html = render_html(&report);
    let charts = report.groups.len() + report.points.len() + 1 + 2;
    assert_eq!(html.matches("<svg").count(), charts);
    assert_eq!(html.matches("</svg>").count(), charts);
    assert!(html.contains("source=partner-feed") && html.contains("Removal curves"));
    assert!(!html.contains("<script"));
    assert!(html.contains(&format!("{:.4}", report.baseline.valid)));
}
