import { isIP } from 'node:net';
import type { Request } from 'express';

/** A Host value split into a lowercase hostname (no trailing dot) and its port, if any. */
export interface ParsedHost {
  readonly hostname: string;
  /** The port as written, or `''` when the Host carried none. */
  readonly port: string;
  /** True for IPv4 and bracketed IPv6 literals. */
  readonly ip: boolean;
}

// A registered name (letters, digits, hyphens, dots) or a bracketed IPv6 literal, then an
// optional port. Anything else (userinfo `@`, paths, backslashes, spaces, `%`) is refused.
const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?$/;

/** Parses a Host header value strictly; `undefined` for anything that is not `host[:port]`. */
export function parseHost(value: string): ParsedHost | undefined {
  if (value.length === 0 || value.length > 260) return undefined;
  const match = HOST.exec(value.toLowerCase());
  if (match === null) return undefined;
  let hostname = match[1] ?? '';
  const port = match[2] ?? '';
  if (port !== '' && (Number(port) > 65535 || Number(port) === 0)) return undefined;
  if (hostname.startsWith('[')) {
    const inner = hostname.slice(1, -1);
    if (isIP(inner) !== 6) return undefined;
    return { hostname, port, ip: true };
  }
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  if (hostname === '' || hostname.startsWith('.') || hostname.includes('..')) return undefined;
  return { hostname, port, ip: isIP(hostname) !== 0 };
}

type TrustFunction = (address: string, hop: number) => boolean;

/** True when the app's `trust proxy` setting trusts the immediate peer. */
export function trustsProxy(req: Request): boolean {
  const trust: unknown = req.app.get('trust proxy fn');
  return typeof trust === 'function' && (trust as TrustFunction)(req.socket.remoteAddress ?? '', 0);
}

/**
 * The host the client asked for: `X-Forwarded-Host` only when the app trusts
 * the immediate proxy, else `Host`. A forwarded list (`a, b`, or two header
 * lines, which Node joins the same way) is returned whole, so `parseHost`
 * refuses it: a client can send its own value ahead of the one a proxy
 * appends, and Express would read the client's.
 */
export function requestedHost(req: Request): string {
  const forwarded = req.headers['x-forwarded-host'];
  if (typeof forwarded === 'string' && forwarded !== '' && trustsProxy(req)) {
    return forwarded.trim();
  }
  return req.headers.host ?? '';
}

// Requests whose host `trustedHosts()` accepted, so `httpsRedirect()` can warn when it
// builds a redirect from a host nothing checked. Always kept: one WeakSet insertion per
// request is far below 2% of a request (bench/README.md, "Devices").
const vettedRequests = new WeakSet<Request>();

/** Records that `trustedHosts()` checked this request's host. */
export function markVetted(req: Request): void {
  vettedRequests.add(req);
}

/** Whether `trustedHosts()` checked this request's host. */
export function isVetted(req: Request): boolean {
  return vettedRequests.has(req);
}
