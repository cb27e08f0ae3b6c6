//! The candle encoder against sentence-transformers' own vectors (see tests/fixtures/README.md).
//! Without the `minilm` sample pack each test says `SKIPPED:` on the terminal and passes.

use assay_encoder::{cosine, BertEncoder, CachedEncoder, Encoder, EncoderOptions};
use assay_fetch::samples::sample_data_or_skip;
use assay_fetch::Pack;

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let text = include_str!("fixtures/minilm_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

#[test]
fn candle_matches_sentence_transformers() {
    let Some(dir) = sample_data_or_skip(Pack::Minilm) else {
        return;
    };
    let encoder = BertEncoder::load(
        &dir,
        &EncoderOptions {
            batch_size: 4,
            threads: 2,
            max_seq_length: None,
        },
    )
    .expect("model loads");
    assert_eq!(encoder.dim(), 384);
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let got = encoder.encode(&texts).expect("encodes");
    let mut worst = 1.0f32;
    for ((text, want), have) in texts.iter().zip(&reference.vectors).zip(&got) {
        let c = cosine(want, have);
        let norm: f32 = have.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "{text:?} not unit length: {norm}"
        );
        assert!(c >= 0.999, "{text:?}: cosine {c} < 0.999");
        worst = worst.min(c);
    }
    eprintln!("worst cosine to sentence-transformers: {worst:.7}");
    // One at a time gives the same vectors as in a padded batch.
    let single = encoder.encode_one(texts[0]).expect("encodes");
    assert!(cosine(&single, &got[0]) > 0.99999);
}

#[test]
fn cached_bert_is_served_from_disk() {
    let Some(dir) = sample_data_or_skip(Pack::Minilm) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let encoder = BertEncoder::load(&dir, &EncoderOptions::default()).expect("model loads");
    let first = {
        let cache = CachedEncoder::open(&encoder, tmp.path()).expect("cache opens");
        cache.encode(&["red dress", "blue shoe"]).expect("encodes")
    };
    let cache = CachedEncoder::open(&encoder, tmp.path()).expect("cache reopens");
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.encode(&["blue shoe"]).expect("cached")[0], first[1]);
}
