// Sync client figures for the backend chosen by TELEMETRY_KIT_BACKEND; prints one JSON object.
// - sign and send: a backlog of 4,000 events synced in one pass, in batches of 100, against a
//   local endpoint in another process; ms per batch covers reading the batch, signing, the HTTP
//   round trip and recording the events as synced;
// - exit: a CLI with pending events and auto-sync on, whose sync request hangs, exits this long
//   after its last line of work (telemetry must not hold it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:http';
import { TelemetryKit } from '@telemetry-kit/node';

const here = fileURLToPath(new URL('.', import.meta.url));
const QUICK = process.env.BENCH_QUICK === '1';
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const credentials = (endpoint) => ({ endpoint, orgId: 'org', appId: 'app', token: 'token', secret: 'bench-secret' });

function startFastIngest() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'fixtures/fast-ingest.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const match = /listening (\S+)/.exec(chunk);
      if (match) resolve({ url: match[1], stop: () => child.kill('SIGTERM') });
    });
    child.on('error', reject);
  });
}

async function signAndSend(endpoint, dir) {
  const batches = QUICK ? 5 : 40;
  const kit = TelemetryKit.builder()
    .serviceName('bench-sync')
    .dataDir(dir)
    .withSyncCredentials(credentials(endpoint))
    .autoSync(false)
    .batchSize(100)
    .build();
  await Promise.all(Array.from({ length: batches * 100 }, (_, i) => kit.trackCommand('deploy', { success: true, durationMs: i, metadata: { region: 'eu-west-1', i } })));
  await kit.sync({ maxBatches: 1 }); // warm-up: JIT, the connection path, first consolidation
  const started = process.hrtime.bigint();
  const result = await kit.sync();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error) throw new Error(`sync failed: ${result.error.message}`);
  await kit.shutdown();
  const sent = result.accepted;
  return { events: sent, batches: sent / 100, msPerBatch: ms / (sent / 100), eventsPerSecond: (sent / ms) * 1000 };
}

/** A server that never answers: the child's automatic sync stays in flight. */
function startHangingServer() {
  const sockets = new Set();
  const server = createServer(() => {});
  server.on('connection', (s) => sockets.add(s));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        stop: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

const SYNC_CHILD = join(here, '../test/helpers/sync-child.mjs');
const EXIT_BASELINE = join(here, 'fixtures/exit-baseline.mjs');

/** ms from the child's last line to its exit; `linger`/`interval` as sync-child.mjs takes them. */
function exitDelay(endpoint, dir, script, linger, interval) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, endpoint, '50', String(linger), String(interval)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastLine = null;
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      const match = /last-line (\d+)/.exec(chunk);
      if (match) lastLine = Number(match[1]);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0 || lastLine === null) reject(new Error(`sync child exited ${code}`));
      else resolve(Date.now() - lastLine);
    });
  });
}

const backend = process.env.TELEMETRY_KIT_BACKEND ?? 'auto';
const root = mkdtempSync(join(tmpdir(), `tk-bench-sync-${backend}-`));
const ingest = await startFastIngest();
const hanging = await startHangingServer();
try {
  const send = await signAndSend(ingest.url, join(root, 'send'));
  // Interleaved with a baseline child that prints the same line without telemetry: process
  // teardown and the parent's observation latency are in both.
  // Two cases: a CLI that tracks and ends at once (default interval: no pass has started), and
  // one that lingers until its automatic pass has a request hanging on the server.
  const cases = { immediate: { linger: 0, interval: 60_000 }, requestInFlight: { linger: 2_500, interval: 1_000 } };
  const exit = {};
  for (const [name, { linger, interval }] of Object.entries(cases)) {
    const withTelemetry = [];
    const baseline = [];
    for (let i = 0; i < (QUICK ? 2 : 7); i += 1) {
      withTelemetry.push(await exitDelay(hanging.url, join(root, `exit-${name}-${i}`), SYNC_CHILD, linger, interval));
      baseline.push(await exitDelay(hanging.url, join(root, `exit-${name}-${i}`), EXIT_BASELINE, linger, interval));
    }
    exit[name] = { medianMs: median(withTelemetry), baselineMedianMs: median(baseline), addedMedianMs: median(withTelemetry) - median(baseline), maxMs: Math.max(...withTelemetry), runs: withTelemetry.length };
  }
  process.stdout.write(`${JSON.stringify({ available: true, backend, send, exitAfterLastLine: exit })}\n`);
} finally {
  ingest.stop();
  hanging.stop();
  rmSync(root, { recursive: true, force: true });
}
