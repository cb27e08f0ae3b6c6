//! The items' image vectors: a fixed random projection of what a photo shows (the leaf, the
//! colour, the material or feature, and the item's visible style) plus seeded noise.

use rand_chacha::ChaCha8Rng;

use crate::config::ImageSpec;
use crate::output::Table;
use crate::random::{normal, stream_rng, Stream};
use crate::vocab::{self, Department, COLORS, TAXONOMY};
use crate::SimError;

/// Every department, in the order their feature prototypes are drawn.
const DEPARTMENTS: [Department; 6] = [
    Department::Fashion,
    Department::Home,
    Department::Electronics,
    Department::Sports,
    Department::Beauty,
    Department::Kids,
];

/// How many of the `d` latent factors a photo shows: the first `ceil(d / 2)`.
pub(crate) fn style_dims(latent_dim: usize) -> usize {
    latent_dim.div_ceil(2)
}

/// The projection tables and the noise stream.
pub(crate) struct ImageModel {
    spec: ImageSpec,
    dim: usize,
    style_dims: usize,
    /// One prototype per taxonomy leaf (all 36, so a shop's vectors do not depend on how
    /// many leaves it uses).
    leaf: Vec<Vec<f32>>,
    color: Vec<Vec<f32>>,
    /// `feature[department][feature]`.
    feature: Vec<Vec<Vec<f32>>>,
    /// Row-major `dim x style_dims`.
    style: Vec<f32>,
    rng: ChaCha8Rng,
}

impl ImageModel {
    /// Draws the tables from the images' own stream: leaves, colours, features by
    /// department, the style projection; then each item's noise in item order.
    pub(crate) fn new(seed: u64, spec: ImageSpec, latent_dim: usize) -> ImageModel {
        let mut rng = stream_rng(seed, Stream::Images);
        let dim = spec.dim as usize;
        let scale = 1.0 / (dim as f64).sqrt();
        let prototype = |rng: &mut ChaCha8Rng| -> Vec<f32> {
            (0..dim).map(|_| (scale * normal(rng)) as f32).collect()
        };
        let leaf = TAXONOMY.iter().map(|_| prototype(&mut rng)).collect();
        let color = COLORS.iter().map(|_| prototype(&mut rng)).collect();
        let feature = DEPARTMENTS
            .iter()
            .map(|&d| {
                vocab::features(d)
                    .iter()
                    .map(|_| prototype(&mut rng))
                    .collect()
            })
            .collect();
        let style_dims = style_dims(latent_dim);
        let style_scale = 1.0 / ((dim * style_dims) as f64).sqrt();
        let style = (0..dim * style_dims)
            .map(|_| (style_scale * normal(&mut rng)) as f32)
            .collect();
        ImageModel {
            spec,
            dim,
            style_dims,
            leaf,
            color,
            feature,
            style,
            rng,
        }
    }

    /// The vector of the next item: `P_leaf + P_colour + P_feature + w S g[..s] + noise`.
    pub(crate) fn vector(
        &mut self,
        leaf: usize,
        department: Department,
        color: usize,
        feature: usize,
        latent: &[f32],
    ) -> Vec<f32> {
        let department = DEPARTMENTS
            .iter()
            .position(|&d| d == department)
            .unwrap_or(0);
        let noise_scale = self.spec.noise / (self.dim as f64).sqrt();
        let weight = self.spec.style_weight as f32;
        (0..self.dim)
            .map(|k| {
                let row = &self.style[k * self.style_dims..(k + 1) * self.style_dims];
                let style: f32 = row.iter().zip(latent).map(|(a, b)| a * b).sum();
                let noise = (noise_scale * normal(&mut self.rng)) as f32;
                self.leaf[leaf][k]
                    + self.color[color][k]
                    + self.feature[department][feature][k]
                    + weight * style
                    + noise
            })
            .collect()
    }
}

/// An image vector as one field: shortest round-trip floats separated by spaces.
pub(crate) fn field(vector: &[f32]) -> String {
    let texts: Vec<String> = vector.iter().map(f32::to_string).collect();
    texts.join(" ")
}

/// Writes `truth/modalities.csv`: what each modality carries of the click logit's
/// item-dependent terms, and the order of worth the shop's behaviour implies.
pub(crate) fn write_truth(dir: &std::path::Path, latent_dim: usize) -> Result<u64, SimError> {
    let mut table = Table::create(
        dir,
        "modalities.csv",
        &[
            "modality",
            "expected_rank",
            "leaf",
            "color",
            "feature",
            "taste_dims",
            "quality",
            "price",
        ],
    )?;
    let shown = style_dims(latent_dim).to_string();
    let all = latent_dim.to_string();
    let rows: [[&str; 8]; 3] = [
        ["behaviour", "1", "1", "0", "0", &all, "1", "1"],
        ["image", "2", "1", "1", "1", &shown, "0", "0"],
        ["text", "3", "1", "1", "1", "0", "0", "0"],
    ];
    for row in rows {
        table.write(row)?;
    }
    table.finish()
}
