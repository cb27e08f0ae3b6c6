//! Business metrics from a behaviour log: CTR, conversion, revenue (GMV) per impression and per
//! session, mean dwell time and N-day retention, overall, per user segment and per data source,
//! each with a confidence interval.
//!
//! Terms:
//! - a *unit* is the unit of randomization that the intervals resample in thought: a session
//!   ([`Unit::Session`]; events without a session form one pseudo-session per user) or a user
//!   ([`Unit::User`]). Events of one unit are correlated (a shopper who clicks once clicks
//!   again), so treating impressions as independent trials would make intervals too narrow;
//! - a *group* is a slice of the log: `overall`, one `segment` value (a user attribute named by
//!   the caller) or one `source`.
//!
//! | metric | definition | interval |
//! |---|---|---|
//! | `ctr` | clicks / impressions | delta method over units |
//! | `purchases_per_click` | purchases / clicks | delta method over units |
//! | `conversion_per_session` (`_per_user`) | share of units with at least one purchase | Wilson |
//! | `revenue_per_impression` | revenue / impressions | delta method over units |
//! | `revenue_per_session` (`_per_user`) | revenue / units | normal (delta method with denominator 1) |
//! | `mean_dwell_seconds` | dwell seconds / dwell events | delta method over units |
//! | `retention_{N}d` | share of users active again within N days after their first day | Wilson |
//!
//! The delta method: for a ratio `R = sum_u x_u / sum_u y_u` over `k` units,
//! `Var(R) ≈ (s_xx - 2 R s_xy + R^2 s_yy) / (k ybar^2)` with sample (co)variances of the
//! per-unit sums; the interval is `R ± z_{1-alpha/2} sqrt(Var(R))`.
//!
//! Revenue is the `value` of purchase events; a purchase without a value counts the item's
//! price, or 0 when that is unknown too (the report then warns).
//!
//! Retention follows the usual "returned within N days after first activity" definition. Days are
//! UTC calendar days of the timestamps. A user's day 0 is the day of their first event in the
//! whole log; the user is *retained* when they have an event on any of days 1..=N after it, and
//! is *eligible* only when day `N` after day 0 is not later than the log's last day (users who
//! arrived too late to be observed for N days are left out rather than counted as churned).
//! Per segment, users count in their segment; per source, in the source of their first event.
//! Events without a timestamp are ignored for retention.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use assay_core::{Dataset, EventKind, NO_SESSION, NO_TIME};
use serde::Serialize;

use crate::ab::z_quantile;
use crate::error::{ExperimentError, Result};

/// The unit of the intervals (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Sessions; events without a session form one pseudo-session per user.
    Session,
    /// Users.
    User,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Session => "session",
            Unit::User => "user",
        }
    }
}

/// Settings of [`business_metrics`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusinessConfig {
    /// The user attribute whose values define segments (e.g. "segment"); `None` for no segments.
    pub segment: Option<String>,
    /// N of the N-day retention.
    pub retention_days: u32,
    /// Significance level of the intervals (0.05 for 95%).
    pub alpha: f64,
    /// Unit of the intervals and of the per-unit metrics.
    pub unit: Unit,
}

/// One metric of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusinessRow {
    /// `overall`, `segment` or `source`.
    pub group: String,
    /// The segment value or source name (`all` for overall).
    pub value: String,
    /// Metric name (see the module docs).
    pub metric: String,
    /// Point estimate.
    pub estimate: f64,
    /// Lower end of the interval; `None` with fewer than two units.
    pub ci_low: Option<f64>,
    /// Upper end of the interval.
    pub ci_high: Option<f64>,
    /// Sum of the numerator.
    pub numerator: f64,
    /// Sum of the denominator.
    pub denominator: f64,
    /// Units (or users, for retention) behind the estimate.
    pub n_units: usize,
    /// `delta`, `normal` or `wilson`.
    pub interval: String,
}

/// The result of [`business_metrics`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusinessReport {
    /// The settings used.
    pub config: BusinessConfig,
    /// One row per group and metric; metrics whose denominator is 0 in a group are left out.
    pub rows: Vec<BusinessRow>,
    /// Caveats about the data (missing revenue, no timestamps...).
    pub warnings: Vec<String>,
}

impl BusinessReport {
    /// The row of `metric` for `group` and `value`, if present.
    pub fn row(&self, group: &str, value: &str, metric: &str) -> Option<&BusinessRow> {
        self.rows
            .iter()
            .find(|r| r.group == group && r.value == value && r.metric == metric)
    }
}

/// Computes the business metrics of `data` (see the module docs for definitions and intervals).
///
/// Fails when `config.segment` names no user attribute or `alpha` is outside (0, 1).
pub fn business_metrics(data: &Dataset, config: &BusinessConfig) -> Result<BusinessReport> {
    if !(config.alpha > 0.0 && config.alpha < 1.0) {
        return Err(ExperimentError::Invalid(format!(
            "alpha {} is outside (0, 1)",
            config.alpha
        )));
    }
    let events = &data.events;
    let segment_column = match &config.segment {
        None => None,
        Some(name) => Some(data.users.attributes.column(name).ok_or_else(|| {
            ExperimentError::Invalid(format!(
                "no user attribute `{name}` to segment by; the users have: {}",
                if data.users.attributes.names.is_empty() {
                    "no attributes".to_owned()
                } else {
                    data.users.attributes.names.join(", ")
                }
            ))
        })?),
    };
    // Groups: overall, then segments (sorted), then sources (in index order).
    let mut labels: Vec<(&'static str, String)> = vec![("overall", "all".to_owned())];
    let mut segment_group: Vec<usize> = Vec::new();
    if let Some(column) = segment_column {
        let values: BTreeSet<&str> = column.iter().map(|v| segment_label(v)).collect();
        let distinct: BTreeMap<&str, usize> = values
            .into_iter()
            .enumerate()
            .map(|(k, v)| (v, labels.len() + k))
            .collect();
        for value in distinct.keys() {
            labels.push(("segment", (*value).to_owned()));
        }
        segment_group = (0..data.users.len())
            .map(|u| distinct[segment_label(column.get(u).map_or("", String::as_str))])
            .collect();
    }
    let source_base = labels.len();
    let n_sources = (events.source.iter().map(|&s| s as usize + 1).max())
        .unwrap_or(0)
        .max(data.sources.len());
    for s in 0..n_sources {
        let name = if s < data.sources.len() {
            data.sources.name(s as u32).to_owned()
        } else {
            format!("source {s}")
        };
        labels.push(("source", name));
    }

    let mut warnings = Vec::new();
    let mut accumulators: Vec<HashMap<u64, UnitSums>> = vec![HashMap::new(); labels.len()];
    let mut purchases_without_value = 0usize;
    let mut groups = Vec::with_capacity(3);
    for e in 0..events.len() {
        let user = events.user[e];
        let unit = match config.unit {
            Unit::Session if events.session[e] != NO_SESSION => u64::from(events.session[e]),
            _ => (1u64 << 32) | u64::from(user),
        };
        groups.clear();
        groups.push(0);
        if let Some(&g) = segment_group.get(user as usize) {
            groups.push(g);
        }
        groups.push(source_base + events.source[e] as usize);
        let mut revenue = 0.0;
        if events.kind[e] == EventKind::Purchase {
            let value = events.value[e];
            revenue = if value.is_finite() {
                value
            } else {
                purchases_without_value += 1;
                let price = data
                    .items
                    .price
                    .get(events.item[e] as usize)
                    .copied()
                    .unwrap_or(f64::NAN);
                if price.is_finite() {
                    price
                } else {
                    0.0
                }
            };
        }
        for &g in &groups {
            let sums = accumulators[g].entry(unit).or_default();
            match events.kind[e] {
                EventKind::Impression => sums.impressions += 1.0,
                EventKind::Click => sums.clicks += 1.0,
                EventKind::Purchase => {
                    sums.purchases += 1.0;
                    sums.revenue += revenue;
                }
                EventKind::Dwell if events.value[e].is_finite() => {
                    sums.dwell_events += 1.0;
                    sums.dwell_seconds += events.value[e];
                }
                _ => {}
            }
        }
    }
    if purchases_without_value > 0 {
        warnings.push(format!(
            "{purchases_without_value} purchases have no revenue value; their item price (or 0) was used"
        ));
    }

    let z = z_quantile(1.0 - config.alpha / 2.0);
    let unit_name = config.unit.as_str();
    let retention = retention_by_group(
        data,
        config.retention_days,
        labels.len(),
        &segment_group,
        source_base,
    );
    if retention.is_none() {
        warnings.push("no timestamps: retention is not computed".to_owned());
    }
    let mut rows = Vec::new();
    for (g, (group, value)) in labels.iter().enumerate() {
        // In unit order: a hash map's order changes from run to run, and so would float sums.
        let mut keyed: Vec<(&u64, &UnitSums)> = accumulators[g].iter().collect();
        keyed.sort_unstable_by_key(|(unit, _)| **unit);
        let units: Vec<&UnitSums> = keyed.into_iter().map(|(_, sums)| sums).collect();
        let mut push = |metric: String, stats: Option<Ratio>| {
            if let Some(stats) = stats {
                rows.push(BusinessRow {
                    group: (*group).to_owned(),
                    value: value.clone(),
                    metric,
                    estimate: stats.estimate,
                    ci_low: stats.ci.map(|c| c.0),
                    ci_high: stats.ci.map(|c| c.1),
                    numerator: stats.numerator,
                    denominator: stats.denominator,
                    n_units: stats.n_units,
                    interval: stats.interval.to_owned(),
                });
            }
        };
        push(
            "ctr".into(),
            delta_ratio(&units, z, |u| (u.clicks, u.impressions)),
        );
        push(
            "purchases_per_click".into(),
            delta_ratio(&units, z, |u| (u.purchases, u.clicks)),
        );
        let converted = units.iter().filter(|u| u.purchases > 0.0).count();
        push(
            format!("conversion_per_{unit_name}"),
            wilson(converted, units.len(), z),
        );
        push(
            "revenue_per_impression".into(),
            delta_ratio(&units, z, |u| (u.revenue, u.impressions)),
        );
        push(
            format!("revenue_per_{unit_name}"),
            delta_ratio(&units, z, |u| (u.revenue, 1.0)).map(|r| Ratio {
                interval: "normal",
                ..r
            }),
        );
        push(
            "mean_dwell_seconds".into(),
            delta_ratio(&units, z, |u| (u.dwell_seconds, u.dwell_events)),
        );
        if let Some(retention) = &retention {
            let (retained, eligible) = retention[g];
            push(
                format!("retention_{}d", config.retention_days),
                wilson(retained, eligible, z),
            );
        }
    }
    Ok(BusinessReport {
        config: config.clone(),
        rows,
        warnings,
    })
}

/// The label of a segment value; an empty attribute reads `(missing)`.
fn segment_label(value: &str) -> &str {
    if value.is_empty() {
        "(missing)"
    } else {
        value
    }
}

/// Per-unit sums of one group.
#[derive(Debug, Clone, Copy, Default)]
struct UnitSums {
    impressions: f64,
    clicks: f64,
    purchases: f64,
    revenue: f64,
    dwell_events: f64,
    dwell_seconds: f64,
}

/// A point estimate with its interval half-width.
#[derive(Debug, Clone, Copy)]
struct Ratio {
    estimate: f64,
    ci: Option<(f64, f64)>,
    numerator: f64,
    denominator: f64,
    n_units: usize,
    interval: &'static str,
}

/// The delta-method interval of `sum x / sum y` over the units with data (see the module docs).
/// Units whose numerator and denominator are both 0 do not enter. `None` when `sum y` is 0.
fn delta_ratio(
    units: &[&UnitSums],
    z: f64,
    pick: impl Fn(&UnitSums) -> (f64, f64),
) -> Option<Ratio> {
    let pairs: Vec<(f64, f64)> = units
        .iter()
        .map(|u| pick(u))
        .filter(|&(x, y)| x != 0.0 || y != 0.0)
        .collect();
    let k = pairs.len();
    let numerator: f64 = pairs.iter().map(|p| p.0).sum();
    let denominator: f64 = pairs.iter().map(|p| p.1).sum();
    if denominator == 0.0 {
        return None;
    }
    let estimate = numerator / denominator;
    let ci = (k >= 2).then(|| {
        let (mx, my) = (numerator / k as f64, denominator / k as f64);
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y) in &pairs {
            sxx += (x - mx) * (x - mx);
            sxy += (x - mx) * (y - my);
            syy += (y - my) * (y - my);
        }
        let scale = (k - 1) as f64;
        let variance =
            (sxx - 2.0 * estimate * sxy + estimate * estimate * syy) / scale / (k as f64 * my * my);
        let half = z * variance.max(0.0).sqrt();
        (estimate - half, estimate + half)
    });
    Some(Ratio {
        estimate,
        ci,
        numerator,
        denominator,
        n_units: k,
        interval: "delta",
    })
}

/// The Wilson score interval of `successes / trials`. `None` without trials.
fn wilson(successes: usize, trials: usize, z: f64) -> Option<Ratio> {
    if trials == 0 {
        return None;
    }
    Some(Ratio {
        estimate: successes as f64 / trials as f64,
        ci: Some(wilson_interval(successes as f64, trials as f64, z)),
        numerator: successes as f64,
        denominator: trials as f64,
        n_units: trials,
        interval: "wilson",
    })
}

/// Wilson score interval `(low, high)` of `x` successes in `n > 0` trials at normal quantile `z`.
pub fn wilson_interval(x: f64, n: f64, z: f64) -> (f64, f64) {
    let p = x / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    (centre - half, centre + half)
}

/// `(retained, eligible)` users per group (see the module docs), or `None` without timestamps.
fn retention_by_group(
    data: &Dataset,
    days: u32,
    n_groups: usize,
    segment_group: &[usize],
    source_base: usize,
) -> Option<Vec<(usize, usize)>> {
    let events = &data.events;
    let n_users = data.users.len().max(
        events
            .user
            .iter()
            .map(|&u| u as usize + 1)
            .max()
            .unwrap_or(0),
    );
    // First day and the source of the first event, per user.
    let mut first: Vec<Option<(i64, i64, u16)>> = vec![None; n_users];
    let mut last_day = i64::MIN;
    for e in 0..events.len() {
        let t = events.timestamp[e];
        if t == NO_TIME {
            continue;
        }
        let day = t.div_euclid(86_400);
        last_day = last_day.max(day);
        let slot = &mut first[events.user[e] as usize];
        if slot.is_none_or(|(_, first_t, _)| t < first_t) {
            *slot = Some((day, t, events.source[e]));
        }
    }
    if last_day == i64::MIN {
        return None;
    }
    let window = i64::from(days);
    let mut retained = vec![false; n_users];
    for e in 0..events.len() {
        let t = events.timestamp[e];
        if t == NO_TIME {
            continue;
        }
        let user = events.user[e] as usize;
        if let Some((day0, _, _)) = first[user] {
            let offset = t.div_euclid(86_400) - day0;
            if (1..=window).contains(&offset) {
                retained[user] = true;
            }
        }
    }
    let mut counts = vec![(0usize, 0usize); n_groups];
    for user in 0..n_users {
        let Some((day0, _, source)) = first[user] else {
            continue;
        };
        if day0 + window > last_day {
            continue;
        }
        let mut groups = vec![0, source_base + source as usize];
        if let Some(&g) = segment_group.get(user) {
            groups.push(g);
        }
        for g in groups {
            if let Some(c) = counts.get_mut(g) {
                c.1 += 1;
                c.0 += usize::from(retained[user]);
            }
        }
    }
    Some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::{NO_POSITION, NO_QUERY};

    const DAY: i64 = 86_400;

    /// Three users (u0, u2 in segment a; u1 in b), sources app and web, four sessions:
    ///
    /// | session | user | day | source | events |
    /// |---|---|---|---|---|
    /// | s0 | u0 | 0 | app | 2 impressions, 1 click, purchase 30, dwell 40 s |
    /// | s1 | u1 | 0 | web | 3 impressions, 1 click, dwell 20 s |
    /// | s2 | u0 | 2 | app | 1 impression, 1 click, purchase without value (item price 20) |
    /// | s3 | u2 | 5 | web | 1 impression |
    fn shop() -> Dataset {
        let mut data = Dataset::default();
        data.users.attributes.names = vec!["segment".into()];
        data.users.attributes.values = vec![vec![]];
        for (id, segment) in [("u0", "a"), ("u1", "b"), ("u2", "a")] {
            let u = data.users.intern(id) as usize;
            data.users.attributes.values[0][u] = segment.into();
        }
        data.items.intern("i0");
        data.items.intern("i1");
        data.items.price = vec![10.0, 20.0];
        data.sources.intern("app");
        data.sources.intern("web");
        for s in ["s0", "s1", "s2", "s3"] {
            data.sessions.intern(s);
        }
        use EventKind::*;
        let rows: [(u32, u32, EventKind, f64, i64, u32, u16); 14] = [
            (0, 0, Impression, f64::NAN, 10, 0, 0),
            (0, 1, Impression, f64::NAN, 10, 0, 0),
            (0, 0, Click, f64::NAN, 20, 0, 0),
            (0, 0, Purchase, 30.0, 30, 0, 0),
            (0, 0, Dwell, 40.0, 25, 0, 0),
            (1, 0, Impression, f64::NAN, 100, 1, 1),
            (1, 1, Impression, f64::NAN, 100, 1, 1),
            (1, 0, Impression, f64::NAN, 100, 1, 1),
            (1, 1, Click, f64::NAN, 110, 1, 1),
            (1, 1, Dwell, 20.0, 120, 1, 1),
            (0, 1, Impression, f64::NAN, 2 * DAY + 5, 2, 0),
            (0, 1, Click, f64::NAN, 2 * DAY + 6, 2, 0),
            (0, 1, Purchase, f64::NAN, 2 * DAY + 7, 2, 0),
            (2, 0, Impression, f64::NAN, 5 * DAY, 3, 1),
        ];
        for (user, item, kind, value, time, session, source) in rows {
            data.events.push(
                user,
                item,
                kind,
                value,
                time,
                session,
                NO_QUERY,
                NO_POSITION,
                f64::NAN,
                source,
            );
        }
        data
    }

    fn config(unit: Unit) -> BusinessConfig {
        BusinessConfig {
            segment: Some("segment".into()),
            retention_days: 3,
            alpha: 0.05,
            unit,
        }
    }

    #[track_caller]
    fn check(report: &BusinessReport, key: (&str, &str, &str), expect: [f64; 3]) {
        let row = report
            .row(key.0, key.1, key.2)
            .unwrap_or_else(|| panic!("no row {key:?} in {:#?}", report.rows));
        let actual = [
            row.estimate,
            row.ci_low.unwrap_or(f64::NAN),
            row.ci_high.unwrap_or(f64::NAN),
        ];
        for (a, e) in actual.iter().zip(expect) {
            assert!(
                (a - e).abs() < 1e-6 || (a.is_nan() && e.is_nan()),
                "{key:?}: {actual:?} != {expect:?}"
            );
        }
    }

    /// Per-session sums (clicks, impressions): (1, 2), (1, 3), (1, 1), (0, 1). CTR = 3/7.
    /// Sample (co)variances: s_xx = 0.25, s_xy = 0.25, s_yy = 11/12; ybar = 1.75, k = 4.
    /// Var = (0.25 - 2 (3/7) 0.25 + (9/49)(11/12)) / (4 * 1.75^2) = 0.204082 / 12.25 = 0.016660,
    /// se = 0.129073, so the interval is 3/7 ± 0.252977 = [0.175594, 0.681549].
    /// Revenue per session: 30, 0, 20, 0: mean 12.5, s^2 = 225, se = 7.5, 12.5 ± 14.699730.
    /// Dwell: 40 and 20 s in two sessions: 30 ± 1.959964 * sqrt(200 / 2) = 30 ± 19.599640.
    /// Conversion per session: 2 of 4, Wilson [0.150039, 0.849961].
    /// Retention (3 days, last day 5): u0 (day 0, back on day 2) and u1 (day 0, never back) are
    /// eligible, u2 (first seen on day 5) is not: 1/2, Wilson [0.094531, 0.905469].
    #[test]
    fn overall_metrics_by_hand() {
        let report = business_metrics(&shop(), &config(Unit::Session)).unwrap();
        let all = |m| ("overall", "all", m);
        check(&report, all("ctr"), [3.0 / 7.0, 0.175_594, 0.681_549]);
        check(
            &report,
            all("purchases_per_click"),
            [2.0 / 3.0, 0.013_345, 1.319_988],
        );
        check(
            &report,
            all("conversion_per_session"),
            [0.5, 0.150_039, 0.849_961],
        );
        check(
            &report,
            all("revenue_per_impression"),
            [50.0 / 7.0, -2.676_670, 16.962_385],
        );
        check(
            &report,
            all("revenue_per_session"),
            [12.5, -2.199_730, 27.199_730],
        );
        check(
            &report,
            all("mean_dwell_seconds"),
            [30.0, 10.400_360, 49.599_640],
        );
        check(&report, all("retention_3d"), [0.5, 0.094_531, 0.905_469]);
        assert_eq!(report.row("overall", "all", "ctr").unwrap().n_units, 4);
        assert_eq!(
            report
                .row("overall", "all", "revenue_per_session")
                .unwrap()
                .interval,
            "normal"
        );
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(report.warnings[0].starts_with("1 purchases have no revenue value"));
    }

    /// Segment a = sessions s0, s2, s3 (4 impressions, 2 clicks); b = s1 (3, 1), one session so
    /// no interval. Source app = s0, s2 (3, 2); web = s1, s3 (4, 1). Retention: a 1/1, b 0/1;
    /// by first source: app (u0) 1/1, web (u1) 0/1.
    #[test]
    fn segments_and_sources() {
        let report = business_metrics(&shop(), &config(Unit::Session)).unwrap();
        let ctr = |g, v| report.row(g, v, "ctr").unwrap().estimate;
        assert_eq!(ctr("segment", "a"), 0.5);
        assert_eq!(ctr("segment", "b"), 1.0 / 3.0);
        assert_eq!(ctr("source", "app"), 2.0 / 3.0);
        assert_eq!(ctr("source", "web"), 0.25);
        assert_eq!(report.row("segment", "b", "ctr").unwrap().ci_low, None);
        assert_eq!(
            report
                .row("segment", "a", "revenue_per_session")
                .unwrap()
                .estimate,
            50.0 / 3.0
        );
        let retention = |g, v| {
            let r = report.row(g, v, "retention_3d").unwrap();
            (r.numerator, r.denominator)
        };
        assert_eq!(retention("segment", "a"), (1.0, 1.0));
        assert_eq!(retention("segment", "b"), (0.0, 1.0));
        assert_eq!(retention("source", "app"), (1.0, 1.0));
        assert_eq!(retention("source", "web"), (0.0, 1.0));
        // The web source has clicks but no purchases.
        assert_eq!(
            report
                .row("source", "web", "purchases_per_click")
                .unwrap()
                .estimate,
            0.0
        );
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"unit\":\"session\""), "{json}");
    }

    /// Per user (clicks, impressions): u0 (2, 3), u1 (1, 3), u2 (0, 1): CTR 3/7 with a wider
    /// interval [0.126584, 0.730559]; conversion 1 of 3 users, Wilson [0.061492, 0.792340].
    #[test]
    fn user_unit() {
        let report = business_metrics(&shop(), &config(Unit::User)).unwrap();
        check(
            &report,
            ("overall", "all", "ctr"),
            [3.0 / 7.0, 0.126_584, 0.730_559],
        );
        check(
            &report,
            ("overall", "all", "conversion_per_user"),
            [1.0 / 3.0, 0.061_492, 0.792_340],
        );
    }

    #[test]
    fn bad_settings_and_missing_time() {
        let mut cfg = config(Unit::Session);
        cfg.segment = Some("region".into());
        let err = business_metrics(&shop(), &cfg).unwrap_err().to_string();
        assert!(err.contains("`region`") && err.contains("segment"), "{err}");
        let mut data = shop();
        data.events.timestamp.iter_mut().for_each(|t| *t = NO_TIME);
        let report = business_metrics(&data, &config(Unit::Session)).unwrap();
        assert!(report.row("overall", "all", "retention_3d").is_none());
        assert!(report.warnings.iter().any(|w| w.contains("retention")));
    }
}
