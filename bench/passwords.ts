/**
 * Password hashing cost and what it does to everyone else's requests.
 *
 *   npm run bench:passwords
 *
 * 1. Hashing throughput of `hashPassword` at cost 10 and 12 (alternating).
 * 2. Event-loop delay (perf_hooks monitorEventLoopDelay) while 10 verifications
 *    at cost 12 run at once, three ways, alternating:
 *    - `verifyPassword` (bcryptjs async API, one bcrypt operation at a time);
 *    - `bcrypt.compare` called directly, all 10 in flight together;
 *    - `bcrypt.compareSync`, each in its own macrotask as separate requests would be.
 */
import bcrypt from 'bcryptjs';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashPassword, verifyPassword } from '../src/index.js';

const ROUNDS = 3;
const CONCURRENT = 10;
const PASSWORD = 'FAKE-bench-Password-1';
const RESOLUTION_MS = 1;
const PROBE_MS = 5;

const bcryptVersion = (
  JSON.parse(
    readFileSync(new URL('../node_modules/bcryptjs/package.json', import.meta.url), 'utf8'),
  ) as { version: string }
).version;

async function hashesPerSecond(cost: number, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await hashPassword(PASSWORD, { cost });
  return count / ((performance.now() - start) / 1000);
}

interface Totals {
  p50: number[];
  p99: number[];
  max: number[];
  waitP50: number[];
  waitP99: number[];
  wallMs: number[];
  meanDoneMs: number[];
}

/**
 * Models small requests arriving every PROBE_MS whatever the loop is doing, and
 * records how long each waited for the loop. Unlike the event-loop delay
 * histogram, which takes one sample per timer run, a 10 s block counts as the
 * 2,000 requests it kept waiting.
 */
function startProbe(): () => RecordableHistogram {
  const waits = createHistogram();
  const start = performance.now();
  let served = 0;
  let timer: NodeJS.Timeout | undefined;
  const serve = () => {
    const now = performance.now();
    for (; start + served * PROBE_MS <= now; served++) {
      waits.record(Math.max(1, Math.round((now - (start + served * PROBE_MS)) * 1000)));
    }
  };
  const tick = () => {
    serve();
    timer = setTimeout(tick, PROBE_MS);
  };
  timer = setTimeout(tick, PROBE_MS);
  return () => {
    clearTimeout(timer);
    serve();
    return waits;
  };
}

async function underLoad(totals: Totals, run: () => Promise<unknown>[]): Promise<void> {
  const monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  monitor.enable();
  // The monitor records nothing until its timer has run once.
  await sleep(RESOLUTION_MS * 5);
  const stopProbe = startProbe();
  const start = performance.now();
  const done: number[] = [];
  await Promise.all(run().map((p) => p.then(() => done.push(performance.now() - start))));
  totals.wallMs.push(performance.now() - start);
  totals.meanDoneMs.push(done.reduce((a, b) => a + b, 0) / done.length);
  // Let the monitor's timer run once more so a block that ended the run is recorded.
  await sleep(RESOLUTION_MS * 5);
  monitor.disable();
  const waits = stopProbe();
  totals.p50.push(monitor.percentile(50) / 1e6);
  totals.p99.push(monitor.percentile(99) / 1e6);
  totals.max.push(monitor.max / 1e6);
  totals.waitP50.push(waits.percentile(50) / 1000);
  totals.waitP99.push(waits.percentile(99) / 1000);
}

const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;

async function main(): Promise<void> {
  console.log(
    `Node ${process.version}, ${os.cpus().length} cores, bcryptjs ${bcryptVersion}, ${ROUNDS} rounds\n`,
  );

  const rates: Record<number, number[]> = { 10: [], 12: [] };
  for (let round = 0; round < ROUNDS; round++) {
    rates[10]?.push(await hashesPerSecond(10, 8));
    rates[12]?.push(await hashesPerSecond(12, 2));
  }
  const rate10 = median(rates[10] ?? []);
  const rate12 = median(rates[12] ?? []);
  console.log('hashPassword throughput (one thread; median of rounds)');
  console.log(`  cost 10: ${rate10.toFixed(1)} hashes/s (${(1000 / rate10).toFixed(0)} ms each)`);
  console.log(`  cost 12: ${rate12.toFixed(1)} hashes/s (${(1000 / rate12).toFixed(0)} ms each)`);
  console.log(`  cost 12 / cost 10 time: ${(rate10 / rate12).toFixed(2)}x\n`);

  const hash = await hashPassword(PASSWORD);
  const scenarios: [string, () => Promise<unknown>[]][] = [
    [
      'verifyPassword',
      () => Array.from({ length: CONCURRENT }, () => verifyPassword(PASSWORD, hash)),
    ],
    [
      'bcrypt.compare, all in flight',
      () => Array.from({ length: CONCURRENT }, () => bcrypt.compare(PASSWORD, hash)),
    ],
    [
      'bcrypt.compareSync',
      () =>
        Array.from(
          { length: CONCURRENT },
          () =>
            new Promise<boolean>((resolve) => {
              setImmediate(() => {
                resolve(bcrypt.compareSync(PASSWORD, hash));
              });
            }),
        ),
    ],
  ];
  const totals = new Map<string, Totals>(
    scenarios.map(([name]) => [
      name,
      { p50: [], p99: [], max: [], waitP50: [], waitP99: [], wallMs: [], meanDoneMs: [] },
    ]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of scenarios) await underLoad(totals.get(name)!, run);
  }

  console.log(`${CONCURRENT} concurrent verifications at cost 12 (medians of rounds; max of all)`);
  console.log(
    '  | way | loop delay p50 | p99 | max | 5 ms-request wait p50 | p99 | all 10 done | mean answer |',
  );
  console.log('  | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name] of scenarios) {
    const t = totals.get(name)!;
    console.log(
      `  | ${name} | ${ms(median(t.p50))} | ${ms(median(t.p99))} | ${ms(Math.max(...t.max))} | ` +
        `${ms(median(t.waitP50))} | ${ms(median(t.waitP99))} | ` +
        `${ms(median(t.wallMs))} | ${ms(median(t.meanDoneMs))} |`,
    );
  }
  const base = totals.get('verifyPassword')!;
  for (const [name] of scenarios.slice(1)) {
    const t = totals.get(name)!;
    console.log(
      `  ${name} vs verifyPassword: loop delay p99 ${(median(t.p99) / median(base.p99)).toFixed(1)}x, ` +
        `request wait p99 ${(median(t.waitP99) / median(base.waitP99)).toFixed(1)}x, ` +
        `mean answer ${(median(t.meanDoneMs) / median(base.meanDoneMs)).toFixed(2)}x`,
    );
  }
}

await main();
