import { docsUrl } from './docs-url.js';

const warned = new Set<string>();

/**
 * Emits a coded process warning once per process, in the manner of
 * express-rate-limit's `ERR_ERL_*` warnings; filter them with `--no-warnings`
 * or a `process.on('warning')` listener by `code`. `help` is the page the
 * message points to: bulwark's entry for the code unless given.
 */
export function warnOnce(
  code: string,
  message: string,
  help = docsUrl(`error-codes.md#${code.toLowerCase()}`),
): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(`${message} See ${help}`, {
    type: 'BulwarkWarning',
    code,
  });
}
