// Requests per second of express-rate-limit configured by hand vs bulwark's
// rateLimit(), with the memory store and with Redis, and the Redis commands
// each request costs. The apps run in a child process so the load generator
// does not share their event loop; configurations alternate within each round.
//
//   npm run bench:rate-limit
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import { createClient } from 'redis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { createRedisClient, rateLimit, securityEvents } from '../src/index.js';
import { PrivateRedis } from '../test/helpers/redis.js';
import { RedisClusterFixture } from '../test/helpers/redis-cluster.js';
import { commandsPerRequest, type CommandsPerRequest } from './redis-commands.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 10;
// Requests sent while counting Redis commands.
const REQUESTS = 2000;
// High enough that the benchmark measures the counting path, never the 429 path.
const LIMIT = 1_000_000_000;
const CONFIGS = [
  'erl-memory',
  'bulwark-memory',
  'erl-redis',
  'bulwark-redis',
  'bulwark-cluster',
] as const;
type Config = (typeof CONFIGS)[number];

async function serve(redisUrl: string, clusterNodes: string): Promise<void> {
  securityEvents.setSink(null);
  const redis = createRedisClient(redisUrl);
  const cluster = createRedisClient({ cluster: clusterNodes.split(',') });
  while (!redis.isReady || !cluster.isReady) await new Promise((r) => setTimeout(r, 10));
  const limiters: Record<Config, express.RequestHandler> = {
    'erl-memory': expressRateLimit({
      windowMs: 60_000,
      limit: LIMIT,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
    }),
    'bulwark-memory': rateLimit({ limit: LIMIT, windowMs: 60_000 }),
    'erl-redis': expressRateLimit({
      windowMs: 60_000,
      limit: LIMIT,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      store: new RedisStore({
        prefix: 'bench:erl:',
        sendCommand: (...args: string[]) => redis.sendCommand(args) as Promise<RedisReply>,
      }),
    }),
    'bulwark-redis': rateLimit({
      limit: LIMIT,
      windowMs: 60_000,
      store: redis,
      prefix: 'bench:bw:',
    }),
    'bulwark-cluster': rateLimit({
      limit: LIMIT,
      windowMs: 60_000,
      store: cluster,
      prefix: 'bench:bwc:',
    }),
  };
  const ports: Record<string, number> = {};
  for (const config of CONFIGS) {
    const app = express();
    app.use(limiters[config]);
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    ports[config] = await new Promise<number>((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
    });
  }
  process.send?.(ports);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function load(
  port: number,
  options: { duration?: number; amount?: number },
): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${String(port)}/`,
    connections: CONNECTIONS,
    ...options,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`port ${String(port)}: failures`);
  return result.requests.average;
}

/** Commands per request summed over every node of a cluster (each node's stats reset first). */
async function clusterCommandsPerRequest(
  admins: ReturnType<typeof createClient>[],
  requests: number,
  run: () => Promise<void>,
): Promise<CommandsPerRequest> {
  const perNode: CommandsPerRequest[] = [];
  const nested = admins.reduce<() => Promise<void>>(
    (inner, admin) => async () => {
      perNode.push(await commandsPerRequest(admin, requests, inner));
    },
    run,
  );
  await nested();
  return {
    sent: perNode.reduce((sum, c) => sum + c.sent, 0),
    inScript: perNode.reduce((sum, c) => sum + c.inScript, 0),
    detail: perNode.map((c) => c.detail || '-').join(' / '),
  };
}

async function main(): Promise<void> {
  const redis = await PrivateRedis.start();
  const cluster = await RedisClusterFixture.start();
  const child = fork(new URL(import.meta.url), ['--serve', redis.url, cluster.urls.join(',')], {
    execArgv: ['--import', 'tsx'],
  });
  const ports = await new Promise<Record<Config, number>>((resolve) => {
    child.once('message', (message) => {
      resolve(message as Record<Config, number>);
    });
  });
  const admin = createClient({ url: redis.url });
  await admin.connect();
  const clusterAdmins = cluster.urls.map((url) => createClient({ url }));
  await Promise.all(clusterAdmins.map((a) => a.connect()));
  try {
    for (const config of CONFIGS) await load(ports[config], { duration: 1 });
    const perRequest = {
      'erl-redis': await commandsPerRequest(admin, REQUESTS, async () => {
        await load(ports['erl-redis'], { amount: REQUESTS });
      }),
      'bulwark-redis': await commandsPerRequest(admin, REQUESTS, async () => {
        await load(ports['bulwark-redis'], { amount: REQUESTS });
      }),
      'bulwark-cluster': await clusterCommandsPerRequest(clusterAdmins, REQUESTS, async () => {
        await load(ports['bulwark-cluster'], { amount: REQUESTS });
      }),
    };

    const samples: Record<Config, number[]> = {
      'erl-memory': [],
      'bulwark-memory': [],
      'erl-redis': [],
      'bulwark-redis': [],
      'bulwark-cluster': [],
    };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
      for (const config of order)
        samples[config].push(await load(ports[config], { duration: SECONDS }));
    }

    const version = (name: string) =>
      (
        JSON.parse(
          readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
        ) as { version: string }
      ).version;
    const rps = (c: Config) => median(samples[c]);
    console.log(
      `Node ${process.version}, ${String(cpus().length)} cores; express ${version('express')}, ` +
        `express-rate-limit ${version('express-rate-limit')}, rate-limit-redis ${version('rate-limit-redis')}, ` +
        `redis ${version('redis')}; ${String(ROUNDS)} rounds x ${String(SECONDS)} s, ${String(CONNECTIONS)} connections\n`,
    );
    console.log(
      '| configuration | req/s (median) | Redis commands sent / request | run inside the script | per command |',
    );
    console.log('| --- | --- | --- | --- | --- |');
    for (const config of CONFIGS) {
      const c = config in perRequest ? perRequest[config as keyof typeof perRequest] : undefined;
      const cells =
        c === undefined
          ? '- | - | -'
          : `${c.sent.toFixed(3)} | ${c.inScript.toFixed(3)} | ${c.detail}`;
      console.log(`| ${config} | ${rps(config).toFixed(0)} | ${cells} |`);
    }
    console.log(
      `\nbulwark / hand-configured: memory ${(rps('bulwark-memory') / rps('erl-memory')).toFixed(3)}, ` +
        `redis ${(rps('bulwark-redis') / rps('erl-redis')).toFixed(3)}; ` +
        `cluster / single node ${(rps('bulwark-cluster') / rps('bulwark-redis')).toFixed(3)}`,
    );
  } finally {
    await admin.quit();
    await Promise.all(clusterAdmins.map((a) => a.quit()));
    child.kill();
    await redis.stop();
    await cluster.stop();
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3] ?? '', process.argv[4] ?? '');
else await main();
