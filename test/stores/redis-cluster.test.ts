import type { Express } from 'express';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  apiKeyAuth,
  BulwarkConfigError,
  BulwarkError,
  createApiKeyService,
  createRedisClient,
  errorHandler,
  isBulwarkError,
  pingRedis,
  rateLimit,
  readinessRoute,
  RedisClusterNotConnectedError,
  RedisTimeoutError,
  redisStore,
  securityEvents,
  whenRedisReady,
  type BulwarkRedisCluster,
  type SecurityEvent,
} from '../../src/index.js';
import { StoreOutage } from '../../src/rate-limit/outage.js';
import { isRedisCluster, redisCommand } from '../../src/stores/redis-client.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
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
    await expect(redisCommand(offline, ['GET', 'k'], 'k')).rejects.toThrow(
      RedisClusterNotConnectedError,
    );
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

/** A cluster client whose only node refuses connections: discovery never succeeds. */
function offlineCluster(clients: BulwarkRedisCluster[]): BulwarkRedisCluster {
  const client = createRedisClient(
    { cluster: ['redis://127.0.0.1:1'] },
    { connectTimeoutMs: 50, maxReconnectDelayMs: 50 },
  );
  clients.push(client);
  return client;
}

describe('a cluster client no node has answered', () => {
  const clients: BulwarkRedisCluster[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });

  it('rejects a command at once with RedisClusterNotConnectedError, a 503 store.unavailable', async () => {
    const client = offlineCluster(clients);
    // The first command may wait out the first discovery attempt; the next fails at once.
    await redisCommand(client, ['GET', 'k'], 'k').catch(() => undefined);
    const error: unknown = await redisCommand(client, ['GET', 'k'], 'k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisClusterNotConnectedError);
    expect(error).toBeInstanceOf(BulwarkError);
    expect(isBulwarkError(error)).toBe(true);
    expect(error).toMatchObject({
      name: 'RedisClusterNotConnectedError',
      code: 'store.unavailable',
      status: 503,
      message: 'Redis cluster not connected yet',
    });
  });

  // Only a timeout makes a limiter leave the store alone; being a 503 BulwarkError does not.
  it.each([
    { name: 'RedisTimeoutError', make: () => new RedisTimeoutError(5), suspended: true },
    {
      name: 'RedisClusterNotConnectedError',
      make: () => new RedisClusterNotConnectedError(),
      suspended: false,
    },
  ])('a limiter that saw a $name has suspended its store: $suspended', ({ make, suspended }) => {
    const outage = new StoreOutage({
      limiter: 'rateLimit',
      store: 'redis',
      prefix: 'p:',
      mode: 'fail-closed',
    });
    outage.failed(make(), 'increment');
    expect(outage.suspended).toBe(suspended);
  });
});

describe.each(EXPRESS_VERSIONS)(
  'the parts of bulwark on a cluster client no node has answered, on %s',
  (_name, factory) => {
    const clients: BulwarkRedisCluster[] = [];
    afterEach(() => {
      for (const client of clients.splice(0)) client.destroy();
    });

    interface Row {
      part: string;
      mount: (app: Express, client: BulwarkRedisCluster) => void;
      status: number;
      code: string | undefined;
      handlerRuns: boolean;
      /** Whether the part reports the failure as a `rate_limit.store_error`. */
      reported: boolean;
    }
    const limited =
      (mode: 'fail-closed' | 'fail-open') => (app: Express, client: BulwarkRedisCluster) => {
        app.use(rateLimit({ store: client, prefix: uniquePrefix('nc'), onStoreError: mode }));
      };

    // The outage is answered as any other store failure: each part keeps its own answer.
    it.each<Row>([
      {
        part: 'rateLimit, fail-closed',
        mount: limited('fail-closed'),
        status: 503,
        code: 'rate_limit.unavailable',
        handlerRuns: false,
        reported: true,
      },
      {
        part: 'rateLimit, fail-open',
        mount: limited('fail-open'),
        status: 200,
        code: undefined,
        handlerRuns: true,
        reported: true,
      },
      {
        part: 'apiKeyAuth on redisStore',
        mount: (app, client) => {
          app.use(apiKeyAuth({ keys: createApiKeyService({ store: redisStore(client) }) }));
        },
        status: 503,
        code: 'auth.unavailable',
        handlerRuns: false,
        reported: false,
      },
      {
        part: 'next(pingRedis rejection)',
        mount: (app, client) => {
          const ping = pingRedis(client);
          app.use((_req, _res, next) => {
            ping(new AbortController().signal).then(() => {
              next();
            }, next);
          });
        },
        status: 503,
        code: 'store.unavailable',
        handlerRuns: false,
        reported: false,
      },
    ])('$part answers $status', async ({ mount, status, code, handlerRuns, reported }) => {
      const client = offlineCluster(clients);
      await redisCommand(client, ['PING']).catch(() => undefined);
      const events: SecurityEvent[] = [];
      const off = securityEvents.on('rate_limit.store_error', (e) => {
        if (e.reason === 'store_unavailable') events.push(e);
      });
      const app = jsonApp(factory);
      mount(app, client);
      let ran = false;
      app.get('/', (_req, res) => {
        ran = true;
        res.json({ ok: true });
      });
      app.use(errorHandler({ env: 'production' }));
      const res = await request(app)
        .get('/')
        .set('X-API-Key', `bwk_${'0'.repeat(16)}_${'0'.repeat(64)}`);
      off();
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(res.text).not.toContain('not connected');
      expect(ran).toBe(handlerRuns);
      expect(events.length > 0).toBe(reported);
      for (const event of events) expect(event.error).toBe('Redis cluster not connected yet');
    });

    it('readinessRoute answers 503 with the check failed', async () => {
      const client = offlineCluster(clients);
      await redisCommand(client, ['PING']).catch(() => undefined);
      const app = factory();
      app.get('/ready', readinessRoute({ checks: { redis: pingRedis(client) } }));
      const res = await request(app).get('/ready');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'unavailable', checks: { redis: 'failed' } });
    });
  },
);
