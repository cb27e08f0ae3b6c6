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
    /// Its JSON Schema (text), with the bounds the handler checks.
    pub schema: &'static str,
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
    /// Its JSON body, when it takes one.
    pub body: Option<Body>,
    /// The statuses it may answer besides 200, 400 (bad input), 401 and 403 (keys) and 503
    /// (over the request time limit).
    pub also: &'static [u16],
}

/// A route's JSON body.
#[derive(Debug, Clone, Copy)]
pub struct Body {
    /// What it is.
    pub about: &'static str,
    /// Its JSON Schema (text).
    pub schema: &'static str,
}

const fn query(name: &'static str, schema: &'static str, about: &'static str) -> Param {
    Param {
        name,
        place: "query",
        schema,
        required: false,
        about,
    }
}

const fn path(name: &'static str, about: &'static str) -> Param {
    Param {
        name,
        place: "path",
        schema: ID,
        required: true,
        about,
    }
}

/// An id: 1 to 256 characters, none of them a control character.
const ID: &str = r#"{"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\u0000-\u001f\u007f-\u009f]+$"}"#;

const K: Param = query(
    "k",
    r#"{"type": "integer", "minimum": 1, "maximum": 1000}"#,
    "How many results, 1 to 1000 (default 10).",
);

/// A flag: `true`, `false`, `1` or `0`; present and empty means true.
const FLAG: &str = r#"{"type": "string", "enum": ["true", "false", "1", "0", ""]}"#;

const EVENTS: &str = r##"{"type": "array", "minItems": 1, "maxItems": 10000, "items": {
    "type": "object", "additionalProperties": false, "required": ["user", "item", "kind"],
    "properties": {
        "user": {"$ref": "#/components/schemas/Id"},
        "item": {"$ref": "#/components/schemas/Id"},
        "kind": {"type": "string", "enum": ["impression", "click", "cart", "purchase", "rating", "dwell"]},
        "value": {"type": "number"},
        "timestamp": {"type": "integer", "minimum": -9007199254740991, "maximum": 9007199254740991},
        "source": {"$ref": "#/components/schemas/Id"}}}}"##;

const ITEM: &str = r#"{"type": "object", "additionalProperties": false, "required": ["title"],
    "properties": {
        "title": {"type": "string"}, "description": {"type": "string"},
        "category": {"type": "string"}, "brand": {"type": "string"},
        "price": {"type": ["number", "null"], "minimum": 0},
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}}}}"#;

/// Every route the service answers.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/health",
        role: None,
        summary: "Liveness: answers without a key.",
        params: &[],
        body: None,
        also: &[],
    },
    Route {
        method: "GET",
        path: "/",
        role: Some(Role::Read),
        summary: "The dashboard: data health, model versions and the latest data value (HTML).",
        params: &[],
        body: None,
        also: &[],
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
                schema: r#"{"type": "string", "minLength": 1, "maxLength": 1024, "pattern": "[^\\W_]"}"#,
                required: true,
                about: "The query: at most 1024 characters, at least one of them a letter or digit.",
            },
            K,
            query(
                "filter",
                r#"{"type": "string"}"#,
                "Filters: `category=A/B; brand=X; price=10..50`.",
            ),
            query(
                "mode",
                r#"{"type": "string", "enum": ["bm25", "lexical", "keyword", "vector", "semantic", "dense", "hybrid"]}"#,
                "bm25 (lexical, keyword), vector (semantic, dense) or hybrid (the default); any case.",
            ),
            query("explain", FLAG, "Explain each hit's score."),
            query("user", ID, "The shopper, logged with the served list."),
        ],
        body: None,
        also: &[],
    },
    Route {
        method: "GET",
        path: "/recommend/{user}",
        role: Some(Role::Read),
        summary: "Recommendations for a user; cold users get the most popular items.",
        params: &[path("user", "The user's id."), K],
        body: None,
        also: &[409],
    },
    Route {
        method: "GET",
        path: "/similar/{item}",
        role: Some(Role::Read),
        summary: "Items the active model ranks highest next to one item.",
        params: &[path("item", "The item's id."), K],
        body: None,
        also: &[404, 409],
    },
    Route {
        method: "POST",
        path: "/events",
        role: Some(Role::Write),
        summary: "A batch of events, acknowledged once durable.",
        params: &[],
        body: Some(Body {
            about: "A JSON array of {user, item, kind, value?, timestamp?, source?}; every item must be in the catalog.",
            schema: EVENTS,
        }),
        also: &[409, 413],
    },
    Route {
        method: "PUT",
        path: "/items/{id}",
        role: Some(Role::Write),
        summary: "Adds or replaces an item; searchable on return.",
        params: &[path("id", "The item's id.")],
        body: Some(Body {
            about: "A JSON object {title, description?, category?, brand?, price?, attributes?}.",
            schema: ITEM,
        }),
        also: &[409, 413],
    },
    Route {
        method: "DELETE",
        path: "/items/{id}",
        role: Some(Role::Write),
        summary: "Deletes an item; gone from every answer on return.",
        params: &[path("id", "The item's id.")],
        body: None,
        also: &[404, 409],
    },
    Route {
        method: "DELETE",
        path: "/users/{id}",
        role: Some(Role::Admin),
        summary: "Deletes a user's events, served lists and profile, and refits without them.",
        params: &[path("id", "The user's id.")],
        body: None,
        also: &[404, 409],
    },
    Route {
        method: "GET",
        path: "/value",
        role: Some(Role::Read),
        summary: "The latest valuation (404 when none was stored).",
        params: &[],
        body: None,
        also: &[404],
    },
    Route {
        method: "GET",
        path: "/report",
        role: Some(Role::Read),
        summary: "The data-value report of the current data (HTML), made once per model version; 202 while it is being made.",
        params: &[],
        body: None,
        also: &[202, 409],
    },
    Route {
        method: "GET",
        path: "/ope",
        role: Some(Role::Read),
        summary: "IPS and SNIPS of candidate policies on the re-ranker's served lists (404 before any).",
        params: &[],
        body: None,
        also: &[404],
    },
    Route {
        method: "GET",
        path: "/ab",
        role: Some(Role::Read),
        summary: "The A/B test of the re-ranker against the model's order: per group users, lists, the share of lists with a click or purchase, and Welch's test (404 when no test runs).",
        params: &[],
        body: None,
        also: &[404],
    },
    Route {
        method: "POST",
        path: "/value",
        role: Some(Role::Admin),
        summary: "Stores a valuation document (for example `assay value --json`'s output).",
        params: &[],
        body: Some(Body {
            about: "A JSON object; `users` may map user ids to their values.",
            schema: r#"{"type": "object"}"#,
        }),
        also: &[413],
    },
    Route {
        method: "GET",
        path: "/models",
        role: Some(Role::Admin),
        summary: "Every model version with its offline metrics.",
        params: &[],
        body: None,
        also: &[],
    },
    Route {
        method: "POST",
        path: "/models",
        role: Some(Role::Admin),
        summary: "Fits a new model version on every event now and activates it.",
        params: &[],
        body: None,
        also: &[409],
    },
    Route {
        method: "POST",
        path: "/models/{version}/activate",
        role: Some(Role::Admin),
        summary: "Makes a stored model version the active one (rollback).",
        params: &[Param {
            name: "version",
            place: "path",
            schema: r#"{"type": "integer", "minimum": 1, "maximum": 9223372036854775807}"#,
            required: true,
            about: "The version number.",
        }],
        body: None,
        also: &[404, 409],
    },
    Route {
        method: "GET",
        path: "/metrics",
        role: Some(Role::Read),
        summary: "Prometheus text: requests and latency per route, events, model, index.",
        params: &[],
        body: None,
        also: &[],
    },
    Route {
        method: "GET",
        path: "/openapi.json",
        role: Some(Role::Read),
        summary: "This description.",
        params: &[],
        body: None,
        also: &[],
    },
];

/// The route of a method and a matched path.
pub fn route(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
}

/// A schema written in this file; every one is parsed by a test, so the fallback never serves.
fn schema(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| json!({}))
}

/// What a status beyond the common ones means.
fn status_description(code: u16) -> &'static str {
    match code {
        202 => "Accepted: being made; ask again shortly",
        404 => "No such id, or nothing of this kind yet",
        409 => "Conflicts with the service's state (no active model, a version being fitted)",
        413 => "The body is larger than the service accepts",
        _ => "See the error",
    }
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
                    "schema": schema(p.schema),
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
        responses.insert("503".into(), error.clone());
        for &code in route.also {
            let mut answer = error.clone();
            answer["description"] = json!(status_description(code));
            if code == 202 {
                answer = json!({"description": status_description(code)});
            }
            responses.insert(code.to_string(), answer);
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
                "description": body.about,
                "content": {"application/json": {"schema": schema(body.schema)}}
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}
                },
                "Id": schema(ID),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_written_here_is_json() {
        let mut texts = vec![ID, FLAG, EVENTS, ITEM];
        for route in ROUTES {
            texts.extend(route.params.iter().map(|p| p.schema));
            texts.extend(route.body.map(|b| b.schema));
        }
        for text in texts {
            let parsed: std::result::Result<Value, _> = serde_json::from_str(text);
            assert!(parsed.is_ok(), "{text}: {parsed:?}");
        }
    }
}
