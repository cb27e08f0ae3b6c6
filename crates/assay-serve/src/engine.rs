// tidy: long file: every operation of the engine (search, recommend, similar, ingest, items,
// users, model versions) beside the locks they share; each is short.

//! The engine behind the HTTP API: the live catalog, the search index and the active model,
//! derived from the [`Store`] at start and kept in step with it.
//!
//! Every change is written to the store first and applied in memory only once the store has
//! it, so what the service answers never runs ahead of what survives a restart. Model versions
//! are fitted on a snapshot outside every lock and swapped in whole: a request sees the old
//! model or the new one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use assay_core::split::{self, Order};
use assay_core::{
    Dataset, EventKind, Interactions, ItemIdx, NO_POSITION, NO_QUERY, NO_SESSION, NO_TIME,
};
use assay_encoder::Encoder;
use assay_recommend::eval::{self, Protocol};
use assay_recommend::store::{self as model_store, ModelIds};
use assay_recommend::{top_k_of, ModelSpec, Recommender};
use assay_search::{
    build_in_memory, IndexConfig, ItemDoc, SearchIndex, SearchOptions, SearchResults,
};
use serde::Serialize;

use crate::bandit::{self, BanditConfig, Reranked, Reranker};
use crate::store::{
    now_seconds, IndexedEvent, ModelRecord, NewEvent, ServedList, Store, StoreError, UserDeletion,
};

/// How the store renames a deleted user's row.
const DELETED_USER_PREFIX: &str = "\u{1}deleted-";

/// Longest accepted id of a user or an item, in bytes.
pub const MAX_ID_CHARS: usize = 256;
/// Most events accepted in one batch.
pub const MAX_BATCH: usize = 10_000;

/// Why the engine refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The request is malformed or out of range (HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The named user, item or model does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the state does not allow it (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Search failed for a reason other than the query.
    #[error("search: {0}")]
    Search(assay_search::SearchError),
    /// A model could not be fitted, saved or opened.
    #[error("model: {0}")]
    Model(#[from] assay_recommend::RecommendError),
}

impl From<assay_search::SearchError> for ServeError {
    fn from(error: assay_search::SearchError) -> ServeError {
        use assay_search::SearchError as E;
        match error {
            E::EmptyQuery
            | E::QueryTooLong { .. }
            | E::InvalidFilter { .. }
            | E::InvalidOption(_) => ServeError::BadRequest(error.to_string()),
            E::UnknownItem(_) => ServeError::NotFound(error.to_string()),
            other => ServeError::Search(other),
        }
    }
}

/// Shorthand for results of the engine.
pub type Result<T> = std::result::Result<T, ServeError>;

/// How the engine fits and keeps models.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The model kind fitted for every version.
    pub model: ModelSpec,
    /// Seed of every fit and of the evaluation split.
    pub seed: u64,
    /// Folder of the saved model versions (`vN` each).
    pub models_dir: PathBuf,
    /// How the search index is built.
    pub index: IndexConfig,
    /// Offline metrics of a version are measured on this many most recent preferences
    /// (user-item pairs, each at its first event).
    pub metrics_window: usize,
    /// The Thompson-sampling re-ranker of `/recommend`; `None` serves the model's ranking.
    pub bandit: Option<BanditConfig>,
}

/// One fitted model version, ready to serve.
pub struct ModelSlot {
    /// Its version number.
    pub version: i64,
    /// The model named as text.
    pub spec: String,
    model: Box<dyn Recommender>,
    users: HashMap<String, u32>,
    /// Training interactions per item.
    counts: Vec<u64>,
    /// Items by training interactions, most first (ties by index): the cold-start list.
    popular: Vec<ItemIdx>,
}

impl ModelSlot {
    fn new(version: i64, spec: String, model: Box<dyn Recommender>, ids: &ModelIds) -> ModelSlot {
        let counts = popularity(model.as_ref());
        let mut popular: Vec<ItemIdx> = (0..counts.len() as ItemIdx).collect();
        popular.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let users = ids
            .users
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        ModelSlot {
            version,
            spec,
            model,
            users,
            counts,
            popular,
        }
    }
}

/// The catalog, users and events as the store holds them, with what serving needs beside.
struct Live {
    data: Dataset,
    deleted: Vec<bool>,
    /// Per user: the items of their preference events (not impressions), in arrival order.
    histories: Vec<Vec<ItemIdx>>,
    /// Events in the store when the active model's data was taken.
    events_at_fit: u64,
    /// Users whose profile was deleted (their rows keep their index under a blank id).
    deleted_users: usize,
}

impl Live {
    fn new(data: Dataset, deleted_ids: &[String]) -> Live {
        let mut deleted = vec![false; data.items.len()];
        for id in deleted_ids {
            if let Some(i) = data.items.ids.get(id) {
                deleted[i as usize] = true;
            }
        }
        let mut histories = vec![Vec::new(); data.users.len()];
        for e in 0..data.events.len() {
            if data.events.kind[e] != EventKind::Impression {
                histories[data.events.user[e] as usize].push(data.events.item[e]);
            }
        }
        let deleted_users = data
            .users
            .ids
            .names()
            .iter()
            .filter(|id| id.starts_with(DELETED_USER_PREFIX))
            .count();
        Live {
            data,
            deleted,
            histories,
            events_at_fit: 0,
            deleted_users,
        }
    }

    /// The deleted items a model of `n_items` items knows: an item added after the model
    /// was fitted and deleted again has no score to mask.
    fn deleted_items(&self, n_items: usize) -> Vec<ItemIdx> {
        (0..self.deleted.len().min(n_items) as ItemIdx)
            .filter(|&i| self.deleted[i as usize])
            .collect()
    }
}

/// A served list of items with how it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendations {
    /// `model` (the user is in the model), `history` (the model scored the user's recent
    /// events) or `popularity` (a cold user).
    pub strategy: &'static str,
    /// `thompson` (drawn by the re-ranker from the model's top candidates), `control` (the
    /// model's order, for a user in an A/B test's control group) or `ranked` (the model's
    /// order, the re-ranker off).
    pub policy: &'static str,
    /// The model version that ranked it.
    pub model_version: i64,
    /// The items, best first.
    pub items: Vec<Scored>,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Item id.
    pub item: String,
    /// Title.
    pub title: String,
    /// The model's score (popularity: training interactions).
    pub score: f32,
}

/// What `DELETE /users/{id}` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeletedUser {
    /// The user.
    pub user: String,
    /// Rows removed from the store.
    pub removed: UserDeletion,
    /// The model version fitted without the user.
    pub model_version: i64,
    /// How that version was made: `exact` (the active model less the user's row, where its
    /// maths allows: ItemKNN, and EASE fitted in this process) or `refit` (a new fit on the
    /// data without the user).
    pub update: &'static str,
    /// Model versions whose files were dropped because they held the user's data.
    pub retired_versions: Vec<i64>,
    /// The user's data value in the latest valuation, when it valued users.
    pub value: Option<f64>,
}

/// The active model and the items of a user it is to forget.
struct Forget {
    slot: Arc<ModelSlot>,
    gone: Vec<ItemIdx>,
}

enum Served {
    List(ServedList),
    /// A re-ranked list whose propensities the writer estimates before storing it.
    Reranked(ServedList, Reranked),
    Flush(mpsc::Sender<()>),
}

/// The engine: shared by every request.
pub struct Engine {
    store: Arc<dyn Store>,
    config: EngineConfig,
    live: RwLock<Live>,
    index: RwLock<SearchIndex>,
    active: RwLock<Option<Arc<ModelSlot>>>,
    /// One fit at a time; held while a version is fitted, saved and swapped in.
    fitting: Mutex<()>,
    /// One change of events, items or users at a time, so that what a batch was checked
    /// against is still true when it commits, and memory applies changes in commit order.
    writes: Mutex<()>,
    served: Mutex<Option<mpsc::Sender<Served>>>,
    served_writer: Mutex<Option<JoinHandle<()>>>,
    served_failures: Arc<AtomicU64>,
    /// Served lists in the store: counted once at start, then as the writer stores them.
    served_count: Arc<AtomicU64>,
    bandit: Option<Arc<Reranker>>,
    report: crate::report::ReportCache,
}

impl Engine {
    /// Opens the engine on `store`, importing `first` when the store is empty, building the
    /// search index in memory, and loading the active model (fitting version 1 when none is).
    ///
    /// # Errors
    /// An empty store without `first`; store, index and model errors.
    pub fn open(
        store: Arc<dyn Store>,
        config: EngineConfig,
        first: Option<&Dataset>,
        build_encoder: Arc<dyn Encoder>,
        query_encoder: Arc<dyn Encoder>,
    ) -> Result<Engine> {
        if store.is_empty()? {
            let Some(data) = first else {
                return Err(ServeError::BadRequest(
                    "the store holds no data yet and no dataset was given to import".into(),
                ));
            };
            store.import(data)?;
        }
        let (data, deleted) = store.load()?;
        let mut index = build_in_memory(&data, build_encoder, query_encoder, &config.index)?;
        for id in &deleted {
            index.delete(id)?;
        }
        let live = Live::new(data, &deleted);
        let (sender, receiver) = mpsc::channel();
        let writer_store = store.clone();
        let served_failures = Arc::new(AtomicU64::new(0));
        let failures = served_failures.clone();
        let served_count = Arc::new(AtomicU64::new(store.counts()?.served));
        let stored = served_count.clone();
        let draws = config.bandit.map_or(0, |b| b.draws);
        let bandit = config
            .bandit
            .map(|b| Arc::new(Reranker::new(b, config.seed)));
        let reranker = bandit.clone();
        let writer = std::thread::Builder::new()
            .name("served-log".into())
            .spawn(move || {
                let reranker = reranker.as_deref();
                write_served(
                    writer_store.as_ref(),
                    receiver,
                    &failures,
                    &stored,
                    draws,
                    reranker,
                )
            })
            .map_err(|e| {
                ServeError::Conflict(format!("cannot start the served-log writer: {e}"))
            })?;
        let engine = Engine {
            store,
            config,
            live: RwLock::new(live),
            index: RwLock::new(index),
            active: RwLock::new(None),
            fitting: Mutex::new(()),
            writes: Mutex::new(()),
            served: Mutex::new(Some(sender)),
            served_writer: Mutex::new(Some(writer)),
            served_failures,
            served_count,
            bandit,
            report: crate::report::ReportCache::default(),
        };
        let active = engine
            .store
            .models()?
            .into_iter()
            .find(|m| m.active && m.available);
        match active {
            Some(record) => {
                let slot = engine.open_version(&record)?;
                let events = record.events;
                *write(&engine.active) = Some(Arc::new(slot));
                write(&engine.live).events_at_fit = events;
            }
            None => {
                engine.fit_version()?;
            }
        }
        Ok(engine)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The active model version, if any.
    pub fn active(&self) -> Option<Arc<ModelSlot>> {
        read(&self.active).clone()
    }

    /// Live items, users with a profile, events and served lists, as the store holds them,
    /// counted in memory.
    pub fn counts(&self) -> crate::store::StoreCounts {
        let live = read(&self.live);
        crate::store::StoreCounts {
            items: live.deleted.iter().filter(|d| !**d).count() as u64,
            users: (live.data.users.len() - live.deleted_users) as u64,
            events: live.data.events.len() as u64,
            served: self.served_count.load(Ordering::Relaxed),
        }
    }

    /// Live items in the search index.
    pub fn index_size(&self) -> usize {
        read(&self.index).len()
    }

    /// Events in the store that the active model has not seen.
    pub fn events_since_fit(&self) -> u64 {
        let live = read(&self.live);
        (live.data.events.len() as u64).saturating_sub(live.events_at_fit)
    }

    fn version_dir(&self, version: i64) -> PathBuf {
        self.config.models_dir.join(format!("v{version}"))
    }

    fn open_version(&self, record: &ModelRecord) -> Result<ModelSlot> {
        let dir = self.version_dir(record.version);
        let saved = model_store::open(&dir).map_err(|e| {
            ServeError::Conflict(format!(
                "model version {} cannot be opened: {e}",
                record.version
            ))
        })?;
        let live = read(&self.live);
        // A model addresses items by the index they had when it was fitted; items only ever
        // get new indices at the end, so its list must be a prefix of today's.
        let names = live.data.items.ids.names();
        if saved.ids.items.len() > names.len()
            || saved.ids.items.iter().zip(names).any(|(a, b)| a != b)
        {
            return Err(ServeError::Conflict(format!(
                "model version {} was fitted on another catalog",
                record.version
            )));
        }
        Ok(ModelSlot::new(
            record.version,
            record.spec.clone(),
            saved.model,
            &saved.ids,
        ))
    }

    /// Fits a new version on every event in the store, measures it on the most recent
    /// events, saves it and makes it the active one.
    pub fn fit_version(&self) -> Result<ModelRecord> {
        self.make_version(None).map(|(record, _)| record)
    }

    /// A new version, activated: the model fitted on the live data, or, when `forget` is given
    /// and its model can update exactly ([`Recommender::forget_user`]), that model less the
    /// user's row. Returns the record and whether the exact update was used.
    fn make_version(&self, forget: Option<Forget>) -> Result<(ModelRecord, bool)> {
        let _fitting = self.fitting.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = {
            let live = read(&self.live);
            (live.data.clone(), live.data.events.len() as u64)
        };
        let (data, events) = snapshot;
        let preference: Vec<u32> = (0..data.events.len() as u32)
            .filter(|&e| data.events.kind[e as usize] != EventKind::Impression)
            .collect();
        if preference.is_empty() {
            return Err(ServeError::Conflict(
                "no clicks, carts, purchases, ratings or dwell events to fit a model on".into(),
            ));
        }
        let since = read(&self.live).events_at_fit;
        let metrics = self.offline_metrics(&data, &preference, since);
        let train = Interactions::from_events(&data, &preference);
        let updated = forget.and_then(|f| {
            let fitted = f.slot.model.history();
            // Exact only for the model the live data alone would give: same spec, same sizes.
            let same = f.slot.spec == self.config.model.to_string()
                && fitted.n_users() == train.n_users()
                && fitted.n_items() == train.n_items();
            same.then(|| f.slot.model.forget_user(&train, &f.gone))
                .flatten()
        });
        let exact = updated.is_some();
        let model = match updated {
            Some(model) => model,
            None => {
                let spec = self.config.model.with_seed(self.config.seed);
                spec.fit(&train, &data, None, &|_, _| {})?
            }
        };
        let version = self
            .store
            .add_model(&self.config.model.to_string(), events, &metrics)?;
        model_store::save_with_ids(&self.version_dir(version), model.as_ref(), &data)?;
        let slot = ModelSlot::new(
            version,
            self.config.model.to_string(),
            model,
            &ModelIds::of(&data),
        );
        self.store.activate_model(version)?;
        *write(&self.active) = Some(Arc::new(slot));
        write(&self.live).events_at_fit = events;
        let record = self
            .store
            .models()?
            .into_iter()
            .find(|m| m.version == version)
            .ok_or_else(|| ServeError::Conflict(format!("model version {version} vanished")))?;
        Ok((record, exact))
    }

    /// RecBole's protocol (random 80/10/10 per user, full ranking, K = 10) on the most recent
    /// preferences; `{"error": ...}` when the window is too small to split.
    ///
    /// A preference is a (user, item) pair, counted once at its first event: a shop logs a
    /// click, a dwell, a cart and a purchase of the same item, and split as separate events
    /// they land on both sides, so the held-out item is already in the user's training
    /// history, masked from the ranking, and can never be hit.
    ///
    /// `new_data` values what arrived since the last version (events from row `since` on):
    /// the same split and model without the window's new preferences in training, and the
    /// test metrics' difference (leave-the-new-data-out).
    fn offline_metrics(&self, data: &Dataset, preference: &[u32], since: u64) -> serde_json::Value {
        let pairs = assay_core::clean::first_of_pairs(data, preference);
        let start = pairs.len().saturating_sub(self.config.metrics_window);
        let rows = &pairs[start..];
        let window = data.with_events(rows);
        let protocol = Protocol::recbole();
        let measured = self.measure(&window, &protocol, |_| true);
        match measured {
            Ok(run) => {
                let mut metrics = serde_json::json!({
                    "protocol": "recbole",
                    "window_pairs": window.events.len(),
                    "test": run.test,
                    "valid": run.valid,
                    "coverage": run.test_coverage,
                });
                // Window event e is data row rows[e].
                let new = rows.iter().filter(|&&r| u64::from(r) >= since).count();
                if new > 0 && new < rows.len() && since > 0 {
                    let old = |e: u32| u64::from(rows[e as usize]) < since;
                    if let Ok(without) = self.measure(&window, &protocol, old) {
                        metrics["new_data"] = serde_json::json!({
                            "pairs": new,
                            "events": (data.events.len() as u64).saturating_sub(since),
                            "test_without": without.test,
                            "value_ndcg": run.test.ndcg - without.test.ndcg,
                            "value_recall": run.test.recall - without.test.recall,
                        });
                    }
                }
                metrics
            }
            Err(error) => serde_json::json!({
                "protocol": "recbole",
                "window_pairs": window.events.len(),
                "error": error.to_string(),
            }),
        }
    }

    /// Fits the engine's model on the training part of `window`'s RecBole split, keeping only
    /// the training rows that `keep` accepts, and measures it on the split's validation and
    /// test parts (which `keep` does not touch).
    fn measure(
        &self,
        window: &Dataset,
        protocol: &Protocol,
        keep: impl Fn(u32) -> bool,
    ) -> std::result::Result<eval::SeedRun, assay_recommend::RecommendError> {
        let seed = self.config.seed;
        let rows = eval::learning_rows(window, protocol.impressions)?;
        let parts = split::by_ratio(window, &rows, [0.8, 0.1, 0.1], Order::Random { seed });
        if parts.test.is_empty() {
            return Err(assay_recommend::RecommendError::Data(format!(
                "{}: the recbole split leaves no test events",
                window.name
            )));
        }
        let train: Vec<u32> = parts.train.iter().copied().filter(|&e| keep(e)).collect();
        let prepared = eval::Prepared {
            train: Interactions::from_events(window, &train),
            valid: Interactions::from_events(window, &parts.valid),
            test: Interactions::from_events(window, &parts.test),
        };
        let (_, run) = eval::run_once(
            window,
            &prepared,
            protocol,
            &self.config.model,
            seed,
            &|_, _| {},
        )?;
        Ok(run)
    }

    /// Makes a stored version the active one (a rollback or a roll-forward).
    pub fn activate(&self, version: i64) -> Result<ModelRecord> {
        let _fitting = self.fitting.lock().unwrap_or_else(|p| p.into_inner());
        let Some(record) = self
            .store
            .models()?
            .into_iter()
            .find(|m| m.version == version)
        else {
            return Err(ServeError::NotFound(format!("no model version {version}")));
        };
        if !record.available {
            return Err(ServeError::Conflict(format!(
                "model version {version} was dropped: it held the data of a deleted user"
            )));
        }
        let slot = self.open_version(&record)?;
        self.store.activate_model(version)?;
        *write(&self.active) = Some(Arc::new(slot));
        write(&self.live).events_at_fit = record.events;
        Ok(ModelRecord {
            active: true,
            ..record
        })
    }

    /// Searches the live catalog.
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<SearchResults> {
        Ok(read(&self.index).search_full(query, options)?)
    }

    /// The top `k` items for `user`: from the model when it knows the user, from the user's
    /// recent events when the model can score any history, else the most popular items.
    pub fn recommend(&self, user: &str, k: usize) -> Result<Recommendations> {
        check_id("user", user)?;
        let slot = self
            .active()
            .ok_or_else(|| ServeError::Conflict("no model is active yet".into()))?;
        let live = read(&self.live);
        let n_items = slot.model.history().n_items();
        let mut exclude = live.deleted_items(n_items);
        let history: &[ItemIdx] = live
            .data
            .users
            .ids
            .get(user)
            .map_or(&[], |u| live.histories[u as usize].as_slice());
        // A user the model knows only from impressions has no preference to rank by.
        let in_model = slot
            .users
            .get(user)
            .copied()
            .filter(|&u| !slot.model.history().items_of(u).is_empty());
        // The re-ranker draws the list from a few more of the model's candidates; a user in
        // an A/B test's control group gets the model's ranking as it is.
        let control = self.bandit.as_ref().is_some_and(|b| b.in_control(user));
        let reranker = self.bandit.as_ref().filter(|_| !control);
        let want = reranker.map_or(k, |b| b.config().pool(k));
        let (strategy, ranked) = match in_model {
            Some(u) => {
                exclude.extend(history.iter().filter(|&&i| (i as usize) < n_items));
                ("model", slot.model.top_k(u, want, &exclude))
            }
            None => {
                let known: Vec<ItemIdx> = history
                    .iter()
                    .copied()
                    .filter(|&i| (i as usize) < n_items)
                    .collect();
                let mut scores = vec![0.0f32; n_items];
                if !known.is_empty() && slot.model.score_history(&known, &mut scores).is_ok() {
                    assay_recommend::mask(&mut scores, &known);
                    assay_recommend::mask(&mut scores, &exclude);
                    ("history", top_k_of(&scores, want))
                } else {
                    let ranked = slot
                        .popular
                        .iter()
                        .copied()
                        .filter(|&i| !live.deleted[i as usize] && !history.contains(&i))
                        .take(want)
                        .map(|i| (i, slot.counts[i as usize] as f32))
                        .collect();
                    ("popularity", ranked)
                }
            }
        };
        let reranked = reranker.map(|b| {
            let candidates: Vec<ItemIdx> = ranked.iter().map(|r| r.0).collect();
            b.rerank(user, &candidates, k)
        });
        if let Some(b) = self.bandit.as_ref().filter(|_| control) {
            b.serve_control(user, ranked.iter().map(|r| r.0).collect());
        }
        let ranked: Vec<(ItemIdx, f32)> = match &reranked {
            Some(r) => r.order.iter().map(|&c| ranked[c]).collect(),
            None => ranked,
        };
        let items = scored(&live.data, &ranked);
        drop(live);
        let list = ServedList {
            route: "recommend",
            user: Some(user.to_owned()),
            context: None,
            model_version: Some(slot.version),
            timestamp: now_seconds(),
            items: deterministic(&items),
        };
        let policy = if reranked.is_some() {
            "thompson"
        } else if control {
            "control"
        } else {
            "ranked"
        };
        match reranked {
            Some(reranked) => self.send(Served::Reranked(list, reranked)),
            None => self.log(list),
        }
        Ok(Recommendations {
            strategy,
            policy,
            model_version: slot.version,
            items,
        })
    }

    /// The `k` items the active model ranks highest for someone who has seen only `item`.
    pub fn similar(&self, item: &str, k: usize) -> Result<Recommendations> {
        check_id("item", item)?;
        let slot = self
            .active()
            .ok_or_else(|| ServeError::Conflict("no model is active yet".into()))?;
        let live = read(&self.live);
        let index = match live.data.items.ids.get(item) {
            Some(i) if !live.deleted[i as usize] => i,
            _ => return Err(ServeError::NotFound(format!("no item '{item}'"))),
        };
        let n_items = slot.model.history().n_items();
        if index as usize >= n_items {
            return Err(ServeError::Conflict(format!(
                "item '{item}' is newer than model version {}; it has no neighbours until the next fit",
                slot.version
            )));
        }
        let mut scores = vec![0.0f32; n_items];
        slot.model
            .score_history(&[index], &mut scores)
            .map_err(|e| {
                ServeError::Conflict(format!(
                    "the active model ({}) cannot rank neighbours of an item: {e}",
                    slot.spec
                ))
            })?;
        assay_recommend::mask(&mut scores, &[index]);
        assay_recommend::mask(&mut scores, &live.deleted_items(n_items));
        let items = scored(&live.data, &top_k_of(&scores, k));
        drop(live);
        self.log(ServedList {
            route: "similar",
            user: None,
            context: Some(item.to_owned()),
            model_version: Some(slot.version),
            timestamp: now_seconds(),
            items: deterministic(&items),
        });
        Ok(Recommendations {
            strategy: "model",
            policy: "ranked",
            model_version: slot.version,
            items,
        })
    }

    /// Records a served search result list.
    pub fn log_search(&self, query: &str, user: Option<&str>, results: &SearchResults) {
        self.log(ServedList {
            route: "search",
            user: user.map(str::to_owned),
            context: Some(query.to_owned()),
            model_version: None,
            timestamp: now_seconds(),
            items: results
                .hits
                .iter()
                .map(|h| (h.id.clone(), h.rank as u32, 1.0))
                .collect(),
        });
    }

    fn log(&self, list: ServedList) {
        self.send(Served::List(list));
    }

    fn send(&self, message: Served) {
        if let Some(sender) = lock(&self.served).as_ref() {
            // The writer only stops when the engine shuts down; a list served during shutdown
            // is not logged.
            let _ = sender.send(message);
        }
    }

    /// The data-value report of the active version's data: ready, failed, or running (the
    /// first request of a version starts it). `None` before any version is active.
    pub fn report(&self) -> Option<(i64, crate::report::ReportState)> {
        let version = self.active()?.version;
        let config = crate::report::study_config(&self.config.model, self.config.seed);
        let state = self
            .report
            .get(version, config, || read(&self.live).data.clone());
        Some((version, state))
    }

    /// Off-policy evaluation on the re-ranker's served lists, when it is on and has served.
    pub fn ope(&self) -> Option<crate::bandit::OpeSummary> {
        self.bandit.as_ref()?.ope()
    }

    /// The A/B test of the re-ranker against the model's order, when one runs.
    pub fn ab(&self) -> Option<crate::bandit::AbSummary> {
        self.bandit.as_ref()?.ab()
    }

    /// The re-ranker, when it is on.
    pub fn bandit(&self) -> Option<&Reranker> {
        self.bandit.as_deref()
    }

    /// Served lists the store refused to record.
    pub fn served_failures(&self) -> u64 {
        self.served_failures.load(Ordering::Relaxed)
    }

    /// Waits until every list served so far is in the store.
    pub fn flush_served(&self) {
        let (ack, done) = mpsc::channel();
        let sent = lock(&self.served)
            .as_ref()
            .is_some_and(|sender| sender.send(Served::Flush(ack)).is_ok());
        if sent {
            let _ = done.recv();
        }
    }

    /// Checks a batch, stores it in one transaction and applies it. Returns the number of
    /// events in the store afterwards.
    pub fn ingest(&self, events: &[NewEvent]) -> Result<u64> {
        if events.is_empty() {
            return Err(ServeError::BadRequest("the batch holds no event".into()));
        }
        if events.len() > MAX_BATCH {
            return Err(ServeError::BadRequest(format!(
                "the batch holds {} events; at most {MAX_BATCH} are accepted at once",
                events.len()
            )));
        }
        let _writes = lock(&self.writes);
        let (new_users, indexed) = {
            let live = read(&self.live);
            for (n, event) in events.iter().enumerate() {
                check_id(&format!("[{n}].user"), &event.user)?;
                check_id(&format!("[{n}].item"), &event.item)?;
                match live.data.items.ids.get(&event.item) {
                    Some(i) if !live.deleted[i as usize] => {}
                    _ => {
                        return Err(ServeError::BadRequest(format!(
                            "[{n}].item: no item '{}' in the catalog (PUT /items/{{id}} first)",
                            event.item
                        )))
                    }
                }
                if event.value.is_some_and(|v| !v.is_finite()) {
                    return Err(ServeError::BadRequest(format!(
                        "[{n}].value: expected a finite number"
                    )));
                }
                if event.timestamp.is_some_and(|t| t == NO_TIME) {
                    return Err(ServeError::BadRequest(format!(
                        "[{n}].timestamp: out of range"
                    )));
                }
                if let Some(source) = &event.source {
                    check_id(&format!("[{n}].source"), source)?;
                }
            }
            // Users are numbered as the store numbers them: the next free indices, in order.
            let mut new_users: Vec<(u32, String)> = Vec::new();
            let mut new_index: HashMap<&str, u32> = HashMap::new();
            let mut indexed = Vec::with_capacity(events.len());
            for event in events {
                let user = match live.data.users.ids.get(&event.user) {
                    Some(u) => u,
                    None => *new_index.entry(&event.user).or_insert_with(|| {
                        let u = (live.data.users.len() + new_users.len()) as u32;
                        new_users.push((u, event.user.clone()));
                        u
                    }),
                };
                indexed.push(IndexedEvent {
                    user,
                    item: live.data.items.ids.get(&event.item).unwrap_or(0),
                    kind: event.kind,
                    value: event.value,
                    timestamp: event.timestamp,
                    source: event.source.clone().unwrap_or_default(),
                });
            }
            (new_users, indexed)
        };
        // Readers go on while the batch is made durable; the write lock is taken only to apply
        // it.
        self.store.append_events(&new_users, &indexed)?;
        let mut live = write(&self.live);
        let live = &mut *live;
        for event in events {
            let user = live.data.users.intern(&event.user);
            if user as usize >= live.histories.len() {
                live.histories.resize(user as usize + 1, Vec::new());
            }
            let item = live.data.items.ids.get(&event.item).unwrap_or(0);
            let source = live
                .data
                .sources
                .intern(event.source.as_deref().unwrap_or("")) as u16;
            live.data.events.push(
                user,
                item,
                event.kind,
                event.value.unwrap_or(f64::NAN),
                event.timestamp.unwrap_or(NO_TIME),
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                source,
            );
            if event.kind != EventKind::Impression {
                live.histories[user as usize].push(item);
            }
            if let Some(bandit) = &self.bandit {
                if matches!(event.kind, EventKind::Click | EventKind::Purchase) {
                    bandit.reward(&event.user, item);
                }
            }
        }
        Ok(live.data.events.len() as u64)
    }

    /// Adds or replaces an item; it is searchable on return.
    pub fn put_item(&self, doc: &ItemDoc) -> Result<()> {
        check_id("id", &doc.id)?;
        if doc.price.is_some_and(|p| !p.is_finite() || p < 0.0) {
            return Err(ServeError::BadRequest(
                "price: expected a finite number ≥ 0".into(),
            ));
        }
        let _writes = lock(&self.writes);
        self.store.put_item(doc)?;
        let mut live = write(&self.live);
        let mut index = write(&self.index);
        let items = &mut live.data.items;
        let i = items.intern(&doc.id) as usize;
        items.title[i] = doc.title.clone();
        items.description[i] = doc.description.clone();
        items.category[i] = doc.category.clone();
        items.brand[i] = doc.brand.clone();
        items.price[i] = doc.price.unwrap_or(f64::NAN);
        let attributes = &mut items.attributes;
        for (name, value) in &doc.attributes {
            let column = match attributes.names.iter().position(|n| n == name) {
                Some(column) => column,
                None => {
                    attributes.names.push(name.clone());
                    attributes.values.push(vec![String::new(); items.ids.len()]);
                    attributes.names.len() - 1
                }
            };
            attributes.values[column][i] = value.clone();
        }
        if live.deleted.len() <= i {
            live.deleted.resize(i + 1, false);
        }
        live.deleted[i] = false;
        index.upsert(std::slice::from_ref(doc))?;
        Ok(())
    }

    /// Deletes an item; it is gone from search, recommendations and similar items on return.
    pub fn delete_item(&self, id: &str) -> Result<()> {
        let _writes = lock(&self.writes);
        if !self.store.delete_item(id)? {
            return Err(ServeError::NotFound(format!("no item '{id}'")));
        }
        let mut live = write(&self.live);
        let mut index = write(&self.index);
        if let Some(i) = live.data.items.ids.get(id) {
            live.deleted[i as usize] = true;
        }
        index.delete(id)?;
        Ok(())
    }

    /// Removes a user's events, served lists and profile, fits a model version without them,
    /// and drops the files of every older version (they were fitted on the user's data).
    pub fn delete_user(&self, id: &str) -> Result<DeletedUser> {
        check_id("user", id)?;
        let value = self.store.latest_valuation()?.and_then(|v| {
            v.get("users")
                .and_then(|users| users.get(id))
                .and_then(serde_json::Value::as_f64)
        });
        let removed = {
            let _writes = lock(&self.writes);
            // The active model can forget the user exactly when it was fitted on the data as
            // it stands: no event arrived since its fit.
            let forget = {
                let live = read(&self.live);
                let current = live.events_at_fit == live.data.events.len() as u64;
                self.active().filter(|_| current).and_then(|slot| {
                    let u = *slot.users.get(id)?;
                    let gone = slot.model.history().items_of(u).to_vec();
                    Some(Forget { slot, gone })
                })
            };
            // Lists still on their way to the store would outlive the deletion.
            self.flush_served();
            let Some(removed) = self.store.delete_user(id)? else {
                return Err(ServeError::NotFound(format!("no user '{id}'")));
            };
            self.served_count
                .fetch_sub(removed.served, Ordering::Relaxed);
            // The memory is rebuilt from the store so that the user's index, events and id
            // are exactly what the store now holds.
            let (data, deleted) = self.store.load()?;
            let mut live = write(&self.live);
            let events_at_fit = live.events_at_fit;
            *live = Live::new(data, &deleted);
            live.events_at_fit = events_at_fit;
            (removed, forget)
        };
        let (removed, forget) = removed;
        self.flush_served();
        let (record, exact) = self.make_version(forget)?;
        let retired = self.store.retire_models_except(record.version)?;
        for version in &retired {
            crate::models::drop_version(&self.version_dir(*version))?;
        }
        Ok(DeletedUser {
            user: id.to_owned(),
            removed,
            model_version: record.version,
            update: if exact { "exact" } else { "refit" },
            retired_versions: retired,
            value,
        })
    }

    /// Stops the served-log writer after it has written everything sent to it.
    pub fn shutdown(&self) {
        lock(&self.served).take();
        if let Some(writer) = lock(&self.served_writer).take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Checks a user-given id: not empty, not too long, no control characters.
pub(crate) fn check_id(place: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(ServeError::BadRequest(format!("{place}: empty")));
    }
    let chars = id.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(ServeError::BadRequest(format!(
            "{place}: {chars} characters; at most {MAX_ID_CHARS}"
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(ServeError::BadRequest(format!(
            "{place}: control characters are not allowed in ids"
        )));
    }
    Ok(())
}

/// Training interactions per item.
fn popularity(model: &dyn Recommender) -> Vec<u64> {
    let history = model.history();
    let mut counts = vec![0u64; history.n_items()];
    for user in 0..history.n_users() as u32 {
        for &item in history.items_of(user) {
            counts[item as usize] += 1;
        }
    }
    counts
}

fn scored(data: &Dataset, ranked: &[(ItemIdx, f32)]) -> Vec<Scored> {
    ranked
        .iter()
        .map(|&(i, score)| Scored {
            item: data.items.ids.name(i).to_owned(),
            title: data.items.title[i as usize].clone(),
            score,
        })
        .collect()
}

/// The served log of a deterministic ranking: every item shown at its rank with certainty.
fn deterministic(items: &[Scored]) -> Vec<(String, u32, f64)> {
    items
        .iter()
        .enumerate()
        .map(|(rank, s)| (s.item.clone(), rank as u32 + 1, 1.0))
        .collect()
}

fn write_served(
    store: &dyn Store,
    receiver: mpsc::Receiver<Served>,
    failures: &AtomicU64,
    stored: &AtomicU64,
    draws: usize,
    bandit: Option<&Reranker>,
) {
    while let Ok(first) = receiver.recv() {
        let mut lists = Vec::new();
        let mut acks = Vec::new();
        for message in std::iter::once(first).chain(receiver.try_iter()) {
            match message {
                Served::List(list) => lists.push(list),
                Served::Reranked(mut list, reranked) => {
                    let k = reranked.order.len();
                    let p = bandit::propensities(
                        &reranked.posteriors,
                        k,
                        draws,
                        reranked.seed,
                        Some(&reranked.order),
                    );
                    for (position, (entry, &c)) in
                        list.items.iter_mut().zip(&reranked.order).enumerate()
                    {
                        entry.2 = p[position][c];
                    }
                    if let Some(bandit) = bandit {
                        let logged = list.items.iter().map(|e| e.2).collect();
                        bandit.set_propensities(reranked.round, logged);
                    }
                    lists.push(list);
                }
                Served::Flush(ack) => acks.push(ack),
            }
        }
        // Serving goes on when the log fails; `/metrics` shows the loss.
        if !lists.is_empty() {
            match store.log_served(&lists) {
                Ok(()) => stored.fetch_add(lists.len() as u64, Ordering::Relaxed),
                Err(_) => failures.fetch_add(lists.len() as u64, Ordering::Relaxed),
            };
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(lock: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    lock.lock().unwrap_or_else(|p| p.into_inner())
}
