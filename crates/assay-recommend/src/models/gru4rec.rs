//! GRU4Rec (Hidasi et al. 2016; Tan et al. 2016's per-prefix training) as RecBole 1.2.1's
//! `GRU4Rec` with `loss_type = CE`.
//!
//! Item embedding (row 0 padding), dropout on the embeddings, one GRU layer (PyTorch's gate
//! equations), a dense layer from the GRU's hidden size back to the embedding size; the
//! output at a user's last item, dotted with every item embedding, is the score. Defaults are
//! RecBole's (`gru4rec.yaml`: embedding 64, hidden 128, one layer, dropout 0.3; lr 0.001, batch
//! 2048, 300 epochs, `stopping_step` 10) with `MAX_ITEM_LIST_LENGTH` 50. Initialisation as
//! RecBole: Xavier normal for the embedding, Xavier uniform for the GRU's weight matrices,
//! PyTorch's uniform `±1/sqrt(fan)` for the GRU biases and the dense layer.

use std::path::Path;

use assay_core::{Dataset, Interactions};
use candle_core::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::nn::{self, embed, linear, CResult, Params};
use super::seqmodel::{self, SeqNet, SequentialModel};
use super::{bad_param, non_negative, positive};
use crate::spec::{non_default, params_from};
use crate::{Capabilities, DenseMemory, Fit, ModelKind, Result, Validate};

/// Hyper-parameters of GRU4Rec.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gru4RecParams {
    /// Item embedding size (and of the output).
    pub embedding: usize,
    /// The GRU's hidden size.
    pub hidden: usize,
    /// Dropout on the item embeddings.
    pub dropout: f32,
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

impl Default for Gru4RecParams {
    fn default() -> Gru4RecParams {
        Gru4RecParams {
            embedding: 64,
            hidden: 128,
            dropout: 0.3,
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

/// The GRU4Rec network.
#[derive(Debug)]
struct GruNet {
    params: Params,
    dropout: f32,
    items: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    dense_w: Tensor,
    dense_b: Tensor,
}

impl GruNet {
    fn new(p: &Gru4RecParams, n_items: usize) -> CResult<GruNet> {
        let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
        let (e, h) = (p.embedding, p.hidden);
        let mut params = Params::default();
        // Xavier normal on (n_items + 1, e); the padding row starts at 0 (`padding_idx`).
        let std = (2.0 / (n_items + 1 + e) as f64).sqrt();
        let mut table = nn::normal(&mut rng, (n_items + 1) * e, std);
        table[..e].fill(0.0);
        let items = params.add("item_embedding", &[n_items + 1, e], table)?;
        let xavier = |fan_in: usize, fan_out: usize| (6.0 / (fan_in + fan_out) as f64).sqrt();
        let w_ih = nn::uniform(&mut rng, 3 * h * e, xavier(e, 3 * h));
        let w_ih = params.add("gru.weight_ih", &[3 * h, e], w_ih)?;
        let w_hh = nn::uniform(&mut rng, 3 * h * h, xavier(h, 3 * h));
        let w_hh = params.add("gru.weight_hh", &[3 * h, h], w_hh)?;
        let bound = 1.0 / (h as f64).sqrt();
        let b_ih = params.add("gru.bias_ih", &[3 * h], nn::uniform(&mut rng, 3 * h, bound))?;
        let b_hh = params.add("gru.bias_hh", &[3 * h], nn::uniform(&mut rng, 3 * h, bound))?;
        let dense_w = params.add("dense.weight", &[e, h], nn::uniform(&mut rng, e * h, bound))?;
        let dense_b = params.add("dense.bias", &[e], nn::uniform(&mut rng, e, bound))?;
        Ok(GruNet {
            params,
            dropout: p.dropout,
            items,
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            dense_w,
            dense_b,
        })
    }
}

/// One GRU layer over `(batch, len, in)` inputs with PyTorch's equations and gate order
/// (reset, update, new), from a zero state: the outputs `(batch, len, hidden)`.
///
/// `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
/// `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 - z) ⊙ n + z ⊙ h`. The input side
/// of every step is one product; the recurrence is the training library's fused layer.
pub(crate) fn gru(
    x: &Tensor,
    w_ih: &Tensor,
    w_hh: &Tensor,
    b_ih: &Tensor,
    b_hh: &Tensor,
) -> CResult<Tensor> {
    assay_train::recurrent::gru(&linear(x, w_ih, b_ih)?, w_hh, b_hh)
}

impl SeqNet for GruNet {
    fn forward(&self, tokens: &Tensor, rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor> {
        let x = nn::dropout(&embed(&self.items, tokens)?, self.dropout, rng)?;
        let out = gru(&x, &self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh)?;
        linear(&out, &self.dense_w, &self.dense_b)
    }

    fn item_table(&self) -> &Tensor {
        &self.items
    }

    fn params(&self) -> &Params {
        &self.params
    }
}

impl Fit for Gru4RecParams {
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

impl ModelKind for Gru4RecParams {
    const NAME: &'static str = "gru4rec";
    const CAPABILITIES: Capabilities = Capabilities::ITERATIVE;

    fn parse(_: &str, params: &str) -> std::result::Result<Gru4RecParams, String> {
        params_from(
            params,
            &[
                ("embedding_size", "embedding"),
                ("hidden_size", "hidden"),
                ("dropout_prob", "dropout"),
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

    /// The logits of one step and their gradient, and the item table with its gradient and
    /// Adam's two moments.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let logits = assay_core::memory::dense_bytes(&[3, self.batch, n_items], 4);
        let tables = assay_core::memory::dense_bytes(&[5, n_items + n_users, self.embedding], 4);
        Some(DenseMemory {
            bytes: logits.saturating_add(tables),
            what: format!(
                "{} x {n_items} logits per step (full softmax) and the item table",
                self.batch
            ),
            instead: "use a smaller batch, or ease or itemknn",
        })
    }

    fn with_seed(&self, seed: u64) -> Gru4RecParams {
        Gru4RecParams { seed, ..*self }
    }

    fn check(&self) -> Result<()> {
        if self.embedding == 0 {
            return bad_param("embedding", 0, "must be at least 1");
        }
        if self.hidden == 0 {
            return bad_param("hidden", 0, "must be at least 1");
        }
        if !(non_negative(self.dropout) && self.dropout < 1.0) {
            return bad_param("dropout", self.dropout, "must lie in [0, 1)");
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

impl seqmodel::SequentialKind for Gru4RecParams {
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
        Ok(Box::new(GruNet::new(self, n_items)?))
    }
}

/// The checks GRU4Rec and SASRec share: window length, learning rate, batch, epochs, time.
pub(crate) fn check_training(
    maxlen: usize,
    lr: f32,
    batch: usize,
    epochs: usize,
    max_seconds: f32,
) -> Result<()> {
    if maxlen == 0 {
        return bad_param("maxlen", 0, "must be at least 1");
    }
    if !positive(lr) {
        return bad_param("lr", lr, "must be a positive number");
    }
    if batch == 0 {
        return bad_param("batch", 0, "must be at least 1");
    }
    if epochs == 0 {
        return bad_param("epochs", 0, "must be at least 1");
    }
    if !non_negative(max_seconds) {
        return bad_param("max_seconds", max_seconds, "must be a non-negative number (0: no limit)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn gru_matches_the_gate_equations_by_hand() {
        // Input and hidden size 1; rows of the weights in gate order reset, update, new.
        let t = |v: &[f32], shape: &[usize]| Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap();
        let x = t(&[1.0, 2.0], &[1, 2, 1]);
        let w_ih = t(&[0.5, -0.5, 1.0], &[3, 1]);
        let w_hh = t(&[0.3, 0.2, -0.4], &[3, 1]);
        let b_ih = t(&[0.1, 0.0, -0.1], &[3]);
        let b_hh = t(&[0.0, 0.2, 0.05], &[3]);
        let out: Vec<f32> = gru(&x, &w_ih, &w_hh, &b_ih, &b_hh)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        // Step 1 from h = 0: r = σ(0.6), z = σ(-0.3), n = tanh(0.9 + r * 0.05),
        // h1 = (1 - z) n = 0.420294...; step 2 from h1 with x = 2 gives 0.774557...
        let expected = [0.420_294_57_f32, 0.774_557_7];
        for (o, e) in out.iter().zip(expected) {
            assert!((o - e).abs() < 1e-6, "{out:?}");
        }
    }

    #[test]
    fn gru_gradient_matches_finite_differences() {
        // d(sum of outputs)/d(w_hh) by autograd against a central difference.
        let t = |v: &[f32], shape: &[usize]| Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap();
        let x = t(&[1.0, -0.5, 0.25, 2.0, 0.5, -1.0], &[1, 3, 2]);
        let w_ih = t(&[0.5, -0.5, 1.0, 0.2, -0.3, 0.4], &[3, 2]);
        let hh = [0.3f32, 0.2, -0.4];
        let b_ih = t(&[0.1, 0.0, -0.1], &[3]);
        let b_hh = t(&[0.0, 0.2, 0.05], &[3]);
        let total = |w: &Tensor| gru(&x, &w_ih, w, &b_ih, &b_hh).unwrap().sum_all().unwrap();
        let var = candle_core::Var::from_tensor(&t(&hh, &[3, 1])).unwrap();
        let grads = total(var.as_tensor()).backward().unwrap();
        let analytic: Vec<f32> = grads.get(var.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let eps = 1e-2f32;
        for k in 0..3 {
            let mut up = hh;
            let mut down = hh;
            up[k] += eps;
            down[k] -= eps;
            let f = |w: [f32; 3]| total(&t(&w, &[3, 1])).to_scalar::<f32>().unwrap();
            let numeric = (f(up) - f(down)) / (2.0 * eps);
            assert!((numeric - analytic[k]).abs() < 1e-3, "{k}: {numeric} vs {}", analytic[k]);
        }
    }
}
