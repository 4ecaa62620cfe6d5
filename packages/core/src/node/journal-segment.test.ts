import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelemetryError } from '../errors.js';
import { makeTempDir, removeDir } from '../../../../test/helpers/storage-events.js';
import { JournalWriter, isSegmentOpenForWriting, segmentPid } from './journal-segment.js';

let dir: string;
let pending: string;

beforeEach(() => {
  dir = makeTempDir('tk-journal-');
  pending = join(dir, 'pending');
});
afterEach(() => removeDir(dir));

function readAllLines(): string[] {
  if (!fs.existsSync(pending)) return [];
  const lines: string[] = [];
  for (const name of fs.readdirSync(pending).sort()) {
    const text = fs.readFileSync(join(pending, name), 'utf8');
    expect(text === '' || text.endsWith('\n')).toBe(true);
    lines.push(...text.split('\n').filter((l) => l !== ''));
  }
  return lines;
}

describe('segment names', () => {
  it('parses the pid', () => {
    expect(segmentPid('123-deadbeef.jsonl')).toBe(123);
    expect(segmentPid('abc-deadbeef.jsonl')).toBeNull();
    expect(segmentPid('123-deadbeef.jsonl.tmp')).toBeNull();
  });
});

describe('JournalWriter', () => {
  it('does no I/O until the first append, then writes lines durably', async () => {
    const writer = new JournalWriter(pending);
    expect(fs.existsSync(pending)).toBe(false);
    await writer.append('{"a":1}\n', 1);
    expect(readAllLines()).toEqual(['{"a":1}']);
    expect(writer.stats).toMatchObject({ lines: 1, datasyncs: 1 });
    await writer.close();
  });

  it('group-commits concurrent appends', async () => {
    const writer = new JournalWriter(pending);
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) appends.push(writer.append(`{"i":${i}}\n`, 1));
    await Promise.all(appends);
    const lines = readAllLines();
    expect(lines).toHaveLength(1000);
    expect(new Set(lines).size).toBe(1000);
    expect(writer.stats.lines).toBe(1000);
    expect(writer.stats.datasyncs).toBeLessThan(20);
    await writer.close();
  });

  it('registers the open segment and unregisters it on rotation', async () => {
    const writer = new JournalWriter(pending);
    await writer.append('{"a":1}\n', 1);
    const [first] = fs.readdirSync(pending);
    expect(first).toBeDefined();
    expect(isSegmentOpenForWriting(join(pending, first ?? ''))).toBe(true);
    await writer.rotate();
    expect(isSegmentOpenForWriting(join(pending, first ?? ''))).toBe(false);
    await writer.append('{"a":2}\n', 1);
    const names = fs.readdirSync(pending);
    expect(names).toHaveLength(2);
    const second = names.find((n) => n !== first) ?? '';
    expect(isSegmentOpenForWriting(join(pending, second))).toBe(true);
    await writer.close();
    expect(isSegmentOpenForWriting(join(pending, second))).toBe(false);
  });

  it('appendSync with nothing before writes the lines', () => {
    const writer = new JournalWriter(pending);
    writer.appendSync('{"sync":1}\n{"sync":2}\n', 2);
    expect(readAllLines()).toEqual(['{"sync":1}', '{"sync":2}']);
    // Nothing to write: no file.
    writer.appendSync('', 0);
    expect(fs.readdirSync(pending)).toHaveLength(1);
  });

  it('appendSync also writes everything not yet confirmed', async () => {
    const writer = new JournalWriter(pending);
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) appends.push(writer.append(`{"i":${i}}\n`, 1));
    // Nothing has been written yet: the async writer is still opening the file.
    writer.appendSync('{"last":true}\n', 1);
    const afterSync = new Set(readAllLines());
    for (let i = 0; i < 100; i++) expect(afterSync.has(`{"i":${i}}`)).toBe(true);
    expect(afterSync.has('{"last":true}')).toBe(true);
    await Promise.all(appends);
    await writer.close();
    expect(new Set(readAllLines()).size).toBe(101);
  });

  it('appendSync covers writes in flight', async () => {
    const writer = new JournalWriter(pending);
    await writer.append('{"warm":1}\n', 1);
    const first = writer.append('{"x":1}\n', 1);
    // Let the write start, then queue more behind it.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const second = writer.append('{"x":2}\n', 1);
    writer.appendSync('{"x":3}\n', 1);
    const lines = new Set(readAllLines());
    for (const l of ['{"x":1}', '{"x":2}', '{"x":3}']) expect(lines.has(l)).toBe(true);
    await Promise.all([first, second]);
    await writer.close();
  });

  it('rejects with a STORAGE error naming the path when the directory cannot be created', async () => {
    fs.writeFileSync(pending, 'not a directory');
    const writer = new JournalWriter(pending);
    const error: unknown = await writer.append('{"a":1}\n', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TelemetryError);
    expect((error as TelemetryError).code).toBe('STORAGE');
    expect((error as TelemetryError).message).toContain(pending);
    expect(() => writer.appendSync('{"a":1}\n', 1)).toThrow(TelemetryError);
    // After the failure, a later append uses a new segment (which fails again here).
    await expect(writer.append('{"b":1}\n', 1)).rejects.toMatchObject({ code: 'STORAGE' });
    await writer.close();
  });
});
