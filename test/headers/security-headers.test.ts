import type { RequestHandler } from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { BulwarkConfigError, securityHeaders } from '../../src/index.js';
import { check } from '../helpers/check-headers.js';
import { EXPRESS_VERSIONS } from '../helpers/express.js';

const PERMISSIONS_POLICY =
  'accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), ' +
  'fullscreen=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), magnetometer=(), ' +
  'microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), ' +
  'screen-wake-lock=(), serial=(), sync-xhr=(), usb=(), web-share=(), xr-spatial-tracking=()';

const WEB_CSP =
  "default-src 'self';base-uri 'self';connect-src 'self';font-src 'self';form-action 'self';" +
  "frame-ancestors 'none';img-src 'self' data: blob:;object-src 'none';script-src 'self';" +
  "script-src-attr 'none';style-src 'self';upgrade-insecure-requests";

const COMMON = {
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-content-type-options': 'nosniff',
  'permissions-policy': PERMISSIONS_POLICY,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
  'x-powered-by': null,
};

/** `res.writeHead` as a property, to wrap it or call it with header shapes its types do not take. */
interface WriteHeadSlot {
  writeHead: (...args: unknown[]) => unknown;
}

describe.each(EXPRESS_VERSIONS)('securityHeaders on %s', (_name, factory) => {
  it('sets every api-profile header, no Cache-Control for anonymous requests', async () => {
    await check(factory, securityHeaders(), {
      ...COMMON,
      'content-security-policy': "default-src 'none';frame-ancestors 'none'",
      'cache-control': null,
    });
  });

  it('sets the web-profile CSP', async () => {
    await check(factory, securityHeaders({ profile: 'web' }), {
      ...COMMON,
      'content-security-policy': WEB_CSP,
    });
  });

  it.each([
    ['Authorization', 'Bearer test-token'],
    ['X-API-Key', 'bwk_test_FAKE'],
    ['Cookie', 'session=test'],
  ])('sends Cache-Control: no-store when the request carries %s', async (header, value) => {
    await check(
      factory,
      securityHeaders(),
      { 'cache-control': 'no-store' },
      { headers: { [header]: value } },
    );
  });

  it.each([
    ['req.auth', { auth: { sub: 'test-user' } }],
    ['req.apiKey', { apiKey: { id: 'test', scopes: [] } }],
  ])('sends no-store when %s is set by a later middleware', async (_case, fields) => {
    await check(
      factory,
      securityHeaders(),
      { 'cache-control': 'no-store' },
      {
        before: (req, _res, next) => {
          Object.assign(req, fields);
          next();
        },
      },
    );
  });

  it('replaces a public Cache-Control on an authenticated response', async () => {
    await check(
      factory,
      securityHeaders(),
      { 'cache-control': 'no-store' },
      {
        headers: { Authorization: 'Bearer test-token' },
        route: (_req, res) => {
          res.setHeader('Cache-Control', 'public, max-age=600');
        },
      },
    );
  });

  it("keeps the route's own private Cache-Control", async () => {
    await check(
      factory,
      securityHeaders(),
      { 'cache-control': 'private, max-age=60' },
      {
        headers: { Authorization: 'Bearer test-token' },
        route: (_req, res) => {
          res.setHeader('Cache-Control', 'private, max-age=60');
        },
      },
    );
  });

  it('sends no-store when either of two securityHeaders() on one app sees a credential', async () => {
    const app = factory();
    app.use(securityHeaders({ credentialHeaders: ['x-first'] }));
    app.use(securityHeaders({ credentialHeaders: ['x-second'] }));
    app.get('/', (_req, res) => {
      res.json({ ok: true });
    });
    for (const header of ['X-First', 'X-Second']) {
      const res = await request(app).get('/').set(header, 'test');
      expect(res.status, header).toBe(200);
      expect(res.headers['cache-control'], header).toBe('no-store');
    }
    const anonymous = await request(app).get('/');
    expect(anonymous.headers['cache-control']).toBeUndefined();
    expect(anonymous.headers['permissions-policy']).toBe(PERMISSIONS_POLICY);
  });

  it('keeps a writeHead wrapped before it and runs under one wrapped after it', async () => {
    const app = factory();
    const wrap =
      (header: string): RequestHandler =>
      (_req, res, next) => {
        // What on-headers (compression, morgan) does: keep the current writeHead, run before it.
        const slot = res as unknown as WriteHeadSlot;
        const inner = slot.writeHead;
        slot.writeHead = function (this: typeof res, ...args: unknown[]) {
          this.setHeader(header, String(this.getHeader('Cache-Control') ?? 'none'));
          return inner.apply(this, args);
        };
        next();
      };
    app.use(wrap('X-Before'));
    app.use(securityHeaders());
    app.use(wrap('X-After'));
    app.get('/', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=600');
      res.json({ ok: true });
    });
    const res = await request(app).get('/').set('Authorization', 'Bearer test-token');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    // X-After runs first and sees the route's value; X-Before runs last and sees the decision.
    expect(res.headers['x-after']).toBe('public, max-age=600');
    expect(res.headers['x-before']).toBe('no-store');
  });

  it('decides for responses sent from a mounted sub-app', async () => {
    const app = factory();
    const sub = factory();
    sub.get('/', (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=600');
      res.json({ ok: true });
    });
    app.use(securityHeaders());
    app.use('/sub', sub);
    const authenticated = await request(app).get('/sub').set('Authorization', 'Bearer test-token');
    expect(authenticated.status).toBe(200);
    expect(authenticated.headers['cache-control']).toBe('no-store');
    const anonymous = await request(app).get('/sub');
    expect(anonymous.headers['cache-control']).toBe('public, max-age=600');
  });

  it('decides when the route calls writeHead itself', async () => {
    await check(
      factory,
      securityHeaders(),
      { 'cache-control': 'no-store', 'content-type': 'text/plain' },
      {
        headers: { Authorization: 'Bearer test-token' },
        route: (_req, res) => {
          res.setHeader('Cache-Control', 'public');
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          res.end('ok');
        },
      },
    );
  });

  const PUBLIC = 'public, max-age=600';
  it.each<[string, unknown[], boolean, string]>([
    ['an object', [200, { 'Cache-Control': PUBLIC, 'X-Test': 'kept' }], true, 'no-store'],
    ['a lower-case name', [200, { 'cache-control': PUBLIC, 'X-Test': 'kept' }], true, 'no-store'],
    [
      'a status message',
      [200, 'Fine', { 'CACHE-CONTROL': PUBLIC, 'X-Test': 'kept' }],
      true,
      'no-store',
    ],
    ['a flat list', [200, ['Cache-Control', PUBLIC, 'X-Test', 'kept']], true, 'no-store'],
    [
      'a flat list naming it twice',
      [200, ['Cache-Control', 'public', 'X-Test', 'kept', 'cache-control', 'max-age=600']],
      true,
      'no-store',
    ],
    [
      'a private value',
      [200, { 'Cache-Control': 'private, max-age=60', 'X-Test': 'kept' }],
      true,
      'private, max-age=60',
    ],
    ['an anonymous request', [200, { 'Cache-Control': PUBLIC, 'X-Test': 'kept' }], false, PUBLIC],
  ])(
    'decides a Cache-Control given to writeHead in %s, leaving the caller its headers',
    async (_case, args, authenticated, expected) => {
      const app = factory();
      app.use(securityHeaders());
      const given = structuredClone(args);
      app.get('/', (_req, res) => {
        (res as unknown as WriteHeadSlot).writeHead(...given);
        res.end('ok');
      });
      let call = request(app).get('/');
      if (authenticated) call = call.set('Authorization', 'Bearer test-token');
      const res = await call;
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe(expected);
      expect(res.headers['x-test']).toBe('kept');
      expect(given).toEqual(args);
    },
  );

  it('leaves a header list of odd length to Node, which refuses it', async () => {
    const app = factory();
    app.use(securityHeaders());
    app.get('/', (_req, res) => {
      const slot = res as unknown as WriteHeadSlot;
      slot.writeHead(200, ['Cache-Control', PUBLIC, 'X-Test']);
      res.end('ok');
    });
    const res = await request(app).get('/').set('Authorization', 'Bearer test-token');
    expect(res.status).toBe(500);
    expect(res.headers['cache-control']).not.toBe(PUBLIC);
  });

  it('honours cacheControl always / never and a custom isAuthenticated', async () => {
    await check(factory, securityHeaders({ cacheControl: 'always' }), {
      'cache-control': 'no-store',
    });
    await check(
      factory,
      securityHeaders({ cacheControl: 'never' }),
      { 'cache-control': null },
      {
        headers: { Authorization: 'Bearer test-token' },
      },
    );
    await check(
      factory,
      securityHeaders({ isAuthenticated: (req) => req.headers['x-session'] !== undefined }),
      { 'cache-control': 'no-store' },
      { headers: { 'X-Session': 'test' } },
    );
    await check(
      factory,
      securityHeaders({
        credentialHeaders: ['authorization'],
        isAuthenticated: () => {
          throw new Error('test failure');
        },
      }),
      { 'cache-control': 'no-store' },
    );
  });

  it('gives each web request its own CSP nonce in res.locals and the header', async () => {
    const app = factory();
    app.use(securityHeaders({ profile: 'web', cspNonce: true }));
    app.get('/', (_req, res) => res.json({ nonce: res.locals.cspNonce }));
    const first = await request(app).get('/');
    const second = await request(app).get('/');
    for (const res of [first, second]) {
      expect(res.body.nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain(`script-src 'self' 'nonce-${res.body.nonce}'`);
      expect(csp).toContain(`style-src 'self' 'nonce-${res.body.nonce}'`);
    }
    expect(first.body.nonce).not.toBe(second.body.nonce);
  });

  it('applies overrides from options', async () => {
    await check(
      factory,
      securityHeaders({
        profile: 'web',
        hstsMaxAge: 63_072_000,
        hstsPreload: true,
        contentSecurityPolicy: {
          connectSrc: ["'self'", 'https://api.example.com'],
          'upgrade-insecure-requests': null,
        },
        permissionsPolicy: {
          fullscreen: ['self'],
          geolocation: ['self', 'https://maps.example.com'],
        },
        crossOriginResourcePolicy: 'cross-origin',
      }),
      {
        'strict-transport-security': 'max-age=63072000; includeSubDomains; preload',
        'content-security-policy': WEB_CSP.replace(
          "connect-src 'self'",
          "connect-src 'self' https://api.example.com",
        ).replace(';upgrade-insecure-requests', ''),
        'permissions-policy': PERMISSIONS_POLICY.replace(
          'fullscreen=()',
          'fullscreen=(self)',
        ).replace('geolocation=()', 'geolocation=(self "https://maps.example.com")'),
        'cross-origin-resource-policy': 'cross-origin',
      },
    );
  });

  it('lets nothing in the request change a header', async () => {
    const res = await check(factory, securityHeaders(), COMMON, {
      headers: {
        'X-Forwarded-Proto': 'http',
        'Content-Security-Policy': 'default-src *',
        Host: 'evil.example',
      },
    });
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
  });
});

describe.each(EXPRESS_VERSIONS)(
  'dangerouslyDisableContentSecurityPolicy on %s',
  (_name, factory) => {
    it('sends every other header and no CSP', async () => {
      await check(factory, securityHeaders({ dangerouslyDisableContentSecurityPolicy: true }), {
        ...COMMON,
        'content-security-policy': null,
      });
    });
  },
);

describe('securityHeaders options', () => {
  it.each([
    [{ contentSecurityPolicy: false }, /dangerouslyDisableContentSecurityPolicy: true/],
    [
      { dangerouslyDisableContentSecurityPolicy: true, contentSecurityPolicy: { scriptSrc: null } },
      /cannot be combined/,
    ],
    [
      { profile: 'web', dangerouslyDisableContentSecurityPolicy: true, cspNonce: true },
      /cannot be combined/,
    ],
    [{ dangerouslyDisableContentSecurityPolicy: 'yes' }, /must be true or false/],
  ])('refuses %j with a message that says what to do', (options, message) => {
    expect(() => securityHeaders(options as never)).toThrow(message);
  });

  it.each([
    [{ profile: 'html' }],
    [{ profile: null }],
    [{ hstsMaxAge: -1 }],
    [{ hstsMaxAge: Number.NaN }],
    [{ hstsMaxAge: Number.POSITIVE_INFINITY }],
    [{ hstsMaxAge: '31536000' }],
    [{ hstsMaxAge: {} }],
    [{ hstsMaxAge: 1.5 }],
    [{ hstsPreload: 'yes' }],
    [{ cspNonce: true }],
    [{ profile: 'api', cspNonce: 1 }],
    [{ contentSecurityPolicy: { defaultSrc: null } }],
    [{ contentSecurityPolicy: { scriptSrc: ['self'] } }],
    [{ contentSecurityPolicy: { scriptSrc: ["'self'; report-uri x"] } }],
    [{ contentSecurityPolicy: { scriptSrc: "'self'" } }],
    [{ contentSecurityPolicy: [] }],
    [{ permissionsPolicy: { camera: ['evil'] } }],
    [{ permissionsPolicy: { 'Bad Feature': [] } }],
    [{ permissionsPolicy: { camera: 'self' } }],
    [{ crossOriginResourcePolicy: 'anyone' }],
    [{ cacheControl: 'sometimes' }],
    [{ credentialHeaders: ['bad header'] }],
    [{ isAuthenticated: true }],
    [{ hstsMaxage: 1 }],
  ])('refuses %j', (options) => {
    expect(() => securityHeaders(options as never)).toThrow(BulwarkConfigError);
  });

  it('names a typo', () => {
    expect(() => securityHeaders({ hstsMaxage: 1 } as never)).toThrow(
      /Did you mean `hstsMaxAge`\?/,
    );
  });

  it('is a named function', () => {
    expect(securityHeaders().name).toBe('securityHeadersMiddleware');
  });
});
