/**
 * Builder options and their validation. `resolveConfig` is the single place that decides what
 * a valid configuration is; both backends receive the `ResolvedConfig` it returns.
 */
import { invalidConfig } from './errors.js';

export interface SyncCredentials {
  endpoint: string;
  orgId: string;
  appId: string;
  token: string;
  secret: string;
}

export interface PrivacyOptions {
  /** Replace the home directory with `~`. Defaults to true. */
  sanitizePaths?: boolean;
  /** Replace each e-mail address with `<email:8 hex>`. Defaults to true. */
  sanitizeEmails?: boolean;
  /** `DO_NOT_TRACK` is always honoured; only `true` is accepted. Defaults to true. */
  respectDoNotTrack?: boolean;
  /** Keys whose values become `<redacted>`. Defaults to {@link DEFAULT_REDACT_KEYS}. */
  redactKeys?: readonly string[];
}

export interface ConsentOptions {
  /** Track only after an explicit `grantConsent()`. Defaults to false. */
  required?: boolean;
  /** With consent not required and no decision stored, track. Defaults to true. */
  defaultGranted?: boolean;
}

export interface TelemetryOptions {
  serviceName?: string;
  serviceVersion?: string;
  dataDir?: string;
  sync?: SyncCredentials;
  autoSync?: boolean;
  syncIntervalMs?: number;
  batchSize?: number;
  syncGzip?: boolean;
  syncTimeoutMs?: number;
  maxPendingEvents?: number;
  retentionDays?: number;
  privacy?: PrivacyOptions;
  consent?: ConsentOptions;
}

export const DEFAULT_REDACT_KEYS: readonly string[] = [
  'token',
  'password',
  'secret',
  'key',
  'authorization',
  'cookie',
];

export interface ResolvedConfig {
  serviceName: string;
  serviceVersion: string;
  /** null: the runtime's default location (or memory where there is no file system). */
  dataDir: string | null;
  sync: SyncCredentials | null;
  autoSync: boolean;
  syncIntervalMs: number;
  batchSize: number;
  /** Compress sync request bodies with gzip (the signature covers the uncompressed body). */
  syncGzip: boolean;
  /** Bound on each sync request. */
  syncTimeoutMs: number;
  maxPendingEvents: number;
  retentionDays: number;
  privacy: Required<PrivacyOptions>;
  consent: Required<ConsentOptions>;
}

export const SERVICE_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;

function requireString(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidConfig(field, `must be a non-empty string, got ${show(value)}`);
  }
  if (value.length > max) throw invalidConfig(field, `must be at most ${max} characters, got ${value.length}`);
  return value;
}

function integerInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidConfig(field, `must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

function optionalBoolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidConfig(field, `must be a boolean, got ${show(value)}`);
  return value;
}

// DESIGN.md §5: DO_NOT_TRACK wins "always, whatever the builder said", so `false` is refused
// rather than silently ignored.
function requireTrueIfSet(field: string, value: unknown): true {
  if (value === undefined || value === true) return true;
  throw invalidConfig(field, `cannot be turned off (DO_NOT_TRACK is always honoured), got ${show(value)}`);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

function resolveCredentials(value: SyncCredentials): SyncCredentials {
  if (value === null || typeof value !== 'object') {
    throw invalidConfig('sync', `must be an object with endpoint, orgId, appId, token and secret, got ${show(value)}`);
  }
  const endpoint = requireString('sync.endpoint', value.endpoint, 2048);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalidConfig('sync.endpoint', `must be an absolute http(s) URL, got ${show(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidConfig('sync.endpoint', `must use http or https, got ${show(url.protocol)}`);
  }
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    orgId: requireString('sync.orgId', value.orgId, 128),
    appId: requireString('sync.appId', value.appId, 128),
    token: requireString('sync.token', value.token, 4096),
    secret: requireString('sync.secret', value.secret, 4096),
  };
}

function resolveRedactKeys(value: unknown): readonly string[] {
  if (value === undefined) return DEFAULT_REDACT_KEYS;
  if (!Array.isArray(value)) throw invalidConfig('privacy.redactKeys', `must be an array of strings, got ${show(value)}`);
  return value.map((key, index) => requireString(`privacy.redactKeys[${index}]`, key, 128));
}

/**
 * Validates builder options.
 *
 * @throws TelemetryError with code `INVALID_CONFIG` naming the first field at fault.
 */
export function resolveConfig(options: TelemetryOptions): ResolvedConfig {
  const serviceName = options.serviceName;
  if (typeof serviceName !== 'string' || !SERVICE_NAME_PATTERN.test(serviceName)) {
    throw invalidConfig('serviceName', `must match [a-z0-9_-]{1,64}, got ${show(serviceName)}`);
  }
  const serviceVersion =
    options.serviceVersion === undefined ? '0.0.0' : requireString('serviceVersion', options.serviceVersion, 64);
  const dataDir = options.dataDir === undefined ? null : requireString('dataDir', options.dataDir, 4096);
  const sync = options.sync === undefined ? null : resolveCredentials(options.sync);
  const autoSync = optionalBoolean('autoSync', options.autoSync, sync !== null);
  if (autoSync && sync === null) throw invalidConfig('autoSync', 'needs withSyncCredentials(...) to be set');
  const privacy = options.privacy ?? {};
  if (privacy === null || typeof privacy !== 'object') throw invalidConfig('privacy', `must be an object, got ${show(privacy)}`);
  const consent = options.consent ?? {};
  if (consent === null || typeof consent !== 'object') throw invalidConfig('consent', `must be an object, got ${show(consent)}`);
  return {
    serviceName,
    serviceVersion,
    dataDir,
    sync,
    autoSync,
    syncIntervalMs: integerInRange('syncInterval', options.syncIntervalMs ?? 60_000, 1_000, 86_400_000),
    batchSize: integerInRange('batchSize', options.batchSize ?? 100, 1, 1_000),
    syncGzip: optionalBoolean('syncGzip', options.syncGzip, false),
    syncTimeoutMs: integerInRange('syncTimeout', options.syncTimeoutMs ?? 10_000, 100, 600_000),
    maxPendingEvents: integerInRange('maxPendingEvents', options.maxPendingEvents ?? 10_000, 1, 1_000_000),
    retentionDays: integerInRange('retentionDays', options.retentionDays ?? 7, 0, 3_650),
    privacy: {
      sanitizePaths: optionalBoolean('privacy.sanitizePaths', privacy.sanitizePaths, true),
      sanitizeEmails: optionalBoolean('privacy.sanitizeEmails', privacy.sanitizeEmails, true),
      respectDoNotTrack: requireTrueIfSet('privacy.respectDoNotTrack', privacy.respectDoNotTrack),
      redactKeys: resolveRedactKeys(privacy.redactKeys),
    },
    consent: {
      required: optionalBoolean('consent.required', consent.required, false),
      defaultGranted: optionalBoolean('consent.defaultGranted', consent.defaultGranted, true),
    },
  };
}
