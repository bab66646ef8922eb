import { copyFile } from 'node:fs/promises';
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
    // Data read at run time from beside the bundles (index.js, index.cjs and
    // cli.js all sit in dist/), shipped once instead of compiled into each.
    async onSuccess() {
      await copyFile('src/auth/common-passwords.txt', 'dist/common-passwords.txt');
    },
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
