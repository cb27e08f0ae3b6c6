//! Image vectors declared by `items.image`: read into the catalog, and each bad cell refused
//! with its file, line and field.

mod common;

use assay_import::LoadOptions;
use common::{check_project, load_err, load_ok, project, TOML};

fn toml() -> String {
    TOML.replace("price = \"price\"", "price = \"price\"\nimage = \"img\"")
}

#[test]
fn vectors_are_read_in_catalog_order() {
    let toml = toml();
    let items = "sku,name,price,img\nA1,Red dress,19.90,0.5 -1 2e-1\nB2,Blue shirt,,\"3,4,  5\"\n";
    let dir = project(&[("assay.toml", &toml), ("items.csv", items)]);
    let loaded = load_ok(dir.path(), &LoadOptions::default());
    let image = loaded.dataset.items.image.expect("image vectors");
    assert_eq!(image.dim, 3);
    assert_eq!(image.row(0), [0.5, -1.0, 0.2]);
    assert_eq!(image.row(1), [3.0, 4.0, 5.0]);
    // Without the key, no vectors.
    let dir = project(&[]);
    assert!(load_ok(dir.path(), &LoadOptions::default())
        .dataset
        .items
        .image
        .is_none());
}

#[test]
fn bad_vectors_name_file_line_and_field() {
    let toml = toml();
    let cases = [
        (
            "sku,name,price,img\nA1,Red dress,19.90,1 2\nB2,Blue shirt,,1 2 3\n",
            "items.csv:3: field 'img': the image vector has 3 values, expected 2 as on line 2",
        ),
        (
            "sku,name,price,img\nA1,Red dress,19.90,1 NaN\nB2,Blue shirt,,1 2\n",
            "items.csv:2: field 'img': value 2 of the image vector is \"NaN\", expected a \
             finite number",
        ),
        (
            "sku,name,price,img\nA1,Red dress,19.90,1 2\nB2,Blue shirt,,1 x\n",
            "items.csv:3: field 'img': value 2 of the image vector is \"x\", expected a finite \
             number",
        ),
        (
            "sku,name,price,img\nA1,Red dress,19.90,\nB2,Blue shirt,,1 2\n",
            "items.csv:2: field 'img': the image vector is empty; every item needs one (floats \
             separated by spaces)",
        ),
        (
            "sku,name,price\nA1,Red dress,19.90\n",
            "items.csv:1: missing column 'img' (declared by items.image in assay.toml); columns \
             found: 'sku', 'name', 'price'",
        ),
    ];
    for (items, expected) in cases {
        check_project(&[("assay.toml", &toml), ("items.csv", items)], expected);
    }
}

/// The base project with `[items]` extended by `keys` and the fixture files copied in.
fn project_with_file(keys: &str, files: &[&str]) -> tempfile::TempDir {
    let toml = TOML.replace("price = \"price\"", &format!("price = \"price\"\n{keys}"));
    let dir = project(&[("assay.toml", &toml)]);
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    for name in files {
        std::fs::copy(fixtures.join(name), dir.path().join(name)).expect("copy fixture");
    }
    dir
}

#[test]
fn vectors_from_files_keyed_by_item_id_land_on_their_items() {
    // The .npy rows are B2 then A1 (rows.txt); the catalog's order is A1, B2.
    let cases = [
        (
            "image_file = \"rows_f4.npy\"\nimage_ids = \"rows.txt\"",
            &["rows_f4.npy", "rows.txt"][..],
        ),
        (
            "image_file = \"rows_f8.npy\"\nimage_ids = \"rows.txt\"",
            &["rows_f8.npy", "rows.txt"][..],
        ),
        (
            "image_file = \"items.safetensors\"",
            &["items.safetensors"][..],
        ),
        (
            "image_file = \"items_f64.safetensors\"",
            &["items_f64.safetensors"][..],
        ),
    ];
    for (keys, files) in cases {
        let dir = project_with_file(keys, files);
        let loaded = load_ok(dir.path(), &LoadOptions::default());
        let image = loaded.dataset.items.image.expect("image vectors");
        assert_eq!(image.dim, 3, "{keys}");
        assert_eq!(image.row(0), [0.5, -1.0, 0.25], "{keys}");
        assert_eq!(image.row(1), [3.0, 4.0, 5.0], "{keys}");
    }
}

#[test]
fn bad_vector_files_are_refused_by_name() {
    let cases = [
        ("image_file = \"fortran.npy\"\nimage_ids = \"rows.txt\"", &["fortran.npy", "rows.txt"][..],
         "fortran.npy: the matrix is in Fortran order; save it in C order"),
        ("image_file = \"cube.npy\"\nimage_ids = \"rows.txt\"", &["cube.npy", "rows.txt"][..],
         "cube.npy: shape [2, 3, 1], expected (items, dim)"),
        ("image_file = \"ints.npy\"\nimage_ids = \"rows.txt\"", &["ints.npy", "rows.txt"][..],
         "ints.npy: dtype <i4, expected little-endian float32 (<f4) or float64 (<f8)"),
        ("image_file = \"rows_f4.npy\"", &["rows_f4.npy"][..],
         "rows_f4.npy: a .npy matrix has no item ids: name its rows with items.image_ids (a text file, one id per line)"),
        ("image_file = \"ragged.safetensors\"", &["ragged.safetensors"][..],
         "ragged.safetensors: field 'B2': 2 values, expected 3 as the other vectors"),
        ("image_file = \"extra.safetensors\"", &["extra.safetensors"][..],
         "extra.safetensors: field 'Z9': no item of the catalog has this id"),
        ("image_file = \"missing.safetensors\"", &["missing.safetensors"][..],
         "missing.safetensors: 1 catalog items have no vector, the first `B2`; every item needs one"),
        ("image_file = \"items.csv\"", &[][..],
         "items.csv: expected a .safetensors file (a tensor per item id) or a .npy matrix with items.image_ids"),
    ];
    for (keys, files, expected) in cases {
        let dir = project_with_file(keys, files);
        assert_eq!(
            load_err(dir.path(), &LoadOptions::default()),
            expected,
            "{keys}"
        );
    }
    // Ids that do not match the rows.
    let dir = project_with_file(
        "image_file = \"rows_f4.npy\"\nimage_ids = \"ids.txt\"",
        &["rows_f4.npy"],
    );
    std::fs::write(dir.path().join("ids.txt"), "B2\nB2\n").unwrap();
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "ids.txt:2: id `B2` again (first on line 1)"
    );
    std::fs::write(dir.path().join("ids.txt"), "B2\n").unwrap();
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "ids.txt: 1 ids for the 2 rows of rows_f4.npy: one id per row, in row order"
            .replace(
                "rows_f4.npy",
                &dir.path().join("rows_f4.npy").display().to_string()
            )
            .replace(&format!("{}/", dir.path().display()), "")
    );
    // A file that is not .npy at all, and a column and a file at once.
    std::fs::write(dir.path().join("rows_f4.npy"), b"not numpy").unwrap();
    assert_eq!(
        load_err(dir.path(), &LoadOptions::default()),
        "rows_f4.npy: not a .npy file (no \\x93NUMPY magic)"
    );
    let dir = project_with_file(
        "image = \"img\"\nimage_file = \"items.safetensors\"",
        &["items.safetensors"],
    );
    assert!(load_err(dir.path(), &LoadOptions::default()).contains("not both"));
}
