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
  serverClasses,
  serverTimeouts,
  verifyPassword,
  whenRedisReady,
  type BulwarkPostgresPool,
  type BulwarkRedis,
} from '../src/index.js';
import { createExample, type Example } from './app.js';
import { providerEndpointsFromEnv, providerFromEnv, type Provider } from './provider.js';
import { loadExampleSettings, type ExampleSettings } from './settings.js';
import type { UserDirectory } from './users.js';

/** In-flight requests get this long after SIGTERM before their connections are cut. */
const SHUTDOWN_DEADLINE_MS = 10_000;
/** How long start-up waits for the first admin-seeding attempt before listening anyway. */
const FIRST_SEEDING_WAIT_MS = 5_000;

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

/** The admin account kept changing under this process (other replicas seeding it at the same time). */
class SeedingRace extends Error {
  constructor() {
    super('other processes are changing the admin account');
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
      const hash = await hashPassword(given, { cost: settings.passwordHashCost });
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
        passwordHash: await hashPassword(password, { cost: settings.passwordHashCost }),
        roles: ['admin'],
      });
    } catch (error) {
      // Another replica claimed the name first; its record was written before the claim.
      if (isBulwarkError(error) && error.code === 'resource.conflict') continue;
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
): { readonly done: boolean; readonly first: Promise<void>; stop(): void } {
  const state = { done: false, stopped: false, timer: undefined as NodeJS.Timeout | undefined };
  let attempt = 0;
  let warned = false;
  let firstSettled = (): void => undefined;
  const first = new Promise<void>((resolve) => {
    firstSettled = resolve;
  });
  const run = (): void => {
    prepare()
      .then(() => seedAdmin(users, settings))
      .then(
        () => {
          state.done = true;
          firstSettled();
          if (warned) process.stdout.write('admin seeding done\n');
        },
        (error: unknown) => {
          firstSettled();
          if (state.stopped) return;
          // A race with another replica is expected once; a lasting one is worth a line.
          if (!warned && (!(error instanceof SeedingRace) || attempt >= 3)) {
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
    first,
    stop() {
      state.stopped = true;
      clearTimeout(state.timer);
    },
  };
}

async function main(): Promise<void> {
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
  let redis: BulwarkRedis | undefined;
  const { clusterNodes, storageUri } = config.rateLimit;
  if (clusterNodes.length > 0 || storageUri !== undefined) {
    const client =
      clusterNodes.length > 0
        ? createRedisClient({ cluster: clusterNodes })
        : createRedisClient(storageUri ?? '');
    redis = client;
    void whenRedisReady(client, 5000).then((ready) => {
      if (!ready) {
        process.stderr.write(
          'warning: Redis is not reachable yet; requests that need it get 503s and /ready says so until it is\n',
        );
      }
    });
  }

  // The breaker's cache may live in its own Redis (CIRCUIT_BREAKER_CACHE_URL).
  const cacheUrl = config.circuitBreaker.cacheUrl;
  const cacheRedis =
    cacheUrl === undefined || cacheUrl === config.rateLimit.storageUri
      ? redis
      : createRedisClient(cacheUrl);
  // A pool connects on demand: a database that is down only delays readiness.
  const postgres: BulwarkPostgresPool | undefined =
    config.database.url === undefined ? undefined : createPostgresPool(config.database.url);

  let provider: Provider;
  let example: Example;
  // Filled in once the app exists; its readiness check and the shutdown read it.
  const seeding: { current?: ReturnType<typeof seedInBackground> } = {};
  try {
    provider = providerFromEnv(env);
    example = createExample({
      config,
      settings,
      provider,
      endpoints: providerEndpointsFromEnv(env),
      ...(redis === undefined ? {} : { redis }),
      ...(postgres === undefined ? {} : { postgres }),
      readiness: {
        admin: () =>
          seeding.current?.done === true
            ? Promise.resolve()
            : Promise.reject(new Error('admin not seeded yet')),
      },
      ...(cacheRedis === undefined ? {} : { cacheRedis }),
    });
  } catch (error) {
    if (error instanceof BulwarkConfigError) refuseToStart(error.problems);
    throw error;
  }
  // Stored provider keys are sealed: production must not run on without the key that opens them.
  if (
    config.production &&
    config.encryption.key === undefined &&
    (await example.providerKeys.any().catch(() => false))
  ) {
    refuseToStart(['ENCRYPTION_KEY is not set, but provider keys are stored sealed']);
  }

  // Slow clients: a request must send its headers within 10 s and all of it
  // within 30 s (slowloris), checked every second; idle keep-alive connections
  // close after 5 s. Requests and responses are built with the app's
  // prototypes, so Express's per-request setPrototypeOf leaves V8's inline
  // caches on them intact.
  const server = createServer({ ...serverTimeouts(), ...serverClasses(example.app) }, example.app);

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
    seeding.current?.stop();
    server.close(() => {
      example.close();
      const clients = [redis, cacheRedis === redis ? undefined : cacheRedis];
      void Promise.all([
        ...clients.map((client) => (client === undefined ? undefined : closeRedis(client))),
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
  // Usually the admin exists before the server says it listens; a store that is down or
  // slow delays listening by a bounded wait only, and seeding carries on in the background.
  const adminSeeding = seedInBackground(example.users, settings, example.prepare);
  seeding.current = adminSeeding;
  let waited: NodeJS.Timeout | undefined;
  await Promise.race([
    adminSeeding.first,
    new Promise((resolve) => {
      waited = setTimeout(resolve, FIRST_SEEDING_WAIT_MS);
    }),
  ]);
  clearTimeout(waited);

  server.listen(settings.port, settings.host, () => {
    const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
    process.stdout.write(
      `bulwark example listening on http://${host}:${String(settings.port)} ` +
        `(environment: ${config.environment}, stores: ${example.stores}, ` +
        `provider: ${provider.name})\n`,
    );
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bulwark example: could not start (${describeFailure(error)})\n`);
  process.exit(1);
});
