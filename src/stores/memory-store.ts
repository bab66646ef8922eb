import { LRUCache } from 'lru-cache';
import type {
  AuthStore,
  RefreshFamilyInit,
  RefreshFamilyRef,
  RefreshRotation,
  RefreshTokenInit,
} from './auth-store.js';
import { maxKeysOption } from '../internal/max-keys.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';

export interface MemoryStoreOptions {
  /**
   * Most entries held; past it the least recently used is evicted. Each
   * token, family, denylist entry and API key is one entry. @default 100000
   */
  maxKeys?: number;
  /** Alias of `maxKeys`, its former name; give one or the other. */
  maxEntries?: number;
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number;
}

const KNOWN: KnownKeys<MemoryStoreOptions> = { maxKeys: true, maxEntries: true, now: true };

type Entry =
  | { kind: 'value'; value: string; expiresAt: number }
  | { kind: 'set'; members: Set<string>; expiresAt: number }
  | { kind: 'token'; familyKey: string; spent: boolean; expiresAt: number }
  | { kind: 'family'; data: string; revoked: boolean; expiresAt: number };

function expiry(now: number, ttlMs: number | undefined): number {
  return ttlMs === undefined ? Infinity : now + Math.max(1, Math.ceil(ttlMs));
}

/**
 * An in-process `AuthStore`: for one process and for tests. Entries expire
 * with their lifetime, and `maxKeys` bounds memory: past it the least
 * recently used entry is evicted (a one-time `BULWARK_MEMORY_STORE_EVICTED`
 * warning says so, since an evicted denylist entry un-revokes a token; size
 * the cap or use Redis). Least recently used rather than oldest written: a
 * revocation still being checked, because its token is still presented,
 * outlives one nobody asks about. Revocations are not shared between processes.
 *
 * @param [options.maxKeys=100000] (alias `maxEntries`)
 * @example const tokens = createTokenService({ secret, issuer, audience, store: memoryStore() });
 */
export function memoryStore(options?: MemoryStoreOptions): AuthStore {
  const check = new OptionChecker('memoryStore', options, KNOWN);
  const maxKeys = maxKeysOption(check, {
    min: 1,
    max: 100_000_000,
    integer: true,
    default: 100_000,
  });
  const now = check.func<() => number>('now') ?? Date.now;
  check.done();

  const entries = new LRUCache<string, Entry>({
    max: maxKeys,
    dispose(entry, _key, reason) {
      // An entry past its lifetime is only garbage; a live one is state the caller still relies on.
      if (reason === 'evict' && entry.expiresAt > now()) {
        warnOnce(
          'BULWARK_MEMORY_STORE_EVICTED',
          `memoryStore evicted its least recently used entry at maxKeys=${String(maxKeys)}; an evicted revocation no longer applies.`,
        );
      }
    },
  });

  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function value(key: string): string | undefined {
    const entry = live(key);
    return entry?.kind === 'value' ? entry.value : undefined;
  }

  function family(familyKey: string): Extract<Entry, { kind: 'family' }> | undefined {
    const found = live(familyKey);
    return found?.kind === 'family' ? found : undefined;
  }

  function markRevoked(
    ref: RefreshFamilyRef,
    found: Extract<Entry, { kind: 'family' }> | undefined,
  ): void {
    if (found !== undefined) found.revoked = true;
    entries.set(ref.revokedKey, {
      kind: 'value',
      value: '1',
      expiresAt: expiry(now(), ref.revokedTtlMs),
    });
  }

  function readMany(keys: readonly string[]): (string | undefined)[] {
    return keys.map(value);
  }

  function getMany(keys: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.resolve(readMany(keys));
  }

  const store: AuthStore = {
    get(key) {
      return Promise.resolve(value(key));
    },
    getMany,
    set(key, next, ttlMs) {
      entries.set(key, { kind: 'value', value: next, expiresAt: expiry(now(), ttlMs) });
      return Promise.resolve();
    },
    setIfAbsent(key, next, ttlMs) {
      if (live(key) !== undefined) return Promise.resolve(false);
      entries.set(key, { kind: 'value', value: next, expiresAt: expiry(now(), ttlMs) });
      return Promise.resolve(true);
    },
    replace(key, expected, next, ttlMs) {
      if (value(key) !== expected) return Promise.resolve(false);
      entries.set(key, { kind: 'value', value: next, expiresAt: expiry(now(), ttlMs) });
      return Promise.resolve(true);
    },
    delete(key) {
      const existed = live(key) !== undefined;
      entries.delete(key);
      return Promise.resolve(existed);
    },
    addMember(setKey, member) {
      const entry = live(setKey);
      if (entry?.kind === 'set') entry.members.add(member);
      else entries.set(setKey, { kind: 'set', members: new Set([member]), expiresAt: Infinity });
      return Promise.resolve();
    },
    removeMember(setKey, member) {
      const entry = live(setKey);
      if (entry?.kind === 'set') {
        entry.members.delete(member);
        if (entry.members.size === 0) entries.delete(setKey);
      }
      return Promise.resolve();
    },
    members(setKey) {
      const entry = live(setKey);
      return Promise.resolve(entry?.kind === 'set' ? [...entry.members] : []);
    },
    createRefreshFamily(init: RefreshFamilyInit, token: RefreshTokenInit) {
      const time = now();
      const familyExpiry = expiry(time, init.ttlMs);
      entries.set(init.familyKey, {
        kind: 'family',
        data: init.data,
        revoked: false,
        expiresAt: familyExpiry,
      });
      entries.set(token.tokenKey, {
        kind: 'token',
        familyKey: init.familyKey,
        spent: false,
        expiresAt: Math.min(familyExpiry, expiry(time, token.ttlMs)),
      });
      return Promise.resolve();
    },
    rotateRefreshToken(ref, tokenKey, successor): Promise<RefreshRotation> {
      // Synchronous from lookup to write: no other call can interleave.
      const found = family(ref.familyKey);
      const token = live(tokenKey);
      if (found === undefined || token?.kind !== 'token' || token.familyKey !== ref.familyKey) {
        return Promise.resolve({ status: 'unknown' });
      }
      if (token.spent) {
        markRevoked(ref, found);
        return Promise.resolve({ status: 'reused', family: found.data });
      }
      if (found.revoked) return Promise.resolve({ status: 'revoked', family: found.data });
      token.spent = true;
      entries.set(successor.tokenKey, {
        kind: 'token',
        familyKey: ref.familyKey,
        spent: false,
        expiresAt: Math.min(found.expiresAt, expiry(now(), successor.ttlMs)),
      });
      return Promise.resolve({ status: 'rotated', family: found.data });
    },
    revokeRefreshFamily(ref) {
      const found = family(ref.familyKey);
      markRevoked(ref, found);
      return Promise.resolve(found?.data);
    },
  };
  return store;
}
