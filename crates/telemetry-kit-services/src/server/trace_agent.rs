//! The trace agent's HTTP front (packages/core/src/node/services/trace-agent-listener.ts):
//! routes, methods, body limits and status codes, on hyper's HTTP/1 server.
//!
//! - `PUT|POST /v0.4/traces`, `/v0.5/traces` → 200 `{"rate_by_service":…}`, 400 when the body
//!   does not decode; `PUT|POST /v0.6/stats` → 200 `OK` or 400; `GET /info` → 200 JSON;
//! - unknown path → 404, wrong method → 405 with `Allow`;
//! - a body without `Content-Length` (or chunked) → 411, over 10 MiB → 413, both answered
//!   before a byte of the body is read, with `Connection: close`;
//! - a client that disconnects mid-body is counted, nothing is answered or kept.
//!
//! Closing stops accepting, lets requests in flight finish until the deadline, then cuts the
//! rest off (counted in `cutOff`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::MAX_TRACE_BODY_BYTES;
use crate::trace::{rate_by_service_body, TraceBuffer, TracePayloadVersion, TracerMeta};

/// The paths this agent serves, as `/info` lists them.
pub const TRACE_AGENT_ENDPOINTS: [&str; 4] = ["/v0.4/traces", "/v0.5/traces", "/v0.6/stats", "/info"];
const HEADERS_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on reading one request body, as Node's `requestTimeout` in the TS server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The TS `TraceAgentHttpStats`, same field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceAgentHttpStats {
    pub requests: u64,
    /// Responses by status code.
    pub responses: BTreeMap<String, u64>,
    /// Clients that went away before their body was complete.
    pub disconnects: u64,
    /// Requests still being read when close ran out of time.
    pub cut_off: u64,
    pub bytes_received: u64,
}

/// What `/info` reports.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub version: String,
    pub statsd_port: Option<u16>,
    pub receiver_port: Option<u16>,
    pub env: Option<String>,
}

/// Called after each trace submission that was accepted.
pub type AfterTraces = Arc<dyn Fn() + Send + Sync>;

struct State {
    buffer: Arc<Mutex<TraceBuffer>>,
    after_traces: Option<AfterTraces>,
    info: Mutex<AgentInfo>,
    max_body_bytes: u64,
    requests: AtomicU64,
    responses: Mutex<BTreeMap<u16, u64>>,
    disconnects: AtomicU64,
    cut_off: AtomicU64,
    bytes_received: AtomicU64,
    /// Requests whose body is being read or handled now.
    active: AtomicU64,
}

pub struct TraceAgentListener {
    pub port: u16,
    state: Arc<State>,
    stop: CancellationToken,
    deadline: Arc<Mutex<Option<Instant>>>,
    task: Option<JoinHandle<()>>,
}

/// Binds synchronously (so a taken port fails here, with its `ErrorKind::AddrInUse`).
pub fn bind_tcp(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(address)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn stats_of(s: &State) -> TraceAgentHttpStats {
    TraceAgentHttpStats {
        requests: s.requests.load(Ordering::Relaxed),
        responses: s.responses.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        disconnects: s.disconnects.load(Ordering::Relaxed),
        cut_off: s.cut_off.load(Ordering::Relaxed),
        bytes_received: s.bytes_received.load(Ordering::Relaxed),
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl TraceAgentListener {
    /// Starts serving `listener` on the current tokio runtime.
    pub fn start(
        listener: std::net::TcpListener,
        buffer: Arc<Mutex<TraceBuffer>>,
        info: AgentInfo,
        max_body_bytes: Option<u64>,
        after_traces: Option<AfterTraces>,
    ) -> std::io::Result<TraceAgentListener> {
        let port = listener.local_addr()?.port();
        let listener = TcpListener::from_std(listener)?;
        let state = Arc::new(State {
            buffer,
            after_traces,
            info: Mutex::new(AgentInfo { receiver_port: Some(port), ..info }),
            max_body_bytes: max_body_bytes.unwrap_or(MAX_TRACE_BODY_BYTES),
            requests: AtomicU64::new(0),
            responses: Mutex::new(BTreeMap::new()),
            disconnects: AtomicU64::new(0),
            cut_off: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            active: AtomicU64::new(0),
        });
        let stop = CancellationToken::new();
        let deadline = Arc::new(Mutex::new(None));
        let task = tokio::spawn(serve(listener, Arc::clone(&state), stop.clone(), Arc::clone(&deadline)));
        Ok(TraceAgentListener { port, state, stop, deadline, task: Some(task) })
    }

    pub fn set_statsd_port(&self, port: Option<u16>) {
        self.state.info.lock().unwrap_or_else(PoisonError::into_inner).statsd_port = port;
    }

    pub fn stats(&self) -> TraceAgentHttpStats {
        stats_of(&self.state)
    }

    /// A view of [`TraceAgentListener::stats`] that outlives a borrow of the listener.
    pub fn stats_handle(&self) -> impl Fn() -> TraceAgentHttpStats + Send + Sync + 'static {
        let state = Arc::clone(&self.state);
        move || stats_of(&state)
    }

    /// Requests being read or handled now.
    pub fn cut_off(&self) -> u64 {
        self.state.cut_off.load(Ordering::Relaxed)
    }

    pub fn in_flight(&self) -> u64 {
        self.state.active.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets requests in flight finish until `deadline`, cuts off the rest.
    pub async fn close(&mut self, deadline: Instant) {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(deadline);
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TraceAgentListener {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, stop: CancellationToken, deadline: Arc<Mutex<Option<Instant>>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                let stop = stop.clone();
                connections.spawn(connection(stream, state, stop));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let until = deadline.lock().unwrap_or_else(PoisonError::into_inner).unwrap_or_else(Instant::now);
    let finished = tokio::time::timeout_at(until, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        state.cut_off.fetch_add(state.active.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

async fn connection(stream: tokio::net::TcpStream, state: Arc<State>, stop: CancellationToken) {
    let service = service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(handle(request, state).await) }
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADERS_TIMEOUT);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => {}
        () = stop.cancelled() => {
            // Idle connections close now; one mid-request closes after its answer.
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
    }
}

fn text(state: &State, status: StatusCode, body: String, close: bool) -> Response<Full<Bytes>> {
    *state.responses.lock().unwrap_or_else(PoisonError::into_inner).entry(status.as_u16()).or_insert(0) += 1;
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    if close {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

fn json(state: &State, status: StatusCode, body: String, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = text(state, status, body, false);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn header(request: &Request<Incoming>, name: &str) -> Option<String> {
    request.headers().get(name).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()).map(str::to_string)
}

fn meta_of(request: &Request<Incoming>) -> TracerMeta {
    TracerMeta {
        lang: header(request, "datadog-meta-lang"),
        lang_version: header(request, "datadog-meta-lang-version"),
        tracer_version: header(request, "datadog-meta-tracer-version"),
        container_id: header(request, "datadog-container-id"),
    }
}

#[derive(Clone, Copy)]
enum Route {
    Traces(TracePayloadVersion),
    Stats,
    Info,
}

/// Decrements the in-flight count when a body read ends, however it ends.
struct Active<'a>(&'a State);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        let _ = self.0.active.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

async fn handle(request: Request<Incoming>, state: Arc<State>) -> Response<Full<Bytes>> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let path = request.uri().path().to_string();
    let route = match path.as_str() {
        "/v0.4/traces" => Route::Traces(TracePayloadVersion::V04),
        "/v0.5/traces" => Route::Traces(TracePayloadVersion::V05),
        "/v0.6/stats" => Route::Stats,
        "/info" => Route::Info,
        _ => return text(&state, StatusCode::NOT_FOUND, "404 page not found\n".into(), false),
    };
    let method = request.method().clone();
    let allowed = match route {
        Route::Info => method == Method::GET,
        _ => method == Method::PUT || method == Method::POST,
    };
    if !allowed {
        let allow = if matches!(route, Route::Info) { "GET" } else { "PUT, POST" };
        let mut response = text(&state, StatusCode::METHOD_NOT_ALLOWED, format!("method {method} not allowed on {path}\n"), false);
        response.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
        return response;
    }
    if matches!(route, Route::Info) {
        return json(&state, StatusCode::OK, info_body(&state), "application/json");
    }
    // Like the Datadog agent: a body must announce its length, so that the limit is decided
    // before a byte of it is read.
    let declared = header(&request, CONTENT_LENGTH.as_str());
    if declared.is_none() || request.headers().contains_key(TRANSFER_ENCODING) {
        return text(&state, StatusCode::LENGTH_REQUIRED, "a Content-Length is required\n".into(), true);
    }
    let Some(length) = declared.as_deref().and_then(|d| d.trim().parse::<u64>().ok()) else {
        return text(&state, StatusCode::BAD_REQUEST, "invalid Content-Length\n".into(), true);
    };
    if length > state.max_body_bytes {
        return text(&state, StatusCode::PAYLOAD_TOO_LARGE, format!("payload of {length} bytes exceeds the {}-byte limit\n", state.max_body_bytes), true);
    }
    let meta = meta_of(&request);
    state.active.fetch_add(1, Ordering::Relaxed);
    let active = Active(&state);
    let mut body = Vec::with_capacity(length as usize);
    let mut incoming = request.into_body();
    let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|_| ())?;
            if let Ok(data) = frame.into_data() {
                if body.len() as u64 + data.len() as u64 > length {
                    return Err(());
                }
                state.bytes_received.fetch_add(data.len() as u64, Ordering::Relaxed);
                body.extend_from_slice(&data);
            }
        }
        Ok(())
    })
    .await;
    if !matches!(read, Ok(Ok(()))) || (body.len() as u64) < length {
        // A client that went away mid-body: nothing to answer (the connection is gone).
        state.disconnects.fetch_add(1, Ordering::Relaxed);
        drop(active);
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    drop(active);
    // Decoding never panics on bad input (a property test checks it); should a bug make it,
    // the request gets a 500 and the server keeps running, as the TS listener does.
    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process(&state, route, &body, &meta)));
    match answer {
        Ok(response) => response,
        Err(_) => text(&state, StatusCode::INTERNAL_SERVER_ERROR, "internal error: the request could not be processed\n".into(), false),
    }
}

fn process(state: &State, route: Route, body: &[u8], meta: &TracerMeta) -> Response<Full<Bytes>> {
    match route {
        Route::Traces(version) => {
            let decoded = crate::trace::decode_traces(version, body);
            let mut buffer = state.buffer.lock().unwrap_or_else(PoisonError::into_inner);
            match decoded {
                Ok(decoded) => {
                    buffer.add(decoded.traces, meta, now_ms());
                    drop(buffer);
                    if let Some(after) = &state.after_traces {
                        after();
                    }
                    json(state, StatusCode::OK, rate_by_service_body(), "application/json")
                }
                Err(error) => {
                    buffer.record_decode_error(error.reason);
                    drop(buffer);
                    text(state, StatusCode::BAD_REQUEST, format!("cannot decode {} traces: {}\n", version.as_str(), error.message), false)
                }
            }
        }
        _ => {
            let accepted = state.buffer.lock().unwrap_or_else(PoisonError::into_inner).add_stats(body, meta);
            if accepted {
                json(state, StatusCode::OK, "OK".into(), "text/plain")
            } else {
                text(state, StatusCode::BAD_REQUEST, "invalid client stats payload\n".into(), false)
            }
        }
    }
}

fn info_body(state: &State) -> String {
    let info = state.info.lock().unwrap_or_else(PoisonError::into_inner).clone();
    serde_json::json!({
        "version": info.version,
        "endpoints": TRACE_AGENT_ENDPOINTS,
        "feature_flags": [],
        "client_drop_p0s": false,
        "span_meta_structs": true,
        "long_running_spans": false,
        "config": {
            "default_env": info.env.as_deref().unwrap_or("none"),
            "statsd_port": info.statsd_port.unwrap_or(0),
            "receiver_port": info.receiver_port.unwrap_or(0),
        },
    })
    .to_string()
}
