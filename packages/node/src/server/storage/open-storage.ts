/**
 * Where a server or `telemetry-kit apps` keeps its data: an embedded data dir (the default) or
 * a PostgreSQL URL.
 */
import { dirname, join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { TelemetryError, defaultDataDir } from '@telemetry-kit/core/node';
import { EmbeddedAppRegistry } from './embedded-apps.js';
import { openEmbeddedStorage, type EmbeddedStorageOptions } from './embedded-storage.js';
import { openPostgresAppRegistry, openPostgresStorage, redactUrl, type PostgresStorageOptions } from './postgres-storage.js';
import type { AppRegistry, IngestStorage } from './types.js';

export type StorageSpec =
  | ({ dataDir: string } & Partial<Omit<EmbeddedStorageOptions, 'dataDir'>>)
  | ({ databaseUrl: string } & Partial<Omit<PostgresStorageOptions, 'url'>>);

/**
 * The server's default data dir: beside the SDK's per-service dirs, `<OS data dir>/telemetry-kit-server`
 * ($XDG_DATA_HOME or ~/.local/share on Linux, ~/Library/Application Support on macOS, %APPDATA% on Windows).
 */
export function defaultServerDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  // defaultDataDir gives <OS data dir>/telemetry-kit/<service>; two levels up is the OS data dir.
  return join(dirname(dirname(defaultDataDir('server', env, platform, home))), 'telemetry-kit-server');
}

function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

function postgresOptions(spec: { databaseUrl: string } & Partial<Omit<PostgresStorageOptions, 'url'>>): PostgresStorageOptions {
  if (!isPostgresUrl(spec.databaseUrl)) {
    throw new TelemetryError('INVALID_CONFIG', 'invalid database URL: expected postgres://user:password@host:port/database', { field: 'database' });
  }
  return { ...spec, url: spec.databaseUrl };
}

export async function openIngestStorage(spec: StorageSpec): Promise<IngestStorage> {
  if ('databaseUrl' in spec) return openPostgresStorage(postgresOptions(spec));
  return openEmbeddedStorage(spec);
}

/** The app registry alone, usable while a server runs on the same storage. */
export async function openAppRegistry(spec: StorageSpec): Promise<AppRegistry> {
  if ('databaseUrl' in spec) return openPostgresAppRegistry(postgresOptions(spec));
  return new EmbeddedAppRegistry(resolve(spec.dataDir), spec.clock ?? Date.now);
}

/** "embedded /path" or the URL without its password, for messages. */
export function describeStorage(spec: StorageSpec): string {
  return 'databaseUrl' in spec ? `postgres ${redactUrl(spec.databaseUrl)}` : `embedded ${resolve(spec.dataDir)}`;
}
