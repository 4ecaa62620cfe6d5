/**
 * Which serverless platform the process runs on, read from the variables each platform sets,
 * and the origin tags Datadog's own serverless agents attach there (`origin:<name>` on metrics,
 * `_dd.origin` on spans), so that the Datadog UI files the data under the right product.
 */
export type CloudProvider = 'aws-lambda' | 'azure-functions' | 'gcp-cloud-functions' | 'gcp-cloud-run';

export interface CloudEnvironment {
  provider: CloudProvider;
  /** The `origin` value: `lambda`, `azurefunction`, `cloudfunction` or `cloudrun`. */
  origin: string;
  /** Tags for every metric, `key:value`. */
  tags: readonly string[];
  /** Tags for every span (payload-level), including `_dd.origin`. */
  spanTags: Readonly<Record<string, string>>;
}

type Env = Readonly<Record<string, string | undefined>>;

function present(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function build(provider: CloudProvider, origin: string, pairs: Array<[string, string | undefined]>): CloudEnvironment {
  const spanTags: Record<string, string> = { origin, '_dd.origin': origin };
  for (const [key, value] of pairs) if (value !== undefined) spanTags[key] = value;
  const tags = Object.entries(spanTags)
    .filter(([key]) => !key.startsWith('_dd.'))
    .map(([key, value]) => `${key}:${value}`);
  return { provider, origin, tags, spanTags };
}

/**
 * The platform, or null when none is recognised. Checked most specific first: Cloud Run
 * functions set both K_SERVICE and FUNCTION_TARGET, Cloud Run services only K_SERVICE.
 */
export function detectCloudEnvironment(env: Env): CloudEnvironment | null {
  const lambda = present(env, 'AWS_LAMBDA_FUNCTION_NAME');
  if (lambda !== undefined) {
    return build('aws-lambda', 'lambda', [
      ['functionname', lambda.toLowerCase()],
      ['region', present(env, 'AWS_REGION')],
      ['memorysize', present(env, 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE')],
    ]);
  }
  if (present(env, 'FUNCTIONS_EXTENSION_VERSION') !== undefined && present(env, 'FUNCTIONS_WORKER_RUNTIME') !== undefined) {
    return build('azure-functions', 'azurefunction', [
      ['app_name', present(env, 'WEBSITE_SITE_NAME')],
      ['region', present(env, 'REGION_NAME')],
      ['runtime', present(env, 'FUNCTIONS_WORKER_RUNTIME')],
    ]);
  }
  const kService = present(env, 'K_SERVICE');
  const functionTarget = present(env, 'FUNCTION_TARGET');
  // 1st gen Cloud Functions (older runtimes) set FUNCTION_NAME and GCP_PROJECT instead of K_*.
  const legacyFunction = present(env, 'FUNCTION_NAME');
  if ((kService !== undefined && functionTarget !== undefined) || (legacyFunction !== undefined && present(env, 'GCP_PROJECT') !== undefined)) {
    return build('gcp-cloud-functions', kService !== undefined ? 'cloudrun' : 'cloudfunction', [
      ['functionname', (functionTarget ?? legacyFunction)?.toLowerCase()],
      ['service_name', kService],
      ['revision_name', present(env, 'K_REVISION')],
      ['project_id', present(env, 'GCP_PROJECT')],
      ['region', present(env, 'FUNCTION_REGION')],
    ]);
  }
  if (kService !== undefined) {
    return build('gcp-cloud-run', 'cloudrun', [
      ['service_name', kService],
      ['revision_name', present(env, 'K_REVISION')],
      ['configuration_name', present(env, 'K_CONFIGURATION')],
    ]);
  }
  return null;
}
