import type { Request, Response } from 'express';
import type { BulwarkError } from '../errors.js';
import { sendProblem } from '../internal/problem.js';
import { warnOnce } from '../internal/warn.js';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';

/**
 * A store written for express-rate-limit 6 and older, which counts through a
 * callback `incr`; express-rate-limit 8 still drives them, and so does bulwark.
 */
export interface CallbackStore {
  incr(
    key: string,
    callback: (error: Error | undefined, totalHits: number, resetTime: Date | undefined) => void,
  ): void;
  decrement(key: string): void;
  resetKey(key: string): void;
  resetAll?(): void;
}

/**
 * Whether `value` is meant as an express-rate-limit store (it counts with
 * `increment`, or with the callback `incr` of stores written for
 * express-rate-limit 6 and older). Its shape is checked by `storeProblem`.
 */
export function isStoreLike(value: unknown): value is Store | CallbackStore {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { increment?: unknown; incr?: unknown };
  return typeof candidate.increment === 'function' || typeof candidate.incr === 'function';
}

const isLegacy = (store: Store | CallbackStore): store is CallbackStore =>
  typeof (store as Partial<CallbackStore>).incr === 'function' &&
  typeof (store as Partial<Store>).increment !== 'function';

/** The check express-rate-limit makes of a store before it uses it, as a problem message. */
export function storeProblem(store: Store | CallbackStore): string | undefined {
  const s = store as Partial<Store & CallbackStore>;
  const required = [s.decrement, s.resetKey];
  const optional = isLegacy(store) ? [s.resetAll] : [s.resetAll, s.init];
  if (
    required.every((f) => typeof f === 'function') &&
    optional.every((f) => f === undefined || typeof f === 'function')
  ) {
    return undefined;
  }
  return "`store` must implement express-rate-limit's `Store` interface: `increment` (or the older `incr`), `decrement` and `resetKey` functions; `init` and `resetAll`, when present, functions too";
}

/**
 * express-rate-limit's adapter for a store with a callback `incr`, written for
 * express-rate-limit 6 and older. Like express-rate-limit's, it never calls
 * `init` (those stores take their window in their constructor).
 */
class CallbackStoreAdapter implements Store {
  readonly #legacy: CallbackStore;
  readonly localKeys: boolean | undefined;
  readonly prefix: string | undefined;

  constructor(legacy: CallbackStore) {
    this.#legacy = legacy;
    const { localKeys, prefix } = legacy as Pick<Store, 'localKeys' | 'prefix'>;
    this.localKeys = localKeys;
    this.prefix = prefix;
  }

  increment(key: string): Promise<ClientRateLimitInfo> {
    return new Promise((resolve, reject) => {
      this.#legacy.incr(key, (error, totalHits, resetTime) => {
        if (error) reject(error);
        else resolve({ totalHits, resetTime });
      });
    });
  }

  decrement(key: string): void {
    this.#legacy.decrement(key);
  }

  resetKey(key: string): void {
    this.#legacy.resetKey(key);
  }

  resetAll(): void {
    this.#legacy.resetAll?.();
  }
}

/** A store the limiter can drive: a `Store` as it is, a legacy one adapted. */
export function asStore(store: Store | CallbackStore): Store {
  return isLegacy(store) ? new CallbackStoreAdapter(store) : store;
}

// A store holds one window length (set by `init`): two limiters on one instance would share and
// overwrite it. express-rate-limit warns about this (ERR_ERL_STORE_REUSE); bulwark refuses.
const usedStores = new WeakSet<object>();

export function storeInUse(store: object): boolean {
  return usedStores.has(store);
}

export function claimStore(store: object): void {
  usedStores.add(store);
}

/**
 * The `Options` express-rate-limit hands a store's `init`, describing a
 * bulwark limiter. Stores read `windowMs` (a few `limit`); the rest is there
 * because the type asks for it, and says what the limiter does.
 */
export function initOptions(limiter: {
  windowMs: number;
  limit: number;
  name: string;
  exceeded: BulwarkError;
  skipSuccessfulRequests: boolean;
  requestWasSuccessful: (req: Request, res: Response) => boolean;
  key: (req: Request) => string;
  ipv6Subnet: number;
  skip: ((req: Request) => boolean | Promise<boolean>) | undefined;
  store: Store;
  failOpen: boolean;
  report: (error: unknown, operation: string) => void;
}): Options {
  const { exceeded, report } = limiter;
  return {
    windowMs: limiter.windowMs,
    limit: limiter.limit,
    message: exceeded.detail,
    statusCode: exceeded.status,
    legacyHeaders: false,
    standardHeaders: 'draft-8',
    identifier: limiter.name,
    requestPropertyName: 'rateLimit',
    skipFailedRequests: false,
    skipSuccessfulRequests: limiter.skipSuccessfulRequests,
    keyGenerator: limiter.key,
    ipv6Subnet: limiter.ipv6Subnet,
    handler: (_req, res) => {
      sendProblem(res, exceeded);
    },
    skip: limiter.skip ?? (() => false),
    requestWasSuccessful: limiter.requestWasSuccessful,
    store: limiter.store,
    validate: false,
    passOnStoreError: limiter.failOpen,
    logger: {
      warn: (error: unknown) => {
        report(error, 'store_warning');
      },
      error: (error: unknown) => {
        report(error, 'store_error');
      },
    },
  };
}

/**
 * Runs a store's `init` with the options it would get from express-rate-limit.
 * A failure (thrown, or a rejected promise) is reported, never thrown: the
 * limiter answers by its outage mode until the store works.
 */
export function initStore(
  store: Store,
  options: Options,
  report: (error: unknown, operation: string) => void,
): void {
  if (store.init === undefined) return;
  try {
    const started = store.init(options);
    if (started instanceof Promise) {
      started.catch((error: unknown) => {
        report(error, 'init');
      });
    }
  } catch (error) {
    report(error, 'init');
  }
}

/**
 * One of express-rate-limit's own one-time checks, which bulwark makes in its
 * place, under express-rate-limit's code and help page, so a
 * `process.on('warning')` filter written for it keeps working.
 */
function warnLikeExpressRateLimit(code: string, message: string): void {
  warnOnce(code, message, `https://express-rate-limit.github.io/${code}/`);
}

/**
 * express-rate-limit's check that a limiter is not built while answering a
 * request (a fresh store per request never limits), made once per limiter.
 */
export function warnIfCreatedInRequest(): void {
  const { stack } = new Error('stack probe');
  if (
    stack?.includes('Layer.handle [as handle_request]') ||
    stack?.includes('Layer.handleRequest')
  ) {
    warnLikeExpressRateLimit(
      'ERR_ERL_CREATED_IN_REQUEST_HANDLER',
      'A rate limiter was created while handling a request: each request then gets a new limiter and is never limited. Create limiters once, when the app is set up.',
    );
  }
}

// Per request, the store keys counted on the first request each limiter sees.
const countedOnFirstRequest = new WeakMap<Request, Set<string>>();

/**
 * express-rate-limit's check that one request is not counted twice under one
 * key of a shared store (two limiters on one Redis with the same `prefix` and
 * key kind), made on each limiter's first request. Only stores without
 * `localKeys` are checked: a local store belongs to one limiter. `identity`
 * names the store by class and prefix, as express-rate-limit does.
 */
export function warnIfCountedTwice(req: Request, identity: string, key: string): void {
  let keys = countedOnFirstRequest.get(req);
  if (keys === undefined) {
    keys = new Set();
    countedOnFirstRequest.set(req, keys);
  }
  const counted = `${identity}\n${key}`;
  if (keys.has(counted)) {
    warnLikeExpressRateLimit(
      'ERR_ERL_DOUBLE_COUNT',
      `The hit count for ${key} was incremented more than once for a single request: two limiters share a store and \`prefix\` (or one limiter is mounted twice). Give each limiter its own \`prefix\`.`,
    );
  }
  keys.add(counted);
}
