//! assay as a service: search, recommendations and event ingestion over HTTP, on a durable
//! store.
//!
//! [`store::Store`] is the record (items, users, events, served lists, model versions, API
//! keys, valuations); [`store::SqliteStore`] keeps it in one SQLite file. [`engine::Engine`]
//! derives what serving needs from it (the catalog in memory, a search index, the active
//! model) and applies every change to the store first. [`http::router`] is the axum front:
//! routes from the one table in [`routes`], API keys with roles, limits, JSON errors and
//! Prometheus metrics.
//!
//! **Key design decision:** the handlers speak only to the engine and the engine only to the
//! `Store` trait, so a server database can take SQLite's place without touching either; and
//! nothing in memory runs ahead of the store, so a restart answers as the service did before.

#![warn(missing_docs)]

pub mod bandit;
mod dashboard;
pub mod engine;
pub mod http;
pub mod metrics;
mod models;
pub mod report;
pub mod retrain;
pub mod routes;
pub mod store;

pub use bandit::BanditConfig;
pub use engine::{Engine, EngineConfig, ServeError};
pub use http::{router, App, Auth};
pub use retrain::{RetrainPolicy, Retrainer};
pub use store::{Role, SqliteStore, Store};
