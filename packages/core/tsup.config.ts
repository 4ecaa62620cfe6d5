import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  // One copy of module state (session id, exit hooks) shared by both entries.
  splitting: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.json',
});
