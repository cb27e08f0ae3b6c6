//! Checkpoints: tensors as safetensors, settings as JSON, each file written atomically.

use std::path::Path;

use candle_core::{DType, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use serde::Serialize;

use crate::{io_error, Result, TrainError};

/// Saves named tensors to a safetensors file (the format candle's and PyTorch's loaders read),
/// as f32, through the one atomic writer.
pub fn save_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut buffers: Vec<(&str, Vec<usize>, Vec<u8>)> = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let values: Vec<f32> = tensor
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        buffers.push((name.as_str(), tensor.dims().to_vec(), bytes));
    }
    let mut views = Vec::with_capacity(buffers.len());
    for (name, shape, bytes) in &buffers {
        let view = TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| {
            TrainError::InvalidConfig(format!("tensor {name} cannot be saved: {e}"))
        })?;
        views.push((*name, view));
    }
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| TrainError::InvalidConfig(format!("serialising {}: {e}", path.display())))?;
    assay_fetch::write_atomically(path, |w| w.write_all(&bytes)).map_err(io_error(path))
}

/// Writes `value` as pretty JSON with a final newline, through the one atomic writer.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(value).map_err(|source| TrainError::Json {
        path: path.to_owned(),
        source,
    })?;
    text.push(b'\n');
    assay_fetch::write_atomically(path, |w| w.write_all(&text)).map_err(io_error(path))
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
