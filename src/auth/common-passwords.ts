import { readFileSync } from 'node:fs';

/**
 * The data file, beside this module in the source tree and beside the bundles
 * in `dist/` (the build copies it there). One copy of ~80 kB serves the ESM,
 * CJS and CLI builds, where a string array was compiled into each of them.
 * Its header says where the entries come from, how they were selected and
 * under which licence.
 */
const FILE = 'common-passwords.txt';

let entries: readonly string[] | undefined;

/**
 * The 10,000 most common passwords that a policy check can still meet, most
 * common first, all lower case. Read and split on the first call (the first
 * policy check or secret-strength check), then kept.
 *
 * @throws {Error} when the data file is missing: a bundler that inlined
 *   bulwark without copying `dist/common-passwords.txt`. Refusing is
 *   safer than a policy that silently stops rejecting common passwords.
 */
export function commonPasswords(): readonly string[] {
  if (entries !== undefined) return entries;
  // import.meta.url is the source file under tsx, and the bundle under dist/
  // (tsup turns it into the file's URL in the CommonJS build).
  const url = new URL(`./${FILE}`, import.meta.url);
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (error) {
    throw new Error(
      `bulwark: cannot read ${FILE}, which must sit beside bulwark's code (${url.href}); ` +
        'when bundling bulwark into your app, copy node_modules/bulwark/dist/' +
        `${FILE} next to the bundle, or leave bulwark external`,
      { cause: error },
    );
  }
  entries = Object.freeze(
    text.split(/\r?\n/).filter((line) => line !== '' && !line.startsWith('#')),
  );
  return entries;
}
