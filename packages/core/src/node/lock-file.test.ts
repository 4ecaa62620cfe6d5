import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelemetryError } from '../errors.js';
import { deadPid, makeTempDir, removeDir } from '../../../../test/helpers/storage-events.js';
import { acquireLock, isPidAlive } from './lock-file.js';

let dir: string;
let lock: string;

beforeEach(() => {
  dir = makeTempDir('tk-lock-');
  lock = join(dir, 'events.db.lock');
});
afterEach(() => removeDir(dir));

function readLock(): { pid: number; created: number } {
  return JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid: number; created: number };
}

describe('isPidAlive', () => {
  it('knows this process, a dead one and invalid pids', () => {
    expect(isPidAlive(process.pid)).toBe(true);
    expect(isPidAlive(deadPid())).toBe(false);
    expect(isPidAlive(0)).toBe(false);
    expect(isPidAlive(-1)).toBe(false);
    expect(isPidAlive(Number.NaN)).toBe(false);
  });
});

describe('acquireLock', () => {
  it('creates the lock with pid and time, and release removes it', async () => {
    const release = await acquireLock(lock);
    expect(readLock().pid).toBe(process.pid);
    expect(typeof readLock().created).toBe('number');
    await release();
    expect(fs.existsSync(lock)).toBe(false);
    await release(); // idempotent
  });

  it('recovers a stale lock of a dead pid', async () => {
    fs.writeFileSync(lock, JSON.stringify({ pid: deadPid(), created: Date.now() }));
    const release = await acquireLock(lock, { timeoutMs: 2_000 });
    expect(readLock().pid).toBe(process.pid);
    await release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('recovers a lock older than staleMs even if its pid is alive', async () => {
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, created: Date.now() - 60_000 }));
    const release = await acquireLock(lock, { staleMs: 10_000, timeoutMs: 2_000 });
    expect(readLock().pid).toBe(process.pid);
    await release();
  });

  it('recovers an unreadable lock once its mtime is over 1 s old', async () => {
    fs.writeFileSync(lock, 'garbage{');
    const past = new Date(Date.now() - 5_000);
    fs.utimesSync(lock, past, past);
    const release = await acquireLock(lock, { timeoutMs: 2_000 });
    expect(readLock().pid).toBe(process.pid);
    await release();
  });

  it('does not steal a fresh unreadable lock', async () => {
    fs.writeFileSync(lock, '');
    await expect(acquireLock(lock, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'STORAGE' });
    expect(fs.readFileSync(lock, 'utf8')).toBe('');
  });

  it('waits for a live holder and gets the lock after release', async () => {
    const release1 = await acquireLock(lock);
    let acquired = false;
    const second = acquireLock(lock, { timeoutMs: 5_000 }).then((release) => {
      acquired = true;
      return release;
    });
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
    expect(acquired).toBe(false);
    await release1();
    const release2 = await second;
    expect(acquired).toBe(true);
    expect(readLock().pid).toBe(process.pid);
    await release2();
  });

  it('times out with a STORAGE TelemetryError naming the path', async () => {
    const release = await acquireLock(lock);
    const error: unknown = await acquireLock(lock, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryError);
    expect((error as TelemetryError).code).toBe('STORAGE');
    expect((error as TelemetryError).message).toContain(lock);
    await release();
  });

  it('release leaves a lock that replaced ours alone', async () => {
    const release = await acquireLock(lock);
    fs.unlinkSync(lock);
    // Another process took over (the inode may well be reused).
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid + 1, created: Date.now() }));
    await release();
    expect(fs.existsSync(lock)).toBe(true);
  });

  it('serializes many concurrent acquirers', async () => {
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        const release = await acquireLock(lock, { timeoutMs: 10_000 });
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise<void>((resolve) => setTimeout(resolve, 2));
        inside--;
        await release();
      }),
    );
    expect(maxInside).toBe(1);
  });

  it('fails with STORAGE when the directory does not exist', async () => {
    await expect(acquireLock(join(dir, 'missing', 'x.lock'), { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'STORAGE',
    });
  });
});
