//! Re-ranking: a recommender's top items re-ordered by a click model.
//!
//! `rerank:base=ease;click=deepfm;top=100` fits the base model, then a click model (logistic
//! regression, DeepFM or the text model, [`crate::ctr`]) on the training interactions: each
//! training pair is a positive row, and `negatives` items the user has no training
//! interaction with, drawn uniformly (seeded), are negative rows; the fields are the user's
//! and the item's ([`crate::ctr::pair_table`]: ids, attributes, category, brand, price band,
//! title), a tenth of the rows held out for early stopping on AUC. A user's `top` best items
//! by the base model (training items left out) are then ordered by a blend of the two:
//! `(1 - blend) * base + blend * click`, each min-max scaled over those items; every other
//! item keeps the base model's order below them.
//!
//! The click model learns "was this pair in the log" from sampled negatives, which ranks
//! popular, well-described items well but knows less of a user's taste than the base model;
//! alone (`blend=1`) it can order a good list worse. `blend=auto` (the default) picks the
//! weight from [`BLENDS`] by the validation score when the fit is given a validation
//! callback (ties to the smaller weight, so a click model that does not help is left out),
//! and [`DEFAULT_BLEND`] without one.

use std::path::Path;

use assay_core::{Dataset, Interactions, UserIdx};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{bad_param, expect_kind};
use crate::ctr::{self, CtrKind, CtrModel, CtrParams, CtrTable, Schema};
use crate::spec::{load_model, ModelSpec};
use crate::store::{self, ModelFile, Tensors};
use crate::{
    mask, top_k_of, Capabilities, Fit, History, ModelKind, RecommendError, Recommender, Result,
    Validate,
};

/// The blend weights `blend=auto` chooses from.
pub const BLENDS: [f32; 7] = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0];

/// The blend weight `blend=auto` takes when the fit has no validation callback.
pub const DEFAULT_BLEND: f32 = 0.3;

/// Hyper-parameters of [`RerankModel`].
#[derive(Debug, Clone, PartialEq)]
pub struct RerankParams {
    /// The model whose top items are re-ranked.
    pub base: ModelSpec,
    /// The click model that re-ranks them.
    pub click: CtrKind,
    /// How many of the base model's best items are re-ranked.
    pub top: usize,
    /// Sampled negative rows per training interaction.
    pub negatives: usize,
    /// Most epochs of the click model (early stopping usually ends it sooner).
    pub epochs: usize,
    /// Seed of the negatives, the split and the click model.
    pub seed: u64,
    /// Weight of the click model against the base model among the top items, in [0, 1];
    /// `None`: chosen on validation ([`BLENDS`]).
    pub blend: Option<f32>,
}

impl RerankParams {
    /// `base` re-ranked by `click` with the defaults: top 100, 4 negatives, 100 epochs, seed 0.
    pub fn new(base: ModelSpec, click: CtrKind) -> RerankParams {
        RerankParams {
            base,
            click,
            top: 100,
            negatives: 4,
            epochs: 100,
            seed: 0,
            blend: None,
        }
    }
}

/// A fitted re-ranker.
pub struct RerankModel {
    history: History,
    base: Box<dyn Recommender>,
    click: CtrModel,
    top: usize,
    blend: f32,
    encoding: PairEncoding,
}

impl std::fmt::Debug for RerankModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RerankModel")
            .field("base", &self.base.kind())
            .field("click", &self.click.params().kind)
            .field("top", &self.top)
            .field("blend", &self.blend)
            .finish()
    }
}

/// Every user's and item's feature slots in the click model's table, so that a (user, item)
/// row can be put together without the dataset: a row is the user's slots, then the item's.
#[derive(Debug, Clone)]
struct PairEncoding {
    schema: Schema,
    user_ids: Vec<u32>,
    user_values: Vec<f32>,
    item_ids: Vec<u32>,
    item_values: Vec<f32>,
    item_tokens: Vec<Vec<u32>>,
}

impl PairEncoding {
    /// Reads each user's and item's slots off the rows of `table` (row `r` is `pairs[r]`);
    /// a user or item in no row keeps empty slots.
    fn of(table: &CtrTable, pairs: &[(u32, u32, bool)], n_users: usize, n_items: usize) -> Self {
        let schema = table.schema().clone();
        let uw = schema.user_width();
        let iw = schema.width() - uw;
        let mut e = PairEncoding {
            schema,
            user_ids: vec![0; n_users * uw],
            user_values: vec![0.0; n_users * uw],
            item_ids: vec![0; n_items * iw],
            item_values: vec![0.0; n_items * iw],
            item_tokens: vec![Vec::new(); n_items],
        };
        for (r, &(u, i, _)) in pairs.iter().enumerate() {
            let (u, i) = (u as usize, i as usize);
            let (ids, values) = (table.ids(r), table.values(r));
            e.user_ids[u * uw..(u + 1) * uw].copy_from_slice(&ids[..uw]);
            e.user_values[u * uw..(u + 1) * uw].copy_from_slice(&values[..uw]);
            e.item_ids[i * iw..(i + 1) * iw].copy_from_slice(&ids[uw..]);
            e.item_values[i * iw..(i + 1) * iw].copy_from_slice(&values[uw..]);
            if e.item_tokens[i].is_empty() {
                e.item_tokens[i] = table.tokens(r).to_vec();
            }
        }
        e
    }

    /// The table of rows (`user`, each of `items`).
    fn rows(&self, user: UserIdx, items: &[u32]) -> Result<CtrTable> {
        let uw = self.schema.user_width();
        let iw = self.schema.width() - uw;
        let u = user as usize;
        let n = items.len();
        let mut ids = Vec::with_capacity(n * (uw + iw));
        let mut values = Vec::with_capacity(n * (uw + iw));
        let mut tokens = Vec::with_capacity(n);
        for &i in items {
            let i = i as usize;
            ids.extend_from_slice(&self.user_ids[u * uw..(u + 1) * uw]);
            values.extend_from_slice(&self.user_values[u * uw..(u + 1) * uw]);
            ids.extend_from_slice(&self.item_ids[i * iw..(i + 1) * iw]);
            values.extend_from_slice(&self.item_values[i * iw..(i + 1) * iw]);
            tokens.push(self.item_tokens[i].clone());
        }
        CtrTable::from_rows(self.schema.clone(), ids, values, tokens, vec![false; n])
    }
}

/// The training rows: each training pair, then `negatives` uniform items the user has not
/// interacted with (redrawn until one is found; none for a user who has every item).
fn training_pairs(train: &Interactions, negatives: usize, seed: u64) -> Vec<(u32, u32, bool)> {
    let n_items = train.n_items();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = Vec::with_capacity(train.nnz() * (1 + negatives));
    for u in 0..train.n_users() as UserIdx {
        let seen = train.items_of(u);
        for &i in seen {
            pairs.push((u, i, true));
            if seen.len() >= n_items {
                continue;
            }
            for _ in 0..negatives {
                let j = loop {
                    let j = rng.random_range(0..n_items as u32);
                    if seen.binary_search(&j).is_err() {
                        break j;
                    }
                };
                pairs.push((u, j, false));
            }
        }
    }
    pairs
}

impl Fit for RerankParams {
    type Model = RerankModel;

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
    ) -> Result<RerankModel> {
        self.check()?;
        let base = self.base.fit(train, data, validate, &|_, _| {})?;
        let pairs = training_pairs(train, self.negatives, self.seed);
        let table = ctr::pair_table(data, &pairs)?;
        let [fit_rows, valid_rows, _] = ctr::random_split(table.len(), [0.9, 0.1, 0.0], self.seed);
        if fit_rows.is_empty() || valid_rows.is_empty() {
            return Err(RecommendError::Data(format!(
                "re-ranking needs a click model, and {} training rows are too few to fit one",
                table.len()
            )));
        }
        let params = CtrParams {
            seed: self.seed,
            epochs: self.epochs,
            ..CtrParams::defaults(self.click)
        };
        let click = ctr::fit(&params, &table, &fit_rows, &valid_rows, None)?;
        let encoding = PairEncoding::of(&table, &pairs, train.n_users(), train.n_items());
        let mut model = RerankModel {
            history: History::of(train),
            base,
            click,
            top: self.top,
            blend: self.blend.unwrap_or(DEFAULT_BLEND),
            encoding,
        };
        if let (None, Some(validate)) = (self.blend, validate) {
            let mut best = (f64::NEG_INFINITY, DEFAULT_BLEND);
            for blend in BLENDS {
                model.blend = blend;
                let score = validate(&model);
                // Strictly better only: ties keep the smaller weight.
                if score > best.0 {
                    best = (score, blend);
                }
            }
            model.blend = best.1;
        }
        Ok(model)
    }
}

/// Splits `text` at `sep` outside parentheses.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (k, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..k]);
                start = k + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

impl ModelKind for RerankParams {
    const NAME: &'static str = "rerank";

    /// `base=SPEC;click=lr|deepfm|ctr-gru[;top=N;negatives=N;epochs=N;seed=N;blend=W|auto]`,
    /// the base written `NAME` or `NAME(KEY=VALUE;...)`.
    fn parse(_: &str, params: &str) -> std::result::Result<RerankParams, String> {
        let (mut base, mut click) = (None, None);
        let (mut top, mut negatives, mut epochs, mut seed) = (100usize, 4usize, 100usize, 0u64);
        let mut blend = None;
        for pair in split_top(params, ';')
            .into_iter()
            .flat_map(|p| split_top(p, ','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not KEY=VALUE"))?;
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            let whole = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| format!("{key} = {v}: expected a whole number"))
            };
            match key.as_str() {
                "base" => {
                    let inner = match value.split_once('(') {
                        Some((name, rest)) => {
                            let rest = rest
                                .strip_suffix(')')
                                .ok_or_else(|| format!("`{value}` lacks a closing parenthesis"))?;
                            format!("{}:{}", name.trim(), rest)
                        }
                        None => value.to_owned(),
                    };
                    let spec = ModelSpec::parse(&inner).map_err(|e| e.to_string())?;
                    if spec.params::<RerankParams>().is_some() {
                        return Err("a re-ranker cannot re-rank another re-ranker".into());
                    }
                    base = Some(spec);
                }
                "click" => {
                    click = Some(CtrKind::parse(value).ok_or_else(|| {
                        format!("click = {value}: expected lr, deepfm or ctr-gru")
                    })?);
                }
                "top" => top = whole(value)? as usize,
                "negatives" => negatives = whole(value)? as usize,
                "epochs" => epochs = whole(value)? as usize,
                "seed" => seed = whole(value)?,
                "blend" if value.eq_ignore_ascii_case("auto") => blend = None,
                "blend" => {
                    let w = value
                        .parse::<f32>()
                        .ok()
                        .filter(|w| (0.0..=1.0).contains(w))
                        .ok_or_else(|| {
                            format!("blend = {value}: expected a weight from 0 to 1, or auto")
                        })?;
                    blend = Some(w);
                }
                other => {
                    return Err(format!(
                        "unknown parameter `{other}`; known: base, click, top, negatives, epochs, \
                         seed, blend"
                    ))
                }
            }
        }
        let base = base.ok_or("needs a base model, e.g. rerank:base=ease;click=deepfm")?;
        let click = click.ok_or("needs a click model: click=lr, deepfm or ctr-gru")?;
        Ok(RerankParams {
            base,
            click,
            top,
            negatives,
            epochs,
            seed,
            blend,
        })
    }

    fn params_text(&self) -> String {
        let base = self.base.to_string();
        let base = match base.split_once(':') {
            Some((name, params)) => format!("{name}({params})"),
            None => base,
        };
        let mut text = format!("base={base};click={}", self.click.name());
        let defaults = RerankParams::new(self.base.clone(), self.click);
        for (key, value, default) in [
            ("top", self.top as u64, defaults.top as u64),
            ("negatives", self.negatives as u64, defaults.negatives as u64),
            ("epochs", self.epochs as u64, defaults.epochs as u64),
            ("seed", self.seed, defaults.seed),
        ] {
            if value != default {
                text.push_str(&format!(";{key}={value}"));
            }
        }
        if let Some(blend) = self.blend {
            text.push_str(&format!(";blend={blend}"));
        }
        text
    }

    fn check(&self) -> Result<()> {
        if self.top == 0 {
            return bad_param("top", self.top, "must be at least 1");
        }
        if self.negatives == 0 {
            return bad_param(
                "negatives",
                self.negatives,
                "must be at least 1 (the click model needs negative rows)",
            );
        }
        if self.epochs == 0 {
            return bad_param("epochs", self.epochs, "must be at least 1");
        }
        self.base.check()
    }

    fn load(dir: &Path) -> Result<RerankModel> {
        RerankModel::load(dir)
    }

    /// Iterative when the base is; tunes its blend on validation unless one is given.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            iterative: self.base.capabilities().iterative,
            tunes_on_validation: self.blend.is_none(),
            ..Capabilities::default()
        }
    }

    fn with_seed(&self, seed: u64) -> RerankParams {
        RerankParams {
            base: self.base.with_seed(seed),
            seed,
            ..self.clone()
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    top: usize,
    /// Models saved before the blend ordered the top by the click model alone.
    #[serde(default = "click_alone")]
    blend: f32,
    schema: Schema,
    token_lengths: Vec<usize>,
}

fn click_alone() -> f32 {
    1.0
}

impl RerankModel {
    /// The weight of the click model among the top items (chosen on validation, or given).
    pub fn blend(&self) -> f32 {
        self.blend
    }

    /// The click model.
    pub fn click_model(&self) -> &CtrModel {
        &self.click
    }

    /// Reads a model written by [`Recommender::save`]: the base in `base/`, the click model in
    /// `click/`.
    pub fn load(dir: &Path) -> Result<RerankModel> {
        let file = ModelFile::read(dir)?;
        expect_kind(&file, "rerank")?;
        let saved: Saved = file.params()?;
        let history = History::load(&file)?;
        let base = load_model(&dir.join("base"))?;
        let click = CtrModel::load(&dir.join("click"))?;
        let (n_users, n_items) = (history.n_users(), history.n_items());
        let uw = saved.schema.user_width();
        let iw = saved.schema.width() - uw;
        let ids = |name: &str, n: usize| -> Result<Vec<u32>> {
            let v = file.u32(name)?;
            if v.len() != n {
                return Err(file.error(format!("{name} has {} values, expected {n}", v.len())));
            }
            Ok(v)
        };
        let values = |name: &str, n: usize| -> Result<Vec<f32>> {
            let (_, v) = file.f32(name)?;
            if v.len() != n {
                return Err(file.error(format!("{name} has {} values, expected {n}", v.len())));
            }
            Ok(v)
        };
        let flat = file.u32("item_tokens")?;
        if saved.token_lengths.len() != n_items
            || saved.token_lengths.iter().sum::<usize>() != flat.len()
        {
            return Err(file.error("item_tokens do not match their lengths"));
        }
        let mut item_tokens = Vec::with_capacity(n_items);
        let mut at = 0;
        for &len in &saved.token_lengths {
            item_tokens.push(flat[at..at + len].to_vec());
            at += len;
        }
        let encoding = PairEncoding {
            user_ids: ids("user_ids", n_users * uw)?,
            user_values: values("user_values", n_users * uw)?,
            item_ids: ids("item_ids", n_items * iw)?,
            item_values: values("item_values", n_items * iw)?,
            item_tokens,
            schema: saved.schema,
        };
        if base.history().n_items() != n_items {
            return Err(file.error("the base model has a different catalog"));
        }
        Ok(RerankModel {
            history,
            base,
            click,
            top: saved.top,
            blend: saved.blend,
            encoding,
        })
    }
}

impl Recommender for RerankModel {
    fn kind(&self) -> &'static str {
        "rerank"
    }

    fn history(&self) -> &History {
        &self.history
    }

    /// The top items get the blend of their base score and click probability, each min-max
    /// scaled over the top items (so in [0, 1]); the others the base score min-max scaled into
    /// [-2, -1], so they stay in the base order below the re-ranked ones.
    fn score_user(&self, user: UserIdx, scores: &mut [f32]) {
        self.base.score_user(user, scores);
        let mut masked = scores.to_vec();
        mask(&mut masked, self.history.items_of(user));
        let top: Vec<u32> = top_k_of(&masked, self.top)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let base_top: Vec<f32> = top.iter().map(|&i| scores[i as usize]).collect();
        let (lo, span) = min_and_span(scores.iter().copied());
        for s in scores.iter_mut().filter(|s| s.is_finite()) {
            *s = -2.0 + (*s - lo) / span;
        }
        // The rows are the model's own users and items, so they always fit its table; if
        // scoring failed anyway, the click model is left out.
        let clicks = (self.blend > 0.0)
            .then(|| {
                let rows: Vec<usize> = (0..top.len()).collect();
                self.encoding
                    .rows(user, &top)
                    .and_then(|table| self.click.predict(&table, &rows))
                    .ok()
            })
            .flatten();
        let (blend, clicks): (f32, Vec<f32>) = match clicks {
            Some(p) => (self.blend, p.into_iter().map(|p| p as f32).collect()),
            None => (0.0, vec![0.0; top.len()]),
        };
        let (base_lo, base_span) = min_and_span(base_top.iter().copied());
        let (click_lo, click_span) = min_and_span(clicks.iter().copied());
        for ((&item, &b), &c) in top.iter().zip(&base_top).zip(&clicks) {
            scores[item as usize] = (1.0 - blend) * (b - base_lo) / base_span
                + blend * (c - click_lo) / click_span;
        }
    }

    fn write_files(&self, dir: &Path) -> Result<()> {
        self.base.write_files(&dir.join("base"))?;
        self.click.save(&dir.join("click"))?;
        let mut tensors = Tensors::default();
        self.history.save(&mut tensors);
        let e = &self.encoding;
        tensors.u32("user_ids", &e.user_ids);
        tensors.f32("user_values", &[e.user_values.len()], &e.user_values);
        tensors.u32("item_ids", &e.item_ids);
        tensors.f32("item_values", &[e.item_values.len()], &e.item_values);
        let flat: Vec<u32> = e.item_tokens.iter().flatten().copied().collect();
        tensors.u32("item_tokens", &flat);
        let saved = Saved {
            top: self.top,
            blend: self.blend,
            schema: e.schema.clone(),
            token_lengths: e.item_tokens.iter().map(Vec::len).collect(),
        };
        store::write(dir, "rerank", &saved, tensors)
    }
}

/// The least finite value and the span above it (1 when all are equal or none is finite).
fn min_and_span(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi > lo {
        (lo, hi - lo)
    } else {
        (if lo.is_finite() { lo } else { 0.0 }, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PopParams;

    #[test]
    fn specs_parse_print_and_refuse() {
        let spec = ModelSpec::parse("rerank:base=ease(reg=400);click=deepfm;top=50").unwrap();
        assert_eq!(spec.to_string(), "rerank:base=ease(reg=400);click=deepfm;top=50");
        assert_eq!(ModelSpec::parse(&spec.to_string()).unwrap(), spec);
        let p = spec.params::<RerankParams>().unwrap();
        assert_eq!((p.click, p.top, p.negatives), (CtrKind::DeepFm, 50, 4));
        assert_eq!(p.blend, None);
        let blended = ModelSpec::parse("rerank:base=ease;click=lr;blend=0.3").unwrap();
        assert_eq!(blended.params::<RerankParams>().unwrap().blend, Some(0.3));
        assert_eq!(ModelSpec::parse(&blended.to_string()).unwrap(), blended);
        let auto = ModelSpec::parse("rerank:base=ease;click=lr;blend=auto").unwrap();
        assert_eq!(auto.params::<RerankParams>().unwrap().blend, None);
        // Only a blend left to choose asks the evaluation for its validation callback.
        assert!(auto.capabilities().uses_validation());
        assert!(!blended.capabilities().uses_validation());
        // A list: the fragment after the comma continues the spec.
        let list = ModelSpec::parse_list("ease,rerank:base=ease,click=lr").unwrap();
        assert_eq!(list[1].to_string(), "rerank:base=ease;click=lr");
        for (text, says) in [
            ("rerank:click=lr", "base model"),
            ("rerank:base=ease", "click model"),
            ("rerank:base=ease;click=svm", "expected lr, deepfm or ctr-gru"),
            ("rerank:base=ease;click=lr;top=0", "top"),
            ("rerank:base=ease;click=lr;depth=3", "unknown parameter `depth`"),
            ("rerank:base=ease;click=lr;blend=1.5", "from 0 to 1"),
            ("rerank:base=rerank(base=ease;click=lr);click=lr", "another re-ranker"),
        ] {
            let err = ModelSpec::parse(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    /// 40 users, 30 items in three categories; users in segment `a` buy from category 0,
    /// users in `b` from category 1, with popular items 20-29 bought by everyone.
    fn shop() -> (Dataset, Interactions) {
        let mut data = Dataset::default();
        data.users.attributes.names = vec!["segment".into()];
        data.users.attributes.values = vec![Vec::new()];
        for u in 0..40 {
            let u = data.users.intern(&format!("u{u}")) as usize;
            data.users.attributes.values[0][u] = if u.is_multiple_of(2) { "a" } else { "b" }.into();
        }
        for i in 0..30 {
            let i = data.items.intern(&format!("i{i}")) as usize;
            data.items.category[i] = format!("c{}", i / 10);
            data.items.title[i] = format!("thing c{}", i / 10);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut triples = Vec::new();
        for u in 0..40u32 {
            for _ in 0..6 {
                let own = (u % 2) * 10 + rng.random_range(0..10);
                triples.push((u, own, 1.0));
            }
            triples.push((u, 20 + rng.random_range(0..10), 1.0));
        }
        let train = Interactions::from_triples(40, 30, triples);
        (data, train)
    }

    /// Min-max scaled to [0, 1], by hand.
    fn scaled(xs: &[f32]) -> Vec<f32> {
        let lo = xs.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        xs.iter().map(|x| (x - lo) / (hi - lo)).collect()
    }

    #[test]
    fn the_top_items_get_the_blend_and_the_rest_keep_the_base_order() {
        let (data, train) = shop();
        let base = PopParams::default().fit(&train, &data, None).unwrap();
        for blend in [0.0, 0.3, 1.0] {
            let params = RerankParams {
                top: 8,
                epochs: 30,
                blend: Some(blend),
                ..RerankParams::new(PopParams::default().into(), CtrKind::Lr)
            };
            let model = params.fit(&train, &data, None).unwrap();
            assert_eq!(model.blend(), blend);
            for user in [0, 1, 7] {
                let mut want = vec![0.0; 30];
                base.score_user(user, &mut want);
                mask(&mut want, train.items_of(user));
                let top: Vec<u32> = top_k_of(&want, 8).into_iter().map(|(i, _)| i).collect();
                let mut got = vec![0.0; 30];
                model.score_user(user, &mut got);
                // The base model's top 8 score (1 - blend) * base + blend * click, each
                // scaled over the 8.
                let table = model.encoding.rows(user, &top).unwrap();
                let p: Vec<f32> = model
                    .click
                    .predict(&table, &(0..top.len()).collect::<Vec<_>>())
                    .unwrap()
                    .into_iter()
                    .map(|p| p as f32)
                    .collect();
                let b: Vec<f32> = top.iter().map(|&i| want[i as usize]).collect();
                let (sb, sp) = (scaled(&b), scaled(&p));
                for (j, &s) in got.iter().enumerate() {
                    match top.iter().position(|&t| t as usize == j) {
                        Some(k) => {
                            let expected = (1.0 - blend) * sb[k] + blend * sp[k];
                            assert!((s - expected).abs() < 1e-6, "item {j}: {s} vs {expected}");
                        }
                        None => assert!((-2.0..=-1.0).contains(&s), "item {j}: {s}"),
                    }
                }
                // Below the top, the base order stands.
                let rest: Vec<usize> = (0..30).filter(|&j| !top.contains(&(j as u32))).collect();
                for &a in &rest {
                    for &b in &rest {
                        if want[a].is_finite() && want[b].is_finite() && want[a] > want[b] {
                            assert!(got[a] >= got[b], "{a} {b}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn auto_blend_follows_the_validation_score() {
        let (data, train) = shop();
        let base = PopParams::default().fit(&train, &data, None).unwrap();
        let top1 = |model: &dyn Recommender, user: UserIdx| {
            let mut s = vec![0.0; 30];
            model.score_user(user, &mut s);
            mask(&mut s, train.items_of(user));
            top_k_of(&s, 1)[0].0
        };
        let params = RerankParams {
            top: 8,
            epochs: 30,
            ..RerankParams::new(PopParams::default().into(), CtrKind::Lr)
        };
        // A validation that rewards the base model's first item: every weight that keeps it
        // ties, and the smallest, 0, wins.
        let agrees_with_base =
            |m: &dyn Recommender| (0..40).filter(|&u| top1(m, u) == top1(&base, u)).count() as f64;
        let model = params.fit(&train, &data, Some(&agrees_with_base)).unwrap();
        assert_eq!(model.blend(), 0.0);
        // One that rewards the click model's own first item among the top 8: the weight
        // chosen puts it first for as many users as the click model alone does.
        let click_alone = RerankParams {
            blend: Some(1.0),
            ..params.clone()
        }
        .fit(&train, &data, None)
        .unwrap();
        let agrees_with_click = |m: &dyn Recommender| {
            (0..40)
                .filter(|&u| top1(m, u) == top1(&click_alone, u))
                .count() as f64
        };
        let model = params.fit(&train, &data, Some(&agrees_with_click)).unwrap();
        assert!(model.blend() > 0.0);
        assert_eq!(agrees_with_click(&model), 40.0);
    }

    #[test]
    fn save_and_load_give_the_same_scores() {
        let (data, train) = shop();
        let params = RerankParams {
            top: 5,
            epochs: 5,
            ..RerankParams::new(PopParams::default().into(), CtrKind::DeepFm)
        };
        let model = params.fit(&train, &data, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        model.save(&path).unwrap();
        let loaded = load_model(&path).unwrap();
        assert_eq!(loaded.kind(), "rerank");
        for user in 0..40 {
            let (mut a, mut b) = (vec![0.0; 30], vec![0.0; 30]);
            model.score_user(user, &mut a);
            loaded.score_user(user, &mut b);
            assert_eq!(a, b);
        }
    }
}
