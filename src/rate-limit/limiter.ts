import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit as expressRateLimit, type Logger, type Store } from 'express-rate-limit';
import { secretsDirectory, readSetting } from '../config/sources.js';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { currentEnvironment, isProduction } from '../internal/env.js';
import type { OptionChecker } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { warnOnce } from '../internal/warn.js';
import { isRedisClient, type RedisClientLike } from '../stores/redis-client.js';
import { mergeRateLimitField } from './headers.js';
import { BoundedMemoryStore } from './memory-store.js';
import {
  ResilientRedisStore,
  StoreUnavailableError,
  type RateLimitStoreErrorMode,
} from './redis-store.js';
import { trustProxyChecker } from './trust-proxy.js';

/** Options every bulwark limiter takes. */
export interface LimiterBaseOptions {
  /** Milliseconds each counting window lasts. */
  windowMs?: number;
  /** `'memory'` counts in this process; a Redis client shares counts between processes. @default 'memory' */
  store?: 'memory' | RedisClientLike;
  /** Prefix of every Redis key the limiter writes. */
  prefix?: string;
  /**
   * What happens while the store is unreachable: `fail-closed` answers 503
   * `rate_limit.unavailable`, `fail-open` lets requests through unlimited,
   * `memory-fallback` counts them in this process. @default 'fail-closed'
   */
  onStoreError?: RateLimitStoreErrorMode;
  /** Requests for which this returns true are neither counted nor limited. */
  skip?: (req: Request) => boolean | Promise<boolean>;
  /** Deployment environment. @default ENVIRONMENT or NODE_ENV */
  env?: string;
  /** Prefix length IPv6 clients are grouped by (32–64). @default 56 */
  ipv6Subnet?: number;
  /** Most counters a memory store (or the memory fallback) holds before evicting the oldest. @default 100000 */
  maxKeys?: number;
  /**
   * Allows `memory-fallback` in production, where each replica then counts
   * alone during a Redis outage (the limit multiplies by the replica count).
   * @default false
   */
  dangerouslyAllowMemoryFallbackInProduction?: boolean;
}

/** Every `KnownKeys` entry of `LimiterBaseOptions`, for the factories' own lists. */
export const BASE_KEYS = {
  windowMs: true,
  store: true,
  prefix: true,
  onStoreError: true,
  skip: true,
  env: true,
  ipv6Subnet: true,
  maxKeys: true,
  dangerouslyAllowMemoryFallbackInProduction: true,
} as const;

export interface LimiterSettings {
  name: string;
  limit: number;
  windowMs: number;
  store: Store;
  mode: RateLimitStoreErrorMode;
  keyKind: string;
  key: (req: Request) => string;
  skip: ((req: Request) => boolean | Promise<boolean>) | undefined;
  skipSuccessfulRequests: boolean;
  /** What counts as a success for `skipSuccessfulRequests`. @default status below 400 */
  requestWasSuccessful?: (req: Request, res: Response) => boolean;
}

const MODES = ['fail-closed', 'fail-open', 'memory-fallback'] as const;
const MAX_WINDOW_MS = 2 ** 31 - 1;
// How long a client is asked to wait while the store is down: about one reconnect back-off.
const UNAVAILABLE_RETRY_AFTER_SECONDS = '5';

/**
 * An integer setting from the environment (or `NAME_FILE`, or the secrets
 * folder). A malformed value is a configuration problem naming the variable,
 * never a silent default.
 */
export function integerSetting(
  check: OptionChecker<object>,
  name: string,
  range: { min: number; max: number },
): number | undefined {
  const env = process.env;
  const setting = readSetting(name, [], { env, secretsDir: secretsDirectory(env) });
  if (setting.value === undefined) return undefined;
  const text = setting.value.trim();
  const value = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= range.min && value <= range.max)) {
    check.problem(
      `${setting.variable} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(text.slice(0, 20))}`,
    );
    return undefined;
  }
  return value;
}

function booleanSetting(check: OptionChecker<object>, name: string): boolean | undefined {
  const env = process.env;
  const setting = readSetting(name, [], { env, secretsDir: secretsDirectory(env) });
  if (setting.value === undefined) return undefined;
  const text = setting.value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  check.problem(`${setting.variable} must be true or false`);
  return undefined;
}

/** Checks the options every limiter shares and builds its store. */
export function checkBaseOptions(
  check: OptionChecker<LimiterBaseOptions>,
  defaults: { windowMs: number; prefix: string },
): {
  windowMs: number;
  ipv6Subnet: number;
  /** Builds the store; call it only after `check.done()`. */
  makeStore: () => Store;
  mode: RateLimitStoreErrorMode;
  skip: ((req: Request) => boolean | Promise<boolean>) | undefined;
} {
  const windowMs = check.number('windowMs', {
    min: 1,
    max: MAX_WINDOW_MS,
    integer: true,
    default: defaults.windowMs,
  });
  const prefix = check.string('prefix', defaults.prefix, { nonEmpty: true, maxLength: 200 });
  const ipv6Subnet = check.number('ipv6Subnet', { min: 32, max: 64, integer: true, default: 56 });
  const maxKeys = check.number('maxKeys', {
    min: 1,
    max: 100_000_000,
    integer: true,
    default: 100_000,
  });
  const skip = check.func<(req: Request) => boolean | Promise<boolean>>('skip');
  const production = isProduction(
    check.string('env', currentEnvironment(), { nonEmpty: true }).trim().toLowerCase(),
  );
  const allowFallback = check.boolean('dangerouslyAllowMemoryFallbackInProduction', false);

  const rawStore = check.raw('store');
  let redis: RedisClientLike | undefined;
  if (isRedisClient(rawStore)) redis = rawStore;
  else if (rawStore !== undefined && rawStore !== 'memory') {
    check.problem("`store` must be 'memory' or a Redis client (from createRedisClient())");
  }

  let mode = check.oneOf('onStoreError', MODES, undefined);
  let modeSource = '`onStoreError: memory-fallback`';
  if (mode === undefined && !check.has('onStoreError')) {
    const fallbackEnabled = booleanSetting(check, 'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED');
    if (fallbackEnabled === true) {
      mode = 'memory-fallback';
      modeSource = 'RATE_LIMIT_IN_MEMORY_FALLBACK_ENABLED';
    }
  }
  const resolvedMode = mode ?? 'fail-closed';
  if (resolvedMode === 'memory-fallback' && production && !allowFallback) {
    check.problem(
      `${modeSource} is refused in production: during a Redis outage every replica would count alone, multiplying the limit. ` +
        'Use fail-closed or fail-open, or set `dangerouslyAllowMemoryFallbackInProduction: true` if you accept that.',
    );
  }

  const makeStore = (): Store => {
    if (redis === undefined) {
      if (production) {
        warnOnce(
          'BULWARK_RATE_LIMIT_MEMORY_STORE_IN_PRODUCTION',
          'A rate limiter counts in process memory in production: with more than one replica each counts alone. Pass a Redis client as `store`.',
        );
      }
      return new BoundedMemoryStore(maxKeys);
    }
    const fallback =
      resolvedMode === 'memory-fallback' ? new BoundedMemoryStore(maxKeys) : undefined;
    return new ResilientRedisStore(redis, prefix, resolvedMode, fallback);
  };
  return { windowMs, ipv6Subnet, makeStore, mode: resolvedMode, skip };
}

function codeOf(error: unknown): string | undefined {
  const code: unknown = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * express-rate-limit reports its own one-time configuration checks and
 * internal failures here instead of on the console.
 */
function forward(error: unknown, message?: string): void {
  const code = codeOf(error);
  if (code !== undefined && /^(ERR|WRN)_ERL_/.test(code)) {
    process.emitWarning((error as Error).message, { type: 'BulwarkWarning', code });
    return;
  }
  securityEvents.emit('rate_limit.store_error', undefined, {
    reason: 'limiter_error',
    error: error instanceof Error ? error.message : String(error),
    context: message,
  });
}
const LOGGER: Logger = { warn: forward, error: forward };

function windowName(limit: number, windowMs: number): string {
  const seconds = windowMs / 1000;
  return Number.isInteger(seconds) ? `${limit}-in-${seconds}s` : `${limit}-in-${windowMs}ms`;
}

/** Wraps one express-rate-limit instance with bulwark's answers, events and outage modes. */
export function createLimiter(settings: LimiterSettings): RequestHandler {
  const { limit, windowMs, mode, keyKind } = settings;
  const exceeded = new BulwarkError('rate_limit.exceeded', {
    detail: 'Too many requests. Retry after the number of seconds in Retry-After.',
  });
  const unavailable = new BulwarkError('rate_limit.unavailable', {
    detail: 'The rate limiter is temporarily unavailable. Retry later.',
    headers: { 'Retry-After': UNAVAILABLE_RETRY_AFTER_SECONDS },
  });
  const failOpen = mode === 'fail-open';
  const checkTrustProxy = trustProxyChecker();

  const limiter = expressRateLimit({
    windowMs,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: windowName(limit, windowMs),
    keyGenerator: settings.key,
    ...(settings.skip === undefined ? {} : { skip: settings.skip }),
    skipSuccessfulRequests: settings.skipSuccessfulRequests,
    ...(settings.requestWasSuccessful === undefined
      ? {}
      : { requestWasSuccessful: settings.requestWasSuccessful }),
    store: settings.store,
    passOnStoreError: false,
    logger: LOGGER,
    // The key generators group IPv6 through ipKeyGenerator; this check only reads their source.
    validate: { keyGeneratorIpFallback: false },
    handler(req: Request, res: Response) {
      mergeEarlierPolicies(req, res);
      const info = (req as { rateLimit?: { used: number; limit: number } }).rateLimit;
      // Once per key and window: a flood of rejected requests must not flood the event log.
      if (info !== undefined && info.used === info.limit + 1) {
        securityEvents.emit('rate_limit.exceeded', req, {
          reason: 'limit_exceeded',
          limiter: settings.name,
          keyKind,
          limit,
          windowMs,
        });
      }
      sendProblem(res, exceeded);
    },
  });

  // express-rate-limit sets its fields outright; keep what an earlier limiter on the route wrote.
  const earlier = new WeakMap<Request, [string | undefined, string | undefined]>();
  function mergeEarlierPolicies(req: Request, res: Response): void {
    const before = earlier.get(req);
    if (before === undefined) return;
    earlier.delete(req);
    mergeRateLimitField(res, 'RateLimit', before[0]);
    mergeRateLimitField(res, 'RateLimit-Policy', before[1]);
  }

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    checkTrustProxy(req);
    const rateLimit = res.getHeader('RateLimit');
    const policy = res.getHeader('RateLimit-Policy');
    if (typeof rateLimit === 'string' || typeof policy === 'string') {
      earlier.set(req, [
        typeof rateLimit === 'string' ? rateLimit : undefined,
        typeof policy === 'string' ? policy : undefined,
      ]);
    }
    limiter(req, res, (error?: unknown) => {
      mergeEarlierPolicies(req, res);
      if (error instanceof StoreUnavailableError) {
        if (failOpen) next();
        else sendProblem(res, unavailable);
        return;
      }
      next(error);
    });
  };
  Object.defineProperty(middleware, 'name', { value: `${settings.name}Middleware` });
  return middleware;
}
