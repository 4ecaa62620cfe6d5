import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { ServicesError } from '@telemetry-kit/node';
import { describe, expect, it } from 'vitest';
import { StatusLog, createServices, fakeIntake, httpRequest, localConfig, sendDatagrams, servicesBackends, until } from '../helpers/services-backends.js';
import { encodeV04, wireSpan } from '../helpers/trace-payloads.js';

async function rejection(promise: Promise<unknown>): Promise<ServicesError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ServicesError) return error;
    throw error;
  }
  throw new Error('expected a ServicesError');
}

describe.each(servicesBackends())('services lifecycle (%s)', (backend) => {
  it('start() resolves once both listeners are bound, with a ready status per service', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const log = new StatusLog();
    expect(services.isRunning()).toBe(false);
    expect(services.ports()).toEqual({ dogstatsd: null, traceAgent: null });
    await services.start(localConfig(intake), log.listener);
    expect(services.isRunning()).toBe(true);
    const ports = services.ports();
    expect(ports.dogstatsd).toBeGreaterThan(0);
    expect(ports.traceAgent).toBeGreaterThan(0);
    const ready = log.statuses.filter((status) => status.type === 'ready');
    expect(ready).toEqual([
      { type: 'ready', service: 'dogstatsd', port: ports.dogstatsd },
      { type: 'ready', service: 'trace-agent', port: ports.traceAgent },
    ]);
    // Both are really listening.
    expect((await httpRequest(ports.traceAgent ?? 0, 'GET', '/info')).status).toBe(200);
    await sendDatagrams(ports.dogstatsd ?? 0, ['lifecycle.up:1|c']);
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
  });

  it('stop() resolves, reports stopped, and isRunning() turns false', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const log = new StatusLog();
    await services.start(localConfig(intake), log.listener);
    await services.stop({ timeoutMs: 2_000 });
    expect(services.isRunning()).toBe(false);
    expect(services.ports()).toEqual({ dogstatsd: null, traceAgent: null });
    expect(log.statuses.at(-1)).toEqual({ type: 'stopped' });
  });

  it('stop() on an instance never started resolves at once and does nothing', async () => {
    const services = createServices(backend);
    await services.stop();
    expect(services.isRunning()).toBe(false);
    expect(services.stats()).toMatchObject({ running: false, flushes: { metrics: 0, traces: 0 } });
  });

  it('stop() on a stopped instance resolves at once; concurrent stop() calls share one shutdown', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const log = new StatusLog();
    await services.start(localConfig(intake), log.listener);
    await Promise.all([services.stop(), services.stop(), services.stop()]);
    expect(log.statuses.filter((status) => status.type === 'stopped')).toHaveLength(1);
    const started = Date.now();
    await services.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(log.statuses.filter((status) => status.type === 'stopped')).toHaveLength(1);
  });

  it('start() twice → ALREADY_STARTED, also while the first start is in progress', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const first = services.start(localConfig(intake));
    const concurrent = await rejection(services.start(localConfig(intake)));
    expect(concurrent.code).toBe('ALREADY_STARTED');
    await first;
    const again = await rejection(services.start(localConfig(intake)));
    expect(again.code).toBe('ALREADY_STARTED');
    expect(services.isRunning()).toBe(true);
  });

  it('can start again after stop()', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake));
    await services.stop();
    await services.start(localConfig(intake));
    expect(services.isRunning()).toBe(true);
    expect(services.ports().dogstatsd).toBeGreaterThan(0);
  });

  it('a taken DogStatsD port → PORT_IN_USE naming dogstatsdPort; nothing stays bound', async () => {
    const intake = await fakeIntake();
    const taken = createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      const port = taken.address().port;
      const services = createServices(backend);
      const error = await rejection(services.start(localConfig(intake, { dogstatsdPort: port })));
      expect(error.code).toBe('PORT_IN_USE');
      expect(error.field).toBe('dogstatsdPort');
      expect(error.message).toContain(String(port));
      expect(services.isRunning()).toBe(false);
      expect(services.ports()).toEqual({ dogstatsd: null, traceAgent: null });
    } finally {
      taken.close();
    }
  });

  it('a taken trace agent port → PORT_IN_USE naming traceAgentPort', async () => {
    const intake = await fakeIntake();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const services = createServices(backend);
      const error = await rejection(services.start(localConfig(intake, { traceAgentPort: port })));
      expect(error.code).toBe('PORT_IN_USE');
      expect(error.field).toBe('traceAgentPort');
      // The failed start() released the DogStatsD socket: the same instance starts cleanly after.
      await services.start(localConfig(intake));
      expect(services.isRunning()).toBe(true);
    } finally {
      taken.close();
    }
  });

  it.each([
    ['dogstatsdPort', { dogstatsdPort: 70_000 }],
    ['site', { site: 'not a site' }],
    ['logLevel', { logLevel: 'loud' }],
    ['metricNamespace', { metricNamespace: '-x' }],
    ['traceFlushIntervalMs', { traceFlushIntervalMs: -5 }],
  ])('invalid config → INVALID_CONFIG naming %s', async (field, overrides) => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const error = await rejection(services.start(localConfig(intake, overrides as never)));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(services.isRunning()).toBe(false);
  });

  it('a missing API key is a warning status, not an error', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const log = new StatusLog();
    await services.start(localConfig(intake, { apiKey: null }), log.listener);
    expect(log.statuses[0]).toMatchObject({ type: 'warning' });
    expect(log.statuses[0]?.message).toContain('apiKey');
    expect(services.isRunning()).toBe(true);
  });

  it('runs one service alone when the other is disabled', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useDogstatsd: false }));
    expect(services.ports().dogstatsd).toBeNull();
    expect(services.ports().traceAgent).toBeGreaterThan(0);
  });

  it('flush() sends everything so far, open buckets included, and keeps running', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const log = new StatusLog();
    await services.start(localConfig(intake), log.listener);
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['flushed.now:5|g']);
    await httpRequest(services.ports().traceAgent ?? 0, 'PUT', '/v0.4/traces', encodeV04([[wireSpan({ trace_id: 3n, span_id: 4n })]]));
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
    await services.flush();
    expect(intake.byPath('/api/v2/series')).toHaveLength(1);
    expect(intake.byPath('/api/v0.2/traces')).toHaveLength(1);
    expect(services.isRunning()).toBe(true);
    expect(services.stats().flushes).toEqual({ metrics: 1, traces: 1 });
    expect(log.statuses.filter((status) => status.type === 'flushed')).toHaveLength(2);
    // Nothing new: the final flush at stop() sends no second series.
    await services.stop();
    expect(intake.byPath('/api/v2/series')).toHaveLength(1);
  });

  it('flush() when not running resolves and does nothing', async () => {
    const services = createServices(backend);
    await services.flush();
    expect(services.stats().flushes).toEqual({ metrics: 0, traces: 0 });
  });

  it('stop() during start() waits for the listeners, then releases them', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    const starting = services.start(localConfig(intake));
    const stopping = services.stop();
    await Promise.all([starting, stopping]);
    expect(services.isRunning()).toBe(false);
    expect(services.ports()).toEqual({ dogstatsd: null, traceAgent: null });
  });

  it('a status listener that throws does not disturb the services', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake), () => {
      throw new Error('listener bug');
    });
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['still.fine:1|c']);
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
    await services.stop();
    expect(intake.byPath('/api/v2/series')).toHaveLength(1);
  });

  it('stats() reports packets, metrics, parse errors by kind, drops, flushes, traces and intake figures', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake));
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['s.a:1|c\ns.b:x|g', 's.c:2|h']);
    await httpRequest(services.ports().traceAgent ?? 0, 'PUT', '/v0.4/traces', encodeV04([[wireSpan()]]));
    await until(() => services.stats().dogstatsd.packets, (packets) => packets === 2);
    const running = services.stats();
    expect(running).toMatchObject({
      backend,
      running: true,
      dogstatsd: { packets: 2, metrics: 2, parseErrors: 1, errors: { bad_value: 1 }, contextsDropped: 0 },
      traceAgent: { traces: 1, spans: 1, requests: 1, responses: { 200: 1 } },
      intake: { delivered: 0, droppedItems: 0 },
    });
    await services.stop();
    const stopped = services.stats();
    expect(stopped.running).toBe(false);
    expect(stopped.flushes).toEqual({ metrics: 1, traces: 1 });
    expect(stopped.intake.delivered).toBeGreaterThanOrEqual(2);
    expect(stopped.dogstatsd.packets).toBe(2);
  });

  it('stopped services hold nothing open: no socket, server or timer is left', async () => {
    const intake = await fakeIntake();
    const before = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap');
    const services = createServices(backend);
    await services.start(localConfig(intake, { flushIntervalMs: 50, traceFlushIntervalMs: 50 }));
    const { dogstatsd, traceAgent } = services.ports();
    await sendDatagrams(dogstatsd ?? 0, ['held.open:1|c']);
    expect((await httpRequest(traceAgent ?? 0, 'GET', '/info')).status).toBe(200);
    await services.stop();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap');
    const count = (list: string[], kind: string): number => list.filter((item) => item === kind).length;
    for (const kind of ['UDPWrap', 'TCPServerWrap', 'TCPSocketWrap', 'Timeout']) expect(count(after, kind), kind).toBeLessThanOrEqual(count(before, kind));
  });
});
