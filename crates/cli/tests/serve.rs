//! `ferrocodex serve` and `ferrocodex keys` as a user runs them: keys made on the command
//! line, a server process on loopback, and `kill -9` under load losing no usage that a
//! client had been told about.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferrocodex"));
    c.env_remove("FERROCODEX_MODEL");
    c
}

fn tiny_model(dir: &Path) -> PathBuf {
    let path = dir.join("tiny-gemma3.gguf");
    ferrocodex_testmodels::write_tiny_model(ferrocodex_testmodels::TinyArch::Gemma3, &path)
        .unwrap();
    path
}

fn keys(db: &Path, args: &[&str]) -> Value {
    let out = bin()
        .arg("keys")
        .arg("--db")
        .arg(db)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Starts `ferrocodex serve` on an ephemeral port and waits for its address.
fn serve(model: &Path, db: &Path) -> (Child, SocketAddr) {
    let mut child = bin()
        .args(["serve", "--port", "0", "--threads", "1", "--db"])
        .arg(db)
        .arg("--model")
        .arg(model)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    (child, addr)
}

/// POSTs JSON and reads the whole answer; None when the connection fails.
fn post(addr: SocketAddr, path: &str, key: &str, body: &Value) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
    let body = body.to_string();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let declared: usize = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .map(|v| v.trim().parse().ok())
    })??;
    if body.len() != declared {
        return None; // cut off: not an acknowledged answer
    }
    Some((status, serde_json::from_str(body).ok()?))
}

#[test]
fn keys_command_creates_lists_and_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.sqlite3");
    let made = keys(
        &db,
        &["create", "--name", "ci", "--rpm", "5", "--tpm", "100"],
    );
    let secret = made["key"].as_str().unwrap();
    assert!(secret.starts_with("fcx-"));
    assert_eq!(made["rpm"], 5);
    // Plain output: the key alone on stdout, the note on stderr.
    let out = bin()
        .args(["keys", "--db"])
        .arg(&db)
        .args(["create"])
        .output()
        .unwrap();
    let second = String::from_utf8(out.stdout).unwrap();
    assert!(second.trim().starts_with("fcx-") && second.trim() != secret);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not shown again"));

    let list = keys(&db, &["list"]);
    let listed = list["keys"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["key"]["name"], "ci");
    assert!(
        !list.to_string().contains(secret),
        "the key itself is never listed"
    );
    let id = listed[0]["key"]["id"].as_i64().unwrap();
    let revoked = keys(&db, &["revoke", &id.to_string()]);
    assert!(revoked["revoked_at"].is_i64());
    let out = bin()
        .args(["keys", "--db"])
        .arg(&db)
        .args(["revoke", "999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no API key has the id 999"));
}

#[test]
fn serve_refuses_an_open_address_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let out = bin()
        .args(["serve", "--host", "0.0.0.0", "--port", "0", "--db"])
        .arg(dir.path().join("empty.sqlite3"))
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0") && err.contains("ferrocodex keys create"),
        "{err}"
    );
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_usage() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path());
    let db = dir.path().join("usage.sqlite3");
    let key = keys(&db, &["create", "--name", "load"])["key"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut child, addr) = serve(&model, &db);

    // (requests, prompt tokens, completion tokens) of every answer received in full.
    let acked = Arc::new(Mutex::new((0u64, 0u64, 0u64)));
    let stop = Arc::new(AtomicBool::new(false));
    const CLIENTS: usize = 6;
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (acked, stop, key) = (acked.clone(), stop.clone(), key.clone());
            std::thread::spawn(move || {
                let mut j = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    j += 1;
                    let body = json!({"model": "tiny-gemma3", "prompt": format!("client {i} request {j}"), "max_tokens": 1 + (j % 24), "temperature": 0.7});
                    match post(addr, "/v1/completions", &key, &body) {
                        Some((200, v)) => {
                            let mut a = acked.lock().unwrap();
                            a.0 += 1;
                            a.1 += v["usage"]["prompt_tokens"].as_u64().unwrap();
                            a.2 += v["usage"]["completion_tokens"].as_u64().unwrap();
                        }
                        Some((status, v)) => panic!("unexpected {status}: {v}"),
                        None => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect();
    let t0 = Instant::now();
    while acked.lock().unwrap().0 < 40 {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "the server answered too few requests"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL, with requests in flight
    child.wait().unwrap();
    let at_kill = *acked.lock().unwrap();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let acked = *acked.lock().unwrap();
    assert_eq!(acked, at_kill, "no answer can arrive from a killed server");

    let list = keys(&db, &["list"]);
    let usage = &list["keys"][0]["usage"];
    let stored = (
        usage["requests"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap(),
        usage["completion_tokens"].as_u64().unwrap(),
    );
    assert!(
        stored.0 >= acked.0 && stored.1 >= acked.1 && stored.2 >= acked.2,
        "acknowledged {acked:?}, stored only {stored:?}"
    );
    // At most the requests in flight at the kill were stored but not acknowledged.
    assert!(
        stored.0 <= acked.0 + CLIENTS as u64,
        "acknowledged {acked:?}, stored {stored:?}"
    );

    // The store opens again after the crash and the server serves from it.
    let (mut child, addr) = serve(&model, &db);
    let (status, v) = post(
        addr,
        "/v1/completions",
        &key,
        &json!({"model": "tiny-gemma3", "prompt": "again", "max_tokens": 2}),
    )
    .unwrap();
    assert_eq!(status, 200, "{v}");
    child.kill().unwrap();
    child.wait().unwrap();
    let after = keys(&db, &["list"]);
    assert_eq!(
        after["keys"][0]["usage"]["requests"].as_u64().unwrap(),
        stored.0 + 1
    );
}
