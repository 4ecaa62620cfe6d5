/**
 * Backend choice (DESIGN.md §3): `TELEMETRY_KIT_BACKEND=auto|native|js`. `auto` uses the
 * native addon when it loads and otherwise falls back to the pure-TS core, remembering why;
 * `native` fails loudly when the addon cannot load.
 */
import { createRequire } from 'node:module';
import { TelemetryError, type BackendName, type ResolvedConfig, type TelemetryClient } from '@telemetry-kit/core/node';

/** What the addon package must export for the native backend to be used. */
export interface NativeBinding {
  NativeTelemetryClient: new (config: ResolvedConfig) => TelemetryClient;
}

export type BackendRequest = 'auto' | 'native' | 'js';

export interface BackendSelection {
  /** The backend clients are built on. */
  backend: BackendName;
  requested: BackendRequest;
  /** Why `auto` (or a failed `native`) is not on the native backend; null otherwise. */
  fallbackReason: string | null;
  /** Set when the request cannot be honoured: `build()` throws it. */
  error: TelemetryError | null;
  native: NativeBinding | null;
}

const NATIVE_PACKAGE = '@telemetry-kit/native';
const REQUESTS: readonly BackendRequest[] = ['auto', 'native', 'js'];

function parseRequest(value: string | undefined): BackendRequest | TelemetryError {
  const request = (value ?? '').trim().toLowerCase() || 'auto';
  if ((REQUESTS as readonly string[]).includes(request)) return request as BackendRequest;
  return new TelemetryError('INVALID_CONFIG', `invalid config: TELEMETRY_KIT_BACKEND must be one of auto, native, js, got ${JSON.stringify(value)}`, {
    field: 'TELEMETRY_KIT_BACKEND',
  });
}

/** Loads the addon package, or says in one line why it cannot be used. */
function probeNative(): { ok: true; binding: NativeBinding } | { ok: false; reason: string } {
  let binding: unknown;
  try {
    binding = createRequire(import.meta.url)(NATIVE_PACKAGE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes(NATIVE_PACKAGE)) {
      return { ok: false, reason: `${NATIVE_PACKAGE} is not installed` };
    }
    return { ok: false, reason: `${NATIVE_PACKAGE} failed to load: ${String((error as Error).message).split('\n')[0]}` };
  }
  if (binding === null || typeof binding !== 'object' || typeof (binding as Partial<NativeBinding>).NativeTelemetryClient !== 'function') {
    return { ok: false, reason: `${NATIVE_PACKAGE} does not provide a telemetry client this version can use` };
  }
  return { ok: true, binding: binding as NativeBinding };
}

export function selectBackend(env: NodeJS.ProcessEnv = process.env): BackendSelection {
  const request = parseRequest(env.TELEMETRY_KIT_BACKEND);
  if (request instanceof TelemetryError) {
    return { backend: 'js', requested: 'auto', fallbackReason: request.message, error: request, native: null };
  }
  if (request === 'js') return { backend: 'js', requested: 'js', fallbackReason: null, error: null, native: null };
  const probe = probeNative();
  if (probe.ok) return { backend: 'native', requested: request, fallbackReason: null, error: null, native: probe.binding };
  if (request === 'native') {
    const error = new TelemetryError('BACKEND', `TELEMETRY_KIT_BACKEND=native but the native addon cannot be used: ${probe.reason}`);
    return { backend: 'js', requested: 'native', fallbackReason: probe.reason, error, native: null };
  }
  return { backend: 'js', requested: 'auto', fallbackReason: probe.reason, error: null, native: null };
}
