//! Tests of the fusion recommenders: each fusion against a hand computation, the text
//! hashing, spec names, seeds, save and load.

use super::*;

fn t(values: &[f32], shape: (usize, usize)) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape, &Device::Cpu).unwrap()
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-5, "{a:?} != {b:?}");
    }
}

#[test]
fn gated_fusion_matches_a_hand_computation() {
    // One item, two modalities, d = 2: h1 = (1, 2), h2 = (3, -1).
    let hs = [t(&[1.0, 2.0], (1, 2)), t(&[3.0, -1.0], (1, 2))];
    // Gate logits: g1 = sigmoid(x . (1, 0, 0, 0) + 0) = sigmoid(1),
    // g2 = sigmoid(x . (0, 0, 0, 1) - 1) = sigmoid(-1 - 1) = sigmoid(-2).
    let w = t(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], (2, 4));
    let b = Tensor::new(&[0.0f32, -1.0], &Device::Cpu).unwrap();
    let (z, g) = fuse(FusionMethod::Gate, &hs, &[(w, Some(b))]).unwrap();
    let s = |x: f32| 1.0 / (1.0 + (-x).exp());
    let (g1, g2) = (s(1.0), s(-2.0)); // 0.7310586, 0.1192029
    close(&g.unwrap().flatten_all().unwrap().to_vec1().unwrap(), &[g1, g2]);
    let want = [g1 * 1.0 + g2 * 3.0, g1 * 2.0 - g2];
    close(&z.flatten_all().unwrap().to_vec1().unwrap(), &want);
    close(&want, &[1.0886673, 1.3429143]);
}

#[test]
fn attention_fusion_matches_a_hand_computation() {
    // h1 = (0, 0), h2 = (1, 1); q = (1, 1): scores 0 and 2 tanh(1) = 1.5231884.
    let hs = [t(&[0.0, 0.0], (1, 2)), t(&[1.0, 1.0], (1, 2))];
    let q = Tensor::new(&[1.0f32, 1.0], &Device::Cpu).unwrap();
    let (z, a) = fuse(FusionMethod::Attn, &hs, &[(q, None)]).unwrap();
    let e = 1.5231884f32.exp();
    let (a1, a2) = (1.0 / (1.0 + e), e / (1.0 + e)); // 0.1790, 0.8210
    close(&a.unwrap().flatten_all().unwrap().to_vec1().unwrap(), &[a1, a2]);
    close(&z.flatten_all().unwrap().to_vec1().unwrap(), &[a2, a2]);
    close(&[a2], &[0.8210145]);
}

#[test]
fn concat_fusion_is_the_mlp_of_the_concatenation() {
    let hs = [t(&[1.0, -2.0], (1, 2)), t(&[0.5, 4.0], (1, 2))];
    // Layer 1 (2 x 4) picks x0 - x1 and x3: (1 + 2, 4) = (3, 4), then bias (0, -5)
    // gives (3, -1), relu (3, 0); layer 2 = [[1, 1], [2, 0]] + (0.5, 0) gives (3.5, 6).
    let w1 = t(&[1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], (2, 4));
    let b1 = Tensor::new(&[0.0f32, -5.0], &Device::Cpu).unwrap();
    let w2 = t(&[1.0, 1.0, 2.0, 0.0], (2, 2));
    let b2 = Tensor::new(&[0.5f32, 0.0], &Device::Cpu).unwrap();
    let (z, _) = fuse(FusionMethod::Concat, &hs, &[(w1, Some(b1)), (w2, Some(b2))]).unwrap();
    close(&z.flatten_all().unwrap().to_vec1().unwrap(), &[3.5, 6.0]);
}

#[test]
fn hashed_words_share_buckets_for_shared_words() {
    let a = hashed_words("Red Sofa", 64);
    let b = hashed_words("red SOFA!", 64);
    assert_eq!(a, b);
    let norm: f32 = a.iter().map(|x| x * x).sum();
    assert!((norm - 1.0).abs() < 1e-6);
    assert!(hashed_words("", 8).iter().all(|&x| x == 0.0));
}

#[test]
fn names_round_trip_through_specs() {
    for name in [
        "fusion-concat",
        "fusion-gate",
        "fusion-attn",
        "fusion-text",
        "fusion-image",
        "fusion-behaviour",
    ] {
        let spec = crate::ModelSpec::parse(name).unwrap();
        assert_eq!(spec.to_string(), name);
    }
    let spec = crate::ModelSpec::parse("fusion-gate:modalities=text+image;dim=8").unwrap();
    let text = spec.to_string();
    assert!(text.starts_with("fusion-gate:"), "{text}");
    assert!(text.contains("dim=8") && text.contains("modalities=text+image"), "{text}");
    assert!(!text.contains("method"), "{text}");
    assert_eq!(crate::ModelSpec::parse(&spec.to_string()).unwrap(), spec);
    let err = crate::ModelSpec::parse("fusion-concat:modalities=smell").unwrap_err();
    assert!(err.to_string().contains("modalities"), "{err}");
}

/// Six items in two looks (image vectors), two words each, and three users.
fn tiny() -> (Dataset, Interactions) {
    let mut data = Dataset::default();
    for (i, title) in ["red sofa", "red chair", "red lamp", "blue sofa", "blue chair", "blue lamp"]
        .iter()
        .enumerate()
    {
        data.items.intern(&format!("i{i}"));
        data.items.title[i] = (*title).to_owned();
    }
    let look = |i: usize| if i < 3 { [1.0, 0.0, 0.5] } else { [0.0, 1.0, -0.5] };
    data.items.image = Some(assay_core::ItemVectors {
        dim: 3,
        data: (0..6).flat_map(look).collect(),
    });
    for u in 0..3 {
        data.users.intern(&format!("u{u}"));
    }
    let train = Interactions::from_triples(
        3,
        6,
        [(0, 0, 1.0), (0, 1, 1.0), (1, 3, 1.0), (1, 4, 1.0), (2, 0, 1.0), (2, 5, 1.0)],
    );
    (data, train)
}

#[test]
fn same_seed_same_weights_and_save_load_round_trips_the_scores() {
    let (data, train) = tiny();
    for name in ["fusion-concat", "fusion-gate", "fusion-attn", "fusion-text"] {
        let spec = crate::ModelSpec::parse(&format!("{name}:epochs=3;negatives=4;dim=4"))
            .unwrap();
        let params = spec.params::<FusionParams>().unwrap();
        let a = params.fit(&train, &data, None).unwrap();
        let b = params.fit(&train, &data, None).unwrap();
        assert_eq!(a.item_vectors(), b.item_vectors(), "{name}");
        let c = FusionParams {
            seed: 1,
            ..params.clone()
        }
        .fit(&train, &data, None)
        .unwrap();
        assert_ne!(a.item_vectors(), c.item_vectors(), "{name}");
        assert_eq!(a.training_log().unwrap().epochs.len(), 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model");
        a.save(&path).unwrap();
        let loaded = crate::load_model(&path).unwrap();
        assert_eq!(loaded.kind(), name);
        for u in 0..3 {
            let (mut x, mut y) = (vec![0.0; 6], vec![0.0; 6]);
            a.score_user(u, &mut x);
            loaded.score_user(u, &mut y);
            assert_eq!(x, y, "{name} user {u}");
        }
    }
}

#[test]
fn the_image_modality_needs_image_vectors() {
    let (mut data, train) = tiny();
    data.items.image = None;
    let err = FusionParams::for_name("fusion-image")
        .fit(&train, &data, None)
        .unwrap_err();
    assert!(err.to_string().contains("items.image"), "{err}");
}

#[test]
fn the_text_modality_reads_the_datasets_text_vectors_when_it_has_them() {
    let (mut data, train) = tiny();
    let params = FusionParams::for_name("fusion-text");
    // Without text vectors: the hashed words, `text_dim` wide.
    let hashed = inputs(&params, &[Modality::Text], &train, &data).unwrap();
    assert_eq!(hashed[0].0, params.text_dim);
    // With them: those vectors, standardised per column. Column 0 is (0, 0, 0, 2, 2, 2):
    // mean 1, variance 1, so (-1, -1, -1, 1, 1, 1); column 1 is constant, so 0.
    data.items.text = Some(assay_core::ItemVectors {
        dim: 2,
        data: (0..6)
            .flat_map(|i| [if i < 3 { 0.0 } else { 2.0 }, 7.0])
            .collect(),
    });
    let text = inputs(&params, &[Modality::Text], &train, &data).unwrap();
    assert_eq!(text[0].0, 2);
    let want: Vec<f32> = (0..6)
        .flat_map(|i| [if i < 3 { -1.0 } else { 1.0 }, 0.0])
        .collect();
    close(&text[0].1, &want);
    // Vectors for another catalog are refused, naming the counts.
    data.items.text.as_mut().unwrap().data.truncate(10);
    let err = params.fit(&train, &data, None).unwrap_err();
    assert!(err.to_string().contains("5 text vectors"), "{err}");
}
