import { describe, expect, it } from 'vitest';
import { detectCloudEnvironment } from './cloud-environment.js';
import { configFromEnv, parseTagList } from './config-from-env.js';
import { KNOWN_SITES, MISSING_API_KEY_WARNING, logLevelEnables, resolveServicesConfig, type ServicesConfig } from './config.js';
import { ServicesError } from './errors.js';

function failure(run: () => unknown): ServicesError {
  try {
    run();
  } catch (error) {
    if (error instanceof ServicesError) return error;
    throw error;
  }
  throw new Error('expected a ServicesError');
}

describe('resolveServicesConfig', () => {
  it('applies the defaults of DESIGN.md §8', () => {
    const config = resolveServicesConfig();
    expect(config).toMatchObject({
      apiKey: null,
      site: 'datadoghq.com',
      metricsIntakeUrl: 'https://api.datadoghq.com',
      traceIntakeUrl: 'https://trace.agent.datadoghq.com',
      useDogstatsd: true,
      dogstatsdHost: '127.0.0.1',
      dogstatsdPort: 8125,
      metricNamespace: null,
      tags: [],
      flushIntervalMs: 10_000,
      useTraceAgent: true,
      traceAgentHost: '127.0.0.1',
      traceAgentPort: 8126,
      traceFlushIntervalMs: 3_000,
      logLevel: 'warn',
      httpsProxy: null,
      maxContexts: 100_000,
      requestTimeoutMs: 10_000,
      retry: { maxAttempts: 4, baseDelayMs: 250, maxDelayMs: 5_000 },
    });
  });

  it('a missing API key is a warning, not an error', () => {
    expect(resolveServicesConfig().warnings).toEqual([MISSING_API_KEY_WARNING]);
    expect(resolveServicesConfig({ apiKey: 'k' }).warnings).toEqual([]);
  });

  it('derives {api} and {trace} from the site unless overridden', () => {
    const eu = resolveServicesConfig({ site: 'datadoghq.eu' });
    expect([eu.metricsIntakeUrl, eu.traceIntakeUrl]).toEqual(['https://api.datadoghq.eu', 'https://trace.agent.datadoghq.eu']);
    const local = resolveServicesConfig({ ddUrl: 'http://127.0.0.1:9999/', apmDdUrl: 'http://127.0.0.1:9998' });
    expect([local.metricsIntakeUrl, local.traceIntakeUrl]).toEqual(['http://127.0.0.1:9999', 'http://127.0.0.1:9998']);
  });

  it('accepts every known site and any valid host', () => {
    for (const site of [...KNOWN_SITES, 'datad0g.com', 'my-proxy.internal.example']) expect(resolveServicesConfig({ site }).site).toBe(site);
  });

  it('accepts ports 0 and 65535', () => {
    expect(resolveServicesConfig({ dogstatsdPort: 0, traceAgentPort: 65_535 })).toMatchObject({ dogstatsdPort: 0, traceAgentPort: 65_535 });
  });

  it('de-duplicates tags, keeping their order', () => {
    expect(resolveServicesConfig({ tags: ['a:1', 'b', 'a:1'] }).tags).toEqual(['a:1', 'b']);
  });

  const invalid: Array<[string, ServicesConfig]> = [
    ['dogstatsdPort', { dogstatsdPort: 65_536 }],
    ['dogstatsdPort', { dogstatsdPort: -1 }],
    ['traceAgentPort', { traceAgentPort: 1.5 }],
    ['site', { site: 'not a site' }],
    ['site', { site: 'https://datadoghq.com' }],
    ['site', { site: 'localhost' }],
    ['logLevel', { logLevel: 'verbose' as never }],
    ['metricNamespace', { metricNamespace: '1abc' }],
    ['metricNamespace', { metricNamespace: 'my-app' }],
    ['maxContexts', { maxContexts: 0 }],
    ['flushIntervalMs', { flushIntervalMs: 0 }],
    ['traceFlushIntervalMs', { traceFlushIntervalMs: Number.NaN }],
    ['ddUrl', { ddUrl: 'ftp://x' }],
    ['apmDdUrl', { apmDdUrl: 'not a url' }],
    ['httpsProxy', { httpsProxy: 'https://proxy:3128' }],
    ['dogstatsdHost', { dogstatsdHost: 'has space' }],
    ['useDogstatsd', { useDogstatsd: 'yes' as never }],
    ['tags[1]', { tags: ['ok', 'has space'] }],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
    ['apiKey', { apiKey: '' }],
  ];
  it.each(invalid)('INVALID_CONFIG naming %s', (field, options) => {
    const error = failure(() => resolveServicesConfig(options));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`invalid config: ${field} `);
  });

  it('orders log levels', () => {
    expect(logLevelEnables('warn', 'error')).toBe(true);
    expect(logLevelEnables('warn', 'info')).toBe(false);
    expect(logLevelEnables('off', 'error')).toBe(false);
    expect(logLevelEnables('trace', 'trace')).toBe(true);
  });
});

describe('configFromEnv', () => {
  it('reads every variable of §8', () => {
    const config = configFromEnv({
      DD_API_KEY: 'abc',
      DD_SITE: 'datadoghq.eu',
      DD_DD_URL: 'http://127.0.0.1:9000',
      DD_APM_DD_URL: 'http://127.0.0.1:9001',
      DD_USE_DOGSTATSD: 'false',
      DD_DOGSTATSD_PORT: '0',
      DD_APM_RECEIVER_PORT: '9126',
      DD_STATSD_METRIC_NAMESPACE: 'myapp',
      DD_TAGS: 'team:core,tier:1 region:eu',
      DD_ENV: 'prod',
      DD_SERVICE: 'api',
      DD_VERSION: '1.2.3',
      DD_LOG_LEVEL: 'DEBUG',
      DD_PROXY_HTTPS: 'http://proxy.internal:3128',
    });
    expect(config).toMatchObject({
      apiKey: 'abc',
      site: 'datadoghq.eu',
      metricsIntakeUrl: 'http://127.0.0.1:9000',
      traceIntakeUrl: 'http://127.0.0.1:9001',
      useDogstatsd: false,
      dogstatsdPort: 0,
      traceAgentPort: 9126,
      metricNamespace: 'myapp',
      tags: ['team:core', 'tier:1', 'region:eu', 'env:prod', 'service:api', 'version:1.2.3'],
      logLevel: 'debug',
      httpsProxy: 'http://proxy.internal:3128',
      env: 'prod',
      cloud: null,
      warnings: [],
    });
  });

  it('an empty environment gives the defaults and warns about DD_API_KEY', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({ apiKey: null, dogstatsdPort: 8125, traceAgentPort: 8126, tags: [] });
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toContain('DD_API_KEY');
  });

  it('DD_DD_URL wins over DD_URL; DD_PROXY_HTTPS over HTTPS_PROXY', () => {
    expect(configFromEnv({ DD_URL: 'http://a:1', DD_DD_URL: 'http://b:2' }).ddUrl).toBe('http://b:2');
    expect(configFromEnv({ DD_URL: 'http://a:1' }).ddUrl).toBe('http://a:1');
    expect(configFromEnv({ HTTPS_PROXY: 'http://p:1', DD_PROXY_HTTPS: 'http://q:2' }).httpsProxy).toBe('http://q:2');
    expect(configFromEnv({ https_proxy: 'http://p:1' }).httpsProxy).toBe('http://p:1');
  });

  it('DD_ENV, DD_SERVICE and DD_VERSION replace the same keys given in DD_TAGS', () => {
    expect(configFromEnv({ DD_TAGS: 'env:staging service:old team:x', DD_ENV: 'prod', DD_SERVICE: 'api' }).tags).toEqual([
      'team:x',
      'env:prod',
      'service:api',
    ]);
  });

  it('treats empty variables as unset', () => {
    expect(configFromEnv({ DD_SITE: '', DD_DOGSTATSD_PORT: ' ', DD_API_KEY: '' })).toMatchObject({ site: 'datadoghq.com', dogstatsdPort: 8125, apiKey: null });
  });

  it('accepts Datadog spellings of log levels and booleans', () => {
    expect(configFromEnv({ DD_LOG_LEVEL: 'warning' }).logLevel).toBe('warn');
    expect(configFromEnv({ DD_LOG_LEVEL: 'critical' }).logLevel).toBe('error');
    expect(configFromEnv({ DD_USE_DOGSTATSD: 'NO', DD_APM_ENABLED: '0' })).toMatchObject({ useDogstatsd: false, useTraceAgent: false });
  });

  it('binds to every interface when non-local traffic is allowed', () => {
    expect(configFromEnv({ DD_DOGSTATSD_NON_LOCAL_TRAFFIC: 'true' })).toMatchObject({ dogstatsdHost: '0.0.0.0', traceAgentHost: '127.0.0.1' });
    expect(configFromEnv({ DD_BIND_HOST: '::1' })).toMatchObject({ dogstatsdHost: '::1', traceAgentHost: '::1' });
  });

  const invalid: Array<[string, Record<string, string>]> = [
    ['DD_DOGSTATSD_PORT', { DD_DOGSTATSD_PORT: '70000' }],
    ['DD_DOGSTATSD_PORT', { DD_DOGSTATSD_PORT: 'abc' }],
    ['DD_APM_RECEIVER_PORT', { DD_APM_RECEIVER_PORT: '-1' }],
    ['DD_SITE', { DD_SITE: 'not a site' }],
    ['DD_LOG_LEVEL', { DD_LOG_LEVEL: 'loud' }],
    ['DD_STATSD_METRIC_NAMESPACE', { DD_STATSD_METRIC_NAMESPACE: '9lives' }],
    ['DD_USE_DOGSTATSD', { DD_USE_DOGSTATSD: 'maybe' }],
    ['DD_APM_ENABLED', { DD_APM_ENABLED: 'maybe' }],
    ['DD_DD_URL', { DD_DD_URL: 'nope' }],
    ['DD_URL', { DD_URL: 'nope' }],
    ['DD_APM_DD_URL', { DD_APM_DD_URL: 'ftp://x' }],
    ['HTTPS_PROXY', { HTTPS_PROXY: 'socks5://p:1080' }],
    ['DD_ENV', { DD_ENV: 'a|b' }],
    ['DD_TAGS', { DD_TAGS: 'ok,bad|tag' }],
    ['DD_BIND_HOST', { DD_BIND_HOST: 'a/b' }],
  ];
  it.each(invalid)('INVALID_CONFIG naming the variable %s', (variable, env) => {
    const error = failure(() => configFromEnv(env));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.field).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('adds the origin tags of the detected platform', () => {
    const config = configFromEnv({ AWS_LAMBDA_FUNCTION_NAME: 'My-Fn', AWS_REGION: 'eu-west-1', DD_TAGS: 'team:x' });
    expect(config.cloud?.provider).toBe('aws-lambda');
    expect(config.tags).toEqual(['team:x', 'origin:lambda', 'functionname:my-fn', 'region:eu-west-1']);
  });
});

describe('parseTagList', () => {
  it('splits on commas and spaces', () => {
    expect(parseTagList(' a:1, b:2  c ,,d ')).toEqual(['a:1', 'b:2', 'c', 'd']);
    expect(parseTagList(undefined)).toEqual([]);
  });
});

describe('detectCloudEnvironment', () => {
  it('AWS Lambda', () => {
    const cloud = detectCloudEnvironment({ AWS_LAMBDA_FUNCTION_NAME: 'fn', AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512' });
    expect(cloud).toMatchObject({ provider: 'aws-lambda', origin: 'lambda' });
    expect(cloud?.tags).toEqual(['origin:lambda', 'functionname:fn', 'region:us-east-1', 'memorysize:512']);
    expect(cloud?.spanTags['_dd.origin']).toBe('lambda');
  });

  it('Azure Functions', () => {
    const cloud = detectCloudEnvironment({ FUNCTIONS_EXTENSION_VERSION: '~4', FUNCTIONS_WORKER_RUNTIME: 'node', WEBSITE_SITE_NAME: 'my-app', REGION_NAME: 'westeurope' });
    expect(cloud).toMatchObject({ provider: 'azure-functions', origin: 'azurefunction' });
    expect(cloud?.tags).toEqual(['origin:azurefunction', 'app_name:my-app', 'region:westeurope', 'runtime:node']);
  });

  it('Google Cloud Run functions and 1st gen Cloud Functions', () => {
    const gen2 = detectCloudEnvironment({ K_SERVICE: 'svc', K_REVISION: 'svc-001', FUNCTION_TARGET: 'HelloHttp' });
    expect(gen2).toMatchObject({ provider: 'gcp-cloud-functions', origin: 'cloudrun' });
    expect(gen2?.tags).toEqual(['origin:cloudrun', 'functionname:hellohttp', 'service_name:svc', 'revision_name:svc-001']);
    const gen1 = detectCloudEnvironment({ FUNCTION_NAME: 'legacy', GCP_PROJECT: 'proj', FUNCTION_REGION: 'us-central1' });
    expect(gen1).toMatchObject({ provider: 'gcp-cloud-functions', origin: 'cloudfunction' });
    expect(gen1?.tags).toEqual(['origin:cloudfunction', 'functionname:legacy', 'project_id:proj', 'region:us-central1']);
  });

  it('Google Cloud Run', () => {
    const cloud = detectCloudEnvironment({ K_SERVICE: 'svc', K_REVISION: 'svc-002', K_CONFIGURATION: 'svc' });
    expect(cloud).toMatchObject({ provider: 'gcp-cloud-run', origin: 'cloudrun' });
    expect(cloud?.tags).toEqual(['origin:cloudrun', 'service_name:svc', 'revision_name:svc-002', 'configuration_name:svc']);
    expect(cloud?.spanTags).toMatchObject({ origin: 'cloudrun', '_dd.origin': 'cloudrun', service_name: 'svc' });
  });

  it('nothing recognisable → null', () => {
    expect(detectCloudEnvironment({ HOME: '/root', FUNCTIONS_WORKER_RUNTIME: 'node' })).toBeNull();
  });
});
