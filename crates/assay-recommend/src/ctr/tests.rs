use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
use candle_core::{Device, Tensor};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::net::{self, fm_second_order, Batch};
use super::*;

fn single(name: &str) -> Field {
    Field {
        name: name.into(),
        slots: 1,
    }
}

fn token(value: impl ToString) -> Cell {
    Cell::Tokens(vec![value.to_string()])
}

/// Two fields of `k` values each; P(click) = 0.9 when `(a + b)` is even, else 0.1, so each field
/// alone says nothing (every value has a click rate of one half) and only the pair does.
/// The text is the two values as words, so the text model sees the same information.
fn interaction_table(n: usize, k: usize, seed: u64) -> CtrTable {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut b = TableBuilder::new(vec![single("a"), single("b")]);
    for _ in 0..n {
        let (x, y) = (rng.random_range(0..k), rng.random_range(0..k));
        let p = if (x + y) % 2 == 0 { 0.9 } else { 0.1 };
        let label = rng.random::<f64>() < p;
        b.push(&[token(x), token(y)], &format!("a{x} b{y}"), label);
    }
    b.finish()
}

fn quick(kind: CtrKind) -> CtrParams {
    CtrParams {
        embedding: 8,
        hidden: vec![16],
        dropout: 0.0,
        lr: 0.02,
        batch: 128,
        epochs: 40,
        patience: 5,
        ..CtrParams::defaults(kind)
    }
}

fn test_auc(model: &CtrModel, table: &CtrTable, rows: &[usize]) -> f64 {
    let p = model.predict(table, rows).unwrap();
    let labels: Vec<bool> = rows.iter().map(|&r| table.labels()[r]).collect();
    assay_metrics::auc(&p, &labels).unwrap()
}

#[test]
fn deepfm_beats_logistic_regression_on_a_pure_interaction() {
    let table = interaction_table(3000, 4, 1);
    let [train, valid, test] = random_split(table.len(), [0.8, 0.1, 0.1], 0);
    let lr = fit(&quick(CtrKind::Lr), &table, &train, &valid, None).unwrap();
    let deepfm = fit(&quick(CtrKind::DeepFm), &table, &train, &valid, None).unwrap();
    let (lr_auc, fm_auc) = (
        test_auc(&lr, &table, &test),
        test_auc(&deepfm, &table, &test),
    );
    // With no main effects, a linear model ranks by noise: AUC near 1/2. The interaction model
    // can reach the Bayes AUC of the 0.9 / 0.1 click rates, 0.9.
    assert!(lr_auc < 0.62, "lr {lr_auc}");
    assert!(fm_auc > 0.82, "deepfm {fm_auc}");
}

#[test]
fn text_gru_reads_the_words() {
    let table = interaction_table(2000, 2, 2);
    let [train, valid, test] = random_split(table.len(), [0.8, 0.1, 0.1], 0);
    let params = CtrParams {
        embedding: 8,
        hidden: vec![8],
        lr: 0.02,
        batch: 64,
        epochs: 15,
        dropout: 0.0,
        ..CtrParams::defaults(CtrKind::CtrGru)
    };
    let model = fit(&params, &table, &train, &valid, None).unwrap();
    let auc = test_auc(&model, &table, &test);
    assert!(auc > 0.8, "ctr-gru {auc}");
    let log = model.log().unwrap();
    assert!(!log.epochs.is_empty() && log.best_epoch.is_some());
}

#[test]
fn same_seed_same_weights_and_save_load_round_trips() {
    let table = interaction_table(400, 3, 3);
    let [train, valid, test] = random_split(table.len(), [0.8, 0.1, 0.1], 0);
    for kind in CtrKind::ALL {
        let params = CtrParams {
            epochs: 3,
            dropout: 0.2,
            ..quick(kind)
        };
        let a = fit(&params, &table, &train, &valid, None).unwrap();
        let b = fit(&params, &table, &train, &valid, None).unwrap();
        let pa = a.predict(&table, &test).unwrap();
        assert_eq!(pa, b.predict(&table, &test).unwrap(), "{kind:?}");
        let other = fit(
            &CtrParams { seed: 9, ..params },
            &table,
            &train,
            &valid,
            None,
        )
        .unwrap();
        assert_ne!(pa, other.predict(&table, &test).unwrap(), "{kind:?}");

        let dir = tempfile::tempdir().unwrap();
        a.save(dir.path()).unwrap();
        let loaded = CtrModel::load(dir.path()).unwrap();
        assert_eq!(loaded.params(), a.params());
        assert_eq!(loaded.predict(&table, &test).unwrap(), pa, "{kind:?}");
    }
}

#[test]
fn curves_and_time_limit() {
    let table = interaction_table(400, 3, 4);
    let [train, valid, _] = random_split(table.len(), [0.8, 0.1, 0.1], 0);
    let dir = tempfile::tempdir().unwrap();
    let params = CtrParams {
        epochs: 100_000,
        patience: 100_000,
        max_seconds: Some(0.3),
        ..quick(CtrKind::Lr)
    };
    let model = fit(&params, &table, &train, &valid, Some(dir.path())).unwrap();
    let log = model.log().unwrap();
    assert_eq!(log.stop, Some(StopReason::TimeLimit));
    assert!(log.epochs.len() < 100_000);
    let curves = std::fs::read_to_string(dir.path().join("curves.csv")).unwrap();
    assert!(curves.starts_with("kind,epoch,step,lr,loss,valid_auc,valid_logloss\nepoch,0,0,"));
    // One epoch row per validation, the starting weights' included.
    let epochs = curves.lines().filter(|l| l.starts_with("epoch,")).count();
    assert_eq!(epochs, log.epochs.len() + 1);
}

#[test]
fn bad_settings_and_foreign_tables_are_errors() {
    let table = interaction_table(50, 2, 5);
    let rows: Vec<usize> = (0..50).collect();
    let bad = CtrParams {
        dropout: 1.0,
        ..quick(CtrKind::DeepFm)
    };
    assert!(fit(&bad, &table, &rows, &rows, None).is_err());
    assert!(fit(&quick(CtrKind::Lr), &table, &rows, &[], None).is_err());
    assert!(fit(&quick(CtrKind::Lr), &table, &[0, 50], &rows, None).is_err());
    let model = fit(
        &CtrParams {
            epochs: 1,
            ..quick(CtrKind::Lr)
        },
        &table,
        &rows,
        &rows,
        None,
    )
    .unwrap();
    let mut other = TableBuilder::new(vec![single("a")]);
    other.push(&[token(1)], "", true);
    assert!(model.predict(&other.finish(), &[0]).is_err());
    assert!(model.predict(&table, &[50]).is_err());
}

proptest! {
    #[test]
    fn fm_term_is_the_sum_over_pairs(
        values in proptest::collection::vec(-2.0f32..2.0, 2 * 4 * 3),
    ) {
        // Two rows, four slots, dimension three.
        let e = Tensor::from_vec(values.clone(), (2, 4, 3), &Device::Cpu).unwrap();
        let fast: Vec<f32> = fm_second_order(&e).unwrap().to_vec1().unwrap();
        for (row, &got) in fast.iter().enumerate() {
            let v = |i: usize, d: usize| values[(row * 4 + i) * 3 + d];
            let mut pairs = 0.0f32;
            for i in 0..4 {
                for j in i + 1..4 {
                    pairs += (0..3).map(|d| v(i, d) * v(j, d)).sum::<f32>();
                }
            }
            prop_assert!((got - pairs).abs() < 1e-4, "{got} vs {pairs}");
        }
    }
}

#[test]
fn deepfm_gradient_matches_finite_differences() {
    let mut b = TableBuilder::new(vec![
        single("a"),
        Field {
            name: "g".into(),
            slots: 2,
        },
    ]);
    let two = |x: &str, y: &str| Cell::Tokens(vec![x.into(), y.into()]);
    b.push(&[token(0), two("x", "y")], "", true);
    b.push(&[token(1), two("y", "z")], "", false);
    b.push(&[token(0), Cell::Tokens(vec!["z".into()])], "", true);
    let table = b.finish();
    let params = CtrParams {
        embedding: 3,
        hidden: vec![4],
        dropout: 0.0,
        seed: 7,
        ..CtrParams::defaults(CtrKind::DeepFm)
    };
    let network = net::build(&params, table.schema()).unwrap();
    let batch = Batch::of(&table, &[0, 1, 2], false, 1).unwrap();
    let y = Tensor::new(&[1.0f32, 0.0, 1.0], &Device::Cpu).unwrap();
    let loss = || {
        let z = network.logits(&batch, None).unwrap();
        bce_with_logits(&z, &y).unwrap()
    };
    let grads = loss().backward().unwrap();
    let eps = 1e-2f32;
    let mut checked = 0;
    for (name, var) in &network.params().vars {
        let analytic: Vec<f32> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let start: Vec<f32> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        // The first three entries of every parameter.
        for k in 0..start.len().min(3) {
            let at = |delta: f32| {
                let mut v = start.clone();
                v[k] += delta;
                var.set(&Tensor::from_vec(v, var.dims(), &Device::Cpu).unwrap())
                    .unwrap();
                loss().to_scalar::<f32>().unwrap()
            };
            let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
            at(0.0);
            assert!(
                (numeric - analytic[k]).abs() < 2e-3,
                "{name}[{k}]: numeric {numeric}, autograd {}",
                analytic[k]
            );
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
}

#[test]
fn impressions_are_labelled_by_clicks_in_their_session() {
    let mut data = Dataset {
        name: "tiny".into(),
        ..Dataset::default()
    };
    for (id, category) in [
        ("i0", "Women/Dresses"),
        ("i1", "Men/Shirts"),
        ("i2", "Men/Shirts"),
        ("i3", "Women/Dresses"),
    ] {
        let i = data.items.intern(id) as usize;
        data.items.category[i] = category.into();
        data.items.title[i] = format!("{id} title");
    }
    let u0 = data.users.intern("u0");
    let u1 = data.users.intern("u1");
    let s0 = data.sessions.intern("s0");
    let s1 = data.sessions.intern("s1");
    let q = data.queries.intern("red dress");
    let e = &mut data.events;
    let f = f64::NAN;
    e.push(u0, 0, EventKind::Impression, f, 1, s0, q, 1, 0.5, 0);
    e.push(u0, 1, EventKind::Impression, f, 1, s0, q, 2, 0.5, 0);
    e.push(u0, 0, EventKind::Click, f, 2, s0, q, 1, f, 0);
    // A click in another session does not label the impression of s1.
    e.push(u1, 2, EventKind::Impression, f, 3, s1, NO_QUERY, 1, 0.5, 0);
    e.push(
        u1,
        2,
        EventKind::Click,
        f,
        4,
        NO_SESSION,
        NO_QUERY,
        NO_POSITION,
        f,
        0,
    );
    assert_eq!(CtrLabel::infer(&data).unwrap(), CtrLabel::Clicks);
    let table = table_from_dataset(&data, CtrLabel::Clicks).unwrap();
    assert_eq!(table.labels(), &[true, false, false]);
    let names: Vec<&str> = table
        .schema()
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "user_id",
            "item_id",
            "category",
            "context",
            "query",
            "query_words",
            "title_words",
            "position"
        ]
    );
    // Slots: user 1, item 1, category 2, context 1, query 1, query words 2, title words 2,
    // position 1.
    assert_eq!(table.schema().width(), 11);
    // Row 0 searched "red dress"; row 2 browsed: its query slots are empty, and the two rows'
    // contexts differ.
    let (searched, browsed) = (table.ids(0), table.ids(2));
    assert!(searched[5..8].iter().all(|&id| id != 0));
    assert_eq!(&browsed[5..8], &[0, 0, 0]);
    assert_eq!(table.values(0)[6..8], [0.5, 0.5]);
    assert_ne!(searched[4], browsed[4]);
    // Both rows' items have two title words ("i0 title", "i2 title"); "title" is shared.
    assert_eq!(searched[9], browsed[9]);
    assert_ne!(searched[8], browsed[8]);
    // Text: the query, then the title.
    assert_eq!(table.tokens(0).len(), 4);
    assert_eq!(table.tokens(2).len(), 2);
    // Ratings of at least 4 are positive.
    let mut rated = data.clone();
    rated.events = Default::default();
    rated.events.push(
        u0,
        0,
        EventKind::Rating,
        4.0,
        1,
        NO_SESSION,
        NO_QUERY,
        0,
        f,
        0,
    );
    rated.events.push(
        u1,
        1,
        EventKind::Rating,
        3.5,
        1,
        NO_SESSION,
        NO_QUERY,
        0,
        f,
        0,
    );
    assert_eq!(
        CtrLabel::infer(&rated).unwrap(),
        CtrLabel::RatingAtLeast(4.0)
    );
    let table = table_from_dataset(&rated, CtrLabel::RatingAtLeast(4.0)).unwrap();
    assert_eq!(table.labels(), &[true, false]);
    assert!(CtrLabel::infer(&Dataset::default()).is_err());
}

#[test]
fn price_bands_are_fifths_within_a_category() {
    let mut data = Dataset::default();
    // Category A: ten prices 1..=10 in shuffled order; B: two items at the same price and
    // one dearer; C: one unpriced item.
    let a = [7.0, 1.0, 10.0, 3.0, 5.0, 2.0, 9.0, 4.0, 8.0, 6.0];
    for (k, &p) in a.iter().enumerate() {
        let i = data.items.intern(&format!("a{k}")) as usize;
        data.items.category[i] = "A".into();
        data.items.price[i] = p;
    }
    for (k, p) in [(0, 3.0), (1, 3.0), (2, 5.0)] {
        let i = data.items.intern(&format!("b{k}")) as usize;
        data.items.category[i] = "B".into();
        data.items.price[i] = p;
    }
    let c = data.items.intern("c") as usize;
    data.items.category[c] = "C".into();
    let bands = price_bands(&data);
    // Rank r of 10 (from 0) is band 1 + floor(5 r / 10): prices 1-2 band 1, ..., 9-10 band 5.
    let want_a = ["4", "1", "5", "2", "3", "1", "5", "2", "4", "3"];
    assert_eq!(&bands[..10], &want_a);
    // B: the tied pair shares rank 0 (band 1); the third has rank 2 of 3: 1 + 10 / 3 = 4.
    assert_eq!(&bands[10..13], &["1", "1", "4"]);
    assert_eq!(bands[c], "");
}

#[test]
fn pair_tables_put_the_users_slots_first() {
    let mut data = Dataset::default();
    data.users.attributes.names = vec!["segment".into()];
    data.users.attributes.values = vec![Vec::new()];
    for (id, segment) in [
        ("u0", "new"),
        ("u1", "loyal"),
        ("u2", "new"),
        ("u3", "loyal"),
    ] {
        let u = data.users.intern(id) as usize;
        data.users.attributes.values[0][u] = segment.into();
    }
    for (id, category, price) in [
        ("i0", "X", 1.0),
        ("i1", "Y", 2.0),
        ("i2", "X", 3.0),
        ("i3", "Y", 4.0),
    ] {
        let i = data.items.intern(id) as usize;
        data.items.category[i] = category.into();
        data.items.price[i] = price;
        data.items.title[i] = format!("{id} thing");
    }
    let pairs = [(0, 0, true), (1, 2, false), (3, 1, true), (0, 2, false)];
    let table = pair_table(&data, &pairs).unwrap();
    let names: Vec<&str> = table
        .schema()
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec!["user_id", "segment", "item_id", "category", "price_band"]
    );
    assert_eq!(table.schema().user_fields, 2);
    assert_eq!(table.schema().user_width(), 2);
    // Rows 0 and 3 share the user's slots; rows 1 and 3 share the item's.
    assert_eq!(table.ids(0)[..2], table.ids(3)[..2]);
    assert_eq!(table.ids(1)[2..], table.ids(3)[2..]);
    // Item 0 is the cheaper of category X (band 1), item 2 the dearer (band 1 + 5 / 2 = 3).
    assert_ne!(table.ids(0)[4], table.ids(1)[4]);
    assert_eq!(table.labels(), &[true, false, true, false]);
    assert_eq!(table.tokens(0).len(), 2);
    assert!(pair_table(&data, &[(9, 0, true)]).is_err());
}

#[test]
fn the_text_models_tokens_start_from_the_given_rows() {
    let table = interaction_table(50, 2, 1);
    // Tokens: 0 pads, 1 unknown, then the words the table met.
    assert_eq!(&table.vocabulary()[..2], ["", "\u{1}unknown"]);
    let n = table.schema().n_tokens;
    assert_eq!(table.vocabulary().len(), n);
    let e = 4;
    // Row t is (t, t, t, t) where given: every token from 2 on but the last.
    let known: Vec<bool> = (0..n).map(|t| t >= 2 && t + 1 < n).collect();
    let rows: Vec<Option<Vec<f32>>> = (0..n)
        .map(|t| known[t].then(|| vec![t as f32; 4]))
        .collect();
    let params = CtrParams {
        embedding: e,
        hidden: vec![4],
        token_init: Some(std::sync::Arc::new(TokenInit { dim: e, rows })),
        ..CtrParams::defaults(CtrKind::CtrGru)
    };
    let start = net::build(&params, table.schema()).unwrap();
    let values = start.params().values().unwrap();
    let (_, shape, tokens) = values
        .iter()
        .find(|(name, _, _)| name == "token_embedding")
        .unwrap();
    assert_eq!(shape, &[n, e]);
    let random = net::build(
        &CtrParams {
            token_init: None,
            ..params.clone()
        },
        table.schema(),
    )
    .unwrap();
    let random = random.params().values().unwrap();
    let (_, _, random) = random
        .iter()
        .find(|(name, _, _)| name == "token_embedding")
        .unwrap();
    for t in 0..n {
        let row = &tokens[t * e..(t + 1) * e];
        if t == 0 {
            assert_eq!(row, [0.0; 4], "padding");
        } else if known[t] {
            assert_eq!(row, [t as f32; 4], "token {t}");
        } else {
            // The others keep the random start (the same draws as without the rows).
            assert_eq!(row, &random[t * e..(t + 1) * e], "token {t}");
        }
    }
    // Rows of another width are refused.
    let wrong = CtrParams {
        embedding: 8,
        ..params
    };
    assert!(net::build(&wrong, table.schema()).is_err());
}
