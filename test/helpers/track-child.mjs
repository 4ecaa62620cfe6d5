// A host program for the process-level tests: `node track-child.mjs <mode> <dataDir> [...]`.
import { TelemetryKit } from '@telemetry-kit/node';

const [mode, dataDir, ...rest] = process.argv.slice(2);
const kit = TelemetryKit.builder().serviceName('child-cli').serviceVersion('1.0.0').dataDir(dataDir).build();

switch (mode) {
  case 'kill9': {
    // Report only after the promise resolved: from here on a SIGKILL must not lose the event.
    const result = await kit.trackCommand('kill-test', { success: true });
    process.stdout.write(`ok ${result.eventId}\n`);
    setInterval(() => {}, 1_000);
    break;
  }
  case 'exit': {
    // Not awaited: the exit handler must write it synchronously.
    void kit.trackCommand('exit-test', { metadata: { n: 1 } });
    process.exit(0);
    break;
  }
  case 'exit-soon': {
    // Exit while the background append may be in flight: appendSync must cover it.
    void kit.trackCommand('exit-soon-test');
    setImmediate(() => setImmediate(() => process.exit(0)));
    break;
  }
  case 'many': {
    const [count, tag] = rest;
    const total = Number(count);
    const pending = [];
    for (let i = 0; i < total; i += 1) pending.push(kit.track('load', { tag, i }));
    const results = await Promise.all(pending);
    const stored = results.filter((r) => r.status === 'stored').length;
    process.stdout.write(`stored ${stored}\n`);
    break;
  }
  case 'dump': {
    // Everything stored, in storage order: what a backend reads back from a shared data dir.
    process.stdout.write(`${JSON.stringify({ backend: kit.backend, events: await kit.events({ limit: 100_000 }) })}\n`);
    break;
  }
  case 'natural': {
    // No shutdown(): telemetry must not hold the process open.
    await kit.trackCommand('natural-exit');
    process.stdout.write('done\n');
    break;
  }
  case 'one': {
    const result = await kit.trackCommand('deploy', { metadata: { path: `${process.env.HOME}/x`, contact: 'bob@example.com' } });
    process.stdout.write(`${JSON.stringify({ ...result, backend: kit.backend })}\n`);
    break;
  }
  default:
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(2);
}
