import type { Request, Response } from 'express';
import { BulwarkError, type BulwarkErrorCode } from '../errors.js';
import { securityEvents } from '../events.js';
import { sendProblem } from '../internal/problem.js';

// RFC 7235 quoted-string content without quotes or backslashes, so it needs no escaping.
export const REALM_PATTERN = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

/**
 * The RFC 6750 challenge: `error="invalid_token"` when a token was presented
 * and refused, none when credentials were missing (§3.1).
 */
export function bearerChallenge(realm: string, invalidToken: boolean): string {
  return invalidToken
    ? `Bearer realm="${realm}", error="invalid_token"`
    : `Bearer realm="${realm}"`;
}

/** Answers 401 with the challenge and reports `auth.failed`; the token itself is never logged. */
export function rejectUnauthenticated(
  req: Request,
  res: Response,
  code: BulwarkErrorCode,
  reason: string,
  challenge: string,
  fields: Record<string, unknown> = {},
): void {
  securityEvents.emit('auth.failed', req, { ...fields, reason });
  sendProblem(res, new BulwarkError(code, { headers: { 'WWW-Authenticate': challenge } }));
}
