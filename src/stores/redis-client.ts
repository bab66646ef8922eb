import { createRequire } from 'node:module';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import {
  RedisClusterConnection,
  RedisClusterNotConnectedError,
  type NodeRedisCluster,
} from './redis-cluster.js';

/** Per-command options bulwark passes to node-redis. */
export interface RedisCommandOptions {
  timeout?: number;
}

/**
 * A single Redis node (or a primary with replicas) as bulwark uses it:
 * node-redis's `sendCommand(args)`.
 */
export interface RedisNodeClientLike {
  sendCommand(args: string[], options?: RedisCommandOptions): Promise<unknown>;
}

/** One primary of a Redis Cluster, as node-redis lists it in `masters`. */
export interface RedisClusterNodeLike {
  /** `host:port` */
  readonly address: string;
}

/**
 * A Redis Cluster as bulwark uses it: node-redis's cluster client
 * (`createCluster`), whose `sendCommand` routes a command by its first key,
 * and whose `masters`/`nodeClient` reach each primary for the few operations
 * that must run on every node (loading a script).
 */
export interface RedisClusterClientLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
    options?: RedisCommandOptions,
  ): Promise<unknown>;
  readonly masters: readonly RedisClusterNodeLike[];
  nodeClient(node: RedisClusterNodeLike): Promise<RedisNodeClientLike>;
}

/**
 * The one client type every Redis-backed part of bulwark accepts: a single
 * node or a cluster, from `createRedisClient` or made with node-redis
 * directly. The public types do not depend on the optional `redis` package.
 */
export type RedisClientLike = RedisNodeClientLike | RedisClusterClientLike;

/** What both clients `createRedisClient` makes share: their connection's life. */
export interface RedisConnection {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready' | 'end' | 'connect', listener: () => void): unknown;
  /** Sends QUIT after pending replies, then closes. */
  quit(): Promise<unknown>;
  /** Closes at once, failing pending commands. */
  destroy(): void;
}

/** The client `createRedisClient(url)` returns: a node-redis client, typed by what bulwark uses. */
export interface BulwarkRedisClient extends RedisConnection, RedisNodeClientLike {}

/**
 * The client `createRedisClient({ cluster })` returns: node-redis's cluster
 * client with the same fail-fast lifecycle. `isReady` is true while every
 * primary is connected.
 */
export interface BulwarkRedisCluster extends RedisConnection, RedisClusterClientLike {}

/** Either client `createRedisClient` makes. */
export type BulwarkRedis = BulwarkRedisClient | BulwarkRedisCluster;

/** Where a cluster client starts: any of its nodes; it discovers the rest. */
export interface RedisClusterTarget {
  /** `redis://` or `rediss://` URLs of one or more nodes, all with the same credentials. */
  cluster: readonly string[];
}

export interface RedisClientOptions {
  /** Milliseconds to wait for a TCP connection. @default 1000 */
  connectTimeoutMs?: number;
  /** Milliseconds a command may take before it fails. @default 1000 */
  commandTimeoutMs?: number;
  /** Longest pause between reconnect attempts, in ms. @default 5000 */
  maxReconnectDelayMs?: number;
  /** Name shown by `CLIENT LIST`. @default 'bulwark' */
  name?: string;
}

const KNOWN: KnownKeys<RedisClientOptions> = {
  connectTimeoutMs: true,
  commandTimeoutMs: true,
  maxReconnectDelayMs: true,
  name: true,
};

const DEFAULT_COMMAND_TIMEOUT_MS = 1000;

/**
 * What `redisCommand` knows of a client `createRedisClient` made: its
 * deadline, and whether its first connection attempt is still under way
 * (`firstAttempt` settles when that attempt succeeds or fails).
 */
interface ClientState {
  readonly commandTimeout: number;
  connecting: boolean;
  readonly firstAttempt: Promise<void>;
}
const clientStates = new WeakMap<RedisClientLike, ClientState>();

interface NodeRedisModule {
  createClient(
    options: Record<string, unknown>,
  ): BulwarkRedisClient & { connect(): Promise<unknown> };
  createCluster(options: Record<string, unknown>): NodeRedisCluster;
}

function loadNodeRedis(): NodeRedisModule {
  // `redis` is an optional peer: load it only when a Redis client is asked for.
  const require = createRequire(import.meta.url);
  try {
    return require('redis') as NodeRedisModule;
  } catch {
    throw new Error('createRedisClient() needs the `redis` package: npm install redis');
  }
}

/** Hides the password of a `redis://user:pass@host` URL in messages. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}

const REDIS_URL = /^rediss?:\/\//;

/**
 * What is wrong with a list of cluster node URLs, by position, never by
 * value, so a password in a URL stays out of messages. `loadConfig()`
 * checks `REDIS_CLUSTER_NODES` with this too, so a list it accepts is never
 * refused here later.
 */
export function clusterNodeProblems(nodes: unknown): string[] {
  if (!Array.isArray(nodes) || nodes.length === 0) {
    return ['`cluster` must be a non-empty array of redis:// or rediss:// URLs'];
  }
  const problems: string[] = [];
  let first: URL | undefined;
  nodes.forEach((node: unknown, i) => {
    let parsed: URL | undefined;
    try {
      parsed = typeof node === 'string' && REDIS_URL.test(node) ? new URL(node) : undefined;
    } catch {
      parsed = undefined;
    }
    const at = `cluster[${String(i)}]`;
    if (parsed === undefined) {
      problems.push(`${at} must be a redis:// or rediss:// URL`);
      return;
    }
    if (!['', '/', '/0'].includes(parsed.pathname)) {
      problems.push(`${at} names a database: Redis Cluster has only database 0`);
    }
    first ??= parsed;
    if (
      parsed.protocol !== first.protocol ||
      parsed.username !== first.username ||
      parsed.password !== first.password
    ) {
      problems.push(
        `${at} differs from the first node in scheme or credentials: every node of a cluster is reached the same way`,
      );
    }
  });
  return problems;
}

function clusterUrls(target: object, check: OptionChecker<RedisClientOptions>): string[] {
  const extra = Object.keys(target).filter((key) => key !== 'cluster');
  if (extra.length > 0) {
    check.problem(`unknown target keys: ${extra.join(', ')} (expected { cluster })`);
  }
  const nodes: unknown = (target as Partial<RedisClusterTarget>).cluster;
  const problems = clusterNodeProblems(nodes);
  for (const problem of problems) check.problem(problem);
  return problems.length === 0 ? (nodes as string[]) : [];
}

/**
 * A node-redis client with defaults safe for a request path: the offline
 * queue is off and every command has a deadline, so an outage answers in
 * about a second instead of hanging requests; reconnects back off
 * exponentially (with jitter) forever, so recovery needs no restart; and
 * connection errors become `rate_limit.store_error` events instead of
 * unhandled `error` events. The connection starts at once.
 *
 * The client is usable before it connects: while its first connection
 * attempt is under way, a command waits for it (within the command
 * deadline) instead of failing, so parts built on it at start-up count and
 * answer from the first request. Once an attempt has failed, commands fail
 * fast until Redis is back. An outage is reported once, when it is first
 * seen, and its end once (`rate_limit.store_recovered`).
 *
 * Given `{ cluster: [url, ...] }` it makes a node-redis cluster client
 * (`createCluster`) with the same defaults on every node connection: it
 * discovers the other nodes from any one that answers (retrying with backoff
 * while none does), routes each command to the node owning its key, follows
 * `MOVED` and `ASK` redirections, and reports node errors the same way.
 * Every Redis-backed part of bulwark takes either client.
 *
 * @param url `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS;
 *   or `{ cluster: [url, ...] }`, one or more nodes of a Redis Cluster
 * @param [options.connectTimeoutMs=1000]
 * @param [options.commandTimeoutMs=1000]
 * @param [options.maxReconnectDelayMs=5000]
 * @example const redis = createRedisClient(process.env.REDIS_URL);
 * @example const redis = createRedisClient({ cluster: process.env.REDIS_CLUSTER_NODES.split(',') });
 */
export function createRedisClient(url: string, options?: RedisClientOptions): BulwarkRedisClient;
export function createRedisClient(
  target: RedisClusterTarget,
  options?: RedisClientOptions,
): BulwarkRedisCluster;
export function createRedisClient(
  target: string | RedisClusterTarget,
  options?: RedisClientOptions,
): BulwarkRedis;
export function createRedisClient(
  target: string | RedisClusterTarget,
  options?: RedisClientOptions,
): BulwarkRedis {
  const check = new OptionChecker('createRedisClient', options, KNOWN);
  const given: unknown = target;
  const cluster =
    typeof given === 'object' && given !== null ? clusterUrls(given, check) : undefined;
  if (cluster === undefined && (typeof target !== 'string' || !REDIS_URL.test(target))) {
    check.problem('url must be a redis:// or rediss:// URL, or { cluster: [url, ...] }');
  }
  const connectTimeout = check.number('connectTimeoutMs', {
    min: 1,
    max: 60_000,
    default: 1000,
  });
  const commandTimeout = check.number('commandTimeoutMs', {
    min: 1,
    max: 60_000,
    default: DEFAULT_COMMAND_TIMEOUT_MS,
  });
  const maxDelay = check.number('maxReconnectDelayMs', { min: 10, max: 600_000, default: 5000 });
  const name = check.string('name', 'bulwark', { pattern: /^[\x21-\x7e]+$/ });
  check.done();

  const reconnectDelay = (retries: number): number =>
    Math.min(maxDelay, 50 * 2 ** Math.min(retries, 16)) + Math.floor(Math.random() * 50);
  const socket = { connectTimeout, reconnectStrategy: reconnectDelay };

  let endFirstAttempt = (): void => undefined;
  const state: ClientState = {
    commandTimeout,
    connecting: true,
    firstAttempt: new Promise((resolve) => {
      endFirstAttempt = resolve;
    }),
  };
  const settleFirstAttempt = (): void => {
    state.connecting = false;
    endFirstAttempt();
  };

  // One event per outage, not one per reconnect attempt; one when it ends.
  let down = false;
  const failed = (error: Error, where: string): void => {
    settleFirstAttempt();
    if (down) return;
    down = true;
    securityEvents.emit('rate_limit.store_error', undefined, {
      reason: 'redis_connection_error',
      store: 'redis',
      url: where,
      error: error.message,
    });
  };
  const ready = (where: string): void => {
    settleFirstAttempt();
    if (!down) return;
    down = false;
    securityEvents.emit('rate_limit.store_recovered', undefined, {
      reason: 'redis_ready',
      store: 'redis',
      url: where,
    });
  };

  if (cluster !== undefined) {
    const first = new URL(cluster[0] ?? '');
    const where = cluster.map(safeUrl).join(',');
    const client = new RedisClusterConnection(
      loadNodeRedis().createCluster({
        rootNodes: cluster.map((node) => ({ url: node })),
        // Nodes found by discovery are reached with these options, so the
        // credentials and TLS of the root URLs must be repeated here.
        defaults: {
          name,
          disableOfflineQueue: true,
          commandOptions: { timeout: commandTimeout },
          ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
          ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
          socket: first.protocol === 'rediss:' ? { ...socket, tls: true } : socket,
        },
        commandOptions: { timeout: commandTimeout },
      }),
      {
        retryDelay: reconnectDelay,
        failed: (error, node) => {
          failed(error, node ?? where);
        },
        ready: () => {
          ready(where);
        },
        settled: settleFirstAttempt,
      },
    );
    clientStates.set(client, state);
    return client;
  }

  const url = target as string;
  const client = loadNodeRedis().createClient({
    url,
    name,
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeout },
    socket,
  });
  clientStates.set(client, state);
  client.on('error', (error: Error) => {
    failed(error, safeUrl(url));
  });
  client.on('ready', () => {
    ready(safeUrl(url));
  });
  client.on('end', settleFirstAttempt);
  client.connect().catch(() => {
    // Reported through the 'error' listener; the reconnect strategy keeps trying.
  });
  return client;
}

/** A Redis command did not answer within its deadline. */
export class RedisTimeoutError extends BulwarkError {
  declare readonly code: 'store.timeout';

  constructor(ms: number) {
    super('store.timeout', { message: `Redis command timed out after ${String(ms)} ms` });
    this.name = 'RedisTimeoutError';
  }
}

/** Whether `client` is a Redis Cluster client (node-redis `createCluster`, or bulwark's). */
export function isRedisCluster(client: RedisClientLike): client is RedisClusterClientLike {
  const candidate = client as Partial<RedisClusterClientLike>;
  return Array.isArray(candidate.masters) && typeof candidate.nodeClient === 'function';
}

/**
 * Runs `send` within `timeout` ms. While the client's first connection
 * attempt is under way, `send` waits for it, inside the same deadline; a
 * command whose caller has given up by then is never sent.
 */
function withDeadline(
  state: ClientState | undefined,
  timeout: number,
  send: () => Promise<unknown>,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      // After a stall of the event loop (start-up, a long synchronous task) the timer runs
      // before the socket is read: give a reply already received one I/O turn to win.
      setImmediate(() => {
        expired = true;
        reject(new RedisTimeoutError(timeout));
      });
    }, timeout);
  });
  const reply =
    state?.connecting === true
      ? state.firstAttempt.then(() => (expired ? undefined : send()))
      : send();
  return Promise.race([reply, deadline]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Runs one command with a deadline: the client's own when it came from
 * `createRedisClient`, else one second, so a foreign client cannot hang a request.
 * A command given to a client still making its first connection waits for
 * it, inside the same deadline.
 *
 * On a cluster the command goes to the primary owning `key` (its first key);
 * a command without one goes to any node. Reads go to primaries too, so a
 * write is seen by the next read at once.
 *
 * node-redis's own `timeout` only covers a command until it is written to the
 * socket; a Redis that accepted the bytes but stopped answering (paused,
 * swapping, a half-open connection) would hold the caller until TCP gives up,
 * minutes later. The timer here covers the whole round trip.
 */
export function redisCommand(
  client: RedisClientLike,
  args: string[],
  key?: string,
): Promise<unknown> {
  const state = clientStates.get(client);
  const timeout = state?.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return withDeadline(state, timeout, () =>
    isRedisCluster(client)
      ? client.sendCommand(key, false, args, { timeout })
      : client.sendCommand(args, { timeout }),
  );
}

/**
 * Runs one command on every primary of a cluster (or once on a single
 * node), each with the command deadline; for the rare operation that is per
 * node, such as loading a script. Settles with every node's outcome.
 */
export async function redisCommandOnEveryNode(
  client: RedisClientLike,
  args: string[],
): Promise<PromiseSettledResult<unknown>[]> {
  if (!isRedisCluster(client)) return Promise.allSettled([redisCommand(client, args)]);
  const state = clientStates.get(client);
  const timeout = state?.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
  // The primaries are known once the first discovery is over.
  if (state?.connecting === true) {
    await withDeadline(state, timeout, () => Promise.resolve()).catch(() => undefined);
  }
  if (client.masters.length === 0) {
    return [{ status: 'rejected', reason: new RedisClusterNotConnectedError() }];
  }
  return Promise.allSettled(
    client.masters.map((node) =>
      withDeadline(undefined, timeout, () =>
        client.nodeClient(node).then((nodeClient) => nodeClient.sendCommand(args, { timeout })),
      ),
    ),
  );
}

/**
 * Resolves `true` once the client is ready, or `false` after `timeoutMs`.
 * Lets a server wait briefly for Redis at start-up without hanging on an outage.
 *
 * @param [timeoutMs=5000]
 * @example if (!(await whenRedisReady(redis))) console.warn('starting without Redis');
 */
export async function whenRedisReady(client: RedisConnection, timeoutMs = 5000): Promise<boolean> {
  if (client.isReady) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(client.isReady);
    }, timeoutMs);
    client.on('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Closes a client at shutdown without hanging on an outage: `QUIT` (pending
 * replies first) when Redis answers within `timeoutMs`, else the connection
 * is dropped. Never rejects; safe on a client already closed.
 *
 * @param [timeoutMs=1000]
 * @example process.on('SIGTERM', () => server.close(() => void closeRedis(redis)));
 */
export async function closeRedis(client: RedisConnection, timeoutMs = 1000): Promise<void> {
  // Read afresh each time: QUIT or an outage changes it while we wait.
  const stillOpen = (): boolean => client.isOpen;
  if (!stillOpen()) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([client.quit(), deadline]);
    if (outcome === 'timeout' && stillOpen()) client.destroy();
  } catch {
    if (stillOpen()) client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a value can serve as bulwark's Redis client: anything with node-redis's `sendCommand`. */
export function isRedisClient(value: unknown): value is RedisClientLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<RedisClientLike>).sendCommand === 'function'
  );
}
