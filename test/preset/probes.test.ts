import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BulwarkConfigError,
  checkStores,
  closeRedis,
  createRedisClient,
  hardened,
  loadConfig,
  pingRedis,
  readinessRoute,
  type StoreCheck,
} from '../../src/index.js';
import { EXPRESS_VERSIONS, type ExpressFactory } from '../helpers/express.js';
import { PrivateRedis, requireRedis, SHARED_REDIS_URL } from '../helpers/redis.js';

const ROOT = resolve(import.meta.dirname, '../..');

const config = () =>
  loadConfig({
    env: {
      ENVIRONMENT: 'development',
      TRUSTED_HOSTS: 'api.example.com',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '5',
      HTTPS_REDIRECT_ENABLED: 'true',
    },
    secretsDir: false,
  });

function probedApp(factory: ExpressFactory, probePaths?: readonly string[]) {
  const app = factory();
  // So a test can say which requests arrived over HTTPS.
  app.set('trust proxy', 'loopback');
  const ran = { health: 0, ready: 0, other: 0 };
  app.use(hardened({ config: config(), ...(probePaths === undefined ? {} : { probePaths }) }));
  app.get('/health', (_req, res) => {
    ran.health++;
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    ran.ready++;
    res.json({ status: 'ready', checks: {} });
  });
  app.get('/other', (_req, res) => {
    ran.other++;
    res.json({ ok: true });
  });
  app.use(hardened.errorHandler({ env: 'production' }));
  return { app, ran };
}

describe.each(EXPRESS_VERSIONS)('hardened() probe paths on %s', (_name, factory) => {
  it('never rate-limits 30 probes under a limit of 5, while other paths get 429', async () => {
    const { app, ran } = probedApp(factory);
    const statuses = new Set<number>();
    for (let i = 0; i < 15; i++) {
      for (const path of ['/health', '/ready']) {
        const res = await request(app)
          .get(path)
          .set('Host', '10.0.0.7:3000')
          .set('X-Forwarded-Proto', 'http');
        statuses.add(res.status);
        expect(res.headers['ratelimit']).toBeUndefined();
      }
    }
    expect([...statuses]).toEqual([200]);
    expect(ran).toMatchObject({ health: 15, ready: 15 });

    const other: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(app)
        .get('/other')
        .set('Host', 'api.example.com')
        .set('X-Forwarded-Proto', 'https');
      other.push(res.status);
      if (res.status === 429) expect(JSON.parse(res.text).code).toBe('rate_limit.exceeded');
    }
    expect(other).toEqual([200, 200, 200, 200, 200, 429]);
    expect(ran.other).toBe(5);
  });

  it('still redirects a path that is not a probe to HTTPS', async () => {
    const { app, ran } = probedApp(factory);
    const res = await request(app)
      .get('/other')
      .set('Host', 'api.example.com')
      .set('X-Forwarded-Proto', 'http');
    expect(res.status).toBe(308);
    expect(ran.other).toBe(0);
  });

  it('still checks the Host of a path that is not a probe', async () => {
    const { app, ran } = probedApp(factory);
    const res = await request(app).get('/other').set('Host', '10.0.0.7:3000');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).code).toBe('host.untrusted');
    expect(ran.other).toBe(0);
  });

  it('takes its own probe list; `[]` makes probes like any request', async () => {
    const { app, ran } = probedApp(factory, []);
    const res = await request(app).get('/health').set('Host', '10.0.0.7:3000');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).code).toBe('host.untrusted');
    expect(ran.health).toBe(0);

    const custom = probedApp(factory, ['/other']);
    const ok = await request(custom.app).get('/other').set('Host', '10.0.0.7:3000');
    expect(ok.status).toBe(200);
    expect(custom.ran.other).toBe(1);
  });

  it('matches a probe path exactly: a sub-path is not a probe', async () => {
    const { app } = probedApp(factory);
    const res = await request(app).get('/health/extra').set('Host', '10.0.0.7:3000');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).code).toBe('host.untrusted');
  });
});

describe('hardened() options for probes and keys', () => {
  it.each([
    [{ probePaths: 'health' }, /probePaths/],
    [{ probePaths: ['health'] }, /must be a path starting with \//],
    [{ probePaths: ['/health?x=1'] }, /must be a path starting with \//],
    [{ rateLimit: { keyBy: 'apiKey' } }, /after authentication.*apiKeyAuth/],
    [{ rateLimit: { keyBy: 'user' } }, /after authentication.*jwtAuth/],
  ])('refuses %j at creation, saying what to do', (options, message) => {
    let thrown: unknown;
    try {
      hardened({ config: config(), ...(options as object) });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BulwarkConfigError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('accepts keyBy ip or a function of its own', () => {
    expect(hardened({ config: config(), rateLimit: { keyBy: 'ip' } }).parts).toContain('rateLimit');
    expect(
      hardened({ config: config(), rateLimit: { keyBy: (req) => req.ip ?? '' } }).parts,
    ).toContain('rateLimit');
  });
});

const ok: StoreCheck = () => Promise.resolve();
const failing: StoreCheck = () =>
  Promise.reject(new Error('redis://user:fake-pass@10.0.0.9 refused'));
const hanging: StoreCheck = () => new Promise(() => undefined);

describe('checkStores', () => {
  it('reports each check, never its error', async () => {
    const report = await checkStores({ a: ok, b: failing, c: hanging }, { timeoutMs: 50 });
    expect(report).toEqual({ ready: false, checks: { a: 'ok', b: 'failed', c: 'timeout' } });
    expect(JSON.stringify(report)).not.toContain('fake-pass');
  });

  it('aborts the signal of a check past its deadline', async () => {
    let aborted = false;
    const check: StoreCheck = (signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(new Error('aborted'));
        });
      });
    expect((await checkStores({ slow: check }, { timeoutMs: 20 })).checks.slow).toBe('timeout');
    expect(aborted).toBe(true);
  });
});

describe.each(EXPRESS_VERSIONS)('readinessRoute on %s', (_name, factory) => {
  it.each([
    [{ db: ok }, 200, { status: 'ready', checks: { db: 'ok' } }],
    [
      { db: ok, redis: failing },
      503,
      { status: 'unavailable', checks: { db: 'ok', redis: 'failed' } },
    ],
    [{ redis: hanging }, 503, { status: 'unavailable', checks: { redis: 'timeout' } }],
  ])('answers %j with %i', async (checks, status, body) => {
    const app = factory();
    app.get('/ready', readinessRoute({ checks, timeoutMs: 50 }));
    const res = await request(app).get('/ready');
    expect(res.status).toBe(status);
    expect(res.body).toEqual(body);
    expect(res.headers['cache-control']).toBe('no-store');
    if (status === 503) expect(res.headers['retry-after']).toBe('5');
    expect(res.text).not.toMatch(/redis:\/\/|fake-pass|10\.0\.0\.9/);
  });

  it('lets concurrent probes share one round of checks', async () => {
    let rounds = 0;
    const counted: StoreCheck = async () => {
      rounds++;
      await new Promise((r) => setTimeout(r, 20));
    };
    const app = factory();
    app.get('/ready', readinessRoute({ checks: { db: counted } }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () =>
          request(server)
            .get('/ready')
            .then((r) => r.status),
        ),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(rounds).toBeLessThan(10);
    } finally {
      server.close();
    }
  });
});

describe('readinessRoute options', () => {
  it.each([
    [undefined],
    [{}],
    [{ checks: [] }],
    [{ checks: { redis: 'ping' } }],
    [{ checks: { 'bad name!': ok } }],
    [{ checks: { db: ok }, timeoutMs: 0 }],
    [{ checks: { db: ok }, timeout: 100 }],
  ])('refuses %j', (options) => {
    expect(() => readinessRoute(options as never)).toThrow(BulwarkConfigError);
  });
});

const hasRedis = await requireRedis();

describe.runIf(hasRedis)('pingRedis', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    redis.resume();
    await redis.stop();
  });

  it('is ok while Redis answers and times out while it is frozen', async () => {
    const client = createRedisClient(redis.url);
    const checks = { redis: pingRedis(client) };
    try {
      expect(await checkStores(checks)).toEqual({ ready: true, checks: { redis: 'ok' } });
      redis.pause();
      const frozen = await checkStores(checks, { timeoutMs: 200 });
      expect(frozen.ready).toBe(false);
      expect(frozen.checks.redis).toBe('timeout');
      redis.resume();
    } finally {
      redis.resume();
      await closeRedis(client);
    }
  });
});

describe.runIf(hasRedis)('hardened() and its own Redis client', () => {
  it('opens one client, and close() lets the process exit by itself', async () => {
    const script = `
      import { hardened, loadConfig } from './src/index.ts';
      const config = loadConfig({ env: { ENVIRONMENT: 'development', RATE_LIMIT_STORAGE_URI: ${JSON.stringify(SHARED_REDIS_URL)} }, secretsDir: false });
      const protect = hardened({ config });
      console.log(protect.redis === undefined ? 'no client' : 'one client');
      await protect.close();
      await protect.close();
      console.log('closed');
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(out).toBe('one client\nclosed\n');
    expect(code).toBe(0);
  });
});
