/**
 * An exclusive lock file shared by processes (and by the native backend).
 *
 * Protocol: the lock is held by whoever created `<path>` with O_CREAT|O_EXCL ('wx'); its content
 * is `{"pid":n,"created":unixMs}`. It is released by deleting it (only if it is still the same
 * inode the holder created). A lock is stale when its pid is not alive, when it is older than
 * `staleMs`, or when its content is unreadable and its mtime is more than 1 s old (a holder
 * writes the content right after creating it). A stale lock is claimed by renaming it to
 * `<path>.stale-<pid>-<hex>` (atomic, so only one contender gets that file); if the renamed
 * file is not the one judged stale (other inode or content: someone replaced it meanwhile), it
 * is linked back when the path is still free. Release likewise deletes the lock only if it still
 * has the inode and content its holder wrote. After removing a stale lock, contenders still compete with O_EXCL.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { TelemetryError } from '../errors.js';
import { errorCode, storageError } from './storage-error.js';

export interface LockOptions {
  /** A lock older than this is considered abandoned. Default 10 s. */
  staleMs?: number;
  /** Give up (TelemetryError 'STORAGE') after waiting this long. Default 10 s. */
  timeoutMs?: number;
}

export type ReleaseLock = () => Promise<void>;

const CORRUPT_GRACE_MS = 1_000;

interface LockContent {
  pid: number;
  created: number;
}

/** Whether a process with this pid exists (EPERM counts as alive). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}



const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Acquires the lock at `path`, waiting (bounded) while another holder has it. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<ReleaseLock> {
  const staleMs = options.staleMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let attempt = 0;
  for (;;) {
    const created = await tryCreate(path);
    if (created !== null) return makeRelease(path, created);
    const removed = await removeIfStale(path, staleMs);
    const now = Date.now();
    if (now >= deadline) {
      throw new TelemetryError('STORAGE', `timed out after ${timeoutMs} ms waiting for lock ${path}`);
    }
    if (!removed) {
      const backoff = Math.min(2 * 2 ** Math.min(attempt, 5), 50);
      attempt++;
      await sleep(Math.max(1, Math.min(backoff + Math.random() * backoff, deadline - now)));
    }
  }
}

interface LockIdentity {
  ino: number;
  text: string;
}

/** Reads the inode and content of a lock file; null if it does not exist. */
async function readIdentity(path: string): Promise<LockIdentity & { mtimeMs: number } | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw storageError(`cannot read lock ${path}`, error);
  }
  try {
    const st = await handle.stat();
    const text = await handle.readFile('utf8');
    return { ino: st.ino, mtimeMs: st.mtimeMs, text };
  } catch (error) {
    throw storageError(`cannot read lock ${path}`, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Creates the lock file; its identity, or null when it already exists. */
async function tryCreate(path: string): Promise<LockIdentity | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'wx');
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return null;
    throw storageError(`cannot create lock ${path}`, error);
  }
  try {
    const content: LockContent = { pid: process.pid, created: Date.now() };
    const text = JSON.stringify(content);
    await handle.writeFile(text);
    const { ino } = await handle.stat();
    await handle.close();
    return { ino, text };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fsp.unlink(path).catch(() => undefined);
    throw storageError(`cannot write lock ${path}`, error);
  }
}

function makeRelease(path: string, ours: LockIdentity): ReleaseLock {
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      const current = await readIdentity(path);
      // Someone judged our lock stale and replaced it: leave theirs alone.
      if (current === null || current.ino !== ours.ino || current.text !== ours.text) return;
      await fsp.unlink(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw storageError(`cannot release lock ${path}`, error);
    }
  };
}

function parseContent(text: string): LockContent | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { pid, created } = value as { pid?: unknown; created?: unknown };
    if (typeof pid !== 'number' || typeof created !== 'number') return null;
    return { pid, created };
  } catch {
    return null;
  }
}

/** Removes the lock if it is stale; true if the caller should retry at once. */
async function removeIfStale(path: string, staleMs: number): Promise<boolean> {
  const judged = await readIdentity(path);
  if (judged === null) return true;
  const { mtimeMs, text } = judged;
  const now = Date.now();
  const content = parseContent(text);
  const stale =
    content === null
      ? now - mtimeMs > CORRUPT_GRACE_MS
      : !isPidAlive(content.pid) || now - content.created > staleMs;
  if (!stale) return false;

  const claimed = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fsp.rename(path, claimed);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw storageError(`cannot remove stale lock ${path}`, error);
  }
  try {
    const taken = await readIdentity(claimed);
    if (taken !== null && (taken.ino !== judged.ino || taken.text !== judged.text)) {
      // We took a fresh lock that replaced the stale one: give it back if the path is free.
      await fsp.link(claimed, path).catch(() => undefined);
    }
  } finally {
    await fsp.unlink(claimed).catch(() => undefined);
  }
  return true;
}
