//! Where the public sample data is, checked, and how a test says what it could not run.
//!
//! [`sample_data`] finds a pack the way the binary does ([`Home::locate`]): a `shared/data`
//! copy (`ASSAY_SHARED_DATA`, else the first `shared/data` above the working directory, which
//! for a test is the workspace's sibling `../shared/data`) whose every file matches its sha256
//! pin, else the fetch cache (`ASSAY_HOME`, default `~/.cache/assay`) once `assay data fetch`
//! has filled it. A shared copy is hashed once per process; the verdict is kept.
//!
//! A test that needs a pack asks [`sample_data_or_skip`]; a slow one asks
//! [`slow_tests_enabled`]; one that needs a file CI does not have asks [`opt_in`]. When they
//! say no, they print one line, starting with a tag that CI looks for:
//!
//! - `SKIPPED:` a pack is not here; the line names it and the command that fetches it.
//! - `SLOW-GATED:` the test runs only with `ASSAY_SLOW_TESTS=1`.
//! - `OPT-IN:` the test needs an environment variable naming something CI does not provide.
//! - `UNSUPPORTED:` the pack cannot run on this platform.
//! - `REAL-DATA:` only with `ASSAY_SHOW_SAMPLE_DATA=1`: the test ran on a pack, found there.
//!
//! Key decision: the lines go to the process's standard error with `io::stderr().write_all`,
//! not `eprintln!`. The test harness captures the print macros of passing tests, so a note
//! printed with them never reaches the terminal, and a skip nobody sees is a skip nobody
//! fixes. Writing to the stream itself bypasses the capture.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::{check_sha256, Home, Pack, PackFile};

/// The directory holding `pack`, checked, from a shared copy or the fetch cache; `None` when
/// neither has it.
pub fn sample_data(pack: Pack) -> Option<PathBuf> {
    Home::from_env().locate(pack)
}

/// Every pack ([`Pack::ALL`]) with the directory [`sample_data`] finds for it.
pub fn sample_packs() -> Vec<(Pack, Option<PathBuf>)> {
    let home = Home::from_env();
    Pack::ALL
        .into_iter()
        .map(|pack| (pack, home.locate(pack)))
        .collect()
}

/// For a test: the directory of `pack`, or `None` after a `SKIPPED:` (or `UNSUPPORTED:`) line
/// that says what is missing and how to fetch it. With `ASSAY_SHOW_SAMPLE_DATA=1` a found pack
/// is reported in a `REAL-DATA:` line.
pub fn sample_data_or_skip(pack: Pack) -> Option<PathBuf> {
    sample_dirs_or_skip(&[pack]).and_then(|dirs| dirs.into_iter().next())
}

/// For a test: the directories of all `packs`, in order, or `None` after one line naming every
/// missing pack (see [`sample_data_or_skip`]).
pub fn sample_dirs_or_skip(packs: &[Pack]) -> Option<Vec<PathBuf>> {
    let test = test_name();
    if let Some(pack) = packs.iter().find(|p| !p.runs_here()) {
        announce(&format!(
            "UNSUPPORTED: {test}: the `{}` pack is built for Linux x86_64 only",
            pack.name()
        ));
        return None;
    }
    let home = Home::from_env();
    let found: Vec<Option<PathBuf>> = packs.iter().map(|&p| home.locate(p)).collect();
    let missing: Vec<Pack> = packs
        .iter()
        .zip(&found)
        .filter(|(_, dir)| dir.is_none())
        .map(|(&p, _)| p)
        .collect();
    if !missing.is_empty() {
        announce(&skip_line(&test, &missing, &home));
        return None;
    }
    let dirs: Vec<PathBuf> = found.into_iter().flatten().collect();
    if std::env::var_os("ASSAY_SHOW_SAMPLE_DATA").is_some_and(|v| v == "1") {
        for (pack, dir) in packs.iter().zip(&dirs) {
            announce(&format!(
                "REAL-DATA: {test} uses {} at {}",
                pack.name(),
                dir.display()
            ));
        }
    }
    Some(dirs)
}

/// For a slow test: whether `ASSAY_SLOW_TESTS` is set; when not, a `SLOW-GATED:` line says so.
pub fn slow_tests_enabled() -> bool {
    if std::env::var_os("ASSAY_SLOW_TESTS").is_some() {
        return true;
    }
    announce(&format!(
        "SLOW-GATED: {}: slow; runs with ASSAY_SLOW_TESTS=1",
        test_name()
    ));
    false
}

/// For a test that needs something CI does not provide: the value of the environment variable
/// `var`, or `None` after an `OPT-IN:` line saying to set it to `what`.
pub fn opt_in(var: &str, what: &str) -> Option<OsString> {
    let value = std::env::var_os(var);
    if value.is_none() {
        announce(&format!("OPT-IN: {}: set {var} to {what}", test_name()));
    }
    value
}

fn skip_line(test: &str, missing: &[Pack], home: &Home) -> String {
    let names: Vec<&str> = missing.iter().map(|p| p.name()).collect();
    let mut looked = Vec::new();
    for &pack in missing {
        match home.shared_dir(pack) {
            Some(dir) => match verify_shared(pack, &dir) {
                Err(problem) if dir.is_dir() => looked.push(problem),
                _ => looked.push(format!("{}: absent", dir.display())),
            },
            None => looked.push(format!("no shared/data folder for {}", pack.name())),
        }
        looked.push(format!("{}: not fetched", home.cache_dir(pack).display()));
    }
    format!(
        "SKIPPED: {test}: needs the {} pack{} ({}); run `cargo run -p assay -- data fetch {}`",
        names.join(", "),
        if names.len() == 1 { "" } else { "s" },
        looked.join("; "),
        if names.len() == 1 { names[0] } else { "all" },
    )
}

/// One line on the process's standard error, past the test harness's capture.
fn announce(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    // One write, so lines of tests running in parallel do not interleave.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `binary::test`: the test binary's name and the test's (libtest names each test's thread
/// after the test).
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|stem| binary_name(&stem).to_owned())
        .unwrap_or_default();
    match std::thread::current().name() {
        Some(test) if test != "main" => format!("{binary}::{test}"),
        _ => binary,
    }
}

/// A test binary's name without cargo's `-<16 hex digits>` suffix.
fn binary_name(stem: &str) -> &str {
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name
        }
        _ => stem,
    }
}

/// Whether the shared copy of `pack` in `dir` holds every file with its pinned sha256; the
/// files are hashed on the first call for an existing `dir`, and the verdict is kept for the
/// process (an absent `dir` is looked for again on the next call).
pub(crate) fn verify_shared(pack: Pack, dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{}: absent", dir.display()));
    }
    cached_verdict(dir, || verify_files(dir, pack.files()))
}

fn verify_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = &'a PackFile>,
) -> Result<(), String> {
    let files: Vec<&PackFile> = files.into_iter().collect();
    // Every file's presence first: a missing file is a cheaper, clearer verdict than a hash.
    if let Some(f) = files.iter().find(|f| !dir.join(f.dest).is_file()) {
        return Err(format!("{}: missing", dir.join(f.dest).display()));
    }
    for f in files {
        check_sha256(&dir.join(f.dest), f.sha256).map_err(|e| e.to_string())?;
    }
    Ok(())
}

type Verdict = Arc<OnceLock<Result<(), String>>>;

/// The verdict for `dir`, computed by `check` on the first call only. Different directories
/// are checked in parallel; callers asking about the same one wait for the first.
fn cached_verdict(dir: &Path, check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    static VERDICTS: OnceLock<Mutex<HashMap<PathBuf, Verdict>>> = OnceLock::new();
    let verdict = {
        let mut map = VERDICTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(dir.to_path_buf()).or_default())
    };
    verdict.get_or_init(check).clone()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn test_binaries_are_named_without_cargos_hash() {
        assert_eq!(binary_name("obd-0123456789abcdef"), "obd");
        assert_eq!(binary_name("assay_search-fedcba9876543210"), "assay_search");
        assert_eq!(binary_name("cli"), "cli");
        assert_eq!(binary_name("sim-eval-short"), "sim-eval-short");
    }

    #[test]
    fn the_test_is_named_after_its_thread() {
        // libtest names the thread `samples::tests::the_test_is_named_after_its_thread`.
        let name = test_name();
        assert!(
            name.ends_with("::samples::tests::the_test_is_named_after_its_thread"),
            "{name}"
        );
        assert!(name.starts_with("assay_fetch::"), "{name}");
    }

    #[test]
    fn shared_files_are_checked_by_presence_then_sha256() {
        let tmp = tempfile::tempdir().unwrap();
        // sha256("abc") from FIPS 180-2, appendix B.1.
        let abc = PackFile {
            in_wheel: "x/a.txt",
            dest: "a.txt",
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        let nested = PackFile {
            in_wheel: "x/sub/b.txt",
            dest: "sub/b.txt",
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        let dir = tmp.path().join("pack");
        let err = verify_shared(Pack::Obd, &dir).unwrap_err();
        assert_eq!(err, format!("{}: absent", dir.display()));
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.txt"), b"abc").unwrap();
        let err = verify_files(&dir, [&abc, &nested]).unwrap_err();
        assert_eq!(err, format!("{}: missing", dir.join("sub/b.txt").display()));
        fs::write(dir.join("sub/b.txt"), b"abd").unwrap();
        let err = verify_files(&dir, [&abc, &nested]).unwrap_err();
        assert!(
            err.starts_with(&format!("{}: sha256 is ", dir.join("sub/b.txt").display())),
            "{err}"
        );
        assert!(err.contains("expected ba7816bf"), "{err}");
        fs::write(dir.join("sub/b.txt"), b"abc").unwrap();
        assert_eq!(verify_files(&dir, [&abc, &nested]), Ok(()));
    }

    #[test]
    fn a_verdict_is_reached_once_per_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        assert_eq!(cached_verdict(&a, || Err("bad".into())), Err("bad".into()));
        // The second check of the same directory is not run.
        assert_eq!(
            cached_verdict(&a, || panic!("checked twice")),
            Err("bad".into())
        );
        assert_eq!(cached_verdict(&b, || Ok(())), Ok(()));
    }

    #[test]
    fn a_skip_names_the_packs_where_it_looked_and_the_fetch_command() {
        let tmp = tempfile::tempdir().unwrap();
        let home = Home {
            root: tmp.path().join("cache"),
            shared: Some(tmp.path().join("shared")),
        };
        let line = skip_line("obd::t", &[Pack::Obd], &home);
        assert_eq!(
            line,
            format!(
                "SKIPPED: obd::t: needs the obd pack ({}: absent; {}: not fetched); \
                 run `cargo run -p assay -- data fetch obd`",
                tmp.path().join("shared/obd").display(),
                tmp.path().join("cache/data/obd").display()
            )
        );
        // A shared copy that fails its check says why.
        let bad = tmp.path().join("shared/ml-100k");
        fs::create_dir_all(&bad).unwrap();
        let home = Home {
            shared: None,
            ..home
        };
        let line = skip_line("x::t", &[Pack::Minilm, Pack::OnnxRuntime], &home);
        assert!(
            line.starts_with(
                "SKIPPED: x::t: needs the minilm, onnxruntime packs (no shared/data folder for minilm; "
            ),
            "{line}"
        );
        assert!(
            line.ends_with("run `cargo run -p assay -- data fetch all`"),
            "{line}"
        );
        let home = Home {
            root: tmp.path().join("cache"),
            shared: Some(tmp.path().join("shared")),
        };
        let line = skip_line("x::t", &[Pack::Ml100k], &home);
        assert!(
            line.contains(&format!("{}: missing", bad.join("ml-100k.inter").display())),
            "{line}"
        );
    }
}
