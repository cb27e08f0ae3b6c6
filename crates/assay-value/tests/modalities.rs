//! The modality values of the fusion recommender on a simulated shop whose truth says which
//! modality its behaviour depends on (`truth/modalities.csv`): behaviour, then image, then
//! text. The values must rank them that way and add up to the full model's score.

use assay_core::clean::Impressions;
use assay_core::Dataset;
use assay_metrics::Metric;
use assay_recommend::{Fit, FusionParams, ModelSpec, Recommender};
use assay_value::plan::{run, PlanSource, PlanUtility, PlayerKind, Scorers, ValuationPlan};
use assay_value::recommend::Audience;
use assay_value::{Convergence, Method};

/// A shop with image vectors, and its truth's modalities in expected order.
fn shop() -> (Dataset, Vec<String>) {
    shop_of(5, 30_000)
}

/// The shop of `seed` with `events` events and 128-dimensional images.
fn shop_of(seed: u64, events: u64) -> (Dataset, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let sim = assay_sim::SimConfig {
        images: Some(assay_sim::ImageSpec::new(128)),
        ..assay_sim::SimConfig::with_events(seed, events)
    };
    assay_sim::simulate(&sim, &shop).unwrap();
    let mut truth = csv::Reader::from_path(shop.join("truth/modalities.csv")).unwrap();
    let mut order: Vec<(u32, String)> = truth
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].parse().unwrap(), r[0].to_owned())
        })
        .collect();
    order.sort();
    let data = assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .unwrap()
    .dataset;
    (data, order.into_iter().map(|(_, m)| m).collect())
}

fn plan(model: &str) -> ValuationPlan {
    ValuationPlan {
        players: PlayerKind::Modalities,
        windows: 0,
        segment_attribute: String::new(),
        method: Method::ExactShapley,
        model: ModelSpec::parse(model).unwrap(),
        utility: PlanUtility::Ranking {
            metric: Metric::Ndcg,
            k: 10,
            scorers: Scorers::All,
        },
        audience: Audience::Total,
        seed: 3,
        convergence: Convergence::fixed(1),
        impressions: Impressions::Skip,
    }
}

#[test]
fn modality_values_add_up_to_the_full_models_score() {
    let (data, _) = shop();
    let plan = plan("fusion-gate:epochs=3");
    let values = run(PlanSource::Dataset(&data), &plan, &|_| {}).unwrap();
    let names: Vec<&str> = values.players.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["text", "image", "behaviour"]);
    // Efficiency: the values sum to U(all) - U(none) = the full model's NDCG@10 on the same
    // split, refitted here by hand.
    let rows = assay_core::clean::learning_rows(&data, Impressions::Skip);
    let parts = assay_core::split::by_ratio(
        &data,
        &rows,
        [0.8, 0.2, 0.0],
        assay_core::split::Order::Random { seed: plan.seed },
    );
    let audience = assay_value::recommend::audience_of(&data, &parts.train, &parts.valid, |_| true);
    let spec = ModelSpec::parse("fusion-gate:epochs=3")
        .unwrap()
        .with_seed(plan.seed);
    let model = assay_value::recommend::fit_on_rows(&data, &spec, &parts.train).unwrap();
    let scores = assay_value::recommend::score_model(model.as_deref(), &audience, Metric::Ndcg, 10);
    let full = scores.iter().sum::<f64>() / scores.len() as f64;
    let sum: f64 = values.players.iter().map(|p| p.value).sum();
    assert!(full > 0.0);
    assert!(
        (sum - full).abs() < 1e-9,
        "values sum to {sum}, the full model scores {full}"
    );
}

/// The truth's order, measured by the default modality model (attention fusion) on shops of
/// 100,000 events, where the data is enough to learn what each modality holds. With the
/// example `modalities` (the same protocol), seeds 1-3 all gave behaviour > image > text with
/// attention (seed 1: 0.0200, 0.0136, 0.0086; seed 3: 0.0272, 0.0156, 0.0100); the gate swapped
/// image and text on seed 3 and concatenation on seeds 1 and 2. On smaller shops the order is
/// not reliable with any fusion: at 50,000 events seed 1 and at 30,000 seed 5 the text (its
/// words name leaf, colour and feature without noise) outranks the image (the same plus four
/// taste factors, with noise), even averaged over three training seeds. Seeds 1 and 3 here
/// (about a minute in the test profile).
#[test]
fn modality_values_rank_the_modalities_as_the_truth_does() {
    for seed in [1, 3] {
        let (data, truth) = shop_of(seed, 100_000);
        assert_eq!(truth, ["behaviour", "image", "text"]);
        let plan = ValuationPlan {
            seed,
            ..plan("fusion-attn")
        };
        assert_eq!(
            assay_value::plan::modality_model(&ModelSpec::parse("pop").unwrap()).to_string(),
            "fusion-attn"
        );
        let values = run(PlanSource::Dataset(&data), &plan, &|_| {}).unwrap();
        let mut ranked: Vec<(f64, String)> = values
            .players
            .iter()
            .map(|p| (p.value, p.name.clone()))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let names: Vec<&str> = ranked.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, truth, "seed {seed}: values {ranked:?}");
        assert!(ranked.iter().all(|(v, _)| *v > 0.0), "{ranked:?}");
    }
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let (data, _) = shop();
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let train = assay_core::Interactions::from_events(&data, &rows);
    let params = FusionParams {
        method: assay_recommend::FusionMethod::Attn,
        epochs: 2,
        seed: 9,
        ..FusionParams::default()
    };
    let scores = |params: &FusionParams| {
        let model = params.fit(&train, &data, None).unwrap();
        let mut out = vec![0.0f32; train.n_items()];
        model.score_user(3, &mut out);
        (model.item_vectors().to_vec(), out)
    };
    let a = scores(&params);
    let b = scores(&params);
    assert!(a == b, "two fits with seed 9 differ");
    let c = scores(&FusionParams { seed: 10, ..params });
    assert!(a.0 != c.0, "seeds 9 and 10 gave the same weights");
}

#[test]
fn a_shop_without_images_is_refused_before_any_fit() {
    let (mut data, _) = shop();
    data.items.image = None;
    // The game itself refuses: no coalition is fitted (the text-only one would fit first).
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let audience = assay_value::recommend::audience_of(
        &data,
        &rows[..rows.len() / 2],
        &rows[rows.len() / 2..],
        |_| true,
    );
    let refused = assay_value::modalities::ModalityUtility::new(
        &data,
        rows,
        audience,
        FusionParams::default(),
        Metric::Ndcg,
        10,
    );
    let err = refused
        .err()
        .expect("a shop without images is refused")
        .to_string();
    assert!(err.contains("image vectors"), "{err}");
}
