import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BulwarkConfigError, createRedisClient, redisStore } from '../../src/index.js';
import type { BulwarkRedisClient } from '../../src/index.js';
import { redisCommand } from '../../src/stores/redis-client.js';
import { PrivateRedis, requireRedis, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { authStoreSuite } from './auth-store-suite.js';

const hasRedis = await requireRedis();

describe.runIf(hasRedis)('redisStore', () => {
  let client: BulwarkRedisClient;
  beforeAll(async () => {
    client = createRedisClient(SHARED_REDIS_URL);
    const deadline = Date.now() + 5000;
    while (!client.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(async () => {
    await client.quit();
  });

  authStoreSuite('redisStore', () =>
    Promise.resolve({
      store: redisStore(client, { prefix: uniquePrefix('store') }),
      advance: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
      shortTtlMs: 150,
    }),
  );

  it('keeps every key under its prefix', async () => {
    const prefix = uniquePrefix('prefix');
    const store = redisStore(client, { prefix });
    await store.set('plain', 'v', 60_000);
    await store.createRefreshFamily(
      { familyKey: 'fam', data: 'd', ttlMs: 60_000 },
      { tokenKey: 'tok', ttlMs: 60_000 },
    );
    const keys = (await redisCommand(client, ['KEYS', `${prefix}*`])) as string[];
    expect(keys.sort()).toEqual([`${prefix}fam`, `${prefix}plain`, `${prefix}tok`]);
  });

  it('gives every key a lifetime', async () => {
    const prefix = uniquePrefix('ttl');
    const store = redisStore(client, { prefix });
    const family = { familyKey: 'fam', revokedKey: 'mark', revokedTtlMs: 30_000 };
    await store.createRefreshFamily(
      { familyKey: 'fam', data: 'd', ttlMs: 60_000 },
      { tokenKey: 'tok', ttlMs: 120_000 },
    );
    await store.rotateRefreshToken(family, 'tok', { tokenKey: 'next', ttlMs: 120_000 });
    await store.rotateRefreshToken(family, 'tok', { tokenKey: 'again', ttlMs: 120_000 });
    for (const key of ['fam', 'tok', 'next', 'mark']) {
      const ttl = (await redisCommand(client, ['PTTL', prefix + key])) as number;
      expect(ttl).toBeGreaterThan(0);
      // A token never outlives its family.
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    // A private server: flushing the shared one's script cache would disturb other tests.
    const server = await PrivateRedis.start();
    const own = createRedisClient(server.url);
    try {
      while (!own.isReady) await new Promise((r) => setTimeout(r, 20));
      const store = redisStore(own, { prefix: uniquePrefix('noscript') });
      await store.set('c', 'v1');
      expect(await store.replace('c', 'v1', 'v2')).toBe(true);
      await redisCommand(own, ['SCRIPT', 'FLUSH']);
      expect(await store.replace('c', 'v2', 'v3')).toBe(true);
      expect(await store.get('c')).toBe('v3');
    } finally {
      own.destroy();
      await server.stop();
    }
  });
});

describe('redisStore options', () => {
  const fakeClient = { sendCommand: () => Promise.resolve(null) };
  it.each([
    [fakeClient, { prefix: '' }],
    [fakeClient, { prefix: 5 }],
    [fakeClient, { prefix: null }],
    [fakeClient, { prefx: 'a:' }],
    [{}, { prefix: 'a:' }],
    [null, undefined],
  ])('refuses %j with %j', (client, options) => {
    expect(() => redisStore(client as never, options as never)).toThrow(BulwarkConfigError);
  });
});
