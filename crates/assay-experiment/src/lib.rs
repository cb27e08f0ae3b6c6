//! Experiments and business metrics for assay: reading an A/B test without fooling yourself, and
//! the business numbers of a behaviour log, each with an interval.
//!
//! [`ab`] analyzes a two-arm test ([`AbData`], from the file assay-import reads): the z or Welch
//! test, lift with a delta-method interval, a bootstrap interval, power and sample size, CUPED
//! variance reduction, and a check for the patterns that peeking produces. [`business`] computes
//! CTR, conversion, revenue, dwell and retention from an [`assay_core::Dataset`], overall, per
//! segment and per source.
//!
//! Key design decision: every interval accounts for the unit of randomization (a user or a
//! session), not the single event, since events of one unit are correlated and treating them as
//! independent would make intervals too narrow. Off-policy estimates of a *new* policy are not
//! here; they are assay-bandit's.

#![warn(missing_docs)]
// Numeric kernels index several parallel arrays by one loop variable; that reads best as a range loop.
#![allow(clippy::needless_range_loop)]

pub mod ab;
pub mod business;
mod error;

pub use ab::{analyze, AbConfig, AbData, AbReport};
pub use business::{business_metrics, BusinessConfig, BusinessReport, BusinessRow, Unit};
pub use error::{ExperimentError, Result};
