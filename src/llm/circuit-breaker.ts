import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import CircuitBreaker from 'opossum';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { maxKeysOption } from '../internal/max-keys.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { isRedisClient, redisCommand, type RedisClientLike } from '../stores/redis-client.js';

/** What a provider call receives besides its input. */
export interface CircuitCallContext {
  /** Aborted at the deadline, or when the caller's own signal aborts. */
  readonly signal: AbortSignal;
  /**
   * For a streamed answer: call it as each chunk arrives. Until the first
   * call, `timeoutMs` bounds the time to the first byte; each call then
   * restarts the same deadline, which from there on bounds the gap between
   * chunks. Once called, a failure still counts against the circuit but is
   * rethrown instead of answered from the cache: part of the answer is out.
   */
  progress(): void;
}

/** Per-call options of `Breaker.call`. */
export interface CircuitCallOptions {
  /**
   * The caller's signal, e.g. aborted when the client disconnects. Aborts the
   * call at once; the call rejects with the signal's reason, which never
   * counts against the circuit and is never answered from the cache.
   */
  signal?: AbortSignal;
}

/** A breaker answer: fresh from the provider, or the last good answer from the cache. */
export type CircuitResult<O> =
  | { readonly value: O; readonly stale: false }
  | { readonly value: O; readonly stale: true; readonly cachedAt: string };

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitCacheOptions<I> {
  /** Where last good answers live; Redis lets replicas share them. @default 'memory' */
  store?: 'memory' | RedisClientLike;
  /** How long an answer may be served stale, in ms. @default 3_600_000 */
  ttlMs?: number;
  /** Memory store cap; the least recently used answer goes first. @default 1000 */
  maxKeys?: number;
  /** Alias of `maxKeys`, its former name; give one or the other. */
  maxEntries?: number;
  /** Redis key prefix. @default 'bulwark:circuit:<name>:' */
  prefix?: string;
  /** Cache key of an input. @default SHA-256 of its JSON */
  key?: (input: I) => string;
}

export interface CircuitBreakerOptions<I> {
  /** Shown in events. @default 'upstream' */
  name?: string;
  /** A call taking longer fails and its signal aborts. @default 10_000 */
  timeoutMs?: number;
  /** Failure percentage in the rolling window that opens the circuit. @default 50 */
  errorThresholdPercentage?: number;
  /** Calls in the window before the circuit may open at all. @default 5 */
  volumeThreshold?: number;
  /** Length of the rolling window, in ms (a multiple of 10). @default 10_000 */
  rollingWindowMs?: number;
  /** How long the circuit stays open before one probe call is let through. @default 30_000 */
  resetTimeoutMs?: number;
  /**
   * Whether an error counts against the upstream. Errors it returns `false` for
   * (e.g. a 400 caused by the caller) are rethrown as they are and never open the circuit.
   * A missed `timeoutMs` always counts and is not asked about.
   * @default () => true
   */
  isFailure?: (error: unknown) => boolean;
  /** Cache of last good answers served, marked stale, while the upstream fails. `false` turns it off. */
  cache?: CircuitCacheOptions<I> | false;
}

export interface Breaker<I, O> {
  /** Calls the upstream through the circuit. Rejects with 503 `upstream.unavailable` when no answer can be given. */
  call(input: I, options?: CircuitCallOptions): Promise<CircuitResult<O>>;
  readonly state: CircuitState;
  /** Stops the breaker's timers. */
  shutdown(): void;
}

const KNOWN: KnownKeys<CircuitBreakerOptions<unknown>> = {
  name: true,
  timeoutMs: true,
  errorThresholdPercentage: true,
  volumeThreshold: true,
  rollingWindowMs: true,
  resetTimeoutMs: true,
  isFailure: true,
  cache: true,
};

const CACHE_KNOWN: KnownKeys<CircuitCacheOptions<unknown>> = {
  store: true,
  ttlMs: true,
  maxKeys: true,
  maxEntries: true,
  prefix: true,
  key: true,
};

interface CachedAnswer {
  readonly value: unknown;
  readonly cachedAt: string;
}

interface AnswerCache {
  get(key: string): Promise<CachedAnswer | undefined>;
  set(key: string, answer: CachedAnswer): Promise<void>;
}

/**
 * An lru-cache: an answer expires `ttlMs` after it was stored, and past
 * `maxKeys` the answer least recently stored or served goes, so the answers
 * an outage is actually serving stay.
 */
function memoryCache(ttlMs: number, maxKeys: number): AnswerCache {
  // No clock debounce: it would start a timer per read, and reads here are rare.
  const entries = new LRUCache<string, CachedAnswer>({
    max: maxKeys,
    ttl: Math.ceil(ttlMs),
    ttlResolution: 0,
  });
  return {
    get(key) {
      return Promise.resolve(entries.get(key));
    },
    set(key, answer) {
      entries.set(key, answer);
      return Promise.resolve();
    },
  };
}

function redisCache(client: RedisClientLike, prefix: string, ttlMs: number): AnswerCache {
  return {
    async get(key) {
      const raw = await redisCommand(client, ['GET', prefix + key], prefix + key);
      return typeof raw === 'string' ? (JSON.parse(raw) as CachedAnswer) : undefined;
    },
    async set(key, answer) {
      await redisCommand(
        client,
        ['SET', prefix + key, JSON.stringify(answer), 'PX', String(ttlMs)],
        prefix + key,
      );
    },
  };
}

function defaultKey(input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([input]))
    .digest('base64url');
}

/**
 * A call missed its deadline. It leaves the breaker as the reason the call's
 * signal aborts with and as the rejection of a stream that stalls after its
 * first chunk; so it carries the code the
 * breaker answers every other upstream failure with, and a stall that reaches
 * `errorHandler()` is the same 503. Callers tell it by that code: the class
 * stays private.
 */
class UpstreamTimeout extends BulwarkError {
  declare readonly code: 'upstream.unavailable';

  constructor(ms: number, streaming: boolean) {
    super('upstream.unavailable', {
      detail: 'The upstream service did not answer in time; try again later.',
      message: streaming
        ? `upstream stream stalled for ${String(ms)} ms`
        : `upstream call timed out after ${String(ms)} ms`,
    });
    this.name = 'UpstreamTimeout';
  }
}

/** One call's state, shared by the wrapped function, the error filter and `call`. */
interface CallState {
  readonly signal: AbortSignal | undefined;
  /** Set by the first `progress()`: the answer has started to flow. */
  started: boolean;
}

function isCallState(value: unknown): value is CallState {
  return typeof value === 'object' && value !== null && 'started' in value;
}

/**
 * Wraps an outbound provider call in a circuit breaker (opossum): calls time
 * out and abort, a failure rate over the threshold opens the circuit, one
 * probe is let through after `resetTimeoutMs`, and while the upstream fails
 * the last good answer for the same input is served from a cache, marked
 * stale. With no such answer, the call rejects with 503 `upstream.unavailable`.
 *
 * A streamed answer goes through the same breaker: the call consumes the
 * stream and calls `context.progress()` per chunk, so `timeoutMs` bounds the
 * time to the first byte and then each gap between chunks, and a stream that
 * fails midway counts as a failure. Pass the client's signal to `call` so a
 * disconnect aborts the provider request at once.
 *
 * @param fn the provider call; it should honour `context.signal`
 * @param [options.timeoutMs=10000]
 * @param [options.errorThresholdPercentage=50]
 * @param [options.volumeThreshold=5]
 * @param [options.resetTimeoutMs=30000]
 * @example
 * const complete = circuitBreaker((prompt, { signal }) => provider.complete(prompt, { signal }), {
 *   name: 'openai', cache: { store: redis, ttlMs: 600_000 },
 * });
 * const { value, stale } = await complete.call(prompt);
 */
export function circuitBreaker<I, O>(
  fn: (input: I, context: CircuitCallContext) => Promise<O>,
  options?: CircuitBreakerOptions<I>,
): Breaker<I, O> {
  const check = new OptionChecker('circuitBreaker', options, KNOWN);
  if (typeof fn !== 'function') check.problem('the first argument must be the function to protect');
  const name = check.string('name', 'upstream', { nonEmpty: true, maxLength: 100 });
  const timeoutMs = check.number('timeoutMs', { min: 1, max: 600_000, default: 10_000 });
  const errorThresholdPercentage = check.number('errorThresholdPercentage', {
    min: 1,
    max: 100,
    default: 50,
  });
  const volumeThreshold = check.number('volumeThreshold', {
    min: 1,
    max: 1_000_000,
    integer: true,
    default: 5,
  });
  const rollingWindowMs = check.number('rollingWindowMs', {
    min: 10,
    max: 3_600_000,
    integer: true,
    default: 10_000,
  });
  if (rollingWindowMs % 10 !== 0) check.problem('`rollingWindowMs` must be a multiple of 10');
  const resetTimeoutMs = check.number('resetTimeoutMs', {
    min: 1,
    max: 3_600_000,
    default: 30_000,
  });
  const isFailure = check.func<(error: unknown) => boolean>('isFailure') ?? (() => true);
  const cacheOption = check.raw('cache');
  check.done();

  let cache: AnswerCache | undefined;
  let cacheKey: (input: I) => string = defaultKey;
  if (cacheOption !== false) {
    const cacheCheck = new OptionChecker(
      'circuitBreaker cache',
      cacheOption as CircuitCacheOptions<I> | undefined,
      CACHE_KNOWN,
    );
    const store = cacheCheck.raw('store') ?? 'memory';
    if (store !== 'memory' && !isRedisClient(store)) {
      cacheCheck.problem("`store` must be 'memory' or a Redis client");
    }
    const ttlMs = cacheCheck.number('ttlMs', { min: 1, max: 30 * 86_400_000, default: 3_600_000 });
    const maxKeys = maxKeysOption(cacheCheck, {
      min: 1,
      max: 10_000_000,
      integer: true,
      default: 1000,
    });
    const prefix = cacheCheck.string('prefix', `bulwark:circuit:${name}:`, { nonEmpty: true });
    cacheKey = cacheCheck.func<(input: I) => string>('key') ?? defaultKey;
    cacheCheck.done();
    cache = isRedisClient(store) ? redisCache(store, prefix, ttlMs) : memoryCache(ttlMs, maxKeys);
  }

  const guarded = async (input: I, state: CallState): Promise<O> => {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let stop: (error: unknown) => void = () => undefined;
    const stopped = new Promise<never>((_resolve, reject) => {
      stop = reject;
    });
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const error = new UpstreamTimeout(timeoutMs, state.started);
        controller.abort(error);
        stop(error);
      }, timeoutMs);
    };
    const callerAborted = (): void => {
      const reason: unknown = state.signal?.reason;
      controller.abort(reason);
      stop(reason);
    };
    state.signal?.addEventListener('abort', callerAborted, { once: true });
    arm();
    const context: CircuitCallContext = {
      signal: controller.signal,
      progress() {
        if (controller.signal.aborted) return;
        state.started = true;
        arm();
      },
    };
    try {
      return await Promise.race([fn(input, context), stopped]);
    } finally {
      clearTimeout(timer);
      state.signal?.removeEventListener('abort', callerAborted);
    }
  };

  const breaker = new CircuitBreaker(guarded, {
    name,
    // The per-call deadline above aborts the call's own signal; opossum's timeout cannot.
    timeout: false,
    errorThresholdPercentage,
    volumeThreshold,
    rollingCountTimeout: rollingWindowMs,
    rollingCountBuckets: 10,
    resetTimeout: resetTimeoutMs,
    // A caller who left says nothing about the upstream; neither does an error the caller caused.
    // opossum passes the call's arguments after the error; its types omit them.
    // A missed deadline always counts: it is the upstream's doing, whatever isFailure says.
    errorFilter: (error: unknown, ...args: unknown[]) => {
      const state = args[1];
      if (isCallState(state) && state.signal?.aborted === true) return true;
      return !(error instanceof UpstreamTimeout) && !isFailure(error);
    },
    enableSnapshots: false,
  });
  let openedAt = 0;
  breaker.on('open', () => {
    openedAt = Date.now();
    securityEvents.emit('circuit.open', undefined, { reason: 'failure_threshold', circuit: name });
  });
  breaker.on('halfOpen', () => {
    securityEvents.emit('circuit.half_open', undefined, { reason: 'probe', circuit: name });
  });
  breaker.on('close', () => {
    securityEvents.emit('circuit.closed', undefined, { reason: 'recovered', circuit: name });
  });

  async function fallback(input: I, error: unknown): Promise<CircuitResult<O>> {
    if (cache !== undefined) {
      const cached = await cache.get(cacheKey(input)).catch(() => undefined);
      if (cached !== undefined) {
        return { value: cached.value as O, stale: true, cachedAt: cached.cachedAt };
      }
    }
    const headers: Record<string, string> = {};
    if (breaker.opened) {
      const wait = Math.max(1, Math.ceil((openedAt + resetTimeoutMs - Date.now()) / 1000));
      headers['Retry-After'] = String(wait);
    }
    throw new BulwarkError('upstream.unavailable', {
      detail: 'The upstream service is unavailable; try again later.',
      headers,
      cause: error,
    });
  }

  return {
    async call(input: I, options?: CircuitCallOptions): Promise<CircuitResult<O>> {
      const signal = options?.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError('circuitBreaker call: `signal` must be an AbortSignal');
      }
      // A caller already gone costs the upstream nothing.
      signal?.throwIfAborted();
      const state: CallState = { signal, started: false };
      let value: O;
      try {
        value = await breaker.fire(input, state);
      } catch (error) {
        // The caller left, or part of a streamed answer is already out: no stale answer fits.
        if (signal?.aborted === true || state.started) throw error;
        // An error the caller caused is theirs to see; it says nothing about the upstream.
        const refused = (error as { code?: unknown }).code === 'EOPENBREAKER';
        if (!refused && !(error instanceof UpstreamTimeout) && !isFailure(error)) {
          throw error;
        }
        return fallback(input, error);
      }
      if (cache !== undefined) {
        await cache
          .set(cacheKey(input), { value, cachedAt: new Date().toISOString() })
          .catch(() => undefined);
      }
      return { value, stale: false };
    },
    get state(): CircuitState {
      if (breaker.opened) return 'open';
      return breaker.halfOpen ? 'half_open' : 'closed';
    },
    shutdown(): void {
      breaker.shutdown();
    },
  };
}
