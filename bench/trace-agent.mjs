// Trace agent core throughput: spans/s through decode + normalize + buffer (TraceBuffer.ingest)
// for payloads of 100 spans encoded by dd-trace's own v0.4/v0.5 encoders, and the same with
// the AgentPayload protobuf encoding of `flush` included. Bundles the TypeScript source with
// esbuild first, so it needs no build.   node bench/trace-agent.mjs [--seconds 3]
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;

const entry = fileURLToPath(new URL('../packages/core/src/services/trace/index.ts', import.meta.url));
const bundled = await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'silent' });
const trace = await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0].text).toString('base64')}`);

const id = require('dd-trace/packages/dd-trace/src/id.js');
const { AgentEncoder: EncoderV04 } = require('dd-trace/packages/dd-trace/src/encode/0.4.js');
const { AgentEncoder: EncoderV05 } = require('dd-trace/packages/dd-trace/src/encode/0.5.js');

// 10 traces of 10 spans: an HTTP root, middleware, and database/cache children, with the tags
// dd-trace's express/pg/redis integrations set.
function payload(Encoder, seed) {
  const encoder = new Encoder({ flush() {} });
  const start = 1_700_000_000_000_000_000;
  for (let t = 0; t < 10; t++) {
    const traceId = id(((BigInt(seed) << 20n) + BigInt(t + 1)).toString(16).padStart(16, '0'), 16);
    const spans = [];
    for (let s = 0; s < 10; s++) {
      const kind = s === 0 ? 'root' : s < 4 ? 'mw' : s % 2 ? 'pg' : 'redis';
      spans.push({
        trace_id: traceId,
        span_id: id((BigInt(t * 100 + s + 1) | (1n << 62n)).toString(16), 16),
        parent_id: id(s === 0 ? '0' : (BigInt(t * 100 + 1) | (1n << 62n)).toString(16), 16),
        service: kind === 'pg' ? 'shop-postgres' : kind === 'redis' ? 'shop-redis' : 'shop-api',
        name: kind === 'root' ? 'express.request' : kind === 'mw' ? 'express.middleware' : kind === 'pg' ? 'pg.query' : 'redis.command',
        resource: kind === 'root' ? 'GET /api/products/:id' : kind === 'mw' ? 'jsonParser' : kind === 'pg' ? 'SELECT * FROM products WHERE id = $1' : 'GET',
        type: kind === 'pg' ? 'sql' : kind === 'redis' ? 'redis' : 'web',
        error: 0,
        meta: {
          env: 'prod',
          version: '1.4.2',
          component: kind === 'pg' ? 'pg' : kind === 'redis' ? 'redis' : 'express',
          'span.kind': kind === 'root' ? 'server' : kind === 'mw' ? 'internal' : 'client',
          'runtime-id': '8d8a9d4e-3b1c-4f7a-9a3e-2f1c0b6d7e5a',
          'http.method': 'GET',
          'http.route': '/api/products/:id',
          'http.status_code': '200',
          ...(s === 0 ? { '_dd.p.dm': '-0', '_dd.p.tid': '65f1a2b300000000', language: 'javascript' } : {}),
        },
        metrics: s === 0 ? { _sampling_priority_v1: 1, _dd_agent_psr: 1, process_id: 4242, '_dd.top_level': 1 } : { _dd_measured: 1 },
        start: start + t * 1_000_000 + s * 1_000,
        duration: 250_000 + s * 1_000,
      });
    }
    encoder.encode(spans);
  }
  return new Uint8Array(encoder.makePayload());
}

function measure(label, version, Encoder, withFlush) {
  const bodies = Array.from({ length: 64 }, (_, i) => payload(Encoder, i));
  const buffer = new trace.TraceBuffer({ agentVersion: 'bench', globalTags: {}, maxBufferedSpans: 1_000_000 });
  const meta = { lang: 'nodejs', langVersion: process.version, tracerVersion: '5.132.0' };
  // warm-up
  for (let i = 0; i < 2000; i++) buffer.ingest(version, bodies[i % bodies.length], meta);
  buffer.flush(Date.now());
  let spans = 0;
  let busy = 0n;
  const deadline = Date.now() + seconds * 1000;
  let i = 0;
  while (Date.now() < deadline) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 100; k++) {
      const result = buffer.ingest(version, bodies[i++ % bodies.length], meta);
      if (!result.ok) throw new Error(result.error.message);
      spans += result.accepted;
    }
    if (withFlush) buffer.flush(Date.now());
    busy += process.hrtime.bigint() - t0;
    if (!withFlush) buffer.flush(Date.now());
  }
  const perSecond = spans / (Number(busy) / 1e9);
  console.log(`${label.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} spans/s`);
  return perSecond;
}

console.log(`node ${process.version}, payloads of 100 spans (10 traces x 10 spans), ${seconds} s each`);
measure('v0.4 decode + normalize + add', 'v0.4', EncoderV04, false);
measure('v0.5 decode + normalize + add', 'v0.5', EncoderV05, false);
measure('v0.4 decode + normalize + add + AgentPayload', 'v0.4', EncoderV04, true);
