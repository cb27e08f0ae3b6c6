//! The value of each modality of a fusion recommender (text, image, behaviour): a game of
//! three players whose coalition `S` is worth `metric@k` of the fusion model trained with the
//! modalities in `S` only, on one seeded split. The empty coalition is worth 0 (no item
//! representation, no recommendation), so the three exact Shapley values sum to the full
//! model's score.

use assay_core::Dataset;
use assay_metrics::{AudienceUser, Metric};
use assay_recommend::{FusionParams, Modality, ModelSpec};

use crate::recommend::{fit_on_rows, score_model};
use crate::{FirstFailure, Result, Utility, ValueError};

/// `params` with only the modalities of `subset` (indices into [`Modality::ALL`]).
pub fn coalition_spec(params: &FusionParams, subset: &[usize]) -> ModelSpec {
    let mut set: Vec<Modality> = subset.iter().map(|&p| Modality::ALL[p]).collect();
    set.sort();
    ModelSpec::new(FusionParams {
        modalities: Modality::join(&set),
        ..params.clone()
    })
}

/// `metric@k` of the fusion model refitted on each subset of the modalities.
pub struct ModalityUtility<'a> {
    data: &'a Dataset,
    train: Vec<u32>,
    audience: Vec<AudienceUser>,
    params: FusionParams,
    metric: Metric,
    k: usize,
    failure: FirstFailure,
}

impl<'a> ModalityUtility<'a> {
    /// The game over `train` rows, scored on `audience`; `params` gives the fusion method and
    /// training settings (its modalities are replaced by each coalition's).
    pub fn new(
        data: &'a Dataset,
        train: Vec<u32>,
        audience: Vec<AudienceUser>,
        params: FusionParams,
        metric: Metric,
        k: usize,
    ) -> Result<ModalityUtility<'a>> {
        if audience.is_empty() {
            return Err(ValueError::Empty(
                "no evaluation user has a held-out item outside their training items".into(),
            ));
        }
        // Every modality is a player: refuse before the first coalition's fit rather than
        // at the first one with images.
        assay_recommend::image_vectors(&data.items)?;
        Ok(ModalityUtility {
            data,
            train,
            audience,
            params,
            metric,
            k,
            failure: FirstFailure::default(),
        })
    }

    /// The spec a coalition is fitted with.
    pub fn spec_of(&self, subset: &[usize]) -> ModelSpec {
        coalition_spec(&self.params, subset)
    }

    fn score(&self, subset: &[usize]) -> Result<f64> {
        if subset.is_empty() {
            return Ok(0.0);
        }
        let model = fit_on_rows(self.data, &self.spec_of(subset), &self.train)?;
        let scores = score_model(model.as_deref(), &self.audience, self.metric, self.k);
        Ok(scores.iter().sum::<f64>() / scores.len() as f64)
    }
}

impl Utility for ModalityUtility<'_> {
    fn name(&self) -> String {
        format!(
            "{} {}@{} [modalities refitted; empty set 0]",
            ModelSpec::new(self.params.clone()),
            self.metric.name(),
            self.k
        )
    }

    fn n_players(&self) -> usize {
        Modality::ALL.len()
    }

    fn player_name(&self, player: usize) -> String {
        Modality::ALL[player].name().to_owned()
    }

    fn eval(&self, subset: &[usize]) -> f64 {
        self.score(subset).unwrap_or_else(|error| {
            self.failure.record(error);
            f64::NAN
        })
    }

    fn take_failure(&self) -> Option<ValueError> {
        self.failure.take()
    }
}
