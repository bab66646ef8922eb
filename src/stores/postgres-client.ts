import { createRequire } from 'node:module';
import { BulwarkConfigError, BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

/** One statement: its text, its parameters and, optionally, a client-side deadline. */
export interface PostgresQuery {
  /** A prepared-statement name: the server parses the text once per connection. */
  name?: string;
  text: string;
  values?: unknown[];
  /** Milliseconds before node-postgres gives up on the reply. */
  query_timeout?: number;
}

/** What bulwark reads of a query result. */
export interface PostgresResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** Something that runs a statement: a pool or one of its clients. */
export interface PostgresQueryable {
  query(query: PostgresQuery): Promise<PostgresResult>;
}

/** A client checked out of a pool. */
export interface PostgresPoolClient extends PostgresQueryable {
  release(error?: Error | boolean): void;
}

/**
 * What bulwark needs of a PostgreSQL pool: node-postgres's `query` and
 * `connect`. Every PostgreSQL-backed part of bulwark talks to the database
 * only through it, so the public types do not depend on the optional `pg`
 * package.
 */
export interface PostgresPoolLike extends PostgresQueryable {
  connect(): Promise<PostgresPoolClient>;
}

/** The pool `createPostgresPool` returns: a node-postgres pool, typed by what bulwark uses. */
export interface BulwarkPostgresPool extends PostgresPoolLike {
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** Closes every connection; pending checkouts fail. */
  end(): Promise<void>;
}

export interface PostgresPoolOptions {
  /** Milliseconds to wait for a connection (a new one or a free one from the pool). @default 1000 */
  connectTimeoutMs?: number;
  /** Milliseconds a statement may run, enforced by the server and, with some slack, by the client. @default 2000 */
  statementTimeoutMs?: number;
  /** Most connections the pool opens. @default 10 */
  max?: number;
  /** Milliseconds an idle connection stays open. @default 10000 */
  idleTimeoutMs?: number;
  /** `application_name`, shown by `pg_stat_activity`. @default 'bulwark' */
  applicationName?: string;
}

const KNOWN: KnownKeys<PostgresPoolOptions> = {
  connectTimeoutMs: true,
  statementTimeoutMs: true,
  max: true,
  idleTimeoutMs: true,
  applicationName: true,
};

/** The client-side deadline on pools bulwark did not create. */
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;
// The server's statement_timeout answers first with a clear error; the client's
// own deadline covers a server that stopped answering altogether.
const CLIENT_SLACK_MS = 500;
const queryTimeouts = new WeakMap<PostgresQueryable, number>();

interface NodePostgresModule {
  Pool: new (config: Record<string, unknown>) => BulwarkPostgresPool;
}

function loadNodePostgres(): NodePostgresModule {
  // `pg` is an optional peer: load it only when a pool is asked for.
  const require = createRequire(import.meta.url);
  try {
    return require('pg') as NodePostgresModule;
  } catch {
    throw new Error('createPostgresPool() needs the `pg` package: npm install pg');
  }
}

/** Hides the password of a `postgres://user:pass@host/db` URL in messages. */
export function safePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}

/** Whether `url` is a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(url: unknown): url is string {
  if (typeof url !== 'string') return false;
  try {
    const { protocol } = new URL(url);
    return protocol === 'postgres:' || protocol === 'postgresql:';
  } catch {
    return false;
  }
}

/**
 * A node-postgres pool with defaults safe for a request path: a bounded wait
 * for a connection, a server-side `statement_timeout`, a client-side deadline
 * just above it, and `idle_in_transaction_session_timeout`, so an outage
 * answers within about two seconds instead of hanging requests. The pool
 * opens connections on demand, so recovery needs no restart, and its `error`
 * events (a connection dropped while idle) become `rate_limit.store_error`
 * events instead of crashing the process.
 *
 * @param url `postgres://[user:pass@]host[:port]/database[?sslmode=...]`
 * @param [options.connectTimeoutMs=1000]
 * @param [options.statementTimeoutMs=2000]
 * @param [options.max=10]
 * @example const pool = createPostgresPool(process.env.DATABASE_URL);
 */
export function createPostgresPool(
  url: string,
  options?: PostgresPoolOptions,
): BulwarkPostgresPool {
  const check = new OptionChecker('createPostgresPool', options, KNOWN);
  if (!isPostgresUrl(url)) check.problem('url must be a postgres:// or postgresql:// URL');
  const connectTimeout = check.number('connectTimeoutMs', { min: 1, max: 60_000, default: 1000 });
  const statementTimeout = check.number('statementTimeoutMs', {
    min: 1,
    max: 600_000,
    integer: true,
    default: 2000,
  });
  const max = check.number('max', { min: 1, max: 1000, integer: true, default: 10 });
  const idleTimeout = check.number('idleTimeoutMs', { min: 1, max: 3_600_000, default: 10_000 });
  const applicationName = check.string('applicationName', 'bulwark', {
    pattern: /^[\x20-\x7e]{1,63}$/,
  });
  check.done();

  const queryTimeout = statementTimeout + CLIENT_SLACK_MS;
  const pool = new (loadNodePostgres().Pool)({
    connectionString: url,
    connectionTimeoutMillis: connectTimeout,
    statement_timeout: statementTimeout,
    query_timeout: queryTimeout,
    idle_in_transaction_session_timeout: Math.max(statementTimeout * 5, 10_000),
    idleTimeoutMillis: idleTimeout,
    max,
    keepAlive: true,
    application_name: applicationName,
  });
  queryTimeouts.set(pool, queryTimeout);
  pool.on('error', (error: Error) => {
    reportFailure(pool, error);
  });
  return pool;
}

// One event per outage and pool, not one per failed statement.
const failing = new WeakSet<PostgresQueryable>();

function reportFailure(pool: PostgresQueryable, error: Error): void {
  if (failing.has(pool)) return;
  failing.add(pool);
  securityEvents.emit('rate_limit.store_error', undefined, {
    reason: 'postgres_error',
    store: 'postgres',
    error: error.message,
  });
}

/** A PostgreSQL statement did not answer within its deadline. */
export class PostgresTimeoutError extends BulwarkError {
  declare readonly code: 'store.timeout';

  constructor(ms: number) {
    super('store.timeout', { message: `PostgreSQL statement timed out after ${String(ms)} ms` });
    this.name = 'PostgresTimeoutError';
  }
}

/**
 * Runs one statement with a deadline: the pool's own when it came from
 * `createPostgresPool`, else two seconds, so a pool without timeouts (whose
 * connection wait is unbounded by default) cannot hang a request. A failure
 * becomes one `rate_limit.store_error` event per outage.
 */
export function postgresQuery(
  pool: PostgresQueryable,
  query: PostgresQuery,
): Promise<PostgresResult> {
  const timeout = queryTimeouts.get(pool);
  if (timeout !== undefined) return watch(pool, pool.query(query));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new PostgresTimeoutError(DEFAULT_QUERY_TIMEOUT_MS));
    }, DEFAULT_QUERY_TIMEOUT_MS);
  });
  return watch(
    pool,
    Promise.race([pool.query(query), deadline]).finally(() => {
      clearTimeout(timer);
    }),
  );
}

function watch(pool: PostgresQueryable, pending: Promise<PostgresResult>): Promise<PostgresResult> {
  return pending.then(
    (result) => {
      failing.delete(pool);
      return result;
    },
    (error: unknown) => {
      reportFailure(pool, error instanceof Error ? error : new Error(String(error)));
      throw error;
    },
  );
}

/** Whether a value can serve as bulwark's PostgreSQL pool: anything with `query` and `connect`. */
export function isPostgresPool(value: unknown): value is PostgresPoolLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<PostgresPoolLike>).query === 'function' &&
    typeof (value as Partial<PostgresPoolLike>).connect === 'function'
  );
}

/**
 * The readiness check for a PostgreSQL pool: one `SELECT 1` within the pool's
 * deadline; the check rejects when the database does not answer.
 *
 * @example readinessRoute({ checks: { postgres: pingPostgres(pool) } })
 */
export function pingPostgres(pool: PostgresQueryable): () => Promise<void> {
  const given: unknown = pool;
  if (
    typeof given !== 'object' ||
    given === null ||
    typeof (given as Partial<PostgresQueryable>).query !== 'function'
  ) {
    throw new BulwarkConfigError('pingPostgres', [
      '`pool` must be a PostgreSQL pool (from createPostgresPool)',
    ]);
  }
  return async function postgresPing() {
    await postgresQuery(pool, { text: 'SELECT 1' });
  };
}
