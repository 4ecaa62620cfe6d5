import { describe, expect, it } from 'vitest';
import { TelemetryKitBuilder } from './builder.js';
import { DEFAULT_REDACT_KEYS, resolveConfig, type TelemetryOptions } from './config.js';
import { TelemetryError } from './errors.js';

function errorOf(options: TelemetryOptions): TelemetryError {
  try {
    resolveConfig(options);
  } catch (error) {
    if (error instanceof TelemetryError) return error;
    throw error;
  }
  throw new Error('expected resolveConfig to throw');
}

const credentials = { endpoint: 'https://t.example.com/', orgId: 'org', appId: 'app', token: 'tok', secret: 'sec' };

describe('config validation', () => {
  it('applies the documented defaults', () => {
    const config = resolveConfig({ serviceName: 'my-cli' });
    expect(config).toMatchObject({
      serviceName: 'my-cli',
      serviceVersion: '0.0.0',
      dataDir: null,
      sync: null,
      autoSync: false,
      syncIntervalMs: 60_000,
      batchSize: 100,
      maxPendingEvents: 10_000,
      retentionDays: 7,
      consent: { required: false, defaultGranted: true },
    });
    expect(config.privacy.redactKeys).toEqual(DEFAULT_REDACT_KEYS);
  });

  it('turns auto-sync on with credentials and trims the endpoint', () => {
    const config = resolveConfig({ serviceName: 'x', sync: credentials });
    expect(config.autoSync).toBe(true);
    expect(config.sync?.endpoint).toBe('https://t.example.com');
  });

  const invalid: Array<[string, TelemetryOptions, string]> = [
    ['missing service name', {}, 'serviceName'],
    ['empty service name', { serviceName: '' }, 'serviceName'],
    ['too long service name', { serviceName: 'a'.repeat(65) }, 'serviceName'],
    ['upper-case service name', { serviceName: 'MyCli' }, 'serviceName'],
    ['service name with spaces', { serviceName: 'my cli' }, 'serviceName'],
    ['service name of the wrong type', { serviceName: 42 as unknown as string }, 'serviceName'],
    ['empty version', { serviceName: 'x', serviceVersion: '' }, 'serviceVersion'],
    ['empty data dir', { serviceName: 'x', dataDir: '' }, 'dataDir'],
    ['sync interval too short', { serviceName: 'x', syncIntervalMs: 10 }, 'syncInterval'],
    ['sync interval not an integer', { serviceName: 'x', syncIntervalMs: 1500.5 }, 'syncInterval'],
    ['batch size 0', { serviceName: 'x', batchSize: 0 }, 'batchSize'],
    ['batch size 1001', { serviceName: 'x', batchSize: 1001 }, 'batchSize'],
    ['max pending 0', { serviceName: 'x', maxPendingEvents: 0 }, 'maxPendingEvents'],
    ['negative retention', { serviceName: 'x', retentionDays: -1 }, 'retentionDays'],
    ['endpoint not a URL', { serviceName: 'x', sync: { ...credentials, endpoint: 'nope' } }, 'sync.endpoint'],
    ['endpoint not http', { serviceName: 'x', sync: { ...credentials, endpoint: 'ftp://x' } }, 'sync.endpoint'],
    ['empty token', { serviceName: 'x', sync: { ...credentials, token: '' } }, 'sync.token'],
    ['missing secret', { serviceName: 'x', sync: { ...credentials, secret: undefined as unknown as string } }, 'sync.secret'],
    ['auto-sync without credentials', { serviceName: 'x', autoSync: true }, 'autoSync'],
    ['redactKeys not an array', { serviceName: 'x', privacy: { redactKeys: 'token' as unknown as string[] } }, 'privacy.redactKeys'],
    ['redactKeys with an empty key', { serviceName: 'x', privacy: { redactKeys: ['ok', ''] } }, 'privacy.redactKeys[1]'],
    ['sanitizePaths not a boolean', { serviceName: 'x', privacy: { sanitizePaths: 'yes' as unknown as boolean } }, 'privacy.sanitizePaths'],
    ['respectDoNotTrack false', { serviceName: 'x', privacy: { respectDoNotTrack: false } }, 'privacy.respectDoNotTrack'],
    ['consent.required not a boolean', { serviceName: 'x', consent: { required: 1 as unknown as boolean } }, 'consent.required'],
  ];

  it.each(invalid)('%s → INVALID_CONFIG naming %s', (_label, options, field) => {
    const error = errorOf(options);
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.name).toBe('TelemetryError');
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
  });

  it('validates at build(), not before', () => {
    const builder = new TelemetryKitBuilder((config) => config).serviceName('Bad Name');
    expect(() => builder.build()).toThrowError(TelemetryError);
    expect(builder.serviceName('good').build().serviceName).toBe('good');
  });
});
