import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';

/** The shared test server's maintenance database; tests create their own next to it. */
export const SHARED_POSTGRES_URL =
  process.env.POSTGRES_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function urlFor(database: string): string {
  const url = new URL(SHARED_POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: SHARED_POSTGRES_URL,
    connectionTimeoutMillis: 2000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** True when the shared test PostgreSQL answers. */
export async function sharedPostgresAvailable(): Promise<boolean> {
  try {
    await admin((client) => client.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

/** Whether PostgreSQL-backed tests should run. Under CI a missing server is a failure. */
export async function requirePostgres(): Promise<boolean> {
  const available = await sharedPostgresAvailable();
  if (!available && process.env.CI === 'true') {
    throw new Error(`CI=true but no PostgreSQL answers at ${SHARED_POSTGRES_URL}`);
  }
  return available;
}

/** A throw-away database, `bulwark_test_<random>`, dropped by `drop()`. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `bulwark_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: urlFor(name),
    async drop() {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A schema name no other test uses. */
export function uniqueSchema(label: string): string {
  return `t_${label}_${randomBytes(5).toString('hex')}`;
}

/**
 * A TCP relay in front of the shared server, so a test can cut the database
 * off (every connection dropped, new ones refused) and bring it back, without
 * stopping the shared server.
 */
export class PostgresRelay {
  readonly #target: URL;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  private constructor(target: string) {
    this.#target = new URL(target);
  }

  static async start(target: string): Promise<PostgresRelay> {
    const relay = new PostgresRelay(target);
    await relay.resume();
    return relay;
  }

  /** The target URL with the relay's port. */
  get url(): string {
    const url = new URL(this.#target.toString());
    url.port = String(this.port);
    return url.toString();
  }

  async resume(): Promise<void> {
    const server = createServer((socket) => {
      const upstream = connect(Number(this.#target.port || 5432), this.#target.hostname);
      this.#sockets.add(socket);
      this.#sockets.add(upstream);
      const close = () => {
        socket.destroy();
        upstream.destroy();
        this.#sockets.delete(socket);
        this.#sockets.delete(upstream);
      };
      socket.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      socket.pipe(upstream).pipe(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = server.address();
    if (typeof address === 'object' && address !== null) this.port = address.port;
    this.#server = server;
  }

  /** Drops every connection and stops listening: the database looks down. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }
}
