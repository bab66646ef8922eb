import { randomUUID } from 'node:crypto';
import { BulwarkError, type AuthStore, type UserAdapter, type UserRecord } from '../src/index.js';

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
      // Claiming the name first makes two concurrent sign-ups for one name fail cleanly.
      if (!(await store.setIfAbsent(byName(username), user.id))) {
        throw new BulwarkError('resource.conflict', { detail: 'That username is taken.' });
      }
      await store.set(byId(user.id), JSON.stringify(user));
      await store.addMember(ALL_USERS, user.id);
      return user;
    },
    async count() {
      return (await store.members(ALL_USERS)).length;
    },
  };
}
