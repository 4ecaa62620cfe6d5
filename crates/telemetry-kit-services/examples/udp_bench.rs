//! DogStatsD throughput of the native server: a sender thread in this process blasts
//! datagrams of 20 lines (realistic tags, 10,000 contexts) at a started `Services` over
//! loopback UDP; prints lines/s processed and how many were dropped.
//!
//!   cargo run --release -p telemetry-kit-services --example udp_bench [datagrams] [pause_every]
//!
//! `pause_every` (default 0: never) yields the sender for 50 µs after that many datagrams, to
//! find the rate with zero drops on a given machine.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use serde_json::json;
use telemetry_kit_services::{resolve_config_value, Services};

fn main() {
    let mut args = std::env::args().skip(1);
    let datagrams: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let pause_every: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let options = json!({
        "dogstatsdPort": 0, "useTraceAgent": false, "logLevel": "off",
        "flushIntervalMs": 3_600_000, "maxContexts": 1_000_000, "ddUrl": "http://127.0.0.1:9",
    });
    let services = Services::start(resolve_config_value(&options).expect("valid config"), None).expect("start");
    let port = services.ports().dogstatsd.expect("port");

    // 20 lines a datagram; 500 names × 20 tag sets = 10,000 contexts.
    const LINES: usize = 20;
    let bodies: Vec<Vec<u8>> = (0..500)
        .map(|d| {
            (0..LINES)
                .map(|l| {
                    let n = d * LINES + l;
                    let kind = ["c", "g", "ms", "h", "d", "c"][n % 6];
                    format!("app.metric.{}:{}|{kind}|#env:prod,service:checkout,host:h{},region:eu-west-1\n", n % 500, n % 97, (n / 500) % 20)
                })
                .collect::<String>()
                .into_bytes()
        })
        .collect();

    let sender = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let started = Instant::now();
    for i in 0..datagrams {
        let _ = sender.send_to(&bodies[i % bodies.len()], ("127.0.0.1", port));
        if pause_every > 0 && i % pause_every == pause_every - 1 {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    let sent_in = started.elapsed();
    // Wait until the server stops making progress.
    let mut last = 0;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = services.stats().dogstatsd.aggregator.lines;
        if now == last {
            break;
        }
        last = now;
    }
    let stats = services.stats().dogstatsd;
    let processed_in = started.elapsed() - Duration::from_millis(100);
    let sent_lines = (datagrams * LINES) as u64;
    println!(
        "sent {} lines in {:.3} s; processed {} lines ({} datagrams, {} contexts, {} parse errors) in {:.3} s: {:.0} lines/s; dropped {} lines ({:.2}%); receive buffer {} bytes",
        sent_lines,
        sent_in.as_secs_f64(),
        stats.aggregator.lines,
        stats.aggregator.packets,
        stats.aggregator.contexts,
        stats.aggregator.parse_errors,
        processed_in.as_secs_f64(),
        stats.aggregator.lines as f64 / processed_in.as_secs_f64(),
        sent_lines - stats.aggregator.lines,
        100.0 * (sent_lines - stats.aggregator.lines) as f64 / sent_lines as f64,
        stats.receive_buffer_bytes,
    );
    drop(services);
}
