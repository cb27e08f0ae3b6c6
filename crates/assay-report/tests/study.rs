//! The study on a small simulated shop with bad data: its numbers agree with assay-value's
//! own utility, Shapley efficiency holds, and the page draws every chart.

use std::path::Path;

use assay_core::split::{by_ratio, Order};
use assay_core::{clean, Dataset, EventKind, Interactions};
use assay_metrics::Metric;
use assay_recommend::{
    BprParams, Fit, ModelKind, ModelSpec, PopModel, PopParams, RecommendError, Validate,
};
use assay_report::{render_html, study, Sections, StudyConfig, StudyError};
use assay_value::recommend::{Audience, RecConfig, RecommenderUtility};
use assay_value::ValueError;

fn small_shop(seed: u64, events: u64) -> Dataset {
    let mut sim = assay_sim::SimConfig::small_with_bad_data(seed);
    sim.n_events_target = events;
    simulated(&sim)
}

/// The shop `sim` writes, loaded.
fn simulated(sim: &assay_sim::SimConfig) -> Dataset {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    assay_sim::simulate(sim, &shop).unwrap();
    assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .unwrap()
    .dataset
}

#[test]
fn study_of_a_small_shop() {
    let data = small_shop(5, 6_000);
    let model = ModelSpec::parse("itemknn").unwrap();
    let mut config = StudyConfig::new(model.clone(), Metric::Ndcg, 10, 11);
    config.user_samples = Some(6);
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
    let full = utility.score_rows(&split.train).unwrap();
    assert!(
        (report.baseline.valid - full).abs() < 1e-12,
        "{} vs {full}",
        report.baseline.valid
    );
    let test = RecommenderUtility::new(&data, &split.train, &split.test, Vec::new(), rec).unwrap();
    assert!((report.baseline.test - test.score_rows(&split.train).unwrap()).abs() < 1e-12);
    assert_eq!(report.dataset.train_rows, split.train.len() as u64);

    // Efficiency: every training row belongs to one source, so the source values add up to
    // U(all) - U(nothing).
    let sources = report.groups.iter().find(|t| t.kind == "source").unwrap();
    assert_eq!(sources.rows.len(), 3);
    let sum: f64 = sources.rows.iter().map(|r| r.value).sum();
    let empty = utility.score_rows(&[]).unwrap();
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
    // The curves are scored by the buyers with test items (enough of them bought), from the
    // model fitted on all training rows.
    let buyer = assay_value::recommend::buyers(&data);
    let buyers_test = assay_value::recommend::audience_of(&data, &split.train, &split.test, |u| {
        buyer[u as usize]
    });
    assert!(buyer.iter().filter(|&&b| b).count() >= assay_value::plan::MIN_BUYERS);
    assert_eq!(
        removal.audience,
        format!("the {} buyers with test items", buyers_test.len())
    );
    let model = assay_value::recommend::fit_on_rows(&data, &config.model, &split.train).unwrap();
    let scores =
        assay_value::recommend::score_model(model.as_deref(), &buyers_test, Metric::Ndcg, 10);
    let full_buyers = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!((removal.low_first[0] - full_buyers).abs() < 1e-12);
    assert_eq!(removal.high_first[0], removal.low_first[0]);
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

    // The user screen alone: the same user values and removal curves from the same split,
    // no groups, items or learning curves, and only their fits: the baseline, 6 samples in
    // each half, and per removal share the lowest-first, highest-first and 2 random orders.
    let mut users_only = config.clone();
    users_only.sections = Sections::parse("users").unwrap();
    let screen = study(&data, "small shop", &users_only, &|_| {}).unwrap();
    assert!(screen.groups.is_empty() && screen.learning.is_none());
    assert_eq!(screen.points.len(), 1);
    // (Debug text: a value with one sample has a NaN standard error, which != itself.)
    assert_eq!(
        format!("{:?}", screen.points[0]),
        format!("{:?}", report.points[0])
    );
    assert_eq!(screen.removal, report.removal);
    assert_eq!(screen.provenance.utility_evals, 1 + 2 * 6 + 2 * (2 + 2));
    let html = render_html(&screen);
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(Sections::parse("users,bogus")
        .unwrap_err()
        .contains("bogus"));
}

/// Popularity, except that the fit fails on any training set but one of `full` interactions:
/// the whole training split fits, every proper subset fails.
#[derive(Debug, Clone, PartialEq)]
struct FitsOnlyAll {
    full: usize,
}

impl Fit for FitsOnlyAll {
    type Model = PopModel;
    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> assay_recommend::Result<PopModel> {
        if train.nnz() != self.full {
            return Err(RecommendError::LinearAlgebra("no solution".into()));
        }
        PopParams::default().fit(train, data, validate)
    }
}

impl ModelKind for FitsOnlyAll {
    const NAME: &'static str = "fits-only-all";
    fn parse(_: &str, _: &str) -> Result<FitsOnlyAll, String> {
        Err("built in code only".into())
    }
    fn params_text(&self) -> String {
        self.full.to_string()
    }
    fn load(dir: &Path) -> assay_recommend::Result<PopModel> {
        PopParams::load(dir)
    }
}

#[test]
fn a_failed_fit_stops_the_study_with_its_error() {
    let data = small_shop(5, 3_000);
    let quick = |model: ModelSpec| {
        let mut config = StudyConfig::new(model, Metric::Ndcg, 10, 11);
        config.user_samples = Some(2);
        config.item_samples = 0;
        config.learning_fractions = vec![0.5];
        config
    };
    // Every fit fails: the baseline's does, first.
    let never = ModelSpec::new(FitsOnlyAll { full: usize::MAX });
    match study(&data, "shop", &quick(never), &|_| {}) {
        Err(StudyError::Value(ValueError::Recommend(RecommendError::LinearAlgebra(_)))) => {}
        other => panic!("expected the fit's error, got {other:?}"),
    }
    // The baseline fits, the subsets of the group values do not: the study still fails
    // rather than report values of 0.
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let kinds: Vec<EventKind> = EventKind::ALL
        .into_iter()
        .filter(|&k| k != EventKind::Impression)
        .collect();
    let rows = clean::of_kinds(&data, &all, &kinds);
    let split = by_ratio(&data, &rows, [0.8, 0.1, 0.1], Order::Random { seed: 11 });
    let full = Interactions::from_events(&data, &split.train).nnz();
    let once = ModelSpec::new(FitsOnlyAll { full });
    match study(&data, "shop", &quick(once), &|_| {}) {
        Err(StudyError::Value(ValueError::Recommend(RecommendError::LinearAlgebra(_)))) => {}
        other => panic!("expected the fit's error, got {other:?}"),
    }
    // Parameters out of range are refused before any fit.
    let bad = ModelSpec::new(BprParams {
        lr: -1.0,
        ..BprParams::default()
    });
    let fits = std::sync::atomic::AtomicU64::new(0);
    let result = study(&data, "shop", &quick(bad), &|p| {
        fits.store(p.fits, std::sync::atomic::Ordering::Relaxed)
    });
    assert!(
        matches!(
            result,
            Err(StudyError::Value(ValueError::Recommend(
                RecommendError::Param { name: "lr", .. }
            )))
        ),
        "{result:?}"
    );
    assert_eq!(fits.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[test]
fn zero_time_windows_are_refused() {
    let data = small_shop(5, 2_000);
    let mut config = StudyConfig::new(ModelSpec::parse("pop").unwrap(), Metric::Ndcg, 10, 1);
    config.windows = 0;
    let result = study(&data, "shop", &config, &|_| {});
    assert!(
        matches!(
            result,
            Err(StudyError::Value(ValueError::Param {
                name: "windows",
                ..
            }))
        ),
        "{result:?}"
    );
}

#[test]
fn a_model_over_the_memory_budget_is_refused_or_replaced_before_any_fit() {
    // The shop's catalog grown to 30,000+ items: EASE's three dense matrices need over
    // 10 GB per fit, over the default 8 GiB limit whatever the number of threads.
    let mut data = small_shop(5, 2_000);
    for i in 0..30_000 {
        data.items.intern(&format!("unsold-{i}"));
    }
    let n_items = data.items.len() as u128;
    let mut config = StudyConfig::new(ModelSpec::parse("ease").unwrap(), Metric::Ndcg, 10, 1);
    config.user_samples = Some(2);
    config.item_samples = 0;
    config.learning_fractions = vec![0.5];
    let fits = std::sync::atomic::AtomicU64::new(0);
    let result = study(&data, "shop", &config, &|p| {
        fits.store(p.fits, std::sync::atomic::Ordering::Relaxed)
    });
    let Err(StudyError::Value(ValueError::Recommend(RecommendError::TooLarge(refused)))) = result
    else {
        panic!("EASE on {n_items} items was not refused: {result:?}");
    };
    // Three f32 matrices per fit, one fit per thread.
    let per_fit = 12 * n_items * n_items;
    assert!(refused.bytes >= per_fit && refused.bytes % per_fit == 0);
    assert_eq!(fits.load(std::sync::atomic::Ordering::Relaxed), 0);
    // With a fallback the study fits it instead, and its notes say why.
    config.fallback = Some(ModelSpec::parse("itemknn").unwrap());
    let (chosen, note) = assay_report::chosen_model(&data, &config).unwrap();
    assert_eq!(chosen.to_string(), "itemknn");
    let report = study(&data, "shop", &config, &|_| {}).unwrap();
    assert_eq!(report.model, "itemknn");
    let note = note.unwrap();
    assert_eq!(report.provenance.notes[0], note);
    assert!(note.starts_with("ease on"), "{note}");
    assert!(
        note.ends_with("; the report fits itemknn instead."),
        "{note}"
    );
}

#[test]
fn modality_values_of_a_shop_with_images_add_up_to_the_fused_models_score() {
    let data = simulated(&assay_sim::SimConfig {
        images: Some(assay_sim::ImageSpec::new(16)),
        ..assay_sim::SimConfig::with_events(5, 8_000)
    });
    let model = ModelSpec::parse("fusion-gate:epochs=2;dim=8").unwrap();
    let mut config = StudyConfig::new(model.clone(), Metric::Ndcg, 10, 11);
    config.sections = Sections::parse("modalities").unwrap();
    let report = study(&data, "shop with images", &config, &|_| {}).unwrap();
    assert_eq!(report.groups.len(), 1);
    let table = &report.groups[0];
    assert_eq!(table.kind, "modality");
    let names: Vec<&str> = table.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["modality=text", "modality=image", "modality=behaviour"]
    );
    // 1 baseline fit and one per non-empty subset of the three modalities.
    assert_eq!(report.provenance.utility_evals, 1 + 7);
    // Efficiency: with the empty set worth 0 the values add up to the fused model's
    // validation score, refitted here by hand on the study's split.
    let rows = clean::learning_rows(&data, clean::Impressions::Skip);
    let split = by_ratio(&data, &rows, [0.8, 0.1, 0.1], Order::Random { seed: 11 });
    let valid = assay_value::recommend::audience_of(&data, &split.train, &split.valid, |_| true);
    let full = ModelSpec::new(assay_recommend::FusionParams {
        modalities: "text+image+behaviour".into(),
        seed: 11,
        ..model
            .params::<assay_recommend::FusionParams>()
            .unwrap()
            .clone()
    });
    let fitted = assay_value::recommend::fit_on_rows(&data, &full, &split.train).unwrap();
    let scores = assay_value::recommend::score_model(fitted.as_deref(), &valid, Metric::Ndcg, 10);
    let score = scores.iter().sum::<f64>() / scores.len() as f64;
    let sum: f64 = table.rows.iter().map(|r| r.value).sum();
    assert!(score > 0.0);
    assert!(
        (sum - score).abs() < 1e-9,
        "values sum to {sum}, the model scores {score}"
    );
    assert!(render_html(&report).contains("modality=image"));

    // Asked for on a catalog without images: a note, no table.
    let mut plain = data.clone();
    plain.items.image = None;
    let config = StudyConfig {
        model: ModelSpec::parse("pop").unwrap(),
        ..config
    };
    let report = study(&plain, "shop", &config, &|_| {}).unwrap();
    assert!(report.groups.is_empty());
    assert!(report
        .provenance
        .notes
        .iter()
        .any(|n| n.contains("no image vectors")));
}
