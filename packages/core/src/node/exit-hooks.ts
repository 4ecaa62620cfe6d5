/**
 * One `exit` listener per process, however many clients exist, so a program that builds many
 * clients never trips the max-listeners warning. Listeners run synchronously at exit.
 */
const flushes = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const flush of flushes) {
    try {
      flush();
    } catch {
      // An exit handler must never turn a clean exit into a crash.
    }
  }
}

export function onProcessExit(flush: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', runAll);
  }
  flushes.add(flush);
  return () => {
    flushes.delete(flush);
  };
}
