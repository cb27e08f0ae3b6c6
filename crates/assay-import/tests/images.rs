//! Image vectors declared by `items.image`: read into the catalog, and each bad cell refused
//! with its file, line and field.

mod common;

use assay_import::LoadOptions;
use common::{check_project, load_ok, project, TOML};

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
