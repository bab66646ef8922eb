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
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashPassword, verifyPassword } from '../src/index.js';

const ROUNDS = 3;
const CONCURRENT = 10;
const PASSWORD = 'FAKE-bench-Password-1';
const RESOLUTION_MS = 10;

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
  wallMs: number[];
  meanDoneMs: number[];
}

async function underLoad(totals: Totals, run: () => Promise<unknown>[]): Promise<void> {
  const monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  monitor.enable();
  // The monitor records nothing until its timer has fired once; drop the idle samples.
  await sleep(RESOLUTION_MS * 3);
  monitor.reset();
  const start = performance.now();
  const done: number[] = [];
  await Promise.all(run().map((p) => p.then(() => done.push(performance.now() - start))));
  totals.wallMs.push(performance.now() - start);
  totals.meanDoneMs.push(done.reduce((a, b) => a + b, 0) / done.length);
  // Let the monitor's timer fire once more so a block that ended the run is recorded.
  await sleep(RESOLUTION_MS * 1.5);
  monitor.disable();
  totals.p50.push(monitor.percentile(50));
  totals.p99.push(monitor.percentile(99));
  totals.max.push(monitor.max);
}

const ms = (ns: number) => (ns / 1e6).toFixed(0);
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
    scenarios.map(([name]) => [name, { p50: [], p99: [], max: [], wallMs: [], meanDoneMs: [] }]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of scenarios) await underLoad(totals.get(name)!, run);
  }

  console.log(
    `${CONCURRENT} concurrent verifications at cost 12 (p50/p99: median of rounds; max: of all rounds)`,
  );
  console.log('  | way | delay p50 | delay p99 | delay max | all 10 done | mean time to answer |');
  console.log('  | --- | --- | --- | --- | --- | --- |');
  const base = totals.get('verifyPassword')!;
  for (const [name] of scenarios) {
    const t = totals.get(name)!;
    console.log(
      `  | ${name} | ${ms(median(t.p50))} ms | ${ms(median(t.p99))} ms | ` +
        `${ms(Math.max(...t.max))} ms | ${median(t.wallMs).toFixed(0)} ms | ` +
        `${median(t.meanDoneMs).toFixed(0)} ms |`,
    );
  }
  const unqueued = totals.get('bcrypt.compare, all in flight')!;
  const sync = totals.get('bcrypt.compareSync')!;
  console.log(
    `\n  p99 delay vs verifyPassword: all in flight ${(median(unqueued.p99) / median(base.p99)).toFixed(1)}x, ` +
      `compareSync ${(median(sync.p99) / median(base.p99)).toFixed(1)}x`,
  );
}

await main();
