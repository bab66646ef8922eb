import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import jwt from 'jsonwebtoken';
import { BulwarkError } from '../../errors.js';
import { securityEvents } from '../../events.js';
import { sha256Hex } from '../../internal/compare.js';
import type { RefreshFamilyRef } from '../../stores/auth-store.js';
import { signEdDsa } from '../eddsa.js';
import { AuthFailure } from '../failure.js';
import { deriveUsernameKey } from '../username-hash.js';
import { tokenSettings, type TokenServiceOptions } from './options.js';
import { accessVerifier, ACCESS_TYPE, fail, type AccessClaims } from './verify.js';

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
   * belongs to the same session; one of another session is ignored (and
   * reported as `auth.failed`, reason `foreign_refresh_token`). `req` only
   * enriches events.
   */
  revoke(accessToken: string, refreshToken?: string, req?: Request): Promise<void>;
  /** Refuses every token and session issued to `sub` before now. */
  revokeAllForUser(sub: string): Promise<void>;
}

const usernameKeys = new WeakMap<TokenService, Buffer>();

/** `<session id>.<secret>`: the session id lets every store key of a refresh be named up front. */
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;
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

/** The session id a well-formed refresh token names, else `undefined`. */
function sessionOf(refreshToken: unknown): string | undefined {
  if (typeof refreshToken !== 'string') return undefined;
  return REFRESH_TOKEN.exec(refreshToken)?.[1];
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/**
 * JWT access tokens with refresh-token rotation, reuse detection and
 * revocation, on jsonwebtoken (node:crypto for EdDSA, which it lacks).
 *
 * Options are checked in `options.ts`, access tokens verified in `verify.ts`
 * (header before any crypto, then the signature, then every claim), and only
 * then is the store asked (one `getMany`: the session's revoked mark, or the
 * `jti` denylist for a token issued before sessions, and the subject's
 * revoke-all epoch), so garbage never reaches Redis.
 *
 * A session is a refresh family: every access token names it in `sid`, and a
 * refresh token is `<sid>.<secret>`, so each key of a session is known from
 * the token in hand and they all share the hash tag `{sid}`. Ending a session
 * (logout, refresh reuse, a revoke-all met on refresh) revokes the family and
 * sets its revoked mark in one atomic store step.
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
  const settings = tokenSettings(options);
  const { issuer, audience, accessTtl, refreshTtl, familyTtl, clockTolerance, now } = settings;
  const authStore = settings.store;
  const signer = settings.keyRing.signer;
  const verifier = accessVerifier(settings);
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
      iss: issuer,
      aud: audience,
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

    async verifyAccess(token) {
      const claims = verifier.verify(token, false);
      // A token of a session is revoked with its session; one issued before sessions, by its `jti`.
      const found = await storeCall(() =>
        authStore.getMany([
          claims.sid === undefined ? keys.jti(claims.jti) : keys.session(claims.sid),
          keys.epoch(claims.sub),
        ]),
      );
      return notRevoked(claims, found);
    },

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

    async revoke(accessToken, refreshToken, req) {
      const claims = verifier.verify(accessToken, true);
      if (claims.sid !== undefined) {
        const sid = claims.sid;
        // The bearer's session ends whatever else is sent; a refresh token of another session is ignored.
        await storeCall(() => authStore.revokeRefreshFamily(familyRef(sid)));
        if (refreshToken !== undefined && sessionOf(refreshToken) !== sid) {
          securityEvents.emit('auth.failed', req, {
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
  usernameKeys.set(service, deriveUsernameKey(signer.signKey));
  return service;
}

/**
 * The per-deployment key for username digests a service `createTokenService()`
 * made derives from its signing key; `undefined` for any other object.
 */
export function serviceUsernameKey(service: TokenService): Buffer | undefined {
  return usernameKeys.get(service);
}
