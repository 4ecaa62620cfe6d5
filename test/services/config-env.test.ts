// configFromEnv through to what the intake receives: namespace, global tags, the unified
// service tags and the cloud origin tags on metrics and spans.
import { ServicesError, configFromEnv } from '@telemetry-kit/node';
import { describe, expect, it } from 'vitest';
import type { DecodedAgentPayload } from '../helpers/fake-intake.js';
import { createServices, fakeIntake, httpRequest, sendDatagrams, servicesBackends, until } from '../helpers/services-backends.js';
import { encodeV04, wireSpan } from '../helpers/trace-payloads.js';

describe.each(servicesBackends())('services configured from the environment (%s)', (backend) => {
  it('namespace, DD_TAGS, DD_ENV/DD_SERVICE/DD_VERSION and Lambda origin tags reach the intake', async () => {
    const intake = await fakeIntake();
    const config = configFromEnv({
      DD_API_KEY: 'env-key',
      DD_DD_URL: intake.url,
      DD_APM_DD_URL: intake.url,
      DD_DOGSTATSD_PORT: '0',
      DD_APM_RECEIVER_PORT: '0',
      DD_LOG_LEVEL: 'off',
      DD_STATSD_METRIC_NAMESPACE: 'shop',
      DD_TAGS: 'team:core tier:1',
      DD_ENV: 'prod',
      DD_SERVICE: 'checkout',
      DD_VERSION: '2.0.0',
      AWS_LAMBDA_FUNCTION_NAME: 'Checkout-Fn',
      AWS_REGION: 'eu-west-1',
    });
    const services = createServices(backend);
    await services.start(config);
    await sendDatagrams(services.ports().dogstatsd ?? 0, ['orders:1|c|#route:pay']);
    await httpRequest(services.ports().traceAgent ?? 0, 'PUT', '/v0.4/traces', encodeV04([[wireSpan({ service: 'checkout', meta: {} })]]));
    await until(() => services.stats().dogstatsd.metrics, (count) => count === 1);
    await services.stop();

    const [series] = intake.byPath('/api/v2/series').flatMap((request) => (request.decoded as { series: Array<{ metric: string; tags: string[] }> }).series);
    expect(series?.metric).toBe('shop.orders');
    expect(series?.tags.sort()).toEqual(
      ['env:prod', 'functionname:checkout-fn', 'origin:lambda', 'region:eu-west-1', 'route:pay', 'service:checkout', 'team:core', 'tier:1', 'version:2.0.0'].sort(),
    );
    const [payload] = intake.byPath('/api/v0.2/traces').map((request) => request.decoded as DecodedAgentPayload);
    expect(payload?.env).toBe('prod');
    expect(payload?.tags).toMatchObject({ origin: 'lambda', functionname: 'checkout-fn', team: 'core' });
    const span = payload?.tracerPayloads[0]?.chunks[0]?.spans[0];
    const origin = span?.meta['_dd.origin'] ?? payload?.tracerPayloads[0]?.chunks[0]?.origin;
    expect(origin).toBe('lambda');
  });

  it('an invalid variable is reported by name before anything starts', () => {
    expect(() => configFromEnv({ DD_APM_RECEIVER_PORT: '99999' })).toThrow(ServicesError);
    expect(() => configFromEnv({ DD_APM_RECEIVER_PORT: '99999' })).toThrow(/DD_APM_RECEIVER_PORT/);
  });
});
