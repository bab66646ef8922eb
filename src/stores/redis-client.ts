import { createRequire } from 'node:module';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

/**
 * What bulwark needs of a Redis client: node-redis's `sendCommand`. Every
 * Redis-backed part of bulwark talks to Redis only through it, so the public
 * types do not depend on the optional `redis` package.
 */
export interface RedisClientLike {
  sendCommand(args: string[], options?: { timeout?: number }): Promise<unknown>;
}

/** The client `createRedisClient` returns: a node-redis client, typed by what bulwark uses. */
export interface BulwarkRedisClient extends RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready' | 'end' | 'connect', listener: () => void): unknown;
  /** Sends QUIT after pending replies, then closes. */
  quit(): Promise<unknown>;
  /** Closes at once, failing pending commands. */
  destroy(): void;
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
 * @param url `redis://[user:pass@]host:port[/db]` or `rediss://` for TLS
 * @param [options.connectTimeoutMs=1000]
 * @param [options.commandTimeoutMs=1000]
 * @param [options.maxReconnectDelayMs=5000]
 * @example const redis = createRedisClient(process.env.REDIS_URL);
 */
export function createRedisClient(url: string, options?: RedisClientOptions): BulwarkRedisClient {
  const check = new OptionChecker('createRedisClient', options, KNOWN);
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    check.problem('url must be a redis:// or rediss:// URL');
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

  const client = loadNodeRedis().createClient({
    url,
    name,
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeout },
    socket: {
      connectTimeout,
      reconnectStrategy: (retries: number) =>
        Math.min(maxDelay, 50 * 2 ** Math.min(retries, 16)) + Math.floor(Math.random() * 50),
    },
  });
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
  clientStates.set(client, state);

  // One event per outage, not one per reconnect attempt; one when it ends.
  let down = false;
  client.on('error', (error: Error) => {
    settleFirstAttempt();
    if (down) return;
    down = true;
    securityEvents.emit('rate_limit.store_error', undefined, {
      reason: 'redis_connection_error',
      store: 'redis',
      url: safeUrl(url),
      error: error.message,
    });
  });
  client.on('ready', () => {
    settleFirstAttempt();
    if (!down) return;
    down = false;
    securityEvents.emit('rate_limit.store_recovered', undefined, {
      reason: 'redis_ready',
      store: 'redis',
      url: safeUrl(url),
    });
  });
  client.on('end', settleFirstAttempt);
  client.connect().catch(() => {
    // Reported through the 'error' listener; the reconnect strategy keeps trying.
  });
  return client;
}

/** A Redis command did not answer within its deadline. */
export class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis command timed out after ${String(ms)} ms`);
    this.name = 'RedisTimeoutError';
  }
}

/**
 * Runs one command with a deadline: the client's own when it came from
 * `createRedisClient`, else one second, so a foreign client cannot hang a request.
 * A command given to a client still making its first connection waits for
 * it, inside the same deadline.
 *
 * node-redis's own `timeout` only covers a command until it is written to the
 * socket; a Redis that accepted the bytes but stopped answering (paused,
 * swapping, a half-open connection) would hold the caller until TCP gives up,
 * minutes later. The timer here covers the whole round trip.
 */
export function redisCommand(client: RedisClientLike, args: string[]): Promise<unknown> {
  const state = clientStates.get(client);
  const timeout = state?.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new RedisTimeoutError(timeout));
    }, timeout);
  });
  const reply =
    state?.connecting === true
      ? state.firstAttempt.then(() =>
          // A command whose caller has given up is never sent.
          expired ? undefined : client.sendCommand(args, { timeout }),
        )
      : client.sendCommand(args, { timeout });
  return Promise.race([reply, deadline]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Resolves `true` once the client is ready, or `false` after `timeoutMs`.
 * Lets a server wait briefly for Redis at start-up without hanging on an outage.
 *
 * @param [timeoutMs=5000]
 * @example if (!(await whenRedisReady(redis))) console.warn('starting without Redis');
 */
export async function whenRedisReady(
  client: BulwarkRedisClient,
  timeoutMs = 5000,
): Promise<boolean> {
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
export async function closeRedis(client: BulwarkRedisClient, timeoutMs = 1000): Promise<void> {
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
