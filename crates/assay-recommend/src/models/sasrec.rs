//! SASRec (Kang and McAuley 2018) as RecBole 1.2.1's `SASRec` with `loss_type = CE`.
//!
//! Item embedding (row 0 padding) plus a learned position embedding, layer norm and dropout,
//! then `layers` transformer blocks (post-norm, as RecBole's `TransformerEncoder`): multi-head
//! self-attention under a causal mask (a position sees itself and earlier ones) with dropout
//! on the attention weights, a dense layer, dropout, residual and layer norm; then a feed-forward
//! of `inner` units with GELU (erf), dropout, residual and layer norm. The output at a user's
//! last item, dotted with every item embedding, is the score. Defaults are RecBole's
//! (`sasrec.yaml`: 2 layers, 2 heads, hidden 64, inner 256, dropout 0.5 on hidden states and
//! attention, layer-norm epsilon 1e-12, weights drawn from N(0, 0.02), biases 0; lr 0.001,
//! batch 2048, 300 epochs, `stopping_step` 10) with `MAX_ITEM_LIST_LENGTH` 50.

use std::path::Path;

use assay_core::{Dataset, Interactions};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::gru4rec::check_training;
use super::nn::{self, embed, layer_norm, linear, CResult, Params};
use super::seqmodel::{self, SeqNet, SequentialModel};
use super::{bad_param, non_negative};
use crate::spec::{non_default, params_from};
use crate::{Capabilities, DenseMemory, Fit, ModelKind, Result, Validate};

/// RecBole's `layer_norm_eps`.
const LAYER_NORM_EPS: f64 = 1e-12;

/// Hyper-parameters of SASRec.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SasRecParams {
    /// Embedding and hidden size.
    pub hidden: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads (they split `hidden`).
    pub heads: usize,
    /// Units of each block's feed-forward layer.
    pub inner: usize,
    /// Dropout on hidden states.
    pub dropout: f32,
    /// Dropout on attention weights.
    pub attn_dropout: f32,
    /// Items of history read (RecBole's `MAX_ITEM_LIST_LENGTH`).
    pub maxlen: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// Training targets (next items) per step.
    pub batch: usize,
    /// Most epochs.
    pub epochs: usize,
    /// Epochs without validation improvement before stopping.
    pub patience: usize,
    /// Stop after the first epoch that ends past this many seconds; 0 for no limit.
    pub max_seconds: f32,
    /// Seed of initialisation, batching and dropout.
    pub seed: u64,
}

impl Default for SasRecParams {
    fn default() -> SasRecParams {
        SasRecParams {
            hidden: 64,
            layers: 2,
            heads: 2,
            inner: 256,
            dropout: 0.5,
            attn_dropout: 0.5,
            maxlen: 50,
            lr: 0.001,
            batch: 2048,
            epochs: 300,
            patience: 10,
            max_seconds: 0.0,
            seed: 0,
        }
    }
}

/// One transformer block's parameters.
#[derive(Debug)]
struct Block {
    q: (Tensor, Tensor),
    k: (Tensor, Tensor),
    v: (Tensor, Tensor),
    attn_out: (Tensor, Tensor),
    attn_norm: (Tensor, Tensor),
    ff_in: (Tensor, Tensor),
    ff_out: (Tensor, Tensor),
    ff_norm: (Tensor, Tensor),
}

/// The SASRec network.
#[derive(Debug)]
struct SasNet {
    params: Params,
    heads: usize,
    dropout: f32,
    attn_dropout: f32,
    items: Tensor,
    positions: Tensor,
    norm: (Tensor, Tensor),
    blocks: Vec<Block>,
}

impl SasNet {
    fn new(p: &SasRecParams, n_items: usize) -> CResult<SasNet> {
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let h = p.hidden;
        let mut params = Params::default();
        let items = normal(&mut params, &mut rng, "item_embedding", &[n_items + 1, h])?;
        let positions = normal(&mut params, &mut rng, "position_embedding", &[p.maxlen, h])?;
        let mut linear_layer =
            |params: &mut Params, name: &str, out: usize, inp: usize| -> CResult<(Tensor, Tensor)> {
                let w = normal(params, &mut rng, &format!("{name}.weight"), &[out, inp])?;
                let b = params.add(&format!("{name}.bias"), &[out], vec![0.0; out])?;
                Ok((w, b))
            };
        let norm_layer = |params: &mut Params, name: &str| -> CResult<(Tensor, Tensor)> {
            let g = params.add(&format!("{name}.weight"), &[h], vec![1.0; h])?;
            let b = params.add(&format!("{name}.bias"), &[h], vec![0.0; h])?;
            Ok((g, b))
        };
        let norm = norm_layer(&mut params, "layer_norm")?;
        let mut blocks = Vec::with_capacity(p.layers);
        for l in 0..p.layers {
            let name = |part: &str| format!("layer.{l}.{part}");
            blocks.push(Block {
                q: linear_layer(&mut params, &name("query"), h, h)?,
                k: linear_layer(&mut params, &name("key"), h, h)?,
                v: linear_layer(&mut params, &name("value"), h, h)?,
                attn_out: linear_layer(&mut params, &name("attention_dense"), h, h)?,
                attn_norm: norm_layer(&mut params, &name("attention_layer_norm"))?,
                ff_in: linear_layer(&mut params, &name("dense_1"), p.inner, h)?,
                ff_out: linear_layer(&mut params, &name("dense_2"), h, p.inner)?,
                ff_norm: norm_layer(&mut params, &name("feed_forward_layer_norm"))?,
            });
        }
        Ok(SasNet {
            params,
            heads: p.heads,
            dropout: p.dropout,
            attn_dropout: p.attn_dropout,
            items,
            positions,
            norm,
            blocks,
        })
    }
}

/// A parameter drawn from N(0, 0.02), RecBole's `initializer_range`. RecBole draws the
/// embedding's padding row too (its init overrides `padding_idx`); that row never reaches a
/// scored position or the softmax, so its value does not matter.
fn normal(
    params: &mut Params,
    rng: &mut ChaCha8Rng,
    name: &str,
    shape: &[usize],
) -> CResult<Tensor> {
    let n = shape.iter().product();
    params.add(name, shape, nn::normal(rng, n, 0.02))
}

/// Multi-head self-attention of `(batch, len, hidden)` states under the additive `mask`
/// `(len, len)`, before the output layer: `softmax(Q K^T / sqrt(d) + mask) V` per head, heads
/// concatenated. Dropout on the attention weights when `rng` is given.
fn attention(
    x: &Tensor,
    block: &Block,
    heads: usize,
    mask: &Tensor,
    attn_dropout: f32,
    rng: Option<&mut ChaCha8Rng>,
) -> CResult<Tensor> {
    let (batch, len, hidden) = x.dims3()?;
    let d = hidden / heads;
    let split = |t: Tensor| -> CResult<Tensor> {
        t.reshape((batch, len, heads, d))?.transpose(1, 2)?.contiguous()
    };
    let q = split(linear(x, &block.q.0, &block.q.1)?)?;
    let k = split(linear(x, &block.k.0, &block.k.1)?)?;
    let v = split(linear(x, &block.v.0, &block.v.1)?)?;
    let scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?.broadcast_add(mask)?;
    let weights = nn::dropout(&assay_train::ops::softmax_last_dim(&scores)?, attn_dropout, rng)?;
    weights
        .matmul(&v)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape((batch, len, hidden))
}

impl SeqNet for SasNet {
    fn forward(&self, tokens: &Tensor, mut rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor> {
        let (_, len) = tokens.dims2()?;
        let x = embed(&self.items, tokens)?.broadcast_add(&self.positions.narrow(0, 0, len)?)?;
        let x = layer_norm(&x, &self.norm.0, &self.norm.1, LAYER_NORM_EPS)?;
        let mut x = nn::dropout(&x, self.dropout, rng.as_deref_mut())?;
        let mask = nn::causal_mask(len)?.to_device(&Device::Cpu)?;
        for block in &self.blocks {
            let a = attention(&x, block, self.heads, &mask, self.attn_dropout, rng.as_deref_mut())?;
            let a = nn::dropout(&linear(&a, &block.attn_out.0, &block.attn_out.1)?, self.dropout, rng.as_deref_mut())?;
            let x1 = layer_norm(&(a + &x)?, &block.attn_norm.0, &block.attn_norm.1, LAYER_NORM_EPS)?;
            let f = assay_train::ops::gelu_erf(&linear(&x1, &block.ff_in.0, &block.ff_in.1)?)?;
            let f = nn::dropout(&linear(&f, &block.ff_out.0, &block.ff_out.1)?, self.dropout, rng.as_deref_mut())?;
            x = layer_norm(&(f + &x1)?, &block.ff_norm.0, &block.ff_norm.1, LAYER_NORM_EPS)?;
        }
        Ok(x)
    }

    fn item_table(&self) -> &Tensor {
        &self.items
    }

    fn params(&self) -> &Params {
        &self.params
    }
}

impl Fit for SasRecParams {
    type Model = SequentialModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<SequentialModel> {
        self.fit_with(train, data, validate, &|_, _| {})
    }
}

impl ModelKind for SasRecParams {
    const NAME: &'static str = "sasrec";
    const CAPABILITIES: Capabilities = Capabilities::ITERATIVE;

    fn parse(_: &str, params: &str) -> std::result::Result<SasRecParams, String> {
        params_from(
            params,
            &[
                ("hidden_size", "hidden"),
                ("n_layers", "layers"),
                ("n_heads", "heads"),
                ("inner_size", "inner"),
                ("hidden_dropout_prob", "dropout"),
                ("attn_dropout_prob", "attn_dropout"),
                ("learning_rate", "lr"),
                ("train_batch_size", "batch"),
                ("stopping_step", "patience"),
                ("max_item_list_length", "maxlen"),
            ],
        )
    }

    fn params_text(&self) -> String {
        non_default(self)
    }

    fn load(dir: &Path) -> Result<SequentialModel> {
        seqmodel::load_kind::<Self>(dir)
    }

    /// The logits of one step and their gradient, the attention weights of one step, and the
    /// item table with its gradient and Adam's two moments.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let logits = assay_core::memory::dense_bytes(&[3, self.batch, n_items], 4);
        let attention = assay_core::memory::dense_bytes(
            &[4 * self.layers.max(1), self.batch, self.heads, self.maxlen],
            4,
        );
        let tables = assay_core::memory::dense_bytes(&[5, n_items + n_users, self.hidden], 4);
        Some(DenseMemory {
            bytes: logits.saturating_add(attention).saturating_add(tables),
            what: format!(
                "{} x {n_items} logits per step (full softmax), attention weights and the item \
                 table",
                self.batch
            ),
            instead: "use a smaller batch, or ease or itemknn",
        })
    }

    fn with_seed(&self, seed: u64) -> SasRecParams {
        SasRecParams { seed, ..*self }
    }

    fn check(&self) -> Result<()> {
        if self.hidden == 0 {
            return bad_param("hidden", 0, "must be at least 1");
        }
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return bad_param("heads", self.heads, "must be at least 1 and divide hidden");
        }
        if self.layers == 0 {
            return bad_param("layers", 0, "must be at least 1");
        }
        if self.inner == 0 {
            return bad_param("inner", 0, "must be at least 1");
        }
        for (name, p) in [("dropout", self.dropout), ("attn_dropout", self.attn_dropout)] {
            if !(non_negative(p) && p < 1.0) {
                return bad_param(name, p, "must lie in [0, 1)");
            }
        }
        check_training(
            self.maxlen,
            self.lr,
            self.batch,
            self.epochs,
            self.max_seconds,
        )
    }

    fn fit_with(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<SequentialModel> {
        seqmodel::fit_kind(self, train, data, validate, on_epoch)
    }
}

impl seqmodel::SequentialKind for SasRecParams {
    fn schedule(&self) -> seqmodel::Schedule {
        seqmodel::Schedule {
            epochs: self.epochs,
            patience: self.patience,
            lr: self.lr as f64,
            batch: self.batch,
            max_seconds: self.max_seconds as f64,
            seed: self.seed,
            maxlen: self.maxlen,
        }
    }

    fn network(&self, n_items: usize) -> CResult<Box<dyn SeqNet>> {
        Ok(Box::new(SasNet::new(self, n_items)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eye() -> (Tensor, Tensor) {
        (
            Tensor::new(&[[1.0f32, 0.0], [0.0, 1.0]], &Device::Cpu).unwrap(),
            Tensor::zeros(2, candle_core::DType::F32, &Device::Cpu).unwrap(),
        )
    }

    /// Two positions, two dimensions, Q = K = V = the input (identity projections), the
    /// causal mask: worked out by hand below.
    #[test]
    fn self_attention_matches_a_hand_computation() {
        let block = Block {
            q: eye(),
            k: eye(),
            v: eye(),
            attn_out: eye(),
            attn_norm: eye(),
            ff_in: eye(),
            ff_out: eye(),
            ff_norm: eye(),
        };
        let x = Tensor::new(&[[[1.0f32, 0.0], [0.0, 1.0]]], &Device::Cpu).unwrap();
        let mask = nn::causal_mask(2).unwrap();
        let out = |heads| -> Vec<f32> {
            attention(&x, &block, heads, &mask, 0.0, None)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap()
        };
        // One head (d = 2). Position 0 sees only itself: its value (1, 0). Position 1 scores
        // (x1 . x0, x1 . x1) / sqrt(2) = (0, 0.70711): weights 1 / (1 + e^0.70711) = 0.33028
        // and 0.66972, so (0.33028, 0.66972).
        let one = out(1);
        let want = [1.0, 0.0, 0.330_28, 0.669_72];
        assert!(one.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4), "{one:?}");
        // Two heads (d = 1), one per dimension. Head 0 at position 1 scores (0 * 1, 0 * 0) =
        // (0, 0): weights (0.5, 0.5) over values (1, 0), so 0.5. Head 1 scores (1 * 0, 1 * 1)
        // = (0, 1): weights (0.26894, 0.73106) over values (0, 1), so 0.73106.
        let two = out(2);
        let want = [1.0, 0.0, 0.5, 0.731_06];
        assert!(two.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-4), "{two:?}");
    }
}
