// A local fake Datadog intake for the serverless-services tests: an HTTP server on 127.0.0.1
// (ephemeral port) that records every request, undoes its Content-Encoding and decodes the body
// for real — JSON for /api/v2/series, /api/v1/events and /api/v1/check_run, protobuf
// SketchPayload for /api/beta/sketches and AgentPayload for /api/v0.2/traces (protobufjs loading
// the vendored .proto files from proto/ at run time, not the encoders' generated descriptors, so
// an encoding bug shows), msgpack for /api/v0.2/stats. Answers are scriptable per path.
//
// Plain JavaScript (with fake-intake.d.mts for types) so that child processes can import it
// too; TypeScript tests import it through fake-intake.ts. Run directly, it serves until SIGTERM
// and prints one JSON line per request: `node test/helpers/fake-intake.mjs [--port N]`.
import { createServer } from 'node:http';
import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { Decoder } from '@msgpack/msgpack';

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs');

export const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));
const TRACE_PROTO = join(PROTO_ROOT, 'datadog/trace/agent_payload.proto');

const KIND_BY_PATH = {
  '/api/v2/series': 'series',
  '/api/v1/events': 'events',
  '/api/v1/check_run': 'check_run',
  '/api/beta/sketches': 'sketches',
  '/api/v0.2/traces': 'traces',
  '/api/v0.2/stats': 'stats',
};

const msgpack = new Decoder({ useBigInt64: true });

function loadRoot(file) {
  const root = new protobuf.Root();
  // Imports in the vendored files are relative to proto/ (e.g. "datadog/trace/span.proto").
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(PROTO_ROOT, target));
  root.loadSync(file, { keepCase: true });
  return root;
}

function findType(namespace, name) {
  for (const nested of namespace.nestedArray ?? []) {
    if (nested instanceof protobuf.Type && nested.name === name) return nested;
    if (nested.nestedArray) {
      const found = findType(nested, name);
      if (found) return found;
    }
  }
  return null;
}

let agentPayloadType = null;
function agentPayloadTypeFromDisk() {
  agentPayloadType ??= loadRoot(TRACE_PROTO).lookupType('datadog.trace.AgentPayload');
  return agentPayloadType;
}

function protoFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...protoFiles(path));
    else if (entry.endsWith('.proto')) out.push(path);
  }
  return out;
}

let sketchPayloadType = null;
/** Loaded on first use, from whichever vendored file declares `message SketchPayload`. */
function sketchPayloadTypeFromDisk() {
  if (sketchPayloadType) return sketchPayloadType;
  const file = existsSync(PROTO_ROOT)
    ? protoFiles(PROTO_ROOT).find((f) => /^\s*message\s+SketchPayload\b/m.test(readFileSync(f, 'utf8')))
    : undefined;
  if (!file) throw new Error(`no .proto under ${PROTO_ROOT} declares message SketchPayload`);
  const type = findType(loadRoot(file), 'SketchPayload');
  if (!type) throw new Error(`SketchPayload not found in ${file}`);
  sketchPayloadType = type;
  return type;
}

const U64_FIELDS = new Set(['traceID', 'spanID', 'parentID', 'start', 'duration', 'traceID_high']);

// toObject gives 64-bit fields as decimal strings (exact); ids and times become bigint here.
function bigintFields(value) {
  if (Array.isArray(value)) return value.map(bigintFields);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = U64_FIELDS.has(k) && typeof v === 'string' ? BigInt(v) : bigintFields(v);
    return out;
  }
  return value;
}

/** Decodes AgentPayload protobuf bytes with the .proto files; ids and times come back as bigint. */
export function decodeAgentPayload(bytes) {
  const type = agentPayloadTypeFromDisk();
  const message = type.decode(bytes);
  return bigintFields(type.toObject(message, { longs: String, defaults: true, arrays: true, objects: true, bytes: Uint8Array }));
}

/** Decodes SketchPayload protobuf bytes with the vendored .proto file; int64 as numbers. */
export function decodeSketchPayload(bytes) {
  const type = sketchPayloadTypeFromDisk();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: true, arrays: true, objects: true, bytes: Uint8Array });
}

/** Decodes a msgpack body (StatsPayload); 64-bit integers as bigint. */
export function decodeMsgpackBody(bytes) {
  return msgpack.decode(bytes);
}

function decodeContent(encoding, raw) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return raw;
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    case 'br':
      return brotliDecompressSync(raw);
    default:
      throw new Error(`unsupported content-encoding ${encoding}`);
  }
}

function decodeBody(kind, body) {
  switch (kind) {
    case 'series':
    case 'events':
    case 'check_run':
      return JSON.parse(body.toString('utf8'));
    case 'sketches':
      return decodeSketchPayload(body);
    case 'traces':
      return decodeAgentPayload(body);
    case 'stats':
      return decodeMsgpackBody(body);
    default:
      return undefined;
  }
}

/**
 * @param {{ host?: string, port?: number, defaultStatus?: number }} [options]
 * @returns {Promise<import('./fake-intake.d.mts').FakeIntake>}
 */
export async function startFakeIntake(options = {}) {
  const requests = [];
  const scripts = new Map();
  const waiters = new Set();
  const hanging = new Set();
  const defaultStatus = options.defaultStatus ?? 202;

  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };

  const nextAnswer = (path) => {
    const script = scripts.get(path) ?? scripts.get('*');
    if (!script) return { status: defaultStatus, delayMs: 0, hang: false };
    const queued = script.statuses.length > 0 ? script.statuses.shift() : undefined;
    return {
      status: queued ?? script.status ?? defaultStatus,
      delayMs: script.delayMs ?? 0,
      hang: script.hang === true,
      body: script.body,
    };
  };

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('error', () => undefined);
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://intake.invalid');
      const rawBody = Buffer.concat(chunks);
      const kind = KIND_BY_PATH[url.pathname] ?? 'other';
      const answer = nextAnswer(url.pathname);
      const record = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.search,
        headers: { ...req.headers },
        rawBody,
        body: rawBody,
        kind,
        decoded: undefined,
        decodeError: undefined,
        status: answer.hang ? null : answer.status,
        receivedAt: Date.now(),
      };
      try {
        record.body = decodeContent(req.headers['content-encoding'], rawBody);
        record.decoded = decodeBody(kind, record.body);
      } catch (error) {
        record.decodeError = error instanceof Error ? error.message : String(error);
      }
      requests.push(record);
      options.onRequest?.(record);
      notify();
      if (answer.hang) {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body ?? (answer.status < 300 ? '{}' : JSON.stringify({ errors: [`status ${answer.status}`] })));
      };
      if (answer.delayMs > 0) {
        const timer = setTimeout(send, answer.delayMs);
        res.on('close', () => clearTimeout(timer));
      } else send();
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = options.host ?? '127.0.0.1';
  let closed = false;

  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    respond(path, script) {
      scripts.set(path, { ...script, statuses: [...(script.statuses ?? [])] });
    },
    clearResponses() {
      scripts.clear();
    },
    byPath(path) {
      return requests.filter((r) => r.path === path);
    },
    reset() {
      requests.length = 0;
    },
    waitFor(predicate, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          let done = false;
          try {
            done = predicate(requests);
          } catch (error) {
            cleanup();
            reject(error);
            return;
          }
          if (done) {
            cleanup();
            resolve(requests);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = requests.map((r) => `${r.method} ${r.path} → ${r.status ?? 'hung'}`).join(', ') || 'none';
          reject(new Error(`fake intake: condition not met within ${timeoutMs} ms (requests: ${seen})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const res of hanging) res.destroy();
      hanging.clear();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function jsonReplacer(_key, value) {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const portArg = process.argv.indexOf('--port');
  const intake = await startFakeIntake({
    port: portArg > 0 ? Number(process.argv[portArg + 1]) : 0,
    onRequest: (r) =>
      process.stdout.write(
        `${JSON.stringify({ method: r.method, path: r.path, status: r.status, kind: r.kind, decoded: r.decoded, decodeError: r.decodeError }, jsonReplacer)}\n`,
      ),
  });
  process.stdout.write(`${JSON.stringify({ ready: true, url: intake.url, port: intake.port })}\n`);
  const stop = () => void intake.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
