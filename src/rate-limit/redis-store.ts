import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import { RedisStore, type RedisReply, type SendCommandClusterDetails } from 'rate-limit-redis';
import {
  isRedisCluster,
  redisCommand,
  redisCommandOnEveryNode,
  type RedisClientLike,
} from '../stores/redis-client.js';

// Public through the barrel since the outage modes lived here.
export type { RateLimitStoreErrorMode } from './outage.js';

// After a failure, the Lua scripts are reloaded at most this often.
const REINIT_INTERVAL_MS = 250;

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

/**
 * rate-limit-redis's `RedisStore`, made to recover from outages by itself.
 *
 * `RedisStore` loads its Lua scripts once, in `init`, and keeps the promise:
 * if Redis is down at that moment (at start-up, or while it reloads a script
 * after `NOSCRIPT`), the rejected promise is kept and every later increment
 * fails even after Redis is back. When that promise has failed, this wrapper
 * runs `init` again (at most every 250 ms) so limiting resumes by itself.
 *
 * Failures are thrown to the limiter, which applies its outage mode; a failed
 * script load, which no request awaits, goes to `reportFailure`.
 */
export class ResilientRedisStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #redis: RedisStore;
  readonly #client: RedisClientLike;
  readonly #reportFailure: (error: unknown, operation: string) => void;
  #options: Options | undefined;
  #reinitAfter = Number.POSITIVE_INFINITY;

  constructor(
    client: RedisClientLike,
    prefix: string,
    reportFailure: (error: unknown, operation: string) => void,
  ) {
    this.prefix = prefix;
    this.#client = client;
    this.#reportFailure = reportFailure;
    this.#redis = new RedisStore({ prefix, sendCommandCluster: clusterAwareSender(client) });
  }

  init(options: Options): void {
    this.#options = options;
    void this.#load();
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    // Awaited, so the first request after Redis (re)connects is counted, not refused.
    if (Date.now() >= this.#reinitAfter) await this.#load();
    try {
      return await this.#redis.increment(key);
    } catch (error) {
      this.#reloadIfScriptsFailed();
      throw error;
    }
  }

  decrement(key: string): Promise<void> {
    return this.#redis.decrement(key);
  }

  resetKey(key: string): Promise<void> {
    return this.#redis.resetKey(key);
  }

  get(key: string): Promise<ClientRateLimitInfo | undefined> {
    return this.#redis.get(key);
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
      this.#reportFailure(error, 'load_scripts');
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
}
