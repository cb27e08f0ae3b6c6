//! The plain-language summary: what to keep, fix, buy more of, or drop, from values and
//! their 95% intervals.
//!
//! The rules, for a group of data (a source, a segment, a time window, a category) with
//! value `v` and 95% interval `[lo, hi]`:
//!
//! - `hi < 0`: **drop or clean** — the model is measurably better without it;
//! - `v < 0 <= hi`: **fix** — it probably hurts, but the data cannot tell for sure; check
//!   its quality before relying on it;
//! - `lo > 0` and 10% more of it is predicted (by its fitted learning curve) to raise the
//!   measure by at least [`BUY_THRESHOLD`] of the baseline: **buy or collect more**;
//! - `lo > 0` otherwise: **keep**;
//! - `lo <= 0 <= v`: **unclear** — no measurable effect either way.
//!
//! A value without a standard error (NaN) is judged by its sign alone, as if exact.

use serde::Serialize;

use crate::model::{LearningCurve, ValueReport, ValueRow};

/// Smallest predicted gain of 10% more data, relative to the baseline, that is worth buying
/// (0.5%).
pub const BUY_THRESHOLD: f64 = 0.005;

/// What to do with a piece of data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The model is measurably better without it.
    Drop,
    /// Probably harmful: check and clean it.
    Fix,
    /// Clearly useful and more of it would help.
    BuyMore,
    /// Clearly useful.
    Keep,
    /// No measurable effect.
    Unclear,
}

impl Action {
    /// The words shown in the report.
    pub fn label(self) -> &'static str {
        match self {
            Action::Drop => "drop or clean",
            Action::Fix => "fix",
            Action::BuyMore => "buy / collect more",
            Action::Keep => "keep",
            Action::Unclear => "unclear",
        }
    }
}

/// One recommendation about one player.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// Player kind ("source").
    pub kind: String,
    /// Player name.
    pub name: String,
    /// What to do.
    pub action: Action,
    /// Why, in one sentence.
    pub reason: String,
}

/// The summary: headline sentences, then one piece of advice per group player, most urgent
/// first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Sentences about the whole dataset.
    pub headlines: Vec<String>,
    /// Per-player advice, ordered by action (drop, fix, buy more, keep, unclear), then by
    /// value.
    pub advice: Vec<Advice>,
}

/// Applies the rules of this module to one value. `gain_10` is the predicted gain of 10%
/// more of this data (`None` when unknown), `baseline` the measure with all data.
pub fn classify(row: &ValueRow, gain_10: Option<f64>, baseline: f64) -> Action {
    let (lo, hi) = row.interval().unwrap_or((row.value, row.value));
    if hi < 0.0 {
        Action::Drop
    } else if row.value < 0.0 {
        Action::Fix
    } else if lo > 0.0 {
        match gain_10 {
            Some(gain) if gain >= BUY_THRESHOLD * baseline.abs() && gain > 0.0 => Action::BuyMore,
            _ => Action::Keep,
        }
    } else {
        Action::Unclear
    }
}

/// Builds the summary of a report.
pub fn summarize(report: &ValueReport) -> Summary {
    let metric = &report.utility;
    let base = report.baseline.valid;
    let mut headlines = Vec::new();
    let mut advice = Vec::new();
    for table in &report.groups {
        for row in &table.rows {
            let curve = report.learning.as_ref().and_then(|l| {
                l.per_source
                    .iter()
                    .find(|c| c.name == row.name)
                    .filter(|_| table.kind == "source")
            });
            let gain = curve.and_then(LearningCurve::gain_of_10_percent);
            let action = classify(row, gain, base);
            advice.push(Advice {
                kind: table.kind.clone(),
                name: row.name.clone(),
                action,
                reason: reason(row, action, gain, metric, base),
            });
        }
    }
    advice.sort_by(|a, b| {
        a.action.cmp(&b.action).then_with(|| {
            let value = |x: &Advice| {
                report
                    .groups
                    .iter()
                    .filter(|t| t.kind == x.kind)
                    .flat_map(|t| &t.rows)
                    .find(|r| r.name == x.name)
                    .map_or(0.0, |r| r.value)
            };
            value(a).total_cmp(&value(b))
        })
    });
    let count = |action| advice.iter().filter(|a| a.action == action).count();
    headlines.push(format!(
        "With all training data the {} recommender scores {metric} = {} on validation and {} on test.",
        report.model,
        num(base),
        num(report.baseline.test)
    ));
    let drops = count(Action::Drop) + count(Action::Fix);
    if drops > 0 {
        let names: Vec<&str> = advice
            .iter()
            .filter(|a| matches!(a.action, Action::Drop | Action::Fix))
            .map(|a| a.name.as_str())
            .collect();
        headlines.push(format!(
            "{drops} group(s) of data lower {metric}: {}. Clean or drop them first.",
            names.join(", ")
        ));
    } else if !advice.is_empty() {
        headlines.push(format!("No group of data measurably lowers {metric}."));
    }
    let buys: Vec<&str> = advice
        .iter()
        .filter(|a| a.action == Action::BuyMore)
        .map(|a| a.name.as_str())
        .collect();
    if !buys.is_empty() {
        headlines.push(format!(
            "More data from {} is predicted to pay off.",
            buys.join(", ")
        ));
    }
    if let Some(learning) = &report.learning {
        let overall = &learning.overall;
        match overall.gain_of_10_percent() {
            Some(gain) => {
                let relative = gain / report.baseline.test.abs().max(f64::MIN_POSITIVE);
                let verdict = if gain > 0.0 && relative >= BUY_THRESHOLD {
                    "worth collecting more data of the current mix"
                } else {
                    "more data of the same mix adds little; fix quality instead"
                };
                headlines.push(format!(
                    "10% more data like the current mix is predicted to change test {metric} by {} ({}): {verdict}.",
                    signed(gain),
                    percent(relative)
                ));
            }
            None => headlines.push(format!(
                "The learning curve has no power-law fit (fewer than two points above zero), so the value of more data is unknown."
            )),
        }
    }
    for table in &report.points {
        let harmful: Vec<&ValueRow> = table
            .rows
            .iter()
            .filter(|r| r.interval().is_some_and(|(_, hi)| hi < 0.0))
            .collect();
        let negative = table.rows.iter().filter(|r| r.value < 0.0).count();
        let mut worst: Vec<&ValueRow> = harmful.clone();
        worst.sort_by(|a, b| a.value.total_cmp(&b.value));
        let names: Vec<&str> = worst.iter().take(5).map(|r| r.name.as_str()).collect();
        headlines.push(if harmful.is_empty() {
            format!(
                "{negative} of {} {}s have a negative value, none clearly (95% interval below zero).",
                table.rows.len(),
                table.kind
            )
        } else {
            format!(
                "{negative} of {} {}s have a negative value, {} clearly (95% interval below zero); the worst: {}. Review them (bots, spam, test accounts).",
                table.rows.len(),
                table.kind,
                harmful.len(),
                names.join(", ")
            )
        });
    }
    if let Some(removal) = &report.removal {
        if let Some(i) = removal.fractions.iter().position(|&f| f > 0.0) {
            let (f, full) = (removal.fractions[i], removal.low_first[0]);
            headlines.push(format!(
                "Removing the lowest-valued {} of {}s changes test {metric} from {} to {} (random removal: {}; highest-valued first: {}).",
                percent(f),
                removal.kind,
                num(full),
                num(removal.low_first[i]),
                num(removal.random[i]),
                num(removal.high_first[i])
            ));
        }
    }
    Summary { headlines, advice }
}

fn reason(row: &ValueRow, action: Action, gain: Option<f64>, metric: &str, base: f64) -> String {
    let interval = match row.interval() {
        Some((lo, hi)) => format!(
            "{} (95% interval {} to {})",
            signed(row.value),
            num(lo),
            num(hi)
        ),
        None => signed(row.value),
    };
    let share = if base.abs() > 0.0 {
        format!(", {} of the total", percent(row.value / base))
    } else {
        String::new()
    };
    match action {
        Action::Drop => {
            format!("adds {interval} to {metric}: the model is better without it{share}")
        }
        Action::Fix => format!(
            "adds {interval} to {metric}: probably harmful, but not certainly; check its quality"
        ),
        Action::BuyMore => format!(
            "adds {interval} to {metric}{share}; 10% more of it is predicted to add {}",
            signed(gain.unwrap_or(f64::NAN))
        ),
        Action::Keep => {
            let more = match gain {
                Some(g) => format!("; 10% more of it is predicted to add only {}", signed(g)),
                None => String::new(),
            };
            format!("adds {interval} to {metric}{share}{more}")
        }
        Action::Unclear => format!("adds {interval} to {metric}: not distinguishable from zero"),
    }
}

/// A number with four significant decimals.
pub(crate) fn num(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{x:.4}")
    }
}

/// A number with an explicit sign.
pub(crate) fn signed(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else {
        format!("{x:+.4}")
    }
}

/// A share as a percentage with one decimal.
pub(crate) fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "n/a".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn row(name: &str, value: f64, std_error: f64) -> ValueRow {
        ValueRow {
            name: name.into(),
            value,
            std_error,
            rows: 10,
        }
    }

    #[test]
    fn rules_by_hand() {
        // 1.96 * 0.01 = 0.0196: the interval of -0.03 is [-0.0496, -0.0104], below zero.
        assert_eq!(classify(&row("a", -0.03, 0.01), None, 0.1), Action::Drop);
        // -0.01 ± 0.0196 straddles zero.
        assert_eq!(classify(&row("b", -0.01, 0.01), None, 0.1), Action::Fix);
        // 0.01 ± 0.0196 straddles zero.
        assert_eq!(classify(&row("c", 0.01, 0.01), None, 0.1), Action::Unclear);
        // 0.05 ± 0.0196 is above zero; a gain of 0.0004 is below 0.5% of 0.1 = 0.0005.
        assert_eq!(
            classify(&row("d", 0.05, 0.01), Some(0.0004), 0.1),
            Action::Keep
        );
        assert_eq!(
            classify(&row("d", 0.05, 0.01), Some(0.0006), 0.1),
            Action::BuyMore
        );
        // Exact values (no error) are judged by sign.
        assert_eq!(
            classify(&row("e", -1e-9, f64::NAN), None, 0.1),
            Action::Drop
        );
        assert_eq!(classify(&row("f", 0.0, 0.0), None, 0.1), Action::Unclear);
    }

    #[test]
    fn summary_of_a_hand_made_report() {
        let summary = summarize(&crate::model::fixture::report());
        let actions: Vec<(&str, Action)> = summary
            .advice
            .iter()
            .map(|a| (a.name.as_str(), a.action))
            .collect();
        // web: 0.04 ± 0.0098 > 0 and 10% more adds 0.04 * (1.1^0.5 - 1) = 0.00195 >= 0.0005.
        // app: no learning curve of its own -> keep.
        assert_eq!(
            actions,
            vec![
                ("source=partner", Action::Drop),
                ("source=web", Action::BuyMore),
                ("source=app", Action::Keep)
            ]
        );
        let text = summary.headlines.join("\n");
        assert!(
            text.contains("1 group(s) of data lower ndcg@10: source=partner"),
            "{text}"
        );
        assert!(text.contains("More data from source=web"), "{text}");
        // Overall: 0.08 * (1.1^0.5 - 1) = 0.003905; relative to 0.08 = 4.9%.
        assert!(text.contains("by +0.0039 (4.9%)"), "{text}");
        assert!(text.contains("worth collecting more"), "{text}");
        // Users: b and c negative; only b's interval (-0.01 ± 0.00196) is below zero.
        assert!(
            text.contains("2 of 3 users have a negative value, 1 clearly")
                && text.contains("the worst: user=b."),
            "{text}"
        );
        assert!(
            text.contains("lowest-valued 10.0% of users changes test ndcg@10 from 0.0800 to 0.0900 (random removal: 0.0700; highest-valued first: 0.0500)"),
            "{text}"
        );
        let partner = &summary.advice[0].reason;
        assert!(
            partner.contains("-0.0200 (95% interval -0.0278 to -0.0122)"),
            "{partner}"
        );
    }
}
