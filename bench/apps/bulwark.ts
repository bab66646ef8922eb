import express, { type Express } from 'express';
import { z } from 'zod';
import type { RedisClientLike } from '../../src/index.js';
import { bulwark } from './entry.js';
import {
  BENCH_AUDIENCE,
  BENCH_HOSTS,
  BENCH_ISSUER,
  BENCH_LIMIT,
  BENCH_MAX_BYTES,
  BENCH_ORIGIN,
  BENCH_SECRET,
  echo,
} from './shared.js';

const {
  bodyLimits,
  hardened,
  loadConfig,
  corsPolicy,
  createRedisClient,
  createTokenService,
  errorHandler,
  jwtAuth,
  memoryStore,
  rateLimit,
  requestId,
  requestTimeout,
  securityEvents,
  securityHeaders,
  suspiciousActivity,
  trustedHosts,
  validate,
  whenRedisReady,
} = bulwark;

// No request here is refused, so the only event is suspiciousActivity's one notice
// per window; keep it off the bench's output.
securityEvents.setSink(null);

/** securityHeaders + corsPolicy + trustedHosts + rateLimit, the settings the hand stack uses. */
function trafficControls(store: 'memory' | RedisClientLike): Express {
  const app = express();
  app.use(trustedHosts(BENCH_HOSTS));
  app.use(securityHeaders());
  app.use(corsPolicy({ origins: [BENCH_ORIGIN], credentials: true }));
  app.use(rateLimit({ limit: BENCH_LIMIT, windowMs: 60_000, store }));
  return app;
}

export function createTrafficApp(): Express {
  const app = trafficControls('memory');
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}

/** The same four parts inside `hardened()`, everything else switched off: one Express layer. */
export function createTrafficPresetApp(): Express {
  const app = express();
  app.use(
    hardened({
      config: benchConfig(),
      requestId: false,
      trustedHosts: { hosts: BENCH_HOSTS },
      corsPolicy: { origins: [BENCH_ORIGIN], credentials: true },
      rateLimit: { limit: BENCH_LIMIT, windowMs: 60_000 },
      bodyLimits: false,
      requestTimeout: false,
      suspiciousActivity: false,
    }),
  );
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}

/** The same, counting in the Redis at REDIS_URL. */
export async function createTrafficRedisApp(): Promise<Express> {
  const url = process.env.REDIS_URL;
  if (url === undefined) throw new Error('set REDIS_URL');
  const redis = createRedisClient(url);
  if (!(await whenRedisReady(redis))) throw new Error('Redis is not reachable at REDIS_URL');
  const app = trafficControls(redis);
  app.use(express.json({ limit: BENCH_MAX_BYTES }));
  app.post('/v1/echo', echo);
  return app;
}

const ROUTE_SCHEMA = z.strictObject({
  message: z.string().min(1).max(2000),
  max_tokens: z.number().int().min(1).max(4096).optional(),
  temperature: z.number().min(0).max(2).optional(),
});

/**
 * Given, not read from the environment. Not `production`: there `hardened()` refuses
 * an in-memory rate limiter (each replica would count alone) and switched-off parts,
 * and the hand-composed stacks compared with it count in memory too. HTTPS
 * redirection is off: the bench speaks plain HTTP on loopback.
 */
function benchConfig() {
  return loadConfig({
    env: {},
    secretsDir: false,
    values: { ENVIRONMENT: 'development', HTTPS_REDIRECT_ENABLED: 'false' },
  });
}

// The bench's token lives an hour (a long run must not see it expire), and the
// service refuses tokens that live longer than its own access TTL.
function tokenService() {
  return createTokenService({
    secret: BENCH_SECRET,
    issuer: BENCH_ISSUER,
    audience: BENCH_AUDIENCE,
    accessTtlSeconds: 3600,
    store: memoryStore(),
  });
}

/** `hardened()` + `jwtAuth` + `validate` on the echo route. */
export function createApp(): Express {
  const app = express();
  app.use(
    hardened({
      config: benchConfig(),
      trustedHosts: { hosts: BENCH_HOSTS },
      corsPolicy: { origins: [BENCH_ORIGIN], credentials: true },
      rateLimit: { limit: BENCH_LIMIT, windowMs: 60_000 },
      bodyLimits: { maxBytes: BENCH_MAX_BYTES },
      requestTimeout: { ms: 30_000 },
    }),
  );
  app.post('/v1/echo', jwtAuth({ tokens: tokenService() }), validate({ body: ROUTE_SCHEMA }), echo);
  app.use(hardened.errorHandler());
  return app;
}

/** The same parts mounted one `app.use()` each, as an app composing the factories itself would. */
export function createLayeredApp(): Express {
  const app = express();
  app.use(requestId());
  app.use(trustedHosts(BENCH_HOSTS));
  app.use(securityHeaders());
  app.use(corsPolicy({ origins: [BENCH_ORIGIN], credentials: true }));
  app.use(rateLimit({ limit: BENCH_LIMIT, windowMs: 60_000 }));
  app.use(bodyLimits({ maxBytes: BENCH_MAX_BYTES }));
  app.use(requestTimeout(30_000));
  app.use(suspiciousActivity());
  app.post('/v1/echo', jwtAuth({ tokens: tokenService() }), validate({ body: ROUTE_SCHEMA }), echo);
  app.use(errorHandler());
  return app;
}
