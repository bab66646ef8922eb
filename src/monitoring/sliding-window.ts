import { LRUCache } from 'lru-cache';

/**
 * Two fixed windows weighted into a sliding one (Cloudflare's approximation):
 * `previous * (1 - elapsed / window) + current`. Each key costs three numbers,
 * whatever its request rate, instead of a list of timestamps.
 */
interface Entry {
  window: number;
  current: number;
  previous: number;
  /** The window in which this key last crossed the threshold. */
  reported: number;
}

export interface WindowHit {
  /** Estimated requests in the sliding window ending now, this one included. */
  estimate: number;
  /** True the first time in a fixed window that the estimate reaches the threshold. */
  crossed: boolean;
}

/** Fraction of the previous window still inside the sliding window at `now`. */
export function previousWeight(now: number, windowMs: number): number {
  return 1 - (now % windowMs) / windowMs;
}

/**
 * Counts per key in an lru-cache of at most `maxKeys` keys: when full, the
 * key seen least recently goes, so a key still sending is never dropped
 * for a flood of new ones. Every operation is O(1).
 */
export class SlidingWindowCounter {
  readonly #windowMs: number;
  readonly #threshold: number;
  readonly #entries: LRUCache<string, Entry>;

  constructor(windowMs: number, threshold: number, maxKeys: number) {
    this.#windowMs = windowMs;
    this.#threshold = threshold;
    this.#entries = new LRUCache({ max: maxKeys });
  }

  /** Keys currently tracked; never more than `maxKeys`. */
  get size(): number {
    return this.#entries.size;
  }

  hit(key: string, now: number): WindowHit {
    const window = Math.floor(now / this.#windowMs);
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { window, current: 0, previous: 0, reported: -1 };
      this.#entries.set(key, entry);
    } else if (entry.window !== window) {
      entry.previous = entry.window === window - 1 ? entry.current : 0;
      entry.current = 0;
      entry.window = window;
    }
    entry.current++;

    const estimate = entry.previous * previousWeight(now, this.#windowMs) + entry.current;
    const crossed = estimate >= this.#threshold && entry.reported !== window;
    if (crossed) entry.reported = window;
    return { estimate, crossed };
  }
}
