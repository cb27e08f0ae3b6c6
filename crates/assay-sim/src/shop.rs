//! The static part of the shop: catalog, users and the query pool with its judgments, each
//! generated from its own random stream and written as it is generated.

use std::collections::HashSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::SimConfig;
use crate::images::{self, ImageModel};
use crate::output::Table;
use crate::random::{bernoulli, index, normal, stream_rng, Categorical, Stream};
use crate::vocab::{self, Leaf, COLORS, PARAPHRASES_EN, PARAPHRASES_ZH, REGIONS, TAXONOMY};
use crate::SimError;

/// Standard deviation of log-price around a leaf's median price.
pub(crate) const LOG_PRICE_SIGMA: f64 = 0.5;
/// Standard deviation of an item's intrinsic quality `q_i`.
pub(crate) const QUALITY_SIGMA: f64 = 0.5;
/// Probability that a query names a colour (otherwise it names a material or feature).
pub(crate) const QUERY_COLOR_RATE: f64 = 0.6;
/// Redraws of a query's content before a query whose text keeps colliding is skipped.
const QUERY_ATTEMPTS: usize = 50;
/// Probability that a title uses a synonym of the leaf noun instead of the noun itself.
pub(crate) const TITLE_SYNONYM_RATE: f64 = 0.2;

/// One catalog item; its latent factors live in [`Catalog::latent`].
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) leaf: u16,
    pub(crate) color: u8,
    pub(crate) feature: u8,
    pub(crate) price_cents: u64,
    /// Standardised log-price within the leaf: `(ln price - ln median) / sigma`.
    pub(crate) price_z: f32,
    pub(crate) quality: f32,
    /// The logging policy's fixed error about this item.
    pub(crate) policy_noise: f32,
}

/// The catalog.
pub(crate) struct Catalog {
    pub(crate) items: Vec<Item>,
    /// Row-major latent factors `g_i`, `dim` per item.
    pub(crate) latent: Vec<f32>,
    pub(crate) dim: usize,
    /// Item indices of each used leaf.
    pub(crate) by_leaf: Vec<Vec<u32>>,
    /// Index of each used leaf's parent category (equal indices = same parent).
    pub(crate) parent_of_leaf: Vec<u16>,
}

impl Catalog {
    pub(crate) fn latent(&self, item: u32) -> &[f32] {
        let start = item as usize * self.dim;
        &self.latent[start..start + self.dim]
    }
}

/// A user segment: its share of users, activity and price sensitivity.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) name: &'static str,
    pub(crate) share: f64,
    /// Mean number of sessions relative to other segments.
    pub(crate) activity: f64,
    /// `beta` in the attractiveness logit's `- beta * price_z` term.
    pub(crate) price_sensitivity: f64,
}

/// The fixed segments.
pub(crate) static SEGMENTS: [Segment; 4] = [
    Segment {
        name: "new",
        share: 0.3,
        activity: 0.5,
        price_sensitivity: 0.5,
    },
    Segment {
        name: "loyal",
        share: 0.2,
        activity: 3.0,
        price_sensitivity: 0.2,
    },
    Segment {
        name: "bargain",
        share: 0.25,
        activity: 1.0,
        price_sensitivity: 1.5,
    },
    Segment {
        name: "casual",
        share: 0.25,
        activity: 1.0,
        price_sensitivity: 0.5,
    },
];

/// One user; preferences and latent factors live in [`Population`].
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) segment: u8,
    pub(crate) is_bot: bool,
    pub(crate) activity: f64,
}

/// The users.
pub(crate) struct Population {
    pub(crate) users: Vec<User>,
    /// Row-major category preferences `pref_u`, one row of `n_leaves` per user, summing to 1.
    pub(crate) preference: Vec<f32>,
    pub(crate) n_leaves: usize,
    /// Row-major latent factors `f_u`, `dim` per user.
    pub(crate) latent: Vec<f32>,
    pub(crate) dim: usize,
}

impl Population {
    pub(crate) fn preference(&self, user: u32) -> &[f32] {
        let start = user as usize * self.n_leaves;
        &self.preference[start..start + self.n_leaves]
    }

    pub(crate) fn latent(&self, user: u32) -> &[f32] {
        let start = user as usize * self.dim;
        &self.latent[start..start + self.dim]
    }
}

/// The attribute a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    Color(u8),
    Feature(u8),
}

/// One query of the pool.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) text: String,
    pub(crate) leaf: u16,
    pub(crate) attribute: Attribute,
}

/// The query pool.
pub(crate) struct QueryPool {
    pub(crate) queries: Vec<Query>,
    /// Query indices whose intent is each leaf.
    pub(crate) by_leaf: Vec<Vec<u32>>,
}

/// Counts of what the static part wrote.
pub(crate) struct ShopCounts {
    pub(crate) n_judgments: u64,
}

/// The graded relevance of `item` for `query`: 3 = same leaf and the asked attribute,
/// 2 = same leaf, 1 = same parent category, 0 otherwise.
pub(crate) fn grade(catalog: &Catalog, query: &Query, item: u32) -> u8 {
    let item = &catalog.items[item as usize];
    if item.leaf == query.leaf {
        let matches = match query.attribute {
            Attribute::Color(color) => item.color == color,
            Attribute::Feature(feature) => item.feature == feature,
        };
        return if matches { 3 } else { 2 };
    }
    let parents = &catalog.parent_of_leaf;
    u8::from(parents[item.leaf as usize] == parents[query.leaf as usize])
}

/// External id of item `i`.
pub(crate) fn item_id(item: u32) -> String {
    format!("i{item}")
}

/// External id of user `u`.
pub(crate) fn user_id(user: u32) -> String {
    format!("u{user}")
}

/// External id of query `q`.
pub(crate) fn query_id(query: usize) -> String {
    format!("q{query}")
}

/// Generates the catalog and writes `items.csv`, `truth/items.csv` and `truth/categories.csv`.
pub(crate) fn generate_catalog(config: &SimConfig, dir: &Path) -> Result<Catalog, SimError> {
    let mut rng = stream_rng(config.seed, Stream::Catalog);
    let n_leaves = config.n_categories as usize;
    let dim = config.latent_dim as usize;
    let leaves = &TAXONOMY[..n_leaves];

    let mut parents: Vec<&str> = Vec::new();
    let parent_of_leaf: Vec<u16> = leaves
        .iter()
        .map(|leaf| {
            let parent = vocab::parent(leaf.path);
            let position = parents
                .iter()
                .position(|p| *p == parent)
                .unwrap_or_else(|| {
                    parents.push(parent);
                    parents.len() - 1
                });
            position as u16
        })
        .collect();

    let truth = dir.join("truth");
    let mut categories = Table::create(
        &truth,
        "categories.csv",
        &[
            "category_index",
            "category",
            "parent",
            "noun",
            "synonyms",
            "noun_zh",
            "synonyms_zh",
        ],
    )?;
    for (i, leaf) in leaves.iter().enumerate() {
        categories.write([
            i.to_string().as_str(),
            leaf.path,
            vocab::parent(leaf.path),
            leaf.noun,
            &leaf.synonyms.join("|"),
            leaf.noun_zh,
            &leaf.synonyms_zh.join("|"),
        ])?;
    }
    categories.finish()?;

    let mut images = config
        .images
        .map(|spec| ImageModel::new(config.seed, spec, dim));
    let mut items_header = vec![
        "item_id",
        "title",
        "description",
        "category",
        "brand",
        "price",
        "lang",
    ];
    if images.is_some() {
        items_header.push("image");
    }
    let mut items_csv = Table::create(dir, "items.csv", &items_header)?;
    let mut header = vec![
        "item_id".to_owned(),
        "category_index".into(),
        "color".into(),
        "feature".into(),
        "quality".into(),
        "policy_noise".into(),
        "price_z".into(),
    ];
    header.extend((0..dim).map(|k| format!("g{k}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut items_truth = Table::create(&truth, "items.csv", &header)?;

    let n_items = config.n_items as usize;
    let mut items = Vec::with_capacity(n_items);
    let mut latent = Vec::with_capacity(n_items * dim);
    let mut by_leaf = vec![Vec::new(); n_leaves];
    let mut row: Vec<String> = Vec::new();
    for i in 0..n_items {
        let leaf_index = index(&mut rng, n_leaves);
        let leaf = &leaves[leaf_index];
        let features = vocab::features(leaf.department);
        let brands = vocab::brands(leaf.department);
        let color = index(&mut rng, COLORS.len());
        let feature = index(&mut rng, features.len());
        let brand = brands[index(&mut rng, brands.len())];
        let zh = bernoulli(&mut rng, config.chinese_fraction);
        let price_z = normal(&mut rng);
        let price = leaf.median_price * (LOG_PRICE_SIGMA * price_z).exp();
        let price_cents = ((price * 100.0).round() as u64).max(1);
        let quality = (QUALITY_SIGMA * normal(&mut rng)) as f32;
        let policy_noise = (config.policy_noise * normal(&mut rng)) as f32;
        let start = latent.len();
        latent.extend((0..dim).map(|_| normal(&mut rng) as f32));
        let (title, description) = item_text(&mut rng, leaf, color, feature, brand, zh);

        let id = item_id(i as u32);
        let image = images.as_mut().map(|model| {
            let style = &latent[start..start + images::style_dims(dim)];
            images::field(&model.vector(leaf_index, leaf.department, color, feature, style))
        });
        let price_text = cents(price_cents);
        let fields = [
            id.as_str(),
            &title,
            &description,
            leaf.path,
            brand,
            &price_text,
            if zh { "zh" } else { "en" },
        ];
        items_csv.write(fields.into_iter().chain(image.as_deref()))?;
        row.clear();
        row.extend([
            id,
            leaf_index.to_string(),
            COLORS[color].0.to_owned(),
            features[feature].0.to_owned(),
            (quality).to_string(),
            policy_noise.to_string(),
            (price_z as f32).to_string(),
        ]);
        row.extend(latent[start..].iter().map(f32::to_string));
        items_truth.write(&row)?;

        by_leaf[leaf_index].push(i as u32);
        items.push(Item {
            leaf: leaf_index as u16,
            color: color as u8,
            feature: feature as u8,
            price_cents,
            price_z: price_z as f32,
            quality,
            policy_noise,
        });
    }
    items_csv.finish()?;
    items_truth.finish()?;
    Ok(Catalog {
        items,
        latent,
        dim,
        by_leaf,
        parent_of_leaf,
    })
}

/// Formats cents as a decimal amount with two digits, exactly.
pub(crate) fn cents(amount: u64) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn title_case(text: &str) -> String {
    text.split(' ')
        .map(capitalize)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A title and a description in the item's language.
fn item_text(
    rng: &mut ChaCha8Rng,
    leaf: &Leaf,
    color: usize,
    feature: usize,
    brand: &str,
    zh: bool,
) -> (String, String) {
    let (color_en, color_zh) = COLORS[color];
    let (feature_en, feature_zh) = vocab::features(leaf.department)[feature];
    let occasions = vocab::occasions(leaf.department);
    let (occasion_en, occasion_zh) = occasions[index(rng, occasions.len())];
    let use_synonym = bernoulli(rng, TITLE_SYNONYM_RATE);
    let template = index(rng, 3);
    if zh {
        let synonym = leaf.synonyms_zh[index(rng, leaf.synonyms_zh.len())];
        let noun = if use_synonym { synonym } else { leaf.noun_zh };
        let title = format!("{brand} {color_zh} {feature_zh} {noun}");
        let description = match template {
            0 => format!("{brand}{feature_zh}{noun}，{color_zh}，适合{occasion_zh}。"),
            1 => format!("{color_zh}{noun}（{synonym}），{feature_zh}款，{occasion_zh}必备。"),
            _ => format!("这款{feature_zh}{noun}来自{brand}，{color_zh}，{occasion_zh}的好选择。"),
        };
        (title, description)
    } else {
        let synonym = leaf.synonyms[index(rng, leaf.synonyms.len())];
        let noun = if use_synonym { synonym } else { leaf.noun };
        let title = title_case(&format!("{brand} {color_en} {feature_en} {noun}"));
        let description = match template {
            0 => format!(
                "{} {noun} in {color_en} by {brand}. Made for {occasion_en}.",
                capitalize(feature_en)
            ),
            1 => {
                format!("A {color_en} {feature_en} {noun} from {brand}, perfect for {occasion_en}.")
            }
            _ => format!(
                "{brand} {noun} ({synonym}) in {color_en}, {feature_en}. Great for {occasion_en}."
            ),
        };
        (title, description)
    }
}

/// Generates the users and writes `users.csv`, `truth/users.csv` and `truth/segments.csv`.
pub(crate) fn generate_population(config: &SimConfig, dir: &Path) -> Result<Population, SimError> {
    let mut rng = stream_rng(config.seed, Stream::Users);
    let n_leaves = config.n_categories as usize;
    let dim = config.latent_dim as usize;
    let truth = dir.join("truth");

    let mut segments = Table::create(
        &truth,
        "segments.csv",
        &["segment", "share", "activity", "price_sensitivity"],
    )?;
    for segment in &SEGMENTS {
        segments.write([
            segment.name.to_owned(),
            segment.share.to_string(),
            segment.activity.to_string(),
            segment.price_sensitivity.to_string(),
        ])?;
    }
    segments.finish()?;

    let mut users_csv = Table::create(dir, "users.csv", &["user_id", "segment", "region"])?;
    let mut header = vec![
        "user_id".to_owned(),
        "segment".into(),
        "is_bot".into(),
        "activity".into(),
        "price_sensitivity".into(),
    ];
    header.extend((0..n_leaves).map(|c| format!("pref{c}")));
    header.extend((0..dim).map(|k| format!("f{k}")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut users_truth = Table::create(&truth, "users.csv", &header)?;

    let segment_table = Categorical::new(SEGMENTS.iter().map(|s| s.share));
    let mean_activity: f64 = SEGMENTS.iter().map(|s| s.share * s.activity).sum();
    let factor_scale = 1.0 / (dim as f64).sqrt();
    let n_users = config.n_users as usize;
    let mut users = Vec::with_capacity(n_users);
    let mut preference = Vec::with_capacity(n_users * n_leaves);
    let mut latent = Vec::with_capacity(n_users * dim);
    let mut logits = vec![0.0f64; n_leaves];
    let mut row: Vec<String> = Vec::new();
    for u in 0..n_users {
        let segment = segment_table.sample(&mut rng);
        let region = REGIONS[index(&mut rng, REGIONS.len())];
        let is_bot = bernoulli(&mut rng, config.bot_fraction);
        // A mean-one log-normal spread around the segment's activity.
        let spread = (0.5 * normal(&mut rng) - 0.125).exp();
        let activity = if is_bot {
            config.bot_activity * mean_activity * spread
        } else {
            SEGMENTS[segment].activity * spread
        };
        for logit in logits.iter_mut() {
            *logit = config.preference_scale * normal(&mut rng);
        }
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = logits.iter().map(|l| (l - max).exp()).sum();
        let pref_start = preference.len();
        preference.extend(logits.iter().map(|l| ((l - max).exp() / total) as f32));
        let latent_start = latent.len();
        latent.extend((0..dim).map(|_| (factor_scale * normal(&mut rng)) as f32));

        let id = user_id(u as u32);
        users_csv.write([id.as_str(), SEGMENTS[segment].name, region])?;
        row.clear();
        row.extend([
            id,
            SEGMENTS[segment].name.to_owned(),
            u8::from(is_bot).to_string(),
            activity.to_string(),
            SEGMENTS[segment].price_sensitivity.to_string(),
        ]);
        row.extend(preference[pref_start..].iter().map(f32::to_string));
        row.extend(latent[latent_start..].iter().map(f32::to_string));
        users_truth.write(&row)?;
        users.push(User {
            segment: segment as u8,
            is_bot,
            activity,
        });
    }
    users_csv.finish()?;
    users_truth.finish()?;
    Ok(Population {
        users,
        preference,
        n_leaves,
        latent,
        dim,
    })
}

/// Generates the query pool and writes `truth/queries.csv` and `judgments.tsv`.
pub(crate) fn generate_queries(
    config: &SimConfig,
    catalog: &Catalog,
    dir: &Path,
) -> Result<(QueryPool, ShopCounts), SimError> {
    let mut rng = stream_rng(config.seed, Stream::Queries);
    let n_leaves = config.n_categories as usize;
    let leaves = &TAXONOMY[..n_leaves];
    let mut queries_truth = Table::create(
        &dir.join("truth"),
        "queries.csv",
        &[
            "query_id",
            "query",
            "intent_category",
            "target_item",
            "typo",
            "synonym",
            "paraphrase",
            "lang",
            "attribute",
        ],
    )?;
    let mut judgments = Table::create(
        dir,
        "judgments.tsv",
        &["query_id", "query", "item_id", "grade"],
    )?;

    let mut queries = Vec::new();
    let mut by_leaf = vec![Vec::new(); n_leaves];
    // Only membership is asked of this set, never its order, so it cannot leak into output.
    let mut seen: HashSet<String> = HashSet::new();
    let mut relevant: [Vec<u32>; 4] = Default::default();
    for _ in 0..config.n_queries {
        // The transformations are drawn once per query and only the content (target,
        // attribute, synonym, edit, template) is redrawn when the text already exists, so the
        // recorded rates stay unbiased. A flag combination whose texts are all used up after
        // `QUERY_ATTEMPTS` redraws skips the query.
        let flags = Flags {
            zh: bernoulli(&mut rng, config.chinese_fraction),
            synonym: bernoulli(&mut rng, config.synonym_rate),
            typo: bernoulli(&mut rng, config.typo_rate),
            paraphrase: bernoulli(&mut rng, config.paraphrase_rate),
        };
        let mut accepted = None;
        for _ in 0..QUERY_ATTEMPTS {
            let target = index(&mut rng, catalog.items.len()) as u32;
            let item = &catalog.items[target as usize];
            let (text, attribute) = draw_query(&mut rng, flags, &leaves[item.leaf as usize], item);
            if seen.insert(text.clone()) {
                accepted = Some((target, text, attribute));
                break;
            }
        }
        let Some((target, text, attribute)) = accepted else {
            continue;
        };
        let item = &catalog.items[target as usize];
        let leaf = &leaves[item.leaf as usize];
        let query_index = queries.len();
        let id = query_id(query_index);
        let query = Query {
            text,
            leaf: item.leaf,
            attribute,
        };
        let attribute = match query.attribute {
            Attribute::Color(color) => COLORS[color as usize].0,
            Attribute::Feature(feature) => vocab::features(leaf.department)[feature as usize].0,
        };
        let flag = |on: bool| if on { "1" } else { "0" };
        queries_truth.write([
            id.as_str(),
            &query.text,
            leaf.path,
            &item_id(target),
            flag(flags.typo),
            flag(flags.synonym),
            flag(flags.paraphrase),
            if flags.zh { "zh" } else { "en" },
            attribute,
        ])?;

        // Candidates are the items of leaves under the same parent; everything else is grade 0.
        for list in relevant.iter_mut() {
            list.clear();
        }
        for (other_leaf, members) in catalog.by_leaf.iter().enumerate() {
            if catalog.parent_of_leaf[other_leaf] != catalog.parent_of_leaf[query.leaf as usize] {
                continue;
            }
            for &member in members {
                relevant[grade(catalog, &query, member) as usize].push(member);
            }
        }
        let mut budget = config.max_judgments_per_query as usize;
        for grade_value in [3u8, 2, 1] {
            let list = &mut relevant[grade_value as usize];
            if list.len() > budget {
                // Keep a uniform sample of the grade that overflows the budget, in item order.
                // `partial_shuffle` moves its uniform sample to the end of the slice.
                list.partial_shuffle(&mut rng, budget);
                list.drain(..list.len() - budget);
                list.sort_unstable();
            }
            budget -= list.len();
            let grade_text = grade_value.to_string();
            for &member in list.iter() {
                judgments.write([id.as_str(), &query.text, &item_id(member), &grade_text])?;
            }
        }
        by_leaf[query.leaf as usize].push(query_index as u32);
        queries.push(query);
    }
    queries_truth.finish()?;
    let n_judgments = judgments.finish()?;
    Ok((QueryPool { queries, by_leaf }, ShopCounts { n_judgments }))
}

/// Which transformations a query gets.
#[derive(Debug, Clone, Copy)]
struct Flags {
    zh: bool,
    synonym: bool,
    typo: bool,
    paraphrase: bool,
}

/// Draws the text of a query aimed at `item` with the transformations in `flags`.
fn draw_query(rng: &mut ChaCha8Rng, flags: Flags, leaf: &Leaf, item: &Item) -> (String, Attribute) {
    // Queries are Chinese at the same rate as items but independently of the target's
    // language, so some searches must cross languages; relevance (the judgments) ignores it.
    let zh = flags.zh;
    let attribute = if bernoulli(rng, QUERY_COLOR_RATE) {
        Attribute::Color(item.color)
    } else {
        Attribute::Feature(item.feature)
    };
    let attribute_word = match (attribute, zh) {
        (Attribute::Color(c), false) => COLORS[c as usize].0,
        (Attribute::Color(c), true) => COLORS[c as usize].1,
        (Attribute::Feature(f), false) => vocab::features(leaf.department)[f as usize].0,
        (Attribute::Feature(f), true) => vocab::features(leaf.department)[f as usize].1,
    };
    let noun = match (flags.synonym, zh) {
        (false, false) => leaf.noun,
        (false, true) => leaf.noun_zh,
        (true, false) => leaf.synonyms[index(rng, leaf.synonyms.len())],
        (true, true) => leaf.synonyms_zh[index(rng, leaf.synonyms_zh.len())],
    };
    let noun = if flags.typo {
        misspell(rng, noun)
    } else {
        noun.to_owned()
    };
    let text = if flags.paraphrase {
        let template = if zh {
            PARAPHRASES_ZH[index(rng, PARAPHRASES_ZH.len())]
        } else {
            PARAPHRASES_EN[index(rng, PARAPHRASES_EN.len())]
        };
        template
            .replace("{a}", attribute_word)
            .replace("{n}", &noun)
    } else {
        format!("{attribute_word} {noun}")
    };
    (text, attribute)
}

/// `noun` with one edit in one word, always different from `noun`: a deleted, doubled,
/// swapped or substituted letter in an English word of 3+ letters, a deleted or swapped
/// character in a Chinese word.
fn misspell(rng: &mut ChaCha8Rng, noun: &str) -> String {
    let mut words: Vec<Vec<char>> = noun.split(' ').map(|w| w.chars().collect()).collect();
    let chinese = !noun.is_ascii();
    let min_len = if chinese { 2 } else { 3 };
    let eligible: Vec<usize> = (0..words.len())
        .filter(|&w| words[w].len() >= min_len)
        .collect();
    // Every noun in the vocabulary has an eligible word (checked by a test); fall back to the
    // whole first word for safety.
    let word = if eligible.is_empty() {
        0
    } else {
        eligible[index(rng, eligible.len())]
    };
    let chars = &mut words[word];
    if chars.len() < 2 {
        chars.push(chars.first().copied().unwrap_or('x'));
        return join_words(&words);
    }
    let at = index(rng, chars.len() - 1);
    let operations = if chinese { 2 } else { 4 };
    match index(rng, operations) {
        0 => {
            chars.remove(at);
        }
        1 if chars[at] != chars[at + 1] => chars.swap(at, at + 1),
        1 => {
            chars.remove(at);
        }
        2 => chars.insert(at, chars[at]),
        _ => {
            let original = chars[at];
            let mut letter = (b'a' + index(rng, 26) as u8) as char;
            if letter == original {
                letter = if original == 'z' {
                    'a'
                } else {
                    (original as u8 + 1) as char
                };
            }
            chars[at] = letter;
        }
    }
    join_words(&words)
}

fn join_words(words: &[Vec<char>]) -> String {
    words
        .iter()
        .map(|w| w.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelling_always_changes_every_noun() {
        let mut rng = stream_rng(5, Stream::Queries);
        for leaf in &TAXONOMY {
            let nouns = [leaf.noun, leaf.noun_zh].into_iter();
            for noun in nouns
                .chain(leaf.synonyms.iter().copied())
                .chain(leaf.synonyms_zh.iter().copied())
            {
                for _ in 0..20 {
                    assert_ne!(misspell(&mut rng, noun), noun);
                }
            }
        }
    }

    #[test]
    fn cents_are_exact() {
        assert_eq!(cents(1), "0.01");
        assert_eq!(cents(12_345), "123.45");
    }
}
