import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode, tempDir } from './helpers/env.js';

const BIN = fileURLToPath(new URL('../packages/node/bin/telemetry-kit.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/track-child.mjs', import.meta.url));

async function cli(dir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode(BIN, ['--service', 'child-cli', '--data-dir', dir, ...args]);
}

describe('telemetry-kit CLI', () => {
  it('--help lists the commands', async () => {
    const result = await runNode(BIN, ['--help']);
    expect(result.code).toBe(0);
    for (const command of ['status', 'consent', 'events', 'reset-id']) expect(result.stdout).toContain(command);
  });

  it('status shows backend, consent, data dir and counts', async () => {
    const dir = tempDir();
    await runNode(CHILD, ['one', dir]);
    const text = await cli(dir, 'status');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/backend:\s+(js|native)/);
    expect(text.stdout).toContain(dir);
    expect(text.stdout).toMatch(/pending:\s+1/);
    expect(text.stdout).toMatch(/consent:\s+unknown \(tracking enabled\)/);
    const json = JSON.parse((await cli(dir, 'status', '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ pending: 1, synced: 0, dataDir: dir });
  });

  it('events prints what is stored, exactly as it would be sent', async () => {
    const dir = tempDir();
    await runNode(CHILD, ['one', dir]);
    await runNode(CHILD, ['one', dir]);
    const json = JSON.parse((await cli(dir, 'events', '--json', '--limit', '1')).stdout) as Array<{ state: string; event: { event: { data: Record<string, unknown> } } }>;
    expect(json).toHaveLength(1);
    expect(json[0]?.state).toBe('pending');
    expect(json[0]?.event.event.data).toMatchObject({ command: 'deploy', path: '~/x' });
    const text = await cli(dir, 'events');
    expect(text.stdout).toContain('command_execution');
    expect((await cli(dir, 'events', '--limit', 'zero')).code).not.toBe(0);
  });

  it('consent grant | deny | opt-out | status', async () => {
    const dir = tempDir();
    await runNode(CHILD, ['one', dir]);
    expect((await cli(dir, 'consent')).stdout.trim()).toBe('unknown');
    expect((await cli(dir, 'consent', 'grant')).stdout.trim()).toBe('granted');
    expect((await cli(dir, 'consent', 'status')).stdout.trim()).toBe('granted');
    expect((await cli(dir, 'consent', 'deny')).stdout.trim()).toBe('denied');
    expect((await cli(dir, 'consent', 'opt-out')).stdout.trim()).toBe('opted_out');
    expect((await cli(dir, 'status')).stdout).toMatch(/pending:\s+0/);
    expect((await cli(dir, 'consent', 'maybe')).code).not.toBe(0);
  });

  it('reset-id gives the next event a new user_id', async () => {
    const dir = tempDir();
    await runNode(CHILD, ['one', dir]);
    expect((await cli(dir, 'reset-id')).code).toBe(0);
    await runNode(CHILD, ['one', dir]);
    const events = JSON.parse((await cli(dir, 'events', '--json')).stdout) as Array<{ event: { user_id: string } }>;
    expect(new Set(events.map((e) => e.event.user_id)).size).toBe(2);
  });

  it('a reader that closes the pipe early is not an error', async () => {
    const dir = tempDir();
    for (let i = 0; i < 3; i += 1) await runNode(CHILD, ['one', dir]);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, '--service', 'child-cli', '--data-dir', dir, 'events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });

  it('a missing or invalid service name is a clear error', async () => {
    const missing = await runNode(BIN, ['status'], { env: { TELEMETRY_KIT_SERVICE: undefined } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--service');
    const invalid = await runNode(BIN, ['--service', 'Bad Name', 'status']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('serviceName');
  });

  it('works against a data dir with a corrupt database', async () => {
    const dir = tempDir();
    await runNode(CHILD, ['one', dir]);
    writeFileSync(`${dir}/events.db`, 'garbage');
    const result = await cli(dir, 'status');
    expect(result.code).toBe(0);
  });
});
