import { SECURITY_EVENT_TYPES, type SecurityEvent } from '../events.js';

/** Most distinct (type, reason) series one exporter keeps; later new reasons count under `other`. */
export const MAX_SERIES = 500;
// Reasons are short fixed identifiers; anything else (a value slipped into a reason) is `other`.
const REASON = /^[a-z0-9_.]{1,64}$/;
const KNOWN_TYPES: ReadonlySet<string> = new Set(SECURITY_EVENT_TYPES);

/**
 * The `{type, reason}` labels of a security-event counter, bounded: labels
 * never carry IPs, paths or keys, since each distinct value is a new time
 * series an attacker could mint without limit. One instance per exporter.
 */
export class EventLabels {
  readonly #reasons = new Map<string, Set<string>>();
  #series = 0;

  /** The labels to count `event` under, or `undefined` for a type bulwark does not raise. */
  of(event: SecurityEvent): { type: string; reason: string } | undefined {
    const type: string = event.type;
    if (!KNOWN_TYPES.has(type)) return undefined;
    let seen = this.#reasons.get(type);
    if (seen === undefined) {
      seen = new Set();
      this.#reasons.set(type, seen);
    }
    let reason =
      typeof event.reason === 'string' && REASON.test(event.reason) ? event.reason : 'other';
    if (!seen.has(reason)) {
      // Past the cap every new reason folds into `other`, at most one more series per type.
      if (this.#series >= MAX_SERIES) reason = 'other';
      if (!seen.has(reason)) {
        seen.add(reason);
        this.#series++;
      }
    }
    return { type, reason };
  }
}
