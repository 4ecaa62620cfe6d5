// The services inside a real process that is told to end: SIGTERM, SIGINT, a second signal, and
// a program that simply runs out of work (beforeExit). The fake intake must have everything
// before the process is gone.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { DecodedAgentPayload, FakeIntake } from '../helpers/fake-intake.js';
import { fakeIntake, httpRequest, sendDatagrams, servicesBackends } from '../helpers/services-backends.js';
import { encodeV04, wireSpan } from '../helpers/trace-payloads.js';

const CHILD = fileURLToPath(new URL('./fixtures/services-child.mjs', import.meta.url));

interface Child {
  process: ChildProcessWithoutNullStreams;
  ports: { dogstatsd: number; traceAgent: number };
  backend: string;
  lines: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stats(): Promise<{ dogstatsd: { metrics: number }; traceAgent: { spans: number } }>;
}

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function startChild(intake: FakeIntake, backend: string, env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, [CHILD], {
    env: {
      PATH: process.env.PATH ?? '',
      TELEMETRY_KIT_BACKEND: backend,
      DD_API_KEY: 'child-key',
      DD_DD_URL: intake.url,
      DD_APM_DD_URL: intake.url,
      DD_DOGSTATSD_PORT: '0',
      DD_APM_RECEIVER_PORT: '0',
      DD_LOG_LEVEL: 'off',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  let waiting: Array<() => void> = [];
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiting.splice(0)) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const nextLine = async (match: (line: string) => boolean): Promise<string> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const index = lines.findIndex(match);
      if (index !== -1) return lines.splice(index, 1)[0] as string;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`child said nothing matching; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        waiting.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  };
  const ready = JSON.parse(await nextLine((line) => line.startsWith('{"ports"'))) as { ports: Child['ports']; backend: string };
  return {
    process: child,
    ports: ready.ports,
    backend: ready.backend,
    lines,
    stderr: () => stderr,
    exited,
    stats: async () => {
      child.stdin.write('stats\n');
      return (JSON.parse(await nextLine((line) => line.startsWith('{"stats"'))) as { stats: Awaited<ReturnType<Child['stats']>> }).stats;
    },
  };
}

/** Sends 3 metric lines and a trace of 2 spans; returns once the child has taken them in. */
async function feed(child: Child): Promise<void> {
  await sendDatagrams(child.ports.dogstatsd, ['child.count:2|c\nchild.gauge:9|g', 'child.dist:12.5|d']);
  const answer = await httpRequest(child.ports.traceAgent, 'PUT', '/v0.4/traces', encodeV04([[wireSpan({ trace_id: 77n, span_id: 1n }), wireSpan({ trace_id: 77n, span_id: 2n, parent_id: 1n })]]));
  expect(answer.status).toBe(200);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stats = await child.stats();
    if (stats.dogstatsd.metrics === 3 && stats.traceAgent.spans === 2) return;
    if (Date.now() > deadline) throw new Error(`child stats never caught up: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function expectEverything(intake: FakeIntake): void {
  const series = intake.byPath('/api/v2/series').flatMap((request) => (request.decoded as { series: Array<{ metric: string }> }).series.map((item) => item.metric));
  expect(series.sort()).toEqual(['child.count', 'child.gauge']);
  expect(intake.byPath('/api/beta/sketches')).toHaveLength(1);
  const spans = intake
    .byPath('/api/v0.2/traces')
    .flatMap((request) => (request.decoded as DecodedAgentPayload).tracerPayloads.flatMap((payload) => payload.chunks.flatMap((chunk) => chunk.spans)));
  expect(spans.map((span) => span.spanID).sort()).toEqual([1n, 2n]);
  for (const request of intake.requests) expect(request.headers['dd-api-key']).toBe('child-key');
}

describe.each(servicesBackends())('a process running the services is told to end (%s)', (backend) => {
  it('SIGTERM after metrics and traces: the intake has them all before the process exits 0', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    const child = await startChild(intake, backend);
    expect(child.backend).toBe(backend);
    await feed(child);
    child.process.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    expectEverything(intake);
  });

  it('SIGINT does the same', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    const child = await startChild(intake, backend);
    await feed(child);
    child.process.kill('SIGINT');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expectEverything(intake);
  });

  it('a program that runs out of work flushes on beforeExit and exits 0 by itself', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    const child = await startChild(intake, backend);
    await feed(child);
    child.process.stdin.write('end\n');
    const exit = await child.exited;
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    expectEverything(intake);
    expect(child.stderr()).toContain('running=false');
  });

  it.each(['end', 'exit'])('never stopped (no cleanup hook), the program ends with `%s`: it exits 0 without crashing', { timeout: 30_000 }, async (how) => {
    const intake = await fakeIntake();
    const child = await startChild(intake, backend, { CHILD_NO_HOOK: '1' });
    await feed(child);
    child.process.stdin.write(`${how}\n`);
    const exit = await child.exited;
    expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
    // Nothing flushed them: the running services neither held the process nor took it down.
    expect(child.stderr()).toContain('running=true');
  });

  it('a second signal during a stuck final flush exits at once with 128 + signal', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    intake.respond('*', { hang: true });
    const child = await startChild(intake, backend, { CHILD_STOP_TIMEOUT_MS: '20000' });
    await feed(child);
    child.process.kill('SIGTERM');
    await intake.waitFor((requests) => requests.length > 0, 10_000);
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 143, signal: null });
  });

  it('a final flush cut off by its timeout exits 1 and says why', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    intake.respond('*', { hang: true });
    const child = await startChild(intake, backend, { CHILD_STOP_TIMEOUT_MS: '300' });
    await feed(child);
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(child.stderr()).toContain('did not finish within 300 ms');
  });
});
