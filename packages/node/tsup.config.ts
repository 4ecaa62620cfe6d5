import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  splitting: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.json',
  external: ['@telemetry-kit/core', '@telemetry-kit/native'],
});
