/**
 * The journal side of consolidation (see the protocol in file-event-store.ts): reading the
 * segments from their stored offsets, forgetting the rows of segments that no longer exist, and
 * deleting consumed segments once events.db is durable. Loaded only through consolidation.ts.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isSegmentOpenForWriting, segmentPid } from './journal-segment.js';
import { isPidAlive } from './lock-file.js';
import { queryAll } from './sqlite-database.js';
import type { Database } from './sqlite-database.js';
import { errorCode, storageError } from './storage-error.js';

/** An event read from a journal line. */
export interface NewEvent {
  eventId: string;
  timestamp: string;
  type: string;
  body: string;
  order: number;
}

/** A segment seen in this round: where its consumed data ends, and whether its writer is gone. */
export interface SegmentPlan {
  name: string;
  path: string;
  storedOffset: number | null;
  newOffset: number;
  gone: boolean;
}

/** What one round read from the journal. */
export interface Consumed {
  segments: SegmentPlan[];
  events: NewEvent[];
  corrupt: number;
}


/**
 * Reads every segment in `pendingDir` from its offset in the `segments` table: the events of its
 * complete lines, the count of unusable lines, and the new offset (protocol step 2).
 */
export async function readSegments(db: Database, pendingDir: string): Promise<Consumed> {
  let names: string[];
  try {
    names = await fsp.readdir(pendingDir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') names = [];
    else throw storageError(`cannot list ${pendingDir}`, error);
  }
  const offsets = new Map<string, number>();
  for (const [name, offset] of queryAll(db, 'SELECT name, offset FROM segments')) {
    if (typeof name === 'string') offsets.set(name, Number(offset ?? 0));
  }
  const consumed: Consumed = { segments: [], events: [], corrupt: 0 };
  names.sort();
  for (const name of names) {
    const pid = segmentPid(name);
    if (pid === null) continue;
    const path = join(pendingDir, name);
    // Decide before reading: a writer that is gone now cannot add anything after the read.
    const gone = pid === process.pid ? !isSegmentOpenForWriting(path) : !isPidAlive(pid);
    const storedOffset = offsets.get(name) ?? null;
    const read = await readFrom(path, storedOffset ?? 0);
    if (read === null) continue;
    const { bytes, start } = read;
    const complete = bytes.lastIndexOf(0x0a) + 1;
    if (complete > 0) {
      const lines = bytes.toString('utf8', 0, complete).split('\n');
      lines.pop(); // after the final '\n'
      for (const line of lines) {
        const event = parseLine(line, consumed.events.length);
        if (event === null) consumed.corrupt++;
        else consumed.events.push(event);
      }
    }
    if (gone && complete < bytes.length) consumed.corrupt++; // torn last line of a dead writer
    consumed.segments.push({
      name,
      path,
      storedOffset: start === 0 && storedOffset !== null && storedOffset > 0 ? null : storedOffset,
      newOffset: start + complete,
      gone,
    });
  }
  return consumed;
}

/** Deletes segments that are fully consumed and whose writer is gone (after events.db is durable). */
export async function deleteConsumedSegments(segments: readonly SegmentPlan[]): Promise<void> {
  for (const segment of segments) {
    if (!segment.gone) continue;
    try {
      await fsp.unlink(segment.path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw storageError(`cannot delete journal segment ${segment.path}`, error);
    }
  }
}

/** Parses one journal line; null when it is not a usable event. */
function parseLine(line: string, order: number): NewEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  const eventId = record['event_id'];
  if (typeof eventId !== 'string') return null;
  const timestamp = typeof record['timestamp'] === 'string' ? record['timestamp'] : '';
  const body = record['event'];
  let type = '';
  if (typeof body === 'object' && body !== null) {
    const t = (body as Record<string, unknown>)['type'];
    if (typeof t === 'string') type = t;
  }
  return { eventId, timestamp, type, body: line, order };
}

/** The bytes of `path` from `start` (from 0 if the file is now shorter); null if it is gone. */
async function readFrom(path: string, start: number): Promise<{ bytes: Buffer; start: number } | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw storageError(`cannot open journal segment ${path}`, error);
  }
  try {
    const { size } = await handle.stat();
    const from = start <= size ? start : 0;
    const bytes = Buffer.alloc(size - from);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, from + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { bytes: filled === bytes.length ? bytes : bytes.subarray(0, filled), start: from };
  } catch (error) {
    throw storageError(`cannot read journal segment ${path}`, error);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Drops `segments` rows of files that no longer exist (their data is in events.db). */
export function removeStaleSegmentRows(db: Database, present: readonly SegmentPlan[]): void {
  const live = new Set(present.filter((s) => !s.gone).map((s) => s.name));
  const gone = new Set(present.filter((s) => s.gone).map((s) => s.name));
  for (const [name] of queryAll(db, 'SELECT name FROM segments')) {
    if (typeof name !== 'string' || live.has(name)) continue;
    // Rows of segments deleted in this round are kept until the file is really gone.
    if (gone.has(name)) continue;
    db.run('DELETE FROM segments WHERE name = ?', [name]);
  }
}
