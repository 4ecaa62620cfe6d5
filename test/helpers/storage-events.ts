/** Test helpers for the file event store: events, temp dirs, child writers. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TelemetryEvent } from '../../packages/core/src/types.js';
import { makeStorageEvent } from './storage-event-factory.mjs';

/** A complete v1 event; `i` orders the timestamps. */
export function makeEvent(i: number, tag = 'test'): TelemetryEvent {
  return makeStorageEvent(i, tag, { unicode: 'é✓\u2028', n: i });
}

export function makeTempDir(prefix = 'tk-storage-'): string {
  return fs.mkdtempSync(join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A pid that belonged to a process that has exited. */
export function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  if (typeof result.pid !== 'number') throw new Error('could not spawn a short-lived process');
  return result.pid;
}

export function segmentFiles(dataDir: string): string[] {
  try {
    return fs.readdirSync(join(dataDir, 'pending')).filter((n) => n.endsWith('.jsonl')).sort();
  } catch {
    return [];
  }
}

const helpersDir = dirname(fileURLToPath(import.meta.url));
export const WRITER_SCRIPT = join(helpersDir, 'storage-writer.mjs');
const BUILT_NODE_ENTRY = join(helpersDir, '..', '..', 'packages', 'core', 'dist', 'node', 'index.js');

/** Whether `@telemetry-kit/core/node` has been built (the child writer imports it). */
export function builtPackageAvailable(): boolean {
  return fs.existsSync(BUILT_NODE_ENTRY);
}

export interface ChildWriter {
  pid: number;
  /** Resolves with stdout once the child printed "ok". */
  ready: Promise<void>;
  /** Resolves when the child has exited, with its exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Spawns test/helpers/storage-writer.mjs: it appends `count` events concurrently, awaits them,
 * prints "ok", then exits (mode 'exit') or waits to be killed (mode 'hold').
 */
export function spawnWriter(dataDir: string, count: number, mode: 'exit' | 'hold', tag: string): ChildWriter {
  const child = spawn(process.execPath, [WRITER_SCRIPT, dataDir, String(count), mode, tag], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes('ok\n')) resolve();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    void exited.then(({ code, signal }) => {
      if (!stdout.includes('ok\n')) reject(new Error(`writer exited (${code ?? signal}) before ok: ${stderr}`));
    });
  });
  if (typeof child.pid !== 'number') throw new Error('spawn failed');
  return { pid: child.pid, ready, exited, kill: (signal = 'SIGKILL') => child.kill(signal) };
}
