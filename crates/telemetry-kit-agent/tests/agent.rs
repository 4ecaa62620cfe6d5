//! The built `telemetry-kit-agent` binary, run as a user would: configured by DD_* variables,
//! it receives a metric over UDP and a trace over HTTP, and on SIGTERM flushes both to a local
//! fake intake before exiting 0. A bad variable makes it exit non-zero naming the variable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use prost::Message;
use telemetry_kit_services::proto::trace::AgentPayload;

const AGENT: &str = env!("CARGO_BIN_EXE_telemetry-kit-agent");

/// (path, gunzipped body) of every request the fake intake got.
type Recorded = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal fake intake on std threads: answers 202 and records each request.
fn fake_intake() -> (String, Recorded) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&recorded);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = Arc::clone(&sink);
            thread::spawn(move || serve(stream, &sink));
        }
    });
    (url, recorded)
}

fn serve(stream: TcpStream, sink: &Mutex<Vec<(String, Vec<u8>)>>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line.split(' ').nth(1).unwrap_or("").to_string();
        let (mut length, mut gzip) = (0usize, false);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "content-encoding: gzip" {
                gzip = true;
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if gzip {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body.as_slice()).read_to_end(&mut plain).expect("gzip");
            body = plain;
        }
        sink.lock().expect("recorded").push((path, body));
        let _ = reader.get_mut().write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}");
    }
}

fn port_of(line: &str) -> u16 {
    line.rsplit(':').next().and_then(|p| p.trim().parse().ok()).expect("a port")
}

/// [[{service, name, trace_id: u64::MAX, span_id: 42, start}]] in msgpack, written by hand.
fn one_trace() -> Vec<u8> {
    let mut body = vec![0x91, 0x91, 0x85];
    let key = |name: &str, body: &mut Vec<u8>| {
        body.push(0xa0 | name.len() as u8);
        body.extend_from_slice(name.as_bytes());
    };
    key("service", &mut body);
    key("agent-test", &mut body);
    key("name", &mut body);
    key("op", &mut body);
    key("trace_id", &mut body);
    body.extend_from_slice(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    key("span_id", &mut body);
    body.push(42);
    key("start", &mut body);
    body.push(0xcf);
    body.extend_from_slice(&1_700_000_000_000_000_000u64.to_be_bytes());
    body
}

#[cfg(unix)]
#[test]
fn runs_from_the_environment_and_flushes_on_sigterm() {
    let (url, recorded) = fake_intake();
    let mut child = Command::new(AGENT)
        .env_clear()
        .env("DD_API_KEY", "k")
        .env("DD_DD_URL", &url)
        .env("DD_APM_DD_URL", &url)
        .env("DD_DOGSTATSD_PORT", "0")
        .env("DD_APM_RECEIVER_PORT", "0")
        .env("DD_LOG_LEVEL", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the agent");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let (mut statsd, mut apm) = (None, None);
    let mut seen = Vec::new();
    while statsd.is_none() || apm.is_none() {
        let line = lines.recv_timeout(Duration::from_secs(10)).expect("ready lines");
        if line.contains("ready dogstatsd on 127.0.0.1:") {
            statsd = Some(port_of(&line));
        }
        if line.contains("ready trace-agent on 127.0.0.1:") {
            apm = Some(port_of(&line));
        }
        seen.push(line);
    }
    let (statsd, apm) = (statsd.expect("statsd"), apm.expect("apm"));

    UdpSocket::bind("127.0.0.1:0").expect("udp").send_to(b"agent.metric:3|c|#via:agent", ("127.0.0.1", statsd)).expect("send");
    let trace = one_trace();
    let mut http = TcpStream::connect(("127.0.0.1", apm)).expect("connect");
    write!(http, "PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", trace.len()).expect("head");
    http.write_all(&trace).expect("body");
    let mut answer = String::new();
    http.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // UDP is asynchronous: give the datagram a moment to be read before the signal.
    thread::sleep(Duration::from_millis(200));

    // SAFETY: kill(2) on the child's own pid, with a valid signal number.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent did not exit after SIGTERM");
        thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(500)) {
        seen.push(line);
    }
    assert_eq!(seen.last().map(String::as_str), Some("telemetry-kit-agent: stopped"), "{seen:?}");

    let recorded = recorded.lock().expect("recorded").clone();
    let series = recorded.iter().find(|(path, _)| path == "/api/v2/series").expect("series flushed before exit");
    let body: serde_json::Value = serde_json::from_slice(&series.1).expect("json");
    assert_eq!(body["series"][0]["metric"], "agent.metric");
    assert_eq!(body["series"][0]["points"][0]["value"].as_f64(), Some(0.3));
    assert_eq!(body["series"][0]["tags"], serde_json::json!(["via:agent"]));
    let traces = recorded.iter().find(|(path, _)| path == "/api/v0.2/traces").expect("traces flushed before exit");
    let payload = AgentPayload::decode(traces.1.as_slice()).expect("AgentPayload");
    let span = &payload.tracer_payloads[0].chunks[0].spans[0];
    assert_eq!((span.trace_id, span.span_id, span.service.as_str()), (u64::MAX, 42, "agent-test"));
}

#[test]
fn bad_configuration_exits_non_zero_naming_the_variable() {
    for (variable, value) in [("DD_DOGSTATSD_PORT", "99999"), ("DD_LOG_LEVEL", "loud"), ("DD_DD_URL", "ftp://x"), ("DD_APM_NON_LOCAL_TRAFFIC", "maybe")] {
        let output = Command::new(AGENT).env_clear().env(variable, value).output().expect("run the agent");
        assert_eq!(output.status.code(), Some(1), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable), "{variable}: {stderr}");
        assert!(stderr.starts_with("telemetry-kit-agent: invalid config:"), "{stderr}");
        assert!(output.stdout.is_empty(), "nothing started");
    }
}

#[test]
fn a_taken_port_exits_non_zero() {
    let taken = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = taken.local_addr().expect("address").port().to_string();
    let output = Command::new(AGENT)
        .env_clear()
        .env("DD_DOGSTATSD_PORT", &port)
        .env("DD_APM_RECEIVER_PORT", "0")
        .env("DD_LOG_LEVEL", "off")
        .output()
        .expect("run the agent");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PORT_IN_USE"));
}
