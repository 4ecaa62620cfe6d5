import { defineConfig, type Options } from 'tsup';

const shared: Options = {
  // The services engine (codecs, sockets) is its own entry, loaded by ServerlessServices on
  // start() through the package's own name, so that a bundle of the entries above never holds it.
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'node/services-engine': 'src/node/services/services-engine.ts' },
  external: ['@telemetry-kit/core/node/services-engine'],
  // Inlined into the services engine: loaded from node_modules they cost ~40 ms of module
  // resolution and compilation at the first start() (protobufjs alone is ~30 CommonJS files).
  noExternal: ['protobufjs', '@msgpack/msgpack'],
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
