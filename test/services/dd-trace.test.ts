// A real tracer (dd-trace 5, from npm) in a child process, pointed at the trace agent: the
// fake intake receives an AgentPayload with those very spans, ids exact.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DecodedAgentPayload, DecodedSpan } from '../helpers/fake-intake.js';
import { runNode } from '../helpers/env.js';
import { createServices, fakeIntake, localConfig, servicesBackends, until } from '../helpers/services-backends.js';

const CHILD = fileURLToPath(new URL('./fixtures/dd-trace-child.cjs', import.meta.url));

interface SeenSpan {
  kind: 'server' | 'client' | 'custom';
  traceId: string;
  spanId: string;
  parentId: string;
}

describe.each(servicesBackends())('dd-trace → trace agent → intake (%s)', (backend) => {
  it('an HTTP request traced in a child process arrives with its service, resource and exact ids', { timeout: 60_000 }, async () => {
    const intake = await fakeIntake();
    const services = createServices(backend);
    await services.start(localConfig(intake, { useDogstatsd: false, env: 'test' }));
    const port = services.ports().traceAgent ?? 0;
    const child = await runNode(CHILD, [], {
      timeoutMs: 30_000,
      env: {
        DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`,
        DD_TRACE_AGENT_PORT: String(port),
        DD_TRACE_FLUSH_INTERVAL: '50',
        DD_SERVICE: 'tk-dd-child',
        DD_ENV: 'test',
        DD_VERSION: '1.0.0',
        DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
        DD_REMOTE_CONFIGURATION_ENABLED: 'false',
        DD_TRACE_STARTUP_LOGS: 'false',
        DD_RUNTIME_METRICS_ENABLED: 'false',
        DD_PROFILING_ENABLED: 'false',
        DD_TRACE_STATS_COMPUTATION_ENABLED: 'false',
      },
    });
    expect(child.code, child.stderr).toBe(0);
    const seen = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '[]') as SeenSpan[];
    expect(seen.map((span) => span.kind).sort()).toEqual(['client', 'custom', 'server']);
    await until(() => services.stats().traceAgent.spans, (spans) => spans >= 3, 10_000);
    expect(services.stats().traceAgent.responses['200']).toBeGreaterThanOrEqual(1);
    await services.stop();

    const payloads = intake.byPath('/api/v0.2/traces').map((request) => request.decoded as DecodedAgentPayload);
    const tracerPayloads = payloads.flatMap((payload) => payload.tracerPayloads);
    expect(tracerPayloads.every((payload) => payload.languageName === 'nodejs')).toBe(true);
    const spans: DecodedSpan[] = tracerPayloads.flatMap((payload) => payload.chunks.flatMap((chunk) => chunk.spans));
    const byId = new Map(spans.map((span) => [span.spanID.toString(), span]));
    for (const expected of seen) {
      const span = byId.get(expected.spanId);
      expect(span, `span ${expected.kind} ${expected.spanId}`).toBeDefined();
      expect(span?.traceID.toString()).toBe(expected.traceId);
      expect(span?.service).toBe('tk-dd-child');
    }
    const custom = byId.get(seen.find((span) => span.kind === 'custom')?.spanId ?? '');
    expect(custom).toMatchObject({ name: 'tk.checkout', resource: 'checkout-flow', parentID: 0n });
    const server = byId.get(seen.find((span) => span.kind === 'server')?.spanId ?? '');
    expect(server?.name).toBe('web.request');
    expect(server?.resource).toMatch(/^GET/);
    expect(server?.meta['http.url']).toContain('/cart');
    const client = byId.get(seen.find((span) => span.kind === 'client')?.spanId ?? '');
    expect(client?.name).toBe('http.request');
    // One trace: the client call is a child of the custom span, the server span of the client's.
    expect(new Set([custom, server, client].map((span) => span?.traceID))).toHaveProperty('size', 1);
    expect(client?.parentID).toBe(custom?.spanID);
    expect(server?.parentID).toBe(client?.spanID);
  });
});
