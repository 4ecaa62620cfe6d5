/**
 * The backend the suite expects to run on. CI runs the conformance suite once per backend by
 * setting TELEMETRY_KIT_BACKEND; with `auto` (or nothing) it runs on whatever loads.
 */
export function expectedBackend(): 'js' | 'native' | 'auto' {
  const requested = process.env.TELEMETRY_KIT_BACKEND;
  return requested === 'js' || requested === 'native' ? requested : 'auto';
}
