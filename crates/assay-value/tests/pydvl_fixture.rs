//! KNN-Shapley on a plain labelled CSV equals pyDVL 0.10's `KNNShapleyValuation` (see
//! `fixtures/pydvl-knn/README.md` for how the reference was produced).

use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pydvl-knn")
        .join(name)
}

#[test]
fn knn_shapley_matches_pydvl_to_1e9() {
    let text = std::fs::read_to_string(fixture("pydvl_values.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 30);
    for (column, name) in header.iter().enumerate().skip(1) {
        let k: usize = name.trim_start_matches('k').parse().unwrap();
        let values =
            assay_value::knn_shapley_csv(&fixture("train.csv"), &fixture("test.csv"), "label", k)
                .unwrap();
        let mut worst = 0.0f64;
        for (row, reference) in values.players.iter().zip(&rows) {
            assert_eq!(row.player as f64, reference[0]);
            worst = worst.max((row.value - reference[column]).abs());
        }
        assert!(worst < 1e-9, "k = {k}: max |diff| = {worst}");
        assert_eq!(values.players[0].name, "row 1");
    }
}
