/**
 * `telemetry-kit serve` and `telemetry-kit apps add|list|revoke`. Registering them costs the
 * CLI nothing: the server code (and ajv, pg, sql.js behind it) loads when one of them runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { TelemetryError } from '@telemetry-kit/core/node';
import type { StorageSpec } from './storage/open-storage.js';
import type { AppRecord } from './storage/types.js';

interface StorageOptions {
  data?: string;
  database?: string;
  schema?: string;
}

function port(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 65_535) throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return parsed;
}

function nonNegative(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('must be a number >= 0');
  return parsed;
}

function withStorageOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--data <dir>', 'embedded storage data dir (default: the OS data dir + /telemetry-kit-server)').env('TELEMETRY_KIT_SERVER_DATA').conflicts('database'),
    )
    .addOption(new Option('--database <url>', 'PostgreSQL URL, postgres://user:password@host:port/database').env('TELEMETRY_KIT_DATABASE_URL'))
    .addOption(new Option('--schema <name>', 'PostgreSQL schema holding the tables (default: telemetry_kit)').env('TELEMETRY_KIT_DATABASE_SCHEMA'));
}

async function storageSpec(options: StorageOptions): Promise<StorageSpec> {
  if (options.database !== undefined) return { databaseUrl: options.database, ...(options.schema === undefined ? {} : { schema: options.schema }) };
  if (options.schema !== undefined) throw new TelemetryError('INVALID_CONFIG', '--schema applies to PostgreSQL storage: add --database URL', { field: 'schema' });
  const { defaultServerDataDir } = await import('./storage/open-storage.js');
  return { dataDir: options.data ?? defaultServerDataDir() };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function appJson(app: AppRecord): Record<string, unknown> {
  return { orgId: app.orgId, appId: app.appId, name: app.name, createdAt: iso(app.createdAt), revokedAt: iso(app.revokedAt) };
}

function printTable(rows: string[][]): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`);
}

/** Resolves on the first SIGTERM or SIGINT; a second one exits at once. */
function firstSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const again = (): void => process.exit(130);
      process.once('SIGTERM', again);
      process.once('SIGINT', again);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

export function addServerCommands(program: Command): void {
  withStorageOptions(
    program
      .command('serve')
      .description('run the ingestion server (sync protocol v1) until SIGTERM/SIGINT')
      .addOption(new Option('-p, --port <port>', 'port to listen on; 0 picks a free one').argParser(port).default(3000))
      .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
      .addOption(new Option('--rate-limit <n>', 'requests per second per app token; 0 turns the limit off').argParser(nonNegative).default(100))
      .addOption(new Option('--rate-burst <n>', 'requests an idle token may send at once (default: 2 × rate limit)').argParser(nonNegative)),
  ).action(async (options: StorageOptions & { port: number; host: string; rateLimit: number; rateBurst?: number }) => {
    const { createIngestServer, describeStorage } = await import('./index.js');
    const spec = await storageSpec(options);
    const server = createIngestServer({
      storage: spec,
      rateLimit: options.rateLimit === 0 ? false : { requestsPerSecond: options.rateLimit, burst: Math.max(1, options.rateBurst ?? 2 * options.rateLimit) },
    });
    const stopped = firstSignal();
    let url: string;
    try {
      url = await server.listen(options.port, options.host);
    } catch (error) {
      await server.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new TelemetryError('INVALID_CONFIG', `cannot listen on ${options.host}:${options.port}: ${code}`, { field: 'port', cause: error });
      }
      throw error;
    }
    process.stderr.write(`telemetry-kit server: storage ${describeStorage(spec)}\n`);
    process.stdout.write(`listening on ${url}\n`);
    const signal = await stopped;
    process.stderr.write(`telemetry-kit server: ${signal}, shutting down\n`);
    await server.close();
  });

  const apps = program.command('apps').description('manage the apps (and their credentials) of an ingestion server');

  withStorageOptions(
    apps
      .command('add')
      .description('create an app; prints its token and signing secret, shown only this once')
      .argument('<name>', 'a name to recognise the app by')
      .option('--org <id>', "organisation id (default: the server's own, created on first use)")
      .option('--json', 'print one JSON object {"orgId","appId","token","secret"}'),
  ).action(async (name: string, options: StorageOptions & { org?: string; json?: boolean }) => {
    const { openAppRegistry } = await import('./index.js');
    const registry = await openAppRegistry(await storageSpec(options));
    try {
      const { credentials } = await registry.addApp(name, options.org === undefined ? {} : { orgId: options.org });
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ orgId: credentials.orgId, appId: credentials.appId, token: credentials.token, secret: credentials.secret })}\n`);
        return;
      }
      process.stdout.write(
        [
          `created app ${JSON.stringify(name)}`,
          `  org id:  ${credentials.orgId}`,
          `  app id:  ${credentials.appId}`,
          `  token:   ${credentials.token}`,
          `  secret:  ${credentials.secret}`,
          'The token and secret are shown only now: store them with your program\'s configuration.',
          '',
        ].join('\n'),
      );
    } finally {
      await registry.close();
    }
  });

  withStorageOptions(apps.command('list').description('list the apps (never their token or secret)').option('--json', 'print JSON')).action(
    async (options: StorageOptions & { json?: boolean }) => {
      const { openAppRegistry } = await import('./index.js');
      const registry = await openAppRegistry(await storageSpec(options));
      try {
        const list = await registry.listApps();
        if (options.json) process.stdout.write(`${JSON.stringify(list.map(appJson), null, 2)}\n`);
        else if (list.length === 0) process.stdout.write('no apps: create one with `telemetry-kit apps add NAME`\n');
        else {
          printTable([
            ['APP ID', 'ORG ID', 'NAME', 'CREATED', 'STATUS'],
            ...list.map((app) => [app.appId, app.orgId, app.name, iso(app.createdAt) ?? '', app.revokedAt === null ? 'active' : `revoked ${iso(app.revokedAt) ?? ''}`]),
          ]);
        }
      } finally {
        await registry.close();
      }
    },
  );

  withStorageOptions(
    apps.command('revoke').description('revoke an app token: its requests are refused from now on').argument('<app-id>', 'the app to revoke'),
  ).action(async (appId: string, options: StorageOptions) => {
    const { openAppRegistry } = await import('./index.js');
    const registry = await openAppRegistry(await storageSpec(options));
    try {
      const app = await registry.revokeApp(appId);
      if (app === null) throw new TelemetryError('INVALID_CONFIG', `no app ${JSON.stringify(appId)}: see \`telemetry-kit apps list\``, { field: 'appId' });
      process.stdout.write(`revoked ${app.appId} (${app.name}) at ${iso(app.revokedAt) ?? ''}\n`);
    } finally {
      await registry.close();
    }
  });
}
