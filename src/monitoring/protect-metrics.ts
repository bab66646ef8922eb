import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { RouteAgnosticHandler } from '../handler.js';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { clientIp } from '../internal/client-ip.js';
import { safeEqual } from '../internal/compare.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';

export interface MetricsCredentials {
  /** No `:` (RFC 7617), not empty. */
  username: string;
  /** At least 16 characters. */
  password: string;
}

export interface ProtectMetricsOptions {
  /** HTTP Basic credentials the scraper must present. */
  basicAuth?: MetricsCredentials;
  /**
   * Addresses or CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`)
   * the scraper may connect from, as Express resolves the client under
   * `trust proxy`. IPv4-mapped IPv6 clients match IPv4 rules.
   */
  allowIps?: readonly string[];
  /** Realm in `WWW-Authenticate`. @default 'metrics' */
  realm?: string;
}

const KNOWN: KnownKeys<ProtectMetricsOptions> = { basicAuth: true, allowIps: true, realm: true };
const CREDENTIAL_KEYS = new Set(['username', 'password']);
const MIN_PASSWORD_LENGTH = 16;
// A Basic header for credentials we would accept is far shorter; longer ones are not decoded.
const MAX_AUTHORIZATION_LENGTH = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;
const REALM = /^[\x20-\x7e]{1,64}$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** One entry of an address allowlist, parsed. */
export interface AddressRule {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  /** Prefix length of a CIDR range; `undefined` for a single address. */
  readonly prefix: number | undefined;
}

/**
 * Parses one address or CIDR entry, or says why it is refused (a phrase that
 * follows the entry). The one rule for the CIDR format: `protectMetrics()` and
 * `loadConfig()` (for `METRICS_ALLOW_IPS`) both call it.
 */
export function parseAddressRule(entry: string): AddressRule | { readonly problem: string } {
  const [address = '', prefix, extra] = entry.trim().split('/');
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (family === undefined || address.includes('%') || extra !== undefined) {
    return { problem: 'is not an IP address or CIDR range' };
  }
  if (prefix === undefined) return { address, family, prefix: undefined };
  const bits = PREFIX.test(prefix) ? Number(prefix) : Number.NaN;
  const max = family === 'ipv4' ? 32 : 128;
  if (!(bits >= 0 && bits <= max)) {
    return { problem: `has a prefix length outside 0-${String(max)}` };
  }
  if (bits === 0) {
    return { problem: 'allows every address; use basicAuth instead of an open allowlist' };
  }
  return { address, family, prefix: bits };
}

/** Adds one address or CIDR to the list, or says why it is refused (the entry is config, safe to show). */
function addRule(list: BlockList, entry: unknown, index: number): string | undefined {
  const where = `\`allowIps[${String(index)}]\``;
  if (typeof entry !== 'string') return `${where} must be a string, got ${describe(entry)}`;
  const rule = parseAddressRule(entry);
  if ('problem' in rule) return `${where} '${entry}' ${rule.problem}`;
  if (rule.prefix === undefined) list.addAddress(rule.address, rule.family);
  else list.addSubnet(rule.address, rule.prefix, rule.family);
  return undefined;
}

/** `Basic <base64(user:pass)>` to its two parts, or `undefined` when malformed. */
function parseBasic(
  header: string | undefined,
): { username: string; password: string } | undefined {
  if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  const match = /^basic +(\S+) *$/i.exec(header);
  const encoded = match?.[1];
  if (encoded === undefined || encoded.length % 4 !== 0 || !BASE64.test(encoded)) return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Guards a metrics endpoint with HTTP Basic credentials, an address
 * allowlist, or both (both must pass). An open configuration is refused.
 * Mount before `securityMetrics()`; put the scraper's credentials in
 * `METRICS_USERNAME` / `METRICS_PASSWORD`.
 *
 * @param [options.basicAuth] `{username, password}` compared in constant time
 * @param [options.allowIps] addresses and CIDR ranges, matched against `req.ip`
 * @param [options.realm='metrics']
 * @example
 * app.get('/metrics', protectMetrics({ basicAuth: { username, password }, allowIps: ['10.0.0.0/8'] }), securityMetrics());
 */
export function protectMetrics(options: ProtectMetricsOptions): RouteAgnosticHandler {
  const check = new OptionChecker('protectMetrics', options, KNOWN);
  const realm = check.string('realm', 'metrics', { pattern: REALM });
  if (realm.includes('"') || realm.includes('\\')) check.problem('`realm` must not contain quotes');

  let credentials: MetricsCredentials | undefined;
  const basicAuth = check.raw('basicAuth');
  if (basicAuth !== undefined) {
    if (typeof basicAuth !== 'object' || basicAuth === null || Array.isArray(basicAuth)) {
      check.problem(`\`basicAuth\` must be {username, password}, got ${describe(basicAuth)}`);
    } else {
      const { username, password } = basicAuth as Partial<Record<string, unknown>>;
      for (const key of Object.keys(basicAuth)) {
        if (!CREDENTIAL_KEYS.has(key)) check.problem(`unknown option \`basicAuth.${key}\``);
      }
      if (typeof username !== 'string' || username === '' || username.includes(':')) {
        check.problem('`basicAuth.username` must be a non-empty string without `:`');
      }
      if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) {
        check.problem(
          `\`basicAuth.password\` must be a string of at least ${String(MIN_PASSWORD_LENGTH)} characters`,
        );
      }
      if (typeof username === 'string' && typeof password === 'string') {
        credentials = { username, password };
      }
    }
  }

  let allowList: BlockList | undefined;
  const allowIps = check.raw('allowIps');
  if (allowIps !== undefined) {
    if (!Array.isArray(allowIps) || allowIps.length === 0) {
      check.problem('`allowIps` must be a non-empty array of addresses or CIDR ranges');
    } else {
      allowList = new BlockList();
      const list = allowList;
      allowIps.forEach((rule: unknown, i) => {
        const problem = addRule(list, rule, i);
        if (problem !== undefined) check.problem(problem);
      });
    }
  }
  if (basicAuth === undefined && allowIps === undefined) {
    check.problem('give `basicAuth`, `allowIps` or both: metrics must not be open to everyone');
  }
  check.done();

  const challenge = { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` };

  return function protectMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
    if (allowList !== undefined) {
      const ip = clientIp(req);
      const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
      if (family === undefined || !allowList.check(ip, family)) {
        securityEvents.emit('authz.denied', req, { reason: 'metrics_ip_not_allowed' });
        sendProblem(
          res,
          new BulwarkError('auth.forbidden', { detail: 'This address may not read metrics.' }),
        );
        return;
      }
    }
    if (credentials !== undefined) {
      const given = parseBasic(req.headers.authorization);
      // Both compared every time, so timing does not tell a right username from a wrong one.
      const userOk = safeEqual(given?.username ?? '', credentials.username);
      const passOk = safeEqual(given?.password ?? '', credentials.password);
      if (given === undefined || !(userOk && passOk)) {
        securityEvents.emit('auth.failed', req, {
          reason:
            req.headers.authorization === undefined
              ? 'metrics_missing_credentials'
              : given === undefined
                ? 'metrics_malformed_credentials'
                : 'metrics_invalid_credentials',
        });
        sendProblem(
          res,
          new BulwarkError('auth.invalid_credentials', {
            detail: 'Valid metrics credentials are required.',
            headers: challenge,
          }),
        );
        return;
      }
    }
    next();
  };
}
