import { describe, expect, it } from 'vitest';
import { EXPRESS_VERSIONS } from '../helpers/express.js';
import { runNativesFixture } from '../helpers/natives.js';

describe.each(EXPRESS_VERSIONS)('hardened() on a server made by app.listen() (%s)', (name) => {
  it('gives the req and res of concurrent requests one hidden class, where bare Express splits them', async () => {
    expect(await runNativesFixture(import.meta.url, './fixtures/dictionary-mode.ts', name)).toEqual(
      {
        bare: { req: { sameMap: false, fast: true }, res: { sameMap: false, fast: true } },
        hardened: { req: { sameMap: true, fast: false }, res: { sameMap: true, fast: false } },
      },
    );
  }, 60_000);
});
