//! The ONNX Runtime encoder (int8 all-MiniLM-L6-v2) against sentence-transformers' own fp32
//! vectors (see tests/fixtures/README.md). Without the packs of `assay data fetch ort`
//! (`assay_fetch::samples`) each test says `SKIPPED:` on the terminal and passes.
#![cfg(feature = "ort")]

use assay_encoder::{cosine, CachedEncoder, Encoder, OrtEncoder};
use assay_fetch::samples::{opt_in, sample_dirs_or_skip};
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

/// An fp32 ONNX export of the same model (bench/encoder/export_fp32_onnx.py, run in the
/// benchmark's venv) named by `ASSAY_ONNX_FP32`; says `OPT-IN:` and passes when it is unset, as
/// in CI, which does not install PyTorch.
#[test]
fn fp32_onnx_export_matches_sentence_transformers() {
    let Some(model) = opt_in(
        "ASSAY_ONNX_FP32",
        "an fp32 ONNX export of all-MiniLM-L6-v2 (bench/encoder/export_fp32_onnx.py)",
    ) else {
        return;
    };
    let Some((minilm, library)) = tokenizer_and_library() else {
        return;
    };
    let encoder = OrtEncoder::load(
        &library,
        std::path::Path::new(&model),
        &minilm,
        &assay_encoder::EncoderOptions::default(),
    )
    .expect("the export loads");
    let reference = reference();
    let texts: Vec<&str> = reference.sentences.iter().map(String::as_str).collect();
    let got = encoder.encode(&texts).expect("encodes");
    let mut worst = 1.0f32;
    for ((text, want), have) in texts.iter().zip(&reference.vectors).zip(&got) {
        let c = cosine(want, have);
        assert!(c >= 0.999, "{text:?}: cosine {c} < 0.999");
        worst = worst.min(c);
    }
    eprintln!("fp32 ONNX export vs sentence-transformers: worst cosine {worst:.7}");
}
