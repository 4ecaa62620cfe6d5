/**
 * Span and trace normalization, following the Datadog Agent (DataDog/datadog-agent) so the
 * intake sees what a real agent would have sent. Spans are fixed in place.
 *
 * Implemented from pkg/trace/agent/normalizer.go `normalize` / `normalizeTrace` /
 * `setChunkAttributes`, pkg/trace/agent/truncator.go and pkg/trace/traceutil (normalize,
 * truncate, top_level):
 * - trace_id 0 or span_id 0 → the whole trace is rejected (`traceIdZero`, `spanIdZero`);
 * - an empty trace is rejected (`emptyTrace`); a span whose trace_id differs from the first
 *   span's rejects the trace (`foreignSpan`); a repeated span_id is only counted (`duplicateSpanId`);
 * - service: empty → `unnamed-<lang>-service` (`serviceEmpty`), over 100 bytes truncated
 *   (`serviceTruncate`), tag-value normalized, invalid → the fallback (`serviceInvalid`);
 * - meta `peer.service` and `_dd.base_service`: 100 bytes, tag-value normalized, invalid → "";
 * - name: empty → `unnamed_operation`, over 100 bytes truncated, metric-name normalized,
 *   invalid → `unnamed_operation` (`spanNameEmpty|Truncate|Invalid`);
 * - resource: empty → the name (`resourceEmpty`); over 5000 bytes truncated;
 * - parent_id = trace_id = span_id → parent_id 0;
 * - duration < 0, or start + duration overflowing int64 → 0 (`invalidDuration`);
 * - start before 2000-01-01 → now − duration, or now if that is negative (`invalidStartDate`);
 * - type over 100 bytes truncated (`typeTruncate`);
 * - meta `env` tag-value normalized;
 * - meta `http.status_code` not an integer in [100, 600) → removed (`invalidHttpStatusCode`);
 * - span link attribute `link.name` normalized as a name;
 * - meta keys over 200 bytes → truncated + "...", values over 25000 bytes → truncated + "...",
 *   metric keys over 200 bytes → truncated + "...";
 * - `_top_level` metric: 1 on spans that are roots, whose parent is not in the chunk, or whose
 *   parent has another service (traceutil.ComputeTopLevel), removed elsewhere;
 * - chunk priority from the root's `_sampling_priority_v1` metric, else the first span that has
 *   one, else PriorityNone (−128); chunk origin from the root's `_dd.origin`; chunk tag
 *   `_dd.p.dm` from the first span that has it;
 * - a trace with a priority below 0 (user reject) is dropped (`userReject`), as the agent drops
 *   it before sampling.
 * Additions of this project (what a serverless agent does rather than the host agent):
 * - meta `env` missing → the configured env (the agent puts its default env on the payload);
 * - service missing → the configured `DD_SERVICE` when there is one, before the fallback;
 * - cloud origin span tags (`_dd.origin`, `origin`, function tags) added where the tracer did
 *   not set them, like DataDog/libdatadog's serverless mini agent.
 * Not implemented: obfuscation, the sampler (every accepted trace is kept), `component2name`.
 */
import {
  exceedsUtf8,
  normalizeName,
  normalizePeerService,
  normalizeService,
  normalizeTagValue,
  truncateUtf8,
  type NormalizeIssue,
} from './normalize-text.js';
import { MAX_INT64, type Span } from './span.js';

export const MAX_TYPE_LEN = 100;
export const MAX_RESOURCE_LEN = 5000;
export const MAX_META_KEY_LEN = 200;
export const MAX_META_VALUE_LEN = 25000;
export const MAX_METRICS_KEY_LEN = MAX_META_KEY_LEN;
/** sampler.PriorityNone: no sampling priority was set by the tracer. */
export const PRIORITY_NONE = -128;
export const SAMPLING_PRIORITY_KEY = '_sampling_priority_v1';
export const TOP_LEVEL_KEY = '_top_level';
export const ORIGIN_KEY = '_dd.origin';
export const DECISION_MAKER_KEY = '_dd.p.dm';
/** 2000-01-01T00:00:00Z in nanoseconds (normalize.Year2000NanosecTS). */
export const YEAR_2000_NS = 946_684_800_000_000_000n;

export interface NormalizeDefaults {
  /** Epoch milliseconds, for fixing start times (pure code does not read the clock). */
  nowMs: number;
  /** The tracer's language, for the fallback service `unnamed-<lang>-service`. */
  lang?: string;
  /** The configured env (DD_ENV), for spans that have none. */
  env?: string;
  /** The configured service (DD_SERVICE), for spans that have none. */
  service?: string;
  /** Tags for every span (the cloud origin tags), added where the span does not set them. */
  spanTags?: Readonly<Record<string, string>>;
}

export interface TracesDropped {
  emptyTrace: number;
  traceIdZero: number;
  spanIdZero: number;
  foreignSpan: number;
  userReject: number;
  /** Counted by the buffer: the trace did not fit `maxBufferedSpans`. */
  bufferFull: number;
}

export interface SpansMalformed {
  serviceEmpty: number;
  serviceTruncate: number;
  serviceInvalid: number;
  peerServiceTruncate: number;
  peerServiceInvalid: number;
  baseServiceTruncate: number;
  baseServiceInvalid: number;
  spanNameEmpty: number;
  spanNameTruncate: number;
  spanNameInvalid: number;
  resourceEmpty: number;
  resourceTruncate: number;
  typeTruncate: number;
  invalidStartDate: number;
  invalidDuration: number;
  invalidHttpStatusCode: number;
  duplicateSpanId: number;
  metaTruncate: number;
}

export interface NormalizeCounters {
  tracesDropped: TracesDropped;
  spansMalformed: SpansMalformed;
}

export function createNormalizeCounters(): NormalizeCounters {
  return {
    tracesDropped: { emptyTrace: 0, traceIdZero: 0, spanIdZero: 0, foreignSpan: 0, userReject: 0, bufferFull: 0 },
    spansMalformed: {
      serviceEmpty: 0,
      serviceTruncate: 0,
      serviceInvalid: 0,
      peerServiceTruncate: 0,
      peerServiceInvalid: 0,
      baseServiceTruncate: 0,
      baseServiceInvalid: 0,
      spanNameEmpty: 0,
      spanNameTruncate: 0,
      spanNameInvalid: 0,
      resourceEmpty: 0,
      resourceTruncate: 0,
      typeTruncate: 0,
      invalidStartDate: 0,
      invalidDuration: 0,
      invalidHttpStatusCode: 0,
      duplicateSpanId: 0,
      metaTruncate: 0,
    },
  };
}

function count(
  m: SpansMalformed,
  issue: NormalizeIssue,
  empty: keyof SpansMalformed | null,
  truncate: keyof SpansMalformed,
  invalid: keyof SpansMalformed,
): void {
  if (issue === 'empty' && empty !== null) m[empty]++;
  else if (issue === 'too_long') m[truncate]++;
  else if (issue === 'invalid') m[invalid]++;
}

function isValidStatusCode(code: string): boolean {
  if (!/^\d+$/.test(code)) return false;
  const n = Number(code);
  return n >= 100 && n < 600;
}

/**
 * Normalizes one span in place. Returns null when the span cannot be repaired (a zero
 * trace_id or span_id), counting the reason; the caller then drops its whole trace.
 */
export function normalizeSpan(
  span: Span,
  defaults: NormalizeDefaults,
  counters: NormalizeCounters = createNormalizeCounters(),
): Span | null {
  const malformed = counters.spansMalformed;
  if (span.traceId === 0n) {
    counters.tracesDropped.traceIdZero++;
    return null;
  }
  if (span.spanId === 0n) {
    counters.tracesDropped.spanIdZero++;
    return null;
  }

  const service = normalizeService(span.service === '' && defaults.service ? defaults.service : span.service, defaults.lang);
  span.service = service.value;
  count(malformed, service.issue, 'serviceEmpty', 'serviceTruncate', 'serviceInvalid');

  const meta = span.meta;
  const peer = meta['peer.service'];
  if (peer !== undefined && peer !== '') {
    const fixed = normalizePeerService(peer);
    meta['peer.service'] = fixed.value;
    count(malformed, fixed.issue, null, 'peerServiceTruncate', 'peerServiceInvalid');
  }
  const base = meta['_dd.base_service'];
  if (base !== undefined && base !== '') {
    const fixed = normalizePeerService(base);
    meta['_dd.base_service'] = fixed.value;
    count(malformed, fixed.issue, null, 'baseServiceTruncate', 'baseServiceInvalid');
  }

  const name = normalizeName(span.name);
  span.name = name.value;
  count(malformed, name.issue, 'spanNameEmpty', 'spanNameTruncate', 'spanNameInvalid');

  if (span.resource === '') {
    malformed.resourceEmpty++;
    span.resource = span.name;
  } else if (exceedsUtf8(span.resource, MAX_RESOURCE_LEN)) {
    malformed.resourceTruncate++;
    span.resource = truncateUtf8(span.resource, MAX_RESOURCE_LEN);
  }

  if (span.parentId === span.traceId && span.parentId === span.spanId) span.parentId = 0n;

  if (span.duration < 0n || span.duration > MAX_INT64 - span.start) {
    malformed.invalidDuration++;
    span.duration = 0n;
  }
  if (span.start < YEAR_2000_NS) {
    malformed.invalidStartDate++;
    const now = BigInt(Math.trunc(defaults.nowMs)) * 1_000_000n;
    const start = now - span.duration;
    span.start = start < 0n ? now : start;
  }

  if (exceedsUtf8(span.type, MAX_TYPE_LEN)) {
    malformed.typeTruncate++;
    span.type = truncateUtf8(span.type, MAX_TYPE_LEN);
  }

  const env = meta.env;
  if (env !== undefined && env !== '') meta.env = normalizeTagValue(env);
  else if (defaults.env) meta.env = normalizeTagValue(defaults.env);

  const status = meta['http.status_code'];
  if (status !== undefined && !isValidStatusCode(status)) {
    malformed.invalidHttpStatusCode++;
    delete meta['http.status_code'];
  }

  if (span.spanLinks !== undefined) {
    for (const link of span.spanLinks) {
      const linkName = link.attributes['link.name'];
      if (linkName !== undefined) link.attributes['link.name'] = normalizeName(linkName).value;
    }
  }

  if (defaults.spanTags !== undefined) {
    for (const key in defaults.spanTags) {
      if (meta[key] === undefined) meta[key] = defaults.spanTags[key] as string;
    }
  }

  truncateTags(span, malformed);
  return span;
}

/** truncator.go: over-long meta keys and values and metric keys get cut and marked "...". */
function truncateTags(span: Span, malformed: SpansMalformed): void {
  const meta = span.meta;
  for (const key in meta) {
    const value = meta[key] as string;
    const longKey = exceedsUtf8(key, MAX_META_KEY_LEN);
    const longValue = exceedsUtf8(value, MAX_META_VALUE_LEN);
    if (!longKey && !longValue) continue;
    malformed.metaTruncate++;
    const newValue = longValue ? `${truncateUtf8(value, MAX_META_VALUE_LEN)}...` : value;
    if (longKey) {
      delete meta[key];
      meta[`${truncateUtf8(key, MAX_META_KEY_LEN)}...`] = newValue;
    } else meta[key] = newValue;
  }
  const metrics = span.metrics;
  for (const key in metrics) {
    if (!exceedsUtf8(key, MAX_METRICS_KEY_LEN)) continue;
    malformed.metaTruncate++;
    const value = metrics[key] as number;
    delete metrics[key];
    metrics[`${truncateUtf8(key, MAX_METRICS_KEY_LEN)}...`] = value;
  }
}

/** A normalized trace, ready to become a TraceChunk. */
export interface NormalizedTrace {
  spans: Span[];
  root: Span;
  priority: number;
  origin: string;
  tags: Record<string, string>;
}

/**
 * traceutil.GetRoot: the last span with parent_id 0; else the last span whose parent is not in
 * the trace; else the last span.
 */
export function findRoot(spans: readonly Span[]): Span {
  for (let i = spans.length - 1; i >= 0; i--) {
    const span = spans[i] as Span;
    if (span.parentId === 0n) return span;
  }
  const ids = new Set<bigint>();
  for (const span of spans) ids.add(span.spanId);
  for (let i = spans.length - 1; i >= 0; i--) {
    const span = spans[i] as Span;
    if (!ids.has(span.parentId)) return span;
  }
  return spans[spans.length - 1] as Span;
}

/** traceutil.ComputeTopLevel: marks the spans that start a service's part of the trace. */
export function computeTopLevel(spans: readonly Span[]): void {
  const serviceById = new Map<bigint, string>();
  for (const span of spans) serviceById.set(span.spanId, span.service);
  for (const span of spans) {
    const parentService = span.parentId === 0n ? undefined : serviceById.get(span.parentId);
    if (parentService === undefined || parentService !== span.service) span.metrics[TOP_LEVEL_KEY] = 1;
    else delete span.metrics[TOP_LEVEL_KEY];
  }
}

/**
 * Normalizes a trace in place. Returns null when the trace is rejected (the reason counted):
 * empty, a foreign span, a span that cannot be repaired, or a user-rejected priority.
 */
export function normalizeTrace(
  spans: Span[],
  defaults: NormalizeDefaults,
  counters: NormalizeCounters = createNormalizeCounters(),
): NormalizedTrace | null {
  if (spans.length === 0) {
    counters.tracesDropped.emptyTrace++;
    return null;
  }
  const traceId = (spans[0] as Span).traceId;
  const seen = new Set<bigint>();
  for (const span of spans) {
    if (span.traceId !== traceId) {
      counters.tracesDropped.foreignSpan++;
      return null;
    }
    if (normalizeSpan(span, defaults, counters) === null) return null;
    if (seen.has(span.spanId)) counters.spansMalformed.duplicateSpanId++;
    seen.add(span.spanId);
  }

  const root = findRoot(spans);
  let priority = PRIORITY_NONE;
  const rootPriority = root.metrics[SAMPLING_PRIORITY_KEY];
  if (rootPriority !== undefined) priority = Math.trunc(rootPriority);
  else {
    for (const span of spans) {
      const p = span.metrics[SAMPLING_PRIORITY_KEY];
      if (p !== undefined) {
        priority = Math.trunc(p);
        break;
      }
    }
  }
  if (priority !== PRIORITY_NONE && priority < 0) {
    counters.tracesDropped.userReject++;
    return null;
  }

  computeTopLevel(spans);
  const tags: Record<string, string> = {};
  for (const span of spans) {
    const dm = span.meta[DECISION_MAKER_KEY];
    if (dm !== undefined) {
      tags[DECISION_MAKER_KEY] = dm;
      break;
    }
  }
  return { spans, root, priority, origin: root.meta[ORIGIN_KEY] ?? '', tags };
}
