//! The domain model of assay, shared by every other crate.
//!
//! A shop is a [`Dataset`]: a catalog of [`Items`], [`Users`], a columnar log of [`Events`]
//! (impressions, clicks, carts, purchases, ratings, dwell) and search [`Judgment`]s.
//! String ids live only at the edges, in an [`IdMap`]; inside, every item, user, source,
//! session and query is a dense `u32` index, so columns are plain vectors and the models that
//! consume them can index arrays directly.
//!
//! This crate does no IO and depends on no other workspace crate. Readers live in
//! `assay-import`; this crate cleans, splits and summarises data that is already in memory.

#![warn(missing_docs)]

mod curves;
mod dataset;
mod ids;
mod interactions;

pub mod budget;
pub mod clean;
pub mod math;
pub mod memory;
pub mod split;
pub mod stats;
pub mod time;

pub use budget::TooSlow;
pub use curves::{EpochPoint, StepPoint, TrainingCurves};
pub use dataset::{
    Attributes, Dataset, EventKind, Events, ItemVectors, Items, Judgment, NumericFeatures, Users,
    NO_POSITION, NO_QUERY, NO_SESSION, NO_TIME,
};
pub use ids::IdMap;
pub use interactions::Interactions;
pub use memory::TooLarge;

/// Dense index of an item in [`Items`], in `0..items.len()`.
pub type ItemIdx = u32;
/// Dense index of a user in [`Users`], in `0..users.len()`.
pub type UserIdx = u32;
