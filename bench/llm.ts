import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import express from 'express';
import {
  circuitBreaker,
  costLimit,
  createRedisClient,
  securityEvents,
  whenRedisReady,
} from '../src/index.js';

// Two questions from the LLM-gateway issue, answered in one run:
// 1. what the circuit breaker adds to a fast upstream call (target: under 5%);
// 2. how many Redis round trips one costLimit charge takes (target: at most one).
securityEvents.setSink(null);

async function upstream(): Promise<{ url: string; close: () => void }> {
  const server = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end('{"output":"ok","usage":{"total_tokens":12}}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${String(port)}/`, close: () => server.close() };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function timeCalls(call: () => Promise<unknown>, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await call();
  return Number(process.hrtime.bigint() - started) / count / 1000;
}

async function breakerOverhead(): Promise<void> {
  const { url, close } = await upstream();
  const direct = async (prompt: string, signal?: AbortSignal) => {
    const res = await fetch(url, { method: 'POST', body: prompt, signal });
    return await res.json();
  };
  const guarded = circuitBreaker((prompt: string, { signal }) => direct(prompt, signal), {
    name: 'bench',
  });
  const rounds = 7;
  const calls = 2000;
  const plain: number[] = [];
  const wrapped: number[] = [];
  await timeCalls(() => direct('warm-up'), 500);
  await timeCalls(() => guarded.call('warm-up'), 500);
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first so drift falls on both.
    if (round % 2 === 0) {
      plain.push(await timeCalls(() => direct('prompt'), calls));
      wrapped.push(await timeCalls(() => guarded.call('prompt'), calls));
    } else {
      wrapped.push(await timeCalls(() => guarded.call('prompt'), calls));
      plain.push(await timeCalls(() => direct('prompt'), calls));
    }
  }
  guarded.shutdown();
  close();
  const p = median(plain);
  const w = median(wrapped);
  console.log(
    'circuit breaker on a local HTTP upstream (µs per call, median of 7 rounds of 2000):',
  );
  console.log(`  direct fetch        ${p.toFixed(1)}`);
  console.log(`  through the breaker ${w.toFixed(1)}  (${((w / p - 1) * 100).toFixed(1)}% added)`);
}

async function chargeRoundTrips(): Promise<void> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = createRedisClient(url);
  if (!(await whenRedisReady(redis))) throw new Error(`no Redis at ${url}`);
  const app = express();
  app.use(express.json());
  const limiter = costLimit({
    cost: () => 1,
    budget: 1_000_000_000,
    keyBy: 'ip',
    store: redis,
    prefix: `bulwark-bench:${String(process.pid)}:`,
  });
  app.post('/', limiter, (_req, res) => res.end());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const probe = createClient({ url });
  await probe.connect();
  // INFO commandstats counts every client of the server: run on an otherwise idle Redis.
  const statsBefore = await probe.info('commandstats');
  const requests = 1000;
  for (let i = 0; i < requests; i++) {
    await fetch(`http://127.0.0.1:${String(port)}/`, { method: 'POST' });
  }
  const statsAfter = await probe.info('commandstats');
  const calls = (stats: string, command: string): number =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  const trips = ['evalsha', 'eval', 'get', 'set', 'incrby', 'pttl', 'pexpire'].map(
    (c) => [c, calls(statsAfter, c) - calls(statsBefore, c)] as const,
  );
  const roundTrips = trips
    .filter(([c]) => c === 'evalsha' || c === 'eval')
    .reduce((sum, [, n]) => sum + n, 0);
  console.log('costLimit on Redis, 1000 charged requests:');
  console.log(`  round trips per charge (EVALSHA + EVAL): ${(roundTrips / requests).toFixed(3)}`);
  console.log(
    `  commands run inside the script: ${trips
      .filter(([c]) => c !== 'evalsha' && c !== 'eval')
      .map(([c, n]) => `${c}=${String(n)}`)
      .join(' ')}`,
  );
  server.close();
  await probe.quit();
  await redis.quit();
}

await breakerOverhead();
await chargeRoundTrips();
