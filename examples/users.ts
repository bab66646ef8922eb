import { randomUUID } from 'node:crypto';
import {
  BulwarkError,
  type AuthStore,
  type PostgresPoolLike,
  type UserAdapter,
  type UserRecord,
} from '../src/index.js';

/**
 * The example's user table. A real application keeps users in its database;
 * this one keeps them in a bulwark `AuthStore` so that, with Redis, every
 * replica sees the same users. It is given its own store (never the token
 * store), so a flood of sign-ups cannot evict revocation entries.
 */
export interface UserDirectory extends UserAdapter {
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  updatePasswordHash(id: string, hash: string): Promise<void>;
  /**
   * Compare-and-set: stores `hash` only if the stored one is still `expected`,
   * so of several processes changing one password at once exactly one does.
   */
  replacePasswordHash(id: string, expected: string, hash: string): Promise<boolean>;
  /** Throws 409 `resource.conflict` when the username is taken, 503 when the directory is full. */
  create(user: {
    username: string;
    passwordHash: string;
    roles: readonly string[];
  }): Promise<UserRecord>;
  count(): Promise<number>;
}

const ALL_USERS = 'users';

/** One spelling per account: `Alice`, ` alice` and `ａｌｉｃｅ` are the same user. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}

function parse(raw: string | undefined): UserRecord | undefined {
  return raw === undefined ? undefined : (JSON.parse(raw) as UserRecord);
}

export function createUserDirectory(
  store: AuthStore,
  options: { maxUsers: number },
): UserDirectory {
  const byId = (id: string): string => `user:${id}`;
  const byName = (username: string): string => `username:${normalizeUsername(username)}`;

  const findById = async (id: string): Promise<UserRecord | undefined> =>
    parse(await store.get(byId(id)));

  return {
    findById,
    async findByUsername(username) {
      const id = await store.get(byName(username));
      return id === undefined ? undefined : findById(id);
    },
    async updatePasswordHash(id, hash) {
      const user = await findById(id);
      if (user !== undefined)
        await store.set(byId(id), JSON.stringify({ ...user, passwordHash: hash }));
    },
    async replacePasswordHash(id, expected, hash) {
      const raw = await store.get(byId(id));
      const user = parse(raw);
      if (raw === undefined || user === undefined || user.passwordHash !== expected) return false;
      return store.replace(byId(id), raw, JSON.stringify({ ...user, passwordHash: hash }));
    },
    async create({ username, passwordHash, roles }) {
      if ((await store.members(ALL_USERS)).length >= options.maxUsers) {
        throw new BulwarkError('auth.unavailable', { detail: 'No more accounts can be created.' });
      }
      const user: UserRecord = { id: randomUUID(), username, passwordHash, roles: [...roles] };
      // The record first, then the name: a name is never claimed without its record, even when
      // the process fails between the two, so another replica can never find a half-made user.
      await store.set(byId(user.id), JSON.stringify(user));
      if (!(await store.setIfAbsent(byName(username), user.id))) {
        await store.delete(byId(user.id));
        throw new BulwarkError('resource.conflict', { detail: 'That username is taken.' });
      }
      await store.addMember(ALL_USERS, user.id);
      return user;
    },
    async count() {
      return (await store.members(ALL_USERS)).length;
    },
  };
}

/**
 * The user table on PostgreSQL, in the application's own schema: what a real
 * application does. bulwark keeps only sessions and API keys (postgresStore);
 * users are rows of `example_users` read through this `UserAdapter`.
 * `prepare()` creates the table, once, under an advisory lock, so replicas
 * starting together do not race on `CREATE TABLE IF NOT EXISTS`.
 */
export function createSqlUserDirectory(
  pool: PostgresPoolLike,
  options: { maxUsers: number },
): UserDirectory & { prepare(): Promise<void> } {
  // A database that does not answer is a 503 for the caller, like a store outage, never a 500.
  const query = async (text: string, values: unknown[] = []) => {
    try {
      return (await pool.query({ text, values })).rows;
    } catch (error) {
      throw new BulwarkError('auth.unavailable', {
        detail: 'The user directory is unavailable.',
        cause: error,
      });
    }
  };
  const COLUMNS = 'id, username, password_hash, roles';
  const toUser = (row: Record<string, unknown> | undefined): UserRecord | undefined =>
    row === undefined
      ? undefined
      : {
          id: String(row.id),
          username: String(row.username),
          passwordHash: String(row.password_hash),
          roles: Array.isArray(row.roles) ? row.roles.map(String) : [],
        };
  const findById = async (id: string) =>
    toUser((await query(`SELECT ${COLUMNS} FROM example_users WHERE id = $1`, [id]))[0]);
  const findByUsername = async (username: string) =>
    toUser(
      (
        await query(`SELECT ${COLUMNS} FROM example_users WHERE username_key = $1`, [
          normalizeUsername(username),
        ])
      )[0],
    );

  return {
    async prepare() {
      const client = await pool.connect();
      let failed: Error | undefined;
      try {
        await client.query({ text: 'BEGIN' });
        await client.query({ text: "SELECT pg_advisory_xact_lock(hashtext('example_users'))" });
        await client.query({
          text: `CREATE TABLE IF NOT EXISTS example_users (
            id text PRIMARY KEY,
            username text NOT NULL,
            username_key text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            roles text[] NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
          )`,
        });
        await client.query({ text: 'COMMIT' });
      } catch (error) {
        failed = error instanceof Error ? error : new Error(String(error));
        await client.query({ text: 'ROLLBACK' }).catch(() => undefined);
        throw error;
      } finally {
        client.release(failed);
      }
    },
    findById,
    findByUsername,
    async updatePasswordHash(id, hash) {
      await query('UPDATE example_users SET password_hash = $2 WHERE id = $1', [id, hash]);
    },
    async replacePasswordHash(id, expected, hash) {
      const rows = await query(
        'UPDATE example_users SET password_hash = $3 WHERE id = $1 AND password_hash = $2 RETURNING id',
        [id, expected, hash],
      );
      return rows.length === 1;
    },
    async create({ username, passwordHash, roles }) {
      // One statement: the cap and the unique name are checked where the row is written.
      const rows = await query(
        `INSERT INTO example_users (id, username, username_key, password_hash, roles)
         SELECT $1, $2, $3, $4, $5::text[]
         WHERE (SELECT count(*) FROM example_users) < $6
         ON CONFLICT (username_key) DO NOTHING
         RETURNING id`,
        [
          randomUUID(),
          username,
          normalizeUsername(username),
          passwordHash,
          [...roles],
          options.maxUsers,
        ],
      );
      const created = rows[0];
      if (created !== undefined) {
        return { id: String(created.id), username, passwordHash, roles: [...roles] };
      }
      if ((await findByUsername(username)) !== undefined) {
        throw new BulwarkError('resource.conflict', { detail: 'That username is taken.' });
      }
      throw new BulwarkError('auth.unavailable', { detail: 'No more accounts can be created.' });
    },
    async count() {
      const rows = await query('SELECT count(*)::int AS n FROM example_users');
      return Number(rows[0]?.n ?? 0);
    },
  };
}
