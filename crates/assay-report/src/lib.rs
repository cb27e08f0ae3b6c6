//! assay's data-value report: what each source, segment, time window, category, user and
//! item of a dataset is worth to a recommender, as one self-contained HTML page a product
//! manager can read.
//!
//! Two halves, joined by plain data ([`ValueReport`], serde-serializable):
//!
//! - [`study`] computes the numbers for a `Dataset` with `assay-value`: exact group Shapley
//!   values with standard errors, user values (each user's influence on other users' lists),
//!   MSR Banzhaf item values, point-removal curves,
//!   learning curves with a fitted power law, all from one seeded split;
//! - [`render_html`] turns any `ValueReport` into a page: a plain-language summary of what to
//!   keep, fix, buy more of or drop ([`advice`]), bar charts with error bars, value
//!   histograms, top and bottom tables, the curves, and a methods footer. Charts are inline
//!   SVG drawn with plotters; the page has no script and loads nothing.
//!
//! Key design decision: rendering depends only on the plain data, so the page's rules and
//! markup are tested on hand-made reports, and a saved JSON report can be drawn again.

#![warn(missing_docs)]

pub mod advice;
pub mod detection;
mod html;
mod model;
pub mod plots;
pub mod study;
mod training;

pub use detection::{detect, Detection};
pub use html::{escape, render_html, svg_or_note, STYLE};
pub use model::*;
pub use study::{chosen_model, study, Sections, StudyConfig, StudyError, StudyProgress};
pub use training::{render_training, render_training_runs, SourceWorth, TrainingRun};
