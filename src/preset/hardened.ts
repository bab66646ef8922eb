import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { loadConfig } from '../config/load.js';
import type { BulwarkConfig } from '../config/types.js';
import { BulwarkConfigError } from '../errors.js';
import { errorHandler, type ErrorHandlerOptions } from '../error-handler.js';
import { corsPolicy, type CorsPolicyOptions } from '../headers/cors-policy.js';
import { httpsRedirect, type HttpsRedirectOptions } from '../headers/https-redirect.js';
import { securityHeaders, type SecurityHeadersOptions } from '../headers/security-headers.js';
import { trustedHosts, type TrustedHostsOptions } from '../headers/trusted-hosts.js';
import { useDictionaryMode } from '../internal/dictionary-mode.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import {
  suspiciousActivity,
  type SuspiciousActivityOptions,
} from '../monitoring/suspicious-activity.js';
import { rateLimit, type RateLimitOptions } from '../rate-limit/rate-limit.js';
import { bodyLimits, type BodyLimitsOptions } from '../request/body-limits.js';
import { requestId, type RequestIdOptions } from '../request/request-id.js';
import { requestTimeout, type RequestTimeoutOptions } from '../request/request-timeout.js';
import {
  closeRedis,
  createRedisClient,
  isRedisClient,
  type BulwarkRedis,
  type RedisClientLike,
} from '../stores/redis-client.js';

/**
 * Each part takes its factory's options, merged over what the configuration
 * gives, or `false` to leave it out.
 */
export interface HardenedOptions {
  /** @default loadConfig() */
  config?: BulwarkConfig;
  /** Redis for the rate limiter and the activity detector. @default a client for `REDIS_CLUSTER_NODES` or `RATE_LIMIT_STORAGE_URI`, if set */
  redis?: RedisClientLike;
  /**
   * Paths (matched exactly, without the query) of liveness and readiness
   * probes: they skip the Host check, the HTTPS redirect, the rate limit and
   * the activity detector, so an orchestrator probing by address over plain
   * HTTP is answered and a store outage cannot fail liveness. `[]` for none.
   * @default ['/health', '/ready']
   */
  probePaths?: readonly string[];
  requestId?: RequestIdOptions | false;
  trustedHosts?: Partial<TrustedHostsOptions> | false;
  httpsRedirect?: HttpsRedirectOptions | false;
  securityHeaders?: SecurityHeadersOptions | false;
  corsPolicy?: Partial<CorsPolicyOptions> | false;
  rateLimit?: RateLimitOptions | false;
  bodyLimits?: BodyLimitsOptions | false;
  requestTimeout?: Partial<RequestTimeoutOptions> | false;
  suspiciousActivity?: SuspiciousActivityOptions | false;
}

/** The composed middleware, plus what it needs at shutdown. */
export interface HardenedMiddleware extends RequestHandler {
  /** The parts in the order they run, by name. */
  readonly parts: readonly string[];
  /** The Redis client the preset made from the configuration, if it made one. */
  readonly redis: BulwarkRedis | undefined;
  /**
   * Closes what the preset opened: the one Redis client it made from
   * `REDIS_CLUSTER_NODES` or
   * `RATE_LIMIT_STORAGE_URI` (shared by its limiter and activity detector),
   * which would otherwise keep the process alive. A client you passed in
   * stays open. Safe to call more than once.
   */
  close(): Promise<void>;
}

export interface HardenedFactory {
  (options?: HardenedOptions): HardenedMiddleware;
  /** `errorHandler()`, to mount after every route. */
  errorHandler(options?: ErrorHandlerOptions): ErrorRequestHandler;
}

const KNOWN: KnownKeys<HardenedOptions> = {
  config: true,
  redis: true,
  probePaths: true,
  requestId: true,
  trustedHosts: true,
  httpsRedirect: true,
  securityHeaders: true,
  corsPolicy: true,
  rateLimit: true,
  bodyLimits: true,
  requestTimeout: true,
  suspiciousActivity: true,
};

type PartName = Exclude<keyof HardenedOptions, 'config' | 'redis' | 'probePaths'>;

const DEFAULT_PROBE_PATHS = ['/health', '/ready'];
/** Parts a probe skips: they would refuse an orchestrator's request or reach a store. */
const SKIPPED_BY_PROBES: ReadonlySet<string> = new Set([
  'trustedHosts',
  'httpsRedirect',
  'rateLimit',
  'suspiciousActivity',
]);

function probePathList(check: OptionChecker<HardenedOptions>): ReadonlySet<string> {
  const paths = check.stringArray('probePaths', DEFAULT_PROBE_PATHS);
  if (paths.length > 20) check.problem('`probePaths` lists more than 20 paths');
  for (const path of paths) {
    if (!/^\/[^?#\s]{0,199}$/.test(path)) {
      check.problem(
        `\`probePaths\` entry ${JSON.stringify(path.slice(0, 50))} must be a path starting with / (no query, at most 200 characters)`,
      );
    }
  }
  return new Set(paths);
}

/**
 * The preset's limiter runs before any authentication, so a per-key or
 * per-user limit there would find no key and silently count per IP.
 */
function checkPresetKeyBy(check: OptionChecker<HardenedOptions>, rateLimit: unknown): void {
  if (typeof rateLimit !== 'object' || rateLimit === null) return;
  const keyBy = (rateLimit as { keyBy?: unknown }).keyBy;
  if (keyBy !== 'apiKey' && keyBy !== 'user') return;
  const auth = keyBy === 'apiKey' ? 'apiKeyAuth({ keys })' : 'jwtAuth({ tokens })';
  check.problem(
    `\`rateLimit.keyBy: '${keyBy}'\` cannot work in the preset: it runs before any authentication, so there is no ${keyBy === 'apiKey' ? 'API key' : 'user'} to count by yet. ` +
      `Keep the preset's per-IP limit and mount a per-key limiter after authentication on the routes that need it, e.g. app.use('/v1', ${auth}, rateLimit({ keyBy: '${keyBy}', store: redis })).`,
  );
}

function part<K extends PartName>(
  check: OptionChecker<HardenedOptions>,
  name: K,
): HardenedOptions[K] {
  const value = check.raw(name);
  if (value === undefined || value === false) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    check.problem(`\`${name}\` must be an options object or false`);
    return undefined;
  }
  return value;
}

/**
 * One middleware that composes, in order: requestId, trustedHosts,
 * httpsRedirect, securityHeaders, corsPolicy, rateLimit, bodyLimits,
 * requestTimeout, suspiciousActivity. Probe paths (`/health` and `/ready` by
 * default) skip trustedHosts, httpsRedirect, rateLimit and
 * suspiciousActivity. With no `config` it reads
 * `loadConfig()`, which in production refuses unsafe settings; switching a
 * protection off in production is refused the same way. The parts run inside
 * one Express layer, so the preset costs one dispatch, not nine.
 *
 * @example
 * const app = express();
 * const protect = hardened();
 * app.use(protect);
 * app.post('/v1/echo', (req, res) => res.json(req.body));
 * app.use(hardened.errorHandler());
 */
function hardenedFactory(options?: HardenedOptions): HardenedMiddleware {
  const check = new OptionChecker('hardened', options, KNOWN);
  const given = check.raw('config');
  const redisOption = check.raw('redis');
  if (redisOption !== undefined && !isRedisClient(redisOption)) {
    check.problem('`redis` must be a Redis client (from createRedisClient)');
  }
  const parts = {
    requestId: part(check, 'requestId'),
    trustedHosts: part(check, 'trustedHosts'),
    httpsRedirect: part(check, 'httpsRedirect'),
    securityHeaders: part(check, 'securityHeaders'),
    corsPolicy: part(check, 'corsPolicy'),
    rateLimit: part(check, 'rateLimit'),
    bodyLimits: part(check, 'bodyLimits'),
    requestTimeout: part(check, 'requestTimeout'),
    suspiciousActivity: part(check, 'suspiciousActivity'),
  };
  checkPresetKeyBy(check, parts.rateLimit);
  const probePaths = probePathList(check);
  check.done();

  const config = (given as BulwarkConfig | undefined) ?? loadConfig();
  const env = config.environment;
  const hosts =
    parts.trustedHosts === false ? [] : (parts.trustedHosts?.hosts ?? config.trustedHosts);
  const origins =
    parts.corsPolicy === false ? [] : (parts.corsPolicy?.origins ?? config.cors.allowedOrigins);

  let ownRedis: BulwarkRedis | undefined;
  let redis = redisOption as RedisClientLike | undefined;
  const wantsRedis = parts.rateLimit !== false || parts.suspiciousActivity !== false;
  if (redis === undefined && wantsRedis) {
    const { clusterNodes, storageUri } = config.rateLimit;
    if (clusterNodes.length > 0) ownRedis = createRedisClient({ cluster: clusterNodes });
    else if (storageUri !== undefined) ownRedis = createRedisClient(storageUri);
    redis = ownRedis;
  }

  if (config.production) {
    const unsafe: string[] = [];
    if (hosts.length === 0) unsafe.push('trustedHosts is off or lists no host (set TRUSTED_HOSTS)');
    if (parts.securityHeaders === false) unsafe.push('securityHeaders is switched off');
    if (parts.rateLimit === false) unsafe.push('rateLimit is switched off');
    else if ((parts.rateLimit?.store ?? redis ?? 'memory') === 'memory') {
      unsafe.push(
        'rateLimit counts in memory: each replica would allow the full limit (set RATE_LIMIT_STORAGE_URI)',
      );
    }
    if (parts.bodyLimits === false) unsafe.push('bodyLimits is switched off');
    if (parts.requestTimeout === false) unsafe.push('requestTimeout is switched off');
    if (unsafe.length > 0) {
      ownRedis?.destroy();
      throw new BulwarkConfigError('hardened (production)', unsafe);
    }
  }

  const chain: [string, RequestHandler][] = [];
  const add = (name: string, build: () => RequestHandler): void => {
    chain.push([name, build()]);
  };
  try {
    if (parts.requestId !== false) add('requestId', () => requestId(parts.requestId || undefined));
    if (hosts.length > 0) {
      add('trustedHosts', () => trustedHosts({ env, ...(parts.trustedHosts || {}), hosts }));
    }
    if (
      parts.httpsRedirect !== false &&
      (parts.httpsRedirect !== undefined || config.httpsRedirectEnabled)
    ) {
      add('httpsRedirect', () => httpsRedirect(parts.httpsRedirect || undefined));
    }
    if (parts.securityHeaders !== false) {
      add('securityHeaders', () => securityHeaders(parts.securityHeaders || undefined));
    }
    if (origins.length > 0) {
      add('corsPolicy', () => corsPolicy({ env, ...(parts.corsPolicy || {}), origins }));
    }
    if (parts.rateLimit !== false) {
      add('rateLimit', () =>
        rateLimit({
          limit: config.rateLimit.requestsPerMinute,
          windowMs: config.rateLimit.windowSeconds * 1000,
          store: redis ?? 'memory',
          env,
          ...(config.rateLimit.inMemoryFallbackEnabled ? { onStoreError: 'memory-fallback' } : {}),
          ...(parts.rateLimit || {}),
        }),
      );
    }
    if (parts.bodyLimits !== false) {
      add('bodyLimits', () =>
        bodyLimits({ maxBytes: config.maxBodyBytes, ...(parts.bodyLimits || {}) }),
      );
    }
    if (parts.requestTimeout !== false) {
      add('requestTimeout', () =>
        requestTimeout({ ms: config.requestTimeoutMs, ...(parts.requestTimeout || {}) }),
      );
    }
    if (parts.suspiciousActivity !== false) {
      add('suspiciousActivity', () =>
        suspiciousActivity({
          ...(redis === undefined ? {} : { store: redis }),
          ...(parts.suspiciousActivity || {}),
        }),
      );
    }
  } catch (error) {
    ownRedis?.destroy();
    throw error;
  }

  const allHandlers = chain.map(([, handler]) => handler);
  const probeHandlers = chain
    .filter(([name]) => !SKIPPED_BY_PROBES.has(name))
    .map(([, handler]) => handler);

  /**
   * The dispatcher, a device kept because it measured above the 2% a device
   * must save: the parts run in one loop here rather than as layers of an
   * Express router, which writes `req.next`, `req.baseUrl` and more for every
   * layer. Full stack, callgrind, median of three samples: a router cost 10%
   * more instructions per request on a plain server and 4% more on one made
   * with serverClasses() (bench/README.md, "Devices").
   */
  function hardenedMiddleware(req: Request, res: Response, next: NextFunction): void {
    // So that every part and every layer after the preset meet one hidden class
    // per object, not a new one per request (docs/preset.md).
    useDictionaryMode(req);
    useDictionaryMode(res);
    const handlers = probePaths.has(req.path) ? probeHandlers : allHandlers;
    const count = handlers.length;
    let index = 0;
    const step = (error?: unknown): void => {
      if (error !== undefined && error !== null && error !== 'route') {
        next(error);
        return;
      }
      if (index === count) {
        next();
        return;
      }
      const handler = handlers[index++] as RequestHandler;
      try {
        void handler(req, res, step);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  }

  return Object.assign(hardenedMiddleware, {
    parts: chain.map(([name]) => name),
    redis: ownRedis,
    async close(): Promise<void> {
      if (ownRedis !== undefined) await closeRedis(ownRedis);
    },
  });
}

/** The preset: every protection in one line, from `loadConfig()` or your options. */
export const hardened: HardenedFactory = Object.assign(hardenedFactory, {
  errorHandler: (options?: ErrorHandlerOptions): ErrorRequestHandler => errorHandler(options),
});
