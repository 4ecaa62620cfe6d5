//! Test helpers: a local fake Datadog intake (a small hyper server on 127.0.0.1:0 that records
//! every request and decodes gzip, JSON and protobuf for real, with scripted answers), and a
//! raw HTTP/1.1 client for the trace agent cases a normal client cannot send (no length,
//! chunked, a body cut short).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use telemetry_kit_services::proto::metrics::SketchPayload;
use telemetry_kit_services::proto::trace::AgentPayload;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    /// After undoing `Content-Encoding: gzip`.
    pub body: Vec<u8>,
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn sketches(&self) -> SketchPayload {
        SketchPayload::decode(self.body.as_slice()).expect("a SketchPayload")
    }

    pub fn agent_payload(&self) -> AgentPayload {
        AgentPayload::decode(self.body.as_slice()).expect("an AgentPayload")
    }
}

#[derive(Default)]
struct Script {
    statuses: HashMap<String, VecDeque<u16>>,
    hang: bool,
}

pub struct FakeIntake {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Script>>,
    stop: CancellationToken,
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body).read_to_end(&mut out).expect("a gzip body");
    out
}

impl FakeIntake {
    pub async fn start() -> FakeIntake {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script::default()));
        let stop = CancellationToken::new();
        let (r, s, token) = (Arc::clone(&requests), Arc::clone(&script), stop.clone());
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = token.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, _)) = accepted else { continue };
                let (r, s, token) = (Arc::clone(&r), Arc::clone(&s), token.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let (r, s, token) = (Arc::clone(&r), Arc::clone(&s), token.clone());
                        async move {
                            let method = request.method().to_string();
                            let path = request.uri().path().to_string();
                            let headers: HashMap<String, String> = request
                                .headers()
                                .iter()
                                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                                .collect();
                            let raw = request.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
                            let body = if headers.get("content-encoding").map(String::as_str) == Some("gzip") { gunzip(&raw) } else { raw };
                            let (status, hang) = {
                                let mut script = s.lock().expect("script");
                                let status = script.statuses.get_mut(&path).and_then(VecDeque::pop_front).unwrap_or(202);
                                (status, script.hang)
                            };
                            r.lock().expect("requests").push(Recorded { method, path, headers, body, status });
                            if hang {
                                token.cancelled().await;
                            }
                            let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
                            *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        FakeIntake { url, requests, script, stop }
    }

    /// The next answers for `path`, in order; 202 once they are used up.
    pub fn respond(&self, path: &str, statuses: &[u16]) {
        self.script.lock().expect("script").statuses.insert(path.to_string(), statuses.iter().copied().collect());
    }

    /// Accept requests but never answer them (an intake that is down but listening).
    pub fn hang(&self) {
        self.script.lock().expect("script").hang = true;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("requests").clone()
    }

    pub fn by_path(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    pub async fn wait_for(&self, predicate: impl Fn(&[Recorded]) -> bool, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if predicate(&requests) {
                return requests;
            }
            assert!(Instant::now() < deadline, "the fake intake did not get the expected requests in time: {requests:#?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeIntake {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A raw HTTP exchange: writes `head` (with its blank line) and `body`, optionally closes the
/// write side early, and returns (status, headers text, body) or None when the server closed
/// without answering.
pub async fn raw_http(port: u16, head: &str, body: &[u8]) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write head");
    if !body.is_empty() {
        // The server may answer (413, 411) and close before reading the body.
        let _ = stream.write_all(body).await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_string(), body.to_string()))
}

/// POST `body` with a Content-Length and `Connection: close`.
pub async fn post(port: u16, path: &str, body: &[u8], extra_headers: &str) -> (u16, String, String) {
    let head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n", body.len());
    raw_http(port, &head, body).await.expect("an answer")
}
