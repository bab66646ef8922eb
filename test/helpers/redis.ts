import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { pollUntil } from './poll.js';

export const SHARED_REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

/** True when the Redis at `url` answers PING within `connectTimeoutMs`. */
async function answersPing(url: string, connectTimeoutMs: number): Promise<boolean> {
  const client = createClient({
    url,
    socket: { connectTimeout: connectTimeoutMs, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** True when the shared test Redis answers PING. */
export function sharedRedisAvailable(): Promise<boolean> {
  return answersPing(SHARED_REDIS_URL, 500);
}

/**
 * Whether Redis-backed tests should run. Under CI a missing Redis is a
 * failure, not a silent skip.
 */
export async function requireRedis(): Promise<boolean> {
  const available = await sharedRedisAvailable();
  if (!available && process.env.CI === 'true') {
    throw new Error(`CI=true but no Redis answers at ${SHARED_REDIS_URL}`);
  }
  return available;
}

/** A key prefix no other test (or parallel worker) uses. */
export function uniquePrefix(label: string): string {
  return `bulwark-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/**
 * Deletes every key under each prefix on the shared Redis with SCAN and
 * UNLINK, never a flush: other test runs use the same server. Resolves with
 * how many keys there were.
 */
export async function clearSharedKeys(prefixes: readonly string[]): Promise<number> {
  if (prefixes.length === 0) return 0;
  const client = createClient({
    url: SHARED_REDIS_URL,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  await client.connect();
  let deleted = 0;
  try {
    for (const prefix of prefixes) {
      // uniquePrefix() makes no glob characters, but a caller's prefix may have some.
      const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
      for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1000 })) {
        if (keys.length > 0) deleted += await client.unlink(keys);
      }
    }
  } finally {
    client.destroy();
  }
  return deleted;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address !== null) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** A private `redis-server` that a test may stop and restart; never the shared one. */
export class PrivateRedis {
  #process: ChildProcess | undefined;
  readonly port: number;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = await PrivateRedis.reserve();
    await redis.restart();
    return redis;
  }

  /** A free port for a server not started yet: until `restart()`, connections there are refused. */
  static async reserve(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers. */
  pause(): void {
    this.#process?.kill('SIGSTOP');
  }

  resume(): void {
    this.#process?.kill('SIGCONT');
  }

  get url(): string {
    return `redis://127.0.0.1:${String(this.port)}`;
  }

  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    this.#process = child;
    await pollUntil(
      `private redis-server on ${String(this.port)}`,
      () => answersPing(this.url, 200),
      { timeoutMs: 5000 },
    );
  }

  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
      child.kill('SIGKILL');
    });
  }
}
