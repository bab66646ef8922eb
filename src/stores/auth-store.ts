/**
 * The storage contract shared by the token service, the API-key service and
 * revocation. It is shaped by what those need, not a general key-value API:
 * expiring values (every write carries a lifetime, so nothing outlives its
 * purpose), a multi-key read so a request's revocation check costs one round
 * trip, set-if-absent and compare-and-set for single-writer updates, a small
 * member set for listing, and the refresh-token family operations, whose
 * rotation and revocation steps must be atomic.
 *
 * Every family operation names all the keys it touches (`RefreshFamilyRef`),
 * so no store has to read a key name out of a value: a Redis script declares
 * them all in `KEYS`, and the token service can give them one hash tag.
 */

/** What a refresh rotation found, decided in one atomic step. */
export type RefreshRotation =
  /** The token was live: it is now spent and the successor is stored. */
  | { readonly status: 'rotated'; readonly family: string }
  /** The token was already spent: the whole family is now revoked. */
  | { readonly status: 'reused'; readonly family: string }
  /** The token is unspent but its family was revoked earlier. */
  | { readonly status: 'revoked'; readonly family: string }
  /** No such token, or its family has ended. */
  | { readonly status: 'unknown' };

export interface RefreshFamilyInit {
  /** Store key of the family. */
  readonly familyKey: string;
  /** The caller's data about the family (opaque to the store). */
  readonly data: string;
  /** Absolute lifetime of the family, in ms: no rotation extends it. */
  readonly ttlMs: number;
}

/**
 * The family an operation acts on, and the mark its revocation leaves. The
 * mark is a plain value, so a request's revocation check reads it with
 * `getMany` beside its other keys, in the same round trip.
 */
export interface RefreshFamilyRef {
  /** Store key of the family. */
  readonly familyKey: string;
  /** Key set to `'1'` whenever the family is revoked (by reuse or by revocation). */
  readonly revokedKey: string;
  /** Lifetime of that mark in ms: at least what is left of the family's last access token. */
  readonly revokedTtlMs: number;
}

export interface RefreshTokenInit {
  /** Store key of the token (derived from its hash, never the token itself). */
  readonly tokenKey: string;
  /** Lifetime in ms; the store caps it at what is left of the family's lifetime. */
  readonly ttlMs: number;
}

/**
 * One interface, two implementations (`memoryStore()`, `redisStore()`), one
 * shared test suite. Lifetimes are in milliseconds; `undefined` means no
 * expiry (the memory store's cap still applies). Keys are chosen by the
 * services; a store may prefix them.
 */
export interface AuthStore {
  /** The value at `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Several values in one round trip, in the order of `keys`. */
  getMany(keys: readonly string[]): Promise<(string | undefined)[]>;
  /** Writes `value`, replacing any earlier one. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Writes only when `key` holds nothing; `true` when written. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  /** Writes only when `key` still holds `expected`; `true` when written. */
  replace(key: string, expected: string, value: string, ttlMs?: number): Promise<boolean>;
  /** Removes `key` and returns whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Adds `member` to the set at `setKey` (which never expires). */
  addMember(setKey: string, member: string): Promise<void>;
  removeMember(setKey: string, member: string): Promise<void>;
  members(setKey: string): Promise<string[]>;
  /** Starts a refresh family and stores its first, unspent token, together. */
  createRefreshFamily(family: RefreshFamilyInit, token: RefreshTokenInit): Promise<void>;
  /**
   * The atomic heart of refresh rotation. For the token at `tokenKey`, which
   * must belong to `family` (else `unknown`):
   * spent -> revoke the family and set its `revokedKey`, `reused`;
   * family revoked -> `revoked`;
   * live -> mark it spent, store `successor` in the same family, `rotated`.
   * Concurrent calls with one token see exactly one `rotated`.
   */
  rotateRefreshToken(
    family: RefreshFamilyRef,
    tokenKey: string,
    successor: RefreshTokenInit,
  ): Promise<RefreshRotation>;
  /**
   * Revokes `family` and sets its `revokedKey`, in one step. The mark is set
   * even when the family is unknown (it may have ended while access tokens
   * minted from it still live). Returns the family's data, or `undefined`.
   */
  revokeRefreshFamily(family: RefreshFamilyRef): Promise<string | undefined>;
}
