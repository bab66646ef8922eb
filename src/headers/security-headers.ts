import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { BulwarkConfigError } from '../errors.js';
import { OptionChecker, type KnownKeys } from '../internal/options.js';

export type SecurityHeadersProfile = 'api' | 'web';

export interface SecurityHeadersOptions {
  /** `api` for JSON APIs (nothing may load), `web` for apps serving HTML. @default 'api' */
  profile?: SecurityHeadersProfile;
  /** `Strict-Transport-Security` max-age in seconds. @default 31536000 (one year) */
  hstsMaxAge?: number;
  /** Adds `includeSubDomains` to HSTS. @default true */
  hstsIncludeSubDomains?: boolean;
  /** Adds `preload` to HSTS; only once the domain is on (or headed for) the preload list. @default false */
  hstsPreload?: boolean;
  /**
   * CSP directives merged over the profile's (`scriptSrc` or `script-src`);
   * `null` removes one. Values are checked by helmet when the factory runs.
   */
  contentSecurityPolicy?: Readonly<Record<string, readonly string[] | null>>;
  /**
   * `web` profile only: a fresh nonce per request in `res.locals.cspNonce`,
   * added to `script-src` and `style-src` as `'nonce-…'`. @default false
   */
  cspNonce?: boolean;
  /**
   * Sends no `Content-Security-Policy` at all. Only for an API whose responses
   * another layer (a gateway, the app serving the pages) already covers with
   * its own CSP; every other header stays. Refused with `contentSecurityPolicy`
   * or `cspNonce`. helmet's `contentSecurityPolicy: false`.
   * @default false
   */
  dangerouslyDisableContentSecurityPolicy?: boolean;
  /**
   * Permissions-Policy features merged over the restrictive default: an empty
   * list disables a feature, `['self']` or origins allow it. @default every listed feature `()`
   */
  permissionsPolicy?: Readonly<Record<string, readonly string[]>>;
  /** `Cross-Origin-Resource-Policy`. @default 'same-origin' */
  crossOriginResourcePolicy?: 'same-origin' | 'same-site' | 'cross-origin';
  /**
   * When to send `Cache-Control: no-store`: on `authenticated` responses (see
   * `credentialHeaders` and `isAuthenticated`), on `always` every response, or
   * `never` (leave caching to the app). @default 'authenticated'
   */
  cacheControl?: 'authenticated' | 'always' | 'never';
  /** Request headers that make a response "authenticated". @default ['authorization', 'x-api-key', 'cookie'] */
  credentialHeaders?: readonly string[];
  /** Extra test, run when the response headers are written, for auth schemes bulwark cannot see. */
  isAuthenticated?: (req: Request) => boolean;
}

const KNOWN: KnownKeys<SecurityHeadersOptions> = {
  profile: true,
  hstsMaxAge: true,
  hstsIncludeSubDomains: true,
  hstsPreload: true,
  contentSecurityPolicy: true,
  cspNonce: true,
  dangerouslyDisableContentSecurityPolicy: true,
  permissionsPolicy: true,
  crossOriginResourcePolicy: true,
  cacheControl: true,
  credentialHeaders: true,
  isAuthenticated: true,
};

type DirectiveValue = string | ((req: IncomingMessage, res: ServerResponse) => string);

const API_CSP: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'none'"],
  'frame-ancestors': ["'none'"],
};

const WEB_CSP: Readonly<Record<string, readonly string[]>> = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
  'upgrade-insecure-requests': [],
};

/** Powerful features an API or a typical web app never needs; each is switched off. */
export const DEFAULT_PERMISSIONS_POLICY: Readonly<Record<string, readonly string[]>> = {
  accelerometer: [],
  autoplay: [],
  camera: [],
  'display-capture': [],
  'encrypted-media': [],
  fullscreen: [],
  geolocation: [],
  gyroscope: [],
  hid: [],
  'idle-detection': [],
  magnetometer: [],
  microphone: [],
  midi: [],
  payment: [],
  'picture-in-picture': [],
  'publickey-credentials-get': [],
  'screen-wake-lock': [],
  serial: [],
  'sync-xhr': [],
  usb: [],
  'web-share': [],
  'xr-spatial-tracking': [],
};

const FEATURE = /^[a-z][a-z0-9-]*$/;
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function dashify(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

function isStringList(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function permissionsPolicyHeader(overrides: unknown, problems: string[]): string {
  const features = new Map(Object.entries(DEFAULT_PERMISSIONS_POLICY));
  if (overrides !== undefined) {
    if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
      problems.push('`permissionsPolicy` must be an object of feature -> allowlist');
    } else {
      for (const [name, list] of Object.entries(overrides)) {
        const feature = dashify(name);
        if (!FEATURE.test(feature))
          problems.push(`\`permissionsPolicy\`: invalid feature name ${JSON.stringify(name)}`);
        if (!isStringList(list)) {
          problems.push(`\`permissionsPolicy.${name}\` must be an array of strings`);
          continue;
        }
        features.set(feature, list);
      }
    }
  }
  const parts: string[] = [];
  for (const [feature, list] of features) {
    if (list.includes('*')) {
      parts.push(`${feature}=*`);
      continue;
    }
    const items = list.map((item) => {
      if (item === 'self' || item === "'self'") return 'self';
      let origin: string | undefined;
      try {
        const url = new URL(item);
        if (url.origin !== 'null' && (url.pathname === '/' || url.pathname === ''))
          origin = url.origin;
      } catch {
        origin = undefined;
      }
      if (origin === undefined) {
        problems.push(
          `\`permissionsPolicy.${feature}\`: ${JSON.stringify(item)} is not 'self', '*' or an origin`,
        );
        return '';
      }
      return `"${origin}"`;
    });
    parts.push(`${feature}=(${items.join(' ')})`);
  }
  return parts.join(', ');
}

function buildHelmet(options: HelmetOptions): ReturnType<typeof helmet> {
  try {
    return helmet(options);
  } catch (error) {
    // helmet checks CSP sources itself (quoting, separators); surface that as a config error.
    throw new BulwarkConfigError('securityHeaders', [
      error instanceof Error ? error.message : String(error),
    ]);
  }
}

const isCacheControl = (name: unknown): boolean =>
  typeof name === 'string' && name.toLowerCase() === 'cache-control';

/**
 * The `Cache-Control` in headers given to `writeHead` (an object, or a flat
 * name/value list; Node refuses a list of odd length, so it is left to Node).
 */
function givenCacheControl(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const values: string[] = [];
  if (Array.isArray(headers)) {
    if (headers.length % 2 !== 0) return undefined;
    for (let i = 0; i < headers.length; i += 2) {
      if (isCacheControl(headers[i])) values.push(String(headers[i + 1]));
    }
  } else {
    for (const [name, value] of Object.entries(headers)) {
      if (isCacheControl(name)) values.push(String(value));
    }
  }
  return values.length === 0 ? undefined : values.join(', ');
}

/** A copy of `writeHead` headers whose `Cache-Control` is `no-store`; the caller's stay as they were. */
function withNoStore(headers: unknown): unknown {
  if (Array.isArray(headers)) {
    const kept: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (!isCacheControl(headers[i])) kept.push(headers[i], headers[i + 1]);
    }
    return [...kept, 'Cache-Control', 'no-store'];
  }
  return Object.fromEntries([
    ...Object.entries(headers as Record<string, unknown>).filter(([name]) => !isCacheControl(name)),
    ['Cache-Control', 'no-store'],
  ]);
}

/** `writeHead` as a property holding a function, which is how this module passes it on. */
interface WriteHeadSlot {
  writeHead: (this: Response, ...args: unknown[]) => Response;
}

interface AuthView {
  auth?: unknown;
  apiKey?: unknown;
}

/**
 * Sets the security headers an API or web app should send, through helmet:
 * HSTS (one year, subdomains), `X-Frame-Options: DENY`, `Referrer-Policy:
 * strict-origin-when-cross-origin`, `X-Content-Type-Options: nosniff`, a CSP per
 * profile, a restrictive `Permissions-Policy`, `Cache-Control: no-store` on
 * authenticated responses, and removes `X-Powered-By`. Every value is fixed when
 * the factory runs; nothing in a request can change it.
 *
 * @param [options.profile='api']
 * @param [options.hstsMaxAge=31536000]
 * @param [options.cacheControl='authenticated']
 * @example app.use(securityHeaders({ profile: 'web', cspNonce: true }));
 */
export function securityHeaders(options?: SecurityHeadersOptions): RequestHandler {
  const check = new OptionChecker('securityHeaders', options, KNOWN);
  const profile = check.oneOf('profile', ['api', 'web'], 'api');
  const maxAge = check.number('hstsMaxAge', { min: 0, integer: true, default: 31_536_000 });
  const includeSubDomains = check.boolean('hstsIncludeSubDomains', true);
  const preload = check.boolean('hstsPreload', false);
  const cspNonce = check.boolean('cspNonce', false);
  if (cspNonce && profile === 'api') {
    check.problem('`cspNonce` needs the `web` profile: the `api` CSP allows no scripts at all');
  }
  const resourcePolicy = check.oneOf(
    'crossOriginResourcePolicy',
    ['same-origin', 'same-site', 'cross-origin'],
    'same-origin',
  );
  const cacheControl = check.oneOf(
    'cacheControl',
    ['authenticated', 'always', 'never'],
    'authenticated',
  );
  const credentialHeaders = check
    .stringArray('credentialHeaders', ['authorization', 'x-api-key', 'cookie'])
    .map((name) => name.toLowerCase());
  for (const name of credentialHeaders) {
    if (!HEADER_TOKEN.test(name))
      check.problem(`\`credentialHeaders\`: ${JSON.stringify(name)} is not a header name`);
  }
  const isAuthenticated = check.func<(req: Request) => boolean>('isAuthenticated');

  const problems: string[] = [];
  const directives = new Map<string, DirectiveValue[] | null>(
    Object.entries(profile === 'api' ? API_CSP : WEB_CSP).map(([k, v]) => [k, [...v]]),
  );
  const noCsp = check.boolean('dangerouslyDisableContentSecurityPolicy', false);
  const cspOverrides = check.raw('contentSecurityPolicy');
  if (noCsp && (cspOverrides !== undefined || cspNonce)) {
    problems.push(
      '`dangerouslyDisableContentSecurityPolicy` sends no CSP: it cannot be combined with `contentSecurityPolicy` or `cspNonce`',
    );
  }
  if (cspOverrides === false) {
    problems.push(
      "`contentSecurityPolicy: false` is helmet's switch; to send no CSP (an API behind another CSP layer), pass `dangerouslyDisableContentSecurityPolicy: true`",
    );
  } else if (cspOverrides !== undefined) {
    if (typeof cspOverrides !== 'object' || cspOverrides === null || Array.isArray(cspOverrides)) {
      problems.push('`contentSecurityPolicy` must be an object of directive -> sources');
    } else {
      for (const [name, value] of Object.entries(cspOverrides as Record<string, unknown>)) {
        if (value !== null && !isStringList(value)) {
          problems.push(`\`contentSecurityPolicy.${name}\` must be an array of strings or null`);
          continue;
        }
        directives.set(dashify(name), value === null ? null : [...value]);
      }
    }
  }
  if (cspNonce) {
    const nonce: DirectiveValue = (_req, res) =>
      `'nonce-${String((res as Response).locals.cspNonce)}'`;
    for (const name of ['script-src', 'style-src']) {
      const list = directives.get(name);
      if (list === undefined || list === null) directives.set(name, [nonce]);
      else list.push(nonce);
    }
  }
  const permissionsPolicy = permissionsPolicyHeader(check.raw('permissionsPolicy'), problems);
  for (const problem of problems) check.problem(problem);

  check.done();
  const helmetMiddleware = buildHelmet({
    contentSecurityPolicy: noCsp
      ? false
      : { useDefaults: false, directives: Object.fromEntries(directives) },
    crossOriginResourcePolicy: { policy: resourcePolicy },
    strictTransportSecurity: { maxAge, includeSubDomains, preload },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'strict-origin-when-cross-origin' },
  });

  function authenticated(req: Request): boolean {
    for (const name of credentialHeaders) if (req.headers[name] !== undefined) return true;
    const view = req as AuthView;
    if (view.auth !== undefined || view.apiKey !== undefined) return true;
    if (isAuthenticated === undefined) return false;
    try {
      return isAuthenticated(req);
    } catch {
      // A failing check must not make a private response cacheable.
      return true;
    }
  }

  /**
   * Auth middleware runs after this one, so the decision waits until the
   * headers go out. Returns the arguments to pass on: a `Cache-Control` given
   * to `writeHead` itself overrides the response's, so it is decided there.
   */
  function decideCacheControl(req: Request, res: Response, args: unknown[]): unknown[] {
    const at = typeof args[1] === 'string' ? 2 : 1;
    const given = args[at];
    const passed = givenCacheControl(given);
    const current = passed ?? res.getHeader('Cache-Control');
    const replace =
      (current === undefined || /\bpublic\b/i.test(String(current))) && authenticated(req);
    if (!replace) return args;
    if (passed === undefined) {
      res.setHeader('Cache-Control', 'no-store');
      return args;
    }
    const decided = [...args];
    decided[at] = withNoStore(given);
    return decided;
  }

  function wrapWriteHead(req: Request, res: Response): void {
    const slot = res as unknown as WriteHeadSlot;
    const writeHead = slot.writeHead;
    slot.writeHead = function securedWriteHead(...args: unknown[]) {
      return writeHead.apply(res, decideCacheControl(req, res, args));
    };
  }

  return function securityHeadersMiddleware(req: Request, res: Response, next: NextFunction): void {
    res.setHeader('Permissions-Policy', permissionsPolicy);
    if (cacheControl === 'always') res.setHeader('Cache-Control', 'no-store');
    else if (cacheControl === 'authenticated') wrapWriteHead(req, res);
    if (cspNonce) res.locals.cspNonce = randomBytes(16).toString('base64');
    helmetMiddleware(req, res, next);
  };
}
