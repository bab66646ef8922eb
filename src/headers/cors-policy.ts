import type { NextFunction, Request, RequestHandler, Response } from 'express';
import cors from 'cors';
import { BulwarkError } from '../errors.js';
import { securityEvents } from '../events.js';
import { currentEnvironment, isProduction } from '../internal/env.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';
import { sendProblem } from '../internal/problem.js';

export interface CorsPolicyOptions {
  /**
   * Allowed origins: exact `https://app.example.com[:port]`, wildcard
   * `https://*.example.com` (one or more subdomain labels, never the apex), or
   * an anchored `RegExp` (`/^https:\/\/(?:a|b)\.example\.com$/`). `['*']` allows
   * any origin without credentials, and is refused in production.
   */
  origins: readonly (string | RegExp)[];
  /** Send `Access-Control-Allow-Credentials: true` (cookies, HTTP auth). @default false */
  credentials?: boolean;
  /** @default ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] */
  methods?: readonly string[];
  /** Request headers a cross-origin caller may send. @default ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id'] */
  allowedHeaders?: readonly string[];
  /** Response headers a cross-origin caller may read. @default ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy'] */
  exposedHeaders?: readonly string[];
  /** Seconds a browser may cache a preflight (0–86400). @default 600 */
  maxAge?: number;
  /** Deployment environment; `*` is refused in production. @default ENVIRONMENT or NODE_ENV */
  env?: string;
}

const KNOWN: KnownKeys<CorsPolicyOptions> = {
  origins: true,
  credentials: true,
  methods: true,
  allowedHeaders: true,
  exposedHeaders: true,
  maxAge: true,
  env: true,
};

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** The serialised origin a browser sends (RFC 6454): lowercase, no default port, no path. */
const BROWSER_ORIGIN = /^(https?):\/\/([a-z0-9.-]+)(?::([0-9]{1,5}))?$/;
/** Longer Origin values are not from a browser; skip the matchers entirely. */
const MAX_ORIGIN_LENGTH = 512;

interface WildcardOrigin {
  readonly scheme: string;
  /** `.example.com`: what a matching host must end with, after at least one label. */
  readonly suffix: string;
  readonly port: string;
}

interface OriginRules {
  readonly anyOrigin: boolean;
  readonly exact: ReadonlySet<string>;
  readonly wildcards: readonly WildcardOrigin[];
  readonly patterns: readonly RegExp[];
}

function describeRegExp(pattern: RegExp): string | undefined {
  if (pattern.global || pattern.sticky)
    return 'must not use the g or y flag (they make test() stateful)';
  const source = pattern.source;
  if (!source.startsWith('^')) return 'must start with ^';
  let escaped = false;
  let inClass = false;
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (escaped) {
      escaped = false;
      if (i === source.length - 1) return 'must end with an unescaped $';
    } else if (c === '\\') escaped = true;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      return 'has a top-level | that leaves one side unanchored; wrap it: ^(?:a|b)$';
    }
  }
  if (!source.endsWith('$') || escaped) return 'must end with an unescaped $';
  return undefined;
}

/** One entry of an origin allowlist, parsed. */
export type OriginEntry =
  | { readonly kind: 'any'; readonly origin: '*' }
  | { readonly kind: 'exact'; readonly origin: string }
  | ({ readonly kind: 'wildcard'; readonly origin: string } & WildcardOrigin)
  | { readonly kind: 'pattern'; readonly pattern: RegExp };

/** An entry refused, with a message naming it. */
export interface OriginProblem {
  readonly problem: string;
}

/**
 * Parses one allowlist entry. The one rule for the origin format: `corsPolicy()`
 * and `loadConfig()` (for `CORS_ALLOWED_ORIGINS`) both call it, so a value the
 * config accepts is never refused by the factory. `origin` is the entry as a
 * browser serialises it: lowercase, no default port, no trailing slash.
 */
export function parseOrigin(entry: unknown): OriginEntry | OriginProblem {
  if (entry instanceof RegExp) {
    const problem = describeRegExp(entry);
    return problem === undefined
      ? { kind: 'pattern', pattern: entry }
      : { problem: `\`origins\` pattern ${String(entry)} ${problem}` };
  }
  if (typeof entry !== 'string') return { problem: '`origins` entries must be strings or RegExps' };
  const shown = JSON.stringify(entry);
  const value = entry.trim();
  if (value === '*') return { kind: 'any', origin: '*' };
  if (value.toLowerCase() === 'null') {
    return {
      problem:
        '`origins` must not list "null": sandboxed iframes and local files send it, so any page can',
    };
  }
  const wildcard = /^(https?):\/\/\*\./i.exec(value);
  const candidate = wildcard === null ? value : value.replace('*.', 'wildcard.');
  // The URL parser lets `*` through in a host name; only a leading `*.` means a wildcard.
  if (candidate.includes('*')) {
    return {
      problem: `\`origins\` entry ${shown}: \`*\` may only be the first label, as in https://*.example.com`,
    };
  }
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return { problem: `\`origins\` entry ${shown} is not a URL` };
  }
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    value.includes('?') ||
    value.includes('#')
  ) {
    return {
      problem: `\`origins\` entry ${shown} must be scheme://host[:port] with nothing after it`,
    };
  }
  if (wildcard === null) return { kind: 'exact', origin: url.origin };
  const suffix = url.hostname.slice('wildcard'.length);
  const labels = suffix.split('.');
  const last = labels[labels.length - 1] ?? '';
  if (!suffix.startsWith('.') || labels.length < 3 || /^[0-9]*$/.test(last)) {
    return {
      problem: `\`origins\` entry ${shown}: a wildcard needs a registered domain of at least two labels after *.`,
    };
  }
  return {
    kind: 'wildcard',
    origin: url.origin.replace('://wildcard.', '://*.'),
    scheme: url.protocol.slice(0, -1),
    suffix,
    port: url.port,
  };
}

/** The rule across entries: `*` stands alone. */
export const ANY_ORIGIN_ALONE = '"*" cannot be combined with other origins';

/** Whether a parsed list breaks `ANY_ORIGIN_ALONE`. */
export function mixesAnyOrigin(entries: readonly OriginEntry[]): boolean {
  return entries.some((e) => e.kind === 'any') && entries.some((e) => e.kind !== 'any');
}

function parseOrigins(entries: readonly unknown[], problems: string[]): OriginRules {
  const parsed: OriginEntry[] = [];
  for (const entry of entries) {
    const result = parseOrigin(entry);
    if ('problem' in result) problems.push(result.problem);
    else parsed.push(result);
  }
  if (mixesAnyOrigin(parsed)) problems.push(`\`origins\`: ${ANY_ORIGIN_ALONE}`);
  const exact = new Set<string>();
  const wildcards: WildcardOrigin[] = [];
  const patterns: RegExp[] = [];
  for (const entry of parsed) {
    if (entry.kind === 'exact') exact.add(entry.origin);
    else if (entry.kind === 'wildcard') wildcards.push(entry);
    else if (entry.kind === 'pattern') patterns.push(entry.pattern);
  }
  return { anyOrigin: parsed.some((e) => e.kind === 'any'), exact, wildcards, patterns };
}

function matchesWildcard(origin: string, wildcards: readonly WildcardOrigin[]): boolean {
  const parts = BROWSER_ORIGIN.exec(origin);
  if (parts === null) return false;
  const [, scheme, host = '', port = ''] = parts;
  if (host.startsWith('.') || host.includes('..')) return false;
  return wildcards.some(
    (w) =>
      w.scheme === scheme &&
      w.port === port &&
      host.length > w.suffix.length &&
      host.endsWith(w.suffix),
  );
}

/**
 * CORS through the `cors` package with an allowlist that is parsed and
 * normalised when the factory runs. A request's `Origin` must equal an allowed
 * origin exactly as browsers serialise it (lowercase host, no default port, no
 * trailing slash), match a `https://*.example.com` pattern, or match an anchored
 * RegExp. `null` is always denied. Denied preflights get 403 `cors.rejected`;
 * denied simple requests get no CORS headers (the browser then hides the answer)
 * and still reach the route: CORS protects browsers' users, it is not access
 * control. `Vary: Origin` is always sent.
 *
 * @param options.origins allowed origins
 * @param [options.credentials=false]
 * @param [options.maxAge=600]
 * @example app.use(corsPolicy({ origins: ['https://app.example.com'], credentials: true }));
 */
export function corsPolicy(options: CorsPolicyOptions): RequestHandler {
  const check = new OptionChecker('corsPolicy', options, KNOWN);
  const rawOrigins = check.raw('origins');
  const problems: string[] = [];
  let rules: OriginRules = { anyOrigin: false, exact: new Set(), wildcards: [], patterns: [] };
  if (!Array.isArray(rawOrigins) || rawOrigins.length === 0) {
    problems.push('`origins` must be a non-empty array of origins');
  } else {
    rules = parseOrigins(rawOrigins, problems);
  }
  const credentials = check.boolean('credentials', false);
  const env = check.string('env', currentEnvironment());
  if (rules.anyOrigin && credentials) {
    problems.push(
      '`origins: ["*"]` with `credentials: true` would let any site act as the signed-in user; list the origins',
    );
  }
  if (rules.anyOrigin && isProduction(env)) {
    problems.push(
      '`origins: ["*"]` is refused in production; list the origins that may call this API',
    );
  }
  const tokens = (
    key: 'methods' | 'allowedHeaders' | 'exposedHeaders',
    fallback: readonly string[],
  ) => {
    const list = check.stringArray(key, fallback);
    for (const item of list) {
      if (!TOKEN.test(item))
        problems.push(`\`${key}\`: ${JSON.stringify(item)} is not an HTTP token`);
    }
    return [...list];
  };
  const methods = tokens('methods', ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).map((m) =>
    m.toUpperCase(),
  );
  const allowedHeaders = tokens('allowedHeaders', [
    'Authorization',
    'Content-Type',
    'X-API-Key',
    'X-Request-Id',
  ]);
  const exposedHeaders = tokens('exposedHeaders', [
    'X-Request-Id',
    'Retry-After',
    'RateLimit',
    'RateLimit-Policy',
  ]);
  const maxAge = check.number('maxAge', { min: 0, max: 86_400, integer: true, default: 600 });
  for (const problem of problems) check.problem(problem);
  check.done();

  const { anyOrigin, exact, wildcards, patterns } = rules;
  // Joined once here: cors joins an array on every request. An empty list stays an
  // array, since cors reads an empty string as "not given" (and would then reflect
  // the requested headers).
  const joined = (list: string[]): string | string[] => (list.length === 0 ? list : list.join(','));
  const corsMiddleware = cors({
    origin: anyOrigin ? '*' : true,
    credentials,
    methods: joined(methods),
    allowedHeaders: joined(allowedHeaders),
    exposedHeaders: joined(exposedHeaders),
    maxAge,
    optionsSuccessStatus: 204,
  });

  function allowed(origin: string): boolean {
    if (origin === 'null' || origin.length > MAX_ORIGIN_LENGTH) return false;
    if (anyOrigin || exact.has(origin)) return true;
    if (wildcards.length > 0 && matchesWildcard(origin, wildcards)) return true;
    return patterns.some((pattern) => pattern.test(origin));
  }

  return function corsPolicyMiddleware(req: Request, res: Response, next: NextFunction): void {
    const origin = req.headers.origin;
    if (origin !== undefined && allowed(origin)) {
      // cors reflects the origin and adds Vary: Origin itself, except for `*`.
      if (anyOrigin) res.vary('Origin');
      corsMiddleware(req, res, next);
      return;
    }
    res.vary('Origin');
    if (origin === undefined) {
      next();
      return;
    }
    const preflight =
      req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    securityEvents.emit('cors.rejected', req, {
      reason: origin === 'null' ? 'null_origin' : 'origin_not_allowed',
      origin: origin.slice(0, MAX_ORIGIN_LENGTH),
      preflight,
    });
    if (preflight) {
      sendProblem(res, new BulwarkError('cors.rejected'));
      return;
    }
    next();
  };
}
