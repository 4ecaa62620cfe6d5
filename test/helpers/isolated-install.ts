/**
 * A throwaway install of the built @telemetry-kit/node, to see how it behaves when the native
 * package is absent or replaced: the bundle plus its external dependencies, nothing else.
 */
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './env.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `native`: the source of a fake `@telemetry-kit/native` index.js, or undefined for none. */
export function isolatedInstall(native?: string): string {
  const dir = tempDir('tk-isolated-');
  const modules = join(dir, 'node_modules');
  const pkg = join(modules, '@telemetry-kit', 'node');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(ROOT, 'packages/node/dist'), join(pkg, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'packages/node/package.json'), join(pkg, 'package.json'));
  for (const dependency of ['sql.js', 'detect-libc', 'commander']) {
    symlinkSync(join(ROOT, 'node_modules', dependency), join(modules, dependency), 'dir');
  }
  if (native !== undefined) {
    const fake = join(modules, '@telemetry-kit', 'native');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'package.json'), JSON.stringify({ name: '@telemetry-kit/native', version: '0.1.0', main: 'index.js' }));
    writeFileSync(join(fake, 'index.js'), native);
  }
  cpSync(join(ROOT, 'test/helpers/probe-backend.mjs'), join(dir, 'probe.mjs'));
  return dir;
}
