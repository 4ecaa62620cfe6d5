/**
 * The house rule of DESIGN.md §2: runtime-agnostic code bundles with esbuild
 * `--platform=neutral` and imports no Node built-in. Bundles an entry that way, checks the code,
 * and imports the bundle so a test can use what it exports.
 */
import { build } from 'esbuild';
import { expect } from 'vitest';

const NODE_BUILTIN_IMPORT = /from\s+["'](node:)?(fs|path|os|crypto|child_process|process|dgram|http|https|net|zlib)["']/;
const REQUIRE_CALL = /require\(["'](node:)?\w+["']\)/;

export async function importNeutralBundle<T>(entry: string): Promise<T> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'neutral',
    format: 'esm',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
  });
  expect(result.errors).toEqual([]);
  const code = result.outputFiles[0]?.text ?? '';
  expect(code).not.toMatch(NODE_BUILTIN_IMPORT);
  expect(code).not.toMatch(REQUIRE_CALL);
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as T;
}
