import type { RouteAgnosticHandler } from '../handler.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { checkKeyBy, keyGenerator, type RateLimitKeyBy } from './keys.js';
import { BASE_KEYS, checkBaseOptions, createLimiter, type LimiterBaseOptions } from './limiter.js';

export interface RateLimitOptions extends LimiterBaseOptions {
  /** Requests allowed per key and window. @default 100 */
  limit?: number;
  /** @default 60000 */
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
const MAX_LIMIT = 1_000_000_000;

/**
 * Limits requests per client and window, counting in an express-rate-limit
 * `Store` (bulwark's bounded memory store, rate-limit-redis when `store` is a
 * Redis client, or a store you bring). Over the limit: 429
 * `rate_limit.exceeded` with `Retry-After` and IETF `RateLimit` /
 * `RateLimit-Policy` headers. Store outages follow `onStoreError`. Reads no
 * environment but `ENVIRONMENT` / `NODE_ENV`: `loadConfig()` reads
 * `RATE_LIMIT_*` and `hardened()` passes them in.
 *
 * @param [options.limit=100]
 * @param [options.windowMs=60000]
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
export function rateLimit(options?: RateLimitOptions): RouteAgnosticHandler {
  const check = new OptionChecker('rateLimit', options, KNOWN);
  const limit = check.number('limit', { min: 1, max: MAX_LIMIT, integer: true, default: 100 });
  const base = checkBaseOptions(check, {
    windowMs: 60_000,
    prefix: 'bulwark:rl:',
    acceptsStore: true,
  });
  const keyBy = checkKeyBy(check, 'ip');
  check.done();

  return createLimiter({
    name: 'rateLimit',
    limit,
    windowMs: base.windowMs,
    base,
    keyKind: typeof keyBy === 'function' ? 'function' : keyBy,
    key: keyGenerator(keyBy, base.ipv6Subnet),
    skipSuccessfulRequests: false,
  });
}
