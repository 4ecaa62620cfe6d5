/**
 * @telemetry-kit/node — privacy-first usage telemetry for Node.js programs, on the native
 * backend when its addon loads and on the pure-TS core otherwise.
 */
import { backendSelection } from './telemetry-kit.js';
import type { BackendName } from '@telemetry-kit/core/node';

export { TelemetryKit, backendSelection } from './telemetry-kit.js';
export type { BackendSelection, BackendRequest } from './backend.js';
export {
  ServerlessServices,
  servicesBackendSelection,
  type ServerlessServicesOptions,
  type ServicesBackendSelection,
  type NativeServicesHandle,
} from './services.js';
export {
  configFromEnv,
  resolveServicesConfig,
  detectCloudEnvironment,
  ServicesError,
  isServicesError,
  KNOWN_SITES,
  type ServicesConfig,
  type ResolvedServicesConfig,
  type ServicesErrorCode,
  type ServicesStatus,
  type ServicesStats,
  type ServicesPorts,
  type StatusListener,
  type StopOptions,
  type CleanupHookOptions,
  type LogLevel,
  type CloudEnvironment,
  type CloudProvider,
  type RetryPolicy,
  type IntakeStats,
  type DogStatsDStats,
  type TraceStats,
  type ParseErrorKind,
} from '@telemetry-kit/core/node';
export {
  TelemetryError,
  isTelemetryError,
  DEFAULT_REDACT_KEYS,
  SDK_VERSION,
  type TelemetryErrorCode,
  type BackendName,
  type CommandOptions,
  type FeatureOptions,
  type ConsentStatus,
  type ConsentOptions,
  type PrivacyOptions,
  type SyncCredentials,
  type EventsQuery,
  type EventState,
  type StoredEvent,
  type SyncResult,
  type TelemetryEvent,
  type TelemetryStats,
  type TrackResult,
  type TrackStatus,
  type ShutdownOptions,
} from '@telemetry-kit/core/node';

/** The backend clients are built on in this process: `'native'` or `'js'`. */
export const backend: BackendName = backendSelection().backend;
