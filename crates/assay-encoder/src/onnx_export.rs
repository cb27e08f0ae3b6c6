//! The ONNX graph of a BERT sentence model, written from its safetensors: what ONNX Runtime
//! runs for [`crate::OrtEncoder`] without PyTorch in the loop.
//!
//! The graph takes `input_ids`, `attention_mask` and `token_type_ids` (`[batch, sequence]`,
//! int64, both axes dynamic) and returns `last_hidden_state` (`[batch, sequence, hidden]`,
//! f32), which the encoder mean-pools and normalises. Every weight is an f32 initializer; the
//! operators are those of the default ONNX domain at opset 17 (`LayerNormalization` is
//! 17's), the same computation as the candle forward pass ([`crate::BertEncoder`]): embeddings
//! and their layer norm, then per layer self-attention with the padded keys masked by the most
//! negative float, the output projection and residual layer norm, the feed-forward block with
//! the configured activation (erf GELU for MiniLM) and its residual layer norm. ONNX Runtime's
//! own graph optimisations fuse the layer norms with their residual additions and the GELU
//! with its bias.
//!
//! The protobuf messages are the subset of `onnx.proto` (ONNX's IR version 8) that such a graph
//! needs, declared in [`proto`] with `prost`'s derive; field numbers are onnx.proto's.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::{Config, HiddenAct};
use prost::Message;

use crate::bert::{read_json, required};
use crate::{EncoderError, Result};

/// The file name of the graph in a model folder: `assay finetune` writes it beside
/// `model.safetensors`, and [`crate::OrtEncoder::load_folder`] runs it when present.
pub const ONNX_FILE: &str = "model.onnx";

/// The ONNX IR version written (ONNX 1.13+, which ONNX Runtime 1.14 and later read).
pub const IR_VERSION: i64 = 8;
/// The opset of the default domain.
pub const OPSET: i64 = 17;

/// The subset of onnx.proto that a BERT graph needs.
pub(crate) mod proto;

use proto::{Attribute, Dimension, DimensionValue, Node, TensorProto, ValueInfo};

const FLOAT: i32 = 1;
const INT8: i32 = 3;
const INT32: i32 = 6;
const INT64: i32 = 7;
/// ONNX Runtime's domain of fused operators.
const CONTRIB: &str = "com.microsoft";

/// Which operators the graph is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operators {
    /// ONNX's default domain only (opset 17): any ONNX runtime runs it, and ONNX Runtime fuses
    /// what it recognises when it loads it.
    Standard,
    /// ONNX Runtime's fused BERT operators (`com.microsoft` `Attention`,
    /// `SkipLayerNormalization`, `BiasGelu` or `FastGelu`) where they apply: ONNX Runtime only.
    Fused,
    /// The standard graph with every dense layer in 8-bit integers: weights quantized per
    /// output column when the graph is written, activations per matrix product when it runs
    /// (ONNX Runtime's `com.microsoft` `DynamicQuantizeMatMul`, its integer matrix kernels).
    /// Faster than fp32 on CPUs with integer dot-product instructions, at a small cost in
    /// agreement with the fp32 model. ONNX Runtime only.
    Int8,
}

/// An attribute of a node.
enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
}

/// Nodes and initializers, with fresh names for the intermediate values.
struct Builder {
    nodes: Vec<Node>,
    initializers: Vec<TensorProto>,
    next: usize,
}

impl Builder {
    /// A node `op` of `inputs`, with one output named after `hint`; returns that name.
    fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, hint: &str) -> String {
        self.next += 1;
        let out = format!("{hint}_{}", self.next);
        self.node(op, inputs, attrs, &out);
        out
    }

    /// A node `op` of ONNX Runtime's contrib domain (`com.microsoft`), with one output.
    fn contrib(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, Attr)>,
        hint: &str,
    ) -> String {
        let out = self.op(op, inputs, attrs, hint);
        if let Some(node) = self.nodes.last_mut() {
            node.domain = CONTRIB.into();
        }
        out
    }

    /// A node `op` of `inputs` writing `output`.
    fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, output: &str) {
        let attribute = attrs
            .into_iter()
            .map(|(name, a)| {
                let mut attr = Attribute {
                    name: name.to_owned(),
                    ..Attribute::default()
                };
                match a {
                    Attr::Float(f) => {
                        attr.f = Some(f);
                        attr.r#type = 1;
                    }
                    Attr::Int(i) => {
                        attr.i = Some(i);
                        attr.r#type = 2;
                    }
                    Attr::Ints(v) => {
                        attr.ints = v;
                        attr.r#type = 7;
                    }
                }
                attr
            })
            .collect();
        self.nodes.push(Node {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![output.to_owned()],
            name: format!("{op}_{}", self.nodes.len()),
            op_type: op.to_owned(),
            attribute,
            domain: String::new(),
        });
    }

    /// An initializer `name` of element type `data_type`, shape `dims` and little-endian
    /// elements `raw_data`.
    fn initializer(
        &mut self,
        name: &str,
        dims: &[usize],
        data_type: i32,
        raw_data: Vec<u8>,
    ) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            name: name.to_owned(),
            raw_data,
        });
        name.to_owned()
    }

    /// An f32 initializer `name` of shape `dims`.
    fn floats(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializer(name, dims, FLOAT, raw)
    }

    /// The f32 scalar initializer `name` holding `value`, made on first use.
    fn scalar(&mut self, name: &str, value: f32) -> String {
        if !self.initializers.iter().any(|t| t.name == name) {
            self.floats(name, &[], &[value]);
        }
        name.to_owned()
    }

    /// An int8 initializer `name` of shape `dims`.
    fn int8s(&mut self, name: &str, dims: &[usize], data: &[i8]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), data.len());
        self.initializer(name, dims, INT8, data.iter().map(|&x| x as u8).collect())
    }

    /// An int64 initializer `name` of shape `[data.len()]`.
    fn int64s(&mut self, name: &str, data: &[i64]) -> String {
        let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializer(name, &[data.len()], INT64, raw)
    }
}

/// A `[batch, sequence, ...]` value of element type `elem` with the given fixed trailing dims.
fn value_info(name: &str, elem: i32, trailing: &[i64]) -> ValueInfo {
    let mut dim = vec![
        Dimension {
            value: Some(DimensionValue::Param("batch".into())),
        },
        Dimension {
            value: Some(DimensionValue::Param("sequence".into())),
        },
    ];
    dim.extend(trailing.iter().map(|&d| Dimension {
        value: Some(DimensionValue::Value(d)),
    }));
    ValueInfo {
        name: name.to_owned(),
        r#type: Some(proto::TypeProto {
            tensor_type: Some(proto::TensorType {
                elem_type: elem,
                shape: Some(proto::Shape { dim }),
            }),
        }),
    }
}

/// The f32 tensors of a safetensors file by name, without the `bert.` prefix some files carry.
struct Weights {
    tensors: HashMap<String, Tensor>,
    prefix: &'static str,
    path: std::path::PathBuf,
}

impl Weights {
    fn load(path: &Path) -> Result<Weights> {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| {
            EncoderError::BadModel {
                path: path.to_owned(),
                reason: e.to_string(),
            }
        })?;
        let prefix = if tensors.keys().any(|k| k.starts_with("bert.embeddings.")) {
            "bert."
        } else {
            ""
        };
        Ok(Weights {
            tensors,
            prefix,
            path: path.to_owned(),
        })
    }

    /// The tensor `name` as f32 values, checked to have shape `dims`.
    fn get(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let bad = |reason: String| EncoderError::BadModel {
            path: self.path.clone(),
            reason,
        };
        let t = self
            .tensors
            .get(&full)
            .ok_or_else(|| bad(format!("no tensor `{full}`")))?;
        if t.dims() != dims {
            return Err(bad(format!(
                "tensor `{full}` has shape {:?}; the config implies {dims:?}",
                t.dims()
            )));
        }
        t.to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| bad(format!("tensor `{full}`: {e}")))
    }

    /// The weight `(out, in)` of the dense layer `name` transposed to `(in, out)`, as ONNX's
    /// `MatMul` takes it, and its bias.
    fn dense(&self, name: &str, inputs: usize, outputs: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        let w = self.get(&format!("{name}.weight"), &[outputs, inputs])?;
        let mut t = vec![0f32; w.len()];
        for o in 0..outputs {
            for i in 0..inputs {
                t[i * outputs + o] = w[o * inputs + i];
            }
        }
        Ok((t, self.get(&format!("{name}.bias"), &[outputs])?))
    }
}

/// The largest integer of the quantized weights. x86 CPUs without VNNI multiply unsigned by
/// signed bytes with an instruction that saturates pairs of products at 16 bits, so there the
/// weights keep 7 bits (ONNX Runtime's "reduce range") to stay exact; with VNNI, and on other
/// architectures, the full 8.
fn int8_levels() -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vnni")
            || std::arch::is_x86_feature_detected!("avxvnni")
        {
            127.0
        } else {
            63.0
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        127.0
    }
}

/// Symmetric quantization of a row-major `[inputs, outputs]` weight, one scale per output
/// column: `w ~ q * scale` with `q` in `[-levels, levels]`. A column of zeros gets scale 1.
fn quantize_columns(w: &[f32], outputs: usize, levels: f32) -> (Vec<i8>, Vec<f32>) {
    let mut largest = vec![0f32; outputs];
    for row in w.chunks(outputs) {
        for (m, x) in largest.iter_mut().zip(row) {
            *m = m.max(x.abs());
        }
    }
    let scales: Vec<f32> = largest
        .iter()
        .map(|&m| if m > 0.0 { m / levels } else { 1.0 })
        .collect();
    let q = w
        .chunks(outputs)
        .flat_map(|row| {
            row.iter()
                .zip(&scales)
                .map(|(x, s)| (x / s).round().clamp(-levels, levels) as i8)
        })
        .collect();
    (q, scales)
}

/// The ONNX model (serialised `ModelProto`) of the BERT sentence model in `dir` (`config.json`
/// and `model.safetensors`, as all-MiniLM-L6-v2 or a folder of `assay finetune`).
pub fn bert_onnx(dir: &Path) -> Result<Vec<u8>> {
    bert_onnx_with(dir, Operators::Standard)
}

/// [`bert_onnx`] made of `operators`.
pub fn bert_onnx_with(dir: &Path, operators: Operators) -> Result<Vec<u8>> {
    let config_path = required(dir, "config.json")?;
    let weights_path = required(dir, "model.safetensors")?;
    let config: Config =
        serde_json::from_value(read_json(&config_path)?).map_err(|source| EncoderError::Json {
            path: config_path.clone(),
            source,
        })?;
    let weights = Weights::load(&weights_path)?;
    Ok(build(&config, &weights, &config_path, operators)?.encode_to_vec())
}

/// Writes [`bert_onnx`] of `dir` to `out` (atomically: a reader never sees half a file).
pub fn write_bert_onnx(dir: &Path, out: &Path) -> Result<()> {
    let bytes = bert_onnx(dir)?;
    assay_fetch::write_atomically(out, |w| w.write_all(&bytes)).map_err(|source| EncoderError::Io {
        path: out.to_owned(),
        source,
    })
}

fn build(
    config: &Config,
    weights: &Weights,
    config_path: &Path,
    operators: Operators,
) -> Result<proto::Model> {
    // The fused GELU operators are erf's (BiasGelu) and tanh's (FastGelu); ReLU stays plain.
    let fused = operators == Operators::Fused;
    let int8 = operators == Operators::Int8;
    let levels = int8_levels();
    let hidden = config.hidden_size;
    let heads = config.num_attention_heads;
    if heads == 0 || !hidden.is_multiple_of(heads) {
        return Err(EncoderError::BadModel {
            path: config_path.to_owned(),
            reason: format!("hidden size {hidden} is not a multiple of {heads} attention heads"),
        });
    }
    let head_dim = hidden / heads;
    let inner = config.intermediate_size;
    let eps = config.layer_norm_eps as f32;
    let mut g = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
        next: 0,
    };

    // Constants.
    let one = g.scalar("one", 1.0);
    let most_negative = g.scalar("most_negative", f32::MIN);
    let scale = g.scalar("attention_scale", 1.0 / (head_dim as f32).sqrt());
    let zero_index = g.int64s("zero_index", &[0]);
    let mask_axes = g.int64s("mask_axes", &[1, 2]);
    let split_shape = g.int64s("split_shape", &[0, 0, heads as i64, head_dim as i64]);
    let merge_shape = g.int64s("merge_shape", &[0, 0, hidden as i64]);

    // Embeddings: word + position (the first `sequence` rows) + token type, layer-normed.
    let vocab = config.vocab_size;
    let word = weights.get("embeddings.word_embeddings.weight", &[vocab, hidden])?;
    let word = g.floats("word_embeddings", &[vocab, hidden], &word);
    let positions = config.max_position_embeddings;
    let position = weights.get(
        "embeddings.position_embeddings.weight",
        &[positions, hidden],
    )?;
    let position = g.floats("position_embeddings", &[positions, hidden], &position);
    let types = config.type_vocab_size;
    let token_type = weights.get("embeddings.token_type_embeddings.weight", &[types, hidden])?;
    let token_type = g.floats("token_type_embeddings", &[types, hidden], &token_type);
    let norm = |g: &mut Builder, name: &str| -> Result<(String, String)> {
        let w = weights.get(&format!("{name}.weight"), &[hidden])?;
        let b = weights.get(&format!("{name}.bias"), &[hidden])?;
        Ok((
            g.floats(&format!("{name}.weight"), &[hidden], &w),
            g.floats(&format!("{name}.bias"), &[hidden], &b),
        ))
    };

    let words = g.op(
        "Gather",
        &[&word, "input_ids"],
        vec![("axis", Attr::Int(0))],
        "words",
    );
    let sequence = g.op(
        "Shape",
        &["input_ids"],
        vec![("start", Attr::Int(1)), ("end", Attr::Int(2))],
        "sequence",
    );
    let position_rows = g.op(
        "Slice",
        &[&position, &zero_index, &sequence, &zero_index],
        vec![],
        "positions",
    );
    let type_rows = g.op(
        "Gather",
        &[&token_type, "token_type_ids"],
        vec![("axis", Attr::Int(0))],
        "token_types",
    );
    let sum = g.op("Add", &[&words, &position_rows], vec![], "embeddings");
    let sum = g.op("Add", &[&sum, &type_rows], vec![], "embeddings");
    let (nw, nb) = norm(&mut g, "embeddings.LayerNorm")?;
    let mut x = g.op(
        "LayerNormalization",
        &[&sum, &nw, &nb],
        vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(eps))],
        "embedded",
    );

    // 0 where attended, the most negative float where padded: [batch, 1, 1, sequence]; the
    // fused attention takes the 0/1 mask itself, as int32.
    let mask = if fused {
        g.op(
            "Cast",
            &["attention_mask"],
            vec![("to", Attr::Int(INT32 as i64))],
            "mask_i32",
        )
    } else {
        let mask = g.op(
            "Cast",
            &["attention_mask"],
            vec![("to", Attr::Int(FLOAT as i64))],
            "mask",
        );
        let mask = g.op("Unsqueeze", &[&mask, &mask_axes], vec![], "mask");
        let mask = g.op("Sub", &[&one, &mask], vec![], "padding");
        g.op("Mul", &[&mask, &most_negative], vec![], "mask_bias")
    };

    let layers = config.num_hidden_layers;
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        let dense = |g: &mut Builder, x: &str, name: &str, i: usize, o: usize| -> Result<String> {
            let (w, b) = weights.dense(&format!("{p}.{name}"), i, o)?;
            let b = g.floats(&format!("{p}.{name}.bias"), &[o], &b);
            if int8 {
                let (q, scales) = quantize_columns(&w, o, levels);
                let q = g.int8s(&format!("{p}.{name}.weight_in_out_int8"), &[i, o], &q);
                let s = g.floats(&format!("{p}.{name}.weight_scale"), &[o], &scales);
                return Ok(g.contrib(
                    "DynamicQuantizeMatMul",
                    &[x, &q, &s, "", &b],
                    vec![],
                    "dense",
                ));
            }
            let w = g.floats(&format!("{p}.{name}.weight_in_out"), &[i, o], &w);
            let y = g.op("MatMul", &[x, &w], vec![], "matmul");
            Ok(g.op("Add", &[&y, &b], vec![], "dense"))
        };
        let heads_of = |g: &mut Builder, t: &str, perm: Vec<i64>| {
            let t = g.op("Reshape", &[t, &split_shape], vec![], "split");
            g.op(
                "Transpose",
                &[&t],
                vec![("perm", Attr::Ints(perm))],
                "heads",
            )
        };
        if fused {
            x = fused_layer(&mut g, weights, config, &p, &x, &mask, l + 1 == layers)?;
            continue;
        }
        let q = dense(&mut g, &x, "attention.self.query", hidden, hidden)?;
        let k = dense(&mut g, &x, "attention.self.key", hidden, hidden)?;
        let v = dense(&mut g, &x, "attention.self.value", hidden, hidden)?;
        let q = heads_of(&mut g, &q, vec![0, 2, 1, 3]);
        let k = heads_of(&mut g, &k, vec![0, 2, 3, 1]);
        let v = heads_of(&mut g, &v, vec![0, 2, 1, 3]);
        let scores = g.op("MatMul", &[&q, &k], vec![], "scores");
        let scores = g.op("Mul", &[&scores, &scale], vec![], "scaled");
        let scores = g.op("Add", &[&scores, &mask], vec![], "masked");
        let probs = g.op(
            "Softmax",
            &[&scores],
            vec![("axis", Attr::Int(-1))],
            "probs",
        );
        let context = g.op("MatMul", &[&probs, &v], vec![], "context");
        let context = g.op(
            "Transpose",
            &[&context],
            vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))],
            "context",
        );
        let context = g.op("Reshape", &[&context, &merge_shape], vec![], "context");
        let attended = dense(&mut g, &context, "attention.output.dense", hidden, hidden)?;
        let attended = g.op("Add", &[&attended, &x], vec![], "residual");
        let (nw, nb) = norm(&mut g, &format!("{p}.attention.output.LayerNorm"))?;
        let attended = g.op(
            "LayerNormalization",
            &[&attended, &nw, &nb],
            vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(eps))],
            "attended",
        );
        let h = dense(&mut g, &attended, "intermediate.dense", hidden, inner)?;
        let h = activation(&mut g, &h, config.hidden_act);
        let out = dense(&mut g, &h, "output.dense", inner, hidden)?;
        let out = g.op("Add", &[&out, &attended], vec![], "residual");
        let (nw, nb) = norm(&mut g, &format!("{p}.output.LayerNorm"))?;
        let attrs = vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(eps))];
        if l + 1 == layers {
            g.node(
                "LayerNormalization",
                &[&out, &nw, &nb],
                attrs,
                "last_hidden_state",
            );
            x = "last_hidden_state".into();
        } else {
            x = g.op("LayerNormalization", &[&out, &nw, &nb], attrs, "hidden");
        }
    }
    if layers == 0 {
        g.node("Identity", &[&x], vec![], "last_hidden_state");
    }

    // Constants of the other variant's operators are not written.
    let read: std::collections::HashSet<&str> = g
        .nodes
        .iter()
        .flat_map(|n| n.input.iter().map(String::as_str))
        .collect();
    let initializers: Vec<TensorProto> = g
        .initializers
        .into_iter()
        .filter(|t| read.contains(t.name.as_str()))
        .collect();
    let graph = proto::Graph {
        node: g.nodes,
        name: "bert".into(),
        initializer: initializers,
        input: ["input_ids", "attention_mask", "token_type_ids"]
            .iter()
            .map(|n| value_info(n, INT64, &[]))
            .collect(),
        output: vec![value_info("last_hidden_state", FLOAT, &[hidden as i64])],
    };
    Ok(proto::Model {
        ir_version: IR_VERSION,
        producer_name: "assay".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: "BERT sentence encoder: last_hidden_state, to mean-pool over attention_mask"
            .into(),
        graph: Some(graph),
        opset_import: std::iter::once(proto::OperatorSetId {
            domain: String::new(),
            version: OPSET,
        })
        .chain((fused || int8).then(|| proto::OperatorSetId {
            domain: CONTRIB.into(),
            version: 1,
        }))
        .collect(),
    })
}

/// One transformer layer of ONNX Runtime's fused operators: `Attention` (the three
/// projections in one `(in, 3 * hidden)` product, the mask as int32), the output projection
/// and `SkipLayerNormalization` (residual, bias and norm in one), the feed-forward product with
/// `BiasGelu` (erf) or `FastGelu` (tanh), and a second `SkipLayerNormalization`.
fn fused_layer(
    g: &mut Builder,
    weights: &Weights,
    config: &Config,
    p: &str,
    x: &str,
    mask_i32: &str,
    last: bool,
) -> Result<String> {
    let hidden = config.hidden_size;
    let inner = config.intermediate_size;
    let eps = config.layer_norm_eps as f32;
    let mut qkv_w = vec![0f32; hidden * 3 * hidden];
    let mut qkv_b = Vec::with_capacity(3 * hidden);
    for (k, name) in ["query", "key", "value"].iter().enumerate() {
        let (w, b) = weights.dense(&format!("{p}.attention.self.{name}"), hidden, hidden)?;
        for i in 0..hidden {
            qkv_w[i * 3 * hidden + k * hidden..i * 3 * hidden + (k + 1) * hidden]
                .copy_from_slice(&w[i * hidden..(i + 1) * hidden]);
        }
        qkv_b.extend_from_slice(&b);
    }
    let qkv_w = g.floats(
        &format!("{p}.attention.qkv.weight_in_out"),
        &[hidden, 3 * hidden],
        &qkv_w,
    );
    let qkv_b = g.floats(&format!("{p}.attention.qkv.bias"), &[3 * hidden], &qkv_b);
    let context = g.contrib(
        "Attention",
        &[x, &qkv_w, &qkv_b, mask_i32],
        vec![("num_heads", Attr::Int(config.num_attention_heads as i64))],
        "attention",
    );
    let product =
        |g: &mut Builder, x: &str, name: &str, i: usize, o: usize| -> Result<(String, String)> {
            let (w, b) = weights.dense(&format!("{p}.{name}"), i, o)?;
            let w = g.floats(&format!("{p}.{name}.weight_in_out"), &[i, o], &w);
            let b = g.floats(&format!("{p}.{name}.bias"), &[o], &b);
            Ok((g.op("MatMul", &[x, &w], vec![], "matmul"), b))
        };
    let norm = |g: &mut Builder, name: &str| -> Result<(String, String)> {
        let w = weights.get(&format!("{name}.weight"), &[hidden])?;
        let b = weights.get(&format!("{name}.bias"), &[hidden])?;
        Ok((
            g.floats(&format!("{name}.weight"), &[hidden], &w),
            g.floats(&format!("{name}.bias"), &[hidden], &b),
        ))
    };
    let (y, b) = product(g, &context, "attention.output.dense", hidden, hidden)?;
    let (nw, nb) = norm(g, &format!("{p}.attention.output.LayerNorm"))?;
    let attended = g.contrib(
        "SkipLayerNormalization",
        &[&y, x, &nw, &nb, &b],
        vec![("epsilon", Attr::Float(eps))],
        "attended",
    );
    let (h, b) = product(g, &attended, "intermediate.dense", hidden, inner)?;
    let h = match config.hidden_act {
        HiddenAct::Gelu => g.contrib("BiasGelu", &[&h, &b], vec![], "gelu"),
        HiddenAct::GeluApproximate => g.contrib("FastGelu", &[&h, &b], vec![], "gelu"),
        HiddenAct::Relu => {
            let h = g.op("Add", &[&h, &b], vec![], "dense");
            g.op("Relu", &[&h], vec![], "relu")
        }
    };
    let (y, b) = product(g, &h, "output.dense", inner, hidden)?;
    let (nw, nb) = norm(g, &format!("{p}.output.LayerNorm"))?;
    let attrs = vec![("epsilon", Attr::Float(eps))];
    let inputs = [y.as_str(), attended.as_str(), &nw, &nb, &b];
    if last {
        g.node(
            "SkipLayerNormalization",
            &inputs,
            attrs,
            "last_hidden_state",
        );
        if let Some(node) = g.nodes.last_mut() {
            node.domain = CONTRIB.into();
        }
        Ok("last_hidden_state".into())
    } else {
        Ok(g.contrib("SkipLayerNormalization", &inputs, attrs, "hidden"))
    }
}

/// The feed-forward activation of `x`: GELU with erf (BERT's, fused by ONNX Runtime), its tanh
/// approximation, or ReLU.
fn activation(g: &mut Builder, x: &str, act: HiddenAct) -> String {
    match act {
        HiddenAct::Relu => g.op("Relu", &[x], vec![], "relu"),
        HiddenAct::Gelu => {
            // x * 0.5 * (1 + erf(x / sqrt(2)))
            let root2 = g.scalar("sqrt2", std::f32::consts::SQRT_2);
            let half = g.scalar("half", 0.5);
            let one = g.scalar("one", 1.0);
            let t = g.op("Div", &[x, &root2], vec![], "gelu");
            let t = g.op("Erf", &[&t], vec![], "gelu");
            let t = g.op("Add", &[&t, &one], vec![], "gelu");
            let t = g.op("Mul", &[x, &t], vec![], "gelu");
            g.op("Mul", &[&t, &half], vec![], "gelu")
        }
        HiddenAct::GeluApproximate => {
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            let c = g.scalar("gelu_c", (2.0 / std::f32::consts::PI).sqrt());
            let k = g.scalar("gelu_k", 0.044715);
            let half = g.scalar("half", 0.5);
            let one = g.scalar("one", 1.0);
            let x3 = g.op("Mul", &[x, x], vec![], "gelu");
            let x3 = g.op("Mul", &[&x3, x], vec![], "gelu");
            let t = g.op("Mul", &[&x3, &k], vec![], "gelu");
            let t = g.op("Add", &[x, &t], vec![], "gelu");
            let t = g.op("Mul", &[&t, &c], vec![], "gelu");
            let t = g.op("Tanh", &[&t], vec![], "gelu");
            let t = g.op("Add", &[&t, &one], vec![], "gelu");
            let t = g.op("Mul", &[x, &t], vec![], "gelu");
            g.op("Mul", &[&t, &half], vec![], "gelu")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_quantize_to_their_own_scale() {
        // [inputs 2, outputs 3]: columns (1, -0.5), (0.25, 0.125), (0, 0).
        let w = [1.0, 0.25, 0.0, -0.5, 0.125, 0.0];
        let (q, scales) = quantize_columns(&w, 3, 127.0);
        assert_eq!(scales, vec![1.0 / 127.0, 0.25 / 127.0, 1.0]);
        // -0.5 * 127 = -63.5 rounds away from zero; 0.125 / 0.25 * 127 = 63.5 likewise.
        assert_eq!(q, vec![127, 127, 0, -64, 64, 0]);
        // Every weight within half a step of its column's scale.
        for (i, (&x, &k)) in w.iter().zip(&q).enumerate() {
            let s = scales[i % 3];
            assert!(
                (x - f32::from(k) * s).abs() <= s / 2.0 + 1e-7,
                "{x} vs {k} * {s}"
            );
        }
        let (q7, _) = quantize_columns(&w, 3, 63.0);
        assert!(q7.iter().all(|&k| (-63..=63).contains(&k)));
    }
}
