//! The dashboard at `/`: one server-rendered page in the report's style (its stylesheet and
//! its plotters charts as inline SVG, no script): data health, model versions with their
//! offline metrics, the latest data value, off-policy evaluation of the re-ranker and its A/B
//! test.

use std::fmt::Write;

use assay_report::plots::{self, LegendAt, Line};
use assay_report::{escape, svg_or_note, STYLE};

use crate::engine::{Engine, ServeError};
use crate::store::now_seconds;

/// Minutes of arrivals the data-health chart covers.
const WINDOW_MINUTES: i64 = 60;

/// The page. `ingested` and `rejected` count events since the service started.
pub fn render(engine: &Engine, ingested: u64, rejected: u64) -> Result<String, ServeError> {
    let store = engine.store();
    let counts = engine.counts();
    let models = store.models()?;
    let now = now_seconds();
    let per_minute = store.events_per_minute(now, WINDOW_MINUTES)?;
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>assay</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>assay</h1>\n\
         <p><a href=\"/report\">Data-value report</a> · <a href=\"/ope\">Off-policy evaluation (JSON)</a> · \
         <a href=\"/ab\">A/B test (JSON)</a> · \
         <a href=\"/models\">Model versions (JSON)</a> · <a href=\"/metrics\">Metrics</a></p>\n"
    );
    let _ = writeln!(
        page,
        "<p class=\"sub\">{} items, {} users, {} events, {} served lists; model version {}; \
         {} events acknowledged and {} refused since start; {} events not yet in a model.</p>",
        counts.items,
        counts.users,
        counts.events,
        counts.served,
        engine
            .active()
            .map_or("none".to_owned(), |m| m.version.to_string()),
        ingested,
        rejected,
        engine.events_since_fit(),
    );

    page.push_str("<h2>Data health</h2>\n");
    let mut kinds: Vec<&str> = per_minute.iter().map(|(_, k, _)| k.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.is_empty() {
        let _ = writeln!(
            page,
            "<p>No event arrived in the last {WINDOW_MINUTES} minutes.</p>"
        );
    } else {
        let this_minute = now / 60;
        let lines: Vec<Line> = kinds
            .iter()
            .enumerate()
            .map(|(color, kind)| Line {
                name: (*kind).to_owned(),
                points: (0..WINDOW_MINUTES)
                    .map(|ago| {
                        let minute = this_minute - ago;
                        let n = per_minute
                            .iter()
                            .find(|(m, k, _)| *m == minute && k == kind)
                            .map_or(0, |(_, _, n)| *n);
                        (-(ago as f64), n as f64)
                    })
                    .rev()
                    .collect(),
                dashed: false,
                color,
            })
            .collect();
        svg_or_note(
            &mut page,
            plots::lines("Events per minute", "minutes ago", "events", &lines, false, LegendAt::UpperLeft),
            "Events stored per minute of arrival, by kind (events of the first import arrived at once).",
        );
    }

    page.push_str("<h2>Model versions</h2>\n");
    let metric = |m: &crate::store::ModelRecord, name: &str| {
        m.metrics
            .get("test")
            .and_then(|t| t.get(name))
            .and_then(serde_json::Value::as_f64)
    };
    let measured: Vec<_> = models
        .iter()
        .filter(|m| metric(m, "ndcg").is_some())
        .collect();
    if measured.len() > 1 {
        let lines: Vec<Line> = ["recall", "ndcg", "mrr"]
            .iter()
            .enumerate()
            .map(|(color, name)| Line {
                name: format!("{name}@10"),
                points: measured
                    .iter()
                    .filter_map(|m| Some((m.version as f64, metric(m, name)?)))
                    .collect(),
                dashed: false,
                color,
            })
            .collect();
        svg_or_note(
            &mut page,
            plots::lines("Offline metrics by version", "version", "test metric", &lines, false, LegendAt::UpperLeft),
            "RecBole protocol (random 80/10/10 per user, full ranking) on each version's most recent events.",
        );
    }
    page.push_str("<table>\n<tr><th>version</th><th>model</th><th>events</th><th>recall@10</th><th>ndcg@10</th><th>state</th><th>fitted</th></tr>\n");
    for m in models.iter().rev() {
        let cell = |name| metric(m, name).map_or("-".to_owned(), significant);
        let state = if m.active {
            "active"
        } else if m.available {
            "stored"
        } else {
            "dropped"
        };
        let _ = writeln!(
            page,
            "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{state}</td><td class=\"n\">{} s ago</td></tr>",
            m.version,
            escape(&m.spec),
            m.events,
            cell("recall"),
            cell("ndcg"),
            now - m.created
        );
    }
    page.push_str("</table>\n<h2>Data value</h2>\n");
    match store.latest_valuation()? {
        None => page.push_str("<p>No valuation is stored yet.</p>\n"),
        Some(valuation) => {
            let mut users: Vec<(String, f64)> = valuation
                .get("users")
                .and_then(serde_json::Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default();
            users.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let total: f64 = users.iter().map(|u| u.1).sum();
            let negative = users.iter().filter(|u| u.1 < 0.0).count();
            let _ = writeln!(
                page,
                "<p>{} users valued, total {total:.4}; {negative} with a negative value.</p>",
                users.len()
            );
            if !users.is_empty() {
                page.push_str("<table>\n<tr><th>user</th><th>value</th></tr>\n");
                for (user, value) in users.iter().take(5).chain(users.iter().rev().take(5).rev()) {
                    let _ = writeln!(
                        page,
                        "<tr><td>{}</td><td class=\"n\">{value:.4}</td></tr>",
                        escape(user)
                    );
                }
                page.push_str(
                    "</table>\n<p class=\"sub\">The five most and least valuable users.</p>\n",
                );
            }
        }
    }
    page.push_str("<h2>Off-policy evaluation</h2>\n");
    match engine.ope() {
        None if engine.bandit().is_none() => page.push_str(
            "<p>The Thompson-sampling re-ranker is off: lists are served in the model's order.</p>\n",
        ),
        None => page.push_str("<p>The re-ranker has not served a logged list yet.</p>\n"),
        Some(ope) => {
            let _ = writeln!(
                page,
                "<p>{} lists ({} shown positions) served by the Thompson-sampling re-ranker since \
                 start; its mean reward (click or purchase) per shown position: {}.</p>",
                ope.rounds,
                ope.positions,
                significant(ope.logged)
            );
            page.push_str(
                "<table>\n<tr><th>candidate policy</th><th>IPS</th><th>SNIPS</th><th>mean weight</th></tr>\n",
            );
            for c in &ope.candidates {
                let _ = writeln!(
                    page,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape(c.policy),
                    significant(c.ips),
                    c.snips.map_or("-".to_owned(), significant),
                    significant(c.mean_weight)
                );
            }
            page.push_str(
                "</table>\n<p class=\"sub\">Estimated reward per shown position had the candidate \
                 served the same requests, from the logged propensities (IPS and self-normalized \
                 IPS, assay-bandit's IPW and SNIPW).</p>\n",
            );
        }
    }
    ab_section(engine, &mut page);
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

/// The A/B test of the re-ranker against the model's order: the groups side by side, their
/// means with 95% intervals as bars, and Welch's test.
fn ab_section(engine: &Engine, page: &mut String) {
    page.push_str("<h2>A/B test</h2>\n");
    let Some(ab) = engine.ab() else {
        page.push_str(
            "<p>No A/B test runs. <code>assay serve --ab-control 0.5</code> serves half of the \
             users (by a seeded hash of their id) the model's ranking unchanged and compares them \
             with those served the re-ranker.</p>\n",
        );
        return;
    };
    let _ = writeln!(
        page,
        "<p>{:.0}% of users are in the control group (the model's ranking unchanged); the others \
         get the Thompson-sampling re-ranker. Unit: the user; metric: {}.</p>",
        ab.control_share * 100.0,
        escape(ab.metric)
    );
    page.push_str(
        "<table>\n<tr><th>group</th><th>users</th><th>lists</th><th>lists with a click or purchase</th><th>mean per user</th></tr>\n",
    );
    for (name, g) in [("control", &ab.control), ("re-ranker", &ab.treatment)] {
        let _ = writeln!(
            page,
            "<tr><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            g.users,
            g.lists,
            g.rewarded_lists,
            significant(g.mean)
        );
    }
    page.push_str("</table>\n");
    match &ab.test {
        Some(t) => {
            let _ = writeln!(
                page,
                "<p>Re-ranker minus control: {} (95% interval {} to {}), Welch's t = {:.2}, \
                 p = {}.{}</p>",
                significant(t.difference),
                significant(t.ci_low),
                significant(t.ci_high),
                t.statistic,
                significant(t.p_value),
                if t.p_value < 0.05 {
                    " The difference is significant at the 5% level."
                } else {
                    " No significant difference at the 5% level yet."
                }
            );
            let half = (t.ci_high - t.ci_low) / 2.0;
            let bars = [plots::Bar {
                name: "re-ranker minus control".into(),
                value: t.difference,
                half_width: half,
            }];
            svg_or_note(
                page,
                plots::bars(
                    "A/B difference",
                    "share of lists with a click or purchase",
                    &bars,
                ),
                "The difference of the groups' means with its 95% interval (Welch).",
            );
        }
        None => page.push_str(
            "<p>Too few users in a group (two each, with some spread) to test yet.</p>\n",
        ),
    }
    if ab.untallied_lists > 0 {
        let _ = writeln!(
            page,
            "<p class=\"sub\">{} lists to users beyond the test's capacity were not counted.</p>",
            ab.untallied_lists
        );
    }
}

/// A metric with three significant digits: 0.000312 and 0.412 both keep what they say.
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let decimals = (2 - value.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{value:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::significant;

    #[test]
    fn metrics_keep_three_significant_digits() {
        assert_eq!(significant(0.000_312_4), "0.000312");
        assert_eq!(significant(0.4126), "0.413");
        assert_eq!(significant(1.0), "1.00");
        assert_eq!(significant(0.0), "0");
    }
}
