import type { Request } from 'express';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import type { RedactionCounts } from '../redaction/categories.js';
import { redactorFor, type RedactOptions } from '../redaction/redact.js';

export interface GuardOutboundOptions {
  /** The request the payload belongs to, for the `llm.redacted` event. */
  req?: Request;
  /** Largest payload, as UTF-8 JSON after redaction, that may leave. @default 262_144 */
  maxBytes?: number;
  /**
   * How the payload is redacted. @default every category: an LLM provider needs
   * no address, key or card number to answer. Pass one options object
   * (not a fresh literal per call) so it is compiled once.
   */
  redaction?: RedactOptions;
}

/** What may leave: the redacted payload, and per category how much was removed (never what). */
export interface GuardedPayload<T> {
  readonly payload: T;
  readonly redacted: RedactionCounts;
  /** Size of the redacted payload as UTF-8 JSON. */
  readonly bytes: number;
}

const KNOWN: KnownKeys<GuardOutboundOptions> = { req: true, maxBytes: true, redaction: true };
const DEFAULT_MAX_BYTES = 262_144;

/**
 * The one call a handler makes before a prompt leaves for a provider:
 * redacts secrets and personal data (provider keys, tokens, emails, IPs,
 * card numbers, credentials in URLs, PEM keys...) anywhere in the payload,
 * refuses a payload larger than `maxBytes` with 413 `request.too_large`, and
 * reports what was removed as counts in one `llm.redacted` event.
 *
 * @param payload any JSON-able value, e.g. `{ messages: [{ role, content }] }`
 * @param [options.maxBytes=262144]
 * @example
 * const { payload, redacted } = guardOutbound({ messages }, { req });
 * const answer = await provider.complete(payload);
 */
export function guardOutbound<T>(payload: T, options?: GuardOutboundOptions): GuardedPayload<T> {
  const check = new OptionChecker('guardOutbound', options, KNOWN);
  const maxBytes = check.number('maxBytes', {
    min: 1,
    max: 64 * 1024 * 1024,
    integer: true,
    default: DEFAULT_MAX_BYTES,
  });
  const redaction = check.raw('redaction');
  if (redaction !== undefined && (typeof redaction !== 'object' || redaction === null)) {
    check.problem('`redaction` must be an object of redact options');
  }
  check.done();
  const req = options?.req;

  const { value, counts } = redactorFor(redaction as RedactOptions | undefined).withReport(payload);
  // JSON.stringify returns undefined for undefined and functions, whatever its type says.
  const json: unknown = JSON.stringify(value);
  const bytes = typeof json === 'string' ? Buffer.byteLength(json, 'utf8') : 0;
  const removed = Object.entries(counts);
  if (removed.length > 0) {
    // Pairs, not `{api_key: 1}`: the event redactor blanks members named like secrets.
    securityEvents.emit('llm.redacted', req, {
      reason: 'outbound_redacted',
      redacted: removed.map(([category, count]) => ({ category, count })),
      bytes,
    });
  }
  if (bytes > maxBytes) {
    throw new BulwarkError('request.too_large', {
      detail: `The prompt is larger than the ${String(maxBytes)} bytes that may be sent upstream.`,
    });
  }
  return { payload: value as T, redacted: counts, bytes };
}
