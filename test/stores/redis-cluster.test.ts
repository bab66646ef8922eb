import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  createRedisClient,
  securityEvents,
  whenRedisReady,
  type BulwarkRedisCluster,
  type SecurityEvent,
} from '../../src/index.js';
import { isRedisCluster, redisCommand } from '../../src/stores/redis-client.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable, RedisClusterFixture } from '../helpers/redis-cluster.js';

const WAIT = { timeout: 20_000, interval: 25 };

/** Keys whose slots are spread over every node of `cluster`, one per node at least. */
async function keysOnEveryNode(cluster: RedisClusterFixture, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  const owners = new Set<number>();
  for (let i = 0; owners.size < cluster.ports.length || keys.length < 12; i++) {
    const key = `${prefix}k${String(i)}`;
    owners.add(await cluster.ownerOf(key));
    keys.push(key);
  }
  return keys;
}

const hasCluster = (await requireRedis()) && (await clusterToolsAvailable());

describe.runIf(hasCluster)('createRedisClient({ cluster })', () => {
  let cluster: RedisClusterFixture;
  const clients: BulwarkRedisCluster[] = [];
  const connect = (options?: Parameters<typeof createRedisClient>[1]) => {
    const client = createRedisClient({ cluster: cluster.urls.slice(0, 1) }, options);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await RedisClusterFixture.start();
  }, 60_000);
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('discovers every node from one URL and routes each key to its owner', async () => {
    const client = connect();
    expect(isRedisCluster(client)).toBe(true);
    expect(await whenRedisReady(client, 10_000)).toBe(true);
    expect(client.masters).toHaveLength(3);
    const keys = await keysOnEveryNode(cluster, uniquePrefix('route'));
    await Promise.all(
      keys.map((key) => redisCommand(client, ['SET', key, key, 'PX', '60000'], key)),
    );
    const values = await Promise.all(keys.map((key) => redisCommand(client, ['GET', key], key)));
    expect(values).toEqual(keys);
  });

  it('follows MOVED after a slot changes owner', async () => {
    const client = connect();
    expect(await whenRedisReady(client, 10_000)).toBe(true);
    const key = `${uniquePrefix('moved')}key`;
    await redisCommand(client, ['SET', key, 'before', 'PX', '60000'], key);
    const from = await cluster.ownerOf(key);
    const to = cluster.ports.find((port) => port !== from) ?? from;
    await cluster.moveSlotOf(key, to);
    expect(await cluster.ownerOf(key)).toBe(to);
    expect(await redisCommand(client, ['GET', key], key)).toBe('before');
    await redisCommand(client, ['SET', key, 'after', 'PX', '60000'], key);
    expect(await redisCommand(client, ['GET', key], key)).toBe('after');
  });

  it('answers every command while a node is down, reports it once, and recovers by itself', async () => {
    const events: SecurityEvent[] = [];
    const off = [
      securityEvents.on('rate_limit.store_error', (e) => events.push(e)),
      securityEvents.on('rate_limit.store_recovered', (e) => events.push(e)),
    ];
    const client = connect({ maxReconnectDelayMs: 100 });
    expect(await whenRedisReady(client, 10_000)).toBe(true);
    const keys = await keysOnEveryNode(cluster, uniquePrefix('down'));
    const victim = await cluster.ownerOf(keys[0] ?? '');
    const owners = await Promise.all(keys.map((key) => cluster.ownerOf(key)));

    await cluster.killNode(victim);
    await vi.waitUntil(() => !client.isReady, WAIT);
    const outcomes = await Promise.allSettled(
      keys.map((key) => redisCommand(client, ['SET', key, 'v', 'PX', '60000'], key)),
    );
    // Every command settled (none hangs); those for the dead node's slots failed.
    outcomes.forEach((outcome, i) => {
      if (owners[i] === victim) expect(outcome.status).toBe('rejected');
    });

    await cluster.startNode(victim);
    await cluster.whenHealthy();
    await vi.waitUntil(() => client.isReady, WAIT);
    const values = await Promise.all(
      keys.map(async (key) => {
        await redisCommand(client, ['SET', key, 'back', 'PX', '60000'], key);
        return redisCommand(client, ['GET', key], key);
      }),
    );
    expect(values.every((v) => v === 'back')).toBe(true);
    for (const stop of off) stop();
    expect(events.map((e) => e.type)).toEqual([
      'rate_limit.store_error',
      'rate_limit.store_recovered',
    ]);
    expect(JSON.stringify(events)).toContain(`127.0.0.1:${String(victim)}`);
  }, 60_000);

  it('keeps trying to discover a cluster that is down at start-up', async () => {
    const client = createRedisClient(
      { cluster: ['redis://127.0.0.1:1', ...cluster.urls.slice(0, 1)] },
      { maxReconnectDelayMs: 100 },
    );
    clients.push(client);
    expect(await whenRedisReady(client, 10_000)).toBe(true);

    const offline = createRedisClient(
      { cluster: ['redis://127.0.0.1:1'] },
      { connectTimeoutMs: 50, maxReconnectDelayMs: 50 },
    );
    clients.push(offline);
    await expect(redisCommand(offline, ['GET', 'k'], 'k')).rejects.toThrow();
    await expect(redisCommand(offline, ['GET', 'k'], 'k')).rejects.toThrow(/not connected/);
    expect(offline.isReady).toBe(false);
  });

  it('keeps the password out of events', async () => {
    const seen: string[] = [];
    const off = securityEvents.on('rate_limit.store_error', (e) => seen.push(JSON.stringify(e)));
    const client = createRedisClient(
      { cluster: ['redis://user:fake-password@127.0.0.1:1'] },
      { connectTimeoutMs: 50 },
    );
    clients.push(client);
    await vi.waitUntil(() => seen.length > 0, WAIT);
    off();
    expect(seen[0]).not.toContain('fake-password');
  });
});

describe('createRedisClient({ cluster }) options', () => {
  it.each([
    [{ cluster: [] }],
    [{ cluster: 'redis://127.0.0.1:7000' }],
    [{ cluster: ['http://127.0.0.1:7000'] }],
    [{ cluster: ['redis://127.0.0.1:7000/2'] }],
    [{ cluster: ['redis://127.0.0.1:7000', 'rediss://127.0.0.1:7001'] }],
    [{ cluster: ['redis://a:fake-one@127.0.0.1:7000', 'redis://a:fake-two@127.0.0.1:7001'] }],
    [{ cluster: ['redis://127.0.0.1:7000'], nodes: [] }],
    [{ cluster: [7000] }],
  ])('refuses %j without echoing a URL', (target) => {
    let error: unknown;
    try {
      createRedisClient(target as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BulwarkConfigError);
    expect(String(error)).not.toContain('fake-');
    expect(String(error)).not.toContain('127.0.0.1');
  });
});
