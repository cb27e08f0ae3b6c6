//! The ONNX Runtime encoder (int8 all-MiniLM-L6-v2) against sentence-transformers' own fp32
//! vectors (see tests/fixtures/README.md). Without the packs of `assay data fetch ort`
//! (`assay_fetch::samples`) each test says `SKIPPED:` on the terminal and passes.
#![cfg(feature = "ort")]

use assay_encoder::{cosine, BertEncoder, CachedEncoder, Encoder, EncoderOptions, OrtEncoder};
use assay_fetch::samples::sample_dirs_or_skip;
use assay_fetch::{Home, Pack, ONNXRUNTIME_LIBRARY};

#[derive(serde::Deserialize)]
struct Reference {
    sentences: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let text = include_str!("fixtures/minilm_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

/// The encoder from the fetched packs, or `None` (after a `SKIPPED:` line) when they are not
/// there.
fn encoder(threads: usize) -> Option<OrtEncoder> {
    sample_dirs_or_skip(&Pack::ORT)?;
    Some(OrtEncoder::from_packs(&Home::from_env(), threads).expect("the fetched packs load"))
}

/// The MiniLM folder (its tokenizer) and ONNX Runtime's library, or `None` after a `SKIPPED:`
/// line.
fn tokenizer_and_library() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let dirs = sample_dirs_or_skip(&[Pack::Minilm, Pack::OnnxRuntime])?;
    Some((dirs[0].clone(), dirs[1].join(ONNXRUNTIME_LIBRARY)))
}

#[test]
fn int8_onnx_matches_sentence_transformers() {
    let Some(encoder) = encoder(2) else { return };
    assert_eq!(encoder.dim(), 384);
    assert!(encoder
        .model_id()
        .starts_with("onnx:all-MiniLM-L6-v2-int8-onnx@"));
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let got = encoder.encode(&texts).expect("encodes");
    assert_eq!(got.len(), texts.len());
    let want = &reference.vectors;
    let mut worst = 1.0f32;
    for (i, (text, have)) in texts.iter().zip(&got).enumerate() {
        let c = cosine(&want[i], have);
        let norm: f32 = have.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "{text:?} not unit length: {norm}"
        );
        eprintln!("int8 ONNX vs sentence-transformers fp32: {c:.7} for {text:.40?}");
        worst = worst.min(c);
        // The bars come from the reference vectors, not from measuring the int8 model.
        // 1. Quantization moves a text's vector less than the distance between two different
        //    texts: the int8 vector is nearer its own fp32 vector than any other reference
        //    text's fp32 vector is.
        let others = (0..texts.len()).filter(|&j| j != i);
        let closest_other = others
            .clone()
            .map(|j| cosine(&want[i], &want[j]))
            .fold(f32::MIN, f32::max);
        assert!(
            c > closest_other,
            "{text:?}: cosine to its own fp32 vector {c} <= {closest_other} to another text's"
        );
        // 2. Search finds the same nearest other text with either model.
        let nearest = |vectors: &[Vec<f32>]| {
            others
                .clone()
                .max_by(|&a, &b| {
                    cosine(&vectors[i], &vectors[a]).total_cmp(&cosine(&vectors[i], &vectors[b]))
                })
                .unwrap()
        };
        assert_eq!(
            nearest(&got),
            nearest(want),
            "{text:?}: nearest text differs"
        );
    }
    eprintln!("int8 ONNX: worst cosine to the fp32 vectors: {worst:.7}");
    // Padding does not leak into the mean: alone or in a padded batch, the same vector.
    for (i, text) in texts.iter().enumerate() {
        let single = encoder.encode_one(text).expect("encodes");
        assert!(
            cosine(&single, &got[i]) > 0.99999,
            "{text:?} alone differs from in a batch"
        );
    }
}

#[test]
fn one_and_two_threads_agree_and_the_cache_serves_them() {
    let Some(one) = encoder(1) else { return };
    // A second encoder in the same process reuses the loaded library.
    let two = encoder(2).expect("second encoder");
    let texts = ["red dress for wedding", "blue running shoe", "无线蓝牙耳机"];
    let a = one.encode(&texts).expect("encodes");
    let b = two.encode(&texts).expect("encodes");
    for (x, y) in a.iter().zip(&b) {
        assert!(cosine(x, y) > 0.99999);
    }
    assert_eq!(one.model_id(), two.model_id());
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = {
        let cache = CachedEncoder::open(&one, tmp.path()).expect("cache opens");
        cache.encode(&texts).expect("encodes")
    };
    let cache = CachedEncoder::open(&two, tmp.path()).expect("cache reopens");
    assert_eq!(cache.len(), 3);
    assert_eq!(
        cache.encode(&["blue running shoe"]).expect("cached")[0],
        first[1]
    );
}

/// A minimal hand-encoded ONNX protobuf (ir_version 7, opset 13): `Identity` nodes from each
/// named input to an output, every tensor 2-D with symbolic dims. Field numbers are those of
/// onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
fn tiny_onnx(inputs: &[(&str, u64)], identities: &[(&str, &str, u64)]) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes(field: u64, data: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(data.len() as u64, out);
        out.extend_from_slice(data);
    }
    fn int(field: u64, v: u64, out: &mut Vec<u8>) {
        varint(field << 3, out);
        varint(v, out);
    }
    // ValueInfoProto{name, type: TypeProto{tensor_type{elem_type, shape{dim{dim_param} x2}}}}
    fn value_info(name: &str, elem_type: u64) -> Vec<u8> {
        let mut shape = Vec::new();
        for param in ["batch", "sequence"] {
            let mut dim = Vec::new();
            bytes(2, param.as_bytes(), &mut dim);
            bytes(1, &dim, &mut shape);
        }
        let mut tensor = Vec::new();
        int(1, elem_type, &mut tensor);
        bytes(2, &shape, &mut tensor);
        let mut ty = Vec::new();
        bytes(1, &tensor, &mut ty);
        let mut info = Vec::new();
        bytes(1, name.as_bytes(), &mut info);
        bytes(2, &ty, &mut info);
        info
    }
    let mut graph = Vec::new();
    for (from, to, _) in identities {
        let mut node = Vec::new();
        bytes(1, from.as_bytes(), &mut node);
        bytes(2, to.as_bytes(), &mut node);
        bytes(4, b"Identity", &mut node);
        bytes(1, &node, &mut graph);
    }
    bytes(2, b"tiny", &mut graph);
    for (name, elem_type) in inputs {
        bytes(11, &value_info(name, *elem_type), &mut graph);
    }
    for (_, to, elem_type) in identities {
        bytes(12, &value_info(to, *elem_type), &mut graph);
    }
    let mut opset = Vec::new();
    bytes(1, b"", &mut opset);
    int(2, 13, &mut opset);
    let mut model = Vec::new();
    int(1, 7, &mut model);
    bytes(7, &graph, &mut model);
    bytes(8, &opset, &mut model);
    model
}

#[test]
fn models_that_are_not_bert_sentence_models_are_refused() {
    const FLOAT: u64 = 1;
    const INT64: u64 = 7;
    let Some((tokenizer_dir, library)) = tokenizer_and_library() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let load = |name: &str, bytes: &[u8]| {
        let model = tmp.path().join(name);
        std::fs::write(&model, bytes).expect("write");
        OrtEncoder::load(&library, &model, &tokenizer_dir, &Default::default())
            .expect_err("refused")
            .to_string()
    };
    // Not an ONNX file at all: ONNX Runtime's parse error comes back as an error.
    let err = load("garbage.onnx", b"this is not a protobuf");
    assert!(err.starts_with("ONNX Runtime: loading "), "{err}");
    // A valid graph with an image-model input.
    let err = load(
        "pixels.onnx",
        &tiny_onnx(&[("pixel_values", FLOAT)], &[("pixel_values", "y", FLOAT)]),
    );
    assert!(
        err.ends_with("pixels.onnx: unexpected input 'pixel_values'; a BERT sentence model takes input_ids, attention_mask and optionally token_type_ids"),
        "{err}"
    );
    // The right inputs but no float output to pool.
    let err = load(
        "ids.onnx",
        &tiny_onnx(
            &[("input_ids", INT64), ("attention_mask", INT64)],
            &[("input_ids", "ids_out", INT64)],
        ),
    );
    assert!(
        err.contains("ids.onnx: outputs ids_out (") && err.contains("expected last_hidden_state"),
        "{err}"
    );
    // input_ids as float is named with its type.
    let err = load(
        "float_ids.onnx",
        &tiny_onnx(
            &[("input_ids", FLOAT), ("attention_mask", INT64)],
            &[("input_ids", "y", FLOAT)],
        ),
    );
    assert!(err.contains("input 'input_ids' is "), "{err}");
    assert!(
        err.ends_with("expected a [batch, sequence] int64 tensor"),
        "{err}"
    );
}

/// The smallest cosine between the vectors of `a` and `b`, text by text, after checking that
/// both are unit length.
fn worst_cosine(texts: &[&str], a: &[Vec<f32>], b: &[Vec<f32>], what: &str) -> f32 {
    assert_eq!(a.len(), texts.len());
    assert_eq!(b.len(), texts.len());
    let mut worst = 1.0f32;
    for ((text, x), y) in texts.iter().zip(a).zip(b) {
        let text: String = text.chars().take(40).collect();
        for v in [x, y] {
            let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            assert!(
                (norm - 1.0).abs() < 1e-4,
                "{text:?} not unit length: {norm}"
            );
        }
        let c = cosine(x, y);
        eprintln!("{what}: {c:.7} for {text:?}");
        worst = worst.min(c);
    }
    worst
}

/// The fp32 graph that assay writes from all-MiniLM-L6-v2's safetensors, run by ONNX Runtime,
/// gives the candle encoder's vectors and sentence-transformers' (the fixture, made by
/// PyTorch), on every fixture text: English, Chinese, accents, the empty string, one letter
/// and a text truncated at 256 tokens.
#[test]
fn graph_written_from_minilm_matches_candle_and_sentence_transformers() {
    let Some((minilm, library)) = tokenizer_and_library() else {
        return;
    };
    let options = EncoderOptions {
        batch_size: 4,
        threads: 2,
        max_seq_length: None,
    };
    let ort = OrtEncoder::load_folder(&library, &minilm, &options).expect("the graph loads");
    assert_eq!(ort.dim(), 384);
    assert!(
        ort.model_id().starts_with("onnx:all-MiniLM-L6-v2@"),
        "{}",
        ort.model_id()
    );
    let candle = BertEncoder::load(&minilm, &options).expect("the model loads");
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    assert!(texts.contains(&"") && texts.iter().any(|t| t.len() > 1000));
    let got = ort.encode(&texts).expect("encodes");
    let want = candle.encode(&texts).expect("encodes");
    let worst = worst_cosine(&texts, &got, &want, "written graph vs candle");
    assert!(worst >= 0.99999, "worst cosine to candle {worst}");
    let worst = worst_cosine(&texts, &got, &reference.vectors, "written graph vs PyTorch");
    assert!(
        worst >= 0.99999,
        "worst cosine to sentence-transformers {worst}"
    );
    // Alone or in a padded batch, the same vector: padding does not leak into the attention.
    for (text, v) in texts.iter().zip(&got) {
        let single = ort.encode_one(text).expect("encodes");
        assert!(cosine(&single, v) > 0.99999, "{text:?} alone differs");
    }
    // ONNX Runtime's fused operators compute the same.
    let fused =
        OrtEncoder::load_folder_with(&library, &minilm, assay_encoder::Operators::Fused, &options)
            .expect("the fused graph loads")
            .encode(&texts)
            .expect("encodes");
    let worst = worst_cosine(&texts, &fused, &want, "fused graph vs candle");
    assert!(
        worst >= 0.99999,
        "fused graph: worst cosine to candle {worst}"
    );
    // The 8-bit graph agrees closely, not exactly: its weights and activations are rounded.
    // Its id differs from the full-precision graph's, so cached vectors never mix.
    let int8 =
        OrtEncoder::load_folder_with(&library, &minilm, assay_encoder::Operators::Int8, &options)
            .expect("the int8 graph loads");
    assert!(int8.model_id().starts_with("onnx-int8:all-MiniLM-L6-v2@"));
    let int8 = int8.encode(&texts).expect("encodes");
    let worst = worst_cosine(&texts, &int8, &reference.vectors, "int8 graph vs PyTorch");
    // Measured: 0.980 worst (the empty string), 0.984 the 256-token text, 0.990-0.996 the rest.
    assert!(
        worst >= 0.975,
        "int8 graph: worst cosine to PyTorch {worst}"
    );
    // The file written to disk is the graph run in memory: same vectors, bit for bit.
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("minilm.onnx");
    assay_encoder::write_bert_onnx(&minilm, &file).expect("writes");
    let from_file = OrtEncoder::load(&library, &file, &minilm, &options).expect("loads");
    assert_eq!(from_file.encode(&texts).expect("encodes"), got);
}

/// Words of the tiny model's vocabulary.
const WORDS: [&str; 12] = [
    "red", "blue", "dress", "shirt", "shoes", "silk", "summer", "winter", "jigsaw", "puzzle",
    "kids", "warm",
];

/// A tiny random BERT (2 layers, 8 wide, 2 heads, tanh GELU in the layers when `tanh_gelu`)
/// with a word-level tokenizer that truncates at 12 tokens, in the layout of a
/// sentence-transformers folder; weights from a seeded stream.
fn tiny_model(dir: &std::path::Path, seed: u64, tanh_gelu: bool) {
    use candle_core::{Device, Tensor};
    use rand::{Rng, SeedableRng};
    const HIDDEN: usize = 8;
    let vocab_size = WORDS.len() + 4;
    let config = serde_json::json!({
        "vocab_size": vocab_size, "hidden_size": HIDDEN, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 16,
        "hidden_act": if tanh_gelu { "geluapproximate" } else { "gelu" },
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 16, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "model_type": "bert"
    });
    std::fs::write(dir.join("config.json"), config.to_string()).expect("write");
    let mut vocab = serde_json::Map::new();
    for (i, t) in ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
        .iter()
        .chain(&WORDS)
        .enumerate()
    {
        vocab.insert((*t).into(), i.into());
    }
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": null, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).expect("write");
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 12}"#,
    )
    .expect("write");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut uniform = |name: String, shape: &[usize], center: f32, spread: f32| {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|_| center + spread * (2.0 * rng.random::<f32>() - 1.0))
            .collect();
        (
            name,
            Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor"),
        )
    };
    let mut tensors = vec![
        uniform(
            "embeddings.word_embeddings.weight".into(),
            &[vocab_size, HIDDEN],
            0.0,
            1.0,
        ),
        uniform(
            "embeddings.position_embeddings.weight".into(),
            &[16, HIDDEN],
            0.0,
            0.3,
        ),
        uniform(
            "embeddings.token_type_embeddings.weight".into(),
            &[2, HIDDEN],
            0.0,
            0.3,
        ),
        uniform("embeddings.LayerNorm.weight".into(), &[HIDDEN], 1.0, 0.1),
        uniform("embeddings.LayerNorm.bias".into(), &[HIDDEN], 0.0, 0.1),
    ];
    for l in 0..2 {
        let p = format!("encoder.layer.{l}");
        for (name, rows, cols) in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
            ("intermediate.dense", 16, HIDDEN),
            ("output.dense", HIDDEN, 16),
        ] {
            tensors.push(uniform(
                format!("{p}.{name}.weight"),
                &[rows, cols],
                0.0,
                0.5,
            ));
            tensors.push(uniform(format!("{p}.{name}.bias"), &[rows], 0.0, 0.1));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            tensors.push(uniform(format!("{p}.{norm}.weight"), &[HIDDEN], 1.0, 0.1));
            tensors.push(uniform(format!("{p}.{norm}.bias"), &[HIDDEN], 0.0, 0.1));
        }
    }
    assay_train::save_safetensors(&dir.join("model.safetensors"), &tensors).expect("save");
}

/// A checkpoint of `assay finetune`'s trainer carries its ONNX graph, and ONNX Runtime on that
/// graph gives the candle encoder's vectors of the same folder, with either GELU.
#[test]
fn fine_tuned_checkpoint_runs_on_onnx_runtime_like_candle() {
    use assay_encoder::{BiEncoderTrainer, FinetuneOptions, Freeze};
    use assay_train::{AdamWConfig, Decay, TrainConfig};
    let Some(dirs) = sample_dirs_or_skip(&[Pack::OnnxRuntime]) else {
        return;
    };
    let library = dirs[0].join(ONNXRUNTIME_LIBRARY);
    let texts = [
        "red silk dress",
        "kids jigsaw puzzle",
        "warm winter shoes",
        "",
        "unknown words only",
        "red blue dress shirt shoes silk summer winter jigsaw puzzle kids warm red blue",
    ];
    for tanh_gelu in [false, true] {
        let base = tempfile::tempdir().expect("tempdir");
        tiny_model(base.path(), 7, tanh_gelu);
        let options = FinetuneOptions {
            freeze: Freeze::None,
            scale: 20.0,
            max_seq_length: None,
            dropout: true,
            encode_batch_size: 4,
            train: TrainConfig {
                epochs: 1,
                batch_size: 3,
                lr: 1e-2,
                warmup_fraction: 0.0,
                decay: Decay::Constant,
                adamw: AdamWConfig::default(),
                max_grad_norm: Some(1.0),
                patience: 1,
                min_delta: 0.0,
                max_seconds: None,
                seed: 3,
            },
        };
        let mut trainer =
            BiEncoderTrainer::load(base.path(), &options, 3, None).expect("trainer loads");
        for _ in 0..3 {
            trainer
                .step(
                    &["red dress", "kids puzzle", "warm shoes"],
                    &["red silk dress", "jigsaw puzzle kids", "warm winter shoes"],
                    &["red jigsaw puzzle"],
                    &[1.0, 1.0, 1.0],
                )
                .expect("steps");
        }
        let out = tempfile::tempdir().expect("tempdir");
        trainer
            .save(out.path(), &serde_json::json!({}))
            .expect("saves");
        assert!(out.path().join(assay_encoder::ONNX_FILE).is_file());
        let options = EncoderOptions {
            batch_size: 4,
            threads: 1,
            max_seq_length: None,
        };
        let candle = BertEncoder::load(out.path(), &options).expect("loads");
        let ort = OrtEncoder::load_folder(&library, out.path(), &options).expect("loads");
        assert_eq!(ort.dim(), 8);
        let want = candle.encode(&texts).expect("encodes");
        let got = ort.encode(&texts).expect("encodes");
        let worst = worst_cosine(&texts, &got, &want, "fine-tuned graph vs candle");
        assert!(
            worst >= 0.99999,
            "tanh GELU {tanh_gelu}: worst cosine {worst}"
        );
        // The folder's model.onnx is the standard graph; the fused and 8-bit graphs are
        // written from its weights even though the file is there.
        let int8 = OrtEncoder::load_folder_with(
            &library,
            out.path(),
            assay_encoder::Operators::Int8,
            &options,
        )
        .expect("loads");
        assert!(
            int8.model_id().starts_with("onnx-int8:"),
            "{}",
            int8.model_id()
        );
        let int8 = int8.encode(&texts).expect("encodes");
        let worst = worst_cosine(&texts, &int8, &want, "int8 fine-tuned graph vs candle");
        // Measured: 0.99998 worst; rounded, so not the fp32 graph's vectors.
        assert!(
            worst >= 0.9995,
            "int8, tanh GELU {tanh_gelu}: worst cosine {worst}"
        );
        assert_ne!(int8, got);
        let fused = OrtEncoder::load_folder_with(
            &library,
            out.path(),
            assay_encoder::Operators::Fused,
            &options,
        )
        .expect("loads")
        .encode(&texts)
        .expect("encodes");
        let worst = worst_cosine(&texts, &fused, &want, "fused fine-tuned graph vs candle");
        assert!(
            worst >= 0.99999,
            "fused, tanh GELU {tanh_gelu}: worst cosine {worst}"
        );
        // Training moved the weights, and the graph follows them: the pretrained folder's
        // graph gives other vectors.
        let before = OrtEncoder::load_folder(&library, base.path(), &options)
            .expect("loads")
            .encode(&texts)
            .expect("encodes");
        assert!(
            cosine(&before[0], &got[0]) < 0.9999,
            "training changed nothing"
        );
        assert_ne!(
            OrtEncoder::load_folder(&library, base.path(), &options)
                .expect("loads")
                .model_id(),
            ort.model_id()
        );
    }
}
