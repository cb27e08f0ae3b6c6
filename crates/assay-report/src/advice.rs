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

/// The false discovery rate at which single data points (users, items) are called harmful.
pub const FDR: f64 = 0.05;

/// Which values are significantly below zero when many are tested at once: one-sided
/// normal p-values `Φ(value / std_error)` with the Benjamini-Hochberg step-up rule at
/// false discovery rate `q`. With a thousand users, about 25 would have a 95% interval below
/// zero by chance alone; this rule keeps the expected share of false calls at `q`. Values
/// without a finite positive standard error are never flagged.
pub fn harmful_at_fdr(values: &[f64], std_errors: &[f64], q: f64) -> Vec<bool> {
    use statrs::distribution::{ContinuousCDF, Normal};
    let standard = Normal::standard();
    let p: Vec<Option<f64>> = values
        .iter()
        .zip(std_errors)
        .map(|(&v, &se)| {
            (se.is_finite() && se > 0.0 && v.is_finite()).then(|| standard.cdf(v / se))
        })
        .collect();
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_some()).collect();
    order.sort_by(|&a, &b| p[a].unwrap_or(1.0).total_cmp(&p[b].unwrap_or(1.0)));
    let m = order.len() as f64;
    // The largest rank k with p_(k) <= k q / m; the k smallest p-values are discoveries.
    let cut = order
        .iter()
        .enumerate()
        .filter(|(rank, &i)| p[i].unwrap_or(1.0) <= (*rank + 1) as f64 * q / m)
        .map(|(rank, _)| rank + 1)
        .max()
        .unwrap_or(0);
    let mut flags = vec![false; values.len()];
    order[..cut].iter().for_each(|&i| flags[i] = true);
    flags
}

/// "category" -> "categories", "user" -> "users".
pub(crate) fn plural(kind: &str) -> String {
    match kind.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{kind}s"),
    }
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
        // The modalities are valued on their own (fusion) model, whose score their values add
        // up to; every other group on the report's model.
        let total = if table.kind == "modality" {
            table.rows.iter().map(|r| r.value).sum()
        } else {
            base
        };
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
                reason: reason(row, action, gain, metric, total),
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
            // Most harmful first among drops and fixes, most valuable first otherwise.
            match a.action {
                Action::Drop | Action::Fix => value(a).total_cmp(&value(b)),
                _ => value(b).total_cmp(&value(a)),
            }
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
            None => headlines.push(
                "The learning curve has no power-law fit (fewer than two points above zero), so the value of more data is unknown."
                    .to_owned(),
            ),
        }
    }
    for table in &report.points {
        let values: Vec<f64> = table.rows.iter().map(|r| r.value).collect();
        let errors: Vec<f64> = table.rows.iter().map(|r| r.std_error).collect();
        let flagged = harmful_at_fdr(&values, &errors, FDR);
        let negative = values.iter().filter(|&&v| v < 0.0).count();
        let mut worst: Vec<&ValueRow> = table
            .rows
            .iter()
            .zip(&flagged)
            .filter(|(_, &f)| f)
            .map(|(r, _)| r)
            .collect();
        worst.sort_by(|a, b| a.value.total_cmp(&b.value));
        let names: Vec<&str> = worst.iter().take(5).map(|r| r.name.as_str()).collect();
        let kinds = plural(&table.kind);
        headlines.push(if worst.is_empty() {
            format!(
                "{negative} of {} {kinds} have a negative value, but none clearly: at a 5% false discovery rate no {} is harmful (with this many {kinds}, some negative estimates are noise).",
                table.rows.len(),
                table.kind
            )
        } else {
            let hint = match table.kind.as_str() {
                "user" => " (bots, spam, test accounts?)",
                "item" => " (wrong ids, duplicates, mislabelled listings?)",
                _ => "",
            };
            format!(
                "{} of {} {kinds} are harmful at a 5% false discovery rate{}; review them{hint}. The worst: {}.",
                worst.len(),
                table.rows.len(),
                if negative > worst.len() {
                    format!(" ({negative} have a negative estimate)")
                } else {
                    String::new()
                },
                names.join(", ")
            )
        });
    }
    if let Some(removal) = &report.removal {
        if let Some(i) = removal.fractions.iter().position(|&f| f > 0.0) {
            let (f, full) = (removal.fractions[i], removal.low_first[0]);
            headlines.push(format!(
                "Removing the lowest-valued {} of {}s changes test {metric}{} from {} to {} (random removal: {}; highest-valued first: {}).",
                percent(f),
                removal.kind,
                if removal.audience.is_empty() {
                    String::new()
                } else {
                    format!(" of {}", removal.audience)
                },
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
    fn benjamini_hochberg_by_hand() {
        // z = value / se; p = Φ(z): Φ(-3) = 0.00135, Φ(-2) = 0.02275, Φ(-1.5) = 0.0668,
        // Φ(0.5) = 0.691, Φ(-2.2) = 0.0139. Thresholds k · 0.05 / 5 = 0.01, 0.02, 0.03, 0.04,
        // 0.05: the three smallest pass, 0.0668 > 0.04 and 0.691 > 0.05 do not.
        let flags = harmful_at_fdr(&[-3.0, -2.0, -1.5, 0.5, -2.2], &[1.0; 5], 0.05);
        assert_eq!(flags, vec![true, true, false, false, true]);
        // Step-up: Φ(-1.9) = 0.0287 misses its own threshold 0.025, but Φ(-1.76) = 0.0392
        // passes 0.05 at rank 2, which carries rank 1 along.
        assert_eq!(
            harmful_at_fdr(&[-1.9, -1.76], &[1.0, 1.0], 0.05),
            vec![true, true]
        );
        // Without the second one, 0.0287 > 0.025 at rank 1 and 0.5 > 0.05 at rank 2.
        assert_eq!(
            harmful_at_fdr(&[-1.9, 0.0], &[1.0, 1.0], 0.05),
            vec![false, false]
        );
        // Unknown or zero errors are never flagged, and do not count as tests.
        assert_eq!(
            harmful_at_fdr(&[-5.0, -5.0, -3.0], &[f64::NAN, 0.0, 1.0], 0.05),
            vec![false, false, true]
        );
        assert_eq!(plural("category"), "categories");
        assert_eq!(plural("user"), "users");
        assert_eq!(plural("day"), "days");
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
        // Users: b and c negative; p-values Φ(-10) ≈ 7.6e-24 and Φ(-0.1) = 0.46 (a: Φ(1)).
        // Benjamini-Hochberg, m = 3: 7.6e-24 <= 0.05/3, 0.46 > 0.1/3, 0.84 > 0.05: only b.
        assert!(
            text.contains("1 of 3 users are harmful at a 5% false discovery rate (2 have a negative estimate); review them (bots, spam, test accounts?). The worst: user=b."),
            "{text}"
        );
        assert!(
            text.contains("lowest-valued 10.0% of users changes test ndcg@10 of the 40 buyers with test items from 0.0800 to 0.0900 (random removal: 0.0700; highest-valued first: 0.0500)"),
            "{text}"
        );
        let partner = &summary.advice[0].reason;
        assert!(
            partner.contains("-0.0200 (95% interval -0.0278 to -0.0122)"),
            "{partner}"
        );
        // Against the baseline 0.1: web's 0.04 is 40.0% of the total.
        let web = &summary.advice[1].reason;
        assert!(web.contains("40.0% of the total"), "{web}");
    }

    #[test]
    fn modality_shares_are_of_the_fused_models_score() {
        let mut report = crate::model::fixture::report();
        report.groups = vec![ValueTable {
            kind: "modality".into(),
            title: "Modalities".into(),
            method: String::new(),
            uncertainty: String::new(),
            rows: vec![
                row("modality=text", 0.01, 0.001),
                row("modality=image", 0.03, 0.001),
            ],
        }];
        // The values add up to 0.04, the fused model's score: 25% and 75% of it (not of the
        // report's baseline 0.1).
        let summary = summarize(&report);
        let reason = |name: &str| {
            let a = summary.advice.iter().find(|a| a.name == name).unwrap();
            a.reason.clone()
        };
        assert!(
            reason("modality=text").contains("25.0% of the total"),
            "{}",
            reason("modality=text")
        );
        assert!(
            reason("modality=image").contains("75.0% of the total"),
            "{}",
            reason("modality=image")
        );
    }
}
