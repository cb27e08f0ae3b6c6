//! The codemap's invariants, checked: which workspace crates each crate may depend on, which
//! source files may open or write files, and how long a source file may grow. A new violation
//! fails here with the place and the rule; changing a rule means changing ARCHITECTURE.md and
//! the tables below together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each crate's allowed workspace dependencies (normal dependencies; dev-dependencies are
/// free). A crate missing from this table is a violation too: a new crate is placed
/// deliberately.
const LAYERS: &[(&str, &[&str])] = &[
    ("assay-core", &[]),
    ("assay-fetch", &[]),
    ("assay-metrics", &[]),
    ("assay-train", &["assay-fetch"]),
    ("assay-import", &["assay-core", "assay-fetch"]),
    ("assay-sim", &["assay-core", "assay-fetch"]),
    ("assay-encoder", &["assay-fetch", "assay-train"]),
    (
        "assay-search",
        &[
            "assay-core",
            "assay-encoder",
            "assay-fetch",
            "assay-metrics",
            "assay-train",
        ],
    ),
    (
        "assay-recommend",
        &["assay-core", "assay-fetch", "assay-metrics", "assay-train"],
    ),
    ("assay-bandit", &["assay-core", "assay-import"]),
    (
        "assay-experiment",
        &["assay-core", "assay-bandit", "assay-import"],
    ),
    (
        "assay-value",
        &[
            "assay-core",
            "assay-metrics",
            "assay-recommend",
            "assay-bandit",
            "assay-import",
        ],
    ),
    (
        "assay-report",
        &[
            "assay-core",
            "assay-metrics",
            "assay-recommend",
            "assay-value",
        ],
    ),
    (
        "assay-serve",
        &[
            "assay-core",
            "assay-bandit",
            "assay-encoder",
            "assay-experiment",
            "assay-metrics",
            "assay-recommend",
            "assay-report",
            "assay-search",
        ],
    ),
    ("assay", &["*"]),
];

/// Calls that open a file for reading.
const READS: &[&str] = &[
    "File::open(",
    "fs::read_to_string(",
    "fs::read(",
    "::from_path(",
];

/// Calls that create, replace or remove a file.
const WRITES: &[&str] = &[
    "File::create(",
    "fs::write(",
    "fs::rename(",
    "OpenOptions::new()",
    "fs::remove_file(",
    "fs::remove_dir_all(",
    "fs::copy(",
];

/// Source files (under `crates/`) that may read files, and why. Users' files are read by
/// assay-import alone; the others read assay's own artefacts.
const READERS: &[(&str, &str)] = &[
    ("assay-import/src/", "the one reader of users' files"),
    ("assay-fetch/src/", "pinned packs and their checksums"),
    ("assay-encoder/src/bert.rs", "model folders"),
    ("assay-encoder/src/onnx.rs", "ONNX models"),
    ("assay-encoder/src/cache.rs", "the embedding cache"),
    ("assay-encoder/src/finetune.rs", "model folders"),
    ("assay-search/src/index.rs", "saved search indexes"),
    ("assay-search/src/vector.rs", "saved vector indexes"),
    ("assay-search/src/store.rs", "saved index records"),
    (
        "assay-search/src/learned.rs",
        "the fusion and queries of fine-tuned folders",
    ),
    ("assay-recommend/src/store.rs", "model folders"),
    ("assay-sim/src/output.rs", "syncs the files it wrote"),
    (
        "assay-recommend/src/ctr/tests.rs",
        "unit tests read the training curves they wrote",
    ),
];

/// Source files that may write files, and why: everything else writes through
/// `assay_fetch::write_atomically`.
const WRITERS: &[(&str, &str)] = &[
    (
        "assay-fetch/src/",
        "the one atomic writer, and the pack cache",
    ),
    (
        "assay-encoder/src/cache.rs",
        "the append-only embedding cache",
    ),
    (
        "assay-search/src/store.rs",
        "drops a stale index record before a rebuild",
    ),
    (
        "assay-search/src/learned.rs",
        "drops a stale fusion before fine-tuning",
    ),
    (
        "assay-search/src/index.rs",
        "clears its own lexical index before a rebuild",
    ),
    (
        "assay-train/src/curves.rs",
        "the live training log, appended while training runs",
    ),
    (
        "assay-serve/src/models.rs",
        "drops model versions fitted on a deleted user's data",
    ),
    (
        "assay-sim/src/output.rs",
        "files inside a staging folder that the directory-level atomic writer renames whole",
    ),
];

/// Longest source file without a reason written at its top (a line containing
/// `tidy: long file`, followed by why).
const MAX_LINES: usize = 800;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn crates() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(workspace().join("crates"))
        .expect("crates/ lists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

/// The workspace crates in the `[dependencies]` table of a manifest.
fn workspace_dependencies(manifest: &str) -> Vec<String> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
            continue;
        }
        if section == "[dependencies]" && line.starts_with("assay") {
            let name = line
                .split(['=', '.', ' '])
                .next()
                .unwrap_or_default()
                .to_owned();
            out.push(name);
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "fixtures")
            {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's lines before its unit-test module: tests may use the file system freely.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with("//")
        })
}

fn relative(path: &Path) -> String {
    let root = workspace().join("crates");
    let root = root.canonicalize().unwrap_or(root);
    let full = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    full.strip_prefix(&root)
        .unwrap_or(&full)
        .to_string_lossy()
        .replace('\\', "/")
}

fn allowed(list: &[(&str, &str)], file: &str) -> bool {
    list.iter().any(|(prefix, _)| file.starts_with(prefix))
}

/// Every violation of the dependency table.
fn layer_violations() -> Vec<String> {
    let table: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut out = Vec::new();
    for (name, dir) in crates() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest reads");
        let Some(allowed) = table.get(name.as_str()) else {
            out.push(format!(
                "crate {name} is not in the layer table of tests/architecture.rs"
            ));
            continue;
        };
        for dep in workspace_dependencies(&manifest) {
            if !allowed.contains(&"*") && !allowed.contains(&dep.as_str()) {
                out.push(format!(
                    "{name} depends on {dep}; allowed: {}",
                    if allowed.is_empty() {
                        "no workspace crate".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                ));
            }
        }
    }
    out
}

/// Every file-system call outside the files allowed to make it.
fn io_violations() -> Vec<String> {
    let mut out = Vec::new();
    for (_, dir) in crates() {
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("source reads");
            let file = relative(&path);
            for (n, line) in code_lines(&text) {
                if let Some(call) = READS.iter().find(|c| line.contains(*c)) {
                    if !allowed(READERS, &file) {
                        out.push(format!(
                            "{file}:{n}: `{call}` reads a file; users' files are read by assay-import"
                        ));
                    }
                }
                if let Some(call) = WRITES.iter().find(|c| line.contains(*c)) {
                    if !allowed(WRITERS, &file) {
                        out.push(format!(
                            "{file}:{n}: `{call}` writes a file; use assay_fetch::write_atomically"
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Every source file over [`MAX_LINES`] lines with no reason at its top.
fn length_violations() -> Vec<String> {
    let mut out = Vec::new();
    for (_, dir) in crates() {
        let mut files = Vec::new();
        for sub in ["src", "tests", "examples", "benches"] {
            rust_files(&dir.join(sub), &mut files);
        }
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).expect("source reads");
            let lines = text.lines().count();
            let reasoned = text.lines().take(10).any(|l| l.contains("tidy: long file"));
            if lines > MAX_LINES && !reasoned {
                out.push(format!(
                    "{}: {lines} lines (more than {MAX_LINES}) and no `tidy: long file` reason at its top",
                    relative(&path)
                ));
            }
        }
    }
    out
}

/// Words about how the work was organised rather than about the product: issue and stop
/// numbers, git worktrees, subagents, paths of the machine it was built on.
fn process_words(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    let numbered = |word: &str| {
        lower.match_indices(word).any(|(at, _)| {
            let rest = lower[at + word.len()..].trim_start_matches(['#', ' ']);
            rest.starts_with(|c: char| c.is_ascii_digit())
        })
    };
    numbered("issue")
        || numbered("stop ")
        || ["worktree", "subagent"].iter().any(|w| lower.contains(w))
        // Machine paths: these top-level folders between slashes.
        || ["home", "work"]
            .iter()
            .any(|w| lower.contains(&format!("/{w}/")))
}

/// Text files of the repository (docs, code, scripts, manifests), skipping build output,
/// fuzzing corpora and version control.
fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if ![
                "target",
                ".git",
                "corpus",
                "artifacts",
                "results",
                "node_modules",
            ]
            .contains(&name.as_str())
            {
                text_files(&path, out);
            }
        } else if ["md", "rs", "py", "sh", "toml", "yml", "yaml"]
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
        {
            out.push(path);
        }
    }
}

/// Every line of the repository's text that speaks of how the work was done.
fn process_violations() -> Vec<String> {
    let mut files = Vec::new();
    text_files(&workspace(), &mut files);
    files.sort();
    let this = Path::new(file!())
        .file_name()
        .expect("a file name")
        .to_owned();
    let mut out = Vec::new();
    for path in files {
        if path.file_name() == Some(this.as_os_str()) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            if process_words(line) {
                out.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    out
}

fn check(what: &str, violations: Vec<String>) {
    assert!(
        violations.is_empty(),
        "{what}:\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn crates_depend_only_on_the_layers_below_them() {
    check("dependency rule broken", layer_violations());
}

#[test]
fn only_the_reader_reads_and_only_the_writer_writes() {
    check("file-system rule broken", io_violations());
}

#[test]
fn source_files_stay_short_or_say_why() {
    check("file-length rule broken", length_violations());
}

#[test]
fn docs_and_code_speak_of_the_product_not_of_how_it_was_built() {
    check("words about how the work was done", process_violations());
}

#[test]
fn the_checks_see_what_they_check() {
    let n = 13;
    assert!(process_words(&format!("fixed in issue #{n}")));
    assert!(process_words(&format!("as of stop {n}")));
    assert!(process_words("see /home/me/x") && process_words("a git worktree"));
    assert!(!process_words("a user's session of 12 events") && !process_words("issues are read"));
    let mut texts = Vec::new();
    text_files(&workspace(), &mut texts);
    assert!(texts.iter().any(|p| p.ends_with("README.md")));
    // The scans must find the crates and the calls they judge, or every rule passes vacuously.
    let names: Vec<String> = crates().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"assay-core".to_owned()) && names.contains(&"assay".to_owned()));
    let manifest = "[dependencies]\nassay-core.workspace = true\nassay-x = { path = \"x\" }\n\
                    [dev-dependencies]\nassay-sim.workspace = true\n";
    assert_eq!(
        workspace_dependencies(manifest),
        vec!["assay-core", "assay-x"]
    );
    let code = "let f = File::open(p);\n// File::open in a comment\n#[cfg(test)]\nFile::open(q)\n";
    let found: Vec<usize> = code_lines(code)
        .filter(|(_, l)| l.contains("File::open("))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(found, vec![1]);
    assert!(allowed(READERS, "assay-import/src/project.rs"));
    assert!(!allowed(READERS, "assay/src/search.rs"));
}
