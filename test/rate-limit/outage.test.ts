import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRedisClient,
  rateLimit,
  securityEvents,
  type BulwarkRedisClient,
  type RateLimitStoreErrorMode,
  type SecurityEvent,
} from '../../src/index.js';
import { PrivateRedis, requireRedis } from '../helpers/redis.js';

const hasRedis = await requireRedis();
const LIMIT = 5;
const PREFIX = 'bulwark-test:outage:';

interface Answer {
  phase: string;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  ms: number;
}

async function until(predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CLIENT_EVENTS = ['error', 'ready', 'end', 'connect', 'reconnecting'] as const;
const PROCESS_EVENTS = ['unhandledRejection', 'uncaughtException', 'warning', 'exit'] as const;

function listenerCounts(client: BulwarkRedisClient): Record<string, number> {
  const emitter = client as unknown as EventEmitter;
  const counts: Record<string, number> = {};
  for (const e of CLIENT_EVENTS) counts[`client:${e}`] = emitter.listenerCount(e);
  for (const e of PROCESS_EVENTS) counts[`process:${e}`] = process.listenerCount(e);
  return counts;
}

/** One limited app on a real port, keyed by the X-Client header. */
async function start(client: BulwarkRedisClient, mode: RateLimitStoreErrorMode) {
  const app = express();
  app.use(
    rateLimit({
      store: client,
      prefix: PREFIX,
      limit: LIMIT,
      onStoreError: mode,
      keyBy: (req) => req.get('X-Client') ?? '',
    }),
  );
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => {
      resolve(s);
    });
  });
  const base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  const ask = async (clientId: string, phase: string): Promise<Answer> => {
    const started = performance.now();
    const res = await fetch(base, { headers: { 'X-Client': clientId } });
    const body = (await res.json()) as { code?: string };
    return {
      phase,
      status: res.status,
      code: body.code,
      retryAfter: res.headers.get('retry-after'),
      ms: performance.now() - started,
    };
  };
  return { server, ask };
}

/**
 * Sends requests from 4 parallel loops, each from a fresh client id, until
 * stopped. A request is filed under a phase only if it started and ended in it.
 */
function traffic(ask: (id: string, phase: string) => Promise<Answer>, phase: { now: string }) {
  const answers: Answer[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const answer = await ask(`traffic-${String(n++)}`, phase.now);
      answers.push(answer.phase === phase.now ? answer : { ...answer, phase: 'transition' });
      await sleep(5);
    }
  });
  return {
    answers,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe.runIf(hasRedis)('rateLimit through a real Redis outage', () => {
  let redis: PrivateRedis;
  let inspector: ReturnType<typeof createClient> | undefined;
  let rejections: unknown[];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis.stop();
  });
  beforeEach(() => {
    rejections = [];
    process.on('unhandledRejection', onRejection);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onRejection);
    if (inspector?.isOpen === true) await inspector.quit();
    inspector = undefined;
  });

  async function inspect(): Promise<ReturnType<typeof createClient>> {
    const client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    inspector = client;
    return client;
  }

  it.each<[RateLimitStoreErrorMode, number]>([
    ['fail-closed', 503],
    ['fail-open', 200],
    ['memory-fallback', 200],
  ])(
    '%s: answers fast while Redis is killed mid-traffic, and limits again once it is back',
    async (mode, downStatus) => {
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('rate_limit.store_error', (e) => {
        if (e.reason === 'store_unavailable') events.push(e);
      });
      const client = createRedisClient(redis.url, { maxReconnectDelayMs: 100 });
      await until(() => client.isReady);
      const { server, ask } = await start(client, mode);
      const before = listenerCounts(client);

      const phase = { now: 'up' };
      const load = traffic(ask, phase);
      await sleep(300);
      phase.now = 'stopping';
      await redis.stop();
      phase.now = 'down';
      await sleep(1500);
      // A client seen for the first time while Redis is down.
      const downChecks = [];
      for (let i = 0; i <= LIMIT; i++) downChecks.push(await ask(`down-${mode}`, 'down'));
      await redis.restart();
      phase.now = 'recovering';
      await until(() => client.isReady);
      await sleep(100);
      phase.now = 'back';
      await sleep(300);
      await load.stop();
      const afterChecks = [];
      for (let i = 0; i <= LIMIT; i++) afterChecks.push(await ask(`after-${mode}`, 'back'));
      off();

      const all = [...load.answers, ...downChecks, ...afterChecks];
      // Every request was answered, and within about a second.
      expect(Math.max(...all.map((a) => a.ms))).toBeLessThan(1000);
      const by = (p: string) => load.answers.filter((a) => a.phase === p);
      expect(by('up').length).toBeGreaterThan(5);
      expect(by('up').every((a) => a.status === 200)).toBe(true);
      expect(by('down').length).toBeGreaterThan(20);
      expect(new Set(by('down').map((a) => a.status))).toEqual(new Set([downStatus]));
      expect(by('back').length).toBeGreaterThan(5);
      expect(by('back').every((a) => a.status === 200)).toBe(true);

      const downStatuses = downChecks.map((a) => a.status);
      if (mode === 'fail-closed') {
        expect(downStatuses.every((s) => s === 503)).toBe(true);
        expect(downChecks[0]).toMatchObject({ code: 'rate_limit.unavailable', retryAfter: '5' });
      } else if (mode === 'fail-open') {
        expect(downStatuses.every((s) => s === 200)).toBe(true);
      } else {
        expect(downStatuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
      }

      // Limiting resumes, in Redis, without restarting the app.
      expect(afterChecks.map((a) => a.status)).toEqual([...Array<number>(LIMIT).fill(200), 429]);
      expect(await (await inspect()).get(`${PREFIX}fn:after-${mode}`)).toBe(String(LIMIT + 1));

      // Store errors were reported, but not once per failed request.
      expect(events.length).toBeGreaterThanOrEqual(1);
      expect(events.length).toBeLessThanOrEqual(4);
      expect(events.every((e) => e.mode === mode)).toBe(true);

      expect(listenerCounts(client)).toEqual(before);
      expect(rejections).toEqual([]);
      await new Promise((r) => server.close(r));
      await client.quit();
    },
  );

  it('starts limiting by itself when Redis was down at start-up', async () => {
    await redis.stop();
    const client = createRedisClient(redis.url, { maxReconnectDelayMs: 100 });
    const { server, ask } = await start(client, 'fail-closed');
    const first = await ask('startup', 'down');
    expect(first).toMatchObject({ status: 503, code: 'rate_limit.unavailable' });
    expect(first.ms).toBeLessThan(1000);

    await redis.restart();
    await until(() => client.isReady);
    await sleep(300);
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await ask('startup', 'back')).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(await (await inspect()).get(`${PREFIX}fn:startup`)).toBe(String(LIMIT + 1));
    expect(rejections).toEqual([]);
    await new Promise((r) => server.close(r));
    await client.quit();
  });

  it('answers within about a second when Redis hangs, and recovers when it resumes', async () => {
    const client = createRedisClient(redis.url, { maxReconnectDelayMs: 100 });
    await until(() => client.isReady);
    const { server, ask } = await start(client, 'fail-closed');
    expect((await ask('hang-warm', 'up')).status).toBe(200);

    const admin = await inspect();
    const info = await admin.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    await admin.quit();
    process.kill(pid, 'SIGSTOP');
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ask(`hang-${String(i)}`, 'hung')),
      );
      const later = [];
      for (let i = 0; i < 10; i++) later.push(await ask(`hang-later-${String(i)}`, 'hung'));
      for (const a of [...answers, ...later]) {
        expect(a).toMatchObject({ status: 503, code: 'rate_limit.unavailable' });
        expect(a.ms).toBeLessThan(1300);
      }
      // After the first timeout Redis is skipped, so later requests do not each wait.
      expect(later.filter((a) => a.ms < 100).length).toBeGreaterThan(5);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await sleep(1100);
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await ask('hang-after', 'back')).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(rejections).toEqual([]);
    await new Promise((r) => server.close(r));
    await client.quit();
  });
});
