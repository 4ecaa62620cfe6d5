/**
 * Journal segments: append-only JSON-lines files under `<dataDir>/pending/`, one per writer,
 * named `<pid>-<hex>.jsonl`. Appends are group-committed: while one write+datasync is in flight,
 * further appends queue up and go out together in the next single write+datasync.
 *
 * A module-level registry records the segments this process currently has open for writing, so
 * that consolidation in this process can tell a live segment of its own from an abandoned one.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { TelemetryError } from '../errors.js';
import { storageError } from './storage-error.js';

/** `<pid>-<hex>.jsonl` */
export const SEGMENT_NAME_PATTERN = /^([0-9]+)-([0-9a-f]+)\.jsonl$/;

// Shared through globalThis so that the ESM and CJS builds, if both are loaded, agree.
const REGISTRY_KEY = Symbol.for('telemetry-kit.journal.openSegments');
const openForWriting: Set<string> = (() => {
  const holder = globalThis as { [REGISTRY_KEY]?: Set<string> };
  const existing = holder[REGISTRY_KEY];
  if (existing instanceof Set) return existing;
  const created = new Set<string>();
  holder[REGISTRY_KEY] = created;
  return created;
})();

/** Whether this process currently has the segment at `path` open for writing. */
export function isSegmentOpenForWriting(path: string): boolean {
  return openForWriting.has(path);
}

let segmentsCreated = 0;

/**
 * `<pid>-<hex>.jsonl`, where the hex part starts with the creation time (12 hex digits of ms)
 * and a per-process counter, so that one process's segments sort in creation order: events
 * with equal timestamps are then consolidated in the order they were tracked.
 */
export function newSegmentName(): string {
  const time = Date.now().toString(16).padStart(12, '0');
  const counter = (segmentsCreated++ % 0x10000).toString(16).padStart(4, '0');
  return `${process.pid}-${time}${counter}${randomBytes(4).toString('hex')}.jsonl`;
}

/** The writer pid encoded in a segment file name, or null when the name is not a segment. */
export function segmentPid(name: string): number | null {
  const match = SEGMENT_NAME_PATTERN.exec(name);
  if (match === null || match[1] === undefined) return null;
  const pid = Number(match[1]);
  return Number.isSafeInteger(pid) ? pid : null;
}

/** Counters, shared by all segments of one writer (exposed for tests and diagnostics). */
export interface JournalStats {
  /** write+datasync rounds (group commits), including synchronous ones. */
  commits: number;
  /** datasync/fsync calls on segment files. */
  datasyncs: number;
  /** Lines confirmed durable. */
  lines: number;
}

interface PendingWrite {
  data: string;
  lines: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}


/** fsync a directory so a created/renamed entry is durable. Not supported everywhere: ignored. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some file systems cannot fsync a directory.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // see fsyncDir
  } finally {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}

async function writeAll(handle: fsp.FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, null);
    if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
    offset += bytesWritten;
  }
}

function writeAllSync(fd: number, buffer: Buffer): void {
  let offset = 0;
  while (offset < buffer.length) {
    const written = fs.writeSync(fd, buffer, offset, buffer.length - offset, null);
    if (written <= 0) throw new Error('write returned 0 bytes');
    offset += written;
  }
}

/** One segment file, opened lazily, written with group commit. */
export class JournalSegment {
  readonly name: string;
  readonly path: string;
  /** Set once a write failed: the file may end with a torn line and must not be appended to. */
  failed: TelemetryError | null = null;

  private handle: fsp.FileHandle | null = null;
  private opening: Promise<fsp.FileHandle> | null = null;
  /** fsyncDir of the segment's creation; it never rejects. */
  private dirSynced: Promise<void> = Promise.resolve();
  private queue: PendingWrite[] = [];
  private inflight: PendingWrite[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly stats: JournalStats,
    private readonly onWritten?: (lines: number) => void,
  ) {
    this.name = newSegmentName();
    this.path = join(dir, this.name);
  }

  /** Queues `data` (complete '\n'-terminated lines); resolves once written and datasynced. */
  append(data: string, lines: number): Promise<void> {
    if (this.closed) return Promise.reject(new TelemetryError('STORAGE', `segment ${this.path} is closed`));
    if (this.failed !== null) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data, lines, resolve, reject });
      if (this.running === null) this.running = this.run();
    });
  }

  /** Data queued or being written but not yet confirmed, oldest first. */
  unconfirmed(): { inflight: readonly PendingWrite[]; queued: readonly PendingWrite[] } {
    return { inflight: [...this.inflight], queued: [...this.queue] };
  }

  /** Resolves queued writes that were made durable elsewhere (by appendSync). */
  confirmQueued(writes: readonly PendingWrite[]): void {
    const done = new Set(writes);
    this.queue = this.queue.filter((w) => !done.has(w));
    for (const w of writes) w.resolve();
  }

  /** Waits for queued and in-flight writes, then closes the file and leaves the registry. */
  async close(): Promise<void> {
    this.closed = true;
    for (let i = 0; this.running !== null && i < 1_000; i++) await this.running;
    const handle = this.handle;
    this.handle = null;
    try {
      if (handle !== null) await handle.close();
    } catch (error) {
      throw storageError(`cannot close journal segment ${this.path}`, error);
    } finally {
      openForWriting.delete(this.path);
    }
  }

  /** Creates the file ahead of the first write; failures are reported by that write. */
  async prepare(): Promise<void> {
    await this.open();
  }

  /** Memoized: `prepare()` and the first write may both ask before the file exists. */
  private open(): Promise<fsp.FileHandle> {
    this.opening ??= this.openFile().catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    return this.opening;
  }

  private async openFile(): Promise<fsp.FileHandle> {
    openForWriting.add(this.path);
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      const handle = await fsp.open(this.path, 'a');
      this.handle = handle;
      // The new directory entry must be durable before the first append resolves; syncing the
      // directory overlaps that append's write instead of preceding it.
      this.dirSynced = fsyncDir(this.dir);
      return handle;
    } catch (error) {
      if (this.handle === null) openForWriting.delete(this.path);
      throw storageError(`cannot open journal segment ${this.path}`, error);
    }
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let handle: fsp.FileHandle;
        try {
          handle = await this.open();
        } catch (error) {
          this.fail(error instanceof TelemetryError ? error : storageError(`cannot open ${this.path}`, error));
          return;
        }
        // appendSync may have taken everything while the file was being opened.
        if (this.queue.length === 0) return;
        const batch = this.queue;
        this.queue = [];
        this.inflight = batch;
        let lines = 0;
        const parts: string[] = [];
        for (const w of batch) {
          parts.push(w.data);
          lines += w.lines;
        }
        try {
          await writeAll(handle, Buffer.from(parts.join(''), 'utf8'));
          await handle.datasync();
          await this.dirSynced;
        } catch (error) {
          this.inflight = [];
          const failure = storageError(`cannot write journal segment ${this.path}`, error);
          for (const w of batch) w.reject(failure);
          this.fail(failure);
          return;
        }
        this.inflight = [];
        this.stats.commits++;
        this.stats.datasyncs++;
        this.stats.lines += lines;
        for (const w of batch) w.resolve();
        this.onWritten?.(lines);
      }
    } finally {
      this.running = null;
    }
  }

  private fail(error: TelemetryError): void {
    this.failed = error;
    const queued = this.queue;
    this.queue = [];
    for (const w of queued) w.reject(error);
  }
}

/**
 * The writer of one store: holds the current segment, replaces it on rotation or after a
 * failure, and writes synchronously (for the exit handler) into a separate segment.
 */
export class JournalWriter {
  readonly stats: JournalStats = { commits: 0, datasyncs: 0, lines: 0 };
  private current: JournalSegment | null = null;
  private readonly retiring = new Set<JournalSegment>();

  constructor(
    /** The `pending/` directory. */
    readonly dir: string,
    private readonly onWritten?: (lines: number) => void,
  ) {}

  /** `data` must be complete '\n'-terminated lines. */
  append(data: string, lines: number): Promise<void> {
    return this.segment().append(data, lines);
  }

  /** Opens the segment before the first append, so that creating it overlaps other start-up work. */
  prepare(): Promise<void> {
    return this.segment().prepare();
  }

  private segment(): JournalSegment {
    let segment = this.current;
    if (segment === null || segment.failed !== null) {
      if (segment !== null) this.retire(segment);
      segment = new JournalSegment(this.dir, this.stats, this.onWritten);
      this.current = segment;
    }
    return segment;
  }

  /**
   * Synchronously writes `data` plus everything not yet confirmed durable into a fresh segment
   * file, datasyncs and closes it. Queued writes it covered are resolved; in-flight ones are
   * left to finish (writing them twice is harmless: consolidation dedupes by event_id).
   */
  appendSync(data: string, lines: number): void {
    const segments = [...this.retiring];
    if (this.current !== null) segments.push(this.current);
    const parts: string[] = [];
    let total = 0;
    const covered: Array<{ segment: JournalSegment; queued: readonly PendingWrite[] }> = [];
    for (const segment of segments) {
      const { inflight, queued } = segment.unconfirmed();
      for (const w of [...inflight, ...queued]) {
        parts.push(w.data);
        total += w.lines;
      }
      if (queued.length > 0) covered.push({ segment, queued });
    }
    parts.push(data);
    total += lines;
    const text = parts.join('');
    if (text.length === 0) return;

    const path = join(this.dir, newSegmentName());
    let fd: number | undefined;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      fd = fs.openSync(path, 'a');
      writeAllSync(fd, Buffer.from(text, 'utf8'));
      fs.fdatasyncSync(fd);
      this.stats.datasyncs++;
      this.stats.commits++;
      this.stats.lines += total;
    } catch (error) {
      throw storageError(`cannot write journal segment ${path}`, error);
    } finally {
      if (fd !== undefined) {
        try {
          fs.closeSync(fd);
        } catch {
          // the data is synced; a close failure changes nothing
        }
      }
    }
    fsyncDirSync(this.dir);
    for (const { segment, queued } of covered) segment.confirmQueued(queued);
  }

  /**
   * Closes the current segment after its pending writes (the next append opens a new one), so
   * consolidation may consume and delete it.
   */
  async rotate(): Promise<void> {
    const segment = this.current;
    this.current = null;
    if (segment !== null) this.retire(segment);
    await this.settle();
  }

  close(): Promise<void> {
    return this.rotate();
  }

  private retire(segment: JournalSegment): void {
    this.retiring.add(segment);
  }

  /** Closes every retired segment; the first close error is thrown after all were tried. */
  private async settle(): Promise<void> {
    let firstError: unknown = null;
    for (const segment of [...this.retiring]) {
      try {
        await segment.close();
      } catch (error) {
        firstError ??= error;
      } finally {
        this.retiring.delete(segment);
      }
    }
    if (firstError !== null) throw firstError;
  }
}
