import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import jwt from 'jsonwebtoken';
import { secretsDirectory, readSetting } from '../config/sources.js';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { sha256Hex } from '../internal/compare.js';
import { Memo } from '../internal/memo.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import type { AuthStore, RefreshFamilyRef } from '../stores/auth-store.js';
import { syncReader } from '../stores/memory-store.js';
import { signEdDsa, verifyEdDsa } from './eddsa.js';
import { AuthFailure } from './failure.js';
import {
  buildKeyRing,
  TOKEN_ALGORITHMS,
  type KeyRing,
  type RingKey,
  type TokenAlgorithm,
  type TokenKey,
} from './keys.js';

export interface TokenServiceOptions {
  /** Current HMAC secret (at least 32 bytes). @default `JWT_SECRET_KEY` [`SECRET_KEY`] when neither `secret` nor `keys` is given */
  secret?: string | Buffer;
  /** Earlier secrets still accepted for verification: an array, or the comma-separated `JWT_PREVIOUS_SECRET_KEYS` form. @default `JWT_PREVIOUS_SECRET_KEYS` when `secret` comes from the environment */
  previousSecrets?: readonly (string | Buffer)[] | string;
  /** A key ring instead of `secret`: `keys[0]` signs, every key verifies. */
  keys?: readonly TokenKey[];
  /** The accepted algorithms, never read from a token. @default ['HS256'] with `secret`; the keys' algorithms with `keys` */
  algorithms?: readonly TokenAlgorithm[];
  /** `iss` written and required. */
  issuer: string;
  /** `aud` written and required. */
  audience: string;
  /** Access-token lifetime in seconds. @default 900 */
  accessTtl?: number;
  /** Lifetime of each refresh token in seconds (renewed by rotation, capped by `familyTtl`). @default 1209600 (14 days) */
  refreshTtl?: number;
  /** Absolute lifetime of a login session (refresh family) in seconds; no rotation extends it. @default max(refreshTtl, 30 days) */
  familyTtl?: number;
  /** Seconds of clock skew allowed on `exp` and `nbf` (0-30). @default 0 */
  clockTolerance?: number;
  /** Where refresh families, the `jti` denylist and revoke-all epochs live. */
  store: AuthStore;
  /** Clock in ms since the epoch, for tests. @default Date.now */
  now?: () => number;
}

/** Who a token pair is issued for. Extra members become claims of the access token. */
export interface TokenSubject {
  sub: string;
  roles?: readonly string[];
  readonly [claim: string]: unknown;
}

/** What `issue()` and `refresh()` return: the OAuth 2.0 token response shape. */
export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  /** Seconds until the access token expires. */
  expires_in: number;
}

/** The verified claims of an access token. */
export interface AccessClaims {
  sub: string;
  roles: string[];
  jti: string;
  /** The session (refresh family) the token was minted in; absent on tokens issued before sessions. */
  sid?: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string | string[];
  readonly [claim: string]: unknown;
}

export interface TokenService {
  /** Starts a session: a new refresh family and an access token. */
  issue(subject: TokenSubject): Promise<TokenPair>;
  /** Verifies an access token (signature and claims first, then revocation). Throws `BulwarkError`. */
  verifyAccess(token: string): Promise<AccessClaims>;
  /** Rotates a refresh token: the old one is spent, a new pair is issued. `req` only enriches events. */
  refresh(refreshToken: string, req?: Request): Promise<TokenPair>;
  /**
   * Logout: ends the access token's session (its refresh family, every refresh
   * token and every access token of it). A refresh token is used only when it
   * belongs to the same session; one of another session is ignored.
   */
  revoke(accessToken: string, refreshToken?: string): Promise<void>;
  /** Refuses every token and session issued to `sub` before now. */
  revokeAllForUser(sub: string): Promise<void>;
}

const KNOWN: KnownKeys<TokenServiceOptions> = {
  secret: true,
  previousSecrets: true,
  keys: true,
  algorithms: true,
  issuer: true,
  audience: true,
  accessTtl: true,
  refreshTtl: true,
  familyTtl: true,
  clockTolerance: true,
  store: true,
  now: true,
};

/** Longest token considered; larger ones are refused before any decoding or crypto. */
export const MAX_TOKEN_LENGTH = 8192;
const DAY = 86_400;
const ACCESS_TYPE = 'at+jwt';

interface FastVerifier {
  readonly verifyAccess: TokenService['verifyAccess'];
  readonly now: (token: string) => AccessClaims | Promise<AccessClaims>;
}
// Kept beside each service rather than on it, as memoryStore() keeps its synchronous read.
const fastVerifiers = new WeakMap<TokenService, FastVerifier>();
/** How many verified access tokens a service remembers (see `verified`). */
const VERIFIED_TOKENS = 1024;

/** A verified access token's claims, kept as JSON so every hit gets its own copy. */
interface VerifiedToken {
  readonly claims: string;
  readonly exp: number;
  readonly nbf: number | undefined;
}
/** `<session id>.<secret>`: the session id lets every store key of a refresh be named up front. */
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
// Claims the service sets itself; a subject may not supply them.
const RESERVED = new Set([
  'iss',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'sub',
  'roles',
  'epoch',
  'sid',
]);
const STORE_METHODS = [
  'get',
  'getMany',
  'set',
  'createRefreshFamily',
  'rotateRefreshToken',
  'revokeRefreshFamily',
] as const;

/** What a refresh family remembers to mint the next access token. */
interface FamilyData {
  fid: string;
  claims: Record<string, unknown>;
  /** The subject's revoke-all epoch when the family began (absent when none was set). */
  epoch?: string;
}

// A session's keys share the hash tag `{fid}`, so a Redis Cluster keeps them in one slot.
const keys = {
  refresh: (fid: string, token: string) => `rt:{${fid}}:${sha256Hex(token)}`,
  family: (fid: string) => `rf:{${fid}}`,
  session: (fid: string) => `rs:{${fid}}`,
  jti: (jti: string) => `jti:${jti}`,
  epoch: (sub: string) => `ep:${sub}`,
};

function fail(
  code: 'auth.invalid_token' | 'auth.token_expired' | 'auth.token_revoked',
  reason: string,
  cause?: unknown,
): never {
  throw new AuthFailure(code, reason, cause);
}

function decodeHeader(segment: string): Record<string, unknown> | undefined {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header)
      ? (header as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function reasonOf(error: unknown): {
  code: 'auth.invalid_token' | 'auth.token_expired';
  reason: string;
} {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : '';
  if (name === 'TokenExpiredError') return { code: 'auth.token_expired', reason: 'expired' };
  if (name === 'NotBeforeError') return { code: 'auth.invalid_token', reason: 'not_before' };
  if (message.includes('signature')) return { code: 'auth.invalid_token', reason: 'bad_signature' };
  if (message.includes('audience')) return { code: 'auth.invalid_token', reason: 'bad_audience' };
  if (message.includes('issuer')) return { code: 'auth.invalid_token', reason: 'bad_issuer' };
  return { code: 'auth.invalid_token', reason: 'malformed' };
}

/** The session id a well-formed refresh token names, else `undefined`. */
function sessionOf(refreshToken: unknown): string | undefined {
  if (typeof refreshToken !== 'string') return undefined;
  return REFRESH_TOKEN.exec(refreshToken)?.[1];
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function splitSecrets(value: readonly (string | Buffer)[] | string): (string | Buffer)[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : [...value];
}

/**
 * JWT access tokens with refresh-token rotation, reuse detection and
 * revocation, on jsonwebtoken (node:crypto for EdDSA, which it lacks).
 *
 * Every key is imported once, here. `verifyAccess` refuses, before any crypto:
 * tokens over 8 KiB, malformed ones, an `alg` outside the configured list
 * (`none` in any casing), a `typ` other than `at+jwt`, a `crit` header, an
 * unknown `kid`, and a `kid` whose key has another algorithm (key confusion).
 * `jku`, `x5u` and `jwk` headers are never read. Signature, `iss`, `aud`,
 * `exp` (required) and `nbf` are checked next, and only then the store (one
 * `getMany`: the `jti` denylist and the subject's revoke-all epoch), so
 * garbage never reaches Redis.
 *
 * Revoke-all uses an epoch rather than a timestamp: `revokeAllForUser` stores a
 * fresh random epoch for the subject, new tokens carry it in an `epoch` claim,
 * and a token whose epoch differs is refused. This is exact, with no
 * same-second ambiguity and no reliance on clocks agreeing between processes.
 *
 * @param options.store `memoryStore()` or `redisStore(client)`
 * @param [options.algorithms=['HS256']]
 * @param [options.accessTtl=900]
 * @param [options.refreshTtl=1209600]
 * @param [options.familyTtl=max(refreshTtl, 2592000)]
 * @param [options.clockTolerance=0]
 * @example
 * const tokens = createTokenService({
 *   secret: process.env.JWT_SECRET_KEY, previousSecrets: process.env.JWT_PREVIOUS_SECRET_KEYS,
 *   issuer: 'https://api.example.com', audience: 'api', store: redisStore(redis),
 * });
 */
export function createTokenService(options: TokenServiceOptions): TokenService {
  const check = new OptionChecker('createTokenService', options, KNOWN);
  const problems: string[] = [];
  const issuer = check.string('issuer', undefined, { nonEmpty: true, maxLength: 512 });
  const audience = check.string('audience', undefined, { nonEmpty: true, maxLength: 512 });
  if (issuer === undefined) check.problem('`issuer` is required');
  if (audience === undefined) check.problem('`audience` is required');
  const accessTtl = check.number('accessTtl', { min: 1, max: DAY, integer: true, default: 900 });
  const refreshTtl = check.number('refreshTtl', {
    min: 60,
    max: 365 * DAY,
    integer: true,
    default: 14 * DAY,
  });
  const familyTtl = check.number('familyTtl', {
    min: 60,
    max: 365 * DAY,
    integer: true,
    default: Math.max(refreshTtl, 30 * DAY),
  });
  const clockTolerance = check.number('clockTolerance', { min: 0, max: 30, default: 0 });
  const now = check.func<() => number>('now') ?? Date.now;
  const store = check.raw('store') as AuthStore | undefined;
  if (
    typeof store !== 'object' ||
    STORE_METHODS.some((m) => typeof (store as Partial<AuthStore>)[m] !== 'function')
  ) {
    check.problem('`store` must be an AuthStore: memoryStore() or redisStore(client)');
  }
  const algorithmsGiven = check.raw('algorithms');
  if (
    algorithmsGiven !== undefined &&
    (!Array.isArray(algorithmsGiven) ||
      algorithmsGiven.length === 0 ||
      !algorithmsGiven.every((a) => (TOKEN_ALGORITHMS as readonly unknown[]).includes(a)))
  ) {
    check.problem(`\`algorithms\` must list one or more of ${TOKEN_ALGORITHMS.join(', ')}`);
  }
  const algorithms = Array.isArray(algorithmsGiven)
    ? (algorithmsGiven as TokenAlgorithm[])
    : undefined;

  let ring: KeyRing | undefined;
  if (check.has('keys')) {
    if (check.has('secret') || check.has('previousSecrets')) {
      check.problem('give either `keys` or `secret`/`previousSecrets`, not both');
    }
    const given = check.raw('keys');
    if (!Array.isArray(given)) {
      check.problem('`keys` must be an array of keys');
    } else {
      const ringKeys = given as TokenKey[];
      const allowed = new Set(algorithms ?? ringKeys.map((k) => k.algorithm));
      ring = buildKeyRing(ringKeys, allowed, problems);
    }
  } else {
    let secret = check.raw('secret');
    let previous = check.raw('previousSecrets');
    if (secret === undefined) {
      // Nothing given: read the same settings loadConfig() reads, from the same sources.
      const context = { env: process.env, secretsDir: secretsDirectory(process.env) };
      secret = readSetting('JWT_SECRET_KEY', ['SECRET_KEY'], context).value;
      previous ??= readSetting('JWT_PREVIOUS_SECRET_KEYS', [], context).value;
      if (secret === undefined) {
        check.problem('no signing key: give `secret` or `keys`, or set JWT_SECRET_KEY');
      }
    }
    const algorithm = algorithms?.[0] ?? 'HS256';
    if (algorithms !== undefined && (algorithms.length !== 1 || !algorithm.startsWith('HS'))) {
      check.problem('with `secret`, `algorithms` must be one HMAC algorithm (HS256, HS384, HS512)');
    } else if (secret !== undefined) {
      if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) {
        check.problem('`secret` must be a string or Buffer');
      } else if (
        previous !== undefined &&
        typeof previous !== 'string' &&
        !(
          Array.isArray(previous) &&
          previous.every((p) => typeof p === 'string' || Buffer.isBuffer(p))
        )
      ) {
        check.problem('`previousSecrets` must be an array of strings or a comma-separated string');
      } else {
        const secrets = [secret, ...(previous === undefined ? [] : splitSecrets(previous))];
        ring = buildKeyRing(
          secrets.map((s) => ({ algorithm, secret: s })),
          new Set([algorithm]),
          problems,
        );
      }
    }
  }
  for (const problem of problems) check.problem(problem);
  check.done();
  // check.done() threw unless all of these are set.
  const keyRing = ring as KeyRing;
  const authStore = store as AuthStore;
  const reader = syncReader(authStore);
  const iss = issuer as string;
  const aud = audience as string;
  const allowedAlgorithms = new Set([...keyRing.byKid.values()].map((k) => k.algorithm));
  const signer = keyRing.signer;
  const epochTtlMs = (Math.max(accessTtl, familyTtl) + clockTolerance) * 1000;
  // A session's revoked mark must outlive the last access token minted in it.
  const sessionMarkMs = (accessTtl + clockTolerance + 1) * 1000;

  function familyRef(fid: string): RefreshFamilyRef {
    return {
      familyKey: keys.family(fid),
      revokedKey: keys.session(fid),
      revokedTtlMs: sessionMarkMs,
    };
  }

  function sign(claims: Record<string, unknown>, epoch: string | undefined, sid: string): string {
    const time = now();
    const iat = Math.floor(time / 1000);
    const payload: Record<string, unknown> = {
      ...claims,
      jti: randomBytes(16).toString('base64url'),
      sid,
      iat,
      exp: iat + accessTtl,
      iss,
      aud,
    };
    if (epoch !== undefined) payload.epoch = epoch;
    const header = { typ: ACCESS_TYPE, kid: signer.kid };
    if (signer.algorithm === 'EdDSA') return signEdDsa(header, payload, signer.signKey);
    return jwt.sign(payload, signer.signKey, {
      algorithm: signer.algorithm,
      header: { ...header, alg: signer.algorithm },
    });
  }

  function pair(accessToken: string, refreshToken: string): TokenPair {
    return {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: accessTtl,
    };
  }

  /**
   * Access tokens that passed every check but the clock, by their exact text.
   * The key ring is fixed for the service's life, so the same text verifies the
   * same way until its times run out: `exp` and `nbf` are checked again on every
   * hit, and revocation is looked up on every request, as before. A hit parses
   * the claims afresh, so no request sees what another one changed in its
   * `req.auth`.
   */
  const verified = new Memo<VerifiedToken>(VERIFIED_TOKENS);

  function fromVerified(token: string): AccessClaims | undefined {
    const hit = verified.get(token);
    if (hit === undefined) return undefined;
    const time = Math.floor(now() / 1000);
    if (
      time < hit.exp + clockTolerance &&
      (hit.nbf === undefined || hit.nbf <= time + clockTolerance)
    ) {
      return JSON.parse(hit.claims) as AccessClaims;
    }
    // Out of its times: the full checks below say which way.
    verified.delete(token);
    return undefined;
  }

  function rememberVerified(token: string, claims: AccessClaims): void {
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
    verified.set(token, { claims: JSON.stringify(claims), exp: claims.exp, nbf });
  }

  /** Signature and claims only: no store. Returns the claims and the key that verified them. */
  function verifySigned(token: unknown, ignoreExpiration: boolean): AccessClaims {
    if (typeof token !== 'string' || token === '') fail('auth.invalid_token', 'malformed');
    if (token.length > MAX_TOKEN_LENGTH) fail('auth.invalid_token', 'oversized');
    if (!ignoreExpiration) {
      const known = fromVerified(token);
      if (known !== undefined) return known;
    }
    const segments = token.split('.');
    const [head, , signature] = segments;
    // Only the header is decoded here; jsonwebtoken (or the EdDSA path) rejects a malformed rest.
    if (
      segments.length !== 3 ||
      head === undefined ||
      signature === undefined ||
      !BASE64URL.test(head)
    ) {
      fail('auth.invalid_token', 'malformed');
    }
    if (signature === '') fail('auth.invalid_token', 'missing_signature');
    const header = decodeHeader(head);
    if (header === undefined) fail('auth.invalid_token', 'malformed');
    const { alg, kid, typ } = header;
    if (typeof alg !== 'string' || !(allowedAlgorithms as Set<string>).has(alg)) {
      fail('auth.invalid_token', 'bad_algorithm');
    }
    if (typ !== ACCESS_TYPE) fail('auth.invalid_token', 'wrong_type');
    if (header.crit !== undefined) fail('auth.invalid_token', 'unsupported_header');
    if (typeof kid !== 'string') fail('auth.invalid_token', 'missing_kid');
    const key: RingKey | undefined = keyRing.byKid.get(kid);
    if (key === undefined) fail('auth.invalid_token', 'unknown_kid');
    if (key.algorithm !== alg) fail('auth.invalid_token', 'algorithm_mismatch');

    const clockTimestamp = Math.floor(now() / 1000);
    let claims: Record<string, unknown>;
    try {
      claims =
        key.algorithm === 'EdDSA'
          ? verifyEdDsa(token, key.verifyKey, {
              issuer: iss,
              audience: aud,
              clockTolerance: ignoreExpiration ? Infinity : clockTolerance,
              clockTimestamp,
            })
          : (jwt.verify(token, key.verifyKey, {
              algorithms: [key.algorithm],
              issuer: iss,
              audience: aud,
              clockTolerance,
              clockTimestamp,
              ignoreExpiration,
            }) as Record<string, unknown>);
    } catch (error) {
      const { code, reason } = reasonOf(error);
      fail(code, reason, error);
    }
    const { sub, roles, jti, iat, exp } = claims;
    if (typeof exp !== 'number') fail('auth.invalid_token', 'missing_exp');
    if (
      typeof sub !== 'string' ||
      sub === '' ||
      typeof jti !== 'string' ||
      jti === '' ||
      typeof iat !== 'number' ||
      !isStringArray(roles) ||
      (claims.epoch !== undefined && typeof claims.epoch !== 'string') ||
      (claims.sid !== undefined && (typeof claims.sid !== 'string' || claims.sid === ''))
    ) {
      fail('auth.invalid_token', 'bad_claims');
    }
    if (!ignoreExpiration) rememberVerified(token, claims as AccessClaims);
    return claims as AccessClaims;
  }

  function storeCall<T>(operation: () => Promise<T>): Promise<T> {
    return operation().catch((error: unknown) => {
      throw new AuthFailure('auth.unavailable', 'store_unavailable', error);
    });
  }

  function notRevoked(
    claims: AccessClaims,
    [denied, epoch]: readonly (string | undefined)[],
  ): AccessClaims {
    if (denied !== undefined) {
      fail('auth.token_revoked', claims.sid === undefined ? 'revoked' : 'session_revoked');
    }
    if (epoch !== undefined && claims.epoch !== epoch) fail('auth.token_revoked', 'revoked_all');
    return claims;
  }

  /**
   * `verifyAccess` without the promise when the store answers in memory: the
   * same checks in the same order, refusals thrown instead of rejected.
   */
  function verifyAccessNow(token: string): AccessClaims | Promise<AccessClaims> {
    const claims = verifySigned(token, false);
    // A token of a session is revoked with its session; one issued before sessions, by its `jti`.
    const wanted = [
      claims.sid === undefined ? keys.jti(claims.jti) : keys.session(claims.sid),
      keys.epoch(claims.sub),
    ];
    if (reader !== undefined && authStore.getMany === reader.getMany) {
      let found: (string | undefined)[];
      try {
        found = reader.read(wanted);
      } catch (error) {
        throw new AuthFailure('auth.unavailable', 'store_unavailable', error);
      }
      return notRevoked(claims, found);
    }
    return storeCall(() => authStore.getMany(wanted)).then((found) => notRevoked(claims, found));
  }

  function checkSubject(subject: TokenSubject): Record<string, unknown> {
    const given: unknown = subject;
    if (typeof given !== 'object' || given === null) {
      throw new BulwarkError('validation.failed', { detail: 'issue() needs a subject object' });
    }
    const { sub, roles = [], ...extra } = subject;
    if (typeof sub !== 'string' || sub === '' || sub.length > 256) {
      throw new BulwarkError('validation.failed', {
        detail: '`sub` must be a string of 1-256 characters',
      });
    }
    if (!isStringArray(roles)) {
      throw new BulwarkError('validation.failed', {
        detail: '`roles` must be an array of strings',
      });
    }
    const reserved = Object.keys(extra).filter((k) => RESERVED.has(k));
    if (reserved.length > 0) {
      throw new BulwarkError('validation.failed', {
        detail: `claims set by the service cannot be given: ${reserved.join(', ')}`,
      });
    }
    return { ...extra, sub, roles: [...roles] };
  }

  async function verifyAccess(token: string): Promise<AccessClaims> {
    return verifyAccessNow(token);
  }

  const service: TokenService = {
    async issue(subject) {
      const claims = checkSubject(subject);
      const sub = claims.sub as string;
      const epoch = await storeCall(() => authStore.get(keys.epoch(sub)));
      const fid = randomBytes(16).toString('base64url');
      const refreshToken = `${fid}.${randomBytes(32).toString('base64url')}`;
      const data: FamilyData = { fid, claims };
      if (epoch !== undefined) data.epoch = epoch;
      const accessToken = sign(claims, epoch, fid);
      await storeCall(() =>
        authStore.createRefreshFamily(
          { familyKey: keys.family(fid), data: JSON.stringify(data), ttlMs: familyTtl * 1000 },
          { tokenKey: keys.refresh(fid, refreshToken), ttlMs: refreshTtl * 1000 },
        ),
      );
      return pair(accessToken, refreshToken);
    },

    verifyAccess,

    async refresh(refreshToken, req) {
      const fid = sessionOf(refreshToken);
      if (fid === undefined) fail('auth.invalid_token', 'malformed_refresh');
      const family = familyRef(fid);
      const successor = `${fid}.${randomBytes(32).toString('base64url')}`;
      const rotation = await storeCall(() =>
        authStore.rotateRefreshToken(family, keys.refresh(fid, refreshToken), {
          tokenKey: keys.refresh(fid, successor),
          ttlMs: refreshTtl * 1000,
        }),
      );
      if (rotation.status === 'unknown') fail('auth.invalid_token', 'unknown_refresh');
      const data = JSON.parse(rotation.family) as FamilyData;
      const sub = data.claims.sub as string;
      if (rotation.status === 'reused') {
        // RFC 9700 §4.14.2: a spent token presented again means one of two parties holds a stolen copy.
        securityEvents.emit('auth.refresh_reused', req, {
          reason: 'refresh_reused',
          sub,
          family: fid,
        });
        throw new AuthFailure('auth.refresh_reused', 'refresh_reused');
      }
      if (rotation.status === 'revoked') fail('auth.token_revoked', 'family_revoked');
      const epoch = await storeCall(() => authStore.get(keys.epoch(sub)));
      if (epoch !== undefined && epoch !== data.epoch) {
        await storeCall(() => authStore.revokeRefreshFamily(family));
        fail('auth.token_revoked', 'revoked_all');
      }
      return pair(sign(data.claims, data.epoch, fid), successor);
    },

    async revoke(accessToken, refreshToken) {
      const claims = verifySigned(accessToken, true);
      if (claims.sid !== undefined) {
        const sid = claims.sid;
        // The bearer's session ends whatever else is sent; a refresh token of another session is ignored.
        await storeCall(() => authStore.revokeRefreshFamily(familyRef(sid)));
        if (refreshToken !== undefined && sessionOf(refreshToken) !== sid) {
          securityEvents.emit('auth.failed', undefined, {
            reason: 'foreign_refresh_token',
            sub: claims.sub,
          });
        }
        return;
      }
      // Issued before sessions: only this token can be named, until it expires.
      const remainingMs = (claims.exp + clockTolerance) * 1000 - now();
      if (remainingMs > 0) {
        await storeCall(() => authStore.set(keys.jti(claims.jti), '1', remainingMs));
      }
    },

    async revokeAllForUser(sub) {
      if (typeof sub !== 'string' || sub === '' || sub.length > 256) {
        throw new BulwarkError('validation.failed', {
          detail: '`sub` must be a string of 1-256 characters',
        });
      }
      await storeCall(() =>
        authStore.set(keys.epoch(sub), randomBytes(12).toString('base64url'), epochTtlMs),
      );
    },
  };
  fastVerifiers.set(service, { verifyAccess, now: verifyAccessNow });
  return service;
}

/**
 * The fast path of a service `createTokenService()` made, while its
 * `verifyAccess` is still its own (a replaced or spied method is honoured).
 */
export function fastVerifier(
  service: TokenService,
): ((token: string) => AccessClaims | Promise<AccessClaims>) | undefined {
  const fast = fastVerifiers.get(service);
  return fast !== undefined && service.verifyAccess === fast.verifyAccess ? fast.now : undefined;
}
