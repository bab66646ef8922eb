import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs a fixture (a path relative to `base`, a test's `import.meta.url`) in a
 * child process with V8's natives syntax on, and returns the JSON it printed:
 * V8's own answers about hidden classes, which a test process cannot ask for.
 */
export async function runNativesFixture(
  base: string,
  fixture: string,
  ...args: string[]
): Promise<unknown> {
  const path = fileURLToPath(new URL(fixture, base));
  const { stdout } = await run(
    process.execPath,
    ['--allow-natives-syntax', '--import', 'tsx', path, ...args],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout);
}
