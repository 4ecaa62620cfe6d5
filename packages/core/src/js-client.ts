/** The JS backend: the shared front over the TypeScript engine, on a given runtime. */
import type { ResolvedConfig } from './config.js';
import { JsEngine } from './js-engine.js';
import { QueuedTelemetryClient, clientHooks } from './queued-client.js';
import type { Runtime } from './runtime.js';
import type { TelemetryClient } from './types.js';

export function jsClient(config: ResolvedConfig, runtime: Runtime): TelemetryClient {
  return new QueuedTelemetryClient(
    new JsEngine(config, runtime),
    clientHooks(config, { uuid: () => runtime.uuid(), onExit: (flush) => runtime.onExit(flush), random: () => runtime.random() }),
  );
}
