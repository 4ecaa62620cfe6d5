// `npm start`: the end-to-end demo on embedded defaults. It starts the ingestion server on an
// ephemeral port with a throwaway data dir, registers an app, runs the example CLI on each
// available backend (its shutdown() syncs), and prints what the server stored, its summary and
// the timings. Nothing outside loopback is touched.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendSelection } from '@telemetry-kit/node';

const here = fileURLToPath(new URL('.', import.meta.url));
const bin = fileURLToPath(new URL('../packages/node/bin/telemetry-kit.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'telemetry-kit-demo-'));
const serverDir = join(root, 'server');
const baseEnv = { ...process.env };
for (const key of ['DO_NOT_TRACK', 'TELEMETRY_KIT_DISABLED', 'ACME_CLI_TELEMETRY_DISABLED', 'TELEMETRY_KIT_DEBUG']) delete baseEnv[key];

const runs = [
  ['init', 'my-service'],
  ['deploy', '--env=prod', '--token=s3cr3t-value', `--config=${homedir()}/acme/prod.toml`],
  ['deploy', '--env=staging', '--fail'],
  ['login', '--password', 'hunter2', '--user', 'ops@example.com'],
];
const secretsThatMustNotLeave = [homedir(), 'jane.doe@example.com', 'ops@example.com', 's3cr3t-value', 'hunter2'];

const ms = (start) => `${(performance.now() - start).toFixed(0)} ms`;

/** The backends to demo: the one asked for, or both when the addon loads. */
function demoBackends() {
  const requested = process.env.TELEMETRY_KIT_BACKEND;
  if (requested === 'js' || requested === 'native') return [requested];
  const selection = backendSelection();
  if (selection.backend === 'native') return ['native', 'js'];
  console.log(`(native backend unavailable: ${selection.fallbackReason ?? 'unknown'}; running on js only)`);
  return ['js'];
}

function cli(args, env = baseEnv) {
  const result = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`telemetry-kit ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data', serverDir], { env: baseEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15_000);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

async function getJson(url, token) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

let server = null;
try {
  console.log('telemetry-kit demo: usage telemetry from an example CLI to a local ingestion server\n');
  let started = performance.now();
  const app = JSON.parse(cli(['apps', 'add', 'acme-cli', '--data', serverDir, '--json']));
  console.log(`app registered: org ${app.orgId}, app ${app.appId} (${ms(started)})`);
  started = performance.now();
  server = await startServer();
  console.log(`ingestion server: ${server.url} (ready in ${ms(started)}, data in ${serverDir})\n`);

  const timings = [];
  for (const backend of demoBackends()) {
    const dataDir = join(root, `client-${backend}`);
    const env = {
      ...baseEnv,
      TELEMETRY_KIT_BACKEND: backend,
      ACME_DATA_DIR: dataDir,
      ACME_TELEMETRY_ENDPOINT: server.url,
      ACME_TELEMETRY_ORG: app.orgId,
      ACME_TELEMETRY_APP: app.appId,
      ACME_TELEMETRY_TOKEN: app.token,
      ACME_TELEMETRY_SECRET: app.secret,
    };
    console.log(`--- backend: ${backend} ---`);
    for (const args of runs) {
      const t = performance.now();
      const child = spawnSync(process.execPath, [join(here, 'acme-cli.mjs'), ...args], { env, stdio: 'inherit' });
      const elapsed = performance.now() - t;
      timings.push({ backend, command: args[0], ms: elapsed });
      console.log(`$ acme ${args.join(' ')}  → exit ${child.status} in ${elapsed.toFixed(0)} ms`);
    }
    // The client's own view, from the telemetry-kit CLI on the same backend.
    const stats = JSON.parse(cli(['--service', 'acme-cli', '--data-dir', dataDir, 'status', '--json'], env));
    console.log(`client stats: ${JSON.stringify({ backend: stats.backend, pending: stats.pending, synced: stats.synced, deadLettered: stats.deadLettered, lastSync: stats.lastSync, lastError: stats.lastError })}\n`);
  }

  const base = `${server.url}/v1/apps/${encodeURIComponent(app.appId)}`;
  const stored = await getJson(`${base}/events?limit=100`, app.token);
  const events = Array.isArray(stored) ? stored : stored.events;
  console.log(`the server stored ${events.length} events; the first two, as received:`);
  for (const event of events.slice(0, 2)) console.log(JSON.stringify(event, null, 2));
  console.log('\nsummary:');
  console.log(JSON.stringify(await getJson(`${base}/summary`, app.token), null, 2));

  const text = JSON.stringify(events);
  const leaks = secretsThatMustNotLeave.filter((s) => text.includes(s));
  console.log(`\nprivacy check: ${leaks.length === 0 ? 'no home path, e-mail address or secret reached the server' : `LEAKED ${leaks.join(', ')}`}`);
  // Each run tracks its command; init and both deploys also track a feature: 7 per backend.
  const expected = (timings.length / runs.length) * 7;
  if (events.length < expected) {
    console.log(`expected at least ${expected} events on the server, found ${events.length}`);
    process.exitCode = 1;
  }
  if (leaks.length > 0) process.exitCode = 1;
  console.log('\ntimings (each CLI run includes tracking, storing and the final sync in shutdown()):');
  for (const t of timings) console.log(`  ${t.backend.padEnd(6)} ${t.command.padEnd(7)} ${t.ms.toFixed(0).padStart(5)} ms`);
} finally {
  if (server) {
    server.child.removeAllListeners('exit');
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  rmSync(root, { recursive: true, force: true });
}
