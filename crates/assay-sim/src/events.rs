//! The behaviour log: sessions, slates from the logging policy, clicks from the
//! position-based model, downstream carts, purchases, dwell and ratings, and the labelled
//! corruption of rows. Rows are streamed to `events.csv` as they are made.

use std::fmt::Write as _;
use std::path::Path;

use assay_core::EventKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::config::SimConfig;
use crate::output::Table;
use crate::random::{bernoulli, index, normal, sigmoid, stream_rng, Categorical, Stream};
use crate::shop::{grade, query_id, user_id, Catalog, Population, Query, QueryPool, SEGMENTS};
use crate::vocab::TAXONOMY;
use crate::SimError;

/// Weight `kappa` of the match term in the logging policy's score.
pub(crate) const POLICY_MATCH_WEIGHT: f64 = 1.0;
/// Median dwell time in seconds of an item of attractiveness 0.5.
pub(crate) const DWELL_MEDIAN_SECONDS: f64 = 30.0;
/// Standard deviation of the log-dwell noise.
pub(crate) const DWELL_LOG_SIGMA: f64 = 0.6;
/// Standard deviation of the rating noise.
pub(crate) const RATING_SIGMA: f64 = 0.75;
/// Probability of buying 1, 2 or 3 units.
pub(crate) const QUANTITY_PROBABILITIES: [f64; 3] = [0.85, 0.10, 0.05];
/// Session start times get up to this many seconds of jitter.
const SESSION_JITTER_SECONDS: i64 = 600;

/// Labels of bad rows in `truth/bad_events.csv`, in the order a row's labels are written.
pub(crate) const LABELS: [&str; 5] = [
    "bot",
    "duplicate",
    "flipped_rating",
    "noisy_click",
    "noisy_item",
];
const BOT: u8 = 1 << 0;
const DUPLICATE: u8 = 1 << 1;
const FLIPPED_RATING: u8 = 1 << 2;
const NOISY_CLICK: u8 = 1 << 3;
const NOISY_ITEM: u8 = 1 << 4;

/// The click farm: which bots work for it and which items it promotes.
pub(crate) struct BotPlan {
    /// Per user: whether it is a farm bot (false for humans and scrapers).
    pub(crate) is_farm: Vec<bool>,
    /// The promoted items, ascending.
    pub(crate) promoted: Vec<u32>,
    /// Rows written to `truth/bots.csv` and `truth/promoted_items.csv`.
    pub(crate) rows: (u64, u64),
}

/// Draws the click farm from its own stream and writes `truth/bots.csv` (`user_id,kind`,
/// kind `farm` or `scraper`) and `truth/promoted_items.csv` (`item_id`).
pub(crate) fn plan_bots(
    config: &SimConfig,
    population: &Population,
    n_items: usize,
    truth: &Path,
) -> Result<BotPlan, SimError> {
    let mut rng = stream_rng(config.seed, Stream::Bots);
    let n_promoted = (config.bot_promoted_items as usize).min(n_items);
    let mut promoted: Vec<u32> = rand::seq::index::sample(&mut rng, n_items, n_promoted)
        .into_iter()
        .map(|i| i as u32)
        .collect();
    promoted.sort_unstable();
    let mut bots = Table::create(truth, "bots.csv", &["user_id", "kind"])?;
    let mut is_farm = vec![false; population.users.len()];
    for (u, user) in population.users.iter().enumerate() {
        if !user.is_bot {
            continue;
        }
        let farm = n_promoted > 0 && bernoulli(&mut rng, config.bot_farm_share);
        is_farm[u] = farm;
        bots.write([
            user_id(u as u32).as_str(),
            if farm { "farm" } else { "scraper" },
        ])?;
    }
    let mut items = Table::create(truth, "promoted_items.csv", &["item_id"])?;
    for &item in &promoted {
        items.write([format!("i{item}")])?;
    }
    Ok(BotPlan {
        is_farm,
        promoted,
        rows: (bots.finish()?, items.finish()?),
    })
}

/// What the log holds, by kind, source and label.
#[derive(Debug, Default)]
pub(crate) struct LogCounts {
    pub(crate) n_sessions: u64,
    pub(crate) n_search_sessions: u64,
    pub(crate) n_events: u64,
    pub(crate) by_kind: [u64; 6],
    pub(crate) by_source: Vec<u64>,
    pub(crate) by_label: [u64; 5],
}

/// The examination probability of each position `1..=K`: `e_k = k^-eta`.
pub(crate) fn examination(config: &SimConfig) -> Vec<f64> {
    (1..=config.slate_size)
        .map(|k| f64::from(k).powf(-config.examination_exponent))
        .collect()
}

/// The value column of a row.
#[derive(Debug, Clone, Copy)]
enum Value {
    None,
    Seconds(u64),
    Cents(u64),
    Rating(u8),
}

/// One row of `events.csv` before corruption; ids are dense indices.
#[derive(Debug, Clone, Copy)]
struct Row {
    user: u32,
    item: u32,
    kind: EventKind,
    value: Value,
    timestamp: i64,
    session: u64,
    query: Option<u32>,
    /// Slot from 1, 0 when not shown in a slate.
    position: u16,
    propensity: f64,
    source: u16,
}

/// The event writer: applies labelled corruption, writes rows and their labels, counts.
struct Log<'a> {
    config: &'a SimConfig,
    population: &'a Population,
    pool: &'a QueryPool,
    n_items: usize,
    events: Table,
    bad_events: Table,
    rng: ChaCha8Rng,
    scratch: String,
    counts: LogCounts,
}

impl Log<'_> {
    fn emit(&mut self, row: &Row, mut labels: u8) -> Result<(), SimError> {
        let mut row = *row;
        if let Value::Rating(rating) = row.value {
            if self.config.flipped_rating_fraction > 0.0
                && bernoulli(&mut self.rng, self.config.flipped_rating_fraction)
            {
                row.value = Value::Rating(6 - rating);
                labels |= FLIPPED_RATING;
            }
        }
        let item_noise = self.config.sources[row.source as usize].item_noise;
        if item_noise > 0.0 && self.n_items > 1 && bernoulli(&mut self.rng, item_noise) {
            // Any item but the true one, uniformly.
            let other = index(&mut self.rng, self.n_items - 1) as u32;
            row.item = if other >= row.item { other + 1 } else { other };
            labels |= NOISY_ITEM;
        }
        if self.population.users[row.user as usize].is_bot {
            labels |= BOT;
        }
        self.write(&row, labels)?;
        if self.config.duplicate_fraction > 0.0
            && bernoulli(&mut self.rng, self.config.duplicate_fraction)
        {
            self.write(&row, labels | DUPLICATE)?;
        }
        Ok(())
    }

    fn write(&mut self, row: &Row, labels: u8) -> Result<(), SimError> {
        let s = &mut self.scratch;
        let events = &mut self.events;
        // Writing into a `String` cannot fail.
        s.clear();
        let _ = write!(s, "u{}", row.user);
        events.write_field(&*s)?;
        s.clear();
        let _ = write!(s, "i{}", row.item);
        events.write_field(&*s)?;
        events.write_field(row.kind.as_str())?;
        s.clear();
        match row.value {
            Value::None => {}
            Value::Seconds(seconds) => {
                let _ = write!(s, "{seconds}");
            }
            Value::Cents(amount) => {
                let _ = write!(s, "{}.{:02}", amount / 100, amount % 100);
            }
            Value::Rating(rating) => {
                let _ = write!(s, "{rating}");
            }
        }
        events.write_field(&*s)?;
        s.clear();
        let _ = write!(s, "{}", row.timestamp);
        events.write_field(&*s)?;
        s.clear();
        let _ = write!(s, "s{}", row.session);
        events.write_field(&*s)?;
        match row.query {
            Some(query) => events.write_field(&self.pool.queries[query as usize].text)?,
            None => events.write_field("")?,
        }
        s.clear();
        if row.position > 0 {
            // Rust prints the shortest text that reads back as the same f64, on every platform.
            let _ = write!(s, "{}", row.position);
            events.write_field(&*s)?;
            s.clear();
            let _ = write!(s, "{}", row.propensity);
            events.write_field(&*s)?;
        } else {
            events.write_field("")?;
            events.write_field("")?;
        }
        events.write_field(&self.config.sources[row.source as usize].name)?;
        events.end_record()?;

        let row_number = events.rows();
        self.counts.n_events += 1;
        self.counts.by_kind[kind_index(row.kind)] += 1;
        self.counts.by_source[row.source as usize] += 1;
        for (bit, label) in LABELS.iter().enumerate() {
            if labels & (1 << bit) != 0 {
                self.counts.by_label[bit] += 1;
                self.scratch.clear();
                let _ = write!(self.scratch, "{row_number}");
                self.bad_events.write([self.scratch.as_str(), label])?;
            }
        }
        Ok(())
    }
}

/// Position of `kind` in [`EventKind::ALL`].
pub(crate) fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("ALL lists every kind")
}

/// What a session is about.
#[derive(Debug, Clone, Copy)]
enum Context {
    Browse { leaf: u16 },
    Search { query: u32 },
}

/// Simulates sessions until the target number of rows is written; writes `events.csv`,
/// `truth/bad_events.csv` and `truth/sessions.csv`.
pub(crate) fn simulate_log(
    config: &SimConfig,
    catalog: &Catalog,
    population: &Population,
    pool: &QueryPool,
    bots: &BotPlan,
    dir: &Path,
) -> Result<LogCounts, SimError> {
    let events = Table::create(
        dir,
        "events.csv",
        &[
            "user_id",
            "item_id",
            "kind",
            "value",
            "timestamp",
            "session_id",
            "query",
            "position",
            "propensity",
            "source",
        ],
    )?;
    let bad_events = Table::create(&dir.join("truth"), "bad_events.csv", &["row", "label"])?;
    let mut sessions = Table::create(
        &dir.join("truth"),
        "sessions.csv",
        &[
            "session_id",
            "user_id",
            "source",
            "context",
            "category",
            "query_id",
        ],
    )?;
    let mut log = Log {
        config,
        population,
        pool,
        n_items: catalog.items.len(),
        events,
        bad_events,
        rng: stream_rng(config.seed, Stream::Corruption),
        scratch: String::new(),
        counts: LogCounts {
            by_source: vec![0; config.sources.len()],
            ..LogCounts::default()
        },
    };
    let mut rng = stream_rng(config.seed, Stream::Sessions);
    let mut bot_rng = stream_rng(config.seed, Stream::Bots);
    let users = Categorical::new(population.users.iter().map(|u| u.activity));
    let sources = Categorical::new(config.sources.iter().map(|s| s.weight));
    let exam = examination(config);
    let quantities = Categorical::new(QUANTITY_PROBABILITIES);
    let span = i64::from(config.n_days) * 86_400;
    let target = config.n_events_target;
    let n_leaves = config.n_categories as usize;
    let mut candidates: Vec<u32> = Vec::with_capacity(config.candidates_per_slate as usize);
    let mut weights: Vec<f64> = Vec::with_capacity(config.candidates_per_slate as usize);
    let mut slate: Vec<(u32, f64)> = Vec::with_capacity(config.slate_size as usize);

    while log.counts.n_events < target {
        let session = log.counts.n_sessions;
        log.counts.n_sessions += 1;
        let user = users.sample(&mut rng) as u32;
        let is_bot = population.users[user as usize].is_bot;
        let source = sources.sample(&mut rng) as u16;
        // Sessions start in order through the span, in proportion to the rows written.
        let progress = (span as f64 * log.counts.n_events as f64 / target as f64) as i64;
        let jitter = rng.random_range(0..SESSION_JITTER_SECONDS);
        let start = config.start_timestamp + (progress + jitter).min(span - 1);

        // Humans look for what they like; bots pick anything.
        let leaf = if is_bot {
            index(&mut rng, n_leaves)
        } else {
            sample_preference(&mut rng, population.preference(user))
        };
        let context = if !pool.queries.is_empty() && bernoulli(&mut rng, config.search_rate) {
            log.counts.n_search_sessions += 1;
            let same_leaf = &pool.by_leaf[leaf];
            let query = if is_bot || same_leaf.is_empty() {
                index(&mut rng, pool.queries.len()) as u32
            } else {
                same_leaf[index(&mut rng, same_leaf.len())]
            };
            Context::Search { query }
        } else {
            Context::Browse { leaf: leaf as u16 }
        };
        let (focus_leaf, query) = match context {
            Context::Browse { leaf } => (leaf, None),
            Context::Search { query } => (pool.queries[query as usize].leaf, Some(query)),
        };

        sessions.write([
            format!("s{session}").as_str(),
            &user_id(user),
            &config.sources[source as usize].name,
            if query.is_some() { "search" } else { "browse" },
            TAXONOMY[focus_leaf as usize].path,
            &query.map_or(String::new(), |q| query_id(q as usize)),
        ])?;

        draw_candidates(
            &mut rng,
            catalog,
            focus_leaf,
            config.candidates_per_slate as usize,
            &mut candidates,
        );
        weights.clear();
        weights.extend(candidates.iter().map(|&item| {
            let item_data = &catalog.items[item as usize];
            let score = f64::from(item_data.quality)
                + f64::from(item_data.policy_noise)
                + POLICY_MATCH_WEIGHT * policy_match(catalog, pool, context, item);
            (score / config.policy_temperature).exp()
        }));
        rank(&mut rng, config, &mut candidates, &mut weights, &mut slate);

        let base = Row {
            user,
            item: 0,
            kind: EventKind::Impression,
            value: Value::None,
            timestamp: start,
            session,
            query,
            position: 0,
            propensity: f64::NAN,
            source,
        };
        for (slot, &(item, propensity)) in slate.iter().enumerate() {
            let row = Row {
                item,
                position: slot as u16 + 1,
                propensity,
                ..base
            };
            log.emit(&row, 0)?;
        }
        let click_noise = config.sources[source as usize].click_noise;
        for (slot, &(item, propensity)) in slate.iter().enumerate() {
            let click_time = start + 5 * (slot as i64 + 1) + rng.random_range(0..5);
            let shown = Row {
                item,
                position: slot as u16 + 1,
                propensity,
                timestamp: click_time,
                ..base
            };
            let click = Row {
                kind: EventKind::Click,
                ..shown
            };
            if is_bot {
                if bernoulli(&mut rng, config.bot_click_rate) {
                    log.emit(&click, 0)?;
                    let seconds = rng.random_range(1..=3u64);
                    let dwell = Row {
                        kind: EventKind::Dwell,
                        value: Value::Seconds(seconds),
                        timestamp: click_time + seconds as i64,
                        ..shown
                    };
                    log.emit(&dwell, 0)?;
                }
                continue;
            }
            // The noise draw comes from the corruption stream so that clean sources leave the
            // session stream untouched.
            if click_noise > 0.0 && bernoulli(&mut log.rng, click_noise) {
                log.emit(&click, NOISY_CLICK)?;
                continue;
            }
            let attractiveness =
                attractiveness(config, catalog, population, pool, context, user, item);
            if !bernoulli(&mut rng, exam[slot] * attractiveness) {
                continue;
            }
            log.emit(&click, 0)?;
            let log_dwell = DWELL_MEDIAN_SECONDS.ln()
                + 2.0 * (attractiveness - 0.5)
                + DWELL_LOG_SIGMA * normal(&mut rng);
            let seconds = (log_dwell.exp().round() as u64).max(1);
            let carted = bernoulli(&mut rng, config.cart_rate * attractiveness);
            if carted {
                let cart = Row {
                    kind: EventKind::Cart,
                    timestamp: click_time + seconds as i64 / 2,
                    ..shown
                };
                log.emit(&cart, 0)?;
            }
            let dwell = Row {
                kind: EventKind::Dwell,
                value: Value::Seconds(seconds),
                timestamp: click_time + seconds as i64,
                ..shown
            };
            log.emit(&dwell, 0)?;
            if !carted {
                continue;
            }
            let item_data = &catalog.items[item as usize];
            let beta = SEGMENTS[population.users[user as usize].segment as usize].price_sensitivity;
            let p_purchase =
                config.purchase_rate * sigmoid(1.0 - beta * f64::from(item_data.price_z));
            if !bernoulli(&mut rng, p_purchase) {
                continue;
            }
            let quantity = 1 + quantities.sample(&mut rng) as u64;
            let purchase_time = click_time + seconds as i64 + rng.random_range(30..300);
            let purchase = Row {
                kind: EventKind::Purchase,
                value: Value::Cents(quantity * item_data.price_cents),
                timestamp: purchase_time,
                ..shown
            };
            log.emit(&purchase, 0)?;
            if bernoulli(&mut rng, config.rating_rate) {
                let raw = 1.0 + 4.0 * attractiveness + RATING_SIGMA * normal(&mut rng);
                let rating = raw.round().clamp(1.0, 5.0) as u8;
                let rated = Row {
                    kind: EventKind::Rating,
                    value: Value::Rating(rating),
                    timestamp: purchase_time + rng.random_range(3_600..3 * 86_400),
                    ..shown
                };
                log.emit(&rated, 0)?;
            }
        }
        if is_bot {
            // Bots open pages directly (no slate, no query), dwell a moment and leave: random
            // catalog items, then the farm's promoted items; the draws come from the bots'
            // own stream.
            let mut click_time = start + 5 * (slate.len() as i64 + 1);
            let rate = config.bot_random_clicks;
            let n_random =
                rate.floor() as usize + usize::from(bernoulli(&mut bot_rng, rate.fract()));
            let mut direct: Vec<u32> = (0..n_random)
                .map(|_| index(&mut bot_rng, catalog.items.len()) as u32)
                .collect();
            if bots.is_farm[user as usize] {
                for &item in &bots.promoted {
                    if bernoulli(&mut bot_rng, config.bot_promoted_click_rate) {
                        direct.push(item);
                    }
                }
            }
            for item in direct {
                click_time += bot_rng.random_range(2..10);
                let click = Row {
                    item,
                    kind: EventKind::Click,
                    timestamp: click_time,
                    query: None,
                    ..base
                };
                log.emit(&click, 0)?;
                let seconds = bot_rng.random_range(1..=3u64);
                let dwell = Row {
                    kind: EventKind::Dwell,
                    value: Value::Seconds(seconds),
                    timestamp: click_time + seconds as i64,
                    ..click
                };
                log.emit(&dwell, 0)?;
            }
        }
    }
    log.events.finish()?;
    log.bad_events.finish()?;
    sessions.finish()?;
    Ok(log.counts)
}

/// Draws a leaf index from a user's preference row.
fn sample_preference(rng: &mut ChaCha8Rng, preference: &[f32]) -> usize {
    let total: f64 = preference.iter().map(|&p| f64::from(p)).sum();
    let mut target = rng.random::<f64>() * total;
    for (leaf, &p) in preference.iter().enumerate() {
        target -= f64::from(p);
        if target < 0.0 {
            return leaf;
        }
    }
    preference.len() - 1
}

/// Fills `out` with up to `count` distinct candidates: up to half from `leaf`, the rest
/// uniformly from the catalog.
fn draw_candidates(
    rng: &mut ChaCha8Rng,
    catalog: &Catalog,
    leaf: u16,
    count: usize,
    out: &mut Vec<u32>,
) {
    out.clear();
    let members = &catalog.by_leaf[leaf as usize];
    let from_leaf = (count / 2).min(members.len());
    for i in rand::seq::index::sample(rng, members.len(), from_leaf) {
        out.push(members[i]);
    }
    let n_items = catalog.items.len();
    let wanted = count.min(n_items);
    // Rejection sampling stays cheap while candidates are few next to the catalog; the cap on
    // attempts keeps tiny catalogs from spinning.
    let mut attempts = 4 * count;
    while out.len() < wanted && attempts > 0 {
        attempts -= 1;
        let item = index(rng, n_items) as u32;
        if !out.contains(&item) {
            out.push(item);
        }
    }
}

/// The logging policy's match term `m`: the relevance grade for a search, 2 for an item of
/// the browsed leaf and 0 otherwise.
fn policy_match(catalog: &Catalog, pool: &QueryPool, context: Context, item: u32) -> f64 {
    match context {
        Context::Search { query } => f64::from(grade(catalog, &pool.queries[query as usize], item)),
        Context::Browse { leaf } => {
            if catalog.items[item as usize].leaf == leaf {
                2.0
            } else {
                0.0
            }
        }
    }
}

/// Fills `slate` slot by slot: with probability epsilon a uniform remaining candidate,
/// otherwise one drawn in proportion to `weights`; records each pick's propensity given the
/// slots above it. Consumes the picked entries of `candidates` and `weights`.
fn rank(
    rng: &mut ChaCha8Rng,
    config: &SimConfig,
    candidates: &mut Vec<u32>,
    weights: &mut Vec<f64>,
    slate: &mut Vec<(u32, f64)>,
) {
    slate.clear();
    let epsilon = config.policy_epsilon;
    let slots = (config.slate_size as usize).min(candidates.len());
    for _ in 0..slots {
        let remaining = candidates.len();
        let total: f64 = weights.iter().sum();
        let pick = if bernoulli(rng, epsilon) {
            index(rng, remaining)
        } else {
            let mut target = rng.random::<f64>() * total;
            let mut pick = remaining - 1;
            for (i, &weight) in weights.iter().enumerate() {
                target -= weight;
                if target < 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        };
        let propensity = epsilon / remaining as f64 + (1.0 - epsilon) * weights[pick] / total;
        slate.push((candidates[pick], propensity.min(1.0)));
        candidates.swap_remove(pick);
        weights.swap_remove(pick);
    }
}

/// The probability `A` that user `user` clicks `item` once they examine it (see crate docs).
fn attractiveness(
    config: &SimConfig,
    catalog: &Catalog,
    population: &Population,
    pool: &QueryPool,
    context: Context,
    user: u32,
    item: u32,
) -> f64 {
    let item_data = &catalog.items[item as usize];
    let affinity: f64 = population
        .latent(user)
        .iter()
        .zip(catalog.latent(item))
        .map(|(&f, &g)| f64::from(f) * f64::from(g))
        .sum();
    let beta = SEGMENTS[population.users[user as usize].segment as usize].price_sensitivity;
    let context_term = match context {
        Context::Browse { .. } => {
            let preference = f64::from(population.preference(user)[item_data.leaf as usize]);
            (population.n_leaves as f64 * preference).ln()
        }
        Context::Search { query } => {
            let query: &Query = &pool.queries[query as usize];
            config.relevance_weight * (f64::from(grade(catalog, query, item)) - 1.0)
        }
    };
    sigmoid(
        config.attractiveness_bias + affinity + f64::from(item_data.quality)
            - beta * f64::from(item_data.price_z)
            + context_term,
    )
}
