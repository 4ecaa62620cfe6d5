// Ingestion server throughput: `telemetry-kit serve` in its own process, 4 client processes,
// each with one keep-alive connection sending signed batches of 100 valid events back to back.
// Embedded storage always; PostgreSQL too with --pg URL or TELEMETRY_KIT_TEST_PG_URL (in a
// throwaway schema). Prints a table; with --json prints one JSON object instead (bench/run.mjs
// merges it into bench/results.json). The per-token rate limit is turned off: this measures
// ingestion, not the limiter. Every client counts what the server acknowledged, and the run
// checks that the server's own summary holds exactly that many events.
//
//   node bench/server-bench.mjs [--seconds 5] [--pg postgres://…] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const BIN = join(here, '../packages/node/bin/telemetry-kit.js');
const CLIENTS = 4;
const BATCH = 100;
const WARMUP_MS = 1_500;
/** Trials per storage, on one server; the median is reported (a shared VM's noise hits single runs hard). */
const TRIALS = 3;

function argValue(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// ---------------------------------------------------------------- client role (one process each)

const COMMANDS = ['deploy', 'build', 'test', 'lint', 'init'];
const VERSIONS = ['1.4.2', '1.5.0', '2.0.0'];

const ID_SLOT = '00000000-0000-4000-8000-000000000000';

/** Event i as JSON, split around its event_id: a client sends stored JSON lines, it does not serialize events at send time. */
function eventTemplate(i) {
  const json = JSON.stringify({
    schema_version: '1.0.0',
    event_id: ID_SLOT,
    timestamp: new Date().toISOString(),
    service: { name: 'bench-cli', version: VERSIONS[i % 3], language: 'javascript', language_version: '20.20.2' },
    user_id: `client_${'ab12'.repeat(16)}`,
    session_id: `sess_${'cd34'.repeat(8)}`,
    environment: { os: 'linux', os_version: '6.1.0', arch: 'x64', ci: false, ci_name: null, shell: 'bash' },
    event: { type: 'command_execution', category: 'usage', data: { command: COMMANDS[i % 5], flags: ['--verbose'], success: i % 10 !== 0, duration_ms: i % 997, exit_code: 0 } },
    metadata: { sdk_version: 'telemetry-kit-node/0.1.0', backend: 'js' },
  });
  const at = json.indexOf(ID_SLOT);
  return [json.slice(0, at), json.slice(at + ID_SLOT.length)];
}

function post(agent, url, app, body) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomUUID();
  const signature = createHmac('sha256', app.secret).update(`${timestamp}:${nonce}:`).update(body).digest('hex');
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/ingest/${app.orgId}/${app.appId}`,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${app.token}`,
          'x-timestamp': timestamp,
          'x-nonce': nonce,
          'x-signature': signature,
          'x-batch-size': String(BATCH),
          'x-schema-version': '1.0.0',
          'x-sdk-version': 'telemetry-kit-node/0.1.0 (bench)',
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function runClient() {
  const [url, appJson, startAt, endAt] = process.argv.slice(3);
  const app = JSON.parse(appJson);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let measured = 0;
  let total = 0;
  let errors = 0;
  const templates = Array.from({ length: BATCH }, (_, i) => eventTemplate(i));
  const start = Number(startAt);
  const end = Number(endAt);
  for (;;) {
    const events = templates.map(([head, tail]) => head + randomUUID() + tail);
    const body = Buffer.from(`{"events":[${events.join(',')}]}`, 'utf8');
    const sentAt = Date.now();
    if (sentAt >= end) break;
    const t0 = process.hrtime.bigint();
    const answer = await post(agent, url, app, body);
    const doneAt = Date.now();
    if (answer.status !== 200) {
      errors++;
      continue;
    }
    total += answer.body.accepted;
    if (sentAt >= start && doneAt <= end) {
      measured += answer.body.accepted;
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ measured, total, errors, latencies })}\n`);
}

// ---------------------------------------------------------------- coordinator

function cli(args) {
  const out = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`telemetry-kit ${args.join(' ')} exited ${out.status}: ${out.stderr}`);
  return out.stdout;
}

function startServer(storageArgs) {
  // BENCH_SERVER_NODE_ARGS (e.g. --cpu-prof) goes to the server's node only.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--port', '0', '--rate-limit', '0', ...storageArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /listening on (\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

function stopServer(child) {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve({ code, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    child.kill('SIGTERM');
  });
}

function runClients(url, apps, seconds) {
  const start = Date.now() + WARMUP_MS + 500;
  const end = start + seconds * 1000;
  return Promise.all(
    apps.map(
      (app) =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--client', url, JSON.stringify(app), String(start), String(end)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (chunk) => (out += chunk));
          child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
        }),
    ),
  );
}

async function summaryTotal(url, app) {
  const res = await fetch(`${url}/v1/apps/${app.appId}/summary`, { headers: { authorization: `Bearer ${app.token}` } });
  return (await res.json()).total_events;
}

function trialFigures(results, seconds) {
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const pick = (p) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? null;
  return {
    eventsPerSecond: results.reduce((sum, r) => sum + r.measured, 0) / seconds,
    requestsPerSecond: latencies.length / seconds,
    latencyMs: { p50: pick(0.5), p99: pick(0.99) },
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    acknowledged: results.reduce((sum, r) => sum + r.total, 0),
  };
}

async function measure(label, storageArgs, seconds) {
  const apps = Array.from({ length: CLIENTS }, (_, i) => JSON.parse(cli(['apps', 'add', `bench-client-${i}`, ...storageArgs, '--json'])));
  const { child, url } = await startServer(storageArgs);
  const trials = [];
  let stored;
  let stop;
  try {
    for (let trial = 0; trial < TRIALS; trial++) trials.push(trialFigures(await runClients(url, apps, seconds), seconds));
    stored = (await Promise.all(apps.map((app) => summaryTotal(url, app)))).reduce((a, b) => a + b, 0);
  } finally {
    stop = await stopServer(child);
  }
  const median = [...trials].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(TRIALS / 2)];
  const acknowledged = trials.reduce((sum, t) => sum + t.acknowledged, 0);
  return {
    storage: label,
    clients: CLIENTS,
    batchSize: BATCH,
    seconds,
    ...median,
    trialsEventsPerSecond: trials.map((t) => Math.round(t.eventsPerSecond)),
    errors: trials.reduce((sum, t) => sum + t.errors, 0),
    acknowledged,
    storedPerSummary: stored,
    consistent: stored === acknowledged,
    shutdownMs: stop.ms,
    shutdownExitCode: stop.code,
  };
}

async function main() {
  const seconds = Number(argValue('--seconds') ?? process.env.BENCH_SERVER_SECONDS ?? 5);
  const pgUrl = argValue('--pg') ?? process.env.TELEMETRY_KIT_TEST_PG_URL;
  const runs = [];
  const dir = mkdtempSync(join(tmpdir(), 'tk-bench-server-'));
  try {
    runs.push(await measure('embedded', ['--data', dir], seconds));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (pgUrl) {
    const schema = `tk_bench_${randomBytes(4).toString('hex')}`;
    try {
      runs.push(await measure('postgres', ['--database', pgUrl, '--schema', schema], seconds));
    } finally {
      const pg = await import('pg');
      const pool = new pg.default.Pool({ connectionString: pgUrl, max: 1 });
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => pool.end());
    }
  }
  const result = { clients: CLIENTS, batchSize: BATCH, seconds, trials: TRIALS, loadAverage: loadavg().map((v) => Math.round(v * 100) / 100), target: { embeddedEventsPerSecond: 20_000 }, runs: Object.fromEntries(runs.map((r) => [r.storage, r])) };
  if (!pgUrl) result.runs.postgres = { available: false, reason: 'no --pg URL or TELEMETRY_KIT_TEST_PG_URL' };
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const fmt = (v, d = 0) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
  const rows = runs.map((r) => [
    r.storage,
    fmt(r.eventsPerSecond),
    r.trialsEventsPerSecond.map((v) => fmt(v)).join(' / '),
    fmt(r.requestsPerSecond, 1),
    fmt(r.latencyMs.p50, 1),
    fmt(r.latencyMs.p99, 1),
    String(r.errors),
    r.consistent ? 'yes' : `NO (${r.storedPerSummary}/${r.acknowledged})`,
  ]);
  const header = ['storage', 'events/s (median)', 'trials', 'requests/s', 'p50 ms', 'p99 ms', 'errors', 'stored = acked'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`server ingest: ${CLIENTS} client processes, batches of ${BATCH}, ${TRIALS} trials of ${seconds} s (target: embedded >= 20,000 events/s; load average ${result.loadAverage.join(' ')})`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
  if (!pgUrl) console.log('postgres: not measured (pass --pg URL or set TELEMETRY_KIT_TEST_PG_URL)');
}

if (process.argv[2] === '--client') await runClient();
else await main();
