import type { RouteAgnosticHandler } from '../handler.js';
import { asyncMiddleware } from '../internal/async.js';
import { isRepeated } from '../internal/headers.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { realmChallenges, rejectServiceError, rejectUnauthenticated } from './challenge.js';
import type { AccessClaims, TokenService } from './tokens.js';

export interface JwtAuthOptions {
  /** The service from `createTokenService()`. */
  tokens: TokenService;
  /** Answer 401 when no `Authorization` header is sent; `false` lets such requests through without `req.auth`. @default true */
  credentialsRequired?: boolean;
  /** `realm` of the `WWW-Authenticate` challenge. @default 'api' */
  realm?: string;
}

const KNOWN: KnownKeys<JwtAuthOptions> = { tokens: true, credentialsRequired: true, realm: true };

// RFC 6750 §2.1: the scheme (any casing), exactly one space, one token68.
const BEARER = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i;
const API_KEY_PREFIX = 'bwk_';

/**
 * Authenticates `Authorization: Bearer <access token>` and sets `req.auth` to
 * the verified claims. Only that header is read: never a query string, body or
 * cookie. Any other scheme, a second token, odd spacing or a refused token is a
 * 401 problem with an RFC 6750 challenge and an `auth.failed` event naming the
 * reason (never the token). A `Bearer bwk_...` API key is left to `apiKeyAuth()`
 * when credentials are optional, and refused when they are required.
 *
 * @param options.tokens a `createTokenService()` service
 * @param [options.credentialsRequired=true]
 * @param [options.realm='api']
 * @example app.get('/me', jwtAuth({ tokens }), (req, res) => res.json({ sub: req.auth?.sub }));
 */
export function jwtAuth(options: JwtAuthOptions): RouteAgnosticHandler {
  const check = new OptionChecker('jwtAuth', options, KNOWN);
  const tokens = check.raw('tokens') as TokenService | undefined;
  if (typeof tokens?.verifyAccess !== 'function') {
    check.problem('`tokens` must be a token service from createTokenService()');
  }
  const required = check.boolean('credentialsRequired', true);
  const { missing, invalid } = realmChallenges(check);
  const { service } = check.done({ service: tokens });

  return asyncMiddleware('jwtAuthMiddleware', async (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined || header === '') {
      if (!required) {
        next();
        return;
      }
      rejectUnauthenticated(req, res, 'auth.missing_credentials', 'missing_credentials', missing);
      return;
    }
    // Node keeps the first of two Authorization lines; which one a proxy used is unknown.
    if (isRepeated(req, 'authorization')) {
      rejectUnauthenticated(req, res, 'auth.invalid_token', 'duplicate_authorization', invalid);
      return;
    }
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      const reason = /^bearer\b/i.test(header) ? 'malformed_authorization' : 'unsupported_scheme';
      rejectUnauthenticated(req, res, 'auth.invalid_token', reason, invalid);
      return;
    }
    if (token.startsWith(API_KEY_PREFIX)) {
      if (!required) {
        next();
        return;
      }
      rejectUnauthenticated(req, res, 'auth.invalid_token', 'api_key_not_accepted', invalid);
      return;
    }
    let claims: AccessClaims;
    try {
      claims = await service.verifyAccess(token);
    } catch (error) {
      rejectServiceError(req, res, error, invalid);
      return;
    }
    req.auth = claims;
    next();
  });
}
