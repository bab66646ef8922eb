/**
 * What lru-cache costs on the request path, against the plain insertion-ordered
 * Map each bounded structure used before: a memo hit (trusted hosts, verified
 * tokens, redaction key names), a counter bump on a key already held (rate
 * limit, suspicious activity), and a write of a new key into a full map (a
 * flood of distinct clients). Rounds alternate the two; medians of the time
 * per operation and the ratio of rates are reported, so the figure survives a
 * loaded machine.
 *
 * Run: npm run bench:bounded-map
 */
import { LRUCache } from 'lru-cache';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const OPS = 2_000_000;
const CAP = 100_000;
const FLOOD = 50_000;

/** The shape every structure had before: evict the first key of an insertion-ordered Map. */
class MapMemo<V> {
  readonly #entries = new Map<string, V>();
  constructor(readonly limit: number) {}
  get(key: string): V | undefined {
    return this.#entries.get(key);
  }
  set(key: string, value: V): void {
    if (this.#entries.size >= this.limit && !this.#entries.has(key)) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
  }
}

interface Bounded {
  get(key: string): { hits: number } | undefined;
  set(key: string, value: { hits: number }): void;
}

const makers: Record<string, () => Bounded> = {
  'Map, evict first inserted': () => new MapMemo<{ hits: number }>(CAP),
  'lru-cache': () => new LRUCache<string, { hits: number }>({ max: CAP }),
};

const keys = Array.from(
  { length: CAP },
  (_, i) => `10.${String(i >>> 16)}.${String((i >>> 8) & 255)}.${String(i & 255)}`,
);
const fresh = Array.from({ length: FLOOD }, (_, i) => `k${String(i)}`);

function fill(map: Bounded, count: number): void {
  for (let i = 0; i < count; i++) map.set(keys[i]!, { hits: 0 });
}

/** Each case fills the map untimed, then times its operations. */
const cases: Record<string, { fill: number; ops: number; run: (map: Bounded) => void }> = {
  // 16 hot keys, as a memo of Host or Content-Type values sees.
  'memo hit (16 hot keys)': {
    fill: 16,
    ops: OPS,
    run: (map) => {
      for (let i = 0; i < OPS; i++) map.get(keys[i & 15]!)!.hits++;
    },
  },
  'counter bump (full map, 100k keys)': {
    fill: CAP,
    ops: OPS,
    run: (map) => {
      for (let i = 0; i < OPS; i++) map.get(keys[(i * 7919) % CAP]!)!.hits++;
    },
  },
  // Fewer operations: the Map's cost per eviction grows with the evictions before it.
  'new key into a full map': {
    fill: CAP,
    ops: FLOOD,
    run: (map) => {
      for (let i = 0; i < FLOOD; i++) {
        const key = fresh[i]!;
        if (map.get(key) === undefined) map.set(key, { hits: 1 });
      }
    },
  },
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

console.log(
  `Node ${process.version}, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
);
console.log('| case | Map ns/op | lru-cache ns/op | lru-cache ops/s / Map ops/s |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, { fill: count, ops, run }] of Object.entries(cases)) {
  const rates = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [maker, make] of Object.entries(makers)) {
      const map = make();
      fill(map, count);
      const started = process.hrtime.bigint();
      run(map);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rates.set(maker, [...(rates.get(maker) ?? []), ops / seconds]);
    }
  }
  const base = median(rates.get('Map, evict first inserted') ?? []);
  const lru = median(rates.get('lru-cache') ?? []);
  console.log(
    `| ${name} | ${(1e9 / base).toFixed(1)} | ${(1e9 / lru).toFixed(1)} | ${(lru / base).toFixed(2)}x |`,
  );
}
