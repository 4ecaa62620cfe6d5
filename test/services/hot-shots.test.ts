// A real DogStatsD client (hot-shots, from npm) against the DogStatsD server; the fake intake
// checks the aggregates Datadog would receive.
import { StatsD } from 'hot-shots';
import { describe, expect, it, vi } from 'vitest';
import type { FakeIntake } from '../helpers/fake-intake.js';
import { createServices, fakeIntake, localConfig, servicesBackends, until } from '../helpers/services-backends.js';

interface SeriesItem {
  metric: string;
  type: number;
  interval?: number;
  points: { timestamp: number; value: number }[];
  tags: string[];
}

interface DecodedDogsketch {
  ts: number;
  cnt: number;
  min: number;
  max: number;
  avg: number;
  sum: number;
  k: number[];
  n: number[];
}

// The Agent's sketch mapping, restated here so the test does not read quantiles with the code
// under test: value(k) = γ^(k − bias).
const GAMMA = 1 + 2 / 128;
const BIAS = 1338;

/** The value at rank round(q·(count−1)) of the merged bins, as the Agent ranks. */
function sketchQuantile(sketches: DecodedDogsketch[], q: number): number {
  const bins = new Map<number, number>();
  for (const sketch of sketches) sketch.k.forEach((key, i) => bins.set(key, (bins.get(key) ?? 0) + (sketch.n[i] ?? 0)));
  const keys = [...bins.keys()].sort((a, b) => a - b);
  const count = [...bins.values()].reduce((sum, n) => sum + n, 0);
  const rank = Math.round(q * (count - 1));
  let seen = 0;
  for (const key of keys) {
    seen += bins.get(key) ?? 0;
    if (seen > rank) return key === 0 ? 0 : Math.sign(key) * GAMMA ** (Math.abs(key) - BIAS);
  }
  throw new Error('rank beyond the bins');
}

function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.round(q * (sorted.length - 1))] as number;
}

function series(intake: FakeIntake): SeriesItem[] {
  return intake.byPath('/api/v2/series').flatMap((request) => (request.decoded as { series: SeriesItem[] }).series);
}

function one(intake: FakeIntake, metric: string): SeriesItem {
  const matches = series(intake).filter((item) => item.metric === metric);
  expect(matches, metric).toHaveLength(1);
  return matches[0] as SeriesItem;
}

function valueOf(intake: FakeIntake, metric: string): number {
  const item = one(intake, metric);
  expect(item.points, metric).toHaveLength(1);
  return item.points[0]?.value as number;
}

/** Starts just after a 10 s bucket boundary when close to one, so every sample shares a bucket. */
async function awayFromBucketEdge(): Promise<void> {
  const intoBucket = Date.now() % 10_000;
  if (intoBucket > 7_000) await new Promise((resolve) => setTimeout(resolve, 10_050 - intoBucket));
}

function send(client: StatsD, action: (done: (error?: Error) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => action((error) => (error ? reject(error) : resolve())));
}

describe.each(servicesBackends())('hot-shots → DogStatsD → intake (%s)', (backend) => {
  it('every metric type, an event and a service check arrive as the right aggregates', { timeout: 60_000 }, async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useTraceAgent: false, tags: ['team:core'] }));
    // Batched like a production client: ~8 KB datagrams instead of 10,000 tiny ones.
    const client = new StatsD({ host: '127.0.0.1', port: services.ports().dogstatsd ?? 0, maxBufferSize: 8_000, bufferFlushInterval: 50, includeDataDogTags: false, errorHandler: () => undefined });
    try {
      await awayFromBucketEdge();
      // hot-shots samples client-side with Math.random(); pin it so that every sampled call is
      // sent (with its @rate), making the expected scaled count exact.
      const random = vi.spyOn(Math, 'random').mockReturnValue(0);
      try {
        for (let i = 0; i < 10; i += 1) await send(client, (done) => client.increment('hs.requests', 1, 0.5, ['route:home'], done));
      } finally {
        random.mockRestore();
      }
      await send(client, (done) => client.increment('hs.plain', 3, done));
      for (const value of [5, 7, 3]) await send(client, (done) => client.gauge('hs.queue', value, done));
      for (const user of ['ann', 'bob', 'ann', 'cid', 'bob']) await send(client, (done) => client.set('hs.users', user, done));
      const histogram = [10, 20, 30, 40, 100];
      for (const value of histogram) await send(client, (done) => client.histogram('hs.size', value, done));
      for (const value of [1, 2, 3, 4]) await send(client, (done) => client.timing('hs.latency', value, done));

      // 10,000 distribution samples, a skewed spread over three decades.
      const samples = Array.from({ length: 10_000 }, (_, i) => Number((1 + ((i * 7_919) % 10_000) ** 2 / 100_000).toFixed(3)));
      for (let i = 0; i < samples.length; i += 500) {
        await Promise.all(samples.slice(i, i + 500).map((value) => send(client, (done) => client.distribution('hs.payload', value, done))));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await send(client, (done) => client.event('Deploy finished', 'v1.2.3 is live', { alert_type: 'success', priority: 'low', aggregation_key: 'deploy' }, ['env:test'], done));
      await send(client, (done) => client.check('hs.health', client.CHECKS.WARNING, { message: 'disk at 91%', hostname: 'web-1' }, ['role:web'], done));
      await new Promise<void>((resolve) => client.close(() => resolve()));

      await until(
        () => services.stats().dogstatsd,
        (stats) => stats.metrics >= 10 + 1 + 3 + 5 + 5 + 4 + samples.length && stats.events === 1 && stats.serviceChecks === 1,
        10_000,
      );
      expect(services.stats().dogstatsd.parseErrors).toBe(0);
      await services.stop({ timeoutMs: 5_000 });

      // Counts: 10 × 1 at @0.5 → 20, sent as a rate over the 10 s interval.
      const requests = one(intake, 'hs.requests');
      expect(requests).toMatchObject({ type: 2, interval: 10 });
      expect(requests.tags.sort()).toEqual(['route:home', 'team:core']);
      expect(valueOf(intake, 'hs.requests')).toBeCloseTo(20 / 10, 10);
      expect(valueOf(intake, 'hs.plain')).toBeCloseTo(3 / 10, 10);
      // Gauge: the last value. Set: the number of distinct members.
      expect(one(intake, 'hs.queue').type).toBe(3);
      expect(valueOf(intake, 'hs.queue')).toBe(3);
      expect(valueOf(intake, 'hs.users')).toBe(3);
      // Histogram and timing aggregates.
      expect(valueOf(intake, 'hs.size.max')).toBe(100);
      expect(valueOf(intake, 'hs.size.avg')).toBe(40);
      expect(valueOf(intake, 'hs.size.median')).toBe(30);
      expect(valueOf(intake, 'hs.size.95percentile')).toBe(100);
      expect(one(intake, 'hs.size.count').type).toBe(2);
      expect(valueOf(intake, 'hs.size.count')).toBeCloseTo(5 / 10, 10);
      expect(valueOf(intake, 'hs.latency.max')).toBe(4);
      expect(valueOf(intake, 'hs.latency.avg')).toBe(2.5);
      expect(valueOf(intake, 'hs.latency.count')).toBeCloseTo(4 / 10, 10);

      // Distribution: a sketch whose quantiles are within 1% of the exact ones.
      const sketchRequests = intake.byPath('/api/beta/sketches');
      expect(sketchRequests.length).toBeGreaterThan(0);
      const payloadSketches = sketchRequests.flatMap((request) => (request.decoded as { sketches: Array<{ metric: string; tags: string[]; dogsketches: DecodedDogsketch[] }> }).sketches);
      const payload = payloadSketches.filter((sketch) => sketch.metric === 'hs.payload');
      expect(payload).toHaveLength(1);
      expect(payload[0]?.tags).toEqual(['team:core']);
      const dogsketches = payload.flatMap((sketch) => sketch.dogsketches);
      expect(dogsketches.reduce((sum, sketch) => sum + sketch.cnt, 0)).toBe(samples.length);
      const sorted = [...samples].sort((a, b) => a - b);
      expect(Math.min(...dogsketches.map((sketch) => sketch.min))).toBe(sorted[0]);
      expect(Math.max(...dogsketches.map((sketch) => sketch.max))).toBe(sorted.at(-1));
      for (const q of [0.5, 0.95, 0.99]) {
        const exact = exactQuantile(sorted, q);
        const estimated = sketchQuantile(dogsketches, q);
        expect(Math.abs(estimated - exact) / exact, `p${q * 100}: ${estimated} vs ${exact}`).toBeLessThan(0.01);
      }

      // The event and the service check.
      const events = intake.byPath('/api/v1/events').map((request) => request.decoded as Record<string, unknown>);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ title: 'Deploy finished', text: 'v1.2.3 is live', alert_type: 'success', priority: 'low', aggregation_key: 'deploy' });
      expect(events[0]?.tags).toEqual(expect.arrayContaining(['env:test', 'team:core']));
      const checks = intake.byPath('/api/v1/check_run').flatMap((request) => request.decoded as Array<Record<string, unknown>>);
      expect(checks).toHaveLength(1);
      expect(checks[0]).toMatchObject({ check: 'hs.health', status: 1, message: 'disk at 91%', host_name: 'web-1' });
      expect(checks[0]?.tags).toEqual(expect.arrayContaining(['role:web', 'team:core']));
      for (const request of intake.requests) expect(request.headers['dd-api-key']).toBe('test-api-key');
    } finally {
      client.close();
    }
  });
});
