//! Models named as text, for command lines and configuration.
//!
//! Grammar: `NAME` or `NAME:KEY=VALUE;KEY=VALUE` (commas also separate parameters inside one
//! spec). Names: `pop`, `itemknn`, `ease`, `als`, `bpr`, `content`, and the hybrids
//! `hybrid:PART+PART` (score blend) and `rrf:PART+PART` (rank fusion), where a part is
//! `NAME`, `NAME(KEY=VALUE;...)`, optionally followed by `*WEIGHT`. Keys are the fields of the
//! model's params struct; unknown keys are errors that list the valid ones.

use std::fmt;
use std::path::Path;

use assay_core::{Dataset, Interactions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::ModelFile;
use crate::{
    AlsModel, AlsParams, BprModel, BprParams, ContentModel, ContentParams, EaseModel, EaseParams,
    Fit, Fusion, HybridModel, HybridParams, ItemKnnModel, ItemKnnParams, PopModel, PopParams,
    RecommendError, Recommender, Result, Validate,
};

/// A model kind with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// Popularity.
    Pop(PopParams),
    /// Item k-nearest neighbours.
    ItemKnn(ItemKnnParams),
    /// EASE.
    Ease(EaseParams),
    /// Implicit ALS.
    Als(AlsParams),
    /// BPR matrix factorisation.
    Bpr(BprParams),
    /// TF-IDF content model.
    Content(ContentParams),
    /// A blend of other models.
    Hybrid(HybridParams),
}

impl ModelSpec {
    /// Parses one spec, e.g. `"ease"`, `"itemknn:k=50;shrink=10"`, `"hybrid:ease*0.7+itemknn*0.3"`.
    pub fn parse(text: &str) -> Result<ModelSpec> {
        let text = text.trim();
        let (name, rest) = match text.split_once(':') {
            Some((name, rest)) => (name.trim(), rest.trim()),
            None => (text, ""),
        };
        let spec_error = |reason: String| RecommendError::Spec {
            spec: text.to_owned(),
            reason,
        };
        let name = name.to_ascii_lowercase();
        if name == "hybrid" || name == "rrf" {
            let fusion = if name == "rrf" {
                Fusion::Rank
            } else {
                Fusion::Score
            };
            return parse_hybrid(rest, fusion).map_err(spec_error);
        }
        let pairs = parse_pairs(rest).map_err(&spec_error)?;
        let spec = match name.as_str() {
            "pop" | "popularity" | "mostpop" => params_from(&pairs, &[]).map(ModelSpec::Pop),
            "itemknn" | "knn" => params_from(&pairs, &[("topk", "k")]).map(ModelSpec::ItemKnn),
            "ease" => params_from(&pairs, &[("reg_weight", "reg"), ("lambda", "reg")])
                .map(ModelSpec::Ease),
            "als" | "ials" => params_from(
                &pairs,
                &[("regularization", "reg"), ("embedding_size", "factors")],
            )
            .map(ModelSpec::Als),
            "bpr" | "bprmf" => params_from(
                &pairs,
                &[("embedding_size", "factors"), ("learning_rate", "lr")],
            )
            .map(ModelSpec::Bpr),
            "content" | "tfidf" => params_from(&pairs, &[]).map(ModelSpec::Content),
            _ => Err(format!(
                "unknown model `{name}`; known: pop, itemknn, ease, als, bpr, content, hybrid, rrf"
            )),
        };
        spec.map_err(spec_error)
    }

    /// Parses a comma-separated list such as `"pop,itemknn:k=50,shrink=10,ease"`: a fragment of
    /// the form `KEY=VALUE` continues the spec before it.
    pub fn parse_list(text: &str) -> Result<Vec<ModelSpec>> {
        let mut joined: Vec<String> = Vec::new();
        for fragment in text.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let continues = fragment.contains('=') && !fragment.contains(':');
            match joined.last_mut() {
                Some(last) if continues => {
                    last.push(if last.contains(':') { ';' } else { ':' });
                    last.push_str(fragment);
                }
                _ => joined.push(fragment.to_owned()),
            }
        }
        joined.iter().map(|s| ModelSpec::parse(s)).collect()
    }

    /// Expands a spec whose values list alternatives with `|` into every combination, e.g.
    /// `"itemknn:k=50|100;shrink=0|10"` into four specs.
    pub fn grid(text: &str) -> Result<Vec<ModelSpec>> {
        let text = text.trim();
        let Some((name, rest)) = text.split_once(':') else {
            return Ok(vec![ModelSpec::parse(text)?]);
        };
        if rest.contains('(') || rest.contains('+') {
            return Ok(vec![ModelSpec::parse(text)?]);
        }
        let mut combos: Vec<Vec<String>> = vec![Vec::new()];
        for pair in rest
            .split([';', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (key, values) = pair.split_once('=').ok_or_else(|| RecommendError::Spec {
                spec: text.to_owned(),
                reason: format!("`{pair}` is not KEY=VALUE"),
            })?;
            let mut next = Vec::new();
            for combo in &combos {
                for value in values.split('|') {
                    let mut c = combo.clone();
                    c.push(format!("{}={}", key.trim(), value.trim()));
                    next.push(c);
                }
            }
            combos = next;
        }
        combos
            .iter()
            .map(|c| ModelSpec::parse(&format!("{name}:{}", c.join(";"))))
            .collect()
    }

    /// The kind name ("ease"...).
    pub fn kind(&self) -> &'static str {
        match self {
            ModelSpec::Pop(_) => "pop",
            ModelSpec::ItemKnn(_) => "itemknn",
            ModelSpec::Ease(_) => "ease",
            ModelSpec::Als(_) => "als",
            ModelSpec::Bpr(_) => "bpr",
            ModelSpec::Content(_) => "content",
            ModelSpec::Hybrid(p) => match p.fusion {
                Fusion::Score => "hybrid",
                Fusion::Rank => "rrf",
            },
        }
    }

    /// The same spec with every random seed set to `seed` (models without one are unchanged).
    pub fn with_seed(&self, seed: u64) -> ModelSpec {
        match self {
            ModelSpec::Pop(p) => ModelSpec::Pop(PopParams { seed, ..*p }),
            ModelSpec::Als(p) => ModelSpec::Als(AlsParams { seed, ..*p }),
            ModelSpec::Bpr(p) => ModelSpec::Bpr(BprParams { seed, ..*p }),
            ModelSpec::Hybrid(p) => ModelSpec::Hybrid(HybridParams {
                parts: p
                    .parts
                    .iter()
                    .map(|(s, w)| (s.with_seed(seed), *w))
                    .collect(),
                fusion: p.fusion,
            }),
            other => other.clone(),
        }
    }

    /// True when the model trains in epochs and can stop early on validation.
    pub fn is_iterative(&self) -> bool {
        match self {
            ModelSpec::Als(_) | ModelSpec::Bpr(_) => true,
            ModelSpec::Hybrid(p) => p.parts.iter().any(|(s, _)| s.is_iterative()),
            _ => false,
        }
    }

    /// Fits the model. `on_epoch(epoch, validation score)` is called by iterative models.
    pub fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<Box<dyn Recommender>> {
        Ok(match self {
            ModelSpec::Pop(p) => Box::new(p.fit(train, data, validate)?),
            ModelSpec::ItemKnn(p) => Box::new(p.fit(train, data, validate)?),
            ModelSpec::Ease(p) => Box::new(p.fit(train, data, validate)?),
            ModelSpec::Als(p) => Box::new(p.fit_with(train, validate, on_epoch)?),
            ModelSpec::Bpr(p) => Box::new(p.fit_with(train, validate, on_epoch)?),
            ModelSpec::Content(p) => Box::new(p.fit(train, data, validate)?),
            ModelSpec::Hybrid(p) => Box::new(p.fit(train, data, validate)?),
        })
    }
}

impl fmt::Display for ModelSpec {
    /// The canonical text: the kind, then the parameters that differ from the defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = match self {
            ModelSpec::Pop(p) => non_default(p),
            ModelSpec::ItemKnn(p) => non_default(p),
            ModelSpec::Ease(p) => non_default(p),
            ModelSpec::Als(p) => non_default(p),
            ModelSpec::Bpr(p) => non_default(p),
            ModelSpec::Content(p) => non_default(p),
            ModelSpec::Hybrid(p) => {
                let parts: Vec<String> = p
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
                return write!(f, "{}:{}", self.kind(), parts.join("+"));
            }
        };
        if params.is_empty() {
            write!(f, "{}", self.kind())
        } else {
            write!(f, "{}:{}", self.kind(), params.join(";"))
        }
    }
}

/// Reads any model directory written by [`Recommender::save`].
pub fn load_model(dir: &Path) -> Result<Box<dyn Recommender>> {
    let kind = ModelFile::read(dir)?.kind().to_owned();
    Ok(match kind.as_str() {
        "pop" => Box::new(PopModel::load(dir)?),
        "itemknn" => Box::new(ItemKnnModel::load(dir)?),
        "ease" => Box::new(EaseModel::load(dir)?),
        "als" => Box::new(AlsModel::load(dir)?),
        "bpr" => Box::new(BprModel::load(dir)?),
        "content" => Box::new(ContentModel::load(dir)?),
        "hybrid" => Box::new(HybridModel::load(dir)?),
        other => {
            return Err(RecommendError::ModelFile {
                path: dir.to_owned(),
                reason: format!("unknown model kind `{other}`"),
            })
        }
    })
}

type Pairs = Vec<(String, String)>;

fn parse_pairs(text: &str) -> std::result::Result<Pairs, String> {
    let mut pairs = Vec::new();
    for pair in text
        .split([';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{pair}` is not KEY=VALUE"))?;
        pairs.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Ok(pairs)
}

/// Builds a params struct from its defaults overridden by `pairs`, with key aliases.
fn params_from<T: Serialize + DeserializeOwned + Default>(
    pairs: &Pairs,
    aliases: &[(&str, &str)],
) -> std::result::Result<T, String> {
    let mut value = serde_json::to_value(T::default()).map_err(|e| e.to_string())?;
    let map = value
        .as_object_mut()
        .ok_or_else(|| "parameters are not a struct".to_owned())?;
    for (key, text) in pairs {
        let key = aliases
            .iter()
            .find(|(alias, _)| alias == key)
            .map_or(key.as_str(), |(_, real)| real);
        let known: Vec<String> = map.keys().cloned().collect();
        let slot = map.get_mut(key).ok_or_else(|| {
            if known.is_empty() {
                format!("takes no parameters (got `{key}`)")
            } else {
                format!("unknown parameter `{key}`; known: {}", known.join(", "))
            }
        })?;
        *slot = if slot.is_u64() {
            let n: u64 = text
                .parse()
                .map_err(|_| format!("{key} = {text}: expected a whole number"))?;
            n.into()
        } else if slot.is_number() {
            let x: f64 = text
                .parse()
                .map_err(|_| format!("{key} = {text}: expected a number"))?;
            serde_json::Number::from_f64(x)
                .ok_or_else(|| format!("{key} = {text}: expected a finite number"))?
                .into()
        } else if slot.is_boolean() {
            let b: bool = text
                .parse()
                .map_err(|_| format!("{key} = {text}: expected true or false"))?;
            b.into()
        } else {
            text.clone().into()
        };
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// `key=value` for every field that differs from the default.
fn non_default<T: Serialize + Default>(params: &T) -> Vec<String> {
    let (Ok(serde_json::Value::Object(now)), Ok(serde_json::Value::Object(default))) = (
        serde_json::to_value(params),
        serde_json::to_value(T::default()),
    ) else {
        return Vec::new();
    };
    now.iter()
        .filter(|(k, v)| default.get(*k) != Some(v))
        .map(|(k, v)| match v.as_f64() {
            Some(x) if !v.is_u64() => format!("{k}={}", x as f32),
            _ => format!("{k}={v}"),
        })
        .collect()
}

fn parse_hybrid(text: &str, fusion: Fusion) -> std::result::Result<ModelSpec, String> {
    let mut parts = Vec::new();
    for part in text.split('+').map(str::trim).filter(|p| !p.is_empty()) {
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
        if matches!(spec, ModelSpec::Hybrid(_)) {
            return Err("hybrids cannot nest".into());
        }
        parts.push((spec, weight));
    }
    if parts.is_empty() {
        return Err("a hybrid needs at least one part, e.g. hybrid:ease*0.7+itemknn*0.3".into());
    }
    Ok(ModelSpec::Hybrid(HybridParams { parts, fusion }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_params_aliases_and_round_trips() {
        assert_eq!(
            ModelSpec::parse("ease").unwrap(),
            ModelSpec::Ease(EaseParams::default())
        );
        let knn = ModelSpec::parse("itemknn:k=50").unwrap();
        assert_eq!(
            knn,
            ModelSpec::ItemKnn(ItemKnnParams { k: 50, shrink: 0.0 })
        );
        assert_eq!(knn.to_string(), "itemknn:k=50");
        let ease = ModelSpec::parse("EASE:reg_weight=500").unwrap();
        assert_eq!(ease.to_string(), "ease:reg=500");
        let bpr = ModelSpec::parse("bpr:lr=0.005;factors=32").unwrap();
        assert_eq!(ModelSpec::parse(&bpr.to_string()).unwrap(), bpr);
        let hybrid = ModelSpec::parse("hybrid:ease*0.7+itemknn(k=50;shrink=10)*0.3").unwrap();
        assert_eq!(
            hybrid.to_string(),
            "hybrid:ease*0.7+itemknn(k=50;shrink=10)*0.3"
        );
        assert_eq!(ModelSpec::parse(&hybrid.to_string()).unwrap(), hybrid);
        assert_eq!(ModelSpec::parse("rrf:ease+als").unwrap().kind(), "rrf");
    }

    #[test]
    fn rejects_bad_specs_with_reasons() {
        let err = ModelSpec::parse("itemknn:kk=5").unwrap_err().to_string();
        assert!(
            err.contains("unknown parameter `kk`") && err.contains("shrink"),
            "{err}"
        );
        assert!(ModelSpec::parse("itemknn:k=1.5").is_err());
        assert!(ModelSpec::parse("nope").is_err());
        assert!(ModelSpec::parse("pop:x=1").is_err());
        assert!(ModelSpec::parse("hybrid:").is_err());
    }

    #[test]
    fn lists_and_grids_expand() {
        let list = ModelSpec::parse_list("pop, itemknn:k=50,shrink=10 ,ease").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[1],
            ModelSpec::ItemKnn(ItemKnnParams {
                k: 50,
                shrink: 10.0
            })
        );
        let grid = ModelSpec::grid("itemknn:k=50|100;shrink=0|10").unwrap();
        assert_eq!(grid.len(), 4);
        assert_eq!(
            grid[3],
            ModelSpec::ItemKnn(ItemKnnParams {
                k: 100,
                shrink: 10.0
            })
        );
    }
}
