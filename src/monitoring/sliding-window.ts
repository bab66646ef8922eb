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
 * Counts per key in two generations of at most `ceil(maxKeys / 2)` keys each
 * (the quick-lru scheme): a hit moves its key into the young generation; when
 * that fills, it becomes the old one and the previous old one is dropped
 * whole. Every operation is O(1), the total never exceeds `maxKeys`, and a key
 * seen at least once per generation is never evicted.
 */
export class SlidingWindowCounter {
  readonly #windowMs: number;
  readonly #threshold: number;
  readonly #generation: number;
  #young = new Map<string, Entry>();
  #old = new Map<string, Entry>();

  constructor(windowMs: number, threshold: number, maxKeys: number) {
    this.#windowMs = windowMs;
    this.#threshold = threshold;
    this.#generation = Math.ceil(maxKeys / 2);
  }

  /** Keys currently tracked; never more than `maxKeys`. */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  hit(key: string, now: number): WindowHit {
    const window = Math.floor(now / this.#windowMs);
    const entry = this.#entry(key, window);
    if (entry.window !== window) {
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

  #entry(key: string, window: number): Entry {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const entry = this.#old.get(key) ?? { window, current: 0, previous: 0, reported: -1 };
    this.#old.delete(key);
    this.#young.set(key, entry);
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    return entry;
  }
}
