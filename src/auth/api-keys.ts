import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { BulwarkError } from '../errors.js';
import { asyncMiddleware } from '../internal/async.js';
import { safeEqual, sha256Hex } from '../internal/compare.js';
import { Memo } from '../internal/memo.js';
import { isRepeated } from '../internal/headers.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import type { AuthStore } from '../stores/auth-store.js';
import { realmChallenges, rejectServiceError, rejectUnauthenticated } from './challenge.js';
import { AuthFailure } from './failure.js';

/** What `apiKeyAuth()` puts on `req.apiKey`. */
export interface ApiKeyIdentity {
  id: string;
  scopes: string[];
}

/** A key as `list()` shows it: never its secret or hash. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  /** When the current secret replaced the previous one. */
  rotatedAt: Date | null;
  /** Until when the previous secret is still accepted. */
  previousValidUntil: Date | null;
  /** Last successful use, recorded at most once per `lastUsedIntervalMs`. */
  lastUsedAt: Date | null;
}

/** The key itself, shown once by `issue()` and `rotate()`. */
export interface IssuedApiKey extends ApiKeyInfo {
  /** `bwk_<id>_<secret>`: store it now, it cannot be shown again. */
  key: string;
}

export interface ApiKeyIssueOptions {
  name: string;
  scopes?: readonly string[];
  /** When the key stops working (Date or ms since the epoch). @default never */
  expiresAt?: Date | number | null;
}

export interface ApiKeyService {
  issue(options: ApiKeyIssueOptions): Promise<IssuedApiKey>;
  /** The identity of a valid key; throws `BulwarkError` `auth.invalid_api_key` otherwise. */
  verify(key: string): Promise<ApiKeyIdentity>;
  /** A new secret for `id`; the old one keeps working for `graceSeconds` only. `undefined` for an unknown id. */
  rotate(id: string, options?: { graceSeconds?: number }): Promise<IssuedApiKey | undefined>;
  /** Revokes at once; `false` when no such key. */
  revoke(id: string): Promise<boolean>;
  list(): Promise<ApiKeyInfo[]>;
}

export interface ApiKeyServiceOptions {
  store: AuthStore;
  /** Minimum ms between two last-used writes for one key (a store write per request would be wasteful). @default 60000 */
  lastUsedIntervalMs?: number;
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number;
}

const KNOWN: KnownKeys<ApiKeyServiceOptions> = { store: true, lastUsedIntervalMs: true, now: true };

/** Stored at rest: hashes only. */
interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  hash: string;
  rotatedAt: number | null;
  previous: { hash: string; until: number } | null;
}

// 64-bit id and 256-bit secret, both hex so the whole key is one double-click word.
const KEY_FORMAT = /^bwk_([0-9a-f]{16})_([0-9a-f]{64})$/;
const SCOPE = /^[\x21-\x7e]{1,128}$/;
const INDEX = 'ak:index';
const MAX_GRACE_SECONDS = 30 * 86_400;
// Bounds the per-process last-used throttle table.
const MAX_THROTTLE_ENTRIES = 10_000;
const recordKey = (id: string): string => `ak:${id}`;
const lastUsedKey = (id: string): string => `aku:${id}`;

function isScopeList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((s) => typeof s === 'string' && SCOPE.test(s));
}

function invalidRequest(detail: string): BulwarkError {
  return new BulwarkError('validation.failed', { detail });
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

function info(record: ApiKeyRecord, lastUsed: string | undefined): ApiKeyInfo {
  const used = lastUsed === undefined ? NaN : Number(lastUsed);
  return {
    id: record.id,
    name: record.name,
    scopes: [...record.scopes],
    createdAt: new Date(record.createdAt),
    expiresAt: toDate(record.expiresAt),
    rotatedAt: toDate(record.rotatedAt),
    previousValidUntil: toDate(record.previous?.until ?? null),
    lastUsedAt: Number.isFinite(used) ? new Date(used) : null,
  };
}

/**
 * Issues and checks API keys `bwk_<id>_<secret>` (the prefix lets secret
 * scanners find leaked keys). Only the SHA-256 of a secret is stored, and it
 * is compared in constant time. `rotate` accepts the old secret for a grace
 * period only; `revoke` is immediate. Last use is written at most once per
 * `lastUsedIntervalMs` per key and process, off the request's critical path.
 *
 * @param options.store `memoryStore()` or `redisStore(client)`
 * @param [options.lastUsedIntervalMs=60000]
 * @example const keys = createApiKeyService({ store }); const { key } = await keys.issue({ name: 'ci', scopes: ['complete'] });
 */
export function createApiKeyService(options: ApiKeyServiceOptions): ApiKeyService {
  const check = new OptionChecker('createApiKeyService', options, KNOWN);
  const store = check.raw('store') as AuthStore | undefined;
  if (typeof store !== 'object' || typeof store.replace !== 'function') {
    check.problem('`store` must be an AuthStore: memoryStore() or redisStore(client)');
  }
  const interval = check.number('lastUsedIntervalMs', {
    min: 0,
    max: 86_400_000,
    default: 60_000,
  });
  const now = check.func<() => number>('now') ?? Date.now;
  const { db } = check.done({ db: store });
  const lastWritten = new Memo<number>(MAX_THROTTLE_ENTRIES);

  function ttlFor(record: ApiKeyRecord): number | undefined {
    return record.expiresAt === null ? undefined : Math.max(1, record.expiresAt - now());
  }

  async function load(id: string): Promise<{ raw: string; record: ApiKeyRecord } | undefined> {
    const raw = await db.get(recordKey(id));
    return raw === undefined ? undefined : { raw, record: JSON.parse(raw) as ApiKeyRecord };
  }

  function touch(id: string, time: number, ttlMs: number | undefined): void {
    const last = lastWritten.get(id);
    if (last !== undefined && time - last < interval) return;
    lastWritten.set(id, time);
    // Its own key, so this late write can never resurrect a key revoked meanwhile.
    db.set(lastUsedKey(id), String(time), ttlMs).catch(() => {
      lastWritten.delete(id);
    });
  }

  function secret(): string {
    return randomBytes(32).toString('hex');
  }

  return {
    async issue(request) {
      const given: unknown = request;
      if (typeof given !== 'object' || given === null)
        throw invalidRequest('issue() needs options');
      const { name, expiresAt = null } = request;
      const scopes: unknown = request.scopes ?? [];
      if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
        throw invalidRequest('`name` must be a string of 1-200 characters');
      }
      if (!isScopeList(scopes)) {
        throw invalidRequest('`scopes` must be an array of scope names without spaces');
      }
      const expiry = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
      const time = now();
      if (
        expiry !== null &&
        (typeof expiry !== 'number' || !Number.isFinite(expiry) || expiry <= time)
      ) {
        throw invalidRequest('`expiresAt` must be a time in the future');
      }
      const id = randomBytes(8).toString('hex');
      const value = secret();
      const record: ApiKeyRecord = {
        id,
        name,
        scopes: [...new Set(scopes)],
        createdAt: time,
        expiresAt: expiry,
        hash: sha256Hex(value),
        rotatedAt: null,
        previous: null,
      };
      if (!(await db.setIfAbsent(recordKey(id), JSON.stringify(record), ttlFor(record)))) {
        throw new Error('API key id collision');
      }
      await db.addMember(INDEX, id);
      return { ...info(record, undefined), key: `bwk_${id}_${value}` };
    },

    async verify(key) {
      const match = typeof key === 'string' ? KEY_FORMAT.exec(key) : null;
      const id = match?.[1];
      const presented = match?.[2];
      if (id === undefined || presented === undefined) {
        throw new AuthFailure('auth.invalid_api_key', 'malformed');
      }
      let found: Awaited<ReturnType<typeof load>>;
      try {
        found = await load(id);
      } catch (error) {
        throw new AuthFailure('auth.unavailable', 'store_unavailable', error);
      }
      if (found === undefined) throw new AuthFailure('auth.invalid_api_key', 'unknown_key');
      const { record } = found;
      const time = now();
      if (record.expiresAt !== null && time >= record.expiresAt) {
        throw new AuthFailure('auth.invalid_api_key', 'expired');
      }
      const hash = sha256Hex(presented);
      const current = safeEqual(hash, record.hash);
      const previous =
        record.previous !== null &&
        time < record.previous.until &&
        safeEqual(hash, record.previous.hash);
      if (!current && !previous) {
        const rotatedOut = record.previous !== null && safeEqual(hash, record.previous.hash);
        throw new AuthFailure(
          'auth.invalid_api_key',
          rotatedOut ? 'grace_expired' : 'wrong_secret',
        );
      }
      touch(id, time, ttlFor(record));
      return { id, scopes: [...record.scopes] };
    },

    async rotate(id, rotation = {}) {
      const grace = rotation.graceSeconds ?? 0;
      if (
        typeof grace !== 'number' ||
        !Number.isFinite(grace) ||
        grace < 0 ||
        grace > MAX_GRACE_SECONDS
      ) {
        throw invalidRequest(
          `\`graceSeconds\` must be a number from 0 to ${String(MAX_GRACE_SECONDS)}`,
        );
      }
      // Compare-and-set, so a concurrent revoke or rotate is never silently undone.
      for (let attempt = 0; attempt < 5; attempt++) {
        const found = typeof id === 'string' ? await load(id) : undefined;
        if (found === undefined) return undefined;
        const time = now();
        const value = secret();
        const next: ApiKeyRecord = {
          ...found.record,
          hash: sha256Hex(value),
          rotatedAt: time,
          previous: grace > 0 ? { hash: found.record.hash, until: time + grace * 1000 } : null,
        };
        if (await db.replace(recordKey(id), found.raw, JSON.stringify(next), ttlFor(next))) {
          return { ...info(next, await db.get(lastUsedKey(id))), key: `bwk_${id}_${value}` };
        }
      }
      throw new Error('API key rotation kept conflicting with concurrent updates');
    },

    async revoke(id) {
      if (typeof id !== 'string') return false;
      const existed = await db.delete(recordKey(id));
      await db.delete(lastUsedKey(id));
      await db.removeMember(INDEX, id);
      lastWritten.delete(id);
      return existed;
    },

    async list() {
      const ids = await db.members(INDEX);
      if (ids.length === 0) return [];
      const values = await db.getMany(ids.flatMap((id) => [recordKey(id), lastUsedKey(id)]));
      const keys: ApiKeyInfo[] = [];
      for (const [i, id] of ids.entries()) {
        const raw = values[i * 2];
        if (raw === undefined) {
          // Expired by its lifetime: drop it from the index too.
          await db.removeMember(INDEX, id);
          continue;
        }
        keys.push(info(JSON.parse(raw) as ApiKeyRecord, values[i * 2 + 1]));
      }
      return keys.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    },
  };
}

export interface ApiKeyAuthOptions {
  /** The service from `createApiKeyService()`. */
  keys: ApiKeyService;
  /** Answer 401 when no key is sent; `false` lets such requests through without `req.apiKey`. @default true */
  credentialsRequired?: boolean;
  /** `realm` of the `WWW-Authenticate` challenge. @default 'api' */
  realm?: string;
}

const AUTH_KNOWN: KnownKeys<ApiKeyAuthOptions> = {
  keys: true,
  credentialsRequired: true,
  realm: true,
};
const BEARER_KEY = /^bearer (bwk_\S*)$/i;

/**
 * Authenticates an API key from `X-API-Key` or `Authorization: Bearer bwk_...`
 * (never a query string) and sets `req.apiKey = {id, scopes}`. A refused key is
 * a 401 `auth.invalid_api_key` problem and an `auth.failed` event. Both headers
 * at once is refused as ambiguous.
 *
 * @param options.keys a `createApiKeyService()` service
 * @param [options.credentialsRequired=true]
 * @example app.use('/v1', apiKeyAuth({ keys }));
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): RouteAgnosticHandler {
  const check = new OptionChecker('apiKeyAuth', options, AUTH_KNOWN);
  const keys = check.raw('keys') as ApiKeyService | undefined;
  if (typeof keys?.verify !== 'function') {
    check.problem('`keys` must be an API key service from createApiKeyService()');
  }
  const required = check.boolean('credentialsRequired', true);
  const { missing, invalid } = realmChallenges(check);
  const { service } = check.done({ service: keys });

  return asyncMiddleware(
    'apiKeyAuthMiddleware',
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      const fromHeader = req.headers['x-api-key'];
      const fromBearer = BEARER_KEY.exec(req.headers.authorization ?? '')?.[1];
      if (
        (fromHeader !== undefined && fromBearer !== undefined) ||
        (req.headers.authorization !== undefined && isRepeated(req, 'authorization'))
      ) {
        rejectUnauthenticated(req, res, 'auth.invalid_api_key', 'ambiguous_credentials', invalid);
        return;
      }
      const key = fromHeader ?? fromBearer;
      if (key === undefined || key === '') {
        if (!required) {
          next();
          return;
        }
        rejectUnauthenticated(req, res, 'auth.missing_credentials', 'missing_credentials', missing);
        return;
      }
      try {
        // Node joins a repeated X-API-Key header with ', ', which fails the key format.
        req.apiKey = await service.verify(typeof key === 'string' ? key : '');
      } catch (error) {
        rejectServiceError(req, res, error, invalid);
        return;
      }
      next();
    },
  );
}
