/**
 * `configFromEnv`: the DD_* variables of DESIGN.md §8 (the names Datadog's own agents read)
 * turned into a validated configuration. Every message names the variable at fault.
 */
import { detectCloudEnvironment } from './cloud-environment.js';
import { resolveServicesConfig, type LogLevel, type ResolvedServicesConfig, type ServicesConfig } from './config.js';
import { invalidServicesConfig } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The variable each field came from, so that validation messages name what the user set. */
const VARIABLE_OF: Readonly<Record<string, string>> = {
  apiKey: 'DD_API_KEY',
  site: 'DD_SITE',
  useDogstatsd: 'DD_USE_DOGSTATSD',
  dogstatsdPort: 'DD_DOGSTATSD_PORT',
  traceAgentPort: 'DD_APM_RECEIVER_PORT',
  useTraceAgent: 'DD_APM_ENABLED',
  metricNamespace: 'DD_STATSD_METRIC_NAMESPACE',
  tags: 'DD_TAGS',
  hostname: 'DD_HOSTNAME',
  logLevel: 'DD_LOG_LEVEL',
  apmDdUrl: 'DD_APM_DD_URL',
  env: 'DD_ENV',
};

/** Datadog's agents also accept these spellings of DD_LOG_LEVEL. */
const LOG_LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = { warning: 'warn', critical: 'error' };

function read(env: Env, name: string): string | undefined {
  // An empty variable (`DD_SITE=` in a Dockerfile) means "not set", as it does for Datadog's agents.
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function first(env: Env, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = read(env, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  throw invalidServicesConfig(name, `must be true or false, got ${JSON.stringify(value)}`);
}

function parsePort(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port > 65_535) throw invalidServicesConfig(name, `must be a port from 0 to 65535, got ${JSON.stringify(value)}`);
  return port;
}

/** DD_TAGS is comma or space separated (`env:prod,team:x` or `env:prod team:x`). */
export function parseTagList(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[\s,]+/).filter((tag) => tag.length > 0);
}

function tagKey(tag: string): string {
  const colon = tag.indexOf(':');
  return colon === -1 ? tag : tag.slice(0, colon);
}

/**
 * DD_ENV, DD_SERVICE and DD_VERSION are the unified service tags: they replace an `env:`,
 * `service:` or `version:` tag given in DD_TAGS, as they do in Datadog's agents and tracers.
 */
function globalTags(env: Env): Map<string, string> {
  const unified: Array<[string, string]> = [
    ['env', 'DD_ENV'],
    ['service', 'DD_SERVICE'],
    ['version', 'DD_VERSION'],
  ];
  const set = unified.filter(([, variable]) => read(env, variable) !== undefined);
  const replaced = new Set(set.map(([key]) => key));
  // tag → the variable it came from, for messages.
  const tags = new Map<string, string>();
  for (const tag of parseTagList(read(env, 'DD_TAGS'))) if (!replaced.has(tagKey(tag))) tags.set(tag, 'DD_TAGS');
  for (const [key, variable] of set) tags.set(`${key}:${read(env, variable) ?? ''}`, variable);
  return tags;
}

/**
 * Reads the environment (`process.env`, or a plain object in tests and edge runtimes).
 *
 * Variables: DD_API_KEY, DD_SITE, DD_DD_URL (or DD_URL), DD_APM_DD_URL, DD_USE_DOGSTATSD,
 * DD_DOGSTATSD_PORT, DD_APM_ENABLED, DD_APM_RECEIVER_PORT, DD_BIND_HOST,
 * DD_DOGSTATSD_NON_LOCAL_TRAFFIC, DD_APM_NON_LOCAL_TRAFFIC, DD_STATSD_METRIC_NAMESPACE,
 * DD_TAGS, DD_ENV, DD_SERVICE, DD_VERSION, DD_HOSTNAME, DD_LOG_LEVEL, DD_PROXY_HTTPS (or
 * HTTPS_PROXY / https_proxy), plus the platform variables of `detectCloudEnvironment`.
 *
 * @throws ServicesError with code `INVALID_CONFIG` whose `field` is the variable at fault.
 */
export function configFromEnv(env: Env): ResolvedServicesConfig {
  const warnings: string[] = [];
  const apiKey = read(env, 'DD_API_KEY');
  if (apiKey === undefined) warnings.push('DD_API_KEY is not set: the intake will reject what is flushed (fine for local testing)');
  const ddUrl = first(env, ['DD_DD_URL', 'DD_URL']);
  const proxy = first(env, ['DD_PROXY_HTTPS', 'HTTPS_PROXY', 'https_proxy']);
  const bindHost = read(env, 'DD_BIND_HOST');
  const dogstatsdNonLocal = parseBoolean('DD_DOGSTATSD_NON_LOCAL_TRAFFIC', read(env, 'DD_DOGSTATSD_NON_LOCAL_TRAFFIC'));
  const apmNonLocal = parseBoolean('DD_APM_NON_LOCAL_TRAFFIC', read(env, 'DD_APM_NON_LOCAL_TRAFFIC'));
  const rawLevel = read(env, 'DD_LOG_LEVEL')?.toLowerCase();
  const cloud = detectCloudEnvironment(env);
  const tagSources = globalTags(env);
  if (cloud) for (const tag of cloud.tags) if (!tagSources.has(tag)) tagSources.set(tag, 'the platform variables');
  const tags = [...tagSources.keys()];

  const options: ServicesConfig = {
    apiKey: apiKey ?? null,
    ddUrl: ddUrl?.value ?? null,
    apmDdUrl: read(env, 'DD_APM_DD_URL') ?? null,
    metricNamespace: read(env, 'DD_STATSD_METRIC_NAMESPACE') ?? null,
    tags,
    hostname: read(env, 'DD_HOSTNAME') ?? null,
    httpsProxy: proxy?.value ?? null,
    cloud,
    env: read(env, 'DD_ENV') ?? null,
    warnings,
  };
  const site = read(env, 'DD_SITE');
  if (site !== undefined) options.site = site;
  const useDogstatsd = parseBoolean('DD_USE_DOGSTATSD', read(env, 'DD_USE_DOGSTATSD'));
  if (useDogstatsd !== undefined) options.useDogstatsd = useDogstatsd;
  const useTraceAgent = parseBoolean('DD_APM_ENABLED', read(env, 'DD_APM_ENABLED'));
  if (useTraceAgent !== undefined) options.useTraceAgent = useTraceAgent;
  const dogstatsdPort = parsePort('DD_DOGSTATSD_PORT', read(env, 'DD_DOGSTATSD_PORT'));
  if (dogstatsdPort !== undefined) options.dogstatsdPort = dogstatsdPort;
  const traceAgentPort = parsePort('DD_APM_RECEIVER_PORT', read(env, 'DD_APM_RECEIVER_PORT'));
  if (traceAgentPort !== undefined) options.traceAgentPort = traceAgentPort;
  // Non-local traffic (a sidecar container sending to this one) means listening on every interface.
  const dogstatsdHost = dogstatsdNonLocal ? '0.0.0.0' : bindHost;
  if (dogstatsdHost !== undefined) options.dogstatsdHost = dogstatsdHost;
  const traceAgentHost = apmNonLocal ? '0.0.0.0' : bindHost;
  if (traceAgentHost !== undefined) options.traceAgentHost = traceAgentHost;
  if (rawLevel !== undefined) options.logLevel = (LOG_LEVEL_ALIASES[rawLevel] ?? rawLevel) as LogLevel;

  const variableOf = (field: string): string => {
    if (field === 'ddUrl') return ddUrl?.name ?? 'DD_DD_URL';
    if (field === 'httpsProxy') return proxy?.name ?? 'DD_PROXY_HTTPS';
    if (field === 'dogstatsdHost' || field === 'traceAgentHost') return 'DD_BIND_HOST';
    const tagIndex = /^tags\[(\d+)\]$/.exec(field);
    if (tagIndex) return tagSources.get(tags[Number(tagIndex[1])] ?? '') ?? 'DD_TAGS';
    return VARIABLE_OF[field] ?? field;
  };
  return resolveServicesConfig(options, variableOf);
}
