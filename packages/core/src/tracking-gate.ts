/**
 * Whether tracking may happen at all: the environment's opt-outs (which always win over the
 * builder) and the stored consent decision.
 */
import type { ConsentOptions } from './config.js';
import type { EnvVars } from './runtime.js';
import type { ConsentStatus } from './types.js';

/** Set to anything other than empty, `0` or `false` (any case, trimmed). */
export function isEnabledFlag(value: string | undefined): boolean {
  if (value === undefined) return false;
  const normalized = value.trim().toLowerCase();
  return normalized !== '' && normalized !== '0' && normalized !== 'false';
}

/** `my-cli` → `MY_CLI_TELEMETRY_DISABLED`. */
export function serviceDisableVariable(serviceName: string): string {
  return `${serviceName.toUpperCase().replace(/-/g, '_')}_TELEMETRY_DISABLED`;
}

/** The variable that disables tracking and sync, or null when none does. */
export function envDisabledReason(env: EnvVars, serviceName: string): string | null {
  for (const variable of ['DO_NOT_TRACK', 'TELEMETRY_KIT_DISABLED', serviceDisableVariable(serviceName)]) {
    if (isEnabledFlag(env[variable])) return variable;
  }
  return null;
}

export function isDebugMode(env: EnvVars): boolean {
  return isEnabledFlag(env.TELEMETRY_KIT_DEBUG);
}

/** Consent alone: `opted_out` and `denied` always block; `unknown` follows the builder. */
export function consentAllows(status: ConsentStatus, options: Required<ConsentOptions>): boolean {
  switch (status) {
    case 'granted':
      return true;
    case 'denied':
    case 'opted_out':
      return false;
    case 'unknown':
      return !options.required && options.defaultGranted;
  }
}
