/**
 * DogStatsD aggregation with the Datadog Agent's semantics (DESIGN.md §8). Pure: time comes in
 * as numbers, output is JSON-ready objects and protobuf bytes.
 *
 * A context is (name, aggregation kind, sorted de-duplicated tags including the global ones);
 * `ms` and `h` share the histogram kind, so one name sent both ways is one series set. Samples
 * land in `bucketSeconds` buckets by their `|T` timestamp, else by arrival time. Per bucket:
 *   c  → sum of value/rate, flushed as a rate (v2 type 2): sum ÷ interval;
 *   g  → last value received, gauge (type 3);
 *   s  → number of distinct members, gauge;
 *   h/ms → `.max .median .avg .95percentile` gauges and `.count` as a rate, samples weighted 1/rate;
 *   d  → an Agent sketch, weight floor(1/rate) (bin counts are integers), to the sketches intake.
 * Every packed value is a sample. Once `maxContexts` (context × bucket) entries are held, samples
 * of new contexts are dropped and counted; known contexts keep aggregating.
 */
import { DDSketch } from './ddsketch.js';
import { HistogramSamples } from './histogram.js';
import {
  SERIES_GAUGE,
  SERIES_RATE,
  type DatadogEventV1,
  type SeriesType,
  type SeriesV2,
  type ServiceCheckRun,
} from './intake-types.js';
import { detachString, pushTags } from './line-fields.js';
import { parseDatagramRaw, type RawDogStatsDSink } from './parser.js';
import { encodeSketchPayload, type SketchSeries } from './sketch-payload.js';
import {
  PARSE_ERROR_KINDS,
  type DogStatsDEvent,
  type DogStatsDSink,
  type MetricSample,
  type MetricType,
  type ParseErrorKind,
  type ServiceCheck,
} from './types.js';

export interface AggregatorOptions {
  /** Prefixed to every metric name with a `.` (unless it already ends with one). Defaults to none. */
  namespace?: string;
  /** Added to every metric, event and service check. */
  globalTags: readonly string[];
  /** Most (context × bucket) entries held at once. */
  maxContexts: number;
  /** Defaults to 10, the Agent's DogStatsD bucket. */
  bucketSeconds?: number;
  /** Sent as the series `host` resource, the sketch `host` and the default event/check host. Defaults to none. */
  hostname?: string;
}

export interface DogStatsDFlush {
  series: SeriesV2[];
  /** Encoded `SketchPayload` (not compressed), or null when no distribution was flushed. */
  sketches: Uint8Array | null;
  events: DatadogEventV1[];
  serviceChecks: ServiceCheckRun[];
}

export interface DogStatsDStats {
  packets: number;
  bytes: number;
  /** Non-empty lines seen in accepted datagrams (parsed or rejected). */
  lines: number;
  /** Metric lines accepted (a packed line counts once). */
  metrics: number;
  events: number;
  serviceChecks: number;
  /** Rejected lines plus rejected datagrams. */
  parseErrors: number;
  errors: Record<ParseErrorKind, number>;
  /** (context × bucket) entries held now. */
  contexts: number;
  /** Metric lines dropped because their context was new while `maxContexts` were held. */
  contextsDropped: number;
  /** Events and checks dropped because MAX_PENDING_EVENTS were waiting for a flush. */
  eventsDropped: number;
  serviceChecksDropped: number;
}

/** Events (and, separately, service checks) held between flushes; more are dropped and counted. */
export const MAX_PENDING_EVENTS = 10_000;

const enum Kind {
  Count = 0,
  Gauge = 1,
  Histogram = 2,
  Set = 3,
  Distribution = 4,
}
const KIND_COUNT = 5;

function kindOf(type: MetricType): Kind {
  switch (type) {
    case 'c':
      return Kind.Count;
    case 'g':
      return Kind.Gauge;
    case 's':
      return Kind.Set;
    case 'd':
      return Kind.Distribution;
    default:
      return Kind.Histogram;
  }
}

interface CanonicalTags {
  /** The sorted tags joined by `,`: the context key part (tags never hold a comma). */
  key: string;
  tags: readonly string[];
}

/** One context in one bucket. One shape for every kind keeps the hot path monomorphic. */
class ContextEntry {
  value = 0;
  histogram: HistogramSamples | null = null;
  members: Set<string> | null = null;
  sketch: DDSketch | null = null;

  constructor(
    readonly kind: Kind,
    readonly name: string,
    readonly tags: CanonicalTags,
  ) {
    if (kind === Kind.Histogram) this.histogram = new HistogramSamples();
    else if (kind === Kind.Set) this.members = new Set();
    else if (kind === Kind.Distribution) this.sketch = new DDSketch();
  }
}

/** Per kind: canonical tag key → metric name → entry. The tag key string is cached, so its hash is too. */
type Bucket = Map<string, Map<string, ContextEntry>>[];

// Raw tag lists seen recently → canonical form. Bounded: cleared wholesale when full, which
// costs a few re-sorts and keeps memory flat under tag cardinality attacks.
const TAG_CACHE_LIMIT = 20_000;

export class DogStatsDAggregator implements DogStatsDSink, RawDogStatsDSink {
  private readonly prefix: string;
  private readonly globalTags: readonly string[];
  private readonly noTags: CanonicalTags;
  private readonly maxContexts: number;
  private readonly bucketSeconds: number;
  private readonly hostname: string | undefined;

  private readonly buckets = new Map<number, Bucket>();
  private lastBucketStart = Number.NaN;
  private lastBucket: Bucket | null = null;
  private readonly tagCache = new Map<string, CanonicalTags>();
  private nowSeconds = 0;

  private pendingEvents: DatadogEventV1[] = [];
  private pendingChecks: ServiceCheckRun[] = [];
  private readonly counters: DogStatsDStats;

  /** @throws RangeError when `bucketSeconds` is not a positive integer or `maxContexts` is negative. */
  constructor(options: AggregatorOptions) {
    const bucketSeconds = options.bucketSeconds ?? 10;
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1) {
      throw new RangeError(`bucketSeconds must be a positive integer, got ${bucketSeconds}`);
    }
    if (!(options.maxContexts >= 0)) throw new RangeError(`maxContexts must be 0 or more, got ${options.maxContexts}`);
    const namespace = options.namespace ?? '';
    this.prefix = namespace === '' || namespace.endsWith('.') ? namespace : `${namespace}.`;
    this.globalTags = options.globalTags;
    this.maxContexts = options.maxContexts;
    this.bucketSeconds = bucketSeconds;
    this.hostname = options.hostname === '' ? undefined : options.hostname;
    this.noTags = this.canonicalize([]);
    const errors = Object.fromEntries(PARSE_ERROR_KINDS.map((kind) => [kind, 0])) as Record<ParseErrorKind, number>;
    this.counters = {
      packets: 0,
      bytes: 0,
      lines: 0,
      metrics: 0,
      events: 0,
      serviceChecks: 0,
      parseErrors: 0,
      errors,
      contexts: 0,
      contextsDropped: 0,
      eventsDropped: 0,
      serviceChecksDropped: 0,
    };
  }

  /** Parses and aggregates one datagram received at `nowMs` (Unix milliseconds). */
  ingest(bytes: Uint8Array, nowMs: number): void {
    this.nowSeconds = Math.floor(nowMs / 1000);
    this.counters.packets++;
    this.counters.bytes += bytes.length;
    parseDatagramRaw(bytes, this);
  }

  // --- The sink methods: called by the parser during ingest(), at ingest()'s time.

  metric(sample: MetricSample): void {
    const { name, type, values, setValue, sampleRate, tags, timestamp } = sample;
    this.rawMetric(name, type, values, setValue, sampleRate, tags.join(','), timestamp);
  }

  rawMetric(
    name: string,
    type: MetricType,
    values: number[],
    setValue: string | null,
    sampleRate: number,
    rawTags: string,
    timestamp: number | null,
    // The container id is parsed but not used: tagging by container needs an orchestrator to ask.
  ): void {
    const counters = this.counters;
    counters.lines++;
    counters.metrics++;
    const ts = timestamp ?? this.nowSeconds;
    const start = ts - (ts % this.bucketSeconds);
    let bucket = this.lastBucket;
    if (start !== this.lastBucketStart || bucket === null) {
      bucket = this.buckets.get(start) ?? null;
      if (bucket === null) {
        bucket = Array.from({ length: KIND_COUNT }, () => new Map<string, Map<string, ContextEntry>>());
        this.buckets.set(start, bucket);
      }
      this.lastBucketStart = start;
      this.lastBucket = bucket;
    }

    const kind = kindOf(type);
    const tags = rawTags === '' ? this.noTags : this.canonicalTags(rawTags);
    const byTags = bucket[kind] as Map<string, Map<string, ContextEntry>>;
    let byName = byTags.get(tags.key);
    let entry = byName?.get(name);
    if (entry === undefined) {
      if (counters.contexts >= this.maxContexts) {
        counters.contextsDropped++;
        return;
      }
      if (byName === undefined) {
        byName = new Map();
        byTags.set(tags.key, byName);
      }
      const keptName = detachString(name);
      entry = new ContextEntry(kind, keptName, tags);
      byName.set(keptName, entry);
      counters.contexts++;
    }

    switch (kind) {
      case Kind.Count:
        for (const v of values) entry.value += v / sampleRate;
        break;
      case Kind.Gauge:
        entry.value = values[values.length - 1] as number;
        break;
      case Kind.Histogram: {
        const histogram = entry.histogram as HistogramSamples;
        const weight = 1 / sampleRate;
        for (const v of values) histogram.add(v, weight);
        break;
      }
      case Kind.Set: {
        const members = entry.members as Set<string>;
        if (!members.has(setValue as string)) members.add(detachString(setValue as string));
        break;
      }
      case Kind.Distribution: {
        const sketch = entry.sketch as DDSketch;
        // The epsilon keeps a quotient that lands a hair under an integer (1/(1/3)) on it.
        const weight = Math.max(1, Math.floor(1 / sampleRate + 1e-9));
        for (const v of values) sketch.insert(v, weight);
        break;
      }
    }
  }

  event(event: DogStatsDEvent): void {
    this.counters.lines++;
    this.counters.events++;
    if (this.pendingEvents.length >= MAX_PENDING_EVENTS) {
      this.counters.eventsDropped++;
      return;
    }
    const body: DatadogEventV1 = {
      title: event.title,
      text: event.text,
      date_happened: event.timestamp ?? this.nowSeconds,
      priority: event.priority,
      alert_type: event.alertType,
      tags: this.canonicalTags(event.tags.join(',')).tags.slice(),
    };
    const host = event.hostname ?? this.hostname;
    if (host !== undefined) body.host = host;
    if (event.aggregationKey !== null) body.aggregation_key = event.aggregationKey;
    if (event.sourceTypeName !== null) body.source_type_name = event.sourceTypeName;
    this.pendingEvents.push(body);
  }

  serviceCheck(check: ServiceCheck): void {
    this.counters.lines++;
    this.counters.serviceChecks++;
    if (this.pendingChecks.length >= MAX_PENDING_EVENTS) {
      this.counters.serviceChecksDropped++;
      return;
    }
    this.pendingChecks.push({
      check: check.name,
      host_name: check.hostname ?? this.hostname ?? '',
      status: check.status,
      timestamp: check.timestamp ?? this.nowSeconds,
      message: check.message ?? '',
      tags: this.canonicalTags(check.tags.join(',')).tags.slice(),
    });
  }

  error(kind: ParseErrorKind): void {
    if (kind !== 'datagram_too_large') this.counters.lines++;
    this.counters.parseErrors++;
    this.counters.errors[kind]++;
  }

  // ---

  /**
   * Takes what is ready at `nowMs`: buckets whose end has passed (every bucket when `final`),
   * and all pending events and service checks. Taken data is forgotten.
   */
  flush(nowMs: number, final: boolean): DogStatsDFlush {
    const nowSeconds = nowMs / 1000;
    const starts = [...this.buckets.keys()].filter((start) => final || start + this.bucketSeconds <= nowSeconds).sort((a, b) => a - b);
    const series = new Map<string, SeriesV2>();
    const sketches = new Map<string, SketchSeries>();
    for (const start of starts) {
      const bucket = this.buckets.get(start) as Bucket;
      this.buckets.delete(start);
      for (const byTags of bucket) {
        for (const byName of byTags.values()) {
          for (const entry of byName.values()) {
            this.counters.contexts--;
            this.flushEntry(entry, start, series, sketches);
          }
        }
      }
    }
    if (this.lastBucket !== null && !this.buckets.has(this.lastBucketStart)) {
      this.lastBucket = null;
      this.lastBucketStart = Number.NaN;
    }
    const flushed: DogStatsDFlush = {
      series: [...series.values()],
      sketches: sketches.size === 0 ? null : encodeSketchPayload([...sketches.values()]),
      events: this.pendingEvents,
      serviceChecks: this.pendingChecks,
    };
    this.pendingEvents = [];
    this.pendingChecks = [];
    return flushed;
  }

  stats(): DogStatsDStats {
    return { ...this.counters, errors: { ...this.counters.errors } };
  }

  private flushEntry(entry: ContextEntry, start: number, series: Map<string, SeriesV2>, sketches: Map<string, SketchSeries>): void {
    const name = this.prefix + entry.name;
    const interval = this.bucketSeconds;
    switch (entry.kind) {
      case Kind.Count:
        this.addPoint(series, name, SERIES_RATE, entry, start, entry.value / interval);
        break;
      case Kind.Gauge:
        this.addPoint(series, name, SERIES_GAUGE, entry, start, entry.value);
        break;
      case Kind.Set:
        this.addPoint(series, name, SERIES_GAUGE, entry, start, (entry.members as Set<string>).size);
        break;
      case Kind.Histogram: {
        const aggregates = (entry.histogram as HistogramSamples).aggregates();
        this.addPoint(series, `${name}.max`, SERIES_GAUGE, entry, start, aggregates.max);
        this.addPoint(series, `${name}.median`, SERIES_GAUGE, entry, start, aggregates.median);
        this.addPoint(series, `${name}.avg`, SERIES_GAUGE, entry, start, aggregates.avg);
        this.addPoint(series, `${name}.count`, SERIES_RATE, entry, start, aggregates.count / interval);
        this.addPoint(series, `${name}.95percentile`, SERIES_GAUGE, entry, start, aggregates.p95);
        break;
      }
      case Kind.Distribution: {
        const sketch = entry.sketch as DDSketch;
        const id = `${name}\u0000${entry.tags.key}`;
        let target = sketches.get(id);
        if (target === undefined) {
          target = { metric: name, host: this.hostname ?? '', tags: entry.tags.tags.slice(), dogsketches: [] };
          sketches.set(id, target);
        }
        const { k, n } = sketch.bins();
        target.dogsketches.push({ ts: start, cnt: sketch.count, min: sketch.min, max: sketch.max, avg: sketch.avg, sum: sketch.sum, k, n });
        break;
      }
    }
  }

  private addPoint(series: Map<string, SeriesV2>, metric: string, type: SeriesType, entry: ContextEntry, timestamp: number, value: number): void {
    const id = `${type}\u0000${metric}\u0000${entry.tags.key}`;
    const existing = series.get(id);
    if (existing !== undefined) {
      existing.points.push({ timestamp, value });
      return;
    }
    const created: SeriesV2 = { metric, type, points: [{ timestamp, value }], interval: this.bucketSeconds, tags: entry.tags.tags.slice() };
    if (this.hostname !== undefined) created.resources = [{ type: 'host', name: this.hostname }];
    series.set(id, created);
  }

  /** `rawTags`: comma-separated as received; empty and duplicate tags are allowed. */
  private canonicalTags(rawTags: string): CanonicalTags {
    let canonical = this.tagCache.get(rawTags);
    if (canonical === undefined) {
      const key = detachString(rawTags);
      const tags: string[] = [];
      pushTags(key, 0, key.length, tags);
      canonical = this.canonicalize(tags);
      if (this.tagCache.size >= TAG_CACHE_LIMIT) this.tagCache.clear();
      this.tagCache.set(key, canonical);
    }
    return canonical;
  }

  private canonicalize(tags: readonly string[]): CanonicalTags {
    const sorted = [...new Set([...this.globalTags, ...tags])].sort();
    return { key: sorted.join(','), tags: Object.freeze(sorted) };
  }
}
