import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { RedisStore, type RedisReply, type SendCommandClusterDetails } from 'rate-limit-redis';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import {
  isRedisCluster,
  RedisTimeoutError,
  redisCommand,
  redisCommandOnEveryNode,
  type RedisClientLike,
} from '../stores/redis-client.js';
import type { BoundedMemoryStore } from './memory-store.js';

/** What a limiter does when its store fails. */
export type RateLimitStoreErrorMode = 'fail-closed' | 'fail-open' | 'memory-fallback';

/** Raised through express-rate-limit to the bulwark middleware, which answers per mode. */
export class StoreUnavailableError extends BulwarkError {
  declare readonly code: 'rate_limit.unavailable';

  constructor(cause: unknown) {
    super('rate_limit.unavailable', { message: 'rate-limit store unavailable', cause });
    this.name = 'StoreUnavailableError';
  }
}

// Store errors are reported at most this often per limiter; the rest are counted.
const REPORT_INTERVAL_MS = 1000;
// After a failure, the Lua scripts are reloaded at most this often.
const REINIT_INTERVAL_MS = 250;
// After a timeout, Redis is left alone this long: requests fail fast instead of each waiting out
// the deadline, and commands stop piling up on a connection that accepts bytes but never answers.
const SUSPEND_AFTER_TIMEOUT_MS = 1000;
const SUSPENDED = new Error('Redis skipped after a command timed out');

function isTimeout(error: unknown): boolean {
  return (
    error instanceof RedisTimeoutError || (error instanceof Error && error.name === 'TimeoutError')
  );
}

/**
 * rate-limit-redis's `sendCommandCluster`, for a single node and a cluster
 * alike: each command goes to the node owning its key. On a cluster, the
 * script loads it sends without a key (at `init`) go to every primary, so
 * the first request on each node needs no reload; a node that missed it (down
 * then, or restarted since) answers `NOSCRIPT`, and rate-limit-redis loads
 * the script there, by key, and retries.
 */
function clusterAwareSender(
  client: RedisClientLike,
): (details: SendCommandClusterDetails) => Promise<RedisReply> {
  return async ({ key, command }) => {
    if (key === undefined && command[0] === 'SCRIPT' && isRedisCluster(client)) {
      const outcomes = await redisCommandOnEveryNode(client, command);
      const loaded = outcomes.find((o) => o.status === 'fulfilled');
      if (loaded === undefined) {
        throw (outcomes[0] as PromiseRejectedResult | undefined)?.reason ?? new Error('no node');
      }
      return loaded.value as RedisReply;
    }
    return (await redisCommand(client, command, key)) as RedisReply;
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * rate-limit-redis's `RedisStore`, made to survive outages.
 *
 * `RedisStore` loads its Lua scripts once, in `init`, and keeps the promise:
 * if Redis is down at that moment (at start-up, or while it reloads a script
 * after `NOSCRIPT`), the rejected promise is kept and every later increment
 * fails even after Redis is back. When that promise has failed, this wrapper
 * runs `init` again (at most every 250 ms) so limiting resumes by itself.
 *
 * After a command times out, Redis is skipped for a second (requests get the
 * outage mode at once), then tried again.
 *
 * Failures become `rate_limit.store_error` events, at most one a second per
 * limiter, each carrying how many failures it stands for. In `memory-fallback`
 * mode the request is counted in a local bounded store instead; otherwise a
 * `StoreUnavailableError` reaches the middleware.
 */
export class ResilientRedisStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #redis: RedisStore;
  readonly #client: RedisClientLike;
  readonly #mode: RateLimitStoreErrorMode;
  readonly #fallback: BoundedMemoryStore | undefined;
  #options: Options | undefined;
  #reinitAfter = Number.POSITIVE_INFINITY;
  #suspendedUntil = 0;
  #lastReport = Number.NEGATIVE_INFINITY;
  #unreported = 0;

  constructor(
    client: RedisClientLike,
    prefix: string,
    mode: RateLimitStoreErrorMode,
    fallback: BoundedMemoryStore | undefined,
  ) {
    this.prefix = prefix;
    this.#client = client;
    this.#mode = mode;
    this.#fallback = fallback;
    this.#redis = new RedisStore({ prefix, sendCommandCluster: clusterAwareSender(client) });
  }

  init(options: Options): void {
    this.#options = options;
    this.#fallback?.init(options);
    void this.#load();
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const now = Date.now();
    if (now < this.#suspendedUntil) return this.#unavailable(key, SUSPENDED);
    // Awaited, so the first request after Redis (re)connects is counted, not refused.
    if (now >= this.#reinitAfter) await this.#load();
    try {
      return await this.#redis.increment(key);
    } catch (error) {
      this.#reloadIfScriptsFailed();
      return this.#unavailable(key, error);
    }
  }

  async decrement(key: string): Promise<void> {
    if (Date.now() >= this.#suspendedUntil) {
      try {
        await this.#redis.decrement(key);
        return;
      } catch (error) {
        this.#failed(error, 'decrement');
      }
    }
    this.#fallback?.decrement(key);
  }

  async resetKey(key: string): Promise<void> {
    this.#fallback?.resetKey(key);
    try {
      await this.#redis.resetKey(key);
    } catch (error) {
      this.#failed(error, 'reset');
    }
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    try {
      return await this.#redis.get(key);
    } catch (error) {
      this.#failed(error, 'get');
      return this.#fallback?.get(key);
    }
  }

  #unavailable(key: string, error: unknown): ClientRateLimitInfo {
    this.#failed(error, 'increment');
    if (this.#fallback !== undefined) return this.#fallback.increment(key);
    throw new StoreUnavailableError(error);
  }

  /** Loads the scripts; a failure is reported and retried on a later request. */
  async #load(): Promise<void> {
    const options = this.#options;
    if (options === undefined) return;
    this.#reinitAfter = Number.POSITIVE_INFINITY;
    try {
      await this.#redis.init(options);
    } catch (error) {
      // A client still connecting refuses at once without touching the network:
      // retry on the very next request instead of refusing requests for the interval.
      const connecting = (this.#client as { isReady?: unknown }).isReady === false;
      this.#reinitAfter = connecting ? 0 : Date.now() + REINIT_INTERVAL_MS;
      this.#failed(error, 'load_scripts');
    }
  }

  /** RedisStore keeps a failed script load forever; schedule a reload only then. */
  #reloadIfScriptsFailed(): void {
    this.#redis.incrementScriptSha.then(
      () => undefined,
      () => {
        this.#reinitAfter = Math.min(this.#reinitAfter, Date.now() + REINIT_INTERVAL_MS);
      },
    );
  }

  #failed(error: unknown, operation: string): void {
    const now = Date.now();
    if (isTimeout(error)) this.#suspendedUntil = now + SUSPEND_AFTER_TIMEOUT_MS;
    this.#unreported++;
    if (now - this.#lastReport < REPORT_INTERVAL_MS) return;
    const failures = this.#unreported;
    this.#lastReport = now;
    this.#unreported = 0;
    securityEvents.emit('rate_limit.store_error', undefined, {
      reason: 'store_unavailable',
      store: 'redis',
      prefix: this.prefix,
      operation,
      mode: this.#mode,
      failures,
      error: messageOf(error),
    });
  }
}
