//! What the end-to-end tests of the binary share: running it in a folder with its own cache.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `assay ARGS` in `dir`, with `dir/home` as its cache.
pub fn assay(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(dir)
        .env("ASSAY_HOME", dir.join("home"))
        .output()
        .unwrap()
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
