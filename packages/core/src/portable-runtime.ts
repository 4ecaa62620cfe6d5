/**
 * A runtime made only of web-standard globals, for edge and worker runtimes: events live in
 * memory. Nothing here may import a Node built-in (a test bundles this tree for `neutral`).
 */
import { uuidV4 } from './ids.js';
import { nobleHmacSha256Hex, nobleSha256Hex } from './noble-sha256.js';
import { compressionStreamGzip, fetchTransport } from './sync/transport.js';
import { MemoryConsentStore, MemoryEventStore, MemoryIdentityStore } from './memory-store.js';
import type { EnvVars, PlatformInfo, Runtime } from './runtime.js';

interface MaybeProcess {
  env?: Record<string, string | undefined>;
  versions?: { node?: string };
}

interface WebCrypto {
  getRandomValues<T extends Uint8Array>(array: T): T;
  randomUUID?: () => string;
}

function globalProcess(): MaybeProcess | undefined {
  return (globalThis as { process?: MaybeProcess }).process;
}

function webCrypto(): WebCrypto {
  const crypto = (globalThis as { crypto?: WebCrypto }).crypto;
  if (!crypto) throw new Error('telemetry-kit needs globalThis.crypto.getRandomValues');
  return crypto;
}

export interface PortableRuntimeOptions {
  env?: EnvVars;
  log?: (line: string) => void;
}

export function portableRuntime(options: PortableRuntimeOptions = {}): Runtime {
  const log = options.log ?? ((line: string) => console.error(line));
  const env = options.env ?? globalProcess()?.env ?? {};
  return {
    env,
    homeDir: null,
    platformInfo(): PlatformInfo {
      return { os: 'unknown', osVersion: 'unknown', arch: 'unknown', shell: null, languageVersion: globalProcess()?.versions?.node ?? 'unknown' };
    },
    randomBytes(length: number): Uint8Array {
      return webCrypto().getRandomValues(new Uint8Array(length));
    },
    uuid(): string {
      const crypto = webCrypto();
      return crypto.randomUUID ? crypto.randomUUID() : uuidV4((n) => crypto.getRandomValues(new Uint8Array(n)));
    },
    sha256Hex: nobleSha256Hex,
    hmacSha256Hex: nobleHmacSha256Hex,
    httpTransport: fetchTransport(),
    gzip: compressionStreamGzip(),
    random: () => Math.random(),
    warn: log,
    debugLog: log,
    openStores(config) {
      return {
        events: new MemoryEventStore({ maxPendingEvents: config.maxPendingEvents, retentionDays: config.retentionDays }),
        identity: new MemoryIdentityStore((n) => webCrypto().getRandomValues(new Uint8Array(n))),
        consent: new MemoryConsentStore(),
      };
    },
    onExit() {
      return () => {};
    },
  };
}
