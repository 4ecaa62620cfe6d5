import { describe, expect, it } from 'vitest';
import { loadVectors } from '../../../test/helpers/vectors.js';
import { detectCi } from './ci-detect.js';
import { consentAllows, envDisabledReason, isDebugMode, serviceDisableVariable } from './tracking-gate.js';

describe('environment opt-outs', () => {
  it.each(loadVectors<{ env: Record<string, string>; serviceName: string }, string | null>('disable-env.json'))('$name', ({ input, expected }) => {
    expect(envDisabledReason(input.env, input.serviceName)).toBe(expected);
  });

  it('names the per-service variable', () => {
    expect(serviceDisableVariable('my-cli')).toBe('MY_CLI_TELEMETRY_DISABLED');
  });

  it('reads TELEMETRY_KIT_DEBUG', () => {
    expect(isDebugMode({ TELEMETRY_KIT_DEBUG: '1' })).toBe(true);
    expect(isDebugMode({ TELEMETRY_KIT_DEBUG: '0' })).toBe(false);
    expect(isDebugMode({})).toBe(false);
  });
});

describe('CI detection', () => {
  const cases = loadVectors<Record<string, string>, { ci: boolean; ci_name: string | null }>('ci.json');

  it('covers at least 10 providers', () => {
    const names = new Set(cases.map((c) => c.expected.ci_name).filter((n) => n !== null && n !== 'generic'));
    expect(names.size).toBeGreaterThanOrEqual(10);
  });

  it.each(cases)('$name', ({ input, expected }) => {
    const detected = detectCi(input);
    expect({ ci: detected.ci, ci_name: detected.ciName }).toEqual(expected);
  });
});

describe('consent decision', () => {
  const table = [
    ['granted', { required: true, defaultGranted: false }, true],
    ['denied', { required: false, defaultGranted: true }, false],
    ['opted_out', { required: false, defaultGranted: true }, false],
    ['unknown', { required: false, defaultGranted: true }, true],
    ['unknown', { required: false, defaultGranted: false }, false],
    ['unknown', { required: true, defaultGranted: true }, false],
  ] as const;
  it.each(table)('%s with %o → %s', (status, options, allowed) => {
    expect(consentAllows(status, options)).toBe(allowed);
  });
});
