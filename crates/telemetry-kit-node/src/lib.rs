//! napi bindings of `telemetry-kit-core`: conversions between JS values and the core's types,
//! and nothing else. Every method that touches disk runs on a libuv worker thread
//! (`AsyncTask`) and returns a promise. Errors reach JS as `Error("<CODE>: <message>")`, which
//! `packages/node` turns into a `TelemetryError` with that code; a panic becomes a rejection.
//!
//! Sync runs two ways: `syncNow` on a libuv worker (its promise keeps Node alive until it
//! settles, as an awaited `sync()` should), and `syncInBackground` on a thread of its own that
//! reports through a weak threadsafe function, so auto-sync never holds the process open.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

mod services;
use telemetry_kit_core::engine::{Engine, EngineConfig, EngineStats};
use telemetry_kit_core::sync::{SyncCredentials, SyncPassOptions};
use telemetry_kit_core::types::{ConsentStatus, EventDraft, EventState};

/// Builder options after validation by the shared TS builder.
#[napi(object)]
pub struct NativeEngineConfig {
    pub service_name: String,
    pub service_version: String,
    pub data_dir: String,
    pub max_pending_events: u32,
    pub retention_days: u32,
    pub sanitize_paths: bool,
    pub sanitize_emails: bool,
    pub redact_keys: Vec<String>,
    pub consent_required: bool,
    pub consent_default_granted: bool,
    pub env: HashMap<String, String>,
    pub home_dir: Option<String>,
    pub language_version: String,
    pub sdk_version: String,
    /// Absent: no endpoint is configured and sync passes send nothing.
    pub sync: Option<NativeSyncCredentials>,
    /// Events per sync request.
    pub batch_size: u32,
    pub sync_gzip: bool,
    /// Bound on each sync request, in ms.
    pub sync_timeout_ms: u32,
}

#[napi(object)]
pub struct NativeSyncCredentials {
    pub endpoint: String,
    pub org_id: String,
    pub app_id: String,
    pub token: String,
    pub secret: String,
}

#[napi(object)]
pub struct NativeStats {
    pub pending: f64,
    pub synced: f64,
    pub dead_lettered: f64,
    pub dropped: f64,
    pub corrupt: f64,
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
    pub storage: String,
    pub data_dir: Option<String>,
    pub consent: String,
    pub tracking_enabled: bool,
    pub disabled_reason: Option<String>,
}

#[napi(object)]
pub struct NativeStoredEvent {
    pub state: String,
    /// The event's JSON exactly as stored.
    pub body: String,
}

fn core_error(error: telemetry_kit_core::Error) -> Error {
    Error::new(Status::GenericFailure, format!("{}: {error}", error.code().as_str()))
}

fn invalid(field: &str, message: String) -> Error {
    Error::new(Status::InvalidArg, format!("INVALID_CONFIG: invalid query: {field} {message}"))
}

/// Runs `work`, turning a core error or a panic into a JS error instead of an abort.
pub(crate) fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::new(Status::GenericFailure, format!("STORAGE: internal error in the native backend: {detail}")))
    })
}

/// A blocking engine call run on a worker thread.
pub struct EngineTask<T: Send + 'static> {
    work: Option<Box<dyn FnOnce() -> Result<T> + Send>>,
}

impl<T: ToNapiValue + TypeName + Send + 'static> EngineTask<T> {
    pub(crate) fn spawn(work: impl FnOnce() -> Result<T> + Send + 'static) -> AsyncTask<EngineTask<T>> {
        AsyncTask::new(EngineTask { work: Some(Box::new(work)) })
    }
}

impl<T: ToNapiValue + TypeName + Send + 'static> Task for EngineTask<T> {
    type Output = T;
    type JsValue = T;

    fn compute(&mut self) -> Result<T> {
        match self.work.take() {
            Some(work) => guarded(work),
            None => Err(Error::new(Status::GenericFailure, "STORAGE: task ran twice".to_string())),
        }
    }

    fn resolve(&mut self, _env: Env, output: T) -> Result<T> {
        Ok(output)
    }
}

fn parse_drafts(json: &str) -> Result<Vec<EventDraft>> {
    serde_json::from_str(json).map_err(|error| Error::new(Status::InvalidArg, format!("INVALID_CONFIG: malformed drafts: {error}")))
}

fn parse_sync_options(json: &str) -> Result<SyncPassOptions> {
    SyncPassOptions::from_json(json).map_err(|error| Error::new(Status::InvalidArg, format!("INVALID_CONFIG: {error}")))
}

/// One pass, its outcome as the JSON of `SyncOutcome` (packages/core/src/sync/outcome.ts).
fn sync_json(engine: &Engine, options: &SyncPassOptions) -> Result<String> {
    engine.sync(options).and_then(|outcome| outcome.to_json()).map_err(core_error)
}

/// Called with `(null, outcomeJson)` or `(error)`; weak: it never keeps the event loop alive.
type SyncCallback = ThreadsafeFunction<String, (), String, Status, true, true>;

fn parse_consent(status: &str) -> Result<ConsentStatus> {
    match ConsentStatus::parse(status) {
        Some(ConsentStatus::Unknown) | None => Err(invalid("status", format!("must be granted, denied or opted_out, got {status:?}"))),
        Some(parsed) => Ok(parsed),
    }
}

fn stats_to_js(stats: EngineStats) -> NativeStats {
    NativeStats {
        pending: stats.counts.pending as f64,
        synced: stats.counts.synced as f64,
        dead_lettered: stats.counts.dead_lettered as f64,
        dropped: stats.counts.dropped as f64,
        corrupt: stats.counts.corrupt as f64,
        last_sync: stats.last_sync,
        last_error: stats.last_error,
        storage: stats.storage.to_string(),
        data_dir: stats.data_dir,
        consent: stats.consent.as_str().to_string(),
        tracking_enabled: stats.tracking_enabled,
        disabled_reason: stats.disabled_reason,
    }
}

/// The crate version; the JS side refuses an addon whose version differs from its own.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[napi]
pub struct NativeTelemetryEngine {
    engine: Arc<Engine>,
}

#[napi]
impl NativeTelemetryEngine {
    /// Does no I/O: storage opens on first use.
    #[napi(constructor)]
    pub fn new(config: NativeEngineConfig) -> Self {
        let engine = Engine::new(EngineConfig {
            service_name: config.service_name,
            service_version: config.service_version,
            data_dir: config.data_dir.into(),
            max_pending_events: u64::from(config.max_pending_events),
            retention_days: u64::from(config.retention_days),
            sanitize_paths: config.sanitize_paths,
            sanitize_emails: config.sanitize_emails,
            redact_keys: config.redact_keys,
            consent_required: config.consent_required,
            consent_default_granted: config.consent_default_granted,
            env: config.env,
            home_dir: config.home_dir,
            language_version: config.language_version,
            sdk_version: config.sdk_version,
            sync_credentials: config.sync.map(|c| SyncCredentials {
                endpoint: c.endpoint,
                org_id: c.org_id,
                app_id: c.app_id,
                token: c.token,
                secret: c.secret,
            }),
            batch_size: u64::from(config.batch_size),
            sync_gzip: config.sync_gzip,
            sync_timeout_ms: u64::from(config.sync_timeout_ms),
        });
        NativeTelemetryEngine { engine: Arc::new(engine) }
    }

    #[napi(getter)]
    pub fn env_disabled_reason(&self) -> Option<String> {
        self.engine.env_disabled_reason().map(str::to_string)
    }

    #[napi]
    pub fn known_consent(&self) -> Option<String> {
        self.engine.known_consent().map(|status| status.as_str().to_string())
    }

    /// `drafts_json`: a JSON array of drafts. Resolves with one status per draft.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn persist(&self, drafts_json: String) -> AsyncTask<EngineTask<Vec<String>>> {
        let engine = Arc::clone(&self.engine);
        EngineTask::spawn(move || {
            let drafts = parse_drafts(&drafts_json)?;
            let statuses = engine.persist(&drafts).map_err(core_error)?;
            Ok(statuses.into_iter().map(|status| status.as_str().to_string()).collect())
        })
    }

    /// For the process `exit` handler: blocks the JS thread until the drafts are durable.
    #[napi]
    pub fn persist_sync(&self, drafts_json: String) -> Result<()> {
        guarded(|| {
            let drafts = parse_drafts(&drafts_json)?;
            self.engine.persist(&drafts).map(|_| ()).map_err(core_error)
        })
    }

    #[napi(ts_return_type = "Promise<NativeStats>")]
    pub fn stats(&self) -> AsyncTask<EngineTask<NativeStats>> {
        let engine = Arc::clone(&self.engine);
        EngineTask::spawn(move || engine.stats().map(stats_to_js).map_err(core_error))
    }

    #[napi(ts_return_type = "Promise<NativeStoredEvent[]>")]
    pub fn events(&self, limit: u32, state: Option<String>) -> Result<AsyncTask<EngineTask<Vec<NativeStoredEvent>>>> {
        let filter = match state.as_deref() {
            None => None,
            Some(text) => Some(EventState::parse(text).ok_or_else(|| invalid("state", format!("must be pending, synced or dead_letter, got {text:?}")))?),
        };
        let engine = Arc::clone(&self.engine);
        Ok(EngineTask::spawn(move || {
            let rows = engine.events(u64::from(limit), filter).map_err(core_error)?;
            Ok(rows.into_iter().map(|row| NativeStoredEvent { state: row.state.as_str().to_string(), body: row.body }).collect())
        }))
    }

    #[napi]
    pub fn consent_status(&self) -> String {
        self.engine.consent_status().as_str().to_string()
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn set_consent(&self, status: String) -> Result<AsyncTask<EngineTask<()>>> {
        let status = parse_consent(&status)?;
        let engine = Arc::clone(&self.engine);
        Ok(EngineTask::spawn(move || engine.set_consent(status).map_err(core_error)))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn reset_id(&self) -> AsyncTask<EngineTask<()>> {
        let engine = Arc::clone(&self.engine);
        EngineTask::spawn(move || engine.reset_id().map_err(core_error))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn close(&self) -> AsyncTask<EngineTask<()>> {
        let engine = Arc::clone(&self.engine);
        EngineTask::spawn(move || engine.close().map_err(core_error))
    }

    /// One sync pass; `options_json` is `{"maxBatches"?, "deadlineMs"?}`. Resolves with the
    /// outcome's JSON. Runs on a libuv worker, which keeps Node alive until it settles.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn sync_now(&self, options_json: String) -> Result<AsyncTask<EngineTask<String>>> {
        let options = parse_sync_options(&options_json)?;
        let engine = Arc::clone(&self.engine);
        Ok(EngineTask::spawn(move || sync_json(&engine, &options)))
    }

    /// One sync pass on a thread of its own, reported to `callback`. Nothing here keeps Node
    /// alive: when the process exits first, the pass is cut off wherever it is (events not yet
    /// marked are sent again by a later pass and stored once by the server) and the callback
    /// is never called.
    #[napi(ts_args_type = "optionsJson: string, callback: (err: Error | null, outcomeJson: string | undefined) => void")]
    pub fn sync_in_background(&self, options_json: String, callback: SyncCallback) -> Result<()> {
        let options = parse_sync_options(&options_json)?;
        let engine = Arc::clone(&self.engine);
        std::thread::Builder::new()
            .name("telemetry-kit-sync".to_string())
            .spawn(move || {
                let result = guarded(|| sync_json(&engine, &options));
                // `Closing` means Node is exiting or exited: nobody is left to tell.
                let _status = callback.call(result, ThreadsafeFunctionCallMode::NonBlocking);
            })
            .map(|_detached| ())
            .map_err(|error| Error::new(Status::GenericFailure, format!("BACKEND: cannot start the sync thread: {error}")))
    }

    /// Warnings raised since the last call (e.g. the memory fallback), each once.
    #[napi]
    pub fn take_warnings(&self) -> Vec<String> {
        self.engine.take_warnings()
    }
}

/// Panics on a worker thread. It exists so the test suite can prove that a panic in the native
/// backend reaches JS as a rejected promise instead of aborting the process.
#[napi(ts_return_type = "Promise<void>")]
pub fn panic_in_worker_for_tests() -> AsyncTask<EngineTask<()>> {
    EngineTask::spawn(|| panic!("deliberate panic"))
}
