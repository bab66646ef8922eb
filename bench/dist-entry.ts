import { existsSync } from 'node:fs';

/**
 * The built bundle, for the bench servers to load through BULWARK_ENTRY: what users
 * run, rather than the sources through tsx's loader. The npm scripts build it first.
 */
export function distEntry(): Record<string, string> {
  const url = new URL('../dist/index.js', import.meta.url);
  if (!existsSync(url)) throw new Error('dist/index.js is missing: run `npm run build` first');
  return { BULWARK_ENTRY: url.href };
}
