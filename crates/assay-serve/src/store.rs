// tidy: long file: the Store trait and its SQLite implementation, one short SQL block per
// method; splitting them would separate each method from the schema it relies on.

//! The durable record of a running service, behind the [`Store`] trait, and its SQLite
//! implementation.
//!
//! The store is the ground truth: the in-memory catalog, search index and models are derived
//! from it at start and kept in step while the service runs. Items and users keep the dense
//! index they were given when first seen (`idx` columns), so a model saved with the indices of
//! an earlier catalog still addresses the same items after a restart; a deleted item keeps its
//! row (marked deleted) for that reason, and a deleted user keeps only an anonymous tombstone
//! id.
//!
//! [`SqliteStore`] runs in WAL mode with `synchronous=FULL`: a write returns only after its
//! transaction is on disk, so an acknowledged batch of events survives a crash or power loss.

use std::path::Path;
use std::sync::Mutex;

use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION, NO_TIME};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Errors of a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused an operation.
    #[error("store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The database's error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer version of assay.
    #[error("store {path}: schema version {found} is newer than this assay's {supported}")]
    NewerSchema {
        /// The database file.
        path: String,
        /// The version in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A stored value is not what this build wrote.
    #[error("store {path}: {what}")]
    Corrupt {
        /// The database file.
        path: String,
        /// What is wrong.
        what: String,
    },
}

/// Shorthand for results of a store.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What an API key may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Search, recommendations, similar items, and reading the service's state.
    Read,
    /// Sending events and changing items, besides reading.
    Write,
    /// Models, users and keys, besides everything else.
    Admin,
}

impl Role {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }

    /// Parses `read`, `write` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One event as it arrives: string ids, a kind, and optional details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// The user's id.
    pub user: String,
    /// The item's id; the item must be in the catalog.
    pub item: String,
    /// What the user did.
    pub kind: EventKind,
    /// Revenue, rating or dwell seconds, by kind.
    #[serde(default)]
    pub value: Option<f64>,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// Where the event came from (web, app, a partner feed, ...).
    #[serde(default)]
    pub source: Option<String>,
}

/// An event with its user and item as dense indices, as the store appends it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedEvent {
    /// The user's dense index.
    pub user: u32,
    /// The item's dense index.
    pub item: u32,
    /// What the user did.
    pub kind: EventKind,
    /// Revenue, rating or dwell seconds, by kind.
    pub value: Option<f64>,
    /// Seconds since the Unix epoch.
    pub timestamp: Option<i64>,
    /// Where it came from ("" when unknown).
    pub source: String,
}

/// One list of results the service showed.
#[derive(Debug, Clone, PartialEq)]
pub struct ServedList {
    /// `search`, `recommend` or `similar`.
    pub route: &'static str,
    /// The user it was shown to, when known.
    pub user: Option<String>,
    /// The query or the anchor item.
    pub context: Option<String>,
    /// The model version that ranked it (none for search).
    pub model_version: Option<i64>,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
    /// (item id, position from 1, probability that the policy shows this item here).
    pub items: Vec<(String, u32, f64)>,
}

/// A model version as the store records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Version number, from 1, in the order of fitting.
    pub version: i64,
    /// The model named as text (`itemknn:k=100`).
    pub spec: String,
    /// Seconds since the Unix epoch when it was fitted.
    pub created: i64,
    /// Events it was fitted on.
    pub events: u64,
    /// Offline metrics (name to value).
    pub metrics: serde_json::Value,
    /// Whether it serves now.
    pub active: bool,
    /// False once its files were dropped (it held data of a deleted user).
    pub available: bool,
}

/// What deleting a user removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserDeletion {
    /// Events removed.
    pub events: u64,
    /// Served lists removed.
    pub served: u64,
}

/// Counts for the dashboard and `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    /// Live items.
    pub items: u64,
    /// Users with a profile.
    pub users: u64,
    /// Events.
    pub events: u64,
    /// Served lists.
    pub served: u64,
}

/// The durable record behind the service. Every method is synchronous and returns once its
/// change is durable; implementations are shared between threads.
pub trait Store: Send + Sync {
    /// True until a dataset has been imported.
    fn is_empty(&self) -> Result<bool>;
    /// Writes `data`'s items, users and events, all in one transaction.
    fn import(&self, data: &Dataset) -> Result<()>;
    /// The catalog, users and events, with the dense indices they were given. Deleted items are
    /// returned (their ids are in the second value) so indices stay stable.
    fn load(&self) -> Result<(Dataset, Vec<String>)>;
    /// Appends a batch in one transaction: first the users it introduces (the next dense
    /// indices, in order, with their ids), then its events, which name users and items by
    /// dense index. A user index already taken fails the whole batch.
    fn append_events(&self, new_users: &[(u32, String)], events: &[IndexedEvent]) -> Result<()>;
    /// Adds or replaces an item (a deleted one comes back under its old index).
    fn put_item(&self, item: &assay_search::ItemDoc) -> Result<()>;
    /// Marks an item deleted; false when there was no live item with that id.
    fn delete_item(&self, id: &str) -> Result<bool>;
    /// Removes a user's events, served lists and profile; `None` when the user is unknown.
    fn delete_user(&self, id: &str) -> Result<Option<UserDeletion>>;
    /// Records served lists.
    fn log_served(&self, lists: &[ServedList]) -> Result<()>;
    /// Records a new model version (inactive) and returns its number.
    fn add_model(&self, spec: &str, events: u64, metrics: &serde_json::Value) -> Result<i64>;
    /// Every model version, oldest first.
    fn models(&self) -> Result<Vec<ModelRecord>>;
    /// Makes `version` the only active one; false when it is unknown or unavailable.
    fn activate_model(&self, version: i64) -> Result<bool>;
    /// Marks every version but `keep` unavailable (their files are gone).
    fn retire_models_except(&self, keep: i64) -> Result<Vec<i64>>;
    /// Stores the SHA-256 hex digest of a key with its role.
    fn add_key(&self, hash: &str, role: Role) -> Result<()>;
    /// The role of a key's digest.
    fn key_role(&self, hash: &str) -> Result<Option<Role>>;
    /// Stores a valuation document.
    fn add_valuation(&self, body: &serde_json::Value) -> Result<()>;
    /// The latest valuation document.
    fn latest_valuation(&self) -> Result<Option<serde_json::Value>>;
    /// Counts of what the store holds.
    fn counts(&self) -> Result<StoreCounts>;
    /// Served lists with their items: (list id, user, route, [(item, position, propensity)]),
    /// oldest first.
    fn served(&self, limit: usize) -> Result<Vec<ServedRow>>;
    /// Events per (minute since the Unix epoch, kind) over the last `minutes` minutes of
    /// arrival time.
    fn events_per_minute(&self, now: i64, minutes: i64) -> Result<Vec<(i64, String, u64)>>;
    /// `PRAGMA integrity_check`'s answer ("ok" when sound).
    fn integrity_check(&self) -> Result<String>;
}

/// The items of a served list: (item id, position, propensity).
pub type ItemsShown = Vec<(String, u32, f64)>;

/// A served list as stored: (list id, user, route, items shown).
pub type ServedRow = (i64, Option<String>, String, ItemsShown);

/// The schema, one migration per version; `PRAGMA user_version` holds the number applied.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE items (
        idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
        description TEXT NOT NULL, category TEXT NOT NULL, brand TEXT NOT NULL, price REAL,
        attributes TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE users (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
        deleted INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, user_idx INTEGER NOT NULL, item_idx INTEGER NOT NULL,
        kind TEXT NOT NULL, value REAL, ts INTEGER, source TEXT NOT NULL, arrived INTEGER NOT NULL);
    CREATE INDEX events_user ON events(user_idx);
    CREATE INDEX events_arrived ON events(arrived);
    CREATE TABLE served (
        id INTEGER PRIMARY KEY AUTOINCREMENT, route TEXT NOT NULL, user_id TEXT, context TEXT,
        model_version INTEGER, ts INTEGER NOT NULL);
    CREATE INDEX served_user ON served(user_id);
    CREATE TABLE served_items (
        served_id INTEGER NOT NULL REFERENCES served(id) ON DELETE CASCADE,
        item TEXT NOT NULL, position INTEGER NOT NULL, propensity REAL NOT NULL);
    CREATE INDEX served_items_list ON served_items(served_id);
    CREATE TABLE models (
        version INTEGER PRIMARY KEY AUTOINCREMENT, spec TEXT NOT NULL, created INTEGER NOT NULL,
        events INTEGER NOT NULL, metrics TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 0,
        available INTEGER NOT NULL DEFAULT 1);
    CREATE TABLE api_keys (hash TEXT PRIMARY KEY, role TEXT NOT NULL, created INTEGER NOT NULL);
    CREATE TABLE valuations (id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL,
        body TEXT NOT NULL);
",
    "
    -- The per-user index of events put each event of a batch on its own random leaf page, so
    -- a durable batch of 1,000 wrote hundreds of pages to the log: ingestion ran at a fifth of
    -- its speed without it. Only deleting a user looks events up by user, and a scan of the
    -- table serves that rare request.
    DROP INDEX events_user;
",
];

/// The [`Store`] on one SQLite file.
pub struct SqliteStore {
    connection: Mutex<Connection>,
    path: String,
}

/// Seconds since the Unix epoch.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl SqliteStore {
    /// Opens (creating when missing) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let name = path.display().to_string();
        let fail = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        let connection = Connection::open(path).map_err(fail)?;
        // WAL lets readers run beside the one writer; FULL syncs the WAL on every commit, which
        // is what makes an acknowledged batch survive power loss, not only a crash.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        let store = SqliteStore {
            connection: Mutex::new(connection),
            path: name,
        };
        store.migrate()?;
        Ok(store)
    }

    fn fail(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, what: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            what,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied (SQLite rolls
        // back an unfinished one), so the connection is still sound.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn migrate(&self) -> Result<()> {
        let mut connection = self.lock();
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.fail(e))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: version,
                supported,
            });
        }
        for (number, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = connection.transaction().map_err(|e| self.fail(e))?;
            tx.execute_batch(sql).map_err(|e| self.fail(e))?;
            tx.pragma_update(None, "user_version", number as i64 + 1)
                .map_err(|e| self.fail(e))?;
            tx.commit().map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        self.lock()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.fail(e))
    }
}

fn kind_of(text: &str) -> Option<EventKind> {
    EventKind::ALL.into_iter().find(|k| k.as_str() == text)
}

fn insert_item(
    tx: &rusqlite::Transaction<'_>,
    idx: Option<i64>,
    item: &assay_search::ItemDoc,
) -> rusqlite::Result<()> {
    let attributes = serde_json::to_string(&item.attributes).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO items (idx, id, title, description, category, brand, price, attributes, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)
         ON CONFLICT(id) DO UPDATE SET title = excluded.title, description = excluded.description,
           category = excluded.category, brand = excluded.brand, price = excluded.price,
           attributes = excluded.attributes, deleted = 0",
        params![
            idx,
            item.id,
            item.title,
            item.description,
            item.category,
            item.brand,
            item.price,
            attributes
        ],
    )?;
    Ok(())
}

/// Seconds since the epoch of a dataset event, or NULL.
fn time_of(timestamp: i64) -> Option<i64> {
    (timestamp != NO_TIME).then_some(timestamp)
}

impl Store for SqliteStore {
    fn is_empty(&self) -> Result<bool> {
        let connection = self.lock();
        let imported: Option<String> = connection
            .query_row("SELECT value FROM meta WHERE key = 'dataset'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(imported.is_none())
    }

    fn import(&self, data: &Dataset) -> Result<()> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        for i in 0..data.items.len() {
            let doc = assay_search::ItemDoc::from_items(&data.items, i);
            insert_item(&tx, Some(i as i64), &doc).map_err(|e| self.fail(e))?;
        }
        {
            let mut user = tx
                .prepare("INSERT INTO users (idx, id) VALUES (?1, ?2)")
                .map_err(|e| self.fail(e))?;
            for (i, id) in data.users.ids.names().iter().enumerate() {
                user.execute(params![i as i64, id])
                    .map_err(|e| self.fail(e))?;
            }
            let mut event = tx
                .prepare(
                    "INSERT INTO events (user_idx, item_idx, kind, value, ts, source, arrived)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(|e| self.fail(e))?;
            let events = &data.events;
            let arrived = now_seconds();
            for e in 0..events.len() {
                let value = Some(events.value[e]).filter(|v| v.is_finite());
                let source = data
                    .sources
                    .names()
                    .get(events.source[e] as usize)
                    .map_or("", String::as_str);
                event
                    .execute(params![
                        events.user[e],
                        events.item[e],
                        events.kind[e].as_str(),
                        value,
                        time_of(events.timestamp[e]),
                        source,
                        arrived
                    ])
                    .map_err(|e| self.fail(e))?;
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('dataset', ?1)",
            params![data.name],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))
    }

    fn load(&self) -> Result<(Dataset, Vec<String>)> {
        let connection = self.lock();
        let name: String = connection
            .query_row("SELECT value FROM meta WHERE key = 'dataset'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?
            .unwrap_or_default();
        let mut data = Dataset {
            name,
            ..Dataset::default()
        };
        let mut deleted = Vec::new();
        let mut attribute_rows: Vec<Vec<(String, String)>> = Vec::new();
        {
            let mut items = connection
                .prepare(
                    "SELECT idx, id, title, description, category, brand, price, attributes, deleted
                     FROM items ORDER BY idx",
                )
                .map_err(|e| self.fail(e))?;
            let mut rows = items.query([]).map_err(|e| self.fail(e))?;
            while let Some(row) = rows.next().map_err(|e| self.fail(e))? {
                let idx: i64 = row.get(0).map_err(|e| self.fail(e))?;
                let id: String = row.get(1).map_err(|e| self.fail(e))?;
                if idx != data.items.len() as i64 {
                    return Err(self.corrupt(format!(
                        "item {id} has index {idx}, expected {}",
                        data.items.len()
                    )));
                }
                let get = |i| row.get::<_, String>(i);
                let item = &mut data.items;
                item.intern(&id);
                let last = item.len() - 1;
                item.title[last] = get(2).map_err(|e| self.fail(e))?;
                item.description[last] = get(3).map_err(|e| self.fail(e))?;
                item.category[last] = get(4).map_err(|e| self.fail(e))?;
                item.brand[last] = get(5).map_err(|e| self.fail(e))?;
                item.price[last] = row
                    .get::<_, Option<f64>>(6)
                    .map_err(|e| self.fail(e))?
                    .unwrap_or(f64::NAN);
                let attributes: String = get(7).map_err(|e| self.fail(e))?;
                attribute_rows.push(serde_json::from_str(&attributes).map_err(|e| {
                    self.corrupt(format!(
                        "item {id}: attributes are not a list of pairs: {e}"
                    ))
                })?);
                if row.get::<_, i64>(8).map_err(|e| self.fail(e))? != 0 {
                    deleted.push(id);
                }
            }
        }
        set_attributes(&mut data, &attribute_rows);
        {
            let mut users = connection
                .prepare("SELECT idx, id FROM users ORDER BY idx")
                .map_err(|e| self.fail(e))?;
            let mut rows = users.query([]).map_err(|e| self.fail(e))?;
            while let Some(row) = rows.next().map_err(|e| self.fail(e))? {
                let idx: i64 = row.get(0).map_err(|e| self.fail(e))?;
                let id: String = row.get(1).map_err(|e| self.fail(e))?;
                if idx != data.users.len() as i64 {
                    return Err(self.corrupt(format!(
                        "user {id} has index {idx}, expected {}",
                        data.users.len()
                    )));
                }
                data.users.intern(&id);
            }
        }
        let mut events = connection
            .prepare("SELECT user_idx, item_idx, kind, value, ts, source FROM events ORDER BY seq")
            .map_err(|e| self.fail(e))?;
        let mut rows = events.query([]).map_err(|e| self.fail(e))?;
        while let Some(row) = rows.next().map_err(|e| self.fail(e))? {
            let user: u32 = row.get(0).map_err(|e| self.fail(e))?;
            let item: u32 = row.get(1).map_err(|e| self.fail(e))?;
            let kind: String = row.get(2).map_err(|e| self.fail(e))?;
            let Some(kind) = kind_of(&kind) else {
                return Err(self.corrupt(format!("an event has the unknown kind '{kind}'")));
            };
            if user as usize >= data.users.len() || item as usize >= data.items.len() {
                return Err(self.corrupt(format!(
                    "an event names user {user} or item {item} beyond the tables"
                )));
            }
            let value: Option<f64> = row.get(3).map_err(|e| self.fail(e))?;
            let ts: Option<i64> = row.get(4).map_err(|e| self.fail(e))?;
            let source: String = row.get(5).map_err(|e| self.fail(e))?;
            let source = data.sources.intern(&source) as u16;
            data.events.push(
                user,
                item,
                kind,
                value.unwrap_or(f64::NAN),
                ts.unwrap_or(NO_TIME),
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                source,
            );
        }
        Ok((data, deleted))
    }

    fn append_events(&self, new_users: &[(u32, String)], events: &[IndexedEvent]) -> Result<()> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        {
            let mut add_user = tx
                .prepare_cached("INSERT INTO users (idx, id) VALUES (?1, ?2)")
                .map_err(|e| self.fail(e))?;
            for (idx, id) in new_users {
                add_user
                    .execute(params![idx, id])
                    .map_err(|e| self.fail(e))?;
            }
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (user_idx, item_idx, kind, value, ts, source, arrived)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(|e| self.fail(e))?;
            let arrived = now_seconds();
            for event in events {
                insert
                    .execute(params![
                        event.user,
                        event.item,
                        event.kind.as_str(),
                        event.value,
                        event.timestamp,
                        event.source,
                        arrived
                    ])
                    .map_err(|e| self.fail(e))?;
            }
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    fn put_item(&self, item: &assay_search::ItemDoc) -> Result<()> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        let next: i64 = tx
            .query_row("SELECT COALESCE(MAX(idx) + 1, 0) FROM items", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.fail(e))?;
        let existing: Option<i64> = tx
            .query_row("SELECT idx FROM items WHERE id = ?1", [&item.id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        insert_item(&tx, Some(existing.unwrap_or(next)), item).map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))
    }

    fn delete_item(&self, id: &str) -> Result<bool> {
        let connection = self.lock();
        let changed = connection
            .execute(
                "UPDATE items SET deleted = 1 WHERE id = ?1 AND deleted = 0",
                [id],
            )
            .map_err(|e| self.fail(e))?;
        Ok(changed > 0)
    }

    fn delete_user(&self, id: &str) -> Result<Option<UserDeletion>> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        let idx: Option<i64> = tx
            .query_row(
                "SELECT idx FROM users WHERE id = ?1 AND deleted = 0",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        let Some(idx) = idx else {
            return Ok(None);
        };
        let events = tx
            .execute("DELETE FROM events WHERE user_idx = ?1", [idx])
            .map_err(|e| self.fail(e))?;
        let served = tx
            .execute("DELETE FROM served WHERE user_id = ?1", [id])
            .map_err(|e| self.fail(e))?;
        // The row keeps its index (models address users by it) under an id that says nothing
        // about the person.
        tx.execute(
            "UPDATE users SET id = ?2, deleted = 1 WHERE idx = ?1",
            params![idx, format!("\u{1}deleted-{idx}")],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(Some(UserDeletion {
            events: events as u64,
            served: served as u64,
        }))
    }

    fn log_served(&self, lists: &[ServedList]) -> Result<()> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        {
            let mut list = tx
                .prepare_cached(
                    "INSERT INTO served (route, user_id, context, model_version, ts)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| self.fail(e))?;
            let mut item = tx
                .prepare_cached(
                    "INSERT INTO served_items (served_id, item, position, propensity)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| self.fail(e))?;
            for served in lists {
                list.execute(params![
                    served.route,
                    served.user,
                    served.context,
                    served.model_version,
                    served.timestamp
                ])
                .map_err(|e| self.fail(e))?;
                let id = tx.last_insert_rowid();
                for (id_of_item, position, propensity) in &served.items {
                    item.execute(params![id, id_of_item, position, propensity])
                        .map_err(|e| self.fail(e))?;
                }
            }
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    fn add_model(&self, spec: &str, events: u64, metrics: &serde_json::Value) -> Result<i64> {
        let connection = self.lock();
        connection
            .execute(
                "INSERT INTO models (spec, created, events, metrics) VALUES (?1, ?2, ?3, ?4)",
                params![spec, now_seconds(), events as i64, metrics.to_string()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(connection.last_insert_rowid())
    }

    fn models(&self) -> Result<Vec<ModelRecord>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT version, spec, created, events, metrics, active, available
                 FROM models ORDER BY version",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (version, spec, created, events, metrics, active, available) =
                row.map_err(|e| self.fail(e))?;
            let metrics = serde_json::from_str(&metrics)
                .map_err(|e| self.corrupt(format!("model {version}: metrics: {e}")))?;
            out.push(ModelRecord {
                version,
                spec,
                created,
                events: events as u64,
                metrics,
                active: active != 0,
                available: available != 0,
            });
        }
        Ok(out)
    }

    fn activate_model(&self, version: i64) -> Result<bool> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        let known = tx
            .execute(
                "UPDATE models SET active = 1 WHERE version = ?1 AND available = 1",
                [version],
            )
            .map_err(|e| self.fail(e))?;
        if known == 0 {
            return Ok(false);
        }
        tx.execute(
            "UPDATE models SET active = 0 WHERE version != ?1",
            [version],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(true)
    }

    fn retire_models_except(&self, keep: i64) -> Result<Vec<i64>> {
        let mut connection = self.lock();
        let tx = connection.transaction().map_err(|e| self.fail(e))?;
        let retired: Vec<i64> = {
            let mut statement = tx
                .prepare("SELECT version FROM models WHERE version != ?1 AND available = 1")
                .map_err(|e| self.fail(e))?;
            let rows = statement
                .query_map([keep], |r| r.get(0))
                .map_err(|e| self.fail(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.fail(e))?
        };
        tx.execute(
            "UPDATE models SET available = 0, active = 0 WHERE version != ?1",
            [keep],
        )
        .map_err(|e| self.fail(e))?;
        tx.commit().map_err(|e| self.fail(e))?;
        Ok(retired)
    }

    fn add_key(&self, hash: &str, role: Role) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO api_keys (hash, role, created) VALUES (?1, ?2, ?3)",
                params![hash, role.as_str(), now_seconds()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn key_role(&self, hash: &str) -> Result<Option<Role>> {
        let role: Option<String> = self
            .lock()
            .query_row("SELECT role FROM api_keys WHERE hash = ?1", [hash], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        match role {
            None => Ok(None),
            Some(text) => Role::parse(&text)
                .map(Some)
                .ok_or_else(|| self.corrupt(format!("an API key has the unknown role '{text}'"))),
        }
    }

    fn add_valuation(&self, body: &serde_json::Value) -> Result<()> {
        self.lock()
            .execute(
                "INSERT INTO valuations (created, body) VALUES (?1, ?2)",
                params![now_seconds(), body.to_string()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    fn latest_valuation(&self) -> Result<Option<serde_json::Value>> {
        let body: Option<String> = self
            .lock()
            .query_row(
                "SELECT body FROM valuations ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        body.map(|text| {
            serde_json::from_str(&text).map_err(|e| self.corrupt(format!("valuation: {e}")))
        })
        .transpose()
    }

    fn counts(&self) -> Result<StoreCounts> {
        let connection = self.lock();
        let count = |sql: &str| -> Result<u64> {
            connection
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| self.fail(e))
        };
        Ok(StoreCounts {
            items: count("SELECT COUNT(*) FROM items WHERE deleted = 0")?,
            users: count("SELECT COUNT(*) FROM users WHERE deleted = 0")?,
            events: count("SELECT COUNT(*) FROM events")?,
            served: count("SELECT COUNT(*) FROM served")?,
        })
    }

    fn served(&self, limit: usize) -> Result<Vec<ServedRow>> {
        let connection = self.lock();
        let mut lists = connection
            .prepare("SELECT id, user_id, route FROM served ORDER BY id LIMIT ?1")
            .map_err(|e| self.fail(e))?;
        let mut items = connection
            .prepare(
                "SELECT item, position, propensity FROM served_items WHERE served_id = ?1
                 ORDER BY position",
            )
            .map_err(|e| self.fail(e))?;
        let heads: Vec<(i64, Option<String>, String)> = lists
            .query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.fail(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.fail(e))?;
        let mut out = Vec::with_capacity(heads.len());
        for (id, user, route) in heads {
            let shown: ItemsShown = items
                .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| self.fail(e))?
                .collect::<rusqlite::Result<_>>()
                .map_err(|e| self.fail(e))?;
            out.push((id, user, route, shown));
        }
        Ok(out)
    }

    fn events_per_minute(&self, now: i64, minutes: i64) -> Result<Vec<(i64, String, u64)>> {
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT arrived / 60 AS minute, kind, COUNT(*) FROM events
                 WHERE arrived >= ?1 GROUP BY minute, kind ORDER BY minute, kind",
            )
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([now - minutes * 60], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.fail(e))
    }

    fn integrity_check(&self) -> Result<String> {
        self.lock()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.fail(e))
    }
}

/// Gives the dataset one attribute column per name seen, in first-seen order.
fn set_attributes(data: &mut Dataset, rows: &[Vec<(String, String)>]) {
    let mut names: Vec<String> = Vec::new();
    for row in rows {
        for (name, _) in row {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let mut values = vec![vec![String::new(); rows.len()]; names.len()];
    for (i, row) in rows.iter().enumerate() {
        for (name, value) in row {
            if let Some(column) = names.iter().position(|n| n == name) {
                values[column][i] = value.clone();
            }
        }
    }
    data.items.attributes.names = names;
    data.items.attributes.values = values;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index names of the events table.
    fn event_indexes(store: &SqliteStore) -> Vec<String> {
        let connection = store.lock();
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
            .unwrap();
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        names
    }

    #[test]
    fn a_store_of_the_first_schema_is_brought_up_to_date_keeping_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // A file as the first schema left it, with one user and one event.
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(MIGRATIONS[0]).unwrap();
            connection.pragma_update(None, "user_version", 1).unwrap();
            connection
                .execute("INSERT INTO users (idx, id) VALUES (0, 'u')", [])
                .unwrap();
            connection
                .execute(
                    "INSERT INTO events (user_idx, item_idx, kind, source, arrived)
                     VALUES (0, 0, 'click', '', 1)",
                    [],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(event_indexes(&store), vec!["events_arrived".to_owned()]);
        // Deleting the user still finds their event, by a scan.
        let removed = store.delete_user("u").unwrap().unwrap();
        assert_eq!(removed.events, 1);
        assert_eq!(store.integrity_check().unwrap(), "ok");
        // A fresh store gets the same schema.
        let fresh = SqliteStore::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(event_indexes(&fresh), event_indexes(&store));
    }
}
