import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  costLimit,
  loginRateLimit,
  rateLimit,
  RedisTimeoutError,
  type CostLimitOptions,
  type RateLimitOptions,
  type RedisClientLike,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
import { collect } from '../helpers/events.js';
import { limitedApp } from './limited-app.js';
import { captureWarnings } from '../helpers/warnings.js';

// loginRateLimit on a shared store warns once that it has no `usernameKey`.
const LOGIN_PROCESS_KEY = 'BULWARK_LOGIN_LIMIT_PROCESS_KEY';

const PROBLEM = /^application\/problem\+json/;

/**
 * An express-rate-limit `Store` as the ecosystem writes them (rate-limit-mongo,
 * rate-limit-postgresql, ...): async, counting per key, told its window by `init`.
 */
class TestStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  windowMs: number | undefined;
  readonly hits = new Map<string, number>();
  readonly calls = { increment: 0, decrement: 0 };
  /** Thrown by the next increments while set. */
  failWith: Error | undefined;
  /** What `increment` answers instead of a count, while set. */
  answer: ClientRateLimitInfo | undefined;
  withResetTime = true;

  constructor(prefix = 'test:') {
    this.prefix = prefix;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    this.calls.increment++;
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    if (this.answer !== undefined) return Promise.resolve(this.answer);
    const totalHits = (this.hits.get(key) ?? 0) + 1;
    this.hits.set(key, totalHits);
    const resetTime = this.withResetTime ? new Date(Date.now() + (this.windowMs ?? 0)) : undefined;
    return Promise.resolve({ totalHits, resetTime });
  }

  decrement(key: string): Promise<void> {
    this.calls.decrement++;
    this.hits.set(key, (this.hits.get(key) ?? 1) - 1);
    return Promise.resolve();
  }

  resetKey(key: string): Promise<void> {
    this.hits.delete(key);
    return Promise.resolve();
  }
}

/** A store written for express-rate-limit 6 and older: a callback `incr`, no `init`. */
function callbackStore() {
  const hits = new Map<string, number>();
  return {
    hits,
    incr(key: string, done: (error: Error | undefined, hits: number, reset: Date) => void) {
      const n = (hits.get(key) ?? 0) + 1;
      hits.set(key, n);
      setImmediate(() => {
        done(undefined, n, new Date(Date.now() + 30_000));
      });
    },
    decrement(key: string) {
      hits.set(key, (hits.get(key) ?? 1) - 1);
    },
    resetKey(key: string) {
      hits.delete(key);
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe.each(EXPRESS_VERSIONS)(
  'rateLimit with a store the app brings, on %s',
  (_name, factory) => {
    it('counts in it, with the same headers, 429 and Retry-After', async () => {
      const store = new TestStore();
      const { app, state } = limitedApp(factory, { limit: 2, windowMs: 30_000, store });
      expect(store.windowMs).toBe(30_000);
      const first = await request(app).get('/');
      expect(first.status).toBe(200);
      expect(first.headers.ratelimit).toBe('"2-in-30s"; r=1; t=30');
      expect(first.headers['ratelimit-policy']).toMatch(
        /^"2-in-30s"; q=2; w=30; pk=:[A-Za-z0-9+/=]+:$/,
      );
      await request(app).get('/');
      const limited = await request(app).get('/');
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(PROBLEM);
      expect(limited.body).toMatchObject({ status: 429, code: 'rate_limit.exceeded' });
      expect(limited.headers['retry-after']).toBe('30');
      expect(state.handled).toBe(2);
      expect(store.hits.get('ip:127.0.0.1')).toBe(3);
    });

    it('drives a store with a callback incr (express-rate-limit 6 and older)', async () => {
      const store = callbackStore();
      const { app, state } = limitedApp(factory, { limit: 1, store });
      const ok = await request(app).get('/');
      expect(ok.status).toBe(200);
      expect(ok.headers.ratelimit).toBe('"1-in-60s"; r=0; t=30');
      const limited = await request(app).get('/');
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('rate_limit.exceeded');
      expect(state.handled).toBe(1);
      expect(store.hits.get('ip:127.0.0.1')).toBe(2);
    });

    it('announces the whole window when the store gives no reset time', async () => {
      const store = new TestStore();
      store.withResetTime = false;
      const { app } = limitedApp(factory, { limit: 1, windowMs: 45_000, store });
      expect((await request(app).get('/')).headers.ratelimit).toBe('"1-in-45s"; r=0; t=45');
      expect((await request(app).get('/')).headers['retry-after']).toBe('45');
    });

    it.each([
      ['fail-closed', [503, 503, 503], 0],
      ['fail-open', [200, 200, 200], 3],
      ['memory-fallback', [200, 200, 429], 2],
    ] as const)(
      'answers by onStoreError %s while the store fails',
      async (mode, statuses, handled) => {
        const store = new TestStore();
        store.failWith = new Error('connection refused');
        const { app, state } = limitedApp(factory, { limit: 2, store, onStoreError: mode });
        const { events, stop } = collect('rate_limit.store_error');
        const answers = [];
        for (let i = 0; i < 3; i++) answers.push(await request(app).get('/'));
        stop();
        expect(answers.map((a) => a.status)).toEqual(statuses);
        expect(state.handled).toBe(handled);
        for (const refused of answers.filter((a) => a.status !== 200)) {
          expect(refused.headers['content-type']).toMatch(PROBLEM);
          expect(refused.body.code).toBe(
            refused.status === 503 ? 'rate_limit.unavailable' : 'rate_limit.exceeded',
          );
        }
        if (mode === 'fail-closed') expect(answers[0]?.headers['retry-after']).toBe('5');
        expect(events[0]).toMatchObject({
          reason: 'store_unavailable',
          limiter: 'rateLimit',
          store: 'TestStore',
          mode,
          operation: 'increment',
        });
      },
    );

    it.each<[string, unknown]>([
      ['NaN', Number.NaN],
      ['0', 0],
      ['a fraction', 1.5],
      ['a string', '1'],
    ])('treats a count of %s from the store as an outage, not as a pass', async (_case, hits) => {
      const store = new TestStore();
      store.answer = { totalHits: hits as number, resetTime: undefined };
      const { app, state } = limitedApp(factory, { limit: 5, store });
      const res = await request(app).get('/');
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('rate_limit.unavailable');
      expect(state.handled).toBe(0);
    });

    it('takes a skip function that answers with a promise', async () => {
      const store = new TestStore();
      const { app, state } = limitedApp(factory, {
        limit: 1,
        store,
        skip: (req) => Promise.resolve(req.get('X-Internal') === 'yes'),
      });
      for (let i = 0; i < 3; i++) {
        expect((await request(app).get('/').set('X-Internal', 'yes')).status).toBe(200);
      }
      expect((await request(app).get('/')).status).toBe(200);
      const limited = await request(app).get('/');
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('rate_limit.exceeded');
      expect(state.handled).toBe(4);
      expect(store.calls.increment).toBe(2);
    });

    it('sends an error thrown by skip to the error handler, without running the route', async () => {
      const app = factory();
      let handled = 0;
      app.use(
        rateLimit({
          store: new TestStore(),
          skip: () => Promise.reject(new Error('skip failed')),
        }),
      );
      app.get('/', (_req, res) => {
        handled++;
        res.end();
      });
      app.use(
        (
          _error: unknown,
          _req: unknown,
          res: { status: (n: number) => { end: () => void } },
          _next: unknown,
        ) => {
          res.status(500).end();
        },
      );
      expect((await request(app).get('/')).status).toBe(500);
      expect(handled).toBe(0);
    });
  },
);

describe('rateLimit store outages, on a frozen clock', () => {
  it('leaves a store that timed out alone for a second, answering at once, then tries it again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = new TestStore();
    const timeout = new Error('operation timed out');
    timeout.name = 'TimeoutError';
    store.failWith = timeout;
    const { app, state } = limitedApp(EXPRESS_VERSIONS[0][1], { store, limit: 5 });

    const first = await request(app).get('/');
    expect(first.status).toBe(503);
    expect(first.body.code).toBe('rate_limit.unavailable');
    store.failWith = undefined;
    // Within the second after the timeout the store is not asked at all.
    vi.advanceTimersByTime(999);
    const suspended = await request(app).get('/');
    expect(suspended.status).toBe(503);
    expect(suspended.body.code).toBe('rate_limit.unavailable');
    expect(store.calls.increment).toBe(1);

    vi.advanceTimersByTime(1);
    expect((await request(app).get('/')).status).toBe(200);
    expect(store.calls.increment).toBe(2);
    expect(state.handled).toBe(1);
  });

  it('does not suspend a store after an error that is not a timeout', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = new TestStore();
    store.failWith = new Error('connection refused');
    const { app } = limitedApp(EXPRESS_VERSIONS[0][1], { store });
    expect((await request(app).get('/')).status).toBe(503);
    store.failWith = undefined;
    expect((await request(app).get('/')).status).toBe(200);
    expect(store.calls.increment).toBe(2);
  });
});

describe('rateLimit store checks', () => {
  it.each<[string, unknown]>([
    [
      'no decrement',
      { increment: () => ({ totalHits: 1, resetTime: undefined }), resetKey: () => undefined },
    ],
    [
      'no resetKey',
      { increment: () => ({ totalHits: 1, resetTime: undefined }), decrement: () => undefined },
    ],
    [
      'an init that is not a function',
      {
        increment: () => undefined,
        decrement: () => undefined,
        resetKey: () => undefined,
        init: 5,
      },
    ],
    ['a callback store without resetKey', { incr: () => undefined, decrement: () => undefined }],
  ])('refuses a store with %s', (_case, store) => {
    expect(() => rateLimit({ store } as RateLimitOptions)).toThrow(BulwarkConfigError);
    expect(() => rateLimit({ store } as RateLimitOptions)).toThrow('`Store` interface');
  });

  it('refuses one store instance for two limiters, counting only limiters actually made', () => {
    const store = new TestStore();
    expect(() => rateLimit({ store, limit: -1 })).toThrow(BulwarkConfigError);
    expect(() => rateLimit({ store })).not.toThrow();
    expect(() => rateLimit({ store })).toThrow('already used by another limiter');
  });

  it('reports a failed init as a store error', async () => {
    const { events, stop } = collect('rate_limit.store_error');
    const store = new TestStore();
    store.init = () => Promise.reject(new Error('no such table'));
    rateLimit({ store });
    await new Promise((r) => setImmediate(r));
    stop();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ operation: 'init', error: 'no such table' });
  });

  it("warns with express-rate-limit's code when two limiters count one request under one key", async () => {
    const warnings = captureWarnings();
    const app = EXPRESS_VERSIONS[0][1]();
    app.use(rateLimit({ store: new TestStore('shared:') }));
    app.use(rateLimit({ store: new TestStore('shared:') }));
    app.use(rateLimit({ store: new TestStore('other:') }));
    app.get('/', (_req, res) => res.end());
    await request(app).get('/');
    expect(warnings.codes()).toEqual(['ERR_ERL_DOUBLE_COUNT']);
  });

  it('refuses a store for loginRateLimit unless its per-IP limiter is off', () => {
    const warnings = captureWarnings();
    expect(() => loginRateLimit({ store: new TestStore() })).toThrow('two limiters');
    expect(() => loginRateLimit({ store: new TestStore(), ipLimit: false })).not.toThrow();
    warnings.expectOnce(LOGIN_PROCESS_KEY);
  });

  it('costLimit refuses an express-rate-limit store: it cannot charge a cost', () => {
    expect(() =>
      costLimit({
        cost: () => 1,
        budget: 10,
        store: new TestStore(),
      } as unknown as CostLimitOptions),
    ).toThrow(BulwarkConfigError);
  });
});

describe.each(EXPRESS_VERSIONS)(
  'loginRateLimit on a store the app brings, on %s',
  (_name, factory) => {
    it('gives back the count of a successful login', async () => {
      const warnings = captureWarnings();
      const store = new TestStore();
      const app = jsonApp(factory);
      let attempts = 0;
      app.post('/login', loginRateLimit({ store, limit: 2, ipLimit: false }), (req, res) => {
        attempts++;
        const ok = (req.body as { password?: string }).password === 'right-test';
        res.status(ok ? 200 : 401).json({});
      });
      for (let i = 0; i < 3; i++) {
        expect(
          (await request(app).post('/login').send({ username: 'u', password: 'right-test' }))
            .status,
        ).toBe(200);
      }
      expect(store.calls.decrement).toBe(3);
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push(
          (await request(app).post('/login').send({ username: 'u', password: 'x' })).status,
        );
      }
      expect(statuses).toEqual([401, 401, 429]);
      expect(attempts).toBe(5);
      warnings.expectOnce(LOGIN_PROCESS_KEY);
    });
  },
);

describe('costLimit store outages, on a frozen clock', () => {
  it('leaves Redis alone for a second after a timeout, so fail-closed answers at once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let sent = 0;
    const hanging: RedisClientLike = {
      sendCommand: () => {
        sent++;
        return Promise.reject(new RedisTimeoutError(1000));
      },
    };
    const app = jsonApp(EXPRESS_VERSIONS[0][1]);
    let handled = 0;
    app.post(
      '/',
      costLimit({ cost: () => 1, budget: 10, keyBy: 'ip', store: hanging }),
      (_req, res) => {
        handled++;
        res.end();
      },
    );
    const { events, stop } = collect('rate_limit.store_error');
    const first = await request(app).post('/').send({});
    const sentFirst = sent;
    vi.advanceTimersByTime(500);
    const second = await request(app).post('/').send({});
    stop();
    for (const res of [first, second]) {
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('rate_limit.unavailable');
      expect(res.headers['retry-after']).toBe('5');
    }
    expect(sentFirst).toBeGreaterThan(0);
    expect(sent).toBe(sentFirst);
    expect(handled).toBe(0);
    expect(events[0]).toMatchObject({ limiter: 'cost', store: 'redis', operation: 'charge' });
    vi.advanceTimersByTime(500);
    await request(app).post('/').send({});
    expect(sent).toBeGreaterThan(sentFirst);
  });

  it('groups IPv6 clients by ipv6Subnet', async () => {
    const app = jsonApp(EXPRESS_VERSIONS[0][1]);
    app.set('trust proxy', 'loopback');
    app.post(
      '/',
      costLimit({ cost: () => 5, budget: 5, keyBy: 'ip', ipv6Subnet: 64 }),
      (_req, res) => res.end(),
    );
    const from = (ip: string) => request(app).post('/').set('X-Forwarded-For', ip).send({});
    expect((await from('2001:db8:0:1::1')).status).toBe(200);
    expect((await from('2001:db8:0:2::1')).status).toBe(200);
    const refused = await from('2001:db8:0:1::2');
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limit.budget_exceeded');
  });
});
