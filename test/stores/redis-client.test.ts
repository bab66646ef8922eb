import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  createRedisClient,
  rateLimit,
  securityEvents,
  whenRedisReady,
} from '../../src/index.js';
import { redisCommand } from '../../src/stores/redis-client.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';
import { PrivateRedis, requireRedis, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const WAIT = { timeout: 10_000, interval: 25 };

const hasRedis = await requireRedis();

describe.runIf(hasRedis)('createRedisClient', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('connects by itself and runs commands with a deadline', async () => {
    const client = createRedisClient(SHARED_REDIS_URL);
    expect(await whenRedisReady(client)).toBe(true);
    expect(await redisCommand(client, ['PING'])).toBe('PONG');
    await client.quit();
  });

  it('fails fast while Redis is down, reports once, and recovers without a restart', async () => {
    const errors: unknown[] = [];
    const off = securityEvents.on('rate_limit.store_error', (e) => errors.push(e));
    // A deadline longer than the test's own timeout: a command that waited for
    // it instead of failing at once would fail the test.
    const client = createRedisClient(redis.url, {
      maxReconnectDelayMs: 100,
      commandTimeoutMs: 60_000,
    });
    await vi.waitUntil(() => client.isReady, WAIT);

    await redis.stop();
    await vi.waitUntil(() => !client.isReady, WAIT);
    // Refused by the client itself (no offline queue), not timed out.
    await expect(redisCommand(client, ['PING'])).rejects.toThrow('The client is offline');
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toContain('redis_connection_error');

    await redis.restart();
    await vi.waitUntil(() => client.isReady, WAIT);
    expect(await redisCommand(client, ['PING'])).toBe('PONG');
    off();
    client.destroy();
  });

  it('is usable at once: a command sent while it connects waits for the connection', async () => {
    const errors: unknown[] = [];
    const off = securityEvents.on('rate_limit.store_error', (e) => errors.push(e));
    const client = createRedisClient(redis.url);
    expect(client.isReady).toBe(false);
    expect(await redisCommand(client, ['PING'])).toBe('PONG');
    off();
    expect(errors).toEqual([]);
    await client.quit();
  });

  it('reports a store that is not there yet once, fails fast, and reports its recovery once', async () => {
    const late = await PrivateRedis.reserve();
    const errors: unknown[] = [];
    const recovered: unknown[] = [];
    const offError = securityEvents.on('rate_limit.store_error', (e) => errors.push(e));
    const offRecovered = securityEvents.on('rate_limit.store_recovered', (e) => recovered.push(e));
    const client = createRedisClient(late.url, { maxReconnectDelayMs: 100 });
    try {
      await vi.waitUntil(() => errors.length > 0, WAIT);
      await expect(redisCommand(client, ['PING'])).rejects.toThrow(/offline|closed/i);
      expect(recovered).toEqual([]);

      await late.restart();
      await vi.waitUntil(() => client.isReady, WAIT);
      expect(await redisCommand(client, ['PING'])).toBe('PONG');
      expect(errors).toHaveLength(1);
      expect(recovered).toHaveLength(1);
      expect(recovered[0]).toMatchObject({ reason: 'redis_ready', store: 'redis' });
    } finally {
      offError();
      offRecovered();
      client.destroy();
      await late.stop();
    }
  });

  it('whenRedisReady gives up after its timeout while Redis is down', async () => {
    const client = createRedisClient('redis://127.0.0.1:1', { connectTimeoutMs: 50 });
    expect(await whenRedisReady(client, 100)).toBe(false);
    client.destroy();
  });

  it('keeps the password out of events', async () => {
    const seen: string[] = [];
    const off = securityEvents.on('rate_limit.store_error', (e) => seen.push(JSON.stringify(e)));
    const client = createRedisClient('redis://user:fake-password@127.0.0.1:1', {
      connectTimeoutMs: 100,
    });
    await vi.waitUntil(() => seen.length > 0, WAIT);
    off();
    client.destroy();
    expect(seen[0]).not.toContain('fake-password');
  });
});

describe.runIf(hasRedis).each(EXPRESS_VERSIONS)(
  'parts built before Redis connects, on %s',
  (_name, factory) => {
    it('a limiter made with a client still connecting reports nothing and counts from the first request', async () => {
      const errors: unknown[] = [];
      const off = securityEvents.on('rate_limit.store_error', (e) => errors.push(e));
      const client = createRedisClient(SHARED_REDIS_URL);
      const prefix = uniquePrefix('connecting');
      const app = factory();
      app.use(rateLimit({ limit: 2, windowMs: 60_000, store: client, prefix }));
      let handled = 0;
      app.get('/', (_req, res) => {
        handled++;
        res.send('ok');
      });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/')).status);
        expect(statuses).toEqual([200, 200, 429]);
        expect(handled).toBe(2);
        expect(errors).toEqual([]);
      } finally {
        off();
        const keys = (await redisCommand(client, ['KEYS', `${prefix}*`])) as string[];
        if (keys.length > 0) await redisCommand(client, ['DEL', ...keys]);
        await client.quit();
      }
    });
  },
);

describe('createRedisClient options', () => {
  it.each([
    ['http://127.0.0.1:6379', undefined],
    ['redis://127.0.0.1:6379', { commandTimeoutMs: '1s' }],
    ['redis://127.0.0.1:6379', { connectTimeoutMs: 0 }],
    ['redis://127.0.0.1:6379', { offlineQueue: true }],
  ])('refuses %s with %j', (url, options) => {
    expect(() => createRedisClient(url, options as never)).toThrow(BulwarkConfigError);
  });
});
