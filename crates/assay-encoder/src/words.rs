//! Static word vectors from a BERT model's input embeddings: a word's vector is the mean of
//! the rows of `embeddings.word_embeddings` of its WordPiece tokens. Used to start a small
//! text model (the click model's token embeddings) from what the pretrained model knows of
//! each word, without running the transformer.

use std::path::Path;

use candle_core::{DType, Device};

use crate::bert::{load_tokenizer, max_seq_length, model_err, required};
use crate::{EncoderError, Result};

/// The vectors of `words` from the model in `dir` (`model.safetensors`, `tokenizer.json`):
/// the width, then one row per word (`None` for a word the tokenizer gives no known token for:
/// an empty string, or characters outside its vocabulary). Special tokens (`[CLS]`, `[SEP]`) and
/// `[UNK]` are left out.
///
/// # Errors
/// A missing or unreadable file, or a safetensors file without the word embeddings.
pub fn word_vectors(dir: &Path, words: &[&str]) -> Result<(usize, Vec<Option<Vec<f32>>>)> {
    let weights_path = required(dir, "model.safetensors")?;
    // Set up as the encoder reads texts: one text alone is not padded.
    let tokenizer = load_tokenizer(
        &required(dir, "tokenizer.json")?,
        max_seq_length(dir, None)?,
    )?;
    let tensors = candle_core::safetensors::load(&weights_path, &Device::Cpu).map_err(|e| {
        EncoderError::BadModel {
            path: weights_path.clone(),
            reason: e.to_string(),
        }
    })?;
    let table = [
        "embeddings.word_embeddings.weight",
        "bert.embeddings.word_embeddings.weight",
    ]
    .iter()
    .find_map(|name| tensors.get(*name))
    .ok_or_else(|| EncoderError::BadModel {
        path: weights_path.clone(),
        reason: "no embeddings.word_embeddings.weight tensor".into(),
    })?;
    let table = table
        .to_dtype(DType::F32)
        .and_then(|t| t.to_vec2::<f32>())
        .map_err(model_err)?;
    let dim = table.first().map_or(0, Vec::len);
    // The unknown token says nothing about the word: a word made only of it has no vector.
    let unknown = tokenizer.token_to_id("[UNK]").map(|id| id as usize);
    let mut rows = Vec::with_capacity(words.len());
    for word in words {
        let encoding = tokenizer
            .encode(*word, false)
            .map_err(|e| EncoderError::Tokenizer(e.to_string()))?;
        let ids: Vec<usize> = encoding
            .get_ids()
            .iter()
            .map(|&id| id as usize)
            .filter(|&id| id < table.len() && Some(id) != unknown)
            .collect();
        if ids.is_empty() {
            rows.push(None);
            continue;
        }
        let mut mean = vec![0.0f32; dim];
        for &id in &ids {
            for (m, x) in mean.iter_mut().zip(&table[id]) {
                *m += x;
            }
        }
        let n = ids.len() as f32;
        mean.iter_mut().for_each(|m| *m /= n);
        rows.push(Some(mean));
    }
    Ok((dim, rows))
}
