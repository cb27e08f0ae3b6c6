//! A small shop and an in-process service over it, shared by the HTTP tests.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use assay_core::{Dataset, EventKind, NO_POSITION, NO_QUERY, NO_SESSION};
use assay_encoder::HashEncoder;
use assay_recommend::ModelSpec;
use assay_search::IndexConfig;
use assay_serve::http::new_key;
use assay_serve::{router, App, Auth, Engine, EngineConfig, Role, SqliteStore, Store};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub const CATEGORIES: [&str; 3] = ["Shoes", "Bags", "Hats"];
pub const ITEMS_PER_CATEGORY: usize = 8;
pub const USERS: usize = 24;

/// Item `i`'s id.
pub fn item(i: usize) -> String {
    format!("i{i:02}")
}

/// User `u`'s id.
pub fn user(u: usize) -> String {
    format!("u{u:02}")
}

/// 24 items in three categories and 24 users, each clicking four items of one category
/// (user u: category u % 3, items picked by u), plus one impression per user.
pub fn shop() -> Dataset {
    shop_without(None)
}

/// The shop with one user's events and row left out entirely.
pub fn shop_without(left_out: Option<usize>) -> Dataset {
    let mut data = Dataset {
        name: "test-shop".into(),
        ..Dataset::default()
    };
    for i in 0..CATEGORIES.len() * ITEMS_PER_CATEGORY {
        let idx = data.items.intern(&item(i)) as usize;
        let category = CATEGORIES[i / ITEMS_PER_CATEGORY];
        data.items.title[idx] = format!("{} model {i}", category.trim_end_matches('s'));
        data.items.description[idx] = format!("A sturdy {} number {i}", category.to_lowercase());
        data.items.category[idx] = category.to_owned();
        data.items.brand[idx] = if i % 2 == 0 { "Acme" } else { "Lunara" }.to_owned();
        data.items.price[idx] = 10.0 + i as f64;
    }
    let source = data.sources.intern("web") as u16;
    for u in 0..USERS {
        if Some(u) == left_out {
            continue;
        }
        let uidx = data.users.intern(&user(u));
        let base = (u % 3) * ITEMS_PER_CATEGORY;
        for j in 0..4 {
            let i = base + (u / 3 + j * (1 + u % 2)) % ITEMS_PER_CATEGORY;
            data.events.push(
                uidx,
                i as u32,
                EventKind::Click,
                f64::NAN,
                1_700_000_000 + (u * 10 + j) as i64,
                NO_SESSION,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                source,
            );
        }
        data.events.push(
            uidx,
            ((u * 5) % 24) as u32,
            EventKind::Impression,
            f64::NAN,
            1_700_000_000,
            NO_SESSION,
            NO_QUERY,
            NO_POSITION,
            f64::NAN,
            source,
        );
    }
    data
}

/// The engine settings of the tests: ItemKNN, seed 7, models under `dir`.
pub fn config(dir: &Path) -> EngineConfig {
    EngineConfig {
        model: ModelSpec::parse("itemknn").expect("itemknn parses"),
        seed: 7,
        models_dir: dir.join("models"),
        index: IndexConfig {
            threads: 1,
            ..IndexConfig::default()
        },
        metrics_window: 100_000,
        // The exactness tests compare the model's own ranking; the re-ranker has its own.
        bandit: None,
    }
}

/// Opens the engine on the store file in `dir`, importing `data` on first start.
pub fn engine(dir: &Path, data: &Dataset) -> Arc<Engine> {
    engine_with(dir, data, config(dir))
}

/// `engine` with other settings.
pub fn engine_with(dir: &Path, data: &Dataset, config: EngineConfig) -> Arc<Engine> {
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join("assay.db")).expect("store opens"));
    let encoder: Arc<dyn assay_encoder::Encoder> = Arc::new(HashEncoder::new(64));
    Arc::new(
        Engine::open(store, config, Some(data), encoder.clone(), encoder).expect("engine opens"),
    )
}

/// An in-process service with one key per role.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub app: Arc<App>,
    pub router: Router,
    pub read: String,
    pub write: String,
    pub admin: String,
}

impl Service {
    pub fn start(auth: Auth) -> Service {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine(dir.path(), &shop());
        let mut keys = Vec::new();
        for role in [Role::Read, Role::Write, Role::Admin] {
            let (key, hash) = new_key();
            engine.store().add_key(&hash, role).expect("key stored");
            keys.push(key);
        }
        let app = App::new(engine, auth);
        let router = router(app.clone());
        let admin = keys.pop().unwrap_or_default();
        let write = keys.pop().unwrap_or_default();
        let read = keys.pop().unwrap_or_default();
        Service {
            dir,
            app,
            router,
            read,
            write,
            admin,
        }
    }

    /// Sends one request; returns the status and the body (JSON when it parses, else a
    /// string value).
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, serde_json::Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .expect("request builds");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body reads")
            .to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// `call` with the admin key.
    pub async fn admin(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        self.call(
            method,
            uri,
            Some(&self.admin.clone()),
            body.map(|b| b.as_bytes().to_vec()),
        )
        .await
    }
}

/// The item ids of a recommendation or similar-items answer.
pub fn items_of(answer: &serde_json::Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["item"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
