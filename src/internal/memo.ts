import { LRUCache } from 'lru-cache';

// lru-cache holds no null values; a memo may remember "this value parses to nothing".
const NULL = Symbol('null');

/**
 * What a factory remembers per string it has met (a Host header, a
 * Content-Type, a key name, a token): an lru-cache, so a stream of distinct
 * values cannot grow it and the values in steady use stay (the least recently
 * used entry goes first). Strings longer than `maxKeyLength` are not kept at
 * all: they are rare in honest traffic and the costliest to hold.
 */
export class Memo<V> {
  readonly #cache: LRUCache<string, NonNullable<V> | typeof NULL>;
  readonly #maxKeyLength: number;

  constructor(limit: number, maxKeyLength = Infinity) {
    this.#cache = new LRUCache({ max: limit });
    this.#maxKeyLength = maxKeyLength;
  }

  get(key: string): V | undefined {
    const value = this.#cache.get(key);
    // V includes null whenever NULL was stored, since only set() stores it.
    return value === NULL ? (null as V) : value;
  }

  set(key: string, value: V): void {
    if (key.length > this.#maxKeyLength) return;
    this.#cache.set(key, value ?? NULL);
  }

  delete(key: string): void {
    this.#cache.delete(key);
  }
}
