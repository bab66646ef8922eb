/**
 * The bulwark example server: process concerns only (settings, Redis, the
 * listening socket, signals). The API itself is built in ./app.ts.
 *
 *   npm run example
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import {
  BulwarkConfigError,
  checkPasswordPolicy,
  createRedisClient,
  hashPassword,
  serverTimeouts,
  verifyPassword,
  whenRedisReady,
  type BulwarkRedisClient,
} from '../src/index.js';
import { createExample, type Example } from './app.js';
import { providerFromEnv, type Provider } from './provider.js';
import { loadExampleSettings, type ExampleSettings } from './settings.js';
import type { UserDirectory } from './users.js';

/** In-flight requests get this long after SIGTERM before their connections are cut. */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Prints every configuration problem, no stack trace, and exits 1. */
function refuseToStart(problems: readonly string[]): never {
  const lines = problems.map((problem) => `  - ${problem}`).join('\n');
  process.stderr.write(
    `bulwark example: refusing to start, ${String(problems.length)} configuration problem(s):\n${lines}\n`,
  );
  process.exit(1);
}

/**
 * Makes sure the admin account exists. Its password comes from ADMIN_PASSWORD,
 * or (development only) is generated and printed once: it is never stored in
 * clear anywhere, so it cannot be shown again.
 */
async function seedAdmin(users: UserDirectory, settings: ExampleSettings): Promise<void> {
  const username = settings.adminUsername;
  const given = settings.adminPassword;
  if (given !== undefined) {
    const policy = checkPasswordPolicy(given, { username });
    if (!policy.ok)
      refuseToStart(policy.problems.map((problem) => `ADMIN_PASSWORD: ${problem.message}`));
  }
  const existing = await users.findByUsername(username);
  if (existing !== undefined) {
    if (given !== undefined && !(await verifyPassword(given, existing.passwordHash))) {
      await users.updatePasswordHash(existing.id, await hashPassword(given));
      process.stdout.write(`admin "${username}": password reset from ADMIN_PASSWORD\n`);
    }
    return;
  }
  // base64url of random bytes, plus one character of each class the policy asks for.
  const password = given ?? `${randomBytes(18).toString('base64url')}-Aa1`;
  await users.create({ username, passwordHash: await hashPassword(password), roles: ['admin'] });
  if (given === undefined) {
    process.stdout.write(
      `admin "${username}" created with password: ${password}\n` +
        '  (shown once; set ADMIN_PASSWORD to choose it)\n',
    );
  } else {
    process.stdout.write(`admin "${username}" created from ADMIN_PASSWORD\n`);
  }
}

async function main(): Promise<void> {
  let loaded: ReturnType<typeof loadExampleSettings>;
  try {
    loaded = loadExampleSettings(process.env);
  } catch (error) {
    if (error instanceof BulwarkConfigError) refuseToStart(error.problems);
    throw error;
  }
  const { settings, config } = loaded;
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);

  let redis: BulwarkRedisClient | undefined;
  if (config.rateLimit.storageUri !== undefined) {
    redis = createRedisClient(config.rateLimit.storageUri);
    // Start even when Redis is down: every Redis-backed part fails closed, and recovers on its own.
    if (!(await whenRedisReady(redis, 5000))) {
      process.stderr.write(
        'warning: Redis is not reachable yet; requests that need it get 503s until it is\n',
      );
    }
  }

  let provider: Provider;
  let example: Example;
  try {
    provider = providerFromEnv(process.env);
    example = createExample({
      config,
      settings,
      provider,
      ...(redis === undefined ? {} : { redis }),
    });
  } catch (error) {
    if (error instanceof BulwarkConfigError) refuseToStart(error.problems);
    throw error;
  }
  await seedAdmin(example.users, settings);

  // Slow clients: a request must send its headers within 10 s and all of it
  // within 30 s (slowloris), checked every second; idle keep-alive connections
  // close after 5 s.
  const server = createServer(serverTimeouts(), example.app);

  let stopping = false;
  // Responses not yet sent, so shutdown can tell their keep-alive clients not
  // to reuse the connection (and new requests get the same answer).
  const pending = new Set<ServerResponse>();
  server.prependListener('request', (_req, res) => {
    if (stopping) res.setHeader('Connection', 'close');
    pending.add(res);
    res.once('close', () => pending.delete(res));
  });

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    for (const res of pending) if (!res.headersSent) res.setHeader('Connection', 'close');
    process.stdout.write(`${signal}: finishing in-flight requests\n`);
    const deadline = setTimeout(() => {
      process.stderr.write('shutdown deadline passed: closing the remaining connections\n');
      server.closeAllConnections();
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    server.close(() => {
      example.close();
      const client = redis;
      const closeRedis =
        client === undefined
          ? Promise.resolve()
          : client.quit().then(
              () => undefined,
              () => {
                client.destroy();
              },
            );
      void closeRedis.then(() => {
        process.stdout.write('stopped\n');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  server.on('error', (error: NodeJS.ErrnoException) => {
    process.stderr.write(
      `bulwark example: cannot listen on ${settings.host}:${String(settings.port)} (${error.code ?? error.message})\n`,
    );
    process.exit(1);
  });
  server.listen(settings.port, settings.host, () => {
    const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    process.stdout.write(
      `bulwark example listening on http://${host}:${String(settings.port)} ` +
        `(environment: ${config.environment}, stores: ${redis === undefined ? 'memory' : 'redis'}, ` +
        `provider: ${provider.name})\n`,
    );
  });
}

await main();
