import type { Request, Response } from 'express';
import { BulwarkError, isBulwarkError, type BulwarkErrorCode } from '../errors.js';
import { securityEvents } from '../events.js';
import type { OptionChecker } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';
import { authFailureDetail, failureReason } from './failure.js';

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
  const detail = authFailureDetail(code, reason);
  const headers = { 'WWW-Authenticate': challenge };
  sendProblem(
    res,
    new BulwarkError(code, detail === undefined ? { headers } : { detail, headers }),
  );
}

/** Both challenges of a realm, read and checked once in the factory. */
export function realmChallenges<T extends { realm?: string }>(
  check: OptionChecker<T>,
): { realm: string; missing: string; invalid: string } {
  const realm = check.string('realm', 'api', { pattern: REALM_PATTERN });
  return { realm, missing: bearerChallenge(realm, false), invalid: bearerChallenge(realm, true) };
}

/**
 * Answers an auth service's refusal: a 401 with the challenge, anything else
 * (a store outage) as its own problem, both reported as `auth.failed`.
 * Errors that are not bulwark's are rethrown for the error handler.
 */
export function rejectServiceError(
  req: Request,
  res: Response,
  error: unknown,
  challenge: string,
): void {
  if (!isBulwarkError(error)) throw error;
  if (error.status === 401) {
    rejectUnauthenticated(req, res, error.code, failureReason(error), challenge);
    return;
  }
  securityEvents.emit('auth.failed', req, { reason: failureReason(error) });
  sendProblem(res, error);
}
