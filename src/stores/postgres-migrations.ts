import { createHash } from 'node:crypto';
import type { PostgresPoolLike } from './postgres-client.js';

/**
 * One step of the schema. Steps are append-only: a release never edits a
 * published step, it adds the next one, so any earlier database upgrades.
 */
interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements, given the quoted schema name. */
  readonly sql: (schema: string) => string;
}

/*
 * kv: expiring values (denylist, revoke-all epochs, API-key records).
 * set_members: small member sets that never expire (e.g. a user's API keys).
 * refresh_families / refresh_tokens: rotation state; a token row is keyed by
 * the hash the token service derives, never the token itself.
 * Times are the database's own clock (`now()`), so replicas with skewed
 * clocks agree on what has expired. NULL `expires_at` means no expiry.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'auth store tables',
    sql: (s) => `
CREATE TABLE ${s}.kv (
  key text PRIMARY KEY,
  value text NOT NULL,
  expires_at timestamptz
);
CREATE INDEX kv_expires_at ON ${s}.kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE ${s}.set_members (
  set_key text NOT NULL,
  member text NOT NULL,
  PRIMARY KEY (set_key, member)
);
CREATE TABLE ${s}.refresh_families (
  key text PRIMARY KEY,
  data text NOT NULL,
  revoked boolean NOT NULL DEFAULT false,
  expires_at timestamptz NOT NULL
);
CREATE INDEX refresh_families_expires_at ON ${s}.refresh_families (expires_at);
CREATE TABLE ${s}.refresh_tokens (
  key text PRIMARY KEY,
  family_key text NOT NULL REFERENCES ${s}.refresh_families (key) ON DELETE CASCADE,
  spent boolean NOT NULL DEFAULT false,
  expires_at timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_family_key ON ${s}.refresh_tokens (family_key);
CREATE INDEX refresh_tokens_expires_at ON ${s}.refresh_tokens (expires_at);
`,
  },
];

/** The newest schema version this release knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** What `migrate()` did. */
export interface MigrationResult {
  /** Schema version before the call (0 for a fresh database). */
  readonly from: number;
  /** Schema version after the call. */
  readonly to: number;
  /** Versions applied by this call; empty when the schema was already current. */
  readonly applied: readonly number[];
}

// A statement that waits for the lock or builds an index may take longer than
// a request-path deadline allows.
const MIGRATION_TIMEOUT_MS = 60_000;

/** A stable 64-bit advisory-lock key for one schema, as a decimal string. */
function lockKey(schema: string): string {
  return createHash('sha256')
    .update(`bulwark.migrate:${schema}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * Brings the schema to `LATEST_SCHEMA_VERSION` in one transaction, holding a
 * transaction-scoped advisory lock so replicas starting together apply each
 * step once; the others wait, then find nothing to do. A database already at
 * a newer version (a later release ran) is left as it is.
 *
 * @param pool the pool to run on (one connection is held for the transaction)
 * @param schema the schema name, already validated (an SQL identifier)
 */
export async function migrateSchema(
  pool: PostgresPoolLike,
  schema: string,
): Promise<MigrationResult> {
  const quoted = `"${schema}"`;
  const client = await pool.connect();
  const run = (text: string, values?: unknown[]) =>
    client.query({ text, values, query_timeout: MIGRATION_TIMEOUT_MS + 1000 });
  let failed: Error | undefined;
  try {
    await run('BEGIN');
    await run(`SET LOCAL statement_timeout = ${String(MIGRATION_TIMEOUT_MS)}`);
    await run('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(schema)]);
    await run(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
    await run(
      `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
    );
    const { rows } = await run(
      `SELECT coalesce(max(version), 0) AS version FROM ${quoted}.schema_migrations`,
    );
    const from = Number(rows[0]?.version ?? 0);
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      await run(migration.sql(quoted));
      await run(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    await run('COMMIT');
    return { from, to: Math.max(from, LATEST_SCHEMA_VERSION), applied };
  } catch (error) {
    failed = error instanceof Error ? error : new Error(String(error));
    await run('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    // A connection that failed mid-transaction is discarded, not reused.
    client.release(failed);
  }
}
