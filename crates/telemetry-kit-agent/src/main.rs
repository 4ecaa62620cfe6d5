//! `telemetry-kit-agent`: the serverless services (DogStatsD on UDP, the Datadog trace agent
//! on HTTP) as a standalone process, configured from DD_* variables only (DESIGN.md §8).
//!
//! - prints one status line per event on stdout: `telemetry-kit-agent: ready dogstatsd on
//!   127.0.0.1:8125`, `... ready trace-agent on 127.0.0.1:8126`, `... warning <text>`,
//!   `... flushed <text>`, `... error <service> <text>`, `... stopped`;
//! - on SIGTERM or SIGINT: stops listening, flushes everything and exits 0; exits 1 when the
//!   final flush did not finish within `DD_AGENT_STOP_TIMEOUT_MS` (default 5000; data was
//!   dropped); a second signal during the flush exits at once with 128 + the signal number;
//! - a bad configuration exits 1 before binding anything, with a message naming the variable
//!   (`telemetry-kit-agent: invalid config: DD_DOGSTATSD_PORT must be a port ...`); a taken port
//!   exits 1 too (`PORT_IN_USE`).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use telemetry_kit_services::{config_from_process_env, Services, ServicesStatus, StatusKind, DEFAULT_STOP_TIMEOUT};

const NAME: &str = "telemetry-kit-agent";

fn status_line(status: &ServicesStatus, hosts: &(String, String)) -> String {
    let service = status.service.and_then(|s| serde_json::to_value(s).ok()).and_then(|v| v.as_str().map(str::to_string));
    let message = status.message.clone().unwrap_or_default();
    match status.kind {
        StatusKind::Ready => {
            let service = service.unwrap_or_default();
            let host = if service == "dogstatsd" { &hosts.0 } else { &hosts.1 };
            format!("{NAME}: ready {service} on {host}:{}", status.port.unwrap_or(0))
        }
        StatusKind::Warning => format!("{NAME}: warning {message}"),
        StatusKind::Flushed => format!("{NAME}: flushed {message}"),
        StatusKind::Error => format!("{NAME}: error {} {message}", service.unwrap_or_default()),
        StatusKind::Stopped => format!("{NAME}: stopped"),
    }
}

fn stop_timeout() -> Result<Duration, String> {
    match std::env::var("DD_AGENT_STOP_TIMEOUT_MS") {
        Err(_) => Ok(DEFAULT_STOP_TIMEOUT),
        Ok(text) if text.trim().is_empty() => Ok(DEFAULT_STOP_TIMEOUT),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("invalid config: DD_AGENT_STOP_TIMEOUT_MS must be a number of milliseconds, got {text:?}")),
    }
}

/// Resolves with the number of the first SIGTERM/SIGINT (Ctrl-C elsewhere).
#[cfg(unix)]
async fn next_signal(term: &mut tokio::signal::unix::Signal, int: &mut tokio::signal::unix::Signal) -> i32 {
    tokio::select! {
        _ = term.recv() => 15,
        _ = int.recv() => 2,
    }
}

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let fail = |message: &str| {
        eprintln!("{NAME}: {message}");
        1
    };
    let config = match config_from_process_env() {
        Ok(config) => config,
        Err(error) => return fail(&error.message),
    };
    let timeout = match stop_timeout() {
        Ok(timeout) => timeout,
        Err(message) => return fail(&message),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start: {error}")),
    };
    let hosts = (config.dogstatsd_host.clone(), config.trace_agent_host.clone());
    let sink = Arc::new(move |status: ServicesStatus| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", status_line(&status, &hosts));
        let _ = out.flush();
    });

    runtime.block_on(async move {
        // Signal handlers first: a SIGTERM right after "ready" must already be ours.
        #[cfg(unix)]
        let (mut term, mut int) = {
            use tokio::signal::unix::{signal, SignalKind};
            match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                (Ok(term), Ok(int)) => (term, int),
                _ => return fail("cannot install signal handlers"),
            }
        };
        let services = match Services::start(config, Some(sink)) {
            Ok(services) => services,
            Err(error) => return fail(&format!("{} ({})", error.message, error.code)),
        };
        #[cfg(unix)]
        next_signal(&mut term, &mut int).await;
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;

        let stopping = services.stop_async(timeout);
        #[cfg(unix)]
        let outcome = tokio::select! {
            outcome = stopping => outcome,
            signal = next_signal(&mut term, &mut int) => return 128 + signal,
        };
        #[cfg(not(unix))]
        let outcome = stopping.await;
        match outcome {
            Ok(()) => 0,
            Err(error) => fail(&format!("final flush failed: {}", error.message)),
        }
    })
}
