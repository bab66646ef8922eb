import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import express from 'express';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createRedisClient,
  rateLimit,
  securityEvents,
  whenRedisReady,
  type BulwarkRedisClient,
  type RateLimitStoreErrorMode,
  type SecurityEvent,
} from '../../src/index.js';
import { PrivateRedis, requireRedis } from '../helpers/redis.js';

const hasRedis = await requireRedis();
const LIMIT = 5;
const PREFIX = 'bulwark-test:outage:';
const WAIT = { timeout: 10_000, interval: 10 };
// A command deadline far beyond the test's own timeout: a request that waited
// on it, instead of being refused at once by the client (no offline queue),
// would fail the test.
const REFUSE_AT_ONCE = { maxReconnectDelayMs: 100, commandTimeoutMs: 60_000 };

interface Answer {
  phase: string;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
}

function storeErrors() {
  const events: SecurityEvent[] = [];
  const off = securityEvents.on('rate_limit.store_error', (e) => {
    if (e.reason === 'store_unavailable') events.push(e);
  });
  return { events, off };
}

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
    const res = await fetch(base, { headers: { 'X-Client': clientId } });
    const body = (await res.json()) as { code?: string };
    return {
      phase,
      status: res.status,
      code: body.code,
      retryAfter: res.headers.get('retry-after'),
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
      await delay(5);
    }
  });
  return {
    answers,
    count: (p: string) => answers.filter((a) => a.phase === p).length,
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
    vi.useRealTimers();
    vi.restoreAllMocks();
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
    '%s: answers at once while Redis is killed mid-traffic, and limits again once it is back',
    async (mode, downStatus) => {
      const { events, off } = storeErrors();
      const client = createRedisClient(redis.url, REFUSE_AT_ONCE);
      // node-redis reports each failed connection attempt as an error.
      let failedConnects = 0;
      client.on('error', () => failedConnects++);
      expect(await whenRedisReady(client)).toBe(true);
      const { server, ask } = await start(client, mode);
      const before = listenerCounts(client);

      const phase = { now: 'up' };
      const load = traffic(ask, phase);
      await vi.waitUntil(() => load.count('up') > 5, WAIT);
      phase.now = 'stopping';
      await redis.stop();
      phase.now = 'down';
      // Traffic through several failed reconnects, as in a real outage.
      const failedAtStop = failedConnects;
      await vi.waitUntil(() => failedConnects >= failedAtStop + 5 && load.count('down') > 20, WAIT);
      // A client seen for the first time while Redis is down.
      const downChecks = [];
      for (let i = 0; i <= LIMIT; i++) downChecks.push(await ask(`down-${mode}`, 'down'));
      await redis.restart();
      phase.now = 'recovering';
      await vi.waitUntil(() => client.isReady, WAIT);
      phase.now = 'back';
      await vi.waitUntil(() => load.count('back') > 5, WAIT);
      await load.stop();
      const afterChecks = [];
      for (let i = 0; i <= LIMIT; i++) afterChecks.push(await ask(`after-${mode}`, 'back'));
      off();

      // Every request was answered (under a 60 s command deadline, so none
      // waited for it), each with the answer of its phase.
      const by = (p: string) => load.answers.filter((a) => a.phase === p);
      expect(by('up').every((a) => a.status === 200)).toBe(true);
      expect(new Set(by('down').map((a) => a.status))).toEqual(new Set([downStatus]));
      expect(by('back').every((a) => a.status === 200)).toBe(true);
      expect(load.answers.every((a) => a.status === 200 || a.status === downStatus)).toBe(true);

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

      // Store errors were reported, but not once per failed request, and
      // came from the refused connection, not from a command deadline.
      expect(events.length).toBeGreaterThanOrEqual(1);
      expect(events.length).toBeLessThanOrEqual(4);
      expect(events.every((e) => e.mode === mode)).toBe(true);
      for (const e of events) expect(e.error).not.toMatch(/timed out/);

      expect(listenerCounts(client)).toEqual(before);
      expect(rejections).toEqual([]);
      await new Promise((r) => server.close(r));
      await client.quit();
    },
  );

  it('starts limiting by itself when Redis was down at start-up', async () => {
    await redis.stop();
    const { events, off } = storeErrors();
    const client = createRedisClient(redis.url, REFUSE_AT_ONCE);
    const { server, ask } = await start(client, 'fail-closed');
    const first = await ask('startup', 'down');
    off();
    expect(first).toMatchObject({ status: 503, code: 'rate_limit.unavailable' });
    // Refused with the failed first connection, not after waiting out the command deadline.
    expect(events).toHaveLength(1);
    expect(events[0]?.error).not.toMatch(/timed out/);

    await redis.restart();
    expect(await whenRedisReady(client, 10_000)).toBe(true);
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await ask('startup', 'back')).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(await (await inspect()).get(`${PREFIX}fn:startup`)).toBe(String(LIMIT + 1));
    expect(rejections).toEqual([]);
    await new Promise((r) => server.close(r));
    await client.quit();
  });

  it('answers at the command deadline when Redis hangs, then leaves it alone for a second', async () => {
    // Only the clock the suspension window reads is frozen; sockets and deadlines run for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    const client = createRedisClient(redis.url, {
      maxReconnectDelayMs: 100,
      commandTimeoutMs: 500,
    });
    expect(await whenRedisReady(client)).toBe(true);
    const { server, ask } = await start(client, 'fail-closed');
    expect((await ask('hang-warm', 'up')).status).toBe(200);

    const admin = await inspect();
    const info = await admin.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    await admin.quit();
    const sent = vi.spyOn(client, 'sendCommand');
    const { events, off } = storeErrors();
    process.kill(pid, 'SIGSTOP');
    try {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => ask(`hang-${String(i)}`, 'hung')),
      );
      const sentWhileHung = sent.mock.calls.length;
      const later = [];
      for (let i = 0; i < 10; i++) later.push(await ask(`hang-later-${String(i)}`, 'hung'));
      off();
      for (const a of [...answers, ...later]) {
        expect(a).toMatchObject({ status: 503, code: 'rate_limit.unavailable' });
      }
      // The client's own deadline answered the hung commands...
      expect(sentWhileHung).toBeGreaterThan(0);
      expect(events[0]?.error).toBe('Redis command timed out after 500 ms');
      // ...and within the second after it Redis is not asked at all, so no request waits again.
      expect(sent.mock.calls.length).toBe(sentWhileHung);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    vi.advanceTimersByTime(1000);
    const statuses = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await ask('hang-after', 'back')).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(rejections).toEqual([]);
    await new Promise((r) => server.close(r));
    await client.quit();
  });
});
