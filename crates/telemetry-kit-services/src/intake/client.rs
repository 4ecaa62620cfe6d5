//! Delivers flushed payloads to the Datadog intakes (packages/core/src/node/services/
//! intake-client.ts): gzip where the intake takes it, `DD-API-KEY`, a bound on every request,
//! retries with full-jitter backoff on 5xx, 408, 429 and network errors, drops counted
//! otherwise; at most 8 requests at once and 1,000 payloads waiting.
//!
//! Requests go through ureq (rustls + ring, the stack telemetry-kit-core's sync client already
//! links) on tokio's blocking pool. `abort()` stops waiting at once: a request still on the wire
//! is abandoned (its thread finishes alone within the request timeout) and its payload counted
//! as dropped (`aborted`).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use ureq::config::Config;
use ureq::Agent;

use super::payloads::IntakePayload;
use super::retry::{backoff_delay_ms, retry_after_ms, verdict_for_status, RetryPolicy, Verdict};

/// Why a payload was given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DropReason {
    /// The intake answered a status that resending will not fix (400, 403, 413...).
    Rejected,
    /// Every attempt failed.
    Exhausted,
    /// Given up at shutdown.
    Aborted,
    /// Too many payloads were already waiting.
    Overflow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Delivered { attempts: u32 },
    Dropped { reason: DropReason, status: Option<u16> },
}

impl DeliveryResult {
    pub fn delivered(&self) -> bool {
        matches!(self, DeliveryResult::Delivered { .. })
    }
}

/// Dropped payloads by reason (the TS `dropped` record).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DropCounts {
    pub rejected: u64,
    pub exhausted: u64,
    pub aborted: u64,
    pub overflow: u64,
}

/// The TS `IntakeStats`, same field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeStats {
    /// Payloads handed to the client.
    pub payloads: u64,
    pub delivered: u64,
    /// HTTP attempts, retries included.
    pub requests: u64,
    pub retries: u64,
    /// Attempts answered with an error status or failed on the network.
    pub errors: u64,
    pub dropped: DropCounts,
    pub dropped_items: u64,
    pub bytes_sent: u64,
    pub last_error: Option<String>,
    /// Payloads waiting or in flight now.
    pub pending: u64,
}

pub type MessageSink = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Clone)]
pub struct IntakeClientOptions {
    pub api_key: Option<String>,
    pub metrics_intake_url: String,
    pub trace_intake_url: String,
    /// An `http://` proxy used with CONNECT for the https intakes.
    pub https_proxy: Option<String>,
    pub request_timeout_ms: u64,
    pub retry: RetryPolicy,
    pub max_concurrent: usize,
    pub max_queued: usize,
    /// Called once per dropped payload with a message naming the endpoint and the cause.
    pub on_drop: Option<MessageSink>,
    /// Called for each failed attempt that will be retried.
    pub on_retry: Option<MessageSink>,
}

impl IntakeClientOptions {
    pub fn new(metrics_intake_url: impl Into<String>, trace_intake_url: impl Into<String>) -> Self {
        IntakeClientOptions {
            api_key: None,
            metrics_intake_url: metrics_intake_url.into(),
            trace_intake_url: trace_intake_url.into(),
            https_proxy: None,
            request_timeout_ms: 10_000,
            retry: RetryPolicy::default(),
            max_concurrent: 8,
            max_queued: 1_000,
            on_drop: None,
            on_retry: None,
        }
    }
}

struct Inner {
    options: IntakeClientOptions,
    direct: Agent,
    proxied: Option<Agent>,
    abort: CancellationToken,
    slots: Semaphore,
    outstanding: AtomicUsize,
    idle: Notify,
    counters: Mutex<IntakeStats>,
    rng: Mutex<u64>,
}

/// Cheap to clone: clones share one client.
#[derive(Clone)]
pub struct IntakeClient {
    inner: Arc<Inner>,
}

enum Outcome {
    Answered { status: u16, retry_after: Option<String>, detail: String },
    Failed(String),
}

fn agent(proxy: Option<ureq::Proxy>) -> Agent {
    let config = Config::builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .user_agent(format!("telemetry-kit/{}", env!("CARGO_PKG_VERSION")))
        .build();
    Agent::new_with_config(config)
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4 + 64), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

fn one_line(text: &str) -> String {
    let collapsed: Vec<&str> = text.split_whitespace().collect();
    collapsed.join(" ").chars().take(120).collect()
}

/// One pending payload (or a flush about to hand payloads over): [`IntakeClient::drain`] waits
/// until every `Hold` is dropped.
pub struct Hold(Arc<Inner>);

impl Drop for Hold {
    fn drop(&mut self) {
        if self.0.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl IntakeClient {
    pub fn new(options: IntakeClientOptions) -> Self {
        let proxied = options.https_proxy.as_deref().and_then(|p| ureq::Proxy::new(p).ok()).map(|p| agent(Some(p)));
        let slots = Semaphore::new(options.max_concurrent.max(1));
        let mut seed = [0u8; 8];
        let seed = match getrandom::fill(&mut seed) {
            Ok(()) => u64::from_le_bytes(seed) | 1,
            Err(_) => SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0x9e37_79b9, |d| d.as_nanos() as u64) | 1,
        };
        IntakeClient {
            inner: Arc::new(Inner {
                options,
                direct: agent(None),
                proxied,
                abort: CancellationToken::new(),
                slots,
                outstanding: AtomicUsize::new(0),
                idle: Notify::new(),
                counters: Mutex::new(IntakeStats::default()),
                rng: Mutex::new(seed),
            }),
        }
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, IntakeStats> {
        self.inner.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn random(&self) -> f64 {
        let mut state = self.inner.rng.lock().unwrap_or_else(PoisonError::into_inner);
        // xorshift64*: jitter needs spread, not secrecy.
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Resolves once the payload is delivered or dropped; never fails. Must run on a tokio
    /// runtime (the request runs on its blocking pool).
    pub async fn send(&self, payload: IntakePayload) -> DeliveryResult {
        match self.admit(&payload) {
            Ok(_pending) => self.deliver(payload).await,
            Err(dropped) => dropped,
        }
    }

    /// Counts the payload as pending at once (so a concurrent [`IntakeClient::drain`] waits for
    /// it) and delivers it on a task of the current runtime.
    pub fn submit(&self, payload: IntakePayload) -> tokio::task::JoinHandle<DeliveryResult> {
        let admitted = self.admit(&payload);
        let client = self.clone();
        tokio::spawn(async move {
            match admitted {
                Ok(_pending) => client.deliver(payload).await,
                Err(dropped) => dropped,
            }
        })
    }

    /// Counts a handed-over payload; the pending guard, or the drop when closed or full.
    fn admit(&self, payload: &IntakePayload) -> Result<Hold, DeliveryResult> {
        self.counters().payloads += 1;
        if self.inner.abort.is_cancelled() {
            return Err(self.drop_payload(payload, DropReason::Aborted, "the client is closed".into(), None));
        }
        let waiting = self.inner.outstanding.load(Ordering::Acquire);
        if waiting >= self.inner.options.max_queued {
            return Err(self.drop_payload(payload, DropReason::Overflow, format!("{waiting} payloads are already waiting"), None));
        }
        Ok(self.hold())
    }

    /// Counts as one pending payload until dropped, so that a drain running meanwhile waits for
    /// the payloads a flush is about to send.
    pub fn hold(&self) -> Hold {
        self.inner.outstanding.fetch_add(1, Ordering::AcqRel);
        Hold(Arc::clone(&self.inner))
    }

    /// Resolves when every payload handed over so far is delivered or dropped.
    pub async fn drain(&self) {
        loop {
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.outstanding.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Gives up on everything pending (each counted as dropped, `aborted`); later sends too.
    pub fn abort(&self) {
        self.inner.abort.cancel();
    }

    pub fn stats(&self) -> IntakeStats {
        let mut stats = self.counters().clone();
        stats.pending = self.inner.outstanding.load(Ordering::Acquire) as u64;
        stats
    }

    fn drop_payload(&self, payload: &IntakePayload, reason: DropReason, message: String, status: Option<u16>) -> DeliveryResult {
        {
            let mut c = self.counters();
            match reason {
                DropReason::Rejected => c.dropped.rejected += 1,
                DropReason::Exhausted => c.dropped.exhausted += 1,
                DropReason::Aborted => c.dropped.aborted += 1,
                DropReason::Overflow => c.dropped.overflow += 1,
            }
            c.dropped_items += payload.items;
            c.last_error = Some(message.clone());
        }
        if let Some(on_drop) = &self.inner.options.on_drop {
            on_drop(&message);
        }
        DeliveryResult::Dropped { reason, status }
    }

    async fn deliver(&self, payload: IntakePayload) -> DeliveryResult {
        let options = &self.inner.options;
        let route = payload.endpoint.route();
        let base = if route.traces_base { &options.trace_intake_url } else { &options.metrics_intake_url };
        let url = format!("{base}{}", route.path);
        let what = format!("{} ({} item{})", payload.endpoint.as_str(), payload.items, if payload.items == 1 { "" } else { "s" });
        let body: Arc<Vec<u8>> = Arc::new(if route.gzip { gzip(&payload.body) } else { payload.body.clone() });
        let aborted = |this: &Self| this.drop_payload(&payload, DropReason::Aborted, format!("gave up on {what} at shutdown"), None);
        let mut attempt: u32 = 1;
        loop {
            let outcome = tokio::select! {
                biased;
                () = self.inner.abort.cancelled() => return aborted(self),
                outcome = self.attempt(&url, Arc::clone(&body), route.content_type, route.gzip) => outcome,
            };
            let Some(outcome) = outcome else { return aborted(self) };
            if let Outcome::Answered { status, .. } = &outcome {
                if verdict_for_status(*status) == Verdict::Delivered {
                    self.counters().delivered += 1;
                    return DeliveryResult::Delivered { attempts: attempt };
                }
            }
            let failure = match &outcome {
                Outcome::Answered { status, detail, .. } if detail.is_empty() => status.to_string(),
                Outcome::Answered { status, detail, .. } => format!("{status} {detail}"),
                Outcome::Failed(message) => message.clone(),
            };
            {
                let mut c = self.counters();
                c.errors += 1;
                c.last_error = Some(format!("POST {}: {failure}", route.path));
            }
            if self.inner.abort.is_cancelled() {
                return aborted(self);
            }
            if let Outcome::Answered { status, .. } = &outcome {
                if verdict_for_status(*status) == Verdict::Drop {
                    let message = format!("intake answered {failure} to POST {}: dropped {what}", route.path);
                    return self.drop_payload(&payload, DropReason::Rejected, message, Some(*status));
                }
            }
            if attempt >= options.retry.max_attempts {
                let message = format!("POST {} failed {attempt} times (last: {failure}): dropped {what}", route.path);
                return self.drop_payload(&payload, DropReason::Exhausted, message, None);
            }
            let from_header = match &outcome {
                Outcome::Answered { retry_after, .. } => retry_after_ms(retry_after.as_deref(), SystemTime::now(), &options.retry),
                Outcome::Failed(_) => None,
            };
            let delay = from_header.unwrap_or_else(|| backoff_delay_ms(attempt - 1, &options.retry, self.random()));
            if let Some(on_retry) = &options.on_retry {
                on_retry(&format!("POST {} failed ({failure}); retrying {what} in {delay} ms", route.path));
            }
            self.counters().retries += 1;
            tokio::select! {
                () = self.inner.abort.cancelled() => return aborted(self),
                () = tokio::time::sleep(Duration::from_millis(delay)) => {}
            }
            attempt += 1;
        }
    }

    /// One HTTP exchange within a concurrency slot; None when aborted before it could start.
    async fn attempt(&self, url: &str, body: Arc<Vec<u8>>, content_type: &'static str, gzipped: bool) -> Option<Outcome> {
        let _slot = self.inner.slots.acquire().await.ok()?;
        if self.inner.abort.is_cancelled() {
            return None;
        }
        self.counters().requests += 1;
        let options = &self.inner.options;
        let agent = match (&self.inner.proxied, url.starts_with("https:")) {
            (Some(proxied), true) => proxied.clone(),
            _ => self.inner.direct.clone(),
        };
        let url = url.to_string();
        let api_key = options.api_key.clone();
        let timeout = Duration::from_millis(options.request_timeout_ms);
        let sent_bytes = body.len() as u64;
        let exchange = tokio::task::spawn_blocking(move || {
            let mut request = agent.post(&url).header("content-type", content_type);
            if gzipped {
                request = request.header("content-encoding", "gzip");
            }
            if let Some(key) = &api_key {
                request = request.header("dd-api-key", key);
            }
            let mut response = match request.config().timeout_global(Some(timeout)).build().send(body.as_slice()) {
                Ok(response) => response,
                Err(ureq::Error::Timeout(_)) => return Outcome::Failed(format!("no answer within {} ms", timeout.as_millis())),
                Err(error) => return Outcome::Failed(error.to_string()),
            };
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
            let mut detail = Vec::new();
            if let Err(error) = response.body_mut().as_reader().take(200).read_to_end(&mut detail) {
                return Outcome::Failed(error.to_string());
            }
            Outcome::Answered { status, retry_after, detail: one_line(&String::from_utf8_lossy(&detail)) }
        });
        let outcome = exchange.await.unwrap_or_else(|e| Outcome::Failed(format!("request task failed: {e}")));
        if matches!(outcome, Outcome::Answered { .. }) {
            self.counters().bytes_sent += sent_bytes;
        }
        Some(outcome)
    }
}
