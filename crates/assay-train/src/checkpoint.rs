//! Checkpoints: tensors as safetensors, settings as JSON, each file written atomically.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use candle_core::Tensor;
use serde::Serialize;

use crate::{io_error, Result, TrainError};

/// Writes `path` through `write` into a temporary file beside it, then renames it into place,
/// so a reader never sees a half-written file.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = write(&temp);
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
        return written;
    }
    std::fs::rename(&temp, path).map_err(io_error(path))
}

/// Saves named tensors to a safetensors file (the format candle's and PyTorch's loaders read).
pub fn save_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let map: HashMap<String, Tensor> = tensors.iter().cloned().collect();
    write_atomically(path, |temp| {
        candle_core::safetensors::save(&map, temp).map_err(TrainError::from)
    })
}

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_atomically(path, |temp| {
        let mut text = serde_json::to_vec_pretty(value).map_err(|source| TrainError::Json {
            path: path.to_owned(),
            source,
        })?;
        text.push(b'\n');
        let mut file = std::fs::File::create(temp).map_err(io_error(temp))?;
        file.write_all(&text).map_err(io_error(temp))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn safetensors_round_trip_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        let a = Tensor::new(&[[0.1f32, -2.5e-7], [3.0, f32::MIN_POSITIVE]], &Device::Cpu).unwrap();
        save_safetensors(&path, &[("a.weight".into(), a.clone())]).unwrap();
        let back = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
        assert_eq!(back.len(), 1);
        let got = back["a.weight"].to_vec2::<f32>().unwrap();
        assert_eq!(got, a.to_vec2::<f32>().unwrap());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn json_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("training.json");
        write_json(&path, &serde_json::json!({"lr": 2e-5, "epochs": 1})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["lr"], 2e-5);
        assert!(text.ends_with("}\n"));
    }
}
