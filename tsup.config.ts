import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    target: 'node20',
    platform: 'node',
    clean: true,
    splitting: false,
    treeshake: true,
  },
  {
    // The CLI is only ever run as a bin: one ESM file is enough.
    entry: { cli: 'src/config/cli.ts' },
    format: ['esm'],
    target: 'node20',
    platform: 'node',
    splitting: false,
    treeshake: true,
  },
]);
