/**
 * Per-request cost of `jwtAuth` against verifying by hand with jsonwebtoken and
 * a KeyObject, in the same Express app, on a memory store, on Redis and on
 * PostgreSQL; then the token service's refresh and the request path's
 * revocation lookup on each store, with the store round trips each costs.
 *
 *   npm run bench:auth            (Redis at REDIS_URL or 127.0.0.1:6379, PostgreSQL at
 *                                  BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres;
 *                                  each skipped if absent; the bench's tables live in a
 *                                  schema of their own, dropped at the end)
 *
 * The server runs in a child process and autocannon in this one, so the two do
 * not share a core. Routes are measured in alternating order over several
 * rounds; the figures are medians. Redis round trips per request are counted
 * from INFO commandstats.
 */
import { spawn } from 'node:child_process';
import { createSecretKey } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import jwt from 'jsonwebtoken';
import {
  createPostgresPool,
  createRedisClient,
  pingPostgres,
  postgresStore,
  createTokenService,
  jwtAuth,
  memoryStore,
  redisStore,
  securityEvents,
} from '../src/index.js';
import type { AuthStore } from '../src/index.js';
import { redisCommand } from '../src/stores/redis-client.js';

interface LoadOptions {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}
interface LoadResult {
  requests: { average: number; total: number };
  non2xx: number;
}
// autocannon ships no types; this is the slice of its promise API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: LoadOptions,
) => Promise<LoadResult>;

const SECRET = 'bench-FAKE-secret-not-for-production-0123456789';
const ISSUER = 'https://issuer.example.test';
const AUDIENCE = 'bench-api';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
// The server child uses the schema its parent names, so the parent can drop it.
const SCHEMA = process.env.BENCH_SCHEMA ?? `bulwark_bench_${String(process.pid)}`;

/** A PostgreSQL store in the bench's own schema, or undefined when no database answers. */
async function benchPostgres(schema: string) {
  const pool = createPostgresPool(DATABASE_URL);
  const answers = await pingPostgres(pool)().then(
    () => true,
    () => false,
  );
  if (!answers) {
    await pool.end();
    return undefined;
  }
  const store = postgresStore(pool, { schema, sweepIntervalMs: 0 });
  await store.migrate();
  return { pool, store };
}
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = 10;

async function serve(): Promise<void> {
  securityEvents.setSink(null);
  const redis = createRedisClient(REDIS_URL);
  const deadline = Date.now() + 2000;
  while (!redis.isReady && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const withRedis = redis.isReady;
  const options = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE };
  const memoryTokens = createTokenService({ ...options, store: memoryStore() });
  const redisTokens = withRedis
    ? createTokenService({ ...options, store: redisStore(redis, { prefix: 'bulwark-bench:' }) })
    : undefined;
  const postgres = await benchPostgres(SCHEMA);
  const postgresTokens = postgres
    ? createTokenService({ ...options, store: postgres.store })
    : undefined;
  const key = createSecretKey(Buffer.from(SECRET));

  const app = express();
  const ok = (_req: express.Request, res: express.Response) => {
    res.json({ ok: true });
  };
  app.get('/none', ok);
  // The server's own CPU time, so per-request cost can be read without the noise of other load.
  app.get('/__cpu', (_req, res) => {
    const { user, system } = process.cpuUsage();
    res.json({ us: user + system });
  });
  app.get(
    '/hand',
    (req, res, next) => {
      const token = req.headers.authorization?.slice(7) ?? '';
      try {
        jwt.verify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
        next();
      } catch {
        res.status(401).end();
      }
    },
    ok,
  );
  app.get('/jwt-memory', jwtAuth({ tokens: memoryTokens }), ok);
  if (redisTokens) app.get('/jwt-redis', jwtAuth({ tokens: redisTokens }), ok);
  if (postgresTokens) app.get('/jwt-postgres', jwtAuth({ tokens: postgresTokens }), ok);

  const token = (await memoryTokens.issue({ sub: 'bench-user', roles: ['user'] })).access_token;
  const server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(
      `${JSON.stringify({ port, token, withRedis, withPostgres: postgres !== undefined })}\n`,
    );
  });
  process.on('SIGTERM', () => {
    server.close();
    redis.destroy();
    void postgres?.pool.end();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function load(
  url: string,
  token: string,
  seconds: number,
): Promise<{ rps: number; total: number; non2xx: number }> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
  });
  return { rps: result.requests.average, total: result.requests.total, non2xx: result.non2xx };
}

/** Commands Redis has run, from INFO commandstats. */
async function redisCalls(client: ReturnType<typeof createRedisClient>): Promise<number> {
  const info = String(await redisCommand(client, ['INFO', 'commandstats']));
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

type Handler = (req: express.Request, res: express.Response, next: express.NextFunction) => void;

interface CallCost {
  /** CPU time of this process per call: robust against other load on the machine. */
  cpuUs: number;
  /** Wall time per call: includes the Redis round trip. */
  wallUs: number;
}

/** Cost of a middleware invoked directly, one call at a time: the auth cost without HTTP. */
async function perCall(handler: Handler, token: string, n: number): Promise<CallCost> {
  const req = { headers: { authorization: `Bearer ${token}` } } as unknown as express.Request;
  const res = {} as unknown as express.Response;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      handler(req, res, (error?: unknown) => {
        if (error === undefined) resolve();
        else reject(error instanceof Error ? error : new Error('next() got a non-Error'));
      });
    });
  for (let i = 0; i < 500; i++) await once();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once();
  const used = process.cpuUsage(cpu);
  return {
    cpuUs: (used.user + used.system) / n,
    wallUs: Number(process.hrtime.bigint() - start) / 1000 / n,
  };
}

async function direct(
  redis: ReturnType<typeof createRedisClient> | undefined,
): Promise<Map<string, CallCost>> {
  const options = { secret: SECRET, issuer: ISSUER, audience: AUDIENCE };
  const memoryTokens = createTokenService({ ...options, store: memoryStore() });
  const token = (await memoryTokens.issue({ sub: 'bench-user' })).access_token;
  const key = createSecretKey(Buffer.from(SECRET));
  const handlers = new Map<string, [Handler, number]>([
    [
      'hand (jwt.verify + KeyObject)',
      [
        (req, _res, next) => {
          jwt.verify(req.headers.authorization?.slice(7) ?? '', key, {
            algorithms: ['HS256'],
            issuer: ISSUER,
            audience: AUDIENCE,
          });
          next();
        },
        5_000,
      ],
    ],
    ['jwtAuth, memory store', [jwtAuth({ tokens: memoryTokens }), 5_000]],
  ]);
  if (redis) {
    const redisTokens = createTokenService({
      ...options,
      store: redisStore(redis, { prefix: 'bulwark-bench:' }),
    });
    handlers.set('jwtAuth, Redis store', [jwtAuth({ tokens: redisTokens }), 1_000]);
  }
  const samples = new Map<string, CallCost[]>([...handlers.keys()].map((k) => [k, []]));
  for (let round = 0; round < ROUNDS * 3; round++) {
    for (const [name, [handler, n]] of handlers) {
      samples.get(name)!.push(await perCall(handler, token, n));
    }
  }
  return new Map(
    [...samples].map(([name, values]) => [
      name,
      { cpuUs: median(values.map((v) => v.cpuUs)), wallUs: median(values.map((v) => v.wallUs)) },
    ]),
  );
}

function microVerify(token: string): { stringUs: number; keyObjectUs: number } {
  const key = createSecretKey(Buffer.from(SECRET));
  const options = { algorithms: ['HS256' as const], issuer: ISSUER, audience: AUDIENCE };
  const time = (fn: () => void, n: number) => {
    for (let i = 0; i < 200; i++) fn();
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    return Number(process.hrtime.bigint() - start) / 1000 / n;
  };
  return {
    stringUs: time(() => jwt.verify(token, SECRET, options), 2000),
    keyObjectUs: time(() => jwt.verify(token, key, options), 20000),
  };
}

async function main(): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_SCHEMA: SCHEMA },
    },
  );
  const first = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => {
      resolve(d.toString());
    }),
  );
  const { port, token, withRedis, withPostgres } = JSON.parse(first) as {
    port: number;
    token: string;
    withRedis: boolean;
    withPostgres: boolean;
  };
  const base = `http://127.0.0.1:${String(port)}`;
  const routes = [
    '/none',
    '/hand',
    '/jwt-memory',
    ...(withRedis ? ['/jwt-redis'] : []),
    ...(withPostgres ? ['/jwt-postgres'] : []),
  ];
  const redis = withRedis ? createRedisClient(REDIS_URL) : undefined;
  while (redis && !redis.isReady) await new Promise((r) => setTimeout(r, 20));

  for (const route of routes) await load(base + route, token, 1);
  const rps = new Map<string, number[]>(routes.map((r) => [r, []]));
  const cpu = new Map<string, number[]>(routes.map((r) => [r, []]));
  const serverCpu = async () =>
    ((await (await fetch(`${base}/__cpu`)).json()) as { us: number }).us;
  const perRequestCalls: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no route always runs first (or on a warmer JIT).
    const order = routes.map((_, i) => routes[(i + round) % routes.length]!);
    for (const route of order) {
      const calls = route === '/jwt-redis' && redis ? await redisCalls(redis) : 0;
      const cpuBefore = await serverCpu();
      const result = await load(base + route, token, SECONDS);
      const cpuUsed = (await serverCpu()) - cpuBefore;
      if (result.non2xx > 0) throw new Error(`${route}: ${String(result.non2xx)} non-2xx answers`);
      rps.get(route)!.push(result.rps);
      cpu.get(route)!.push(cpuUsed / result.total);
      if (route === '/jwt-redis' && redis) {
        perRequestCalls.push(((await redisCalls(redis)) - calls) / result.total);
      }
    }
  }
  child.kill('SIGTERM');
  const calls = await direct(redis);
  const sessions = await sessionCosts(redis);
  redis?.destroy();

  const med = new Map([...rps].map(([route, values]) => [route, median(values)]));
  const cpuMed = new Map([...cpu].map(([route, values]) => [route, median(values)]));
  const micro = microVerify(token);
  const require = createRequire(import.meta.url);
  const version = (name: string) =>
    (require(`${name}/package.json`) as { version: string }).version;

  console.log(`Node ${process.version}, ${String((await import('node:os')).cpus().length)} cores`);
  console.log(
    `express ${version('express')}, jsonwebtoken ${version('jsonwebtoken')}, autocannon ${version('autocannon')}` +
      (withRedis ? `, redis ${version('redis')}` : ''),
  );
  console.log(
    `${String(ROUNDS)} rounds x ${String(SECONDS)} s, ${String(CONNECTIONS)} connections, medians\n`,
  );
  console.log('| route | req/s | server CPU µs/request | CPU vs /hand | auth CPU over /none |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const route of routes) {
    const us = cpuMed.get(route)!;
    console.log(
      `| ${route} | ${med.get(route)!.toFixed(0)} | ${us.toFixed(1)} | ${(us / cpuMed.get('/hand')!).toFixed(3)} | ${(us - cpuMed.get('/none')!).toFixed(1)} |`,
    );
  }
  if (withRedis)
    console.log(`Redis commands per request (median): ${median(perRequestCalls).toFixed(3)}`);
  console.log(
    `jsonwebtoken.verify alone: string secret ${micro.stringUs.toFixed(1)} µs, KeyObject ${micro.keyObjectUs.toFixed(1)} µs`,
  );
  console.log('\n| middleware called directly | CPU µs/call | vs hand | wall µs/call |');
  console.log('| --- | ---: | ---: | ---: |');
  const hand = calls.get('hand (jwt.verify + KeyObject)')!;
  for (const [name, value] of calls) {
    console.log(
      `| ${name} | ${value.cpuUs.toFixed(1)} | ${(value.cpuUs / hand.cpuUs).toFixed(3)} | ${value.wallUs.toFixed(1)} |`,
    );
  }

  console.log(
    '\n| store | refresh µs/call | round trips/refresh | lookup µs/call | round trips/lookup |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, cost] of sessions) {
    console.log(
      `| ${name} | ${cost.refreshUs.toFixed(1)} | ${cost.refreshTrips.toFixed(2)} | ${cost.lookupUs.toFixed(1)} | ${cost.lookupTrips.toFixed(2)} |`,
    );
  }
}

interface SessionCost {
  /** Wall time of `tokens.refresh`, one call at a time. */
  refreshUs: number;
  /** Store calls per refresh: each is one round trip on Redis and PostgreSQL. */
  refreshTrips: number;
  /** Wall time of `tokens.verifyAccess` (signature, claims and the revocation lookup). */
  lookupUs: number;
  lookupTrips: number;
}

/** Counts the store calls a service makes: each Redis and PostgreSQL store method is one round trip. */
function counting(store: AuthStore): { store: AuthStore; calls: () => number } {
  let calls = 0;
  const counted = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls: () => calls };
}

/** Refresh and revocation lookup through the token service, on every store that answers. */
async function sessionCosts(
  redis: ReturnType<typeof createRedisClient> | undefined,
): Promise<Map<string, SessionCost>> {
  const postgres = await benchPostgres(`${SCHEMA}_s`);
  const stores = new Map<string, AuthStore>([['memory', memoryStore()]]);
  if (redis) stores.set('Redis', redisStore(redis, { prefix: 'bulwark-bench:s:' }));
  if (postgres) stores.set('PostgreSQL', postgres.store);
  const samples = new Map<string, SessionCost[]>([...stores.keys()].map((k) => [k, []]));
  const n = 300;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, store] of stores) {
      const { store: counted, calls } = counting(store);
      const tokens = createTokenService({
        secret: SECRET,
        issuer: ISSUER,
        audience: AUDIENCE,
        store: counted,
      });
      let pair = await tokens.issue({ sub: `bench-${String(round)}`, roles: ['user'] });
      const refreshStart = calls();
      let start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) pair = await tokens.refresh(pair.refresh_token);
      const refreshUs = Number(process.hrtime.bigint() - start) / 1000 / n;
      const refreshTrips = (calls() - refreshStart) / n;
      const lookupStart = calls();
      start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await tokens.verifyAccess(pair.access_token);
      const lookupUs = Number(process.hrtime.bigint() - start) / 1000 / n;
      samples.get(name)!.push({
        refreshUs,
        refreshTrips,
        lookupUs,
        lookupTrips: (calls() - lookupStart) / n,
      });
    }
  }
  if (postgres) {
    await postgres.pool.query({ text: `DROP SCHEMA IF EXISTS "${SCHEMA}_s" CASCADE` });
    await postgres.pool.query({ text: `DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE` });
    await postgres.pool.end();
  }
  const pick = (values: SessionCost[], field: keyof SessionCost) =>
    median(values.map((v) => v[field]));
  return new Map(
    [...samples].map(([name, values]) => [
      name,
      {
        refreshUs: pick(values, 'refreshUs'),
        refreshTrips: pick(values, 'refreshTrips'),
        lookupUs: pick(values, 'lookupUs'),
        lookupTrips: pick(values, 'lookupTrips'),
      },
    ]),
  );
}

if (process.argv.includes('--serve')) await serve();
else await main();
