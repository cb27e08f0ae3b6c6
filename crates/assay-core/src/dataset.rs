use serde::{Deserialize, Serialize};

use crate::ids::IdMap;
use crate::{ItemIdx, UserIdx};

/// Timestamp sentinel of an event whose time is unknown.
pub const NO_TIME: i64 = i64::MIN;
/// Session sentinel of an event outside any session.
pub const NO_SESSION: u32 = u32::MAX;
/// Query sentinel of an event that did not follow a search.
pub const NO_QUERY: u32 = u32::MAX;
/// Position sentinel of an event not shown in a ranked slot (positions count from 1).
pub const NO_POSITION: u16 = 0;

/// What a user did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The item was shown to the user.
    Impression,
    /// The user clicked the item.
    Click,
    /// The user put the item in the cart.
    Cart,
    /// The user bought the item; `value` is the revenue.
    Purchase,
    /// The user rated the item; `value` is the rating.
    Rating,
    /// The user looked at the item's page; `value` is the dwell time in seconds.
    Dwell,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 6] = [
        EventKind::Impression,
        EventKind::Click,
        EventKind::Cart,
        EventKind::Purchase,
        EventKind::Rating,
        EventKind::Dwell,
    ];

    /// The lowercase name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Impression => "impression",
            EventKind::Click => "click",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Rating => "rating",
            EventKind::Dwell => "dwell",
        }
    }

    /// Parses a kind name, accepting a few common synonyms ("view", "buy", "add_to_cart").
    pub fn parse(text: &str) -> Option<EventKind> {
        let kind = match text.trim().to_ascii_lowercase().as_str() {
            "impression" | "view" | "show" | "exposure" => EventKind::Impression,
            "click" => EventKind::Click,
            "cart" | "add_to_cart" | "addtocart" | "add-to-cart" => EventKind::Cart,
            "purchase" | "buy" | "order" | "transaction" => EventKind::Purchase,
            "rating" | "rate" => EventKind::Rating,
            "dwell" => EventKind::Dwell,
            _ => return None,
        };
        Some(kind)
    }
}

/// Named string attributes, stored column by column: `values[column][row]`.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// Column names.
    pub names: Vec<String>,
    /// One vector per column, each as long as the table; an empty string means missing.
    pub values: Vec<Vec<String>>,
}

impl Attributes {
    /// The column called `name`, if present.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        let col = self.names.iter().position(|n| n == name)?;
        Some(&self.values[col])
    }
}

/// Named numeric features, stored row-major: row `r` is `data[r * dim()..(r + 1) * dim()]`.
#[derive(Debug, Clone, Default)]
pub struct NumericFeatures {
    /// Feature names; their count is the row width.
    pub names: Vec<String>,
    /// Row-major values.
    pub data: Vec<f32>,
}

impl NumericFeatures {
    /// Number of features per row.
    pub fn dim(&self) -> usize {
        self.names.len()
    }

    /// The features of row `row`.
    pub fn row(&self, row: usize) -> &[f32] {
        let dim = self.dim();
        &self.data[row * dim..(row + 1) * dim]
    }
}

/// One dense vector per item (image vectors, text embeddings), row-major: item `i` is
/// `data[i * dim..(i + 1) * dim]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemVectors {
    /// Length of every vector.
    pub dim: usize,
    /// Row-major values, `dim` per item.
    pub data: Vec<f32>,
}

impl ItemVectors {
    /// The vector of item `item`.
    pub fn row(&self, item: usize) -> &[f32] {
        &self.data[item * self.dim..(item + 1) * self.dim]
    }

    /// Number of vectors held.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// True when no vector is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The catalog, column by column. Item `i` is row `i` of every column.
#[derive(Debug, Clone, Default)]
pub struct Items {
    /// External item ids.
    pub ids: IdMap,
    /// Product titles (empty when unknown).
    pub title: Vec<String>,
    /// Longer descriptions (empty when unknown).
    pub description: Vec<String>,
    /// Category path with `/` between levels, e.g. "Women/Dresses/Maxi" (empty when unknown).
    pub category: Vec<String>,
    /// Brand (empty when unknown).
    pub brand: Vec<String>,
    /// Price; `NaN` when unknown, never negative.
    pub price: Vec<f64>,
    /// Other string attributes (genre, colour, hashed OBD features...).
    pub attributes: Attributes,
    /// Numeric features (OBD item features...).
    pub features: NumericFeatures,
    /// Image vectors, one per item, when the shop declares them; an item added after the
    /// catalog was read (an unknown id in the events, when allowed) gets zeros.
    pub image: Option<ItemVectors>,
    /// Text embeddings, one per item (a sentence encoder's vectors of the item's title,
    /// category, brand and description), when a caller computed them; the fusion
    /// recommender's text modality reads them instead of its hashed bag of words. An item
    /// added afterwards gets zeros.
    pub text: Option<ItemVectors>,
}

impl Items {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the catalog is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds an item with only an id (other columns empty) and returns its index,
    /// or the existing index when the id is known.
    pub fn intern(&mut self, id: &str) -> ItemIdx {
        let before = self.ids.len();
        let idx = self.ids.intern(id);
        if self.ids.len() > before {
            self.title.push(String::new());
            self.description.push(String::new());
            self.category.push(String::new());
            self.brand.push(String::new());
            self.price.push(f64::NAN);
            for column in &mut self.attributes.values {
                column.push(String::new());
            }
            let dim = self.features.dim();
            self.features.data.extend(std::iter::repeat_n(0.0, dim));
            for vectors in [&mut self.image, &mut self.text].into_iter().flatten() {
                vectors.data.extend(std::iter::repeat_n(0.0, vectors.dim));
            }
        }
        idx
    }
}

/// The users, column by column. User `u` is row `u` of every column.
#[derive(Debug, Clone, Default)]
pub struct Users {
    /// External user ids.
    pub ids: IdMap,
    /// String attributes (segment, age band, region...).
    pub attributes: Attributes,
    /// Numeric features (OBD user-item affinities...).
    pub features: NumericFeatures,
}

impl Users {
    /// Number of users.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no users.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds a user with only an id and returns its index, or the existing index.
    pub fn intern(&mut self, id: &str) -> UserIdx {
        let before = self.ids.len();
        let idx = self.ids.intern(id);
        if self.ids.len() > before {
            for column in &mut self.attributes.values {
                column.push(String::new());
            }
            let dim = self.features.dim();
            self.features.data.extend(std::iter::repeat_n(0.0, dim));
        }
        idx
    }
}

/// The behaviour log, column by column. Event `e` is row `e` of every column.
///
/// Optional fields use sentinels ([`NO_TIME`], [`NO_SESSION`], [`NO_QUERY`], [`NO_POSITION`],
/// `NaN` for `value` and `propensity`) so that every column stays a flat vector.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// Who.
    pub user: Vec<UserIdx>,
    /// What.
    pub item: Vec<ItemIdx>,
    /// Which action.
    pub kind: Vec<EventKind>,
    /// Rating, revenue or seconds, by kind; `NaN` when absent.
    pub value: Vec<f64>,
    /// Unix seconds; [`NO_TIME`] when unknown.
    pub timestamp: Vec<i64>,
    /// Index into [`Dataset::sessions`], or [`NO_SESSION`].
    pub session: Vec<u32>,
    /// Index into [`Dataset::queries`], or [`NO_QUERY`].
    pub query: Vec<u32>,
    /// Slot the item was shown in, from 1; [`NO_POSITION`] when not ranked.
    pub position: Vec<u16>,
    /// Probability that the logging policy chose this item for this slot, in (0, 1]; `NaN` when unknown.
    pub propensity: Vec<f64>,
    /// Index into [`Dataset::sources`]: where the event came from.
    pub source: Vec<u16>,
}

impl Events {
    /// Number of events.
    pub fn len(&self) -> usize {
        self.user.len()
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }

    /// Appends one event; every column grows by one.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        user: UserIdx,
        item: ItemIdx,
        kind: EventKind,
        value: f64,
        timestamp: i64,
        session: u32,
        query: u32,
        position: u16,
        propensity: f64,
        source: u16,
    ) {
        self.user.push(user);
        self.item.push(item);
        self.kind.push(kind);
        self.value.push(value);
        self.timestamp.push(timestamp);
        self.session.push(session);
        self.query.push(query);
        self.position.push(position);
        self.propensity.push(propensity);
        self.source.push(source);
    }

    /// A new log holding the events at `rows`, in that order.
    pub fn select(&self, rows: &[u32]) -> Events {
        fn pick<T: Copy>(column: &[T], rows: &[u32]) -> Vec<T> {
            rows.iter().map(|&r| column[r as usize]).collect()
        }
        Events {
            user: pick(&self.user, rows),
            item: pick(&self.item, rows),
            kind: pick(&self.kind, rows),
            value: pick(&self.value, rows),
            timestamp: pick(&self.timestamp, rows),
            session: pick(&self.session, rows),
            query: pick(&self.query, rows),
            position: pick(&self.position, rows),
            propensity: pick(&self.propensity, rows),
            source: pick(&self.source, rows),
        }
    }

    /// True when at least one event has a known timestamp.
    pub fn has_time(&self) -> bool {
        self.timestamp.iter().any(|&t| t != NO_TIME)
    }
}

/// A graded relevance judgment of an item for a search query.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgment {
    /// External query id.
    pub query_id: String,
    /// Query text as the shopper typed it.
    pub query: String,
    /// The judged item.
    pub item: ItemIdx,
    /// Relevance grade; larger is more relevant, fractions allowed.
    pub grade: f64,
}

/// A whole shop in memory: catalog, users, behaviour and judgments.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// A short name for messages ("ml-100k", "obd/random/all", a directory).
    pub name: String,
    /// The catalog.
    pub items: Items,
    /// The users.
    pub users: Users,
    /// The behaviour log.
    pub events: Events,
    /// Data sources ("app", "web", "partner-feed"); events refer to them by index.
    pub sources: IdMap,
    /// Session ids; events refer to them by index.
    pub sessions: IdMap,
    /// Distinct query texts; events refer to them by index.
    pub queries: IdMap,
    /// Search relevance judgments.
    pub judgments: Vec<Judgment>,
}

impl Dataset {
    /// A copy of this dataset whose log holds only the events at `rows` (catalog and users kept whole).
    pub fn with_events(&self, rows: &[u32]) -> Dataset {
        Dataset {
            name: self.name.clone(),
            items: self.items.clone(),
            users: self.users.clone(),
            events: self.events.select(rows),
            sources: self.sources.clone(),
            sessions: self.sessions.clone(),
            queries: self.queries.clone(),
            judgments: self.judgments.clone(),
        }
    }

    /// Indices of the events of the given kinds, in log order.
    pub fn events_of(&self, kinds: &[EventKind]) -> Vec<u32> {
        (0..self.events.len() as u32)
            .filter(|&e| kinds.contains(&self.events.kind[e as usize]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse(" Add_To_Cart "), Some(EventKind::Cart));
        assert_eq!(EventKind::parse("wishlist"), None);
    }

    #[test]
    fn interning_items_grows_every_column() {
        let mut items = Items::default();
        items.attributes.names.push("genre".into());
        items.attributes.values.push(Vec::new());
        items.features.names = vec!["f0".into(), "f1".into()];
        assert_eq!(items.intern("a"), 0);
        assert_eq!(items.intern("b"), 1);
        assert_eq!(items.intern("a"), 0);
        assert_eq!(items.title.len(), 2);
        assert_eq!(items.attributes.values[0].len(), 2);
        assert_eq!(items.features.data.len(), 4);
        assert!(items.price[1].is_nan());
    }
}
