/**
 * The body the agent answers trace submissions with. Tracers read `rate_by_service` to set
 * their sampling rates; the key is `service:<name>,env:<env>`, and the empty key
 * `service:,env:` is the default for every service the map does not name. This agent does not
 * sample, so the default is 1 (keep everything) unless the caller passes other rates.
 */
export const DEFAULT_RATE_KEY = 'service:,env:';

export function defaultRateByService(): Record<string, number> {
  return { [DEFAULT_RATE_KEY]: 1 };
}

/** `{"rate_by_service":{...}}`, the JSON of a 200 answer to /v0.4 and /v0.5 trace submissions. */
export function rateByServiceBody(rates: Readonly<Record<string, number>> = defaultRateByService()): string {
  return JSON.stringify({ rate_by_service: rates });
}
