// `telemetry-kit agent`: the services as a standalone process configured from DD_* variables.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from '../helpers/env.js';
import type { DecodedAgentPayload } from '../helpers/fake-intake.js';
import { fakeIntake, httpRequest, sendDatagrams } from '../helpers/services-backends.js';
import { encodeV04, wireSpan } from '../helpers/trace-payloads.js';

const BIN = fileURLToPath(new URL('../../packages/node/bin/telemetry-kit.js', import.meta.url));

describe('telemetry-kit agent', () => {
  it('runs from the environment, prints status lines, flushes on SIGTERM and exits 0', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    let fed: Promise<void> | null = null;
    let seen = '';
    const result = await runNode(BIN, ['agent'], {
      timeoutMs: 20_000,
      env: {
        DD_API_KEY: 'agent-key',
        DD_DD_URL: intake.url,
        DD_APM_DD_URL: intake.url,
        DD_DOGSTATSD_PORT: '0',
        DD_APM_RECEIVER_PORT: '0',
        DD_TAGS: 'team:agent',
        DD_ENV: 'test',
      },
      onStdout: (chunk, kill) => {
        seen += chunk;
        if (fed) return;
        const dogstatsd = /ready dogstatsd 127\.0\.0\.1:(\d+)/.exec(seen);
        const trace = /ready trace-agent 127\.0\.0\.1:(\d+)/.exec(seen);
        if (!dogstatsd || !trace) return;
        fed = (async () => {
          await sendDatagrams(Number(dogstatsd[1]), ['agent.requests:1|c|#route:a']);
          const answer = await httpRequest(Number(trace[1]), 'PUT', '/v0.4/traces', encodeV04([[wireSpan({ trace_id: 1234n, span_id: 5678n })]]));
          expect(answer.status).toBe(200);
          // Loopback UDP is delivered at once; a moment lets the agent's loop read it.
          await new Promise((resolve) => setTimeout(resolve, 200));
          kill('SIGTERM');
        })();
      },
    });
    await fed;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^telemetry-kit agent: (js|native) backend/);
    expect(result.stdout).toMatch(/ready dogstatsd 127\.0\.0\.1:\d+/);
    expect(result.stdout).toMatch(/ready trace-agent 127\.0\.0\.1:\d+/);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('stopped');
    const series = intake.byPath('/api/v2/series').flatMap((request) => (request.decoded as { series: Array<{ metric: string; tags: string[] }> }).series);
    expect(series).toEqual([expect.objectContaining({ metric: 'agent.requests', tags: expect.arrayContaining(['route:a', 'team:agent', 'env:test']) as unknown })]);
    const spans = intake.byPath('/api/v0.2/traces').flatMap((request) => (request.decoded as DecodedAgentPayload).tracerPayloads.flatMap((payload) => payload.chunks.flatMap((chunk) => chunk.spans)));
    expect(spans.map((span) => span.spanID)).toEqual([5678n]);
  });

  it.each([
    ['DD_DOGSTATSD_PORT', { DD_DOGSTATSD_PORT: 'eighty' }],
    ['DD_SITE', { DD_SITE: 'not a site' }],
    ['DD_LOG_LEVEL', { DD_LOG_LEVEL: 'chatty' }],
  ])('bad config → non-zero exit naming %s', async (variable, env) => {
    const result = await runNode(BIN, ['agent'], { env: { DD_APM_RECEIVER_PORT: '0', ...env }, timeoutMs: 15_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(variable);
    expect(result.stderr).toContain('INVALID_CONFIG');
  });

  it('warns on stderr when DD_API_KEY is missing, and runs anyway', { timeout: 30_000 }, async () => {
    const intake = await fakeIntake();
    const result = await runNode(BIN, ['agent'], {
      timeoutMs: 15_000,
      env: { DD_API_KEY: undefined, DD_DD_URL: intake.url, DD_APM_DD_URL: intake.url, DD_DOGSTATSD_PORT: '0', DD_APM_RECEIVER_PORT: '0' },
      onStdout: (chunk, kill) => {
        if (chunk.includes('ready trace-agent')) kill('SIGINT');
      },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('DD_API_KEY');
  });
});
