import type { RequestHandler } from 'express';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { keyGenerator, type RateLimitKeyBy } from './keys.js';
import {
  BASE_KEYS,
  checkBaseOptions,
  createLimiter,
  integerSetting,
  type LimiterBaseOptions,
} from './limiter.js';

export interface RateLimitOptions extends LimiterBaseOptions {
  /** Requests allowed per key and window. @default RATE_LIMIT_REQUESTS_PER_MINUTE, else 100 */
  limit?: number;
  /** @default RATE_LIMIT_WINDOW_SECONDS × 1000, else 60000 */
  windowMs?: number;
  /**
   * What a bucket is: `'ip'` (IPv6 grouped by /56), `'apiKey'` (the verified
   * `req.apiKey.id`, else the IP), `'user'` (the verified `req.auth.sub`, else
   * the IP), or a function of the request. @default 'ip'
   */
  keyBy?: RateLimitKeyBy;
  /** @default 'bulwark:rl:' */
  prefix?: string;
}

const KNOWN: KnownKeys<RateLimitOptions> = { ...BASE_KEYS, limit: true, keyBy: true };
const KEY_KINDS = ['ip', 'apiKey', 'user'] as const;
const MAX_LIMIT = 1_000_000_000;
const MAX_WINDOW_SECONDS = 2_147_483;

/**
 * Limits requests per client and window (express-rate-limit underneath, with
 * rate-limit-redis when `store` is a Redis client). Over the limit: 429
 * `rate_limit.exceeded` with `Retry-After` and IETF `RateLimit` /
 * `RateLimit-Policy` headers. Store outages follow `onStoreError`.
 *
 * @param [options.limit=RATE_LIMIT_REQUESTS_PER_MINUTE ?? 100]
 * @param [options.windowMs=RATE_LIMIT_WINDOW_SECONDS * 1000 ?? 60000]
 * @param [options.keyBy='ip']
 * @param [options.store='memory']
 * @param [options.prefix='bulwark:rl:']
 * @param [options.onStoreError='fail-closed']
 * @param [options.ipv6Subnet=56]
 * @param [options.maxKeys=100000]
 * @example
 * const redis = createRedisClient(process.env.REDIS_URL);
 * app.use('/v1', apiKeyAuth({ keys }), rateLimit({ keyBy: 'apiKey', store: redis }));
 */
export function rateLimit(options?: RateLimitOptions): RequestHandler {
  const check = new OptionChecker('rateLimit', options, KNOWN);
  const envLimit = check.has('limit')
    ? undefined
    : integerSetting(check, 'RATE_LIMIT_REQUESTS_PER_MINUTE', { min: 1, max: MAX_LIMIT });
  const envWindow = check.has('windowMs')
    ? undefined
    : integerSetting(check, 'RATE_LIMIT_WINDOW_SECONDS', { min: 1, max: MAX_WINDOW_SECONDS });
  const limit = check.number('limit', {
    min: 1,
    max: MAX_LIMIT,
    integer: true,
    default: envLimit ?? 100,
  });
  const base = checkBaseOptions(check, {
    windowMs: envWindow === undefined ? 60_000 : envWindow * 1000,
    prefix: 'bulwark:rl:',
  });
  const rawKeyBy = check.raw('keyBy');
  let keyBy: RateLimitKeyBy = 'ip';
  if (typeof rawKeyBy === 'function') keyBy = rawKeyBy as RateLimitKeyBy;
  else if (rawKeyBy !== undefined) keyBy = check.oneOf('keyBy', KEY_KINDS, 'ip');
  check.done();

  return createLimiter({
    name: 'rateLimit',
    limit,
    windowMs: base.windowMs,
    store: base.makeStore(),
    mode: base.mode,
    keyKind: typeof keyBy === 'function' ? 'function' : keyBy,
    key: keyGenerator(keyBy, base.ipv6Subnet),
    skip: base.skip,
    skipSuccessfulRequests: false,
  });
}
