//! Aggregator throughput without sockets: the same datagrams as udp_bench fed straight to
//! `Aggregator::ingest`, to tell parsing and aggregation cost from socket cost.
//!
//!   cargo run --release -p telemetry-kit-services --example ingest_bench

use std::time::Instant;

use telemetry_kit_services::dogstatsd::{Aggregator, AggregatorOptions};

fn main() {
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
    let mut aggregator = Aggregator::new(AggregatorOptions { max_contexts: 1_000_000, ..AggregatorOptions::default() });
    let datagrams = 500_000;
    let started = Instant::now();
    for i in 0..datagrams {
        aggregator.ingest(&bodies[i % bodies.len()], 1_700_000_000_000);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let lines = aggregator.stats().lines;
    println!("{lines} lines in {elapsed:.3} s: {:.0} lines/s", lines as f64 / elapsed);
}
