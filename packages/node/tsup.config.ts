import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  // Each entry is one self-contained file with the core inlined: on a CLI's startup path every
  // extra module costs about a millisecond to resolve and load (see the bench's CLI overhead).
  splitting: false,
  // The core's two entries are inlined; its services engine stays a separate module, imported
  // on the first ServerlessServices.start() (a CLI that never starts them does not parse it).
  noExternal: [/^@telemetry-kit\/core(\/node)?$/],
  // backend.ts resolves the addon relative to itself (import.meta.url), also in the CJS build.
  shims: true,
  external: ['sql.js', '@telemetry-kit/native', '@telemetry-kit/core/node/services-engine'],
  clean: true,
  minify: true,
  silent: true,
  target: 'node20',
  tsconfig: 'tsconfig.json',
});
