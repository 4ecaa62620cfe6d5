import { defineConfig, type Options } from 'tsup';

const shared: Options = {
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts' },
  dts: true,
  minify: true,
  silent: true,
  target: 'node20',
  tsconfig: 'tsconfig.json',
};

export default defineConfig([
  // ESM: shared chunks, so both entries share one copy of module state (exit hooks, session
  // id, the TelemetryError class), and the consolidation code loads only when first needed.
  { ...shared, format: ['esm'], splitting: true },
  // CJS: tsup's code splitting for CJS is experimental and emits invalid code here, so each
  // entry is self-contained. @telemetry-kit/node bundles the core and is unaffected.
  { ...shared, format: ['cjs'], splitting: false },
]);
