import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  createRedisClient,
  securityEvents,
  whenRedisReady,
} from '../../src/index.js';
import { redisCommand } from '../../src/stores/redis-client.js';
import { PrivateRedis, requireRedis, SHARED_REDIS_URL } from '../helpers/redis.js';

async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

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
    const client = createRedisClient(redis.url, { maxReconnectDelayMs: 100 });
    await until(() => client.isReady);

    await redis.stop();
    await until(() => !client.isReady);
    const started = Date.now();
    await expect(redisCommand(client, ['PING'])).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(errors).toHaveLength(1);
    expect(JSON.stringify(errors[0])).toContain('redis_connection_error');

    await redis.restart();
    await until(() => client.isReady);
    expect(await redisCommand(client, ['PING'])).toBe('PONG');
    off();
    client.destroy();
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
    await until(() => seen.length > 0);
    off();
    client.destroy();
    expect(seen[0]).not.toContain('fake-password');
  });
});

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
