//! DeepFM and the text click model as reward models of DM and the DR family: a click table of
//! the logged rounds and of every (round, action, position), cross-fitted over the rounds.
//! DeepFM reads the context features as numeric fields and the action and the position as
//! categorical ones; the text model reads words: the context (each feature as its tercile),
//! the position and the action's title.

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
    /// The text model (embedding, GRU, dense, sigmoid) over the context as words, the position
    /// and the action's title, trained as DeepFM is.
    #[value(name = "ctr-gru")]
    CtrGru,
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

/// The text model's settings for a reward model: small, LogLoss for calibration.
pub fn ctr_gru_params(seed: u64) -> CtrParams {
    CtrParams {
        embedding: 16,
        hidden: vec![16],
        dropout: 0.0,
        lr: 0.005,
        batch: 256,
        epochs: 100,
        patience: 5,
        metric: ValidMetric::LogLoss,
        seed,
        ..CtrParams::defaults(CtrKind::CtrGru)
    }
}

/// Words of a context row: feature `d` is `x{d}lo`, `x{d}mid` or `x{d}hi` by the terciles of a
/// standard normal (below -0.43, up to 0.43, above), so a 0/1 dummy reads `mid` or `hi`.
pub fn context_words(row: &[f64]) -> String {
    let words: Vec<String> = row
        .iter()
        .enumerate()
        .map(|(d, &x)| {
            let bin = if x < -0.43 {
                "lo"
            } else if x <= 0.43 {
                "mid"
            } else {
                "hi"
            };
            format!("x{d}{bin}")
        })
        .collect();
    words.join(" ")
}

/// Cross-fitted text-model predictions `q(round, action, position)` for every round of `logs`;
/// `titles[a]` is action `a`'s title. Errors when no action has a title.
pub fn ctr_gru_rewards(
    logs: &LoggedFeedback,
    titles: &[String],
    seed: u64,
) -> anyhow::Result<DenseRewards> {
    let (n, n_actions, len_list) = (logs.n_rounds(), logs.n_actions(), logs.len_list());
    if titles.len() != n_actions {
        anyhow::bail!(
            "the text reward model needs one title per action: {} titles for {n_actions} actions",
            titles.len()
        );
    }
    if titles.iter().all(|t| ctr::words(t).is_empty()) {
        return Err(crate::BadInput(
            "--reward-model ctr-gru reads the items' titles, and no item has one; use \
             --reward-model lr or deepfm"
                .into(),
        )
        .into());
    }
    let per_round = n_actions * len_list;
    assay_core::memory::check(
        assay_core::memory::dense_bytes(&[n, per_round + 1, 16], 8),
        || format!("a text table of {n} rounds x {n_actions} actions x {len_list} positions"),
        "use --reward-model lr, or fewer rounds",
    )?;
    let fields = vec![Field {
        name: "position".into(),
        slots: 1,
    }];
    let mut builder = TableBuilder::new(fields);
    let contexts: Vec<String> = (0..n).map(|r| context_words(logs.context_row(r))).collect();
    let mut text = String::new();
    let mut push = |builder: &mut TableBuilder, r: usize, a: usize, p: usize, label: bool| {
        text.clear();
        text.push_str(&contexts[r]);
        text.push_str(&format!(" p{p} "));
        text.push_str(&titles[a]);
        builder.push(&[Cell::Tokens(vec![p.to_string()])], &text, label);
    };
    for r in 0..n {
        let (a, p) = (logs.action()[r] as usize, logs.position()[r] as usize);
        push(&mut builder, r, a, p, logs.reward()[r] > 0.0);
    }
    for r in 0..n {
        for a in 0..n_actions {
            for p in 0..len_list {
                push(&mut builder, r, a, p, false);
            }
        }
    }
    let table = builder.finish();
    let values = ctr::cross_fit(&ctr_gru_params(seed), &table, n, per_round, FOLDS)?;
    Ok(DenseRewards::new(n, n_actions, len_list, values)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn context_features_read_as_tercile_words() {
        assert_eq!(
            context_words(&[-1.0, -0.43, 0.0, 0.43, 0.5, 1.0]),
            "x0lo x1mid x2mid x3mid x4hi x5hi"
        );
    }

    #[test]
    fn the_text_reward_model_needs_titles_and_is_calibrated_per_action() {
        let env = assay_bandit::sim::SyntheticBandit::new(2, 1, 5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (logs, _) = env.sample_logs(600, &mut rng).unwrap();
        let untitled = vec![String::new(), " ".into()];
        let err = ctr_gru_rewards(&logs, &untitled, 0).unwrap_err();
        assert!(err.to_string().contains("no item has one"), "{err}");
        let err = ctr_gru_rewards(&logs, &["one".into()], 0).unwrap_err();
        assert!(err.to_string().contains("one title per action"), "{err}");
        // Enough rounds for the text model to see each title often: its mean prediction per
        // action is the mean true click probability within a few points.
        let (logs, _) = env.sample_logs(4000, &mut rng).unwrap();
        let titles = vec!["item0".to_owned(), "item1".to_owned()];
        let rewards = ctr_gru_rewards(&logs, &titles, 0).unwrap();
        let n = logs.n_rounds() as f64;
        for a in 0..2 {
            let (mut predicted, mut truth) = (0.0, 0.0);
            for r in 0..logs.n_rounds() {
                predicted += assay_bandit::RewardModel::predict(&rewards, r, a, 0) / n;
                truth += env.click_prob(logs.context_row(r), a) / n;
            }
            assert!(
                (predicted - truth).abs() < 0.05,
                "action {a}: {predicted} against {truth}"
            );
        }
    }
}
