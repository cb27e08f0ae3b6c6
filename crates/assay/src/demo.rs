//! `assay serve --demo`: a simulated shop served on loopback with seeded simulated traffic, so
//! that the dashboard has something to show.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use assay_core::Dataset;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Requests per second the audience sends.
const RATE: f64 = 20.0;
/// Chance that a shopper clicks the item at position p (from 1) of a list: CLICK / p.
const CLICK: f64 = 0.35;
/// Chance that a click becomes a purchase.
const PURCHASE: f64 = 0.2;

/// What the audience sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct Traffic {
    /// Recommendation requests.
    pub recommend: u64,
    /// Search requests.
    pub search: u64,
    /// Events sent (clicks and purchases on what was shown).
    pub events: u64,
    /// Answers other than 200.
    pub errors: u64,
}

/// One HTTP/1.1 request on a fresh connection; the status and the body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    Ok((status, body))
}

/// Percent-encodes a path segment or a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends `seconds` of traffic from the shop's users, seeded: 70% recommendations whose items
/// the shopper clicks (and sometimes buys) with a chance falling with the position, sent back
/// as events; 30% searches with the shop's queries.
pub fn traffic(addr: SocketAddr, shop: &Dataset, seed: u64, seconds: u64) -> Traffic {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let users = shop.users.ids.names();
    let queries: Vec<&String> = shop
        .queries
        .names()
        .iter()
        .filter(|q| !q.is_empty())
        .collect();
    let mut sent = Traffic::default();
    let started = Instant::now();
    let deadline = Duration::from_secs(seconds);
    let mut n = 0u64;
    while started.elapsed() < deadline && !users.is_empty() {
        n += 1;
        // Open loop at RATE: wait for this request's slot.
        let slot = Duration::from_secs_f64(n as f64 / RATE);
        if let Some(wait) = slot.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
        let user = &users[rng.random_range(0..users.len())];
        if rng.random::<f64>() < 0.7 || queries.is_empty() {
            sent.recommend += 1;
            let answer = request(
                addr,
                "GET",
                &format!("/recommend/{}?k=10", encode(user)),
                None,
            );
            let Ok((200, body)) = answer else {
                sent.errors += 1;
                continue;
            };
            let items: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v["items"].as_array().map(|list| {
                        list.iter()
                            .filter_map(|s| s["item"].as_str().map(str::to_owned))
                            .collect()
                    })
                })
                .unwrap_or_default();
            let mut events = Vec::new();
            for (position, item) in items.iter().enumerate() {
                if rng.random::<f64>() < CLICK / (position + 1) as f64 {
                    events.push(serde_json::json!({"user": user, "item": item, "kind": "click", "source": "demo"}));
                    if rng.random::<f64>() < PURCHASE {
                        events.push(serde_json::json!({"user": user, "item": item, "kind": "purchase", "source": "demo"}));
                    }
                }
            }
            if !events.is_empty() {
                let body = serde_json::Value::Array(events).to_string();
                match request(addr, "POST", "/events", Some(&body)) {
                    Ok((200, _)) => sent.events += body.matches("\"kind\"").count() as u64,
                    _ => sent.errors += 1,
                }
            }
        } else {
            sent.search += 1;
            let q = queries[rng.random_range(0..queries.len())];
            match request(
                addr,
                "GET",
                &format!("/search?q={}&k=10&user={}", encode(q), encode(user)),
                None,
            ) {
                Ok((200, _)) => {}
                _ => sent.errors += 1,
            }
        }
    }
    sent
}
