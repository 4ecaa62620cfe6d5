/** The Node implementation of the core's runtime capabilities. */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { nodeHttpTransport } from './http-transport.js';
import { homedir, release } from 'node:os';
import { basename } from 'node:path';
import type { ResolvedConfig } from '../config.js';
import type { EnvVars, PlatformInfo, Runtime } from '../runtime.js';
import type { Stores } from '../storage.js';
import { defaultDataDir } from './data-dir.js';
import { onProcessExit } from './exit-hooks.js';
import { FileEventStore } from './file-event-store.js';
import { FileConsentStore, FileIdentityStore } from './state-files.js';

/** Names as the Rust standard library spells them, so both backends report the same `os`. */
const OS_NAMES: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macos', win32: 'windows', sunos: 'solaris' };

function detectShell(env: EnvVars, platform: NodeJS.Platform): string | null {
  const shell = env.SHELL;
  if (shell) return basename(shell).replace(/\.exe$/i, '');
  if (platform === 'win32') {
    // PowerShell puts its module path first; cmd.exe is the fallback ComSpec.
    if (env.PSModulePath && env.PSModulePath.includes('Documents')) return 'powershell';
    if (env.ComSpec) return basename(env.ComSpec.replace(/\\/g, '/')).replace(/\.exe$/i, '').toLowerCase();
  }
  return null;
}

function safeHomeDir(): string | null {
  try {
    return homedir() || null;
  } catch {
    return null;
  }
}

/** node:zlib loads on first use: sync is never on the start-up path. */
async function gzipAsync(data: Uint8Array): Promise<Uint8Array> {
  const { gzip } = await import('node:zlib');
  return new Promise((resolve, reject) => gzip(data, (error, result) => (error ? reject(error) : resolve(result))));
}

export interface NodeRuntimeOptions {
  env?: EnvVars;
}

export function nodeRuntime(options: NodeRuntimeOptions = {}): Runtime {
  const env = options.env ?? process.env;
  const homeDir = safeHomeDir();
  let info: PlatformInfo | null = null;
  return {
    env,
    homeDir,
    platformInfo(): PlatformInfo {
      info ??= {
        os: OS_NAMES[process.platform] ?? process.platform,
        osVersion: release(),
        arch: process.arch,
        shell: detectShell(env, process.platform),
        languageVersion: process.versions.node,
      };
      return info;
    },
    randomBytes(length: number): Uint8Array {
      return randomBytes(length);
    },
    uuid: () => randomUUID(),
    sha256Hex: (text) => createHash('sha256').update(text).digest('hex'),
    hmacSha256Hex: (key, message) => createHmac('sha256', key).update(message).digest('hex'),
    httpTransport: nodeHttpTransport,
    gzip: async (data) => gzipAsync(data),
    random: () => Math.random(),
    warn(message: string): void {
      process.emitWarning(message, { code: 'TELEMETRY_KIT' });
    },
    debugLog(line: string): void {
      process.stderr.write(`${line}\n`);
    },
    openStores(config: ResolvedConfig): Stores {
      const dataDir = resolveDataDir(config, env, homeDir);
      const limits = { maxPendingEvents: config.maxPendingEvents, retentionDays: config.retentionDays };
      return {
        events: new FileEventStore(dataDir, limits),
        identity: new FileIdentityStore(dataDir, (n) => randomBytes(n)),
        consent: new FileConsentStore(dataDir),
      };
    },
    onExit: onProcessExit,
  };
}

export function resolveDataDir(config: Pick<ResolvedConfig, 'dataDir' | 'serviceName'>, env: EnvVars = process.env, homeDir: string | null = safeHomeDir()): string {
  return config.dataDir ?? defaultDataDir(config.serviceName, env, process.platform, homeDir ?? process.cwd());
}
