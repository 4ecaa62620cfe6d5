/**
 * `telemetry-kit`: inspect and control what a program's telemetry stores, from the shell.
 * Every command works on one service's data dir (`--service`, or TELEMETRY_KIT_SERVICE).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { TelemetryError, SDK_VERSION, type EventState, type StoredEvent, type TelemetryStats } from '@telemetry-kit/core/node';
import { TelemetryKit, backendSelection } from './telemetry-kit.js';

interface GlobalOptions {
  service?: string;
  dataDir?: string;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

function openKit(program: Command): TelemetryKit {
  const options = program.opts<GlobalOptions>();
  if (!options.service) {
    throw new TelemetryError('INVALID_CONFIG', 'invalid config: serviceName is required: pass --service NAME or set TELEMETRY_KIT_SERVICE', {
      field: 'serviceName',
    });
  }
  const builder = TelemetryKit.builder().serviceName(options.service).autoSync(false);
  if (options.dataDir) builder.dataDir(options.dataDir);
  return builder.build();
}

async function withKit(program: Command, action: (kit: TelemetryKit) => Promise<void>): Promise<void> {
  const kit = openKit(program);
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
    ['last error', stats.lastError ?? 'none'],
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
    .command('reset-id')
    .description('forget the anonymous install id; later events get a new user_id')
    .action(async () => {
      await withKit(program, async (kit) => {
        await kit.resetId();
        process.stdout.write('install id reset: the next event will carry a new anonymous user_id\n');
      });
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
