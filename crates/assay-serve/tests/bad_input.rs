//! Random bodies and query strings on every route: the service answers 2xx or 4xx with a JSON
//! error, never 5xx and never a panic.

mod common;

use assay_serve::routes::ROUTES;
use assay_serve::Auth;
use common::Service;
use proptest::prelude::*;

/// Text that mixes what breaks parsers: quotes, brackets, huge and negative numbers, escapes.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        Just("-1".to_owned()),
        Just("99999999999999999999999999".to_owned()),
        Just("1e309".to_owned()),
        Just("NaN".to_owned()),
        Just("%ff%fe".to_owned()),
        Just("%00".to_owned()),
        Just("null".to_owned()),
        "[a-z0-9=;&%.-]{0,30}",
    ]
}

/// JSON-like bodies: random bytes (invalid UTF-8 included), and event and item shapes with
/// wrong types, missing fields and extreme values.
fn nasty_body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        Just("1".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("\"i01\"".to_owned()),
        Just("\"u01\"".to_owned()),
        Just("\"\"".to_owned()),
        Just("null".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("\"click\"".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        Just("18446744073709551616".to_owned()),
    ];
    let key = prop_oneof![
        Just("user"),
        Just("item"),
        Just("kind"),
        Just("value"),
        Just("timestamp"),
        Just("source"),
        Just("title"),
        Just("price"),
        Just("attributes"),
        Just("users"),
        Just("other"),
    ];
    let object = proptest::collection::vec((key, field), 0..6).prop_map(|pairs| {
        let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
        format!("{{{}}}", inner.join(", "))
    });
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        object.clone().prop_map(String::into_bytes),
        proptest::collection::vec(object, 0..4).prop_map(|objects| format!(
            "[{}]",
            objects.join(",")
        )
        .into_bytes()),
    ]
}

fn uri_of(path: &str, segment: &str, query: &str) -> String {
    let filled = path
        .replace("{user}", segment)
        .replace("{item}", segment)
        .replace("{id}", segment)
        .replace("{version}", segment);
    if query.is_empty() {
        filled
    } else {
        format!("{filled}?{query}")
    }
}

/// Percent-encodes everything but unreserved characters, so any text makes a valid URI.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_route_answers_5xx_to_random_input(
        segment in nasty_text(),
        names in proptest::collection::vec(prop_oneof![
            Just("q"), Just("k"), Just("filter"), Just("mode"), Just("explain"), Just("user"), Just("x")
        ], 0..4),
        values in proptest::collection::vec(nasty_text(), 4),
        raw_query in any::<bool>(),
        body in nasty_body(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let service = Service::start(Auth::Keys);
        let key = service.admin.clone();
        let segment = encode(&segment);
        let query: String = if raw_query {
            // Undecoded text: malformed percent escapes and all.
            names.iter().zip(&values).map(|(n, v)| format!("{n}={}", v.replace([' ', '#', '\n'], "+"))).collect::<Vec<_>>().join("&")
        } else {
            names.iter().zip(&values).map(|(n, v)| format!("{n}={}", encode(v))).collect::<Vec<_>>().join("&")
        };
        for route in ROUTES {
            let uri = uri_of(route.path, &segment, &query);
            if axum::http::Uri::try_from(uri.as_str()).is_err() {
                continue;
            }
            let with_body = route.body.map(|_| body.clone());
            let (status, answer) = runtime.block_on(service.call(route.method, &uri, Some(&key), with_body));
            prop_assert!(status.as_u16() < 500, "{} {uri}: {status} {answer}", route.method);
            if status.is_client_error() {
                prop_assert!(answer["error"].is_string() && answer["detail"].is_string(),
                    "{} {uri}: {answer}", route.method);
            }
        }
    }
}
