import { hkdfSync } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import * as z from 'zod';
import {
  BulwarkError,
  apiKeyAuth,
  authRouter,
  checkPasswordPolicy,
  costLimit,
  createApiKeyService,
  createTokenService,
  guardOutbound,
  hardened,
  hashPassword,
  jwtAuth,
  loginRateLimit,
  memoryStore,
  notFound,
  pathGuard,
  pingPostgres,
  pingRedis,
  postgresStore,
  prepareLogsForLLM,
  protectMetrics,
  readinessRoute,
  redisStore,
  requireRole,
  requireScope,
  securityEvents,
  securityMetrics,
  validate,
  type BulwarkConfig,
  type ProtectMetricsOptions,
  type PostgresPoolLike,
  type RedisClientLike,
  type RouteAgnosticHandler,
  type StoreCheck,
} from '../src/index.js';
import { createCompletions } from './complete.js';
import {
  providerEndpointsFromEnv,
  type ChatMessage,
  type Provider,
  type ProviderEndpoints,
} from './provider.js';
import { createProviderKeys, mountProviderRoutes, type ProviderKeys } from './providers.js';
import type { ExampleSettings } from './settings.js';
import { createSqlUserDirectory, createUserDirectory, type UserDirectory } from './users.js';

export interface ExampleOptions {
  config: BulwarkConfig;
  settings: ExampleSettings;
  provider: Provider;
  /** A client from `createRedisClient()`: tokens, API keys, users, limits and the breaker cache then live in Redis. */
  redis?: RedisClientLike;
  /**
   * A pool from `createPostgresPool(DATABASE_URL)`: users, sessions and API
   * keys then live in PostgreSQL (Redis, when given too, keeps counters,
   * limits and caches).
   */
  postgres?: PostgresPoolLike;
  /** Readiness checks besides the stores' own (e.g. that start-up seeding is done). */
  readiness?: Readonly<Record<string, StoreCheck>>;
  /** Where the breaker's last good answers live (CIRCUIT_BREAKER_CACHE_URL); defaults to `redis`. */
  cacheRedis?: RedisClientLike;
  /** Provider base URLs, models and environment keys. @default the public endpoints, no keys */
  endpoints?: ProviderEndpoints;
}

export interface Example {
  app: express.Express;
  users: UserDirectory;
  providerKeys: ProviderKeys;
  /** Start-up work before seeding: the PostgreSQL tables (idempotent, safe for replicas). */
  readonly prepare: () => Promise<void>;
  /** What keeps the data: `memory`, `redis`, `postgres` or `postgres+redis` (auth data in PostgreSQL, limits in Redis). */
  stores: string;
  /** Stops the breaker's timers; the caller closes Redis. */
  close(): void;
}

const LOOPBACK = ['127.0.0.1', '::1'];
const DAY_SECONDS = 86_400;

// Request schemas. Top-level objects are strict (unknown keys are a 400), and
// so are nested ones, written with z.strictObject.
const Register = z.strictObject({
  username: z.string().regex(/^[A-Za-z0-9._-]{3,64}$/),
  password: z.string().min(1).max(1024),
});
const IssueKey = z.strictObject({
  name: z.string().min(1).max(100),
  scopes: z
    .array(z.string().regex(/^[a-z][a-z0-9:._-]{0,63}$/))
    .max(20)
    .optional(),
});
const KeyId = z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/) });
const RotateKey = z.strictObject({
  grace_seconds: z
    .number()
    .int()
    .min(0)
    .max(30 * DAY_SECONDS),
});
const Echo = z.strictObject({
  message: z.string().min(1).max(2000),
  max_tokens: z.number().int().min(1).max(4096).optional(),
  temperature: z.number().min(0).max(2).optional(),
});
const Summarize = z.strictObject({ logs: z.string().min(1) });

const SUMMARY_INSTRUCTIONS =
  'You are given error lines from a service log, with secrets and personal data replaced by [REDACTED:...] markers. ' +
  'Summarise the distinct failures, their likely causes and what to check first, in at most ten short bullet points.';

/**
 * Routes are async; this sends a rejection to the error handler on Express 4 as well as 5.
 * Generic, so the handler is typed by its route: the path's params, `validate()`'s output.
 */
function route<P = Request['params'], ReqBody = unknown, ReqQuery = Request['query']>(
  handler: (req: Request<P, unknown, ReqBody, ReqQuery>, res: Response) => Promise<void>,
): RequestHandler<P, unknown, ReqBody, ReqQuery> {
  return function exampleRoute(req, res, next): void {
    handler(req, res).catch(next);
  };
}

/** 401 unless `jwtAuth` or `apiKeyAuth` (both optional before it) authenticated the request. */
function requireCaller(req: Request, _res: Response, next: NextFunction): void {
  if (req.auth !== undefined || req.apiKey !== undefined) {
    next();
    return;
  }
  securityEvents.emit('auth.failed', req, { reason: 'missing_credentials' });
  next(
    new BulwarkError('auth.missing_credentials', {
      detail: 'Send a bearer access token or an API key.',
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
    }),
  );
}

/** People may complete with their session; programs need a key with the `complete` scope. */
function completeScopeForKeys(): RouteAgnosticHandler {
  const needScope = requireScope('complete');
  return function completeScope(req, res, next) {
    if (req.apiKey === undefined) next();
    else needScope(req, res, next);
  };
}

/** The folder `/files` serves; the example's own one is created with sample files if missing. */
function prepareWorkspace(settings: ExampleSettings): void {
  if (!settings.defaultWorkspace || existsSync(join(settings.workspaceRoot, 'hello.txt'))) return;
  mkdirSync(settings.workspaceRoot, { recursive: true });
  writeFileSync(
    join(settings.workspaceRoot, 'hello.txt'),
    'Hello from the bulwark example workspace.\n',
  );
}

function metricsProtection(config: BulwarkConfig): ProtectMetricsOptions | undefined {
  const { username, password, allowIps } = config.metrics;
  const options: ProtectMetricsOptions = {};
  if (username !== undefined && password !== undefined) options.basicAuth = { username, password };
  if (allowIps.length > 0) options.allowIps = allowIps;
  if (options.basicAuth !== undefined || options.allowIps !== undefined) return options;
  // Nothing configured: development serves metrics to this machine only;
  // production serves none (behind a local proxy every client looks local).
  return config.production ? undefined : { allowIps: LOOPBACK };
}

/** Builds the hardened example API from a loaded config; no process concerns (ports, signals). */
export function createExample({
  config,
  settings,
  provider,
  redis,
  postgres,
  readiness = {},
  cacheRedis,
  endpoints,
}: ExampleOptions): Example {
  const prefix = settings.redisPrefix;
  const store = redis === undefined ? 'memory' : redis;
  const onStoreError = config.rateLimit.inMemoryFallbackEnabled ? 'memory-fallback' : 'fail-closed';

  // Auth data: PostgreSQL when DATABASE_URL is set, else Redis, else memory.
  const sqlUsers =
    postgres === undefined
      ? undefined
      : createSqlUserDirectory(postgres, { maxUsers: settings.maxUsers });
  const sqlStore = postgres === undefined ? undefined : postgresStore(postgres);
  const stores =
    postgres === undefined
      ? redis === undefined
        ? 'memory'
        : 'redis'
      : redis === undefined
        ? 'postgres'
        : 'postgres+redis';
  const authStore =
    sqlStore ??
    (redis === undefined ? memoryStore() : redisStore(redis, { prefix: `${prefix}auth:` }));
  const users =
    sqlUsers ??
    createUserDirectory(
      redis === undefined
        ? memoryStore({ maxKeys: settings.maxUsers * 3 + 10 })
        : redisStore(redis, { prefix: `${prefix}users:` }),
      { maxUsers: settings.maxUsers },
    );
  const prepare = async (): Promise<void> => {
    if (sqlStore === undefined || sqlUsers === undefined) return;
    await sqlStore.migrate();
    await sqlUsers.prepare();
  };
  const tokens = createTokenService({
    secret: config.jwt.secretKey,
    previousSecrets: config.jwt.previousSecretKeys,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
    accessTtlSeconds: config.jwt.accessTokenExpireMinutes * 60,
    refreshTtlSeconds: config.jwt.refreshTokenExpireDays * DAY_SECONDS,
    store: authStore,
  });
  const keys = createApiKeyService({ store: authStore });

  const bearer = jwtAuth({ tokens });
  // Spread into each route (`...admin`): Express types an array argument's
  // neighbours loosely, and these middleware leave the route's types to validate().
  const admin: RouteAgnosticHandler[] = [bearer, requireRole('admin')];
  const bearerOrKey: RouteAgnosticHandler[] = [
    jwtAuth({ tokens, credentialsRequired: false }),
    apiKeyAuth({ keys, credentialsRequired: false }),
    requireCaller,
  ];

  const budget = costLimit({
    cost: (req) => (req.body as { max_tokens: number }).max_tokens,
    budget: settings.costBudgetTokens,
    windowMs: settings.costWindowSeconds * 1000,
    keyBy: (req) =>
      req.apiKey !== undefined
        ? `key:${req.apiKey.id}`
        : req.auth !== undefined
          ? `user:${req.auth.sub}`
          : '',
    store,
    prefix: `${prefix}cost:`,
    onStoreError,
  });

  const providerKeys = createProviderKeys({
    config,
    store: authStore,
    endpoints: endpoints ?? providerEndpointsFromEnv({}),
    fallback: provider,
  });
  // The provider deadline sits inside the request deadline, so a slow provider
  // gets a stale answer or a 503 instead of the generic request timeout.
  const completions = createCompletions({
    resolve: () => providerKeys.resolve(),
    budget,
    timeoutMs: Math.max(100, Math.floor(config.requestTimeoutMs * 0.8)),
    cache: {
      store: cacheRedis ?? store,
      prefix: `${prefix}circuit:provider:`,
    },
    auditRate: config.llm.outputAuditRate,
  });
  const callProvider = (input: Parameters<typeof completions.call>[0]) => completions.call(input);

  prepareWorkspace(settings);

  const app = express();
  app.disable('x-powered-by');
  if (settings.trustProxyHops > 0) app.set('trust proxy', settings.trustProxyHops);

  // Everything that protects every route, from the config: request ids, trusted
  // hosts, HTTPS redirect, security headers, CORS, the per-IP rate limit, body
  // limits, the request deadline and suspicious-activity detection. The probe
  // paths (/health, /ready) skip the Host check, the redirect and the limits:
  // orchestrators probe by address, over plain HTTP, every few seconds.
  app.use(
    hardened({
      config,
      ...(redis === undefined ? {} : { redis }),
      rateLimit: { prefix: `${prefix}rl:` },
      suspiciousActivity: { prefix: `${prefix}suspicious:` },
    }),
  );

  // Liveness: touches no store, so a store outage never restarts the process.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Readiness: every store this process needs answers, and start-up work is done.
  app.get(
    '/ready',
    readinessRoute({
      checks: {
        ...(redis === undefined ? {} : { redis: pingRedis(redis) }),
        ...(postgres === undefined ? {} : { postgres: pingPostgres(postgres) }),
        ...readiness,
      },
    }),
  );

  // --- people ------------------------------------------------------------

  // Open sign-up is a development convenience; production creates accounts elsewhere.
  // Declared here rather than inline: an untyped inline function before validate()
  // would fix the route's types before TypeScript reads validate()'s.
  const openSignUp: RouteAgnosticHandler = (_req, _res, next) => {
    next(config.production ? new BulwarkError('resource.not_found') : undefined);
  };
  app.post(
    '/auth/register',
    openSignUp,
    validate({ body: Register }),
    route(async (req, res) => {
      const { username, password } = req.body;
      const policy = checkPasswordPolicy(password, { username });
      if (!policy.ok) {
        throw new BulwarkError('password.weak', { extensions: { problems: policy.problems } });
      }
      const user = await users.create({
        username,
        passwordHash: await hashPassword(password, { cost: settings.passwordHashCost }),
        roles: ['user'],
      });
      res.status(201).json({ id: user.id, username: user.username });
    }),
  );

  // Usernames are hashed under one key on every replica (derived from the signing
  // secret, under its own label), so per-username login counts are shared.
  const usernameKey = Buffer.from(
    hkdfSync('sha256', config.jwt.secretKey ?? '', Buffer.alloc(0), 'bulwark-example/username', 32),
  );
  app.use(
    '/auth',
    authRouter({
      tokens,
      users,
      usernameKey,
      passwordHashCost: settings.passwordHashCost,
      loginLimiter: loginRateLimit({
        store,
        prefix: `${prefix}rl-login:`,
        onStoreError,
        usernameKey,
      }),
    }),
  );

  app.get(
    '/me',
    bearer,
    route(async (req, res) => {
      const claims = req.auth!;
      const user = await users.findById(claims.sub);
      res.json({ sub: claims.sub, username: user?.username ?? null, roles: claims.roles });
    }),
  );

  // Express 5 names the wildcard (`*splat`, an array of segments); on Express 4 write
  // '/files/*' and `from: 'param:0'`.
  app.get(
    '/files/*splat',
    bearer,
    pathGuard({ root: settings.workspaceRoot, from: 'param:splat' }),
    (req, res, next) => {
      res.sendFile(req.safePath!, (error) => {
        if (error !== undefined && !res.headersSent) next(new BulwarkError('resource.not_found'));
      });
    },
  );

  // --- administration ----------------------------------------------------

  app.get(
    '/admin/summary',
    ...admin,
    route(async (_req, res) => {
      const apiKeys = await keys.list();
      res.json({
        environment: config.environment,
        stores,
        provider: (await providerKeys.resolve()).name,
        circuit: completions.breaker.state,
        users: await users.count(),
        api_keys: apiKeys.map((key) => ({
          id: key.id,
          name: key.name,
          scopes: key.scopes,
          created_at: key.createdAt,
          expires_at: key.expiresAt,
          last_used_at: key.lastUsedAt,
        })),
      });
    }),
  );

  app.post(
    '/admin/api-keys',
    ...admin,
    validate({ body: IssueKey }),
    route(async (req, res) => {
      const { name, scopes } = req.body;
      const issued = await keys.issue({ name, scopes: scopes ?? [] });
      res.status(201).json({ id: issued.id, key: issued.key });
    }),
  );

  app.post(
    '/admin/api-keys/:id/rotate',
    ...admin,
    validate({ params: KeyId, body: RotateKey }),
    route(async (req, res) => {
      const { id } = req.params;
      const { grace_seconds } = req.body;
      const rotated = await keys.rotate(id, { graceSeconds: grace_seconds });
      if (rotated === undefined) throw new BulwarkError('resource.not_found');
      res.status(201).json({ id: rotated.id, key: rotated.key });
    }),
  );

  app.delete(
    '/admin/api-keys/:id',
    ...admin,
    validate({ params: KeyId }),
    route(async (req, res) => {
      const { id } = req.params;
      if (!(await keys.revoke(id))) throw new BulwarkError('resource.not_found');
      res.status(204).end();
    }),
  );

  mountProviderRoutes(app, admin, providerKeys);

  // --- programs and the provider ------------------------------------------

  app.get('/v1/whoami', apiKeyAuth({ keys }), (req, res) => {
    res.json({ key_id: req.apiKey!.id, scopes: req.apiKey!.scopes });
  });

  app.post('/v1/echo', ...bearerOrKey, validate({ body: Echo }), (req, res) => {
    res.json(req.body);
  });

  completions.mount(app, [...bearerOrKey, completeScopeForKeys()]);

  // --- operations ----------------------------------------------------------

  app.post(
    '/debug/summarize-errors',
    ...admin,
    validate({ body: Summarize }),
    route(async (req, res) => {
      const { logs } = req.body;
      const prepared = prepareLogsForLLM(logs);
      if (prepared.kept === 0) {
        res.json({
          prompt: '',
          summary: 'No error-level lines were found.',
          redacted: prepared.redacted,
          kept: 0,
          dropped: prepared.dropped,
        });
        return;
      }
      const { payload } = guardOutbound(
        {
          messages: [
            { role: 'system', content: SUMMARY_INSTRUCTIONS },
            { role: 'user', content: prepared.text },
          ] satisfies ChatMessage[],
        },
        { req },
      );
      const answer = await callProvider({ messages: payload.messages, max_tokens: 512 });
      res.json({
        prompt: prepared.text,
        summary: answer.output,
        redacted: prepared.redacted,
        kept: prepared.kept,
        dropped: prepared.dropped,
        truncated: prepared.truncated,
        ...(answer.stale ? { stale: true } : {}),
      });
    }),
  );

  const metrics = metricsProtection(config);
  if (metrics !== undefined) app.get('/metrics', protectMetrics(metrics), securityMetrics());

  app.use(notFound());
  app.use(hardened.errorHandler());

  return {
    app,
    users,
    providerKeys,
    prepare,
    stores,
    close() {
      completions.breaker.shutdown();
    },
  };
}
