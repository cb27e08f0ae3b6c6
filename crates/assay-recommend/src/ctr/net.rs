//! The click networks on candle: logistic regression, DeepFM and the text GRU. Each maps a
//! batch of table rows to one logit per row.

use candle_core::{Device, Tensor, D};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::table::{CtrTable, Schema};
use super::{CtrKind, CtrParams};
use crate::models::gru4rec::gru;
use crate::models::nn::{self, embed, linear, token_tensor, CResult, Params};

/// A batch of rows as tensors.
pub(crate) struct Batch {
    /// `(batch, width)` feature ids.
    pub ids: Tensor,
    /// `(batch, width)` feature values.
    pub values: Tensor,
    /// `(batch, maxlen)` text tokens padded with 0, and the index of each row's last token in
    /// the flattened `(batch * maxlen)` positions.
    pub text: Option<(Tensor, Tensor)>,
}

impl Batch {
    /// The rows `rows` of `table`; text only when `with_text`.
    pub fn of(table: &CtrTable, rows: &[usize], with_text: bool, maxlen: usize) -> CResult<Batch> {
        let width = table.schema().width();
        let mut ids = Vec::with_capacity(rows.len() * width);
        let mut values = Vec::with_capacity(rows.len() * width);
        for &r in rows {
            ids.extend_from_slice(table.ids(r));
            values.extend_from_slice(table.values(r));
        }
        let n = rows.len();
        let text = if with_text {
            // An empty text reads the unknown token, so every row has a last position.
            let unknown = [1u32];
            let token_rows: Vec<&[u32]> = rows
                .iter()
                .map(|&r| {
                    let t = table.tokens(r);
                    if t.is_empty() {
                        &unknown[..]
                    } else {
                        &t[..t.len().min(maxlen)]
                    }
                })
                .collect();
            // Padded to the batch's longest text only: the GRU reads left to right, so the
            // state at a row's last token does not depend on the padding after it.
            let width = token_rows.iter().map(|t| t.len()).max().unwrap_or(1);
            let last: Vec<u32> = token_rows
                .iter()
                .enumerate()
                .map(|(i, t)| (i * width + t.len() - 1) as u32)
                .collect();
            Some((
                token_tensor(&token_rows, width)?,
                Tensor::new(last.as_slice(), &Device::Cpu)?,
            ))
        } else {
            None
        };
        Ok(Batch {
            ids: Tensor::from_vec(ids, (n, width), &Device::Cpu)?,
            values: Tensor::from_vec(values, (n, width), &Device::Cpu)?,
            text,
        })
    }
}

/// A click network: logits of a batch, and its parameters.
pub(crate) trait CtrNet: Send + Sync + std::fmt::Debug {
    /// One logit per row, `(batch,)`. `rng` is given in training: it draws dropout masks.
    fn logits(&self, batch: &Batch, rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor>;

    /// The trainable parameters.
    fn params(&self) -> &Params;
}

/// The network of `params.kind` for tables of `schema`, initialised from `params.seed`.
pub(crate) fn build(params: &CtrParams, schema: &Schema) -> CResult<Box<dyn CtrNet>> {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    Ok(match params.kind {
        CtrKind::Lr => Box::new(Linear::new(schema, &mut rng, &mut Params::default())?),
        CtrKind::DeepFm => Box::new(DeepFm::new(params, schema, &mut rng)?),
        CtrKind::CtrGru => Box::new(TextGru::new(params, schema, &mut rng)?),
    })
}

/// Xavier normal values for a `(rows, cols)` matrix.
fn xavier_normal(rng: &mut ChaCha8Rng, rows: usize, cols: usize) -> Vec<f32> {
    nn::normal(rng, rows * cols, (2.0 / (rows + cols) as f64).sqrt())
}

/// The first-order part: a weight per feature plus a bias; the whole of logistic regression.
#[derive(Debug)]
struct Linear {
    params: Params,
    weights: Tensor,
    bias: Tensor,
}

impl Linear {
    fn new(schema: &Schema, rng: &mut ChaCha8Rng, params: &mut Params) -> CResult<Linear> {
        let n = schema.n_features;
        let weights = params.add("linear.weight", &[n, 1], xavier_normal(rng, n, 1))?;
        let bias = params.add("linear.bias", &[1], vec![0.0])?;
        Ok(Linear {
            params: params.clone(),
            weights,
            bias,
        })
    }

    /// `b + sum_s w[id_s] x_s`, `(batch,)`.
    fn first_order(&self, batch: &Batch) -> CResult<Tensor> {
        let w = embed(&self.weights, &batch.ids)?.squeeze(D::Minus1)?;
        (w * &batch.values)?.sum(1)?.broadcast_add(&self.bias)
    }
}

impl CtrNet for Linear {
    fn logits(&self, batch: &Batch, _: Option<&mut ChaCha8Rng>) -> CResult<Tensor> {
        self.first_order(batch)
    }

    fn params(&self) -> &Params {
        &self.params
    }
}

/// FM's second-order term of `(batch, slots, dim)` embeddings already scaled by their values:
/// `sum_{i<j} <e_i, e_j>` per row, computed as `0.5 * sum_d ((sum_i e_id)^2 - sum_i e_id^2)`.
pub(crate) fn fm_second_order(embedded: &Tensor) -> CResult<Tensor> {
    let square_of_sum = embedded.sum(1)?.sqr()?;
    let sum_of_squares = embedded.sqr()?.sum(1)?;
    (square_of_sum - sum_of_squares)?.sum(D::Minus1)? * 0.5
}

/// DeepFM (Guo et al. 2017) as RecBole's `DeepFM`: a first-order linear part, FM's pairwise
/// interactions of the feature embeddings, and an MLP over the concatenated field embeddings
/// (a multi-valued field's embedding is the mean of its values'), summed into one logit. The
/// FM and the MLP share the embeddings.
#[derive(Debug)]
struct DeepFm {
    params: Params,
    linear: Linear,
    embedding: Tensor,
    field_slots: Vec<usize>,
    layers: Vec<(Tensor, Tensor)>,
    out: (Tensor, Tensor),
    dropout: f32,
}

impl DeepFm {
    fn new(p: &CtrParams, schema: &Schema, rng: &mut ChaCha8Rng) -> CResult<DeepFm> {
        let mut params = Params::default();
        let linear = Linear::new(schema, rng, &mut params)?;
        let (n, dim) = (schema.n_features, p.embedding);
        let embedding = params.add("embedding", &[n, dim], xavier_normal(rng, n, dim))?;
        let mut layers = Vec::new();
        let mut fan_in = schema.fields.len() * dim;
        for (l, &h) in p.hidden.iter().enumerate() {
            let w = params.add(
                &format!("mlp.{l}.weight"),
                &[h, fan_in],
                xavier_normal(rng, h, fan_in),
            )?;
            let b = params.add(&format!("mlp.{l}.bias"), &[h], vec![0.0; h])?;
            layers.push((w, b));
            fan_in = h;
        }
        let out_w = params.add("out.weight", &[1, fan_in], xavier_normal(rng, 1, fan_in))?;
        let out_b = params.add("out.bias", &[1], vec![0.0])?;
        Ok(DeepFm {
            params,
            linear,
            embedding,
            field_slots: schema.fields.iter().map(|f| f.slots).collect(),
            layers,
            out: (out_w, out_b),
            dropout: p.dropout,
        })
    }
}

impl CtrNet for DeepFm {
    fn logits(&self, batch: &Batch, mut rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor> {
        let first = self.linear.first_order(batch)?;
        let embedded =
            embed(&self.embedding, &batch.ids)?.broadcast_mul(&batch.values.unsqueeze(2)?)?;
        let fm = fm_second_order(&embedded)?;
        let mut fields = Vec::with_capacity(self.field_slots.len());
        let mut start = 0;
        for &slots in &self.field_slots {
            fields.push(embedded.narrow(1, start, slots)?.sum(1)?);
            start += slots;
        }
        let mut x = Tensor::cat(&fields, 1)?;
        for (w, b) in &self.layers {
            x = linear(&x, w, b)?.relu()?;
            x = nn::dropout(&x, self.dropout, rng.as_deref_mut())?;
        }
        let deep = linear(&x, &self.out.0, &self.out.1)?.squeeze(D::Minus1)?;
        (first + fm)? + deep
    }

    fn params(&self) -> &Params {
        &self.params
    }
}

/// The text click model: the row's text tokens (query, then title) through an embedding and a
/// GRU; the state after the last token through a dense layer to one logit.
#[derive(Debug)]
struct TextGru {
    params: Params,
    tokens: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    dense: (Tensor, Tensor),
    dropout: f32,
}

impl TextGru {
    fn new(p: &CtrParams, schema: &Schema, rng: &mut ChaCha8Rng) -> CResult<TextGru> {
        let mut params = Params::default();
        let (e, h) = (
            p.embedding,
            p.hidden.first().copied().unwrap_or(p.embedding),
        );
        let n = schema.n_tokens;
        let mut table = xavier_normal(rng, n, e);
        if let Some(init) = &p.token_init {
            let fits = init.rows.iter().flatten().all(|row| row.len() == e);
            if init.dim != e || init.rows.len() != n || !fits {
                return Err(candle_core::Error::Msg(format!(
                    "the initial token embeddings are {} tokens of {} values; the text model \
                     has {n} tokens of {e}",
                    init.rows.len(),
                    init.dim
                )));
            }
            for (t, row) in init.rows.iter().enumerate() {
                if let Some(row) = row {
                    table[t * e..(t + 1) * e].copy_from_slice(row);
                }
            }
        }
        table[..e].fill(0.0);
        let tokens = params.add("token_embedding", &[n, e], table)?;
        let xavier = |fan_in: usize, fan_out: usize| (6.0 / (fan_in + fan_out) as f64).sqrt();
        let w_ih = params.add(
            "gru.weight_ih",
            &[3 * h, e],
            nn::uniform(rng, 3 * h * e, xavier(e, 3 * h)),
        )?;
        let w_hh = params.add(
            "gru.weight_hh",
            &[3 * h, h],
            nn::uniform(rng, 3 * h * h, xavier(h, 3 * h)),
        )?;
        let bound = 1.0 / (h as f64).sqrt();
        let b_ih = params.add("gru.bias_ih", &[3 * h], nn::uniform(rng, 3 * h, bound))?;
        let b_hh = params.add("gru.bias_hh", &[3 * h], nn::uniform(rng, 3 * h, bound))?;
        let dense_w = params.add("dense.weight", &[1, h], nn::uniform(rng, h, bound))?;
        let dense_b = params.add("dense.bias", &[1], vec![0.0])?;
        Ok(TextGru {
            params,
            tokens,
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            dense: (dense_w, dense_b),
            dropout: p.dropout,
        })
    }
}

impl CtrNet for TextGru {
    fn logits(&self, batch: &Batch, rng: Option<&mut ChaCha8Rng>) -> CResult<Tensor> {
        let Some((tokens, last)) = &batch.text else {
            return Err(candle_core::Error::Msg(
                "the text model needs the rows' text".into(),
            ));
        };
        let (b, len) = tokens.dims2()?;
        let x = nn::dropout(&embed(&self.tokens, tokens)?, self.dropout, rng)?;
        let out = gru(&x, &self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh)?;
        let h = out.dim(2)?;
        let state = out.reshape((b * len, h))?.index_select(last, 0)?;
        linear(&state, &self.dense.0, &self.dense.1)?.squeeze(D::Minus1)
    }

    fn params(&self) -> &Params {
        &self.params
    }
}
