//! DeepFM as the reward model of DM and the DR family: a click table of the logged rounds
//! (context features as numeric fields, the action and the position as categorical ones) and
//! of every (round, action, position), cross-fitted over the rounds.

use assay_bandit::{DenseRewards, LoggedFeedback};
use assay_recommend::ctr::{self, Cell, CtrKind, CtrParams, Field, TableBuilder, ValidMetric};

/// Cross-fitting folds, as the logistic reward model's OBP default.
const FOLDS: usize = 3;

/// Which reward model DM and DR use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RewardModelArg {
    /// L2-regularised logistic regression on `[context, action context]` per position (OBP's).
    Lr,
    /// DeepFM over the context features, the action and the position, trained with early
    /// stopping on the LogLoss of a held-out tenth.
    Deepfm,
}

/// DeepFM's settings for a reward model: small, LogLoss for calibration, since DM averages the
/// predicted probabilities themselves.
pub fn deepfm_params(seed: u64) -> CtrParams {
    CtrParams {
        embedding: 8,
        hidden: vec![32, 32],
        dropout: 0.0,
        lr: 0.005,
        batch: 256,
        epochs: 200,
        patience: 10,
        metric: ValidMetric::LogLoss,
        seed,
        ..CtrParams::defaults(CtrKind::DeepFm)
    }
}

/// Cross-fitted DeepFM predictions `q(round, action, position)` for every round of `logs`.
pub fn deepfm_rewards(logs: &LoggedFeedback, seed: u64) -> anyhow::Result<DenseRewards> {
    let (n, n_actions, len_list, dim) = (
        logs.n_rounds(),
        logs.n_actions(),
        logs.len_list(),
        logs.context_dim(),
    );
    let per_round = n_actions * len_list;
    assay_core::memory::check(
        assay_core::memory::dense_bytes(&[n, per_round + 1, dim + 2], 8),
        || format!("a click table of {n} rounds x {n_actions} actions x {len_list} positions"),
        "use --reward-model lr, or fewer rounds",
    )?;
    let mut fields: Vec<Field> = (0..dim)
        .map(|d| Field {
            name: format!("x{d}"),
            slots: 1,
        })
        .collect();
    fields.push(Field {
        name: "action".into(),
        slots: 1,
    });
    fields.push(Field {
        name: "position".into(),
        slots: 1,
    });
    let mut builder = TableBuilder::new(fields);
    let row = |round: usize, action: usize, position: usize| -> Vec<Cell> {
        let mut cells: Vec<Cell> = logs
            .context_row(round)
            .iter()
            .map(|&x| Cell::Number(x as f32))
            .collect();
        cells.push(Cell::Tokens(vec![action.to_string()]));
        cells.push(Cell::Tokens(vec![position.to_string()]));
        cells
    };
    for r in 0..n {
        let cells = row(r, logs.action()[r] as usize, logs.position()[r] as usize);
        builder.push(&cells, "", logs.reward()[r] > 0.0);
    }
    for r in 0..n {
        for a in 0..n_actions {
            for p in 0..len_list {
                builder.push(&row(r, a, p), "", false);
            }
        }
    }
    let table = builder.finish();
    let values = ctr::cross_fit(&deepfm_params(seed), &table, n, per_round, FOLDS)?;
    Ok(DenseRewards::new(n, n_actions, len_list, values)?)
}
