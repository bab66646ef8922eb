import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { ClientRateLimitInfo, Store } from 'express-rate-limit';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { asyncMiddleware } from '../internal/async.js';
import { sha256Hex } from '../internal/compare.js';
import { currentEnvironment, isProduction } from '../internal/env.js';
import type { OptionChecker } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { warnOnce } from '../internal/warn.js';
import { isRedisClient, type RedisClientLike } from '../stores/redis-client.js';
import { addRateLimitItem } from './headers.js';
import { BoundedMemoryStore } from './memory-store.js';
import {
  STORE_ERROR_MODES,
  StoreOutage,
  SUSPENDED,
  type RateLimitStoreErrorMode,
} from './outage.js';
import { ResilientRedisStore } from './redis-store.js';
import {
  asStore,
  claimStore,
  type CallbackStore,
  initOptions,
  initStore,
  isStoreLike,
  storeInUse,
  storeProblem,
  warnIfCountedTwice,
  warnIfCreatedInRequest,
} from './store.js';
import { trustProxyChecker } from './trust-proxy.js';

/** Options every bulwark limiter takes. */
export interface LimiterBaseOptions {
  /** Milliseconds each counting window lasts. */
  windowMs?: number;
  /**
   * Where counts live: `'memory'` (this process), a Redis client (shared by
   * every process), or any express-rate-limit `Store` (rate-limit-mongo,
   * rate-limit-postgresql, ...), including older stores with a callback
   * `incr`. @default 'memory'
   */
  store?: 'memory' | RedisClientLike | Store | CallbackStore;
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
  /** Most keys a memory store (or the memory fallback) holds before evicting the oldest. @default 100000 */
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

/** The `store` option, sorted out. */
export type StoreChoice =
  | { readonly kind: 'memory' }
  | { readonly kind: 'redis'; readonly client: RedisClientLike }
  | { readonly kind: 'store'; readonly store: Store | CallbackStore };

/** The shared options, checked. */
export interface BaseSettings {
  readonly windowMs: number;
  readonly prefix: string;
  readonly ipv6Subnet: number;
  readonly maxKeys: number;
  readonly mode: RateLimitStoreErrorMode;
  readonly skip: ((req: Request) => boolean | Promise<boolean>) | undefined;
  readonly store: StoreChoice;
  readonly production: boolean;
}

// The longest delay a Node timer takes: the one rule for durations that loadConfig() shares.
const MAX_WINDOW_MS = 2 ** 31 - 1;

/**
 * Checks the options every limiter shares (rateLimit, loginRateLimit,
 * costLimit). `acceptsStore: false` is for a limiter that cannot count in an
 * express-rate-limit `Store`.
 */
export function checkBaseOptions<T extends LimiterBaseOptions>(
  check: OptionChecker<T>,
  defaults: { windowMs: number; prefix: string; maxWindowMs?: number; acceptsStore: boolean },
): BaseSettings {
  const windowMs = check.number('windowMs', {
    min: 1,
    max: defaults.maxWindowMs ?? MAX_WINDOW_MS,
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
  const production = isProduction(check.string('env', currentEnvironment(), { nonEmpty: true }));
  const allowFallback = check.boolean('dangerouslyAllowMemoryFallbackInProduction', false);
  const mode = check.oneOf('onStoreError', STORE_ERROR_MODES, 'fail-closed');
  if (mode === 'memory-fallback' && production && !allowFallback) {
    check.problem(
      '`onStoreError: memory-fallback` is refused in production: during a store outage every replica would count alone, multiplying the limit. ' +
        'Use fail-closed or fail-open, or set `dangerouslyAllowMemoryFallbackInProduction: true` if you accept that.',
    );
  }
  return {
    windowMs,
    prefix,
    ipv6Subnet,
    maxKeys,
    mode,
    skip,
    store: checkStore(check, defaults.acceptsStore),
    production,
  };
}

function checkStore<T extends LimiterBaseOptions>(
  check: OptionChecker<T>,
  acceptsStore: boolean,
): StoreChoice {
  const raw = check.raw('store');
  if (raw === undefined || raw === 'memory') return { kind: 'memory' };
  if (isRedisClient(raw)) return { kind: 'redis', client: raw };
  if (acceptsStore && isStoreLike(raw)) {
    const problem = storeProblem(raw);
    if (problem !== undefined) check.problem(problem);
    else if (storeInUse(raw)) {
      check.problem(
        '`store` is already used by another limiter; a store holds one window length. Give each limiter its own store instance.',
      );
    }
    return { kind: 'store', store: raw };
  }
  check.problem(
    acceptsStore
      ? "`store` must be 'memory', a Redis client (from createRedisClient()) or an express-rate-limit Store"
      : "`store` must be 'memory' or a Redis client (from createRedisClient())",
  );
  return { kind: 'memory' };
}

/** Warns once when a limiter counts in this process only, in production. */
export function warnIfLocalInProduction(base: BaseSettings, localKeys: boolean | undefined): void {
  if (base.production && localKeys === true) {
    warnOnce(
      'BULWARK_RATE_LIMIT_MEMORY_STORE_IN_PRODUCTION',
      'A rate limiter counts in process memory in production: with more than one replica each counts alone. Pass a Redis client as `store`.',
    );
  }
}

export function memoryStore(maxKeys: number): Store {
  return new BoundedMemoryStore(maxKeys);
}

export interface LimiterSettings {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly base: BaseSettings;
  readonly keyKind: string;
  readonly key: (req: Request) => string;
  readonly skipSuccessfulRequests: boolean;
  /** What counts as a success for `skipSuccessfulRequests`. @default status below 400 */
  readonly requestWasSuccessful?: (req: Request, res: Response) => boolean;
}

function windowName(limit: number, windowMs: number): string {
  const seconds = windowMs / 1000;
  return Number.isInteger(seconds) ? `${limit}-in-${seconds}s` : `${limit}-in-${windowMs}ms`;
}

/**
 * draft-8's partition key, as express-rate-limit writes it: the first 12 hex
 * digits of the key's SHA-256, in base64, so a client can tell buckets apart
 * without learning the key.
 */
function partitionKey(key: string): string {
  return Buffer.from(sha256Hex(key).slice(0, 12)).toString('base64');
}

const statusBelow400 = (_req: Request, res: Response): boolean => res.statusCode < 400;

/**
 * One limiter: drives an express-rate-limit `Store` directly (bulwark's
 * bounded memory store, Redis through rate-limit-redis, or the user's),
 * answers with bulwark's problems and events and applies the outage mode.
 * Everything but the count itself is worked out here, once.
 */
export function createLimiter(settings: LimiterSettings): RequestHandler {
  const { name, limit, windowMs, base, keyKind, key: keyOf, skipSuccessfulRequests } = settings;
  const { mode, skip } = base;
  const wasSuccessful = settings.requestWasSuccessful ?? statusBelow400;
  const policyName = `"${windowName(limit, windowMs)}"`;
  const windowSeconds = Math.ceil(windowMs / 1000);
  const policyStart = `${policyName}; q=${limit}; w=${windowSeconds}; pk=:`;
  const exceeded = new BulwarkError('rate_limit.exceeded', {
    detail: 'Too many requests. Retry after the number of seconds in Retry-After.',
  });
  const checkTrustProxy = trustProxyChecker();
  warnIfCreatedInRequest();

  const choice = base.store;
  const storeName = choice.kind === 'store' ? choice.store.constructor.name : choice.kind;
  const outage = new StoreOutage({ limiter: name, store: storeName, prefix: base.prefix, mode });
  const report = (error: unknown, operation: string): void => {
    outage.failed(error, operation);
  };
  let store: Store;
  if (choice.kind === 'redis') store = new ResilientRedisStore(choice.client, base.prefix, report);
  else if (choice.kind === 'memory') store = memoryStore(base.maxKeys);
  else {
    claimStore(choice.store);
    store = asStore(choice.store);
  }
  const fallback =
    mode === 'memory-fallback' && choice.kind !== 'memory' ? memoryStore(base.maxKeys) : undefined;
  warnIfLocalInProduction(base, store.localKeys);
  // Stores shared between processes are told apart by class and prefix, as express-rate-limit does.
  const sharedIdentity =
    store.localKeys === true ? undefined : `${storeName}\n${store.prefix ?? base.prefix}`;
  let firstRequest = true;

  const options = initOptions({
    windowMs,
    limit,
    name: windowName(limit, windowMs),
    exceeded,
    skipSuccessfulRequests,
    requestWasSuccessful: wasSuccessful,
    key: keyOf,
    ipv6Subnet: base.ipv6Subnet,
    skip,
    store,
    failOpen: mode === 'fail-open',
    report,
  });
  initStore(store, options, report);
  if (fallback !== undefined) initStore(fallback, options, report);

  /** Gives back a counted request (a success under `skipSuccessfulRequests`). */
  async function giveBack(counter: Store, key: string): Promise<void> {
    if (counter === store && outage.suspended) return;
    try {
      await counter.decrement(key);
    } catch (error) {
      report(error, 'decrement');
    }
  }

  /** The count in `counter`, or the error that stands for an outage. */
  async function increment(counter: Store, key: string): Promise<ClientRateLimitInfo> {
    if (counter === store && outage.suspended) throw SUSPENDED;
    const info = await counter.increment(key);
    const hits = info.totalHits;
    if (!Number.isSafeInteger(hits) || hits < 1) {
      throw new Error(`the store counted ${String(hits)} hits`);
    }
    return info;
  }

  function answer(
    req: Request,
    res: Response,
    next: NextFunction,
    key: string,
    counter: Store,
    info: ClientRateLimitInfo,
  ): void {
    const hits = info.totalHits;
    if (firstRequest) {
      firstRequest = false;
      if (sharedIdentity !== undefined) warnIfCountedTwice(req, sharedIdentity, key);
    }
    const reset = info.resetTime;
    const resetSeconds =
      reset === undefined
        ? windowSeconds
        : Math.max(0, Math.ceil((reset.getTime() - Date.now()) / 1000));
    if (!res.headersSent) {
      addRateLimitItem(
        res,
        'RateLimit',
        `${policyName}; r=${Math.max(limit - hits, 0)}; t=${resetSeconds}`,
      );
      addRateLimitItem(res, 'RateLimit-Policy', `${policyStart}${partitionKey(key)}:`);
    }
    if (skipSuccessfulRequests) {
      res.once('finish', () => {
        if (!wasSuccessful(req, res)) return;
        // A window that has ended took the count with it.
        if (reset === undefined || Date.now() < reset.getTime()) void giveBack(counter, key);
      });
    }
    if (hits > limit) {
      // Once per key and window: a flood of rejected requests must not flood the event log.
      if (hits === limit + 1) {
        securityEvents.emit('rate_limit.exceeded', req, {
          reason: 'limit_exceeded',
          limiter: name,
          keyKind,
          limit,
          windowMs,
        });
      }
      if (!res.headersSent) res.setHeader('Retry-After', String(resetSeconds));
      sendProblem(res, exceeded);
      return;
    }
    next();
  }

  async function limitRequest(req: Request, res: Response, next: NextFunction): Promise<void> {
    checkTrustProxy(req);
    if (skip !== undefined && (await skip(req))) {
      next();
      return;
    }
    const key = keyOf(req);
    let counter = store;
    let info: ClientRateLimitInfo;
    try {
      info = await increment(store, key);
    } catch (error) {
      report(error, 'increment');
      if (fallback === undefined) {
        outage.answer(res, next);
        return;
      }
      counter = fallback;
      try {
        info = await increment(fallback, key);
      } catch (fallbackError) {
        report(fallbackError, 'increment');
        outage.answer(res, next);
        return;
      }
    }
    answer(req, res, next, key, counter, info);
  }

  return asyncMiddleware(`${name}Middleware`, limitRequest);
}
