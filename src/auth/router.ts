import { Router } from 'express';
import type { Request, RequestHandler, Response } from 'express';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { asyncMiddleware } from '../internal/async.js';
import { sha256Hex } from '../internal/compare.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';
import { loginRateLimit } from '../rate-limit/login-rate-limit.js';
import { bodyAlreadyRead, bodyLimits } from '../request/body-limits.js';
import { validate } from '../validation/validate.js';
import { realmChallenges, rejectServiceError, rejectUnauthenticated } from './challenge.js';
import { jwtAuth } from './jwt-auth.js';
import { hashPassword, passwordNeedsRehash, verifyPasswordOrDummy } from './passwords.js';
import type { TokenPair, TokenService } from './tokens.js';

/** A user as the login routes need it. */
export interface UserRecord {
  /** Becomes the access token's `sub`. */
  id: string;
  username: string;
  /** A bcrypt hash from `hashPassword()`. */
  passwordHash: string;
  /** Become the access token's `roles`. */
  roles: readonly string[];
}

/** How `authRouter()` reads (and, for rehashing, writes) your users. */
export interface UserAdapter {
  /** The user with this username, or undefined (null too). Receives the username exactly as sent. */
  findByUsername(username: string): Promise<UserRecord | null | undefined>;
  /** The user with this id, or undefined (null too); called on every refresh. */
  findById(id: string): Promise<UserRecord | null | undefined>;
  /** Stores a new hash after a login whose hash used another cost; without it, no rehash happens. */
  updatePasswordHash?(id: string, passwordHash: string): Promise<void>;
}

export interface AuthRouterOptions {
  /** The service from `createTokenService()`. */
  tokens: TokenService;
  /** Where users are found. */
  users: UserAdapter;
  /**
   * Brute-force limiter mounted on `/login` after the body is parsed.
   * A handler replaces the default; `false` removes it (only when something
   * in front of the router already limits logins).
   * @default loginRateLimit(): 5 failed attempts a minute per IP and username, in memory
   */
  loginLimiter?: RequestHandler | false;
  /** bcrypt cost your password hashes use (10-15): the cost of the dummy compare for unknown users, and the target of rehashing. @default 12 */
  passwordHashCost?: number;
  /** `realm` of the `WWW-Authenticate` challenges. @default 'api' */
  realm?: string;
}

const KNOWN: KnownKeys<AuthRouterOptions> = {
  tokens: true,
  users: true,
  loginLimiter: true,
  passwordHashCost: true,
  realm: true,
};

const TOKEN_METHODS = ['issue', 'refresh', 'revoke', 'verifyAccess'] as const;
const USER_METHODS = ['findByUsername', 'findById'] as const;

/** Bodies of these routes are a few hundred bytes; nothing longer has a reason to be read. */
const MAX_BODY_BYTES = 4096;
/**
 * Longer than any password bcrypt can check (72 UTF-8 bytes), so an
 * over-long password is answered like a wrong one, not as a malformed body.
 */
const MAX_PASSWORD_LENGTH = 1024;
const MAX_USERNAME_LENGTH = 256;
// Refresh tokens are 43 characters; the service itself refuses every other shape with a 401.
const MAX_REFRESH_TOKEN_LENGTH = 512;

const loginBody = z.strictObject({
  username: z.string().min(1).max(MAX_USERNAME_LENGTH),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
});
const refreshBody = z.strictObject({
  refresh_token: z.string().min(1).max(MAX_REFRESH_TOKEN_LENGTH),
});
const logoutBody = z
  .strictObject({ refresh_token: z.string().min(1).max(MAX_REFRESH_TOKEN_LENGTH).optional() })
  .optional();

type LoginBody = z.output<typeof loginBody>;
type RefreshBody = z.output<typeof refreshBody>;
type LogoutBody = z.output<typeof logoutBody>;

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

// The caller names the type it expects; only the methods can be checked at run time.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function hasMethods<T>(value: unknown, methods: readonly string[]): value is T {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((role) => right.has(role));
}

/** The adapter's answer: a checked record, or undefined for no user. */
function userRecord(method: string, user: UserRecord | null | undefined): UserRecord | undefined {
  if (user === undefined || user === null) return undefined;
  // A record the adapter got wrong is a programming error (a 500), never a login.
  if (
    typeof user !== 'object' ||
    typeof user.id !== 'string' ||
    typeof user.passwordHash !== 'string' ||
    !isStringArray(user.roles)
  ) {
    throw new TypeError(
      `authRouter: users.${method}() must resolve to { id: string, passwordHash: string, roles: string[] } or undefined`,
    );
  }
  return user;
}

function sendTokens(res: Response, pair: TokenPair): void {
  // RFC 6749 §5.1: token responses must not be cached by browsers or proxies.
  res.setHeader('Cache-Control', 'no-store');
  res.status(200).json(pair);
}

/**
 * POST `/login`, `/refresh` and `/logout` for people, on a token service and
 * your user store. Mount it where the routes belong:
 * `app.use('/auth', authRouter({ tokens, users }))`.
 *
 * - `/login` `{username, password}` → 200 token pair, or 401
 *   `auth.invalid_credentials`. An unknown user costs one bcrypt compare against
 *   a dummy hash, like a wrong password, so timing does not reveal which
 *   usernames exist. Brute force meets `loginLimiter` (429 after 5 failures a
 *   minute per IP and username). A hash made with another cost is replaced after
 *   a successful login when the adapter has `updatePasswordHash`.
 * - `/refresh` `{refresh_token}` → 200 new pair (the old token is spent), or
 *   401 with the service's code; `auth.token_revoked` when the user no longer
 *   exists or their roles changed since login (they log in again).
 * - `/logout` with `Authorization: Bearer <access token>` and optional
 *   `{refresh_token}` → 204; both tokens are refused from then on.
 *
 * The router parses its own JSON bodies (at most 4 KiB) unless the app already
 * did, and validates them strictly: unknown keys, non-strings and over-long
 * values are 400 `validation.failed`.
 *
 * @param options.tokens a `createTokenService()` service
 * @param options.users the user adapter
 * @param [options.loginLimiter=loginRateLimit()]
 * @param [options.passwordHashCost=12]
 * @param [options.realm='api']
 * @example app.use('/auth', authRouter({ tokens, users: { findByUsername, findById } }));
 */
export function authRouter(options: AuthRouterOptions): Router {
  const check = new OptionChecker('authRouter', options, KNOWN);
  const tokens = check.raw('tokens');
  if (!hasMethods<TokenService>(tokens, TOKEN_METHODS)) {
    check.problem('`tokens` must be a token service from createTokenService()');
  }
  const users = check.raw('users');
  if (!hasMethods<UserAdapter>(users, USER_METHODS)) {
    check.problem('`users` must be an object with findByUsername(username) and findById(id)');
  } else if (
    users.updatePasswordHash !== undefined &&
    typeof users.updatePasswordHash !== 'function'
  ) {
    check.problem('`users.updatePasswordHash` must be a function when given');
  }
  const limiterGiven = check.raw('loginLimiter');
  if (limiterGiven !== undefined && limiterGiven !== false && typeof limiterGiven !== 'function') {
    check.problem('`loginLimiter` must be a middleware function, or false to switch it off');
  }
  const cost = check.number('passwordHashCost', { min: 10, max: 15, integer: true, default: 12 });
  const { realm, missing: noCredentials, invalid: invalidToken } = realmChallenges(check);
  check.done();
  const service = tokens as TokenService;
  const adapter = users as UserAdapter;
  const costOption = { cost };

  const limiter =
    limiterGiven === false
      ? undefined
      : ((limiterGiven as RequestHandler | undefined) ?? loginRateLimit());
  const limits = bodyLimits({ maxBytes: MAX_BODY_BYTES, maxDepth: 4 });
  // An app-level parser (express.json(), bodyLimits()) has already read and checked the body.
  const parseBody: RequestHandler = function authRouterBodyMiddleware(req, res, next) {
    if (bodyAlreadyRead(req)) {
      next();
      return;
    }
    limits(req, res, next);
  };

  const refuse = (req: Request, res: Response, error: unknown): void => {
    rejectServiceError(req, res, error, invalidToken);
  };

  async function rehash(user: UserRecord, password: string): Promise<void> {
    if (
      adapter.updatePasswordHash === undefined ||
      !passwordNeedsRehash(user.passwordHash, costOption)
    ) {
      return;
    }
    try {
      await adapter.updatePasswordHash(user.id, await hashPassword(password, costOption));
    } catch {
      // The login itself succeeded; the old hash still works and the next login tries again.
      warnOnce(
        'BULWARK_PASSWORD_REHASH_FAILED',
        'authRouter: users.updatePasswordHash() failed; the user logged in with the old hash.',
      );
    }
  }

  const login = asyncMiddleware(
    'authRouterLoginMiddleware',
    async (req: Request, res: Response): Promise<void> => {
      const { username, password } = req.body as LoginBody;
      const user = userRecord('findByUsername', await adapter.findByUsername(username));
      // Always one bcrypt compare: against a dummy hash when the user does not exist.
      const ok = await verifyPasswordOrDummy(password, user?.passwordHash, costOption);
      if (!ok || user === undefined) {
        rejectUnauthenticated(
          req,
          res,
          'auth.invalid_credentials',
          user === undefined ? 'unknown_user' : 'wrong_password',
          noCredentials,
          // People type passwords into the username field: only a digest reaches the logs.
          user === undefined
            ? { usernameHash: sha256Hex(username).slice(0, 16) }
            : { sub: user.id },
        );
        return;
      }
      await rehash(user, password);
      let pair: TokenPair;
      try {
        pair = await service.issue({ sub: user.id, roles: user.roles });
      } catch (error) {
        refuse(req, res, error);
        return;
      }
      sendTokens(res, pair);
    },
  );

  const refresh = asyncMiddleware(
    'authRouterRefreshMiddleware',
    async (req: Request, res: Response): Promise<void> => {
      const { refresh_token: refreshToken } = req.body as RefreshBody;
      let pair: TokenPair;
      try {
        pair = await service.refresh(refreshToken, req);
      } catch (error) {
        refuse(req, res, error);
        return;
      }
      // The access token was signed a moment ago by the service itself; reading it needs no verification.
      const claims = jwt.decode(pair.access_token, { json: true });
      const sub = claims?.sub;
      const roles: unknown = claims?.roles;
      const user =
        typeof sub === 'string' ? userRecord('findById', await adapter.findById(sub)) : undefined;
      const reason =
        user === undefined
          ? 'user_not_found'
          : !isStringArray(roles) || !sameRoles(roles, user.roles)
            ? 'roles_changed'
            : undefined;
      if (reason !== undefined) {
        // A deleted or re-roled user keeps no session minted from stale claims.
        try {
          await service.revoke(pair.access_token, pair.refresh_token);
        } catch (error) {
          refuse(req, res, error);
          return;
        }
        rejectUnauthenticated(req, res, 'auth.token_revoked', reason, invalidToken, { sub });
        return;
      }
      sendTokens(res, pair);
    },
  );

  const logout = asyncMiddleware(
    'authRouterLogoutMiddleware',
    async (req: Request, res: Response): Promise<void> => {
      // jwtAuth() accepted the header as `<scheme> <token>` with a six-letter scheme and one space.
      const accessToken = (req.headers.authorization ?? '').slice('Bearer '.length);
      const body = req.body as LogoutBody;
      try {
        await service.revoke(accessToken, body?.refresh_token, req);
      } catch (error) {
        refuse(req, res, error);
        return;
      }
      res.setHeader('Cache-Control', 'no-store');
      res.status(204).end();
    },
  );

  const router = Router();
  const loginChain: RequestHandler[] = [parseBody];
  if (limiter !== undefined) loginChain.push(limiter);
  router.post('/login', ...loginChain, validate({ body: loginBody }) as RequestHandler, login);
  router.post('/refresh', parseBody, validate({ body: refreshBody }) as RequestHandler, refresh);
  router.post(
    '/logout',
    jwtAuth({ tokens: service, realm }),
    parseBody,
    validate({ body: logoutBody }) as RequestHandler,
    logout,
  );
  return router;
}
