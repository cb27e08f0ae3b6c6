//! Models named as text, for command lines and configuration, and the registry of model kinds.
//!
//! Grammar: `NAME` or `NAME:KEY=VALUE;KEY=VALUE` (commas also separate parameters inside one
//! spec). Names are those of the registered kinds (`ease`, `itemknn:k=50`...; an unknown name
//! is an error that lists them), with the hybrids `hybrid:PART+PART` (score blend) and
//! `rrf:PART+PART` (rank fusion), where a part is `NAME`, `NAME(KEY=VALUE;...)`, optionally
//! followed by `*WEIGHT`, and the re-ranker `rerank:base=PART;click=lr|deepfm|ctr-gru`. Keys are the fields of the model's params struct; unknown keys are
//! errors that list the valid ones.
//!
//! Every kind is described once, by its params struct implementing [`ModelKind`]: name and
//! aliases, parameter text, fitting, loading and [`Capabilities`]. The models module registers
//! each kind with one line; [`ModelSpec`] and [`load_model`] find kinds only through that
//! registry, so no code here names a model.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use assay_core::{Dataset, Interactions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::models::KINDS;
use crate::store::ModelFile;
use crate::{Fit, RecommendError, Recommender, Result, Validate};

/// What a model can do beyond fitting and scoring its own users, for callers that choose a
/// path by model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Trains in epochs and can stop early on a validation score ([`ModelSpec::fit`] then takes
    /// a validation callback).
    pub iterative: bool,
    /// Scores any history, including one of a user the model was not fitted on, through
    /// [`Recommender::score_history`]: the score of item `j` is a sum over the history's items
    /// `i` of a weight `w(i, j)` with `w(i, i) = 0` (item-item models).
    pub scores_any_history: bool,
    /// Chooses a setting by a validation score when [`ModelSpec::fit`] is given a validation
    /// callback (say, the re-ranker's blend weight), without training in epochs.
    pub tunes_on_validation: bool,
}

impl Capabilities {
    /// Nothing beyond fitting and scoring.
    pub const NONE: Capabilities = Capabilities {
        iterative: false,
        scores_any_history: false,
        tunes_on_validation: false,
    };
    /// Trains in epochs.
    pub const ITERATIVE: Capabilities = Capabilities {
        iterative: true,
        scores_any_history: false,
        tunes_on_validation: false,
    };
    /// An item-item model.
    pub const ITEM_ITEM: Capabilities = Capabilities {
        iterative: false,
        scores_any_history: true,
        tunes_on_validation: false,
    };

    /// Whether a fit makes use of a validation callback.
    pub fn uses_validation(&self) -> bool {
        self.iterative || self.tunes_on_validation
    }
}

/// One kind of model, implemented by its hyper-parameter struct: its name in specs and model
/// files, its parameter text, how it fits and loads, and its [`Capabilities`].
///
/// A kind becomes usable by name (in [`ModelSpec::parse`] and [`load_model`]) through one line
/// in the models module's registry.
pub trait ModelKind: Fit + Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The name in specs and model files ("ease").
    const NAME: &'static str;
    /// Other names accepted in specs ("knn" for itemknn).
    const ALIASES: &'static [&'static str] = &[];

    /// Reads the parameter text after `NAME:` (`KEY=VALUE;...`, possibly empty). `name` is the
    /// name or alias the spec was written with. The error says what is wrong.
    fn parse(name: &str, params: &str) -> std::result::Result<Self, String>;

    /// The parameter text that [`ModelKind::parse`] reads back; empty when every parameter has
    /// its default.
    fn params_text(&self) -> String;

    /// Reads a fitted model from a folder written by [`Recommender::save`].
    fn load(dir: &Path) -> Result<Self::Model>;

    /// The name this spec is printed with; kinds with one name need not override it.
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// What models of this kind can do.
    const CAPABILITIES: Capabilities = Capabilities::NONE;

    /// Checks the hyper-parameters on their own, before any data is seen. [`ModelSpec::parse`]
    /// refuses a spec that fails it, so a bad value is reported before any work, and
    /// [`ModelSpec::fit`] checks again for specs built in code. The error is
    /// [`RecommendError::Param`]: the parameter, its value and the allowed range.
    fn check(&self) -> Result<()> {
        Ok(())
    }

    /// What this model can do: [`ModelKind::CAPABILITIES`] unless it depends on the parameters.
    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    /// The buffers a fit on `n_users` x `n_items` allocates whose size is a product of sizes
    /// (EASE's item x item matrices, factor tables), at their peak; `None` when there are none
    /// and the model's memory grows with the interactions. [`ModelSpec::check_memory`] holds
    /// it against the memory budget ([`assay_core::memory`]) before any fit.
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        let _ = (n_users, n_items);
        None
    }

    /// What evaluating one fit on data of `size` costs: the fit's own work and the
    /// full-ranking passes (see [`Work`]). By default no fit work worth counting and two
    /// passes (validation and test) of cheap scores.
    fn work(&self, size: &FitSize) -> Work {
        let _ = size;
        Work::default()
    }

    /// The same parameters with every random seed set to `seed`; unchanged by default.
    fn with_seed(&self, seed: u64) -> Self {
        let _ = seed;
        self.clone()
    }

    /// Fits, calling `on_epoch(epoch, validation score)` after every epoch of an iterative
    /// model; [`Fit::fit`] by default.
    fn fit_with(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<Self::Model> {
        let _ = on_epoch;
        self.fit(train, data, validate)
    }
}

/// The most combinations [`ModelSpec::grid`] expands: each is a model fit.
pub const MAX_GRID: usize = 10_000;

/// What [`ModelKind::dense_memory`] reports: the bytes, what they hold ("three dense
/// 100,000 x 100,000 matrices") and what to use when they are over the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseMemory {
    /// Peak bytes of the buffers.
    pub bytes: u128,
    /// What the buffers are, for messages.
    pub what: String,
    /// What to use instead, for messages ("use itemknn or als instead").
    pub instead: &'static str,
}

/// The sizes a fit's time depends on: users, items, training interactions, and the sum over
/// users of their interactions squared (the co-occurring pairs an item-item model counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FitSize {
    /// Users.
    pub users: usize,
    /// Items.
    pub items: usize,
    /// Training interactions.
    pub interactions: u64,
    /// The sum over users of their interaction count squared.
    pub pairs: u128,
}

/// What [`ModelKind::work`] reports, in nanoseconds of one thread ([`assay_core::budget`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Work {
    /// The fit, without its validation passes.
    pub fit_ns: f64,
    /// Full-ranking passes over every evaluated user: validation and test, plus one per epoch
    /// of a model validated after every epoch (the fewest it can run when it stops early).
    pub passes: u64,
    /// One thread's nanoseconds to score and rank one item for one user.
    pub ns_per_score: f64,
}

impl Default for Work {
    fn default() -> Work {
        Work {
            fit_ns: 0.0,
            passes: 2,
            ns_per_score: assay_core::budget::NS_PER_SCORE,
        }
    }
}

/// A model kind with its hyper-parameters: a plain value that can be cloned, compared,
/// printed as text and parsed back.
#[derive(Clone)]
pub struct ModelSpec(Arc<dyn AnyParams>);

impl ModelSpec {
    /// The spec of `params`.
    pub fn new<P: ModelKind>(params: P) -> ModelSpec {
        ModelSpec(Arc::new(params))
    }

    /// Parses one spec, e.g. `"ease"`, `"itemknn:k=50;shrink=10"`, `"hybrid:ease*0.7+itemknn*0.3"`.
    pub fn parse(text: &str) -> Result<ModelSpec> {
        let text = text.trim();
        let (name, rest) = match text.split_once(':') {
            Some((name, rest)) => (name.trim(), rest.trim()),
            None => (text, ""),
        };
        let name = name.to_ascii_lowercase();
        let parsed = match kind_named(&name) {
            Some(kind) => kind.parse(&name, rest),
            None => Err(format!("unknown model `{name}`; known: {}", known_names())),
        };
        parsed.map_err(|reason| RecommendError::Spec {
            spec: text.to_owned(),
            reason,
        })
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
    ///
    /// # Errors
    /// A malformed spec, or a grid of more than [`MAX_GRID`] combinations (counted before any
    /// is built: each one is a model fit).
    pub fn grid(text: &str) -> Result<Vec<ModelSpec>> {
        let text = text.trim();
        let Some((name, rest)) = text.split_once(':') else {
            return Ok(vec![ModelSpec::parse(text)?]);
        };
        if rest.contains('(') || rest.contains('+') {
            return Ok(vec![ModelSpec::parse(text)?]);
        }
        let pairs: Vec<&str> = rest
            .split([';', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let sizes: Vec<usize> = pairs.iter().map(|p| p.split('|').count()).collect();
        let count = sizes
            .iter()
            .try_fold(1usize, |n, &k| n.checked_mul(k))
            .filter(|&n| n <= MAX_GRID);
        if count.is_none() {
            let factors: Vec<String> = sizes.iter().map(usize::to_string).collect();
            let product = sizes
                .iter()
                .try_fold(1u128, |n, &k| n.checked_mul(k as u128))
                .map_or_else(|| "more than 2^128".to_owned(), |n| n.to_string());
            return Err(RecommendError::Spec {
                spec: text.to_owned(),
                reason: format!(
                    "{} = {product} combinations, over the limit of {MAX_GRID} (each is a model \
                     fit); list fewer values per key",
                    factors.join(" x ")
                ),
            });
        }
        let mut combos: Vec<Vec<String>> = vec![Vec::new()];
        for pair in pairs {
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

    /// The kind name as printed ("ease"; a rank-fusion hybrid says "rrf").
    pub fn kind(&self) -> &'static str {
        self.0.name()
    }

    /// The parameters, when this spec is of kind `P`: how a caller with a path for one
    /// model (an exact fast refit, say) reads them.
    pub fn params<P: ModelKind>(&self) -> Option<&P> {
        self.0.as_any().downcast_ref()
    }

    /// What the model can do.
    pub fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }

    /// Checks the hyper-parameters ([`ModelKind::check`]); a parsed spec always passes.
    pub fn check(&self) -> Result<()> {
        self.0.check()
    }

    /// The product-sized buffers of a fit on `n_users` x `n_items`, see
    /// [`ModelKind::dense_memory`].
    pub fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        self.0.dense_memory(n_users, n_items)
    }

    /// Checks, before any work, that `at_once` fits on `n_users` x `n_items` running side by
    /// side (one per thread in data valuation) stay within the memory budget
    /// ([`assay_core::memory`]). [`ModelSpec::fit`] checks a single fit itself.
    ///
    /// # Errors
    /// [`RecommendError::TooLarge`]: the model, the sizes, the bytes, the limit and what to use
    /// instead.
    pub fn check_memory(&self, n_users: usize, n_items: usize, at_once: usize) -> Result<()> {
        let Some(need) = self.dense_memory(n_users, n_items) else {
            return Ok(());
        };
        let at_once = at_once.max(1);
        let bytes = need.bytes.saturating_mul(at_once as u128);
        let what = || {
            let sides = if at_once > 1 {
                format!(" per fit, {at_once} fits at once (one per thread)")
            } else {
                String::new()
            };
            format!(
                "{self} on {} users x {} items needs {}{sides}",
                assay_core::memory::format_count(n_users as u64),
                assay_core::memory::format_count(n_items as u64),
                need.what
            )
        };
        assay_core::memory::check(bytes, what, need.instead)?;
        Ok(())
    }

    /// What evaluating one fit on data of `size` costs ([`ModelKind::work`]).
    pub fn work(&self, size: &FitSize) -> Work {
        self.0.work(size)
    }

    /// The same spec with every random seed set to `seed` (models without one are unchanged).
    pub fn with_seed(&self, seed: u64) -> ModelSpec {
        self.0.with_seed(seed)
    }

    /// Fits the model. `on_epoch(epoch, validation score)` is called by iterative models.
    ///
    /// # Errors
    /// The parameters out of range ([`RecommendError::Param`]), a fit over the memory budget
    /// ([`RecommendError::TooLarge`], checked before anything is allocated), or the model's
    /// own failure.
    pub fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<Box<dyn Recommender>> {
        self.0.fit(train, data, validate, on_epoch)
    }
}

impl<P: ModelKind> From<P> for ModelSpec {
    fn from(params: P) -> ModelSpec {
        ModelSpec::new(params)
    }
}

impl PartialEq for ModelSpec {
    fn eq(&self, other: &ModelSpec) -> bool {
        self.0.same(other.0.as_ref())
    }
}

impl fmt::Debug for ModelSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for ModelSpec {
    /// The canonical text: the kind, then the parameters that differ from the defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params = self.0.params_text();
        if params.is_empty() {
            write!(f, "{}", self.kind())
        } else {
            write!(f, "{}:{params}", self.kind())
        }
    }
}

/// Reads any model directory written by [`Recommender::save`].
pub fn load_model(dir: &Path) -> Result<Box<dyn Recommender>> {
    let file = ModelFile::read(dir)?;
    // A kind may write one of its aliases (fusion-gate is the fusion kind's).
    match kind_named(file.kind()) {
        Some(kind) => kind.load(dir),
        None => Err(RecommendError::ModelFile {
            path: dir.to_owned(),
            reason: format!("unknown model kind `{}`", file.kind()),
        }),
    }
}

/// A registered kind with its params type erased, as the registry holds it.
pub(crate) trait Kind: Sync {
    fn name(&self) -> &'static str;
    fn aliases(&self) -> &'static [&'static str];
    fn parse(&self, name: &str, params: &str) -> std::result::Result<ModelSpec, String>;
    fn load(&self, dir: &Path) -> Result<Box<dyn Recommender>>;
}

/// The registry entry of kind `P`.
pub(crate) struct Registered<P>(PhantomData<fn() -> P>);

impl<P> Registered<P> {
    pub(crate) const ENTRY: Registered<P> = Registered(PhantomData);
}

impl<P: ModelKind> Kind for Registered<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }

    fn aliases(&self) -> &'static [&'static str] {
        P::ALIASES
    }

    fn parse(&self, name: &str, params: &str) -> std::result::Result<ModelSpec, String> {
        let params = P::parse(name, params)?;
        params.check().map_err(|e| e.to_string())?;
        Ok(ModelSpec::new(params))
    }

    fn load(&self, dir: &Path) -> Result<Box<dyn Recommender>> {
        Ok(Box::new(P::load(dir)?))
    }
}

fn kind_named(name: &str) -> Option<&'static dyn Kind> {
    KINDS
        .iter()
        .copied()
        .find(|kind| kind.name() == name || kind.aliases().contains(&name))
}

/// "pop (popularity, mostpop), itemknn (knn), ...".
fn known_names() -> String {
    let names: Vec<String> = KINDS
        .iter()
        .map(|kind| match kind.aliases() {
            [] => kind.name().to_owned(),
            aliases => format!("{} ({})", kind.name(), aliases.join(", ")),
        })
        .collect();
    names.join(", ")
}

/// The params of some kind behind [`ModelSpec`].
trait AnyParams: fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn AnyParams) -> bool;
    fn name(&self) -> &'static str;
    fn params_text(&self) -> String;
    fn capabilities(&self) -> Capabilities;
    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory>;
    fn work(&self, size: &FitSize) -> Work;
    fn check(&self) -> Result<()>;
    fn with_seed(&self, seed: u64) -> ModelSpec;
    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<Box<dyn Recommender>>;
}

impl<P: ModelKind> AnyParams for P {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn AnyParams) -> bool {
        other.as_any().downcast_ref::<P>() == Some(self)
    }

    fn name(&self) -> &'static str {
        ModelKind::name(self)
    }

    fn params_text(&self) -> String {
        ModelKind::params_text(self)
    }

    fn capabilities(&self) -> Capabilities {
        ModelKind::capabilities(self)
    }

    fn dense_memory(&self, n_users: usize, n_items: usize) -> Option<DenseMemory> {
        ModelKind::dense_memory(self, n_users, n_items)
    }

    fn work(&self, size: &FitSize) -> Work {
        ModelKind::work(self, size)
    }

    fn check(&self) -> Result<()> {
        ModelKind::check(self)
    }

    fn with_seed(&self, seed: u64) -> ModelSpec {
        ModelSpec::new(ModelKind::with_seed(self, seed))
    }

    fn fit(
        &self,
        train: &Interactions,
        data: &Dataset,
        validate: Option<&Validate<'_>>,
        on_epoch: &(dyn Fn(usize, Option<f64>) + Sync),
    ) -> Result<Box<dyn Recommender>> {
        ModelKind::check(self)?;
        ModelSpec::new(self.clone()).check_memory(train.n_users(), train.n_items(), 1)?;
        Ok(Box::new(self.fit_with(train, data, validate, on_epoch)?))
    }
}

type Pairs = Vec<(String, String)>;

pub(crate) fn parse_pairs(text: &str) -> std::result::Result<Pairs, String> {
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

/// Reads `KEY=VALUE;...` into a params struct: its defaults overridden by the pairs, with key
/// `aliases` (alias, field). Unknown keys are errors that list the fields.
pub(crate) fn params_from<T: Serialize + DeserializeOwned + Default>(
    text: &str,
    aliases: &[(&str, &str)],
) -> std::result::Result<T, String> {
    let pairs = parse_pairs(text)?;
    let mut value = serde_json::to_value(T::default()).map_err(|e| e.to_string())?;
    let map = value
        .as_object_mut()
        .ok_or_else(|| "parameters are not a struct".to_owned())?;
    for (key, text) in &pairs {
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

/// `key=value;...` for every field that differs from the default: the text
/// [`params_from`] reads back.
pub(crate) fn non_default<T: Serialize + Default>(params: &T) -> String {
    let (Ok(serde_json::Value::Object(now)), Ok(serde_json::Value::Object(default))) = (
        serde_json::to_value(params),
        serde_json::to_value(T::default()),
    ) else {
        return String::new();
    };
    let pairs: Vec<String> = now
        .iter()
        .filter(|(k, v)| default.get(*k) != Some(v))
        .map(|(k, v)| match v.as_f64() {
            Some(x) if !v.is_u64() => format!("{k}={}", x as f32),
            _ => format!("{k}={v}"),
        })
        .collect();
    pairs.join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EaseParams, ItemKnnParams};

    #[test]
    fn parses_names_params_aliases_and_round_trips() {
        assert_eq!(
            ModelSpec::parse("ease").unwrap(),
            ModelSpec::new(EaseParams::default())
        );
        let knn = ModelSpec::parse("itemknn:k=50").unwrap();
        assert_eq!(knn, ModelSpec::new(ItemKnnParams { k: 50, shrink: 0.0 }));
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
    fn out_of_range_parameters_are_refused_when_parsed() {
        // Each (spec, parameter, allowed range) is refused by `parse`, before any fit.
        let cases = [
            ("bpr:lr=-1", "lr", "positive"),
            ("bpr:factors=0", "factors", "at least 1"),
            ("bpr:batch=0", "batch", "at least 1"),
            ("als:reg=-0.5", "reg", "non-negative"),
            ("als:factors=0", "factors", "at least 1"),
            ("ease:reg=0", "reg", "positive"),
            ("ease:dropout=1", "dropout", "[0, 1)"),
            ("ease:side=-1", "side", "non-negative"),
            ("itemknn:k=0", "k", "at least 1"),
            ("itemknn:shrink=-2", "shrink", "non-negative"),
            ("rp3beta:beta=-1", "beta", "non-negative"),
            ("hybrid:ease+bpr(lr=-1)", "lr", "positive"),
            ("hybrid:ease*inf+pop", "weight", "finite"),
        ];
        for (text, name, range) in cases {
            let err = match ModelSpec::parse(text) {
                Ok(spec) => panic!("{text} parsed as {spec}"),
                Err(err) => err.to_string(),
            };
            assert!(
                err.contains(name) && err.contains(range),
                "{text}: {err} should name {name} and {range}"
            );
        }
        // A spec built in code skips the parser; `check` and `fit` still refuse it.
        let built = ModelSpec::new(crate::BprParams {
            lr: -1.0,
            ..crate::BprParams::default()
        });
        assert!(matches!(
            built.check(),
            Err(RecommendError::Param { name: "lr", .. })
        ));
    }

    #[test]
    fn lists_and_grids_expand() {
        let list = ModelSpec::parse_list("pop, itemknn:k=50,shrink=10 ,ease").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(
            list[1],
            ModelSpec::new(ItemKnnParams {
                k: 50,
                shrink: 10.0
            })
        );
        let grid = ModelSpec::grid("itemknn:k=50|100;shrink=0|10").unwrap();
        assert_eq!(grid.len(), 4);
        assert_eq!(
            grid[3],
            ModelSpec::new(ItemKnnParams {
                k: 100,
                shrink: 10.0
            })
        );
    }
}
