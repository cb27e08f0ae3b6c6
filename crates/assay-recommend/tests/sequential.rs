//! GRU4Rec and SASRec on a tiny log whose next item is a function of the last one: they must
//! learn it, train reproducibly, round-trip through model files, and SASRec's causal mask must
//! keep later items out of earlier positions.

#[path = "support/ml100k.rs"]
mod ml100k;

use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_metrics::Metric;
use assay_recommend::eval::{evaluate_model, prepare, Prepared, Protocol};
use assay_recommend::{load_model, Fit, ModelSpec, Recommender, SasRecParams, StopReason};

const N_ITEMS: u32 = 20;
const LENGTH: u32 = 7;

/// 60 users; user `u` visits items `s, s + 1, ..., s + 6` (mod 20) at times 0..7, with
/// `s = 7u mod 20`: every item is followed by the next one. Leave-one-out keeps five items
/// to train on, the sixth for validation and the seventh for the test.
fn successor_log() -> Dataset {
    let mut data = Dataset::default();
    for i in 0..N_ITEMS {
        data.items.intern(&format!("i{i}"));
    }
    for u in 0..60u32 {
        let user = data.users.intern(&format!("u{u}"));
        let start = (7 * u) % N_ITEMS;
        for t in 0..LENGTH {
            data.events.push(
                user,
                (start + t) % N_ITEMS,
                EventKind::Click,
                f64::NAN,
                1_000 + t as i64,
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                0,
            );
        }
    }
    data
}

fn split(data: &Dataset) -> Prepared {
    prepare(data, &Protocol::loo(), 0).expect("the log splits")
}

fn fit(spec: &str, data: &Dataset, prepared: &Prepared) -> Box<dyn Recommender> {
    let spec = ModelSpec::parse(spec).expect("a valid spec");
    spec.fit(&prepared.train, data, None, &|_, _| {})
        .expect("the model fits")
}

/// Hit@1 on the test items, the validation item read as the newest history item.
fn test_hit_at_1(model: &dyn Recommender, prepared: &Prepared) -> f64 {
    evaluate_model(model, &prepared.test, Some(&prepared.valid), &[1])
        .ranking
        .mean_of(Metric::Hit, 1)
        .expect("test users")
}

const GRU: &str = "gru4rec:embedding=16;hidden=32;dropout=0.1;maxlen=10;lr=0.01;batch=64;epochs=40";
const SAS: &str =
    "sasrec:hidden=16;inner=32;dropout=0.1;attn_dropout=0.1;maxlen=10;lr=0.01;batch=64;epochs=40";

#[test]
fn both_models_learn_the_successor_and_popularity_cannot() {
    let data = successor_log();
    let prepared = split(&data);
    // Every item is trained on 15 times, so popularity ranks by index: first comes the lowest
    // item outside the user's six known ones. That is the test item only for starts 0 (item 6)
    // and 14..=19 (the walk wraps past 19, and the lowest free item is the next one): 7 of 20.
    let pop = fit("pop", &data, &prepared);
    let pop_hit = test_hit_at_1(pop.as_ref(), &prepared);
    assert!((pop_hit - 7.0 / 20.0).abs() < 1e-12, "pop hit@1 {pop_hit}");
    for spec in [GRU, SAS] {
        let model = fit(spec, &data, &prepared);
        let hit = test_hit_at_1(model.as_ref(), &prepared);
        assert!(hit >= 0.95, "{spec}: hit@1 {hit}");
        // The curve: loss starts near ln(20) (scores near 0 at the small initial weights:
        // every item equally likely) and falls far below it.
        let log = model
            .training_log()
            .expect("a fitted model keeps its curve");
        assert_eq!(log.epochs.len(), 40);
        assert_eq!(log.stop, Some(StopReason::MaxEpochs));
        let first = log.epochs[0].loss.unwrap();
        let last = log.epochs[39].loss.unwrap();
        let uniform = (N_ITEMS as f64).ln();
        assert!((first - uniform).abs() < 0.3, "{spec}: first loss {first}");
        assert!(last < 0.25 * uniform, "{spec}: last loss {last}");
    }
}

#[test]
fn early_stopping_keeps_the_best_epoch_and_says_where_it_fired() {
    let data = successor_log();
    let prepared = split(&data);
    let protocol = Protocol::loo();
    // Patience 2 over up to 200 epochs: validation hit saturates long before.
    let spec = ModelSpec::parse(&format!("{GRU};epochs=200;patience=2")).unwrap();
    let (_, run) =
        assay_recommend::eval::run_once(&data, &prepared, &protocol, &spec, 0, &|_, _| {}).unwrap();
    let log = run.training.expect("an iterative model's curve");
    assert_eq!(log.stop, Some(StopReason::Patience));
    let best = log.best_epoch.unwrap();
    // It fired three epochs after the best one (patience 2: the third without improvement).
    assert_eq!(log.epochs.len(), best + 3);
    let best_score = log.epochs[best - 1].valid.unwrap();
    assert!(log.epochs.iter().all(|e| e.valid.unwrap() <= best_score));
    // The kept weights are the best epoch's: validation now gives its score.
    assert!((run.valid.get(Metric::Mrr) - best_score).abs() < 1e-9);
}

#[test]
fn the_same_seed_gives_the_same_weights_and_another_seed_does_not() {
    let data = successor_log();
    let prepared = split(&data);
    let dir = tempfile::tempdir().unwrap();
    let tensors = |spec: &str, name: &str| {
        let model = fit(spec, &data, &prepared);
        let path = dir.path().join(name);
        model.save(&path).unwrap();
        std::fs::read(path.join("tensors.safetensors")).unwrap()
    };
    for spec in [GRU, SAS] {
        let short = format!("{spec};epochs=3");
        let a = tensors(&short, "a");
        let b = tensors(&short, "b");
        let c = tensors(&format!("{short};seed=1"), "c");
        assert!(a == b, "{spec}: same seed, different weights");
        assert!(a != c, "{spec}: another seed, same weights");
    }
}

#[test]
fn saved_models_load_with_identical_scores_and_top_k() {
    let data = successor_log();
    let prepared = split(&data);
    let dir = tempfile::tempdir().unwrap();
    for spec in [GRU, SAS] {
        let model = fit(&format!("{spec};epochs=5"), &data, &prepared);
        let path = dir.path().join(model.kind());
        model.save(&path).unwrap();
        let loaded = load_model(&path).unwrap();
        assert_eq!(loaded.kind(), model.kind());
        for user in 0..60 {
            assert_eq!(model.top_k(user, 5, &[]), loaded.top_k(user, 5, &[]));
            let newer = prepared.valid.items_of(user);
            let (mut a, mut b) = (vec![0.0; 20], vec![0.0; 20]);
            model.score_user_after(user, newer, &mut a);
            loaded.score_user_after(user, newer, &mut b);
            assert_eq!(a, b);
        }
    }
}

#[test]
fn sasrec_positions_do_not_see_later_items() {
    let data = successor_log();
    let prepared = split(&data);
    let params = SasRecParams {
        hidden: 16,
        inner: 32,
        maxlen: 10,
        epochs: 2,
        ..SasRecParams::default()
    };
    let model = params.fit(&prepared.train, &data, None).unwrap();
    let dim = 16;
    let before = model.hidden_states(&[3, 4, 5, 6, 7]).unwrap();
    let after = model.hidden_states(&[3, 4, 5, 12, 7]).unwrap();
    // Positions 0..3 see only items 3, 4, 5: unchanged.
    for k in 0..3 * dim {
        assert!(
            (before[k] - after[k]).abs() < 1e-6,
            "position {} changed",
            k / dim
        );
    }
    // Position 3 and later see the changed item.
    let changed = (3 * dim..5 * dim).any(|k| (before[k] - after[k]).abs() > 1e-3);
    assert!(changed, "the changed item must reach its own position");
}

#[test]
fn out_of_range_parameters_are_refused_at_parse() {
    for (text, name) in [
        ("sasrec:heads=3", "heads"),
        ("sasrec:layers=0", "layers"),
        ("sasrec:dropout=1", "dropout"),
        ("sasrec:attn_dropout=-0.1", "attn_dropout"),
        ("gru4rec:hidden=0", "hidden"),
        ("gru4rec:maxlen=0", "maxlen"),
        ("gru4rec:lr=0", "lr"),
        ("gru4rec:max_seconds=-1", "max_seconds"),
        ("gru4rec:epochs=0", "epochs"),
    ] {
        let err = ModelSpec::parse(text).unwrap_err().to_string();
        assert!(err.contains(name), "{text}: {err}");
    }
    let spec = ModelSpec::parse("SASRec:n_heads=4;hidden_size=32").unwrap();
    assert_eq!(spec.to_string(), "sasrec:heads=4;hidden=32");
    assert_eq!(ModelSpec::parse(&spec.to_string()).unwrap(), spec);
}

/// ml-100k, leave-one-out by time, full ranking: GRU4Rec and SASRec with their default
/// parameters (or `ASSAY_SEQ_MODELS`, a model list), printed with seconds per epoch. Slow.
#[test]
fn ml100k_loo_sequential_models() {
    if !assay_fetch::samples::slow_tests_enabled() {
        return;
    }
    let Some(dir) = ml100k::data_dir() else {
        eprintln!("SKIPPED: ml100k_loo_sequential_models: no ml-100k pack");
        return;
    };
    let data = ml100k::load(&dir);
    let models = std::env::var("ASSAY_SEQ_MODELS").unwrap_or_else(|_| "gru4rec,sasrec".into());
    let specs = ModelSpec::parse_list(&models).unwrap();
    let protocol = Protocol::loo();
    let prepared = prepare(&data, &protocol, 0).unwrap();
    for spec in specs {
        let on_epoch = |epoch: usize, valid: Option<f64>| {
            eprintln!("{spec} epoch {epoch} valid mrr@10 {valid:?}");
        };
        let (_, run) =
            assay_recommend::eval::run_once(&data, &prepared, &protocol, &spec, 0, &on_epoch)
                .unwrap();
        let log = run.training.as_ref();
        let epochs = log.map_or(0, |l| l.epochs.len());
        let seconds: f64 = log
            .map(|l| l.epochs.iter().filter_map(|e| e.seconds).sum())
            .unwrap_or(0.0);
        eprintln!(
            "RESULT {spec}: test ndcg@10 {:.4} hit@10 {:.4} mrr@10 {:.4}; valid mrr@10 {:.4}; \
             {epochs} epochs, best {:?}, stop {:?}, {:.2} s/epoch, fit {:.1} s",
            run.test.get(Metric::Ndcg),
            run.test.get(Metric::Hit),
            run.test.get(Metric::Mrr),
            run.valid.get(Metric::Mrr),
            log.and_then(|l| l.best_epoch),
            log.and_then(|l| l.stop),
            seconds / epochs.max(1) as f64,
            run.fit_seconds,
        );
    }
}
