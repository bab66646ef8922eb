import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { warnOnce } from '../internal/warn.js';

interface Entry {
  totalHits: number;
  /** Epoch ms; a number rather than a Date keeps a full store near 20 MB instead of 28. */
  resetAt: number;
}

/**
 * express-rate-limit's `Store` in bounded memory. Its own `MemoryStore` keeps
 * every key seen in the last two windows, so a flood of distinct keys (IPv6
 * subnets, forged user ids behind a custom `keyBy`) grows it without limit.
 * This one holds at most `maxKeys` live counters and evicts the oldest.
 *
 * Every window has the same length and a counter is (re)inserted when its
 * window starts, so the Map's insertion order is also expiry order: expired
 * counters are always at the front and are swept there, in amortised O(1),
 * without a timer.
 */
export class BoundedMemoryStore implements Store {
  readonly localKeys = true;
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  #windowMs = 60_000;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): ClientRateLimitInfo | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.resetAt <= Date.now()) return undefined;
    return { totalHits: entry.totalHits, resetTime: new Date(entry.resetAt) };
  }

  increment(key: string): ClientRateLimitInfo {
    const now = Date.now();
    let entry = this.#entries.get(key);
    if (entry !== undefined && entry.resetAt <= now) {
      this.#entries.delete(key);
      entry = undefined;
    }
    if (entry === undefined) {
      this.#makeRoom(now);
      entry = { totalHits: 0, resetAt: now + this.#windowMs };
      this.#entries.set(key, entry);
    }
    entry.totalHits++;
    return { totalHits: entry.totalHits, resetTime: new Date(entry.resetAt) };
  }

  decrement(key: string): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.totalHits > 0) entry.totalHits--;
  }

  resetKey(key: string): void {
    this.#entries.delete(key);
  }

  resetAll(): void {
    this.#entries.clear();
  }

  shutdown(): void {
    this.#entries.clear();
  }

  #makeRoom(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.resetAt > now && this.#entries.size < this.#maxKeys) return;
      if (entry.resetAt > now) {
        warnOnce(
          'BULWARK_RATE_LIMIT_MEMORY_FULL',
          `A rate-limit memory store reached its cap of ${this.#maxKeys} keys and evicted a live counter; raise \`maxKeys\` or use Redis.`,
        );
      }
      this.#entries.delete(key);
    }
  }
}
