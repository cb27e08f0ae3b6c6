//! The one table of routes: what the router serves, which role each route needs, and what
//! `/openapi.json` describes are all read from [`ROUTES`], so the three cannot disagree.

use serde_json::{json, Map, Value};

use crate::store::Role;

/// One query or path parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// `query` or `path`.
    pub place: &'static str,
    /// JSON Schema type: `string`, `integer` or `boolean`.
    pub kind: &'static str,
    /// Whether it must be given.
    pub required: bool,
    /// What it means.
    pub about: &'static str,
}

/// One route.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path with `{name}` placeholders (the router's and OpenAPI's syntax).
    pub path: &'static str,
    /// The least role that may call it; `None` answers without a key.
    pub role: Option<Role>,
    /// One line about it.
    pub summary: &'static str,
    /// Its parameters.
    pub params: &'static [Param],
    /// What its JSON body is, when it takes one.
    pub body: Option<&'static str>,
}

const fn query(name: &'static str, kind: &'static str, about: &'static str) -> Param {
    Param {
        name,
        place: "query",
        kind,
        required: false,
        about,
    }
}

const fn path(name: &'static str, about: &'static str) -> Param {
    Param {
        name,
        place: "path",
        kind: "string",
        required: true,
        about,
    }
}

const K: Param = query("k", "integer", "How many results, 1 to 1000 (default 10).");

/// Every route the service answers.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/health",
        role: None,
        summary: "Liveness: answers without a key.",
        params: &[],
        body: None,
    },
    Route {
        method: "GET",
        path: "/",
        role: Some(Role::Read),
        summary: "The dashboard: data health, model versions and the latest data value (HTML).",
        params: &[],
        body: None,
    },
    Route {
        method: "GET",
        path: "/search",
        role: Some(Role::Read),
        summary: "Product search over the live catalog.",
        params: &[
            Param {
                name: "q",
                place: "query",
                kind: "string",
                required: true,
                about: "The query, at most 4096 bytes.",
            },
            K,
            query(
                "filter",
                "string",
                "Filters: `category=A/B; brand=X; price=10..50`.",
            ),
            query("mode", "string", "bm25, vector or hybrid (default hybrid)."),
            query("explain", "boolean", "Explain each hit's score."),
            query(
                "user",
                "string",
                "The shopper, logged with the served list.",
            ),
        ],
        body: None,
    },
    Route {
        method: "GET",
        path: "/recommend/{user}",
        role: Some(Role::Read),
        summary: "Recommendations for a user; cold users get the most popular items.",
        params: &[path("user", "The user's id."), K],
        body: None,
    },
    Route {
        method: "GET",
        path: "/similar/{item}",
        role: Some(Role::Read),
        summary: "Items the active model ranks highest next to one item.",
        params: &[path("item", "The item's id."), K],
        body: None,
    },
    Route {
        method: "POST",
        path: "/events",
        role: Some(Role::Write),
        summary: "A batch of events, acknowledged once durable.",
        params: &[],
        body: Some("A JSON array of {user, item, kind, value?, timestamp?, source?}."),
    },
    Route {
        method: "PUT",
        path: "/items/{id}",
        role: Some(Role::Write),
        summary: "Adds or replaces an item; searchable on return.",
        params: &[path("id", "The item's id.")],
        body: Some("A JSON object {title, description?, category?, brand?, price?, attributes?}."),
    },
    Route {
        method: "DELETE",
        path: "/items/{id}",
        role: Some(Role::Write),
        summary: "Deletes an item; gone from every answer on return.",
        params: &[path("id", "The item's id.")],
        body: None,
    },
    Route {
        method: "DELETE",
        path: "/users/{id}",
        role: Some(Role::Admin),
        summary: "Deletes a user's events, served lists and profile, and refits without them.",
        params: &[path("id", "The user's id.")],
        body: None,
    },
    Route {
        method: "GET",
        path: "/value",
        role: Some(Role::Read),
        summary: "The latest valuation (404 when none was stored).",
        params: &[],
        body: None,
    },
    Route {
        method: "GET",
        path: "/report",
        role: Some(Role::Read),
        summary: "The data-value report of the current data (HTML), made once per model version; 202 while it is being made.",
        params: &[],
        body: None,
    },
    Route {
        method: "GET",
        path: "/ope",
        role: Some(Role::Read),
        summary: "IPS and SNIPS of candidate policies on the re-ranker's served lists (404 before any).",
        params: &[],
        body: None,
    },
    Route {
        method: "GET",
        path: "/ab",
        role: Some(Role::Read),
        summary: "The A/B test of the re-ranker against the model's order: per group users, lists, the share of lists with a click or purchase, and Welch's test (404 when no test runs).",
        params: &[],
        body: None,
    },
    Route {
        method: "POST",
        path: "/value",
        role: Some(Role::Admin),
        summary: "Stores a valuation document (for example `assay value --json`'s output).",
        params: &[],
        body: Some("A JSON object; `users` may map user ids to their values."),
    },
    Route {
        method: "GET",
        path: "/models",
        role: Some(Role::Admin),
        summary: "Every model version with its offline metrics.",
        params: &[],
        body: None,
    },
    Route {
        method: "POST",
        path: "/models",
        role: Some(Role::Admin),
        summary: "Fits a new model version on every event now and activates it.",
        params: &[],
        body: None,
    },
    Route {
        method: "POST",
        path: "/models/{version}/activate",
        role: Some(Role::Admin),
        summary: "Makes a stored model version the active one (rollback).",
        params: &[Param {
            name: "version",
            place: "path",
            kind: "integer",
            required: true,
            about: "The version number.",
        }],
        body: None,
    },
    Route {
        method: "GET",
        path: "/metrics",
        role: Some(Role::Read),
        summary: "Prometheus text: requests and latency per route, events, model, index.",
        params: &[],
        body: None,
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        role: Some(Role::Read),
        summary: "This description.",
        params: &[],
        body: None,
    },
];

/// The route of a method and a matched path.
pub fn route(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
}

/// The OpenAPI 3.1 document of [`ROUTES`].
pub fn openapi() -> Value {
    let error = json!({
        "description": "An error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    let mut paths = Map::new();
    for route in ROUTES {
        let parameters: Vec<Value> = route
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": p.place,
                    "required": p.required,
                    "description": p.about,
                    "schema": {"type": p.kind},
                })
            })
            .collect();
        let mut responses = Map::new();
        responses.insert("200".into(), json!({"description": "Success"}));
        responses.insert("400".into(), error.clone());
        if route.role.is_some() {
            responses.insert("401".into(), error.clone());
            responses.insert("403".into(), error.clone());
        }
        let mut operation = json!({
            "summary": route.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(role) = route.role {
            operation["security"] = json!([{"apiKey": []}]);
            operation["x-role"] = json!(role.as_str());
        }
        if let Some(body) = route.body {
            operation["requestBody"] = json!({
                "required": true,
                "description": body,
                "content": {"application/json": {"schema": {}}}
            });
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "assay", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["error", "detail"],
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}
            }}
        }
    })
}
