//! Item image vectors from a file beside the catalog, keyed by item id: a safetensors file with
//! one tensor per item (named by the item's id), or a NumPy `.npy` matrix with one row per item
//! and a text file of the rows' item ids, one per line.
//!
//! Every catalog item needs a vector, every vector must belong to a catalog item, and all
//! have one length: a vector file for another catalog is a mistake to report, not to fill with
//! zeros.

use std::collections::HashMap;
use std::path::Path;

use assay_core::{IdMap, ItemVectors};

use crate::error::ImportError;

/// Vectors with the item id each belongs to.
type Named = Vec<(String, Vec<f32>)>;

/// The longest image vector read.
pub(crate) const MAX_IMAGE_DIM: usize = 65_536;

/// Reads the vectors of `ids` (the catalog's items, in index order) from `path`: safetensors by
/// its extension, `.npy` with `ids_path` naming its rows.
pub(crate) fn read(
    path: &Path,
    ids_path: Option<&Path>,
    ids: &IdMap,
) -> Result<ItemVectors, ImportError> {
    let bytes = read_whole(path)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (dim, rows) = match (extension.as_deref(), ids_path) {
        (Some("safetensors"), None) => safetensors_rows(path, &bytes)?,
        (Some("npy"), Some(ids_path)) => {
            let names = read_ids(ids_path)?;
            let (n, dim, values) = npy_matrix(path, &bytes)?;
            if names.len() != n {
                return Err(ImportError::data(
                    ids_path,
                    None,
                    None,
                    format!(
                        "{} ids for the {n} rows of {}: one id per row, in row order",
                        names.len(),
                        path.display()
                    ),
                ));
            }
            let rows = names
                .into_iter()
                .zip(values.chunks_exact(dim.max(1)).map(<[f32]>::to_vec))
                .collect();
            (dim, rows)
        }
        (Some("npy"), None) => {
            return Err(ImportError::data(
                path,
                None,
                None,
                "a .npy matrix has no item ids: name its rows with items.image_ids (a text file, one id per line)",
            ))
        }
        (Some("safetensors"), Some(_)) => {
            return Err(ImportError::data(
                path,
                None,
                None,
                "a safetensors file names its tensors by item id: items.image_ids is for .npy files",
            ))
        }
        _ => {
            return Err(ImportError::data(
                path,
                None,
                None,
                "expected a .safetensors file (a tensor per item id) or a .npy matrix with items.image_ids",
            ))
        }
    };
    place(path, dim, rows, ids)
}

/// Puts each (id, vector) at its item's index; every item once, no other id.
fn place(path: &Path, dim: usize, rows: Named, ids: &IdMap) -> Result<ItemVectors, ImportError> {
    let n = ids.len();
    let mut data = vec![0.0f32; n * dim];
    let mut seen = vec![false; n];
    for (id, vector) in rows {
        let Some(item) = ids.get(&id) else {
            return Err(ImportError::data(
                path,
                None,
                Some(&id),
                "no item of the catalog has this id",
            ));
        };
        let item = item as usize;
        if std::mem::replace(&mut seen[item], true) {
            return Err(ImportError::data(
                path,
                None,
                Some(&id),
                "a second vector for this item",
            ));
        }
        data[item * dim..(item + 1) * dim].copy_from_slice(&vector);
    }
    let missing = seen.iter().filter(|&&s| !s).count();
    if let Some(first) = seen.iter().position(|&s| !s) {
        return Err(ImportError::data(
            path,
            None,
            None,
            format!(
                "{missing} catalog items have no vector, the first `{}`; every item needs one",
                ids.name(first as u32)
            ),
        ));
    }
    Ok(ItemVectors { dim, data })
}

/// The file's bytes, after checking that they fit the memory budget.
fn read_whole(path: &Path) -> Result<Vec<u8>, ImportError> {
    let size = std::fs::metadata(path)
        .map_err(|e| ImportError::io(path, e))?
        .len();
    assay_core::memory::check(
        u128::from(size) * 2,
        || format!("the image vectors of {}", path.display()),
        "use vectors of fewer dimensions",
    )?;
    std::fs::read(path).map_err(|e| ImportError::io(path, e))
}

/// Every tensor of a safetensors file as (name, values): one-dimensional (or `[1, dim]`),
/// f32 or f64, finite, all of one length.
fn safetensors_rows(path: &Path, bytes: &[u8]) -> Result<(usize, Named), ImportError> {
    use safetensors::{Dtype, SafeTensors};
    let bad = |field: Option<&str>, message: String| ImportError::data(path, None, field, message);
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(None, format!("not a safetensors file: {e}")))?;
    let mut names: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
    // The header's order is a hash map's: sort, so the first error named is always the same.
    names.sort_unstable();
    let mut dim = None;
    let mut rows = Vec::with_capacity(names.len());
    for name in names {
        let view = file
            .tensor(&name)
            .map_err(|e| bad(Some(&name), e.to_string()))?;
        let len = match view.shape() {
            [d] | [1, d] => *d,
            other => {
                return Err(bad(
                    Some(&name),
                    format!("shape {other:?}, expected one vector ([dim] or [1, dim])"),
                ))
            }
        };
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|b| {
                    f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                })
                .collect(),
            other => {
                return Err(bad(
                    Some(&name),
                    format!("dtype {other:?}, expected F32 or F64"),
                ))
            }
        };
        check_vector(path, &name, &values, len, &mut dim)?;
        rows.push((name, values));
    }
    if rows.is_empty() {
        return Err(bad(None, "the file holds no tensor".into()));
    }
    Ok((dim.unwrap_or(0), rows))
}

/// A vector's length (the same as the others', at most [`MAX_IMAGE_DIM`]) and finiteness.
fn check_vector(
    path: &Path,
    name: &str,
    values: &[f32],
    len: usize,
    dim: &mut Option<usize>,
) -> Result<(), ImportError> {
    let bad = |message: String| ImportError::data(path, None, Some(name), message);
    if len == 0 || len > MAX_IMAGE_DIM {
        return Err(bad(format!("{len} values, expected 1 to {MAX_IMAGE_DIM}")));
    }
    match *dim {
        None => *dim = Some(len),
        Some(d) if d != len => {
            return Err(bad(format!(
                "{len} values, expected {d} as the other vectors"
            )))
        }
        Some(_) => {}
    }
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "value {} is {}, expected a finite number",
            at + 1,
            values[at]
        )));
    }
    Ok(())
}

/// The ids of a `.npy` matrix's rows: one per line, none empty, none twice.
fn read_ids(path: &Path) -> Result<Vec<String>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| ImportError::io(path, e))?;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let id = line.trim();
        let line_no = n as u64 + 1;
        if id.is_empty() {
            return Err(ImportError::data(path, Some(line_no), None, "an empty id"));
        }
        if let Some(first) = seen.insert(id, n + 1) {
            return Err(ImportError::data(
                path,
                Some(line_no),
                None,
                format!("id `{id}` again (first on line {first})"),
            ));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// A two-dimensional little-endian f32 or f64 `.npy` matrix in C order (format versions 1 to
/// 3, as `numpy.save` writes): (rows, columns, values as f32).
fn npy_matrix(path: &Path, bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), ImportError> {
    let bad = |message: String| ImportError::data(path, None, None, message);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (no \\x93NUMPY magic)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!(".npy format version {v}, expected 1, 2 or 3"))),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("the .npy header is cut short".into()))?;
    let value_of = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}':"))? + key.len() + 3;
        Some(header[at..].trim_start())
    };
    let descr = value_of("descr")
        .and_then(|v| v.strip_prefix('\''))
        .and_then(|v| v.split('\'').next())
        .ok_or_else(|| bad(format!("no dtype in the header {header:?}")))?;
    let width = match descr {
        "<f4" => 4,
        "<f8" => 8,
        other => {
            return Err(bad(format!(
                "dtype {other}, expected little-endian float32 (<f4) or float64 (<f8)"
            )))
        }
    };
    if !value_of("fortran_order").is_some_and(|v| v.starts_with("False")) {
        return Err(bad(
            "the matrix is in Fortran order; save it in C order".into()
        ));
    }
    let shape: Vec<usize> = value_of("shape")
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.split(')').next())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
        })
        .and_then(Result::ok)
        .ok_or_else(|| bad(format!("no shape in the header {header:?}")))?;
    let [rows, cols] = shape[..] else {
        return Err(bad(format!("shape {shape:?}, expected (items, dim)")));
    };
    if cols == 0 || cols > MAX_IMAGE_DIM {
        return Err(bad(format!(
            "{cols} columns, expected 1 to {MAX_IMAGE_DIM}"
        )));
    }
    let data = &bytes[start + header_len..];
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(width))
        .ok_or_else(|| bad(format!("shape ({rows}, {cols}) is too large")))?;
    if data.len() != expected {
        return Err(bad(format!(
            "{} bytes of values, expected {expected} for shape ({rows}, {cols})",
            data.len()
        )));
    }
    let values: Vec<f32> = if width == 4 {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
            .collect()
    };
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "row {}, column {} is {}, expected a finite number",
            at / cols + 1,
            at % cols + 1,
            values[at]
        )));
    }
    Ok((rows, cols, values))
}
