import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  createRedisClient,
  hardened,
  loadConfig,
  type HardenedOptions,
  whenRedisReady,
} from '../../src/index.js';
import { READY_ENV } from '../config/helpers.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { requireRedis, SHARED_REDIS_URL } from '../helpers/redis.js';
import { sharedPrefixes } from '../helpers/redis-targets.js';

const ALL_PARTS = [
  'requestId',
  'trustedHosts',
  'httpsRedirect',
  'securityHeaders',
  'corsPolicy',
  'rateLimit',
  'bodyLimits',
  'requestTimeout',
  'suspiciousActivity',
];

const devConfig = (values: Record<string, string> = {}) =>
  loadConfig({
    env: { ENVIRONMENT: 'development', ...values },
    secretsDir: false,
  });

const fullDev = () =>
  devConfig({
    TRUSTED_HOSTS: 'api.example.com',
    CORS_ALLOWED_ORIGINS: 'https://app.example.com',
    RATE_LIMIT_REQUESTS_PER_MINUTE: '3',
    MAX_BODY_BYTES: '100',
    REQUEST_TIMEOUT_MS: '200',
  });

function appWith(factory: ExpressFactory, options: HardenedOptions) {
  const app = factory();
  const state = { handled: 0 };
  app.use(hardened(options));
  app.post('/echo', (req, res) => {
    state.handled += 1;
    res.json(req.body);
  });
  app.get('/slow', async (_req, res) => {
    await sleep(400);
    state.handled += 1;
    res.json({ late: true });
  });
  app.use(hardened.errorHandler({ env: 'production' }));
  return { app, state };
}

describe('hardened() composition', () => {
  it('runs every part in the documented order', () => {
    const protect = hardened({
      config: fullDev(),
      httpsRedirect: { host: 'api.example.com' },
    });
    expect(protect.parts).toEqual(ALL_PARTS);
  });

  it('leaves out what the configuration does not ask for in development', () => {
    expect(hardened({ config: devConfig() }).parts).toEqual([
      'requestId',
      'securityHeaders',
      'rateLimit',
      'bodyLimits',
      'requestTimeout',
      'suspiciousActivity',
    ]);
  });

  it('switches parts off by name', () => {
    const protect = hardened({ config: fullDev(), rateLimit: false, suspiciousActivity: false });
    expect(protect.parts).not.toContain('rateLimit');
    expect(protect.parts).not.toContain('suspiciousActivity');
  });

  it.each([
    ['a part that is not an object', { rateLimit: 'off' }],
    ['a redis that is not a client', { redis: {} }],
    ['a misspelt part', { bodylimits: false }],
    ['a bad part option', { config: fullDev(), rateLimit: { limit: -1 } }],
    [
      '* with credentials',
      { config: fullDev(), corsPolicy: { origins: ['*'], credentials: true } },
    ],
  ])('refuses %s', (_case, options) => {
    expect(() => hardened(options as never)).toThrow(BulwarkConfigError);
  });
});

describe('hardened() in production', () => {
  it('refuses unsafe environment settings through loadConfig, all listed at once', () => {
    const previous = process.env.ENVIRONMENT;
    process.env.ENVIRONMENT = 'production';
    try {
      expect(() => hardened()).toThrow(BulwarkConfigError);
    } finally {
      if (previous === undefined) delete process.env.ENVIRONMENT;
      else process.env.ENVIRONMENT = previous;
    }
  });

  it.each([
    ['trustedHosts off', { trustedHosts: false }],
    ['rate limit off', { rateLimit: false }],
    ['rate limit in memory', { rateLimit: { store: 'memory' } }],
    ['security headers off', { securityHeaders: false }],
    ['body limits off', { bodyLimits: false }],
    ['timeout off', { requestTimeout: false }],
  ] as const)('refuses %s', (_case, parts) => {
    const config = loadConfig({ env: READY_ENV, secretsDir: false });
    const redis = createRedisClient(SHARED_REDIS_URL);
    try {
      expect(() => hardened({ config, redis, ...parts })).toThrow(BulwarkConfigError);
    } finally {
      redis.destroy();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('hardened() over HTTP on %s', (_name, factory) => {
  const options = (): HardenedOptions => ({ config: fullDev() });

  it('sets the request id and security headers on a normal answer', async () => {
    const { app, state } = appWith(factory, options());
    const res = await request(app)
      .post('/echo')
      .set('Host', 'api.example.com')
      .set('Origin', 'https://app.example.com')
      .send({ a: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ a: 1 });
    expect(res.headers['x-request-id']).toBeDefined();
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(res.headers.ratelimit).toBeDefined();
    expect(state.handled).toBe(1);
  });

  it('answers 400 host.untrusted for an unlisted Host, before the handler', async () => {
    const { app, state } = appWith(factory, options());
    const res = await request(app).post('/echo').set('Host', 'evil.example.net').send({});
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('host.untrusted');
    expect(res.headers['x-request-id']).toBeDefined();
    expect(state.handled).toBe(0);
  });

  it('answers 413 request.too_large past MAX_BODY_BYTES', async () => {
    const { app, state } = appWith(factory, options());
    const res = await request(app)
      .post('/echo')
      .set('Host', 'api.example.com')
      .send({ text: 'x'.repeat(200) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('request.too_large');
    expect(state.handled).toBe(0);
  });

  it('answers 429 rate_limit.exceeded past RATE_LIMIT_REQUESTS_PER_MINUTE, with headers', async () => {
    const { app, state } = appWith(factory, options());
    const agent = request(app);
    for (let i = 0; i < 3; i++) await agent.post('/echo').set('Host', 'api.example.com').send({});
    const res = await agent.post('/echo').set('Host', 'api.example.com').send({});
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('rate_limit.exceeded');
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(state.handled).toBe(3);
  });

  it('answers 503 request.timeout past REQUEST_TIMEOUT_MS and ignores the late handler', async () => {
    const { app, state } = appWith(factory, options());
    const res = await request(app).get('/slow').set('Host', 'api.example.com');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('request.timeout');
    await sleep(300);
    expect(state.handled).toBe(1);
  });

  it('merges per-part options over the configuration', async () => {
    const { app } = appWith(factory, { ...options(), rateLimit: { limit: 1 } });
    await request(app).post('/echo').set('Host', 'api.example.com').send({});
    const res = await request(app).post('/echo').set('Host', 'api.example.com').send({});
    expect(res.status).toBe(429);
  });
});

const hasRedis = await requireRedis();

describe.runIf(hasRedis)('hardened() with RATE_LIMIT_STORAGE_URI', () => {
  const made: { close(): Promise<void> }[] = [];
  const prefixFor = sharedPrefixes();
  afterAll(async () => {
    for (const m of made) await m.close();
  });

  it('makes its own Redis client from the configuration and closes it', async () => {
    const config = devConfig({ RATE_LIMIT_STORAGE_URI: SHARED_REDIS_URL });
    const protect = hardened({
      config,
      rateLimit: { prefix: prefixFor('preset') },
      suspiciousActivity: { prefix: prefixFor('preset-suspicious') },
    });
    made.push(protect);
    expect(protect.redis).toBeDefined();
    expect(await whenRedisReady(protect.redis!)).toBe(true);
    const app = EXPRESS_VERSIONS[0][1]();
    app.use(protect);
    app.get('/', (_req, res) => res.json({ ok: true }));
    expect((await request(app).get('/')).status).toBe(200);
    await protect.close();
    expect(protect.redis?.isOpen).toBe(false);
  });
});
