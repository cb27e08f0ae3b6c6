//! A/B test analysis: the two-sample test, bootstrap and lift intervals, power and sample size,
//! CUPED variance reduction and a peeking check.
//!
//! Terms used throughout:
//! - a *unit* is what was randomized (a user or a session); the input has one row per unit;
//! - the *control* arm is the variant named on the first data row, the other is *treatment*;
//! - the *difference* is always `mean(treatment) - mean(control)` and the *lift* is
//!   `mean(treatment) / mean(control) - 1`;
//! - a metric is *binary* when every value is 0 or 1; it is then a proportion and gets the
//!   two-proportion z-test, otherwise Welch's t-test.
//!
//! Formulas (`z_q` is the standard normal quantile, `p_i`, `n_i` an arm's rate and size,
//! `s_i^2` its sample variance with `n_i - 1`):
//!
//! | quantity | formula |
//! |---|---|
//! | z-test statistic | `(p_t - p_c) / sqrt(p (1 - p) (1/n_c + 1/n_t))`, `p` the pooled rate |
//! | z-test interval | `diff ± z_{1-alpha/2} sqrt(p_c (1 - p_c) / n_c + p_t (1 - p_t) / n_t)` (unpooled Wald) |
//! | Welch statistic | `diff / se`, `se^2 = s_c^2 / n_c + s_t^2 / n_t` |
//! | Welch–Satterthwaite df | `se^4 / ((s_c^2/n_c)^2 / (n_c - 1) + (s_t^2/n_t)^2 / (n_t - 1))` |
//! | lift (delta method) | `Var(m_t/m_c) ≈ V_t / m_c^2 + m_t^2 V_c / m_c^4`, `V_i` the variance of an arm's mean |
//! | sample size, proportions | `n = (z_{1-alpha/2} sqrt(2 pbar (1 - pbar)) + z_power sqrt(p0 q0 + p1 q1))^2 / mde^2` |
//! | sample size, means | `n = 2 sigma^2 (z_{1-alpha/2} + z_power)^2 / mde^2` |
//! | CUPED | `y' = y - theta (x - mean(x))`, `theta = Sxy / Sxx` pooled within arms |
//!
//! `V_i` is `p_i (1 - p_i) / n_i` for a binary metric and `s_i^2 / n_i` otherwise. The sample-size
//! formulas are the standard ones for a two-sided test with equal arms (the proportion formula
//! is Fleiss' without continuity correction); power inverts the same formula.
//!
//! CUPED's `theta` comes from the within-arm (pooled) covariance, so the treatment effect does
//! not leak into it, and the reported variance reduction is `1 - Syy' / Syy` with both sums of
//! squares taken within arms; it equals `rho^2`, the squared pooled within-arm correlation of
//! metric and pre-period metric.
//!
//! # The peeking check
//! When the input has a `day` column, the test is recomputed on the units seen up to each day
//! (cumulative looks). Two patterns raise a warning, because both are what deciding on the
//! first significant look produces, and a test repeated daily at level `alpha` has a
//! false-positive rate well above `alpha` (about 14% after five looks at 5%):
//! 1. *stopped at the first significant look*: at least three looks, the last one significant
//!    and every earlier one not; or the last look significant with fewer units than the
//!    planned sample size ([`AbConfig::planned_n_per_arm`]);
//! 2. *significance came and went*: some earlier look had `p < alpha` but the final one does not.
//!
//! This is a heuristic, not a proof: a fixed-horizon test can also first reach significance on
//! its last day. The warning asks the reader to confirm the end date was fixed in advance.

use std::collections::BTreeSet;

use assay_bandit::percentile_sorted;
use assay_import::AbTable;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::error::{ExperimentError, Result};

/// One row per unit of an A/B test: arm, metric, optional pre-period metric and day.
#[derive(Debug, Clone, PartialEq)]
pub struct AbData {
    arm_names: [String; 2],
    arm: Vec<u8>,
    metric: Vec<f64>,
    pre_metric: Option<Vec<f64>>,
    day: Option<Vec<i64>>,
}

impl AbData {
    /// Checks and wraps the columns.
    ///
    /// `arm[i]` is 0 (control) or 1 (treatment); every column has one entry per unit; values are
    /// finite; each arm has at least two units.
    pub fn new(
        arm_names: [String; 2],
        arm: Vec<u8>,
        metric: Vec<f64>,
        pre_metric: Option<Vec<f64>>,
        day: Option<Vec<i64>>,
    ) -> Result<AbData> {
        let n = arm.len();
        if metric.len() != n {
            return Err(ExperimentError::LengthMismatch {
                field: "metric",
                found: metric.len(),
                expected: n,
            });
        }
        if let Some(pre) = &pre_metric {
            if pre.len() != n {
                return Err(ExperimentError::LengthMismatch {
                    field: "pre_metric",
                    found: pre.len(),
                    expected: n,
                });
            }
            if let Some(i) = pre.iter().position(|v| !v.is_finite()) {
                return Err(ExperimentError::Invalid(format!(
                    "unit {i}: pre_metric {} is not finite",
                    pre[i]
                )));
            }
        }
        if let Some(day) = &day {
            if day.len() != n {
                return Err(ExperimentError::LengthMismatch {
                    field: "day",
                    found: day.len(),
                    expected: n,
                });
            }
        }
        if let Some(i) = arm.iter().position(|&a| a > 1) {
            return Err(ExperimentError::Invalid(format!(
                "unit {i}: arm {} is not 0 (control) or 1 (treatment)",
                arm[i]
            )));
        }
        if let Some(i) = metric.iter().position(|v| !v.is_finite()) {
            return Err(ExperimentError::Invalid(format!(
                "unit {i}: metric {} is not finite",
                metric[i]
            )));
        }
        for (k, name) in arm_names.iter().enumerate() {
            let count = arm.iter().filter(|&&a| usize::from(a) == k).count();
            if count < 2 {
                return Err(ExperimentError::Invalid(format!(
                    "arm `{name}` has {count} units; an A/B test needs at least two per arm"
                )));
            }
        }
        Ok(AbData {
            arm_names,
            arm,
            metric,
            pre_metric,
            day,
        })
    }

    /// Wraps the checked columns of an A/B test file (read by [`assay_import::read_ab_csv`]).
    pub fn from_table(table: AbTable) -> Result<AbData> {
        AbData::new(
            table.arm_names,
            table.arm,
            table.metric,
            table.pre_metric,
            table.day,
        )
    }

    /// Names of the control and treatment arms.
    pub fn arm_names(&self) -> &[String; 2] {
        &self.arm_names
    }

    /// Arm of each unit: 0 control, 1 treatment.
    pub fn arm(&self) -> &[u8] {
        &self.arm
    }

    /// The metric of each unit.
    pub fn metric(&self) -> &[f64] {
        &self.metric
    }

    /// The pre-period metric of each unit, when given.
    pub fn pre_metric(&self) -> Option<&[f64]> {
        self.pre_metric.as_deref()
    }

    /// The day of each unit (an integer, or days since 1970-01-01 for dates), when given.
    pub fn day(&self) -> Option<&[i64]> {
        self.day.as_deref()
    }

    /// True when every metric value is 0 or 1.
    pub fn is_binary(&self) -> bool {
        self.metric.iter().all(|&v| v == 0.0 || v == 1.0)
    }

    fn values_of(&self, arm: u8) -> Vec<f64> {
        self.arm
            .iter()
            .zip(&self.metric)
            .filter(|(&a, _)| a == arm)
            .map(|(_, &v)| v)
            .collect()
    }
}

/// Settings of [`analyze`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AbConfig {
    /// Significance level of tests and intervals (0.05 for 95% intervals).
    pub alpha: f64,
    /// Target power of the sample-size computation (0.8 is usual).
    pub power: f64,
    /// Minimal detectable effect, absolute (in metric units, e.g. 0.02 for two points of
    /// conversion); `None` skips the required sample size and the achieved power.
    pub mde: Option<f64>,
    /// Bootstrap resamples of the difference; 0 skips the bootstrap.
    pub n_bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Units per arm the test was planned for, when known (sharpens the peeking check).
    pub planned_n_per_arm: Option<usize>,
}

/// Which two-sample test was run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestKind {
    /// Two-proportion z-test (binary metric).
    TwoProportionZ,
    /// Welch's unequal-variance t-test.
    WelchT,
}

/// Summary of one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSummary {
    /// Variant name.
    pub name: String,
    /// Number of units.
    pub n: usize,
    /// Mean of the metric (the rate, for a binary metric).
    pub mean: f64,
    /// Sample variance (divisor `n - 1`).
    pub variance: f64,
}

/// The result of a two-sample test of `treatment - control`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestResult {
    /// The test.
    pub test: TestKind,
    /// `mean(treatment) - mean(control)`.
    pub difference: f64,
    /// Standard error used by the interval.
    pub std_error: f64,
    /// z or t statistic.
    pub statistic: f64,
    /// Degrees of freedom (Welch–Satterthwaite); `None` for the z-test.
    pub df: Option<f64>,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Lower end of the `1 - alpha` interval of the difference.
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
}

/// Relative lift `mean(treatment) / mean(control) - 1` with its delta-method interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lift {
    /// The lift.
    pub lift: f64,
    /// Its delta-method standard error.
    pub std_error: f64,
    /// Lower end of the normal `1 - alpha` interval.
    pub ci_low: f64,
    /// Upper end.
    pub ci_high: f64,
}

/// Percentile bootstrap of the difference, each arm resampled on its own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapDiff {
    /// Resamples.
    pub n_bootstrap: usize,
    /// Seed.
    pub seed: u64,
    /// Mean of the bootstrap differences.
    pub mean: f64,
    /// `alpha / 2` percentile.
    pub ci_low: f64,
    /// `1 - alpha / 2` percentile.
    pub ci_high: f64,
}

/// Power and sample size for the minimal detectable effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PowerAnalysis {
    /// The minimal detectable effect asked for (absolute), if any.
    pub mde: Option<f64>,
    /// Units per arm needed to detect `mde` with the configured power.
    pub required_n_per_arm: Option<u64>,
    /// Power this test had to detect `mde` with its actual arm sizes.
    pub achieved_power: Option<f64>,
    /// The effect this test could detect with the configured power (control variance in both arms).
    pub mde_at_n: f64,
}

/// CUPED: the test on `y - theta (x - mean(x))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cuped {
    /// `Sxy / Sxx`, pooled within arms.
    pub theta: f64,
    /// Pooled within-arm correlation of metric and pre-period metric.
    pub correlation: f64,
    /// `1 - Var(adjusted) / Var(metric)`, within arms; equals `correlation^2`.
    pub variance_reduction: f64,
    /// Welch's test on the adjusted metric.
    pub adjusted: TestResult,
}

/// The test recomputed on the units seen up to one day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Look {
    /// The day.
    pub day: i64,
    /// Control units up to that day.
    pub n_control: usize,
    /// Treatment units up to that day.
    pub n_treatment: usize,
    /// Difference of means so far.
    pub difference: f64,
    /// p-value so far.
    pub p_value: f64,
}

/// Daily looks and the peeking verdict (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeekingCheck {
    /// One look per distinct day where both arms have at least two units.
    pub looks: Vec<Look>,
    /// First day whose look had `p < alpha`.
    pub first_significant_day: Option<i64>,
    /// The warning, when a pattern matched.
    pub warning: Option<String>,
}

/// Everything [`analyze`] reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AbReport {
    /// The settings used.
    pub config: AbConfig,
    /// True when the metric is binary (proportion test).
    pub binary: bool,
    /// Control arm.
    pub control: ArmSummary,
    /// Treatment arm.
    pub treatment: ArmSummary,
    /// The main test.
    pub test: TestResult,
    /// Relative lift; `None` when the control mean is 0.
    pub lift: Option<Lift>,
    /// Bootstrap interval of the difference; `None` when `n_bootstrap` is 0.
    pub bootstrap: Option<BootstrapDiff>,
    /// Power and sample size.
    pub power: PowerAnalysis,
    /// CUPED; `None` without a pre-period metric (or when it is constant within arms).
    pub cuped: Option<Cuped>,
    /// Peeking check; `None` without days.
    pub peeking: Option<PeekingCheck>,
    /// Warnings for the reader (peeking, tiny arms...).
    pub warnings: Vec<String>,
}

/// Analyzes an A/B test: the main test (z for binary metrics, Welch otherwise), lift, bootstrap,
/// power, CUPED and the peeking check.
///
/// # Panics
/// When `config.alpha` or `config.power` is outside (0, 1) (a configuration bug).
pub fn analyze(data: &AbData, config: &AbConfig) -> AbReport {
    assert!(
        config.alpha > 0.0 && config.alpha < 1.0 && config.power > 0.0 && config.power < 1.0,
        "alpha and power must lie in (0, 1)"
    );
    let binary = data.is_binary();
    let control_values = data.values_of(0);
    let treatment_values = data.values_of(1);
    let control = summarize(&data.arm_names[0], &control_values);
    let treatment = summarize(&data.arm_names[1], &treatment_values);
    let test = two_sample_test(&control_values, &treatment_values, binary, config.alpha);
    let var_of_mean = |s: &ArmSummary| {
        if binary {
            s.mean * (1.0 - s.mean) / s.n as f64
        } else {
            s.variance / s.n as f64
        }
    };
    let lift = relative_lift(
        control.mean,
        var_of_mean(&control),
        treatment.mean,
        var_of_mean(&treatment),
        config.alpha,
    );
    let bootstrap = (config.n_bootstrap > 0).then(|| {
        bootstrap_difference(
            &control_values,
            &treatment_values,
            config.alpha,
            config.n_bootstrap,
            config.seed,
        )
    });
    let power = power_analysis(&control, &treatment, binary, config);
    let cuped = data
        .pre_metric()
        .and_then(|pre| cuped(data.arm(), data.metric(), pre, config.alpha));
    let mut warnings = Vec::new();
    let peeking = data.day().map(|day| {
        let check = peeking_check(data, day, binary, config);
        if let Some(w) = &check.warning {
            warnings.push(w.clone());
        }
        check
    });
    if binary && control.n.min(treatment.n) < 30 {
        warnings.push(format!(
            "only {} units in the smaller arm: the normal approximation of the z-test is rough",
            control.n.min(treatment.n)
        ));
    }
    AbReport {
        config: *config,
        binary,
        control,
        treatment,
        test,
        lift,
        bootstrap,
        power,
        cuped,
        peeking,
        warnings,
    }
}

/// Two-proportion z-test of `x_t / n_t - x_c / n_c` (see the module docs for the formulas).
///
/// # Panics
/// When an arm is empty or has more successes than trials.
pub fn two_proportion_z_test(x_c: f64, n_c: f64, x_t: f64, n_t: f64, alpha: f64) -> TestResult {
    assert!(n_c > 0.0 && n_t > 0.0 && x_c <= n_c && x_t <= n_t && x_c >= 0.0 && x_t >= 0.0);
    let p_c = x_c / n_c;
    let p_t = x_t / n_t;
    let pooled = (x_c + x_t) / (n_c + n_t);
    let difference = p_t - p_c;
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n_c + 1.0 / n_t)).sqrt();
    let std_error = (p_c * (1.0 - p_c) / n_c + p_t * (1.0 - p_t) / n_t).sqrt();
    let (statistic, p_value) = z_and_p(difference, se_pooled);
    let half = z_quantile(1.0 - alpha / 2.0) * std_error;
    TestResult {
        test: TestKind::TwoProportionZ,
        difference,
        std_error,
        statistic,
        df: None,
        p_value,
        ci_low: difference - half,
        ci_high: difference + half,
    }
}

/// Welch's t-test of `mean(treatment) - mean(control)`.
///
/// # Panics
/// When an arm has fewer than two values.
pub fn welch_t_test(control: &[f64], treatment: &[f64], alpha: f64) -> TestResult {
    assert!(control.len() >= 2 && treatment.len() >= 2);
    let (m_c, v_c) = mean_var(control);
    let (m_t, v_t) = mean_var(treatment);
    let (n_c, n_t) = (control.len() as f64, treatment.len() as f64);
    let (a, b) = (v_c / n_c, v_t / n_t);
    let se2 = a + b;
    let difference = m_t - m_c;
    let std_error = se2.sqrt();
    let df = if se2 > 0.0 {
        se2 * se2 / (a * a / (n_c - 1.0) + b * b / (n_t - 1.0))
    } else {
        n_c + n_t - 2.0
    };
    let (statistic, p_value, quantile) = match StudentsT::new(0.0, 1.0, df) {
        Ok(t) if std_error > 0.0 => {
            let statistic = difference / std_error;
            (
                statistic,
                (2.0 * t.sf(statistic.abs())).min(1.0),
                t.inverse_cdf(1.0 - alpha / 2.0),
            )
        }
        _ => {
            let (statistic, p_value) = z_and_p(difference, std_error);
            (statistic, p_value, 0.0)
        }
    };
    TestResult {
        test: TestKind::WelchT,
        difference,
        std_error,
        statistic,
        df: Some(df),
        p_value,
        ci_low: difference - quantile * std_error,
        ci_high: difference + quantile * std_error,
    }
}

/// Relative lift `m_t / m_c - 1` with a delta-method normal interval, given each arm's mean and
/// the variance of that mean. `None` when `m_c` is 0.
pub fn relative_lift(m_c: f64, var_c: f64, m_t: f64, var_t: f64, alpha: f64) -> Option<Lift> {
    if m_c == 0.0 {
        return None;
    }
    let variance = var_t / (m_c * m_c) + m_t * m_t * var_c / m_c.powi(4);
    let std_error = variance.sqrt();
    let lift = m_t / m_c - 1.0;
    let half = z_quantile(1.0 - alpha / 2.0) * std_error;
    Some(Lift {
        lift,
        std_error,
        ci_low: lift - half,
        ci_high: lift + half,
    })
}

/// Units per arm for a two-sided two-proportion test to detect `p0 -> p0 + mde` (Fleiss, no
/// continuity correction), rounded up. `None` when `p0 + mde` is outside (0, 1) or `mde` is 0.
pub fn sample_size_proportions(p0: f64, mde: f64, alpha: f64, power: f64) -> Option<u64> {
    let p1 = p0 + mde;
    if mde == 0.0 || !(p0 > 0.0 && p0 < 1.0 && p1 > 0.0 && p1 < 1.0) {
        return None;
    }
    let pbar = (p0 + p1) / 2.0;
    let root = z_quantile(1.0 - alpha / 2.0) * (2.0 * pbar * (1.0 - pbar)).sqrt()
        + z_quantile(power) * (p0 * (1.0 - p0) + p1 * (1.0 - p1)).sqrt();
    Some((root * root / (mde * mde)).ceil() as u64)
}

/// Power of the two-sided two-proportion test with `n` units per arm against `p0 -> p0 + mde`
/// (the inverse of [`sample_size_proportions`]; the far tail is ignored).
pub fn power_proportions(p0: f64, mde: f64, n: f64, alpha: f64) -> Option<f64> {
    let p1 = p0 + mde;
    if !(p0 > 0.0 && p0 < 1.0 && p1 > 0.0 && p1 < 1.0) || n <= 0.0 {
        return None;
    }
    let pbar = (p0 + p1) / 2.0;
    let z = (mde.abs() * n.sqrt()
        - z_quantile(1.0 - alpha / 2.0) * (2.0 * pbar * (1.0 - pbar)).sqrt())
        / (p0 * (1.0 - p0) + p1 * (1.0 - p1)).sqrt();
    Some(normal_cdf(z))
}

/// Units per arm for a two-sided test of means with standard deviation `sigma` to detect `mde`,
/// `2 sigma^2 (z_{1-alpha/2} + z_power)^2 / mde^2`, rounded up. `None` when `mde` is 0.
pub fn sample_size_means(sigma: f64, mde: f64, alpha: f64, power: f64) -> Option<u64> {
    if mde == 0.0 || !sigma.is_finite() {
        return None;
    }
    let z = z_quantile(1.0 - alpha / 2.0) + z_quantile(power);
    Some((2.0 * sigma * sigma * z * z / (mde * mde)).ceil() as u64)
}

/// Power of the two-sided test of means with `n_c` and `n_t` units and standard deviation
/// `sigma` against a true difference `mde` (normal approximation, far tail ignored).
pub fn power_means(sigma: f64, mde: f64, n_c: f64, n_t: f64, alpha: f64) -> f64 {
    let se = sigma * (1.0 / n_c + 1.0 / n_t).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    normal_cdf(mde.abs() / se - z_quantile(1.0 - alpha / 2.0))
}

/// CUPED on one metric with a pre-period covariate (see the module docs). `None` when the
/// covariate is constant within arms.
///
/// # Panics
/// When the slices differ in length or an arm has fewer than two units.
pub fn cuped(arm: &[u8], metric: &[f64], pre: &[f64], alpha: f64) -> Option<Cuped> {
    assert!(arm.len() == metric.len() && arm.len() == pre.len());
    let mut sum = [[0.0; 3]; 2];
    for i in 0..arm.len() {
        let a = usize::from(arm[i]);
        sum[a][0] += 1.0;
        sum[a][1] += metric[i];
        sum[a][2] += pre[i];
    }
    let mean_y = [sum[0][1] / sum[0][0], sum[1][1] / sum[1][0]];
    let mean_x = [sum[0][2] / sum[0][0], sum[1][2] / sum[1][0]];
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..arm.len() {
        let a = usize::from(arm[i]);
        let dx = pre[i] - mean_x[a];
        let dy = metric[i] - mean_y[a];
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx <= 0.0 {
        return None;
    }
    let theta = sxy / sxx;
    let grand_x = pre.iter().sum::<f64>() / pre.len() as f64;
    let adjusted: Vec<f64> = metric
        .iter()
        .zip(pre)
        .map(|(y, x)| y - theta * (x - grand_x))
        .collect();
    let split = |k: u8| -> Vec<f64> {
        arm.iter()
            .zip(&adjusted)
            .filter(|(&a, _)| a == k)
            .map(|(_, &v)| v)
            .collect()
    };
    let (adj_c, adj_t) = (split(0), split(1));
    let within_ss = |values: &[f64]| mean_var(values).1 * (values.len() as f64 - 1.0);
    let syy_adjusted = within_ss(&adj_c) + within_ss(&adj_t);
    let variance_reduction = if syy > 0.0 {
        1.0 - syy_adjusted / syy
    } else {
        0.0
    };
    let correlation = if syy > 0.0 {
        sxy / (sxx * syy).sqrt()
    } else {
        0.0
    };
    Some(Cuped {
        theta,
        correlation,
        variance_reduction,
        adjusted: welch_t_test(&adj_c, &adj_t, alpha),
    })
}

/// Percentile bootstrap of `mean(treatment) - mean(control)`, resampling each arm on its own.
///
/// Resample `b` draws from a ChaCha8 stream `b` seeded by `seed`, so the result does not depend
/// on the number of threads.
///
/// # Panics
/// When an arm is empty or `n_bootstrap` is 0.
pub fn bootstrap_difference(
    control: &[f64],
    treatment: &[f64],
    alpha: f64,
    n_bootstrap: usize,
    seed: u64,
) -> BootstrapDiff {
    assert!(!control.is_empty() && !treatment.is_empty() && n_bootstrap > 0);
    let resample_mean = |values: &[f64], rng: &mut ChaCha8Rng| {
        let n = values.len();
        let mut s = 0.0;
        for _ in 0..n {
            s += values[rng.random_range(0..n)];
        }
        s / n as f64
    };
    let mut diffs: Vec<f64> = (0..n_bootstrap)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64);
            let c = resample_mean(control, &mut rng);
            let t = resample_mean(treatment, &mut rng);
            t - c
        })
        .collect();
    let mean = diffs.iter().sum::<f64>() / n_bootstrap as f64;
    diffs.sort_by(f64::total_cmp);
    BootstrapDiff {
        n_bootstrap,
        seed,
        mean,
        ci_low: percentile_sorted(&diffs, 100.0 * alpha / 2.0),
        ci_high: percentile_sorted(&diffs, 100.0 * (1.0 - alpha / 2.0)),
    }
}

fn two_sample_test(control: &[f64], treatment: &[f64], binary: bool, alpha: f64) -> TestResult {
    if binary {
        let x_c: f64 = control.iter().sum();
        let x_t: f64 = treatment.iter().sum();
        two_proportion_z_test(
            x_c,
            control.len() as f64,
            x_t,
            treatment.len() as f64,
            alpha,
        )
    } else {
        welch_t_test(control, treatment, alpha)
    }
}

fn power_analysis(
    control: &ArmSummary,
    treatment: &ArmSummary,
    binary: bool,
    config: &AbConfig,
) -> PowerAnalysis {
    let (n_c, n_t) = (control.n as f64, treatment.n as f64);
    let sigma = if binary {
        (control.mean * (1.0 - control.mean)).sqrt()
    } else {
        control.variance.sqrt()
    };
    let mde_at_n = (z_quantile(1.0 - config.alpha / 2.0) + z_quantile(config.power))
        * sigma
        * (1.0 / n_c + 1.0 / n_t).sqrt();
    let (required_n_per_arm, achieved_power) = match config.mde {
        None => (None, None),
        Some(mde) if binary => (
            sample_size_proportions(control.mean, mde, config.alpha, config.power),
            // Equal arms of the smaller size: a conservative reading of unequal arms.
            power_proportions(control.mean, mde, n_c.min(n_t), config.alpha),
        ),
        Some(mde) => (
            sample_size_means(sigma, mde, config.alpha, config.power),
            Some(power_means(sigma, mde, n_c, n_t, config.alpha)),
        ),
    };
    PowerAnalysis {
        mde: config.mde,
        required_n_per_arm,
        achieved_power,
        mde_at_n,
    }
}

fn peeking_check(data: &AbData, day: &[i64], binary: bool, config: &AbConfig) -> PeekingCheck {
    let days: BTreeSet<i64> = day.iter().copied().collect();
    let mut looks = Vec::new();
    for &d in &days {
        let mut control = Vec::new();
        let mut treatment = Vec::new();
        for i in 0..day.len() {
            if day[i] <= d {
                if data.arm[i] == 0 {
                    control.push(data.metric[i]);
                } else {
                    treatment.push(data.metric[i]);
                }
            }
        }
        if control.len() < 2 || treatment.len() < 2 {
            continue;
        }
        let test = two_sample_test(&control, &treatment, binary, config.alpha);
        looks.push(Look {
            day: d,
            n_control: control.len(),
            n_treatment: treatment.len(),
            difference: test.difference,
            p_value: test.p_value,
        });
    }
    let significant = |l: &Look| l.p_value < config.alpha;
    let first_significant_day = looks.iter().find(|l| significant(l)).map(|l| l.day);
    let warning = peeking_warning(&looks, config);
    PeekingCheck {
        looks,
        first_significant_day,
        warning,
    }
}

fn peeking_warning(looks: &[Look], config: &AbConfig) -> Option<String> {
    let (last, earlier) = looks.split_last()?;
    let alpha = config.alpha;
    let final_significant = last.p_value < alpha;
    if !final_significant {
        if let Some(look) = earlier.iter().find(|l| l.p_value < alpha) {
            return Some(format!(
                "possible peeking: p fell below {alpha} on day {} (p = {:.4}) but is {:.4} at the end; \
                 stopping at that look would have declared a winner that the full data does not support",
                look.day, look.p_value, last.p_value
            ));
        }
        return None;
    }
    if let Some(planned) = config.planned_n_per_arm {
        let n = last.n_control.min(last.n_treatment);
        if n < planned {
            return Some(format!(
                "possible peeking: the test is significant but stopped at {n} units per arm, before the planned {planned}; \
                 stopping early on significance inflates the false-positive rate"
            ));
        }
    }
    if earlier.len() >= 2 && earlier.iter().all(|l| l.p_value >= alpha) {
        return Some(format!(
            "possible peeking: p first fell below {alpha} on the last day ({}, p = {:.4}) after {} looks above it; \
             this is what stopping at the first significant look produces. Unless the end date was fixed in advance, \
             the false-positive rate is well above {alpha}",
            last.day,
            last.p_value,
            earlier.len()
        ));
    }
    None
}

fn summarize(name: &str, values: &[f64]) -> ArmSummary {
    let (mean, variance) = mean_var(values);
    ArmSummary {
        name: name.to_owned(),
        n: values.len(),
        mean,
        variance,
    }
}

/// Mean and sample variance (divisor `n - 1`; 0 for one value), by the two-pass formula.
fn mean_var(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, ss / (n - 1.0))
}

fn z_and_p(difference: f64, se: f64) -> (f64, f64) {
    if se > 0.0 {
        let z = difference / se;
        (z, (2.0 * standard_normal().sf(z.abs())).min(1.0))
    } else if difference == 0.0 {
        (0.0, 1.0)
    } else {
        (difference.signum() * f64::INFINITY, 0.0)
    }
}

fn standard_normal() -> Normal {
    Normal::standard()
}

pub(crate) fn z_quantile(q: f64) -> f64 {
    standard_normal().inverse_cdf(q)
}

fn normal_cdf(z: f64) -> f64 {
    standard_normal().cdf(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn config() -> AbConfig {
        AbConfig {
            alpha: 0.05,
            power: 0.8,
            mde: None,
            n_bootstrap: 0,
            seed: 7,
            planned_n_per_arm: None,
        }
    }

    #[track_caller]
    fn close(actual: f64, expected: f64, tol: f64) {
        assert!(
            (actual - expected).abs() <= tol,
            "{actual} != {expected} (tolerance {tol})"
        );
    }

    /// 200/1000 vs 250/1000. Pooled rate 450/2000 = 0.225;
    /// pooled se = sqrt(0.225 * 0.775 * 2/1000) = sqrt(0.00034875) = 0.0186748;
    /// z = 0.05 / 0.0186748 = 2.677398; two-sided p = erfc(z / sqrt 2) = 0.0074196.
    /// Unpooled se = sqrt(0.16/1000 + 0.1875/1000) = 0.0186414, so the 95% interval is
    /// 0.05 ± 1.959964 * 0.0186414 = [0.0134636, 0.0865364].
    #[test]
    fn two_proportion_z_test_by_hand() {
        let r = two_proportion_z_test(200.0, 1000.0, 250.0, 1000.0, 0.05);
        close(r.difference, 0.05, 1e-12);
        close(r.statistic, 2.677_398, 1e-6);
        close(r.p_value, 0.007_419_6, 1e-7);
        close(r.std_error, 0.018_641_4, 1e-7);
        close(r.ci_low, 0.013_463_6, 1e-7);
        close(r.ci_high, 0.086_536_4, 1e-7);
        assert_eq!(r.df, None);
    }

    /// Control [1, 2, 3, 4]: mean 2.5, s^2 = 5/3. Treatment [2, 4, 6, 8, 10]: mean 6, s^2 = 10.
    /// se^2 = (5/3)/4 + 10/5 = 2.416667, se = 1.554563, t = 3.5 / 1.554563 = 2.251436.
    /// df = 2.416667^2 / (0.416667^2 / 3 + 2^2 / 4) = 5.840278 / 1.057870 = 5.520788.
    /// p = 2 P(T_5.52 > 2.251436) = 0.06913 and t_0.975 = 2.49933 (numerical integration of
    /// the t density), so the interval is 3.5 ± 3.885368.
    #[test]
    fn welch_t_test_by_hand() {
        let r = welch_t_test(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0, 10.0], 0.05);
        close(r.difference, 3.5, 1e-12);
        close(r.std_error, 1.554_563, 1e-6);
        close(r.statistic, 2.251_436, 1e-6);
        close(r.df.unwrap(), 5.520_788, 1e-6);
        close(r.p_value, 0.069_134, 1e-5);
        close(r.ci_low, -0.385_368, 1e-4);
        close(r.ci_high, 7.385_368, 1e-4);
    }

    /// p0 = 0.10, p1 = 0.12, pbar = 0.11:
    /// (1.959964 sqrt(2 * 0.11 * 0.89) + 0.841621 sqrt(0.09 + 0.1056))^2 / 0.02^2
    /// = (0.867270 + 0.372220)^2 / 0.0004 = 1.536335 / 0.0004 = 3840.85 -> 3841 per arm.
    /// Means: sigma 1, mde 0.1: 2 (1.959964 + 0.841621)^2 / 0.01 = 1569.78 -> 1570.
    #[test]
    fn sample_size_and_power_by_hand() {
        assert_eq!(sample_size_proportions(0.10, 0.02, 0.05, 0.8), Some(3841));
        let power = power_proportions(0.10, 0.02, 3841.0, 0.05).unwrap();
        assert!((0.8..0.8001).contains(&power), "{power}");
        let power = power_proportions(0.10, 0.02, 3840.0, 0.05).unwrap();
        assert!(power < 0.8, "{power}");
        assert_eq!(sample_size_means(1.0, 0.1, 0.05, 0.8), Some(1570));
        close(power_means(1.0, 0.1, 1570.0, 1570.0, 0.05), 0.8, 1e-4);
        assert_eq!(sample_size_proportions(0.99, 0.02, 0.05, 0.8), None);
    }

    /// Lift of 0.25 vs 0.20 (n = 1000 each): ratio 1.25;
    /// Var = (0.1875/1000) / 0.04 + 1.5625 * (0.16/1000) / 0.0016 = 0.0046875 + 0.00625
    /// = 0.0109375, se = 0.1045825, interval 0.25 ± 0.2049779 = [0.0450221, 0.4549779].
    #[test]
    fn lift_delta_method_by_hand() {
        let lift = relative_lift(0.2, 0.16 / 1000.0, 0.25, 0.1875 / 1000.0, 0.05).unwrap();
        close(lift.lift, 0.25, 1e-12);
        close(lift.std_error, 0.104_582_5, 1e-7);
        close(lift.ci_low, 0.045_022_1, 1e-7);
        close(lift.ci_high, 0.454_977_9, 1e-7);
        assert!(relative_lift(0.0, 0.1, 0.2, 0.1, 0.05).is_none());
    }

    /// In each arm x = [1, 2, 3, 4] and y = [1, 3, 2, 4] (+1 in treatment).
    /// Within arms: Sxx = 2 * 5, Sxy = 2 * 4, Syy = 2 * 5, so theta = 0.8, rho = 0.8 and the
    /// variance reduction is rho^2 = 0.64. Pre-period means are equal, so the adjusted
    /// difference stays 1.
    #[test]
    fn cuped_reduces_variance_by_rho_squared() {
        let arm = vec![0, 0, 0, 0, 1, 1, 1, 1];
        let x = vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0];
        let y = vec![1.0, 3.0, 2.0, 4.0, 2.0, 4.0, 3.0, 5.0];
        let c = cuped(&arm, &y, &x, 0.05).unwrap();
        close(c.theta, 0.8, 1e-12);
        close(c.correlation, 0.8, 1e-12);
        close(c.variance_reduction, 0.64, 1e-12);
        close(c.adjusted.difference, 1.0, 1e-12);
        // Adjusted values in each arm: y - 0.8 (x - 2.5) = [2.2, 3.4, 1.6, 2.8] (+1), s^2 = 0.6
        // (Syy' = 1.8 = 5 * 0.36), so se = sqrt(0.6/4 * 2) and df = 6.
        close(c.adjusted.std_error, (0.3f64).sqrt(), 1e-12);
        close(c.adjusted.df.unwrap(), 6.0, 1e-9);
        let plain = welch_t_test(&y[..4], &y[4..], 0.05);
        assert!(c.adjusted.p_value < plain.p_value);
        assert!(cuped(&arm, &y, &[3.0; 8], 0.05).is_none());
    }

    #[test]
    fn bootstrap_matches_the_normal_interval_on_a_large_sample() {
        let control: Vec<f64> = (0..2000).map(|i| f64::from(i % 10 < 2)).collect();
        let treatment: Vec<f64> = (0..2000).map(|i| f64::from(i % 4 == 0)).collect();
        let b = bootstrap_difference(&control, &treatment, 0.05, 2000, 11);
        assert_eq!(
            b,
            bootstrap_difference(&control, &treatment, 0.05, 2000, 11)
        );
        let z = two_proportion_z_test(400.0, 2000.0, 500.0, 2000.0, 0.05);
        close(b.mean, 0.05, 0.002);
        close(b.ci_low, z.ci_low, 0.003);
        close(b.ci_high, z.ci_high, 0.003);
    }

    use std::path::Path;

    fn csv_data(text: &str) -> Result<AbData> {
        let table = assay_import::parse_ab_csv(Path::new("ab.csv"), text)?;
        AbData::from_table(table)
    }

    #[test]
    fn reads_csv_and_names_bad_fields() {
        let data = csv_data(
            "variant,metric,pre_metric,day\nB,1,0.5,2024-01-02\nA,0,1,2024-01-01\nB,0,2,3\nA,1,0,19724\n",
        )
        .unwrap();
        assert_eq!(data.arm_names(), &["B".to_owned(), "A".to_owned()]);
        assert_eq!(data.arm(), &[0, 1, 0, 1]);
        assert_eq!(data.pre_metric(), Some(&[0.5, 1.0, 2.0, 0.0][..]));
        assert_eq!(data.day(), Some(&[19_724, 19_723, 3, 19_724][..]));
        assert!(data.is_binary());

        let err = |text: &str| csv_data(text).unwrap_err().to_string();
        let e = err("variant,metric\nA,1\nB,x\n");
        assert!(
            e.contains("ab.csv:3: field `metric`") && e.contains("`x`"),
            "{e}"
        );
        let e = err("variant,metric\nA,1\nB,2\nC,3\n");
        assert!(
            e.contains(":4: field `variant`") && e.contains("third"),
            "{e}"
        );
        let e = err("variant,revenue\nA,1\n");
        assert!(
            e.contains(":1: field `revenue`") && e.contains("unknown column"),
            "{e}"
        );
        let e = err("variant,metric\nA,1\nA,2\n");
        assert!(e.contains("only `A`"), "{e}");
        let e = err("variant,metric\nA,1\nA,2\nB,3\n");
        assert!(e.contains("`B` has 1 row"), "{e}");
        let e = err("variant,metric,day\nA,1,1\nB,2,yesterday\n");
        assert!(e.contains(":3: field `day`"), "{e}");
        let e = err("variant,metric\nA,1\nB,inf\n");
        assert!(e.contains(":3: field `metric`"), "{e}");
    }

    /// Builds binary data from `(day, arm, successes, units)` blocks.
    fn blocks(spec: &[(i64, u8, usize, usize)]) -> AbData {
        let (mut arm, mut metric, mut day) = (Vec::new(), Vec::new(), Vec::new());
        for &(d, a, successes, units) in spec {
            for u in 0..units {
                arm.push(a);
                metric.push(f64::from(u8::from(u < successes)));
                day.push(d);
            }
        }
        AbData::new(["A".into(), "B".into()], arm, metric, None, Some(day)).unwrap()
    }

    #[test]
    fn significance_that_came_and_went_is_flagged() {
        // Day 1: 5/50 vs 15/50, z = 0.2 / 0.08 = 2.5, p = 0.0124. Day 2: 20/100 vs 20/100, p = 1.
        let data = blocks(&[(1, 0, 5, 50), (1, 1, 15, 50), (2, 0, 15, 50), (2, 1, 5, 50)]);
        let report = analyze(&data, &config());
        let peeking = report.peeking.unwrap();
        assert_eq!(peeking.looks.len(), 2);
        close(peeking.looks[0].p_value, 0.012_419, 1e-5);
        close(peeking.looks[1].p_value, 1.0, 1e-12);
        assert_eq!(peeking.first_significant_day, Some(1));
        let w = peeking.warning.unwrap();
        assert!(w.contains("day 1") && w.contains("possible peeking"), "{w}");
        assert_eq!(report.warnings.len(), 1);
    }

    #[test]
    fn stopping_at_the_first_significant_look_is_flagged() {
        // Cumulative: 5/50 vs 7/50, 10/100 vs 14/100 (z = 0.87), 15/150 vs 30/150 (z = 2.43).
        let spec = [
            (1, 0, 5, 50),
            (1, 1, 7, 50),
            (2, 0, 5, 50),
            (2, 1, 7, 50),
            (3, 0, 5, 50),
            (3, 1, 16, 50),
        ];
        let report = analyze(&blocks(&spec), &config());
        let peeking = report.peeking.unwrap();
        assert!(peeking.looks[..2].iter().all(|l| l.p_value > 0.05));
        assert!(peeking.looks[2].p_value < 0.05);
        let w = peeking.warning.unwrap();
        assert!(
            w.contains("last day (3") && w.contains("after 2 looks"),
            "{w}"
        );

        // Significant from the first day on: no warning, unless the planned size was not reached.
        let steady = blocks(&[(1, 0, 5, 60), (1, 1, 20, 60), (2, 0, 5, 60), (2, 1, 20, 60)]);
        assert_eq!(analyze(&steady, &config()).peeking.unwrap().warning, None);
        let planned = AbConfig {
            planned_n_per_arm: Some(1000),
            ..config()
        };
        let w = analyze(&steady, &planned).peeking.unwrap().warning.unwrap();
        assert!(w.contains("planned 1000"), "{w}");
    }

    #[test]
    fn analyze_picks_the_test_and_fills_every_part() {
        let binary = blocks(&[(0, 0, 200, 1000), (0, 1, 250, 1000)]);
        let cfg = AbConfig {
            mde: Some(0.02),
            n_bootstrap: 200,
            ..config()
        };
        let report = analyze(&binary, &cfg);
        assert!(report.binary);
        assert_eq!(report.test.test, TestKind::TwoProportionZ);
        close(report.test.statistic, 2.677_398, 1e-6);
        close(report.lift.unwrap().lift, 0.25, 1e-12);
        // Control rate 0.2: (1.959964 sqrt(2 * 0.21 * 0.79) + 0.841621 sqrt(0.16 + 0.1716))^2
        // / 0.0004 = 6509.47 -> 6510.
        assert_eq!(report.power.required_n_per_arm, Some(6510));
        assert!(report.bootstrap.is_some() && report.cuped.is_none());
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"test\":\"two-proportion-z\""), "{json}");

        let data = AbData::new(
            ["A".into(), "B".into()],
            vec![0, 0, 0, 0, 1, 1, 1, 1, 1],
            vec![1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0, 10.0],
            None,
            None,
        )
        .unwrap();
        let report = analyze(&data, &config());
        assert!(!report.binary);
        assert_eq!(report.test.test, TestKind::WelchT);
        close(report.test.df.unwrap(), 5.520_788, 1e-6);
    }

    fn arms_strategy() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, bool)> {
        prop_oneof![
            (
                proptest::collection::vec(-100.0..100.0f64, 2..30),
                proptest::collection::vec(-100.0..100.0f64, 2..30),
            )
                .prop_map(|(c, t)| (c, t, false)),
            (
                proptest::collection::vec(0..2u8, 2..60),
                proptest::collection::vec(0..2u8, 2..60),
            )
                .prop_map(|(c, t)| (
                    c.into_iter().map(f64::from).collect(),
                    t.into_iter().map(f64::from).collect(),
                    true
                )),
        ]
    }

    fn data_of(first: &[f64], second: &[f64]) -> AbData {
        let arm = std::iter::repeat_n(0, first.len())
            .chain(std::iter::repeat_n(1, second.len()))
            .collect();
        let metric = first.iter().chain(second).copied().collect();
        AbData::new(["x".into(), "y".into()], arm, metric, None, None).unwrap()
    }

    proptest! {
        #[test]
        fn swapping_arms_flips_the_difference((c, t, _) in arms_strategy()) {
            let cfg = config();
            let forward = analyze(&data_of(&c, &t), &cfg).test;
            let backward = analyze(&data_of(&t, &c), &cfg).test;
            prop_assert!((forward.difference + backward.difference).abs() < 1e-9);
            prop_assert!((forward.p_value - backward.p_value).abs() < 1e-9);
            prop_assert!((forward.ci_low + backward.ci_high).abs() < 1e-9);
            prop_assert!((forward.ci_high + backward.ci_low).abs() < 1e-9);
        }

        #[test]
        fn p_values_are_probabilities((c, t, binary) in arms_strategy()) {
            let report = analyze(&data_of(&c, &t), &config());
            prop_assert_eq!(report.binary, binary || (c.iter().chain(&t).all(|&v| v == 0.0 || v == 1.0)));
            prop_assert!((0.0..=1.0).contains(&report.test.p_value));
            prop_assert!(report.test.ci_low <= report.test.difference + 1e-12);
            prop_assert!(report.test.difference <= report.test.ci_high + 1e-12);
        }
    }
}
