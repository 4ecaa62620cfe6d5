import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  // Each entry is one self-contained file with the core inlined: on a CLI's startup path every
  // extra module costs about a millisecond to resolve and load (see the bench's CLI overhead).
  splitting: false,
  noExternal: ['@telemetry-kit/core'],
  // backend.ts resolves the addon relative to itself (import.meta.url), also in the CJS build.
  shims: true,
  external: ['sql.js', '@telemetry-kit/native'],
  clean: true,
  minify: true,
  silent: true,
  target: 'node20',
  tsconfig: 'tsconfig.json',
});
