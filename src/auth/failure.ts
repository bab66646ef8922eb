import { BulwarkError, type BulwarkErrorCode } from '../errors.js';

/**
 * A `BulwarkError` from the auth services that also carries the short reason
 * reported on `auth.failed` events (`expired`, `unknown_kid`, ...). The reason
 * never contains the token or any part of it.
 */
export class AuthFailure extends BulwarkError {
  readonly reason: string;

  constructor(code: BulwarkErrorCode, reason: string, cause?: unknown) {
    super(code, cause === undefined ? {} : { cause });
    this.reason = reason;
  }
}

/** The event reason of an auth error, or a generic one for anything else. */
export function failureReason(error: unknown): string {
  return error instanceof AuthFailure ? error.reason : 'error';
}
