//! Image vectors: off, the shop is byte for byte the shop without them; on, each vector shows
//! the item's leaf, colour and style as the crate docs say.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use assay_sim::{assay_toml, simulate, ImageSpec, SimConfig, ASSAY_TOML};

fn tiny(seed: u64) -> SimConfig {
    SimConfig {
        n_events_target: 5_000,
        ..SimConfig::small_with_bad_data(seed)
    }
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(name, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[test]
fn images_change_only_the_files_that_carry_them() {
    let temp = tempfile::tempdir().unwrap();
    let off = temp.path().join("off");
    let on = temp.path().join("on");
    let config = tiny(3);
    simulate(&config, &off).unwrap();
    let with_images = SimConfig {
        images: Some(ImageSpec::new(32)),
        ..config.clone()
    };
    simulate(&with_images, &on).unwrap();
    assert_eq!(assay_toml(&config), ASSAY_TOML);
    let (off_files, on_files) = (files(&off), files(&on));
    let changed = [
        "items.csv",
        "assay.toml",
        "assay-shop.json",
        "truth/config.json",
        "truth/summary.json",
    ];
    for (name, bytes) in &off_files {
        if !changed.contains(&name.as_str()) {
            assert!(on_files[name] == *bytes, "{name} differs with images on");
        }
    }
    assert!(on_files.contains_key("truth/modalities.csv"));
    assert!(!off_files.contains_key("truth/modalities.csv"));
    // items.csv is the same table plus the image column.
    let (off_items, on_items) = (rows(&off.join("items.csv")), rows(&on.join("items.csv")));
    assert_eq!(off_items.len(), on_items.len());
    for (a, b) in off_items.iter().zip(&on_items) {
        let mut b = b.clone();
        let image = b.remove("image").unwrap();
        assert_eq!(*a, b);
        let values: Vec<f32> = image.split(' ').map(|v| v.parse().unwrap()).collect();
        assert_eq!(values.len(), 32);
        assert!(values.iter().all(|v| v.is_finite()));
    }
    let toml = String::from_utf8(on_files["assay.toml"].clone()).unwrap();
    assert!(toml.contains("image = \"image\""), "{toml}");
    let truth = rows(&on.join("truth/modalities.csv"));
    let order: Vec<(&str, &str)> = truth
        .iter()
        .map(|r| (r["modality"].as_str(), r["expected_rank"].as_str()))
        .collect();
    assert_eq!(order, [("behaviour", "1"), ("image", "2"), ("text", "3")]);
    // The latent dimension is 8, so the photo shows 4 taste factors.
    assert_eq!(truth[1]["taste_dims"], "4");
}

#[test]
fn vectors_show_leaf_colour_and_style() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("shop");
    let config = SimConfig {
        n_items: 3_000,
        n_events_target: 1_000,
        images: Some(ImageSpec {
            dim: 48,
            noise: 0.3,
            style_weight: 1.0,
        }),
        ..SimConfig::small(11)
    };
    simulate(&config, &dir).unwrap();
    let items = rows(&dir.join("items.csv"));
    let truth = rows(&dir.join("truth/items.csv"));
    let vectors: Vec<Vec<f64>> = items
        .iter()
        .map(|r| r["image"].split(' ').map(|v| v.parse().unwrap()).collect())
        .collect();
    let key = |i: usize| {
        let t = &truth[i];
        (
            t["category_index"].clone(),
            t["color"].clone(),
            t["feature"].clone(),
        )
    };
    let style = |i: usize| -> Vec<f64> {
        (0..4)
            .map(|k| truth[i][&format!("g{k}")].parse().unwrap())
            .collect()
    };
    let dist =
        |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum() };
    // Pairs of consecutive items: different everything vs. same leaf, colour and feature.
    let (mut same, mut other) = (Vec::new(), Vec::new());
    let mut style_pairs = Vec::new();
    for i in 0..vectors.len() {
        for j in i + 1..vectors.len().min(i + 200) {
            let (a, b) = (key(i), key(j));
            let d = dist(&vectors[i], &vectors[j]);
            if a == b {
                same.push(d);
                style_pairs.push((dist(&style(i), &style(j)), d));
            } else if a.0 != b.0 && a.1 != b.1 && a.2 != b.2 {
                other.push(d);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // Expected squared distances: 2 (style) + 2 * 0.09 (noise) for equal attributes, plus
    // 2 for each of leaf, colour and feature when all differ: about 2.2 against 8.2.
    assert!(
        same.len() >= 20 && other.len() >= 1000,
        "{} {}",
        same.len(),
        other.len()
    );
    let (s, o) = (mean(&same), mean(&other));
    assert!((1.4..3.2).contains(&s), "same attributes: {s}");
    assert!((7.0..9.5).contains(&o), "different attributes: {o}");
    // Among items with equal attributes, the distance follows the shown taste factors.
    let (xs, ys): (Vec<f64>, Vec<f64>) = style_pairs.into_iter().unzip();
    let (mx, my) = (mean(&xs), mean(&ys));
    let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    let r = cov / (vx * vy).sqrt();
    assert!(r > 0.5, "correlation of image and style distances {r}");
}
