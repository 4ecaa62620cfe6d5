import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TelemetryError, TelemetryKit, type TelemetryEvent } from '@telemetry-kit/node';
import { deriveUserId } from '@telemetry-kit/core';
import { describe, expect, it } from 'vitest';
import { setEnv, tempDir } from '../helpers/env.js';
import { expectValidEvent } from '../helpers/schema.js';
import { buildKit, useKits } from './kit.js';

const track = useKits();

async function onlyEvent(kit: TelemetryKit): Promise<TelemetryEvent> {
  const stored = await kit.events();
  expect(stored).toHaveLength(1);
  return stored[0]!.event;
}

describe('configuration', () => {
  const cases: Array<[string, (b: ReturnType<typeof TelemetryKit.builder>) => unknown, string]> = [
    ['empty service name', (b) => b.serviceName(''), 'serviceName'],
    ['too long service name', (b) => b.serviceName('x'.repeat(65)), 'serviceName'],
    ['upper-case service name', (b) => b.serviceName('MyCli'), 'serviceName'],
    ['service name with spaces', (b) => b.serviceName('my cli'), 'serviceName'],
    ['sync interval below 1 s', (b) => b.serviceName('ok').syncInterval(5), 'syncInterval'],
    ['invalid endpoint', (b) => b.serviceName('ok').withSyncCredentials({ endpoint: 'not a url', orgId: 'o', appId: 'a', token: 't', secret: 's' }), 'sync.endpoint'],
    ['max pending 0', (b) => b.serviceName('ok').maxPendingEvents(0), 'maxPendingEvents'],
  ];
  it.each(cases)('%s → INVALID_CONFIG at build() naming %s', (_label, configure, field) => {
    const builder = TelemetryKit.builder();
    configure(builder);
    let caught: unknown;
    try {
      builder.build();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TelemetryError);
    expect((caught as TelemetryError).code).toBe('INVALID_CONFIG');
    expect((caught as TelemetryError).message).toContain(field);
  });

  it('build() touches no file: the data dir appears only after tracking', async () => {
    const dir = join(tempDir(), 'not-yet');
    const kit = track(dir);
    expect(existsSync(dir)).toBe(false);
    // The call returns before any file work (the native backend does it on a worker thread).
    const pendingResult = kit.trackCommand('lazy');
    expect(pendingResult).toBeInstanceOf(Promise);
    expect((await pendingResult).status).toBe('stored');
    expect(readFileSync(join(dir, 'install_id'), 'utf8')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('events', () => {
  it('stores a command event matching schema v1', async () => {
    const dir = tempDir();
    const kit = track(dir);
    const result = await kit.trackCommand('deploy', {
      subcommand: 'prod',
      flags: ['--force', '--region=eu'],
      success: true,
      durationMs: 1234.4,
      exitCode: 0,
      metadata: { target: 'k8s', command: 'not-overriding', retries: 2 },
    });
    expect(result.status).toBe('stored');
    const [stored] = await kit.events();
    expect(stored?.state).toBe('pending');
    const event = stored!.event;
    expectValidEvent(event);
    expect(event.event_id).toBe(result.eventId);
    expect(event.event).toEqual({
      type: 'command_execution',
      category: 'usage',
      data: { command: 'deploy', subcommand: 'prod', flags: ['--force', '--region=eu'], success: true, duration_ms: 1234, exit_code: 0, target: 'k8s', retries: 2 },
    });
    expect(event.service).toEqual({ name: 'conformance', version: '2.3.4', language: 'javascript', language_version: process.versions.node });
    expect(event.metadata).toEqual({ sdk_version: 'telemetry-kit-node/0.1.0', backend: kit.backend });
    const installId = readFileSync(join(dir, 'install_id'), 'utf8').trim();
    expect(event.user_id).toBe(deriveUserId(installId, 'conformance', (text) => createHash('sha256').update(text).digest('hex')));
    expect(event.environment.arch).toBe(process.arch);
  });

  it('stores feature and custom events; rejects bad names without throwing', async () => {
    const kit = track(tempDir());
    expect((await kit.trackFeature('cache', { method: 'lru', success: false, metadata: { feature: 'x', hits: 3 } })).status).toBe('stored');
    expect((await kit.track('page_view', { page: 'home' })).status).toBe('stored');
    expect((await kit.trackCommand('')).status).toBe('invalid');
    expect((await kit.trackCommand(42 as unknown as string)).status).toBe('invalid');
    expect((await kit.track('has space')).status).toBe('invalid');
    expect((await kit.track('command_execution', {})).status).toBe('invalid');
    const events = (await kit.events()).map((s) => s.event);
    expect(events).toHaveLength(2);
    events.forEach(expectValidEvent);
    expect(events[0]!.event).toEqual({ type: 'feature_used', category: 'library', data: { feature: 'cache', method: 'lru', success: false, hits: 3 } });
    expect(events[1]!.event).toEqual({ type: 'page_view', category: 'custom', data: { page: 'home' } });
    expect(events[0]!.session_id).toBe(events[1]!.session_id);
  });

  it('sanitizes home paths, e-mails and secrets before storing', async () => {
    const kit = track(tempDir());
    const home = homedir();
    await kit.trackCommand('build', {
      flags: ['--token=abc123', '--out', `${home}/dist`],
      metadata: { config: `${home}/projects/app/config.json`, owner: 'Contact alice@example.com now', password: 'hunter2', nested: [{ apiKey: 'k' }] },
    });
    const event = await onlyEvent(kit);
    const data = event.event.data;
    expect(data.flags).toEqual(['--token=<redacted>', '--out', '~/dist']);
    expect(data.config).toBe('~/projects/app/config.json');
    expect(data.owner).toMatch(/^Contact <email:[0-9a-f]{8}> now$/);
    expect(data.password).toBe('<redacted>');
    expect(data.nested).toEqual([{ apiKey: '<redacted>' }]);
    expect(JSON.stringify(event)).not.toContain(home);
  });

  it('never throws on odd metadata and caps the event size', async () => {
    const kit = track(tempDir());
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const metadata = {
      big: 12345678901234567890n,
      circular,
      fn: () => 1,
      sym: Symbol('s'),
      when: new Date('2026-01-02T03:04:05.678Z'),
      bytes: Buffer.from('secret bytes'),
      huge: 'x'.repeat(10 * 1024 * 1024),
      many: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'y'.repeat(2000)])),
    };
    const result = await kit.trackCommand('odd', { metadata });
    expect(result.status).toBe('stored');
    const event = await onlyEvent(kit);
    expectValidEvent(event);
    const data = event.event.data;
    expect(data.command).toBe('odd');
    expect(data.big).toBe('12345678901234567890');
    expect(data.circular).toEqual({ name: 'loop', self: '[Circular]' });
    expect(data.fn).toBe('[Function]');
    expect(data.sym).toBe('[Symbol]');
    expect(data.when).toBe('2026-01-02T03:04:05.678Z');
    expect(data.bytes).toBe('[Binary: 12 bytes]');
    expect(new TextEncoder().encode(JSON.stringify(data)).length).toBeLessThanOrEqual(70 * 1024);
    expect(Array.isArray(data._dropped)).toBe(true);
  });

  it('metadata never takes a reserved key, even one the call left out', async () => {
    const kit = track(tempDir());
    await kit.trackCommand('deploy', { metadata: { subcommand: 'sneaky', exit_code: 9, command: 'other', ['__proto__']: 'kept as data', extra: 1 } });
    const event = await onlyEvent(kit);
    expect(event.event.data).toEqual({ command: 'deploy', ['__proto__']: 'kept as data', extra: 1 });
    expect(Object.keys(event.event.data)).toEqual(['command', '__proto__', 'extra']);
  });

  it('snapshots metadata at call time', async () => {
    const kit = track(tempDir());
    const metadata = { step: 'before' };
    const pending = kit.trackCommand('snap', { metadata });
    metadata.step = 'after';
    await pending;
    const event = await onlyEvent(kit);
    expect(event.event.data.step).toBe('before');
  });

  it('1,000 concurrent awaited calls all land exactly once', async () => {
    const kit = track(tempDir());
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => kit.track('burst', { i })));
    expect(new Set(results.map((r) => r.eventId)).size).toBe(1000);
    expect((await kit.stats()).pending).toBe(1000);
    const seen = (await kit.events({ limit: 5000 })).map((s) => s.event.event.data.i);
    expect(new Set(seen).size).toBe(1000);
  });

  it('events() honours limit and state and validates them', async () => {
    const kit = track(tempDir());
    for (let i = 0; i < 5; i += 1) await kit.track('n', { i });
    const last2 = await kit.events({ limit: 2 });
    expect(last2.map((s) => s.event.event.data.i)).toEqual([3, 4]);
    expect(await kit.events({ state: 'synced' })).toEqual([]);
    await expect(kit.events({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(kit.events({ state: 'bogus' as 'pending' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('resetId gives later events a new user_id', async () => {
    const kit = track(tempDir());
    await kit.trackCommand('a');
    await kit.resetId();
    await kit.trackCommand('b');
    const [a, b] = (await kit.events()).map((s) => s.event.user_id);
    expect(a).not.toBe(b);
  });

  it('two services sharing a data dir get unlinkable user ids', async () => {
    const dir = tempDir();
    const one = track(dir);
    const two = track(dir, (b) => b.serviceName('other-tool'));
    await one.trackCommand('x');
    await two.trackCommand('y');
    const ids = new Set((await one.events()).map((s) => s.event.user_id));
    expect(ids.size).toBe(2);
  });

  it('after shutdown, tracking resolves with status shutdown; shutdown is idempotent', async () => {
    const kit = buildKit(tempDir());
    await kit.trackCommand('x');
    await kit.shutdown({ timeoutMs: 1000 });
    await kit.shutdown();
    expect((await kit.trackCommand('late')).status).toBe('shutdown');
  });

  it('stats() reports counts, backend and storage', async () => {
    const dir = tempDir();
    const kit = track(dir);
    await kit.trackCommand('x');
    const stats = await kit.stats();
    expect(stats).toMatchObject({ pending: 1, synced: 0, deadLettered: 0, dropped: 0, lastSync: null, backend: kit.backend, storage: 'file', dataDir: dir, trackingEnabled: true, disabledReason: null });
  });

  it('TELEMETRY_KIT_DEBUG prints events and sends nothing', async () => {
    setEnv({ TELEMETRY_KIT_DEBUG: '1' });
    const kit = track(tempDir(), (b) => b.withSyncCredentials({ endpoint: 'http://127.0.0.1:9', orgId: 'o', appId: 'a', token: 't', secret: 's' }).autoSync(false));
    expect((await kit.trackCommand('x')).status).toBe('stored');
    // Port 9 (discard) has nothing listening: a request would end in a NETWORK error.
    expect(await kit.sync()).toEqual({ accepted: 0, rejected: 0, duplicates: 0, remaining: 1, error: null });
  });
});
