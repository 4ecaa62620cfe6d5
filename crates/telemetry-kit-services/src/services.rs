//! The lifecycle (packages/core/src/node/services/serverless-services.ts): a DogStatsD UDP
//! server and a trace agent HTTP server flushing to the Datadog intakes on timers and at stop.
//!
//! [`Services`] is one running instance: [`Services::start`] binds the listeners (port 0 picks
//! a free port; a taken port is `PORT_IN_USE`) and returns once both are bound. It owns its
//! own tokio runtime (two worker threads), so it works the same from plain threads, from
//! another runtime, or from a napi binding:
//!
//! - async API: [`Services::flush_async`], [`Services::stop_async`] — runtime-agnostic
//!   futures (they wait on a task spawned on the services' runtime);
//! - blocking API: [`Services::flush`], [`Services::stop`] — for threads that are not inside
//!   an async task (never call them from a task of another runtime's worker: use the async
//!   ones there).
//!
//! `stop` stops accepting, drains what was received, flushes everything including the open
//! buckets, and resolves; past the timeout it drops what is left (counted) and fails with
//! `SHUTDOWN_TIMEOUT`. Either way the instance ends stopped and its runtime is shut down in
//! the background: no socket, timer or worker thread is left behind. Dropping a `Services`
//! without stopping it cancels everything without a final flush and never blocks.
//!
//! [`ServerlessServices`] is the stateful handle the JS class mirrors (start/stop/flush/
//! isRunning/stats/ports, `ALREADY_STARTED` when started twice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;
use serde::Serialize;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{resolve_config_value, LogLevel, ResolvedConfig};
use crate::dogstatsd::{Aggregator, AggregatorOptions, DogStatsDStats};
use crate::error::{ErrorCode, ServicesError};
use crate::intake::client::{DeliveryResult, IntakeClient, IntakeClientOptions, IntakeStats};
use crate::intake::payloads::{binary_payload, event_payloads, series_payloads, service_check_payloads, IntakeEndpoint, IntakePayload, MAX_SERIES_BODY_BYTES};
use crate::server::dogstatsd::{bind_udp, DogStatsDListener};
use crate::server::resolve_bind_address;
use crate::server::trace_agent::{bind_tcp, AgentInfo, TraceAgentHttpStats, TraceAgentListener};
use crate::status::{Emitter, ServiceName, ServicesStatus, StatusKind, StatusSink};
use crate::trace::{TraceBuffer, TraceBufferOptions, TraceStats};

/// One stop()'s bound; 5 s fits Cloud Run's 10 s SIGTERM grace and Lambda's shutdown phase.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_millis(5_000);
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// A busy tracer fills the trace buffer long before the next tick: past this many buffered
/// spans, a trace submission starts a flush at once (one at a time).
const SIZE_FLUSH_SPANS: u64 = 10_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesPorts {
    pub dogstatsd: Option<u16>,
    pub trace_agent: Option<u16>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DogStatsDServiceStats {
    #[serde(flatten)]
    pub aggregator: DogStatsDStats,
    pub socket_errors: u64,
    pub handler_errors: u64,
    pub receive_buffer_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceAgentServiceStats {
    #[serde(flatten)]
    pub buffer: TraceStats,
    #[serde(flatten)]
    pub http: TraceAgentHttpStats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlushCounts {
    pub metrics: u64,
    pub traces: u64,
}

/// The TS `ServicesStats`, same field names (`backend` is `"native"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicesStats {
    pub backend: &'static str,
    pub running: bool,
    pub dogstatsd: DogStatsDServiceStats,
    pub trace_agent: TraceAgentServiceStats,
    pub intake: IntakeStats,
    pub flushes: FlushCounts,
}

impl ServicesStats {
    /// The stats of an instance that never ran.
    pub fn empty() -> Self {
        ServicesStats {
            backend: "native",
            running: false,
            dogstatsd: DogStatsDServiceStats::default(),
            trace_agent: TraceAgentServiceStats::default(),
            intake: IntakeStats::default(),
            flushes: FlushCounts::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    Stopping,
    Stopped,
}

struct Shared {
    config: ResolvedConfig,
    emitter: Emitter,
    aggregator: Option<Arc<Mutex<Aggregator>>>,
    traces: Option<Arc<Mutex<TraceBuffer>>>,
    intake: IntakeClient,
    dogstatsd: tokio::sync::Mutex<Option<DogStatsDListener>>,
    trace_agent: tokio::sync::Mutex<Option<TraceAgentListener>>,
    /// Counters read without awaiting the listeners' async locks.
    dogstatsd_counters: Option<Arc<crate::server::dogstatsd::ListenerCounters>>,
    trace_agent_stats: Option<Box<dyn Fn() -> TraceAgentHttpStats + Send + Sync>>,
    ports: ServicesPorts,
    timers: CancellationToken,
    size_flushing: std::sync::atomic::AtomicBool,
    metrics_flushes: AtomicU64,
    trace_flushes: AtomicU64,
    state: Mutex<State>,
    final_stats: Mutex<Option<ServicesStats>>,
}

type StopOutcome = Option<Result<(), ServicesError>>;

/// A running set of services; see the module documentation.
/// A runtime that never blocks when dropped (dropping a plain `Runtime` inside another
/// runtime's task panics, and a blocking drop would wait for abandoned intake requests).
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pub struct Services {
    runtime: Mutex<OwnedRuntime>,
    handle: tokio::runtime::Handle,
    shared: Arc<Shared>,
    stopping: Mutex<Option<watch::Receiver<StopOutcome>>>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn bind_error(service: ServiceName, host: &str, port: u16, error: &std::io::Error) -> ServicesError {
    let (name, field) = match service {
        ServiceName::DogStatsD => ("dogstatsd", "dogstatsdPort"),
        _ => ("trace-agent", "traceAgentPort"),
    };
    let place = format!("{name} cannot listen on {host}:{port}");
    if error.kind() == std::io::ErrorKind::AddrInUse {
        return ServicesError::new(ErrorCode::PortInUse, format!("{place}: the port is in use")).with_field(field);
    }
    ServicesError::new(ErrorCode::InvalidConfig, format!("invalid config: {place}: {error}")).with_field(field)
}

/// DD_TAGS-style `key:value` tags as the AgentPayload's tag map.
fn trace_global_tags(config: &ResolvedConfig) -> IndexMap<String, String> {
    config
        .tags
        .iter()
        .filter_map(|tag| tag.split_once(':').filter(|(key, _)| !key.is_empty()))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn tag_value(config: &ResolvedConfig, key: &str) -> Option<String> {
    let prefix = format!("{key}:");
    config.tags.iter().find_map(|tag| tag.strip_prefix(&prefix).map(str::to_string))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

impl Services {
    /// Binds the listeners and starts the flush timers; returns once both listeners are bound.
    /// Does not block on the network (name resolution of a bind host aside).
    ///
    /// # Errors
    /// `PORT_IN_USE` for a taken port; `INVALID_CONFIG` when a listener cannot bind otherwise.
    pub fn start(config: ResolvedConfig, sink: Option<StatusSink>) -> Result<Services, ServicesError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("telemetry-kit-services")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| ServicesError::new(ErrorCode::InvalidConfig, format!("invalid config: cannot start the services runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let runtime = OwnedRuntime(Some(runtime));
        let emitter = Emitter::new(config.log_level, sink);
        for warning in &config.warnings {
            emitter.emit(Some(ServicesStatus::new(StatusKind::Warning).message(warning.clone())), LogLevel::Warn, None);
        }

        // Bind synchronously, dogstatsd first (its error wins when both fail, as in TS).
        let udp = if config.use_dogstatsd {
            let bound = resolve_bind_address(&config.dogstatsd_host, config.dogstatsd_port).and_then(bind_udp);
            Some(bound.map_err(|e| bind_error(ServiceName::DogStatsD, &config.dogstatsd_host, config.dogstatsd_port, &e))?)
        } else {
            None
        };
        let tcp = if config.use_trace_agent {
            let bound = resolve_bind_address(&config.trace_agent_host, config.trace_agent_port).and_then(bind_tcp);
            Some(bound.map_err(|e| bind_error(ServiceName::TraceAgent, &config.trace_agent_host, config.trace_agent_port, &e))?)
        } else {
            None
        };

        let intake_emitter = emitter.clone();
        let retry_emitter = emitter.clone();
        let mut intake_options = IntakeClientOptions::new(config.metrics_intake_url.clone(), config.trace_intake_url.clone());
        intake_options.api_key = config.api_key.clone();
        intake_options.https_proxy = config.https_proxy.clone();
        intake_options.request_timeout_ms = config.request_timeout_ms;
        intake_options.retry = config.retry;
        intake_options.on_drop = Some(Arc::new(move |message: &str| {
            intake_emitter.emit(Some(ServicesStatus::new(StatusKind::Error).service(ServiceName::Intake).message(message)), LogLevel::Error, None);
        }));
        intake_options.on_retry = Some(Arc::new(move |message: &str| retry_emitter.emit(None, LogLevel::Debug, Some(message))));
        let intake = IntakeClient::new(intake_options);

        let aggregator = config.use_dogstatsd.then(|| {
            Arc::new(Mutex::new(Aggregator::new(AggregatorOptions {
                namespace: config.metric_namespace.clone(),
                global_tags: config.tags.clone(),
                max_contexts: config.max_contexts,
                bucket_seconds: 10,
                hostname: config.hostname.clone(),
            })))
        });
        let traces = config.use_trace_agent.then(|| {
            Arc::new(Mutex::new(TraceBuffer::new(TraceBufferOptions {
                env: config.env.clone(),
                hostname: config.hostname.clone(),
                global_tags: trace_global_tags(&config),
                agent_version: SDK_VERSION.to_string(),
                service: tag_value(&config, "service"),
                span_tags: config.cloud.as_ref().map(|c| c.span_tags.clone()),
                ..TraceBufferOptions::default()
            })))
        });

        let _entered = handle.enter();
        let socket_emitter = emitter.clone();
        let dogstatsd = match (udp, &aggregator) {
            (Some((socket, granted)), Some(aggregator)) => {
                let on_error: crate::server::dogstatsd::ErrorSink = Arc::new(move |message: &str| {
                    socket_emitter.emit(Some(ServicesStatus::new(StatusKind::Error).service(ServiceName::DogStatsD).message(message)), LogLevel::Error, None);
                });
                let listener = DogStatsDListener::start(socket, granted, Arc::clone(aggregator), Some(on_error))
                    .map_err(|e| bind_error(ServiceName::DogStatsD, &config.dogstatsd_host, config.dogstatsd_port, &e))?;
                Some(listener)
            }
            _ => None,
        };
        let dogstatsd_port = dogstatsd.as_ref().map(|l| l.port);
        // The listener is started before `Shared` exists: it reaches it through this cell.
        let shared_cell: Arc<std::sync::OnceLock<std::sync::Weak<Shared>>> = Arc::default();
        let trace_agent = match (tcp, &traces) {
            (Some(listener), Some(buffer)) => {
                let info = AgentInfo { version: SDK_VERSION.to_string(), statsd_port: dogstatsd_port, receiver_port: None, env: config.env.clone() };
                let cell = Arc::clone(&shared_cell);
                let after_traces: crate::server::trace_agent::AfterTraces = Arc::new(move || {
                    if let Some(shared) = cell.get().and_then(std::sync::Weak::upgrade) {
                        flush_traces_if_full(shared);
                    }
                });
                Some(
                    TraceAgentListener::start(listener, Arc::clone(buffer), info, None, Some(after_traces))
                        .map_err(|e| bind_error(ServiceName::TraceAgent, &config.trace_agent_host, config.trace_agent_port, &e))?,
                )
            }
            _ => None,
        };
        let ports = ServicesPorts { dogstatsd: dogstatsd_port, trace_agent: trace_agent.as_ref().map(|l| l.port) };
        let dogstatsd_counters = dogstatsd.as_ref().map(|l| Arc::clone(&l.counters));
        let trace_agent_stats = trace_agent.as_ref().map(|l| Box::new(l.stats_handle()) as Box<dyn Fn() -> TraceAgentHttpStats + Send + Sync>);
        let shared = Arc::new(Shared {
            config,
            emitter,
            aggregator,
            traces,
            intake,
            dogstatsd: tokio::sync::Mutex::new(dogstatsd),
            trace_agent: tokio::sync::Mutex::new(trace_agent),
            dogstatsd_counters,
            trace_agent_stats,
            ports,
            timers: CancellationToken::new(),
            size_flushing: std::sync::atomic::AtomicBool::new(false),
            metrics_flushes: AtomicU64::new(0),
            trace_flushes: AtomicU64::new(0),
            state: Mutex::new(State::Running),
            final_stats: Mutex::new(None),
        });
        let _ = shared_cell.set(Arc::downgrade(&shared));
        let config = &shared.config;
        if let Some(port) = ports.dogstatsd {
            let line = format!("dogstatsd listening on {}:{port}", config.dogstatsd_host);
            shared.emitter.emit(Some(ServicesStatus::new(StatusKind::Ready).service(ServiceName::DogStatsD).port(port)), LogLevel::Info, Some(&line));
        }
        if let Some(port) = ports.trace_agent {
            let line = format!("trace agent listening on {}:{port}", config.trace_agent_host);
            shared.emitter.emit(Some(ServicesStatus::new(StatusKind::Ready).service(ServiceName::TraceAgent).port(port)), LogLevel::Info, Some(&line));
        }
        if shared.aggregator.is_some() {
            handle.spawn(flush_timer(Arc::clone(&shared), Duration::from_millis(config.flush_interval_ms), true));
        }
        if shared.traces.is_some() {
            handle.spawn(flush_timer(Arc::clone(&shared), Duration::from_millis(config.trace_flush_interval_ms), false));
        }
        drop(_entered);
        Ok(Services { runtime: Mutex::new(runtime), handle, shared, stopping: Mutex::new(None) })
    }

    /// [`Services::start`] from options given as JSON (camelCase, as JS passes them).
    pub fn start_json(options: &serde_json::Value, sink: Option<StatusSink>) -> Result<Services, ServicesError> {
        Services::start(resolve_config_value(options)?, sink)
    }

    pub fn config(&self) -> &ResolvedConfig {
        &self.shared.config
    }

    pub fn ports(&self) -> ServicesPorts {
        self.shared.ports
    }

    pub fn is_running(&self) -> bool {
        *self.shared.state.lock().unwrap_or_else(PoisonError::into_inner) == State::Running
    }

    pub fn stats(&self) -> ServicesStats {
        if let Some(stats) = self.shared.final_stats.lock().unwrap_or_else(PoisonError::into_inner).clone() {
            return stats;
        }
        live_stats(&self.shared, self.is_running())
    }

    /// Sends everything received so far, open buckets included (a serverless function calls
    /// this before it is frozen); resolves once each payload is delivered or dropped. Does
    /// nothing when not running.
    pub async fn flush_async(&self) {
        if !self.is_running() {
            return;
        }
        let shared = Arc::clone(&self.shared);
        let _ = self.handle.spawn(async move { flush_all(&shared).await }).await;
    }

    /// Blocking [`Services::flush_async`].
    pub fn flush(&self) {
        if !self.is_running() {
            return;
        }
        let (done, wait) = std::sync::mpsc::channel();
        let shared = Arc::clone(&self.shared);
        self.handle.spawn(async move {
            flush_all(&shared).await;
            let _ = done.send(());
        });
        let _ = wait.recv();
    }

    /// Stops with a final flush within `timeout`; see the module documentation. Calls after
    /// the first share its outcome; on a stopped instance, resolves at once with Ok.
    pub async fn stop_async(&self, timeout: Duration) -> Result<(), ServicesError> {
        let mut receiver = self.begin_stop(timeout);
        let outcome = loop {
            if let Some(outcome) = receiver.borrow_and_update().clone() {
                break outcome;
            }
            if receiver.changed().await.is_err() {
                break Ok(());
            }
        };
        self.release_runtime();
        outcome
    }

    /// Blocking [`Services::stop_async`].
    pub fn stop(&self, timeout: Duration) -> Result<(), ServicesError> {
        let mut receiver = self.begin_stop(timeout);
        let (done, wait) = std::sync::mpsc::channel();
        self.handle.spawn(async move {
            let outcome = loop {
                if let Some(outcome) = receiver.borrow_and_update().clone() {
                    break outcome;
                }
                if receiver.changed().await.is_err() {
                    break Ok(());
                }
            };
            let _ = done.send(outcome);
        });
        let outcome = wait.recv().unwrap_or(Ok(()));
        self.release_runtime();
        outcome
    }

    fn begin_stop(&self, timeout: Duration) -> watch::Receiver<StopOutcome> {
        let mut stopping = self.stopping.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(receiver) = stopping.as_ref() {
            return receiver.clone();
        }
        let (sender, receiver) = watch::channel(None);
        {
            let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            if *state != State::Running {
                let _ = sender.send(Some(Ok(())));
                *stopping = Some(receiver.clone());
                return receiver;
            }
            *state = State::Stopping;
        }
        let shared = Arc::clone(&self.shared);
        self.handle.spawn(async move {
            let outcome = shutdown(&shared, timeout).await;
            let _ = sender.send(Some(outcome));
        });
        *stopping = Some(receiver.clone());
        receiver
    }

    /// Shuts the runtime down without waiting (an abandoned intake request finishes alone).
    fn release_runtime(&self) {
        if let Some(runtime) = self.runtime.lock().unwrap_or_else(PoisonError::into_inner).0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.shared.timers.cancel();
        self.shared.intake.abort();
        *self.shared.state.lock().unwrap_or_else(PoisonError::into_inner) = State::Stopped;
        self.release_runtime();
    }
}

fn live_stats(shared: &Shared, running: bool) -> ServicesStats {
    let dogstatsd = DogStatsDServiceStats {
        aggregator: shared.aggregator.as_ref().map(|a| a.lock().unwrap_or_else(PoisonError::into_inner).stats()).unwrap_or_default(),
        socket_errors: shared.dogstatsd_counters.as_ref().map_or(0, |c| c.socket_errors.load(Ordering::Relaxed)),
        handler_errors: shared.dogstatsd_counters.as_ref().map_or(0, |c| c.handler_errors.load(Ordering::Relaxed)),
        receive_buffer_bytes: shared.dogstatsd_counters.as_ref().map_or(0, |c| c.receive_buffer_bytes.load(Ordering::Relaxed)),
    };
    let http = shared.trace_agent_stats.as_ref().map(|view| view()).unwrap_or_default();
    let trace_agent = TraceAgentServiceStats {
        buffer: shared.traces.as_ref().map(|t| t.lock().unwrap_or_else(PoisonError::into_inner).stats()).unwrap_or_default(),
        http,
    };
    ServicesStats {
        backend: "native",
        running,
        dogstatsd,
        trace_agent,
        intake: shared.intake.stats(),
        flushes: FlushCounts { metrics: shared.metrics_flushes.load(Ordering::Relaxed), traces: shared.trace_flushes.load(Ordering::Relaxed) },
    }
}

async fn flush_timer(shared: Arc<Shared>, period: Duration, metrics: bool) {
    let mut interval = tokio::time::interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.timers.cancelled() => return,
            _ = interval.tick() => {
                // Each flush runs on its own task so that a slow intake never delays the next tick.
                let shared = Arc::clone(&shared);
                if metrics {
                    tokio::spawn(async move { flush_metrics(&shared, false).await });
                } else {
                    tokio::spawn(async move { flush_traces(&shared).await });
                }
            }
        }
    }
}

/// Hands every payload to the intake client now (the sends are spawned before this returns)
/// and returns a future counting (delivered, dropped).
fn send_all(shared: &Shared, payloads: Vec<IntakePayload>) -> impl std::future::Future<Output = (usize, usize)> {
    let handles: Vec<_> = payloads
        .into_iter()
        .map(|payload| shared.intake.submit(payload))
        .collect();
    async move {
        let mut delivered = 0;
        let total = handles.len();
        for handle in handles {
            if handle.await.is_ok_and(|result: DeliveryResult| result.delivered()) {
                delivered += 1;
            }
        }
        (delivered, total - delivered)
    }
}

async fn flush_metrics(shared: &Shared, final_flush: bool) {
    let Some(aggregator) = &shared.aggregator else { return };
    let hold = shared.intake.hold();
    let flushed = aggregator.lock().unwrap_or_else(PoisonError::into_inner).flush(now_ms(), final_flush);
    let sketch_count = usize::from(flushed.sketches.is_some());
    let mut payloads = series_payloads(&flushed.series, MAX_SERIES_BODY_BYTES);
    payloads.extend(binary_payload(IntakeEndpoint::Sketches, flushed.sketches, sketch_count as u64));
    payloads.extend(event_payloads(&flushed.events));
    payloads.extend(service_check_payloads(&flushed.service_checks));
    if payloads.is_empty() && !final_flush {
        return;
    }
    shared.metrics_flushes.fetch_add(1, Ordering::Relaxed);
    let sending = send_all(shared, payloads);
    drop(hold);
    let (delivered, dropped) = sending.await;
    let message = format!(
        "metrics: {} series, {} sketch payload{}, {} events, {} service checks ({delivered} requests delivered, {dropped} dropped)",
        flushed.series.len(),
        sketch_count,
        if sketch_count == 1 { "" } else { "s" },
        flushed.events.len(),
        flushed.service_checks.len()
    );
    shared.emitter.emit(Some(ServicesStatus::new(StatusKind::Flushed).service(ServiceName::Intake).message(message)), LogLevel::Debug, None);
}

async fn flush_traces(shared: &Shared) {
    let Some(traces) = &shared.traces else { return };
    let hold = shared.intake.hold();
    let flushed = {
        let mut buffer = traces.lock().unwrap_or_else(PoisonError::into_inner);
        if buffer.is_empty() {
            return;
        }
        buffer.flush(now_ms())
    };
    let total_bytes = flushed.agent_payloads.iter().map(Vec::len).sum::<usize>().max(1);
    let mut payloads = Vec::new();
    for body in flushed.agent_payloads {
        // Spans are reported per flush, not per payload: share them by size for drop accounting.
        let items = ((flushed.spans * body.len()) as f64 / total_bytes as f64).round() as u64;
        payloads.extend(binary_payload(IntakeEndpoint::Traces, Some(body), items));
    }
    payloads.extend(binary_payload(IntakeEndpoint::Stats, flushed.stats, flushed.stats_payloads as u64));
    shared.trace_flushes.fetch_add(1, Ordering::Relaxed);
    let sending = send_all(shared, payloads);
    drop(hold);
    let (delivered, dropped) = sending.await;
    let message = format!(
        "traces: {} traces, {} spans, {} stats payloads ({delivered} requests delivered, {dropped} dropped)",
        flushed.traces, flushed.spans, flushed.stats_payloads
    );
    shared.emitter.emit(Some(ServicesStatus::new(StatusKind::Flushed).service(ServiceName::Intake).message(message)), LogLevel::Debug, None);
}

fn flush_traces_if_full(shared: Arc<Shared>) {
    let full = shared.traces.as_ref().is_some_and(|t| t.lock().unwrap_or_else(PoisonError::into_inner).stats().buffered_spans >= SIZE_FLUSH_SPANS);
    if !full || shared.size_flushing.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async move {
        flush_traces(&shared).await;
        shared.size_flushing.store(false, Ordering::Release);
    });
}

async fn flush_all(shared: &Shared) {
    tokio::join!(flush_metrics(shared, true), flush_traces(shared));
    shared.intake.drain().await;
}

async fn shutdown(shared: &Arc<Shared>, timeout: Duration) -> Result<(), ServicesError> {
    let deadline = Instant::now() + timeout;
    shared.timers.cancel();
    let work = async {
        let mut dogstatsd = shared.dogstatsd.lock().await;
        let mut trace_agent = shared.trace_agent.lock().await;
        let close_udp = async {
            if let Some(listener) = dogstatsd.as_mut() {
                listener.close().await;
            }
        };
        let close_http = async {
            if let Some(listener) = trace_agent.as_mut() {
                listener.close(deadline).await;
            }
        };
        tokio::join!(close_udp, close_http);
        flush_all(shared).await;
    };
    tokio::pin!(work);
    let expired = tokio::select! {
        () = &mut work => false,
        () = tokio::time::sleep_until(deadline) => true,
    };
    let mut failure = None;
    if expired {
        let before = shared.intake.stats();
        shared.intake.abort();
        work.await;
        let after = shared.intake.stats();
        let payloads = after.dropped.aborted - before.dropped.aborted;
        let items = after.dropped_items - before.dropped_items;
        let cut_off = shared.trace_agent.lock().await.as_ref().map_or(0, TraceAgentListener::cut_off);
        // Past the deadline with nothing lost (the last step was finishing anyway) is no failure.
        if payloads > 0 || cut_off > 0 {
            let requests =
                if cut_off > 0 { format!(", cut off {} still being received", plural(cut_off as usize, "trace request")) } else { String::new() };
            failure = Some(ServicesError::new(
                ErrorCode::ShutdownTimeout,
                format!(
                    "stop() did not finish within {} ms: dropped {} ({items} items) still waiting for the intake{requests}",
                    timeout.as_millis(),
                    plural(payloads as usize, "payload")
                ),
            ));
        }
    }
    shared.intake.abort();
    let mut stats = live_stats(shared, false);
    stats.running = false;
    *shared.final_stats.lock().unwrap_or_else(PoisonError::into_inner) = Some(stats);
    *shared.state.lock().unwrap_or_else(PoisonError::into_inner) = State::Stopped;
    if let Some(failure) = &failure {
        shared.emitter.emit(Some(ServicesStatus::new(StatusKind::Error).service(ServiceName::Intake).message(failure.message.clone())), LogLevel::Error, None);
    }
    shared.emitter.emit(Some(ServicesStatus::new(StatusKind::Stopped)), LogLevel::Info, Some("services stopped"));
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

/// The stateful handle the JS `ServerlessServices` class mirrors: idle → running → stopped,
/// and start() again from stopped.
#[derive(Default)]
pub struct ServerlessServices {
    current: Mutex<Option<Arc<Services>>>,
}

impl ServerlessServices {
    pub fn new() -> Self {
        ServerlessServices::default()
    }

    /// # Errors
    /// `ALREADY_STARTED` while running or stopping; else as [`Services::start`].
    pub fn start(&self, config: ResolvedConfig, sink: Option<StatusSink>) -> Result<(), ServicesError> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        Self::check_not_started(current.as_ref())?;
        *current = Some(Arc::new(Services::start(config, sink)?));
        Ok(())
    }

    /// [`ServerlessServices::start`] from JSON options; `INVALID_CONFIG` names the field.
    /// `ALREADY_STARTED` is checked first, as in TS.
    pub fn start_json(&self, options: &serde_json::Value, sink: Option<StatusSink>) -> Result<(), ServicesError> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        Self::check_not_started(current.as_ref())?;
        *current = Some(Arc::new(Services::start(resolve_config_value(options)?, sink)?));
        Ok(())
    }

    fn check_not_started(current: Option<&Arc<Services>>) -> Result<(), ServicesError> {
        let Some(services) = current else { return Ok(()) };
        let state = *services.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state == State::Stopped {
            return Ok(());
        }
        let what = if state == State::Stopping { "stopping" } else { "started" };
        Err(ServicesError::new(ErrorCode::AlreadyStarted, format!("the services are already {what}: call stop() first")))
    }

    fn services(&self) -> Option<Arc<Services>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn is_running(&self) -> bool {
        self.services().is_some_and(|s| s.is_running())
    }

    pub fn ports(&self) -> ServicesPorts {
        match self.services() {
            Some(s) if s.is_running() => s.ports(),
            _ => ServicesPorts::default(),
        }
    }

    pub fn stats(&self) -> ServicesStats {
        self.services().map_or_else(ServicesStats::empty, |s| s.stats())
    }

    pub async fn flush_async(&self) {
        if let Some(services) = self.services() {
            services.flush_async().await;
        }
    }

    pub fn flush(&self) {
        if let Some(services) = self.services() {
            services.flush();
        }
    }

    /// On an instance that is not running (never started, or stopped), resolves at once.
    pub async fn stop_async(&self, timeout: Duration) -> Result<(), ServicesError> {
        match self.services() {
            Some(services) => services.stop_async(timeout).await,
            None => Ok(()),
        }
    }

    pub fn stop(&self, timeout: Duration) -> Result<(), ServicesError> {
        match self.services() {
            Some(services) => services.stop(timeout),
            None => Ok(()),
        }
    }
}
