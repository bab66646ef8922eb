/**
 * What a factory remembers per string it has met (a Host header, a
 * Content-Type, a key name, a token): bounded, so a stream of distinct values
 * cannot grow it. When full, the oldest entry goes, so the values in steady
 * use stay. Strings longer than `maxKeyLength` are not kept at all: they are
 * rare in honest traffic and the costliest to hold.
 */
export class Memo<V> {
  readonly #entries = new Map<string, V>();
  readonly #limit: number;
  readonly #maxKeyLength: number;

  constructor(limit: number, maxKeyLength = Infinity) {
    this.#limit = limit;
    this.#maxKeyLength = maxKeyLength;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > this.#maxKeyLength) return;
    const entries = this.#entries;
    if (entries.size >= this.#limit && !entries.has(key)) {
      const oldest = entries.keys().next();
      if (oldest.done !== true) entries.delete(oldest.value);
    }
    entries.set(key, value);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
