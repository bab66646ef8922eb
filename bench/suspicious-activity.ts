/**
 * Memory and time of suspiciousActivity's counter under hostile traffic:
 * one million distinct IPs (a botnet or spoofed sources), and a thousand IPs
 * sending a thousand requests each. Compares the default cap, a cap as large
 * as the key space, and the naive design the counter replaces (a list of
 * timestamps per IP). Rounds alternate the configurations; medians reported.
 *
 * Run: npm run bench:suspicious   (needs --expose-gc, which the script passes)
 */
import { SlidingWindowCounter } from '../src/monitoring/sliding-window.js';

const WINDOW_MS = 3_600_000;
const THRESHOLD = 1000;
const ROUNDS = 3;

interface Counter {
  readonly size: number;
  hit(key: string, now: number): unknown;
}

/** What the sliding-window counter replaces: every request's time, per IP. */
class TimestampLog implements Counter {
  readonly #log = new Map<string, number[]>();
  get size(): number {
    return this.#log.size;
  }
  hit(key: string, now: number): boolean {
    let times = this.#log.get(key);
    if (times === undefined) {
      times = [];
      this.#log.set(key, times);
    }
    while (times.length > 0 && (times[0] ?? 0) <= now - WINDOW_MS) times.shift();
    times.push(now);
    return times.length >= THRESHOLD;
  }
}

const configs: Record<string, () => Counter> = {
  'sliding, maxKeys 100k (default)': () => new SlidingWindowCounter(WINDOW_MS, THRESHOLD, 100_000),
  'sliding, maxKeys 1M': () => new SlidingWindowCounter(WINDOW_MS, THRESHOLD, 1_000_000),
  'timestamp list, unbounded': () => new TimestampLog(),
};

function ip(i: number): string {
  return `${String(10 + (i >>> 24))}.${String((i >>> 16) & 255)}.${String((i >>> 8) & 255)}.${String(i & 255)}`;
}

const scenarios: Record<string, { distinct: number; repeat: number }> = {
  '1M distinct IPs x 1 request': { distinct: 1_000_000, repeat: 1 },
  '1k IPs x 1k requests': { distinct: 1000, repeat: 1000 },
};

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function measure(make: () => Counter, distinct: number, repeat: number) {
  gc!();
  const base = process.memoryUsage().heapUsed;
  const counter = make();
  let now = 1_000_000;
  const started = process.hrtime.bigint();
  // Keys are made per hit, as from requests, so the strings a counter keeps count against it.
  for (let r = 0; r < repeat; r++) {
    for (let i = 0; i < distinct; i++) counter.hit(ip(i), now++);
  }
  const ns = Number(process.hrtime.bigint() - started) / (distinct * repeat);
  gc!();
  const bytes = process.memoryUsage().heapUsed - base;
  return { bytes, ns, keys: counter.size };
}

console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
for (const [scenario, { distinct, repeat }] of Object.entries(scenarios)) {
  const results = new Map<string, { bytes: number[]; ns: number[]; perKey: number[] }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, make] of Object.entries(configs)) {
      const { bytes, ns, keys } = measure(make, distinct, repeat);
      const entry = results.get(name) ?? { bytes: [], ns: [], perKey: [] };
      entry.bytes.push(bytes);
      entry.ns.push(ns);
      entry.perKey.push(bytes / keys);
      results.set(name, entry);
    }
  }
  const baseline = results.get('sliding, maxKeys 100k (default)');
  const baseBytes = median(baseline?.bytes ?? [1]);
  const baseNs = median(baseline?.ns ?? [1]);
  console.log(`\n${scenario}`);
  console.log(
    '| configuration | heap retained | vs default | bytes / key | ns / hit | vs default |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, { bytes, ns, perKey }] of results) {
    const mb = median(bytes) / 1024 / 1024;
    console.log(
      `| ${name} | ${mb.toFixed(1)} MB | ${(median(bytes) / baseBytes).toFixed(2)}x | ${median(perKey).toFixed(0)} | ${median(ns).toFixed(0)} | ${(median(ns) / baseNs).toFixed(2)}x |`,
    );
  }
}
