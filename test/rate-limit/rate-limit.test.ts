import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BulwarkConfigError,
  hardened,
  loadConfig,
  rateLimit,
  type HardenedOptions,
  type RateLimitOptions,
  type RedisClientLike,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
import { collect } from '../helpers/events.js';
import { limitedApp } from './limited-app.js';
import { captureWarnings } from '../helpers/warnings.js';

const PROBLEM = /^application\/problem\+json/;

/** An app whose one route counts how often the handler ran. */
/** A Redis client whose every command fails, as node-redis does with the offline queue off. */
const deadRedis: RedisClientLike = {
  sendCommand: () => Promise.reject(new Error('The client is closed')),
};

afterEach(() => {
  vi.unstubAllEnvs();
});

describe.each(EXPRESS_VERSIONS)('rateLimit on %s', (_name, factory) => {
  it('answers 429 after the limit, with RateLimit headers and a problem body, without running the handler', async () => {
    const { app, state } = limitedApp(factory, { limit: 3 });
    const { events, stop } = collect('rate_limit.exceeded');
    const agent = request(app);
    for (let i = 1; i <= 3; i++) {
      const ok = await agent.get('/');
      expect(ok.status).toBe(200);
      expect(ok.headers.ratelimit).toBe(`"3-in-60s"; r=${3 - i}; t=60`);
      expect(ok.headers['ratelimit-policy']).toMatch(
        /^"3-in-60s"; q=3; w=60; pk=:[A-Za-z0-9+/=]+:$/,
      );
    }
    const limited = await agent.get('/');
    await agent.get('/');
    stop();

    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(PROBLEM);
    expect(limited.body).toMatchObject({ status: 429, code: 'rate_limit.exceeded' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers.ratelimit).toBe('"3-in-60s"; r=0; t=60');
    expect(Object.keys(limited.headers).filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);
    expect(state.handled).toBe(3);
    // One event per key and window, however many requests are refused.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      reason: 'limit_exceeded',
      keyKind: 'ip',
      limit: 3,
      ip: '127.0.0.1',
    });
  });

  it.each([
    ['a different address each time', (i: number) => `203.0.113.${String(i)}`],
    ['a list of addresses', (i: number) => `198.51.100.${String(i)}, 10.0.0.1`],
    ['garbage', (i: number) => `not-an-ip-${String(i)}`],
    ['an IPv6 address', (i: number) => `2001:db8::${String(i)}`],
  ])(
    'ignores a spoofed X-Forwarded-For (%s) while trust proxy is off',
    async (_case, forwarded) => {
      const warnings = captureWarnings();
      const { app, state } = limitedApp(factory, { limit: 2 });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await request(app).get('/').set('X-Forwarded-For', forwarded(i))).status);
      }
      expect(statuses).toEqual([200, 200, 429, 429]);
      expect(state.handled).toBe(2);
      warnings.expectOnce('BULWARK_TRUST_PROXY_UNSET');
    },
  );

  describe('IPv6 clients (behind a trusted proxy)', () => {
    const behindProxy = (app: ReturnType<typeof jsonApp>) => app.set('trust proxy', 'loopback');

    it('puts rotating addresses within one /56 in one bucket', async () => {
      const { app, state } = limitedApp(factory, { limit: 3 }, behindProxy);
      const sameSubnet = [
        '2001:db8:abcd:1200::1',
        '2001:db8:abcd:12ff:ffff:ffff:ffff:ffff',
        '2001:db8:abcd:1234:5678:9abc:def0:1',
        '2001:DB8:ABCD:1201::9',
      ];
      const statuses = [];
      for (const ip of sameSubnet) {
        statuses.push((await request(app).get('/').set('X-Forwarded-For', ip)).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(state.handled).toBe(3);
      const otherSubnet = await request(app)
        .get('/')
        .set('X-Forwarded-For', '2001:db8:abcd:1300::1');
      expect(otherSubnet.status).toBe(200);
    });

    it('treats an IPv4-mapped IPv6 address as the IPv4 client', async () => {
      const { app } = limitedApp(factory, { limit: 1 }, behindProxy);
      expect((await request(app).get('/').set('X-Forwarded-For', '203.0.113.9')).status).toBe(200);
      const mapped = await request(app).get('/').set('X-Forwarded-For', '::ffff:203.0.113.9');
      expect(mapped.status).toBe(429);
    });

    it('honours ipv6Subnet', async () => {
      const { app } = limitedApp(factory, { limit: 1, ipv6Subnet: 64 }, behindProxy);
      expect((await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:1::1')).status).toBe(
        200,
      );
      expect((await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:2::1')).status).toBe(
        200,
      );
      expect((await request(app).get('/').set('X-Forwarded-For', '2001:db8:0:1::2')).status).toBe(
        429,
      );
    });
  });

  describe("keyBy: 'apiKey'", () => {
    // Stands in for apiKeyAuth(): only keys it has verified become req.apiKey.
    const verify = (app: ReturnType<typeof jsonApp>) =>
      app.use((req, _res, next) => {
        const presented = req.get('X-API-Key');
        if (presented === 'bwk_FAKE1_test' || presented === 'bwk_FAKE2_test') {
          Object.assign(req, { apiKey: { id: presented.slice(4, 9), scopes: [] } });
        }
        next();
      });

    it.each([
      ['random strings', (i: number) => `bogus-${String(i)}`],
      ['key-shaped but unverified', (i: number) => `bwk_FAKE${String(i + 10)}_test`],
      ['very long', (i: number) => 'x'.repeat(4000 + i)],
    ])('keys unverified X-API-Key values (%s) by IP', async (_case, value) => {
      const { app, state } = limitedApp(factory, { limit: 2, keyBy: 'apiKey' }, verify);
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await request(app).get('/').set('X-API-Key', value(i))).status);
      }
      expect(statuses).toEqual([200, 200, 429, 429]);
      expect(state.handled).toBe(2);
    });

    it('gives each verified key its own bucket', async () => {
      const { app } = limitedApp(factory, { limit: 1, keyBy: 'apiKey' }, verify);
      expect((await request(app).get('/').set('X-API-Key', 'bwk_FAKE1_test')).status).toBe(200);
      expect((await request(app).get('/').set('X-API-Key', 'bwk_FAKE1_test')).status).toBe(429);
      expect((await request(app).get('/').set('X-API-Key', 'bwk_FAKE2_test')).status).toBe(200);
      expect((await request(app).get('/')).status).toBe(200);
    });
  });

  it("keyBy: 'user' keys by the verified subject, else by IP", async () => {
    const { app } = limitedApp(factory, { limit: 1, keyBy: 'user' }, (a) =>
      a.use((req, _res, next) => {
        const sub = req.get('X-Test-User');
        if (sub !== undefined) Object.assign(req, { auth: { sub } });
        next();
      }),
    );
    expect((await request(app).get('/').set('X-Test-User', 'alice')).status).toBe(200);
    expect((await request(app).get('/').set('X-Test-User', 'alice')).status).toBe(429);
    expect((await request(app).get('/').set('X-Test-User', 'bob')).status).toBe(200);
    expect((await request(app).get('/')).status).toBe(200);
    expect((await request(app).get('/')).status).toBe(429);
  });

  it('namespaces keys from a keyBy function so they cannot land in an IP bucket', async () => {
    const { app } = limitedApp(factory, {
      limit: 1,
      keyBy: (req) => req.get('X-Tenant') ?? '',
    });
    // No tenant: the function returns '' and the request is keyed by IP.
    expect((await request(app).get('/')).status).toBe(200);
    expect((await request(app).get('/')).status).toBe(429);
    for (const tenant of ['127.0.0.1', 'ip:127.0.0.1', 'ip#127.0.0.1']) {
      expect((await request(app).get('/').set('X-Tenant', tenant)).status).toBe(200);
    }
    expect((await request(app).get('/').set('X-Tenant', 'ip:127.0.0.1')).status).toBe(429);
  });

  it('does not count skipped requests', async () => {
    const { app, state } = limitedApp(factory, {
      limit: 1,
      skip: (req) => req.get('X-Internal') === 'yes',
    });
    for (let i = 0; i < 3; i++) {
      expect((await request(app).get('/').set('X-Internal', 'yes')).status).toBe(200);
    }
    expect((await request(app).get('/')).status).toBe(200);
    expect((await request(app).get('/')).status).toBe(429);
    expect(state.handled).toBe(4);
  });

  describe('store errors (a store whose every command fails)', () => {
    it('fail-closed answers 503 rate_limit.unavailable with Retry-After', async () => {
      const { app, state } = limitedApp(factory, { store: deadRedis, onStoreError: 'fail-closed' });
      const res = await request(app).get('/');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ status: 503, code: 'rate_limit.unavailable' });
      expect(res.headers['retry-after']).toBe('5');
      expect(state.handled).toBe(0);
    });

    it('defaults to fail-closed', async () => {
      const { app, state } = limitedApp(factory, { store: deadRedis });
      expect((await request(app).get('/')).status).toBe(503);
      expect(state.handled).toBe(0);
    });

    it('fail-open lets requests through', async () => {
      const { app, state } = limitedApp(factory, {
        store: deadRedis,
        onStoreError: 'fail-open',
        limit: 1,
      });
      for (let i = 0; i < 3; i++) expect((await request(app).get('/')).status).toBe(200);
      expect(state.handled).toBe(3);
    });

    it('memory-fallback counts in memory', async () => {
      const { app, state } = limitedApp(factory, {
        store: deadRedis,
        onStoreError: 'memory-fallback',
        limit: 2,
      });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/')).status);
      expect(statuses).toEqual([200, 200, 429]);
      expect(state.handled).toBe(2);
    });

    it('reports store errors at most once a second, counting the rest', async () => {
      const { events, stop } = collect('rate_limit.store_error');
      const { app } = limitedApp(factory, { store: deadRedis, onStoreError: 'fail-open' });
      for (let i = 0; i < 20; i++) await request(app).get('/');
      stop();
      // The script load at start-up and the 20 requests all fall within the first second.
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        reason: 'store_unavailable',
        mode: 'fail-open',
        store: 'redis',
      });
    });
  });
});

// rateLimit() reads no RATE_LIMIT_* variable itself: loadConfig() reads them and
// hardened() passes them in, so one parser decides what a variable may hold.
describe('rateLimit settings from the environment', () => {
  const config = (env: Record<string, string>) =>
    loadConfig({ env: { ENVIRONMENT: 'development', ...env }, secretsDir: false });

  /** The preset with its rate limit as the only part. */
  function presetApp(options: HardenedOptions) {
    const app = jsonApp(EXPRESS_VERSIONS[0][1]);
    const state = { handled: 0 };
    app.use(
      hardened({
        requestId: false,
        trustedHosts: false,
        httpsRedirect: false,
        securityHeaders: false,
        corsPolicy: false,
        bodyLimits: false,
        requestTimeout: false,
        suspiciousActivity: false,
        ...options,
      }),
    );
    app.get('/', (_req, res) => {
      state.handled++;
      res.json({ ok: true });
    });
    return { app, state };
  }

  it('reads RATE_LIMIT_REQUESTS_PER_MINUTE and RATE_LIMIT_WINDOW_SECONDS', async () => {
    const { app, state } = presetApp({
      config: config({ RATE_LIMIT_REQUESTS_PER_MINUTE: '2', RATE_LIMIT_WINDOW_SECONDS: '30' }),
    });
    const first = await request(app).get('/');
    expect(first.headers['ratelimit-policy']).toMatch(/^"2-in-30s"; q=2; w=30;/);
    await request(app).get('/');
    const limited = await request(app).get('/');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate_limit.exceeded' });
    expect(state.handled).toBe(2);
  });

  it('defaults to 100 per 60 seconds', async () => {
    const { app } = presetApp({ config: config({}) });
    expect((await request(app).get('/')).headers['ratelimit-policy']).toMatch(
      /^"100-in-60s"; q=100; w=60;/,
    );
  });

  it('lets options win over the environment', async () => {
    const { app } = presetApp({
      config: config({ RATE_LIMIT_REQUESTS_PER_MINUTE: '2' }),
      rateLimit: { limit: 7, windowMs: 10_000 },
    });
    expect((await request(app).get('/')).headers['ratelimit-policy']).toMatch(
      /^"7-in-10s"; q=7; w=10;/,
    );
  });

  it('is not read by rateLimit() itself', async () => {
    vi.stubEnv('RATE_LIMIT_REQUESTS_PER_MINUTE', '2');
    vi.stubEnv('RATE_LIMIT_WINDOW_SECONDS', 'not-a-number');
    vi.stubEnv('RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED', 'maybe');
    const { app } = limitedApp(EXPRESS_VERSIONS[0][1], {});
    expect((await request(app).get('/')).headers['ratelimit-policy']).toMatch(
      /^"100-in-60s"; q=100; w=60;/,
    );
  });

  it.each([
    ['RATE_LIMIT_REQUESTS_PER_MINUTE', 'abc'],
    ['RATE_LIMIT_REQUESTS_PER_MINUTE', '-1'],
    ['RATE_LIMIT_REQUESTS_PER_MINUTE', '0'],
    ['RATE_LIMIT_REQUESTS_PER_MINUTE', '1.5'],
    ['RATE_LIMIT_REQUESTS_PER_MINUTE', '1e3'],
    ['RATE_LIMIT_REQUESTS_PER_MINUTE', '100/minute'],
    ['RATE_LIMIT_WINDOW_SECONDS', '60s'],
    ['RATE_LIMIT_WINDOW_SECONDS', '0'],
    ['RATE_LIMIT_WINDOW_SECONDS', 'NaN'],
    ['RATE_LIMIT_WINDOW_SECONDS', '9999999999'],
    ['RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED', 'maybe'],
  ])('refuses %s=%j, naming the variable', (variable, value) => {
    expect(() => config({ [variable]: value })).toThrow(BulwarkConfigError);
    expect(() => config({ [variable]: value })).toThrow(variable);
  });

  it('takes RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED outside production and refuses it in production', async () => {
    const { app, state } = presetApp({
      config: config({ RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED: 'true' }),
      redis: deadRedis,
      rateLimit: { limit: 1 },
    });
    expect((await request(app).get('/')).status).toBe(200);
    const limited = await request(app).get('/');
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate_limit.exceeded' });
    expect(state.handled).toBe(1);
    expect(() =>
      config({ ENVIRONMENT: 'production', RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED: 'true' }),
    ).toThrow('RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED');
  });
});

describe('rateLimit options', () => {
  it.each<[string, unknown]>([
    ['limit -1', { limit: -1 }],
    ['limit 0', { limit: 0 }],
    ['limit NaN', { limit: Number.NaN }],
    ['limit Infinity', { limit: Number.POSITIVE_INFINITY }],
    ["limit '5'", { limit: '5' }],
    ['limit null', { limit: null }],
    ['limit {}', { limit: {} }],
    ['limit 1.5', { limit: 1.5 }],
    ['windowMs -1', { windowMs: -1 }],
    ['windowMs NaN', { windowMs: Number.NaN }],
    ['windowMs Infinity', { windowMs: Number.POSITIVE_INFINITY }],
    ["windowMs '60s'", { windowMs: '60s' }],
    ['windowMs null', { windowMs: null }],
    ['windowMs over 2^31', { windowMs: 2 ** 31 }],
    ["keyBy 'header'", { keyBy: 'header' }],
    ["keyBy 'x-api-key'", { keyBy: 'x-api-key' }],
    ['keyBy 5', { keyBy: 5 }],
    ['keyBy null', { keyBy: null }],
    ["store 'redis'", { store: 'redis' }],
    ['store {}', { store: {} }],
    ['store null', { store: null }],
    ['store url', { store: 'redis://127.0.0.1:6379' }],
    ["onStoreError 'ignore'", { onStoreError: 'ignore' }],
    ['onStoreError true', { onStoreError: true }],
    ["prefix ''", { prefix: '' }],
    ['prefix 5', { prefix: 5 }],
    ["skip 'yes'", { skip: 'yes' }],
    ['ipv6Subnet 128', { ipv6Subnet: 128 }],
    ['ipv6Subnet 16', { ipv6Subnet: 16 }],
    ['maxKeys 0', { maxKeys: 0 }],
    ["maxKeys '1000'", { maxKeys: '1000' }],
    [
      "dangerouslyAllowMemoryFallbackInProduction 'yes'",
      { dangerouslyAllowMemoryFallbackInProduction: 'yes' },
    ],
    ['env 5', { env: 5 }],
    ['unknown key max', { max: 10 }],
    ['unknown key window', { window: 60 }],
    ['options null', null],
    ['options a string', '100/minute'],
  ])('refuses %s', (_case, options) => {
    expect(() => rateLimit(options as RateLimitOptions)).toThrow(BulwarkConfigError);
  });

  it('suggests the right name for a typo', () => {
    expect(() => rateLimit({ limt: 5 } as RateLimitOptions)).toThrow('Did you mean `limit`?');
  });

  it('lists every problem at once', () => {
    try {
      rateLimit({ limit: -1, windowMs: 'x', keyBy: 'nope' } as unknown as RateLimitOptions);
      expect.unreachable();
    } catch (error) {
      expect((error as BulwarkConfigError).problems).toHaveLength(3);
    }
  });

  it('refuses memory-fallback in production unless dangerously allowed', () => {
    expect(() =>
      rateLimit({ store: deadRedis, onStoreError: 'memory-fallback', env: 'production' }),
    ).toThrow(BulwarkConfigError);
    expect(() =>
      rateLimit({
        store: deadRedis,
        onStoreError: 'memory-fallback',
        env: 'production',
        dangerouslyAllowMemoryFallbackInProduction: true,
      }),
    ).not.toThrow();
  });

  it('returns a named middleware', () => {
    expect(rateLimit().name).toBe('rateLimitMiddleware');
  });
});
