import type * as Bulwark from '../../src/index.js';

// The bench servers load bulwark from BULWARK_ENTRY when it is set (the runners point
// it at the built dist/, which is what users run); otherwise from the TypeScript sources.
const entry = process.env.BULWARK_ENTRY ?? new URL('../../src/index.ts', import.meta.url).href;

export const bulwark = (await import(entry)) as typeof Bulwark;
