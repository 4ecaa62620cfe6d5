/**
 * `telemetry-kit`: inspect and control what a program's telemetry stores, from the shell.
 * Every command works on one service's data dir (`--service`, or TELEMETRY_KIT_SERVICE), except
 * `serve` and `apps`, which run and manage the ingestion server.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { TelemetryError, SDK_VERSION, type EventState, type StoredEvent, type TelemetryStats } from '@telemetry-kit/core/node';
import { TelemetryKit, backendSelection } from './telemetry-kit.js';
import { addServerCommands } from './server/cli-commands.js';

interface GlobalOptions {
  service?: string;
  dataDir?: string;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

/** Requests per progress line of `telemetry-kit sync`. */
const SYNC_PROGRESS_BATCHES = 10;

interface SyncCommandOptions {
  endpoint?: string;
  org?: string;
  app?: string;
  token?: string;
  secret?: string;
  gzip?: boolean;
  batchSize?: number;
  timeout?: number;
}

function openKit(program: Command, sync?: SyncCommandOptions): TelemetryKit {
  const options = program.opts<GlobalOptions>();
  if (!options.service) {
    throw new TelemetryError('INVALID_CONFIG', 'invalid config: serviceName is required: pass --service NAME or set TELEMETRY_KIT_SERVICE', {
      field: 'serviceName',
    });
  }
  const builder = TelemetryKit.builder().serviceName(options.service);
  if (options.dataDir) builder.dataDir(options.dataDir);
  if (sync) {
    // Missing values reach the builder as empty strings, so its INVALID_CONFIG names the field.
    builder.withSyncCredentials({
      endpoint: sync.endpoint ?? '',
      orgId: sync.org ?? '',
      appId: sync.app ?? '',
      token: sync.token ?? '',
      secret: sync.secret ?? '',
    });
    if (sync.gzip) builder.syncGzip(true);
    if (sync.batchSize !== undefined) builder.batchSize(sync.batchSize);
    if (sync.timeout !== undefined) builder.syncTimeout(sync.timeout);
  }
  builder.autoSync(false);
  return builder.build();
}

async function withKit(program: Command, action: (kit: TelemetryKit) => Promise<void>, sync?: SyncCommandOptions): Promise<void> {
  const kit = openKit(program, sync);
  try {
    await action(kit);
  } finally {
    await kit.shutdown();
  }
}

function backendLine(): string {
  const selection = backendSelection();
  return selection.fallbackReason ? `${selection.backend} (native unavailable: ${selection.fallbackReason})` : selection.backend;
}

function printStats(stats: TelemetryStats, service: string): void {
  const rows: Array<[string, string]> = [
    ['backend', backendLine()],
    ['service', service],
    ['data dir', stats.dataDir ?? '(memory)'],
    ['consent', `${stats.consent} (tracking ${stats.trackingEnabled ? 'enabled' : `disabled: ${stats.disabledReason ?? 'unknown'}`})`],
    ['pending', String(stats.pending)],
    ['synced', String(stats.synced)],
    ['dead-lettered', String(stats.deadLettered)],
    ['dropped', String(stats.dropped)],
    ['last sync', stats.lastSync ?? 'never'],
    ['last error', stats.lastError ? `${stats.lastError.code}: ${stats.lastError.message}${stats.lastError.at ? ` (at ${stats.lastError.at})` : ''}` : 'none'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  for (const [label, value] of rows) process.stdout.write(`${`${label}:`.padEnd(width)}${value}\n`);
}

function printEvents(events: StoredEvent[]): void {
  if (events.length === 0) {
    process.stdout.write('no events stored\n');
    return;
  }
  for (const { state, event } of events) {
    process.stdout.write(`# ${event.timestamp}  ${event.event.type}  ${state}\n${JSON.stringify(event, null, 2)}\n`);
  }
}

export function buildProgram(): Command {
  const program = new Command('telemetry-kit')
    .description('Inspect and control the usage telemetry a program stores on this machine.')
    .version(SDK_VERSION)
    .addOption(new Option('-s, --service <name>', 'service whose telemetry to inspect').env('TELEMETRY_KIT_SERVICE'))
    .option('-d, --data-dir <dir>', 'data directory (default: the OS data dir + /telemetry-kit/<service>)')
    .showHelpAfterError();

  program
    .command('status')
    .description('backend, consent, data dir and event counts')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withKit(program, async (kit) => {
        const stats = await kit.stats();
        if (options.json) process.stdout.write(`${JSON.stringify({ ...stats, backendSelection: backendSelection() }, null, 2)}\n`);
        else printStats(stats, program.opts<GlobalOptions>().service ?? '');
      });
    });

  program
    .command('consent')
    .description('show or change the consent decision')
    .addArgument(
      new Command().createArgument('[action]', 'grant | deny | opt-out | status').choices(['grant', 'deny', 'opt-out', 'status']).default('status'),
    )
    .action(async (action: 'grant' | 'deny' | 'opt-out' | 'status') => {
      await withKit(program, async (kit) => {
        if (action === 'grant') await kit.grantConsent();
        if (action === 'deny') await kit.denyConsent();
        if (action === 'opt-out') await kit.optOut();
        process.stdout.write(`${kit.consentStatus()}\n`);
      });
    });

  program
    .command('events')
    .description('the stored events, exactly as they would be sent')
    .option('-n, --limit <n>', 'at most this many (the most recent)', positiveInteger, 20)
    .addOption(new Option('--state <state>', 'only events in this state').choices(['pending', 'synced', 'dead_letter']))
    .option('--json', 'print JSON')
    .action(async (options: { limit: number; state?: EventState; json?: boolean }) => {
      await withKit(program, async (kit) => {
        const events = await kit.events({ limit: options.limit, ...(options.state ? { state: options.state } : {}) });
        if (options.json) process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
        else printEvents(events);
      });
    });

  program
    .command('sync')
    .description('send the pending events to the ingestion server now, with progress')
    .addOption(new Option('--endpoint <url>', 'ingestion server base URL').env('TELEMETRY_KIT_ENDPOINT'))
    .addOption(new Option('--org <id>', 'organisation id').env('TELEMETRY_KIT_ORG_ID'))
    .addOption(new Option('--app <id>', 'app id').env('TELEMETRY_KIT_APP_ID'))
    .addOption(new Option('--token <token>', 'app token').env('TELEMETRY_KIT_TOKEN'))
    .addOption(new Option('--secret <secret>', 'app signing secret').env('TELEMETRY_KIT_SECRET'))
    .option('--gzip', 'compress request bodies')
    .option('--batch-size <n>', 'events per request (1-1000)', positiveInteger)
    .option('--timeout <ms>', 'bound on each request, in ms', positiveInteger)
    .option('--json', 'print the result as JSON')
    .action(async (options: SyncCommandOptions & { json?: boolean }) => {
      await withKit(
        program,
        async (kit) => {
          const total = (await kit.stats()).pending;
          const sum = { accepted: 0, rejected: 0, duplicates: 0 };
          let result = await kit.sync({ maxBatches: SYNC_PROGRESS_BATCHES });
          for (;;) {
            sum.accepted += result.accepted;
            sum.rejected += result.rejected;
            sum.duplicates += result.duplicates;
            const done = total - result.remaining;
            if (!options.json && total > 0) process.stderr.write(`synced ${Math.max(0, done)}/${total} (${result.remaining} pending)\n`);
            if (result.error !== null || result.remaining === 0 || result.accepted + result.rejected + result.duplicates === 0) break;
            result = await kit.sync({ maxBatches: SYNC_PROGRESS_BATCHES });
          }
          const summary = { ...sum, remaining: result.remaining, error: result.error };
          if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          else {
            process.stdout.write(`accepted ${sum.accepted}, duplicates ${sum.duplicates}, rejected ${sum.rejected}, pending ${result.remaining}\n`);
            if (result.error) process.stdout.write(`stopped: ${result.error.code}: ${result.error.message}\n`);
          }
          if (result.error) process.exitCode = 1;
        },
        options,
      );
    });

  program
    .command('reset-id')
    .description('forget the anonymous install id; later events get a new user_id')
    .action(async () => {
      await withKit(program, async (kit) => {
        await kit.resetId();
        process.stdout.write('install id reset: the next event will carry a new anonymous user_id\n');
      });
    });

  // The ingestion server side: `serve` and `apps add|list|revoke` (they ignore --service).
  addServerCommands(program);

  program
    .command('agent')
    .description('run the DogStatsD server and Datadog trace agent, configured from DD_* variables, until SIGTERM/SIGINT')
    .option('--stop-timeout <ms>', 'bound on the final flush at shutdown', positiveInteger, 5_000)
    .action(async (options: { stopTimeout: number }) => {
      // Loaded on use: the other commands do not pay for the services at startup.
      const { runAgent } = await import('./agent-command.js');
      await runAgent({ stopTimeoutMs: options.stopTimeout });
    });

  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  // `telemetry-kit events | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error: unknown) {
    if (error instanceof TelemetryError) {
      process.stderr.write(`telemetry-kit: ${error.message} [${error.code}]\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

void main();
