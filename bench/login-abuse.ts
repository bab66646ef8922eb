/**
 * A real user's login while 8 clients loop failed logins, against authRouter.
 *
 *   npm run bench:login-abuse
 *
 * The server runs in a child process (bcrypt runs on its main thread, so a
 * client in the same process would be measured too). Each configuration runs
 * for DURATION_MS: 8 attackers loop failed logins with unknown usernames (each
 * from its own address through X-Forwarded-For, the server trusting one
 * proxy), while one user logs in with the right password every USER_EVERY_MS
 * from another address. Reported: attacker requests a second by status, the
 * user's logins a second, and the user's latency (p50 / p95 / max) and statuses.
 *
 * - `before`: the limiter per IP and username only (`ipLimit: false`) and a
 *   queue that never refuses, as before the bounded queue and the per-IP limit;
 * - `queue`: the same limiter, the default bounded queue;
 * - `after`: the default limiter (per IP and username, and 20 failures per IP
 *   across usernames) and the default bounded queue.
 *
 * BENCH_COST sets the bcrypt cost (default 12); BENCH_DURATION_MS the time per
 * configuration.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ATTACKERS = 8;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 15_000);
const USER_EVERY_MS = 250;
const PASSWORD = 'FAKE-bench-Password-1';
const COST = Number(process.env.BENCH_COST ?? 12);
const CONFIGS = ['before', 'queue', 'after'] as const;
type Config = (typeof CONFIGS)[number];

async function serve(config: Config): Promise<void> {
  const express = (await import('express')).default;
  const bulwark = await import('../src/index.js');
  bulwark.securityEvents.setSink(null);
  const tokens = bulwark.createTokenService({
    secret: 'FAKE-bench-secret-0123456789abcdef0123456789',
    issuer: 'https://bench.example.test',
    audience: 'bench',
    store: bulwark.memoryStore(),
  });
  const passwordHash = await bulwark.hashPassword(PASSWORD, { cost: COST });
  const user = { id: 'u-1', username: 'alice', passwordHash, roles: [] };
  const app = express();
  app.set('trust proxy', 1);
  app.use(
    '/auth',
    bulwark.authRouter({
      tokens,
      users: {
        findByUsername: (name) => Promise.resolve(name === 'alice' ? user : undefined),
        findById: (id) => Promise.resolve(id === 'u-1' ? user : undefined),
      },
      passwordHashCost: COST,
      ...(config === 'after' ? {} : { loginLimiter: bulwark.loginRateLimit({ ipLimit: false }) }),
      ...(config === 'before'
        ? { passwordQueue: bulwark.createPasswordQueue({ maxPending: 100_000 }) }
        : {}),
    }),
  );
  app.use(bulwark.errorHandler());
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.(typeof address === 'object' && address !== null ? address.port : 0);
  });
}

function start(config: Config): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', config], {
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (port: number) => {
      resolve({ child, url: `http://127.0.0.1:${String(port)}/auth/login` });
    });
    child.once('exit', (code) => {
      reject(new Error(`server exited with ${String(code)}`));
    });
  });
}

async function login(url: string, ip: string, username: string, password: string) {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ username, password }),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function counts(statuses: number[]): string {
  const by = new Map<number, number>();
  for (const s of statuses) by.set(s, (by.get(s) ?? 0) + 1);
  return [...by.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${String(s)}×${String(n)}`)
    .join(' ');
}

async function run(config: Config): Promise<void> {
  const { child, url } = await start(config);
  try {
    // Warm-up: the dummy hash for unknown users is made on first use.
    await login(url, '198.51.100.250', 'nobody', 'x-bench');
    const deadline = performance.now() + DURATION_MS;
    const attackStatuses: number[] = [];
    const attackers = Array.from({ length: ATTACKERS }, async (_, a) => {
      let n = 0;
      while (performance.now() < deadline) {
        const r = await login(
          url,
          `203.0.113.${String(a + 1)}`,
          `victim-${String(n++)}`,
          'Spring2026!',
        );
        attackStatuses.push(r.status);
        // A refused attacker retries at once, as a loop would.
      }
    });
    const userLatency: number[] = [];
    const userStatuses: number[] = [];
    const userLoop = (async () => {
      while (performance.now() < deadline) {
        const r = await login(url, '198.51.100.7', 'alice', PASSWORD);
        userLatency.push(r.ms);
        userStatuses.push(r.status);
        await new Promise((resolve) => setTimeout(resolve, USER_EVERY_MS));
      }
    })();
    await Promise.all([...attackers, userLoop]);
    const seconds = DURATION_MS / 1000;
    const ok = userStatuses.filter((s) => s === 200).length;
    const sorted = [...userLatency].sort((x, y) => x - y);
    const bcryptAttempts = attackStatuses.filter((s) => s === 401).length + userStatuses.length;
    console.log(
      `${config.padEnd(10)} attackers ${(attackStatuses.length / seconds).toFixed(1)} req/s (${counts(attackStatuses)}), ` +
        `checked logins ${(bcryptAttempts / seconds).toFixed(1)}/s; user ${(ok / seconds).toFixed(2)} ok/s, ` +
        `latency p50 ${percentile(sorted, 50).toFixed(0)} ms p95 ${percentile(sorted, 95).toFixed(0)} ms ` +
        `max ${percentile(sorted, 100).toFixed(0)} ms (${counts(userStatuses)})`,
    );
  } finally {
    child.kill();
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3] as Config);
} else {
  console.log(
    `node ${process.version}, ${String(os.availableParallelism())} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )}; ${String(ATTACKERS)} attackers, cost ${String(COST)}, ${String(DURATION_MS / 1000)} s per configuration`,
  );
  for (const config of CONFIGS) await run(config);
}
