//! `assay serve` and `assay keys create` end to end: the binary on a simulated shop, spoken to
//! over loopback HTTP, and what the two commands refuse.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn assay(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(home)
        .env("ASSAY_HOME", home.join("cache"))
        .env("ASSAY_SHARED_DATA", home.join("no-shared-data"))
        .output()
        .expect("the assay binary runs")
}

#[track_caller]
fn expect_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The server process, killed when the test ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn http(addr: &str, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

#[test]
fn no_auth_is_refused_off_loopback_and_keys_need_a_known_role() {
    let tmp = tempfile::tempdir().unwrap();
    let run = assay(
        tmp.path(),
        &[
            "serve",
            "--no-auth",
            "--addr",
            "0.0.0.0:7700",
            "--store",
            "s.db",
        ],
    );
    expect_code(&run, 2);
    assert!(String::from_utf8_lossy(&run.stderr).contains("--no-auth"));
    let run = assay(
        tmp.path(),
        &["serve", "--addr", "localhost", "--store", "s.db"],
    );
    expect_code(&run, 2);
    assert!(String::from_utf8_lossy(&run.stderr).contains("--addr localhost"));
    let run = assay(
        tmp.path(),
        &["serve", "--store", "s.db", "--addr", "127.0.0.1:0"],
    );
    expect_code(&run, 2);
    assert!(String::from_utf8_lossy(&run.stderr).contains("the store is empty"));
    for bad in [
        &["--ab-control", "1.5"][..],
        &["--ab-control=-0.1"],
        &["--ab-control", "0.5", "--no-bandit"],
    ] {
        let mut args = vec!["serve", "--store", "s.db", "--addr", "127.0.0.1:0"];
        args.extend_from_slice(bad);
        let run = assay(tmp.path(), &args);
        expect_code(&run, 2);
        assert!(
            String::from_utf8_lossy(&run.stderr).contains("--ab-control"),
            "{bad:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let run = assay(
        tmp.path(),
        &["keys", "create", "--store", "s.db", "--role", "owner"],
    );
    expect_code(&run, 2);
    assert!(String::from_utf8_lossy(&run.stderr).contains("--role owner"));
}

#[test]
fn serve_imports_the_shop_answers_over_http_and_checks_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let run = assay(
        home,
        &[
            "simulate", "--out", "shop", "--events", "4000", "--items", "80", "--users", "60",
            "--seed", "3",
        ],
    );
    expect_code(&run, 0);
    let run = assay(
        home,
        &["keys", "create", "--store", "s.db", "--role", "read"],
    );
    expect_code(&run, 0);
    let key = String::from_utf8_lossy(&run.stdout).trim().to_owned();
    assert!(key.starts_with("assay_") && key.len() == 6 + 64, "{key}");
    let store = assay_serve::SqliteStore::open(&home.join("s.db")).expect("opens");
    use assay_serve::Store;
    assert_eq!(
        store
            .key_role(&assay_serve::http::hash_key(&key))
            .expect("reads"),
        Some(assay_serve::Role::Read)
    );
    drop(store);

    let child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args([
            "serve",
            "shop",
            "--store",
            "s.db",
            "--addr",
            "127.0.0.1:0",
            "--encoder",
            "hash",
        ])
        .current_dir(home)
        .env("ASSAY_HOME", home.join("cache"))
        .env("ASSAY_SHARED_DATA", home.join("no-shared-data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut server = Server(child);
    let stdout = server.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a first line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let (status, body) = http(&addr, "GET", "/health", None, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"model_version\":1"), "{body}");
    let (status, body) = http(&addr, "GET", "/recommend/anyone?k=3", None, "");
    assert_eq!(status, 401, "{body}");
    let (status, body) = http(&addr, "GET", "/recommend/anyone?k=3", Some(&key), "");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["items"].as_array().map(Vec::len), Some(3), "{body}");
    let (status, body) = http(&addr, "POST", "/events", Some(&key), "[]");
    assert_eq!(status, 403, "{body}");
    assert!(home.join("s.db.models/v1").is_dir());
}
