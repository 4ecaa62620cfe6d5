/**
 * The capabilities the runtime-agnostic client asks its host for. The Node adapter supplies
 * them from `node:*` modules; the portable runtime from web-standard globals and memory.
 */
import type { ResolvedConfig } from './config.js';
import type { Sha256Hex } from './sha256.js';
import type { Stores } from './storage.js';
import type { HmacSha256Hex } from './sync/protocol.js';
import type { Gzip, HttpTransport } from './sync/transport.js';

export type EnvVars = Readonly<Record<string, string | undefined>>;

/** Environment facts except CI, which is derived from `env`. */
export interface PlatformInfo {
  os: string;
  osVersion: string;
  arch: string;
  shell: string | null;
  languageVersion: string;
}

export interface Runtime {
  readonly env: EnvVars;
  /** The user's home directory, replaced by `~` in events; null when unknown. */
  readonly homeDir: string | null;
  platformInfo(): PlatformInfo;
  randomBytes(length: number): Uint8Array;
  /** A random RFC 4122 v4 UUID (event ids); on the track call's path, so it must be cheap. */
  uuid(): string;
  sha256Hex: Sha256Hex;
  /** Signs sync requests. */
  hmacSha256Hex: HmacSha256Hex;
  /** Sends sync requests; must not keep the process alive while a request is in flight. */
  httpTransport: HttpTransport;
  /** Compresses sync bodies when `syncGzip` is on; null where the runtime has no gzip. */
  gzip: Gzip | null;
  /** Uniform in [0, 1): backoff jitter. */
  random(): number;
  /** A warning for the host program's operator (printed once per cause by the caller). */
  warn(message: string): void;
  /** One line of `TELEMETRY_KIT_DEBUG` output. */
  debugLog(line: string): void;
  openStores(config: ResolvedConfig, onWarning: (message: string) => void): Stores;
  /** Runs `flush` synchronously when the process exits normally; returns the unregister call. */
  onExit(flush: () => void): () => void;
}
