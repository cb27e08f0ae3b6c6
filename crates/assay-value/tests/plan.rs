//! The valuation plan on a small simulated shop: its values obey the game's laws, users are
//! valued in two halves merged into one table, and requests that do not fit are refused with
//! the field at fault.

use std::path::Path;

use assay_core::clean::{self, Impressions};
use assay_core::split::{by_ratio, Order};
use assay_core::{Dataset, EventKind, Interactions};
use assay_metrics::Metric;
use assay_recommend::{
    BprParams, Fit, ModelKind, ModelSpec, PopModel, PopParams, RecommendError, Validate,
};
use assay_value::business::BusinessMetric;
use assay_value::plan::{
    run, PlanError, PlanSource, PlanUtility, PlayerKind, Scorers, ValuationPlan,
};
use assay_value::recommend::{Audience, RecConfig, RecommenderUtility};
use assay_value::{Convergence, Method, ValueError};

fn shop() -> Dataset {
    let dir = tempfile::tempdir().unwrap();
    let shop = dir.path().join("shop");
    let mut sim = assay_sim::SimConfig::small_with_bad_data(7);
    sim.n_events_target = 4_000;
    assay_sim::simulate(&sim, &shop).unwrap();
    assay_import::load(
        &shop,
        &assay_import::LoadOptions::new(assay_import::UnknownRefs::Fail),
    )
    .unwrap()
    .dataset
}

fn plan(players: PlayerKind, method: Method) -> ValuationPlan {
    ValuationPlan {
        players,
        windows: 4,
        segment_attribute: "segment".into(),
        method,
        model: ModelSpec::parse("itemknn").unwrap(),
        utility: PlanUtility::Ranking {
            metric: Metric::Ndcg,
            k: 10,
            scorers: Scorers::All,
        },
        audience: Audience::Others,
        seed: 4,
        convergence: Convergence::fixed(8),
        impressions: Impressions::Skip,
    }
}

#[test]
fn exact_source_values_add_up_to_the_whole_gain() {
    let data = shop();
    let values = run(
        PlanSource::Dataset(&data),
        &plan(PlayerKind::Sources, Method::ExactShapley),
        &|_| {},
    )
    .unwrap();
    assert_eq!(values.players.len(), 3);
    // The same split and utility, built by hand: Shapley efficiency says the values sum to
    // U(all sources) - U(no source).
    let all: Vec<u32> = (0..data.events.len() as u32).collect();
    let kinds: Vec<EventKind> = EventKind::ALL
        .into_iter()
        .filter(|&k| k != EventKind::Impression)
        .collect();
    let rows = clean::of_kinds(&data, &all, &kinds);
    let split = by_ratio(&data, &rows, [0.8, 0.2, 0.0], Order::Random { seed: 4 });
    let utility = RecommenderUtility::new(
        &data,
        &split.train,
        &split.valid,
        Vec::new(),
        RecConfig {
            model: ModelSpec::parse("itemknn").unwrap(),
            metric: Metric::Ndcg,
            k: 10,
            audience: Audience::Others,
        },
    )
    .unwrap();
    let gain = utility.score_rows(&split.train).unwrap() - utility.score_rows(&[]).unwrap();
    assert!(
        (values.sum() - gain).abs() < 1e-9,
        "{} vs {gain}",
        values.sum()
    );
}

#[test]
fn users_are_valued_in_halves_and_merged_in_player_order() {
    let data = shop();
    let values = run(
        PlanSource::Dataset(&data),
        &plan(PlayerKind::Users, Method::LeaveOneOut),
        &|_| {},
    )
    .unwrap();
    assert!(values.utility.contains("each half"), "{}", values.utility);
    assert!(values.players.len() > 20);
    for (i, p) in values.players.iter().enumerate() {
        assert_eq!(p.player, i);
        assert!(p.value.is_finite());
    }
    // Leave-one-out of n players costs n + 1 evaluations per half.
    assert_eq!(values.utility_evals, values.players.len() as u64 + 2);
    // In total (value to themselves too) there is one game, not two halves.
    let mut total = plan(PlayerKind::Users, Method::LeaveOneOut);
    total.audience = Audience::Total;
    let one = run(PlanSource::Dataset(&data), &total, &|_| {}).unwrap();
    assert!(!one.utility.contains("each half"));
    assert_eq!(one.utility_evals, one.players.len() as u64 + 1);
}

#[test]
fn requests_that_do_not_fit_name_the_field() {
    let data = shop();
    let refused = |plan: &ValuationPlan| match run(PlanSource::Dataset(&data), plan, &|_| {}) {
        Err(PlanError::Request { field, message }) => (field, message),
        other => panic!("expected a refused request, got {other:?}"),
    };
    let (field, message) = refused(&plan(PlayerKind::Sources, Method::DataOob { bags: 4 }));
    assert_eq!(field, "method");
    assert!(message.contains("users or interactions"), "{message}");
    let (field, _) = refused(&plan(PlayerKind::Sources, Method::KnnShapley { k: 3 }));
    assert_eq!(field, "method");
    // Influence: users only, an ItemKNN model, value to others.
    let influence = Method::Influence { top: 50 };
    let (field, message) = refused(&plan(PlayerKind::Sources, influence));
    assert_eq!(field, "method");
    assert!(message.contains("not sources"), "{message}");
    let mut ease = plan(PlayerKind::Users, influence);
    ease.model = ModelSpec::parse("ease").unwrap();
    let (field, message) = refused(&ease);
    assert_eq!(field, "model");
    assert!(message.contains("needs itemknn"), "{message}");
    let mut total = plan(PlayerKind::Users, influence);
    total.audience = Audience::Total;
    let (field, message) = refused(&total);
    assert_eq!(field, "method");
    assert!(message.contains("in total"), "{message}");
    // Accepted: one row per user with training data, two fits (one per half).
    let users = run(
        PlanSource::Dataset(&data),
        &plan(PlayerKind::Users, influence),
        &|_| {},
    )
    .unwrap();
    assert_eq!(users.method, "influence");
    assert!(users.utility.contains("each half"), "{}", users.utility);
    assert_eq!(users.utility_evals, 2);
    assert!(users
        .players
        .iter()
        .enumerate()
        .all(|(i, p)| p.player == i && p.value.is_finite()));
    let mut segments = plan(PlayerKind::Segments, Method::LeaveOneOut);
    segments.segment_attribute = "no-such-attribute".into();
    let (field, message) = refused(&segments);
    assert_eq!(field, "players");
    assert!(message.contains("no-such-attribute"), "{message}");
    // No time windows is not one window.
    let mut windows = plan(PlayerKind::Windows, Method::LeaveOneOut);
    windows.windows = 0;
    let (field, message) = refused(&windows);
    assert_eq!(field, "windows");
    assert!(message.contains("at least 1"), "{message}");
    assert!(assay_value::recommend::players::by_time_window(&data, &[0, 1, 2], 0).is_empty());
    // Data-OOB of users: one bag per model fit, every value a percentile rank.
    let oob = run(
        PlanSource::Dataset(&data),
        &plan(PlayerKind::Users, Method::DataOob { bags: 4 }),
        &|_| {},
    )
    .unwrap();
    assert_eq!(oob.utility_evals, 4);
    assert!(oob
        .players
        .iter()
        .all(|p| p.value.is_nan() || (0.0..=1.0).contains(&p.value)));
}

/// A model with valid parameters whose fit fails whenever it has data: how a failed solve
/// looks to a valuation.
#[derive(Debug, Clone, PartialEq)]
struct NoSolution;

impl Fit for NoSolution {
    type Model = PopModel;
    fn fit(
        &self,
        _: &Interactions,
        _: &Dataset,
        _: Option<&Validate<'_>>,
    ) -> assay_recommend::Result<PopModel> {
        Err(RecommendError::LinearAlgebra("no solution".into()))
    }
}

impl ModelKind for NoSolution {
    const NAME: &'static str = "no-solution";
    fn parse(_: &str, _: &str) -> Result<NoSolution, String> {
        Ok(NoSolution)
    }
    fn params_text(&self) -> String {
        String::new()
    }
    fn load(dir: &Path) -> assay_recommend::Result<PopModel> {
        PopParams::load(dir)
    }
}

#[test]
fn a_failed_fit_is_an_error_never_a_value_of_zero() {
    let data = shop();
    let business = PlanUtility::Business {
        metric: BusinessMetric::Ctr,
        k: 10,
        epsilon: 0.1,
    };
    for (players, method, utility) in [
        (PlayerKind::Sources, Method::ExactShapley, None),
        (PlayerKind::Sources, Method::MsrBanzhaf, None),
        (PlayerKind::Users, Method::LeaveOneOut, None),
        (PlayerKind::Sources, Method::LeaveOneOut, Some(business)),
    ] {
        let mut request = plan(players, method);
        request.model = ModelSpec::new(NoSolution);
        if let Some(utility) = utility {
            request.utility = utility;
        }
        match run(PlanSource::Dataset(&data), &request, &|_| {}) {
            Err(PlanError::Value(ValueError::Recommend(RecommendError::LinearAlgebra(why)))) => {
                assert_eq!(why, "no solution")
            }
            other => panic!("{players:?} {method:?}: expected the fit's error, got {other:?}"),
        }
    }
}

#[test]
fn parameters_out_of_range_are_refused_before_any_work() {
    let data = shop();
    let mut request = plan(PlayerKind::Sources, Method::ExactShapley);
    // Built in code, so the parser's check is skipped: the plan checks it again.
    request.model = ModelSpec::new(BprParams {
        lr: -1.0,
        ..BprParams::default()
    });
    match run(PlanSource::Dataset(&data), &request, &|_| {}) {
        Err(PlanError::Request { field, message }) => {
            assert_eq!(field, "model");
            assert!(
                message.contains("lr") && message.contains("positive"),
                "{message}"
            );
        }
        other => panic!("expected a refused model, got {other:?}"),
    }
}
