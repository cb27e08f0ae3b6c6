//! The HTTP front of the engine: routes, API keys, limits, JSON errors and metrics.
//!
//! Every answer that is not a success is JSON `{"error", "detail"}` with a 4xx status for
//! anything the caller can fix; the last layer rewrites the few plain-text answers of the
//! framework itself (an unknown route, a wrong method, a body over the limit) into that shape.
//! Work that takes CPU or waits for the disk runs on the blocking pool, so a slow fit or an
//! fsync never stalls the threads that accept requests.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::engine::{Engine, ServeError};
use crate::metrics::Metrics;
use crate::routes;
use crate::store::{NewEvent, Role};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Longest search query, in characters (the search library's own limit is in bytes, and a
/// character is at most four).
pub const MAX_QUERY_CHARS: usize = 1024;
/// Most results one request may ask for.
pub const MAX_K: usize = 1000;
/// Longest a request may take before it is answered with 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether requests need a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Every route but `/health` needs a key with the route's role.
    Keys,
    /// No key is asked for (only allowed on a loopback address; the caller checks).
    Off,
}

/// What every handler shares.
pub struct App {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Request counters and histograms.
    pub metrics: Metrics,
    auth: Auth,
    /// Digests of keys already checked against the store, with their roles.
    known_keys: RwLock<HashMap<String, Role>>,
}

impl App {
    /// An application over `engine`.
    pub fn new(engine: Arc<Engine>, auth: Auth) -> Arc<App> {
        Arc::new(App {
            engine,
            metrics: Metrics::default(),
            auth,
            known_keys: RwLock::new(HashMap::new()),
        })
    }

    fn role_of(&self, key: &str) -> Result<Option<Role>, ApiError> {
        let hash = hash_key(key);
        if let Some(role) = self
            .known_keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hash)
        {
            return Ok(Some(*role));
        }
        let role = self
            .engine
            .store()
            .key_role(&hash)
            .map_err(ServeError::from)?;
        if let Some(role) = role {
            self.known_keys
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(hash, role);
        }
        Ok(role)
    }
}

/// The SHA-256 hex digest under which a key is stored.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new random key (`assay_` and 64 hex digits from a cryptographic generator) and
/// its digest.
pub fn new_key() -> (String, String) {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    // The thread generator is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    let key = format!(
        "assay_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let hash = hash_key(&key);
    (key, hash)
}

/// An error answer: a status, a short kind, and what exactly was wrong.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    fn new(status: StatusCode, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            detail: detail.into(),
        }
    }

    fn bad(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, detail)
    }
}

impl From<ServeError> for ApiError {
    fn from(error: ServeError) -> ApiError {
        let status = match &error {
            ServeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServeError::NotFound(_) => StatusCode::NOT_FOUND,
            ServeError::Conflict(_) => StatusCode::CONFLICT,
            ServeError::Store(_) | ServeError::Search(_) | ServeError::Model(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError::new(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.detail)
    }
}

fn error_response(status: StatusCode, detail: &str) -> Response {
    let kind = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase();
    (status, Json(json!({"error": kind, "detail": detail}))).into_response()
}

/// The router with every route, key checks, limits and metrics.
pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/", get(dashboard))
        .route("/search", get(search))
        .route("/recommend/{user}", get(recommend))
        .route("/similar/{item}", get(similar))
        .route("/events", post(events))
        .route("/items/{id}", put(put_item).delete(delete_item))
        .route("/users/{id}", delete(delete_user))
        .route("/value", get(value).post(post_value))
        .route("/report", get(report))
        .route("/ope", get(ope))
        .route("/ab", get(ab))
        .route("/models", get(models).post(fit_model))
        .route("/models/{version}/activate", post(activate))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route_layer(middleware::from_fn_with_state(app.clone(), authorize))
        .route_layer(middleware::from_fn_with_state(app.clone(), observe));
    api.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(time_limit))
        .layer(middleware::from_fn(json_errors))
        .with_state(app)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {} {}", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Counts and times every routed request.
async fn observe(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    app.metrics.record(
        &format!("{method} {route}"),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// 401 without a known key, 403 when the key's role is below the route's.
async fn authorize(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let needed = routes::route(request.method().as_str(), &path).and_then(|r| r.role);
    let (Some(needed), Auth::Keys) = (needed, app.auth) else {
        return next.run(request).await;
    };
    let key = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| {
            request
                .headers()
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
        });
    let Some(key) = key else {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "send an API key: `Authorization: Bearer KEY` (make one with `assay keys create`)",
        );
    };
    match app.role_of(key.trim()) {
        Err(error) => error.into_response(),
        Ok(None) => error_response(StatusCode::UNAUTHORIZED, "unknown API key"),
        Ok(Some(role)) if role < needed => error_response(
            StatusCode::FORBIDDEN,
            &format!(
                "this route needs the {} role; the key has {}",
                needed.as_str(),
                role.as_str()
            ),
        ),
        Ok(Some(_)) => next.run(request).await,
    }
}

async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "the request took longer than {} s",
                REQUEST_TIMEOUT.as_secs()
            ),
        ),
    }
}

/// Rewrites the framework's plain-text error answers into the JSON error shape.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    error_response(status, String::from_utf8_lossy(&body).trim())
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

/// Query parameters, checked against the names a route knows.
struct Params(Vec<(String, String)>);

impl Params {
    fn of(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        known: &[&str],
    ) -> Result<Params, ApiError> {
        let Query(pairs) = query.map_err(|e| ApiError::bad(format!("query string: {e}")))?;
        for (name, _) in &pairs {
            if !known.contains(&name.as_str()) {
                return Err(ApiError::bad(format!(
                    "query parameter '{name}' is unknown; known: {}",
                    known.join(", ")
                )));
            }
        }
        for (i, (name, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::bad(format!(
                    "query parameter '{name}' is repeated"
                )));
            }
        }
        Ok(Params(pairs))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn k(&self) -> Result<usize, ApiError> {
        let Some(text) = self.get("k") else {
            return Ok(10);
        };
        match text.parse::<usize>() {
            Ok(k) if (1..=MAX_K).contains(&k) => Ok(k),
            _ => Err(ApiError::bad(format!(
                "k: expected an integer from 1 to {MAX_K}, got '{text}'"
            ))),
        }
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") | Some("") => Ok(true),
            Some(other) => Err(ApiError::bad(format!(
                "{name}: expected true or false, got '{other}'"
            ))),
        }
    }
}

fn path_value(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(value)| value)
        .map_err(|e| ApiError::bad(format!("path: {e}")))
}

async fn health(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "model_version": app.engine.active().map(|m| m.version),
        "items": app.engine.index_size(),
    }))
}

async fn search(
    State(app): State<Arc<App>>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = Params::of(query, &["q", "k", "filter", "mode", "explain", "user"])?;
    let Some(q) = params.get("q") else {
        return Err(ApiError::bad("q: the query is missing"));
    };
    let chars = q.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(ApiError::bad(format!(
            "q: {chars} characters; at most {MAX_QUERY_CHARS}"
        )));
    }
    let q = assay_search::check_query(q)
        .map_err(|e| ApiError::bad(format!("q: {e}")))?
        .to_owned();
    let k = params.k()?;
    let mut options = assay_search::SearchOptions {
        k,
        candidates: k.max(100),
        explain: params.flag("explain")?,
        ..assay_search::SearchOptions::default()
    };
    if let Some(mode) = params.get("mode") {
        options.mode =
            assay_search::Mode::parse(mode).map_err(|e| ApiError::bad(format!("mode: {e}")))?;
    }
    if let Some(filter) = params.get("filter") {
        options.filters = assay_search::Filters::parse(filter)
            .map_err(|e| ApiError::bad(format!("filter: {e}")))?;
    }
    let user = params.get("user").map(str::to_owned);
    if let Some(user) = &user {
        crate::engine::check_id("user", user)?;
    }
    let engine = app.engine.clone();
    let body = blocking(move || {
        let results = engine.search(&q, &options)?;
        engine.log_search(&q, user.as_deref(), &results);
        Ok(json!({
            "query": q,
            "mode": options.mode,
            "hits": results.hits,
            "facets": results.facets,
            "intent": results.intent,
            "candidates": results.candidates,
        }))
    })
    .await?;
    Ok(Json(body).into_response())
}

async fn recommend(
    State(app): State<Arc<App>>,
    user: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let user = path_value(user)?;
    let k = Params::of(query, &["k"])?.k()?;
    let engine = app.engine.clone();
    let list = blocking(move || engine.recommend(&user, k)).await?;
    Ok(Json(list).into_response())
}

async fn similar(
    State(app): State<Arc<App>>,
    item: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let item = path_value(item)?;
    let k = Params::of(query, &["k"])?.k()?;
    let engine = app.engine.clone();
    let list = blocking(move || engine.similar(&item, k)).await?;
    Ok(Json(list).into_response())
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad(format!("body: {e}")))
}

async fn events(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let batch: Vec<NewEvent> = match json_body(body) {
        Ok(batch) => batch,
        Err(error) => {
            app.metrics.rejected(1);
            return Err(error);
        }
    };
    let engine = app.engine.clone();
    let n = batch.len() as u64;
    match blocking(move || engine.ingest(&batch)).await {
        Ok(total) => {
            app.metrics.ingested(n);
            Ok(Json(json!({"accepted": n, "events": total})).into_response())
        }
        Err(error) => {
            app.metrics.rejected(n.max(1));
            Err(error)
        }
    }
}

/// The body of `PUT /items/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    brand: String,
    #[serde(default)]
    price: Option<f64>,
    #[serde(default)]
    attributes: std::collections::BTreeMap<String, String>,
}

async fn put_item(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path_value(id)?;
    let item: ItemBody = json_body(body)?;
    let doc = assay_search::ItemDoc {
        id: id.clone(),
        title: item.title,
        description: item.description,
        category: item.category,
        brand: item.brand,
        price: item.price,
        attributes: item.attributes.into_iter().collect(),
    };
    let engine = app.engine.clone();
    blocking(move || engine.put_item(&doc)).await?;
    Ok(Json(json!({"item": id, "status": "stored"})).into_response())
}

async fn delete_item(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_value(id)?;
    let engine = app.engine.clone();
    let answer = id.clone();
    blocking(move || engine.delete_item(&id)).await?;
    Ok(Json(json!({"item": answer, "status": "deleted"})).into_response())
}

async fn delete_user(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_value(id)?;
    let engine = app.engine.clone();
    let deleted = blocking(move || engine.delete_user(&id)).await?;
    Ok(Json(deleted).into_response())
}

async fn value(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let engine = app.engine.clone();
    match blocking(move || Ok(engine.store().latest_valuation()?)).await? {
        Some(body) => Ok(Json(body).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no valuation is stored yet",
        )),
    }
}

async fn report(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    use crate::report::ReportState;
    let engine = app.engine.clone();
    let Some((version, state)) = blocking(move || Ok(engine.report())).await? else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no model is active yet",
        ));
    };
    match state {
        ReportState::Ready(page) => Ok(Html(page.as_str().to_owned()).into_response()),
        ReportState::Running => {
            let page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
                 <meta http-equiv=\"refresh\" content=\"30\">\n<title>assay report</title>\n\
                 <style>{}</style>\n</head>\n<body>\n<h1>Data-value report</h1>\n<p>The report \
                 of model version {version} is being made (a study refits the model many \
                 times); this page reloads every 30 s.</p>\n</body>\n</html>\n",
                assay_report::STYLE
            );
            Ok((StatusCode::ACCEPTED, Html(page)).into_response())
        }
        ReportState::Failed(reason) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("the report of model version {version} could not be made: {reason}"),
        )),
    }
}

async fn ope(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    match app.engine.ope() {
        Some(summary) => Ok(Json(summary).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            if app.engine.bandit().is_some() {
                "the re-ranker has not served a logged list yet"
            } else {
                "the re-ranker is off (--no-bandit): there is no stochastic policy to evaluate"
            },
        )),
    }
}

async fn ab(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    match app.engine.ab() {
        Some(summary) => Ok(Json(summary).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no A/B test runs: start the service with --ab-control SHARE (and the re-ranker on)",
        )),
    }
}

async fn post_value(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let document: serde_json::Value = json_body(body)?;
    if !document.is_object() {
        return Err(ApiError::bad("body: expected a JSON object"));
    }
    if let Some(users) = document.get("users") {
        let valid = users
            .as_object()
            .is_some_and(|m| m.values().all(|v| v.as_f64().is_some()));
        if !valid {
            return Err(ApiError::bad(
                "body.users: expected an object mapping user ids to numbers",
            ));
        }
    }
    let engine = app.engine.clone();
    blocking(move || Ok(engine.store().add_valuation(&document)?)).await?;
    Ok(Json(json!({"status": "stored"})).into_response())
}

async fn models(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let engine = app.engine.clone();
    let list = blocking(move || Ok(engine.store().models()?)).await?;
    Ok(Json(list).into_response())
}

async fn fit_model(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let engine = app.engine.clone();
    let record = blocking(move || engine.fit_version()).await?;
    Ok(Json(record).into_response())
}

async fn activate(
    State(app): State<Arc<App>>,
    version: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let text = path_value(version)?;
    let version: i64 = text.parse().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::bad(format!(
            "version: expected a positive integer, got '{text}'"
        ))
    })?;
    let engine = app.engine.clone();
    let record = blocking(move || engine.activate(version)).await?;
    Ok(Json(record).into_response())
}

async fn metrics(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let counts = app.engine.counts();
    let text = app.metrics.render(&app.engine, &counts);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    Ok(response)
}

async fn openapi() -> Json<serde_json::Value> {
    Json(routes::openapi())
}

async fn dashboard(State(app): State<Arc<App>>) -> Result<Html<String>, ApiError> {
    let engine = app.engine.clone();
    let (ingested, rejected) = app.metrics.event_counts();
    let page = blocking(move || crate::dashboard::render(&engine, ingested, rejected)).await?;
    Ok(Html(page))
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The method of a route's text, for tests that walk [`routes::ROUTES`].
pub fn method_of(text: &str) -> Method {
    Method::from_bytes(text.as_bytes()).unwrap_or(Method::GET)
}
