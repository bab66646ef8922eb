import { describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  createRedisClient,
  redisStore,
  whenRedisReady,
} from '../../src/index.js';
import type { BulwarkRedis } from '../../src/index.js';
import { redisCommandOnEveryNode } from '../../src/stores/redis-client.js';
import { hashPart } from '../../src/stores/redis-store.js';
import { PrivateRedis, requireRedis } from '../helpers/redis.js';
import { clusterToolsAvailable } from '../helpers/redis-cluster.js';
import {
  REDIS_TARGET_KINDS,
  RedisTargets,
  targetPrefixes,
  type RedisTarget,
} from '../helpers/redis-targets.js';
import { authStoreSuite } from './auth-store-suite.js';

const hasRedis = (await requireRedis()) && (await clusterToolsAvailable());
const targets = new RedisTargets();

describe.runIf(hasRedis).each(REDIS_TARGET_KINDS)('redisStore on a %s', (kind) => {
  let target: RedisTarget;
  let client: BulwarkRedis;
  const prefixFor = targetPrefixes(targets, kind, (t, c) => {
    target = t;
    client = c;
  });

  authStoreSuite(`redisStore on a ${kind}`, () =>
    Promise.resolve({
      store: redisStore(client, { prefix: prefixFor('store') }),
      advance: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
      shortTtlMs: 150,
      slotBound: kind === 'cluster',
    }),
  );

  it('keeps every key under its prefix', async () => {
    const prefix = prefixFor('prefix');
    const store = redisStore(client, { prefix });
    await store.set('plain', 'v', 60_000);
    await store.createRefreshFamily(
      { familyKey: 'rf:{s}', data: 'd', ttlMs: 60_000 },
      { tokenKey: 'rt:{s}:tok', ttlMs: 60_000 },
    );
    expect(await target.keys(prefix)).toEqual([
      `${prefix}plain`,
      `${prefix}rf:{s}`,
      `${prefix}rt:{s}:tok`,
    ]);
  });

  it('gives every key a lifetime', async () => {
    const prefix = prefixFor('ttl');
    const store = redisStore(client, { prefix });
    const family = { familyKey: 'rf:{s}', revokedKey: 'rs:{s}', revokedTtlMs: 30_000 };
    await store.createRefreshFamily(
      { familyKey: 'rf:{s}', data: 'd', ttlMs: 60_000 },
      { tokenKey: 'rt:{s}:tok', ttlMs: 120_000 },
    );
    await store.rotateRefreshToken(family, 'rt:{s}:tok', {
      tokenKey: 'rt:{s}:next',
      ttlMs: 120_000,
    });
    await store.rotateRefreshToken(family, 'rt:{s}:tok', {
      tokenKey: 'rt:{s}:again',
      ttlMs: 120_000,
    });
    for (const key of ['rf:{s}', 'rt:{s}:tok', 'rt:{s}:next', 'rs:{s}']) {
      const ttl = (await target.command(['PTTL', prefix + key], prefix + key)) as number;
      expect(ttl).toBeGreaterThan(0);
      // A token never outlives its family.
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('reads keys of many slots with getMany, in order', async () => {
    const store = redisStore(client, { prefix: prefixFor('many') });
    const keys = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 0 ? `k{t}${String(i)}` : `k${String(i)}`,
    );
    await Promise.all(
      keys.map((key, i) => (i % 4 === 0 ? Promise.resolve() : store.set(key, key, 60_000))),
    );
    expect(await store.getMany(keys)).toEqual(
      keys.map((key, i) => (i % 4 === 0 ? undefined : key)),
    );
  });

  it('lets one of 20 concurrent refreshes through two clients win, and the other sees it at once', async () => {
    const prefix = prefixFor('two');
    const [a, b] = [redisStore(client, { prefix }), redisStore(await target.client(), { prefix })];
    const family = { familyKey: 'rf:{s2}', revokedKey: 'rs:{s2}', revokedTtlMs: 60_000 };
    await a.createRefreshFamily(
      { familyKey: family.familyKey, data: 'd', ttlMs: 60_000 },
      { tokenKey: 'rt:{s2}:t', ttlMs: 60_000 },
    );
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 === 0 ? a : b).rotateRefreshToken(family, 'rt:{s2}:t', {
          tokenKey: `rt:{s2}:n${String(i)}`,
          ttlMs: 60_000,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'rotated')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'reused')).toHaveLength(19);
    // Revoked through one client, refused through the other with no delay.
    const live = { familyKey: 'rf:{s3}', revokedKey: 'rs:{s3}', revokedTtlMs: 60_000 };
    await a.createRefreshFamily(
      { familyKey: live.familyKey, data: 'd3', ttlMs: 60_000 },
      { tokenKey: 'rt:{s3}:t', ttlMs: 60_000 },
    );
    expect(await a.revokeRefreshFamily(live)).toBe('d3');
    expect(await b.getMany(['jti:x', live.revokedKey])).toEqual([undefined, '1']);
    expect(
      (await b.rotateRefreshToken(live, 'rt:{s3}:t', { tokenKey: 'rt:{s3}:u', ttlMs: 60_000 }))
        .status,
    ).toBe('revoked');
  });

  it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    // The cluster is this file's own; flushing the shared node's script cache would disturb other tests.
    const server = kind === 'cluster' ? undefined : await PrivateRedis.start();
    const own = server === undefined ? await target.client() : createRedisClient(server.url);
    try {
      expect(await whenRedisReady(own, 10_000)).toBe(true);
      const store = redisStore(own, { prefix: prefixFor('noscript') });
      await store.set('c', 'v1');
      expect(await store.replace('c', 'v1', 'v2')).toBe(true);
      await redisCommandOnEveryNode(own, ['SCRIPT', 'FLUSH']);
      expect(await store.replace('c', 'v2', 'v3')).toBe(true);
      expect(await store.get('c')).toBe('v3');
    } finally {
      if (server !== undefined) {
        own.destroy();
        await server.stop();
      }
    }
  });
});

describe('hashPart', () => {
  it.each([
    ['rf:{sid}', 'sid'],
    ['rt:{sid}:abc', 'sid'],
    ['plain', 'plain'],
    ['a{}b{c}', 'a{}b{c}'],
    ['a{b', 'a{b'],
    ['{x}{y}', 'x'],
    ['p:{a}b}', 'a'],
  ])('%s hashes by %s, as Redis Cluster does', (key, part) => {
    expect(hashPart(key)).toBe(part);
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
