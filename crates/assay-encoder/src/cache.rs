//! An on-disk embedding cache in front of any [`Encoder`].

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::{Encoder, EncoderError, Result};

const MAGIC: &[u8; 8] = b"ASSAYEM1";

type Key = [u8; 32];

/// Wraps an encoder with a persistent cache: one append-only file per model under a directory,
/// keyed by the SHA-256 of each text.
///
/// File layout: `ASSAYEM1`, the model id (u32 length + UTF-8), the dimension (u32), then records
/// of 32 key bytes followed by `dim` little-endian `f32`s. A torn last record (a crash mid-write)
/// is dropped on open. The model id is both in the file name and in the header, so vectors of
/// different models never mix.
pub struct CachedEncoder<E> {
    inner: E,
    path: PathBuf,
    state: Mutex<State>,
}

struct State {
    map: HashMap<Key, Vec<f32>>,
    file: File,
}

impl<E> std::fmt::Debug for CachedEncoder<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEncoder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

fn file_name(model_id: &str) -> String {
    format!("{}.emb", assay_fetch::safe_file_name(model_id))
}

impl<E: Encoder> CachedEncoder<E> {
    /// Opens (or creates) the cache for `inner`'s model under `dir`.
    pub fn open(inner: E, dir: &Path) -> Result<CachedEncoder<E>> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| EncoderError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(file_name(inner.model_id()));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        let id = inner.model_id().as_bytes();
        let dim = inner.dim();
        let mut header = Vec::with_capacity(16 + id.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(id.len() as u32).to_le_bytes());
        header.extend_from_slice(id);
        header.extend_from_slice(&(dim as u32).to_le_bytes());
        let mut map = HashMap::new();
        if bytes.len() < header.len() {
            // New (or torn before its header was complete): start over.
            file.set_len(0).map_err(io(&path))?;
            file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
            file.write_all(&header).map_err(io(&path))?;
        } else {
            if bytes[..header.len()] != header[..] {
                return Err(EncoderError::Cache {
                    path,
                    reason: format!(
                        "header does not match model {} with {dim} dimensions",
                        inner.model_id()
                    ),
                });
            }
            let record = 32 + 4 * dim;
            let body = &bytes[header.len()..];
            let whole = body.len() / record;
            for rec in body.chunks_exact(record) {
                let mut k = [0u8; 32];
                k.copy_from_slice(&rec[..32]);
                let v = rec[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                map.insert(k, v);
            }
            if whole * record != body.len() {
                file.set_len((header.len() + whole * record) as u64)
                    .map_err(io(&path))?;
            }
        }
        Ok(CachedEncoder {
            inner,
            path,
            state: Mutex::new(State { map, file }),
        })
    }

    /// The cache file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.map.len())
    }

    /// True when nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The wrapped encoder.
    pub fn inner(&self) -> &E {
        &self.inner
    }
}

impl<E: Encoder> Encoder for CachedEncoder<E> {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn unknown_share(&self, text: &str) -> Option<f32> {
        self.inner.unknown_share(text)
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let keys: Vec<Key> = texts.iter().map(|t| key(t)).collect();
        let mut out: Vec<Option<Vec<f32>>> = {
            let state = self
                .state
                .lock()
                .map_err(|_| EncoderError::Model("embedding cache lock poisoned".into()))?;
            keys.iter().map(|k| state.map.get(k).cloned()).collect()
        };
        // Encode each missing text once, even when it repeats in the input.
        let mut missing: Vec<usize> = Vec::new();
        let mut first_of: HashMap<Key, usize> = HashMap::new();
        for (i, slot) in out.iter().enumerate() {
            if slot.is_none() && !first_of.contains_key(&keys[i]) {
                first_of.insert(keys[i], missing.len());
                missing.push(i);
            }
        }
        if !missing.is_empty() {
            let fresh_texts: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let fresh = self.inner.encode(&fresh_texts)?;
            let mut bytes = Vec::with_capacity(fresh.len() * (32 + 4 * self.dim()));
            for (&i, v) in missing.iter().zip(&fresh) {
                bytes.extend_from_slice(&keys[i]);
                for x in v {
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
            }
            let mut state = self
                .state
                .lock()
                .map_err(|_| EncoderError::Model("embedding cache lock poisoned".into()))?;
            state
                .file
                .write_all(&bytes)
                .and_then(|_| state.file.flush())
                .map_err(|source| EncoderError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            for (&i, v) in missing.iter().zip(&fresh) {
                state.map.insert(keys[i], v.clone());
            }
            for (i, slot) in out.iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(fresh[first_of[&keys[i]]].clone());
                }
            }
        }
        Ok(out.into_iter().map(|v| v.unwrap_or_default()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HashEncoder;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        inner: HashEncoder,
        calls: AtomicUsize,
    }

    impl Encoder for Counting {
        fn model_id(&self) -> &str {
            self.inner.model_id()
        }
        fn dim(&self) -> usize {
            self.inner.dim()
        }
        fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.calls.fetch_add(texts.len(), Ordering::SeqCst);
            self.inner.encode(texts)
        }
    }

    #[test]
    fn cache_hits_survive_reopen_and_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let base = HashEncoder::new(8);
        let counting = || Counting {
            inner: base.clone(),
            calls: AtomicUsize::new(0),
        };
        let cache = CachedEncoder::open(counting(), dir.path()).unwrap();
        let v = cache
            .encode(&["red dress", "blue shoe", "red dress"])
            .unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
        assert_eq!(v[0], v[2]);
        assert_eq!(v[0], base.vector("red dress"));
        assert_eq!(cache.len(), 2);
        let path = cache.path().to_owned();
        drop(cache);

        // Tear the last record: the first one must survive, the second be re-encoded.
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let cache = CachedEncoder::open(counting(), dir.path()).unwrap();
        assert_eq!(cache.len(), 1);
        let again = cache.encode(&["red dress", "blue shoe"]).unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
        assert_eq!(again[1], base.vector("blue shoe"));
        drop(cache);
        let cache = CachedEncoder::open(counting(), dir.path()).unwrap();
        assert_eq!(cache.len(), 2);
        cache.encode(&["blue shoe"]).unwrap();
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn foreign_header_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let enc = HashEncoder::new(8);
        let path = dir.path().join(file_name(enc.model_id()));
        std::fs::write(&path, b"ASSAYEM1 something else entirely").unwrap();
        let err = CachedEncoder::open(enc, dir.path()).unwrap_err();
        assert!(matches!(err, EncoderError::Cache { .. }), "{err}");
    }
}
