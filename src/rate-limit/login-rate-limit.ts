import type { Request, RequestHandler } from 'express';
import { sha256Hex } from '../internal/compare.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
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
   * Count only failed attempts (responses with status >= 400), so a user who
   * logs in and out often is never locked out. Attempts are counted when they
   * start and given back when they succeed, so parallel guesses cannot slip
   * past the limit. @default true
   */
  skipSuccessfulRequests?: boolean;
  /** @default 'bulwark:rl-login:' */
  prefix?: string;
}

const KNOWN: KnownKeys<LoginRateLimitOptions> = {
  ...BASE_KEYS,
  limit: true,
  usernameField: true,
  skipSuccessfulRequests: true,
};

// Longer usernames are cut before hashing, bounding the work an attacker can ask for.
const MAX_USERNAME_LENGTH = 256;

/**
 * The username as the login route will most likely look it up: NFKC,
 * trimmed, lower-cased, capped, then hashed so it never becomes a store key
 * (or a Redis key) in clear.
 */
function usernameHash(body: unknown, field: string): string {
  if (typeof body !== 'object' || body === null) return '-';
  const raw: unknown = (body as Record<string, unknown>)[field];
  if (typeof raw !== 'string') return '-';
  const normalized = raw.slice(0, MAX_USERNAME_LENGTH).normalize('NFKC').trim().toLowerCase();
  return normalized === '' ? '-' : sha256Hex(normalized).slice(0, 32);
}

/**
 * Brute-force protection for a login route: limits attempts per client IP
 * and username together (default 5 a minute), counting only failures by
 * default. Mount it after the body parser, on the login route only.
 *
 * @param [options.limit=5]
 * @param [options.windowMs=60000]
 * @param [options.usernameField='username']
 * @param [options.skipSuccessfulRequests=true]
 * @param [options.store='memory']
 * @param [options.prefix='bulwark:rl-login:']
 * @param [options.onStoreError='fail-closed']
 * @example app.post('/auth/login', express.json(), loginRateLimit({ store: redis }), login);
 */
export function loginRateLimit(options?: LoginRateLimitOptions): RequestHandler {
  const check = new OptionChecker('loginRateLimit', options, KNOWN);
  const limit = check.number('limit', { min: 1, max: 1_000_000, integer: true, default: 5 });
  const field = check.string('usernameField', 'username', { nonEmpty: true, maxLength: 100 });
  const skipSuccessful = check.boolean('skipSuccessfulRequests', true);
  const base = checkBaseOptions(check, { windowMs: 60_000, prefix: 'bulwark:rl-login:' });
  check.done();

  const subnet = base.ipv6Subnet;
  return createLimiter({
    name: 'loginRateLimit',
    limit,
    windowMs: base.windowMs,
    store: base.makeStore(),
    mode: base.mode,
    keyKind: 'ip+username',
    key: (req: Request) => `${ipKey(req, subnet)}|u:${usernameHash(req.body, field)}`,
    skip: base.skip,
    skipSuccessfulRequests: skipSuccessful,
  });
}
