// The intake misbehaving: retried statuses, rejected payloads, and an intake that is down or
// silent while stop() runs its final flush.
import { ServicesError } from '@telemetry-kit/node';
import { describe, expect, it } from 'vitest';
import { startFakeIntake, type FakeIntake } from '../helpers/fake-intake.js';
import { StatusLog, createServices, fakeIntake, httpRequest, localConfig, sendDatagrams, servicesBackends, until } from '../helpers/services-backends.js';
import { encodeV04, wireSpan } from '../helpers/trace-payloads.js';

function seriesNames(intake: FakeIntake, statusFilter: (status: number | null) => boolean): string[] {
  return intake
    .byPath('/api/v2/series')
    .filter((request) => statusFilter(request.status))
    .flatMap((request) => (request.decoded as { series: Array<{ metric: string }> }).series.map((series) => series.metric));
}

describe.each(servicesBackends())('intake faults (%s)', (backend) => {
  it('500 then 202: the payload is retried and delivered once', async () => {
    const intake = await fakeIntake();
    intake.respond('/api/v2/series', { statuses: [500], status: 202 });
    const services = createServices(backend);
    await services.start(localConfig(intake, { useTraceAgent: false }));
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['retried.metric:1|c']);
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
    await services.stop();
    const attempts = intake.byPath('/api/v2/series');
    expect(attempts.map((request) => request.status)).toEqual([500, 202]);
    expect(seriesNames(intake, (status) => status === 202)).toEqual(['retried.metric']);
    expect(services.stats().intake).toMatchObject({ delivered: 1, retries: 1, droppedItems: 0 });
  });

  it('403: dropped, counted, and reported with an error status', async () => {
    const intake = await fakeIntake();
    intake.respond('*', { status: 403 });
    const services = createServices(backend);
    const log = new StatusLog();
    await services.start(localConfig(intake, { useTraceAgent: false }), log.listener);
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['forbidden.a:1|c\nforbidden.b:2|g']);
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 2);
    await services.stop();
    expect(intake.byPath('/api/v2/series')).toHaveLength(1);
    const stats = services.stats().intake;
    expect(stats.dropped.rejected).toBe(1);
    expect(stats.droppedItems).toBe(2);
    expect(stats.delivered).toBe(0);
    const error = await log.next((status) => status.type === 'error');
    expect(error).toMatchObject({ type: 'error', service: 'intake' });
    expect(error.message).toContain('403');
  });

  it('intake down (connection refused) during stop(): stop() still settles within timeoutMs, drops counted', async () => {
    const intake = await startFakeIntake();
    const url = intake.url;
    await intake.close();
    const services = createServices(backend);
    const log = new StatusLog();
    await services.start({ ...localConfig(intake, { retry: { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200 } }), ddUrl: url, apmDdUrl: url }, log.listener);
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['down.metric:1|c']);
    await httpRequest(services.ports().traceAgent ?? 0, 'PUT', '/v0.4/traces', encodeV04([[wireSpan()]]));
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
    const timeoutMs = 800;
    const started = Date.now();
    const outcome = await services.stop({ timeoutMs }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(timeoutMs + 400);
    // 20 attempts with backoff outlast 800 ms: the deadline cuts them off.
    expect(outcome).toBeInstanceOf(ServicesError);
    expect((outcome as ServicesError).code).toBe('SHUTDOWN_TIMEOUT');
    expect(services.isRunning()).toBe(false);
    const stats = services.stats().intake;
    expect(stats.delivered).toBe(0);
    expect(stats.droppedItems).toBeGreaterThanOrEqual(2);
    expect(log.statuses.some((status) => status.type === 'error')).toBe(true);
    expect(log.statuses.at(-1)).toEqual({ type: 'stopped' });
  });

  it('intake down with few retries: stop() resolves once they are spent, drops counted', async () => {
    const intake = await startFakeIntake();
    const url = intake.url;
    await intake.close();
    const services = createServices(backend);
    await services.start({ ...localConfig(intake, { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } }), ddUrl: url, apmDdUrl: url });
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['down.metric:1|c']);
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
    const started = Date.now();
    await services.stop({ timeoutMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(services.stats().intake).toMatchObject({ delivered: 0, dropped: { exhausted: 1 }, droppedItems: 1 });
  });

  it('an intake that accepts but never answers: stop() rejects SHUTDOWN_TIMEOUT on time, dropping what is left', async () => {
    const intake = await fakeIntake();
    intake.respond('*', { hang: true });
    const services = createServices(backend);
    await services.start(localConfig(intake, { requestTimeoutMs: 60_000 }));
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['hang.a:1|c\nhang.b:1|g']);
    await httpRequest(services.ports().traceAgent ?? 0, 'PUT', '/v0.4/traces', encodeV04([[wireSpan(), wireSpan({ span_id: 8n, parent_id: 7n })]]));
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 2);
    const started = Date.now();
    const error = await services.stop({ timeoutMs: 500 }).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(Date.now() - started).toBeLessThan(500 + 400);
    expect(error).toBeInstanceOf(ServicesError);
    expect((error as ServicesError).code).toBe('SHUTDOWN_TIMEOUT');
    expect((error as ServicesError).message).toMatch(/dropped \d+ payloads? \(\d+ items\)/);
    const stats = services.stats().intake;
    expect(stats.dropped.aborted).toBeGreaterThanOrEqual(2);
    expect(stats.droppedItems).toBeGreaterThanOrEqual(4);
    expect(services.isRunning()).toBe(false);
    // And stop() again on the stopped instance resolves at once.
    await services.stop();
  });

  it('closed metric buckets go out every flushIntervalMs, not only at stop', async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useTraceAgent: false, flushIntervalMs: 50 }));
    // A timestamp 60 s back puts the point in a bucket that is already closed.
    const past = Math.floor(Date.now() / 1000) - 60;
    await sendDatagrams(services.ports().dogstatsd ?? 0, [`periodic.gauge:4|g|T${past}`]);
    const requests = await intake.waitFor((all) => all.some((request) => request.kind === 'series'), 5_000);
    expect(requests.find((request) => request.kind === 'series')?.decoded).toMatchObject({ series: [{ metric: 'periodic.gauge', points: [{ value: 4 }] }] });
    expect(services.isRunning()).toBe(true);
  });
});
