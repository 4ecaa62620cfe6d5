//! `ServerlessServices` for Node: conversions over `telemetry_kit_services::ServerlessServices`.
//!
//! start/flush/stop run the crate's blocking calls on libuv workers (an awaited call keeps Node
//! alive until it settles); status events reach JS through a weak, non-blocking threadsafe
//! function, so running services never hold the process open and never block their own threads
//! on the JS one. Errors cross as `CODE: message` or `CODE[field]: message` and become
//! `ServicesError` in packages/node/src/services.ts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use telemetry_kit_services::{ServerlessServices, ServicesError, ServicesStatus, StatusSink};

use crate::{guarded, EngineTask};

/// Called with each status as JSON; weak: it never keeps the event loop alive.
type StatusCallback = ThreadsafeFunction<String, (), String, Status, false, true>;

fn services_error(error: ServicesError) -> Error {
    let code = error.code.as_str();
    let message = match &error.field {
        Some(field) => format!("{code}[{field}]: {}", error.message),
        None => format!("{code}: {}", error.message),
    };
    Error::new(Status::GenericFailure, message)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|error| Error::new(Status::GenericFailure, format!("INVALID_CONFIG: cannot encode: {error}")))
}

/// Counts what it queues for JS, so the wrapper can wait for statuses raised during a call
/// before that call's promise settles (the threadsafe function and the task completion are
/// two separate queues into the event loop).
fn status_sink(callback: StatusCallback, sent: Arc<AtomicU64>) -> StatusSink {
    let callback = Arc::new(callback);
    Arc::new(move |status: ServicesStatus| {
        if let Ok(json) = serde_json::to_string(&status) {
            // `Closing` means Node is exiting: nobody is left to tell.
            if callback.call(json, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok {
                sent.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
}

/// The native services; the JS wrapper gives it the same API as the TypeScript class.
#[napi(js_name = "ServerlessServices")]
pub struct NativeServerlessServices {
    inner: Arc<ServerlessServices>,
    statuses_sent: Arc<AtomicU64>,
}

impl Default for NativeServerlessServices {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl NativeServerlessServices {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeServerlessServices { inner: Arc::new(ServerlessServices::new()), statuses_sent: Arc::new(AtomicU64::new(0)) }
    }

    /// Binds both listeners; resolves once they are bound. `config_json` is the user's
    /// ServicesConfig (already validated by the JS side with the same rules).
    #[napi(ts_args_type = "configJson: string, onStatus: (statusJson: string) => void", ts_return_type = "Promise<void>")]
    pub fn start(&self, config_json: String, on_status: StatusCallback) -> Result<AsyncTask<EngineTask<()>>> {
        let options: serde_json::Value = serde_json::from_str(&config_json)
            .map_err(|error| Error::new(Status::InvalidArg, format!("INVALID_CONFIG: malformed config: {error}")))?;
        let inner = Arc::clone(&self.inner);
        let sink = status_sink(on_status, Arc::clone(&self.statuses_sent));
        Ok(EngineTask::spawn(move || inner.start_json(&options, Some(sink)).map_err(services_error)))
    }

    /// Statuses queued for the JS callback so far (across starts).
    #[napi]
    pub fn statuses_sent(&self) -> f64 {
        self.statuses_sent.load(Ordering::SeqCst) as f64
    }

    #[napi]
    pub fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// `{"dogstatsd": port | null, "traceAgent": port | null}`.
    #[napi]
    pub fn ports_json(&self) -> Result<String> {
        guarded(|| to_json(&self.inner.ports()))
    }

    /// The same JSON as the TypeScript `stats()`.
    #[napi]
    pub fn stats_json(&self) -> Result<String> {
        guarded(|| to_json(&self.inner.stats()))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn flush(&self) -> AsyncTask<EngineTask<()>> {
        let inner = Arc::clone(&self.inner);
        EngineTask::spawn(move || {
            inner.flush();
            Ok(())
        })
    }

    /// Stops accepting, drains, flushes; rejects `SHUTDOWN_TIMEOUT` past `timeout_ms`.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop(&self, timeout_ms: u32) -> AsyncTask<EngineTask<()>> {
        let inner = Arc::clone(&self.inner);
        EngineTask::spawn(move || inner.stop(Duration::from_millis(u64::from(timeout_ms))).map_err(services_error))
    }
}
