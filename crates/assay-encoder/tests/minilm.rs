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

#[test]
fn word_vectors_are_the_mean_of_their_wordpiece_rows() {
    let Some(dir) = sample_data_or_skip(Pack::Minilm) else {
        return;
    };
    // The rows read here another way: the vocabulary by token name, the table by name.
    let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let tensors =
        candle_core::safetensors::load(dir.join("model.safetensors"), &candle_core::Device::Cpu)
            .unwrap();
    let table = tensors
        .iter()
        .find(|(name, _)| name.ends_with("embeddings.word_embeddings.weight"))
        .unwrap()
        .1
        .to_dtype(candle_core::DType::F32)
        .unwrap();
    let row = |token: &str| -> Vec<f32> {
        let id = tokenizer.token_to_id(token).unwrap() as usize;
        table.get(id).unwrap().to_vec1().unwrap()
    };
    let (dim, vectors) =
        assay_encoder::word_vectors(&dir, &["red", "moonbeam", "", "连衣裙"]).unwrap();
    assert_eq!(dim, 384);
    // "red" is one WordPiece token; "moonbeam" two, "moon" and "##beam" (the Python
    // tokenizers library splits it so).
    assert_eq!(vectors[0].as_deref().unwrap(), &row("red")[..]);
    let (moon, beam) = (row("moon"), row("##beam"));
    let mean: Vec<f32> = moon.iter().zip(&beam).map(|(a, b)| (a + b) / 2.0).collect();
    let got = vectors[1].as_deref().unwrap();
    assert!(got.iter().zip(&mean).all(|(a, b)| (a - b).abs() < 1e-6));
    // No token at all, or only characters outside the vocabulary ([UNK] each): no vector.
    assert!(vectors[2].is_none());
    assert!(vectors[3].is_none());
}

#[test]
fn minilm_cannot_read_most_chinese_characters() {
    let Some(dir) = sample_data_or_skip(Pack::Minilm) else {
        return;
    };
    let encoder = BertEncoder::load(&dir, &EncoderOptions::default()).expect("model loads");
    // The Python tokenizers library gives the same tokens: 黑色 休闲衬衫 is six [UNK];
    // 防水 音箱 is [UNK] 水 [UNK] [UNK]; "black shirt" is two known words.
    assert_eq!(encoder.unknown_share("黑色 休闲衬衫"), Some(1.0));
    assert_eq!(encoder.unknown_share("防水 音箱"), Some(0.75));
    assert_eq!(encoder.unknown_share("black shirt"), Some(0.0));
    assert_eq!(encoder.unknown_share(""), None);
}
