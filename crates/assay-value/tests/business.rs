//! The off-policy business utility on a log small enough to compute by hand.

use assay_bandit::EstimatorKind;
use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_recommend::ModelSpec;
use assay_value::business::{BusinessMetric, OpeUtility, OpeUtilityConfig};
use assay_value::recommend::Player;
use assay_value::{exact_shapley, Utility};

/// Training clicks (rows 0-5), then user c's session: three impressions with their
/// propensities, a click on item 0 and two purchases of it (30 and 10).
fn shop() -> Dataset {
    let mut data = Dataset::default();
    for i in 0..3 {
        data.items.intern(&format!("i{i}"));
    }
    let clicks = [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("d", 1), ("e", 2)];
    for (t, &(user, item)) in clicks.iter().enumerate() {
        let u = data.users.intern(user);
        let (value, session, position, propensity) = (f64::NAN, NO_SESSION, NO_POSITION, f64::NAN);
        data.events.push(
            u,
            item,
            EventKind::Click,
            value,
            t as i64,
            session,
            NO_QUERY,
            position,
            propensity,
            0,
        );
    }
    let c = data.users.intern("c");
    let held_out = [
        (0, EventKind::Impression, f64::NAN, 1, 0.5),
        (1, EventKind::Impression, f64::NAN, 2, 0.25),
        (2, EventKind::Impression, f64::NAN, 3, 0.5),
        (0, EventKind::Click, f64::NAN, 1, 0.5),
        (0, EventKind::Purchase, 30.0, 1, 0.5),
        (0, EventKind::Purchase, 10.0, 1, 0.5),
    ];
    for (t, &(item, kind, value, position, propensity)) in held_out.iter().enumerate() {
        data.events.push(
            c,
            item,
            kind,
            value,
            100 + t as i64,
            0,
            NO_QUERY,
            position,
            propensity,
            0,
        );
    }
    data
}

fn players() -> Vec<Player> {
    let player = |name: &str, rows: Vec<u32>| Player {
        name: name.into(),
        rows,
        users: Vec::new(),
    };
    vec![player("A", vec![0, 1]), player("B", vec![2, 3, 4])]
}

fn utility(data: &Dataset, metric: BusinessMetric, estimator: EstimatorKind) -> OpeUtility<'_> {
    OpeUtility::new(
        data,
        &[0, 1, 2, 3, 4, 5],
        &[6, 7, 8, 9, 10, 11],
        players(),
        OpeUtilityConfig {
            model: ModelSpec::parse("pop").unwrap(),
            metric,
            k: 1,
            epsilon: 0.3,
            estimator,
        },
    )
    .unwrap()
}

#[test]
fn snips_ctr_by_hand() {
    // Pop's top-1 for c: item 2 on the base row alone, item 0 with A (2 users), item 1 with B
    // (3 users, also with A). π = 0.7 + 0.3/3 = 0.8 on the listed item, 0.1 elsewhere.
    // Weights π/p over the impressions (item 0 p=.5 clicked, item 1 p=.25, item 2 p=.5):
    // ∅: (.2, .4, 1.6) -> 0.2/2.2 = 1/11;  {A}: (1.6, .4, .2) -> 1.6/2.2 = 8/11;
    // {B} and {A, B}: (.2, 3.2, .2) -> 0.2/3.6 = 1/18.
    let data = shop();
    let u = utility(&data, BusinessMetric::Ctr, EstimatorKind::Snipw);
    assert_eq!(u.n_rounds(), 3);
    assert!((u.logged_value() - 1.0 / 3.0).abs() < 1e-15);
    let table = [u.eval(&[]), u.eval(&[0]), u.eval(&[1]), u.eval(&[0, 1])];
    let expected = [1.0 / 11.0, 8.0 / 11.0, 1.0 / 18.0, 1.0 / 18.0];
    for (got, want) in table.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{table:?}");
    }
    // Shapley: A = ½(8/11 − 1/11) + ½·0 = 7/22; B = ½(1/18 − 1/11) + ½(1/18 − 8/11).
    let values = exact_shapley(&u).unwrap().values();
    assert!((values[0] - 7.0 / 22.0).abs() < 1e-12);
    assert!((values[1] - (1.0 / 18.0 - 9.0 / 22.0)).abs() < 1e-12);
}

#[test]
fn ips_and_gmv_by_hand() {
    let data = shop();
    // IPS with {A}: mean of r·w = 1.6 / 3.
    let ips = utility(&data, BusinessMetric::Ctr, EstimatorKind::Ipw);
    assert!((ips.eval(&[0]) - 1.6 / 3.0).abs() < 1e-12);
    // Revenue: the item-0 impression earns 30 + 10; SNIPS with {A}: 1.6·40/2.2.
    let gmv = utility(&data, BusinessMetric::Gmv, EstimatorKind::Snipw);
    assert!((gmv.eval(&[0]) - 1.6 * 40.0 / 2.2).abs() < 1e-9);
    assert!((gmv.logged_value() - 40.0 / 3.0).abs() < 1e-12);
}

#[test]
fn bad_settings_are_refused() {
    let data = shop();
    let config = |epsilon: f64, estimator| OpeUtilityConfig {
        model: ModelSpec::parse("pop").unwrap(),
        metric: BusinessMetric::Ctr,
        k: 1,
        epsilon,
        estimator,
    };
    let build = |c| OpeUtility::new(&data, &[0, 1], &[6, 7, 8, 9], players(), c);
    assert!(build(config(0.0, EstimatorKind::Snipw)).is_err());
    assert!(build(config(0.1, EstimatorKind::Dr)).is_err());
    // Training rows only: no impression to evaluate on.
    assert!(OpeUtility::new(
        &data,
        &[0],
        &[0, 1],
        players(),
        config(0.1, EstimatorKind::Snipw)
    )
    .is_err());
}
