import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { sha256Hex } from './compare.js';
import { clientIp } from './client-ip.js';

/** How a limiter tells clients apart. */
export type KeyBy = 'ip' | 'apiKey' | 'user' | ((req: Request) => string);

export const KEY_BY_NAMES = ['ip', 'apiKey', 'user'] as const;

// Keys a caller function returns may be long (emails, URLs); stores get a bounded key.
const MAX_PLAIN_KEY = 128;

function verifiedId(value: unknown, member: 'id' | 'sub'): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as Record<string, unknown>)[member];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/**
 * Compiles `keyBy` once. Every key is namespaced (`ip:`, `key:`, `user:`,
 * `fn:`) so a caller's value can never collide with another client's IP
 * bucket. `apiKey` and `user` read only identities a bulwark middleware has
 * verified (`req.apiKey.id`, `req.auth.sub`), never a raw header, and fall
 * back to the IP; IPv6 addresses are grouped by their /56 subnet, since one
 * subscriber usually holds a whole /56 or /64.
 */
export function compileKeyBy(keyBy: KeyBy, ipv6Subnet = 56): (req: Request) => string {
  const byIp = (req: Request): string => `ip:${ipKeyGenerator(clientIp(req), ipv6Subnet)}`;
  if (typeof keyBy === 'function') {
    return (req) => {
      const key = keyBy(req);
      if (typeof key !== 'string' || key === '') return byIp(req);
      return key.length > MAX_PLAIN_KEY ? `fn:#${sha256Hex(key)}` : `fn:${key}`;
    };
  }
  switch (keyBy) {
    case 'ip':
      return byIp;
    case 'apiKey':
      return (req) => {
        const id = verifiedId((req as { apiKey?: unknown }).apiKey, 'id');
        return id === undefined ? byIp(req) : `key:${id}`;
      };
    case 'user':
      return (req) => {
        const sub = verifiedId((req as { auth?: unknown }).auth, 'sub');
        return sub === undefined ? byIp(req) : `user:${sub}`;
      };
  }
}
