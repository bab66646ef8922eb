import { BulwarkError, type BulwarkErrorCode } from '../errors.js';

/**
 * The `detail` of a refused token. Deliberately generic: which check failed
 * (signature, `kid`, audience, lifetime) stays in the `auth.failed` event's
 * reason, since telling the caller would guide a forger from one check to the next.
 */
const TOKEN_DETAILS: Partial<Record<BulwarkErrorCode, string>> = {
  'auth.invalid_token': 'The access token is not valid.',
  'auth.token_expired': 'The access token has expired.',
  'auth.token_revoked': 'The session has ended.',
};
const REFRESH_DETAIL = 'The refresh token is not valid.';
const REFRESH_REASONS: ReadonlySet<string> = new Set(['malformed_refresh', 'unknown_refresh']);
// A request that never presented a bearer token gets the RFC 6750 form instead.
const HEADER_DETAIL = 'Send one access token as `Authorization: Bearer <token>`.';
const HEADER_REASONS: ReadonlySet<string> = new Set([
  'duplicate_authorization',
  'malformed_authorization',
  'unsupported_scheme',
]);

/** The generic `detail` of a 401 with this code and event reason, if the code has one. */
export function authFailureDetail(code: BulwarkErrorCode, reason: string): string | undefined {
  if (code === 'auth.invalid_token') {
    if (REFRESH_REASONS.has(reason)) return REFRESH_DETAIL;
    if (HEADER_REASONS.has(reason)) return HEADER_DETAIL;
  }
  return TOKEN_DETAILS[code];
}

/**
 * A `BulwarkError` from the auth services that also carries the short reason
 * reported on `auth.failed` events (`expired`, `unknown_kid`, ...). The reason
 * never contains the token or any part of it.
 */
export class AuthFailure extends BulwarkError {
  readonly reason: string;

  constructor(code: BulwarkErrorCode, reason: string, cause?: unknown) {
    const detail = authFailureDetail(code, reason);
    super(code, {
      ...(detail === undefined ? {} : { detail }),
      ...(cause === undefined ? {} : { cause }),
    });
    this.reason = reason;
  }
}

/** The event reason of an auth error, or a generic one for anything else. */
export function failureReason(error: unknown): string {
  return error instanceof AuthFailure ? error.reason : 'error';
}
