//! Shared by the sync integration tests: a scripted ingest server on 127.0.0.1:0 that records
//! every request (headers, raw and gunzipped body, whether the signature verifies — checked
//! here with hmac/sha2 directly, not with the SDK's signer), and stores seeded with events.
#![allow(dead_code)] // each test crate uses a different part

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use telemetry_kit_core::storage::{FileEventStore, StoreLimits};
use telemetry_kit_core::sync::{HttpClient, SyncCredentials, SyncSettings};

pub const SECRET: &str = "test-secret";
pub const TOKEN: &str = "test-token";
pub const SDK: &str = "telemetry-kit-node/0.1.0 (native)";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub raw_body: Vec<u8>,
    /// Gunzipped when `content-encoding: gzip`.
    pub body: String,
    pub signature_valid: bool,
    pub event_ids: Vec<String>,
    pub received_at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
    /// Wait this long before answering (the client may have given up).
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply { status, body: body.to_string(), headers: Vec::new(), delay: Duration::ZERO }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(status, json!({ "error": { "code": code, "message": message } }))
    }

    /// The server's normal answer: every event accepted.
    pub fn accept(request: &Recorded) -> Reply {
        let n = request.event_ids.len();
        Reply::json(200, json!({ "status": "success", "accepted": n, "rejected": 0, "duplicates": 0 }))
    }

    /// A success for `n` events, whatever was sent.
    pub fn accept_n(n: usize) -> Reply {
        Reply::json(200, json!({ "status": "success", "accepted": n, "rejected": 0, "duplicates": 0 }))
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

type Handler = dyn FnMut(&Recorded) -> Reply + Send;

pub struct TestServer {
    pub url: String,
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Answers each request with `handler` (called in arrival order, one at a time).
    pub fn start(handler: impl FnMut(&Recorded) -> Reply + Send + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Mutex<Box<Handler>>> = Arc::new(Mutex::new(Box::new(handler)));
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (requests, handler) = (Arc::clone(&requests), Arc::clone(&handler));
                    // A connection of its own per thread: a delayed answer must not hold the others.
                    std::thread::spawn(move || serve(stream, &requests, &handler));
                }
            })
        };
        TestServer { url: format!("http://{addr}"), addr, requests, stop, thread: Some(thread) }
    }

    /// Scripted replies in order, then `Reply::accept` for every later request.
    pub fn scripted(script: Vec<Reply>) -> TestServer {
        let mut script = script.into_iter();
        TestServer::start(move |request| script.next().unwrap_or_else(|| Reply::accept(request)))
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests lock").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Recorded>>, handler: &Mutex<Box<Handler>>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let Some(request) = read_request(&mut reader) else { return };
    let reply = {
        let mut handler = handler.lock().expect("handler lock");
        (*handler)(&request)
    };
    requests.lock().expect("requests lock").push(request);
    std::thread::sleep(reply.delay);
    let reason = match reply.status {
        200 => "OK",
        207 => "Multi-Status",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut stream = stream;
    // The client may have given up already (timeouts): a failed write is expected then.
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply.body.as_bytes()));
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.trim().to_lowercase(), value.trim().to_string());
    }
    assert!(!headers.contains_key("transfer-encoding"), "the client sends a content-length body");
    let length: usize = headers.get("content-length").map_or(0, |v| v.parse().expect("content-length"));
    let mut raw_body = vec![0; length];
    reader.read_exact(&mut raw_body).ok()?;
    let body = if headers.get("content-encoding").map(String::as_str) == Some("gzip") {
        let mut text = String::new();
        GzDecoder::new(raw_body.as_slice()).read_to_string(&mut text).expect("valid gzip");
        text
    } else {
        String::from_utf8(raw_body.clone()).expect("UTF-8 body")
    };
    let header = |name: &str| headers.get(name).map_or("", String::as_str);
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(format!("{}:{}:{}", header("x-timestamp"), header("x-nonce"), body).as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let signature_valid = header("x-signature") == expected;
    let event_ids = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["events"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["event_id"].as_str().map(str::to_string))
        .collect();
    Some(Recorded { method, path, headers, raw_body, body, signature_valid, event_ids, received_at: Instant::now() })
}

/// An address nothing listens on (bound, then released).
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

pub fn credentials(endpoint: &str) -> SyncCredentials {
    SyncCredentials {
        endpoint: endpoint.to_string(),
        org_id: "org-1".to_string(),
        app_id: "app-1".to_string(),
        token: TOKEN.to_string(),
        secret: SECRET.to_string(),
    }
}

pub fn settings(endpoint: &str, batch_size: u64) -> SyncSettings {
    SyncSettings { credentials: credentials(endpoint), batch_size, gzip: false, timeout_ms: 5_000, sdk_version: SDK.to_string() }
}

pub fn client() -> HttpClient {
    HttpClient::new(SDK)
}

/// The stored JSON line of event `e-<i>`, padded with `pad` bytes of data.
pub fn event_line(i: usize, pad: usize) -> String {
    json!({
        "schema_version": "1.0.0",
        "event_id": format!("e-{i:03}"),
        "timestamp": "2026-01-02T03:00:00.000Z",
        "event": { "type": "command_execution", "category": "usage", "data": { "i": i, "note": "naïve ☕", "pad": "x".repeat(pad) } }
    })
    .to_string()
}

pub fn id(i: usize) -> String {
    format!("e-{i:03}")
}

/// A store in `dir` holding events `e-000`.. `e-<n-1>`, pending.
pub fn seeded_store(dir: &Path, n: usize, pad: usize) -> (FileEventStore, Vec<String>) {
    let store = FileEventStore::new(dir, StoreLimits::default());
    let lines: Vec<String> = (0..n).map(|i| event_line(i, pad)).collect();
    let mut data = String::new();
    for line in &lines {
        data.push_str(line);
        data.push('\n');
    }
    store.append_lines(&data, n as u64).expect("append");
    (store, lines)
}

/// The `error` column of each dead-lettered event, by id.
pub fn dead_letter_reasons(dir: &Path) -> HashMap<String, String> {
    let db = rusqlite::Connection::open(dir.join("events.db")).expect("open events.db");
    let mut stmt = db.prepare("SELECT event_id, error FROM events WHERE state = 'dead_letter'").expect("prepare");
    let rows = stmt
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?.unwrap_or_default())))
        .expect("query");
    rows.map(|row| row.expect("row")).collect()
}
