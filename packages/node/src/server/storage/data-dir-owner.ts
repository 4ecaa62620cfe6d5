/**
 * One server per embedded data dir: it keeps the events in memory and rewrites ingest.db whole,
 * so a second server on the same dir would overwrite the first one's data. The owner's pid is
 * in `server.pid`. A file left by a dead process, or by an earlier process that had this very
 * pid (a container's pid 1 on every restart), is taken over. Claims are serialized by core's
 * short-lived lock file; core's lock is not held for the server's life because it treats any
 * lock older than 10 s as abandoned.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TelemetryError, acquireLock } from '@telemetry-kit/core/node';
import { writeFileDurably } from './durable-file.js';

const OWNER_FILE = 'server.pid';
/** Dirs owned by this process, so that a second server in the same process is refused too. */
const ownedHere = new Set<string>();

function isOtherLiveProcess(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readPid(path: string): Promise<number> {
  try {
    return Number((await fsp.readFile(path, 'utf8')).trim());
  } catch {
    return 0;
  }
}

function inUse(dataDir: string, pid: number): TelemetryError {
  return new TelemetryError('STORAGE', `data dir ${dataDir} is in use by another telemetry-kit server (pid ${pid})`);
}

/** Claims `dataDir` for this process; resolves to the release function. */
export async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, OWNER_FILE);
  if (ownedHere.has(path)) throw inUse(dataDir, process.pid);
  const releaseLock = await acquireLock(`${path}.lock`, { timeoutMs: 5_000 });
  try {
    const holder = await readPid(path);
    if (isOtherLiveProcess(holder)) throw inUse(dataDir, holder);
    await writeFileDurably(path, Buffer.from(`${process.pid}\n`));
    ownedHere.add(path);
  } finally {
    await releaseLock();
  }
  return async () => {
    ownedHere.delete(path);
    if ((await readPid(path)) === process.pid) await fsp.unlink(path).catch(() => undefined);
  };
}
