//! Hybrid: a weighted blend of other models, by normalised scores or by reciprocal rank fusion.
//!
//! - [`Fusion::Score`]: each part's scores over the user's candidate items (all but training
//!   items) are min-max normalised to [0, 1] and summed with the part weights.
//! - [`Fusion::Rank`]: each part contributes `weight / (60 + rank)` (rank from 1 among the
//!   candidates; Cormack et al. 2009).
//!
//! Training items get score 0 from every part; [`Recommender::top_k`] removes them anyway.

use std::path::Path;

use assay_core::{Dataset, Interactions, UserIdx};
use serde::{Deserialize, Serialize};

use crate::spec::{load_model, ModelSpec};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    Capabilities, DenseMemory, Fit, History, ModelKind, RecommendError, Recommender, Result,
    Validate,
};

/// How part scores are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fusion {
    /// Weighted sum of min-max normalised scores.
    Score,
    /// Weighted reciprocal rank fusion with constant 60.
    Rank,
}

/// Hyper-parameters of [`HybridModel`]: the parts and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct HybridParams {
    /// Each part's model and weight.
    pub parts: Vec<(ModelSpec, f32)>,
    /// The combination rule.
    pub fusion: Fusion,
}

/// A fitted hybrid.
pub struct HybridModel {
    history: History,
    parts: Vec<(Box<dyn Recommender>, f32)>,
    fusion: Fusion,
}

impl std::fmt::Debug for HybridModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<(&str, f32)> = self.parts.iter().map(|(m, w)| (m.kind(), *w)).collect();
        f.debug_struct("HybridModel")
            .field("parts", &kinds)
            .field("fusion", &self.fusion)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct SavedParams {
    weights: Vec<f32>,
    fusion: Fusion,
}

impl Fit for HybridParams {
    type Model = HybridModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<HybridModel> {
        self.check()?;
        let mut parts = Vec::with_capacity(self.parts.len());
        for (spec, weight) in &self.parts {
            parts.push((spec.fit(train, data, validate, &|_, _| {})?, *weight));
        }
        Ok(HybridModel {
            history: History::of(train),
            parts,
            fusion: self.fusion,
        })
    }
}

impl ModelKind for HybridParams {
    const NAME: &'static str = "hybrid";
    /// `rrf` is the rank-fusion hybrid.
    const ALIASES: &'static [&'static str] = &["rrf"];

    /// `PART+PART...`, a part being `NAME` or `NAME(KEY=VALUE;...)`, optionally `*WEIGHT`.
    fn parse(name: &str, params: &str) -> std::result::Result<HybridParams, String> {
        let fusion = if name == "rrf" {
            Fusion::Rank
        } else {
            Fusion::Score
        };
        let mut parts = Vec::new();
        for part in params.split('+').map(str::trim).filter(|p| !p.is_empty()) {
            let (body, weight) = match part.rsplit_once('*') {
                Some((body, w)) => (
                    body.trim(),
                    w.trim()
                        .parse::<f32>()
                        .map_err(|_| format!("weight `{w}` is not a number"))?,
                ),
                None => (part, 1.0),
            };
            let inner = match body.split_once('(') {
                Some((name, params)) => {
                    let params = params
                        .strip_suffix(')')
                        .ok_or_else(|| format!("`{body}` lacks a closing parenthesis"))?;
                    format!("{}:{}", name.trim(), params)
                }
                None => body.to_owned(),
            };
            let spec = ModelSpec::parse(&inner).map_err(|e| e.to_string())?;
            if spec.params::<HybridParams>().is_some() {
                return Err("hybrids cannot nest".into());
            }
            parts.push((spec, weight));
        }
        if parts.is_empty() {
            return Err(
                "a hybrid needs at least one part, e.g. hybrid:ease*0.7+itemknn*0.3".into(),
            );
        }
        Ok(HybridParams { parts, fusion })
    }

    fn params_text(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|(spec, w)| {
                let text = spec.to_string();
                let text = match text.split_once(':') {
                    Some((name, params)) => format!("{name}({params})"),
                    None => text,
                };
                if *w == 1.0 {
                    text
                } else {
                    format!("{text}*{w}")
                }
            })
            .collect();
        parts.join("+")
    }

    fn check(&self) -> Result<()> {
        if self.parts.is_empty() {
            return Err(RecommendError::Spec {
                spec: "hybrid".into(),
                reason: "needs at least one part".into(),
            });
        }
        for (spec, weight) in &self.parts {
            if !weight.is_finite() {
                return Err(RecommendError::Param {
                    name: "weight",
                    value: format!("{spec}*{weight}"),
                    reason: "must be a finite number",
                });
            }
            spec.check()?;
        }
        Ok(())
    }

    fn load(dir: &Path) -> Result<HybridModel> {
        HybridModel::load(dir)
    }

    /// The parts' buffers added up: every fitted part is kept.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let needs: Vec<(String, DenseMemory)> = self
            .parts
            .iter()
            .filter_map(|(spec, _)| Some((spec.to_string(), spec.dense_memory(n_users, n_items)?)))
            .collect();
        if needs.is_empty() {
            return None;
        }
        Some(DenseMemory {
            bytes: needs
                .iter()
                .fold(0u128, |sum, (_, need)| sum.saturating_add(need.bytes)),
            what: needs
                .iter()
                .map(|(part, need)| format!("{} for {part}", need.what))
                .collect::<Vec<_>>()
                .join(" and "),
            instead: "leave out the parts that need dense buffers, or use smaller ones",
        })
    }

    fn name(&self) -> &'static str {
        match self.fusion {
            Fusion::Score => "hybrid",
            Fusion::Rank => "rrf",
        }
    }

    /// Iterative when a part is.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            iterative: self.parts.iter().any(|(s, _)| s.capabilities().iterative),
            tunes_on_validation: self
                .parts
                .iter()
                .any(|(s, _)| s.capabilities().tunes_on_validation),
            ..Capabilities::default()
        }
    }

    fn with_seed(&self, seed: u64) -> HybridParams {
        HybridParams {
            parts: self
                .parts
                .iter()
                .map(|(s, w)| (s.with_seed(seed), *w))
                .collect(),
            fusion: self.fusion,
        }
    }
}

impl HybridModel {
    /// Reads a model written by [`Recommender::save`]; parts live in `part0/`, `part1/`...
    pub fn load(dir: &Path) -> Result<HybridModel> {
        let file = ModelFile::read(dir)?;
        super::expect_kind(&file, "hybrid")?;
        let saved: SavedParams = file.params()?;
        let history = History::load(&file)?;
        let mut parts = Vec::with_capacity(saved.weights.len());
        for (k, &weight) in saved.weights.iter().enumerate() {
            let part = load_model(&dir.join(format!("part{k}")))?;
            if part.history().n_items() != history.n_items() {
                return Err(file.error(format!("part{k} has a different catalog")));
            }
            parts.push((part, weight));
        }
        Ok(HybridModel {
            history,
            parts,
            fusion: saved.fusion,
        })
    }
}

impl Recommender for HybridModel {
    fn kind(&self) -> &'static str {
        "hybrid"
    }

    fn history(&self) -> &History {
        &self.history
    }

    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        let n = scores.len();
        let seen = self.history.items_of(user);
        let mut candidate = vec![true; n];
        for &i in seen {
            candidate[i as usize] = false;
        }
        scores.fill(0.0);
        let mut part_scores = vec![0.0f32; n];
        for (part, weight) in &self.parts {
            part.score_user(user, &mut part_scores);
            match self.fusion {
                Fusion::Score => {
                    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
                    for (j, &s) in part_scores.iter().enumerate() {
                        if candidate[j] && s.is_finite() {
                            lo = lo.min(s);
                            hi = hi.max(s);
                        }
                    }
                    let span = if hi > lo { hi - lo } else { 1.0 };
                    for (j, &s) in part_scores.iter().enumerate() {
                        if candidate[j] && s.is_finite() {
                            scores[j] += weight * (s - lo) / span;
                        }
                    }
                }
                Fusion::Rank => {
                    let mut order: Vec<u32> =
                        (0..n as u32).filter(|&j| candidate[j as usize]).collect();
                    order.sort_unstable_by(|&a, &b| {
                        part_scores[b as usize]
                            .total_cmp(&part_scores[a as usize])
                            .then(a.cmp(&b))
                    });
                    for (rank, &j) in order.iter().enumerate() {
                        scores[j as usize] += weight / (60.0 + (rank + 1) as f32);
                    }
                }
            }
        }
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        for (k, (part, _)) in self.parts.iter().enumerate() {
            part.write_files(&dir.join(format!("part{k}")))?;
        }
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        let saved = SavedParams {
            weights: self.parts.iter().map(|p| p.1).collect(),
            fusion: self.fusion,
        };
        store::write(dir, "hybrid", &saved, tensors)
    }
}
