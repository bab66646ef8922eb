import type { Request } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  costLimit,
  createRedisClient,
  securityEvents,
  whenRedisReady,
  type BulwarkRedis,
  type CostLimitOptions,
  type SecurityEvent,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp, type ExpressFactory } from '../helpers/express.js';
import { PrivateRedis, requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable } from '../helpers/redis-cluster.js';
import {
  REDIS_TARGET_KINDS,
  targetPrefixes,
  RedisTargets,
  type RedisTarget,
} from '../helpers/redis-targets.js';
import { captureWarnings } from '../helpers/warnings.js';

const byBody = (req: Request): number => (req.body as { max_tokens: number }).max_tokens;

function gateway(factory: ExpressFactory, options: Partial<CostLimitOptions>, actual?: number) {
  const app = jsonApp(factory);
  const limiter = costLimit({ cost: byBody, budget: 10, keyBy: 'ip', ...options });
  const state = { handled: 0 };
  app.post('/complete', limiter, async (req, res) => {
    state.handled += 1;
    if (actual !== undefined) await limiter.settle(req, actual);
    res.json({ ok: true });
  });
  return { app, state, limiter };
}

function spend(app: ReturnType<typeof gateway>['app'], maxTokens: unknown) {
  return request(app).post('/complete').send({ max_tokens: maxTokens });
}

describe.each(EXPRESS_VERSIONS)('costLimit on %s', (_name, factory) => {
  it('lets each request spend its own cost until the budget is gone', async () => {
    const { app, state } = gateway(factory, {});
    const first = await spend(app, 6);
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"cost";q=10;w=60');
    expect(first.headers.ratelimit).toMatch(/^"cost";r=4;t=\d+$/);
    expect((await spend(app, 4)).status).toBe(200);

    const events: SecurityEvent[] = [];
    const off = securityEvents.on('rate_limit.budget_exceeded', (e) => events.push(e));
    const refused = await spend(app, 1);
    off();
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limit.budget_exceeded');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers.ratelimit).toMatch(/r=0;/);
    expect(state.handled).toBe(2);
    expect(events[0]).toMatchObject({ reason: 'budget_spent', cost: 1, budget: 10 });
  });

  it('refuses a request that costs more than the whole budget without charging it', async () => {
    const { app, state } = gateway(factory, {});
    const res = await spend(app, 11);
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('rate_limit.budget_exceeded');
    expect((await spend(app, 10)).status).toBe(200);
    expect(state.handled).toBe(1);
  });

  it.each([[-1], [1.5], [null], ['5'], [1e300], [{}]])(
    'answers 400 validation.failed for the cost %j and never charges it',
    async (value) => {
      const { app, state } = gateway(factory, {});
      const res = await spend(app, value);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation.failed');
      expect(state.handled).toBe(0);
    },
  );

  it('settle refunds what was charged but not used', async () => {
    const { app } = gateway(factory, {}, 2);
    await spend(app, 8);
    const res = await spend(app, 8);
    expect(res.status).toBe(200);
  });

  it('settle charges a larger actual cost in full, past the budget', async () => {
    const { app } = gateway(factory, {}, 30);
    expect((await spend(app, 1)).status).toBe(200);
    const res = await spend(app, 1);
    expect(res.status).toBe(429);
  });

  it('settle refuses a malformed actual cost', async () => {
    const { limiter } = gateway(factory, {});
    await expect(limiter.settle(Object.create(null) as Request, Number.NaN)).rejects.toMatchObject({
      code: 'validation.failed',
    });
  });

  it('keyBy apiKey falls back to the IP when no verified key is present', async () => {
    const { app } = gateway(factory, { keyBy: 'apiKey' });
    await request(app).post('/complete').set('X-API-Key', 'bogus-1').send({ max_tokens: 10 });
    const res = await request(app)
      .post('/complete')
      .set('X-API-Key', 'bogus-2')
      .send({ max_tokens: 1 });
    expect(res.status).toBe(429);
  });
});

describe('costLimit options', () => {
  const cost = () => 1;
  it.each([
    [{ budget: 10 }],
    [{ cost, budget: 0 }],
    [{ cost, budget: -5 }],
    [{ cost, budget: Number.NaN }],
    [{ cost, budget: '10' }],
    [{ cost, budget: 1.5 }],
    [{ cost, budget: 10, windowMs: 0 }],
    [{ cost, budget: 10, keyBy: 'header' }],
    [{ cost, budget: 10, store: 'redis' }],
    [{ cost, budget: 10, onStoreError: 'ignore' }],
    [{ cost, budget: 10, budgett: 5 }],
    [{ cost, budget: 10, onStoreError: 'memory-fallback', env: 'production' }],
    [{ cost: 5, budget: 10 }],
    [{ cost, budget: 10, windowMs: 30 * 86_400_000 + 1 }],
    [{ cost, budget: 10, windowMs: 1.5 }],
    [{ cost, budget: 10, ipv6Subnet: 128 }],
    [{ cost, budget: 10, maxKeys: 0 }],
    [{ cost, budget: 10, skip: 'yes' }],
    [{ cost, budget: 10, prefix: '' }],
  ])('refuses %j', (options) => {
    expect(() => costLimit(options as never)).toThrow(BulwarkConfigError);
  });

  it("takes the limiters' window rule, and budgets of up to 30 days", () => {
    expect(() => costLimit({ cost, budget: 10, windowMs: 1 })).not.toThrow();
    expect(() => costLimit({ cost, budget: 10, windowMs: 30 * 86_400_000 })).not.toThrow();
  });

  it('takes memory-fallback in production only when dangerously allowed, like the limiters', () => {
    const deadRedis = { sendCommand: () => Promise.reject(new Error('down')) };
    expect(() =>
      costLimit({
        cost,
        budget: 10,
        store: deadRedis,
        onStoreError: 'memory-fallback',
        env: 'production',
        dangerouslyAllowMemoryFallbackInProduction: true,
      }),
    ).not.toThrow();
  });
});

describe('costLimit memory store', () => {
  it('holds at most maxKeys budgets, dropping the least recently charged first, with a warning', async () => {
    const warnings = captureWarnings();
    const app = jsonApp(EXPRESS_VERSIONS[0][1]);
    app.post(
      '/',
      costLimit({ cost: () => 10, budget: 10, maxKeys: 2, keyBy: (req) => req.get('X-Who') ?? '' }),
      (_req, res) => res.end(),
    );
    const as = (who: string) => request(app).post('/').set('X-Who', who).send({});
    for (const who of ['a', 'b']) expect((await as(who)).status).toBe(200);
    expect((await as('a')).status).toBe(429);
    // A third key evicts b, the least recently charged: b starts a fresh budget, a does not.
    expect((await as('c')).status).toBe(200);
    expect((await as('b')).status).toBe(200);
    expect((await as('c')).status).toBe(429);
    expect(warnings.codes()).toEqual(['BULWARK_RATE_LIMIT_MEMORY_FULL']);
  });
});

const hasRedis = (await requireRedis()) && (await clusterToolsAvailable());
const targets = new RedisTargets();

describe.runIf(hasRedis).each(REDIS_TARGET_KINDS)('costLimit on Redis on a %s', (kind) => {
  let target: RedisTarget;
  let redis: BulwarkRedis;
  const prefixFor = targetPrefixes(targets, kind, (t, c) => {
    target = t;
    redis = c;
  });

  it('never overspends: 100 parallel charges of 1 against a budget of 10 admit exactly 10', async () => {
    const prefix = prefixFor('cost');
    // Two limiters on one Redis stand for two replicas.
    const replicas = [0, 1].map(() => {
      const { app, state } = gateway(EXPRESS_VERSIONS[0][1], { store: redis, prefix });
      return { agent: request.agent(app), state };
    });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        replicas[i % 2]!.agent.post('/complete').send({ max_tokens: 1 }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(90);
    expect(replicas[0]!.state.handled + replicas[1]!.state.handled).toBe(10);
    const keys = await target.keys(prefix);
    expect(keys).toHaveLength(1);
    expect(await target.command(['GET', keys[0]!], keys[0])).toBe('10');
    const ttl = Number(await target.command(['PTTL', keys[0]!], keys[0]));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('settles in Redis', async () => {
    const prefix = prefixFor('cost-settle');
    const { app } = gateway(EXPRESS_VERSIONS[0][1], { store: redis, prefix }, 1);
    expect((await spend(app, 9)).status).toBe(200);
    expect((await spend(app, 9)).status).toBe(200);
    expect((await spend(app, 9)).status).toBe(429);
    const keys = await target.keys(prefix);
    expect(keys).toHaveLength(1);
    // Two charges of 9 settled at 1 each; the refused one was never charged.
    expect(await target.command(['GET', keys[0]!], keys[0])).toBe('2');
  });

  it('keeps one budget per client apart, whichever node holds its key', async () => {
    const prefix = prefixFor('cost-many');
    const app = jsonApp(EXPRESS_VERSIONS[0][1]);
    app.set('trust proxy', 'loopback');
    const limiter = costLimit({ cost: byBody, budget: 10, keyBy: 'ip', store: redis, prefix });
    app.post('/complete', limiter, (_req, res) => res.json({ ok: true }));
    const ips = Array.from({ length: 12 }, (_, i) => `192.0.2.${String(20 + i)}`);
    const charge = (ip: string, cost: number) =>
      request(app).post('/complete').set('X-Forwarded-For', ip).send({ max_tokens: cost });
    for (const ip of ips) expect((await charge(ip, 10)).status).toBe(200);
    for (const ip of ips) expect((await charge(ip, 1)).status).toBe(429);
    const keys = await target.keys(prefix);
    expect(keys).toHaveLength(ips.length);
    for (const key of keys) expect(await target.command(['GET', key], key)).toBe('10');
  });
});

describe.runIf(hasRedis)('costLimit on a private Redis node', () => {
  describe('while Redis is down', () => {
    let redis: PrivateRedis;
    beforeAll(async () => {
      redis = await PrivateRedis.start();
    });
    afterAll(async () => {
      await redis.stop();
    });

    it.each([
      ['fail-closed', 503, 0],
      ['fail-open', 200, 1],
      ['memory-fallback', 200, 1],
    ] as const)('%s answers %i quickly and recovers by itself', async (mode, status, handled) => {
      const client = createRedisClient(redis.url, { maxReconnectDelayMs: 100 });
      expect(await whenRedisReady(client)).toBe(true);
      const { app, state } = gateway(EXPRESS_VERSIONS[0][1], {
        store: client,
        prefix: uniquePrefix('cost'),
        onStoreError: mode,
      });
      const errors: SecurityEvent[] = [];
      const off = securityEvents.on('rate_limit.store_error', (e) => errors.push(e));
      await redis.stop();

      const res = await spend(app, 1);
      expect(res.status).toBe(status);
      if (status === 503) expect(res.body.code).toBe('rate_limit.unavailable');
      expect(state.handled).toBe(handled);
      const reported = errors.find((e) => e.limiter === 'cost');
      expect(reported).toMatchObject({ mode, store: 'redis', operation: 'charge' });
      // The answer came from the refused connection, not from waiting out a command deadline
      // (how a hung Redis is answered at once is tested in test/rate-limit/stores.test.ts).
      expect(reported?.error).not.toMatch(/timed out/);

      if (mode === 'memory-fallback') {
        expect((await spend(app, 9)).status).toBe(200);
        expect((await spend(app, 1)).status).toBe(429);
      }

      await redis.restart();
      expect(await whenRedisReady(client)).toBe(true);
      expect((await spend(app, 10)).status).toBe(200);
      expect((await spend(app, 1)).status).toBe(429);
      off();
      client.destroy();
    });
  });
});
