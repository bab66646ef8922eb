import { createHash } from 'node:crypto';
import type { AuthStore, RefreshRotation } from './auth-store.js';
import {
  isPostgresPool,
  postgresQuery,
  type PostgresPoolLike,
  type PostgresQuery,
  type PostgresResult,
} from './postgres-client.js';
import { migrateSchema, type MigrationResult } from './postgres-migrations.js';
import { securityEvents } from '../events.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

export interface PostgresStoreOptions {
  /**
   * Schema holding bulwark's tables, created by `migrate()` when absent. An
   * SQL identifier: letters, digits, `_` and `$`, starting with a letter or
   * `_`, at most 63 bytes, not `pg_...`. @default 'bulwark'
   */
  schema?: string;
  /**
   * Least time between two opportunistic sweeps of expired rows, run in the
   * background after a write; `0` turns them off (call `prune()` yourself).
   * @default 60000
   */
  sweepIntervalMs?: number;
}

const KNOWN: KnownKeys<PostgresStoreOptions> = { schema: true, sweepIntervalMs: true };

/** The `AuthStore` on PostgreSQL, with its schema management. */
export interface PostgresAuthStore extends AuthStore {
  /**
   * Creates or upgrades the tables, idempotently, under an advisory lock:
   * safe to call from every replica at start-up.
   */
  migrate(): Promise<MigrationResult>;
  /** Deletes expired rows now; resolves to how many went. */
  prune(): Promise<number>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
// Rows one sweep deletes per table, so a backlog never holds locks for long.
const SWEEP_BATCH = 1000;

/** Why `schema` is not a usable schema name, or `undefined`. */
export function schemaNameProblem(schema: string): string | undefined {
  if (!IDENTIFIER.test(schema)) {
    return 'schema must be an SQL identifier: letters, digits, _ or $, starting with a letter or _, at most 63 characters';
  }
  if (schema.toLowerCase().startsWith('pg_')) return 'schema names starting with pg_ are reserved';
  return undefined;
}

function ms(ttlMs: number | undefined): string | null {
  return ttlMs === undefined ? null : String(Math.max(1, Math.ceil(ttlMs)));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The statements of one schema, each named so the server parses it once per connection. */
function statements(schema: string) {
  const s = `"${schema}"`;
  const live = (alias: string) => `(${alias}.expires_at IS NULL OR ${alias}.expires_at > now())`;
  const expiry = (param: string) => `now() + ${param}::bigint * interval '1 millisecond'`;
  const sql = {
    get: `SELECT value FROM ${s}.kv v WHERE key = $1 AND ${live('v')}`,
    getMany: `SELECT key, value FROM ${s}.kv v WHERE key = ANY($1::text[]) AND ${live('v')}`,
    set: `INSERT INTO ${s}.kv AS v (key, value, expires_at) VALUES ($1, $2, ${expiry('$3')})
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    // Inserts, or takes over a row that has expired but not yet been swept.
    setIfAbsent: `INSERT INTO ${s}.kv AS v (key, value, expires_at) VALUES ($1, $2, ${expiry('$3')})
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
      WHERE NOT ${live('v')}`,
    replace: `UPDATE ${s}.kv v SET value = $3, expires_at = ${expiry('$4')}
      WHERE key = $1 AND value = $2 AND ${live('v')}`,
    delete: `DELETE FROM ${s}.kv v WHERE key = $1 RETURNING ${live('v')} AS live`,
    addMember: `INSERT INTO ${s}.set_members (set_key, member) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    removeMember: `DELETE FROM ${s}.set_members WHERE set_key = $1 AND member = $2`,
    members: `SELECT member FROM ${s}.set_members WHERE set_key = $1`,
    createFamily: `WITH family AS (
        INSERT INTO ${s}.refresh_families AS f (key, data, revoked, expires_at)
        VALUES ($1, $2, false, ${expiry('$3')})
        ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, revoked = false, expires_at = EXCLUDED.expires_at
        RETURNING key, expires_at
      )
      INSERT INTO ${s}.refresh_tokens (key, family_key, spent, expires_at)
      SELECT $4, family.key, false, least(family.expires_at, ${expiry('$5')}) FROM family
      ON CONFLICT (key) DO UPDATE SET family_key = EXCLUDED.family_key, spent = false, expires_at = EXCLUDED.expires_at`,
    /*
     * Rotation in one statement. `spend` is the conditional UPDATE that picks
     * the single winner: concurrent callers queue on the token's row lock and
     * re-check `NOT spent` against the committed row, so only one sees it
     * unspent. A loser's `found` still reads the statement's snapshot, taken
     * before the winner committed, so a token that looks live there but was
     * not spent by this statement was spent by a concurrent one: that is a
     * reuse, like a token that was already spent. A family revoked in the
     * snapshot (and a token not spent) is `revoked`. A reuse revokes the
     * family and writes its revoked mark in the same statement.
     * $1 token, $2 family, $3 successor, $4 its lifetime, $5 mark, $6 its lifetime.
     */
    rotate: `WITH spend AS (
        UPDATE ${s}.refresh_tokens t SET spent = true
        FROM ${s}.refresh_families f
        WHERE t.key = $1 AND t.family_key = $2 AND f.key = $2 AND NOT t.spent AND NOT f.revoked
          AND t.expires_at > now() AND f.expires_at > now()
        RETURNING f.data, f.expires_at
      ), successor AS (
        INSERT INTO ${s}.refresh_tokens (key, family_key, spent, expires_at)
        SELECT $3, $2, false, least(expires_at, ${expiry('$4')}) FROM spend
        ON CONFLICT (key) DO UPDATE SET family_key = EXCLUDED.family_key, spent = false, expires_at = EXCLUDED.expires_at
      ), found AS (
        SELECT f.data, (t.spent OR NOT f.revoked) AS reused
        FROM ${s}.refresh_tokens t JOIN ${s}.refresh_families f ON f.key = t.family_key
        WHERE t.key = $1 AND t.family_key = $2 AND t.expires_at > now() AND f.expires_at > now()
          AND NOT EXISTS (SELECT 1 FROM spend)
      ), reuse AS (
        UPDATE ${s}.refresh_families SET revoked = true
        WHERE key = $2 AND EXISTS (SELECT 1 FROM found WHERE reused)
      ), mark AS (
        INSERT INTO ${s}.kv (key, value, expires_at)
        SELECT $5, '1', ${expiry('$6')} FROM found WHERE reused
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
      )
      SELECT 'rotated' AS status, data FROM spend
      UNION ALL
      SELECT CASE WHEN reused THEN 'reused' ELSE 'revoked' END, data FROM found`,
    // The mark is written even for an unknown or ended family: its access tokens may still live.
    revokeFamily: `WITH revoke AS (
        UPDATE ${s}.refresh_families SET revoked = true
        WHERE key = $1 AND expires_at > now()
        RETURNING data
      ), mark AS (
        INSERT INTO ${s}.kv (key, value, expires_at) VALUES ($2, '1', ${expiry('$3')})
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
      )
      SELECT data FROM revoke`,
    prune: `WITH families AS (
        DELETE FROM ${s}.refresh_families WHERE key IN (
          SELECT key FROM ${s}.refresh_families WHERE expires_at <= now() LIMIT ${String(SWEEP_BATCH)})
        RETURNING 1
      ), tokens AS (
        DELETE FROM ${s}.refresh_tokens WHERE key IN (
          SELECT key FROM ${s}.refresh_tokens WHERE expires_at <= now() LIMIT ${String(SWEEP_BATCH)})
        RETURNING 1
      ), kv AS (
        DELETE FROM ${s}.kv WHERE key IN (
          SELECT key FROM ${s}.kv WHERE expires_at <= now() LIMIT ${String(SWEEP_BATCH)})
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM families) + (SELECT count(*) FROM tokens) + (SELECT count(*) FROM kv) AS deleted`,
  };
  const named = {} as Record<keyof typeof sql, { name: string; text: string }>;
  for (const [key, value] of Object.entries(sql) as [keyof typeof sql, string][]) {
    const hash = createHash('sha256').update(value).digest('hex').slice(0, 24);
    named[key] = { name: `bulwark_${hash}`, text: value };
  }
  return named;
}

/**
 * An `AuthStore` on PostgreSQL through node-postgres, shared by every process
 * that uses the same database and schema, and kept across restarts. Rotation
 * and family revocation are single statements (one round trip each); the
 * request path's revocation check is one primary-key lookup. Only what the
 * services hand it is stored, and they hand it hashes of refresh tokens and
 * API keys, never the secrets. Expired rows are swept in the background after
 * writes, at most once per `sweepIntervalMs`, and by `prune()`.
 *
 * Call `await store.migrate()` once at start-up (or run `bulwark migrate`)
 * before the first request. Give it a pool with timeouts
 * (`createPostgresPool(url)`); on a pool of your own, each statement gets a
 * two-second deadline on the client side, but set `connectionTimeoutMillis`
 * and `statement_timeout` there too (see docs/stores.md).
 *
 * @param pool a pool from `createPostgresPool(url)` (or any node-postgres `Pool`)
 * @param [options.schema='bulwark']
 * @param [options.sweepIntervalMs=60000]
 * @example
 * const store = postgresStore(createPostgresPool(process.env.DATABASE_URL));
 * await store.migrate();
 */
export function postgresStore(
  pool: PostgresPoolLike,
  options?: PostgresStoreOptions,
): PostgresAuthStore {
  const check = new OptionChecker('postgresStore', options, KNOWN);
  if (!isPostgresPool(pool)) {
    check.problem('pool must be a PostgreSQL pool with query and connect (see createPostgresPool)');
  }
  const schema = check.string('schema', 'bulwark', { nonEmpty: true, maxLength: 63 });
  const problem = schemaNameProblem(schema);
  if (problem !== undefined) check.problem(problem);
  const sweepInterval = check.number('sweepIntervalMs', {
    min: 0,
    max: 86_400_000,
    default: 60_000,
  });
  check.done();

  const sql = statements(schema);
  const run = (
    statement: { name: string; text: string },
    values: unknown[],
  ): Promise<PostgresResult> => {
    const query: PostgresQuery = { name: statement.name, text: statement.text, values };
    return postgresQuery(pool, query);
  };

  async function prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const { rows } = await run(sql.prune, []);
      const deleted = Number(rows[0]?.deleted ?? 0);
      total += deleted;
      if (deleted === 0) return total;
    }
  }

  let nextSweep = Date.now() + sweepInterval;
  function wrote(): void {
    if (sweepInterval === 0 || Date.now() < nextSweep) return;
    nextSweep = Date.now() + sweepInterval;
    run(sql.prune, []).catch((error: unknown) => {
      securityEvents.emit('rate_limit.store_error', undefined, {
        reason: 'postgres_sweep_failed',
        store: 'postgres',
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  return {
    migrate: () => migrateSchema(pool, schema),
    prune,
    async get(key) {
      const { rows } = await run(sql.get, [key]);
      return text(rows[0]?.value);
    },
    async getMany(keys) {
      if (keys.length === 0) return [];
      const { rows } = await run(sql.getMany, [keys]);
      const found = new Map<string, string>();
      for (const row of rows) {
        const key = text(row.key);
        const value = text(row.value);
        if (key !== undefined && value !== undefined) found.set(key, value);
      }
      return keys.map((key) => found.get(key));
    },
    async set(key, value, ttlMs) {
      await run(sql.set, [key, value, ms(ttlMs)]);
      wrote();
    },
    async setIfAbsent(key, value, ttlMs) {
      const { rowCount } = await run(sql.setIfAbsent, [key, value, ms(ttlMs)]);
      wrote();
      return rowCount === 1;
    },
    async replace(key, expected, value, ttlMs) {
      const { rowCount } = await run(sql.replace, [key, expected, value, ms(ttlMs)]);
      return rowCount === 1;
    },
    async delete(key) {
      const { rows } = await run(sql.delete, [key]);
      return rows[0]?.live === true;
    },
    async addMember(setKey, member) {
      await run(sql.addMember, [setKey, member]);
    },
    async removeMember(setKey, member) {
      await run(sql.removeMember, [setKey, member]);
    },
    async members(setKey) {
      const { rows } = await run(sql.members, [setKey]);
      return rows.map((row) => text(row.member)).filter((m) => m !== undefined);
    },
    async createRefreshFamily(family, token) {
      await run(sql.createFamily, [
        family.familyKey,
        family.data,
        ms(family.ttlMs),
        token.tokenKey,
        ms(token.ttlMs),
      ]);
      wrote();
    },
    async rotateRefreshToken(family, tokenKey, successor): Promise<RefreshRotation> {
      const { rows } = await run(sql.rotate, [
        tokenKey,
        family.familyKey,
        successor.tokenKey,
        ms(successor.ttlMs),
        family.revokedKey,
        ms(family.revokedTtlMs),
      ]);
      const row = rows[0];
      const status = text(row?.status);
      const data = text(row?.data);
      if (data === undefined) return { status: 'unknown' };
      if (status === 'rotated' || status === 'reused' || status === 'revoked') {
        return { status, family: data };
      }
      return { status: 'unknown' };
    },
    async revokeRefreshFamily(family) {
      const { rows } = await run(sql.revokeFamily, [
        family.familyKey,
        family.revokedKey,
        ms(family.revokedTtlMs),
      ]);
      return text(rows[0]?.data);
    },
  };
}
