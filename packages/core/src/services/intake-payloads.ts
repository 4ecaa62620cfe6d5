/**
 * Flushed data cut into intake request bodies (DESIGN.md §8): one JSON body per series batch
 * (split to stay under the intake's size limit), one per event (the v1 events API takes one),
 * one for all service checks, and the protobuf bodies as they come. Pure: compression and
 * sending are the adapter's.
 */
export type IntakeEndpoint = 'series' | 'sketches' | 'events' | 'check_run' | 'traces' | 'stats';

export interface IntakePayload {
  endpoint: IntakeEndpoint;
  /** The uncompressed body. */
  body: Uint8Array;
  /** How many series, sketches, events, checks or spans it holds: what a drop loses. */
  items: number;
  headers?: Readonly<Record<string, string>>;
}

/**
 * The v2 series intake takes at most 5 MB decompressed (512 KB compressed); 3 MiB of JSON
 * compresses far below the latter for DogStatsD's repetitive names and tags.
 */
export const MAX_SERIES_BODY_BYTES = 3 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * `{"series":[...]}` bodies of at most `maxBytes` each (a single larger series goes alone).
 * The whole batch is serialized in one JSON.stringify call and only re-cut when too large:
 * stringifying series one by one and joining them costs two to three times as much, which at
 * 10,000 contexts is the difference felt in stop().
 */
export function seriesPayloads(series: readonly unknown[], maxBytes = MAX_SERIES_BODY_BYTES): IntakePayload[] {
  const payloads: IntakePayload[] = [];
  const cut = (items: readonly unknown[]): void => {
    const body = encoder.encode(JSON.stringify({ series: items }));
    if (body.byteLength <= maxBytes || items.length === 1) {
      payloads.push({ endpoint: 'series', body, items: items.length });
      return;
    }
    const half = Math.ceil(items.length / 2);
    cut(items.slice(0, half));
    cut(items.slice(half));
  };
  // Chunks sized from a sample so that one stringify pass usually suffices; an unlucky chunk
  // (longer series further on) is halved until it fits.
  const sample = series.slice(0, 32);
  const perItem = sample.length === 0 ? 1 : JSON.stringify(sample).length / sample.length + 1;
  const perChunk = Math.max(1, Math.floor((maxBytes * 0.8) / perItem));
  for (let from = 0; from < series.length; from += perChunk) cut(series.slice(from, from + perChunk));
  return payloads;
}

export function eventPayloads(events: readonly unknown[]): IntakePayload[] {
  return events.map((event) => ({ endpoint: 'events', body: encoder.encode(JSON.stringify(event)), items: 1 }));
}

export function serviceCheckPayloads(checks: readonly unknown[]): IntakePayload[] {
  return checks.length === 0 ? [] : [{ endpoint: 'check_run', body: encoder.encode(JSON.stringify(checks)), items: checks.length }];
}

export function binaryPayload(endpoint: 'sketches' | 'traces' | 'stats', body: Uint8Array | null, items: number): IntakePayload[] {
  return body === null || body.byteLength === 0 ? [] : [{ endpoint, body, items }];
}
