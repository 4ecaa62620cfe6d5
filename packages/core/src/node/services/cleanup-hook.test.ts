import { afterEach, describe, expect, it } from 'vitest';
import { registerCleanupHook, type Stoppable } from './cleanup-hook.js';

function fakeServices(stop: () => Promise<void> = () => Promise.resolve()): Stoppable & { stops: number } {
  const target = {
    stops: 0,
    running: true,
    isRunning: () => target.running,
    stop: async () => {
      target.stops += 1;
      await stop();
      target.running = false;
    },
  };
  return target;
}

const unregisters: Array<() => void> = [];
afterEach(() => {
  for (const unregister of unregisters.splice(0)) unregister();
});

function hook(target: Stoppable, exits: number[], extra: { report?: (message: string) => void } = {}): () => void {
  const unregister = registerCleanupHook(target, { timeoutMs: 100, exit: (code) => exits.push(code), report: extra.report ?? (() => undefined) });
  unregisters.push(unregister);
  return unregister;
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

describe('registerCleanupHook', () => {
  it('SIGTERM: stops once, then exits 0', async () => {
    const target = fakeServices();
    const exits: number[] = [];
    hook(target, exits);
    process.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(target.stops).toBe(1);
    expect(exits).toEqual([0]);
  });

  it('a failed stop exits 1 and reports why', async () => {
    const target = fakeServices(() => Promise.reject(new Error('stop() did not finish within 100 ms')));
    const exits: number[] = [];
    const reports: string[] = [];
    hook(target, exits, { report: (message) => reports.push(message) });
    process.emit('SIGINT', 'SIGINT');
    await tick();
    expect(exits).toEqual([1]);
    expect(reports[0]).toContain('did not finish');
  });

  it('a second signal during the flush exits at once with 128 + signal', async () => {
    let release: () => void = () => undefined;
    const target = fakeServices(() => new Promise<void>((resolve) => (release = resolve)));
    const exits: number[] = [];
    hook(target, exits);
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([130]);
    release();
    await tick();
  });

  it('beforeExit stops without exiting; not running → nothing', async () => {
    const target = fakeServices();
    const exits: number[] = [];
    hook(target, exits);
    process.emit('beforeExit', 0);
    await tick();
    expect(target.stops).toBe(1);
    process.emit('beforeExit', 0);
    await tick();
    expect(target.stops).toBe(1);
    expect(exits).toEqual([]);
  });

  it('leaves the exit to the program when it listens for the signal too', async () => {
    const target = fakeServices();
    const exits: number[] = [];
    const own = (): void => undefined;
    process.on('SIGTERM', own);
    try {
      hook(target, exits);
      process.emit('SIGTERM', 'SIGTERM');
      await tick();
      expect(target.stops).toBe(1);
      expect(exits).toEqual([]);
    } finally {
      process.off('SIGTERM', own);
    }
  });

  it('registering twice installs one hook; unregistering removes its listeners', () => {
    const target = fakeServices();
    const before = process.listenerCount('SIGTERM');
    const first = hook(target, []);
    const second = hook(target, []);
    expect(second).toBe(first);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    first();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
