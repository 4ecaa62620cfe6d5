/**
 * The embedded storage's journal records: one JSON line per stored request, holding its nonce
 * (so a replay is still refused after a restart) and the events it added, each exactly as
 * stored. Lines are written by core's JournalWriter (group commit + fdatasync) and read back
 * on start, before the journal is folded into ingest.db.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { SEGMENT_NAME_PATTERN } from '@telemetry-kit/core/node';
import { eventRow, type EventRow } from '../event-row.js';

export interface JournalRecord {
  orgId: string;
  appId: string;
  nonce: string;
  nonceExpiresAt: number;
  receivedAt: number;
  rows: EventRow[];
}

/** The line of a record; the events' JSON is spliced in as stored, not serialized again. */
export function journalLine(record: JournalRecord): string {
  const head = `{"v":1,"org":${JSON.stringify(record.orgId)},"app":${JSON.stringify(record.appId)},"nonce":${JSON.stringify(record.nonce)},"exp":${record.nonceExpiresAt},"at":${record.receivedAt}`;
  return `${head},"events":[${record.rows.map((row) => row.body).join(',')}]}\n`;
}

/** A record from one line; null when the line is not a record (never acknowledged, or foreign). */
export function parseJournalLine(line: string): JournalRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { v, org, app, nonce, exp, at, events } = value as Record<string, unknown>;
  if (v !== 1 || typeof org !== 'string' || typeof app !== 'string' || typeof nonce !== 'string') return null;
  if (typeof exp !== 'number' || typeof at !== 'number' || !Array.isArray(events)) return null;
  const rows: EventRow[] = [];
  for (const event of events) {
    if (typeof event === 'object' && event !== null && !Array.isArray(event)) rows.push(eventRow(event as Record<string, unknown>, org, app, at));
  }
  return { orgId: org, appId: app, nonce, nonceExpiresAt: exp, receivedAt: at, rows };
}

/** Segment file names in `dir`, oldest first (by the creation time in the name, whatever the pid). */
export async function listSegments(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const keyed: Array<[string, string]> = [];
  for (const name of names) {
    const match = SEGMENT_NAME_PATTERN.exec(name);
    if (match?.[2] !== undefined) keyed.push([match[2], name]);
  }
  keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return keyed.map(([, name]) => name);
}

/** The records of one segment's complete lines, and how many lines were unusable. */
export async function readSegment(dir: string, name: string): Promise<{ records: JournalRecord[]; unusable: number }> {
  const text = await fsp.readFile(join(dir, name), 'utf8');
  const end = text.lastIndexOf('\n');
  // A trailing partial line is a write that never completed, so it was never acknowledged.
  const lines = end < 0 ? [] : text.slice(0, end).split('\n');
  const records: JournalRecord[] = [];
  let unusable = end < text.length - 1 ? 1 : 0;
  for (const line of lines) {
    if (line === '') continue;
    const record = parseJournalLine(line);
    if (record === null) unusable++;
    else records.push(record);
  }
  return { records, unusable };
}
