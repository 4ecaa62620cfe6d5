//! End to end on real sockets: a started `Services` on 127.0.0.1 ephemeral ports receives
//! DogStatsD datagrams over UDP and traces over HTTP, and flushes to a local fake intake that
//! decodes gzip, JSON and protobuf for real. Every fault of the TS suite has its own test.

mod common;

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{post, raw_http, FakeIntake};
use rmpv::Value;
use serde_json::json;
use telemetry_kit_services::{resolve_config_value, ErrorCode, ServerlessServices, Services, ServicesStatus, StatusKind, StatusSink};

fn config(intake: &FakeIntake, extra: serde_json::Value) -> telemetry_kit_services::ResolvedConfig {
    let mut options = json!({
        "apiKey": "test-key",
        "ddUrl": intake.url,
        "apmDdUrl": intake.url,
        "dogstatsdPort": 0,
        "traceAgentPort": 0,
        "flushIntervalMs": 3_600_000,
        "traceFlushIntervalMs": 3_600_000,
        "logLevel": "off",
        "retry": {"maxAttempts": 4, "baseDelayMs": 1, "maxDelayMs": 5},
    });
    for (k, v) in extra.as_object().expect("object") {
        options[k] = v.clone();
    }
    resolve_config_value(&options).expect("valid config")
}

fn recorder() -> (StatusSink, Arc<Mutex<Vec<ServicesStatus>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    (Arc::new(move |status| sink_seen.lock().expect("statuses").push(status)), seen)
}

fn send_udp(port: u16, datagrams: &[&[u8]]) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for datagram in datagrams {
        socket.send_to(datagram, ("127.0.0.1", port)).expect("send");
    }
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, value).expect("encode");
    out
}

fn span(trace_id: u64, span_id: u64, parent_id: u64) -> Value {
    Value::Map(vec![
        (Value::from("service"), Value::from("web")),
        (Value::from("name"), Value::from("http.request")),
        (Value::from("resource"), Value::from("GET /")),
        (Value::from("trace_id"), Value::from(trace_id)),
        (Value::from("span_id"), Value::from(span_id)),
        (Value::from("parent_id"), Value::from(parent_id)),
        (Value::from("start"), Value::from(1_700_000_000_000_000_000_i64)),
        (Value::from("duration"), Value::from(1_000_000)),
        (Value::from("meta"), Value::Map(vec![(Value::from("http.status_code"), Value::from("200"))])),
    ])
}

/// Waits until the services counted `packets` datagrams (UDP is asynchronous).
async fn wait_packets(services: &Services, packets: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while services.stats().dogstatsd.aggregator.packets < packets {
        assert!(Instant::now() < deadline, "datagrams did not arrive: {:?}", services.stats().dogstatsd);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_over_udp_reach_the_intake_at_stop() {
    let intake = FakeIntake::start().await;
    let (sink, statuses) = recorder();
    let services = Services::start(config(&intake, json!({"tags": ["env:test"]})), Some(sink)).expect("start");
    let ports = services.ports();
    let port = ports.dogstatsd.expect("dogstatsd port");
    assert_ne!(port, 0);
    assert!(ports.trace_agent.is_some_and(|p| p != 0));
    send_udp(port, &[
        b"page.views:1|c|@0.5\npage.views:2|c\nfuel:0.5|g\nfuel:0.75|g",
        b"lat:10|h\nlat:20|h\nlat:30|ms\nusers:a|s\nusers:b|s\nusers:a|s",
        b"size:1:2:3:4|d|#shard:1\n_e{5,4}:title|text|t:warning\n_sc|db.up|2|m:down\nbad line\nx:1|q",
    ]);
    wait_packets(&services, 3).await;
    services.stop_async(Duration::from_secs(5)).await.expect("stop");
    assert!(!services.is_running());

    let series = intake.by_path("/api/v2/series");
    assert_eq!(series.len(), 1, "one series request");
    let request = &series[0];
    assert_eq!(request.headers.get("dd-api-key").map(String::as_str), Some("test-key"));
    assert_eq!(request.headers.get("content-encoding").map(String::as_str), Some("gzip"));
    assert_eq!(request.headers.get("content-type").map(String::as_str), Some("application/json"));
    let body = request.json();
    let by_metric = |name: &str| body["series"].as_array().expect("series").iter().find(|s| s["metric"] == name).cloned().expect(name);
    let views = by_metric("page.views");
    assert_eq!((views["type"].as_u64(), views["interval"].as_u64()), (Some(2), Some(10)));
    assert_eq!(views["points"][0]["value"].as_f64(), Some(0.4), "(1/0.5 + 2) / 10");
    assert_eq!(views["tags"], json!(["env:test"]));
    assert_eq!(by_metric("fuel")["points"][0]["value"].as_f64(), Some(0.75));
    assert_eq!(by_metric("users")["points"][0]["value"].as_f64(), Some(2.0));
    assert_eq!(by_metric("lat.max")["points"][0]["value"].as_f64(), Some(30.0));
    assert_eq!(by_metric("lat.avg")["points"][0]["value"].as_f64(), Some(20.0));
    assert_eq!(by_metric("lat.count")["points"][0]["value"].as_f64(), Some(0.3));

    let sketches = intake.by_path("/api/beta/sketches");
    assert_eq!(sketches.len(), 1);
    let payload = sketches[0].sketches();
    assert_eq!(payload.sketches[0].metric, "size");
    assert_eq!(payload.sketches[0].tags, vec!["env:test", "shard:1"]);
    let dogsketch = &payload.sketches[0].dogsketches[0];
    assert_eq!((dogsketch.cnt, dogsketch.min, dogsketch.max, dogsketch.sum), (4, 1.0, 4.0, 10.0));

    let events = intake.by_path("/api/v1/events");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].json()["alert_type"], "warning");
    assert!(!events[0].headers.contains_key("content-encoding"));
    let checks = intake.by_path("/api/v1/check_run");
    assert_eq!(checks[0].json()[0]["status"], 2);

    let stats = services.stats();
    assert!(!stats.running);
    assert_eq!(stats.backend, "native");
    assert_eq!(stats.dogstatsd.aggregator.packets, 3);
    assert_eq!(stats.dogstatsd.aggregator.parse_errors, 2);
    assert_eq!(stats.intake.delivered, 4);
    assert_eq!(stats.flushes.metrics, 1);
    let stats_json = serde_json::to_value(&stats).expect("json");
    for key in ["packets", "lines", "metrics", "parseErrors", "errors", "contexts", "contextsDropped", "socketErrors", "handlerErrors", "receiveBufferBytes"] {
        assert!(stats_json["dogstatsd"].get(key).is_some(), "dogstatsd.{key}");
    }
    assert_eq!(stats_json["dogstatsd"]["errors"]["unknown_type"], 1);
    for key in ["payloads", "decodeErrors", "decodeErrorsByReason", "tracesDropped", "requests", "responses", "disconnects", "cutOff"] {
        assert!(stats_json["traceAgent"].get(key).is_some(), "traceAgent.{key}");
    }

    let kinds: Vec<StatusKind> = statuses.lock().expect("statuses").iter().map(|s| s.kind).collect();
    assert_eq!(&kinds[..2], &[StatusKind::Ready, StatusKind::Ready]);
    assert!(kinds.contains(&StatusKind::Flushed));
    assert_eq!(kinds.last(), Some(&StatusKind::Stopped));
    let ready = statuses.lock().expect("statuses")[0].clone();
    assert_eq!(ready.port, Some(port));

    // stop() on a stopped instance: resolves at once, nothing more is sent.
    services.stop_async(Duration::from_secs(1)).await.expect("second stop");
    assert_eq!(intake.by_path("/api/v2/series").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_sends_open_buckets_and_timers_flush_on_their_own() {
    let intake = FakeIntake::start().await;
    let services = Services::start(config(&intake, json!({"flushIntervalMs": 50})), None).expect("start");
    let port = services.ports().dogstatsd.expect("port");
    send_udp(port, &[b"a:1|c"]);
    wait_packets(&services, 1).await;
    services.flush_async().await;
    assert_eq!(intake.by_path("/api/v2/series").len(), 1, "flush() sends the open bucket");
    assert_eq!(services.stats().flushes.metrics, 1);
    send_udp(port, &[b"_e{1,1}:a|b"]);
    intake.wait_for(|r| r.iter().any(|q| q.path == "/api/v1/events"), Duration::from_secs(5)).await;
    services.stop_async(Duration::from_secs(5)).await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_keep_exact_ids_end_to_end() {
    let intake = FakeIntake::start().await;
    let services = Services::start(config(&intake, json!({"env": "Prod", "tags": ["service:checkout", "team:web"]})), None).expect("start");
    let port = services.ports().trace_agent.expect("port");
    let big = u64::MAX;
    let above_2_53 = (1u64 << 53) + 1;
    let body = encode(&Value::Array(vec![Value::Array(vec![span(big, above_2_53, 0), span(big, 7, above_2_53)])]));
    let (status, head, answer) = post(port, "/v0.4/traces", &body, "Content-Type: application/msgpack\r\nDatadog-Meta-Lang: nodejs\r\n").await;
    assert_eq!(status, 200);
    assert!(head.to_lowercase().contains("content-type: application/json"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&answer).expect("json"), json!({"rate_by_service": {"service:,env:": 1}}));

    // v0.5: [string table, traces].
    let strings = Value::Array(["", "svc5", "op", "res", "web"].iter().map(|s| Value::from(*s)).collect());
    let v05_span = Value::Array(vec![
        Value::from(1),
        Value::from(2),
        Value::from(3),
        Value::from(1u64 << 63),
        Value::from(u64::MAX - 1),
        Value::from(0),
        Value::from(1_700_000_000_000_000_000_i64),
        Value::from(5),
        Value::from(0),
        Value::Map(vec![]),
        Value::Map(vec![]),
        Value::from(4),
    ]);
    let body = encode(&Value::Array(vec![strings, Value::Array(vec![Value::Array(vec![v05_span])])]));
    assert_eq!(post(port, "/v0.5/traces", &body, "").await.0, 200);

    services.stop_async(Duration::from_secs(5)).await.expect("stop");
    let requests = intake.by_path("/api/v0.2/traces");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].headers.get("content-type").map(String::as_str), Some("application/x-protobuf"));
    let payload = requests[0].agent_payload();
    assert_eq!(payload.env, "prod");
    assert_eq!(payload.tags.get("team").map(String::as_str), Some("web"));
    let spans: Vec<_> = payload.tracer_payloads.iter().flat_map(|t| &t.chunks).flat_map(|c| &c.spans).collect();
    assert_eq!(spans.len(), 3);
    assert!(spans.iter().any(|s| s.trace_id == big && s.span_id == above_2_53 && s.parent_id == 0));
    assert!(spans.iter().any(|s| s.trace_id == big && s.span_id == 7 && s.parent_id == above_2_53));
    assert!(spans.iter().any(|s| s.trace_id == 1u64 << 63 && s.span_id == u64::MAX - 1 && s.service == "svc5"));
    assert!(spans.iter().all(|s| s.meta.get("env").map(String::as_str) == Some("prod")));
    assert_eq!(payload.tracer_payloads.iter().find(|t| t.language_name == "nodejs").map(|t| t.chunks.len()), Some(1));
    let stats = services.stats().trace_agent;
    assert_eq!((stats.buffer.traces, stats.buffer.spans, stats.buffer.flushed_spans), (2, 3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_trace_buffer_flushes_before_the_timer() {
    let intake = FakeIntake::start().await;
    let services = Services::start(config(&intake, json!({"useDogstatsd": false})), None).expect("start");
    let port = services.ports().trace_agent.expect("port");
    let trace: Vec<Value> = (1..=10_000u64).map(|id| span(99, id, if id == 1 { 0 } else { 1 })).collect();
    let body = encode(&Value::Array(vec![Value::Array(trace)]));
    assert_eq!(post(port, "/v0.4/traces", &body, "").await.0, 200);
    let requests = intake.wait_for(|r| r.iter().any(|q| q.path == "/api/v0.2/traces"), Duration::from_secs(10)).await;
    let payload = requests.iter().find(|q| q.path == "/api/v0.2/traces").expect("traces").agent_payload();
    assert_eq!(payload.tracer_payloads[0].chunks[0].spans.len(), 10_000);
    assert_eq!(services.stats().flushes.traces, 1, "flushed by size, the hour-long timer never ticked");
    services.stop_async(Duration::from_secs(5)).await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_agent_status_codes() {
    let intake = FakeIntake::start().await;
    let services = Services::start(config(&intake, json!({})), None).expect("start");
    let port = services.ports().trace_agent.expect("port");

    let (status, _, body) = post(port, "/v0.4/traces", b"\xc1\x00", "").await;
    assert_eq!(status, 400, "bad msgpack");
    assert!(body.starts_with("cannot decode v0.4 traces: bad msgpack"), "{body}");
    assert_eq!(post(port, "/v0.4/traces", &encode(&Value::from(1)), "").await.0, 400, "wrong shape");

    let (status, head, _) = raw_http(port, "PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"").await.expect("answer");
    assert_eq!(status, 411, "no length");
    assert!(head.to_lowercase().contains("connection: close"));
    let chunked = "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_http(port, chunked, b"1\r\n\x90\r\n0\r\n\r\n").await.map(|a| a.0), Some(411), "chunked");

    // 413 is answered from the headers alone: the 11 MiB body is never sent.
    let started = Instant::now();
    let over = "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 11534336\r\n\r\n";
    let (status, head, body) = raw_http(port, over, b"").await.expect("answer");
    assert_eq!(status, 413);
    assert!(head.to_lowercase().contains("connection: close"));
    assert!(body.contains("exceeds the 10485760-byte limit"));
    assert!(started.elapsed() < Duration::from_secs(5));

    let (status, _, body) = raw_http(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"").await.expect("answer");
    assert_eq!((status, body.as_str()), (404, "404 page not found\n"));
    let (status, head, _) = raw_http(port, "GET /v0.4/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"").await.expect("answer");
    assert_eq!(status, 405);
    assert!(head.to_lowercase().contains("allow: put, post"));

    let (status, _, body) = raw_http(port, "GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"").await.expect("answer");
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(info["endpoints"], json!(["/v0.4/traces", "/v0.5/traces", "/v0.6/stats", "/info"]));
    assert_eq!(info["config"]["receiver_port"], port);
    assert_eq!(info["config"]["statsd_port"], services.ports().dogstatsd.expect("statsd"));
    assert_eq!(info["client_drop_p0s"], false);

    // A client that disconnects mid-body: counted, nothing kept.
    let cut = "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
    {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        stream.write_all(cut.as_bytes()).await.expect("head");
        stream.write_all(&[0x91; 10]).await.expect("part of the body");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while services.stats().trace_agent.http.disconnects == 0 {
        assert!(Instant::now() < deadline, "the disconnect was not counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Client stats: a valid payload is 200 OK and forwarded; an invalid one is 400.
    let stats_body = encode(&Value::Map(vec![(Value::from("Hostname"), Value::from("h")), (Value::from("Stats"), Value::Array(vec![]))]));
    let (status, _, body) = post(port, "/v0.6/stats", &stats_body, "").await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert_eq!(post(port, "/v0.6/stats", &encode(&Value::from("x")), "").await.0, 400);

    let stats = services.stats().trace_agent;
    assert_eq!(stats.http.disconnects, 1);
    assert_eq!(stats.buffer.decode_errors, 2);
    assert_eq!(stats.buffer.decode_errors_by_reason.get(telemetry_kit_services::trace::DecodeErrorReason::BadMsgpack), 1);
    assert_eq!(stats.buffer.stats_rejected, 1);
    for (code, count) in [("400", 3), ("404", 1), ("405", 1), ("411", 2), ("413", 1), ("200", 2)] {
        assert_eq!(stats.http.responses.get(code).copied(), Some(count), "responses[{code}]: {:?}", stats.http.responses);
    }

    services.stop_async(Duration::from_secs(5)).await.expect("stop");
    let forwarded = intake.by_path("/api/v0.2/stats");
    assert_eq!(forwarded.len(), 1);
    assert_eq!(forwarded[0].headers.get("content-type").map(String::as_str), Some("application/msgpack"));
    let decoded = rmpv::decode::read_value(&mut forwarded[0].body.as_slice()).expect("msgpack");
    let map = decoded.as_map().expect("map");
    assert!(map.iter().any(|(k, v)| k.as_str() == Some("ClientComputed") && v.as_bool() == Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_500_then_202_is_delivered_once() {
    let intake = FakeIntake::start().await;
    intake.respond("/api/v2/series", &[500]);
    let services = Services::start(config(&intake, json!({"useTraceAgent": false})), None).expect("start");
    send_udp(services.ports().dogstatsd.expect("port"), &[b"a:1|c"]);
    wait_packets(&services, 1).await;
    services.stop_async(Duration::from_secs(5)).await.expect("stop");
    let series = intake.by_path("/api/v2/series");
    assert_eq!(series.iter().map(|r| r.status).collect::<Vec<_>>(), vec![500, 202]);
    assert_eq!(series[0].body, series[1].body, "the same payload is resent");
    let stats = services.stats().intake;
    assert_eq!((stats.delivered, stats.retries, stats.errors, stats.requests), (1, 1, 1, 2));
    assert_eq!(stats.dropped.rejected + stats.dropped.exhausted + stats.dropped.aborted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_403_is_dropped_counted_and_reported() {
    let intake = FakeIntake::start().await;
    intake.respond("/api/v2/series", &[403, 403]);
    let (sink, statuses) = recorder();
    let services = Services::start(config(&intake, json!({"useTraceAgent": false})), Some(sink)).expect("start");
    send_udp(services.ports().dogstatsd.expect("port"), &[b"a:1|c\nb:2|g"]);
    wait_packets(&services, 1).await;
    services.stop_async(Duration::from_secs(5)).await.expect("stop");
    assert_eq!(intake.by_path("/api/v2/series").len(), 1, "a 403 is not retried");
    let stats = services.stats().intake;
    assert_eq!((stats.dropped.rejected, stats.dropped_items, stats.delivered), (1, 2, 0));
    assert!(stats.last_error.as_deref().is_some_and(|e| e.contains("403")));
    let errors: Vec<ServicesStatus> = statuses.lock().expect("statuses").iter().filter(|s| s.kind == StatusKind::Error).cloned().collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.as_deref().is_some_and(|m| m.contains("403") && m.contains("/api/v2/series")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_resolves_within_its_timeout_when_the_intake_is_down() {
    // Nothing listens there: every attempt is refused, and the backoff would go on for minutes.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let down = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let options = json!({
        "ddUrl": down, "apmDdUrl": down, "dogstatsdPort": 0, "traceAgentPort": 0, "logLevel": "off",
        "flushIntervalMs": 3_600_000, "retry": {"maxAttempts": 20, "baseDelayMs": 60_000, "maxDelayMs": 300_000},
    });
    let services = Services::start(resolve_config_value(&options).expect("valid"), None).expect("start");
    send_udp(services.ports().dogstatsd.expect("port"), &[b"a:1|c"]);
    wait_packets(&services, 1).await;
    let started = Instant::now();
    let error = services.stop_async(Duration::from_millis(300)).await.expect_err("timeout");
    let elapsed = started.elapsed();
    assert_eq!(error.code, ErrorCode::ShutdownTimeout);
    assert!(error.message.contains("dropped 1 payload"), "{}", error.message);
    assert!(elapsed < Duration::from_millis(1_500), "stop took {elapsed:?}");
    assert_eq!(services.stats().intake.dropped.aborted, 1);
    assert!(!services.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_resolves_within_its_timeout_when_the_intake_hangs() {
    let intake = FakeIntake::start().await;
    intake.hang();
    let services = Services::start(config(&intake, json!({"requestTimeoutMs": 60_000})), None).expect("start");
    send_udp(services.ports().dogstatsd.expect("port"), &[b"a:1|c"]);
    wait_packets(&services, 1).await;
    let started = Instant::now();
    let error = services.stop_async(Duration::from_millis(300)).await.expect_err("timeout");
    assert_eq!(error.code, ErrorCode::ShutdownTimeout);
    assert!(started.elapsed() < Duration::from_millis(1_500), "stop took {:?}", started.elapsed());
}

#[test]
fn taken_ports_are_port_in_use_naming_the_field() {
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let options = json!({"dogstatsdPort": udp.local_addr().expect("address").port(), "traceAgentPort": 0, "logLevel": "off"});
    let error = Services::start(resolve_config_value(&options).expect("valid"), None).err().expect("port in use");
    assert_eq!((error.code, error.field.as_deref()), (ErrorCode::PortInUse, Some("dogstatsdPort")));
    assert!(error.message.contains("the port is in use"));

    let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp");
    let options = json!({"dogstatsdPort": 0, "traceAgentPort": tcp.local_addr().expect("address").port(), "logLevel": "off"});
    let error = Services::start(resolve_config_value(&options).expect("valid"), None).err().expect("port in use");
    assert_eq!((error.code, error.field.as_deref()), (ErrorCode::PortInUse, Some("traceAgentPort")));
}

#[test]
fn the_stateful_handle_rejects_a_second_start_and_bad_config() {
    let handle = ServerlessServices::new();
    let error = handle.start_json(&json!({"dogstatsdPort": "8125"}), None).expect_err("invalid");
    assert_eq!((error.code, error.field.as_deref()), (ErrorCode::InvalidConfig, Some("dogstatsdPort")));
    assert!(!handle.is_running());
    assert_eq!(handle.stop(Duration::from_secs(1)), Ok(()), "stop() before start() does nothing");

    let options = json!({"dogstatsdPort": 0, "traceAgentPort": 0, "logLevel": "off", "ddUrl": "http://127.0.0.1:9"});
    handle.start_json(&options, None).expect("start");
    assert!(handle.is_running());
    assert!(handle.ports().dogstatsd.is_some());
    let error = handle.start_json(&options, None).expect_err("already started");
    assert_eq!(error.code, ErrorCode::AlreadyStarted);
    handle.stop(Duration::from_secs(2)).expect("stop");
    assert!(!handle.is_running());
    assert_eq!(handle.ports().dogstatsd, None);
    assert!(!handle.stats().running);
    // Stopped → start again.
    handle.start_json(&options, None).expect("restart");
    handle.stop(Duration::from_secs(2)).expect("stop again");
}

#[test]
fn dropping_running_services_neither_blocks_nor_panics() {
    let options = json!({"dogstatsdPort": 0, "traceAgentPort": 0, "logLevel": "off", "ddUrl": "http://127.0.0.1:9"});
    let services = Services::start(resolve_config_value(&options).expect("valid"), None).expect("start");
    let started = Instant::now();
    drop(services);
    assert!(started.elapsed() < Duration::from_secs(1));
}
