import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { clientIp } from '../internal/client-ip.js';
import { sha256Hex } from '../internal/compare.js';
import type { OptionChecker } from '../internal/options.js';
import { warnOnce } from '../internal/warn.js';

/** How a limiter groups requests into buckets. */
export type RateLimitKeyBy = 'ip' | 'apiKey' | 'user' | ((req: Request) => string);

const KEY_KINDS = ['ip', 'apiKey', 'user'] as const;

/** The `keyBy` option of a limiter, checked: a key kind or a function of the request. */
export function checkKeyBy<T extends { keyBy?: RateLimitKeyBy }>(
  check: OptionChecker<T>,
  fallback: (typeof KEY_KINDS)[number],
): RateLimitKeyBy {
  const raw = check.raw('keyBy');
  if (typeof raw === 'function') return raw as RateLimitKeyBy;
  return check.oneOf('keyBy', KEY_KINDS, fallback);
}

// Longer identifiers are hashed so no caller can make store keys arbitrarily large.
const MAX_PLAIN_ID = 128;

/**
 * `namespace:value`, or `namespace#sha256(value)` for long values. Every key
 * kind has its own namespace, so no identifier can land in another kind's bucket.
 */
function namespaced(namespace: string, value: string): string {
  return value.length <= MAX_PLAIN_ID
    ? `${namespace}:${value}`
    : `${namespace}#${sha256Hex(value)}`;
}

/** The client address as Express resolves it under `trust proxy`; IPv6 grouped by subnet. */
export function ipKey(req: Request, ipv6Subnet: number): string {
  return `ip:${groupIp(clientIp(req), ipv6Subnet)}`;
}

/**
 * express-rate-limit's `ipKeyGenerator`, called only for addresses that can be
 * IPv6: it returns any other address unchanged, after a costly IPv6 test.
 */
export function groupIp(ip: string, ipv6Subnet: number | false): string {
  return ip.includes(':') ? ipKeyGenerator(ip, ipv6Subnet) : ip;
}

// `req.apiKey` and `req.auth` are set by apiKeyAuth() and jwtAuth() once a credential is verified;
// they are read structurally so this module needs nothing from the auth module.
function verifiedId(value: unknown, member: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id: unknown = (value as Record<string, unknown>)[member];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Builds the key generator once, in the factory. */
export function keyGenerator(keyBy: RateLimitKeyBy, ipv6Subnet: number): (req: Request) => string {
  switch (keyBy) {
    case 'ip':
      return (req) => ipKey(req, ipv6Subnet);
    case 'apiKey':
      return (req) => {
        const id = verifiedId((req as { apiKey?: unknown }).apiKey, 'id');
        return id === undefined ? ipKey(req, ipv6Subnet) : namespaced('apikey', id);
      };
    case 'user':
      return (req) => {
        const sub = verifiedId((req as { auth?: unknown }).auth, 'sub');
        return sub === undefined ? ipKey(req, ipv6Subnet) : namespaced('user', sub);
      };
    default:
      return (req) => {
        const value: unknown = keyBy(req);
        if (typeof value === 'string') {
          return value === '' ? ipKey(req, ipv6Subnet) : namespaced('fn', value);
        }
        warnOnce(
          'BULWARK_RATE_LIMIT_KEY_INVALID',
          'A rate-limit `keyBy` function returned something other than a string; those requests are keyed by client IP.',
        );
        return ipKey(req, ipv6Subnet);
      };
  }
}
