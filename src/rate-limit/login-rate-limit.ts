import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { processUsernameKey, usernameDigest, usernameKeyFrom } from '../auth/username-hash.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';
import { ipKey } from './keys.js';
import { BASE_KEYS, checkBaseOptions, createLimiter, type LimiterBaseOptions } from './limiter.js';

export interface LoginRateLimitOptions extends LimiterBaseOptions {
  /** Attempts allowed per IP and username and window. @default 5 */
  limit?: number;
  /** @default 60000 */
  windowMs?: number;
  /** Body member holding the username (the body must be parsed first). @default 'username' */
  usernameField?: string;
  /**
   * Count only failed attempts (responses with a 4xx status; a 5xx checked no
   * password and is not counted), so a user who
   * logs in and out often is never locked out. Attempts are counted when they
   * start and given back when they succeed, so parallel guesses cannot slip
   * past the limit. @default true
   */
  skipSuccessfulRequests?: boolean;
  /** @default 'bulwark:rl-login:' */
  prefix?: string;
  /**
   * Failed attempts allowed per IP (IPv6 by `ipv6Subnet`) across all
   * usernames and `ipWindowMs`: one address trying one password on many
   * accounts (password spraying). `false` switches it off. @default 20
   */
  ipLimit?: number | false;
  /** Window of `ipLimit` in ms. @default 900000 (15 minutes) */
  ipWindowMs?: number;
  /**
   * Key of the HMAC-SHA-256 that turns usernames into store keys (at least 32
   * bytes; the same on every replica). `authRouter` passes one derived from
   * the token service's signing key. @default a random key per process
   */
  usernameKey?: string | Buffer;
}

const KNOWN: KnownKeys<LoginRateLimitOptions> = {
  ...BASE_KEYS,
  limit: true,
  usernameField: true,
  skipSuccessfulRequests: true,
  ipLimit: true,
  ipWindowMs: true,
  usernameKey: true,
};

/**
 * Only a refused guess counts: a 5xx (a full password queue, a store outage)
 * checked no password, and must not lock a real user out.
 */
function notAFailedGuess(_req: Request, res: Response): boolean {
  return res.statusCode < 400 || res.statusCode >= 500;
}

// Longer usernames are cut before hashing, bounding the work an attacker can ask for.
const MAX_USERNAME_LENGTH = 256;

/**
 * The username as the login route will most likely look it up: NFKC,
 * trimmed, lower-cased, capped, then hashed so it never becomes a store key
 * (or a Redis key) in clear.
 */
function usernameHash(key: Buffer, body: unknown, field: string): string {
  if (typeof body !== 'object' || body === null) return '-';
  const raw: unknown = (body as Record<string, unknown>)[field];
  if (typeof raw !== 'string') return '-';
  const normalized = raw.slice(0, MAX_USERNAME_LENGTH).normalize('NFKC').trim().toLowerCase();
  return normalized === '' ? '-' : usernameDigest(key, normalized).slice(0, 32);
}

/**
 * Brute-force protection for a login route: limits attempts per client IP
 * and username together (default 5 a minute), and failed attempts per IP
 * across every username (default 20 in 15 minutes, against password
 * spraying), counting only failures by default. Usernames become store keys
 * only as HMAC digests. Mount it after the body parser, on the login route
 * only.
 *
 * @param [options.limit=5]
 * @param [options.windowMs=60000]
 * @param [options.usernameField='username']
 * @param [options.skipSuccessfulRequests=true]
 * @param [options.store='memory']
 * @param [options.prefix='bulwark:rl-login:']
 * @param [options.ipLimit=20]
 * @param [options.ipWindowMs=900000]
 * @param [options.usernameKey=a random key per process]
 * @param [options.onStoreError='fail-closed']
 * @example app.post('/auth/login', express.json(), loginRateLimit({ store: redis }), login);
 */
export function loginRateLimit(options?: LoginRateLimitOptions): RouteAgnosticHandler {
  const check = new OptionChecker('loginRateLimit', options, KNOWN);
  const limit = check.number('limit', { min: 1, max: 1_000_000, integer: true, default: 5 });
  const field = check.string('usernameField', 'username', { nonEmpty: true, maxLength: 100 });
  const skipSuccessful = check.boolean('skipSuccessfulRequests', true);
  const ipLimit =
    check.raw('ipLimit') === false
      ? false
      : check.number('ipLimit', { min: 1, max: 1_000_000, integer: true, default: 20 });
  const ipWindowMs = check.number('ipWindowMs', {
    min: 1000,
    max: 2 ** 31 - 1,
    integer: true,
    default: 15 * 60_000,
  });
  let usernameKey: Buffer | undefined;
  if (check.has('usernameKey')) {
    const key = usernameKeyFrom(check.raw('usernameKey'));
    if (typeof key === 'string') check.problem(key);
    else usernameKey = key;
  }
  const base = checkBaseOptions(check, {
    windowMs: 60_000,
    prefix: 'bulwark:rl-login:',
    acceptsStore: true,
  });
  if (base.store.kind === 'store' && ipLimit !== false) {
    check.problem(
      '`store` is one store instance, but loginRateLimit runs two limiters (per IP and username, and per IP across usernames) with their own windows. Pass a Redis client, or set `ipLimit: false` and stack a second limiter with its own store.',
    );
  }
  check.done();
  if (usernameKey === undefined && base.store.kind !== 'memory') {
    warnOnce(
      'BULWARK_LOGIN_LIMIT_PROCESS_KEY',
      'loginRateLimit shares counts in Redis but has no `usernameKey`: each process hashes usernames with its own key, so per-username counts are per process. Pass the same `usernameKey` everywhere (authRouter derives one from the token service).',
    );
  }
  const key = usernameKey ?? processUsernameKey();

  const subnet = base.ipv6Subnet;
  const perUsername = createLimiter({
    name: 'loginRateLimit',
    limit,
    windowMs: base.windowMs,
    base,
    keyKind: 'ip+username',
    key: (req: Request) => `${ipKey(req, subnet)}|u:${usernameHash(key, req.body, field)}`,
    skipSuccessfulRequests: skipSuccessful,
    requestWasSuccessful: notAFailedGuess,
  });
  if (ipLimit === false) return perUsername;
  const perIp = createLimiter({
    name: 'loginRateLimit',
    limit: ipLimit,
    windowMs: ipWindowMs,
    base,
    keyKind: 'ip',
    key: (req: Request) => `${ipKey(req, subnet)}|all`,
    skipSuccessfulRequests: skipSuccessful,
    requestWasSuccessful: notAFailedGuess,
  });
  return function loginRateLimitMiddleware(req: Request, res: Response, next: NextFunction) {
    perIp(req, res, (error?: unknown) => {
      if (error !== undefined) {
        next(error);
        return;
      }
      perUsername(req, res, next);
    });
  };
}
