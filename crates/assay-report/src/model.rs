//! The plain data a report is drawn from: numbers and names only, no model or dataset types,
//! so a report can be built by hand (tests), from [`crate::study`], or from saved JSON.

use serde::{Deserialize, Serialize};

/// Everything one data-value report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueReport {
    /// Page title.
    pub title: String,
    /// What data was valued.
    pub dataset: DatasetSummary,
    /// The quality measure every value is a change of ("ndcg@10").
    pub utility: String,
    /// The model refitted on every subset of the data ("ease", "itemknn").
    pub model: String,
    /// The measure with all training data: on the validation split (what values are measured
    /// on) and on the test split (what the curves are measured on).
    pub baseline: Baseline,
    /// Values of groups of data: sources, segments, time windows, categories.
    pub groups: Vec<ValueTable>,
    /// Values of single data points: users, items.
    pub points: Vec<ValueTable>,
    /// Test quality as users are removed in order of their value.
    pub removal: Option<RemovalCurves>,
    /// Test quality against the amount of data, overall and per source.
    pub learning: Option<LearningCurves>,
    /// How the numbers were made.
    pub provenance: Provenance,
    /// The user values judged against a list of known-bad users, when the front end had one.
    #[serde(default)]
    pub detection: Option<crate::detection::Detection>,
}

/// Counts describing the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// The name or path the user gave.
    pub name: String,
    /// Users in the dataset.
    pub users: u64,
    /// Items in the catalog.
    pub items: u64,
    /// Events of every kind.
    pub events: u64,
    /// Event rows the model learns from (training split).
    pub train_rows: u64,
    /// Rows the values are measured on.
    pub valid_rows: u64,
    /// Rows the curves are measured on.
    pub test_rows: u64,
}

/// The quality measure with all training data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// On the validation split.
    pub valid: f64,
    /// On the test split.
    pub test: f64,
}

/// One valuation: a kind of player, the method, one row per player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueTable {
    /// Player kind, singular ("source", "segment", "window", "category", "user", "item").
    pub kind: String,
    /// Section title ("Data sources").
    pub title: String,
    /// The valuation method ("exact Shapley", "MSR Banzhaf, 200 samples").
    pub method: String,
    /// Where the standard errors come from, in words.
    pub uncertainty: String,
    /// One row per player.
    pub rows: Vec<ValueRow>,
}

/// The value of one player.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueRow {
    /// Player name ("source=app", "user=u17").
    pub name: String,
    /// Estimated change of the utility the player's data brings.
    pub value: f64,
    /// Standard error of `value` (NaN when unknown).
    pub std_error: f64,
    /// Training rows the player owns.
    pub rows: u64,
}

impl ValueRow {
    /// The 95% normal interval `value ± 1.96 · std_error`; `None` when the error is unknown.
    pub fn interval(&self) -> Option<(f64, f64)> {
        let half = Z95 * self.std_error;
        (half.is_finite() && self.value.is_finite())
            .then_some((self.value - half, self.value + half))
    }
}

/// The normal quantile of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Point-removal curves (OpenDataVal's "remove high / low value data" experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemovalCurves {
    /// Kind of the removed players ("user").
    pub kind: String,
    /// Shares of players removed, ascending, starting at 0.
    pub fractions: Vec<f64>,
    /// Test quality after removing the highest-valued players first.
    pub high_first: Vec<f64>,
    /// Test quality after removing players in random order (mean over draws).
    pub random: Vec<f64>,
    /// Test quality after removing the lowest-valued players first.
    pub low_first: Vec<f64>,
    /// Number of random orders averaged.
    pub random_draws: u32,
    /// Who the test quality is measured for, in words (say, the shop's buyers).
    #[serde(default)]
    pub audience: String,
}

/// Learning curves: overall and one per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningCurves {
    /// A random share of all training rows.
    pub overall: LearningCurve,
    /// A random share of one source's rows, all other rows kept.
    pub per_source: Vec<LearningCurve>,
}

/// Test quality against the share of data used, with a fitted power law.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningCurve {
    /// "all data" or the source's player name.
    pub name: String,
    /// Shares of the data used, ascending, in (0, 1].
    pub fractions: Vec<f64>,
    /// Test quality at each share.
    pub scores: Vec<f64>,
    /// Test quality with none of this data (0 for the overall curve; the other sources alone
    /// for a per-source curve).
    pub without: f64,
    /// `without + a · x^b` fitted to the points, when at least two points lie above `without`.
    pub fit: Option<PowerLaw>,
}

impl LearningCurve {
    /// The fitted gain of 10% more of this data (from share 1.0 to 1.1); `None` without a fit.
    pub fn gain_of_10_percent(&self) -> Option<f64> {
        self.fit.map(|f| f.at(1.1) - f.at(1.0))
    }
}

/// `offset + a · x^b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerLaw {
    /// The value at `x = 0` (the curve's `without`).
    pub offset: f64,
    /// Scale.
    pub a: f64,
    /// Exponent.
    pub b: f64,
}

impl PowerLaw {
    /// The fitted value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.offset + self.a * x.powf(self.b)
    }
}

/// How the report's numbers were made, for the footer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Seed of the split and of every random draw.
    pub seed: u64,
    /// How the data was split.
    pub split: String,
    /// Model fits (utility evaluations) made.
    pub utility_evals: u64,
    /// Wall-clock seconds of the whole study.
    pub seconds: f64,
    /// The assay version.
    pub version: String,
    /// Anything else worth knowing, one line each.
    pub notes: Vec<String>,
}

#[cfg(test)]
pub(crate) mod fixture {
    use super::*;

    fn row(name: &str, value: f64, std_error: f64) -> ValueRow {
        ValueRow {
            name: name.into(),
            value,
            std_error,
            rows: 10,
        }
    }

    /// A small report written by hand.
    pub(crate) fn report() -> ValueReport {
        ValueReport {
            title: "t".into(),
            dataset: DatasetSummary {
                name: "shop".into(),
                users: 3,
                items: 4,
                events: 5,
                train_rows: 4,
                valid_rows: 1,
                test_rows: 0,
            },
            utility: "ndcg@10".into(),
            model: "ease".into(),
            baseline: Baseline {
                valid: 0.1,
                test: 0.08,
            },
            groups: vec![ValueTable {
                kind: "source".into(),
                title: "Data sources".into(),
                method: "exact Shapley".into(),
                uncertainty: "validation users".into(),
                rows: vec![
                    row("source=app", 0.08, 0.005),
                    row("source=partner", -0.02, 0.004),
                    row("source=web", 0.04, 0.005),
                ],
            }],
            points: vec![ValueTable {
                kind: "user".into(),
                title: "Users".into(),
                method: "MSR Banzhaf".into(),
                uncertainty: "samples".into(),
                rows: vec![
                    row("user=a", 0.001, 0.001),
                    row("user=b", -0.01, 0.001),
                    row("user=c", -0.0001, 0.001),
                ],
            }],
            removal: Some(RemovalCurves {
                kind: "user".into(),
                fractions: vec![0.0, 0.1],
                high_first: vec![0.08, 0.05],
                random: vec![0.08, 0.07],
                low_first: vec![0.08, 0.09],
                random_draws: 3,
                audience: "the 40 buyers with test items".into(),
            }),
            learning: Some(LearningCurves {
                overall: LearningCurve {
                    name: "all data".into(),
                    fractions: vec![0.5, 1.0],
                    scores: vec![0.05, 0.08],
                    without: 0.0,
                    fit: Some(PowerLaw {
                        offset: 0.0,
                        a: 0.08,
                        b: 0.5,
                    }),
                },
                per_source: vec![LearningCurve {
                    name: "source=web".into(),
                    fractions: vec![0.5, 1.0],
                    scores: vec![0.07, 0.08],
                    without: 0.04,
                    fit: Some(PowerLaw {
                        offset: 0.04,
                        a: 0.04,
                        b: 0.5,
                    }),
                }],
            }),
            provenance: Provenance {
                seed: 1,
                split: "80/10/10".into(),
                utility_evals: 9,
                seconds: 0.5,
                version: "0".into(),
                notes: vec![],
            },
            detection: None,
        }
    }
}
