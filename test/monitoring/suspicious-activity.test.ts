import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  createRedisClient,
  type BulwarkRedis,
  securityEvents,
  suspiciousActivity,
  type SecurityEvent,
  type SuspiciousActivityOptions,
} from '../../src/index.js';
import { SlidingWindowCounter } from '../../src/monitoring/sliding-window.js';
import { redisCommand } from '../../src/stores/redis-client.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { collect } from '../helpers/events.js';
import { PrivateRedis, requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable } from '../helpers/redis-cluster.js';
import {
  REDIS_TARGET_KINDS,
  targetPrefixes,
  RedisTargets,
  type RedisTarget,
} from '../helpers/redis-targets.js';
import { captureWarnings } from '../helpers/warnings.js';

const HOUR = 3_600_000;

const WAIT = { timeout: 5000, interval: 10 };

/**
 * Resolves once Redis holds `hits` counts for `key` and the replies to the
 * counting scripts have been handled: read on the connection the scripts
 * used (replies come in order), then one more round trip on it, so any
 * event a script's reply led to has been emitted.
 */
async function whenCounted(client: BulwarkRedis, key: string, hits: number): Promise<void> {
  await vi.waitUntil(
    async () => (await redisCommand(client, ['HGET', key, 'c'], key)) === String(hits),
    WAIT,
  );
  await redisCommand(client, ['EXISTS', key], key);
}

describe('SlidingWindowCounter', () => {
  it('weights the previous window by how much of it is still inside the sliding window', () => {
    const counter = new SlidingWindowCounter(1000, 1e9, 10);
    for (let i = 0; i < 10; i++) counter.hit('k', 500);
    // At 1250 a quarter of the new window has passed: 10 * 0.75 + 1.
    expect(counter.hit('k', 1250).estimate).toBe(8.5);
    // Two windows later nothing of the old counts is left.
    expect(counter.hit('k', 3100).estimate).toBe(1);
  });

  it('reports a key once per fixed window', () => {
    const counter = new SlidingWindowCounter(1000, 3, 10);
    const crossed = [0, 100, 200, 300, 400].map((t) => counter.hit('k', t).crossed);
    expect(crossed).toEqual([false, false, true, false, false]);
    // Still over in the next window (5 * 0.9 + 1), reported once there too.
    expect(counter.hit('k', 1100).crossed).toBe(true);
    expect(counter.hit('k', 1200).crossed).toBe(false);
  });

  it('holds at most maxKeys keys under a million distinct ones', () => {
    const counter = new SlidingWindowCounter(HOUR, 1000, 5000);
    let largest = 0;
    for (let i = 0; i < 1_000_000; i++) {
      counter.hit(`10.${String(i >> 16)}.${String((i >> 8) & 255)}.${String(i & 255)}`, 1000);
      largest = Math.max(largest, counter.size);
    }
    expect(largest).toBe(5000);
    expect(counter.size).toBe(5000);
  });

  it('keeps a busy key counting while new keys churn through the cap', () => {
    const counter = new SlidingWindowCounter(HOUR, 1e9, 100);
    for (let i = 0; i < 10_000; i++) {
      counter.hit('busy', 1000);
      counter.hit(`churn-${String(i)}`, 1000);
    }
    expect(counter.hit('busy', 1000).estimate).toBe(10_001);
  });

  it('drops the key seen least recently, once maxKeys others have come since', () => {
    const counter = new SlidingWindowCounter(HOUR, 1e9, 100);
    counter.hit('idle', 0);
    for (let i = 0; i < 100; i++) counter.hit(`other-${String(i)}`, 0);
    expect(counter.hit('idle', 0).estimate).toBe(1);
  });

  it('keeps a key while fewer than maxKeys others have come since it was seen', () => {
    const counter = new SlidingWindowCounter(HOUR, 1e9, 100);
    counter.hit('recent', 0);
    for (let i = 0; i < 99; i++) counter.hit(`other-${String(i)}`, 0);
    expect(counter.hit('recent', 0).estimate).toBe(2);
  });
});

describe.each(EXPRESS_VERSIONS)('suspiciousActivity on %s', (_name, factory) => {
  function app(options: SuspiciousActivityOptions, f: ExpressFactory = factory) {
    const a = f();
    a.set('trust proxy', 'loopback');
    const seen = { count: 0 };
    a.use(suspiciousActivity(options));
    a.get('/', (_req, res) => {
      seen.count++;
      res.json({ ok: true });
    });
    return { app: a, seen };
  }

  it('emits once per key per window and never blocks a request', async () => {
    let now = 10 * HOUR;
    const { app: a, seen } = app({ threshold: 3, now: () => now });
    const { events, stop } = collect('suspicious.activity');
    for (let i = 0; i < 6; i++) {
      const res = await request(a).get('/').set('X-Forwarded-For', '203.0.113.9');
      expect(res.status).toBe(200);
    }
    expect(seen.count).toBe(6);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'suspicious.activity',
      reason: 'request_volume',
      ip: '203.0.113.9',
      key: '203.0.113.9',
      count: 3,
      threshold: 3,
      windowMs: HOUR,
    });

    // The next window still carries most of the last one: one more event, once.
    now += HOUR + 1000;
    for (let i = 0; i < 3; i++) await request(a).get('/').set('X-Forwarded-For', '203.0.113.9');
    expect(events).toHaveLength(2);

    // Two windows on, the count starts again from zero.
    now += 2 * HOUR;
    await request(a).get('/').set('X-Forwarded-For', '203.0.113.9');
    await request(a).get('/').set('X-Forwarded-For', '203.0.113.9');
    expect(events).toHaveLength(2);
    stop();
  });

  it('counts each client on its own', async () => {
    const { app: a } = app({ threshold: 2, now: () => 0 });
    const { events, stop } = collect('suspicious.activity');
    await request(a).get('/').set('X-Forwarded-For', '198.51.100.1');
    await request(a).get('/').set('X-Forwarded-For', '198.51.100.2');
    expect(events).toHaveLength(0);
    await request(a).get('/').set('X-Forwarded-For', '198.51.100.2');
    expect(events.map((e) => e.ip)).toEqual(['198.51.100.2']);
    stop();
  });

  it('groups IPv6 clients by /56 so one host cannot hide behind its prefix', async () => {
    const { app: a } = app({ threshold: 3, now: () => 0 });
    const { events, stop } = collect('suspicious.activity');
    for (const ip of ['2001:db8:0:1::1', '2001:db8:0:2::2', '2001:db8:0:3::3']) {
      await request(a).get('/').set('X-Forwarded-For', ip);
    }
    expect(events).toHaveLength(1);
    expect(events[0]!.key).toBe('2001:db8::/56');
    stop();
  });

  it('counts IPv4-mapped IPv6 clients as their IPv4 address', async () => {
    const { app: a } = app({ threshold: 2, now: () => 0 });
    const { events, stop } = collect('suspicious.activity');
    await request(a).get('/').set('X-Forwarded-For', '::ffff:192.0.2.7');
    await request(a).get('/').set('X-Forwarded-For', '192.0.2.7');
    expect(events.map((e) => e.key)).toEqual(['192.0.2.7']);
    stop();
  });

  it('keys by a function, skipping requests it returns no key for', async () => {
    const { app: a, seen } = app({
      threshold: 2,
      now: () => 0,
      keyBy: (req) => req.get('x-tenant'),
    });
    const { events, stop } = collect('suspicious.activity');
    await request(a).get('/');
    await request(a).get('/');
    await request(a).get('/').set('X-Tenant', 'acme');
    await request(a).get('/').set('X-Tenant', 'acme');
    expect(seen.count).toBe(4);
    expect(events.map((e) => e.key)).toEqual(['acme']);
    stop();
  });

  it('hashes over-long keys', async () => {
    const { app: a } = app({ threshold: 1, now: () => 0, keyBy: (req) => req.get('x-tenant') });
    const { events, stop } = collect('suspicious.activity');
    await request(a).get('/').set('X-Tenant', 't'.repeat(500));
    expect(events[0]!.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    stop();
  });

  it('lets the request through when keyBy throws', async () => {
    const warnings = captureWarnings();
    const { app: a, seen } = app({
      keyBy: () => {
        throw new Error('boom');
      },
    });
    const res = await request(a).get('/');
    expect(res.status).toBe(200);
    expect(seen.count).toBe(1);
    warnings.expectOnce('BULWARK_SUSPICIOUS_KEYBY_THREW');
  });
});

describe('suspiciousActivity options', () => {
  it.each([
    [{ threshold: 0 }],
    [{ threshold: -1 }],
    [{ threshold: Number.NaN }],
    [{ threshold: Infinity }],
    [{ threshold: '5' }],
    [{ threshold: null }],
    [{ threshold: {} }],
    [{ threshold: 1.5 }],
    [{ windowMs: 10 }],
    [{ windowMs: '1h' }],
    [{ windowMs: Infinity }],
    [{ maxKeys: 0 }],
    [{ maxKeys: Number.NaN }],
    [{ keyBy: 'user' }],
    [{ keyBy: 42 }],
    [{ ipv6Subnet: 129 }],
    [{ ipv6Subnet: true }],
    [{ store: 'redis' }],
    [{ store: {} }],
    [{ now: 5 }],
    [{ prefix: 7 }],
    [{ threshhold: 5 }],
  ])('refuses %j', (options) => {
    expect(() => suspiciousActivity(options as never)).toThrow(BulwarkConfigError);
  });

  it('accepts ipv6Subnet false', () => {
    expect(suspiciousActivity({ ipv6Subnet: false }).name).toBe('suspiciousActivityMiddleware');
  });
});

const hasRedis = (await requireRedis()) && (await clusterToolsAvailable());
const targets = new RedisTargets();

function replicaOn(f: ExpressFactory, options: SuspiciousActivityOptions) {
  const a = f();
  a.set('trust proxy', 'loopback');
  a.use(suspiciousActivity(options));
  a.get('/', (_req, res) => res.json({ ok: true }));
  return a;
}

const MATRIX = REDIS_TARGET_KINDS.flatMap((kind) =>
  EXPRESS_VERSIONS.map(([name, factory]) => [kind, name, factory] as const),
);

describe.runIf(hasRedis).each(MATRIX)(
  'suspiciousActivity with Redis on a %s, %s',
  (kind, _n, f) => {
    let target: RedisTarget;
    let client: BulwarkRedis;
    const prefixFor = targetPrefixes(targets, kind, (t, c) => {
      target = t;
      client = c;
    });

    it('shares one count across replicas and emits once between them', async () => {
      const options = {
        threshold: 4,
        store: client,
        prefix: prefixFor('suspicious'),
        now: () => 0,
      };
      const replicas = [replicaOn(f, options), replicaOn(f, options)];
      const { events, stop } = collect('suspicious.activity');
      for (let i = 0; i < 8; i++) {
        const res = await request(replicas[i % 2]!)
          .get('/')
          .set('X-Forwarded-For', '192.0.2.44');
        expect(res.status).toBe(200);
      }
      await whenCounted(client, `${options.prefix}192.0.2.44`, 8);
      stop();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ key: '192.0.2.44', count: 4 });
    });

    it('counts each client apart, whichever node holds its key', async () => {
      const prefix = prefixFor('suspicious-many');
      const options = { threshold: 2, store: client, prefix, now: () => 0 };
      const replicas = [replicaOn(f, options), replicaOn(f, options)];
      const ips = Array.from({ length: 12 }, (_, i) => `192.0.2.${String(100 + i)}`);
      const { events, stop } = collect('suspicious.activity');
      for (const ip of ips) {
        for (const app of replicas) {
          expect((await request(app).get('/').set('X-Forwarded-For', ip)).status).toBe(200);
        }
      }
      for (const ip of ips) await whenCounted(client, prefix + ip, 2);
      stop();
      expect(events.map((e) => String(e.key)).sort()).toEqual([...ips].sort());
      expect(await target.keys(prefix)).toEqual(ips.map((ip) => prefix + ip).sort());
    });

    it('sets an expiry on every key it writes', async () => {
      const prefix = prefixFor('suspicious-ttl');
      await request(replicaOn(f, { store: client, prefix, windowMs: 60_000 }))
        .get('/')
        .set('X-Forwarded-For', '192.0.2.45');
      const key = `${prefix}192.0.2.45`;
      // The count is written after the response, so poll for it.
      const ttl = await vi.waitUntil(async () => {
        const left = Number(await target.command(['PTTL', key], key));
        return left > 0 && left;
      }, WAIT);
      expect(ttl).toBeGreaterThan(60_000);
      expect(ttl).toBeLessThanOrEqual(120_000);
      expect(await target.keys(prefix)).toEqual([key]);
    });
  },
);

describe.runIf(hasRedis).each(EXPRESS_VERSIONS)(
  'suspiciousActivity on a private Redis node, %s',
  (_n, f) => {
    describe('when Redis goes away', () => {
      let redis: PrivateRedis;
      beforeAll(async () => {
        redis = await PrivateRedis.start();
      });
      afterAll(async () => {
        await redis.stop();
      });

      it('keeps answering, counts in memory, reports the outage once, and recovers', async () => {
        const client = createRedisClient(redis.url, { maxReconnectDelayMs: 100 });
        await vi.waitUntil(() => client.isReady, WAIT);
        const prefix = uniquePrefix('down');
        const suspicious = collect('suspicious.activity');
        const storeErrors: SecurityEvent[] = [];
        const offErrors = securityEvents.on('rate_limit.store_error', (e) => {
          if (e.component === 'suspiciousActivity') storeErrors.push(e);
        });
        // What had been reported when each request reached its route.
        const seenByRoute: [storeErrors: number, suspicious: number][] = [];
        const a = f();
        a.set('trust proxy', 'loopback');
        a.use(suspiciousActivity({ threshold: 3, store: client, prefix, now: () => 0 }));
        a.get('/', (_req, res) => {
          seenByRoute.push([storeErrors.length, suspicious.events.length]);
          res.json({ ok: true });
        });

        await redis.stop();
        await vi.waitUntil(() => !client.isReady, WAIT);
        for (let i = 0; i < 4; i++) {
          const res = await request(a).get('/').set('X-Forwarded-For', '192.0.2.50');
          expect(res.status).toBe(200);
        }
        // Each request reached its route before its count settled (the first one's
        // failure, the third one's crossing came after): a route never waits for
        // Redis, so an outage cannot slow or hang a response.
        expect(seenByRoute).toEqual([
          [0, 0],
          [1, 0],
          [1, 0],
          [1, 1],
        ]);
        expect(suspicious.events).toHaveLength(1);
        expect(storeErrors).toHaveLength(1);
        expect(storeErrors[0]).toMatchObject({ reason: 'redis_command_failed', store: 'redis' });

        await redis.restart();
        await vi.waitUntil(() => client.isReady, WAIT);
        for (let i = 0; i < 3; i++) {
          expect((await request(a).get('/').set('X-Forwarded-For', '192.0.2.51')).status).toBe(200);
        }
        // Counted in Redis again: the third request crosses the threshold there.
        await vi.waitUntil(() => suspicious.events.length === 2, WAIT);
        expect(await redisCommand(client, ['HGET', `${prefix}192.0.2.51`, 'c'])).toBe('3');
        expect(storeErrors).toHaveLength(1);
        await redis.stop();
        await vi.waitUntil(() => !client.isReady, WAIT);
        await request(a).get('/').set('X-Forwarded-For', '192.0.2.51');
        // A new outage after a success is reported again.
        await vi.waitUntil(() => storeErrors.length === 2, WAIT);

        suspicious.stop();
        offErrors();
        client.destroy();
      });
    });
  },
);
