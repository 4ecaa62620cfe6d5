/**
 * The Node side of the serverless services. Only the light modules are re-exported: the
 * sockets, the intake client and the codecs load on start() (see services-engine.ts).
 */
export {
  ServerlessServices,
  DEFAULT_STOP_TIMEOUT_MS,
  type ServiceName,
  type ServicesPorts,
  type ServicesStats,
  type ServicesStatus,
  type StatusListener,
  type StopOptions,
} from './serverless-services.js';
export { registerCleanupHook, type CleanupHookOptions, type Stoppable } from './cleanup-hook.js';
export { emptyServicesStats } from './services-stats.js';
export type { DeliveryResult, DropReason, IntakeClientOptions, IntakeStats } from './intake-client.js';
export type { DogStatsDListenerStats } from './dogstatsd-listener.js';
export type { TraceAgentHttpStats } from './trace-agent-listener.js';
