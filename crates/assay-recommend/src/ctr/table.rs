//! Click examples as a table: categorical features in fixed slots, text tokens, a label; and
//! the tables built from a dataset's impressions (click label) or ratings (rating label).

use std::collections::HashSet;

use assay_core::{Dataset, EventKind, IdMap, NO_POSITION, NO_QUERY, NO_SESSION, NO_TIME};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{RecommendError, Result};

/// Most tokens of a multi-valued field (genres, category levels) kept per row.
const MAX_SLOTS: usize = 8;

/// Most text tokens kept per row.
pub const MAX_TEXT_TOKENS: usize = 32;

/// One input field of a table: a name and how many feature slots it has per row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The field's name ("user_id", "genre"...).
    pub name: String,
    /// Slots per row; a single-valued field has one.
    pub slots: usize,
}

/// The shape a model is built for: its fields, feature and token counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The fields, in slot order.
    pub fields: Vec<Field>,
    /// Distinct features (feature 0 is the empty slot).
    pub n_features: usize,
    /// Distinct text tokens (0 pads, 1 is unknown).
    pub n_tokens: usize,
    /// In a table of (user, item) pairs ([`pair_table`]), how many of the fields, first, are
    /// the user's; 0 otherwise.
    #[serde(default)]
    pub user_fields: usize,
}

impl Schema {
    /// Slots per row, over all fields.
    pub fn width(&self) -> usize {
        self.fields.iter().map(|f| f.slots).sum()
    }

    /// Slots of the user's fields in a pair table (see [`Schema::user_fields`]).
    pub fn user_width(&self) -> usize {
        self.fields[..self.user_fields]
            .iter()
            .map(|f| f.slots)
            .sum()
    }
}

/// Click examples. Row `r` has `width` feature slots, each a feature id and a value (1 for a
/// categorical value, `1/k` for each of the `k` values of a multi-valued field, 0 for an empty
/// slot), its text tokens and a label.
#[derive(Debug, Clone)]
pub struct CtrTable {
    schema: Schema,
    ids: Vec<u32>,
    values: Vec<f32>,
    tokens: Vec<Vec<u32>>,
    labels: Vec<bool>,
    /// The word of each token id (empty for a table put together from ids).
    vocabulary: Vec<String>,
}

impl CtrTable {
    /// The fields and counts.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The word of each token id (id 0 pads, id 1 is the unknown word); empty when the table
    /// was put together from ids ([`CtrTable::from_rows`]).
    pub fn vocabulary(&self) -> &[String] {
        &self.vocabulary
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The labels.
    pub fn labels(&self) -> &[bool] {
        &self.labels
    }

    /// The feature ids of row `row`.
    pub fn ids(&self, row: usize) -> &[u32] {
        let w = self.schema.width();
        &self.ids[row * w..(row + 1) * w]
    }

    /// The feature values of row `row`.
    pub fn values(&self, row: usize) -> &[f32] {
        let w = self.schema.width();
        &self.values[row * w..(row + 1) * w]
    }

    /// The text tokens of row `row`.
    pub fn tokens(&self, row: usize) -> &[u32] {
        &self.tokens[row]
    }

    /// A table of `schema` from its rows: `width` feature ids and values per row, each row's
    /// tokens and label. Errors name a row whose ids or tokens are outside the schema, or
    /// columns of different lengths.
    pub fn from_rows(
        schema: Schema,
        ids: Vec<u32>,
        values: Vec<f32>,
        tokens: Vec<Vec<u32>>,
        labels: Vec<bool>,
    ) -> Result<CtrTable> {
        let (w, n) = (schema.width(), labels.len());
        if ids.len() != n * w || values.len() != n * w || tokens.len() != n {
            return Err(RecommendError::Data(format!(
                "a click table of {n} rows and {w} slots needs {} ids and values and {n} token \
                 rows; got {}, {} and {}",
                n * w,
                ids.len(),
                values.len(),
                tokens.len()
            )));
        }
        if let Some(k) = ids.iter().position(|&id| id as usize >= schema.n_features) {
            return Err(RecommendError::Data(format!(
                "row {}: feature {} is outside the {} features",
                k / w.max(1),
                ids[k],
                schema.n_features
            )));
        }
        if let Some(r) = tokens
            .iter()
            .position(|t| t.iter().any(|&x| x as usize >= schema.n_tokens))
        {
            return Err(RecommendError::Data(format!(
                "row {r}: a token is outside the {} tokens",
                schema.n_tokens
            )));
        }
        Ok(CtrTable {
            schema,
            ids,
            values,
            tokens,
            labels,
            vocabulary: Vec::new(),
        })
    }

    /// Share of positive labels.
    pub fn positive_rate(&self) -> f64 {
        self.labels.iter().filter(|&&l| l).count() as f64 / self.len().max(1) as f64
    }
}

/// Builds a [`CtrTable`] row by row, giving every distinct (field, value) its feature id and
/// every distinct word its token id.
#[derive(Debug, Clone)]
pub struct TableBuilder {
    fields: Vec<Field>,
    user_fields: usize,
    features: IdMap,
    words: IdMap,
    ids: Vec<u32>,
    values: Vec<f32>,
    tokens: Vec<Vec<u32>>,
    labels: Vec<bool>,
}

/// The value of one feature slot: a categorical value (weight 1, or shared by a multi-valued
/// field) or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Values of a categorical field (one, or several that share the weight).
    Tokens(Vec<String>),
    /// A numeric feature: one slot whose value is this number.
    Number(f32),
}

impl TableBuilder {
    /// A builder for rows of `fields`, in that order.
    pub fn new(fields: Vec<Field>) -> TableBuilder {
        let mut features = IdMap::default();
        features.intern("");
        let mut words = IdMap::default();
        words.intern("");
        words.intern("\u{1}unknown");
        TableBuilder {
            fields,
            user_fields: 0,
            features,
            words,
            ids: Vec::new(),
            values: Vec::new(),
            tokens: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Adds a row: one cell per field, a text (split into lowercase words; CJK characters one
    /// by one), a label. Values past a field's slots are dropped.
    ///
    /// # Panics
    /// When `cells` does not have one cell per field (a bug of the caller).
    pub fn push(&mut self, cells: &[Cell], text: &str, label: bool) {
        assert_eq!(cells.len(), self.fields.len(), "one cell per field");
        for (field, cell) in self.fields.iter().zip(cells) {
            let mut used = 0;
            match cell {
                Cell::Tokens(values) => {
                    let kept = values.len().min(field.slots);
                    for value in &values[..kept] {
                        let key = format!("{}\u{1f}{value}", field.name);
                        self.ids.push(self.features.intern(&key));
                        self.values.push(1.0 / kept as f32);
                        used += 1;
                    }
                }
                Cell::Number(x) => {
                    self.ids.push(self.features.intern(&field.name));
                    self.values.push(*x);
                    used += 1;
                }
            }
            for _ in used..field.slots {
                self.ids.push(0);
                self.values.push(0.0);
            }
        }
        let mut row = Vec::new();
        for word in words(text).into_iter().take(MAX_TEXT_TOKENS) {
            row.push(self.words.intern(&word));
        }
        self.tokens.push(row);
        self.labels.push(label);
    }

    /// The table.
    pub fn finish(self) -> CtrTable {
        CtrTable {
            schema: Schema {
                fields: self.fields,
                n_features: self.features.len(),
                n_tokens: self.words.len(),
                user_fields: self.user_fields,
            },
            ids: self.ids,
            values: self.values,
            tokens: self.tokens,
            labels: self.labels,
            vocabulary: self.words.names().to_vec(),
        }
    }
}

/// Lowercase words of `text`: runs of letters and digits, each CJK character on its own.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xac00..=0xd7af)
}

/// Rows `0..n` shuffled with `seed` and cut into train, validation and test by `ratios`
/// (RecBole's `RS` split with order `RO` and no grouping: sizes `floor(n * ratio)` for train and
/// validation, the rest to test).
pub fn random_split(n: usize, ratios: [f64; 3], seed: u64) -> [Vec<usize>; 3] {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let total: f64 = ratios.iter().sum();
    let n_train = (n as f64 * ratios[0] / total).floor() as usize;
    let n_valid = (n as f64 * ratios[1] / total).floor() as usize;
    let test = order.split_off(n_train + n_valid);
    let valid = order.split_off(n_train);
    [order, valid, test]
}

/// What a table built from a dataset learns from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CtrLabel {
    /// Each impression is a row, labelled by a click on the same item by the same user in the
    /// same session (without sessions: at the same time).
    Clicks,
    /// Each rating is a row, positive when the rating is at least this (RecBole's
    /// `threshold: {rating: 4}` for ml-100k's context-aware task).
    RatingAtLeast(f64),
}

impl CtrLabel {
    /// Clicks when the log has impressions, else ratings of at least 4.
    pub fn infer(data: &Dataset) -> Result<CtrLabel> {
        let kinds: HashSet<EventKind> = data.events.kind.iter().copied().collect();
        if kinds.contains(&EventKind::Impression) {
            return Ok(CtrLabel::Clicks);
        }
        if kinds.contains(&EventKind::Rating) {
            return Ok(CtrLabel::RatingAtLeast(4.0));
        }
        Err(RecommendError::Data(format!(
            "{}: a click model needs impressions (labelled by clicks) or ratings (labelled by \
             rating >= 4); the log has neither",
            data.name
        )))
    }
}

/// Price bands per category: an item's band is the fifth of its category's prices it falls
/// in (1 cheapest to 5 dearest), so the band compares items of one category; empty for an
/// item without a price.
pub const PRICE_BANDS: usize = 5;

/// A table of `data`'s impressions or ratings.
///
/// Fields: `user_id`, `item_id`, each user string attribute, the item's category (its `/`
/// parts, a multi-valued field), brand and string attributes (whitespace-separated values
/// are a multi-valued field) and its price band within its category ([`PRICE_BANDS`] bands).
/// For impressions also: the context (`search` or `browse`), the query and the query's words
/// (empty when browsing), the item title's words, the position and the source. A column that
/// nearly identifies its row (more distinct values than half its rows, e.g. a zip code) adds
/// nothing over the id and is left out, as is one that is empty or constant, and an attribute
/// that repeats the category. Text: the query (for impressions after a search), then the
/// item's title.
pub fn table_from_dataset(data: &Dataset, label: CtrLabel) -> Result<CtrTable> {
    let events = &data.events;
    let rows: Vec<usize> = match label {
        CtrLabel::Clicks => (0..events.len())
            .filter(|&e| events.kind[e] == EventKind::Impression)
            .collect(),
        CtrLabel::RatingAtLeast(_) => (0..events.len())
            .filter(|&e| events.kind[e] == EventKind::Rating && events.value[e].is_finite())
            .collect(),
    };
    if rows.is_empty() {
        return Err(RecommendError::Data(format!(
            "{}: no {} to learn clicks from",
            data.name,
            match label {
                CtrLabel::Clicks => "impressions",
                CtrLabel::RatingAtLeast(_) => "ratings",
            }
        )));
    }
    let clicks: HashSet<(u32, u32, u32, i64)> = (0..events.len())
        .filter(|&e| events.kind[e] == EventKind::Click)
        .map(|e| click_key(data, e))
        .collect();

    let bands = price_bands(data);
    let mut columns = user_item_columns(data, &bands);
    if label == CtrLabel::Clicks {
        let searched = rows
            .iter()
            .filter(|&&e| events.query[e] != NO_QUERY)
            .count();
        if searched > 0 && searched < rows.len() {
            columns.push(Column::new("context", ColumnSource::Context, 1));
        }
        if searched > 0 {
            columns.push(Column::new("query", ColumnSource::Query, 1));
            let slots = rows
                .iter()
                .filter(|&&e| events.query[e] != NO_QUERY)
                .map(|&e| words(data.queries.name(events.query[e])).len())
                .max()
                .unwrap_or(1);
            columns.push(Column::new("query_words", ColumnSource::QueryWords, slots));
        }
        let title_slots = data.items.title.iter().map(|t| words(t).len()).max();
        if title_slots.unwrap_or(0) > 0 {
            columns.push(Column::new(
                "title_words",
                ColumnSource::TitleWords,
                title_slots.unwrap_or(1),
            ));
        }
        if rows.iter().any(|&e| events.position[e] != NO_POSITION) {
            columns.push(Column::new("position", ColumnSource::Position, 1));
        }
        if data.sources.len() > 1 {
            columns.push(Column::new("source", ColumnSource::Source, 1));
        }
    }

    let mut builder = TableBuilder::new(fields_of(&columns));
    let mut cells = Vec::with_capacity(columns.len());
    let mut text = String::new();
    for &e in &rows {
        let (user, item) = (events.user[e], events.item[e]);
        cells.clear();
        for column in &columns {
            cells.push(Cell::Tokens(column.values(data, user, item, Some(e))));
        }
        text.clear();
        if events.query[e] != NO_QUERY {
            text.push_str(data.queries.name(events.query[e]));
            text.push(' ');
        }
        text.push_str(data.items.title.get(item as usize).map_or("", |s| s));
        let positive = match label {
            CtrLabel::Clicks => clicks.contains(&click_key(data, e)),
            CtrLabel::RatingAtLeast(threshold) => events.value[e] >= threshold,
        };
        builder.push(&cells, &text, positive);
    }
    Ok(builder.finish())
}

/// A table of (user, item, label) triples with the user and item fields of
/// [`table_from_dataset`] (no event context: what is known when recommending), text the item's
/// title. The user's fields come first ([`Schema::user_fields`] of them), then the item's, so
/// a row's slots are the user's slots followed by the item's.
pub fn pair_table(data: &Dataset, pairs: &[(u32, u32, bool)]) -> Result<CtrTable> {
    if let Some(&(u, i, _)) = pairs
        .iter()
        .find(|&&(u, i, _)| u as usize >= data.users.len() || i as usize >= data.items.len())
    {
        return Err(RecommendError::Data(format!(
            "{}: user {u} or item {i} is outside the data ({} users, {} items)",
            data.name,
            data.users.len(),
            data.items.len()
        )));
    }
    let bands = price_bands(data);
    let columns = user_item_columns(data, &bands);
    let user_fields = user_columns(data).len();
    let mut builder = TableBuilder::new(fields_of(&columns));
    builder.user_fields = user_fields;
    let mut cells = Vec::with_capacity(columns.len());
    for &(user, item, label) in pairs {
        cells.clear();
        for column in &columns {
            cells.push(Cell::Tokens(column.values(data, user, item, None)));
        }
        builder.push(
            &cells,
            data.items.title.get(item as usize).map_or("", |s| s),
            label,
        );
    }
    Ok(builder.finish())
}

/// The user and item columns of a dataset (see [`table_from_dataset`]).
fn user_item_columns<'a>(data: &'a Dataset, bands: &'a [String]) -> Vec<Column<'a>> {
    let mut columns = user_columns(data);
    columns.extend(item_columns(data, bands));
    columns
}

/// The user's columns: the id, then each informative string attribute.
fn user_columns(data: &Dataset) -> Vec<Column<'_>> {
    let mut columns = vec![Column::new("user_id", ColumnSource::UserId, 1)];
    for (c, name) in data.users.attributes.names.iter().enumerate() {
        let values = &data.users.attributes.values[c];
        if informative(values.iter().map(String::as_str)) {
            let slots = max_parts(values.iter().map(|v| split_spaces(v)));
            columns.push(Column::new(name, ColumnSource::UserAttr(values), slots));
        }
    }
    columns
}

/// The item's columns: the id, category, brand, informative attributes, price band.
fn item_columns<'a>(data: &'a Dataset, bands: &'a [String]) -> Vec<Column<'a>> {
    let mut columns = vec![Column::new("item_id", ColumnSource::ItemId, 1)];
    let category = &data.items.category;
    if informative(category.iter().map(String::as_str)) {
        let slots = max_parts(category.iter().map(|v| split_slash(v)));
        columns.push(Column::new("category", ColumnSource::Category, slots));
    }
    if informative(data.items.brand.iter().map(String::as_str)) {
        columns.push(Column::new("brand", ColumnSource::Brand, 1));
    }
    for (c, name) in data.items.attributes.names.iter().enumerate() {
        let values = &data.items.attributes.values[c];
        let repeats_category = values
            .iter()
            .zip(category)
            .all(|(v, cat)| split_spaces(v) == split_slash(cat));
        if informative(values.iter().map(String::as_str)) && !repeats_category {
            let slots = max_parts(values.iter().map(|v| split_spaces(v)));
            columns.push(Column::new(name, ColumnSource::ItemAttr(values), slots));
        }
    }
    let distinct: HashSet<&str> = bands.iter().map(String::as_str).collect();
    if distinct.iter().filter(|b| !b.is_empty()).count() >= 2 {
        columns.push(Column::new("price_band", ColumnSource::ItemAttr(bands), 1));
    }
    columns
}

fn fields_of(columns: &[Column<'_>]) -> Vec<Field> {
    columns
        .iter()
        .map(|c| Field {
            name: c.name.to_owned(),
            slots: c.slots.clamp(1, MAX_SLOTS),
        })
        .collect()
}

/// Each item's price band within its category, "1" (cheapest fifth) to "5", by the rank of
/// its price among the category's priced items (ties share the lower rank); empty without a
/// price.
pub fn price_bands(data: &Dataset) -> Vec<String> {
    let items = &data.items;
    let n = items.len();
    let mut by_category: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for i in 0..n {
        let price = items.price.get(i).copied().unwrap_or(f64::NAN);
        if price.is_finite() {
            let category = items.category.get(i).map_or("", String::as_str);
            by_category.entry(category).or_default().push(i);
        }
    }
    let mut bands = vec![String::new(); n];
    for members in by_category.values_mut() {
        members.sort_by(|&a, &b| items.price[a].total_cmp(&items.price[b]));
        let count = members.len();
        let mut rank = 0;
        for k in 0..count {
            if k > 0 && items.price[members[k]] != items.price[members[k - 1]] {
                rank = k;
            }
            bands[members[k]] = (1 + rank * PRICE_BANDS / count).to_string();
        }
    }
    bands
}

/// The key a click shares with its impression: user, item, session, and the time when there
/// is no session.
fn click_key(data: &Dataset, e: usize) -> (u32, u32, u32, i64) {
    let events = &data.events;
    let session = events.session[e];
    let time = if session == NO_SESSION {
        events.timestamp[e]
    } else {
        NO_TIME
    };
    (events.user[e], events.item[e], session, time)
}

#[derive(Debug)]
enum ColumnSource<'a> {
    UserId,
    ItemId,
    UserAttr(&'a [String]),
    ItemAttr(&'a [String]),
    Category,
    Brand,
    Context,
    Query,
    QueryWords,
    TitleWords,
    Position,
    Source,
}

#[derive(Debug)]
struct Column<'a> {
    name: &'a str,
    source: ColumnSource<'a>,
    slots: usize,
}

impl<'a> Column<'a> {
    fn new(name: &'a str, source: ColumnSource<'a>, slots: usize) -> Column<'a> {
        Column {
            name,
            source,
            slots,
        }
    }

    /// The column's values for `user` and `item`, and event `event` when there is one.
    fn values(&self, data: &Dataset, user: u32, item: u32, event: Option<usize>) -> Vec<String> {
        let (u, i) = (user as usize, item as usize);
        let events = &data.events;
        let query = event.map_or(NO_QUERY, |e| events.query[e]);
        match self.source {
            ColumnSource::UserId => vec![data.users.ids.name(user).to_owned()],
            ColumnSource::ItemId => vec![data.items.ids.name(item).to_owned()],
            ColumnSource::UserAttr(v) => owned(split_spaces(v.get(u).map_or("", |s| s))),
            ColumnSource::ItemAttr(v) => owned(split_spaces(v.get(i).map_or("", |s| s))),
            ColumnSource::Category => {
                owned(split_slash(data.items.category.get(i).map_or("", |s| s)))
            }
            ColumnSource::Brand => {
                let brand = data.items.brand.get(i).map_or("", |s| s.trim());
                owned(vec![brand].into_iter().filter(|b| !b.is_empty()).collect())
            }
            ColumnSource::Context => {
                vec![if query == NO_QUERY {
                    "browse"
                } else {
                    "search"
                }
                .to_owned()]
            }
            ColumnSource::Query if query != NO_QUERY => vec![data.queries.name(query).to_owned()],
            ColumnSource::QueryWords if query != NO_QUERY => words(data.queries.name(query)),
            ColumnSource::Query | ColumnSource::QueryWords => Vec::new(),
            ColumnSource::TitleWords => words(data.items.title.get(i).map_or("", |s| s)),
            ColumnSource::Position => event
                .filter(|&e| events.position[e] != NO_POSITION)
                .map(|e| vec![events.position[e].to_string()])
                .unwrap_or_default(),
            ColumnSource::Source => event
                .map(|e| vec![data.sources.name(events.source[e] as u32).to_owned()])
                .unwrap_or_default(),
        }
    }
}

/// At least two distinct non-empty values, and no more than half as many as rows.
fn informative<'a>(values: impl Iterator<Item = &'a str>) -> bool {
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut n = 0;
    for v in values {
        n += 1;
        if !v.is_empty() {
            distinct.insert(v);
        }
    }
    distinct.len() >= 2 && distinct.len() * 2 <= n
}

fn max_parts<'a>(parts: impl Iterator<Item = Vec<&'a str>>) -> usize {
    parts.map(|p| p.len()).max().unwrap_or(1)
}

fn split_spaces(value: &str) -> Vec<&str> {
    value.split_whitespace().collect()
}

fn split_slash(value: &str) -> Vec<&str> {
    value
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

fn owned(parts: Vec<&str>) -> Vec<String> {
    parts.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_fills_slots_and_shares_weight() {
        let fields = vec![
            Field {
                name: "user".into(),
                slots: 1,
            },
            Field {
                name: "genre".into(),
                slots: 3,
            },
        ];
        let mut b = TableBuilder::new(fields);
        let t = |v: &[&str]| Cell::Tokens(v.iter().map(|s| s.to_string()).collect());
        b.push(&[t(&["u1"]), t(&["a", "b"])], "Red Shoe", true);
        b.push(&[t(&["u2"]), t(&["a", "b", "c", "d"])], "red  hat!", false);
        let table = b.finish();
        assert_eq!(table.schema().width(), 4);
        // Features: 0 empty, 1 user=u1, 2 genre=a, 3 genre=b, 4 user=u2, 5 genre=c.
        assert_eq!(table.ids(0), &[1, 2, 3, 0]);
        assert_eq!(table.values(0), &[1.0, 0.5, 0.5, 0.0]);
        assert_eq!(table.ids(1), &[4, 2, 3, 5]);
        assert_eq!(table.schema().n_features, 6);
        // Tokens: 0 pad, 1 unknown, then red, shoe, hat.
        assert_eq!(table.tokens(0), &[2, 3]);
        assert_eq!(table.tokens(1), &[2, 4]);
        assert_eq!(table.labels(), &[true, false]);
    }

    #[test]
    fn words_split_letters_and_cjk() {
        assert_eq!(words("Pink-Charger 2x"), vec!["pink", "charger", "2x"]);
        assert_eq!(words("红色 dress"), vec!["红", "色", "dress"]);
    }

    #[test]
    fn split_sizes_follow_the_ratios() {
        let [train, valid, test] = random_split(10, [0.8, 0.1, 0.1], 1);
        assert_eq!((train.len(), valid.len(), test.len()), (8, 1, 1));
        let mut all = [train.clone(), valid, test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(train, random_split(10, [0.8, 0.1, 0.1], 1)[0]);
    }
}
