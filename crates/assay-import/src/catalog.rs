//! A plain catalog file: CSV (header row) or JSON Lines with `id`, `title` and optional
//! `description`, `category`, `brand`, `price`; other columns become attributes.

use std::io::{BufRead, BufReader};
use std::path::Path;

use assay_core::{Dataset, Items};

use crate::ImportError;

const KNOWN: [&str; 6] = ["id", "title", "description", "category", "brand", "price"];

fn push_row(
    items: &mut Items,
    path: &Path,
    line: u64,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ImportError> {
    let bad = |field: &str, message: String| ImportError::field(path, line, field, message);
    let id = get("id")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad("id", "missing".into()))?;
    // The rule of every other reader of ids (`refs::required_id`): a control character (a NUL
    // byte, say) is a damaged file, and an id other tools would cut short.
    if id.chars().any(char::is_control) {
        return Err(bad(
            "id",
            format!(
                "expected an item id without control characters, found {}",
                crate::parse::quoted(id.trim())
            ),
        ));
    }
    let title = get("title").ok_or_else(|| bad("title", "missing".into()))?;
    let before = items.len();
    let idx = items.intern(id.trim()) as usize;
    if items.len() == before {
        return Err(bad("id", format!("duplicate id `{}`", id.trim())));
    }
    items.title[idx] = title;
    items.description[idx] = get("description").unwrap_or_default();
    items.category[idx] = get("category").unwrap_or_default();
    items.brand[idx] = get("brand").unwrap_or_default();
    if let Some(p) = get("price").filter(|p| !p.trim().is_empty()) {
        let v: f64 = p
            .trim()
            .parse()
            .map_err(|_| bad("price", format!("`{p}` is not a number")))?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad("price", format!("{v} is not a non-negative number")));
        }
        items.price[idx] = v;
    }
    for (name, col) in items
        .attributes
        .names
        .iter()
        .zip(items.attributes.values.iter_mut())
    {
        col[idx] = get(name).unwrap_or_default();
    }
    Ok(())
}

/// Reads a plain catalog file (by extension: `.jsonl`/`.ndjson` as JSON Lines, otherwise CSV)
/// into a [`Dataset`] with only items.
///
/// Errors name the file, the line and the field.
pub fn read_catalog(path: &Path) -> Result<Dataset, ImportError> {
    let input = crate::capped::open(path)?;
    let mut items = Items::default();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "jsonl" || ext == "ndjson" {
        let mut reader = BufReader::new(input);
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let read = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| crate::capped::io_error(path, e))?;
            if read == 0 {
                break;
            }
            line_no += 1;
            let line = std::str::from_utf8(&buf).map_err(|e| {
                ImportError::field(
                    path,
                    line_no,
                    "row",
                    format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                )
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                ImportError::field(path, line_no, "row", format!("invalid JSON: {e}"))
            })?;
            let obj = value.as_object().ok_or_else(|| {
                ImportError::field(path, line_no, "row", "expected a JSON object")
            })?;
            for key in obj.keys() {
                if !KNOWN.contains(&key.as_str()) && !items.attributes.names.contains(key) {
                    items.attributes.names.push(key.clone());
                    items
                        .attributes
                        .values
                        .push(vec![String::new(); items.len()]);
                }
            }
            let get = |k: &str| {
                obj.get(k).and_then(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Null => None,
                    other => Some(other.to_string()),
                })
            };
            push_row(&mut items, path, line_no, &get)?;
        }
    } else {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| crate::table::row_error(path, 1, "header", e))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for required in ["id", "title"] {
            if !headers.iter().any(|h| h == required) {
                return Err(ImportError::field(
                    path,
                    1,
                    required,
                    format!(
                        "the header has no such column (found: {})",
                        headers.join(", ")
                    ),
                ));
            }
        }
        for h in &headers {
            if !KNOWN.contains(&h.as_str()) {
                items.attributes.names.push(h.clone());
                items.attributes.values.push(Vec::new());
            }
        }
        for record in reader.records() {
            let record = record.map_err(|e| crate::table::row_error(path, 0, "row", e))?;
            let line = record.position().map_or(0, |p| p.line());
            let get = |k: &str| {
                headers
                    .iter()
                    .position(|h| h == k)
                    .and_then(|i| record.get(i))
                    .map(str::to_owned)
            };
            push_row(&mut items, path, line, &get)?;
        }
    }
    Ok(Dataset {
        name: path.display().to_string(),
        items,
        ..Dataset::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl_catalogs() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(
            &csv,
            "id,title,price,colour\na,Red Dress,12.5,red\nb,Blue Shoe,,blue\n",
        )
        .unwrap();
        let d = read_catalog(&csv).unwrap();
        assert_eq!(d.items.len(), 2);
        assert_eq!(d.items.title[1], "Blue Shoe");
        assert_eq!(d.items.price[0], 12.5);
        assert!(d.items.price[1].is_nan());
        assert_eq!(
            d.items.attributes.column("colour").unwrap(),
            ["red", "blue"]
        );

        let jl = dir.path().join("c.jsonl");
        std::fs::write(&jl, "{\"id\":\"x\",\"title\":\"Lamp\",\"price\":3}\n\n{\"id\":\"y\",\"title\":\"Sofa\",\"size\":\"L\"}\n").unwrap();
        let d = read_catalog(&jl).unwrap();
        assert_eq!(d.items.ids.names(), ["x", "y"]);
        assert_eq!(d.items.attributes.column("size").unwrap(), ["", "L"]);

        std::fs::write(&csv, "id,title,price\na,A,cheap\n").unwrap();
        let err = read_catalog(&csv).unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("price"), "{err}");
        std::fs::write(&csv, "sku,title\na,A\n").unwrap();
        assert!(read_catalog(&csv).unwrap_err().to_string().contains("`id`"));
        std::fs::write(
            &jl,
            "{\"id\":\"x\",\"title\":\"A\"}\n{\"id\":\"x\",\"title\":\"B\"}\n",
        )
        .unwrap();
        assert!(read_catalog(&jl)
            .unwrap_err()
            .to_string()
            .contains("duplicate"));
    }

    #[test]
    fn ids_with_control_characters_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(&csv, "id,title\na,Fine\nb\0c,Broken\n").unwrap();
        let err = read_catalog(&csv).unwrap_err().to_string();
        let expected = "expected an item id without control characters, found \"b\\0c\"";
        assert!(
            err.ends_with(&format!("c.csv:3: field `id`: {expected}")),
            "{err}"
        );
        let jl = dir.path().join("c.jsonl");
        std::fs::write(&jl, "{\"id\":\"x\\u0007\",\"title\":\"Bell\"}\n").unwrap();
        let err = read_catalog(&jl).unwrap_err().to_string();
        assert!(
            err.contains("c.jsonl:1: field `id`") && err.contains("control characters"),
            "{err}"
        );
    }
}
