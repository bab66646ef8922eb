import { docsUrl } from './docs-url.js';

const warned = new Set<string>();

/**
 * Emits a coded process warning once per process, in the manner of
 * express-rate-limit's `ERR_ERL_*` warnings; filter them with `--no-warnings`
 * or a `process.on('warning')` listener by `code`.
 */
export function warnOnce(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(`${message} See ${docsUrl(`error-codes.md#${code.toLowerCase()}`)}`, {
    type: 'BulwarkWarning',
    code,
  });
}
