//! Request counters and latency histograms in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::engine::Engine;
use crate::store::StoreCounts;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Requests at or below each bound (not cumulative; summed when rendered).
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What the service counts.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    events_ingested: AtomicU64,
    events_rejected: AtomicU64,
}

impl Metrics {
    /// Counts one answered request of `route` ("GET /search") with its status and time.
    pub fn record(&self, route: &str, status: u16, elapsed: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((route.to_owned(), status))
            .or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let histogram = latency.entry(route.to_owned()).or_default();
        if let Some(bucket) = BUCKETS.iter().position(|&b| seconds <= b) {
            histogram.counts[bucket] += 1;
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    /// Counts events acknowledged as durable.
    pub fn ingested(&self, n: u64) {
        self.events_ingested.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts events refused (a batch that cannot be read counts as one).
    pub fn rejected(&self, n: u64) {
        self.events_rejected.fetch_add(n, Ordering::Relaxed);
    }

    /// Events acknowledged and refused since start.
    pub fn event_counts(&self) -> (u64, u64) {
        (
            self.events_ingested.load(Ordering::Relaxed),
            self.events_rejected.load(Ordering::Relaxed),
        )
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self, engine: &Engine, counts: &StoreCounts) -> String {
        let mut out = String::new();
        out.push_str("# HELP assay_requests_total Answered requests by route and status.\n");
        out.push_str("# TYPE assay_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "assay_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP assay_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE assay_request_duration_seconds histogram\n");
        for (route, h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "assay_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "assay_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "assay_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "assay_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        let (ingested, rejected) = self.event_counts();
        let gauges: [(&str, &str, &str, f64); 9] = [
            (
                "assay_events_ingested_total",
                "counter",
                "Events acknowledged as durable since start.",
                ingested as f64,
            ),
            (
                "assay_events_rejected_total",
                "counter",
                "Events refused since start.",
                rejected as f64,
            ),
            (
                "assay_events_stored",
                "gauge",
                "Events in the store.",
                counts.events as f64,
            ),
            (
                "assay_events_since_fit",
                "gauge",
                "Events the active model has not seen.",
                engine.events_since_fit() as f64,
            ),
            (
                "assay_model_version",
                "gauge",
                "The active model version (0: none).",
                engine.active().map_or(0.0, |m| m.version as f64),
            ),
            (
                "assay_index_items",
                "gauge",
                "Items in the search index.",
                engine.index_size() as f64,
            ),
            (
                "assay_users",
                "gauge",
                "Users with a profile.",
                counts.users as f64,
            ),
            (
                "assay_served_lists",
                "gauge",
                "Served result lists in the store.",
                counts.served as f64,
            ),
            (
                "assay_served_log_failures_total",
                "counter",
                "Served lists the store refused.",
                engine.served_failures() as f64,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

/// Escapes a label value.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
