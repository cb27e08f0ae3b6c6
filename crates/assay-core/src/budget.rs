//! The time budget: the rule for steps whose work is a product of data sizes.
//!
//! Evaluating a recommender ranks every item for every user, once per pass: 100,000 users and
//! 200,000 items make 2e10 scores a pass, and a model validated after each of 15 sweeps runs
//! 17 passes. Data valuation refits a model hundreds of times. Such a step can run for hours on
//! a shop whose files load in seconds, and one that never finishes is as bad as a wrong answer:
//! nobody can tell it from a hang. So a step whose work grows with a product of sizes first
//! estimates its time from the sizes ([`Estimate`]) and asks [`check`]; over the limit it is
//! refused before any work with [`TooSlow`]: what, the estimate, the limit and what to do
//! instead. The limit is raised (or lifted with `none`) to go ahead.
//!
//! An estimate from sizes can miss work it does not count, so a step made of many like units
//! (the report's model fits) also checks itself while it runs ([`overrun`]): once a twentieth
//! of its units are done it projects its total time from its own pace, and it stops when that
//! projection is clearly over the limit, or when the limit has passed.
//!
//! The limit is process-wide: [`DEFAULT_LIMIT`] (one hour) unless a front end sets another with
//! [`set_limit`] (the command line's `--time-limit` and `ASSAY_TIME_LIMIT`). Estimates come
//! from fixed per-operation costs measured on a two-core machine ([`NS_PER_SCORE`] and the
//! models' own), divided by the worker threads, so the same input gets the same answer on
//! machines of the same size; they are meant to be right within a factor of about two.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The limit unless [`set_limit`] says otherwise: one hour.
pub const DEFAULT_LIMIT: f64 = 3600.0;

/// Nanoseconds of one thread to rank one item for one user when the score itself is cheap
/// (a sparse model): clearing, masking and the top-K pass over a dense score vector.
pub const NS_PER_SCORE: f64 = 1.0;

static LIMIT_BITS: AtomicU64 = AtomicU64::new(DEFAULT_LIMIT.to_bits());

/// The current limit in seconds (infinite when lifted).
pub fn limit() -> f64 {
    f64::from_bits(LIMIT_BITS.load(Ordering::Relaxed))
}

/// Sets the limit for the rest of the process; `f64::INFINITY` lifts it.
pub fn set_limit(seconds: f64) {
    LIMIT_BITS.store(seconds.to_bits(), Ordering::Relaxed);
}

/// The threads that share the work: those of rayon's global pool, `RAYON_NUM_THREADS` when
/// set, else the machine's available parallelism; at least 1.
pub fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|t| t.trim().parse::<usize>().ok())
        .filter(|&t| t > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
}

/// Seconds of `threads()` threads for `ns` nanoseconds of one thread's work.
pub fn seconds_of(ns: f64) -> f64 {
    ns / 1e9 / threads() as f64
}

/// The estimated time of a step: seconds, and how the estimate was made (the sizes and the
/// counts behind it, e.g. "17 ranking passes over 100,000 users x 200,000 items").
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Wall-clock seconds on [`threads`] threads.
    pub seconds: f64,
    /// What the estimate counts.
    pub what: String,
}

/// `Ok` when `estimate` is within the limit; otherwise [`TooSlow`] with `step` (what would run,
/// e.g. "eval of als on 100,000 users x 200,000 items") and `instead` (what to do instead,
/// e.g. "evaluate itemknn"). Both are only built on refusal.
pub fn check(
    estimate: &Estimate,
    step: impl FnOnce() -> String,
    instead: impl FnOnce() -> String,
) -> Result<(), TooSlow> {
    let limit = limit();
    if estimate.seconds <= limit || estimate.seconds.is_nan() {
        return Ok(());
    }
    Err(TooSlow {
        step: step(),
        estimate: estimate.clone(),
        limit,
        instead: instead(),
    })
}

/// How far over the limit a running step's projection must be before [`overrun`] stops it:
/// a projection from the first units is rough, and a step near the limit is let finish.
pub const OVERRUN_FACTOR: f64 = 1.5;

/// Whether a running step should stop, `elapsed` seconds in, with `done` of its `planned`
/// units (`unit` names them, e.g. "model fits") finished, under `limit`: `Some` with the
/// projected total when its time has passed the limit, or when at least a twentieth of the
/// units and a tenth of the limit (at most 30 s) have passed and the pace projects over
/// [`OVERRUN_FACTOR`] times the limit. The projection is `elapsed * planned / done`.
pub fn overrun(elapsed: f64, done: u64, planned: u64, limit: f64, unit: &str) -> Option<Estimate> {
    let planned = planned.max(done);
    let projected = if done == 0 {
        elapsed
    } else {
        elapsed * planned as f64 / done as f64
    };
    let measured = done.saturating_mul(20) >= planned && elapsed >= (limit / 10.0).min(30.0);
    let what = if elapsed > limit {
        format!(
            "stopped after {} of {} {unit} in {}",
            format_count(done),
            format_count(planned),
            format_elapsed(elapsed)
        )
    } else if measured && projected > OVERRUN_FACTOR * limit {
        format!(
            "projected from {} of {} {unit} in {}",
            format_count(done),
            format_count(planned),
            format_elapsed(elapsed)
        )
    } else {
        return None;
    };
    Some(Estimate {
        seconds: projected.max(elapsed),
        what,
    })
}

/// A step refused because its estimated time is over the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct TooSlow {
    /// What would run.
    pub step: String,
    /// Its estimated time and how it was made.
    pub estimate: Estimate,
    /// The limit in seconds when it was refused.
    pub limit: f64,
    /// What to do instead.
    pub instead: String,
}

impl fmt::Display for TooSlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} would take about {} on {} threads ({}), over the time limit of {}; {}, \
             or raise the limit to go ahead (--time-limit {}, or --time-limit none)",
            self.step,
            format_duration(self.estimate.seconds),
            threads(),
            self.estimate.what,
            format_duration(self.limit),
            self.instead,
            flag_value(self.estimate.seconds * 1.5),
        )
    }
}

impl std::error::Error for TooSlow {}

/// A `--time-limit` value of at least `seconds`: whole minutes under an hour, else whole hours.
fn flag_value(seconds: f64) -> String {
    if seconds >= 3600.0 {
        format!("{}h", (seconds / 3600.0).ceil())
    } else {
        format!("{}m", (seconds / 60.0).ceil().max(1.0))
    }
}

/// A duration for messages: "45 s", "12 min", "3 h 20 min", "no limit" for infinity.
pub fn format_duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "no limit".to_owned();
    }
    let s = seconds.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s.div_ceil(60))
    } else {
        let minutes = s.div_ceil(60);
        match minutes % 60 {
            0 => format!("{} h", minutes / 60),
            m => format!("{} h {m} min", minutes / 60),
        }
    }
}

/// Reads a time limit: seconds, or a number with a unit `s`, `m`/`min`, `h` (`90s`, `45m`,
/// `1.5h`), or `none` for no limit. The error says what was expected.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let trimmed = text.trim().to_ascii_lowercase();
    if matches!(trimmed.as_str(), "none" | "off" | "inf" | "unlimited") {
        return Ok(f64::INFINITY);
    }
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let expected = || {
        format!(
            "expected a duration such as 90s, 45m or 4h, or `none`, found `{}`",
            text.trim()
        )
    };
    let value: f64 = number.parse().map_err(|_| expected())?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        _ => return Err(expected()),
    };
    let seconds = value * scale;
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(expected());
    }
    Ok(seconds)
}

/// Time already spent, for messages: as [`format_duration`], but minutes and seconds under
/// an hour ("3 min 12 s"), since rounding up what was measured would misstate it.
fn format_elapsed(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if (60..3600).contains(&s) {
        match s % 60 {
            0 => format!("{} min", s / 60),
            rest => format!("{} min {rest} s", s / 60),
        }
    } else {
        format_duration(seconds)
    }
}

/// A count with thousands separators (1,234,567).
fn format_count(n: u64) -> String {
    crate::memory::format_count(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_step_stops_when_its_pace_or_its_time_is_over_the_limit() {
        // 100 of 1,000 fits in 60 s: 600 s projected. Under 1.5 x a 500 s limit: go on;
        // over 1.5 x a 300 s limit: stop, with the projection.
        assert_eq!(overrun(60.0, 100, 1_000, 500.0, "model fits"), None);
        let stop = overrun(60.0, 100, 1_000, 300.0, "model fits").unwrap();
        assert_eq!(stop.seconds, 600.0);
        assert_eq!(stop.what, "projected from 100 of 1,000 model fits in 1 min");
        let later = overrun(192.0, 100, 1_000, 600.0, "model fits").unwrap();
        assert_eq!(
            later.what,
            "projected from 100 of 1,000 model fits in 3 min 12 s"
        );
        // Too few units (under a twentieth) or too little time to judge the pace by.
        // A projection over 1.5 x the limit, but too few units (under a twentieth) or too
        // little time (under a tenth of the limit) to judge the pace by: go on.
        assert!(overrun(5.0, 49, 1_000, 10.0, "fits").is_none());
        assert!(overrun(8.0, 50, 1_000, 100.0, "fits").is_none());
        assert!(overrun(10.0, 50, 1_000, 100.0, "fits").is_some());
        // Past the limit: stop whatever the pace, even before the first unit ends.
        let late = overrun(11.0, 0, 1_000, 10.0, "fits").unwrap();
        assert_eq!(late.seconds, 11.0);
        assert_eq!(late.what, "stopped after 0 of 1,000 fits in 11 s");
        // Done beyond the plan: the plan is taken as what was done.
        let over = overrun(20.0, 2_000, 1_000, 10.0, "fits").unwrap();
        assert_eq!(
            (over.seconds, over.what.as_str()),
            (20.0, "stopped after 2,000 of 2,000 fits in 20 s")
        );
    }

    #[test]
    fn durations_read_and_print() {
        assert_eq!(parse_duration("90s"), Ok(90.0));
        assert_eq!(parse_duration(" 45m "), Ok(2700.0));
        assert_eq!(parse_duration("1.5h"), Ok(5400.0));
        assert_eq!(parse_duration("600"), Ok(600.0));
        assert_eq!(parse_duration("None"), Ok(f64::INFINITY));
        for bad in ["", "h", "-5m", "0", "5 days", "1e400"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("expected a duration"), "{bad}: {error}");
        }
        assert_eq!(format_duration(44.6), "45 s");
        assert_eq!(format_duration(61.0), "2 min");
        assert_eq!(format_duration(3600.0), "1 h");
        assert_eq!(format_duration(12_000.0), "3 h 20 min");
        assert_eq!(format_duration(f64::INFINITY), "no limit");
        assert_eq!(flag_value(61.0), "2m");
        assert_eq!(flag_value(10_801.0), "4h");
        assert_eq!(parse_duration(&flag_value(10_801.0)), Ok(14_400.0));
    }

    #[test]
    fn a_step_over_the_limit_is_refused_with_its_estimate() {
        // The default limit (this test does not change it): an hour passes, two do not.
        assert_eq!(limit(), DEFAULT_LIMIT);
        let hour = Estimate {
            seconds: 3600.0,
            what: "one pass".into(),
        };
        assert!(check(&hour, || unreachable!(), || unreachable!()).is_ok());
        let two = Estimate {
            seconds: 7200.0,
            what: "two passes".into(),
        };
        let refused = check(&two, || "eval of x".into(), || "use y".into()).unwrap_err();
        let text = refused.to_string();
        for words in [
            "eval of x would take about 2 h on ",
            "(two passes), over the time limit of 1 h; use y",
            "--time-limit 3h",
            "--time-limit none",
        ] {
            assert!(text.contains(words), "`{words}` not in: {text}");
        }
    }
}
