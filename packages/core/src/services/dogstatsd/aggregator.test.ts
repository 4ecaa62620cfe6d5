import { describe, expect, it } from 'vitest';
import { DogStatsDAggregator, MAX_PENDING_EVENTS, type AggregatorOptions } from './aggregator.js';
import type { SeriesV2 } from './intake-types.js';
import { MAX_DATAGRAM_BYTES, PARSE_ERROR_KINDS, type ParseErrorKind } from './types.js';

const T0 = 1_700_000_000; // a bucket start: divisible by 10
const encoder = new TextEncoder();

function aggregator(options: Partial<AggregatorOptions> = {}): DogStatsDAggregator {
  return new DogStatsDAggregator({ globalTags: [], maxContexts: 10_000, ...options });
}

function send(agg: DogStatsDAggregator, text: string, atSeconds = T0 + 1): void {
  agg.ingest(encoder.encode(text), atSeconds * 1000);
}

function byMetric(series: SeriesV2[]): Record<string, SeriesV2> {
  return Object.fromEntries(series.map((s) => [s.metric, s]));
}

describe('DogStatsDAggregator series', () => {
  it('flushes a count as a rate: sum of value/rate over the 10 s interval', () => {
    const agg = aggregator();
    send(agg, 'hits:1|c|@0.5\nhits:1|c|@0.5\nhits:1|c|@0.5\nhits:4|c');
    expect(agg.flush((T0 + 10) * 1000, false).series).toEqual([
      { metric: 'hits', type: 2, points: [{ timestamp: T0, value: 1 }], interval: 10, tags: [] },
    ]);
  });

  it('counts every packed value', () => {
    const agg = aggregator();
    send(agg, 'hits:1:2:3|c\nhits:4:10|c|@0.5');
    expect(agg.flush((T0 + 10) * 1000, false).series[0]?.points).toEqual([{ timestamp: T0, value: (6 + 28) / 10 }]);
  });

  it('keeps the last gauge value, packed or not', () => {
    const agg = aggregator();
    send(agg, 'temp:1|g\ntemp:5|g|@0.5\ntemp:7:3|g');
    expect(agg.flush((T0 + 10) * 1000, false).series).toEqual([
      { metric: 'temp', type: 3, points: [{ timestamp: T0, value: 3 }], interval: 10, tags: [] },
    ]);
  });

  it('flushes a set as the gauge of its distinct members', () => {
    const agg = aggregator();
    send(agg, 'users:alice|s\nusers:bob|s\nusers:alice|s\nusers:a:b|s');
    expect(agg.flush((T0 + 10) * 1000, false).series).toEqual([
      { metric: 'users', type: 3, points: [{ timestamp: T0, value: 3 }], interval: 10, tags: [] },
    ]);
  });

  it('flushes histogram aggregates as the Agent does by default', () => {
    const agg = aggregator();
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // out of order on purpose
    send(agg, values.map((v) => `latency:${v}|h`).join('\n'));
    const series = agg.flush((T0 + 10) * 1000, false).series;
    expect(series.map((s) => [s.metric, s.type, s.points[0]?.value])).toEqual([
      ['latency.max', 3, 100],
      ['latency.median', 3, 50],
      ['latency.avg', 3, 50.5],
      ['latency.count', 2, 10],
      ['latency.95percentile', 3, 95],
    ]);
  });

  it('weights histogram samples by 1/rate', () => {
    const agg = aggregator();
    send(agg, 'h:10|h|@0.5\nh:20|h');
    const series = byMetric(agg.flush((T0 + 10) * 1000, false).series);
    expect(series['h.count']?.points[0]?.value).toBeCloseTo(3 / 10, 12);
    expect(series['h.avg']?.points[0]?.value).toBeCloseTo(40 / 3, 12);
    expect(series['h.median']?.points[0]?.value).toBe(10);
    expect(series['h.95percentile']?.points[0]?.value).toBe(20);
    expect(series['h.max']?.points[0]?.value).toBe(20);
  });

  it('aggregates timings (ms) and histograms (h) of one name as one context, packed values included', () => {
    const agg = aggregator();
    send(agg, 'rt:1:2|ms\nrt:3|h');
    const series = byMetric(agg.flush((T0 + 10) * 1000, false).series);
    expect(series['rt.count']?.points).toEqual([{ timestamp: T0, value: 0.3 }]);
    expect(series['rt.max']?.points[0]?.value).toBe(3);
  });

  it('keys contexts by sorted, de-duplicated tags including the global ones', () => {
    const agg = aggregator({ globalTags: ['env:prod', 'a'] });
    send(agg, 'x:1|c|#b,a,b\nx:1|c|#a,b\nx:1|c|#b,env:prod\nx:1|c|#c');
    const series = agg.flush((T0 + 10) * 1000, false).series;
    expect(series.map((s) => [s.tags, s.points[0]?.value])).toEqual([
      [['a', 'b', 'env:prod'], 0.3],
      [['a', 'c', 'env:prod'], 0.1],
    ]);
  });

  it('keeps one name sent with two types apart', () => {
    const agg = aggregator();
    send(agg, 'x:1|c\nx:2|g');
    expect(agg.flush((T0 + 10) * 1000, false).series.map((s) => [s.metric, s.type])).toEqual([
      ['x', 2],
      ['x', 3],
    ]);
  });

  it('prefixes the namespace with one dot', () => {
    for (const namespace of ['app', 'app.']) {
      const agg = aggregator({ namespace });
      send(agg, 'x:1|c\nlat:1|h');
      const metrics = agg.flush((T0 + 10) * 1000, false).series.map((s) => s.metric);
      expect(metrics).toEqual(['app.x', 'app.lat.max', 'app.lat.median', 'app.lat.avg', 'app.lat.count', 'app.lat.95percentile']);
    }
  });

  it('adds the host resource when a hostname is set', () => {
    const agg = aggregator({ hostname: 'fn-1' });
    send(agg, 'x:1|g');
    expect(agg.flush((T0 + 10) * 1000, false).series[0]?.resources).toEqual([{ type: 'host', name: 'fn-1' }]);
  });

  it('flushes only closed 10 s buckets until the final flush', () => {
    const agg = aggregator();
    send(agg, 'x:1|c', T0 + 3);
    send(agg, 'x:2|c', T0 + 12);
    const first = agg.flush((T0 + 15) * 1000, false);
    expect(first.series).toEqual([{ metric: 'x', type: 2, points: [{ timestamp: T0, value: 0.1 }], interval: 10, tags: [] }]);
    expect(agg.stats().contexts).toBe(1);
    expect(agg.flush((T0 + 15) * 1000, false).series).toEqual([]);
    const last = agg.flush((T0 + 15) * 1000, true);
    expect(last.series[0]?.points).toEqual([{ timestamp: T0 + 10, value: 0.2 }]);
    expect(agg.stats().contexts).toBe(0);
  });

  it('merges the closed buckets of one context into one series with a point each', () => {
    const agg = aggregator();
    send(agg, 'x:5|g', T0 + 1);
    send(agg, 'x:6|g', T0 + 11);
    send(agg, 'x:7|g', T0 + 21);
    expect(agg.flush((T0 + 30) * 1000, false).series).toEqual([
      {
        metric: 'x',
        type: 3,
        points: [
          { timestamp: T0, value: 5 },
          { timestamp: T0 + 10, value: 6 },
          { timestamp: T0 + 20, value: 7 },
        ],
        interval: 10,
        tags: [],
      },
    ]);
  });

  it('buckets a sample by its |T timestamp rather than its arrival', () => {
    const agg = aggregator();
    send(agg, `x:1|c|T${T0 - 35}\nx:1|c`, T0 + 1);
    const series = agg.flush((T0 + 5) * 1000, false).series;
    expect(series[0]?.points).toEqual([{ timestamp: T0 - 40, value: 0.1 }]);
    expect(agg.flush((T0 + 10) * 1000, false).series[0]?.points).toEqual([{ timestamp: T0, value: 0.1 }]);
  });

  it('drops samples of new contexts beyond maxContexts, counts them, and admits new ones after a flush', () => {
    const agg = aggregator({ maxContexts: 2 });
    send(agg, 'a:1|c\nb:1|c\nc:1|c\na:1|c\nd:1|g');
    expect(agg.stats()).toMatchObject({ contexts: 2, contextsDropped: 2, metrics: 5 });
    const series = agg.flush((T0 + 10) * 1000, false).series;
    expect(series.map((s) => [s.metric, s.points[0]?.value])).toEqual([
      ['a', 0.2],
      ['b', 0.1],
    ]);
    send(agg, 'c:1|c', T0 + 11);
    expect(agg.stats()).toMatchObject({ contexts: 1, contextsDropped: 2 });
  });

  it('rejects a bucket that is not a positive whole number of seconds, and a negative maxContexts', () => {
    expect(() => aggregator({ bucketSeconds: 0 })).toThrow(/bucketSeconds must be a positive integer, got 0/);
    expect(() => aggregator({ bucketSeconds: 2.5 })).toThrow(RangeError);
    expect(() => aggregator({ maxContexts: -1 })).toThrow(/maxContexts must be 0 or more, got -1/);
  });

  it('honours another bucket length', () => {
    const agg = aggregator({ bucketSeconds: 60 });
    const minute = T0 + 40; // a multiple of 60
    send(agg, 'x:6|c', minute + 59);
    expect(agg.flush((minute + 59) * 1000, false).series).toEqual([]);
    expect(agg.flush((minute + 60) * 1000, false).series).toEqual([
      { metric: 'x', type: 2, points: [{ timestamp: minute, value: 0.1 }], interval: 60, tags: [] },
    ]);
  });

  it('returns nothing when nothing was received', () => {
    expect(aggregator().flush(T0 * 1000, true)).toEqual({ series: [], sketches: null, events: [], serviceChecks: [] });
  });
});

describe('DogStatsDAggregator events and service checks', () => {
  it('builds v1 event bodies with global tags, the default host and the arrival time', () => {
    const agg = aggregator({ globalTags: ['env:prod'], hostname: 'fn-1' });
    send(agg, '_e{6,9}:deploy|v2 is out|t:success|k:rel|s:ci|#team:web,env:prod\n_e{1,1}:a|b|d:1600000000|h:other|p:low');
    expect(agg.flush((T0 + 1) * 1000, false).events).toEqual([
      {
        title: 'deploy',
        text: 'v2 is out',
        date_happened: T0 + 1,
        priority: 'normal',
        alert_type: 'success',
        host: 'fn-1',
        aggregation_key: 'rel',
        source_type_name: 'ci',
        tags: ['env:prod', 'team:web'],
      },
      { title: 'a', text: 'b', date_happened: 1_600_000_000, priority: 'low', alert_type: 'info', host: 'other', tags: ['env:prod'] },
    ]);
  });

  it('builds check_run items', () => {
    const agg = aggregator({ globalTags: ['env:prod'] });
    send(agg, '_sc|db.up|2|m:refused|#db:main\n_sc|cache.up|0|d:1600000000|h:h1');
    expect(agg.flush((T0 + 1) * 1000, false).serviceChecks).toEqual([
      { check: 'db.up', host_name: '', status: 2, timestamp: T0 + 1, message: 'refused', tags: ['db:main', 'env:prod'] },
      { check: 'cache.up', host_name: 'h1', status: 0, timestamp: 1_600_000_000, message: '', tags: ['env:prod'] },
    ]);
  });

  it('hands events and checks out once, whatever the buckets', () => {
    const agg = aggregator();
    send(agg, '_e{1,1}:a|b\n_sc|c|0\nx:1|c');
    const first = agg.flush((T0 + 2) * 1000, false);
    expect([first.events.length, first.serviceChecks.length, first.series.length]).toEqual([1, 1, 0]);
    const second = agg.flush((T0 + 2) * 1000, true);
    expect([second.events.length, second.serviceChecks.length, second.series.length]).toEqual([0, 0, 1]);
  });

  it(`holds at most ${MAX_PENDING_EVENTS} events and checks between flushes and counts the rest`, () => {
    const agg = aggregator();
    const events = '_e{1,1}:a|b\n'.repeat(1000);
    const checks = '_sc|c|0\n'.repeat(1000);
    for (let i = 0; i < MAX_PENDING_EVENTS / 1000 + 1; i++) send(agg, events + checks);
    expect(agg.stats()).toMatchObject({ events: MAX_PENDING_EVENTS + 1000, eventsDropped: 1000, serviceChecksDropped: 1000 });
    const flushed = agg.flush((T0 + 2) * 1000, false);
    expect([flushed.events.length, flushed.serviceChecks.length]).toEqual([MAX_PENDING_EVENTS, MAX_PENDING_EVENTS]);
  });
});

describe('DogStatsDAggregator stats', () => {
  it('counts packets, bytes, lines and what they held', () => {
    const agg = aggregator();
    send(agg, 'a:1|c\n\nb:1|g\n_e{1,1}:a|b\n_sc|c|0\nbad');
    send(agg, 'c:1|s');
    expect(agg.stats()).toEqual({
      packets: 2,
      bytes: 36 + 5,
      lines: 6,
      metrics: 3,
      events: 1,
      serviceChecks: 1,
      parseErrors: 1,
      errors: { ...Object.fromEntries(PARSE_ERROR_KINDS.map((k) => [k, 0])), missing_value: 1 },
      contexts: 3,
      contextsDropped: 0,
      eventsDropped: 0,
      serviceChecksDropped: 0,
    });
  });

  const badInputs: Array<[string, string | Uint8Array, ParseErrorKind]> = [
    ['a missing value', 'a|c', 'missing_value'],
    ['a missing type', 'a:1', 'missing_type'],
    ['an unknown type', 'a:1|q', 'unknown_type'],
    ['a non-numeric sample rate', 'a:1|c|@x', 'bad_sample_rate'],
    ['an out-of-range sample rate', 'a:1|c|@2', 'bad_sample_rate'],
    ['a zero sample rate', 'a:1|c|@0', 'bad_sample_rate'],
    ['NaN', 'a:NaN|g', 'bad_value'],
    ['Infinity', 'a:Infinity|g', 'bad_value'],
    ['a non-numeric value', 'a:twelve|g', 'bad_value'],
    ['an empty name', ':1|c', 'empty_name'],
    ['a name over 200 bytes', `${'n'.repeat(201)}:1|c`, 'name_too_long'],
    ['over 100 tags', `a:1|c|#${Array.from({ length: 101 }, (_, i) => `t${i}`).join(',')}`, 'too_many_tags'],
    ['a bad timestamp', 'a:1|c|Tnow', 'bad_timestamp'],
    ['non-UTF-8 bytes', new Uint8Array([0x61, 0xc3, 0x28, 0x3a, 0x31, 0x7c, 0x63]), 'invalid_utf8'],
    ['a bad event', '_e{9,1}:a|b', 'bad_event'],
    ['a bad service check', '_sc|x|7', 'bad_service_check'],
    ['a datagram over 64 KiB', new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(0x0a), 'datagram_too_large'],
  ];

  it.each(badInputs)('counts %s by kind and keeps the good line next to it', (_name, bad, kind) => {
    const agg = aggregator();
    const badBytes = typeof bad === 'string' ? encoder.encode(bad) : bad;
    agg.ingest(badBytes, (T0 + 1) * 1000);
    if (kind !== 'datagram_too_large') {
      const mixed = new Uint8Array([...encoder.encode('good:1|c\n'), ...badBytes, ...encoder.encode('\nalso.good:2|g')]);
      agg.ingest(mixed, (T0 + 1) * 1000);
    }
    const stats = agg.stats();
    const expected = kind === 'datagram_too_large' ? 1 : 2;
    expect(stats.errors[kind]).toBe(expected);
    expect(stats.parseErrors).toBe(expected);
    const series = agg.flush((T0 + 10) * 1000, false).series;
    expect(series.map((s) => s.metric)).toEqual(kind === 'datagram_too_large' ? [] : ['good', 'also.good']);
  });

  it('aggregates a full 64 KiB datagram of packed lines', () => {
    const agg = aggregator();
    const line = 'lat:1:2:3:4|d|#env:prod\n';
    const lines = Math.floor(MAX_DATAGRAM_BYTES / line.length);
    const bytes = encoder.encode(line.repeat(lines));
    agg.ingest(bytes, (T0 + 1) * 1000);
    expect(agg.stats()).toMatchObject({ metrics: lines, parseErrors: 0, contexts: 1 });
    expect(agg.flush((T0 + 10) * 1000, false).sketches).not.toBeNull();
  });

  it('counts a mixed datagram line by line: good lines kept, each bad one by kind', () => {
    const agg = aggregator();
    send(agg, 'ok:1|c\nnope\nok:2|c|@7\nok:3|c\n:1|g\nok:x|c\n_sc|a|9\nok:4|c');
    const stats = agg.stats();
    expect(stats.errors).toMatchObject({ missing_value: 1, bad_sample_rate: 1, empty_name: 1, bad_value: 1, bad_service_check: 1 });
    expect(stats.parseErrors).toBe(5);
    expect(stats.metrics).toBe(3);
    expect(agg.flush((T0 + 10) * 1000, false).series[0]?.points[0]?.value).toBeCloseTo(0.8, 12);
  });
});
