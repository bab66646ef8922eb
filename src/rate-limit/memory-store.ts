import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { LRUCache } from 'lru-cache';
import { warnOnce } from '../internal/warn.js';

interface Entry {
  totalHits: number;
  /** Epoch ms; a number rather than a Date keeps each counter one object smaller. */
  resetAt: number;
}

/**
 * At most `maxKeys` per-key windows, least recently used evicted first, for
 * every limiter that counts in memory (the request limiters' store and
 * costLimit's budgets). Evicting a window still running resets that key's
 * count, so it warns, once per process.
 */
export function boundedWindows<T extends { readonly resetAt: number }>(
  maxKeys: number,
): LRUCache<string, T> {
  return new LRUCache<string, T>({
    max: maxKeys,
    dispose(window, _key, reason) {
      if (reason === 'evict' && window.resetAt > Date.now()) {
        warnOnce(
          'BULWARK_RATE_LIMIT_MEMORY_FULL',
          `A rate-limit memory store reached its cap of ${String(maxKeys)} keys and evicted a live counter; raise \`maxKeys\` or use Redis.`,
        );
      }
    },
  });
}

/**
 * express-rate-limit's `Store` in bounded memory. Its own `MemoryStore` keeps
 * every key seen in the last two windows, so a flood of distinct keys (IPv6
 * subnets, forged user ids behind a custom `keyBy`) grows it without limit.
 * This one is an lru-cache of at most `maxKeys` counters: when full, the
 * counter least recently counted goes. Least recently used rather than
 * oldest: a client still sending keeps its count however many new keys
 * arrive, so a flood of fresh addresses cannot reset a busy client's limit.
 * An expired counter is restarted in place when its key comes back.
 */
export class BoundedMemoryStore implements Store {
  readonly localKeys = true;
  readonly #entries: LRUCache<string, Entry>;
  #windowMs = 60_000;

  constructor(maxKeys: number) {
    this.#entries = boundedWindows(maxKeys);
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  /** Counters held, expired ones not yet dropped included; never more than `maxKeys`. */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): ClientRateLimitInfo | undefined {
    // A peek: reading a count is not the client's activity, so it does not keep the counter.
    const entry = this.#entries.peek(key);
    if (entry === undefined || entry.resetAt <= Date.now()) return undefined;
    return { totalHits: entry.totalHits, resetTime: new Date(entry.resetAt) };
  }

  increment(key: string): ClientRateLimitInfo {
    const now = Date.now();
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { totalHits: 0, resetAt: now + this.#windowMs };
      this.#entries.set(key, entry);
    } else if (entry.resetAt <= now) {
      entry.totalHits = 0;
      entry.resetAt = now + this.#windowMs;
    }
    entry.totalHits++;
    return { totalHits: entry.totalHits, resetTime: new Date(entry.resetAt) };
  }

  decrement(key: string): void {
    const entry = this.#entries.peek(key);
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
}
