/**
 * Backend choice (DESIGN.md §3): `TELEMETRY_KIT_BACKEND=auto|native|js`. `auto` uses the
 * native addon when it loads and otherwise falls back to the pure-TS core, remembering why;
 * `native` fails loudly (at `build()`) when the addon cannot be used.
 */
import { createRequire } from 'node:module';
import { SDK_VERSION, TelemetryError, type BackendName } from '@telemetry-kit/core/node';
import { isNativeBinding, type NativeBinding } from './native-binding.js';

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

const requireHere = createRequire(import.meta.url);

/** `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`...: the addon build this process needs. */
export function platformTriple(): string {
  // Only needed to explain a failure, so detect-libc stays off the startup path.
  const { familySync } = requireHere('detect-libc') as typeof import('detect-libc');
  const libc = process.platform === 'linux' ? `-${familySync() === 'musl' ? 'musl' : 'gnu'}` : process.platform === 'win32' ? '-msvc' : '';
  return `${process.platform}-${process.arch}${libc}`;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}

/** Loads the addon, or says in one line why it cannot be used. */
function probeNative(): { ok: true; binding: NativeBinding } | { ok: false; reason: string } {
  let binding: unknown;
  try {
    binding = requireHere(NATIVE_PACKAGE);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' && firstLine(error).includes(`'${NATIVE_PACKAGE}'`)) {
      return { ok: false, reason: `${NATIVE_PACKAGE} is not installed` };
    }
    // The generated loader throws when no binary for this platform loads (none built or
    // published for it, wrong libc, a dlopen failure): keep its first line, it names the cause.
    return { ok: false, reason: `no usable ${NATIVE_PACKAGE} binary for ${platformTriple()}: ${firstLine(error)}` };
  }
  if (!isNativeBinding(binding)) {
    return { ok: false, reason: `${NATIVE_PACKAGE} does not provide the engine this version needs` };
  }
  const version = binding.version();
  if (version !== SDK_VERSION) {
    return { ok: false, reason: `${NATIVE_PACKAGE} is version ${version}, this package needs ${SDK_VERSION}` };
  }
  return { ok: true, binding };
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
