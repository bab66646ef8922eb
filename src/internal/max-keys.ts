import type { OptionChecker } from './options.js';

/** Options that name their cap `maxKeys` and still accept the former name `maxEntries`. */
interface CapOptions {
  maxKeys?: number;
  maxEntries?: number;
}

/**
 * Reads a cap given as `maxKeys` (the name every bounded store uses) or as
 * its former name `maxEntries`; both at once is a problem, since they could
 * disagree and neither would silently win.
 */
export function maxKeysOption(
  check: OptionChecker<CapOptions>,
  rule: { min: number; max: number; integer: true; default: number },
): number {
  if (check.has('maxKeys') && check.has('maxEntries')) {
    check.problem('give `maxKeys` or its former name `maxEntries`, not both');
  }
  return check.has('maxEntries') ? check.number('maxEntries', rule) : check.number('maxKeys', rule);
}
