// A CLI with auto-sync on: `node sync-child.mjs <dataDir> <endpoint> <events> <lingerMs> [syncIntervalMs]`.
// It tracks, lets the first automatic pass start (its request may hang), prints its last line
// and returns without shutdown(): telemetry must not keep the process alive after that.
import { TelemetryKit } from '@telemetry-kit/node';

const [dataDir, endpoint, count, lingerMs, intervalMs = '1000'] = process.argv.slice(2);
const kit = TelemetryKit.builder()
  .serviceName('sync-child')
  .serviceVersion('1.0.0')
  .dataDir(dataDir)
  .withSyncCredentials({ endpoint, orgId: 'org-1', appId: 'app-1', token: 'token-1', secret: 'conformance-secret' })
  .autoSync(true)
  .syncInterval(Number(intervalMs))
  .build();

await Promise.all(Array.from({ length: Number(count) }, (_, i) => kit.trackCommand('sync-child', { metadata: { i } })));
setTimeout(() => {
  process.stdout.write(`last-line ${Date.now()} ${kit.backend}\n`);
}, Number(lingerMs));
