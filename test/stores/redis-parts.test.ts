import express from 'express';
import request from 'supertest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { costLimit, createApiKeyService, redisStore, type BulwarkRedis } from '../../src/index.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable } from '../helpers/redis-cluster.js';
import { REDIS_TARGET_KINDS, RedisTargets, type RedisTarget } from '../helpers/redis-targets.js';

// The Redis-backed parts that keep exact counts or shared records, through two
// clients (two replicas), on a single node and on a cluster.

const hasRedis = (await requireRedis()) && (await clusterToolsAvailable());
const targets = new RedisTargets();
const WAIT = { timeout: 5000, interval: 20 };

describe.runIf(hasRedis).each(REDIS_TARGET_KINDS)('Redis-backed parts on a %s', (kind) => {
  let target: RedisTarget;
  let clients: BulwarkRedis[];
  beforeAll(async () => {
    target = await targets.get(kind);
    clients = [await target.client(), await target.client()];
  }, 60_000);

  it('costLimit never overspends: 60 parallel charges of 1 through two clients admit exactly 10', async () => {
    const prefix = uniquePrefix('cost');
    let handled = 0;
    const agents = clients.map((store) => {
      const app = express();
      app.use(costLimit({ cost: () => 1, budget: 10, keyBy: 'ip', store, prefix }));
      app.get('/', (_req, res) => {
        handled++;
        res.json({ ok: true });
      });
      return request.agent(app);
    });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (agents[i % 2] ?? agents[0])!.get('/')),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(50);
    expect(handled).toBe(10);
    expect(await target.keys(prefix)).toHaveLength(1);
    await target.clear(prefix);
  });

  it('API keys: issued through one client, verified, tracked and listed through the other', async () => {
    const prefix = uniquePrefix('keys');
    const [a, b] = clients.map((c) =>
      createApiKeyService({ store: redisStore(c, { prefix }), lastUsedIntervalMs: 1 }),
    );
    const issued = await Promise.all(
      ['ci', 'deploy', 'backup'].map((name) => a!.issue({ name, scopes: ['complete'] })),
    );
    for (const key of issued) expect((await b!.verify(key.key)).scopes).toEqual(['complete']);
    // Use is recorded after the answer, so wait for it to show.
    const listed = await vi.waitUntil(async () => {
      const keys = await a!.list();
      return keys.every((k) => k.lastUsedAt instanceof Date) && keys;
    }, WAIT);
    expect(listed.map((k) => k.name).sort()).toEqual(['backup', 'ci', 'deploy']);
    expect(await b!.revoke(issued[0]!.id)).toBe(true);
    await expect(a!.verify(issued[0]!.key)).rejects.toMatchObject({ code: 'auth.invalid_api_key' });
    await target.clear(prefix);
  });
});
