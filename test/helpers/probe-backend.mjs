// Prints which backend this install picks and whether build() succeeds: `node probe-backend.mjs <dataDir>`.
import { backendSelection, TelemetryKit } from '@telemetry-kit/node';

const selection = backendSelection();
let build = 'ok';
try {
  TelemetryKit.builder().serviceName('probe').dataDir(process.argv[2]).build();
} catch (error) {
  build = `${error.code}: ${error.message}`;
}
console.log(JSON.stringify({ backend: selection.backend, reason: selection.fallbackReason, build }));
