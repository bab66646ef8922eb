import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { securityEvents } from '../events.js';
import { clientIp } from '../internal/client-ip.js';
import { sha256Hex } from '../internal/compare.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';
import { groupIp } from '../rate-limit/keys.js';
import { isRedisClient, type RedisClientLike } from '../stores/redis-client.js';
import { redisScript, runScript } from '../stores/redis-script.js';
import { SlidingWindowCounter, type WindowHit } from './sliding-window.js';

export interface SuspiciousActivityOptions {
  /** Requests in one sliding window that make a key suspicious. @default 1000 */
  threshold?: number;
  /** Length of the sliding window in ms (1 s – 7 days). @default 3_600_000 (one hour) */
  windowMs?: number;
  /**
   * What is counted: `'ip'` (IPv6 grouped by `ipv6Subnet`), or a function
   * returning a key; `undefined` or `''` leaves the request uncounted. Return
   * an id, never a raw credential: the key goes into the event.
   * @default 'ip'
   */
  keyBy?: 'ip' | ((req: Request) => string | undefined);
  /** Prefix length IPv6 clients are grouped by with `keyBy: 'ip'`; `false` for whole addresses. @default 56 */
  ipv6Subnet?: number | false;
  /** `'memory'`, or a Redis client shared by every replica. @default 'memory' */
  store?: 'memory' | RedisClientLike;
  /** Redis key prefix. @default 'bulwark:suspicious:' */
  prefix?: string;
  /** Most keys held in memory; the least recently seen is dropped beyond it. @default 100_000 */
  maxKeys?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

const KNOWN: KnownKeys<SuspiciousActivityOptions> = {
  threshold: true,
  windowMs: true,
  keyBy: true,
  ipv6Subnet: true,
  store: true,
  prefix: true,
  maxKeys: true,
  now: true,
};

// Longer custom keys are hashed, so a key function cannot make one entry large.
const MAX_KEY_LENGTH = 128;

/**
 * One round trip, atomic across replicas: roll the two fixed windows, count,
 * estimate, and mark the window reported the first time the threshold is met.
 */
const SCRIPT = redisScript(`
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local window = math.floor(now / windowMs)
local state = redis.call('HMGET', KEYS[1], 'w', 'c', 'p', 'r')
local w = tonumber(state[1])
local current = tonumber(state[2]) or 0
local previous = tonumber(state[3]) or 0
local reported = tonumber(state[4]) or -1
if w ~= window then
  if w == window - 1 then previous = current else previous = 0 end
  current = 0
end
current = current + 1
local estimate = previous * (1 - (now % windowMs) / windowMs) + current
local crossed = 0
if estimate >= threshold and reported ~= window then
  reported = window
  crossed = 1
end
redis.call('HSET', KEYS[1], 'w', window, 'c', current, 'p', previous, 'r', reported)
redis.call('PEXPIRE', KEYS[1], windowMs * 2)
return {crossed, math.floor(estimate)}
`);

function parseReply(reply: unknown): WindowHit {
  if (Array.isArray(reply) && typeof reply[0] === 'number' && typeof reply[1] === 'number') {
    return { crossed: reply[0] === 1, estimate: reply[1] };
  }
  throw new Error('unexpected reply from the suspicious-activity script');
}

/**
 * Watches request volume per client and emits one `suspicious.activity` event
 * per key per window once a key reaches `threshold` requests in a sliding
 * window. A detector, not a limiter: it never delays or rejects a request,
 * and a Redis outage only moves counting into memory until Redis is back.
 *
 * @param [options.threshold=1000]
 * @param [options.windowMs=3600000]
 * @param [options.keyBy='ip']
 * @param [options.store='memory']
 * @param [options.maxKeys=100000]
 * @example
 * app.use(suspiciousActivity({ threshold: 500, windowMs: 10 * 60_000 }));
 * securityEvents.on('suspicious.activity', (e) => alert(e.key, e.count));
 */
export function suspiciousActivity(options?: SuspiciousActivityOptions): RequestHandler {
  const check = new OptionChecker('suspiciousActivity', options, KNOWN);
  const threshold = check.number('threshold', {
    min: 1,
    max: 1e9,
    integer: true,
    default: 1000,
  });
  const windowMs = check.number('windowMs', {
    min: 1000,
    max: 7 * 24 * 3_600_000,
    integer: true,
    default: 3_600_000,
  });
  const maxKeys = check.number('maxKeys', {
    min: 1,
    max: 10_000_000,
    integer: true,
    default: 100_000,
  });
  const prefix = check.string('prefix', 'bulwark:suspicious:', { maxLength: 128 });
  const now = check.func<() => number>('now') ?? Date.now;
  let subnet: number | false = 56;
  if (check.raw('ipv6Subnet') === false) subnet = false;
  else subnet = check.number('ipv6Subnet', { min: 1, max: 128, integer: true, default: 56 });
  let keyOf: (req: Request) => string | undefined = (req) => groupIp(clientIp(req), subnet);
  const keyBy = check.raw('keyBy');
  if (typeof keyBy === 'function') {
    keyOf = keyBy as (req: Request) => string | undefined;
  } else if (keyBy !== undefined && keyBy !== 'ip') {
    check.problem("`keyBy` must be 'ip' or a function returning a key");
  }
  const store = check.raw('store');
  let redis: RedisClientLike | undefined;
  if (isRedisClient(store)) redis = store;
  else if (store !== undefined && store !== 'memory') {
    check.problem("`store` must be 'memory' or a Redis client from createRedisClient()");
  }
  check.done();

  // Also the fallback while Redis is unreachable.
  const memory = new SlidingWindowCounter(windowMs, threshold, maxKeys);
  let outage = false;

  function report(req: Request, key: string, hit: WindowHit): void {
    if (!hit.crossed) return;
    securityEvents.emit('suspicious.activity', req, {
      reason: 'request_volume',
      key,
      count: Math.floor(hit.estimate),
      threshold,
      windowMs,
    });
  }

  function countInMemory(req: Request, key: string, at: number): void {
    report(req, key, memory.hit(key, at));
  }

  async function countInRedis(client: RedisClientLike, req: Request, key: string, at: number) {
    const args = [String(at), String(windowMs), String(threshold)];
    try {
      const hit = parseReply(await runScript(client, SCRIPT, [prefix + key], args));
      outage = false;
      report(req, key, hit);
    } catch (error) {
      if (!outage) {
        outage = true;
        securityEvents.emit('rate_limit.store_error', req, {
          reason: 'redis_command_failed',
          store: 'redis',
          component: 'suspiciousActivity',
          error: error instanceof Error ? error.message : String(error),
        });
      }
      countInMemory(req, key, at);
    }
  }

  return function suspiciousActivityMiddleware(
    req: Request,
    _res: Response,
    next: NextFunction,
  ): void {
    let key: string | undefined;
    try {
      key = keyOf(req);
    } catch {
      warnOnce(
        'BULWARK_SUSPICIOUS_KEYBY_THREW',
        'suspiciousActivity: the keyBy function threw; those requests are not counted.',
      );
    }
    if (typeof key === 'string' && key !== '') {
      if (key.length > MAX_KEY_LENGTH) key = `sha256:${sha256Hex(key)}`;
      const at = now();
      if (redis === undefined) countInMemory(req, key, at);
      else void countInRedis(redis, req, key, at);
    }
    next();
  };
}
