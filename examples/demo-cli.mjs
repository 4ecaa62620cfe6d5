// `npm start`: runs the example CLI a few times against a throwaway data dir, then shows what
// telemetry-kit stored, exactly as it would be sent.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TelemetryKit, backendSelection } from '@telemetry-kit/node';

const here = fileURLToPath(new URL('.', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'telemetry-kit-demo-'));
const env = { ...process.env, ACME_DATA_DIR: dataDir };
for (const key of ['DO_NOT_TRACK', 'TELEMETRY_KIT_DISABLED', 'ACME_CLI_TELEMETRY_DISABLED']) delete env[key];

const runs = [
  ['init', 'my-service'],
  ['deploy', '--env=prod', '--token=s3cr3t-value', `--config=${homedir()}/acme/prod.toml`],
  ['deploy', '--env=staging', '--fail'],
  ['login', '--password', 'hunter2', '--user', 'ops@example.com'],
];

const selection = backendSelection();
console.log(`telemetry-kit demo — backend: ${selection.backend}${selection.fallbackReason ? ` (${selection.fallbackReason})` : ''}`);
console.log(`data dir: ${dataDir}\n`);
for (const args of runs) {
  const started = performance.now();
  const child = spawnSync(process.execPath, [join(here, 'acme-cli.mjs'), ...args], { env, stdio: 'inherit' });
  console.log(`$ acme ${args.join(' ')}  → exit ${child.status} in ${(performance.now() - started).toFixed(0)} ms`);
}

const kit = TelemetryKit.builder().serviceName('acme-cli').dataDir(dataDir).build();
try {
  const stats = await kit.stats();
  console.log('\nstats:', JSON.stringify({ pending: stats.pending, synced: stats.synced, dropped: stats.dropped, consent: stats.consent, storage: stats.storage, backend: stats.backend }));
  console.log('\nstored events (sanitized, exactly as they would be sent):');
  for (const { event } of await kit.events({ limit: 50 })) {
    console.log(`\n# ${event.event.type} ${event.event.data.command ?? event.event.data.feature}`);
    console.log(JSON.stringify(event, null, 2));
  }
  const text = JSON.stringify(await kit.events({ limit: 50 }));
  const leaks = [homedir(), 'jane.doe@example.com', 'ops@example.com', 's3cr3t-value', 'hunter2'].filter((s) => text.includes(s));
  console.log(`\nprivacy check: ${leaks.length === 0 ? 'no home path, e-mail address or secret was stored' : `LEAKED ${leaks.join(', ')}`}`);
  if (leaks.length > 0) process.exitCode = 1;
} finally {
  await kit.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
}
