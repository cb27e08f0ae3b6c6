//! The exactness checks: hand-computed games, the Shapley axioms, Monte-Carlo against
//! enumeration, and KNN-Shapley against brute force.

use assay_value::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn no_progress(_: u64, _: u64) {}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol,
            "player {i}: got {g}, want {w} (all: {got:?})"
        );
    }
}

/// A game given by its value on every bitmask.
fn table_game(name: &str, n: usize, table: Vec<f64>) -> impl Utility {
    FnUtility::new(name, n, move |s: &[usize]| {
        table[s.iter().fold(0usize, |m, &p| m | 1 << p)]
    })
}

fn random_table(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..1usize << n)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect()
}

#[test]
fn weighted_voting_game_by_hand() {
    // Quota 4, weights (3, 1, 1, 1): a coalition wins (U = 1) when its weight is at least 4,
    // i.e. when it holds player 0 and at least one other player.
    // Over the 24 orders, player 0 is pivotal unless it comes first (before it, the small
    // players weigh at most 3 < 4; after it joins a non-empty prefix the total reaches 4):
    // 18 of 24 orders, so φ_0 = 3/4. When player 0 comes first (6 orders) the player right
    // after it is pivotal, each small player in 2 of those: φ_j = 2/24 = 1/12.
    let game = FnUtility::new("voting", 4, |s: &[usize]| {
        let weight: u32 = s.iter().map(|&p| if p == 0 { 3 } else { 1 }).sum();
        (weight >= 4) as u8 as f64
    });
    let values = exact_shapley(&game).unwrap();
    assert_close(
        &values.values(),
        &[0.75, 1.0 / 12.0, 1.0 / 12.0, 1.0 / 12.0],
        1e-12,
    );
    // Banzhaf by hand: player 0 swings in every non-empty subset of the others: 7 of 8,
    // so 7/8. A small player j swings only in {0}: 1 of 8 subsets, 1/8.
    let banzhaf = exact_semivalue(&game, Semivalue::Banzhaf).unwrap();
    assert_close(&banzhaf.values(), &[0.875, 0.125, 0.125, 0.125], 1e-12);
    // Leave-one-out: removing 0 loses the win, removing a small player does not.
    let loo = leave_one_out(&game).unwrap();
    assert_close(&loo.values(), &[1.0, 0.0, 0.0, 0.0], 0.0);
}

#[test]
fn composite_game_by_linearity() {
    // U(S) = Σ_{i∈S} a_i + 2·[0 ∈ S and 1 ∈ S] + 4·[|S| >= 3] + 10 (U(∅) = 10).
    // Shapley is linear: the additive part gives a_i; the pair bonus 2 is split evenly
    // between players 0 and 1 (symmetric, others null); the symmetric majority bonus 4 is split
    // evenly among all four; a constant gives nothing. With a = (1, 2, 3, 0):
    // φ = (1 + 1 + 1, 2 + 1 + 1, 3 + 0 + 1, 0 + 0 + 1) = (3, 4, 4, 1); the sum 12 equals
    // U(N) − U(∅) = (6 + 2 + 4 + 10) − 10.
    let a = [1.0, 2.0, 3.0, 0.0];
    let game = FnUtility::new("composite", 4, move |s: &[usize]| {
        let additive: f64 = s.iter().map(|&p| a[p]).sum();
        let pair = if s.contains(&0) && s.contains(&1) {
            2.0
        } else {
            0.0
        };
        let majority = if s.len() >= 3 { 4.0 } else { 0.0 };
        additive + pair + majority + 10.0
    });
    let values = exact_shapley(&game).unwrap();
    assert_close(&values.values(), &[3.0, 4.0, 4.0, 1.0], 1e-12);
    assert!(values
        .players
        .iter()
        .all(|p| p.converged && p.std_error == 0.0));
}

#[test]
fn efficiency_holds_to_1e9_for_twenty_players() {
    let n = 16;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let weights: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..1.0)).collect();
    // A non-additive game: a concave function of the total weight plus pairwise synergies.
    let game = FnUtility::new("concave", n, move |s: &[usize]| {
        let w: f64 = s.iter().map(|&p| weights[p]).sum();
        let pairs = s.windows(2).filter(|x| x[1] == x[0] + 1).count() as f64;
        w.sqrt() + 0.1 * pairs + 1.5
    });
    let values = exact_shapley(&game).unwrap();
    let all: Vec<usize> = (0..n).collect();
    let want = game.eval(&all) - game.eval(&[]);
    assert!(
        (values.sum() - want).abs() < 1e-9,
        "{} vs {want}",
        values.sum()
    );
    assert_eq!(values.utility_evals, 1 << n);
}

#[test]
fn tmc_efficiency_within_reported_error() {
    let n = 10;
    let game = table_game("random", n, random_table(n, 3));
    let all: Vec<usize> = (0..n).collect();
    let want = game.eval(&all) - game.eval(&[]);
    // Without truncation every permutation telescopes to U(N) − U(∅) exactly.
    let plain = permutation_semivalue(
        &game,
        Semivalue::Shapley,
        None,
        &Convergence::fixed(200),
        1,
        &no_progress,
    )
    .unwrap();
    assert!((plain.sum() - want).abs() < 1e-9);
    // With truncation the total is within three reported standard errors plus the tolerance.
    let tol = 0.05;
    let tmc = permutation_semivalue(
        &game,
        Semivalue::Shapley,
        Some(tol),
        &Convergence::fixed(400),
        2,
        &no_progress,
    )
    .unwrap();
    let total = game.eval(&all);
    assert!(
        (tmc.sum() - want).abs() <= 3.0 * tmc.sum_std_error + tol * total.abs(),
        "sum {} want {want} se {}",
        tmc.sum(),
        tmc.sum_std_error
    );
    // And each value is within 4 standard errors of the exact one.
    let exact = exact_shapley(&game).unwrap();
    for (e, m) in exact.players.iter().zip(&plain.players) {
        assert!(
            (e.value - m.value).abs() <= 4.0 * m.std_error,
            "{e:?} {m:?}"
        );
    }
}

#[test]
fn monte_carlo_semivalues_agree_with_enumeration() {
    let n = 7;
    let game = table_game("random", n, random_table(n, 11));
    let beta = Semivalue::Beta {
        alpha: 16.0,
        beta: 1.0,
    };
    let exact_beta = exact_semivalue(&game, beta).unwrap();
    let sampled_beta = permutation_semivalue(
        &game,
        beta,
        None,
        &Convergence::fixed(3000),
        5,
        &no_progress,
    )
    .unwrap();
    let exact_banzhaf = exact_semivalue(&game, Semivalue::Banzhaf).unwrap();
    let msr = msr_banzhaf(&game, &Convergence::fixed(4000), 9, &no_progress).unwrap();
    for (exact, sampled) in [(&exact_beta, &sampled_beta), (&exact_banzhaf, &msr)] {
        for (e, s) in exact.players.iter().zip(&sampled.players) {
            assert!(s.std_error > 0.0 && s.std_error < 0.1, "{s:?}");
            assert!(
                (e.value - s.value).abs() <= 4.0 * s.std_error,
                "{}: exact {e:?} sampled {s:?}",
                sampled.method
            );
        }
    }
}

#[test]
fn symmetric_and_null_players_in_monte_carlo() {
    // Player 3 is null; players 0 and 1 are symmetric.
    let n = 6;
    let base = random_table(n, 21);
    let game = FnUtility::new("sym-null", n, move |s: &[usize]| {
        let mut mask = s.iter().fold(0usize, |m, &p| m | 1 << p) & !(1 << 3);
        let swapped = (mask & !3) | ((mask & 1) << 1) | ((mask & 2) >> 1);
        mask = mask.min(swapped);
        base[mask]
    });
    let tmc = permutation_semivalue(
        &game,
        Semivalue::Shapley,
        Some(0.01),
        &Convergence::fixed(500),
        4,
        &no_progress,
    )
    .unwrap();
    // A null player's marginal contribution is 0 in every permutation: exactly 0.
    assert_eq!(tmc.players[3].value, 0.0);
    let (a, b) = (&tmc.players[0], &tmc.players[1]);
    assert!((a.value - b.value).abs() <= 4.0 * (a.std_error.hypot(b.std_error)));
    let msr = msr_banzhaf(&game, &Convergence::fixed(2000), 4, &no_progress).unwrap();
    assert!(msr.players[3].value.abs() <= 4.0 * msr.players[3].std_error);
}

#[test]
fn convergence_stops_early_and_is_reported() {
    let n = 5;
    let game = FnUtility::new("additive", n, |s: &[usize]| {
        s.iter().map(|&p| p as f64).sum()
    });
    // Additive game: every marginal is exact, the standard error is 0 after two samples.
    let conv = Convergence {
        batch: 10,
        min_samples: 20,
        max_samples: 10_000,
        rtol: 0.01,
        atol: 1e-12,
    };
    let values =
        permutation_semivalue(&game, Semivalue::Shapley, None, &conv, 0, &no_progress).unwrap();
    assert!(values.converged());
    assert_eq!(values.players[0].n_evals, 20);
    assert_close(&values.values(), &[0.0, 1.0, 2.0, 3.0, 4.0], 1e-12);
    // A noisy game that cannot reach a 1e-9 target stops at the budget, not converged.
    let noisy = table_game("random", n, random_table(n, 2));
    let strict = Convergence {
        batch: 10,
        min_samples: 10,
        max_samples: 50,
        rtol: 0.0,
        atol: 1e-9,
    };
    let values = msr_banzhaf(&noisy, &strict, 0, &no_progress).unwrap();
    assert!(!values.converged());
    assert_eq!(values.utility_evals, 50);
}

#[test]
fn seeded_output_does_not_depend_on_threads() {
    let n = 9;
    let game = table_game("random", n, random_table(n, 5));
    let run = || {
        let tmc = permutation_semivalue(
            &game,
            Semivalue::Shapley,
            Some(0.01),
            &Convergence::fixed(300),
            42,
            &no_progress,
        )
        .unwrap();
        let msr = msr_banzhaf(&game, &Convergence::fixed(300), 42, &no_progress).unwrap();
        (tmc, msr)
    };
    let many = run();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    // Same bytes out (compared as JSON, where NaN is `null`).
    let json = |v: &(Values, Values)| serde_json::to_string(&(&v.0, &v.1)).unwrap();
    assert_eq!(json(&many), json(&one));
    let other_seed = msr_banzhaf(&game, &Convergence::fixed(300), 43, &no_progress).unwrap();
    assert_ne!(many.1.values(), other_seed.values());
}

#[test]
fn cached_utility_gives_the_same_values() {
    let n = 8;
    let game = table_game("random", n, random_table(n, 8));
    let cached = CachedUtility::new(&game);
    let a = exact_shapley(&game).unwrap();
    let b = exact_shapley(&cached).unwrap();
    assert_eq!(a.values(), b.values());
    let _ = exact_semivalue(&cached, Semivalue::Banzhaf).unwrap();
    assert_eq!(cached.misses(), 1 << n);
    assert_eq!(cached.hits(), 1 << n);
}

fn knn_case(seed: u64, n_train: usize, n_test: usize) -> (LabelledTable, LabelledTable) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut make = |n: usize| {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..2).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        let labels: Vec<u32> = (0..n).map(|_| rng.random_range(0..3)).collect();
        (rows, labels)
    };
    let (train_rows, train_labels) = make(n_train);
    let (test_rows, test_labels) = make(n_test);
    let mut train = LabelledTable::from_rows(&train_rows, &train_labels);
    let mut test = LabelledTable::from_rows(&test_rows, &test_labels);
    train.classes = vec!["0".into(), "1".into(), "2".into()];
    test.classes = train.classes.clone();
    (train, test)
}

#[test]
fn knn_shapley_equals_brute_force_shapley_on_ten_points() {
    for (seed, k) in [(1, 1), (2, 3), (3, 5), (4, 12)] {
        let (train, test) = knn_case(seed, 10, 4);
        let closed = knn_shapley(&train, &test, k).unwrap();
        let utility = KnnUtility::new(&train, &test, k).unwrap();
        let brute = exact_shapley(&utility).unwrap();
        assert_close(&closed.values(), &brute.values(), 1e-12);
        // Efficiency of the closed form: U(N) − U(∅) with U(∅) = 0.
        let all: Vec<usize> = (0..10).collect();
        assert!((closed.sum() - utility.eval(&all)).abs() < 1e-12);
    }
}

#[test]
fn knn_shapley_gives_the_same_bits_on_any_number_of_threads() {
    // 1,000 test rows: several waves of chunks on one thread, fewer on three.
    let (train, test) = knn_case(9, 300, 1_000);
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| knn_shapley(&train, &test, 5).unwrap().values())
    };
    let one = on(1);
    let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one), bits(&on(3)));
    assert_eq!(bits(&one), bits(&on(2)));
}

fn exact_game(n: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-10.0f64..10.0, 1usize << n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn exact_semivalue_axioms(
        (n, table, other) in (1usize..=6).prop_flat_map(|n| (Just(n), exact_game(n), exact_game(n))),
        a in -3.0f64..3.0,
        b in -3.0f64..3.0,
    ) {
        let game = table_game("u", n, table.clone());
        let shapley = exact_shapley(&game).unwrap();
        let all: Vec<usize> = (0..n).collect();
        prop_assert!((shapley.sum() - (game.eval(&all) - game.eval(&[]))).abs() < 1e-9);

        // Linearity: φ(aU + bV) = aφ(U) + bφ(V), for Shapley and Banzhaf.
        let v = table_game("v", n, other.clone());
        let combined: Vec<f64> = table.iter().zip(&other).map(|(x, y)| a * x + b * y).collect();
        let w = table_game("w", n, combined);
        for sv in [Semivalue::Shapley, Semivalue::Banzhaf] {
            let fu = exact_semivalue(&game, sv).unwrap().values();
            let fv = exact_semivalue(&v, sv).unwrap().values();
            let fw = exact_semivalue(&w, sv).unwrap().values();
            for i in 0..n {
                prop_assert!((fw[i] - (a * fu[i] + b * fv[i])).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn exact_symmetry_and_null_player(
        (n, table) in (3usize..=6).prop_flat_map(|n| (Just(n), exact_game(n))),
    ) {
        // Player n-1 is null; players 0 and 1 are interchangeable.
        let null = n - 1;
        let game = FnUtility::new("sym-null", n, move |s: &[usize]| {
            let mask = s.iter().fold(0usize, |m, &p| m | 1 << p) & !(1 << null);
            let swapped = (mask & !3) | ((mask & 1) << 1) | ((mask & 2) >> 1);
            table[mask.min(swapped)]
        });
        for sv in [Semivalue::Shapley, Semivalue::Banzhaf, Semivalue::Beta { alpha: 16.0, beta: 1.0 }] {
            let values = exact_semivalue(&game, sv).unwrap().values();
            prop_assert!((values[0] - values[1]).abs() < 1e-9, "{:?}", values);
            prop_assert!(values[null].abs() < 1e-12, "{:?}", values);
        }
    }

    #[test]
    fn knn_closed_form_matches_enumeration(seed in any::<u64>(), k in 1usize..6, n in 2usize..9) {
        let (train, test) = knn_case(seed, n, 3);
        let closed = knn_shapley(&train, &test, k).unwrap().values();
        let brute = exact_shapley(&KnnUtility::new(&train, &test, k).unwrap()).unwrap().values();
        for (c, b) in closed.iter().zip(&brute) {
            prop_assert!((c - b).abs() < 1e-12);
        }
    }
}
