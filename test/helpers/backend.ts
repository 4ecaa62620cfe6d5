/**
 * The backend the suite expects to run on. CI runs the conformance suite once per backend by
 * setting TELEMETRY_KIT_BACKEND; with `auto` (or nothing) it runs on whatever loads.
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function expectedBackend(): 'js' | 'native' | 'auto' {
  const requested = process.env.TELEMETRY_KIT_BACKEND;
  return requested === 'js' || requested === 'native' ? requested : 'auto';
}

const NATIVE_DIR = fileURLToPath(new URL('../../packages/native/', import.meta.url));

/** Whether `npm run build:native` has produced an addon in this checkout. */
export function nativeBuilt(): boolean {
  return existsSync(`${NATIVE_DIR}index.js`) && readdirSync(NATIVE_DIR).some((name) => name.endsWith('.node'));
}
