import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';
import { useKits } from './kit.js';

const open = useKits();

describe('storage faults', () => {
  it('a corrupt events.db is moved aside and pending journal events are kept', async () => {
    const dir = tempDir();
    const first = open(dir);
    await first.trackCommand('consolidated');
    expect((await first.stats()).pending).toBe(1);
    await first.shutdown();
    writeFileSync(join(dir, 'events.db'), 'this is not a sqlite database'.repeat(100));
    const second = open(dir);
    await second.trackCommand('journaled');
    const stats = await second.stats();
    expect(stats.pending).toBe(1);
    expect((await second.events()).map((s) => s.event.event.data.command)).toEqual(['journaled']);
    expect(readdirSync(dir).some((name) => /^events\.db\.corrupt-\d+$/.test(name))).toBe(true);
  });

  it('a corrupt install id is regenerated', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'install_id'), 'not hex at all');
    const kit = open(dir);
    await kit.trackCommand('x');
    const installId = readFileSync(join(dir, 'install_id'), 'utf8');
    expect(installId).toMatch(/^[0-9a-f]{64}$/);
    const [stored] = await kit.events();
    expect(stored?.event.user_id).toMatch(/^client_[0-9a-f]{64}$/);
  });

  it('an unusable data dir falls back to memory with one warning', async () => {
    const parent = tempDir();
    writeFileSync(join(parent, 'file'), 'a file where a directory should be');
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      if (warning.message.includes('telemetry-kit')) warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    try {
      const kit = open(join(parent, 'file', 'data'));
      for (let i = 0; i < 3; i += 1) expect((await kit.trackCommand(`c${i}`)).status).toBe('stored');
      await kit.grantConsent();
      const stats = await kit.stats();
      expect(stats).toMatchObject({ storage: 'memory', pending: 3 });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('memory');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a storage failure on a read rejects with TelemetryError STORAGE', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pending'), 'a file where the journal directory should be');
    const kit = open(dir);
    await expect(kit.stats()).rejects.toMatchObject({ name: 'TelemetryError', code: 'STORAGE' });
    rmSync(join(dir, 'pending'));
    expect((await kit.stats()).pending).toBe(0);
  });

  it('a missing data dir is created', async () => {
    const dir = join(tempDir(), 'a', 'b', 'c');
    const kit = open(dir);
    expect((await kit.trackCommand('x')).status).toBe('stored');
    expect(existsSync(join(dir, 'install_id'))).toBe(true);
    expect((await kit.stats()).storage).toBe('file');
  });

  it('beyond maxPendingEvents the oldest are dropped and counted', async () => {
    const kit = open(tempDir(), (b) => b.maxPendingEvents(50));
    for (let i = 0; i < 80; i += 1) await kit.track('n', { i });
    const stats = await kit.stats();
    expect(stats.pending).toBe(50);
    expect(stats.dropped).toBe(30);
    const kept = (await kit.events({ limit: 100 })).map((s) => s.event.event.data.i);
    expect(kept).toEqual(Array.from({ length: 50 }, (_, i) => i + 30));
  });

  it('switching instances on one data dir loses nothing', async () => {
    const dir = tempDir();
    const a = open(dir);
    await a.trackCommand('a');
    const b = open(dir);
    await b.trackCommand('b');
    expect((await a.events()).map((s) => s.event.event.data.command).sort()).toEqual(['a', 'b']);
    expect((await b.stats()).pending).toBe(2);
  });
});
