#!/usr/bin/env node
// An example CLI instrumented with telemetry-kit: `node acme-cli.mjs <command> [args...]`.
// Its data dir comes from ACME_DATA_DIR so the demo can use a throwaway one, and its ingestion
// server from ACME_TELEMETRY_* (set by the demo after `telemetry-kit apps add`).
import { homedir } from 'node:os';
import { TelemetryKit } from '@telemetry-kit/node';

const builder = TelemetryKit.builder()
  .serviceName('acme-cli')
  .serviceVersion('1.4.2')
  .dataDir(process.env.ACME_DATA_DIR ?? `${homedir()}/.acme-demo`);
const { ACME_TELEMETRY_ENDPOINT: endpoint, ACME_TELEMETRY_ORG: orgId, ACME_TELEMETRY_APP: appId } = process.env;
const { ACME_TELEMETRY_TOKEN: token, ACME_TELEMETRY_SECRET: secret } = process.env;
if (endpoint && orgId && appId && token && secret) {
  // Auto-sync: events go out in the background, and shutdown() makes one last bounded attempt.
  builder.withSyncCredentials({ endpoint, orgId, appId, token, secret });
}
const telemetry = builder.build();

const [command = 'help', ...args] = process.argv.slice(2);
const started = performance.now();

async function run() {
  switch (command) {
    case 'init':
      // A path under the home directory and an e-mail address: both must be sanitized.
      await telemetry.trackFeature('project-template', {
        method: 'scaffold',
        success: true,
        metadata: { template: `${homedir()}/templates/service`, author: 'Jane Doe <jane.doe@example.com>' },
      });
      return 0;
    case 'deploy':
      await telemetry.trackFeature('cache', { method: 'restore', success: true, metadata: { hits: 42 } });
      return args.includes('--fail') ? 1 : 0;
    case 'login':
      return 0;
    default:
      return 0;
  }
}

const exitCode = await run();
await telemetry.trackCommand(command, {
  flags: args,
  success: exitCode === 0,
  durationMs: performance.now() - started,
  exitCode,
  metadata: { cwd: process.cwd(), config: `${homedir()}/.config/acme/config.toml` },
});
await telemetry.shutdown();
process.exitCode = exitCode;
