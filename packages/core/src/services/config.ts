/**
 * Serverless services configuration (DESIGN.md §8): the options users pass, their defaults,
 * and `resolveServicesConfig`, the single place that decides what a valid configuration is.
 */
import type { CloudEnvironment } from './cloud-environment.js';
import { invalidServicesConfig } from './errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'off'];

/** The Datadog sites; any other valid host name is accepted too (a private or future site). */
export const KNOWN_SITES: readonly string[] = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'ddog-gov.com',
];

export const METRIC_NAMESPACE_PATTERN = /^[A-Za-z][A-Za-z0-9_.]*$/;
/** Datadog truncates tags at 200 characters; refusing longer ones here says so early. */
export const MAX_TAG_LENGTH = 200;
/** The trace agent answers 413 above this body size (the Datadog agent's own limit). */
export const MAX_TRACE_BODY_BYTES = 10 * 1024 * 1024;

/** What `start()` accepts. Every field is optional; `null` means the same as absent. */
export interface ServicesConfig {
  /** Sent as `DD-API-KEY`. A missing key is a warning, not an error (local testing). */
  apiKey?: string | null;
  /** Defaults to `datadoghq.com`. */
  site?: string;
  /** Metrics intake base, overriding `https://api.<site>`, e.g. `http://127.0.0.1:9999`. */
  ddUrl?: string | null;
  /** Trace intake base, overriding `https://trace.agent.<site>`. */
  apmDdUrl?: string | null;
  /** Defaults to true. */
  useDogstatsd?: boolean;
  /** Defaults to `127.0.0.1`. */
  dogstatsdHost?: string;
  /** Defaults to 8125; 0 lets the OS pick (see `ports()`). */
  dogstatsdPort?: number;
  /** Prefixed to every metric name, followed by a dot. */
  metricNamespace?: string | null;
  /** `key:value` (or bare) tags added to every metric. */
  tags?: readonly string[];
  /** The host name attached to metrics. Defaults to none: serverless metrics have no host. */
  hostname?: string | null;
  /** Defaults to 10,000 ms. */
  flushIntervalMs?: number;
  /** Defaults to true. */
  useTraceAgent?: boolean;
  /** Defaults to `127.0.0.1`. */
  traceAgentHost?: string;
  /** Defaults to 8126; 0 lets the OS pick. */
  traceAgentPort?: number;
  /** Defaults to 3,000 ms. */
  traceFlushIntervalMs?: number;
  /** Defaults to `warn`. */
  logLevel?: LogLevel;
  /** An `http://` proxy used with CONNECT for the https intakes. */
  httpsProxy?: string | null;
  /** New contexts beyond this many per bucket are dropped and counted. Defaults to 100,000. */
  maxContexts?: number;
  /** The platform the origin tags come from; `configFromEnv` fills it in. */
  cloud?: CloudEnvironment | null;
  /** The `env` tag of traces (DD_ENV). */
  env?: string | null;
  /** Bound on each intake request, connection to last byte. Defaults to 10,000 ms. */
  requestTimeoutMs?: number;
  /** Defaults to {@link DEFAULT_RETRY_POLICY}. */
  retry?: Partial<RetryPolicy>;
  /** Notes raised while reading the configuration; `start()` reports each as a `warning` status. */
  warnings?: readonly string[];
}

export interface ResolvedServicesConfig {
  apiKey: string | null;
  site: string;
  ddUrl: string | null;
  apmDdUrl: string | null;
  /** `{api}`: where metrics, events and service checks go. */
  metricsIntakeUrl: string;
  /** `{trace}`: where traces and trace stats go. */
  traceIntakeUrl: string;
  useDogstatsd: boolean;
  dogstatsdHost: string;
  dogstatsdPort: number;
  metricNamespace: string | null;
  tags: readonly string[];
  hostname: string | null;
  flushIntervalMs: number;
  useTraceAgent: boolean;
  traceAgentHost: string;
  traceAgentPort: number;
  traceFlushIntervalMs: number;
  logLevel: LogLevel;
  httpsProxy: string | null;
  maxContexts: number;
  cloud: CloudEnvironment | null;
  env: string | null;
  requestTimeoutMs: number;
  retry: RetryPolicy;
  warnings: readonly string[];
}

export const SERVICES_DEFAULTS = {
  site: 'datadoghq.com',
  useDogstatsd: true,
  dogstatsdHost: '127.0.0.1',
  dogstatsdPort: 8125,
  flushIntervalMs: 10_000,
  useTraceAgent: true,
  traceAgentHost: '127.0.0.1',
  traceAgentPort: 8126,
  traceFlushIntervalMs: 3_000,
  logLevel: 'warn',
  maxContexts: 100_000,
  requestTimeoutMs: 10_000,
} as const satisfies Partial<ResolvedServicesConfig>;

/** Renames fields in messages: `configFromEnv` reports `DD_DOGSTATSD_PORT`, not `dogstatsdPort`. */
export type FieldNamer = (field: string) => string;

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})+$`);
const BIND_HOST = /^[A-Za-z0-9.:_-]{1,253}$/;

export function isValidSite(site: string): boolean {
  return KNOWN_SITES.includes(site) || (site.length <= 253 && HOST_NAME.test(site));
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}

class Validator {
  constructor(private readonly name: FieldNamer) {}

  fail(field: string, problem: string): never {
    throw invalidServicesConfig(this.name(field), problem);
  }

  boolean(field: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(field, `must be a boolean, got ${show(value)}`);
    return value;
  }

  integer(field: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be an integer from ${min} to ${max}, got ${show(value)}`);
    }
    return value;
  }

  optionalString(field: string, value: unknown, max: number): string | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value.length === 0) this.fail(field, `must be a non-empty string, got ${show(value)}`);
    if (value.length > max) this.fail(field, `must be at most ${max} characters, got ${value.length}`);
    return value;
  }

  host(field: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !BIND_HOST.test(value)) this.fail(field, `must be a host name or IP address, got ${show(value)}`);
    return value;
  }

  site(field: string, value: unknown): string {
    if (value === undefined) return SERVICES_DEFAULTS.site;
    if (typeof value !== 'string' || !isValidSite(value.trim().toLowerCase())) {
      this.fail(field, `must be a Datadog site (${KNOWN_SITES.join(', ')}) or a valid host name, got ${show(value)}`);
    }
    return value.trim().toLowerCase();
  }

  /** An absolute http(s) base URL, returned without its trailing slashes. */
  baseUrl(field: string, value: unknown): string | null {
    const text = this.optionalString(field, value, 2048);
    if (text === null) return null;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.fail(field, `must be an absolute http(s) URL, got ${show(text)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') this.fail(field, `must use http or https, got ${show(url.protocol)}`);
    if (url.search || url.hash) this.fail(field, `must not have a query or fragment, got ${show(text)}`);
    return text.replace(/\/+$/, '');
  }

  proxy(field: string, value: unknown): string | null {
    const text = this.optionalString(field, value, 2048);
    if (text === null) return null;
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      this.fail(field, `must be a proxy URL like http://proxy:3128, got ${show(text)}`);
    }
    // The CONNECT tunnel is opened over plain TCP; a TLS connection to the proxy itself is not
    // implemented, and silently sending without the proxy would be worse than refusing.
    if (url.protocol !== 'http:') this.fail(field, `must be an http:// proxy (CONNECT), got ${show(url.protocol)}`);
    return text;
  }

  namespace(field: string, value: unknown): string | null {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || !METRIC_NAMESPACE_PATTERN.test(value) || value.length > 100) {
      this.fail(field, `must match ${METRIC_NAMESPACE_PATTERN.source} (at most 100 characters), got ${show(value)}`);
    }
    return value;
  }

  logLevel(field: string, value: unknown): LogLevel {
    if (value === undefined) return SERVICES_DEFAULTS.logLevel;
    if (typeof value !== 'string' || !(LOG_LEVELS as readonly string[]).includes(value)) {
      this.fail(field, `must be one of ${LOG_LEVELS.join('|')}, got ${show(value)}`);
    }
    return value as LogLevel;
  }

  tags(field: string, value: unknown): readonly string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) this.fail(field, `must be an array of strings, got ${show(value)}`);
    const seen = new Set<string>();
    value.forEach((tag: unknown, index) => {
      if (typeof tag !== 'string' || tag.length === 0 || /[\s,|]/.test(tag)) {
        this.fail(`${field}[${index}]`, `must be a non-empty tag without spaces, commas or '|', got ${show(tag)}`);
      }
      if (tag.length > MAX_TAG_LENGTH) this.fail(`${field}[${index}]`, `must be at most ${MAX_TAG_LENGTH} characters, got ${tag.length}`);
      seen.add(tag);
    });
    return [...seen];
  }

  retry(field: string, value: unknown): RetryPolicy {
    if (value === undefined) return { ...DEFAULT_RETRY_POLICY };
    if (value === null || typeof value !== 'object') this.fail(field, `must be an object, got ${show(value)}`);
    const retry = value as Partial<Record<keyof RetryPolicy, unknown>>;
    return {
      maxAttempts: this.integer(`${field}.maxAttempts`, retry.maxAttempts, DEFAULT_RETRY_POLICY.maxAttempts, 1, 20),
      baseDelayMs: this.integer(`${field}.baseDelayMs`, retry.baseDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs, 1, 60_000),
      maxDelayMs: this.integer(`${field}.maxDelayMs`, retry.maxDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, 1, 300_000),
    };
  }
}

export const MISSING_API_KEY_WARNING = 'apiKey is not set: the intake will reject what is flushed (fine for local testing)';

/**
 * Validates options and applies the defaults of DESIGN.md §8.
 *
 * @throws ServicesError with code `INVALID_CONFIG` naming the first field at fault.
 */
export function resolveServicesConfig(options: ServicesConfig = {}, fieldName: FieldNamer = (field) => field): ResolvedServicesConfig {
  if (options === null || typeof options !== 'object') throw invalidServicesConfig('config', `must be an object, got ${show(options)}`);
  const v = new Validator(fieldName);
  const apiKey = v.optionalString('apiKey', options.apiKey, 256);
  const site = v.site('site', options.site);
  const ddUrl = v.baseUrl('ddUrl', options.ddUrl);
  const apmDdUrl = v.baseUrl('apmDdUrl', options.apmDdUrl);
  const flushIntervalMs = v.integer('flushIntervalMs', options.flushIntervalMs, SERVICES_DEFAULTS.flushIntervalMs, 10, 3_600_000);
  const traceFlushIntervalMs = v.integer('traceFlushIntervalMs', options.traceFlushIntervalMs, SERVICES_DEFAULTS.traceFlushIntervalMs, 10, 3_600_000);
  const warnings = [...(options.warnings ?? [])];
  if (apiKey === null && !warnings.some((warning) => warning.includes('DD_API_KEY') || warning.includes('apiKey'))) {
    warnings.push(MISSING_API_KEY_WARNING);
  }
  return {
    apiKey,
    site,
    ddUrl,
    apmDdUrl,
    metricsIntakeUrl: ddUrl ?? `https://api.${site}`,
    traceIntakeUrl: apmDdUrl ?? `https://trace.agent.${site}`,
    useDogstatsd: v.boolean('useDogstatsd', options.useDogstatsd, SERVICES_DEFAULTS.useDogstatsd),
    dogstatsdHost: v.host('dogstatsdHost', options.dogstatsdHost, SERVICES_DEFAULTS.dogstatsdHost),
    dogstatsdPort: v.integer('dogstatsdPort', options.dogstatsdPort, SERVICES_DEFAULTS.dogstatsdPort, 0, 65_535),
    metricNamespace: v.namespace('metricNamespace', options.metricNamespace),
    tags: v.tags('tags', options.tags),
    hostname: v.optionalString('hostname', options.hostname, 255),
    flushIntervalMs,
    useTraceAgent: v.boolean('useTraceAgent', options.useTraceAgent, SERVICES_DEFAULTS.useTraceAgent),
    traceAgentHost: v.host('traceAgentHost', options.traceAgentHost, SERVICES_DEFAULTS.traceAgentHost),
    traceAgentPort: v.integer('traceAgentPort', options.traceAgentPort, SERVICES_DEFAULTS.traceAgentPort, 0, 65_535),
    traceFlushIntervalMs,
    logLevel: v.logLevel('logLevel', options.logLevel),
    httpsProxy: v.proxy('httpsProxy', options.httpsProxy),
    maxContexts: v.integer('maxContexts', options.maxContexts, SERVICES_DEFAULTS.maxContexts, 1, 10_000_000),
    cloud: options.cloud ?? null,
    env: v.optionalString('env', options.env, 200),
    requestTimeoutMs: v.integer('requestTimeoutMs', options.requestTimeoutMs, SERVICES_DEFAULTS.requestTimeoutMs, 1, 600_000),
    retry: v.retry('retry', options.retry),
    warnings,
  };
}

/** Whether a message at `level` is written under the configured level. */
export function logLevelEnables(configured: LogLevel, level: Exclude<LogLevel, 'off'>): boolean {
  return configured !== 'off' && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(configured);
}
