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
  closeRedis,
  createPostgresPool,
  createRedisClient,
  hashPassword,
  isBulwarkError,
  verifyPassword,
  whenRedisReady,
  type BulwarkPostgresPool,
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

/** Checked before anything starts: a weak ADMIN_PASSWORD is a configuration problem, not a retry. */
function checkAdminPassword(settings: ExampleSettings): void {
  const given = settings.adminPassword;
  if (given === undefined) return;
  const policy = checkPasswordPolicy(given, { username: settings.adminUsername });
  if (!policy.ok) {
    refuseToStart(policy.problems.map((problem) => `ADMIN_PASSWORD: ${problem.message}`));
  }
}

/** Another process holds the admin's name but has not finished writing the account yet. */
class SeedingRace extends Error {
  constructor() {
    super('another process is creating the admin');
    this.name = 'SeedingRace';
  }
}

/**
 * Makes sure the admin account exists, safely when several replicas run it
 * at the same moment: the name is claimed with set-if-absent (one process
 * creates the account, the others find it), and an ADMIN_PASSWORD change is
 * a compare-and-set on the stored hash (one process applies it, the others
 * then find the password already matches). The password comes from
 * ADMIN_PASSWORD, or (development only) is generated and printed once by
 * the process that created the account: it is stored only as a hash.
 */
async function seedAdmin(users: UserDirectory, settings: ExampleSettings): Promise<void> {
  const username = settings.adminUsername;
  const given = settings.adminPassword;
  // Each round either finishes or saw another process change the account under it.
  for (let round = 0; round < 5; round++) {
    const existing = await users.findByUsername(username);
    if (existing !== undefined) {
      if (given === undefined || (await verifyPassword(given, existing.passwordHash))) return;
      const hash = await hashPassword(given);
      if (await users.replacePasswordHash(existing.id, existing.passwordHash, hash)) {
        process.stdout.write(`admin "${username}": password reset from ADMIN_PASSWORD\n`);
        return;
      }
      continue;
    }
    // base64url of random bytes, plus one character of each class the policy asks for.
    const password = given ?? `${randomBytes(18).toString('base64url')}-Aa1`;
    try {
      await users.create({
        username,
        passwordHash: await hashPassword(password),
        roles: ['admin'],
      });
    } catch (error) {
      if (isBulwarkError(error) && error.code === 'resource.conflict') throw new SeedingRace();
      throw error;
    }
    if (given === undefined) {
      process.stdout.write(
        `admin "${username}" created with password: ${password}\n` +
          '  (shown once; set ADMIN_PASSWORD to choose it)\n',
      );
    } else {
      process.stdout.write(`admin "${username}" created from ADMIN_PASSWORD\n`);
    }
    return;
  }
  throw new SeedingRace();
}

/** What a failed attempt says in the log: a code or a class name, never a URL. */
function describeFailure(error: unknown): string {
  if (isBulwarkError(error)) return error.code;
  return error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
}

/**
 * Runs `seedAdmin` in the background until it succeeds, backing off from a
 * quarter second to ten seconds (with jitter), so a store that is down at
 * start-up only delays readiness. Reports the first failure of a run of
 * them, and the success that ends it.
 */
function seedInBackground(
  users: UserDirectory,
  settings: ExampleSettings,
  prepare: () => Promise<void>,
): { readonly done: boolean; stop(): void } {
  const state = { done: false, stopped: false, timer: undefined as NodeJS.Timeout | undefined };
  let attempt = 0;
  let warned = false;
  const run = (): void => {
    prepare()
      .then(() => seedAdmin(users, settings))
      .then(
        () => {
          state.done = true;
          if (warned) process.stdout.write('admin seeding done\n');
        },
        (error: unknown) => {
          if (state.stopped) return;
          if (!warned && !(error instanceof SeedingRace)) {
            warned = true;
            process.stderr.write(
              `warning: admin seeding waits for the store (${describeFailure(error)}); retrying in the background\n`,
            );
          }
          const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt++, 6));
          state.timer = setTimeout(run, delay + Math.floor(Math.random() * 250));
        },
      );
  };
  run();
  return {
    get done() {
      return state.done;
    },
    stop() {
      state.stopped = true;
      clearTimeout(state.timer);
    },
  };
}

function main(): void {
  let loaded: ReturnType<typeof loadExampleSettings>;
  try {
    loaded = loadExampleSettings(process.env);
  } catch (error) {
    if (error instanceof BulwarkConfigError) refuseToStart(error.problems);
    throw error;
  }
  const { settings, config, env } = loaded;
  for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  checkAdminPassword(settings);

  // Every Redis-backed part is usable before Redis connects: nothing waits here.
  let redis: BulwarkRedisClient | undefined;
  if (config.rateLimit.storageUri !== undefined) {
    const client = createRedisClient(config.rateLimit.storageUri);
    redis = client;
    void whenRedisReady(client, 5000).then((ready) => {
      if (!ready) {
        process.stderr.write(
          'warning: Redis is not reachable yet; requests that need it get 503s and /ready says so until it is\n',
        );
      }
    });
  }

  // A pool connects on demand: a database that is down only delays readiness.
  const postgres: BulwarkPostgresPool | undefined =
    config.database.url === undefined ? undefined : createPostgresPool(config.database.url);

  let provider: Provider;
  let example: Example;
  let seeding: ReturnType<typeof seedInBackground> | undefined;
  try {
    provider = providerFromEnv(env);
    example = createExample({
      config,
      settings,
      provider,
      ...(redis === undefined ? {} : { redis }),
      ...(postgres === undefined ? {} : { postgres }),
      readiness: {
        admin: () =>
          seeding?.done === true
            ? Promise.resolve()
            : Promise.reject(new Error('admin not seeded yet')),
      },
    });
  } catch (error) {
    if (error instanceof BulwarkConfigError) refuseToStart(error.problems);
    throw error;
  }

  const server = createServer(example.app);
  // Slow clients: a request must send its headers within 10 s and all of it
  // within 30 s (slowloris); idle keep-alive connections close after 5 s.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

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
    seeding?.stop();
    server.close(() => {
      example.close();
      void Promise.all([
        redis === undefined ? undefined : closeRedis(redis),
        postgres?.end().catch(() => undefined),
      ]).then(() => {
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
        `(environment: ${config.environment}, stores: ${example.stores}, ` +
        `provider: ${provider.name})\n`,
    );
    // After listening, so /health answers while a store that is down delays only readiness.
    seeding = seedInBackground(example.users, settings, example.prepare);
  });
}

try {
  main();
} catch (error) {
  process.stderr.write(`bulwark example: could not start (${describeFailure(error)})\n`);
  process.exit(1);
}
