import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_KEY, rateByServiceBody } from './rate-by-service.js';

describe('trace submission answer', () => {
  it('is {"rate_by_service":{"service:,env:":1}} by default', () => {
    expect(rateByServiceBody()).toBe('{"rate_by_service":{"service:,env:":1}}');
    expect(DEFAULT_RATE_KEY).toBe('service:,env:');
  });

  it('serializes given rates', () => {
    expect(JSON.parse(rateByServiceBody({ 'service:,env:': 1, 'service:api,env:prod': 0.5 }))).toEqual({
      rate_by_service: { 'service:,env:': 1, 'service:api,env:prod': 0.5 },
    });
  });
});
