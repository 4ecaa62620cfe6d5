/**
 * `telemetry-kit agent`: the serverless services as a standalone process, configured from the
 * DD_* environment (configFromEnv), running until SIGTERM or SIGINT, then flushing and exiting.
 *
 * Output: one status line per event on stdout (`ready dogstatsd 127.0.0.1:8125`, `flushed …`,
 * `stopped`); warnings and errors on stderr, as DD_LOG_LEVEL allows. Exit codes: 0 after a
 * complete final flush, 1 when the flush was cut off by --stop-timeout, 2 when the
 * configuration is invalid or a port is taken (the message names the variable), 128 + signal on
 * a second signal during the flush.
 */
import { ServicesError, TelemetryError, configFromEnv, type ResolvedServicesConfig, type ServicesStatus } from '@telemetry-kit/core/node';
import { ServerlessServices } from './services.js';

export interface AgentOptions {
  stopTimeoutMs: number;
}

function statusLine(status: ServicesStatus, config: ResolvedServicesConfig): string | null {
  switch (status.type) {
    case 'ready': {
      const host = status.service === 'dogstatsd' ? config.dogstatsdHost : config.traceAgentHost;
      return `ready ${status.service ?? ''} ${host}:${status.port ?? ''}`;
    }
    case 'flushed':
      return `flushed ${status.message ?? ''}`;
    case 'stopped':
      return 'stopped';
    default:
      // Warnings and errors reach stderr through the services' own log (DD_LOG_LEVEL).
      return null;
  }
}

/** Resolves once the services run; the process then lives until a signal ends it. */
export async function runAgent(options: AgentOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: ResolvedServicesConfig;
  try {
    config = configFromEnv(env);
  } catch (error) {
    fail(error);
    return;
  }
  const services = new ServerlessServices();
  const fallback = services.selection.fallbackReason;
  process.stdout.write(`telemetry-kit agent: ${services.backend} backend${fallback ? ` (native unavailable: ${fallback})` : ''}\n`);
  // Installed first, so that a signal arriving while the listeners bind still ends in a flush.
  services.registerCleanupHook({ timeoutMs: options.stopTimeoutMs });
  try {
    await services.start(config, (status) => {
      const line = statusLine(status, config);
      if (line !== null) process.stdout.write(`${line}\n`);
    });
  } catch (error) {
    fail(error);
    return;
  }
  // The services never hold the process open by themselves; the agent is a daemon, so this
  // timer does, until the cleanup hook ends the process on SIGTERM or SIGINT.
  setInterval(() => undefined, 1 << 30);
}

function fail(error: unknown): void {
  // ServicesError for the configuration and ports; TelemetryError (BACKEND) when
  // TELEMETRY_KIT_BACKEND=native cannot be honoured.
  if (error instanceof ServicesError || error instanceof TelemetryError) {
    process.stderr.write(`telemetry-kit agent: ${error.message} [${error.code}]\n`);
    process.exitCode = 2;
    return;
  }
  throw error;
}
