// tidy: long file: the flags and help texts of every command, parsing only; one place to read
// what the command line accepts.
//! Flag definitions. Parsing only checks what the user typed; everything that touches files
//! happens in the command modules.

use std::path::PathBuf;

use assay_metrics::Metric;
use assay_value::business::BusinessMetric;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};

/// assay: e-commerce search, recommendations and the value of data.
///
/// Every command takes the data as its first argument: a built-in name (ml-100k,
/// obd/random/all, obd/bts/men, ...), a directory with an assay.toml, or a directory of
/// RecBole atomic files or Open Bandit Dataset CSVs.
#[derive(Debug, Parser)]
#[command(
    name = "assay",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The most memory one step may ask for in buffers whose size is a product of data sizes
    /// (EASE's item x item matrices, per-round action distributions, one-hot contexts), e.g.
    /// 16GiB or 500MB. A step over it is refused before it allocates, or takes a path that
    /// fits and says so. Default: $ASSAY_MEMORY_LIMIT, else 8GiB.
    #[arg(long, global = true, value_name = "SIZE", value_parser = parse_memory_limit)]
    pub memory_limit: Option<u64>,
    /// The longest a step whose work is a product of data sizes (ranking every item for every
    /// user in eval, the report's refits) may be estimated to run, e.g. 90s, 45m, 4h, or none.
    /// A step over it is refused before any work, with the estimate; the report also stops
    /// when its own pace projects well past the limit, or when the limit passes. Default:
    /// $ASSAY_TIME_LIMIT, else 1h.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_time_limit)]
    pub time_limit: Option<f64>,
}

fn parse_memory_limit(text: &str) -> Result<u64, String> {
    assay_core::memory::parse_size(text)
}

fn parse_time_limit(text: &str) -> Result<f64, String> {
    assay_core::budget::parse_duration(text)
}

/// The ids of the arguments of subcommand `name` typed on the command line, as opposed to
/// left at their defaults: how a command tells a flag the user chose from its default.
pub fn typed(matches: &ArgMatches, name: &str) -> Vec<String> {
    let Some(sub) = matches.subcommand_matches(name) else {
        return Vec::new();
    };
    sub.ids()
        .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_owned())
        .collect()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Get the public sample data, and look at, clean and split a dataset.
    #[command(subcommand)]
    Data(DataCommand),
    /// Write a synthetic shop with known ground truth (catalog, users, sessions, queries,
    /// judgments, impressions, clicks, carts, purchases, optional labelled bad data).
    Simulate(SimulateArgs),
    /// Evaluate recommenders on a protocol (recbole: per-user random 80/10/10, full ranking,
    /// K = 10), over several seeds: one row per model with validation and test metrics.
    Eval(EvalArgs),
    /// Hyper-parameter search on the validation split: `--grid "itemknn:k=50|100;shrink=0|10"`.
    Tune(TuneArgs),
    /// Fit a model on all of a dataset's interactions and save it (safetensors + JSON).
    Train(TrainArgs),
    /// Top-k items for a user from a saved model, with titles and scores.
    Recommend(RecommendArgs),
    /// Build a product-search index of a catalog (BM25 over the text fields + sentence
    /// embeddings in an HNSW graph) and save it, so `assay search` and `assay eval-search` start
    /// at once.
    Index(IndexArgs),
    /// Search a catalog: BM25, vector or hybrid ranking, with filters, facets, the query's
    /// predicted category and, with --explain, why each hit is where it is.
    Search(SearchArgs),
    /// Search quality on judged queries: nDCG@10 (gain = grade), MRR@10 and Recall@100 of bm25,
    /// vector and hybrid ranking side by side, and query-intent accuracy on labelled queries.
    EvalSearch(EvalSearchArgs),
    /// Fine-tune the sentence encoder on the shop's own data: (query, item) pairs from graded
    /// judgments and from search logs (clicks, carts, purchases after a query), a contrastive
    /// loss with in-batch and BM25-mined hard negatives, early stopping on validation nDCG@10
    /// of held-out queries. The folder written is used with `--encoder-model DIR`.
    Finetune(FinetuneArgs),
    /// The value of data: how much each source, category, time window, segment, user, item or
    /// interaction adds to recommendation quality (Shapley, Banzhaf, Beta Shapley, LOO), or
    /// KNN-Shapley values of the rows of any labelled CSV.
    Value(ValueArgs),
    /// Off-policy evaluation: estimate from logged impressions and clicks what another policy
    /// would earn (Open Bandit Pipeline's estimators), with bootstrap intervals.
    Ope(OpeArgs),
    /// Click models (logistic regression, DeepFM, the text GRU) trained on a dataset's
    /// impressions and clicks (or ratings >= 4 without impressions), a seeded random 80/10/10
    /// split: test AUC and LogLoss, training time, epochs and where early stopping fired.
    Ctr(CtrArgs),
    /// Bandit policies that explore: online runs against a synthetic shop with known click
    /// probabilities.
    #[command(subcommand)]
    Bandit(BanditCommand),
    /// Business metrics of a log: CTR, conversion, revenue per impression and session, dwell,
    /// N-day retention; overall, per segment and per source, with 95% intervals.
    Business(BusinessArgs),
    /// Analyse an A/B test from a CSV `variant,metric[,pre_metric][,day]` (one row per user or
    /// session): z-test or Welch, lift, bootstrap, power, CUPED, a peeking check.
    Ab(AbArgs),
    /// The data-value report: one self-contained HTML page with what each source, segment,
    /// time window, category, user and item is worth, removal and learning curves, and a
    /// plain-language summary of what to keep, fix, buy more of or drop.
    Report(ReportArgs),
    /// Fetch the sample data and run every stage end to end, printing what it did and where
    /// the outputs went.
    Quickstart(QuickstartArgs),
    /// Answer a shopper's question from a shop's FAQ (the `[faq]` file of its assay.toml):
    /// hybrid BM25 + embedding retrieval over the question-answer pairs, abstaining when the
    /// best match is not close enough.
    Faq(crate::faq::FaqArgs),
    /// The engine as an HTTP service: search, recommendations, similar items, event ingestion
    /// acknowledged once durable, item updates, user deletion, model versions with rollback,
    /// Prometheus metrics and a dashboard, on one SQLite store; DATA is imported at first start.
    Serve(ServeArgs),
    /// API keys of a service's store.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data to import into an empty store: a built-in name or a directory, as for the
    /// other commands. Not needed once the store holds data.
    pub data: Option<String>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:7700")]
    pub addr: String,
    /// The store file (SQLite); model versions are kept in the folder FILE.models beside it.
    #[arg(long, value_name = "FILE", default_value = "assay.db")]
    pub store: PathBuf,
    /// Answer without API keys. Only allowed on a loopback address.
    #[arg(long)]
    pub no_auth: bool,
    /// The recommender fitted for every model version.
    #[arg(long, default_value = "itemknn")]
    pub model: String,
    /// Seed of every fit and of the evaluation split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The sentence encoder of search.
    #[arg(long, value_enum, default_value = "minilm")]
    pub encoder: EncoderArg,
    /// Threads for embedding and indexing (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Fit a new model version once this many events have arrived since the last one.
    #[arg(long, value_name = "N")]
    pub retrain_events: Option<u64>,
    /// Fit a new model version this many seconds after the last one, when events arrived.
    #[arg(long, value_name = "T")]
    pub retrain_seconds: Option<u64>,
    /// A version's offline metrics (RecBole protocol) are measured on this many most recent
    /// preferences (user-item pairs, each counted once at its first event).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub metrics_window: usize,
    /// Serve the model's ranking as it is: no Thompson-sampling re-ranker over its top
    /// candidates (logged propensities are then 1).
    #[arg(long)]
    pub no_bandit: bool,
    /// Monte-Carlo draws behind each logged propensity of the re-ranker.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub bandit_draws: usize,
    /// Run an A/B test of the re-ranker: this share of users (0 to 1, by a seeded hash of
    /// their id) gets the model's ranking unchanged; `/ab` and the dashboard compare the
    /// groups' share of served lists with a click or purchase (Welch's test, unit: user).
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub ab_control: f64,
    /// A demo: simulate a shop (seeded by --seed) into --demo-dir, serve it on loopback
    /// without keys, with the hash encoder (nothing to download) and a new model version
    /// every 2,000 events, and send --demo-seconds of seeded simulated traffic; the
    /// dashboard's address is printed. DATA and --store are not taken.
    #[arg(long)]
    pub demo: bool,
    /// How long the demo's simulated audience sends traffic; the service goes on until Ctrl-C.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub demo_seconds: u64,
    /// Where the demo's shop and store go (default: a new folder in the system's temporary
    /// folder). A folder from an earlier demo is served again as it is.
    #[arg(long, value_name = "DIR")]
    pub demo_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new API key and print it once; the store keeps only its SHA-256.
    Create(KeysCreateArgs),
}

#[derive(Debug, Args)]
pub struct KeysCreateArgs {
    /// The service's store file.
    #[arg(long, value_name = "FILE")]
    pub store: PathBuf,
    /// read (search, recommend, similar), write (also events and items) or admin (also
    /// models, users and keys).
    #[arg(long)]
    pub role: String,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download the public sample data and the sentence encoder into the cache
    /// ($ASSAY_HOME, default ~/.cache/assay), checking every file's sha256. A checked copy in a
    /// shared/data folder beside the project is used in place.
    Fetch(FetchArgs),
    /// Counts, sparsity, CTR, conversion, per-source, per-day and per-position counts, long-tail
    /// share.
    Stats(StatsArgs),
    /// Clean a dataset and split its events into train / validation / test files.
    Split(SplitArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PackName {
    /// Open Bandit Dataset sample (both policies, three campaigns).
    Obd,
    /// MovieLens-100k in RecBole atomic format.
    #[value(name = "ml-100k")]
    Ml100k,
    /// all-MiniLM-L6-v2 sentence encoder (candle backend; its tokenizer serves ONNX too).
    Minilm,
    /// ONNX Runtime's shared library (Linux x86_64, ~35 MB) for the ONNX encoder backend.
    Onnxruntime,
    /// all-MiniLM-L6-v2 as an int8 ONNX model (~23 MB) for the ONNX encoder backend.
    #[value(name = "minilm-int8")]
    MinilmInt8,
    /// What the ONNX encoder backend needs: minilm, onnxruntime and minilm-int8.
    Ort,
    /// multilingual-e5-small in 4 bits with its C engine (Linux x86_64, ~90 MB download):
    /// the encoder that reads Chinese.
    E5,
    /// Every pack: obd, ml-100k, minilm, the ONNX packs and e5 (those three only on Linux
    /// x86_64).
    All,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// What to get.
    pub what: PackName,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// How events that name unknown items or users are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnknownRefsArg {
    /// Stop at the first one with its file and line.
    Fail,
    /// Skip them and report how many.
    Drop,
}

#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// The data: a built-in name (ml-100k, obd/random/all, ...) or a directory.
    pub dataset: String,
    /// Events naming items or users missing from the catalog or user file: fail or drop.
    /// Default: the dataset's own setting, else fail.
    #[arg(long, value_enum)]
    pub unknown_refs: Option<UnknownRefsArg>,
}

/// Which events recommenders learn from: one rule for every command that fits one.
#[derive(Debug, Clone, Copy, Args)]
pub struct LearnArgs {
    /// Learn from impressions too. By default models learn from clicks, carts, purchases,
    /// ratings and dwell, and leave impressions out: an impression records what a shopper was
    /// shown, not what they chose.
    #[arg(long)]
    pub learn_from_impressions: bool,
    /// Embed every item's text (title, category, brand, description) with this sentence
    /// encoder before fitting; the fusion recommenders' text modality then reads these
    /// vectors instead of a hashed bag of words. Other models ignore them.
    #[arg(long, value_enum, value_name = "ENCODER")]
    pub item_text_encoder: Option<EncoderArg>,
}

impl LearnArgs {
    /// The rule these flags ask for.
    pub fn impressions(&self) -> assay_core::clean::Impressions {
        if self.learn_from_impressions {
            assay_core::clean::Impressions::Learn
        } else {
            assay_core::clean::Impressions::Skip
        }
    }
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Drop exact repeats of an event.
    #[arg(long)]
    pub dedupe: bool,
    /// Treat ratings below this value as no signal (drop them): explicit to implicit feedback.
    #[arg(long, value_name = "RATING")]
    pub min_rating: Option<f64>,
    /// Keep only users and items with at least this many events, repeated until stable.
    #[arg(long, value_name = "K")]
    pub k_core: Option<usize>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    #[command(flatten)]
    pub clean: CleanArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitMethod {
    /// Per user, by ratio, in random order (RecBole's RS with RO).
    Random,
    /// Per user, by ratio, in time order (RecBole's RS with TO).
    UserTime,
    /// Global time cut points at the ratio's quantiles.
    Time,
    /// Per user: the last event to test, the one before to validation (RecBole's LS).
    Loo,
}

#[derive(Debug, Args)]
pub struct SplitArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    #[command(flatten)]
    pub clean: CleanArgs,
    /// How to split.
    #[arg(long, value_enum, default_value = "random")]
    pub method: SplitMethod,
    /// Train, validation and test shares.
    #[arg(long, value_delimiter = ',', num_args = 3, default_values_t = [0.8, 0.1, 0.1])]
    pub ratios: Vec<f64>,
    /// Seed of the random order.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Directory to write train.csv, valid.csv and test.csv into.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Directory to write the shop into (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Approximate number of events.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Number of users (default: scaled with --events).
    #[arg(long)]
    pub users: Option<u32>,
    /// Number of items (default: scaled with --events).
    #[arg(long)]
    pub items: Option<u32>,
    /// Inject labelled bad data: 5% bot users, duplicated events, flipped ratings.
    #[arg(long)]
    pub bad_data: bool,
    /// Share of bot users (overrides --bad-data's default).
    #[arg(long, value_name = "FRACTION")]
    pub bots: Option<f64>,
    /// Also write an image vector of this many dimensions (128 lets a linear read-out recover
    /// every attribute) for every item (the `image`
    /// column of items.csv, declared in assay.toml), showing the item's leaf, colour,
    /// feature and half of its taste factors, with noise; `truth/modalities.csv` says which
    /// modality the shop's behaviour depends on most.
    #[arg(long, value_name = "DIM")]
    pub images: Option<u32>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Directory for the outputs. A simulated shop written there by an earlier run
    /// (`<out>/shop`) is replaced; a `shop` folder holding anything else is refused.
    #[arg(long, default_value = "assay-quickstart")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct OpeArgs {
    /// The logging policy's logs (e.g. obd/random/all): impressions with positions and
    /// propensities, and clicks.
    #[command(flatten)]
    pub data: DatasetArgs,
    /// The policy to evaluate: `bts` (Bernoulli Thompson sampling with the OBD prior),
    /// `uniform`, or a CSV file of its action distribution: `action,position,prob` or
    /// `round,action,position,prob` (actions and positions as in the logs, rounds from 0).
    #[arg(long, default_value = "bts")]
    pub policy: String,
    /// Estimators, comma-separated: replay, dm, ipw, snipw, dr, sndr, switch-dr:TAU,
    /// dr-os:LAMBDA; or `all` (all eight, tau = lambda = 100).
    #[arg(long, default_value = "all")]
    pub estimators: String,
    /// Prior file for `--policy bts` (OBP's prior_bts.yaml format). Default: the OBD pack's.
    #[arg(long)]
    pub prior: Option<PathBuf>,
    /// Campaign whose prior to use (all, men, women). Default: the dataset's last path part.
    #[arg(long)]
    pub campaign: Option<String>,
    /// Monte-Carlo simulations for the BTS action distribution (OBP's n_sim).
    #[arg(long, default_value_t = 100_000)]
    pub n_sim: usize,
    /// Bootstrap resamples for the 95% intervals (0: no intervals).
    #[arg(long, default_value_t = 200)]
    pub bootstrap: usize,
    /// Logs of the evaluated policy itself, whose mean reward is the ground truth. Default:
    /// obd/bts/C for obd/random/C with --policy bts.
    #[arg(long, value_name = "DATASET")]
    pub truth: Option<String>,
    /// Seed of the simulations, the cross-fitting folds and the bootstrap.
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,
    /// The reward model of DM and the DR family: lr (OBP's logistic regression), deepfm, or
    /// ctr-gru (the text model over the context as words, the position and the item's title;
    /// the items need titles).
    #[arg(long, value_enum, default_value = "lr")]
    pub reward_model: crate::reward::RewardModelArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CtrArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    /// Models, comma-separated: lr, deepfm, ctr-gru.
    #[arg(long, default_value = "lr,deepfm,ctr-gru")]
    pub models: String,
    /// Seed of the split, initialisation, batching and dropout.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Most seconds of training per model; the best epoch so far is kept.
    #[arg(long)]
    pub max_seconds: Option<f64>,
    /// Most epochs per model (default: 300, RecBole's).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Validations without improvement before stopping (default: 10, RecBole's stopping_step).
    #[arg(long)]
    pub patience: Option<usize>,
    /// What early stopping watches on the validation rows: auc or logloss.
    #[arg(long, default_value = "auc")]
    pub valid_metric: String,
    /// Embedding size of DeepFM's fields and the text model's tokens (default: 10 for DeepFM,
    /// RecBole's; 64 for the text model).
    #[arg(long)]
    pub embedding: Option<usize>,
    /// DeepFM's MLP layer sizes, comma-separated, or the text model's GRU size (default:
    /// 128,128,128 for DeepFM, RecBole's; 64 for the text model).
    #[arg(long)]
    pub hidden: Option<String>,
    /// Dropout of DeepFM's MLP and the text model's token embeddings (default 0.2).
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Learning rate of every model listed (default: 0.01 for logistic regression, 0.001 for
    /// the others).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Decoupled weight decay of every model listed (default 0).
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Rows per step of every model listed (default: 2048; 512 for the text model).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Where the text model's token embeddings start: random, or minilm (each word's mean
    /// WordPiece input embedding of all-MiniLM-L6-v2, 384 wide; words outside its vocabulary
    /// start random). With minilm the text model's embedding size is 384.
    #[arg(long, value_enum, default_value = "random")]
    pub token_init: TokenInitArg,
    /// Write each model's training curves to DIR/MODEL/curves.csv and draw them all, with the
    /// best epoch and where early stopping fired, in DIR/training.html. Other files in DIR are
    /// left alone.
    #[arg(long, value_name = "DIR")]
    pub curves: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    #[command(flatten)]
    pub learn: LearnArgs,
    /// Evaluation protocol: recbole, loo (leave-last-out in time order) or temporal (global
    /// time cut points).
    #[arg(long, default_value = "recbole")]
    pub protocol: String,
    /// Models, comma-separated, each `kind[:key=value;...]` of a registered kind (an unknown
    /// name lists them all), e.g. pop, itemknn, rp3beta, ease, als, bpr, content,
    /// hybrid:ease*0.7+itemknn*0.3, rrf:ease+als, rerank:base=ease;click=deepfm (EASE's top
    /// 100 re-ordered by a blend of EASE and a click model, its weight chosen on validation). `pop:batch=2048;negatives=1` counts
    /// popularity the way RecBole 1.2.1's Pop does (mini-batches, negatives included);
    /// `ease:side=3` adds the catalog's tags (categories, brand, attributes) as side
    /// information. Best on ml-100k so far:
    /// `hybrid:ease(reg=400;side=3)*0.8+als(alpha=5;factors=128;reg=10)*0.2`.
    #[arg(long, default_value = "pop,itemknn,ease,als,bpr")]
    pub models: String,
    /// Number of seeds (splits); results are mean ± std over them.
    #[arg(long, default_value_t = 1)]
    pub seeds: usize,
    /// First seed (RecBole's default is 2020); the others follow it, SEED + 1, SEED + 2, ...
    /// (after 2^64 - 1 comes 0).
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Write each iterative model's training curves (loss per step, validation metric per
    /// epoch) to DIR/MODEL/curves.csv (DIR/MODEL-seedN/ with several seeds) and draw them all,
    /// with the best epoch and where early stopping fired, in DIR/training.html. Other files
    /// in DIR are left alone.
    #[arg(long, value_name = "DIR")]
    pub curves: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TuneArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    #[command(flatten)]
    pub learn: LearnArgs,
    /// Protocol whose validation split is used.
    #[arg(long, default_value = "recbole")]
    pub protocol: String,
    /// A model spec whose values list alternatives with `|`.
    #[arg(long)]
    pub grid: String,
    /// Split seed.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    #[command(flatten)]
    pub learn: LearnArgs,
    /// The model spec, e.g. `ease` or `itemknn:k=50`.
    #[arg(long, default_value = "ease")]
    pub model: String,
    /// Directory to save the model into.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of randomised models.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Write an iterative model's training loss to DIR/MODEL/curves.csv and draw it in
    /// DIR/training.html (no validation here: `assay eval --curves` adds it).
    #[arg(long, value_name = "DIR")]
    pub curves: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// A model directory written by `assay train`.
    #[arg(long)]
    pub model: PathBuf,
    /// The user's id as in the data.
    #[arg(long)]
    pub user: String,
    /// How many items.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnitArg {
    /// Sessions are the unit of the intervals.
    Session,
    /// Users are the unit of the intervals.
    User,
}

#[derive(Debug, Args)]
pub struct BusinessArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    /// A user attribute to break the metrics down by (e.g. segment).
    #[arg(long)]
    pub segment: Option<String>,
    /// N of N-day retention.
    #[arg(long, default_value_t = 7)]
    pub retention_days: u32,
    /// Unit of randomisation for the intervals of ratio metrics.
    #[arg(long, value_enum, default_value = "session")]
    pub unit: UnitArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AbArgs {
    /// CSV with columns variant, metric and optionally pre_metric (CUPED) and day (peeking
    /// check); the first variant seen is the control.
    pub file: PathBuf,
    /// Significance level.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Power for the sample-size answer.
    #[arg(long, default_value_t = 0.8)]
    pub power: f64,
    /// Minimal detectable effect (absolute) for the sample-size answer.
    #[arg(long)]
    pub mde: Option<f64>,
    /// Planned units per arm (a test stopped earlier is flagged).
    #[arg(long)]
    pub planned_n: Option<usize>,
    /// Bootstrap resamples of the difference (0: none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum BanditCommand {
    /// Off-policy estimators on many logs of a synthetic contextual bandit with a known value:
    /// bias, RMSE and 95% interval coverage, per reward model.
    Coverage(BanditCoverageArgs),
    /// Run policies online on a synthetic contextual bandit; print their regret curves.
    Simulate(BanditSimulateArgs),
}

#[derive(Debug, Args)]
pub struct BanditSimulateArgs {
    /// Policies, comma-separated: uniform, egreedy, bts, linucb, lints, logucb, logts.
    #[arg(long, default_value = "uniform,egreedy,bts,linucb,lints")]
    pub policies: String,
    /// Rounds to run.
    #[arg(long, default_value_t = 5000)]
    pub rounds: usize,
    /// Number of actions (items).
    #[arg(long, default_value_t = 10)]
    pub actions: usize,
    /// Context dimension.
    #[arg(long, default_value_t = 5)]
    pub dim: usize,
    /// Seed of the environment and of every policy's draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the curves as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BanditCoverageArgs {
    /// Reward models to compare, comma-separated: lr, deepfm, ctr-gru (the synthetic actions
    /// are titled `item0`, `item1`...).
    #[arg(long, default_value = "lr,deepfm")]
    pub reward_models: String,
    /// Estimators, comma-separated (as `assay ope --estimators`).
    #[arg(long, default_value = "dm,ipw,dr")]
    pub estimators: String,
    /// Logged rounds per log.
    #[arg(long, default_value_t = 2000)]
    pub rounds: usize,
    /// Independent logs.
    #[arg(long, default_value_t = 20)]
    pub logs: usize,
    /// Actions.
    #[arg(long, default_value_t = 5)]
    pub actions: usize,
    /// Context dimension.
    #[arg(long, default_value_t = 3)]
    pub dim: usize,
    /// Seed of the environment.
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValueArgs {
    /// The data (not needed with --method knn-shapley).
    pub dataset: Option<String>,
    #[command(flatten)]
    pub learn: LearnArgs,
    /// Events naming unknown items or users: fail or drop.
    #[arg(long, value_enum)]
    pub unknown_refs: Option<UnknownRefsArg>,
    /// Who the players are.
    #[arg(long, value_enum, default_value = "sources")]
    pub players: PlayersArg,
    /// The valuation method. A flag the method (or the utility, or the kind of player) does
    /// not read is refused rather than ignored.
    #[arg(long, value_enum, default_value = "auto")]
    pub method: MethodArg,
    /// The model refitted on every subset of the data.
    #[arg(long, default_value = "itemknn")]
    pub model: String,
    /// The quality measured on the validation split: METRIC@K (ndcg, recall, mrr, hit,
    /// precision, map); or a business utility, `ctr-ope[@K]` / `gmv-ope[@K]`: the clicks
    /// (revenue) per impression of the model's top-K epsilon-greedy policy, estimated by
    /// self-normalised IPS on the last 20% (by time) of the logged impressions, which need
    /// propensities (K defaults to 10).
    #[arg(long, default_value = "ndcg@10", value_parser = parse_value_utility)]
    pub utility: ValueUtility,
    /// ctr-ope / gmv-ope: the policy's exploration share epsilon in (0, 1].
    #[arg(long, default_value_t = 0.1)]
    pub epsilon: f64,
    /// Count a user's value to themselves too (their own recommendations); default: value
    /// to other users only. With --players users and value to others, the users are valued
    /// in two halves (by index): with ease or itemknn, the model is fitted on a half's users
    /// alone and scored on the other half's recommendations, made from their own histories;
    /// so a group of users (a click farm) cannot vouch for itself.
    #[arg(long)]
    pub total: bool,
    /// Whose recommendations the ranking utility scores: every validation user, or only
    /// buyers (users with a purchase anywhere in the log), a trusted audience found without
    /// labels: bots and scrapers that never buy cannot vouch for their own data.
    #[arg(long, value_enum, default_value = "all")]
    pub scorers: ScorersArg,
    /// --method oob: the number of bags (model fits), each on a random half of the players.
    #[arg(long, default_value_t = 100)]
    pub bags: usize,
    /// Number of time windows for --players windows.
    #[arg(long, default_value_t = 4)]
    pub windows: usize,
    /// User attribute for --players segments.
    #[arg(long, default_value = "segment")]
    pub segment_attribute: String,
    /// Sampling methods (tmc, banzhaf, beta): fewest Monte-Carlo samples before stopping.
    #[arg(long, default_value_t = 32)]
    pub min_samples: u64,
    /// Sampling methods: most Monte-Carlo samples.
    #[arg(long, default_value_t = 200)]
    pub max_samples: u64,
    /// Sampling methods: stop when every standard error is below this share of its value.
    #[arg(long, default_value_t = 0.05)]
    pub rtol: f64,
    /// Seed of the split and the sampling.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// knn-shapley: the training CSV (feature columns and a label column).
    #[arg(long)]
    pub train: Option<PathBuf>,
    /// knn-shapley: the test CSV with the same columns.
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// knn-shapley: the label column.
    #[arg(long)]
    pub label: Option<String>,
    /// knn-shapley: neighbours.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// --players users: a CSV of users known to be bad (a `user_id` column, or one column),
    /// such as a simulated shop's `truth/bots.csv`; prints the AUC of low values against it.
    #[arg(long)]
    pub known_bad: Option<PathBuf>,
    /// Rows shown at the top and bottom of the table.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print the values table as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DatasetArgs,
    #[command(flatten)]
    pub learn: LearnArgs,
    /// The HTML file to write (replaced atomically).
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// The model refitted on every subset of the data (ease, itemknn, or any model spec).
    #[arg(long, default_value = "ease")]
    pub model: String,
    /// The quality every value is a change of: METRIC@K (ndcg, recall, mrr, hit, precision,
    /// map).
    #[arg(long, default_value = "ndcg@10", value_parser = parse_metric_at_k)]
    pub utility: (Metric, usize),
    /// Seed of the split and of every random draw.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// MSR Banzhaf samples (model fits) per half of the users instead of the default
    /// influence values; 0 skips user values and the removal curves. Default: each user's
    /// influence on the other half's ItemKNN lists (one fit per half).
    #[arg(long)]
    pub user_samples: Option<u64>,
    /// MSR Banzhaf samples for item values; 0 skips them.
    #[arg(long, default_value_t = 100)]
    pub item_samples: u64,
    /// Number of equal time windows valued.
    #[arg(long, default_value_t = 4)]
    pub windows: usize,
    /// The parts of the report to compute, comma-separated: groups (sources, segments, time
    /// windows, categories), users (user values and removal curves), items, learning
    /// (learning curves), modalities (text, image and behaviour of a fusion recommender, when
    /// the catalog has image vectors), or all. On a large shop `users` alone screens for harmful users
    /// in a fraction of the full report's model fits.
    #[arg(long, default_value = "all", value_parser = parse_sections)]
    pub sections: assay_report::Sections,
    /// User attribute whose values are the segments.
    #[arg(long, default_value = "segment")]
    pub segment_attribute: String,
    /// A CSV of users known to be bad (a `user_id` column, or one column), such as a shop
    /// simulator's `truth/bots.csv`: the user values are judged against it (AUC, and how many
    /// of the users flagged at a 5% false discovery rate are on it).
    #[arg(long)]
    pub known_bad: Option<PathBuf>,
    /// Print the report's data as JSON (the HTML is written too).
    #[arg(long)]
    pub json: bool,
}

fn parse_sections(text: &str) -> Result<assay_report::Sections, String> {
    assay_report::Sections::parse(text)
}

/// Who the players of `assay value` are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlayersArg {
    /// One player per data source.
    Sources,
    /// One per top-level item category.
    Categories,
    /// One per equal time window (--windows).
    Windows,
    /// One per value of a user attribute (--segment-attribute).
    Segments,
    /// One per user.
    Users,
    /// One per item.
    Items,
    /// One per (first) user-item interaction.
    Interactions,
    /// The three modalities of a fusion recommender (text, image, behaviour), each subset a
    /// refit of the fusion model (--model fusion-*; fusion-attn otherwise) with only its
    /// modalities; the empty set is worth 0.
    Modalities,
}

/// The valuation method of `assay value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Chosen by the kind of player and the size of the data: MSR Banzhaf scored by buyers
    /// for users and items, exact Shapley for up to 8 groups, Data-OOB for interactions;
    /// the chosen plan is printed. A --model, --scorers or --min/--max-samples typed on the
    /// command line replaces the chosen one.
    Auto,
    /// Leave-one-out.
    Loo,
    /// Exact Shapley (all subsets).
    #[value(alias = "exact-shapley")]
    Shapley,
    /// Exact Banzhaf (all subsets).
    #[value(alias = "exact-banzhaf")]
    BanzhafExact,
    /// Truncated Monte-Carlo Shapley.
    #[value(alias = "tmc-shapley")]
    Tmc,
    /// Banzhaf by maximum sample reuse (MSR).
    #[value(aliases = ["msr", "msr-banzhaf"])]
    Banzhaf,
    /// Beta(16,1) Shapley, sampled.
    #[value(alias = "beta-shapley")]
    Beta,
    /// Beta(16,1) Shapley, exact.
    BetaExact,
    /// Data-OOB: users or interactions, scored by how well models that never saw them rank
    /// their own held-out items; needs no validation audience.
    Oob,
    /// Users' first-order influence on the other half's ItemKNN lists (users only, an
    /// itemknn model, an NDCG utility); the default for users.
    Influence,
    /// Exact KNN-Shapley of the rows of a labelled CSV (--train, --test, --label, --k).
    KnnShapley,
}

/// The utility of `assay value`: a ranking metric or an off-policy business metric, at K.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueUtility {
    /// METRIC@K.
    Ranking(Metric, usize),
    /// `ctr-ope[@K]` / `gmv-ope[@K]`.
    Business(BusinessMetric, usize),
}

/// `METRIC@K` such as `ndcg@10`.
pub fn parse_metric_at_k(text: &str) -> Result<(Metric, usize), String> {
    let bad = || format!("expected METRIC@K such as ndcg@10 or recall@20, found '{text}'");
    let (name, k) = text.split_once('@').ok_or_else(bad)?;
    let metric = Metric::parse(name).ok_or_else(bad)?;
    match k.parse::<usize>() {
        Ok(k) if k > 0 => Ok((metric, k)),
        _ => Err(bad()),
    }
}

/// `ctr-ope[@K]` or `gmv-ope[@K]` (K = 10 by default), else `METRIC@K`.
pub fn parse_value_utility(text: &str) -> Result<ValueUtility, String> {
    let (name, k) = match text.split_once('@') {
        Some((name, k)) => (name, Some(k)),
        None => (text, None),
    };
    let metric = match name {
        "ctr-ope" => BusinessMetric::Ctr,
        "gmv-ope" => BusinessMetric::Gmv,
        _ => return parse_metric_at_k(text).map(|(m, k)| ValueUtility::Ranking(m, k)),
    };
    match k.map(str::parse::<usize>) {
        None => Ok(ValueUtility::Business(metric, 10)),
        Some(Ok(k)) if k > 0 => Ok(ValueUtility::Business(metric, k)),
        Some(_) => Err(format!(
            "expected {name}@K with K a positive whole number, found '{text}'"
        )),
    }
}

/// Whose recommendations a ranking utility scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScorersArg {
    /// Every validation user.
    All,
    /// Users with a purchase anywhere in the log.
    Buyers,
}

/// Where the text click model's token embeddings start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenInitArg {
    /// Random (Xavier normal).
    Random,
    /// all-MiniLM-L6-v2's input embeddings (fetched like `assay data fetch minilm`).
    Minilm,
}

/// Which sentence encoder embeds items and queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncoderArg {
    /// all-MiniLM-L6-v2 run with candle (fetched like `assay data fetch minilm`).
    Minilm,
    /// all-MiniLM-L6-v2, int8, run with ONNX Runtime (fetched like `assay data fetch ort`):
    /// faster, vectors within about 0.004 cosine of the full-precision model.
    Ort,
    /// The fast path: all-MiniLM-L6-v2 (or the --encoder-model folder) run with ONNX Runtime
    /// with 8-bit matrix products, on a graph written at start from its weights: about three
    /// times the full-precision speed, vectors within about 0.02 cosine of it.
    #[value(name = "ort-int8")]
    OrtInt8,
    /// multilingual-e5-small, 4-bit, on its own C engine (fetched like `assay data fetch e5`):
    /// reads Chinese and about 100 other languages; no --encoder-model.
    E5,
    /// Hashed bag of words: no download, no notion of meaning; for tests and offline machines.
    Hash,
}

/// The catalog and index of the search commands.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// The catalog: a dataset as for the other commands (a built-in name or a directory), or a
    /// plain catalog file (.csv, or .jsonl/.ndjson) with columns id and title and optionally
    /// description, category (path with `/` between levels), brand and price; other columns are
    /// searchable attributes.
    #[command(flatten)]
    pub data: DatasetArgs,
    /// The sentence encoder.
    #[arg(long, value_enum, default_value = "minilm")]
    pub encoder: EncoderArg,
    /// With --encoder ort: this ONNX model instead of the fetched int8 one (inputs input_ids
    /// and attention_mask, output last_hidden_state; the fetched MiniLM tokenizer is used).
    #[arg(long, value_name = "FILE")]
    pub onnx_model: Option<PathBuf>,
    /// This model folder instead of the fetched all-MiniLM-L6-v2, say a fine-tuned one
    /// (config.json, tokenizer.json, model.safetensors). With --encoder ort it runs on ONNX
    /// Runtime in fp32: the folder's model.onnx (which `assay finetune` writes), or else the
    /// graph written from its weights at start; with --encoder ort-int8, in 8-bit.
    #[arg(long, value_name = "DIR")]
    pub encoder_model: Option<PathBuf>,
    /// The index directory. Default: $ASSAY_HOME/index/NAME-HASH/ENCODER, where NAME is the
    /// catalog's file or directory name and HASH a hash of its full path ($ASSAY_HOME defaults
    /// to ~/.cache/assay). A saved index is used only when it was built from the same items
    /// with the same encoder; otherwise the index is built in memory.
    #[arg(long, value_name = "DIR")]
    pub index: Option<PathBuf>,
    /// Threads for embedding and indexing (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchModeArg {
    /// BM25 over title, description, category, brand and attributes.
    Bm25,
    /// Cosine similarity of sentence embeddings.
    Vector,
    /// Both, fused (see --fusion).
    Hybrid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FusionArg {
    /// Reciprocal-rank fusion (k = --rrf-k).
    Rrf,
    /// Convex combination of min-max normalised scores.
    Convex,
}

/// How a query is ranked; shared by `assay search` and `assay eval-search`.
#[derive(Debug, Args)]
pub struct RankingArgs {
    /// Weight of the vector side in hybrid mode, from 0 (BM25 only) to 1 (vectors only).
    #[arg(long, default_value_t = 0.5)]
    pub semantic_ratio: f32,
    /// The RRF constant (60 in the original paper).
    #[arg(long, default_value_t = 60.0)]
    pub rrf_k: f32,
    /// Weight of the query-intent boost (items of the query's predicted category move up),
    /// relative to the best fused score; 0 turns it off. Vector and hybrid modes only; in
    /// eval-search it applies to the `hybrid-rrf+intent` row.
    #[arg(long, default_value_t = 0.3)]
    pub intent_boost: f32,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// What the shopper typed (at most 4096 bytes).
    pub query: String,
    /// Ranking.
    #[arg(long, value_enum, default_value = "hybrid")]
    pub mode: SearchModeArg,
    /// How hybrid mode fuses the two lists. Without it: the fusion learned with the
    /// `--encoder-model` folder when `assay finetune` saved one there (it sets the semantic
    /// ratio too), else rrf.
    #[arg(long, value_enum)]
    pub fusion: Option<FusionArg>,
    #[command(flatten)]
    pub ranking: RankingArgs,
    /// Conditions, `;`-separated: `category=Women/Dresses` (path prefix), `brand=Acme` (repeat
    /// for any of several), `price=10..50`, `price=..50`, `price=10..`.
    #[arg(long)]
    pub filter: Option<String>,
    /// Number of hits.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// Show why each hit ranks where it does: matched terms and fields, BM25 score and rank,
    /// cosine and rank, and each part of the final score.
    #[arg(long)]
    pub explain: bool,
    /// Also print facet counts (category, brand, price band) over all matching candidates.
    #[arg(long)]
    pub facets: bool,
    /// Personalise for this user with the scores of a model saved by `assay train` (--model).
    #[arg(long, requires = "model")]
    pub user: Option<String>,
    /// A model directory written by `assay train`, for --user.
    #[arg(long, requires = "user")]
    pub model: Option<PathBuf>,
    /// Weight of the personal score (scaled to [0, 1]) relative to the best fused score.
    #[arg(long, default_value_t = 0.3)]
    pub personal_weight: f32,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalSearchArgs {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Judgments: TSV (CSV by extension .csv) with header `query_id, query, item_id, grade`;
    /// grades may be fractional, larger is more relevant. Default: the dataset's own judgments.
    #[arg(long, value_name = "FILE")]
    pub judgments: Option<PathBuf>,
    /// Queries labelled with their category, for intent accuracy: CSV with columns `query` and
    /// `intent_category` (or `category`). Default: truth/queries.csv of a simulated shop.
    #[arg(long, value_name = "FILE")]
    pub intent_labels: Option<PathBuf>,
    #[command(flatten)]
    pub ranking: RankingArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// The data: a dataset (a built-in name or a directory; its judgments and search log are
    /// used) or a plain catalog file with --judgments, as for `assay eval-search`.
    #[command(flatten)]
    pub data: DatasetArgs,
    /// Where the fine-tuned model goes (config.json, tokenizer.json, model.safetensors as the
    /// pretrained model, plus training.json and curves.csv).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Judgments to learn from instead of the dataset's own: TSV (CSV by extension .csv) with
    /// header `query_id, query, item_id, grade`.
    #[arg(long, value_name = "FILE")]
    pub judgments: Option<PathBuf>,
    /// The model to start from (a sentence-transformers BERT folder). Default: the fetched
    /// all-MiniLM-L6-v2.
    #[arg(long, value_name = "DIR")]
    pub base_model: Option<PathBuf>,
    /// Evidence to learn from, comma-separated: judgments, clicks, carts, purchases.
    #[arg(long, default_value = "judgments,clicks,carts,purchases")]
    pub sources: String,
    /// Passes over the training queries.
    #[arg(long, default_value_t = 4)]
    pub epochs: usize,
    /// Peak learning rate of AdamW (linear warm-up, then linear decay).
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// Pairs per step; the other pairs of a batch are each pair's negatives.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// What stays fixed: none, embeddings, bottom-N (the embeddings and the bottom N layers) or
    /// all-but-head (only the top layer's output projection trains).
    #[arg(long, default_value = "none")]
    pub freeze: String,
    /// Stop training after this many seconds; the best checkpoint so far is kept.
    #[arg(long, value_name = "SECONDS")]
    pub max_seconds: Option<f64>,
    /// Seeds the split, the batches and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Share of the queries held out for validation and early stopping.
    #[arg(long, default_value_t = 0.1)]
    pub validation: f64,
    /// Pairs of one query per epoch at most, drawn by weight (0: all).
    #[arg(long, default_value_t = 4)]
    pub pairs_per_query: usize,
    /// Share of the steps spent warming up the learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    /// AdamW's decoupled weight decay (biases and layer norms are not decayed).
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Epochs without a better validation nDCG@10 before stopping.
    #[arg(long, default_value_t = 2)]
    pub patience: usize,
    /// Longest text in tokens while training (default: the model's, 256 for MiniLM).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Instead of one fine-tune, what the fine-tuning data is worth: fine-tunes on every
    /// combination of --sources and on growing shares of their pairs, each validated on the
    /// same held-out judged queries, then prints the exact Shapley value of each source and
    /// the learning curve, and writes them to --out/value.json. Takes 2^sources + curve
    /// fine-tunes: bound each with --max-seconds.
    #[arg(long)]
    pub value: bool,
    /// --value: shares of the training pairs for the learning curve, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [0.125, 0.25, 0.5, 1.0])]
    pub curve: Vec<f64>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}
