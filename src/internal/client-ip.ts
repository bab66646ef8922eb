import { isIPv4 } from 'node:net';
import type { Request } from 'express';

/** `::ffff:1.2.3.4` is the IPv4 client 1.2.3.4; treat it as such everywhere. */
export function normalizeIp(ip: string): string {
  if (ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:') {
    const v4 = ip.slice(7);
    if (isIPv4(v4)) return v4;
  }
  return ip;
}

/**
 * The client address as Express resolves it under the app's `trust proxy`
 * setting; never read from a header directly.
 */
export function clientIp(req: Request): string {
  return normalizeIp(req.ip ?? req.socket.remoteAddress ?? '');
}
