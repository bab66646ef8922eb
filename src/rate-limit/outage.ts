import type { NextFunction, Response } from 'express';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { sendProblem } from '../internal/problem.js';
import { RedisTimeoutError } from '../stores/redis-client.js';

/** What a limiter does when its store fails. */
export type RateLimitStoreErrorMode = 'fail-closed' | 'fail-open' | 'memory-fallback';

export const STORE_ERROR_MODES = ['fail-closed', 'fail-open', 'memory-fallback'] as const;

// Store errors are reported at most this often per limiter; the rest are counted.
const REPORT_INTERVAL_MS = 1000;
// After a timeout, the store is left alone this long: requests fail fast instead of each waiting
// out the deadline, and commands stop piling up on a connection that accepts bytes but never answers.
const SUSPEND_AFTER_TIMEOUT_MS = 1000;
// How long a client is asked to wait while the store is down: about one reconnect back-off.
const UNAVAILABLE_RETRY_AFTER_SECONDS = '5';

/** Stands for the store call skipped while the store is suspended after a timeout. */
export const SUSPENDED = new Error('store skipped after a command timed out');

function isTimeout(error: unknown): boolean {
  return (
    error instanceof RedisTimeoutError || (error instanceof Error && error.name === 'TimeoutError')
  );
}

/** Who is reporting: every `rate_limit.store_error` event carries these. */
export interface OutageSource {
  readonly limiter: string;
  /** `'redis'`, or the class name of a store the user brought. */
  readonly store: string;
  readonly prefix: string;
  readonly mode: RateLimitStoreErrorMode;
}

/**
 * The one outage policy of every bulwark limiter (rateLimit, loginRateLimit,
 * costLimit), whatever it counts in:
 *
 * - after a command times out the store is suspended for a second, so
 *   fail-closed answers at once instead of every request waiting out the
 *   command deadline, then it is tried again;
 * - failures become `rate_limit.store_error` events, at most one a second,
 *   each carrying how many failures it stands for;
 * - `fail-closed` answers 503 `rate_limit.unavailable` with `Retry-After`,
 *   `fail-open` lets the request through; `memory-fallback` is the caller's
 *   own counting in memory.
 */
export class StoreOutage {
  readonly #source: OutageSource;
  readonly #unavailable = new BulwarkError('rate_limit.unavailable', {
    detail: 'The rate limiter is temporarily unavailable. Retry later.',
    headers: { 'Retry-After': UNAVAILABLE_RETRY_AFTER_SECONDS },
  });
  #suspendedUntil = 0;
  #lastReport = Number.NEGATIVE_INFINITY;
  #unreported = 0;

  constructor(source: OutageSource) {
    this.#source = source;
  }

  /** True while the store is left alone after a timeout. */
  get suspended(): boolean {
    return Date.now() < this.#suspendedUntil;
  }

  /** Records one failed store operation. */
  failed(error: unknown, operation: string): void {
    const now = Date.now();
    if (isTimeout(error)) this.#suspendedUntil = now + SUSPEND_AFTER_TIMEOUT_MS;
    this.#unreported++;
    if (now - this.#lastReport < REPORT_INTERVAL_MS) return;
    const failures = this.#unreported;
    this.#lastReport = now;
    this.#unreported = 0;
    const { limiter, store, prefix, mode } = this.#source;
    securityEvents.emit('rate_limit.store_error', undefined, {
      reason: 'store_unavailable',
      limiter,
      store,
      prefix,
      operation,
      mode,
      failures,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  /** Answers a request that could not be counted, by `fail-open` or `fail-closed`. */
  answer(res: Response, next: NextFunction): void {
    if (this.#source.mode === 'fail-open') next();
    else sendProblem(res, this.#unavailable);
  }
}
