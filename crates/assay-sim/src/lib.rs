//! A seeded synthetic online shop whose ground truth is known, for testing search,
//! recommendations, off-policy evaluation and data valuation where the right answer exists.
//!
//! [`simulate`] writes a shop directory that `assay-import` reads through its `assay.toml`,
//! plus a `truth/` folder with every hidden quantity the behaviour was drawn from. The one
//! design decision that matters: rows are streamed to buffered writers as they are drawn, so
//! memory grows with the catalog and users, never with the log (10M events fit in a few MB).
//! The same [`SimConfig`] gives byte-identical files: every draw comes from ChaCha8 streams
//! seeded by `seed`, one stream per stage (catalog, users, queries, sessions, corruption), no
//! output depends on hash order, and floats are printed with Rust's shortest round-trip
//! formatting (amounts as exact cents).
//!
//! # The generative model
//!
//! Symbols in backticks are [`SimConfig`] fields or constants written to `truth/`.
//!
//! **Catalog.** The shop uses the first `n_categories` leaves of a fixed taxonomy of 36
//! three-level paths ("Women/Dresses/Maxi", "Home/Furniture/Sofas", ...), each with an English
//! and a Chinese noun and synonyms (sofa/couch/settee, sneakers/trainers, 耳机/耳麦). Item `i`
//! has a uniform leaf `c_i`, a uniform colour and a uniform material/feature word of its
//! department, a brand of its department, language `zh` with probability `chinese_fraction`,
//! - price `p_i = median(c_i) * exp(0.5 z_i)`, `z_i ~ N(0, 1)` (log-normal per leaf; `z_i` is
//!   the item's `price_z`), rounded to cents;
//! - quality `q_i ~ N(0, 0.5^2)`, latent factors `g_i ~ N(0, I_d)` with `d = latent_dim`;
//! - the logging policy's fixed error `nu_i ~ N(0, policy_noise^2)`.
//!
//! Titles read "Brand Colour Feature Noun" (English) or "品牌 颜色 材质 名词" (Chinese), with a
//! synonym instead of the noun 20% of the time; descriptions come from a few templates.
//!
//! **Users.** User `u` has a segment (new 30%, loyal 20%, bargain 25%, casual 25%), a uniform
//! region, is a bot with probability `bot_fraction`, and
//! - category preferences `pref_u = softmax(preference_scale * w_u)`, `w_u ~ N(0, I_C)`;
//! - latent factors `f_u ~ N(0, I_d / d)`, so `<f_u, g_i>` has unit variance;
//! - price sensitivity `beta_u` of the segment (new 0.5, loyal 0.2, bargain 1.5, casual 0.5);
//! - activity `a_u = activity(segment) * exp(0.5 n - 0.125)`, `n ~ N(0, 1)`, with segment
//!   activities new 0.5, loyal 3, bargain 1, casual 1; a bot's activity is `bot_activity`
//!   times the human mean (1.25) times the same spread.
//!
//! **Queries.** Each query targets a uniform item `t`: intent leaf `c_t`, and an attribute,
//! the item's colour (60%) or feature word. The query is Chinese with probability
//! `chinese_fraction`, names the product with a synonym with probability `synonym_rate`,
//! gets one character edit (deletion, doubling, swap or substitution) in the noun with
//! probability `typo_rate`, and is phrased with a paraphrase template ("looking for a red
//! sofa", "红色的沙发") with probability `paraphrase_rate`, else "attribute noun". The four
//! draws are independent and recorded per query. Texts are unique: on a collision the
//! content (target, attribute, word choices) is redrawn but not the four flags, so their
//! rates stay unbiased (a query is skipped after 50 collisions). The graded relevance of
//! item `i` to query `q` is `grade(q, i)` = 3 if `c_i = c_q` and `i` has the asked attribute,
//! 2 if `c_i = c_q`, 1 if they share the parent category, else 0, whatever the languages.
//! It can be recomputed for any item from `truth/queries.csv` (`intent_category`,
//! `attribute`), `truth/items.csv` (`category_index`, `color`, `feature`) and
//! `truth/categories.csv` (index to path and parent), which matters
//! for large catalogs where `judgments.tsv` holds only a bounded sample.
//!
//! **Sessions.** Until `events.csv` holds `n_events_target` rows, a session picks a user with
//! probability proportional to `a_u` and a source with probability proportional to its
//! `weight`. It starts at `start_timestamp + span * rows_so_far / n_events_target` plus up to
//! 600 s of jitter. A human picks a leaf `c ~ pref_u` (a bot a uniform leaf); with probability
//! `search_rate` the session searches a uniform query of the pool whose intent is `c`
//! (any query if none is, or for bots), else it browses leaf `c`.
//!
//! **Logging policy.** Candidates are up to `candidates_per_slate / 2` uniform items of the
//! focus leaf (the query's intent or the browsed leaf) plus uniform catalog items. Each gets
//! the score `s_i = q_i + nu_i + kappa * m_i`, `kappa = 1`, where `m_i = grade(q, i)` for a
//! search and `m_i = 2 [c_i = c]` when browsing. Slots `k = 1..K` (`K = slate_size`) are
//! filled in order from the remaining candidates `R_k`: the policy picks `i` with probability
//! `pi_k(i) = epsilon / |R_k| + (1 - epsilon) * exp(s_i / tau) / sum_{j in R_k} exp(s_j / tau)`,
//! and `pi_k(i)` of the shown item is written as its `propensity` (conditional on the slots
//! above; `epsilon = policy_epsilon`, `tau = policy_temperature`).
//!
//! **Clicks (position-based model).** A human examines position `k` with probability
//! `e_k = k^-eta` (`eta = examination_exponent`, table in `truth/examination.csv`) and then
//! clicks with probability `A(u, i) = sigmoid(alpha + <f_u, g_i> + q_i - beta_u z_i + t)`,
//! where `alpha = attractiveness_bias` and the context term is
//! `t = ln(C * pref_u[c_i])` when browsing (`C` leaves) and
//! `t = gamma * (grade(q, i) - 1)` when searching (`gamma = relevance_weight`).
//! So `P(click at k) = e_k * A(u, i)`.
//! Before that, with probability `click_noise` of the source, the impression gets a spurious
//! click (labelled `noisy_click`) with nothing after it.
//!
//! **After a click** (time `t_k = start + 5k + U{0..4}` s): dwell
//! `D = max(1, round(exp(ln 30 + 2 (A - 0.5) + 0.6 n)))` s; a cart with probability
//! `cart_rate * A`; after a cart, a purchase with probability
//! `purchase_rate * sigmoid(1 - beta_u z_i)` of quantity 1, 2, 3 (85/10/5%) and revenue
//! `quantity * price`; after a purchase, a rating with probability `rating_rate`,
//! `clamp(round(1 + 4A + 0.75 n), 1, 5)`. Downstream rows keep the slot's position and
//! propensity.
//!
//! **Bots** pick uniform leaves and queries, click each shown slot with probability
//! `bot_click_rate` whatever the item, then open about `bot_random_clicks` uniform catalog
//! items directly per session (crawling: a click with no position, propensity or query);
//! every click dwells 1-3 s, and bots never cart or buy. A bot works for the
//! click farm with probability `bot_farm_share` (when `bot_promoted_items > 0`; the others
//! are *scrapers*): the farm promotes `bot_promoted_items` uniform catalog items, and in each
//! session a farm bot also opens each promoted item directly with probability
//! `bot_promoted_click_rate`. So every bot's history spreads over the whole catalog (noise in
//! every item-item co-occurrence), and every farm bot's history holds the promoted items next
//! to everything else, which is what a shilling attack does to an item-item model. Farm
//! membership, the promoted set and the bots' direct clicks come from their own random
//! stream (the rows they add still shift the corruption draws and the timing of later
//! sessions). A config without the bot fields (written before they existed) has no crawling
//! and no farm: bots only click slots.
//!
//! *Realism choices.* The bad-data preset's bots are meant to look like bots in a shop's
//! click log, not to be easy to find: busy (5% of the users hold about 40% of the distinct
//! (user, item) pairs at the default sizes), without preference or purchases, and mostly
//! working for one farm whose promoted items then fill a quarter of EASE's top-10 slots for
//! humans. They hurt recommenders the way real bots do: on `with_events(42, 100_000)` with
//! 5% bots, removing them raises the humans' test NDCG@10 from 0.040 to 0.079 (ItemKNN) and
//! from 0.054 to 0.081 (EASE). A large farm is also what makes single bots hard to value:
//! each one's harm is shared with dozens of others pushing the same items.
//!
//! **Corruption** (all labelled in `truth/bad_events.csv`): every row of a bot is `bot`; a
//! row of a source with `item_noise` carries a uniformly wrong item id with that probability
//! (`noisy_item`); a rating is written as `6 - r` with probability `flipped_rating_fraction`
//! (`flipped_rating`, even when `r = 3`); a row is written twice in a row with probability
//! `duplicate_fraction` (the copy is `duplicate` and keeps the original's labels).
//!
//! **Image vectors** (only when `images` is set, from their own random stream, so every
//! other draw and file stays as it is without them). Item `i`'s vector in `R^D`
//! (`D = images.dim`) is
//! `x_i = P_leaf[c_i] + P_colour[colour_i] + P_feature[feature_i] + w S g_i[..s] + (sigma / sqrt(D)) n`,
//! where every prototype `P` is a fixed vector with `N(0, 1/D)` entries (one per taxonomy leaf,
//! colour and department feature word), `S` is a fixed `D x s` matrix with `N(0, 1/(D s))`
//! entries, `s = ceil(d / 2)` (the photo shows the first half of the taste factors, the item's
//! visible *style*), `w = images.style_weight`, `sigma = images.noise` and `n ~ N(0, I_D)`.
//! The vectors are the `image` column of `items.csv` (floats separated by spaces), declared
//! as `image` in `[items]` of `assay.toml`.
//!
//! *Which modality matters* (`truth/modalities.csv`). A click's item-dependent logit is
//! `<f_u, g_i> + q_i - beta_u z_i + ln(C pref_u[c_i])`: taste (`d` factors, unit variance),
//! quality, price and leaf; colour and feature words do not enter it. The text (title,
//! description, category) names the leaf, colour and feature but nothing of taste, quality or
//! price; the image shows the leaf, colour, feature and `s` of the `d` taste factors; the
//! behaviour log reveals, given enough of it, every term. So the modalities' expected order
//! of worth for recommendation is behaviour, then image, then text (`expected_rank` 1, 2, 3);
//! the file's other columns say which terms each modality carries (1) or not (0), and
//! `taste_dims` how many taste factors.
//!
//! # Files
//!
//! - `assay.toml`: the column mapping `assay-import` reads.
//! - `assay-shop.json` ([`MANIFEST_FILE`]): every other file written, with its size.
//! - `items.csv`: `item_id,title,description,category,brand,price,lang`, and `image` when
//!   images are on.
//! - `users.csv`: `user_id,segment,region`.
//! - `events.csv`: `user_id,item_id,kind,value,timestamp,session_id,query,position,propensity,source`,
//!   grouped by session, sessions in start order; `value` is seconds (dwell), revenue
//!   (purchase) or the rating; `query` is the query text; missing values are empty cells.
//! - `judgments.tsv`: `query_id\tquery\titem_id\tgrade`, grades 1-3, at most
//!   `max_judgments_per_query` per query (all higher grades first, a uniform sample of the
//!   grade that overflows).
//! - `faq.csv`: `id,question,answer`, the shop's FAQ (a fixed list of shop questions in a seeded
//!   order), and `truth/faq_questions.csv` (`question,faq_id,kind`): each FAQ question as written
//!   (`exact`), one seeded paraphrase per entry (`paraphrase`) and questions no entry answers
//!   (`unanswerable`, empty `faq_id`); neither is counted in `rows_per_file`.
//! - `truth/config.json` (the full config), `truth/summary.json` ([`SimSummary`]),
//!   `truth/examination.csv` (`position,probability`),
//!   `truth/queries.csv` (`query_id,query,intent_category,target_item,typo,synonym,paraphrase,lang,attribute`;
//!   `attribute` is the colour or feature word asked for, in English),
//!   `truth/users.csv` (`user_id,segment,is_bot,activity,price_sensitivity,pref0..,f0..`),
//!   `truth/items.csv` (`item_id,category_index,color,feature,quality,policy_noise,price_z,g0..`),
//!   `truth/categories.csv` (leaf index, path, parent, nouns and `|`-separated synonyms),
//!   `truth/segments.csv`, `truth/sources.csv` (`source,weight,item_noise,click_noise`),
//!   `truth/model.csv` (the fixed constants of the formulas above),
//!   `truth/sessions.csv` (`session_id,user_id,source,context,category,query_id`: whether the
//!   session browsed or searched, and the focus leaf the logging policy matched against),
//!   `truth/bots.csv` (`user_id,kind`: each bot, `farm` or `scraper`),
//!   `truth/promoted_items.csv` (`item_id`: the click farm's campaign),
//!   `truth/modalities.csv` (only with images:
//!   `modality,expected_rank,leaf,color,feature,taste_dims,quality,price`), and
//!   `truth/bad_events.csv` (`row,label`: 1-based data-row number in `events.csv`, one line per
//!   label, labels `bot|duplicate|flipped_rating|noisy_click|noisy_item`).
//!
//! Everything is written into a uniquely named hidden sibling `.out_dir.assay-tmp-XXXXXX` and
//! renamed to `out_dir` at the end, so a failed or interrupted run never leaves a readable
//! partial dataset.

#![warn(missing_docs)]

mod config;
mod events;
mod faq;
mod images;
mod output;
mod random;
mod shop;
mod vocab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assay_core::EventKind;
use serde::Serialize;

pub use config::{ImageSpec, SimConfig, SourceSpec};

/// Why a simulation failed. Nothing is left at `out_dir` in any case.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration field is out of range.
    #[error("invalid simulation config: `{field}` {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What was expected.
        reason: String,
    },
    /// The output path cannot be used.
    #[error("cannot write the simulated shop to {}: {reason}", path.display())]
    InvalidOutput {
        /// The output directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What a simulation wrote. Maps are sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimSummary {
    /// The seed used.
    pub seed: u64,
    /// Items in `items.csv`.
    pub n_items: u64,
    /// Users in `users.csv`, bots included.
    pub n_users: u64,
    /// Bot users.
    pub n_bots: u64,
    /// Queries in the pool.
    pub n_queries: u64,
    /// Rows of `judgments.tsv`.
    pub n_judgments: u64,
    /// Sessions simulated.
    pub n_sessions: u64,
    /// Sessions that started with a search.
    pub n_search_sessions: u64,
    /// Rows of `events.csv`.
    pub n_events: u64,
    /// Data rows of each file written, by path relative to the output directory.
    pub rows_per_file: BTreeMap<String, u64>,
    /// Rows of `events.csv` per event kind.
    pub events_per_kind: BTreeMap<String, u64>,
    /// Rows of `events.csv` per source.
    pub events_per_source: BTreeMap<String, u64>,
    /// Rows of `truth/bad_events.csv` per label.
    pub bad_events_per_label: BTreeMap<String, u64>,
}

/// The file, at the top of a simulated shop, that lists every other file the simulator wrote
/// with its size: [`simulate_replacing`] replaces only a folder that is exactly that.
pub const MANIFEST_FILE: &str = "assay-shop.json";

/// The column mapping written as `assay.toml`, in the schema `assay-import` implements.
pub const ASSAY_TOML: &str = r#"name = "sim-shop"

[items]
path = "items.csv"
id = "item_id"
title = "title"
description = "description"
category = "category"
brand = "brand"
price = "price"
attributes = ["lang"]

[users]
path = "users.csv"
id = "user_id"
attributes = ["segment", "region"]

[[events]]
path = "events.csv"
user = "user_id"
item = "item_id"
kind = "kind"
value = "value"
timestamp = "timestamp"
session = "session_id"
query = "query"
position = "position"
propensity = "propensity"
source = "source"

[judgments]
path = "judgments.tsv"

[faq]
path = "faq.csv"

[options]
unknown_refs = "fail"
"#;

/// The `assay.toml` of a shop simulated with `config`: [`ASSAY_TOML`], plus the image
/// column in `[items]` when the config draws image vectors.
pub fn assay_toml(config: &SimConfig) -> String {
    match config.images {
        None => ASSAY_TOML.to_owned(),
        Some(_) => ASSAY_TOML.replacen(
            "attributes = [\"lang\"]\n",
            "attributes = [\"lang\"]\nimage = \"image\"\n",
            1,
        ),
    }
}

/// Simulates the shop described by `config` and writes it to `out_dir` (see the crate docs
/// for the model and the files).
///
/// `out_dir` must not exist or be an empty directory; its parent must exist. The shop is
/// written to a hidden sibling `.out_dir.assay-tmp-XXXXXX` (a crashed run's is removed first)
/// and renamed to `out_dir` only when complete, so on error `out_dir` is left as it was.
pub fn simulate(config: &SimConfig, out_dir: &Path) -> Result<SimSummary, SimError> {
    config.validate()?;
    output::write_atomically(out_dir, |dir| write_shop(config, dir))
}

/// As [`simulate`], but an `out_dir` holding a shop the simulator wrote is replaced whole,
/// and only once the new shop is complete. A shop is the simulator's when its
/// [`MANIFEST_FILE`] lists every file in it with the size it has (a file added or edited
/// since makes it the user's). Any other non-empty `out_dir` is refused, so a user's files
/// are never deleted.
pub fn simulate_replacing(config: &SimConfig, out_dir: &Path) -> Result<SimSummary, SimError> {
    config.validate()?;
    check_replaceable(out_dir)?;
    match output::existing(out_dir)? {
        output::Existing::Shop => assay_fetch::replace_dir_atomically(
            out_dir,
            |dir| write_shop(config, dir),
            output::io_error,
        ),
        output::Existing::Nothing | output::Existing::Other => simulate(config, out_dir),
    }
}

/// `Ok` when [`simulate_replacing`] may write to `out_dir`: it is missing, empty, or a shop
/// the simulator wrote, unchanged. A command that writes a shop after other work checks this
/// first, so that it refuses before the work rather than after it.
pub fn check_replaceable(out_dir: &Path) -> Result<(), SimError> {
    match output::existing(out_dir)? {
        output::Existing::Nothing | output::Existing::Shop => Ok(()),
        output::Existing::Other => Err(SimError::InvalidOutput {
            path: out_dir.to_owned(),
            reason: format!(
                "it holds files the simulator did not write (a shop it wrote lists them all in \
                 {MANIFEST_FILE}, unchanged); choose another folder or empty this one"
            ),
        }),
    }
}

fn write_shop(config: &SimConfig, dir: &Path) -> Result<SimSummary, SimError> {
    let truth = dir.join("truth");
    std::fs::create_dir(&truth).map_err(|source| output::io_error(&truth, source))?;

    let catalog = shop::generate_catalog(config, dir)?;
    let population = shop::generate_population(config, dir)?;
    let (pool, shop_counts) = shop::generate_queries(config, &catalog, dir)?;
    let bots = events::plan_bots(config, &population, catalog.items.len(), &truth)?;
    let log = events::simulate_log(config, &catalog, &population, &pool, &bots, dir)?;

    let mut examination =
        output::Table::create(&truth, "examination.csv", &["position", "probability"])?;
    for (k, probability) in events::examination(config).iter().enumerate() {
        examination.write([(k + 1).to_string(), probability.to_string()])?;
    }
    let examination_rows = examination.finish()?;

    let mut sources = output::Table::create(
        &truth,
        "sources.csv",
        &["source", "weight", "item_noise", "click_noise"],
    )?;
    for source in &config.sources {
        sources.write([
            source.name.clone(),
            source.weight.to_string(),
            source.item_noise.to_string(),
            source.click_noise.to_string(),
        ])?;
    }
    let source_rows = sources.finish()?;

    let mut model = output::Table::create(&truth, "model.csv", &["constant", "value"])?;
    let constants: [(&str, f64); 10] = [
        ("log_price_sigma", shop::LOG_PRICE_SIGMA),
        ("quality_sigma", shop::QUALITY_SIGMA),
        ("query_color_rate", shop::QUERY_COLOR_RATE),
        ("title_synonym_rate", shop::TITLE_SYNONYM_RATE),
        ("policy_match_weight", events::POLICY_MATCH_WEIGHT),
        ("dwell_median_seconds", events::DWELL_MEDIAN_SECONDS),
        ("dwell_log_sigma", events::DWELL_LOG_SIGMA),
        ("rating_sigma", events::RATING_SIGMA),
        ("quantity_2_probability", events::QUANTITY_PROBABILITIES[1]),
        ("quantity_3_probability", events::QUANTITY_PROBABILITIES[2]),
    ];
    for (name, value) in constants {
        model.write([name.to_owned(), value.to_string()])?;
    }
    let model_rows = model.finish()?;

    let config_json = serde_json::to_vec_pretty(config).expect("a config always serializes");
    output::write_file(&truth.join("config.json"), &config_json)?;
    output::write_file(&dir.join("assay.toml"), assay_toml(config).as_bytes())?;
    let modality_rows = match config.images {
        Some(_) => Some(images::write_truth(&truth, config.latent_dim as usize)?),
        None => None,
    };
    faq::write_faq(config.seed, dir)?;

    let n_leaves = config.n_categories as u64;
    let n_items = catalog.items.len() as u64;
    let n_users = population.users.len() as u64;
    let n_queries = pool.queries.len() as u64;
    let n_bad: u64 = log.by_label.iter().sum();
    let rows_per_file = [
        ("items.csv", n_items),
        ("users.csv", n_users),
        ("events.csv", log.n_events),
        ("judgments.tsv", shop_counts.n_judgments),
        ("truth/items.csv", n_items),
        ("truth/users.csv", n_users),
        ("truth/queries.csv", n_queries),
        ("truth/categories.csv", n_leaves),
        ("truth/segments.csv", shop::SEGMENTS.len() as u64),
        ("truth/bad_events.csv", n_bad),
        ("truth/sessions.csv", log.n_sessions),
        ("truth/bots.csv", bots.rows.0),
        ("truth/promoted_items.csv", bots.rows.1),
        ("truth/examination.csv", examination_rows),
        ("truth/sources.csv", source_rows),
        ("truth/model.csv", model_rows),
    ];
    let mut rows_per_file: BTreeMap<String, u64> = rows_per_file
        .iter()
        .map(|&(name, rows)| (name.to_owned(), rows))
        .collect();
    if let Some(rows) = modality_rows {
        rows_per_file.insert("truth/modalities.csv".to_owned(), rows);
    }
    let summary = SimSummary {
        seed: config.seed,
        n_items,
        n_users,
        n_bots: population.users.iter().filter(|u| u.is_bot).count() as u64,
        n_queries,
        n_judgments: shop_counts.n_judgments,
        n_sessions: log.n_sessions,
        n_search_sessions: log.n_search_sessions,
        n_events: log.n_events,
        rows_per_file,
        events_per_kind: EventKind::ALL
            .iter()
            .map(|&kind| {
                (
                    kind.as_str().to_owned(),
                    log.by_kind[events::kind_index(kind)],
                )
            })
            .collect(),
        events_per_source: config
            .sources
            .iter()
            .zip(&log.by_source)
            .map(|(source, &rows)| (source.name.clone(), rows))
            .collect(),
        bad_events_per_label: events::LABELS
            .iter()
            .zip(&log.by_label)
            .map(|(&label, &rows)| (label.to_owned(), rows))
            .collect(),
    };
    let summary_json = serde_json::to_vec_pretty(&summary).expect("a summary always serializes");
    output::write_file(&truth.join("summary.json"), &summary_json)?;
    output::write_manifest(dir)?;
    Ok(summary)
}
