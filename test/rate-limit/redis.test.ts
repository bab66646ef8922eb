import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { loginRateLimit, rateLimit, type BulwarkRedis } from '../../src/index.js';
import { EXPRESS_VERSIONS, jsonApp } from '../helpers/express.js';
import { requireRedis, uniquePrefix } from '../helpers/redis.js';
import { clusterToolsAvailable } from '../helpers/redis-cluster.js';
import {
  REDIS_TARGET_KINDS,
  RedisTargets,
  targetPrefixes,
  type RedisTarget,
} from '../helpers/redis-targets.js';

const hasRedis = (await requireRedis()) && (await clusterToolsAvailable());
const FIXTURE = fileURLToPath(new URL('./fixtures/limited-server.ts', import.meta.url));
const targets = new RedisTargets();
const USERNAME_KEY = 'test-FAKE-username-key-0123456789abcdef';

/** Starts one fixture server process and resolves with its port. */
function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  // The fixture picks its store from these; only the test's own choice may reach it.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^REDIS_(URL|CLUSTER_NODES)$/.test(name)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...inherited, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error('fixture server did not start'));
    }, 45_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT=(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture server exited with ${String(code)}`));
    });
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => {
      resolve();
    });
    child.stdin?.end();
  });
}

/** Sends `total` requests alternating between the servers; returns how many each admitted. */
async function admitted(ports: number[], total: number): Promise<number[]> {
  const counts = ports.map(() => 0);
  for (let i = 0; i < total; i++) {
    const index = i % ports.length;
    const res = await fetch(`http://127.0.0.1:${String(ports[index])}/`);
    await res.arrayBuffer();
    if (res.status === 200) counts[index] = (counts[index] ?? 0) + 1;
    else expect(res.status).toBe(429);
  }
  return counts;
}

// Child processes start slowly on a busy machine.
const PROCESS_TEST_MS = 60_000;

describe.runIf(hasRedis)('rate limiting across processes', () => {
  const LIMIT = 10;
  beforeAll(async () => {
    await Promise.all(REDIS_TARGET_KINDS.map((kind) => targets.get(kind)));
  }, 60_000);

  it.each(REDIS_TARGET_KINDS)(
    'two processes on one Redis %s admit exactly the limit in total',
    async (kind) => {
      const target = await targets.get(kind);
      const prefix = uniquePrefix('shared');
      const env = { ...target.env, LIMIT: String(LIMIT), PREFIX: prefix };
      const servers = await Promise.all([startServer(env), startServer(env)]);
      try {
        const counts = await admitted(
          servers.map((s) => s.port),
          LIMIT * 3,
        );
        expect(counts.reduce((a, b) => a + b, 0)).toBe(LIMIT);
        expect(counts.every((c) => c > 0)).toBe(true);
      } finally {
        await Promise.all(servers.map((s) => stopServer(s.child)));
        await target.clear(prefix);
      }
    },
    PROCESS_TEST_MS,
  );

  it(
    'two processes with memory stores each admit the limit',
    async () => {
      const env = { LIMIT: String(LIMIT) };
      const servers = await Promise.all([startServer(env), startServer(env)]);
      try {
        const counts = await admitted(
          servers.map((s) => s.port),
          LIMIT * 3,
        );
        expect(counts).toEqual([LIMIT, LIMIT]);
      } finally {
        await Promise.all(servers.map((s) => stopServer(s.child)));
      }
    },
    PROCESS_TEST_MS,
  );
});

const MATRIX = REDIS_TARGET_KINDS.flatMap((kind) =>
  EXPRESS_VERSIONS.map(([name, factory]) => [kind, name, factory] as const),
);

describe.runIf(hasRedis).each(MATRIX)('Redis-backed limits on a %s, %s', (kind, _name, factory) => {
  let client: BulwarkRedis;
  let target: RedisTarget;
  const prefixFor = targetPrefixes(targets, kind, (t, c) => {
    target = t;
    client = c;
  });

  it('answers 429 after the limit and keeps the counter in Redis under the prefix', async () => {
    const prefix = prefixFor('redis-429');
    const app = jsonApp(factory);
    let handled = 0;
    app.use(rateLimit({ store: client, prefix, limit: 2 }));
    app.get('/', (_req, res) => {
      handled++;
      res.json({ ok: true });
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/')).status);
    const last = await request(app).get('/');
    expect(statuses).toEqual([200, 200, 429]);
    expect(last.body).toMatchObject({ code: 'rate_limit.exceeded' });
    expect(last.headers['retry-after']).toMatch(/^\d+$/);
    expect(last.headers.ratelimit).toMatch(/^"2-in-60s"; r=0; t=\d+$/);
    expect(handled).toBe(2);
    expect(await target.keys(prefix)).toEqual([`${prefix}ip:127.0.0.1`]);
    expect(await target.command(['GET', `${prefix}ip:127.0.0.1`], `${prefix}ip:127.0.0.1`)).toBe(
      '4',
    );
  });

  describe('loginRateLimit', () => {
    function loginApp(prefix: string) {
      const app = jsonApp(factory);
      let attempts = 0;
      // One usernameKey for every process, as a Redis-backed app shares its per-username counts.
      const limiter = loginRateLimit({ store: client, prefix, usernameKey: USERNAME_KEY });
      app.post('/login', limiter, (req, res) => {
        attempts++;
        const ok = req.body.password === 'correct-test-password';
        res.status(ok ? 200 : 401).json({ ok });
      });
      return { app, attempts: () => attempts };
    }

    it('blocks the sixth failed attempt for one username, normalised, without a clear-text key', async () => {
      const prefix = prefixFor('login');
      const { app, attempts } = loginApp(prefix);
      const spellings = ['alice', ' Alice', 'ALICE ', 'alice', 'Alice', 'aLiCe'];
      const statuses = [];
      for (const username of spellings) {
        const res = await request(app).post('/login').send({ username, password: 'wrong-test' });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      expect(attempts()).toBe(5);
      const blocked = await request(app)
        .post('/login')
        .send({ username: 'alice', password: 'correct-test-password' });
      expect(blocked.status).toBe(429);
      expect(blocked.body).toMatchObject({ code: 'rate_limit.exceeded' });

      // Another username from the same address still gets its own attempts.
      const other = await request(app)
        .post('/login')
        .send({ username: 'bob', password: 'wrong-test' });
      expect(other.status).toBe(401);

      const all = await target.keys(prefix);
      // One per-IP counter across usernames, and one per IP and username digest.
      expect(all.filter((key) => key.endsWith('|all'))).toHaveLength(1);
      const keys = all.filter((key) => !key.endsWith('|all'));
      expect(keys).toHaveLength(2);
      for (const key of all) {
        expect(key.toLowerCase()).not.toContain('alice');
        expect(key.toLowerCase()).not.toContain('bob');
      }
      for (const key of keys) expect(key).toMatch(/\|u:[0-9a-f]{32}$/);
    });

    it('does not count successful logins', async () => {
      const prefix = prefixFor('login-ok');
      const { app } = loginApp(prefix);
      for (let i = 0; i < 8; i++) {
        const res = await request(app)
          .post('/login')
          .send({ username: 'carol', password: 'correct-test-password' });
        expect(res.status).toBe(200);
      }
    });
  });
});
