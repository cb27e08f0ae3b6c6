//! The models. Each file holds one params struct (implementing [`Fit`](crate::Fit) and
//! [`ModelKind`](crate::ModelKind)) and one fitted model (implementing
//! [`Recommender`](crate::Recommender)).

mod factors;
pub(crate) mod nn;
pub(crate) mod seqmodel;
mod sequence;
mod sparse;

use crate::spec::{Kind, Registered};
use crate::store::ModelFile;
use crate::{RecommendError, Result};

/// Declares each model's module and registers its params type as a kind.
macro_rules! registry {
    ($($module:ident::$params:ident,)*) => {
        $(pub mod $module;)*

        /// Every model kind, in the order error messages list them.
        pub(crate) static KINDS: &[&dyn Kind] = &[$(&Registered::<$module::$params>::ENTRY),*];
    };
}

// A new model is one file in this folder and one line here.
registry! {
    pop::PopParams,
    itemknn::ItemKnnParams,
    ease::EaseParams,
    als::AlsParams,
    bpr::BprParams,
    content::ContentParams,
    hybrid::HybridParams,
    rp3beta::Rp3BetaParams,
    gru4rec::Gru4RecParams,
    sasrec::SasRecParams,
    fusion::FusionParams,
    rerank::RerankParams,
}

/// Reads an `f32` tensor and checks its shape.
pub(crate) fn load_f32(file: &ModelFile, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let (found, values) = file.f32(name)?;
    if found != shape {
        return Err(file.error(format!(
            "tensor {name} has shape {found:?}, expected {shape:?}"
        )));
    }
    Ok(values)
}

/// Checks that `kind` is what the file says.
pub(crate) fn expect_kind(file: &ModelFile, kind: &str) -> Result<()> {
    if file.kind() != kind {
        return Err(file.error(format!("holds a {} model, not {kind}", file.kind())));
    }
    Ok(())
}

/// A finite number at least 0.
pub(crate) fn non_negative(x: f32) -> bool {
    x.is_finite() && x >= 0.0
}

/// A finite number above 0.
pub(crate) fn positive(x: f32) -> bool {
    x.is_finite() && x > 0.0
}

/// The error of a hyper-parameter outside its range.
pub(crate) fn bad_param<T>(
    name: &'static str,
    value: impl ToString,
    reason: &'static str,
) -> Result<T> {
    Err(RecommendError::Param {
        name,
        value: value.to_string(),
        reason,
    })
}

/// A random binary user x item matrix for tests: each user has up to `most - 1` items, drawn
/// with a long tail (squaring a uniform draw favours low item indices), so that
/// neighbourhoods overlap.
#[cfg(test)]
pub(crate) fn random_triples(
    seed: u64,
    users: usize,
    items: usize,
    most: usize,
) -> Vec<(assay_core::UserIdx, assay_core::ItemIdx, f32)> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut triples = Vec::new();
    for u in 0..users as u32 {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..rng.random_range(1..most) {
            let x: f64 = rng.random();
            let i = ((x * x) * items as f64) as u32;
            if seen.insert(i) {
                triples.push((u, i, 1.0));
            }
        }
    }
    triples
}
