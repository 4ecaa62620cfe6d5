// `npm run bench`: every backend side by side in one run; prints a table and writes
// bench/results.json. Each backend runs in its own process, chosen with TELEMETRY_KIT_BACKEND.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 25);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

function runNode(script, env) {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, [script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`${script} exited ${child.status}: ${child.stderr}`);
  return { ms, stdout: child.stdout };
}

/**
 * Baseline and every available backend, interleaved run by run, so that the machine's noise
 * (large on a shared VM) hits all of them alike; medians of each.
 */
function cliOverhead(backends) {
  const dirs = Object.fromEntries(backends.map((backend) => [backend, mkdtempSync(join(tmpdir(), `tk-bench-cli-${backend}-`))]));
  const envOf = (backend) => ({ TELEMETRY_KIT_BACKEND: backend, BENCH_DATA_DIR: dirs[backend] });
  try {
    for (const backend of backends) runNode(join(here, 'fixtures/cli-with-telemetry.mjs'), envOf(backend));
    const baseline = [];
    const withTelemetry = Object.fromEntries(backends.map((backend) => [backend, []]));
    for (let i = 0; i < RUNS; i += 1) {
      baseline.push(runNode(join(here, 'fixtures/cli-baseline.mjs'), envOf(backends[0])).ms);
      for (const backend of backends) withTelemetry[backend].push(runNode(join(here, 'fixtures/cli-with-telemetry.mjs'), envOf(backend)).ms);
    }
    return Object.fromEntries(
      backends.map((backend) => [
        backend,
        { runs: RUNS, baselineMedianMs: median(baseline), telemetryMedianMs: median(withTelemetry[backend]), addedMs: median(withTelemetry[backend]) - median(baseline) },
      ]),
    );
  } finally {
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Median over fresh processes of require('@telemetry-kit/native') + first call, and the binary's size. */
function addonFigures() {
  const runs = Array.from({ length: 11 }, () => Number(runNode(join(here, 'fixtures/addon-load.mjs'), {}).stdout));
  const nativeDir = join(here, '../packages/native');
  const binary = readdirSync(nativeDir).find((name) => name.endsWith('.node'));
  return { loadMedianMs: median(runs), binary, binaryBytes: binary ? statSync(join(nativeDir, binary)).size : null };
}

function measure(backend) {
  try {
    const telemetry = JSON.parse(runNode(join(here, 'telemetry-bench.mjs'), { TELEMETRY_KIT_BACKEND: backend }).stdout);
    if (!telemetry.available) return telemetry;
    const sync = JSON.parse(runNode(join(here, 'sync-bench.mjs'), { TELEMETRY_KIT_BACKEND: backend }).stdout);
    return { ...telemetry, sync, ...(backend === 'native' ? { addon: addonFigures() } : {}) };
  } catch (error) {
    return { available: false, reason: String(error.message).split('\n')[0] };
  }
}

/** The ingestion server (not a backend): `telemetry-kit serve` and 4 client processes (bench/server-bench.mjs). */
function measureServer() {
  const child = spawnSync(process.execPath, [join(here, 'server-bench.mjs'), '--json'], { encoding: 'utf8', env: process.env });
  if (child.status !== 0) return { available: false, reason: String(child.stderr).split('\n')[0] };
  return JSON.parse(child.stdout);
}

/** Serverless services figures (bench/services-bench.mjs) on one backend, in their own process. */
function measureServices(backend) {
  const child = spawnSync(process.execPath, ['--expose-gc', join(here, 'services-bench.mjs')], { encoding: 'utf8', env: { ...process.env, TELEMETRY_KIT_BACKEND: backend } });
  if (child.status !== 0) return { available: false, reason: String(child.stderr).trim().split('\n').at(-1) };
  return JSON.parse(child.stdout.trim().split('\n').at(-1));
}

const backends = { js: measure('js'), native: measure('native') };
for (const name of Object.keys(backends)) backends[name].services = measureServices(name);
const cli = cliOverhead(Object.keys(backends).filter((name) => backends[name].available));
for (const [name, figures] of Object.entries(cli)) backends[name].cli = figures;
const server = measureServer();
const results = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, backends, server };
writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const { js, native } = results.backends;
const fmt = (value, digits = 0) => (typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
const rows = [
  ['CLI overhead, median added ms', fmt(js.cli?.addedMs, 1), fmt(native.cli?.addedMs, 1), ratio(native.cli?.addedMs, js.cli?.addedMs), '≤ 15 ms'],
  ['  (baseline / with telemetry, ms)', js.cli ? `${fmt(js.cli.baselineMedianMs, 1)} / ${fmt(js.cli.telemetryMedianMs, 1)}` : 'n/a', native.cli ? `${fmt(native.cli.baselineMedianMs, 1)} / ${fmt(native.cli.telemetryMedianMs, 1)}` : 'n/a', '', `${RUNS} runs each`],
  ['durable events/s (1,000 concurrent)', fmt(js.durableEventsPerSecond), fmt(native.durableEventsPerSecond), ratio(native.durableEventsPerSecond, js.durableEventsPerSecond), '≥ 50,000 (native ≥ 3× js)'],
  ['enqueue p50 µs', fmt(js.enqueueMicros?.p50, 1), fmt(native.enqueueMicros?.p50, 1), ratio(native.enqueueMicros?.p50, js.enqueueMicros?.p50), ''],
  ['enqueue p99 µs', fmt(js.enqueueMicros?.p99, 1), fmt(native.enqueueMicros?.p99, 1), ratio(native.enqueueMicros?.p99, js.enqueueMicros?.p99), '≤ 50 µs'],
  ['consolidation events/s', fmt(js.consolidationEventsPerSecond), fmt(native.consolidationEventsPerSecond), ratio(native.consolidationEventsPerSecond, js.consolidationEventsPerSecond), ''],
  ['sync: ms per 100-event batch (sign+send+record)', fmt(js.sync?.send?.msPerBatch, 2), fmt(native.sync?.send?.msPerBatch, 2), ratio(native.sync?.send?.msPerBatch, js.sync?.send?.msPerBatch), 'local endpoint'],
  ['exit after last line, added ms (no pass yet)', fmt(js.sync?.exitAfterLastLine?.immediate?.addedMedianMs, 0), fmt(native.sync?.exitAfterLastLine?.immediate?.addedMedianMs, 0), '', '≤ 50 ms'],
  ['exit after last line, added ms (request hung)', fmt(js.sync?.exitAfterLastLine?.requestInFlight?.addedMedianMs, 0), fmt(native.sync?.exitAfterLastLine?.requestInFlight?.addedMedianMs, 0), '', '≤ 50 ms'],
  ['addon load, require → first call, ms', '', fmt(native.addon?.loadMedianMs, 2), '', '≤ 5 ms'],
  ['addon binary, stripped, MB', '', native.addon?.binaryBytes ? fmt(native.addon.binaryBytes / 1e6, 2) : 'n/a', '', '≤ 5 MB'],
];
const svc = (backend) => (backend.services?.available ? backend.services : null);
const [jsServices, nativeServices] = [svc(js), svc(native)];
rows.push(
  ['services: DogStatsD lines/s, zero drops', fmt(jsServices?.dogstatsd.zeroDropLinesPerSecond), fmt(nativeServices?.dogstatsd.zeroDropLinesPerSecond), ratio(nativeServices?.dogstatsd.zeroDropLinesPerSecond, jsServices?.dogstatsd.zeroDropLinesPerSecond), '≥ 300,000'],
  ['services: trace agent spans/s accepted', fmt(jsServices?.traces.spansPerSecond), fmt(nativeServices?.traces.spansPerSecond), ratio(nativeServices?.traces.spansPerSecond, jsServices?.traces.spansPerSecond), ''],
  ['services: start() to ready, ms (cold / warm)', jsServices ? `${fmt(jsServices.lifecycle.coldStartMedianMs, 1)} / ${fmt(jsServices.lifecycle.warmStartMedianMs, 1)}` : 'n/a', nativeServices ? `${fmt(nativeServices.lifecycle.coldStartMedianMs, 1)} / ${fmt(nativeServices.lifecycle.warmStartMedianMs, 1)}` : 'n/a', '', '≤ 50 ms'],
  ['services: stop() with final flush, ms', fmt(jsServices?.lifecycle.stopWithFinalFlushMedianMs, 1), fmt(nativeServices?.lifecycle.stopWithFinalFlushMedianMs, 1), ratio(nativeServices?.lifecycle.stopWithFinalFlushMedianMs, jsServices?.lifecycle.stopWithFinalFlushMedianMs), '≤ 200 ms'],
  ['services: RSS added, MB (idle / 10k contexts / +traces)', jsServices ? `${fmt(jsServices.rss.idleMB, 1)} / ${fmt(jsServices.rss.dogstatsdContextsMB, 1)} / ${fmt(jsServices.rss.afterTraceBurstMB, 1)}` : 'n/a', nativeServices ? `${fmt(nativeServices.rss.idleMB, 1)} / ${fmt(nativeServices.rss.dogstatsdContextsMB, 1)} / ${fmt(nativeServices.rss.afterTraceBurstMB, 1)}` : 'n/a', '', '≤ 50 MB'],
);
const header = ['metric', 'js', 'native', 'native/js', 'target'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const row of rows) console.log(line(row));
if (!native.available) console.log(`\nnative: not measured (${native.reason})`);
if (!nativeServices) console.log(`native services: not measured (${native.services?.reason ?? 'unavailable'})`);
const ingest = (run) => (run?.eventsPerSecond === undefined ? `n/a (${run?.reason ?? server.reason ?? 'not measured'})` : `${fmt(run.eventsPerSecond)} events/s, p99 ${fmt(run.latencyMs?.p99, 1)} ms`);
console.log(`\nserver ingest, 4 client processes × batches of 100: embedded ${ingest(server.runs?.embedded)} (target ≥ 20,000); postgres ${ingest(server.runs?.postgres)}`);
console.log(`\nwritten: bench/results.json`);
