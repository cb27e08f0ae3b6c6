//! What to simulate: [`SimConfig`] and the data sources it mixes, [`SourceSpec`].

use serde::{Deserialize, Serialize};

use crate::vocab::TAXONOMY;
use crate::SimError;

/// Every knob of the simulated shop. All fields are public: any combination that passes
/// validation (done by [`crate::simulate`]) is a valid shop.
///
/// Start from a preset ([`SimConfig::small`], [`SimConfig::with_events`],
/// [`SimConfig::small_with_bad_data`]) and override fields with struct update syntax:
///
/// ```
/// let config = assay_sim::SimConfig { typo_rate: 0.3, ..assay_sim::SimConfig::small(7) };
/// assert_eq!(config.seed, 7);
/// ```
///
/// The crate docs give the formulas each parameter enters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Seed of every random draw; the same config gives byte-identical files.
    pub seed: u64,
    /// Number of items in the catalog.
    pub n_items: u32,
    /// Number of users (bots included).
    pub n_users: u32,
    /// Sessions are generated until `events.csv` holds at least this many rows, so the final
    /// count exceeds it by at most one session's rows.
    pub n_events_target: u64,
    /// Number of leaf categories used, from 1 to 36 (the first leaves of the fixed taxonomy).
    pub n_categories: u32,
    /// Number of search queries in the query pool. Query texts are distinct, so the pool is
    /// smaller when the catalog cannot be asked for that many distinct texts (keep it at most
    /// about `n_items` and 1,000 for unbiased transformation rates).
    pub n_queries: u32,
    /// Unix seconds of the start of the log.
    pub start_timestamp: i64,
    /// Length of the log in days; session start times spread evenly over it.
    pub n_days: u32,
    /// Number of slots `K` in each shown slate.
    pub slate_size: u16,
    /// Number of candidate items the logging policy ranks for each slate.
    pub candidates_per_slate: u32,
    /// Exponent `eta` of the position-based examination probability `e_k = k^-eta`.
    pub examination_exponent: f64,
    /// Probability that a session starts with a search query (otherwise it browses a category).
    pub search_rate: f64,
    /// Probability `epsilon` that the logging policy fills a slot uniformly at random.
    pub policy_epsilon: f64,
    /// Softmax temperature `tau` of the logging policy.
    pub policy_temperature: f64,
    /// Standard deviation of the logging policy's fixed per-item score error `nu_i`.
    pub policy_noise: f64,
    /// Dimension `d` of the user and item latent factors.
    pub latent_dim: u32,
    /// Spread `s` of user category preferences: `pref_u = softmax(s * z_u)`.
    pub preference_scale: f64,
    /// Intercept `alpha` of the attractiveness logit.
    pub attractiveness_bias: f64,
    /// Weight `gamma` of the query-item relevance grade in the attractiveness logit of searches.
    pub relevance_weight: f64,
    /// Scale of the probability that a click leads to a cart: `cart_rate * A`.
    pub cart_rate: f64,
    /// Scale of the probability that a cart leads to a purchase.
    pub purchase_rate: f64,
    /// Probability that a purchase is rated.
    pub rating_rate: f64,
    /// Fraction of items (and so of queries, which follow their target item) written in Chinese.
    pub chinese_fraction: f64,
    /// Probability that a query has a typo.
    pub typo_rate: f64,
    /// Probability that a query names its product with a synonym instead of the catalog noun.
    pub synonym_rate: f64,
    /// Probability that a query is phrased with a paraphrase template.
    pub paraphrase_rate: f64,
    /// At most this many judgments per query are written (the most relevant first).
    pub max_judgments_per_query: u32,
    /// Fraction of users that are bots.
    pub bot_fraction: f64,
    /// How many times more sessions a bot starts than an average human.
    pub bot_activity: f64,
    /// Probability that a bot clicks each shown slot, whatever the item.
    pub bot_click_rate: f64,
    /// Mean number of uniformly random catalog items a bot opens directly (no slate) in each
    /// session, on top of what it clicks in slates: crawling that carries no preference at
    /// all. 0 is the default of a config written before the field existed.
    #[serde(default)]
    pub bot_random_clicks: f64,
    /// Size of the click farm's campaign: this many catalog items (uniform, seeded) that the
    /// farm's bots open directly in each session, so the promoted items co-occur with
    /// everything the bots click (a shilling attack). 0 (the default of a config written
    /// before the field existed) gives no farm: every bot is a scraper.
    #[serde(default)]
    pub bot_promoted_items: u32,
    /// Probability that a farm bot clicks each promoted item in a session.
    #[serde(default = "default_bot_promoted_click_rate")]
    pub bot_promoted_click_rate: f64,
    /// Share of the bots that work for the click farm; the rest are scrapers, which click
    /// what they are shown and crawl, but promote nothing. Ignored when `bot_promoted_items`
    /// is 0.
    #[serde(default = "default_bot_farm_share")]
    pub bot_farm_share: f64,
    /// Probability that an event row is written twice in a row.
    pub duplicate_fraction: f64,
    /// Probability that a rating `r` is written as `6 - r`.
    pub flipped_rating_fraction: f64,
    /// The data sources sessions come from, at least one.
    pub sources: Vec<SourceSpec>,
    /// Image vectors of the items, written only when set (a config without it, written
    /// before the field existed or with it off, gives byte-identical files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageSpec>,
}

/// How the simulated items' image vectors are drawn (see the crate docs, "Image vectors").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImageSpec {
    /// Dimension `D` of each image vector, from 2 to 1,024.
    pub dim: u32,
    /// Standard deviation of the noise added to each coordinate, times `sqrt(D)` (so the
    /// noise vector's expected squared norm is `noise^2`); at least 0.
    pub noise: f64,
    /// Weight of the item's visible style (the first half of its latent factors `g_i`)
    /// in the vector; at least 0.
    pub style_weight: f64,
}

impl ImageSpec {
    /// `dim` dimensions, noise 0.5, style weight 1 (what `assay simulate --images DIM`
    /// writes). At 128 dimensions the projection of the about 100 attribute prototypes
    /// (36 leaves, 10 colours, the departments' feature words) and the style is one-to-one,
    /// so a linear read-out recovers every attribute; at 32 the prototypes overlap and the
    /// leaf can no longer be read off linearly.
    pub fn new(dim: u32) -> ImageSpec {
        ImageSpec {
            dim,
            noise: 0.5,
            style_weight: 1.0,
        }
    }
}

/// A data source (a channel such as "app" or "partner-feed") and how noisy its log is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// Name written in the `source` column.
    pub name: String,
    /// Relative share of sessions that come through this source (positive).
    pub weight: f64,
    /// Probability that an event row of this source carries a random wrong item id.
    pub item_noise: f64,
    /// Probability that a human impression of this source gets a spurious click, whatever
    /// the item; such clicks have no dwell, cart or purchase.
    pub click_noise: f64,
}

fn default_bot_promoted_click_rate() -> f64 {
    0.5
}

fn default_bot_farm_share() -> f64 {
    1.0
}

impl SourceSpec {
    /// The three default sources: a clean "app", a slightly noisy "web" and a noisy
    /// "partner-feed" (10% wrong item ids, 5% spurious clicks).
    pub fn defaults() -> Vec<SourceSpec> {
        let source = |name: &str, weight, item_noise, click_noise| SourceSpec {
            name: name.to_owned(),
            weight,
            item_noise,
            click_noise,
        };
        vec![
            source("app", 0.5, 0.0, 0.0),
            source("web", 0.35, 0.005, 0.01),
            source("partner-feed", 0.15, 0.1, 0.05),
        ]
    }
}

impl SimConfig {
    /// A small clean shop for tests: 500 items, 200 users, about 20,000 events, all 36
    /// categories, 300 queries, no bots, duplicates or flipped ratings. Should bots be
    /// switched on (`bot_fraction`), they click 10% of shown slots, crawl 5 random items per
    /// session, and 80% of them work for a click farm promoting 10 items (each clicked with
    /// probability 0.5 per session).
    pub fn small(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            n_items: 500,
            n_users: 200,
            n_events_target: 20_000,
            n_categories: TAXONOMY.len() as u32,
            n_queries: 300,
            start_timestamp: 1_735_689_600, // 2025-01-01T00:00:00Z
            n_days: 30,
            slate_size: 10,
            candidates_per_slate: 50,
            examination_exponent: 0.8,
            search_rate: 0.4,
            policy_epsilon: 0.1,
            policy_temperature: 1.0,
            policy_noise: 0.5,
            latent_dim: 8,
            preference_scale: 1.5,
            attractiveness_bias: -2.0,
            relevance_weight: 1.5,
            cart_rate: 0.5,
            purchase_rate: 0.8,
            rating_rate: 0.5,
            chinese_fraction: 0.1,
            typo_rate: 0.1,
            synonym_rate: 0.3,
            paraphrase_rate: 0.2,
            max_judgments_per_query: 100,
            bot_fraction: 0.0,
            bot_activity: 3.0,
            bot_click_rate: 0.1,
            bot_random_clicks: 5.0,
            bot_promoted_items: 10,
            bot_promoted_click_rate: default_bot_promoted_click_rate(),
            bot_farm_share: 0.8,
            duplicate_fraction: 0.0,
            flipped_rating_fraction: 0.0,
            sources: SourceSpec::defaults(),
            images: None,
        }
    }

    /// A clean shop sized for about `n_events` events: one item per 100 events and one user
    /// per 50 events (at least 200 items and 100 users, at most 200,000 items and 500,000
    /// users), and one query per item up to 1,000 queries (more would exhaust the distinct
    /// texts a small catalog can be asked for); other parameters as in [`SimConfig::small`].
    pub fn with_events(seed: u64, n_events: u64) -> SimConfig {
        let n_items = (n_events / 100).clamp(200, 200_000) as u32;
        SimConfig {
            n_items,
            n_users: (n_events / 50).clamp(100, 500_000) as u32,
            n_events_target: n_events,
            n_queries: n_items.min(1_000),
            ..SimConfig::small(seed)
        }
    }

    /// [`SimConfig::small`] with labelled bad data: 5% bot users (the preset's click farm
    /// and scrapers), 2% duplicated rows and 5% flipped ratings.
    pub fn small_with_bad_data(seed: u64) -> SimConfig {
        SimConfig {
            bot_fraction: 0.05,
            duplicate_fraction: 0.02,
            flipped_rating_fraction: 0.05,
            ..SimConfig::small(seed)
        }
    }

    /// Checks every field; the error names the first field that is out of range.
    pub fn validate(&self) -> Result<(), SimError> {
        fn fail(field: &'static str, reason: impl Into<String>) -> Result<(), SimError> {
            Err(SimError::InvalidConfig {
                field,
                reason: reason.into(),
            })
        }
        let probabilities = [
            ("search_rate", self.search_rate),
            ("policy_epsilon", self.policy_epsilon),
            ("cart_rate", self.cart_rate),
            ("purchase_rate", self.purchase_rate),
            ("rating_rate", self.rating_rate),
            ("chinese_fraction", self.chinese_fraction),
            ("typo_rate", self.typo_rate),
            ("synonym_rate", self.synonym_rate),
            ("paraphrase_rate", self.paraphrase_rate),
            ("bot_fraction", self.bot_fraction),
            ("bot_click_rate", self.bot_click_rate),
            ("bot_promoted_click_rate", self.bot_promoted_click_rate),
            ("bot_farm_share", self.bot_farm_share),
            ("duplicate_fraction", self.duplicate_fraction),
            ("flipped_rating_fraction", self.flipped_rating_fraction),
        ];
        for (field, value) in probabilities {
            if !(0.0..=1.0).contains(&value) {
                return fail(
                    field,
                    format!("must be a probability in [0, 1], got {value}"),
                );
            }
        }
        let finite = [
            ("examination_exponent", self.examination_exponent),
            ("policy_noise", self.policy_noise),
            ("preference_scale", self.preference_scale),
            ("attractiveness_bias", self.attractiveness_bias),
            ("relevance_weight", self.relevance_weight),
        ];
        for (field, value) in finite {
            if !value.is_finite() {
                return fail(field, format!("must be finite, got {value}"));
            }
        }
        if self.examination_exponent < 0.0 {
            return fail(
                "examination_exponent",
                "must be >= 0 so that examination falls with position",
            );
        }
        if self.policy_noise < 0.0 {
            return fail("policy_noise", "must be >= 0");
        }
        if !(self.policy_temperature.is_finite() && self.policy_temperature >= 0.01) {
            return fail("policy_temperature", "must be finite and >= 0.01");
        }
        if !(self.bot_random_clicks.is_finite() && (0.0..=1000.0).contains(&self.bot_random_clicks))
        {
            return fail("bot_random_clicks", "must be a number in [0, 1000]");
        }
        if !(self.bot_activity.is_finite() && self.bot_activity > 0.0) {
            return fail("bot_activity", "must be finite and > 0");
        }
        if self.n_items == 0 {
            return fail("n_items", "must be at least 1");
        }
        if self.bot_promoted_items > self.n_items {
            return fail("bot_promoted_items", "must be at most n_items");
        }
        if self.n_users == 0 {
            return fail("n_users", "must be at least 1");
        }
        if self.n_categories == 0 || self.n_categories as usize > TAXONOMY.len() {
            return fail("n_categories", format!("must be in 1..={}", TAXONOMY.len()));
        }
        if self.n_days == 0 {
            return fail("n_days", "must be at least 1");
        }
        if self.slate_size == 0 {
            return fail("slate_size", "must be at least 1");
        }
        if self.candidates_per_slate < u32::from(self.slate_size) {
            return fail("candidates_per_slate", "must be at least slate_size");
        }
        if self.latent_dim == 0 || self.latent_dim > 256 {
            return fail("latent_dim", "must be in 1..=256");
        }
        if let Some(images) = &self.images {
            if !(2..=1024).contains(&images.dim) {
                return fail("images.dim", "must be in 2..=1024");
            }
            if !(images.noise.is_finite() && images.noise >= 0.0) {
                return fail("images.noise", "must be a finite number at least 0");
            }
            if !(images.style_weight.is_finite() && images.style_weight >= 0.0) {
                return fail("images.style_weight", "must be a finite number at least 0");
            }
        }
        if self.search_rate > 0.0 && self.n_queries == 0 {
            return fail("n_queries", "must be at least 1 when search_rate > 0");
        }
        if self.sources.is_empty() {
            return fail("sources", "needs at least one source");
        }
        for (i, source) in self.sources.iter().enumerate() {
            let name = source.name.as_str();
            if name.is_empty() || name.contains([',', '"', '\n', '\r']) {
                return fail(
                    "sources",
                    format!("source {i}: name must be non-empty plain text"),
                );
            }
            if self.sources[..i]
                .iter()
                .any(|other| other.name == source.name)
            {
                return fail("sources", format!("source name {name:?} appears twice"));
            }
            if !(source.weight.is_finite() && source.weight > 0.0) {
                return fail(
                    "sources",
                    format!("source {name:?}: weight must be finite and > 0"),
                );
            }
            if !(0.0..=1.0).contains(&source.item_noise)
                || !(0.0..=1.0).contains(&source.click_noise)
            {
                return fail(
                    "sources",
                    format!("source {name:?}: noise rates must be in [0, 1]"),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        SimConfig::small(1).validate().unwrap();
        SimConfig::small_with_bad_data(1).validate().unwrap();
        SimConfig::with_events(1, 10_000_000).validate().unwrap();
        SimConfig::with_events(1, 10).validate().unwrap();
    }

    #[test]
    fn bad_fields_are_named() {
        let check = |config: SimConfig, expected: &str| match config.validate() {
            Err(SimError::InvalidConfig { field, .. }) => assert_eq!(field, expected),
            other => panic!("expected an error about {expected}, got {other:?}"),
        };
        check(
            SimConfig {
                typo_rate: 1.5,
                ..SimConfig::small(1)
            },
            "typo_rate",
        );
        check(
            SimConfig {
                n_categories: 99,
                ..SimConfig::small(1)
            },
            "n_categories",
        );
        check(
            SimConfig {
                sources: Vec::new(),
                ..SimConfig::small(1)
            },
            "sources",
        );
        check(
            SimConfig {
                policy_noise: f64::NAN,
                ..SimConfig::small(1)
            },
            "policy_noise",
        );
        check(
            SimConfig {
                candidates_per_slate: 3,
                ..SimConfig::small(1)
            },
            "candidates_per_slate",
        );
    }
}
