/**
 * The light, runtime-agnostic part of the serverless services (DESIGN.md §8) that the package
 * entries re-export: configuration, errors, cloud detection, the retry policy and intake
 * payload shapes. The codecs (DogStatsD, trace agent) are imported from their own directories;
 * re-exporting them here would load protobufjs with every import of the SDK (~10 ms at startup,
 * paid by CLIs that never start the services), so `ServerlessServices` loads them on start().
 */
export { ServicesError, isServicesError, type ServicesErrorCode, type ServicesErrorOptions } from './errors.js';
export {
  resolveServicesConfig,
  isValidSite,
  logLevelEnables,
  KNOWN_SITES,
  LOG_LEVELS,
  MAX_TAG_LENGTH,
  MAX_TRACE_BODY_BYTES,
  METRIC_NAMESPACE_PATTERN,
  SERVICES_DEFAULTS,
  type FieldNamer,
  type LogLevel,
  type ResolvedServicesConfig,
  type ServicesConfig,
} from './config.js';
export { configFromEnv, parseTagList } from './config-from-env.js';
export { detectCloudEnvironment, type CloudEnvironment, type CloudProvider } from './cloud-environment.js';
export { DEFAULT_RETRY_POLICY, backoffDelayMs, retryAfterMs, verdictForStatus, type IntakeVerdict, type RetryPolicy } from './retry-policy.js';
export { seriesPayloads, eventPayloads, serviceCheckPayloads, binaryPayload, MAX_SERIES_BODY_BYTES, type IntakeEndpoint, type IntakePayload } from './intake-payloads.js';
export type { HandlerResult, TraceAgentHandler, TraceAgentInfo, TracerRequestMeta } from './trace-agent-handler.js';
export type { DogStatsDStats, ParseErrorKind } from './dogstatsd/index.js';
export type { TraceStats } from './trace/index.js';
