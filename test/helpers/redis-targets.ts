import { afterAll, afterEach, beforeAll } from 'vitest';
import {
  createRedisClient,
  whenRedisReady,
  type BulwarkRedis,
  type RedisClientOptions,
} from '../../src/index.js';
import { redisCommand, redisCommandOnEveryNode } from '../../src/stores/redis-client.js';
import { clearSharedKeys, SHARED_REDIS_URL, uniquePrefix } from './redis.js';
import { RedisClusterFixture } from './redis-cluster.js';

export type RedisTargetKind = 'single node' | 'cluster';
export const REDIS_TARGET_KINDS: readonly RedisTargetKind[] = ['single node', 'cluster'];

/** One Redis deployment a test runs against, with what the test needs to look inside it. */
export interface RedisTarget {
  readonly kind: RedisTargetKind;
  /** The environment a child process reads: `REDIS_URL` or `REDIS_CLUSTER_NODES`. */
  readonly env: Readonly<Record<string, string>>;
  /** The cluster fixture, for tests that kill a node. */
  readonly cluster: RedisClusterFixture | undefined;
  /** A new client made by `createRedisClient`, ready; closed when the file ends. */
  client(options?: RedisClientOptions): Promise<BulwarkRedis>;
  /** Runs one command for inspection (routed by `key` on the cluster). */
  command(args: string[], key?: string): Promise<unknown>;
  /** Every key starting with `prefix`, from every node, sorted. */
  keys(prefix: string): Promise<string[]>;
  /** Deletes every key starting with `prefix`, on every node; resolves with how many there were. */
  clear(prefix: string): Promise<number>;
}

async function whenReady(client: BulwarkRedis): Promise<BulwarkRedis> {
  if (!(await whenRedisReady(client, 10_000))) throw new Error('redis client not ready in time');
  return client;
}

/**
 * The Redis deployments of one test file: the shared single node and a
 * private cluster, started on first use and stopped when the file ends, so a
 * file starts at most one cluster however many suites run on it.
 *
 * @example
 * const targets = new RedisTargets();
 * describe.each(REDIS_TARGET_KINDS)('on %s', (kind) => {
 *   let target: RedisTarget;
 *   beforeAll(async () => { target = await targets.get(kind); });
 * });
 */
export class RedisTargets {
  #cluster: Promise<RedisClusterFixture> | undefined;
  readonly #clients: BulwarkRedis[] = [];
  readonly #targets = new Map<RedisTargetKind, Promise<RedisTarget>>();

  constructor() {
    afterAll(async () => {
      await Promise.all(this.#clients.map((c) => c.quit().catch(() => undefined)));
      if (this.#cluster !== undefined) await (await this.#cluster).stop();
    });
  }

  /** Resolves `kind`'s target, starting the cluster on first use. */
  get(kind: RedisTargetKind): Promise<RedisTarget> {
    let target = this.#targets.get(kind);
    if (target === undefined) {
      target = this.#make(kind);
      this.#targets.set(kind, target);
    }
    return target;
  }

  /** The file's cluster, started on first use. */
  cluster(): Promise<RedisClusterFixture> {
    this.#cluster ??= RedisClusterFixture.start();
    return this.#cluster;
  }

  async #make(kind: RedisTargetKind): Promise<RedisTarget> {
    const cluster = kind === 'cluster' ? await this.cluster() : undefined;
    const connect = async (options?: RedisClientOptions): Promise<BulwarkRedis> => {
      const client =
        cluster === undefined
          ? createRedisClient(SHARED_REDIS_URL, options)
          : createRedisClient({ cluster: cluster.urls }, options);
      this.#clients.push(client);
      return whenReady(client);
    };
    const inspector = await connect();
    async function keys(prefix: string): Promise<string[]> {
      const outcomes = await redisCommandOnEveryNode(inspector, ['KEYS', `${prefix}*`]);
      const found: string[] = [];
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') throw outcome.reason;
        found.push(...(outcome.value as string[]));
      }
      return found.sort();
    }
    return {
      kind,
      cluster,
      env:
        cluster === undefined
          ? { REDIS_URL: SHARED_REDIS_URL }
          : { REDIS_CLUSTER_NODES: cluster.urls.join(',') },
      client: connect,
      command: (args, key) => redisCommand(inspector, args, key),
      keys,
      async clear(prefix) {
        const found = await keys(prefix);
        // One DEL per key: on a cluster the keys of one prefix live in many slots.
        await Promise.all(found.map((key) => redisCommand(inspector, ['DEL', key], key)));
        return found.length;
      },
    };
  }
}

/**
 * Inside a `describe` for one target kind: hands the target and its client to
 * `ready` before the tests, and returns `prefixFor(label)`, a fresh key prefix
 * whose keys are deleted on every node after each test.
 */
export function targetPrefixes(
  targets: RedisTargets,
  kind: RedisTargetKind,
  ready: (target: RedisTarget, client: BulwarkRedis) => void,
): (label: string) => string {
  let target: RedisTarget | undefined;
  const prefixes: string[] = [];
  beforeAll(async () => {
    target = await targets.get(kind);
    ready(target, await target.client());
  }, 60_000);
  afterEach(async () => {
    const used = prefixes.splice(0);
    if (target !== undefined) await Promise.all(used.map((prefix) => target!.clear(prefix)));
  });
  return (label) => {
    const prefix = uniquePrefix(label);
    prefixes.push(prefix);
    return prefix;
  };
}

/**
 * `prefixFor(label)`: a fresh key prefix on the shared Redis, whose keys are
 * deleted when the enclosing suite (or the file, at top level) ends. For
 * tests that write to the shared node without a `RedisTargets`.
 */
export function sharedPrefixes(): (label: string) => string {
  const used: string[] = [];
  afterAll(async () => {
    await clearSharedKeys(used.splice(0));
  });
  return (label) => {
    const prefix = uniquePrefix(label);
    used.push(prefix);
    return prefix;
  };
}
