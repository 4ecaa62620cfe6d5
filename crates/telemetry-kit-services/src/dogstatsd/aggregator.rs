//! DogStatsD aggregation with the Datadog Agent's semantics (DESIGN.md §8), identical to
//! packages/core/src/services/dogstatsd/aggregator.ts: the same contexts, buckets, series
//! (in the same order), sketches, events, service checks and stats for the same datagrams.
//!
//! A context is (name, aggregation kind, sorted de-duplicated tags including the global ones);
//! `ms` and `h` share the histogram kind. Samples land in `bucket_seconds` buckets by their `|T`
//! timestamp, else by arrival. Per bucket:
//!   c → sum of value/rate, flushed as a rate (v2 type 2): sum ÷ interval;
//!   g → last value, gauge (type 3);   s → number of distinct members, gauge;
//!   h/ms → `.max .median .avg .95percentile` gauges and `.count` as a rate, weights 1/rate;
//!   d → an Agent sketch, weight floor(1/rate), to the sketches intake.
//! Once `max_contexts` (context × bucket) entries are held, samples of new contexts are dropped
//! and counted; known contexts keep aggregating.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use foldhash::fast::RandomState;
use indexmap::IndexMap;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::codec::{decode_packet, split_tags, Event, Line, MetricSample, MetricType, ParseErrorKind, ServiceCheck};
use super::ddsketch::DDSketch;
use super::histogram::HistogramSamples;
use super::intake_types::{
    encode_sketch_payload, DatadogEventV1, Point, Resource, SeriesV2, ServiceCheckRun, SketchSeries, SERIES_GAUGE, SERIES_RATE,
};
use crate::proto::metrics::sketch_payload::sketch::Dogsketch;

/// Events (and, separately, service checks) held between flushes; more are dropped and counted.
pub const MAX_PENDING_EVENTS: usize = 10_000;
/// Raw tag texts remembered → canonical form; cleared wholesale when full.
const TAG_CACHE_LIMIT: usize = 20_000;

#[derive(Debug, Clone)]
pub struct AggregatorOptions {
    /// Prefixed to every metric name with a `.` (unless it already ends with one).
    pub namespace: Option<String>,
    /// Added to every metric, event and service check.
    pub global_tags: Vec<String>,
    /// Most (context × bucket) entries held at once.
    pub max_contexts: u64,
    /// The Agent's DogStatsD bucket: 10.
    pub bucket_seconds: u64,
    /// Series `host` resource, sketch `host`, default event/check host.
    pub hostname: Option<String>,
}

impl Default for AggregatorOptions {
    fn default() -> Self {
        AggregatorOptions { namespace: None, global_tags: Vec::new(), max_contexts: 100_000, bucket_seconds: 10, hostname: None }
    }
}

/// Per-kind counts of rejected lines, serialized as `{"missing_value": n, ...}` in the TS order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErrorCounts([u64; ParseErrorKind::ALL.len()]);

impl ErrorCounts {
    pub fn get(&self, kind: ParseErrorKind) -> u64 {
        self.0[kind as usize]
    }

    fn add(&mut self, kind: ParseErrorKind) {
        self.0[kind as usize] += 1;
    }
}

impl Serialize for ErrorCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for kind in ParseErrorKind::ALL {
            map.serialize_entry(kind.as_str(), &self.get(kind))?;
        }
        map.end()
    }
}

/// The TS `DogStatsDStats`, same field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DogStatsDStats {
    pub packets: u64,
    pub bytes: u64,
    /// Non-empty lines seen in accepted datagrams (parsed or rejected).
    pub lines: u64,
    /// Metric lines accepted (a packed line counts once).
    pub metrics: u64,
    pub events: u64,
    pub service_checks: u64,
    /// Rejected lines plus rejected datagrams.
    pub parse_errors: u64,
    pub errors: ErrorCounts,
    /// (context × bucket) entries held now.
    pub contexts: u64,
    pub contexts_dropped: u64,
    pub events_dropped: u64,
    pub service_checks_dropped: u64,
}

/// What one flush hands to the intake clients.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DogStatsDFlush {
    pub series: Vec<SeriesV2>,
    /// Encoded `SketchPayload` (not compressed), None when no distribution was flushed.
    pub sketches: Option<Vec<u8>>,
    pub events: Vec<DatadogEventV1>,
    pub service_checks: Vec<ServiceCheckRun>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Count = 0,
    Gauge = 1,
    Histogram = 2,
    Set = 3,
    Distribution = 4,
}

fn kind_of(metric_type: MetricType) -> Kind {
    match metric_type {
        MetricType::Count => Kind::Count,
        MetricType::Gauge => Kind::Gauge,
        MetricType::Set => Kind::Set,
        MetricType::Distribution => Kind::Distribution,
        MetricType::Timing | MetricType::Histogram => Kind::Histogram,
    }
}

#[derive(Debug)]
struct CanonicalTags {
    /// The sorted tags joined by `,` (tags never hold a comma).
    key: Arc<str>,
    tags: Arc<[String]>,
}

enum Data {
    Count(f64),
    Gauge(f64),
    Histogram(HistogramSamples),
    Set(HashSet<Box<str>, RandomState>),
    Distribution(DDSketch),
}

struct Entry {
    tags: Arc<CanonicalTags>,
    data: Data,
}

/// Per kind: canonical tag key → metric name → entry, in insertion order (the flush order).
type Bucket = [IndexMap<Arc<str>, IndexMap<Box<str>, Entry, RandomState>, RandomState>; 5];

/// JS's default `sort()`: by UTF-16 code units (differs from Rust's byte order only when a
/// character past U+FFFF meets one in U+E000..U+FFFF).
fn js_string_cmp(a: &str, b: &str) -> Ordering {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    match x.iter().zip(y).position(|(p, q)| p != q) {
        Some(i) if x[i] >= 0xee || y[i] >= 0xee => a.encode_utf16().cmp(b.encode_utf16()),
        _ => x.cmp(y),
    }
}

pub struct Aggregator {
    prefix: String,
    global_tags: Vec<String>,
    no_tags: Arc<CanonicalTags>,
    max_contexts: u64,
    bucket_seconds: u64,
    hostname: Option<String>,
    buckets: BTreeMap<u64, Bucket>,
    tag_cache: HashMap<Box<str>, Arc<CanonicalTags>, RandomState>,
    /// The bucket of the last sample: consecutive samples almost always share it.
    last_bucket: Option<u64>,
    now_seconds: u64,
    pending_events: Vec<DatadogEventV1>,
    pending_checks: Vec<ServiceCheckRun>,
    counters: DogStatsDStats,
}

impl Aggregator {
    pub fn new(options: AggregatorOptions) -> Self {
        let namespace = options.namespace.unwrap_or_default();
        let prefix = if namespace.is_empty() || namespace.ends_with('.') { namespace } else { format!("{namespace}.") };
        let global_tags = options.global_tags;
        let no_tags = Arc::new(canonicalize(&global_tags, std::iter::empty()));
        Aggregator {
            prefix,
            global_tags,
            no_tags,
            max_contexts: options.max_contexts,
            bucket_seconds: options.bucket_seconds.max(1),
            hostname: options.hostname.filter(|h| !h.is_empty()),
            buckets: BTreeMap::new(),
            tag_cache: HashMap::default(),
            last_bucket: None,
            now_seconds: 0,
            pending_events: Vec::new(),
            pending_checks: Vec::new(),
            counters: DogStatsDStats::default(),
        }
    }

    /// Parses and aggregates one datagram received at `now_ms` (Unix milliseconds).
    pub fn ingest(&mut self, datagram: &[u8], now_ms: u64) {
        self.now_seconds = now_ms / 1000;
        self.counters.packets += 1;
        self.counters.bytes += datagram.len() as u64;
        for line in decode_packet(datagram) {
            match line {
                Ok(Line::Metric(sample)) => self.metric(&sample),
                Ok(Line::Event(event)) => self.event(event),
                Ok(Line::ServiceCheck(check)) => self.service_check(check),
                Err(error) => self.error(error.kind),
            }
        }
    }

    fn metric(&mut self, sample: &MetricSample<'_>) {
        self.counters.lines += 1;
        self.counters.metrics += 1;
        let ts = sample.timestamp.unwrap_or(self.now_seconds);
        let start = ts - ts % self.bucket_seconds;
        let kind = kind_of(sample.metric_type);
        let tags = if sample.raw_tags.is_empty() { Arc::clone(&self.no_tags) } else { self.canonical_tags(&sample.raw_tags) };
        let contexts = self.counters.contexts;
        if self.last_bucket != Some(start) {
            self.buckets.entry(start).or_default();
            self.last_bucket = Some(start);
        }
        let Some(bucket) = self.buckets.get_mut(&start) else { return };
        let by_tags = &mut bucket[kind as usize];
        let entry = match by_tags.get_mut(&tags.key).and_then(|by_name| by_name.get_index_of(sample.name).map(|i| (by_name, i))) {
            Some((by_name, index)) => &mut by_name[index],
            None => {
                if contexts >= self.max_contexts {
                    self.counters.contexts_dropped += 1;
                    return;
                }
                self.counters.contexts += 1;
                let data = match kind {
                    Kind::Count => Data::Count(0.0),
                    Kind::Gauge => Data::Gauge(0.0),
                    Kind::Histogram => Data::Histogram(HistogramSamples::default()),
                    Kind::Set => Data::Set(HashSet::default()),
                    Kind::Distribution => Data::Distribution(DDSketch::default()),
                };
                let by_name = by_tags.entry(Arc::clone(&tags.key)).or_default();
                let (index, _) = by_name.insert_full(sample.name.into(), Entry { tags, data });
                &mut by_name[index]
            }
        };
        let rate = sample.sample_rate;
        match &mut entry.data {
            Data::Count(sum) => {
                if let Some(values) = &sample.values {
                    for v in values.iter() {
                        *sum += v / rate;
                    }
                }
            }
            Data::Gauge(last) => {
                if let Some(values) = &sample.values {
                    *last = values.last();
                }
            }
            Data::Histogram(histogram) => {
                if let Some(values) = &sample.values {
                    let weight = 1.0 / rate;
                    for v in values.iter() {
                        histogram.add(v, weight);
                    }
                }
            }
            Data::Set(members) => {
                if let Some(member) = sample.set_value {
                    if !members.contains(member) {
                        members.insert(member.into());
                    }
                }
            }
            Data::Distribution(sketch) => {
                // The epsilon keeps 1/0.1-style quotients that land a hair under an integer whole.
                let weight = (1.0 / rate + 1e-9).floor().max(1.0) as u64;
                if let Some(values) = &sample.values {
                    for v in values.iter() {
                        sketch.insert(v, weight);
                    }
                }
            }
        }
    }

    fn event(&mut self, event: Event) {
        self.counters.lines += 1;
        self.counters.events += 1;
        if self.pending_events.len() >= MAX_PENDING_EVENTS {
            self.counters.events_dropped += 1;
            return;
        }
        let tags = self.canonical_tags(&event.tags.join(",")).tags.to_vec();
        self.pending_events.push(DatadogEventV1 {
            title: event.title,
            text: event.text,
            date_happened: event.timestamp.unwrap_or(self.now_seconds),
            priority: event.priority,
            alert_type: event.alert_type,
            tags,
            host: event.hostname.or_else(|| self.hostname.clone()),
            aggregation_key: event.aggregation_key,
            source_type_name: event.source_type_name,
        });
    }

    fn service_check(&mut self, check: ServiceCheck) {
        self.counters.lines += 1;
        self.counters.service_checks += 1;
        if self.pending_checks.len() >= MAX_PENDING_EVENTS {
            self.counters.service_checks_dropped += 1;
            return;
        }
        let tags = self.canonical_tags(&check.tags.join(",")).tags.to_vec();
        self.pending_checks.push(ServiceCheckRun {
            check: check.name,
            host_name: check.hostname.or_else(|| self.hostname.clone()).unwrap_or_default(),
            status: check.status,
            timestamp: check.timestamp.unwrap_or(self.now_seconds),
            message: check.message.unwrap_or_default(),
            tags,
        });
    }

    fn error(&mut self, kind: ParseErrorKind) {
        if kind != ParseErrorKind::DatagramTooLarge {
            self.counters.lines += 1;
        }
        self.counters.parse_errors += 1;
        self.counters.errors.add(kind);
    }

    /// Takes what is ready at `now_ms`: buckets whose end has passed (every bucket when
    /// `final_flush`), and all pending events and service checks.
    pub fn flush(&mut self, now_ms: u64, final_flush: bool) -> DogStatsDFlush {
        let closed: Vec<u64> =
            self.buckets.keys().copied().filter(|start| final_flush || (start + self.bucket_seconds) * 1000 <= now_ms).collect();
        let mut series: IndexMap<(u8, String, Arc<str>), SeriesV2> = IndexMap::new();
        let mut sketches: IndexMap<(String, Arc<str>), SketchSeries> = IndexMap::new();
        for start in closed {
            let Some(bucket) = self.buckets.remove(&start) else { continue };
            if self.last_bucket == Some(start) {
                self.last_bucket = None;
            }
            for by_tags in bucket {
                for (_, by_name) in by_tags {
                    for (name, entry) in by_name {
                        self.counters.contexts -= 1;
                        self.flush_entry(&name, entry, start, &mut series, &mut sketches);
                    }
                }
            }
        }
        DogStatsDFlush {
            series: series.into_values().collect(),
            sketches: if sketches.is_empty() { None } else { Some(encode_sketch_payload(sketches.into_values().collect())) },
            events: std::mem::take(&mut self.pending_events),
            service_checks: std::mem::take(&mut self.pending_checks),
        }
    }

    pub fn stats(&self) -> DogStatsDStats {
        self.counters.clone()
    }

    fn flush_entry(
        &self,
        name: &str,
        entry: Entry,
        start: u64,
        series: &mut IndexMap<(u8, String, Arc<str>), SeriesV2>,
        sketches: &mut IndexMap<(String, Arc<str>), SketchSeries>,
    ) {
        let name = format!("{}{}", self.prefix, name);
        let interval = self.bucket_seconds as f64;
        let tags = &entry.tags;
        match entry.data {
            Data::Count(sum) => self.add_point(series, name, SERIES_RATE, tags, start, sum / interval),
            Data::Gauge(last) => self.add_point(series, name, SERIES_GAUGE, tags, start, last),
            Data::Set(members) => self.add_point(series, name, SERIES_GAUGE, tags, start, members.len() as f64),
            Data::Histogram(histogram) => {
                if let Some(a) = histogram.aggregates() {
                    self.add_point(series, format!("{name}.max"), SERIES_GAUGE, tags, start, a.max);
                    self.add_point(series, format!("{name}.median"), SERIES_GAUGE, tags, start, a.median);
                    self.add_point(series, format!("{name}.avg"), SERIES_GAUGE, tags, start, a.avg);
                    self.add_point(series, format!("{name}.count"), SERIES_RATE, tags, start, a.count / interval);
                    self.add_point(series, format!("{name}.95percentile"), SERIES_GAUGE, tags, start, a.p95);
                }
            }
            Data::Distribution(sketch) => {
                let bins = sketch.bins();
                let target = sketches.entry((name.clone(), Arc::clone(&tags.key))).or_insert_with(|| SketchSeries {
                    metric: name,
                    host: self.hostname.clone().unwrap_or_default(),
                    tags: tags.tags.to_vec(),
                    dogsketches: Vec::new(),
                });
                target.dogsketches.push(Dogsketch {
                    ts: start as i64,
                    cnt: sketch.count as i64,
                    min: sketch.min,
                    max: sketch.max,
                    avg: sketch.avg(),
                    sum: sketch.sum,
                    k: bins.k,
                    n: bins.n,
                });
            }
        }
    }

    fn add_point(
        &self,
        series: &mut IndexMap<(u8, String, Arc<str>), SeriesV2>,
        metric: String,
        series_type: u8,
        tags: &CanonicalTags,
        timestamp: u64,
        value: f64,
    ) {
        let point = Point { timestamp: timestamp as i64, value };
        let key = (series_type, metric, Arc::clone(&tags.key));
        if let Some(existing) = series.get_mut(&key) {
            existing.points.push(point);
            return;
        }
        let created = SeriesV2 {
            metric: key.1.clone(),
            series_type,
            points: vec![point],
            interval: self.bucket_seconds,
            tags: Arc::clone(&tags.tags),
            resources: self.hostname.as_ref().map(|h| vec![Resource { kind: "host".into(), name: h.clone() }]),
        };
        series.insert(key, created);
    }

    /// `raw`: comma-separated as received; empty and duplicate tags allowed.
    fn canonical_tags(&mut self, raw: &str) -> Arc<CanonicalTags> {
        if let Some(found) = self.tag_cache.get(raw) {
            return Arc::clone(found);
        }
        let canonical = Arc::new(canonicalize(&self.global_tags, split_tags(raw)));
        if self.tag_cache.len() >= TAG_CACHE_LIMIT {
            self.tag_cache.clear();
        }
        self.tag_cache.insert(raw.into(), Arc::clone(&canonical));
        canonical
    }
}

fn canonicalize<'a>(global: &'a [String], tags: impl Iterator<Item = &'a str>) -> CanonicalTags {
    let mut all: Vec<&str> = global.iter().map(String::as_str).chain(tags).collect();
    all.sort_by(|a, b| js_string_cmp(a, b));
    all.dedup();
    let tags: Arc<[String]> = all.iter().map(|t| (*t).to_string()).collect();
    CanonicalTags { key: tags.join(",").into(), tags }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    fn agg() -> Aggregator {
        Aggregator::new(AggregatorOptions { max_contexts: 10_000, ..Default::default() })
    }

    fn send(a: &mut Aggregator, text: &str) {
        a.ingest(text.as_bytes(), (T0 + 1) * 1000);
    }

    #[test]
    fn counts_scale_by_rate_and_flush_as_rates() {
        let mut a = agg();
        send(&mut a, "hits:1|c|@0.5\nhits:1|c|@0.5\nhits:1|c|@0.5\nhits:4|c");
        let f = a.flush((T0 + 10) * 1000, false);
        assert_eq!(f.series.len(), 1);
        assert_eq!((f.series[0].series_type, f.series[0].points[0].value, f.series[0].interval), (SERIES_RATE, 1.0, 10));
    }

    #[test]
    fn orders_series_like_the_ts_aggregator() {
        let mut a = Aggregator::new(AggregatorOptions { namespace: Some("app".into()), ..Default::default() });
        send(&mut a, "x:1|c\nlat:1|h\ny:2|g\nx:1|c|#b");
        let names: Vec<String> = a.flush((T0 + 10) * 1000, false).series.into_iter().map(|s| s.metric).collect();
        assert_eq!(names, ["app.x", "app.x", "app.y", "app.lat.max", "app.lat.median", "app.lat.avg", "app.lat.count", "app.lat.95percentile"]);
    }

    #[test]
    fn keys_contexts_by_sorted_deduplicated_tags_with_global_ones() {
        let mut a = Aggregator::new(AggregatorOptions { global_tags: vec!["env:prod".into(), "a".into()], ..Default::default() });
        send(&mut a, "x:1|c|#b,a,b\nx:1|c|#a,b\nx:1|c|#b,env:prod\nx:1|c|#c");
        let series = a.flush((T0 + 10) * 1000, false).series;
        let got: Vec<(Vec<String>, f64)> = series.iter().map(|s| (s.tags.to_vec(), s.points[0].value)).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, ["a", "b", "env:prod"]);
        assert!((got[0].1 - 0.3).abs() < 1e-12);
        assert_eq!(got[1].0, ["a", "c", "env:prod"]);
    }

    #[test]
    fn drops_new_contexts_beyond_the_limit() {
        let mut a = Aggregator::new(AggregatorOptions { max_contexts: 2, ..Default::default() });
        send(&mut a, "a:1|c\nb:1|c\nc:1|c\na:1|c\nd:1|g");
        let stats = a.stats();
        assert_eq!((stats.contexts, stats.contexts_dropped, stats.metrics), (2, 2, 5));
        assert_eq!(a.flush((T0 + 10) * 1000, false).series.len(), 2);
        assert_eq!(a.stats().contexts, 0);
    }

    #[test]
    fn flushes_only_closed_buckets_until_the_final_flush() {
        let mut a = agg();
        a.ingest(b"x:1|c", (T0 + 3) * 1000);
        a.ingest(b"x:2|c", (T0 + 12) * 1000);
        assert_eq!(a.flush((T0 + 15) * 1000, false).series[0].points, vec![Point { timestamp: T0 as i64, value: 0.1 }]);
        assert_eq!(a.flush((T0 + 15) * 1000, true).series[0].points, vec![Point { timestamp: T0 as i64 + 10, value: 0.2 }]);
    }

    #[test]
    fn events_and_checks_get_global_tags_and_defaults() {
        let mut a = Aggregator::new(AggregatorOptions { global_tags: vec!["env:prod".into()], hostname: Some("fn-1".into()), ..Default::default() });
        send(&mut a, "_e{6,9}:deploy|v2 is out|t:success|k:rel|s:ci|#team:web,env:prod\n_sc|db.up|2|m:refused|#db:main");
        let f = a.flush((T0 + 1) * 1000, false);
        assert_eq!(
            serde_json::to_value(&f.events[0]).expect("json"),
            serde_json::json!({"title":"deploy","text":"v2 is out","date_happened":T0 + 1,"priority":"normal","alert_type":"success","host":"fn-1","aggregation_key":"rel","source_type_name":"ci","tags":["env:prod","team:web"]})
        );
        assert_eq!(
            serde_json::to_value(&f.service_checks[0]).expect("json"),
            serde_json::json!({"check":"db.up","host_name":"fn-1","status":2,"timestamp":T0 + 1,"message":"refused","tags":["db:main","env:prod"]})
        );
    }

    #[test]
    fn stats_count_lines_and_errors_by_kind() {
        let mut a = agg();
        send(&mut a, "a:1|c\n\nb:1|g\n_e{1,1}:a|b\n_sc|c|0\nbad");
        a.ingest(&vec![b'\n'; 65_537], T0 * 1000);
        let stats = a.stats();
        assert_eq!((stats.packets, stats.lines, stats.metrics, stats.events, stats.service_checks), (2, 5, 2, 1, 1));
        assert_eq!((stats.parse_errors, stats.errors.get(ParseErrorKind::MissingValue), stats.errors.get(ParseErrorKind::DatagramTooLarge)), (2, 1, 1));
        let json = serde_json::to_value(&stats).expect("json");
        assert_eq!(json["errors"]["missing_value"], 1);
        assert_eq!(json["serviceChecksDropped"], 0);
    }

    #[test]
    fn sorts_tags_by_utf16_units_like_javascript() {
        assert_eq!(js_string_cmp("\u{ffff}", "\u{10000}"), Ordering::Greater);
        assert_eq!(js_string_cmp("a", "b"), Ordering::Less);
        assert_eq!(js_string_cmp("é", "z"), Ordering::Greater);
    }
}
