/**
 * The services backends the suite runs on: `js` always, `native` once the addon exports a
 * `ServerlessServices` class (issue 6). TELEMETRY_KIT_BACKEND=js|native narrows the list to that
 * backend when it is available, as for the conformance suite. Every instance made here is
 * stopped after its test, so a failing test leaves no socket open.
 */
import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import { ServerlessServices, type ServicesConfig, type ServicesStatus } from '@telemetry-kit/node';
import { afterEach, expect } from 'vitest';
import { expectedBackend } from './backend.js';
import { startFakeIntake, type FakeIntake } from './fake-intake.js';

export type ServicesBackend = 'js' | 'native';

export function servicesBackends(): ServicesBackend[] {
  const available: ServicesBackend[] = ['js'];
  if (new ServerlessServices({ backend: 'native' }).backend === 'native') available.push('native');
  const expected = expectedBackend();
  return expected !== 'auto' && available.includes(expected) ? [expected] : available;
}

const live: ServerlessServices[] = [];
const intakes: FakeIntake[] = [];

afterEach(async () => {
  await Promise.all(live.splice(0).map((services) => services.stop({ timeoutMs: 1_000 }).catch(() => undefined)));
  await Promise.all(intakes.splice(0).map((intake) => intake.close()));
});

export function createServices(backend: ServicesBackend): ServerlessServices {
  const services = new ServerlessServices({ backend });
  expect(services.backend).toBe(backend);
  live.push(services);
  return services;
}

/** A fake intake closed after the test. */
export async function fakeIntake(): Promise<FakeIntake> {
  const intake = await startFakeIntake();
  intakes.push(intake);
  return intake;
}

/** Ephemeral ports, both intakes on the fake, quick retries: the base config of most tests. */
export function localConfig(intake: FakeIntake, overrides: ServicesConfig = {}): ServicesConfig {
  return {
    apiKey: 'test-api-key',
    ddUrl: intake.url,
    apmDdUrl: intake.url,
    dogstatsdPort: 0,
    traceAgentPort: 0,
    logLevel: 'off',
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    requestTimeoutMs: 2_000,
    ...overrides,
  };
}

/** Collects statuses; `next(predicate)` waits (bounded) for one that matches. */
export class StatusLog {
  readonly statuses: ServicesStatus[] = [];
  private waiters: Array<() => void> = [];

  readonly listener = (status: ServicesStatus): void => {
    this.statuses.push(status);
    for (const wake of this.waiters.splice(0)) wake();
  };

  async next(predicate: (status: ServicesStatus) => boolean, timeoutMs = 5_000): Promise<ServicesStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.statuses.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching status within ${timeoutMs} ms; saw ${JSON.stringify(this.statuses)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Polls `read` until `done` holds; bounded. */
export async function until<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends each datagram over UDP to 127.0.0.1:port, one after the other. */
export async function sendDatagrams(port: number, datagrams: ReadonlyArray<string | Uint8Array>): Promise<void> {
  const socket = createSocket('udp4');
  try {
    for (const datagram of datagrams) {
      await new Promise<void>((resolve, reject) => socket.send(typeof datagram === 'string' ? Buffer.from(datagram) : datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    }
  } finally {
    socket.close();
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to the trace agent on 127.0.0.1. */
export function httpRequest(port: number, method: string, path: string, body?: Uint8Array, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const sent = request({ host: '127.0.0.1', port, method, path, headers: { ...(body ? { 'content-type': 'application/msgpack', 'content-length': String(body.byteLength) } : {}), ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    sent.on('error', reject);
    sent.end(body ? Buffer.from(body) : undefined);
  });
}
