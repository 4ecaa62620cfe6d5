/**
 * `registerCleanupHook()`: stop the services with a final flush when the process is about to
 * end, whichever backend runs them.
 *
 * - `beforeExit` (the event loop ran dry): stop, and the process then exits by itself with the
 *   code it already had (0 unless the program set `process.exitCode`).
 * - SIGTERM / SIGINT: installing a listener turns off Node's default "die at once", so the hook
 *   must end the process itself after the flush. It exits 0 when the flush completed (graceful
 *   termination on request is success: what Datadog's agents and Cloud Run / Kubernetes
 *   expect), 1 when stop() failed (SHUTDOWN_TIMEOUT: data was dropped), or `process.exitCode`
 *   if the program set one. A second signal during the flush exits at once with 128 + the
 *   signal number (130 for SIGINT, 143 for SIGTERM), the shell's convention for "killed".
 * - If the program has its own listener for the signal, the hook flushes but leaves the exit to
 *   that listener: two owners of process.exit() would race.
 */

export interface Stoppable {
  isRunning(): boolean;
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

export interface CleanupHookOptions {
  /** Passed to stop(). Defaults to 5,000 ms. */
  timeoutMs?: number;
  /** Where failures are reported. Defaults to stderr. */
  report?: (message: string) => void;
  /** Defaults to process.exit; replaced in tests. */
  exit?: (code: number) => void;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type HookSignal = (typeof SIGNALS)[number];
// POSIX numbers, which Node also reports on Windows; spelled out to keep node:os off the startup path.
const SIGNAL_NUMBER: Readonly<Record<HookSignal, number>> = { SIGINT: 2, SIGTERM: 15 };

// One hook per services instance: a second registration would make each hook see the other's
// signal listener and leave the exit to it, so nobody would exit.
const hooks = new WeakMap<Stoppable, () => void>();

export function registerCleanupHook(target: Stoppable, options: CleanupHookOptions = {}): () => void {
  const existing = hooks.get(target);
  if (existing) return existing;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const report = options.report ?? ((message: string) => process.stderr.write(`telemetry-kit services: ${message}\n`));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping: Promise<boolean> | null = null;

  const stopOnce = (): Promise<boolean> => {
    stopping ??= target.stop({ timeoutMs }).then(
      () => true,
      (error: unknown) => {
        report(`final flush failed: ${error instanceof Error ? error.message : String(error)}`);
        return false;
      },
    );
    return stopping;
  };

  const onBeforeExit = (): void => {
    // The pending stop() keeps the loop alive; once it settles beforeExit fires again and,
    // the services being stopped, the process ends normally.
    if (stopping === null && target.isRunning()) void stopOnce();
  };

  const onSignal = (signal: HookSignal): void => {
    if (stopping !== null) {
      exit(128 + SIGNAL_NUMBER[signal]);
      return;
    }
    void stopOnce().then((flushed) => {
      if (process.listenerCount(signal) > 1) return;
      const programCode = Number(process.exitCode ?? 0);
      exit(Number.isInteger(programCode) && programCode !== 0 ? programCode : flushed ? 0 : 1);
    });
  };
  const signalListeners = new Map<HookSignal, () => void>(SIGNALS.map((signal) => [signal, () => onSignal(signal)]));

  process.on('beforeExit', onBeforeExit);
  for (const [signal, listener] of signalListeners) process.on(signal, listener);
  const unregister = (): void => {
    process.off('beforeExit', onBeforeExit);
    for (const [signal, listener] of signalListeners) process.off(signal, listener);
    hooks.delete(target);
  };
  hooks.set(target, unregister);
  return unregister;
}
