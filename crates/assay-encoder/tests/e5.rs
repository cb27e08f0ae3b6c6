//! The multilingual encoder of the `e5` pack against the vectors of the pack's own Python
//! binding (tests/fixtures/e5_reference.json). Without the pack each test says `SKIPPED:` and
//! passes.
#![cfg(unix)]

use assay_encoder::{cosine, E5Encoder, Encoder, EncoderError, EncoderOptions};
use assay_fetch::samples::sample_dirs_or_skip;
use assay_fetch::Pack;

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn encoder(batch_size: usize) -> Option<E5Encoder> {
    let dirs = sample_dirs_or_skip(&[Pack::E5])?;
    let options = EncoderOptions {
        batch_size,
        threads: 2,
        max_seq_length: None,
    };
    Some(E5Encoder::load(&dirs[0], &options).expect("the fetched pack loads"))
}

#[test]
fn vectors_match_the_packs_own_binding_alone_and_in_batches() {
    let Some(e5) = encoder(3) else {
        return;
    };
    assert_eq!(e5.dim(), 384);
    let reference: Reference =
        serde_json::from_str(include_str!("fixtures/e5_reference.json")).expect("parses");
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    // Three texts per engine call: the batches end in the middle of the list.
    let got = e5.encode(&texts).expect("encodes");
    assert_eq!(got.len(), texts.len());
    for ((text, g), want) in texts.iter().zip(&got).zip(&reference.vectors) {
        let norm: f32 = g.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{text:?}: norm {norm}");
        let c = cosine(g, want);
        assert!(c > 0.9999, "{text:?}: cosine {c} to the binding's vector");
        let alone = e5.encode_one(text).expect("encodes");
        assert!(cosine(&alone, g) > 0.9999, "{text:?} alone differs");
    }
}

#[test]
fn chinese_queries_find_the_product_they_name() {
    let Some(e5) = encoder(8) else {
        return;
    };
    let v = e5
        .encode(&["红色 连衣裙", "红色 丝绸 连衣裙", "红色 儿童 拼图"])
        .expect("encodes");
    // "red dress": the red silk dress above the red jigsaw puzzle (all-MiniLM-L6-v2 reads
    // both as unknown tokens and cannot tell them apart).
    let dress = cosine(&v[0], &v[1]);
    let puzzle = cosine(&v[0], &v[2]);
    assert!(dress > puzzle, "dress {dress} vs puzzle {puzzle}");
}

#[test]
fn a_missing_pack_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = E5Encoder::load(dir.path(), &EncoderOptions::default()).unwrap_err();
    assert!(
        matches!(err, EncoderError::NotFound { pack: "e5", .. }),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("(it comes with the `e5` pack)"),
        "{err}"
    );
}
