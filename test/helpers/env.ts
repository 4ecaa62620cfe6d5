/** Temporary data dirs, environment changes and child processes for the end-to-end tests. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const HELPERS_DIR = fileURLToPath(new URL('./', import.meta.url));

const created: string[] = [];
const savedEnv = new Map<string, string | undefined>();

/** Variables the host (a CI runner, a developer's shell) may set that would change outcomes. */
const AMBIENT = ['DO_NOT_TRACK', 'TELEMETRY_KIT_DISABLED', 'TELEMETRY_KIT_DEBUG'];

afterEach(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  for (const [key, value] of savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  savedEnv.clear();
});

export function tempDir(prefix = 'tk-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Sets (or with undefined, deletes) variables until the end of the current test. */
export function setEnv(vars: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(vars)) {
    if (!savedEnv.has(key)) savedEnv.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** A clean environment for tracking tests: no opt-out or debug variables from the host. */
export function clearAmbientEnv(): void {
  setEnv(Object.fromEntries(AMBIENT.map((key) => [key, undefined])));
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ChildOptions {
  env?: Record<string, string | undefined>;
  /** Called with each stdout chunk; may kill the child. */
  onStdout?: (chunk: string, kill: (signal: NodeJS.Signals) => void) => void;
  timeoutMs?: number;
}

/** Runs `node <script> ...args` with the ambient opt-outs removed; bounded by a timeout. */
export function runNode(script: string, args: readonly string[], options: ChildOptions = {}): Promise<ChildResult> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const key of AMBIENT) delete env[key];
  Object.assign(env, options.env);
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk, (signal) => child.kill(signal));
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
