import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { BulwarkConfigError, BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { sendProblem } from '../internal/problem.js';
import { bearerChallenge, rejectUnauthenticated } from './challenge.js';

const NAME = /^[\x21-\x7e]{1,128}$/;

function names(scope: string, given: readonly unknown[]): string[] {
  const problems: string[] = [];
  if (given.length === 0) problems.push('name at least one');
  given.forEach((value, i) => {
    if (typeof value !== 'string' || !NAME.test(value)) {
      problems.push(`argument ${String(i)} must be 1-128 visible ASCII characters without spaces`);
    }
  });
  if (problems.length > 0) throw new BulwarkConfigError(scope, problems);
  return given as string[];
}

function deny(req: Request, res: Response, reason: string, required: readonly string[]): void {
  securityEvents.emit('authz.denied', req, {
    reason,
    required,
    sub: req.auth?.sub,
    keyId: req.apiKey?.id,
  });
  // The requirement is the route's, not the caller's input: naming it tells the
  // client which credential to ask for.
  const detail =
    reason === 'missing_role'
      ? `Requires one of the roles: ${required.join(', ')}.`
      : `Requires the scopes: ${required.join(', ')}.`;
  sendProblem(res, new BulwarkError('auth.forbidden', { detail }));
}

const MISSING = bearerChallenge('api', false);

/**
 * Lets a request through when `req.auth.roles` holds ANY of `roles`; else 403
 * `auth.forbidden` and an `authz.denied` event. Mount after `jwtAuth()`; without
 * `req.auth` it answers 401 (an API key carries scopes, not roles).
 *
 * @example app.get('/admin', jwtAuth({ tokens }), requireRole('admin'), handler);
 */
export function requireRole(...roles: string[]): RouteAgnosticHandler {
  const wanted = names('requireRole', roles);
  return function requireRoleMiddleware(req: Request, res: Response, next: NextFunction): void {
    const auth = req.auth;
    if (auth === undefined) {
      rejectUnauthenticated(req, res, 'auth.missing_credentials', 'missing_credentials', MISSING);
      return;
    }
    if (!wanted.some((role) => auth.roles.includes(role))) {
      deny(req, res, 'missing_role', wanted);
      return;
    }
    next();
  };
}

/** The scopes of a request: an API key's, else the token's `scopes` array or space-separated `scope` claim (RFC 8693 §4.2). */
function grantedScopes(req: Request): readonly string[] | undefined {
  if (req.apiKey !== undefined) return req.apiKey.scopes;
  const auth = req.auth;
  if (auth === undefined) return undefined;
  const { scopes, scope } = auth;
  if (Array.isArray(scopes)) return scopes.filter((s): s is string => typeof s === 'string');
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  return [];
}

/**
 * Lets a request through when it holds ALL of `scopes`: from `req.apiKey.scopes`
 * when an API key authenticated it, else from the access token's `scopes` (array)
 * or `scope` (space-separated) claim. Otherwise 403 `auth.forbidden` and an
 * `authz.denied` event; 401 when the request is not authenticated at all.
 *
 * @example app.post('/v1/complete', apiKeyAuth({ keys }), requireScope('complete'), handler);
 */
export function requireScope(...scopes: string[]): RouteAgnosticHandler {
  const wanted = names('requireScope', scopes);
  return function requireScopeMiddleware(req: Request, res: Response, next: NextFunction): void {
    const granted = grantedScopes(req);
    if (granted === undefined) {
      rejectUnauthenticated(req, res, 'auth.missing_credentials', 'missing_credentials', MISSING);
      return;
    }
    if (!wanted.every((scope) => granted.includes(scope))) {
      deny(req, res, 'missing_scope', wanted);
      return;
    }
    next();
  };
}
