// tidy: long file: the HTTP API end to end over one shared test shop, one test per behaviour;
// splitting it would repeat the shop and its server set-up.
//! The HTTP API end to end, in process: every answer checked against values derived here
//! from the test shop, not from the service.

mod common;

use std::sync::Arc;

use assay_core::{EventKind, Interactions};
use assay_serve::routes::ROUTES;
use assay_serve::{Auth, SqliteStore, Store};
use axum::http::StatusCode;
use common::{item, items_of, shop, shop_without, user, Service, USERS};
use serde_json::json;

fn events_json(events: &[(String, String, &str)]) -> String {
    let list: Vec<_> = events
        .iter()
        .map(|(u, i, kind)| json!({"user": u, "item": i, "kind": kind, "timestamp": 1_800_000_000}))
        .collect();
    serde_json::to_string(&list).expect("serializes")
}

/// A route's path with placeholders filled by ids that exist.
fn concrete(path: &str) -> String {
    let id = if path.starts_with("/users") {
        user(2)
    } else {
        item(2)
    };
    path.replace("{user}", &user(1))
        .replace("{item}", &item(1))
        .replace("{id}", &id)
        .replace("{version}", "1")
}

#[tokio::test]
async fn an_acknowledged_batch_is_in_the_store_after_reopening_it() {
    let service = Service::start(Auth::Keys);
    let batch = events_json(&[
        ("newcomer".into(), item(3), "click"),
        (user(0), item(20), "purchase"),
    ]);
    let (status, answer) = service
        .call(
            "POST",
            "/events",
            Some(&service.write.clone()),
            Some(batch.into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let before = shop().events.len() as u64;
    assert_eq!(answer["events"], json!(before + 2));
    let path = service.dir.path().join("assay.db");
    drop(service.router);
    drop(service.app);
    let reopened = SqliteStore::open(&path).expect("reopens");
    let (data, _) = reopened.load().expect("loads");
    assert_eq!(data.events.len() as u64, before + 2);
    let last = data.events.len() - 1;
    assert_eq!(data.users.ids.name(data.events.user[last - 1]), "newcomer");
    assert_eq!(data.items.ids.name(data.events.item[last - 1]), item(3));
    assert_eq!(data.events.kind[last], EventKind::Purchase);
    assert_eq!(data.items.ids.name(data.events.item[last]), item(20));
    assert_eq!(reopened.integrity_check().expect("checks"), "ok");
    assert_eq!(reopened.schema_version().expect("version"), 2);
}

#[tokio::test]
async fn a_batch_naming_an_unknown_item_is_refused_whole() {
    let service = Service::start(Auth::Keys);
    let batch = events_json(&[
        (user(0), item(1), "click"),
        (user(0), "nope".into(), "click"),
    ]);
    let (status, answer) = service
        .call(
            "POST",
            "/events",
            Some(&service.write.clone()),
            Some(batch.into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("[1].item"),
        "{answer}"
    );
    let counts = service.app.engine.store().counts().expect("counts");
    assert_eq!(counts.events, shop().events.len() as u64);
}

#[tokio::test]
async fn a_put_item_is_found_by_search_and_a_deleted_one_is_gone() {
    let service = Service::start(Auth::Keys);
    let write = service.write.clone();
    let body = br#"{"title": "Zanzibar umbrella", "category": "Rain", "price": 12.5}"#;
    let (status, answer) = service
        .call("PUT", "/items/brolly", Some(&write), Some(body.to_vec()))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, found) = service
        .call(
            "GET",
            "/search?q=zanzibar&mode=bm25",
            Some(&service.read.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["hits"][0]["id"], "brolly");
    assert_eq!(found["hits"].as_array().map(Vec::len), Some(1));

    let (status, _) = service
        .call("DELETE", "/items/brolly", Some(&write), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = service
        .call(
            "GET",
            "/search?q=zanzibar&mode=bm25",
            Some(&service.read.clone()),
            None,
        )
        .await;
    assert_eq!(after["hits"], json!([]));
    let (status, again) = service
        .call("DELETE", "/items/brolly", Some(&write), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{again}");
    // The item came and went after the model was fitted: the model's lists still answer
    // (the item's deletion once masked a score the model does not have, a 500).
    let read = service.read.clone();
    for path in [
        "/similar/i00?k=5",
        "/recommend/u00?k=5",
        "/recommend/nobody?k=5",
    ] {
        let (status, answer) = service.call("GET", path, Some(&read), None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        assert_eq!(items_of(&answer).len(), 5, "{path}");
    }
    // A deleted item takes no events.
    let batch = events_json(&[(user(0), "brolly".into(), "click")]);
    let (status, _) = service
        .call("POST", "/events", Some(&write), Some(batch.into_bytes()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn limits_answer_400_with_a_json_error() {
    let service = Service::start(Auth::Keys);
    let read = service.read.clone();
    for uri in [
        "/recommend/u01?k=1001",
        "/recommend/u01?k=0",
        "/recommend/u01?k=-3",
        "/similar/i01?k=99999999999999999999999",
        "/search?q=shoe&k=1001",
        "/search?k=5",
        "/search?q=shoe&mode=fuzzy",
        "/search?q=shoe&filter=price%3Dabc",
        "/search?q=shoe&colour=red",
    ] {
        let (status, answer) = service.call("GET", uri, Some(&read), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {answer}");
        assert!(
            answer["error"].is_string() && answer["detail"].is_string(),
            "{uri}: {answer}"
        );
    }
    let long = format!("/search?q={}", "a".repeat(5000));
    let (status, _) = service.call("GET", &long, Some(&read), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let huge = vec![b' '; assay_serve::http::MAX_BODY_BYTES + 1];
    let (status, answer) = service
        .call("POST", "/events", Some(&service.write.clone()), Some(huge))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert!(answer["detail"].is_string());
    let (status, answer) = service.call("GET", "/nowhere", Some(&read), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"], "not found");
    let (status, answer) = service.call("PATCH", "/events", Some(&read), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{answer}");
    assert!(answer["detail"].is_string());
}

#[tokio::test]
async fn every_route_answers_401_without_a_key_403_below_its_role_and_serves_with_it() {
    let service = Service::start(Auth::Keys);
    let keys = [
        (assay_serve::Role::Read, service.read.clone()),
        (assay_serve::Role::Write, service.write.clone()),
        (assay_serve::Role::Admin, service.admin.clone()),
    ];
    let mut checked = 0;
    for route in ROUTES {
        let uri = if route.path == "/search" {
            "/search?q=shoe".to_owned()
        } else {
            // Versions fitted before a user's deletion are dropped: activate the current one.
            let active = service.app.engine.active().map_or(1, |m| m.version);
            concrete(route.path).replace("/models/1/", &format!("/models/{active}/"))
        };
        let body = match (route.method, route.path) {
            ("POST", "/events") => Some(events_json(&[(user(3), item(4), "click")])),
            ("PUT", _) => Some(r#"{"title": "A new hat"}"#.to_owned()),
            ("POST", "/value") => Some(r#"{"users": {"u05": 0.25}}"#.to_owned()),
            _ => None,
        };
        let bytes = || body.clone().map(String::into_bytes);
        let (status, _) = service.call(route.method, &uri, None, bytes()).await;
        let (wrong, _) = service
            .call(route.method, &uri, Some("assay_not-a-key"), bytes())
            .await;
        match route.role {
            None => assert_eq!(status, StatusCode::OK, "{} {uri}", route.method),
            Some(needed) => {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {uri}", route.method);
                assert_eq!(wrong, StatusCode::UNAUTHORIZED, "{} {uri}", route.method);
                for (role, key) in &keys {
                    if (route.method, route.path) == ("DELETE", "/items/{id}") {
                        // Each allowed role deletes the item anew.
                        let body = br#"{"title": "Back again"}"#.to_vec();
                        let (status, _) = service
                            .call("PUT", &uri, Some(&service.admin.clone()), Some(body))
                            .await;
                        assert_eq!(status, StatusCode::OK);
                    }
                    let (status, answer) =
                        service.call(route.method, &uri, Some(key), bytes()).await;
                    if *role < needed {
                        assert_eq!(
                            status,
                            StatusCode::FORBIDDEN,
                            "{} {uri} as {role:?}",
                            route.method
                        );
                    } else {
                        assert!(
                            status.is_success()
                                || (["/value", "/ope", "/ab"].contains(&route.path)
                                    && status == StatusCode::NOT_FOUND),
                            "{} {uri} as {role:?}: {status} {answer}",
                            route.method
                        );
                    }
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, ROUTES.len());
}

#[tokio::test]
async fn without_auth_no_key_is_needed() {
    let service = Service::start(Auth::Off);
    let (status, answer) = service.call("GET", "/recommend/u01?k=3", None, None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(items_of(&answer).len(), 3);
}

/// Preference events per item in the test shop, most first, ties by index.
fn popularity_order() -> Vec<String> {
    let data = shop();
    let mut counts = vec![0usize; data.items.len()];
    for e in 0..data.events.len() {
        if data.events.kind[e] != EventKind::Impression {
            counts[data.events.item[e] as usize] += 1;
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order.into_iter().map(item).collect()
}

#[tokio::test]
async fn a_cold_user_gets_the_most_popular_items_and_the_list_is_logged() {
    let service = Service::start(Auth::Keys);
    let (status, answer) = service
        .call(
            "GET",
            "/recommend/stranger?k=5",
            Some(&service.read.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["strategy"], "popularity");
    let expected: Vec<String> = popularity_order().into_iter().take(5).collect();
    assert_eq!(items_of(&answer), expected);
    service.app.engine.flush_served();
    let served = service.app.engine.store().served(10).expect("served lists");
    let (_, who, route, shown) = served.last().expect("one list");
    assert_eq!(
        (who.as_deref(), route.as_str()),
        (Some("stranger"), "recommend")
    );
    let logged: Vec<(String, u32, f64)> = expected
        .iter()
        .enumerate()
        .map(|(p, i)| (i.clone(), p as u32 + 1, 1.0))
        .collect();
    assert_eq!(shown, &logged);
}

/// Top-k of every user of `data` from ItemKNN with the tests' seed, by user id.
fn reference_lists(data: &assay_core::Dataset, k: usize) -> Vec<(String, Vec<String>)> {
    let rows: Vec<u32> = (0..data.events.len() as u32)
        .filter(|&e| data.events.kind[e as usize] != EventKind::Impression)
        .collect();
    let train = Interactions::from_events(data, &rows);
    let model = assay_recommend::ModelSpec::parse("itemknn")
        .expect("parses")
        .with_seed(7)
        .fit(&train, data, None, &|_, _| {})
        .expect("fits");
    (0..data.users.len() as u32)
        .map(|u| {
            let list = model
                .top_k(u, k, &[])
                .into_iter()
                .map(|(i, _)| data.items.ids.name(i).to_owned())
                .collect();
            (data.users.ids.name(u).to_owned(), list)
        })
        .collect()
}

#[tokio::test]
async fn after_deleting_a_user_everyone_else_gets_what_a_model_without_them_gives() {
    let service = Service::start(Auth::Keys);
    let (status, _) = service
        .admin(
            "POST",
            "/value",
            Some(r#"{"method": "test", "users": {"u05": 0.125}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = service.admin("DELETE", "/users/u05", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"], json!(0.125));
    assert_eq!(answer["removed"]["events"], json!(5));
    assert_eq!(answer["model_version"], json!(2));
    assert_eq!(answer["retired_versions"], json!([1]));
    // ItemKNN, fitted on the data as it stood: updated exactly, without a refit.
    assert_eq!(answer["update"], json!("exact"));

    let reference = reference_lists(&shop_without(Some(5)), 10);
    assert_eq!(reference.len(), USERS - 1);
    let read = service.read.clone();
    for (id, expected) in reference {
        let (status, got) = service
            .call("GET", &format!("/recommend/{id}?k=10"), Some(&read), None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(got["strategy"], "model", "{id}");
        assert_eq!(items_of(&got), expected, "{id}");
    }
    // The user is unknown now: a cold user, and nothing of theirs is left in the store.
    let (_, gone) = service
        .call("GET", "/recommend/u05?k=3", Some(&read), None)
        .await;
    assert_eq!(gone["strategy"], "popularity");
    let (data, _) = service.app.engine.store().load().expect("loads");
    assert!(data.users.ids.get("u05").is_none());
    let (status, _) = service.admin("DELETE", "/users/u05", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, answer) = service.admin("POST", "/models/1/activate", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[test]
fn an_ease_version_forgets_a_deleted_user_exactly_up_to_float_ties() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = common::config(dir.path());
    config.model = assay_recommend::ModelSpec::parse("ease:reg=10").expect("parses");
    let engine = common::engine_with(dir.path(), &shop(), config);
    let deleted = engine.delete_user(&user(5)).expect("deletes");
    assert_eq!(deleted.update, "exact");
    // The refit without the user, and its scores.
    let data = shop_without(Some(5));
    let rows: Vec<u32> = (0..data.events.len() as u32)
        .filter(|&e| data.events.kind[e as usize] != EventKind::Impression)
        .collect();
    let train = Interactions::from_events(&data, &rows);
    let refit = assay_recommend::ModelSpec::parse("ease:reg=10")
        .expect("parses")
        .fit(&train, &data, None, &|_, _| {})
        .expect("fits");
    let mut swapped = 0;
    for u in 0..data.users.len() as u32 {
        let id = data.users.ids.name(u);
        let expected = refit.top_k(u, 10, &[]);
        let got = engine.recommend(id, 10).expect("recommends");
        assert_eq!(got.strategy, "model", "{id}");
        let got: Vec<String> = got.items.into_iter().map(|s| s.item).collect();
        let score_of = |name: &str| {
            let i = data.items.ids.get(name).expect("known item");
            expected.iter().find(|e| e.0 == i).map(|e| e.1)
        };
        // The same items; where the order differs, the refit scores them equal to float
        // precision (the update and the refit round differently).
        let mut want: Vec<&str> = expected.iter().map(|e| data.items.ids.name(e.0)).collect();
        let mut have: Vec<&str> = got.iter().map(String::as_str).collect();
        for (w, h) in want.iter().zip(&have) {
            if w != h {
                let (a, b) = (
                    score_of(w).expect("in the list"),
                    score_of(h).expect("in the refit's list"),
                );
                assert!(
                    (a - b).abs() <= 1e-5 * a.abs().max(1e-3),
                    "{id}: {w} {a} vs {h} {b}"
                );
                swapped += 1;
            }
        }
        want.sort_unstable();
        have.sort_unstable();
        assert_eq!(have, want, "{id}");
    }
    // The fixture's users are near-symmetric, so a few ties exist; most lists are identical.
    assert!(swapped < data.users.len(), "{swapped} positions differ");
}

#[tokio::test]
async fn rolling_back_restores_the_previous_versions_exact_lists() {
    let service = Service::start(Auth::Keys);
    let read = service.read.clone();
    let mut before = Vec::new();
    for u in 0..USERS {
        let (_, answer) = service
            .call(
                "GET",
                &format!("/recommend/{}?k=5", user(u)),
                Some(&read),
                None,
            )
            .await;
        before.push(answer);
    }
    // New users click across categories: version 2 ranks differently, and the histories of
    // the users compared stay as they were (what they already saw is never recommended).
    let mut batch = Vec::new();
    for u in 0..USERS {
        for i in [1, 9, 17] {
            batch.push((format!("new{u}"), item((i + u) % 24), "click"));
        }
    }
    let (status, _) = service
        .call(
            "POST",
            "/events",
            Some(&service.write.clone()),
            Some(events_json(&batch).into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, fitted) = service.admin("POST", "/models", None).await;
    assert_eq!(status, StatusCode::OK, "{fitted}");
    assert_eq!(fitted["version"], json!(2));
    assert!(fitted["metrics"]["test"]["recall"].is_number(), "{fitted}");
    let mut changed = 0;
    for (u, old) in before.iter().enumerate() {
        let (_, answer) = service
            .call(
                "GET",
                &format!("/recommend/{}?k=5", user(u)),
                Some(&read),
                None,
            )
            .await;
        assert_eq!(answer["model_version"], json!(2));
        changed += usize::from(items_of(&answer) != items_of(old));
    }
    assert!(changed > 0, "version 2 should rank differently for someone");
    let (status, answer) = service.admin("POST", "/models/1/activate", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    for (u, old) in before.iter().enumerate() {
        let (_, answer) = service
            .call(
                "GET",
                &format!("/recommend/{}?k=5", user(u)),
                Some(&read),
                None,
            )
            .await;
        assert_eq!(answer["model_version"], json!(1));
        assert_eq!(answer["items"], old["items"], "{}", user(u));
    }
    let (_, models) = service.admin("GET", "/models", None).await;
    let active: Vec<i64> = models
        .as_array()
        .expect("a list")
        .iter()
        .filter(|m| m["active"] == json!(true))
        .filter_map(|m| m["version"].as_i64())
        .collect();
    assert_eq!(active, vec![1]);
    let (status, _) = service.admin("POST", "/models/9/activate", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn similar_items_come_from_the_model_and_metrics_count_requests() {
    let service = Service::start(Auth::Keys);
    let read = service.read.clone();
    let (status, answer) = service
        .call("GET", "/similar/i00?k=4", Some(&read), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let similar = items_of(&answer);
    assert_eq!(similar.len(), 4);
    assert!(!similar.contains(&item(0)));
    // Clicks never cross categories in the shop, so neighbours share the item's category.
    for id in &similar {
        let i: usize = id[1..].parse().expect("numbered id");
        assert!(i < common::ITEMS_PER_CATEGORY, "{id} is not a shoe");
    }
    let (status, _) = service
        .call("GET", "/similar/unknown", Some(&read), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, text) = service.call("GET", "/metrics", Some(&read), None).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains("assay_requests_total{route=\"GET /similar/{item}\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("assay_requests_total{route=\"GET /similar/{item}\",status=\"404\"} 1"),
        "{text}"
    );
    assert!(text.contains("assay_model_version 1"), "{text}");
    assert!(text.contains("assay_index_items 24"), "{text}");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let service = Service::start(Auth::Keys);
    let (status, doc) = service
        .call("GET", "/openapi.json", Some(&service.read.clone()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for route in ROUTES {
        let method = route.method.to_ascii_lowercase();
        assert!(
            doc["paths"][route.path][&method].is_object(),
            "{} {}",
            route.method,
            route.path
        );
    }
}

#[test]
fn a_restart_serves_the_same_model_and_catalog() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = common::engine(dir.path(), &shop());
    let lists: Vec<_> = (0..USERS)
        .map(|u| first.recommend(&user(u), 5).expect("recommends").items)
        .collect();
    first
        .put_item(&assay_search::ItemDoc {
            id: "late".into(),
            title: "Late arrival".into(),
            ..Default::default()
        })
        .expect("stored");
    first.shutdown();
    drop(first);
    // No dataset the second time: everything comes from the store.
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("assay.db")).expect("opens"));
    let encoder: Arc<dyn assay_encoder::Encoder> = Arc::new(assay_encoder::HashEncoder::new(64));
    let second = assay_serve::Engine::open(
        store,
        common::config(dir.path()),
        None,
        encoder.clone(),
        encoder,
    )
    .expect("reopens");
    assert_eq!(second.active().map(|m| m.version), Some(1));
    assert_eq!(second.index_size(), 25);
    for (u, list) in lists.iter().enumerate() {
        assert_eq!(
            &second.recommend(&user(u), 5).expect("recommends").items,
            list
        );
    }
}

#[test]
fn the_retrainer_fits_a_new_version_once_enough_events_arrived() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::engine(dir.path(), &shop());
    let policy = assay_serve::RetrainPolicy {
        every_events: Some(10),
        every: None,
    };
    let mut retrainer = assay_serve::Retrainer::start(engine.clone(), policy).expect("starts");
    let batch: Vec<assay_serve::store::NewEvent> = (0..9)
        .map(|n| assay_serve::store::NewEvent {
            user: user(n),
            item: item(23 - n),
            kind: EventKind::Cart,
            value: None,
            timestamp: None,
            source: None,
        })
        .collect();
    engine.ingest(&batch).expect("stored");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        engine.active().map(|m| m.version),
        Some(1),
        "9 events are not enough"
    );
    engine.ingest(&batch[..1]).expect("stored");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while engine.active().map(|m| m.version) != Some(2) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(engine.active().map(|m| m.version), Some(2));
    assert_eq!(engine.events_since_fit(), 0);
    retrainer.stop();
    assert_eq!(retrainer.last_error(), None);
    let models = engine.store().models().expect("models");
    assert_eq!(models.len(), 2);
    assert_eq!(models[1].events, shop().events.len() as u64 + 10);
    assert!(models[1].active && !models[0].active);
}

#[tokio::test]
async fn the_dashboard_draws_the_events_and_lists_the_model_versions() {
    let service = Service::start(Auth::Keys);
    let batch = events_json(&[(user(1), item(2), "purchase")]);
    let (status, _) = service
        .call(
            "POST",
            "/events",
            Some(&service.write.clone()),
            Some(batch.into_bytes()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, page) = service
        .call("GET", "/", Some(&service.read.clone()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap_or_default().to_owned();
    let events = shop().events.len() + 1;
    assert!(
        page.contains(&format!("24 items, 24 users, {events} events")),
        "{page}"
    );
    assert!(
        page.contains("1 events acknowledged and 0 refused"),
        "{page}"
    );
    assert!(page.contains("<svg"), "the events chart is drawn");
    assert!(page.contains("<td>itemknn</td>"), "{page}");
    assert!(page.contains("No valuation is stored yet."));
    let (status, _) = service.call("GET", "/", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn a_user_seen_only_in_impressions_gets_the_popular_items() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut data = shop();
    let watcher = data.users.intern("watcher");
    data.events.push(
        watcher,
        3,
        EventKind::Impression,
        f64::NAN,
        1_700_000_000,
        assay_core::NO_SESSION,
        assay_core::NO_QUERY,
        assay_core::NO_POSITION,
        f64::NAN,
        0,
    );
    let engine = common::engine(dir.path(), &data);
    let list = engine.recommend("watcher", 4).expect("recommends");
    assert_eq!(list.strategy, "popularity");
    let ids: Vec<String> = list.items.iter().map(|s| s.item.clone()).collect();
    let expected: Vec<String> = popularity_order().into_iter().take(4).collect();
    assert_eq!(ids, expected);
}

/// 19 items and 19 users; user u prefers the ten items u, u+1, .., u+9 (mod 19), each logged
/// as a click and then a purchase of the same item.
fn funnel_shop() -> assay_core::Dataset {
    let mut data = assay_core::Dataset {
        name: "funnel".into(),
        ..assay_core::Dataset::default()
    };
    for i in 0..19 {
        let idx = data.items.intern(&item(i)) as usize;
        data.items.title[idx] = format!("thing {i}");
    }
    let mut t = 1_700_000_000;
    for u in 0..19 {
        let uidx = data.users.intern(&user(u));
        for j in 0..10 {
            for kind in [EventKind::Click, EventKind::Purchase] {
                t += 1;
                data.events.push(
                    uidx,
                    ((u + j) % 19) as u32,
                    kind,
                    f64::NAN,
                    t,
                    assay_core::NO_SESSION,
                    assay_core::NO_QUERY,
                    assay_core::NO_POSITION,
                    f64::NAN,
                    0,
                );
            }
        }
    }
    data
}

#[test]
fn offline_metrics_count_each_preference_once_so_held_out_items_can_be_hit() {
    // By hand: each user has 10 distinct items, split 8/1/1 (RecBole's counts for 10). At test
    // time the 8 training and 1 validation items are masked, so 19 - 9 = 10 items are ranked
    // and a top 10 holds all of them: the one test item is always hit, whatever the model and
    // the seed. recall@10 = hit@10 = 1. Split as 20 separate events instead, a test event's
    // item almost always has its other event in training, is masked, and cannot be hit.
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::engine(dir.path(), &funnel_shop());
    let models = engine.store().models().expect("models");
    let metrics = &models[0].metrics;
    assert_eq!(metrics["window_pairs"], json!(190), "{metrics}");
    assert_eq!(metrics["test"]["recall"], json!(1.0), "{metrics}");
    assert_eq!(metrics["test"]["hit"], json!(1.0), "{metrics}");
    assert_eq!(
        metrics["valid"]["hit"].as_f64().map(|v| v > 0.0),
        Some(true)
    );
}

#[test]
fn the_reranker_logs_real_propensities_and_learns_from_clicks_on_what_it_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = common::config(dir.path());
    config.bandit = Some(assay_serve::BanditConfig {
        draws: 2000,
        ..assay_serve::BanditConfig::default()
    });
    let engine = common::engine_with(dir.path(), &shop(), config);
    // A cold user: the popularity list's top 6 (pool of k = 4), every item at Beta(1, 1).
    let list = engine.recommend("newcomer", 4).expect("recommends");
    assert_eq!(list.policy, "thompson");
    assert_eq!(list.items.len(), 4);
    let pool: Vec<String> = popularity_order().into_iter().take(6).collect();
    for s in &list.items {
        assert!(pool.contains(&s.item), "{} is not among the top 6", s.item);
    }
    engine.flush_served();
    let served = engine.store().served(10).expect("served lists");
    let (_, _, route, shown) = served.last().expect("one list");
    assert_eq!(route, "recommend");
    // Six exchangeable candidates: each is at each position with probability 1/6. The
    // estimate from 2000 draws plus the served one is within 4 standard errors
    // (sqrt(5/36 / 2001) = 0.0083) and never 1.
    for (id, position, propensity) in shown {
        assert!(
            (propensity - 1.0 / 6.0).abs() < 0.034,
            "{id} at {position}: {propensity}"
        );
    }
    let bandit = engine.bandit().expect("the re-ranker is on");
    let first = engine
        .store()
        .load()
        .expect("loads")
        .0
        .items
        .ids
        .get(&list.items[0].item)
        .expect("known item");
    assert_eq!(bandit.posterior(first), (1.0, 2.0));
    let click = assay_serve::store::NewEvent {
        user: "newcomer".into(),
        item: list.items[0].item.clone(),
        kind: EventKind::Click,
        value: None,
        timestamp: None,
        source: None,
    };
    engine
        .ingest(std::slice::from_ref(&click))
        .expect("ingests");
    assert_eq!(bandit.posterior(first), (2.0, 1.0));
    // The same click again is not a second reward for one serving.
    engine.ingest(&[click]).expect("ingests");
    assert_eq!(bandit.posterior(first), (2.0, 1.0));
}

#[tokio::test]
async fn an_ab_test_serves_the_control_group_the_models_ranking_and_counts_its_clicks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = common::config(dir.path());
    config.bandit = Some(assay_serve::BanditConfig {
        draws: 100,
        control_share: 0.5,
        ..assay_serve::BanditConfig::default()
    });
    let engine = common::engine_with(dir.path(), &shop(), config);
    let plain_dir = tempfile::tempdir().expect("temp dir");
    let plain = common::engine(plain_dir.path(), &shop());
    let bandit = engine.bandit().expect("the re-ranker is on");
    let (control, treatment): (Vec<String>, Vec<String>) =
        (0..USERS).map(user).partition(|u| bandit.in_control(u));
    assert!(!control.is_empty() && !treatment.is_empty());
    // A control user gets exactly the list of the same model without a re-ranker.
    let list = engine.recommend(&control[0], 4).expect("recommends");
    assert_eq!(list.policy, "control");
    let same = plain.recommend(&control[0], 4).expect("recommends");
    assert_eq!(
        list.items.iter().map(|s| &s.item).collect::<Vec<_>>(),
        same.items.iter().map(|s| &s.item).collect::<Vec<_>>()
    );
    let other = engine.recommend(&treatment[0], 4).expect("recommends");
    assert_eq!(other.policy, "thompson");
    // A click on the control list counts for the control group.
    let click = assay_serve::store::NewEvent {
        user: control[0].clone(),
        item: list.items[1].item.clone(),
        kind: EventKind::Click,
        value: None,
        timestamp: None,
        source: None,
    };
    engine.ingest(&[click]).expect("ingests");
    let ab = engine.ab().expect("a test runs");
    let counts = |g: &assay_serve::bandit::AbGroup| (g.users, g.lists, g.rewarded_lists);
    assert_eq!(counts(&ab.control), (1, 1, 1));
    assert_eq!(counts(&ab.treatment), (1, 1, 0));
    assert!(ab.test.is_none(), "one user a group is too few to test");
    assert!(plain.ab().is_none());
    // `/ab` answers it, and the dashboard shows it.
    let app = assay_serve::App::new(engine, Auth::Off);
    let service = Service {
        dir,
        router: assay_serve::router(app.clone()),
        app,
        read: String::new(),
        write: String::new(),
        admin: String::new(),
    };
    let (status, body) = service.call("GET", "/ab", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["control"]["rewarded_lists"], json!(1));
    let (status, page) = service.call("GET", "/", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().expect("an HTML page");
    assert!(page.contains("<h2>A/B test</h2>"), "{page}");
    assert!(page.contains("50% of users are in the control group"));
}

#[test]
fn the_counts_kept_in_memory_match_the_stores_count_after_every_kind_of_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = common::engine(dir.path(), &shop());
    let same = |when: &str| {
        engine.flush_served();
        assert_eq!(
            engine.counts(),
            engine.store().counts().expect("counts"),
            "{when}"
        );
    };
    same("at start");
    let event = |u: &str, i: usize| assay_serve::store::NewEvent {
        user: u.into(),
        item: item(i),
        kind: EventKind::Click,
        value: None,
        timestamp: None,
        source: None,
    };
    engine
        .ingest(&[event("fresh", 1), event(&user(3), 2), event("fresh", 5)])
        .expect("ingests");
    same("after a batch with a new user");
    engine.recommend(&user(4), 3).expect("recommends");
    engine.recommend(&user(3), 3).expect("recommends");
    engine.similar(&item(1), 3).expect("similar");
    same("after serving");
    engine.delete_item(&item(7)).expect("deletes the item");
    same("after deleting an item");
    let deleted = engine.delete_user(&user(3)).expect("deletes the user");
    // Events arrived since the active version's fit: it cannot be updated, it is refitted.
    assert_eq!(deleted.update, "refit");
    same("after deleting a user");
    assert_eq!(engine.counts().users, USERS as u64, "24 - 1 + fresh");
}

#[tokio::test]
async fn the_report_is_made_once_per_version_in_the_background_and_the_dashboard_links_it() {
    let service = Service::start(Auth::Off);
    let (status, body) = service.call("GET", "/report", None, None).await;
    assert!(
        status == StatusCode::ACCEPTED || status == StatusCode::OK,
        "{status} {body}"
    );
    let started = std::time::Instant::now();
    let page = loop {
        let (status, body) = service.call("GET", "/report", None, None).await;
        match status {
            StatusCode::OK => break body,
            StatusCode::ACCEPTED => {
                assert!(
                    started.elapsed().as_secs() < 600,
                    "no report after 10 minutes"
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => panic!("{other} {body}"),
        }
    };
    let page = page.as_str().expect("HTML text");
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..100.min(page.len())]
    );
    // The same version answers the same page at once.
    let (status, again) = service.call("GET", "/report", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again.as_str(), Some(page));
    let (_, dashboard) = service.call("GET", "/", None, None).await;
    let dashboard = dashboard.as_str().expect("HTML");
    assert!(dashboard.contains("href=\"/report\""));
    assert!(dashboard.contains("The Thompson-sampling re-ranker is off"));
}
