//! A real server on 127.0.0.1 (ephemeral port) in a thread of its own, and a plain HTTP/1.1
//! client over `TcpStream`, so that every byte on the wire is what a client would see.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ferrocodex_engine::{LoadOptions, Model};
use ferrocodex_generate::SchedulerConfig;
use ferrocodex_server::{Backend, LocalBackend, Server, ServerConfig, Store, UpstreamBackend};
use ferrocodex_testmodels::TinyArch;
use serde_json::Value;

pub const TINY_ID: &str = "tiny-gemma3";

/// Gemma's chat turn format, for models that ship no template.
pub const GEMMA_TEMPLATE: &str = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = m['role'] %}{% endif %}<start_of_turn>{{ role }}\n{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";

/// A tiny model file, written once per test binary.
pub fn tiny_model_path(arch: TinyArch) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let path = dir.path().join(arch.file_name());
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_writer = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() {
        ferrocodex_testmodels::write_tiny_model(arch, &path).expect("write tiny model");
    }
    path
}

pub fn load(path: &Path) -> Arc<Model> {
    Arc::new(Model::load(path, &LoadOptions { threads: Some(1) }).expect("load model"))
}

pub fn tiny_model(arch: TinyArch) -> Arc<Model> {
    load(&tiny_model_path(arch))
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub store_path: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub struct Options {
    pub model_id: String,
    pub chat_template: Option<String>,
    pub scheduler: SchedulerConfig,
    pub cfg: ServerConfig,
    /// Keys to create before starting: (name, rpm, tpm); their secrets are returned.
    pub keys: Vec<(&'static str, Option<u64>, Option<u64>)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            model_id: TINY_ID.into(),
            chat_template: None,
            scheduler: SchedulerConfig::default(),
            cfg: ServerConfig::default(),
            keys: Vec::new(),
        }
    }
}

/// Starts a server on `model`; returns it and the secrets of the keys asked for.
pub fn start_local(model: Arc<Model>, opts: Options) -> (TestServer, Vec<String>) {
    let (keys, cfg) = (opts.keys.clone(), opts.cfg.clone());
    let backend = move |_: &Path| {
        Backend::Local(LocalBackend::new(
            model,
            opts.model_id,
            opts.scheduler,
            opts.chat_template,
        ))
    };
    start(backend, keys, cfg)
}

pub fn start_upstream(
    url: &str,
    key: Option<String>,
    keys: Vec<(&'static str, Option<u64>, Option<u64>)>,
) -> (TestServer, Vec<String>) {
    let up = UpstreamBackend::new(url, key).expect("upstream url");
    start(
        |_: &Path| Backend::Upstream(up),
        keys,
        ServerConfig::default(),
    )
}

fn start(
    backend: impl FnOnce(&Path) -> Backend + Send + 'static,
    keys: Vec<(&'static str, Option<u64>, Option<u64>)>,
    cfg: ServerConfig,
) -> (TestServer, Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store_path = dir.path().join("store.sqlite3");
    let store = Store::open(&store_path).expect("store");
    let secrets = keys
        .iter()
        .map(|(name, rpm, tpm)| store.create_key(name, *rpm, *tpm).expect("create key").1)
        .collect();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let sp = store_path.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let server = Server::bind("127.0.0.1:0".parse().unwrap(), backend(&sp), store, cfg)
                .await
                .expect("bind");
            addr_tx.send(server.local_addr()).unwrap();
            server
                .run(async move {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
        });
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server started");
    (
        TestServer {
            addr,
            store_path,
            _dir: dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        },
        secrets,
    )
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `data:` payloads of an event stream, in order.
    pub fn events(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|ev| {
                let data: Vec<&str> = ev
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                (!data.is_empty()).then(|| data.join("\n"))
            })
            .collect()
    }

    /// Asserts OpenAI's error shape and returns the error object.
    pub fn error(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        let v = self.json();
        let e = v["error"].clone();
        for k in ["message", "type", "param", "code"] {
            assert!(e.get(k).is_some(), "error without {k}: {v}");
        }
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
        e
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before the whole body is sent.
    let _ = s.write_all(body);
    read_reply(s)
}

pub fn read_reply(s: TcpStream) -> Reply {
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size];
            r.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk);
            line.clear();
            r.read_line(&mut line).unwrap();
        }
    } else {
        let _ = r.read_to_end(&mut body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

pub fn post_json(addr: SocketAddr, path: &str, key: Option<&str>, body: &Value) -> Reply {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    request(addr, "POST", path, &headers, body.to_string().as_bytes())
}

/// The server's OpenAPI document.
pub fn spec(addr: SocketAddr) -> serde_json::Value {
    let r = get(addr, "/openapi.json", None);
    assert_eq!(r.status, 200);
    r.json()
}

pub fn get(addr: SocketAddr, path: &str, key: Option<&str>) -> Reply {
    let auth = key.map(|k| format!("Bearer {k}"));
    let mut headers = vec![];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    request(addr, "GET", path, &headers, b"")
}

/// Checks `v` against an OpenAPI 3.0 schema (the subset the server's document uses:
/// `$ref`, type, nullable, required, properties, items, enum, oneOf, allOf, minimum).
pub fn check_schema(spec: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        return check_schema(spec, &spec["components"]["schemas"][name], v, at);
    }
    if v.is_null() {
        return if schema.get("nullable") == Some(&Value::Bool(true))
            || schema.as_object().is_some_and(|o| o.is_empty())
        {
            Ok(())
        } else {
            Err(format!("{at}: null where the schema does not allow it"))
        };
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check_schema(spec, s, v, at)?;
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let ok = one
            .iter()
            .filter(|s| check_schema(spec, s, v, at).is_ok())
            .count();
        if ok != 1 {
            return Err(format!("{at}: matches {ok} of oneOf"));
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: {v} is not of type {t}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            return Err(format!("{at}: {v} not in {e:?}"));
        }
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if x < min {
            return Err(format!("{at}: {x} < {min}"));
        }
    }
    if let Some(req) = schema.get("required").and_then(Value::as_array) {
        for k in req {
            let k = k.as_str().unwrap();
            if v.get(k).is_none() {
                return Err(format!("{at}: missing required {k}"));
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        v.as_object(),
    ) {
        for (k, s) in props {
            if let Some(x) = obj.get(k) {
                check_schema(spec, s, x, &format!("{at}.{k}"))?;
            }
        }
    }
    if let (Some(ap), Some(obj)) = (
        schema.get("additionalProperties").filter(|a| a.is_object()),
        v.as_object(),
    ) {
        for (k, x) in obj {
            if schema.get("properties").and_then(|p| p.get(k)).is_none() {
                check_schema(spec, ap, x, &format!("{at}.{k}"))?;
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check_schema(spec, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Checks a real reply against the response the document declares for `path`/`method`.
pub fn conforms(spec: &Value, path: &str, method: &str, reply: &Reply) {
    let op = &spec["paths"][path][method];
    assert!(
        op.is_object(),
        "{method} {path} is not in the OpenAPI document"
    );
    let resp = &op["responses"][reply.status.to_string()];
    assert!(
        resp.is_object(),
        "{method} {path}: status {} is not declared",
        reply.status
    );
    let ctype = reply.header("content-type").unwrap_or("");
    let media = ctype.split(';').next().unwrap_or("").trim();
    let schema = &resp["content"][media]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} {}: content type {media} not declared",
        reply.status
    );
    if media == "application/json" {
        check_schema(spec, schema, &reply.json(), "$")
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    }
}
