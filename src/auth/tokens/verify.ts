import jwt from 'jsonwebtoken';
import { Memo } from '../../internal/memo.js';
import { verifyEdDsa } from '../eddsa.js';
import { AuthFailure } from '../failure.js';
import type { KeyRing, RingKey } from '../keys.js';

/** Longest token considered; larger ones are refused before any decoding or crypto. */
export const MAX_TOKEN_LENGTH = 8192;
/** The `typ` the service writes (RFC 9068 §2.1). */
export const ACCESS_TYPE = 'at+jwt';
/**
 * The `typ` values accepted, compared without case (RFC 7515 §4.1.9 lets the
 * `application/` prefix go). A plain `JWT` is refused, as RFC 9068 §4 asks, so
 * no other kind of JWT signed with a shared key passes as an access token.
 */
const ACCESS_TYPES = new Set([ACCESS_TYPE, `application/${ACCESS_TYPE}`]);
/** How many verified access tokens a verifier remembers (see `verified`). */
const VERIFIED_TOKENS = 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

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

export type TokenRefusal = 'auth.invalid_token' | 'auth.token_expired' | 'auth.token_revoked';

export function fail(code: TokenRefusal, reason: string, cause?: unknown): never {
  throw new AuthFailure(code, reason, cause);
}

export interface VerifierSettings {
  readonly keyRing: KeyRing;
  readonly issuer: string;
  readonly audience: string;
  /** Access-token lifetime in seconds: no accepted token claims a longer one. */
  readonly accessTtl: number;
  readonly clockTolerance: number;
  readonly now: () => number;
}

export interface AccessVerifier {
  /**
   * Signature and claims, no store. `ignoreExpiration` lets an expired token
   * through (to revoke its session); every other check still applies.
   */
  verify(token: unknown, ignoreExpiration: boolean): AccessClaims;
}

/** A verified access token's claims, kept as JSON so every hit gets its own copy. */
interface VerifiedToken {
  readonly claims: string;
  readonly exp: number;
  readonly nbf: number | undefined;
}

function decodeObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/**
 * The access-token checks of a token service. Before any crypto: length,
 * shape, header (`alg` from the configured list, `typ`, no `crit`, a known
 * `kid` whose key has that algorithm) and a payload that is a JSON object.
 * Then the signature (jsonwebtoken, or node:crypto for EdDSA), and then every
 * claim by explicit checks here, the same for both paths: `exp` (required),
 * `nbf`, `iat` (required, not in the future beyond the clock tolerance),
 * a lifetime `exp - iat` no longer than `accessTtl` plus the tolerance, `iss`,
 * `aud`, and the service's own claims.
 */
export function accessVerifier(settings: VerifierSettings): AccessVerifier {
  const { keyRing, issuer, audience, accessTtl, clockTolerance, now } = settings;
  const allowedAlgorithms: ReadonlySet<string> = new Set(
    [...keyRing.byKid.values()].map((k) => k.algorithm),
  );
  const longestLifetime = accessTtl + clockTolerance;

  /**
   * Access tokens that passed every check but the clock, by their exact text.
   * The key ring is fixed for the service's life, so the same text verifies the
   * same way until its times run out: `exp` and `nbf` are checked again on every
   * hit (`iat` only moves further into the past). Revocation is not part of
   * this: the service looks it up on every request. A hit parses the claims
   * afresh, so no request sees what another one changed in its `req.auth`.
   * A device kept because it pays: without it the full stack counted 7% more
   * instructions per request outside the garbage collector on a plain server
   * (two runs) and 10-27% more on one made with `serverClasses()` (three runs;
   * bench/README.md, "Devices", batch 5).
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
    // Out of its times: the full checks say which way.
    verified.delete(token);
    return undefined;
  }

  function checkSignature(token: string, key: RingKey): void {
    if (key.algorithm === 'EdDSA') {
      if (!verifyEdDsa(token, key.verifyKey)) fail('auth.invalid_token', 'bad_signature');
      return;
    }
    try {
      // The signature alone: every claim is checked below, by the same code for every algorithm.
      jwt.verify(token, key.verifyKey, {
        algorithms: [key.algorithm],
        ignoreExpiration: true,
        ignoreNotBefore: true,
      });
    } catch (error) {
      // The shape was checked before: what jsonwebtoken still refuses is the signature or the key.
      if (error instanceof jwt.JsonWebTokenError)
        fail('auth.invalid_token', 'bad_signature', error);
      fail('auth.invalid_token', 'malformed', error);
    }
  }

  function checkClaims(claims: Record<string, unknown>, ignoreExpiration: boolean): AccessClaims {
    const { exp, nbf, iat, iss, aud, sub, jti, roles, epoch, sid } = claims;
    if (exp === undefined) fail('auth.invalid_token', 'missing_exp');
    if (!isTime(exp) || !isTime(iat) || (nbf !== undefined && !isTime(nbf))) {
      fail('auth.invalid_token', 'bad_claims');
    }
    const time = Math.floor(now() / 1000);
    if (nbf !== undefined && nbf > time + clockTolerance) {
      fail('auth.invalid_token', 'not_before');
    }
    if (!ignoreExpiration && time >= exp + clockTolerance) {
      fail('auth.token_expired', 'expired');
    }
    if (iat > time + clockTolerance) fail('auth.invalid_token', 'issued_in_future');
    if (exp - iat > longestLifetime) fail('auth.invalid_token', 'lifetime_too_long');
    if (iss !== issuer) fail('auth.invalid_token', 'bad_issuer');
    if (Array.isArray(aud) ? !aud.includes(audience) : aud !== audience) {
      fail('auth.invalid_token', 'bad_audience');
    }
    if (
      !nonEmptyString(sub) ||
      !nonEmptyString(jti) ||
      !isStringArray(roles) ||
      (epoch !== undefined && typeof epoch !== 'string') ||
      (sid !== undefined && !nonEmptyString(sid))
    ) {
      fail('auth.invalid_token', 'bad_claims');
    }
    return claims as AccessClaims;
  }

  function verify(token: unknown, ignoreExpiration: boolean): AccessClaims {
    if (typeof token !== 'string' || token === '') fail('auth.invalid_token', 'malformed');
    if (token.length > MAX_TOKEN_LENGTH) fail('auth.invalid_token', 'oversized');
    if (!ignoreExpiration) {
      const known = fromVerified(token);
      if (known !== undefined) return known;
    }
    const segments = token.split('.');
    const [head, body, signature] = segments;
    if (
      segments.length !== 3 ||
      head === undefined ||
      body === undefined ||
      signature === undefined ||
      !BASE64URL.test(head) ||
      !BASE64URL.test(body)
    ) {
      fail('auth.invalid_token', 'malformed');
    }
    if (signature === '') fail('auth.invalid_token', 'missing_signature');
    const header = decodeObject(head);
    if (header === undefined) fail('auth.invalid_token', 'malformed');
    const { alg, kid, typ } = header;
    if (typeof alg !== 'string' || !allowedAlgorithms.has(alg)) {
      fail('auth.invalid_token', 'bad_algorithm');
    }
    if (typeof typ !== 'string' || !ACCESS_TYPES.has(typ.toLowerCase())) {
      fail('auth.invalid_token', 'wrong_type');
    }
    if (header.crit !== undefined) fail('auth.invalid_token', 'unsupported_header');
    if (typeof kid !== 'string') fail('auth.invalid_token', 'missing_kid');
    const key = keyRing.byKid.get(kid);
    if (key === undefined) fail('auth.invalid_token', 'unknown_kid');
    if (key.algorithm !== alg) fail('auth.invalid_token', 'algorithm_mismatch');
    const payload = decodeObject(body);
    if (payload === undefined) fail('auth.invalid_token', 'malformed');

    checkSignature(token, key);
    const claims = checkClaims(payload, ignoreExpiration);
    if (!ignoreExpiration) {
      const nbf = typeof claims.nbf === 'number' ? claims.nbf : undefined;
      verified.set(token, { claims: JSON.stringify(claims), exp: claims.exp, nbf });
    }
    return claims;
  }

  return { verify };
}
