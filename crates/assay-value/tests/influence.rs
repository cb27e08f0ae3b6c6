//! The influence of users on other users' ItemKNN lists: the library's closed form against
//! central finite differences of the similarities, computed densely from weighted counts.

use assay_core::{Dataset, EventKind, Interactions, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_recommend::{Fit, ItemKnnParams, Recommender};
use assay_value::influence::{user_influence, InfluenceConfig};
use assay_value::recommend::players;
use rand::{Rng, SeedableRng};

const N_ITEMS: usize = 12;

/// Players p0..p9 with 2-6 random items; scorers s0..s5 with 2-4 training items (rows
/// `train`) and 1-2 held-out items (rows `valid`) outside them.
fn shop(seed: u64) -> (Dataset, Vec<u32>, Vec<u32>, Vec<u32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut data = Dataset::default();
    for i in 0..N_ITEMS {
        data.items.intern(&format!("i{i}"));
    }
    let (mut players, mut train, mut valid) = (Vec::new(), Vec::new(), Vec::new());
    let push = |data: &mut Dataset, user: &str, item: u32| {
        let u = data.users.intern(user);
        let t = data.events.len() as i64;
        data.events.push(
            u,
            item,
            EventKind::Click,
            f64::NAN,
            t,
            NO_SESSION,
            NO_QUERY,
            NO_POSITION,
            f64::NAN,
            0,
        );
        data.events.len() as u32 - 1
    };
    let draw = |rng: &mut rand::rngs::StdRng, k: usize| {
        let mut items: Vec<u32> = (0..N_ITEMS as u32).collect();
        for i in 0..k {
            let j = rng.random_range(i..N_ITEMS);
            items.swap(i, j);
        }
        items.truncate(k);
        items
    };
    for p in 0..10 {
        let k = rng.random_range(2..=6);
        for i in draw(&mut rng, k) {
            players.push(push(&mut data, &format!("p{p}"), i));
        }
    }
    for s in 0..6 {
        let k = rng.random_range(3..=6);
        let items = draw(&mut rng, k);
        let held = rng.random_range(1..=2);
        for (n, &i) in items.iter().enumerate() {
            let row = push(&mut data, &format!("s{s}"), i);
            if n < held {
                valid.push(row);
            } else {
                train.push(row);
            }
        }
    }
    (data, players, train, valid)
}

/// Dense `S(w)`: ItemKNN's cosine with every neighbour kept, users weighted by `w`.
fn similarities(items: &[Vec<u32>], w: &[f64], shrink: f64) -> Vec<Vec<f64>> {
    let mut c = vec![vec![0.0; N_ITEMS]; N_ITEMS];
    let mut n = [0.0; N_ITEMS];
    for (u, its) in items.iter().enumerate() {
        for &i in its {
            n[i as usize] += w[u];
            for &j in its {
                if i != j {
                    c[i as usize][j as usize] += w[u];
                }
            }
        }
    }
    (0..N_ITEMS)
        .map(|i| {
            (0..N_ITEMS)
                .map(|j| c[i][j] / ((n[i] * n[j]).sqrt() + shrink + 1e-6))
                .collect()
        })
        .collect()
}

#[test]
fn influence_is_the_derivative_of_the_scores_along_each_scorers_direction() {
    for seed in [1, 2, 3] {
        let (data, player_rows, train, valid) = shop(seed);
        let all_train: Vec<u32> = player_rows.iter().chain(&train).copied().collect();
        let group = players::by_user(&data, &player_rows);
        let knn = ItemKnnParams {
            k: 100,
            shrink: 2.0,
        };
        let top = 3;
        let is_scorer = |u: u32| data.users.ids.name(u).starts_with('s');
        let values = user_influence(
            &data,
            &all_train,
            &valid,
            &group,
            is_scorer,
            &InfluenceConfig { knn, top },
        )
        .unwrap();
        // The reference: each scorer's direction from the fitted model's ranks, by hand.
        let fitted = Interactions::from_events(&data, &player_rows);
        let model = knn.fit(&fitted, &data, None).unwrap();
        let scorer_train = Interactions::from_events(&data, &train);
        let scorer_valid = Interactions::from_events(&data, &valid);
        let items: Vec<Vec<u32>> = group
            .iter()
            .map(|p| fitted.items_of(p.users[0]).to_vec())
            .collect();
        let mut derivatives = vec![Vec::new(); group.len()];
        for s in (0..data.users.len() as u32).filter(|&u| is_scorer(u)) {
            let history = scorer_train.items_of(s);
            let held = scorer_valid.items_of(s);
            let mut scores = vec![0.0f32; N_ITEMS];
            model.score_history(history, &mut scores).unwrap();
            let mut order: Vec<usize> = (0..N_ITEMS)
                .filter(|i| !history.contains(&(*i as u32)))
                .collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            let discount = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
            let mut g = [0.0; N_ITEMS];
            let up: f64 = order
                .iter()
                .enumerate()
                .filter(|(_, &j)| held.contains(&(j as u32)))
                .map(|(r, _)| discount(r))
                .sum();
            let competitors: Vec<(usize, usize)> = order
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, j)| !held.contains(&(*j as u32)))
                .take(top)
                .collect();
            let down: f64 = competitors.iter().map(|&(r, _)| discount(r)).sum();
            for (r, &j) in order.iter().enumerate() {
                if held.contains(&(j as u32)) {
                    g[j] = discount(r) / up;
                }
            }
            for &(r, j) in &competitors {
                g[j] = -discount(r) / down;
            }
            let psi = |w: &[f64]| -> f64 {
                let sim = similarities(&items, w, 2.0);
                (0..N_ITEMS)
                    .map(|j| g[j] * history.iter().map(|&i| sim[i as usize][j]).sum::<f64>())
                    .sum()
            };
            let h = 1e-5;
            for (u, d) in derivatives.iter_mut().enumerate() {
                let mut w = vec![1.0; group.len()];
                w[u] = 1.0 + h;
                let plus = psi(&w);
                w[u] = 1.0 - h;
                let minus = psi(&w);
                d.push((plus - minus) / (2.0 * h));
            }
        }
        for (p, d) in derivatives.iter().enumerate() {
            let m = d.len() as f64;
            let mean = d.iter().sum::<f64>() / m;
            let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (m - 1.0);
            let got = &values.players[p];
            assert!(
                (got.value - mean).abs() < 1e-6 * (1.0 + mean.abs()),
                "seed {seed} player {p}: {} vs finite differences {mean}",
                got.value
            );
            assert!(
                (got.std_error - (var / m).sqrt()).abs() < 1e-6,
                "seed {seed} player {p}: error {} vs {}",
                got.std_error,
                (var / m).sqrt()
            );
            assert_eq!(got.n_evals, 6);
        }
        // Not all zero: the test can fail.
        assert!(values.players.iter().any(|p| p.value.abs() > 1e-3));
    }
}

#[test]
fn players_must_each_be_one_user_and_top_at_least_one() {
    let (data, player_rows, train, valid) = shop(1);
    let all_train: Vec<u32> = player_rows.iter().chain(&train).copied().collect();
    let config = InfluenceConfig {
        knn: ItemKnnParams::default(),
        top: 0,
    };
    let group = players::by_user(&data, &player_rows);
    let err = user_influence(&data, &all_train, &valid, &group, |_| true, &config).unwrap_err();
    assert!(err.to_string().contains("top"), "{err}");
    let sources = players::by_source(&data, &player_rows);
    let config = InfluenceConfig { top: 3, ..config };
    let err = user_influence(&data, &all_train, &valid, &sources, |_| true, &config).unwrap_err();
    assert!(err.to_string().contains("players"), "{err}");
}
