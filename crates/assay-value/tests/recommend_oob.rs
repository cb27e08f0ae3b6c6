//! Data-OOB for recommender data: item-item scoring of outside histories, and planted bad
//! data (a random item, a random user) getting the lowest values.

use assay_core::{Dataset, EventKind, Interactions, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_recommend::ModelSpec;
use assay_value::recommend::players;
use assay_value::recommend_oob::{interaction_oob, user_oob, ItemItem, RecOobConfig};

/// A log of (user, item) clicks.
fn log(n_items: usize, clicks: &[(String, u32)]) -> Dataset {
    let mut data = Dataset::default();
    for i in 0..n_items {
        data.items.intern(&format!("i{i}"));
    }
    for (t, (user, item)) in clicks.iter().enumerate() {
        let u = data.users.intern(user);
        data.events.push(
            u,
            *item,
            EventKind::Click,
            f64::NAN,
            t as i64,
            NO_SESSION,
            NO_QUERY,
            NO_POSITION,
            f64::NAN,
            0,
        );
    }
    data
}

/// Two taste groups over 20 items: users `a*` click items 0..10, users `b*` items 10..20,
/// each skipping one item so that histories differ.
fn two_groups(n_per_group: usize) -> Vec<(String, u32)> {
    let mut clicks = Vec::new();
    for u in 0..n_per_group {
        for i in 0..10u32 {
            if i as usize != u % 10 {
                clicks.push((format!("a{u}"), i));
                clicks.push((format!("b{u}"), 10 + i));
            }
        }
    }
    clicks
}

#[test]
fn outside_histories_score_like_fitted_ones() {
    let data = log(20, &two_groups(6));
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let train = Interactions::from_events(&data, &rows);
    for spec in ["ease:reg=5", "itemknn:k=5"] {
        let spec = ModelSpec::parse(spec).unwrap();
        let fitted = spec.fit(&train, &data, None, &|_, _| {}).unwrap();
        let item_item = ItemItem::fit(&spec, &train, &data).unwrap();
        let mut expected = vec![0.0f32; 20];
        let mut got = vec![0.0f32; 20];
        for user in 0..data.users.len() as u32 {
            fitted.score_user(user, &mut expected);
            item_item.score_history(train.items_of(user), &mut got);
            assert_eq!(expected, got, "{spec} user {user}");
        }
    }
    let pop = ModelSpec::parse("pop").unwrap();
    assert!(ItemItem::fit(&pop, &train, &data).is_err());
}

#[test]
fn a_random_item_gets_the_lowest_interaction_value() {
    // a0 also clicked item 15, of the other group: out of place.
    let mut clicks = two_groups(8);
    clicks.push(("a0".into(), 15));
    let data = log(20, &clicks);
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let config = RecOobConfig {
        n_bags: 40,
        in_bag_fraction: 0.8,
        seed: 7,
    };
    let values = interaction_oob(
        &data,
        &[],
        &rows,
        &ModelSpec::parse("itemknn:k=10").unwrap(),
        &config,
    )
    .unwrap();
    assert_eq!(values.players.len(), rows.len());
    for p in &values.players {
        assert!((0.0..=1.0).contains(&p.value), "{p:?}");
    }
    let planted = rows.len() - 1;
    assert_eq!(
        values.ascending()[0],
        planted,
        "{:?}",
        values.players[planted]
    );
    // Same seed, same values.
    let again = interaction_oob(
        &data,
        &[],
        &rows,
        &ModelSpec::parse("itemknn:k=10").unwrap(),
        &config,
    )
    .unwrap();
    // (std errors are NaN for rows out of bag once, so compare values and counts.)
    assert_eq!(values.values(), again.values());
    let counts = |v: &assay_value::Values| v.players.iter().map(|p| p.n_evals).collect::<Vec<_>>();
    assert_eq!(counts(&values), counts(&again));
}

#[test]
fn a_user_of_random_items_gets_the_lowest_user_value() {
    let mut clicks = two_groups(8);
    // z clicks across both groups with no pattern either group shares.
    for item in [0, 13, 5, 18, 9, 11] {
        clicks.push(("z".into(), item));
    }
    let data = log(20, &clicks);
    let rows: Vec<u32> = (0..data.events.len() as u32).collect();
    let users = players::by_user(&data, &rows);
    let config = RecOobConfig {
        n_bags: 30,
        in_bag_fraction: 0.5,
        seed: 3,
    };
    for spec in ["ease:reg=5", "itemknn:k=10"] {
        let spec = ModelSpec::parse(spec).unwrap();
        let values = user_oob(&data, &[], &users, &spec, &config).unwrap();
        let lowest = values.ascending()[0];
        assert_eq!(values.players[lowest].name, "user=z", "{spec}: {values:?}");
        assert!(values.players[lowest].value < 0.6);
        assert!(values.players.iter().all(|p| p.converged));
    }
    let bad = RecOobConfig {
        in_bag_fraction: 1.0,
        ..config
    };
    assert!(user_oob(&data, &[], &users, &ModelSpec::parse("ease").unwrap(), &bad).is_err());
}

/// The cross-fitted user utility by hand. Items 0, 1, 2. Player A clicked 0 and 1, player B
/// clicked 0 and 2; the audience user X has item 0 in training and item 1 in validation.
/// ItemKNN (cosine, no shrink) on A alone puts item 1 first for X (MRR 1); on B alone item 2
/// first and item 1 second (MRR 1/2); on both, items 1 and 2 tie at 1/sqrt(2) and the lower
/// index wins (MRR 1); on nothing there is no model (0). Exact Shapley: A = (1 + 1/2) / 2 =
/// 3/4, B = (1/2 + 0) / 2 = 1/4.
#[test]
fn history_utility_fits_on_the_players_only_and_scores_the_audience() {
    use assay_metrics::Metric;
    use assay_value::recommend::Player;
    use assay_value::recommend_oob::HistoryUtility;
    use assay_value::Utility;
    let clicks: Vec<(String, u32)> = [("a", 0), ("a", 1), ("b", 0), ("b", 2), ("x", 0), ("x", 1)]
        .iter()
        .map(|(u, i)| (u.to_string(), *i))
        .collect();
    let data = log(3, &clicks);
    let player = |name: &str, rows: Vec<u32>, user: u32| Player {
        name: name.into(),
        rows,
        users: vec![user],
    };
    let x = data.users.ids.get("x").unwrap();
    let utility = HistoryUtility::new(
        &data,
        &[0, 1, 2, 3, 4],
        &[5],
        vec![player("a", vec![0, 1], 0), player("b", vec![2, 3], 1)],
        ModelSpec::parse("itemknn:k=5;shrink=0").unwrap(),
        Metric::Mrr,
        10,
        |u| u == x,
    )
    .unwrap();
    assert_eq!(utility.audience_len(), 1);
    assert_eq!(utility.eval(&[]), 0.0);
    assert!((utility.eval(&[0]) - 1.0).abs() < 1e-12);
    assert!((utility.eval(&[1]) - 0.5).abs() < 1e-12);
    assert!((utility.eval(&[0, 1]) - 1.0).abs() < 1e-12);
    let values = assay_value::exact_shapley(&utility).unwrap().values();
    assert!((values[0] - 0.75).abs() < 1e-12, "{values:?}");
    assert!((values[1] - 0.25).abs() < 1e-12, "{values:?}");
    // Models that cannot score an outside history are refused.
    assert!(HistoryUtility::new(
        &data,
        &[0, 1, 2, 3, 4],
        &[5],
        Vec::new(),
        ModelSpec::parse("pop").unwrap(),
        Metric::Mrr,
        10,
        |_| true,
    )
    .is_err());
}
