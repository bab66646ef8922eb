import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/dictionary-mode.ts', import.meta.url));

describe.each(EXPRESS_VERSIONS)('hardened() on a server made by app.listen() (%s)', (name) => {
  it('gives the req and res of concurrent requests one hidden class, where bare Express splits them', async () => {
    // V8's own answer, from a child process with natives syntax on.
    const { stdout } = await run(
      process.execPath,
      ['--allow-natives-syntax', '--import', 'tsx', FIXTURE, name],
      { timeout: 60_000 },
    );
    expect(JSON.parse(stdout)).toEqual({
      bare: { req: { sameMap: false, fast: true }, res: { sameMap: false, fast: true } },
      hardened: { req: { sameMap: true, fast: false }, res: { sameMap: true, fast: false } },
    });
  }, 60_000);
});
