//! Recommender utilities on hand-made logs, and Data-OOB on planted label noise.

use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_metrics::Metric;
use assay_recommend::ModelSpec;
use assay_value::recommend::{players, Audience, Player, RecConfig, RecommenderUtility};
use assay_value::*;

/// A log of (user, item) clicks; returns the dataset and the row indices.
fn log(n_items: usize, clicks: &[(&str, u32)]) -> Dataset {
    let mut data = Dataset::default();
    for i in 0..n_items {
        data.items.intern(&format!("i{i}"));
    }
    for (t, &(user, item)) in clicks.iter().enumerate() {
        let u = data.users.intern(user);
        data.events.push(
            u,
            item,
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

fn config(audience: Audience, metric: Metric, k: usize) -> RecConfig {
    RecConfig {
        model: ModelSpec::parse("pop").unwrap(),
        metric,
        k,
        audience,
    }
}

#[test]
fn popularity_game_by_hand() {
    // Rows: 0 = a clicks item 1, 1 = b clicks item 0, 2 = c clicks item 2 (training),
    // 3 = c clicks item 1 (validation). Players: user a and user b; c's row is always in.
    // Pop scores items by training users, ties to the lower index; c's item 2 is masked.
    // U(∅): all other items score 0, top-1 = item 0, a miss: Recall@1 = 0.
    // U({a}): item 1 leads, a hit: 1.   U({b}): item 0 leads: 0.
    // U({a, b}): items 0 and 1 tie, item 0 wins: 0.
    // Shapley: a = ½(1 − 0) + ½(0 − 0) = ½, b = ½(0 − 0) + ½(0 − 1) = −½.
    let data = log(4, &[("a", 1), ("b", 0), ("c", 2), ("c", 1)]);
    let users = players::by_user(&data, &[0, 1]);
    assert_eq!(users[0].name, "user=a");
    let utility = RecommenderUtility::new(
        &data,
        &[0, 1, 2],
        &[3],
        users,
        config(Audience::Others, Metric::Recall, 1),
    )
    .unwrap();
    assert_eq!(utility.audience().collect::<Vec<_>>(), vec![2]);
    let table: Vec<f64> = [&[][..], &[0], &[1], &[0, 1]]
        .iter()
        .map(|s| utility.eval(s))
        .collect();
    assert_eq!(table, vec![0.0, 1.0, 0.0, 0.0]);
    let values = exact_shapley(&utility).unwrap();
    assert_eq!(values.values(), vec![0.5, -0.5]);
    assert_eq!(values.players[1].name, "user=b");
}

#[test]
fn value_to_others_leaves_the_player_out_of_the_audience() {
    // Users a and c both have validation items; a is a player, c is not.
    // Rows: 0 a→1, 1 a→3, 2 c→2 (train); 3 a→0, 4 c→1 (validation).
    let data = log(4, &[("a", 1), ("a", 3), ("c", 2), ("a", 0), ("c", 1)]);
    let a = vec![Player {
        name: "user=a".into(),
        rows: vec![0, 1],
        users: vec![0],
    }];
    let others = RecommenderUtility::new(
        &data,
        &[0, 1, 2],
        &[3, 4],
        a.clone(),
        config(Audience::Others, Metric::Recall, 1),
    )
    .unwrap();
    let total = RecommenderUtility::new(
        &data,
        &[0, 1, 2],
        &[3, 4],
        a,
        config(Audience::Total, Metric::Recall, 1),
    )
    .unwrap();
    assert_eq!(others.audience().count(), 1);
    assert_eq!(total.audience().count(), 2);
    // Others (c only): without a, c gets item 0 (all tie at 0, c's item 2 masked): miss;
    // with a, items 1 and 3 lead, item 1 first: hit. Value to others = 1.
    assert_eq!(leave_one_out(&others).unwrap().values(), vec![1.0]);
    // Total adds a's own list, whose training items 1 and 3 stay masked either way, and c's
    // item 2 leads it with or without a: a misses both times. Mean over {a, c}: with a
    // (0 + 1)/2 = ½, without (0 + 0)/2 = 0: total value ½ (c's gain, now averaged over two).
    assert_eq!(leave_one_out(&total).unwrap().values(), vec![0.5]);
    assert!(others.name().contains("to others"));
}

#[test]
fn group_players_partition_rows() {
    let data = log(3, &[("a", 0), ("b", 1), ("a", 2), ("c", 0)]);
    let rows = [0, 1, 2, 3];
    let windows = players::by_time_window(&data, &rows, 2);
    let names: Vec<&str> = windows.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["window=1/2", "window=2/2"]);
    assert_eq!(windows[0].rows, vec![0, 1]);
    assert_eq!(windows[1].rows, vec![2, 3]);
    let items = players::by_item(&data, &rows);
    assert_eq!(items[0].rows, vec![0, 3]);
    assert!(items.iter().all(|p| p.users.is_empty()));
    assert_eq!(players::by_interaction(&rows).len(), 4);
    assert_eq!(players::by_source(&data, &rows).len(), 1);
}

#[test]
fn time_windows_span_the_whole_range_of_timestamps() {
    // The earliest and latest timestamps there are: the span is 2^64 - 1 seconds.
    let mut data = log(1, &[("a", 0), ("a", 0), ("a", 0), ("a", 0), ("a", 0)]);
    data.events.timestamp = vec![i64::MIN + 1, 0, 1, i64::MAX, assay_core::NO_TIME];
    let rows = [0, 1, 2, 3, 4];
    // Row t is in window floor((t - lo) * 2 / (2^64 - 1)) + 1, lo = -2^63 + 1: t = 0 gives
    // (2^63 - 1) * 2 = 2^64 - 2, under the span: window 1; t = 1 gives 2^64: window 2.
    let windows = players::by_time_window(&data, &rows, 2);
    let names: Vec<&str> = windows.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["window=1/2", "window=2/2"]);
    assert_eq!(windows[0].rows, vec![0, 1]);
    assert_eq!(windows[1].rows, vec![2, 3]);
    // Any number of windows: the last timestamp is in the last one.
    let many = players::by_time_window(&data, &rows, usize::MAX);
    let last = many.last().unwrap();
    assert_eq!(last.name, format!("window={}/{}", usize::MAX, usize::MAX));
    assert_eq!(last.rows, vec![3]);
}

#[test]
fn data_oob_finds_flipped_labels() {
    // Two well-separated blobs of 30 rows; rows 0..4 have the wrong label.
    let rows: Vec<Vec<f64>> = (0..60)
        .map(|i| {
            let centre = if i < 30 { 0.0 } else { 5.0 };
            let jitter = (i as f64 * 0.37).sin();
            vec![centre + jitter, centre - jitter * 0.5]
        })
        .collect();
    let labels: Vec<u32> = (0..60)
        .map(|i| {
            let truth = (i >= 30) as u32;
            if i < 4 {
                1 - truth
            } else {
                truth
            }
        })
        .collect();
    let table = LabelledTable::from_rows(&rows, &labels);
    let config = OobConfig {
        n_estimators: 200,
        sample_fraction: 1.0,
        seed: 3,
    };
    for learner in [
        &KnnClassifier { k: 5 } as &dyn WeakLearner,
        &LogisticClassifier {
            steps: 100,
            learning_rate: 0.5,
            l2: 0.01,
        },
    ] {
        let values = data_oob(&table, learner, &config).unwrap();
        let lowest: Vec<usize> = values.ascending()[..4].to_vec();
        let mut lowest_sorted = lowest.clone();
        lowest_sorted.sort_unstable();
        assert_eq!(lowest_sorted, vec![0, 1, 2, 3], "{}", learner.name());
        for p in &values.players[..4] {
            assert_eq!(p.value, 0.0, "{p:?}");
        }
        // About (1 − 1/e) · 200 learners leave each row out... of bag: about 200/e.
        assert!(values
            .players
            .iter()
            .all(|p| p.n_evals > 40 && p.n_evals < 110));
        let again = data_oob(&table, learner, &config).unwrap();
        assert_eq!(values.values(), again.values());
    }
}
