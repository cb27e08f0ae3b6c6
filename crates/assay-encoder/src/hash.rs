//! A deterministic bag-of-words encoder: no model, no files.

use sha2::{Digest, Sha256};

use crate::{l2_normalize, Encoder, Result};

/// Feature hashing of lower-cased word tokens (and, for CJK text, single characters) into
/// `dim` buckets with a ±1 sign, L2-normalised.
///
/// Texts that share words get a positive cosine; it knows no synonyms. Meant for tests and as a
/// fallback where the transformer model is not available.
#[derive(Debug, Clone)]
pub struct HashEncoder {
    dim: usize,
    id: String,
}

impl HashEncoder {
    /// An encoder with `dim` buckets (at least 1).
    pub fn new(dim: usize) -> HashEncoder {
        let dim = dim.max(1);
        HashEncoder {
            dim,
            id: format!("hash-bow-{dim}"),
        }
    }

    fn bucket(&self, token: &str) -> (usize, f32) {
        let digest = Sha256::digest(token.as_bytes());
        let h = u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]));
        let sign = if digest[8] & 1 == 0 { 1.0 } else { -1.0 };
        ((h % self.dim as u64) as usize, sign)
    }

    /// The vector of one text.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dim];
        let lower = text.to_lowercase();
        for word in lower.split(|c: char| !c.is_alphanumeric()) {
            if word.is_empty() {
                continue;
            }
            if word.chars().any(is_cjk) {
                for c in word.chars() {
                    let mut buf = [0u8; 4];
                    let (b, s) = self.bucket(c.encode_utf8(&mut buf));
                    v[b] += s;
                }
            } else {
                let (b, s) = self.bucket(word);
                v[b] += s;
            }
        }
        l2_normalize(&mut v);
        v
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

impl Encoder for HashEncoder {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    #[test]
    fn same_words_same_vector_and_unit_length() {
        let e = HashEncoder::new(64);
        let a = e.vector("Red Dress");
        let b = e.vector("dress, red!");
        assert_eq!(a, b);
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        // Two distinct words: each of the two buckets holds ±1, so |cos| of one word to the pair
        // is 1/sqrt(2) unless both words hash to the same bucket.
        let c = e.vector("red");
        let cos = cosine(&a, &c).abs();
        assert!((cos - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-5 || (cos - 1.0).abs() < 1e-5);
        assert_eq!(e.vector(""), vec![0.0; 64]);
    }
}
