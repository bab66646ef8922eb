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

export class SlidingWindowCounter {
  readonly #windowMs: number;
  readonly #threshold: number;
  readonly #maxKeys: number;
  // Map order is recency order: every hit moves its key to the end, so eviction drops the least recent.
  readonly #entries = new Map<string, Entry>();

  constructor(windowMs: number, threshold: number, maxKeys: number) {
    this.#windowMs = windowMs;
    this.#threshold = threshold;
    this.#maxKeys = maxKeys;
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
    } else {
      this.#entries.delete(key);
      if (entry.window !== window) {
        entry.previous = entry.window === window - 1 ? entry.current : 0;
        entry.current = 0;
        entry.window = window;
      }
    }
    this.#entries.set(key, entry);
    entry.current++;
    this.#trim(window);

    const estimate = entry.previous * previousWeight(now, this.#windowMs) + entry.current;
    const crossed = estimate >= this.#threshold && entry.reported !== window;
    if (crossed) entry.reported = window;
    return { estimate, crossed };
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * Drops the least recent key while over the cap, and up to two expired
   * ones per hit so memory also shrinks when traffic does. Recency order
   * means the scan stops at the first key that is neither.
   */
  #trim(window: number): void {
    let expiredBudget = 2;
    for (const [key, entry] of this.#entries) {
      const over = this.#entries.size > this.#maxKeys;
      if (!over && (expiredBudget-- === 0 || entry.window >= window - 1)) return;
      this.#entries.delete(key);
    }
  }
}
